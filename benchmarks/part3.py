"""Part 3 benchmarks: the static balanced network and a training loop at the SPEC's full scale."""

from __future__ import annotations

import contextlib
import resource
import sys
import time
from dataclasses import replace

import numpy as np

from tutorial_lib import BalancedParams, balanced
from tutorial_lib.data import load_alm

from .part1 import _best


# a tiny network whose training loads (or compiles) every kernel a full-scale benchmark runs
TINY = BalancedParams(N=400, K=40, L=5, n_trained=20, n_ffwd=20, n_loops=1, score_every=0,
                      train_duration=200.0)


def full_scale_prefix(base: str, what: str, p: BalancedParams, data, n_trained: int) -> str:
    """``base`` + ``"_"`` if the benchmark runs at full scale (the SPEC's parameters and all 1824 ALM
    neurons of the real recordings), else ``base + "_small_"``, after a loud warning on stderr naming
    what ``what`` measured instead: a figure called full scale is never measured on anything else."""
    full = not data.synthetic and p == BalancedParams() and n_trained == BalancedParams.ALM_NEURONS
    prefix = f"{base}_" if full else f"{base}_small_"
    if not full:
        print(f"WARNING: NOT FULL SCALE. {what} {p.N} neurons, {n_trained} trained "
              f"({'synthetic stand-in data' if data.synthetic else 'ALM data'}), not the SPEC's 5000 and "
              f"1824 on the ALM recordings (set TUTORIAL_ALM_DATA); its figures are named {prefix}*.",
              file=sys.stderr, flush=True)
    return prefix


def _peak_bytes() -> int:
    """Peak resident memory of this process so far, bytes: ``VmHWM`` of ``/proc/self/status`` on Linux.

    Not ``ru_maxrss``: Linux carries that over ``exec`` from the forked copy of the parent, so a
    child started by a big benchmark process reports at least the parent's resident memory."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def _peak_rss_gb() -> float:
    """Peak resident memory of this process so far, GB (:func:`_peak_bytes`)."""
    return _peak_bytes() / 1e9


def _state_bytes(rls) -> int:
    """Bytes of the RLS state besides the weights (what an update streams, twice read and once written)."""
    return rls.state_nbytes()


def bench_part3_static(params: BalancedParams | None = None):
    """The static SPEC network (N = 5000, K = 500): build time, 3 s simulation time, mean rates."""
    p = BalancedParams() if params is None else params
    small = BalancedParams(N=200, K=20)
    balanced.simulate_static(balanced.static_network(small), 300.0)  # compile / load from cache
    t0 = time.perf_counter()
    net = balanced.static_network(p)
    t_build = time.perf_counter() - t0
    run = balanced.simulate_static(net)
    pred = run.prediction
    return [
        ("part3_static_build_seconds", t_build, "s", f"draw {p.N * p.out_degree / 1e6:.0f} M synapses"),
        ("part3_static_seconds", run.seconds, "s", f"simulate {p.t_end / 1000:g} s of the static SPEC network"),
        ("part3_static_rate_e", run.rate_e, "Hz", f"balance equations (K -> inf): {pred[0]:.2f} Hz"),
        ("part3_static_rate_i", run.rate_i, "Hz", f"balance equations (K -> inf): {pred[1]:.2f} Hz"),
    ]


def bench_part3_loop(n_loops: int = 10):
    """Seconds per full-scale training loop (all 1824 ALM neurons, SPEC parameters; without the
    recordings the synthetic stand-in, loudly, under other names), split into
    simulation and RLS; its ratio to the static network simulated for the same two trials, alternated
    loop by loop (median and range); and the peak memory: run in a process of its own, so that the peak is
    this training's, not that of whatever ran before in the benchmark process."""
    import json
    import subprocess
    import sys

    # stderr passes through: a warning that the figures are not at full scale must reach the reader
    out = subprocess.run([sys.executable, "-m", "benchmarks.part3", str(int(n_loops))], check=True,
                         stdout=subprocess.PIPE, text=True)
    return [tuple(r) for r in json.loads(out.stdout.strip().splitlines()[-1])]


def _loop_rows(params: BalancedParams | None = None, n_loops: int = 2):
    p = BalancedParams(n_loops=n_loops, score_every=0) if params is None else params
    data = load_alm(fallback="synthetic")
    balanced.train(TINY, data=data, progress=False)  # compile / load from cache
    t0 = time.perf_counter()
    net = balanced.build_network(p, data)
    t_build = time.perf_counter() - t0
    # full scale: the SPEC's network (however many loops are timed) trained on all 1824 recorded neurons
    spec = replace(p, n_loops=BalancedParams.n_loops, score_every=BalancedParams.score_every)
    prefix = full_scale_prefix("part3", "The Part 3 loop benchmark runs", spec, data, net.n_trained)
    rls = balanced.make_rls(net)
    timer = _Clocks(rls)
    seconds, rls_seconds, static_seconds = [], [], []
    for loop in range(n_loops):  # a loop, then the static network for as long (two trials), alternated
        t0, r0 = time.perf_counter(), timer.wall
        for c in ("right", "left"):
            balanced.run_trial(net, c, rls, loop=loop, keep_run=False)
        seconds.append(time.perf_counter() - t0)
        rls_seconds.append(timer.wall - r0)
        t0 = time.perf_counter()
        for _ in ("right", "left"):
            balanced.simulate_static(net.static, p.t_end)
        static_seconds.append(time.perf_counter() - t0)
    seconds, rls_seconds, static_seconds = (np.array(a) for a in (seconds, rls_seconds, static_seconds))
    ratio = seconds / static_seconds
    per_loop = float(np.median(seconds))
    rls_per_loop = float(np.median(rls_seconds))
    state_bytes = _state_bytes(rls)
    per_update = timer.wall / max(timer.calls, 1)
    streamed = 3 * state_bytes  # read twice, written once per update
    return [
        (prefix + "build_seconds", t_build, "s", "static network, static run, matching, plastic synapses"),
        (prefix + "seconds_per_loop", per_loop, "s",
         f"{net.n_trained} trained neurons, {p.n_plastic} plastic inputs each, median of {n_loops} loops"),
        (prefix + "static_seconds_per_loop", float(np.median(static_seconds)), "s",
         "the static network for the same two trials, alternated with the loops"),
        (prefix + "loop_over_static", float(np.median(ratio)), "x",
         f"per loop, range {ratio.min():.2f}-{ratio.max():.2f} (target <= 2.5)"),
        (prefix + "simulation_seconds_per_loop", float(np.median(seconds - rls_seconds)), "s",
         "two 3 s trials, RLS excluded"),
        (prefix + "rls_seconds_per_loop", rls_per_loop, "s",
         f"{timer.calls // n_loops} RLS updates, as long as the simulation waits for them (the part of each "
         "step left to the pool's thread runs during the simulation)"),
        (prefix + "rls_ms_per_update", 1e3 * per_update, "ms", f"{type(rls).__name__}, {rls.threads} thread(s)"),
        (prefix + "rls_gb_per_s", streamed / per_update / 1e9, "GB/s",
         "RLS state bytes read and written per update over the time waited for it (part are streamed meanwhile)"),
        (prefix + "rls_state_gb", state_bytes / 1e9, "GB", "per-neuron P would be "
         f"{net.n_trained * p.n_plastic ** 2 * 8 / 1e9:.2f} GB"),
        (prefix + "peak_memory_gb", _peak_rss_gb(), "GB", "peak resident memory of the training process"),
    ]


def copy_bandwidth_gb_per_s(n_bytes: int = 400_000_000, repeat: int = 5) -> float:
    """This machine's memory bandwidth as NumPy copies it: bytes read plus bytes written per second."""
    a = np.ones(n_bytes // 8)
    b = np.empty_like(a)
    return 2 * a.nbytes / _best(lambda: np.copyto(b, a), repeat) / 1e9


def bench_part3_rls(n: int = 1824, L: int = 20, n_ffwd: int = 300, repeat: int = 10):
    """One RLS update over all trained neurons at full scale: the block form (float64, float32) and
    one P per neuron, against the machine's copy bandwidth measured in the same run."""
    from tutorial_lib.engine.rls_shared import SharedInputRLS
    from tutorial_lib.engine.rls_state import BatchRLS, default_threads

    rng = np.random.default_rng(0)
    N, mp = 5000, 2 * L
    private = np.array([rng.choice(N, mp, replace=False) for _ in range(n)])
    shared = N + np.arange(n_ffwd)
    pen = 0.04 * np.eye(mp)
    pen[:L, :L] += 8.0
    pen[L:, L:] += 8.0
    activity = rng.random(N + n_ffwd) * 0.05
    target, other = np.zeros(n), np.zeros(n)
    bw = copy_bandwidth_gb_per_s()
    rows = [("machine_copy_gb_per_s", bw, "GB/s", "NumPy copy of 400 MB, bytes read + written, best of 5")]

    def time_updates(rls, reps):
        rls.step(activity, target, other)  # compile / load from cache
        return _best(lambda: rls.step(activity, target, other), reps)

    threads = default_threads()
    for dtype in (np.float64, np.float32):
        name = np.dtype(dtype).name
        rls = SharedInputRLS(private, shared, pen, 1.0, dtype=dtype)
        t = time_updates(rls, repeat)
        if dtype is np.float64:
            t64 = t
        streamed = 3 * _state_bytes(rls)  # read twice, written once
        rows += [
            (f"rls_block_{name}_ms_per_update", 1e3 * t, "ms",
             f"{n} neurons, {mp} + {n_ffwd} inputs, {rls.threads} thread(s), state {streamed / 3e6:.0f} MB"),
            (f"rls_block_{name}_gb_per_s", streamed / t / 1e9, "GB/s", "state bytes read + written per second"),
            (f"rls_block_{name}_fraction_of_copy_bandwidth", streamed / t / 1e9 / bw, "",
             "target >= 0.6"),
        ]
    full = np.hstack([private, np.broadcast_to(shared, (n, n_ffwd))])
    pen_full = np.zeros((mp + n_ffwd, mp + n_ffwd))
    pen_full[:mp, :mp], pen_full[mp:, mp:] = pen, np.eye(n_ffwd)
    plain = BatchRLS(full, pen_full, threads=threads)
    t_plain = time_updates(plain, 2)
    rows += [
        ("rls_per_neuron_P_ms_per_update", 1e3 * t_plain, "ms",
         f"one {mp + n_ffwd}^2 P per neuron ({plain.P.nbytes / 1e9:.2f} GB), {plain.threads} thread(s)"),
        ("rls_per_neuron_P_gb_per_s", 3 * plain.P.nbytes / t_plain / 1e9, "GB/s", "P read twice, written once"),
        ("rls_block_speedup_vs_per_neuron_P", t_plain / t64, "x",
         "same weights (tests/test_balanced.py); float64"),
    ]
    return rows


def bench_part3_rls_pooled(rounds: int = 5, steps: int = 20, seed: int = 0):
    """The pooled shared-input RLS (:class:`~tutorial_lib.engine.rls_pooled.PooledInputRLS`) against the block form
    (:class:`~tutorial_lib.engine.rls_shared.SharedInputRLS`) at Part 3's full-scale shapes: ``BalancedParams()``'s
    L, n_ffwd, Ne, Ni, 1824 trained neurons, plastic inputs drawn as in training
    (:func:`~tutorial_lib.balanced.plastic.choose_plastic_inputs`), random activity. The two forms
    are timed in alternation, ``rounds`` times ``steps`` updates each (the machine is shared: one
    timing alone can mislead); reported: the median ratio of the times per update and its range."""
    from tutorial_lib.balanced.plastic import choose_plastic_inputs, penalty_matrix
    from tutorial_lib.engine.rls_pooled import PooledInputRLS
    from tutorial_lib.engine.rls_shared import SharedInputRLS

    p = BalancedParams()
    R, m = 1824, 2 * p.L
    rng = np.random.default_rng(seed)
    trained = np.sort(rng.choice(p.Ne, R, replace=False))
    private = choose_plastic_inputs(rng, trained, p.Ne, p.Ni, p.L)
    shared = p.N + np.arange(p.n_ffwd)
    pen = penalty_matrix(p)[:m, :m]
    acts = rng.random((steps, p.N + p.n_ffwd)) * 0.05  # filtered spike trains, 1/ms
    targets = rng.normal(size=(steps, R))
    other = np.zeros(R)
    forms = {"block": SharedInputRLS(private, shared, pen, p.lam_ff),
             "pooled": PooledInputRLS(private, shared, pen, p.lam_ff)}

    def per_update(rls):
        t0 = time.perf_counter()
        for s in range(steps):
            rls.step(acts[s], targets[s], other)
        return (time.perf_counter() - t0) / steps

    for rls in forms.values():
        per_update(rls)  # compile / load from cache, touch the state
    times = {k: [] for k in forms}
    for r in range(rounds):
        for k in (("block", "pooled") if r % 2 == 0 else ("pooled", "block")):
            times[k].append(per_update(forms[k]))
    ratio = np.array(times["block"]) / np.array(times["pooled"])
    nbytes = {k: _state_bytes(rls) for k, rls in forms.items()}
    pooled = forms["pooled"]
    shapes = f"{R} neurons, {m} + {p.n_ffwd} inputs, pool of {pooled.pool.size}, {pooled.threads} thread(s)"
    return [
        ("rls_pooled_ms_per_update", 1e3 * float(np.median(times["pooled"])), "ms",
         f"PooledInputRLS, median of {rounds} rounds of {steps} updates; {shapes}"),
        ("rls_block_ms_per_update_alternated", 1e3 * float(np.median(times["block"])), "ms",
         "SharedInputRLS, the same rounds, alternated with the pooled form"),
        ("rls_pooled_speedup_vs_block", float(np.median(ratio)), "x",
         f"median of {rounds} alternated rounds (block time / pooled time)"),
        ("rls_pooled_speedup_vs_block_min", float(ratio.min()), "x", "smallest ratio of the rounds"),
        ("rls_pooled_speedup_vs_block_max", float(ratio.max()), "x", "largest ratio of the rounds"),
        ("rls_pooled_state_gb", nbytes["pooled"] / 1e9, "GB", "Pr + H + Q, float64"),
        ("rls_block_state_gb", nbytes["block"] / 1e9, "GB", "Pr + Gt + Q, float64"),
    ]


class _Clocks:
    """Adds up the process and wall time of an RLS state's updates, and counts them.

    Wraps, on the instance, ``step`` and, for a :class:`~tutorial_lib.engine.rls_pooled.PooledInputRLS`,
    ``step_deferred`` and the ``deferred`` context (the form a training trial takes: its two passes
    over the weights at the start and end of a trial count as RLS time). A deferred step leaves part
    of its work to the pool's thread, which does it while the simulation runs on: that part is not
    timed here (the simulation's time holds what it costs the simulation), the wait for it at the
    next step is. ``wall`` is also ``seconds``; :meth:`restore` puts the class's methods back."""

    def __init__(self, rls):
        self.rls, self.cpu, self.wall, self.calls = rls, 0.0, 0.0, 0
        self._wrapped = []
        for name in ("step", "step_deferred"):
            if hasattr(rls, name):
                setattr(rls, name, self._timed(getattr(rls, name), count=True))
                self._wrapped.append(name)
        if hasattr(rls, "deferred"):
            enter_exit = getattr(rls, "deferred")

            @contextlib.contextmanager
            def deferred(*args, **kwargs):
                cm = enter_exit(*args, **kwargs)
                self._timed(cm.__enter__)()
                try:
                    yield rls
                finally:
                    self._timed(cm.__exit__)(*sys.exc_info())

            rls.deferred = deferred
            self._wrapped.append("deferred")

    def _timed(self, f, count: bool = False):
        def timed(*args, **kwargs):
            c0, w0 = time.process_time(), time.perf_counter()
            try:
                return f(*args, **kwargs)
            finally:
                self.cpu += time.process_time() - c0
                self.wall += time.perf_counter() - w0
                self.calls += count
        return timed

    @property
    def seconds(self) -> float:
        return self.wall

    def restore(self) -> None:
        for name in self._wrapped:
            self.rls.__dict__.pop(name, None)
        self._wrapped = []


def _clocks() -> np.ndarray:
    return np.array([time.process_time(), time.perf_counter()])


def simulation_rounds(net, rls, rounds: int = 5) -> dict:
    """Process and wall seconds of simulation per trial, measured alternately in ``rounds`` rounds.

    Each round runs, one after the other: a training trial as :func:`~tutorial_lib.balanced.train`
    runs it in every loop but the last (RLS on, ``keep_run=False``) with the RLS updates' own time
    taken out; a test trial as ``evaluate`` runs it past ``keep_runs`` (no learning, no record kept);
    and the static network (``simulate_static``) for as long. Returns ``{kind: (rounds, 2) array}``
    of (process, wall) seconds for ``"train"``, ``"test"``, ``"static"`` and ``"rls"`` (the time
    taken out of the training trials). ``rls`` is trained in place (``net.w`` with it).
    """
    p = net.params
    clocks = _Clocks(rls)
    out = {k: np.zeros((rounds, 2)) for k in ("train", "test", "static", "rls")}
    try:
        for k in range(rounds):
            c = ("right", "left")[k % 2]
            t0, rls0 = _clocks(), np.array([clocks.cpu, clocks.wall])
            balanced.run_trial(net, c, rls, loop=k, keep_run=False)
            out["rls"][k] = np.array([clocks.cpu, clocks.wall]) - rls0
            out["train"][k] = _clocks() - t0 - out["rls"][k]
            t0 = _clocks()
            balanced.run_trial(net, c, loop=k, keep_run=False)
            out["test"][k] = _clocks() - t0
            t0 = _clocks()
            balanced.simulate_static(net.static, p.t_end)
            out["static"][k] = _clocks() - t0
    finally:
        clocks.restore()
    return out


def bench_part3_simulation(rounds: int = 5, params: BalancedParams | None = None):
    """Simulation seconds per full-scale training trial (RLS excluded), per test trial and per static
    run of the same length, alternated in one run; the ratios to the static run per round (median,
    min, max). Prints a loud warning if the network is not the SPEC's at full scale on the ALM data."""
    p = BalancedParams() if params is None else params
    data = load_alm(fallback="synthetic")
    warm = balanced.build_network(TINY, data, progress=False)
    simulation_rounds(warm, balanced.make_rls(warm), 1)  # compile / load from cache
    net = balanced.build_network(p, data, progress=False)
    prefix = full_scale_prefix("part3_sim", "The simulation benchmark runs", p, data, net.n_trained)
    out = simulation_rounds(net, balanced.make_rls(net), rounds)
    rows = []
    for kind, note in (("train", "training trial, RLS updates excluded, no record kept"),
                       ("test", "test trial (no learning, no record kept)"),
                       ("static", f"static network, {p.t_end:g} ms, no plastic synapses")):
        for j, clock in enumerate(("cpu", "wall")):
            rows.append((f"{prefix}{kind}_{clock}_seconds", float(np.median(out[kind][:, j])), "s",
                         f"median of {rounds}: {note}"))
    for kind in ("train", "test"):
        for j, clock in enumerate(("cpu", "wall")):
            ratio = out[kind][:, j] / out["static"][:, j]
            rows += [(f"{prefix}{kind}_over_static_{clock}", float(np.median(ratio)), "x",
                      f"per round, median of {rounds} (range {ratio.min():.2f}-{ratio.max():.2f})")]
    rows.append((f"{prefix}rls_cpu_seconds", float(np.median(out["rls"][:, 0])), "s",
                  "RLS updates of one training trial (taken out above)"))
    whole = (out["train"][:, 0] + out["rls"][:, 0]) / out["static"][:, 0]
    rows.append((f"{prefix}train_with_rls_over_static_cpu", float(np.median(whole)), "x",
                 f"a whole training trial, RLS included (range {whole.min():.2f}-{whole.max():.2f})"))
    return rows


def form_rounds(net, forms: dict, rounds: int = 5) -> dict:
    """Process and wall seconds of a whole training trial with each RLS form in ``forms`` (name: RLS
    state for ``net``, each trained in place), and of the static network, alternated in ``rounds``
    rounds (the order of the forms turns round by round). Returns ``{name: (rounds, 4) array}`` of
    (trial process, trial wall, RLS process, RLS wall) seconds, and ``"static"``: (rounds, 2)."""
    p = net.params
    clocks = {k: _Clocks(r) for k, r in forms.items()}
    out = {k: np.zeros((rounds, 4)) for k in forms}
    out["static"] = np.zeros((rounds, 2))
    names = list(forms)
    try:
        for k in range(rounds):
            c = ("right", "left")[k % 2]
            t0 = _clocks()
            balanced.simulate_static(net.static, p.t_end)
            out["static"][k] = _clocks() - t0
            for name in names[k % len(names):] + names[:k % len(names)]:
                cl = clocks[name]
                r0, t0 = np.array([cl.cpu, cl.wall]), _clocks()
                balanced.run_trial(net, c, forms[name], loop=k, keep_run=False)
                out[name][k] = np.concatenate([_clocks() - t0, np.array([cl.cpu, cl.wall]) - r0])
    finally:
        for name, cl in clocks.items():
            cl.restore()
    return out


def bench_part3_forms(rounds: int = 5, params: BalancedParams | None = None):
    """A whole full-scale training trial (simulation and RLS) with each RLS form: the block form
    (:class:`~tutorial_lib.engine.rls_shared.SharedInputRLS`), the pooled form (:class:`~tutorial_lib.engine.rls_pooled.PooledInputRLS`)
    in float64 and with a float32 state, against the static network, alternated (:func:`form_rounds`).
    Reported per form: wall seconds per trial, of its RLS updates and of the rest (medians; the
    process times in the notes), the trial over the static run in wall time (what one waits for: RLS
    runs on every core, the simulation on one) and in process time, and the block form's trial time
    over this form's (median and range of the rounds). Figures named ``part3_forms_small_*`` and a
    loud warning if not at full scale."""
    from tutorial_lib.balanced.plastic import make_rls

    p = BalancedParams() if params is None else params
    data = load_alm(fallback="synthetic")
    warm = balanced.build_network(TINY, data, progress=False)
    form_rounds(warm, {"block": make_rls(warm, form="block"), "pooled": make_rls(warm, form="pooled"),
                       "pooled32": make_rls(warm, np.float32, form="pooled")}, 1)  # compile / load from cache
    net = balanced.build_network(p, data, progress=False)
    prefix = full_scale_prefix("part3_forms", "The RLS form benchmark runs", p, data, net.n_trained)
    forms = {"block": make_rls(net, form="block"), "pooled": make_rls(net, form="pooled"),
             "pooled32": make_rls(net, np.float32, form="pooled")}
    out = form_rounds(net, forms, rounds)
    static = out["static"]
    rows = [
        (f"{prefix}static_wall_seconds", float(np.median(static[:, 1])), "s",
         f"static network, {p.t_end:g} ms, median of {rounds} alternated rounds (process time "
         f"{np.median(static[:, 0]):.3f} s)")]
    for name, a in ((k, out[k]) for k in forms):
        over = a[:, 1] / static[:, 1]
        over_cpu = a[:, 0] / static[:, 0]
        speed = out["block"][:, 1] / a[:, 1]
        n_up = max(forms[name].err.size, 1)
        rows += [
            (f"{prefix}{name}_trial_wall_seconds", float(np.median(a[:, 1])), "s",
             f"{type(forms[name]).__name__} ({forms[name].dtype}), a whole training trial (process time "
             f"{np.median(a[:, 0]):.3f} s)"),
            (f"{prefix}{name}_rls_wall_seconds", float(np.median(a[:, 3])), "s",
             f"its RLS updates (process time {np.median(a[:, 2]):.3f} s), {forms[name].threads} thread(s), "
             f"{n_up} neurons"),
            (f"{prefix}{name}_sim_wall_seconds", float(np.median(a[:, 1] - a[:, 3])), "s",
             "its simulation: the trial without its RLS updates"),
            (f"{prefix}{name}_trial_over_static_wall", float(np.median(over)), "x",
             f"per round, range {over.min():.2f}-{over.max():.2f} (target <= 2.5)"),
            (f"{prefix}{name}_trial_over_static_cpu", float(np.median(over_cpu)), "x",
             f"process time (both threads of RLS count), range {over_cpu.min():.2f}-{over_cpu.max():.2f}"),
        ]
        if name != "block":
            rows.append((f"{prefix}block_over_{name}_trial_wall", float(np.median(speed)), "x",
                         f"block form's trial time over this form's, per round (range "
                         f"{speed.min():.2f}-{speed.max():.2f})"))
    return rows


def bench_part3_float32(n_trials: int = 4, params: BalancedParams | None = None,
                        penalties=((None, None), (1e-3, 1e-2), (1e-4, 1e-3))):
    """How far a float32 RLS state's weights drift from float64's over a real training: the activity,
    targets and other inputs of ``n_trials`` full-scale training trials (the pooled float64 form
    learning) are recorded, then replayed into a float64 and a float32 pooled state
    (:class:`~tutorial_lib.engine.rls_pooled.PooledInputRLS`) at each ``(lam_rec, lam_ff)`` of ``penalties``
    (None: the params' own). Reported: max |w32 - w64| over the largest weight change. Figures named
    ``part3_float32_small_*`` and a loud warning if not at full scale."""
    from dataclasses import replace

    from tutorial_lib.balanced.plastic import penalty_matrix
    from tutorial_lib.engine.rls_pooled import PooledInputRLS

    p = BalancedParams() if params is None else params
    data = load_alm(fallback="synthetic")
    net = balanced.build_network(p, data, progress=False)
    prefix = full_scale_prefix("part3_float32", "The float32 drift is measured on", p, data, net.n_trained)
    rls = balanced.make_rls(net, np.float64, form="pooled")
    w0, steps, step, step_deferred = rls.w.copy(), [], rls.step, rls.step_deferred

    def recording(activity, target, other):
        steps.append((activity.copy(), target.copy(), other.copy()))
        step(activity, target, other)

    def recording_deferred(activity, target, other, soon, u, **ahead):  # the form a training trial takes
        steps.append((activity.copy(), target.copy(), other.copy()))
        step_deferred(activity, target, other, soon, u, **ahead)

    rls.step, rls.step_deferred = recording, recording_deferred
    for k in range(n_trials):
        balanced.run_trial(net, ("right", "left")[k % 2], rls, loop=k // 2, keep_run=False)
    m = 2 * p.L
    rows = []
    for lam_rec, lam_ff in penalties:
        q = replace(p, lam_rec=p.lam_rec if lam_rec is None else lam_rec,
                    lam_ff=p.lam_ff if lam_ff is None else lam_ff)
        pen = penalty_matrix(q)[:m, :m]
        pair = [PooledInputRLS(rls.private, rls.shared, pen, q.lam_ff, w0=w0, dtype=dt)
                for dt in (np.float64, np.float32)]
        for activity, target, other in steps:
            for r in pair:
                r.step(activity, target, other)
        change = np.abs(pair[0].w - w0).max()
        drift = np.abs(pair[1].w - pair[0].w).max() / change
        rows.append((f"{prefix}drift_lam_rec_{q.lam_rec:g}_lam_ff_{q.lam_ff:g}", float(drift), "",
                     f"max |w32 - w64| / max |w64 - w0| after {len(steps)} updates ({n_trials} trials "
                     f"replayed); target <= 1e-6"))
    return rows


if __name__ == "__main__":  # python -m benchmarks.part3 [n_loops]: the loop benchmark, rows as JSON
    import json

    print(json.dumps(_loop_rows(n_loops=int(sys.argv[1]) if len(sys.argv) > 1 else 2)))
