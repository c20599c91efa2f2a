"""Part 1 and RLS benchmarks."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

from tutorial_lib import RateParams, rate
from tutorial_lib.core.rls import rls_update_batch
from tutorial_lib.engine.rls_shared import SharedPoolRLS
from tutorial_lib.engine.rls_state import BatchRLS


def _best(fn, repeat=3):
    """Best wall time of ``repeat`` calls (the least disturbed by other load)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_rls():
    """One RLS update of the Part 1 batch (100 neurons x 99 inputs): numba vs NumPy, 1 vs all threads."""
    rng = np.random.default_rng(0)
    n, m, steps = 100, 99, 100
    presyn = np.array([np.delete(np.arange(n), i) for i in range(n)])
    acts = rng.random((steps, n))
    f = rng.random(n)
    zero = np.zeros(n)

    def numba_run(threads):
        rls = BatchRLS(presyn, 0.5, threads=threads)
        rls.step(acts[0], f, zero)  # compile / warm
        return lambda: [rls.step(a, f, zero) for a in acts]

    def numpy_run():
        P = np.tile(np.eye(m) / 0.5, (n, 1, 1))
        w = np.zeros((n, m))
        X = acts[:, presyn]
        return lambda: [rls_update_batch(P, w, X[t], f) for t in range(steps)]

    def shared_run():
        rls = SharedPoolRLS(n, np.arange(n), 0.5)
        rls.step(acts[0], f, zero)
        return lambda: [rls.step(a, f, zero) for a in acts]

    t_np = _best(numpy_run()) / steps
    t1 = _best(numba_run(1)) / steps
    tn_rls = numba_run(None)
    threads = BatchRLS(presyn, 0.5).threads
    tn = _best(tn_rls) / steps
    ts = _best(shared_run()) / steps
    best_batch = min(t1, tn)
    return [
        ("rls_update_numpy", t_np * 1e3, "ms", "vectorised NumPy, 100 neurons x 99 inputs"),
        ("rls_update_numba_1thread", t1 * 1e3, "ms", "compiled batch (one P per neuron), one thread"),
        (f"rls_update_numba_{threads}threads", tn * 1e3, "ms", "compiled batch, neurons shared over threads"),
        ("rls_update_shared_pool", ts * 1e3, "ms", "one shared P for all-to-all neurons (exact)"),
        ("rls_batch_speedup_vs_numpy", t_np / best_batch, "x", "NumPy time / best compiled batch time"),
        ("rls_shared_speedup_vs_batch", best_batch / ts, "x", "best batch time / shared-pool time"),
    ]


def _startup_seconds(code: str, fresh: bool) -> float:
    """Seconds to run ``code`` in a new process, with an empty or the usual (warm) numba cache."""
    import os
    import tempfile

    env = dict(os.environ)
    if fresh:
        env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="numba-fresh-")
    timed = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", timed], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


_STARTUP = ("from tutorial_lib import RateParams, rate;"
            "rate.train(RateParams(n_loops=1, train_duration=5.0), progress=False)")


def bench_part1():
    """Seconds per training loop at the SPEC defaults (N = 100, 610 ms, 50 loops)."""
    p = RateParams()
    rate.train(RateParams(n_loops=1), progress=False)  # compile
    t0 = time.perf_counter()
    res = rate.train(p, progress=False)
    per_loop = (time.perf_counter() - t0) / p.n_loops
    net = rate.build_network(p)
    t_sim = _best(lambda: rate.run_trial(net), repeat=5)
    return [
        ("part1_seconds_per_loop", per_loop, "s", "SPEC defaults, mean over 50 loops (target <= 0.05)"),
        ("part1_simulation_seconds_per_trial", t_sim, "s", "one trial without learning"),
        ("part1_rls_seconds_per_loop", max(per_loop - t_sim, 0.0), "s", "loop time minus simulation time"),
        ("part1_score_loop50", float(res.scores[-1]), "", "mean correlation u vs target (target >= 0.99)"),
        ("part1_test_score", float(res.test().score), "", "after training, learning off (target >= 0.98)"),
        ("part1_startup_fresh_cache", _startup_seconds(_STARTUP, fresh=True), "s", "new process, empty numba cache"),
        ("part1_startup_warm_cache", _startup_seconds(_STARTUP, fresh=False), "s", "new process, numba cache warm"),
    ]
