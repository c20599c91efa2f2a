"""Sweep benchmark: the same 18-run Part 2 sweep on one process, two joblib workers and a Dask
LocalCluster with two worker processes, alternated round by round, with the median speed-ups.

``python -m benchmarks sweep``. The figures only mean something on a quiet machine: two workers
cannot beat one process when the other core is busy (say so beside the figures).
"""

from __future__ import annotations

import time

import numpy as np

GRID = {"N": [50, 100, 200], "tau_s": [20, 50, 200]}  # x 2 seeds = 18 runs
BASE = {"n_loops": 5}


def bench_sweep(rounds: int = 3, grid: dict | None = None, seeds: int = 2, base: dict | None = None):
    """Wall seconds of one sweep per backend, medians of ``rounds`` alternated rounds, and the speed-ups
    of two local workers and of a LocalCluster over one process; checks that every backend gives the
    same test scores (raises AssertionError if not)."""
    from distributed import Client, LocalCluster

    from tutorial_lib.sweep import sweep

    grid = GRID if grid is None else grid
    base = BASE if base is None else base
    n_runs = int(np.prod([len(v) for v in grid.values()])) * seeds
    backends = {"one process": dict(n_jobs=1), "2 joblib workers": dict(n_jobs=2)}
    times = {name: [] for name in (*backends, "LocalCluster")}
    scores = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        backends["LocalCluster"] = dict(scheduler=client)
        sweep("part2", grid, seeds=seeds, base=base, progress=False, n_jobs=1)  # warm numba's cache first
        for _ in range(rounds):
            for name, kw in backends.items():
                t0 = time.perf_counter()
                table = sweep("part2", grid, seeds=seeds, base=base, progress=False, warm=False, **kw)
                times[name].append(time.perf_counter() - t0)
                got = table.set_index("run_id").test_score.sort_index()
                assert (table.status == "ok").all() and len(table) == n_runs
                assert name not in scores or scores[name].equals(got)
                scores.setdefault(name, got)
    first = scores["one process"]
    assert all(s.equals(first) for s in scores.values()), "the backends gave different test scores"
    med = {name: float(np.median(t)) for name, t in times.items()}
    rows = [(f"sweep_{name.replace(' ', '_').lower()}_seconds", med[name], "s",
             f"{n_runs} Part 2 runs, median of {rounds} alternated rounds "
             f"({', '.join(f'{t:.2f}' for t in times[name])})") for name in times]
    for name in ("2 joblib workers", "LocalCluster"):
        ratio = np.array(times["one process"]) / np.array(times[name])
        rows.append((f"sweep_speedup_{name.replace(' ', '_').lower()}", float(np.median(ratio)), "x",
                     f"one process / {name}, per round (range {ratio.min():.2f}-{ratio.max():.2f}); "
                     "same test scores on every backend"))
    return rows
