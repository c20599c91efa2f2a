r"""Parameter sweeps: one training per setting, one row per run, on a laptop or a cluster.

:func:`sweep` trains a part (``"part1"``, ``"part2"``, ``"part3"``) once for every setting of a
grid (or of a list of settings) and every seed, and collects one row per run in a tidy
:class:`pandas.DataFrame`: the run's parameters (every field, so a row says how to repeat it), the
score of every training loop (``score_loop_1``, ...), the test score(s) without learning, the run
time, and whether it worked::

    >>> from tutorial_lib.sweep import sweep
    >>> table = sweep("part2", {"N": [20, 30], "tau_s": [20, 200]}, seeds=2, progress=False,
    ...               base={"n_loops": 2, "stim_on": 100.0, "stim_off": 200.0, "train_duration": 400.0})
    >>> len(table), sorted(set(table.status))
    (8, ['ok'])
    >>> table[["N", "tau_s", "seed", "test_score"]].shape
    (8, 4)

The same from the command line (``rls-tutorial sweep --help``)::

    rls-tutorial sweep part2 --grid N=50,100,200 --grid tau_s=20,50,200 --seeds 3 --out sweep.csv --jobs 2

Rows
    ``run_id``, ``part``, ``status``, ``test_score`` (Part 3 also ``test_score_avg``: trial-averaged
    over ``n_test_trials``), ``seconds`` (wall time of the run; a worker's first run also loads the
    compiled code from numba's cache, about a second), ``loops_done``, ``failure`` and ``reason``
    (None when ok), every parameter of the part, and ``score_loop_1``, ... (the score of each
    training loop, measured while learning; Part 3 also ``test_score_loop_K``); with ``part5``
    (``--part5``), Part 5's experiments on each trained network: ``p5_accuracy``,
    ``p5_photoinhibition_switched_S_D``, ``p5_distractor_switched_S``, ``p5_kick_a50_S`` (:mod:`.part5`).
    ``status`` is ``"ok"``, ``"diverged"`` (the network's activity failed: a
    :class:`~tutorial_lib.training.DivergenceError`, a result of the model, not a crash of the
    sweep; ``failure`` holds its kind, ``reason`` its message, the loop scores before it are
    kept) or ``"error"`` (anything else, e.g. a worker process that died three times while
    running it; ``failure`` the exception's class). ``run_id`` is a digest of the part, every
    parameter value and (Part 3) the data: the same setting has the same id in every sweep.

Validation
    Every setting is built (and its memory estimated) before any run starts: an unknown name or a
    bad value is a ValueError naming the parameter and its valid range (see
    :mod:`tutorial_lib.params`); so is a sweep of more than :data:`MAX_RUNS` runs, counted first.

Saving and resuming
    With ``out`` (``.csv``, or ``.parquet`` when pyarrow is installed; other suffixes are refused) the
    table is written atomically (:func:`~tutorial_lib.storage.atomic_write`) after every finished
    run, so a sweep that is stopped or killed loses at most the runs in flight. Run the same sweep
    again and the settings already in the file (same ``run_id``) are skipped (a row pasted twice
    counts once); rows with status ``"error"`` are run again (``retry_errors``). The file keeps rows
    of other settings too: one table can collect several sweeps of the same part.

Backends
    Local processes with joblib (``n_jobs``; ``n_jobs=1`` runs in this process), or a Dask
    cluster: ``scheduler="tcp://host:8786"``, a ``distributed.Client``, or a cluster object
    (``LocalCluster``, dask-jobqueue's ``SLURMCluster``). Every run uses one thread
    (``TUTORIAL_LIB_THREADS=1``; joblib's workers also get ``NUMBA_NUM_THREADS``,
    ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS`` = 1), and numba's cache
    is warmed in this process by a tiny training before any worker starts (parallel first
    compilations into one cache are a known crash). A run's result depends only on its
    parameters: the same setting gives the same row on any backend and any worker.

Workers that die
    A joblib worker that dies (killed, out of memory) breaks joblib's pool: the runs in flight are
    started again on a fresh pool; a setting whose worker died three times is recorded as an
    ``"error"`` row. Dask reschedules a lost task itself (``distributed.scheduler.allowed-failures``,
    3 by default) and reports one that killed its workers every time as ``KilledWorker``, recorded
    the same way.

Ctrl-C
    Stops the sweep: the rows finished are saved, the runs in flight are abandoned (joblib's
    workers are terminated; Dask futures cancelled), then KeyboardInterrupt propagates.

References
----------
* Kim CM, Chow CC (2018) Learning recurrent dynamics in spiking networks. eLife 7:e37124
  (how learning depends on network size, synaptic time constant and the neurons trained).
"""


# Imported inside functions: pandas (about a second; the command line starts without it, and so does
# every part but the sweep).

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from tqdm.auto import tqdm

from ..checks import check_int, check_memory
from ..cli_args import (EXIT_SIGINT, add_param_flags, count_flag, error_line, is_dir, make_params, one_line,
                       parse_int, short_repr, signal_name)
from ..data import ENV_VAR, ALMData, DataError, load_alm, synthetic_alm
from ..interrupts import COMMAND, held
from .backends import CONNECT_TIMEOUT, dask_client, dask_rows, joblib_rows
from .settings import MAX_RUNS, PARTS, data_digest, plan, run_id
from .part5 import check_delay, part5_options
from .runs import run_one, warm_cache
from .table import as_read, check_out, load_table, ordered, save_table

__all__ = ["PARTS", "sweep", "plan", "load_table", "run_one", "warm_cache", "run_id", "MAX_RUNS", "CONNECT_TIMEOUT",
           "STATUSES", "add_cli_parser", "cli_main"]

STATUSES = ("ok", "diverged", "error")


# ---------------------------------------------------------------------------
# The sweep


def sweep(part: str, grid: dict | None = None, settings: list | None = None, *, seeds=None, base=None,
          out=None, n_jobs: int | None = None, scheduler=None, data=None, progress: bool = True,
          retry_errors: bool = True, warm: bool = True, part5=None):
    r"""Train ``part`` once per setting and seed; return the table of this sweep's runs (a DataFrame).

    Parameters
    ----------
    part : ``"part1"``, ``"part2"`` or ``"part3"``.
    grid : ``{name: [values, ...]}`` of any of the part's parameters; every combination runs.
    settings : instead of a grid, a list of ``{name: value}`` settings.
    seeds : ``n`` (seeds 0 .. n-1) or a list of seeds, crossed with every setting (default: the
        base's seed only).
    base : the fixed parameters: a dict, or a parameter object (e.g. ``BalancedParams.lecture()``).
    out : path of the table (``.csv``; ``.parquet`` with pyarrow), written after every run;
        settings already in it are skipped (resume). None: nothing is saved.
    n_jobs : local worker processes (joblib; default 1: runs in this process; -1: one per core).
    scheduler : a Dask scheduler address (``"tcp://host:8786"``), a ``distributed.Client`` or a
        cluster object (``LocalCluster``, ``SLURMCluster``); runs there instead of locally.
    data : Part 3's recordings: an :class:`~tutorial_lib.data.ALMData`, a folder of the ALM files,
        or ``"synthetic"`` (default: :func:`~tutorial_lib.data.load_alm`, which fails without data).
    progress : a progress bar counting finished runs (tqdm).
    retry_errors : run settings whose row in ``out`` says ``"error"`` again (their rows are replaced).
    warm : warm numba's cache with a tiny training first (before workers start).
    part5 : Part 3 only: True (or ``{"n_train": 10, "n_test": 10}``) adds Part 5's columns (:mod:`.part5`).

    Returns
    -------
    pandas.DataFrame, one row per run of this sweep (including those found in ``out``), in the
    order of :func:`plan`; its columns are described under *Rows* in the module's header.

    Raises
    ------
    ValueError, TypeError : a bad part, name, value, path or backend argument, naming it (before
        any run): e.g. grid values equal as numbers (``0`` and ``-0.0``), an ``out`` that is not a
        path (TypeError), empty, too long for the file system, a folder or in a folder that cannot
        be written; an ``out`` file that is not a sweep table of this part.
    OSError : the Dask scheduler cannot be reached, or what answers at its address is not a Dask
        scheduler (both said within about 2 x :data:`CONNECT_TIMEOUT` seconds, before any run); or
        the table cannot be written.
    KeyboardInterrupt : after Ctrl-C, once the finished rows are saved and the workers stopped.
    """
    runs = plan(part, grid, settings, seeds=seeds, base=base)
    n_jobs = _check_backend(n_jobs, scheduler)
    path = None if out is None else check_out(out)
    alm, source, digest = _sweep_data(part, data)
    if alm is not None:  # the data bound n_trained (and L, N): checked now, not when a worker builds
        _check_recordings(part, runs, alm)
    order, tasks = _tasks(part, runs, alm, source, digest, part5_options(part, part5))
    table, todo = _previous(path, part, tasks, retry_errors)
    # the cluster first: an address that cannot be used fails now, before the progress bar and the warm-up
    connection = dask_client(scheduler, CONNECT_TIMEOUT) if scheduler is not None and todo else None
    rows = _Rows(table, path, order, tqdm(total=len(todo), desc=f"sweep {part}", unit="run",
                                          disable=not progress or not todo))
    _run(part, todo, rows, connection, n_jobs, warm, len(tasks))
    full = ordered(rows.table_with_new(), order)
    return as_read(full[full["run_id"].isin(order)])


def _tasks(part: str, runs: list, alm, source, digest, part5: dict | None):
    """``(order, tasks)``: run id -> index, and the task of each run (with Part 5's options, checked: the
    default grid fits every run's delay; they are part of the run's id)."""
    if part5 is not None:
        for _, p in runs:
            check_delay(p)
    key = digest if part5 is None else f"{digest}|part5 {part5['n_train']} {part5['n_test']}"
    order = {run_id(part, p, key): i for i, (_, p) in enumerate(runs)}
    tasks = [{"part": part, "params": p, "run_id": rid, "data": alm, "data_source": source, "data_digest": digest,
              "part5": part5} for rid, (_, p) in zip(order, runs)]
    return order, tasks


def _check_backend(n_jobs, scheduler) -> int:
    """The number of local processes (>= 1) from ``n_jobs`` and ``scheduler``; ValueError / TypeError."""
    if n_jobs is not None:
        n_jobs = check_int("n_jobs", n_jobs, lo=-1, what="local worker processes")
        if n_jobs == 0:
            raise ValueError("n_jobs (local worker processes) must be >= 1, or -1 for one per core (got 0)")
        if scheduler is not None and n_jobs != 1:
            raise ValueError("n_jobs is for local processes; on a Dask cluster the workers are the cluster's "
                             "(give n_jobs or scheduler, not both)")
    if n_jobs == -1:
        n_jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n_jobs = 1 if n_jobs is None else n_jobs
    if scheduler is not None and not (isinstance(scheduler, str) or hasattr(scheduler, "submit")
                                      or hasattr(scheduler, "scheduler_address")):
        raise TypeError("scheduler must be a Dask scheduler address ('tcp://host:8786'), a "
                        f"distributed.Client or a cluster object (got {type(scheduler).__name__})")
    if isinstance(scheduler, str) and "://" not in scheduler:
        raise ValueError(f"scheduler must be an address such as 'tcp://host:8786' (got {scheduler!r})")
    return n_jobs


def _check_recordings(part: str, runs: list, alm) -> None:
    """Every run's sizes against the recordings (the neurons they hold); ValueError naming the setting."""
    model = PARTS[part].model()
    n_alm = alm.n_neurons
    for setting, p in runs:
        try:  # select_alm's checks (the "random" choice needs no targets)
            model.select_alm(replace(p, selection="random"), alm, None)
            check_memory(p, n_trained=n_alm if p.n_trained is None else p.n_trained)
        except ValueError as exc:
            shown = ", ".join(f"{k}={v!r}" for k, v in setting.items())
            raise ValueError(f"setting {shown}: {exc}" if shown else str(exc)) from None


def _previous(path, part: str, tasks: list, retry_errors: bool):
    """``(table, todo)``: the rows already in ``path`` (those to run again dropped) and the tasks to run."""
    import pandas as pd

    table = None
    if path is not None and path.exists():
        table = load_table(path)
        others = set(table["part"].astype(str)) - {part}
        if others:
            raise ValueError(f"out {path} holds runs of {', '.join(sorted(others))}, not {part}: "
                             "give another file")
        table = table.drop_duplicates("run_id", keep="last")  # a row pasted twice by hand is one run
    if table is None:
        table = pd.DataFrame({c: pd.Series(dtype=object) for c in ("run_id", "part", "status")})
    keep = table["status"].isin(["ok", "diverged"]) if retry_errors else table["status"].notna()
    have = set(table.loc[keep, "run_id"].astype(str))
    todo = [t for t in tasks if t["run_id"] not in have]
    if todo:
        table = table[~table["run_id"].isin([t["run_id"] for t in todo])]
    return table, todo


class _Rows:
    """The rows of a sweep as they come: counted on the progress bar, saved with the earlier table after each."""

    def __init__(self, table, path, order: dict, bar):
        self.table, self.path, self.order, self.bar = table, path, order, bar
        self.rows: list = []
        self.saved = 0
        self.counts = dict.fromkeys(STATUSES, 0)

    def table_with_new(self):
        import pandas as pd

        new = pd.DataFrame(self.rows)
        return new if self.table.empty else pd.concat([self.table, new], ignore_index=True)

    def save(self) -> None:
        if self.path is not None and self.saved < len(self.rows):
            save_table(ordered(self.table_with_new(), self.order), self.path)
            self.saved = len(self.rows)

    def record(self, row: dict) -> None:
        self.rows.append(row)
        self.counts[row["status"]] += 1
        self.bar.update(1)
        self.bar.set_postfix({k: v for k, v in self.counts.items() if v})
        self.save()


def _run(part: str, todo: list, rows: _Rows, connection, n_jobs: int, warm: bool, n_tasks: int) -> None:
    """Run the tasks ``todo`` on the cluster, in processes or here, each row to ``rows``; the rows are saved
    however it ends. KeyboardInterrupt says how many of the sweep's ``n_tasks`` runs are kept."""
    try:
        if todo:
            _run_tasks(part, todo, rows.record, connection, n_jobs, warm)
    except KeyboardInterrupt as exc:  # what was kept, for the caller's message
        exc.sweep_done, exc.sweep_total = n_tasks - len(todo) + len(rows.rows), n_tasks
        raise
    finally:
        rows.bar.close()
        with held():  # a signal now would lose the last rows: save them first
            rows.save()


def _run_tasks(part: str, todo: list, record, connection, n_jobs: int, warm: bool) -> None:
    """Run the tasks ``todo`` (after warming numba's cache) on the cluster, in processes or here."""
    if warm:
        try:
            warm_cache(part, [t["params"] for t in todo])
        except BaseException:
            if connection is not None and connection[1]:
                connection[0].close()
            raise
    if connection is not None:
        dask_rows(todo, connection, record)
    elif n_jobs == 1 or len(todo) == 1:
        for t in todo:
            record(run_one(t))
    else:
        joblib_rows(todo, min(n_jobs, len(todo)), record, {}, run_one)


def _sweep_data(part: str, data):
    """``(ALMData or None, source, digest)`` of a sweep's data (a part that trains on the recordings), loaded
    once, here."""
    if not PARTS[part].recordings:
        if data is not None:
            raise ValueError(f"data is for part3 (the ALM recordings), not {part}")
        return None, None, None
    if isinstance(data, ALMData):
        alm = data
    elif data == "synthetic":
        alm = synthetic_alm()
    elif data is None:
        alm = load_alm(fallback=None)
    else:
        alm = _load_folder(data)
    return alm, str(alm.source), data_digest(alm)


def _load_folder(data):
    """The recordings in the folder ``data`` (str or os.PathLike); TypeError / ValueError naming it."""
    if isinstance(data, bytes) or not isinstance(data, (str, os.PathLike)):
        raise TypeError(f"data must be an ALMData, a folder (str or os.PathLike) or 'synthetic' "
                        f"(got {type(data).__name__})")
    if not str(os.fspath(data)).strip():
        raise ValueError(f"data is empty ({os.fspath(data)!r}): give the folder of the four ALM .jld "
                         "files, an ALMData or 'synthetic'")
    if not is_dir(data):
        raise ValueError(f"data {short_repr(os.fspath(data), 120)}: not a folder (give the folder of the "
                         "four ALM .jld files, an ALMData or 'synthetic')")
    folder = Path(os.fspath(data)).expanduser()
    old = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = str(folder)
    try:
        return load_alm(fallback=None)
    finally:
        if old is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = old


# ---------------------------------------------------------------------------
# Command line: rls-tutorial sweep PART --grid NAME=V1,V2 ... --seeds N --out table.csv


_SWEEP_EPILOG = """\
examples:
  rls-tutorial sweep part2 --grid N=50,100,200 --grid tau_s=20,50,200 --seeds 3 --out sweep.csv --jobs 2
  rls-tutorial sweep part2 --n-loops 10 --grid lam=0.1,1,10 --seeds 0,7 --out lam.csv
  rls-tutorial sweep part3 --lecture --synthetic --grid n_trained=20,50,100 --out p3.csv \\
      --scheduler tcp://host:8786
  (interrupted? run the same command again: the runs in --out are skipped)
"""



def add_cli_parser(sub) -> None:
    """Add ``rls-tutorial sweep PART ...`` to the command line's subparsers ``sub``."""
    sw = sub.add_parser("sweep", help="train a part once per setting of a grid and seed; one table row per "
                                      "run",
                        description="Train a part once per setting of a grid and per seed, locally "
                                    "(joblib) or on a Dask cluster; one row per run in a table (CSV or "
                                    "Parquet), saved after every run. Run the same command again to resume.")
    parts = sw.add_subparsers(dest="sweep_part", required=True, metavar="PART")
    for name, part in PARTS.items():
        cls = part.params
        sp = parts.add_parser(name, help=f"sweep {cls.__doc__.splitlines()[0][:-1]}",
                              description=f"Sweep {name}: {cls.__doc__.splitlines()[0]} Every flag of the "
                                          f"part sets a fixed value; --grid varies one.",
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog=_SWEEP_EPILOG)
        _add_sweep_flags(sp, part)
        add_param_flags(sp, cls)
        sp.set_defaults(_sweep_parser=sp)


def _add_sweep_flags(sp, part) -> None:
    """The flags of a sweep that are not parameters (the recordings' too, for a part that trains on them)."""
    run = sp.add_argument_group("sweep")
    run.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...",
                     help="a parameter and its values (a field name, e.g. N or tau_s; repeat for more: "
                          "every combination runs)")
    run.add_argument("--seeds", metavar="N|S1,S2,...",
                     help="N: seeds 0 .. N-1; or a list of seeds (default: the --seed value only)")
    run.add_argument("--out", metavar="PATH", required=True,
                     help="the table, .csv (or .parquet with pyarrow); written after every run; the "
                          "settings already in it are skipped")
    run.add_argument("--jobs", type=count_flag("--jobs", -1), metavar="N",
                     help="local worker processes (default 1; -1: one per core)")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="run on a Dask cluster instead, e.g. tcp://host:8786 (needs the cluster extra)")
    run.add_argument("--no-retry-errors", dest="retry_errors", action="store_false",
                     help="keep rows with status 'error' in --out instead of running them again")
    run.add_argument("--config", metavar="FILE",
                     help="JSON file of fixed field values; flags override it")
    if part.recordings:
        run.add_argument("--lecture", action="store_true",
                         help="start from BalancedParams.lecture(); --config and flags override it")
        run.add_argument("--data", metavar="DIR", help="folder of the four ALM .jld files")
        run.add_argument("--synthetic", action="store_true",
                         help="train on the synthetic stand-in for the ALM data (not a recording)")
        run.add_argument("--part5", action="store_true",
                         help="also run Part 5's experiments on each trained network (default grid, 10 + 10 "
                              "read-out trials per condition): columns p5_*")


def _parse_grid(sp, items: list) -> dict:
    """``--grid NAME=V1,V2`` flags as ``{name: [text, ...]}``; a malformed one ends with ``sp.error``."""
    grid = {}
    for item in items:
        name, eq, values = item.partition("=")
        name = name.strip().replace("-", "_")
        if not eq or not name or not values.strip():
            sp.error(f"--grid {item!r}: give NAME=V1,V2,... (e.g. --grid N=50,100,200)")
        if name in grid:
            sp.error(f"--grid {name} is given twice: list all its values in one --grid")
        items = [v.strip() for v in values.split(",")]
        if not all(items):
            sp.error(f"--grid {item!r}: an empty value (two commas, or one at an end): give NAME=V1,V2,...")
        grid[name] = items
    return grid


def _parse_seeds(sp, text):
    """``--seeds``: a number of seeds, a list of seeds, or None (not given); ``sp.error`` otherwise."""
    if text is None:
        return None
    items = [t.strip() for t in text.split(",")]
    if not all(items):
        sp.error(f"--seeds {text!r}: an empty value (two commas, or one at an end): give N or S1,S2,...")
    try:
        if len(items) == 1:
            return parse_int(items[0])  # 1e1 seeds, as --n-loops 1e1
        return [parse_int(t) for t in items]
    except ValueError:
        sp.error(f"--seeds must be a number of seeds or a list such as 0,3,7 (got {short_repr(text)})")


_QUIET_TRACKER = "ignore:resource_tracker:UserWarning"


def cli_main(args, argv) -> int:
    """``rls-tutorial sweep PART ...``; returns the exit code (0; 1 errors; 2 bad flags; 130/143: stopped)."""
    sp, part = args._sweep_parser, args.sweep_part
    base = make_params(sp, args, PARTS[part].params)
    grid = _parse_grid(sp, args.grid)
    seeds = _parse_seeds(sp, args.seeds)
    data = _check_sweep_flags(sp, args, part)
    try:
        runs = plan(part, grid or None, seeds=seeds, base=base)
        for _, p in runs if getattr(args, "part5", False) else ():
            check_delay(p)  # the default grid of Part 5 fits every run's delay
        path = check_out(args.out, "--out")
        if PARTS[part].recordings:  # loaded once, here: said once (not per run), and a missing file first
            data, source, _ = _sweep_data(part, data)
            print(f"Data: {source}")
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        sp.error(msg if not msg.startswith("grid ") else "--" + msg)
    except DataError as exc:
        hint = "" if args.data else " (or pass --data DIR; --synthetic trains on a synthetic stand-in)"
        return error_line(one_line(exc) + hint)
    where = f"the Dask cluster at {args.scheduler}" if args.scheduler else (
        f"{args.jobs} local processes" if args.jobs not in (None, 1) else "this process")
    print(f"Sweep of {part}: {len(runs)} run(s) on {where}; table: {path}")
    # Ctrl-C kills joblib's workers mid-run; the resource tracker then removes their semaphores at exit,
    # with a warning per process: an interruption on purpose is said once, by the line below
    if _QUIET_TRACKER not in sys.warnoptions:
        sys.warnoptions.append(_QUIET_TRACKER)  # passed on (-W) to the tracker processes started from here
    t0 = time.perf_counter()
    try:
        table = sweep(part, grid or None, seeds=seeds, base=base, out=path, n_jobs=args.jobs,
                      scheduler=args.scheduler, data=data, retry_errors=args.retry_errors,
                      part5=getattr(args, "part5", False))
    except KeyboardInterrupt as exc:
        code = COMMAND.exit_code if COMMAND.signum else EXIT_SIGINT
        done = getattr(exc, "sweep_done", 0)
        print(f"rls-tutorial: interrupted ({signal_name(code)}): {done} of {len(runs)} runs are in {path}; "
              "run the same command again to resume", file=sys.stderr)
        return code
    except (ValueError, TypeError) as exc:
        return error_line(one_line(exc), 2)
    except Exception as exc:  # noqa: BLE001 - OSError, or e.g. the ALM data cannot be had: one line, no traceback
        return error_line(one_line(exc))
    return _summary(table, grid, seeds, path, time.perf_counter() - t0)


def _check_sweep_flags(sp, args, part: str):
    """Refuse (``sp.error``) running flags that exclude each other; the ``data`` argument of :func:`sweep`."""
    if args.jobs is not None and (args.jobs == 0 or args.jobs < -1):
        sp.error(f"--jobs must be >= 1 (local worker processes), or -1 for one per core (got {args.jobs})")
    if args.scheduler is not None and not args.scheduler.strip():
        sp.error(f"--scheduler is empty ({args.scheduler!r}): give the scheduler's address, e.g. tcp://host:8786")
    if args.scheduler and args.jobs not in (None, 1):
        sp.error("--jobs and --scheduler exclude each other (on a Dask cluster the workers are the "
                 "cluster's)")
    if not PARTS[part].recordings:
        return None
    if args.synthetic and args.data is not None:
        sp.error("--synthetic and --data exclude each other")
    if args.data is not None and not args.data.strip():  # "--data ''": a mistake, not "not given"
        sp.error(f"--data is empty ({args.data!r}): give the folder of the ALM files, or leave it out")
    return "synthetic" if args.synthetic else args.data


def _summary(table, grid: dict, seeds, path, seconds: float) -> int:
    """Print the counts by status and the test score over seeds by setting; the exit code (1 if errors)."""
    import pandas as pd

    counts = table["status"].value_counts()
    print(f"Done in {seconds:.1f} s: {len(table)} run(s), "
          + ", ".join(f"{int(counts.get(s, 0))} {s}" for s in STATUSES) + f"; table: {path}")
    names = [n for n in (list(grid) + (["seed"] if seeds is not None else [])) if n != "seed"]
    ok = table[table["status"] == "ok"]
    if names and len(ok):
        with pd.option_context("display.width", 120):
            print("test score (no learning) over seeds:")
            by = ok.groupby(names, dropna=False)["test_score"]  # dropna=False: K=all (None) is a value too
            print(by.agg(["mean", "std", "count"]).round(4).to_string())
    n_err = int(counts.get("error", 0))
    if n_err:
        return error_line(f"{n_err} run(s) failed with an error (see the columns failure and reason in {path}); "
                          "run the same command again to retry them")
    return 0
