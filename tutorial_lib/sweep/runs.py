r"""One run of a sweep, as a worker runs it: train, test, and the run's row (:func:`run_one`).

Every run uses one thread (:data:`THREAD_VARS`); a DivergenceError or any other exception becomes
the row's status and reason. :func:`warm_cache` compiles every kernel once (a tiny run of each
structure) before any worker starts.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from contextlib import contextmanager

from ..cli_args import one_line
from ..data import synthetic_alm
from ..errors import DivergenceError
from ..parts import PARTS
from ..storage import params_to_dict
from .part5 import part5_columns

__all__ = ["THREAD_VARS", "run_one", "warm_cache", "error_row", "run_on_dask", "param_columns", "train_and_test"]


#: what every worker gets: one thread for each library that may start threads
THREAD_VARS = ("TUTORIAL_LIB_THREADS", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
               "OPENBLAS_NUM_THREADS")


@contextmanager
def one_thread(on: bool):
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
    with one_thread(True):
        try:
            extra = train_and_test(part, p, task.get("data"), scores, task.get("part5"))
            row.update(status="ok", failure=None, reason=None, **extra)
        except DivergenceError as exc:
            row.update(status="diverged", failure=exc.kind, reason=one_line(exc))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - a failed run is a row, not a crash of the sweep
            row.update(status="error", failure=type(exc).__name__, reason=one_line(exc))
    row["seconds"] = time.perf_counter() - t0
    row["loops_done"] = len(scores)
    row.update(param_columns(p))
    if PARTS[part].recordings:
        row["data"] = task.get("data_source")
        row["data_digest"] = task.get("data_digest")
    row.update({f"score_loop_{k + 1}": float(s) for k, s in enumerate(scores)})
    return row


def param_columns(p) -> dict:
    """Every parameter of a run as a column of its row."""
    return dict(params_to_dict(p)["values"])


def train_and_test(part: str, p, data, scores: list, part5: dict | None = None) -> dict:
    """Train and test; append each loop's score to ``scores``; the test columns of the row
    (:attr:`Part.tests <tutorial_lib.parts.Part>`). ``data``: the recordings, for a part that trains on them;
    ``part5``: Part 5's options, for its columns too (:func:`~tutorial_lib.sweep.part5.part5_columns`)."""
    def collect(loop, trial, history):
        scores.append(float(trial.score))

    entry = PARTS[part]
    options = {"data": data} if entry.recordings else {}
    res = entry.train(p, progress=False, callback=collect, **options)
    if res.stopped:
        raise KeyboardInterrupt
    out = entry.tests(res, p)
    if part5 is not None:
        out.update(part5_columns(res, part5))
    return out


def tiny_run(part: str, p):
    """A tiny run that compiles what ``p``'s training compiles (same structure, small sizes), or None."""
    try:
        return PARTS[part].tiny(p)
    except ValueError:  # pragma: no cover - every combination the registry makes is valid
        return None


def warm_cache(part: str, params_list) -> float:
    """Run a tiny training of each structural variant in ``params_list`` (numba compiles and caches
    every kernel once, here); returns the seconds it took. Failures are ignored (it only warms)."""
    t0 = time.perf_counter()
    variants = []
    for p in params_list:
        tiny = tiny_run(part, p)
        if tiny is not None and tiny not in variants:
            variants.append(tiny)
    data = synthetic_alm(n_neurons=60, seed=1) if PARTS[part].recordings else None
    for tiny in variants[:8]:
        try:
            train_and_test(part, tiny, data, [])
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:  # noqa: BLE001 - a warm-up that fails only warms less
            pass
    return time.perf_counter() - t0


def error_row(task: dict, failure: str, reason: str) -> dict:
    """The row of a run that could not run (its worker died): status ``"error"``, ``failure``, ``reason``."""
    row = {"run_id": task["run_id"], "part": task["part"], "status": "error", "failure": failure,
           "reason": reason, "seconds": math.nan, "loops_done": 0}
    row.update(param_columns(task["params"]))
    if PARTS[task["part"]].recordings:
        row["data"], row["data_digest"] = task.get("data_source"), task.get("data_digest")
    return row


def run_on_dask(task: dict) -> dict:
    """:func:`run_one` in a Dask worker (tasks run in the worker's threads: no signal handling there)."""
    return run_one({**task, "worker": False})
