"""Part 3 at scale (issue #15): the whole 200-loop SPEC run estimated from a few measured loops, and how
the cost of a training loop grows with the network size N.

``python -m benchmarks scaling-run``: build time, seconds per training loop and per test trial at the
SPEC's full scale on the ALM recordings, extrapolated to ``rls-tutorial part3``'s defaults (200 loops, a
test of ``n_test_trials`` trials every ``score_every`` loops, the final test), beside the committed
full run (``benchmarks/part3_full_scale.json``).

``python -m benchmarks scaling``: two training loops (the faster counts) at N = 2500, 5000, 10000,
20000, each size in a process of its own (its peak memory is that size's), and the growth exponents
(log-log least squares) of loop, RLS and simulation time, peak memory and the big objects' bytes; where
24 GiB of memory ends. About 6 minutes on 2 cores.

The scaling rule (:func:`scaled_params`; the SPEC fixes only N = 5000): the connection probability
is kept, ``K = N / 10`` (K / Ne = 0.2 as in the SPEC), so static synapses grow as N^2; the trained
neurons stay the SPEC's fraction of E, ``1824 / 2500`` of Ne (more than the 1824 recorded neurons
above N = 5000, so every size trains on the synthetic stand-in,
``tutorial_lib.data.synthetic_alm(n_neurons=...)``, to compare like with like); L = 20 and
n_ffwd = 300 stay fixed: they are each trained neuron's regressors (its RLS problem), set by the
task's complexity, not by the network's size, so the RLS cost per trained neuron stays the same.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tutorial_lib import BalancedParams, balanced
from tutorial_lib.data import load_alm, synthetic_alm

from .part3 import _Clocks, _peak_bytes, _state_bytes, full_scale_prefix

#: Network sizes of the growth benchmark.
SIZES = (2500, 5000, 10000, 20000)
#: The committed full-scale run (scores and seconds per loop).
FULL_RUN = Path(__file__).with_name("part3_full_scale.json")
#: The memory of the development machine, GiB.
MACHINE_GIB = 24.0

_TINY = BalancedParams(N=400, K=40, L=5, n_trained=20, n_ffwd=20, n_loops=1, score_every=0,
                       train_duration=200.0)


def _warm() -> None:
    """Compile the kernels (or load them from numba's cache) so that no timing includes it."""
    data = synthetic_alm(n_neurons=2 * _TINY.n_trained, seed=0)
    balanced.train(_TINY, data=data, progress=False)
    net = balanced.build_network(_TINY, data, progress=False)
    balanced.run_trial(net, "right", loop=0, keep_run=False)


def measure(p: BalancedParams, data, n_loops: int = 1, n_test: int = 1) -> dict:
    """Build the network of ``p`` on ``data``, run ``n_loops`` training loops and ``n_test`` test trials.

    Returns seconds (``build``, ``loop``: mean per loop, ``rls``: RLS updates per loop, ``sim``:
    ``loop - rls``; ``loop_best``, ``rls_best``, ``sim_best``: the same of the fastest loop, less
    exposed to other jobs on a shared machine; ``test_trial``: mean per test trial, ``test_best``: the
    fastest), bytes
    (``rls_state``: the RLS state besides the weights, ``static_synapses``: the static CSR arrays,
    ``peak``: this process's peak resident memory so far), counts (``n_trained``, ``n_synapses``,
    ``updates`` per loop, ``threads``) and ``synthetic`` (whether ``data`` is the stand-in)."""
    t0 = time.perf_counter()
    net = balanced.build_network(p, data, progress=False)
    t_build = time.perf_counter() - t0
    rls = balanced.make_rls(net)
    timer = _Clocks(rls)
    loops = []  # (seconds, RLS seconds) per loop
    for loop in range(n_loops):
        t0, r0 = time.perf_counter(), timer.seconds
        for c in ("right", "left"):
            balanced.run_trial(net, c, rls, loop=loop, keep_run=False)
        loops.append((time.perf_counter() - t0, timer.seconds - r0))
    per_loop = sum(t for t, _ in loops) / n_loops
    best, best_rls = min(loops)
    tests = []
    for k in range(n_test):  # as evaluate runs them past keep_runs: no learning, no record kept
        t0 = time.perf_counter()
        balanced.run_trial(net, "right", loop=k, keep_run=False)
        tests.append(time.perf_counter() - t0)
    per_test = sum(tests) / n_test
    syn = (net.static.exc, net.static.inh)
    return {
        "N": p.N, "K": p.K, "L": p.L, "n_ffwd": p.n_ffwd if p.ffwd else 0, "n_trained": int(net.n_trained),
        "synthetic": bool(data.synthetic), "build": t_build, "loop": per_loop, "rls": timer.seconds / n_loops,
        "sim": per_loop - timer.seconds / n_loops, "test_trial": per_test,
        "loop_best": best, "rls_best": best_rls, "sim_best": best - best_rls, "test_best": min(tests),
        "updates": timer.calls // n_loops, "threads": int(getattr(rls, "threads", 1)),
        "rls_state": int(_state_bytes(rls)),
        "static_synapses": int(sum(a.nbytes for s in syn for a in (s.ptr, s.post, s.w))),
        "n_synapses": int(sum(s.post.size for s in syn)), "peak": _peak_bytes(),
    }


def scaled_params(N: int, base: BalancedParams | None = None, n_trained_ref: int = BalancedParams.ALM_NEURONS,
                  **changes) -> BalancedParams:
    """``base`` (default the SPEC's ``BalancedParams()``) resized to ``N`` neurons by the module's rule.

    ``K = base.K N / base.N`` (the connection probability kept), the trained neurons
    ``n_trained_ref Ne / base.Ne`` (the SPEC's 1824 of 2500 E, 73 %), ``L`` and ``n_ffwd`` as in
    ``base``; no tests during training. ``changes`` override any field. Raises ValueError (from
    :class:`BalancedParams`) for a size the rule cannot make, e.g. more trained neurons than E."""
    b = BalancedParams() if base is None else base
    ref = b.n_trained if b.n_trained is not None else n_trained_ref
    vals = dict(N=int(N), K=max(1, round(b.K * N / b.N)), n_loops=1, score_every=0)
    ne = BalancedParams(N=int(N), frac_exc=b.frac_exc, K=1, L=1).Ne
    vals["n_trained"] = max(b.L + 1, round(ref * ne / b.Ne))
    vals.update(changes)
    from dataclasses import replace

    return replace(b, **vals)


def fit_exponent(x, y) -> tuple[float, float]:
    """Least-squares line through ``(log x, log y)``: ``(exponent, log prefactor)``, so ``y ~ e^c x^b``.

    NaN for both if fewer than two points are positive and finite."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    if np.unique(x[ok]).size < 2:
        return math.nan, math.nan
    b, c = np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)
    return float(b), float(c)


def _fit_quadratic(x, y):
    """``y ~ a + b N + c N^2`` with non-negative coefficients (least squares): a function of ``N``, and
    ``(a, b, c)`` in units of ``s = max(x)``; None with fewer than two sizes."""
    from scipy.optimize import nnls

    x, y = np.asarray(x, float), np.asarray(y, float)
    if np.unique(x).size < 2:
        return None
    s = x.max()  # in units of the largest size, for a well-conditioned fit
    (a, b, c), _ = nnls(np.stack([np.ones_like(x), x / s, (x / s) ** 2], 1), y)
    return (lambda n: a + b * (n / s) + c * (n / s) ** 2), (a, b, c, s)


def _n_at_quadratic(x, y, limit: float) -> float:
    """The ``N`` where ``a + b N + c N^2``, fitted to ``(x, y)`` with non-negative coefficients, reaches
    ``limit`` (inf if it never does; NaN with fewer than two sizes)."""
    fit = _fit_quadratic(x, y)
    if fit is None:
        return math.nan
    a, b, c, s = fit[1]
    if a >= limit:
        return 0.0
    if c > 0:
        return float(s * (-b + math.sqrt(b * b + 4 * c * (limit - a))) / (2 * c))
    return float(s * (limit - a) / b) if b > 0 else math.inf


def _size_in_subprocess(p: BalancedParams, n_loops: int, n_test: int) -> dict:
    """:func:`measure` at ``p`` on ``synthetic_alm(n_trained)`` in a fresh process (its own peak memory)."""
    from dataclasses import asdict

    out = subprocess.run([sys.executable, "-m", "benchmarks.scaling", json.dumps(asdict(p)), str(n_loops),
                          str(n_test)], check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


GROWTH = (("loop_best", "seconds_per_loop", "s", "simulation + RLS of the fastest loop (two trials)"),
          ("rls_best", "rls_seconds_per_loop", "s", "RLS updates of the fastest loop"),
          ("sim_best", "simulation_seconds_per_loop", "s", "the fastest loop without its RLS updates"),
          ("build", "build_seconds", "s", "static network, static run, matching, plastic synapses"),
          ("peak", "peak_memory_gb", "GB", "peak resident memory of the process (VmHWM)"),
          ("rls_state", "rls_state_gb", "GB", "RLS state besides the weights, from the object"),
          ("static_synapses", "static_synapses_gb", "GB",
           "static synapses (CSR ptr, post, w), from the objects"))


def bench_scaling(sizes=SIZES, n_loops: int = 2, base: BalancedParams | None = None,
                  n_trained_ref: int = BalancedParams.ALM_NEURONS, machine_gib: float = MACHINE_GIB):
    """Cost of a training loop against N (the fastest of ``n_loops``; each size in its own process),
    growth exponents, and where
    ``machine_gib`` of memory runs out. ``base`` is the size the rule scales from (default the SPEC's);
    its rows are named ``scaling_n{N}_*`` at the SPEC's parameters, ``scaling_small_n{N}_*`` otherwise."""
    from .part3 import copy_bandwidth_gb_per_s

    base_p = BalancedParams() if base is None else base
    prefix = "scaling_" if base is None or base == BalancedParams() else "scaling_small_"
    res = []
    for N in sizes:
        p = scaled_params(N, base_p, n_trained_ref)
        print(f"  N = {N}: K = {p.K}, {p.n_trained} trained, L = {p.L}, n_ffwd = {p.n_ffwd} ...",
              file=sys.stderr, flush=True)
        res.append(_size_in_subprocess(p, n_loops, 1))
    rows = []
    for r in res:
        tag = (f"K = {r['K']}, {r['n_trained']} trained (synthetic stand-in), {r['n_synapses'] / 1e6:.1f} M "
               f"synapses")
        for key, name, unit, note in GROWTH:
            v = r[key] / 1e9 if unit == "GB" else r[key]
            rows.append((f"{prefix}n{r['N']}_{name}", v, unit, f"{note}; {tag}"))
    Ns = [r["N"] for r in res]
    fits = {}
    for key, name, unit, note in GROWTH:
        b, c = fit_exponent(Ns, [r[key] for r in res])
        fits[key] = (b, c)
        rows.append((f"{prefix}exponent_{name}", b, "", f"log-log least squares over N = {Ns}"))
    limit = machine_gib * 2**30

    def n_at(key_fits, bytes_limit):  # N where the fitted sum of terms reaches bytes_limit (bisection)
        f = lambda n: sum(math.exp(c) * n ** b for b, c in key_fits)  # noqa: E731
        if not all(math.isfinite(b) and math.isfinite(c) for b, c in key_fits):
            return math.nan
        lo, hi = 1.0, 1e9
        if f(hi) < bytes_limit:
            return math.inf
        for _ in range(200):
            mid = math.sqrt(lo * hi)
            lo, hi = (mid, hi) if f(mid) < bytes_limit else (lo, mid)
        return lo

    n_peak = _n_at_quadratic(Ns, [r["peak"] for r in res], limit)
    n_obj = n_at([fits["rls_state"], fits["static_synapses"]], limit)
    rows.append((f"{prefix}n_at_{machine_gib:g}gib_peak", n_peak, "neurons",
                 f"N where the peak memory, fitted as a + b N + c N^2 (c: the static synapses, N K of them; "
                 f"non-negative least squares), reaches {machine_gib:g} GiB"))
    rows.append((f"{prefix}n_at_{machine_gib:g}gib_objects", n_obj, "neurons",
                 "N where static synapses + RLS state alone (fitted) reach it: an upper bound"))
    if math.isfinite(n_peak):  # simulation ~ N K ~ N^2 at large N, RLS ~ N: each fitted as a quadratic
        loop = sum(_fit_quadratic(Ns, [r[k] for r in res])[0](n_peak) for k in ("sim_best", "rls_best"))
        rows.append((f"{prefix}seconds_per_loop_at_n_peak", loop, "s",
                     f"simulation and RLS time, each fitted as a + b N + c N^2, at N = {n_peak:.0f}"))
    rows.append((f"{prefix}machine_copy_gb_per_s", copy_bandwidth_gb_per_s(), "GB/s",
                 "NumPy copy of 400 MB, bytes read + written, best of 5"))
    for r in res:
        streamed = 3 * r["rls_state"] * r["updates"]  # in the fastest loop
        rows.append((f"{prefix}n{r['N']}_rls_gb_per_s", streamed / max(r["rls_best"], 1e-12) / 1e9, "GB/s",
                     f"RLS state read twice, written once per update; {r['updates']} updates, "
                     f"{r['threads']} thread(s)"))
    return rows


def recorded_run(path=FULL_RUN) -> dict | None:
    """The committed full run's timing: ``loops_seconds`` (sum of its ``seconds_per_loop``: the training
    loops and the tests during training), ``loop`` (median of the loops without a test), ``test_trial``
    (median extra time of a test loop over ``loop``, per test trial), ``n_loops``, ``n_tests``,
    ``n_test_trials``, and ``wall`` (a whole wall time, if the file records one, else None). None if
    the file is missing or has no ``seconds_per_loop``."""
    path = Path(path)
    if not path.exists():
        return None
    doc = json.loads(path.read_text())
    sec = np.asarray(doc.get("seconds_per_loop") or [], float)
    if sec.size == 0:
        return None
    loops = np.asarray(doc.get("loops") or np.arange(1, sec.size + 1))
    tested = np.isin(loops, np.asarray(doc.get("test_loops") or [], int))
    n_trials = int(doc.get("params", {}).get("values", {}).get("n_test_trials", 5))
    loop = float(np.median(sec[~tested])) if (~tested).any() else float(np.median(sec))
    test = float(np.median(sec[tested]) - loop) / n_trials if tested.any() else math.nan
    wall = next((doc[k] for k in ("wall_seconds", "seconds", "elapsed_seconds") if k in doc), None)
    return {"loops_seconds": float(sec.sum()), "loop": loop, "test_trial": test, "n_loops": int(sec.size),
            "n_tests": int(tested.sum()), "n_test_trials": n_trials, "wall": wall}


def estimate_minutes(build: float, loop: float, test_trial: float, p: BalancedParams) -> dict:
    """Minutes of ``rls-tutorial part3`` with ``p``: ``loops`` (training loops and the tests during
    training, what ``seconds_per_loop`` records) and ``whole`` (plus the build and the final test)."""
    n_tests = p.n_loops // p.score_every if p.score_every else 0
    loops = p.n_loops * loop + n_tests * p.n_test_trials * test_trial
    return {"loops": loops / 60, "whole": (loops + build + p.n_test_trials * test_trial) / 60,
            "n_tests": n_tests}


def bench_scaling_run(n_loops: int = 3, n_test: int = 3, params: BalancedParams | None = None,
                      recorded=FULL_RUN):
    """The whole ``rls-tutorial part3`` run (``params``, default the SPEC's: 200 loops, 5 test trials every
    10) estimated from ``n_loops`` loops and ``n_test`` test trials measured at that size, beside the
    committed run's recorded seconds. Not at full scale on the ALM data (``TUTORIAL_ALM_DATA`` unset, or
    other parameters): a loud warning on stderr, figures named ``scaling_run_small_*``."""
    p = BalancedParams() if params is None else params
    data = load_alm(fallback="synthetic")
    _warm()
    m = measure(p, data, n_loops=n_loops, n_test=n_test)
    prefix = full_scale_prefix("scaling_run", "The whole-run estimate is measured on", p, data,
                               m["n_trained"])
    est = estimate_minutes(m["build"], m["loop"], m["test_trial"], p)
    fast = estimate_minutes(m["build"], m["loop_best"], m["test_best"], p)
    how = (f"{p.n_loops} loops x {m['loop']:.2f} s + {est['n_tests']} tests x {p.n_test_trials} trials x "
           f"{m['test_trial']:.2f} s")
    rows = [
        (prefix + "build_seconds", m["build"], "s", "static network, static run, matching, plastic synapses"),
        (prefix + "seconds_per_loop", m["loop"], "s", f"mean of {n_loops} loops ({m['rls']:.2f} s RLS)"),
        (prefix + "test_trial_seconds", m["test_trial"], "s", f"mean of {n_test} test trials"),
        (prefix + "estimate_loops_minutes", est["loops"], "min", how),
        (prefix + "estimate_minutes", est["whole"], "min",
         f"the loops, the build and the final test of {p.n_test_trials} trials"),
        (prefix + "estimate_minutes_fastest", fast["whole"], "min",
         f"the same from the fastest loop ({m['loop_best']:.2f} s) and test trial ({m['test_best']:.2f} s): "
         "the machine less loaded"),
    ]
    rec = recorded_run(recorded) if recorded else None
    if rec is None:
        print(f"(no recorded full run at {recorded}: nothing to compare the estimate with)", file=sys.stderr)
        return rows
    if rec["wall"] is None:
        print(f"(the recorded run {Path(recorded).name} holds no whole wall time: compared are its loops, "
              "the sum of its seconds_per_loop; its build and final test were not recorded)", file=sys.stderr)
    else:
        rows.append(("scaling_recorded_wall_minutes", rec["wall"] / 60, "min",
                     "whole wall time, as recorded"))
    rows += [
        ("scaling_recorded_loops_minutes", rec["loops_seconds"] / 60, "min",
         f"sum of seconds_per_loop of the committed {rec['n_loops']}-loop run (loops and tests; no wall "
         "time recorded: build and final test not included)"),
        ("scaling_recorded_seconds_per_loop", rec["loop"], "s", "median of its loops without a test"),
        ("scaling_recorded_test_trial_seconds", rec["test_trial"], "s",
         f"median extra time of its {rec['n_tests']} test loops / {rec['n_test_trials']} trials"),
        ("scaling_recorded_estimate_loops_minutes",
         (rec["n_loops"] * rec["loop"] + rec["n_tests"] * rec["n_test_trials"] * rec["test_trial"]) / 60,
         "min",
         "the same estimate from the recorded run's own medians (the gap to its sum: its slow outliers)"),
    ]
    return rows


if __name__ == "__main__":  # python -m benchmarks.scaling PARAMS_JSON [n_loops n_test]: measure one size
    fields = json.loads(sys.argv[1])
    n_loops, n_test = (int(a) for a in (sys.argv[2:4] if len(sys.argv) > 3 else (1, 1)))
    params = BalancedParams(**fields)
    data = synthetic_alm(n_neurons=params.n_trained, seed=0)
    _warm()
    print(json.dumps(measure(params, data, n_loops=n_loops, n_test=n_test)))
