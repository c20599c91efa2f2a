"""Part 2 benchmarks: the LIF engine and RLS training at the SPEC defaults."""

from __future__ import annotations

import time

import numpy as np

from tutorial_lib import SpikingParams, spiking_net

from .part1 import _best, _startup_seconds


def bench_part2():
    """Seconds per training loop (N = 100, 3 s trial, 20 loops), split into simulation and RLS."""
    p = SpikingParams()
    spiking_net.train(SpikingParams(N=10, n_loops=1), progress=False)  # compile / load from cache
    t0 = time.perf_counter()
    res = spiking_net.train(p, progress=False)
    per_loop = (time.perf_counter() - t0) / p.n_loops
    net = spiking_net.build_network(p)
    t_sim = _best(lambda: spiking_net.run_trial(net), repeat=3)
    tests = [res.test() for _ in range(1)]
    code = ("from tutorial_lib import SpikingParams, spiking_net;"
            "spiking_net.train(SpikingParams(N=10, n_loops=1, train_duration=100.0), progress=False)")
    return [
        ("part2_seconds_per_loop", per_loop, "s", "SPEC defaults, mean over 20 loops (target <= 0.1)"),
        ("part2_simulation_seconds_per_trial", t_sim, "s", "one 3 s trial without learning"),
        ("part2_rls_seconds_per_loop", max(per_loop - t_sim, 0.0), "s", "loop time minus simulation time"),
        ("part2_score_loop20", float(res.scores[-1]), "", "mean correlation of total input and target, learning on"),
        ("part2_test_correlation", float(np.mean([t.score for t in tests])), "",
         "after 20 loops, learning off (target >= 0.9)"),
        ("part2_startup_fresh_cache", _startup_seconds(code, fresh=True), "s", "new process, empty numba cache"),
        ("part2_startup_warm_cache", _startup_seconds(code, fresh=False), "s", "new process, numba cache warm"),
    ]
