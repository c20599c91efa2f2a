r"""Where a sweep's runs run: local processes with joblib (:func:`joblib_rows`) or a Dask cluster (:func:`dask_rows`).

A joblib worker that dies breaks joblib's pool: the runs in flight are started again on a fresh
pool, and a setting whose worker died :data:`MAX_WORKER_DEATHS` times is recorded as an error row.
A scheduler address is probed first (:func:`probe`): a refused, unroutable or wrong address is said
within seconds, not after distributed's own timeout.
"""

# Imported inside functions (optional heavy dependencies): distributed (the cluster extra) and joblib
# (its process pool, only when a sweep runs on local processes; the command line starts without it).

from __future__ import annotations

import gc
import socket
import struct
import sys
import time
import warnings
from multiprocessing import resource_tracker
from urllib.parse import urlsplit

from tqdm.auto import tqdm

from ..cli_args import one_line
from ..interrupts import sigint_blocked
from .runs import error_row, run_on_dask

__all__ = ["MAX_WORKER_DEATHS", "CONNECT_TIMEOUT", "joblib_rows", "dask_client", "probe", "dask_rows"]


#: how often a joblib run may be in flight when its worker dies before its row says "error"
MAX_WORKER_DEATHS = 3


def _start_trackers() -> None:
    """Start the resource trackers before SIGINT is blocked (one started later would unblock SIGINT in
    its children: Python < 3.14's resource_tracker does)."""
    from joblib.externals.loky.backend import resource_tracker as loky_tracker

    resource_tracker.ensure_running()
    loky_tracker.ensure_running()


def joblib_rows(tasks: list, n_jobs: int, record, deaths: dict, run):
    """Run ``run(task)`` for ``tasks`` on ``n_jobs`` local processes; ``record(row)`` each result as it comes.

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
                yield delayed(run)(t)

        done_here: set = set()
        try:
            with parallel_config(backend="loky", inner_max_num_threads=1), sigint_blocked(_start_trackers):
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
                    gc.collect()
        except (TerminatedWorkerError, BrokenProcessPool) as exc:
            for rid in dispatched:
                if rid in done_here or rid not in pending:
                    continue
                deaths[rid] = deaths.get(rid, 0) + 1
                if deaths[rid] >= MAX_WORKER_DEATHS:
                    t = pending.pop(rid)
                    record(error_row(t, "WorkerDied", f"the worker process running it died {deaths[rid]} "
                                      f"times (killed, or out of memory?): {one_line(exc)}"))
            tqdm.write("sweep: a worker process died; starting its unfinished runs again", file=sys.stderr)


def dask_client(scheduler, timeout: float | None = None):
    """``(client, ours)``: a Client for an address, a Client, or a cluster object; ``timeout`` (seconds,
    default :data:`CONNECT_TIMEOUT`) to connect to an address, and again for its first message."""
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    try:
        from distributed import Client
    except ImportError:
        raise ValueError("scheduler: a Dask cluster needs dask.distributed "
                         "(pip install 'tutorial_lib[cluster]')") from None
    if isinstance(scheduler, Client):
        return scheduler, False
    if isinstance(scheduler, str):
        probe(scheduler, timeout)
        try:
            return Client(scheduler, timeout=f"{timeout:g}s"), True
        except (OSError, TimeoutError) as exc:
            raise OSError(f"cannot connect to the Dask scheduler at {scheduler}: {one_line(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - an answer distributed cannot read
            raise OSError(f"cannot connect to the Dask scheduler at {scheduler}: what answers there is not a "
                          f"Dask scheduler (give the address the scheduler prints, usually port 8786): "
                          f"{type(exc).__name__}: {one_line(exc)}") from None
    return Client(scheduler), True


#: seconds to connect to a scheduler, and again to receive its first message
CONNECT_TIMEOUT = 5.0


#: the address protocols distributed knows
_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


#: a Dask message starts with its length (8 bytes) and its number of frames (8 bytes), little-endian
_MAX_HANDSHAKE = 2**24


def probe(address: str, timeout: float | None = None) -> None:
    """OSError now, within ``timeout`` seconds (:data:`CONNECT_TIMEOUT`) twice, for a ``tcp://`` address
    that is refused, unroutable, or where something else than a Dask scheduler answers.

    distributed retries a refused connection until its own timeout and then names only the timeout; and
    it waits for ever on a server that does not speak its protocol (a web server waits for a request that
    never comes: the sweep stood at 0 runs for good). A Dask scheduler sends its handshake as soon as a
    connection is made: its first 16 bytes must be a message's length and number of frames. (``tls://``
    cannot be read before the TLS handshake: only the connection is tried.)"""
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    shown = repr(address) if len(address) <= 100 else repr(address[:90]) + "..."
    parts, port = _address(address, shown)
    if parts is None:
        return
    where = f"the Dask scheduler at {address if len(address) <= 100 else shown}"
    try:
        sock = socket.create_connection((parts.hostname, port), timeout=timeout)
    except UnicodeError as exc:  # a host name that cannot be a name (a label of more than 63 characters)
        raise ValueError(f"scheduler {shown}: the host is not a valid name ({one_line(exc)})") from None
    except OSError as exc:
        raise OSError(f"cannot connect to {where}: {one_line(exc)}") from None
    with sock:
        if parts.scheme == "tls":
            return
        head = _greeting(sock, timeout, where)
    if len(head) < 16:
        raise OSError(f"cannot connect to {where}: it closed the connection ({len(head)} bytes received): "
                      "not a Dask scheduler, or one that refused this client. Give the address the scheduler "
                      "prints (tcp://host:port; its port is usually 8786)")
    total, n_frames = struct.unpack("<QQ", head)
    if not (16 <= total <= _MAX_HANDSHAKE and 1 <= n_frames <= 64 and total >= 8 * (n_frames + 1)):
        raise OSError(f"cannot connect to {where}: what answers there is not a Dask scheduler (its first "
                      f"bytes are {head[:16]!r}, not a Dask message). Give the address the scheduler prints "
                      "(tcp://host:port; its port is usually 8786)")


def _address(address: str, shown: str):
    """``(parts, port)`` of a scheduler address to probe (``urlsplit``'s parts), or ``(None, None)`` for a
    protocol that is not probed; ValueError naming what is wrong with it."""
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
        return None, None
    if not parts.hostname:  # "tcp://:8786" waited for distributed's timeout, then a warning at exit
        raise ValueError(f"scheduler {shown}: no host (give e.g. tcp://host:8786)")
    if parts.scheme not in ("tcp", "tls"):
        return None, None
    return parts, 8786 if port is None else port  # distributed's default scheduler port


def _greeting(sock, timeout: float, where: str) -> bytes:
    """The first 16 bytes ``sock`` receives within ``timeout`` seconds (fewer if it closes); OSError if none come."""
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
        raise OSError(f"cannot connect to {where}: {one_line(exc)}") from None
    return head


def dask_rows(tasks: list, connection, record):
    """Run ``tasks`` on a Dask cluster; ``connection`` is :func:`dask_client`'s ``(client, ours)``."""
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
            f = client.submit(run_on_dask, task, pure=False)
            futures.append(f)
            by_future[f.key] = t
        for f in as_completed(futures):
            try:
                row = f.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker, a lost connection: an error row
                row = error_row(by_future[f.key], type(exc).__name__, one_line(exc))
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
