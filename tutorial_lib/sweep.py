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

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import signal
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from .params import BalancedParams, RateParams, SpikingParams, check_field
from .checks import check_memory, check_type
from .errors import DivergenceError

__all__ = ["PARTS", "sweep", "plan", "load_table"]

PARTS = {"part1": RateParams, "part2": SpikingParams, "part3": BalancedParams}

STATUSES = ("ok", "diverged", "error")
#: the most runs one sweep may have (settings x seeds): a bigger grid is refused before it is built
MAX_RUNS = 100_000
#: how often a joblib run may be in flight when its worker dies before its row says "error"
MAX_WORKER_DEATHS = 3
#: what every worker gets: one thread for each library that may start threads
THREAD_VARS = ("TUTORIAL_LIB_THREADS", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
               "OPENBLAS_NUM_THREADS")
_FIRST = ("run_id", "part", "status", "test_score", "test_score_avg", "seconds", "loops_done", "failure",
          "reason")


# ---------------------------------------------------------------------------
# Settings


def _convert(cls, name: str, value):
    """A grid value as the field's type: strings (from the command line) through the CLI's converters."""
    if isinstance(value, str):
        from .cli import _field_specs

        kind, _, convert = _field_specs(cls)[name]
        if kind is not str:
            import argparse

            try:
                return convert(value)
            except argparse.ArgumentTypeError as exc:
                raise ValueError(str(exc)) from None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check_names(cls, part: str, names) -> dict:
    meta = {f.name: f for f in fields(cls)}
    for name in names:
        if name not in meta:
            raise ValueError(f"{name!r} is not a {part} parameter ({cls.__name__} fields: {', '.join(meta)})")
    return meta


def _values(cls, part, name, values, label=None) -> list:
    """The list of values of one grid entry, each checked against the field's own range.

    ``label`` opens the messages (default ``"grid NAME"``)."""
    meta = _check_names(cls, part, [name])
    label = f"grid {name}" if label is None else label
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        values = [values]
    values = list(values)
    if not values:
        raise ValueError(f"{label}: no values given")
    out = []
    for v in values:
        try:
            out.append(check_field(meta[name], _convert(cls, name, v)))
        except ValueError as exc:
            raise ValueError(f"{label}: {exc}") from None
    seen = {}
    for given, v in zip(values, out):
        # equal as numbers is the same setting: 0 and -0, 1 and 1.0 and 1e0 (a set compares so: hash(-0.0)
        # == hash(0)); one run twice would count as two seeds with a spread of 0
        key = _same_value(v)
        if key in seen:
            raise ValueError(f"{label}: the value {v!r} is given twice ({seen[key]!r} and {given!r} are "
                             "equal): give each value once")
        seen[key] = given
    return out


def _same_value(v):
    """A key under which values equal as parameter values are equal (-0.0 as 0.0; True is not 1)."""
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, float) and v == 0:
        return 0.0
    return v


def _check_size(n_runs: int, detail: str) -> None:
    if n_runs > MAX_RUNS:
        raise ValueError(f"the sweep has {n_runs:,} runs ({detail}): at most {MAX_RUNS:,} in one sweep; "
                         "split it (one table can collect several sweeps)")


def _seeds(seeds) -> list | None:
    if seeds is None:
        return None
    if isinstance(seeds, bool):
        raise ValueError(f"seeds must be a number of seeds (>= 1) or a list of seeds (got {seeds!r})")
    if isinstance(seeds, (float, np.floating, str, bytes)):  # 2.0 or "2": two seeds, or seed 2?
        raise TypeError(f"seeds must be a whole number of seeds (an int >= 1) or a list of seeds "
                        f"(got {seeds!r})")
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1 (the seeds 0 .. seeds-1), or a list of seeds (got {seeds})")
        _check_size(int(seeds), f"{seeds} seeds")
        return list(range(int(seeds)))
    return _values(RateParams, "part1", "seed", seeds, label="seeds")


def plan(part: str, grid: dict | None = None, settings: list | None = None, *, seeds=None, base=None) -> list:
    """The parameters of every run of a sweep, validated, in order (grid order, then seed).

    ``grid``: ``{name: [values]}``, every combination (the first name varies slowest);
    ``settings``: a list of ``{name: value}`` (not with ``grid``); ``seeds``: a number ``n``
    (seeds 0 .. n-1) or a list of seeds, crossed with every setting (None: the base's seed);
    ``base``: the fixed values, a dict or a parameter object of the part (default: its
    defaults). Strings are read as the command line reads them (``K="all"``).

    Returns a list of ``(setting, params)``: ``setting`` the dict of the values that vary
    (``seed`` included when ``seeds`` is given), ``params`` the part's parameter object.

    Raises ValueError naming the parameter and its valid range for an unknown name or a bad
    value (a combination that breaks a rule between fields names the setting too), or a setting
    whose run would not fit in memory, or more than :data:`MAX_RUNS` runs, or a value given twice
    (equal as numbers: ``0`` and ``-0.0``, ``1`` and ``1.0``: one run twice would count as two
    seeds); TypeError for arguments of the wrong kind (``seeds=2.0``: a number of seeds is an int).
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)} (got {part!r})")
    cls = PARTS[part]
    if grid is not None and settings is not None:
        raise ValueError("give grid or settings, not both (a grid is every combination of its values)")
    if base is None:
        base = cls()
    elif isinstance(base, dict):
        _check_names(cls, part, base)
        try:
            base = replace(cls(), **{k: _convert(cls, k, v) for k, v in base.items()})
        except ValueError as exc:
            raise ValueError(f"base: {exc}") from None
        except ArithmeticError as exc:  # a check that overflowed on a value far out of range (dt=1e-308)
            raise ValueError(f"base: a value is far out of range ({type(exc).__name__}: {_one_line(exc)}; "
                             f"{', '.join(f'{k}={v!r}' for k, v in base.items())})") from None
    else:
        check_type("base", base, (dict, cls), allow_none=True)
    seed_list = _seeds(seeds)
    if grid is not None:
        check_type("grid", grid, dict)
        names = list(grid)
        lists = [_values(cls, part, name, grid[name]) for name in names]
        sizes = " x ".join([f"{len(v)} {k}" for k, v in zip(names, lists)]
                           + ([] if seed_list is None else [f"{len(seed_list)} seeds"]))
        _check_size(math.prod(map(len, lists)) * (1 if seed_list is None else len(seed_list)), sizes)
        rows = [dict(zip(names, combo)) for combo in itertools.product(*lists)]
    elif settings is not None:
        if isinstance(settings, dict) or not hasattr(settings, "__iter__"):
            raise TypeError(f"settings must be a list of dicts (got {type(settings).__name__})")
        rows = []
        for i, s in enumerate(settings):
            check_type(f"settings[{i}]", s, dict)
            rows.append({k: _values(cls, part, k, [v], label=f"settings[{i}] {k}")[0] for k, v in s.items()})
        if not rows:
            raise ValueError("settings: the list is empty")
    else:
        rows = [{}]
    if seed_list is not None:
        if any("seed" in r for r in rows):
            raise ValueError("give the seeds either with seeds= (--seeds) or as a grid or setting value, "
                             "not both")
        _check_size(len(rows) * len(seed_list), f"{len(rows)} settings x {len(seed_list)} seeds")
        rows = [{**r, "seed": s} for r in rows for s in seed_list]
    out, seen = [], set()
    for r in rows:
        try:
            p = replace(base, **r)
            check_memory(p)
        except (ValueError, ArithmeticError) as exc:  # ArithmeticError: a check overflowed (dt=1e-308)
            shown = ", ".join(f"{k}={v!r}" for k, v in r.items())
            what = str(exc) if isinstance(exc, ValueError) else (
                f"a value is far out of range ({type(exc).__name__}: {_one_line(exc)})")
            raise ValueError(f"setting {shown}: {what}") from None
        key = _run_id(part, p, None)
        if key in seen:
            raise ValueError(f"the setting {r} is given twice")
        seen.add(key)
        out.append((r, p))
    return out


def _run_id(part: str, params, data_digest: str | None) -> str:
    """A digest of everything a run's result depends on: part, every parameter, (Part 3) the data."""
    from .storage import params_to_dict

    values = {k: (0.0 if isinstance(v, float) and v == 0 else v)  # -0.0 is 0.0: the same run, the same id
              for k, v in params_to_dict(params)["values"].items()}
    doc = {"part": part, "params": values, "data": data_digest}
    text = json.dumps(doc, sort_keys=True, allow_nan=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _data_digest(data) -> str:
    h = hashlib.sha256()
    for c in sorted(data.rates):
        h.update(np.ascontiguousarray(data.rates[c]).tobytes())
        if data.utarg is not None:
            h.update(np.ascontiguousarray(data.utarg[c]).tobytes())
    h.update(np.ascontiguousarray(data.t).tobytes())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------
# One run (in a worker)


@contextmanager
def _one_thread(on: bool):
    """``TUTORIAL_LIB_THREADS=1`` (read by every RLS built inside) and the other thread variables."""
    if not on:
        yield
        return
    old = {k: os.environ.get(k) for k in THREAD_VARS}
    os.environ.update({k: "1" for k in THREAD_VARS})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def run_one(task: dict) -> dict:
    """Train one setting and return its row (a dict); what a worker runs.

    ``task``: ``part``, ``params``, ``run_id``, ``data`` (Part 3: an ALMData), ``worker``
    (True in a worker process: one thread, Ctrl-C left to the parent). A DivergenceError
    or any other exception becomes the row's status and reason; an interrupted training
    raises KeyboardInterrupt (a stopped run is not a result).
    """
    if task.get("worker") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal reaches the whole group
    part, p = task["part"], task["params"]
    scores: list = []
    row = {"run_id": task["run_id"], "part": part}
    t0 = time.perf_counter()
    with _one_thread(True):
        try:
            extra = _train(part, p, task.get("data"), scores)
            row.update(status="ok", failure=None, reason=None, **extra)
        except DivergenceError as exc:
            row.update(status="diverged", failure=exc.kind, reason=_one_line(exc))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - a failed run is a row, not a crash of the sweep
            row.update(status="error", failure=type(exc).__name__, reason=_one_line(exc))
    row["seconds"] = time.perf_counter() - t0
    row["loops_done"] = len(scores)
    row.update(_param_columns(p))
    if part == "part3":
        row["data"] = task.get("data_source")
        row["data_digest"] = task.get("data_digest")
    row.update({f"score_loop_{k + 1}": float(s) for k, s in enumerate(scores)})
    return row


def _param_columns(p) -> dict:
    from .storage import params_to_dict

    return dict(params_to_dict(p)["values"])


def _train(part: str, p, data, scores: list) -> dict:
    """Train and test; append each loop's score to ``scores``; the test columns of the row."""
    def collect(loop, trial, history):
        scores.append(float(trial.score))

    if part == "part3":
        from . import balanced

        res = balanced.train(p, data=data, progress=False, callback=collect)
        if res.stopped:
            raise KeyboardInterrupt
        tested = res.test(n_trials=p.n_test_trials)
        out = {"test_score": float(tested.score), "test_score_avg": float(tested.score_avg)}
        for k, s, a in zip(res.test_loops, res.test_scores, res.test_scores_avg):
            out[f"test_score_loop_{int(k)}"] = float(s)
            out[f"test_score_avg_loop_{int(k)}"] = float(a)
        return out
    if part == "part1":
        from .rate import train
    else:
        from .spiking_net import train
    res = train(p, progress=False, callback=collect)
    if res.stopped:
        raise KeyboardInterrupt
    return {"test_score": float(res.test().score)}


# ---------------------------------------------------------------------------
# Numba's cache, warmed once before workers start


def _tiny(part: str, p):
    """A tiny run that compiles what ``p``'s training compiles (same structure, small sizes), or None."""
    try:
        if part == "part3":
            return BalancedParams(N=300, K=30, L=5, n_trained=20, stim_on=100.0, stim_off=200.0,
                                  train_duration=400.0, n_loops=1, score_every=1, n_test_trials=1, n_ffwd=10,
                                  ffwd=p.ffwd, rls_precision=p.rls_precision,
                                  sign_constrained=p.sign_constrained,
                                  inh_weight_ratio=None if p.inh_weight_ratio is None else 6.5 / 12.0)
        cls = type(p)
        tiny = dict(N=20, n_loops=1, K=None if p.K is None else 10,
                    train_fraction=1.0 if p.train_fraction == 1 else 0.5,
                    **({"error_noise": 1.0 if p.error_noise > 0 else 0.0} if part == "part2" else {}))
        if part == "part2":
            tiny.update(stim_on=100.0, stim_off=200.0, train_duration=400.0)
        else:
            tiny.update(train_duration=100.0)
        return cls(**tiny)
    except ValueError:  # pragma: no cover - every combination above is valid
        return None


def warm_cache(part: str, params_list) -> float:
    """Run a tiny training of each structural variant in ``params_list`` (numba compiles and caches
    every kernel once, here); returns the seconds it took. Failures are ignored (it only warms)."""
    from .data import synthetic_alm

    t0 = time.perf_counter()
    variants = []
    for p in params_list:
        tiny = _tiny(part, p)
        if tiny is not None and tiny not in variants:
            variants.append(tiny)
    data = synthetic_alm(n_neurons=60, seed=1) if part == "part3" else None
    for tiny in variants[:8]:
        try:
            _train(part, tiny, data, [])
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:  # noqa: BLE001 - a warm-up that fails only warms less
            pass
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------
# The table


def _out_format(out) -> str:
    suffix = Path(out).suffix.lower()
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError(f"out {out}: writing .parquet needs pyarrow (pip install pyarrow); "
                             "or give a .csv path") from None
        return "parquet"
    if suffix != ".csv":
        raise ValueError(f"out {out}: give a .csv or .parquet path (a sweep table is written as one of "
                         f"those; got {suffix or 'no suffix'})")
    return "csv"


def _check_out(out, label: str = "out") -> Path:
    """``out`` as a Path, if the table can be written there (checked before any run); ``label`` opens the
    messages. See :func:`tutorial_lib.cli.check_output_path` (empty, too long, a folder, not writable)."""
    from .cli import check_output_path

    path = check_output_path(label, out)
    try:
        _out_format(path)
    except ValueError as exc:
        raise ValueError(label + str(exc)[len("out"):]) from None
    return path


def _read_csv_options() -> dict:
    import pandas as pd

    # exact float round trip: pandas 3 reads so by default (and deprecates the option)
    return {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


def _as_read(df):
    """``df`` as :func:`load_table` reads it back from a CSV file (None as NaN, the same dtypes)."""
    import io

    import pandas as pd

    return pd.read_csv(io.StringIO(df.to_csv(index=False)), **_read_csv_options())


def load_table(path):
    """Read a sweep's table (``.csv`` or ``.parquet``) as a DataFrame; ValueError if it is not one."""
    import pandas as pd

    path = Path(os.fspath(path)).expanduser()
    try:
        if _out_format(path) == "parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, **_read_csv_options())
    except (OSError, ValueError) as exc:
        if isinstance(exc, ValueError) and "pyarrow" in str(exc):
            raise
        raise ValueError(f"cannot read the sweep table {path}: {_one_line(exc)}") from None
    except Exception as exc:  # pandas' parser errors
        raise ValueError(f"cannot read the sweep table {path}: {_one_line(exc)}") from None
    missing = [c for c in ("run_id", "part", "status") if c not in df.columns]
    if missing:
        raise ValueError(f"{path} is not a sweep table (no column {', '.join(missing)}); "
                         "give another out path")
    if "test_score" not in df.columns and (df["status"] == "ok").any():
        raise ValueError(f"{path}: rows with status 'ok' but no column test_score (edited by hand?); "
                         "give another out path, or delete those rows")
    return df


def _ordered(df, order: dict):
    """Columns in a fixed order (first the run's outcome, then parameters, then loop scores);
    rows: those of other sweeps first (as they were), then this sweep's in its order."""
    import pandas as pd

    def loop_key(c):
        head, _, k = c.rpartition("_")
        return (head, int(k)) if k.isdigit() else (c, 0)

    first = [c for c in _FIRST if c in df.columns]
    loops = sorted([c for c in df.columns if c.startswith(("score_loop_", "test_score_loop_",
                                                           "test_score_avg_loop_"))], key=loop_key)
    params = [c for c in df.columns if c not in first and c not in loops]
    df = df[first + params + loops]
    rank = df["run_id"].map(order)
    other = df[rank.isna()]
    mine = df[rank.notna()].assign(_rank=rank[rank.notna()]).sort_values("_rank", kind="stable")
    return pd.concat([other, mine.drop(columns="_rank")], ignore_index=True)


def _save(df, path: Path) -> None:
    from .interrupts import held
    from .storage import atomic_write

    if _out_format(path) == "parquet":
        import io

        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        data = buf.getvalue()
    else:
        data = df.to_csv(index=False).encode()
    with held():  # the rename is done or not; the write itself is atomic already
        atomic_write(path, lambda f: f.write(data))


# ---------------------------------------------------------------------------
# Backends


@contextmanager
def _sigint_blocked():
    """SIGINT blocked in this thread while joblib starts its workers (and the threads that respawn them).

    A blocked signal stays blocked in a child, also after exec: Ctrl-C in a terminal, which goes to the
    whole process group, then reaches only this process, which stops the workers itself (not each
    worker with a KeyboardInterrupt traceback of its own, in the middle of its imports). A Ctrl-C in
    this window is not lost: it is delivered here when the block ends."""
    on = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    if on:  # started first: starting one later would unblock SIGINT (Python < 3.14's resource_tracker does)
        from multiprocessing import resource_tracker

        from joblib.externals.loky.backend import resource_tracker as loky_tracker

        resource_tracker.ensure_running()
        loky_tracker.ensure_running()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if on else None
    try:
        yield
    finally:
        if on:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _joblib_rows(tasks: list, n_jobs: int, record, deaths: dict):
    """Run ``tasks`` on ``n_jobs`` local processes; ``record(row)`` each result as it comes.

    A dead worker breaks joblib's pool: the runs in flight get one death each and the
    unfinished ones are started again on a new pool; after ``MAX_WORKER_DEATHS`` a run is
    recorded as an error row."""
    from joblib import Parallel, delayed, parallel_config
    from joblib.externals.loky.process_executor import BrokenProcessPool, TerminatedWorkerError

    pending = {t["run_id"]: t for t in tasks}
    while pending:
        dispatched: list = []

        def feed(items):
            for t in items:
                dispatched.append(t["run_id"])
                yield delayed(run_one)(t)

        done_here: set = set()
        try:
            with parallel_config(backend="loky", inner_max_num_threads=1), _sigint_blocked():
                gen = Parallel(n_jobs=n_jobs, return_as="generator_unordered", pre_dispatch="n_jobs",
                               batch_size=1)(feed([{**t, "worker": True} for t in pending.values()]))
                try:
                    for row in gen:
                        done_here.add(row["run_id"])
                        pending.pop(row["run_id"], None)
                        record(row)
                finally:  # an exception here (Ctrl-C while saving): joblib aborts, its workers are killed
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        gen.close()
                    del gen
                    import gc

                    gc.collect()
        except (TerminatedWorkerError, BrokenProcessPool) as exc:
            for rid in dispatched:
                if rid in done_here or rid not in pending:
                    continue
                deaths[rid] = deaths.get(rid, 0) + 1
                if deaths[rid] >= MAX_WORKER_DEATHS:
                    t = pending.pop(rid)
                    record(_error_row(t, "WorkerDied", f"the worker process running it died {deaths[rid]} "
                                      f"times (killed, or out of memory?): {_one_line(exc)}"))
            from tqdm.auto import tqdm

            tqdm.write("sweep: a worker process died; starting its unfinished runs again", file=sys.stderr)


def _error_row(task: dict, failure: str, reason: str) -> dict:
    row = {"run_id": task["run_id"], "part": task["part"], "status": "error", "failure": failure,
           "reason": reason, "seconds": math.nan, "loops_done": 0}
    row.update(_param_columns(task["params"]))
    if task["part"] == "part3":
        row["data"], row["data_digest"] = task.get("data_source"), task.get("data_digest")
    return row


def _dask_client(scheduler):
    """``(client, ours)``: a Client for an address, a Client, or a cluster object."""
    try:
        from distributed import Client
    except ImportError:
        raise ValueError("scheduler: a Dask cluster needs dask.distributed "
                         "(pip install 'tutorial_lib[cluster]')") from None
    if isinstance(scheduler, Client):
        return scheduler, False
    if isinstance(scheduler, str):
        _probe(scheduler)
        try:
            return Client(scheduler, timeout=f"{CONNECT_TIMEOUT:g}s"), True
        except (OSError, TimeoutError) as exc:
            raise OSError(f"cannot connect to the Dask scheduler at {scheduler}: {_one_line(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - an answer distributed cannot read
            raise OSError(f"cannot connect to the Dask scheduler at {scheduler}: what answers there is not a "
                          f"Dask scheduler (give the address the scheduler prints, usually port 8786): "
                          f"{type(exc).__name__}: {_one_line(exc)}") from None
    return Client(scheduler), True


#: seconds to connect to a scheduler, and again to receive its first message
CONNECT_TIMEOUT = 5.0
#: the address protocols distributed knows
_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")
#: a Dask message starts with its length (8 bytes) and its number of frames (8 bytes), little-endian
_MAX_HANDSHAKE = 2**24


def _probe(address: str, timeout: float | None = None) -> None:
    """OSError now, within ``timeout`` seconds (:data:`CONNECT_TIMEOUT`) twice, for a ``tcp://`` address
    that is refused, unroutable, or where something else than a Dask scheduler answers.

    distributed retries a refused connection until its own timeout and then names only the timeout; and
    it waits for ever on a server that does not speak its protocol (a web server waits for a request that
    never comes: the sweep stood at 0 runs for good). A Dask scheduler sends its handshake as soon as a
    connection is made: its first 16 bytes must be a message's length and number of frames. (``tls://``
    cannot be read before the TLS handshake: only the connection is tried.)"""
    import socket
    import struct
    from urllib.parse import urlsplit

    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    shown = repr(address) if len(address) <= 100 else repr(address[:90]) + "..."
    try:
        parts = urlsplit(address)
    except ValueError as exc:  # "tcp://[::1"
        raise ValueError(f"scheduler {shown}: not an address ({exc}); give e.g. tcp://host:8786") from None
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"scheduler {shown}: the port must be a number in [0, 65535]") from None
    if parts.scheme not in _SCHEMES:
        raise ValueError(f"scheduler {shown}: {parts.scheme!r} is not a Dask protocol (give tcp://host:8786; "
                         f"also {', '.join(s + '://' for s in _SCHEMES if s != 'tcp')})")
    if parts.scheme == "inproc":
        return
    if not parts.hostname:  # "tcp://:8786" waited for distributed's timeout, then a warning at exit
        raise ValueError(f"scheduler {shown}: no host (give e.g. tcp://host:8786)")
    if parts.scheme not in ("tcp", "tls"):
        return
    port = 8786 if port is None else port  # distributed's default scheduler port
    where = f"the Dask scheduler at {address if len(address) <= 100 else shown}"
    try:
        sock = socket.create_connection((parts.hostname, port), timeout=timeout)
    except UnicodeError as exc:  # a host name that cannot be a name (a label of more than 63 characters)
        raise ValueError(f"scheduler {shown}: the host is not a valid name ({_one_line(exc)})") from None
    except OSError as exc:
        raise OSError(f"cannot connect to {where}: {_one_line(exc)}") from None
    with sock:
        if parts.scheme == "tls":
            return
        head = b""
        deadline = time.monotonic() + timeout
        try:
            while len(head) < 16:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                sock.settimeout(left)
                chunk = sock.recv(16 - len(head))
                if not chunk:
                    break
                head += chunk
        except (TimeoutError, socket.timeout):
            raise OSError(f"cannot connect to {where}: what answers there is not a Dask scheduler (it sent "
                          f"nothing within {timeout:g} s; a scheduler greets at once). Give the address "
                          "the scheduler prints (tcp://host:port; its port is usually 8786)") from None
        except OSError as exc:
            raise OSError(f"cannot connect to {where}: {_one_line(exc)}") from None
    if len(head) < 16:
        raise OSError(f"cannot connect to {where}: it closed the connection ({len(head)} bytes received): "
                      "not a Dask scheduler, or one that refused this client. Give the address the scheduler "
                      "prints (tcp://host:port; its port is usually 8786)")
    total, n_frames = struct.unpack("<QQ", head)
    if not (16 <= total <= _MAX_HANDSHAKE and 1 <= n_frames <= 64 and total >= 8 * (n_frames + 1)):
        raise OSError(f"cannot connect to {where}: what answers there is not a Dask scheduler (its first "
                      f"bytes are {head[:16]!r}, not a Dask message). Give the address the scheduler prints "
                      "(tcp://host:port; its port is usually 8786)")


def _dask_rows(tasks: list, connection, record):
    """Run ``tasks`` on a Dask cluster; ``connection`` is :func:`_dask_client`'s ``(client, ours)``."""
    from distributed import as_completed

    client, ours = connection
    futures = []
    try:
        data = {}
        for t in tasks:  # one copy of Part 3's data on the cluster, not one per task
            if t.get("data") is not None and id(t["data"]) not in data:
                data[id(t["data"])] = client.scatter(t["data"], broadcast=False)
        by_future = {}
        for t in tasks:
            task = {**t, "worker": True}
            if t.get("data") is not None:
                task["data"] = data[id(t["data"])]
            f = client.submit(_run_on_dask, task, pure=False)
            futures.append(f)
            by_future[f.key] = t
        for f in as_completed(futures):
            try:
                row = f.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker, a lost connection: an error row
                row = _error_row(by_future[f.key], type(exc).__name__, _one_line(exc))
            record(row)
            f.release()
    except BaseException:
        if futures:
            try:
                client.cancel(futures, force=True)
            except Exception:  # noqa: BLE001 - closing anyway
                pass
        raise
    finally:
        if ours:
            client.close()


def _run_on_dask(task: dict) -> dict:
    """:func:`run_one` in a Dask worker (tasks run in the worker's threads: no signal handling there)."""
    return run_one({**task, "worker": False})


# ---------------------------------------------------------------------------
# The sweep


def sweep(part: str, grid: dict | None = None, settings: list | None = None, *, seeds=None, base=None,
          out=None, n_jobs: int | None = None, scheduler=None, data=None, progress: bool = True,
          retry_errors: bool = True, warm: bool = True):
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

    Returns
    -------
    pandas.DataFrame, one row per run of this sweep (including those found in ``out``), in
    the order of :func:`plan`: ``run_id``, ``part``, ``status`` (``"ok"``, ``"diverged"``,
    ``"error"``), ``test_score`` (Part 3 also ``test_score_avg``: trial-averaged over
    ``n_test_trials``), ``seconds`` (wall time of the run; a worker's first run also loads the
    compiled code from numba's cache, about a second), ``loops_done``, ``failure`` and
    ``reason`` (None when ok), every parameter of the part, and ``score_loop_1``, ... (the
    score of each training loop, measured while learning; Part 3 also ``test_score_loop_K``).

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
    import pandas as pd
    from tqdm.auto import tqdm

    runs = plan(part, grid, settings, seeds=seeds, base=base)
    if n_jobs is not None:
        from .checks import check_int

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
    path = None if out is None else _check_out(out)
    alm, source, digest = _part3_data(part, data)

    if alm is not None:  # the data bound n_trained (and L, N): checked now, not when a worker builds
        from .balanced.targets import select_alm

        n_alm = alm.n_neurons
        for setting, p in runs:
            try:  # select_alm's checks (the "random" choice needs no targets)
                select_alm(replace(p, selection="random"), alm, None)
                check_memory(p, n_trained=n_alm if p.n_trained is None else p.n_trained)
            except ValueError as exc:
                shown = ", ".join(f"{k}={v!r}" for k, v in setting.items())
                raise ValueError(f"setting {shown}: {exc}" if shown else str(exc)) from None
    order, tasks, table = {}, [], None
    for i, (setting, p) in enumerate(runs):
        rid = _run_id(part, p, digest)
        order[rid] = i
        tasks.append({"part": part, "params": p, "run_id": rid, "data": alm, "data_source": source,
                      "data_digest": digest})
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

    rows: list = []
    state = {"table": table, "saved": len(rows)}
    counts = dict.fromkeys(STATUSES, 0)
    # the cluster first: an address that cannot be used fails now, before the progress bar and the warm-up
    connection = _dask_client(scheduler) if scheduler is not None and todo else None
    bar = tqdm(total=len(todo), desc=f"sweep {part}", unit="run", disable=not progress or not todo)

    def save():
        if path is not None and state["saved"] < len(rows):
            new = pd.DataFrame(rows)
            full = new if state["table"].empty else pd.concat([state["table"], new], ignore_index=True)
            _save(_ordered(full, order), path)
            state["saved"] = len(rows)

    def record(row):
        rows.append(row)
        counts[row["status"]] += 1
        bar.update(1)
        bar.set_postfix({k: v for k, v in counts.items() if v})
        save()

    try:
        if todo:
            if warm:
                try:
                    warm_cache(part, [t["params"] for t in todo])
                except BaseException:
                    if connection is not None and connection[1]:
                        connection[0].close()
                    raise
            if connection is not None:
                _dask_rows(todo, connection, record)
            elif n_jobs == 1 or len(todo) == 1:
                for t in todo:
                    record(run_one(t))
            else:
                _joblib_rows(todo, min(n_jobs, len(todo)), record, {})
    except KeyboardInterrupt as exc:  # what was kept, for the caller's message
        exc.sweep_done, exc.sweep_total = len(tasks) - len(todo) + len(rows), len(tasks)
        raise
    finally:
        bar.close()
        from .interrupts import held

        with held():  # a signal now would lose the last rows: save them first
            save()
    new = pd.DataFrame(rows)
    full = new if table.empty else pd.concat([table, new], ignore_index=True)
    full = _ordered(full, order)
    return _as_read(full[full["run_id"].isin(order)])


def _part3_data(part: str, data):
    """``(ALMData or None, source, digest)`` of a sweep's data (Part 3 only), loaded once, here."""
    if part != "part3":
        if data is not None:
            raise ValueError(f"data is for part3 (the ALM recordings), not {part}")
        return None, None, None
    from .data import ENV_VAR, ALMData, load_alm, synthetic_alm

    if isinstance(data, ALMData):
        alm = data
    elif data == "synthetic":
        alm = synthetic_alm()
    elif data is None:
        alm = load_alm(fallback=None)
    else:
        if isinstance(data, bytes) or not isinstance(data, (str, os.PathLike)):
            raise TypeError(f"data must be an ALMData, a folder (str or os.PathLike) or 'synthetic' "
                            f"(got {type(data).__name__})")
        from .cli import _is_dir, _shown

        if not str(os.fspath(data)).strip():
            raise ValueError(f"data is empty ({os.fspath(data)!r}): give the folder of the four ALM .jld "
                             "files, an ALMData or 'synthetic'")
        if not _is_dir(data):
            raise ValueError(f"data {_shown(os.fspath(data), 120)}: not a folder (give the folder of the "
                             "four ALM .jld files, an ALMData or 'synthetic')")
        folder = Path(os.fspath(data)).expanduser()
        old = os.environ.get(ENV_VAR)
        os.environ[ENV_VAR] = str(folder)
        try:
            alm = load_alm(fallback=None)
        finally:
            if old is None:
                os.environ.pop(ENV_VAR, None)
            else:
                os.environ[ENV_VAR] = old
    return alm, str(alm.source), _data_digest(alm)


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
    from .cli import _add_param_flags, _count_flag

    sw = sub.add_parser("sweep", help="train a part once per setting of a grid and seed; one table row per "
                                      "run",
                        description="Train a part once per setting of a grid and per seed, locally "
                                    "(joblib) or on a Dask cluster; one row per run in a table (CSV or "
                                    "Parquet), saved after every run. Run the same command again to resume.")
    parts = sw.add_subparsers(dest="sweep_part", required=True, metavar="PART")
    for name, cls in PARTS.items():
        sp = parts.add_parser(name, help=f"sweep {cls.__doc__.splitlines()[0][:-1]}",
                              description=f"Sweep {name}: {cls.__doc__.splitlines()[0]} Every flag of the "
                                          f"part sets a fixed value; --grid varies one.",
                              formatter_class=__import__("argparse").RawDescriptionHelpFormatter,
                              epilog=_SWEEP_EPILOG)
        run = sp.add_argument_group("sweep")
        run.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...",
                         help="a parameter and its values (a field name, e.g. N or tau_s; repeat for more: "
                              "every combination runs)")
        run.add_argument("--seeds", metavar="N|S1,S2,...",
                         help="N: seeds 0 .. N-1; or a list of seeds (default: the --seed value only)")
        run.add_argument("--out", metavar="PATH", required=True,
                         help="the table, .csv (or .parquet with pyarrow); written after every run; the "
                              "settings already in it are skipped")
        run.add_argument("--jobs", type=_count_flag("--jobs", -1), metavar="N",
                         help="local worker processes (default 1; -1: one per core)")
        run.add_argument("--scheduler", metavar="ADDRESS",
                         help="run on a Dask cluster instead, e.g. tcp://host:8786 (needs the cluster extra)")
        run.add_argument("--no-retry-errors", dest="retry_errors", action="store_false",
                         help="keep rows with status 'error' in --out instead of running them again")
        run.add_argument("--config", metavar="FILE",
                         help="JSON file of fixed field values; flags override it")
        if name == "part3":
            run.add_argument("--lecture", action="store_true",
                             help="start from BalancedParams.lecture(); --config and flags override it")
            run.add_argument("--data", metavar="DIR", help="folder of the four ALM .jld files")
            run.add_argument("--synthetic", action="store_true",
                             help="train on the synthetic stand-in for the ALM data (not a recording)")
        _add_param_flags(sp, cls)
        sp.set_defaults(_sweep_parser=sp)


def _parse_grid(sp, items: list) -> dict:
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
    if text is None:
        return None
    items = [t.strip() for t in text.split(",")]
    if not all(items):
        sp.error(f"--seeds {text!r}: an empty value (two commas, or one at an end): give N or S1,S2,...")
    from .cli import _parse_int, _shown

    try:
        if len(items) == 1:
            return _parse_int(items[0])  # 1e1 seeds, as --n-loops 1e1
        return [_parse_int(t) for t in items]
    except ValueError:
        sp.error(f"--seeds must be a number of seeds or a list such as 0,3,7 (got {_shown(text)})")


_QUIET_TRACKER = "ignore:resource_tracker:UserWarning"


def cli_main(args, argv) -> int:
    """``rls-tutorial sweep PART ...``; returns the exit code (0; 1 errors; 2 bad flags; 130/143: stopped)."""
    from .cli import PARTS as CLI_PARTS, _RAISE, _error, _make_params, _signal_name

    sp, part = args._sweep_parser, args.sweep_part
    cls = CLI_PARTS[part]
    base = _make_params(sp, args, cls)
    grid = _parse_grid(sp, args.grid)
    seeds = _parse_seeds(sp, args.seeds)
    if args.jobs is not None and (args.jobs == 0 or args.jobs < -1):
        sp.error(f"--jobs must be >= 1 (local worker processes), or -1 for one per core (got {args.jobs})")
    if args.scheduler is not None and not args.scheduler.strip():
        sp.error(f"--scheduler is empty ({args.scheduler!r}): give the scheduler's address, e.g. tcp://host:8786")
    if args.scheduler and args.jobs not in (None, 1):
        sp.error("--jobs and --scheduler exclude each other (on a Dask cluster the workers are the "
                 "cluster's)")
    data = None
    if part == "part3":
        if args.synthetic and args.data is not None:
            sp.error("--synthetic and --data exclude each other")
        if args.data is not None and not args.data.strip():  # "--data ''": a mistake, not "not given"
            sp.error(f"--data is empty ({args.data!r}): give the folder of the ALM files, or leave it out")
        data = "synthetic" if args.synthetic else args.data
    from .data import DataError

    try:
        runs = plan(part, grid or None, seeds=seeds, base=base)
        path = _check_out(args.out, "--out")
        if part == "part3":  # loaded once, here: said once (not per run), and a missing file before the plan
            data, source, _ = _part3_data(part, data)
            print(f"Data: {source}")
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        sp.error(msg if not msg.startswith("grid ") else "--" + msg)
    except DataError as exc:
        hint = "" if args.data else " (or pass --data DIR; --synthetic trains on a synthetic stand-in)"
        return _error(_one_line(exc) + hint)
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
                      scheduler=args.scheduler, data=data, retry_errors=args.retry_errors)
    except KeyboardInterrupt as exc:
        code = _RAISE.exit_code if _RAISE.signum else 130
        done = getattr(exc, "sweep_done", 0)
        print(f"rls-tutorial: interrupted ({_signal_name(code)}): {done} of {len(runs)} runs are in {path}; "
              "run the same command again to resume", file=sys.stderr)
        return code
    except (ValueError, TypeError) as exc:
        return _error(_one_line(exc), 2)
    except OSError as exc:
        return _error(_one_line(exc))
    except Exception as exc:  # noqa: BLE001 - e.g. the ALM data cannot be had: one line, not a traceback
        return _error(_one_line(exc))
    counts = table["status"].value_counts()
    print(f"Done in {time.perf_counter() - t0:.1f} s: {len(table)} run(s), "
          + ", ".join(f"{int(counts.get(s, 0))} {s}" for s in STATUSES) + f"; table: {path}")
    names = [n for n in (list(grid) + (["seed"] if seeds is not None else [])) if n != "seed"]
    ok = table[table["status"] == "ok"]
    if names and len(ok):
        import pandas as pd

        with pd.option_context("display.width", 120):
            print("test score (no learning) over seeds:")
            by = ok.groupby(names, dropna=False)["test_score"]  # dropna=False: K=all (None) is a value too
            print(by.agg(["mean", "std", "count"]).round(4).to_string())
    n_err = int(counts.get("error", 0))
    if n_err:
        return _error(f"{n_err} run(s) failed with an error (see the columns failure and reason in {path}); "
                      "run the same command again to retry them")
    return 0
