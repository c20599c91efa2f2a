"""Checks of Part 2's coding exercises (notebook 02): the LIF Euler step, two coupled neurons, one
training trial of the network, the ISI CV, a filtered spike train and the learning score.

Each check runs the student's function on small inputs, compares it with the plain function of
:mod:`tutorial_lib.core` (or the library's plain run, ``backend="numpy"``) and prints one line starting
"Correct", or raises :class:`~tutorial_lib.exercises.compare.ExerciseError` that says where the answer
differs and, for the typical mistakes, what to change: each check also runs those mistakes and names
the one the answer matches.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np

from ..core.lif import lif_euler_step, lif_model, run_network, trace_step
from ..core.rls import rls_update_batch
from ..core.stats import isi_cv, score_correlation
from ..engine.rls_state import BatchRLS
from ..params import SpikingParams
from ..spiking_net import build_network, run_trial
from .compare import ExerciseError, check_close, correct, run_student

__all__ = ["check_lif_step", "check_pair", "check_training_trial", "check_isi_cv", "check_filtered_train",
           "check_score", "pair_reference", "training_trial_reference", "SMALL"]

#: the small network of the training-trial check: 30 neurons, a 0.6 s trial (stimulus 100-200 ms,
#: RLS every 20 ms from 200 ms on); the same equations as the notebook's network
SMALL = replace(SpikingParams(), N=30, stim_on=100.0, stim_off=200.0, train_duration=400.0,
                target_period=400.0)


def _same(got, ref, rtol=1e-7, atol=1e-9) -> bool:
    """True if ``got`` has the shape of ``ref`` and the same values (NaN matching NaN)."""
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return False
    ref = np.asarray(ref, dtype=float)
    return got.shape == ref.shape and bool(np.allclose(got, ref, rtol=rtol, atol=atol, equal_nan=True))


def _hint(got, mistakes) -> str:
    """The hint of the first (hint, wrong answer) in ``mistakes`` that ``got`` equals, or ""."""
    for hint, wrong in mistakes:
        if _same(got, wrong):
            return hint
    return ""


def _compare(got, ref, mistakes, **kwargs) -> None:
    """:func:`check_close`; on failure the message ends with the hint of a matching typical mistake."""
    try:
        check_close(got, ref, **kwargs)
    except ExerciseError as err:
        hint = _hint(got, mistakes)
        if not hint:
            raise
        raise ExerciseError(f"{err}. Hint: {hint}", err.what, err.where) from None


def _pair_of(result, what):
    """The two arrays a function returns, or an ExerciseError saying it returned something else."""
    if not (isinstance(result, tuple) and len(result) == 2):
        raise ExerciseError(f"{what} should return two things, (v, x) or (v_new, spiked); "
                            f"it returned {type(result).__name__}", what)
    return result


# ---------------------------------------------------------------------------
# 1. The LIF Euler step

def check_lif_step(my_lif_step) -> None:
    """Check ``my_lif_step(v, total_input, xi, dt_tau_m) -> (v_new, spiked)`` against
    :func:`tutorial_lib.core.lif.lif_euler_step` on six neurons, one of them landing exactly on the
    threshold; names the neuron that differs and the typical mistake (no reset, no ``dt/tau_m``, the
    noise left out, ``>`` for ``>=``)."""
    v = np.array([0.0, 0.5, 0.95, 0.999, 1.0, 0.3])
    total = np.array([0.7, 1.5, 1.0, 1.5, 1.0, -0.5])
    xi = np.array([0.2, -0.4, 8.0, 0.0, 0.0, 1.0])
    a = 0.01
    ref_v, ref_s = lif_euler_step(v, total, xi, a)
    got_v, got_s = _pair_of(run_student(my_lif_step, v.copy(), total.copy(), xi.copy(), a,
                                        what="your my_lif_step"), "your my_lif_step")
    raw = v + a * (total + xi - v)
    where = [("neuron", None, "")]
    _compare(got_v, ref_v, [
        ("the neurons that reach the threshold (v >= 1) must be reset to 0", raw),
        ("multiply the change by dt/tau_m: v + dt_tau_m * (-v + total_input + xi)",
         np.where(v + (total + xi - v) >= 1, 0.0, v + (total + xi - v))),
        ("add the noise xi to the input inside the bracket", np.where(v + a * (total - v) >= 1, 0.0,
                                                                       v + a * (total - v))),
        ("the leak is -v: dv = dt_tau_m * (-v + total_input + xi)", np.where(v + a * (total + xi + v) >= 1,
                                                                              0.0, v + a * (total + xi + v))),
        ("a neuron exactly at the threshold spikes: use v >= 1, not v > 1", np.where(raw > 1, 0.0, raw)),
        ("test the threshold on the new voltage, after the Euler step", np.where(v >= 1, 0.0, raw)),
    ], what="your new voltage", where=where, unit="(threshold 1)")
    _compare(np.asarray(got_s, dtype=float), ref_s.astype(float), [
        ("a neuron exactly at the threshold spikes: use v >= 1, not v > 1", (raw > 1).astype(float))],
        what="your spike mask (1 = spiked)", where=where)
    correct("your Euler step, threshold and reset match lif_euler_step on 6 neurons.")


# ---------------------------------------------------------------------------
# 2. Two coupled neurons

def pair_reference(w21, tau_s, mu, noise, n_steps, rng, dt=0.1, tau_m=10.0):
    """The two-neuron run of :func:`check_pair` by :func:`tutorial_lib.core.lif.run_network`:
    ``(v, x)``, each (n_steps, 2), the voltages and synaptic inputs at the start of every step
    (``v(0) = 0``; neuron 0 drives neuron 1 with weight ``w21``)."""
    J = np.array([[[0.0, 0.0], [w21, 0.0]]])
    mu = np.broadcast_to(np.asarray(mu, dtype=float), (2,))
    out = run_network(lif_model(tau_m), np.zeros(2), mu, J, [tau_s], np.zeros((2, 2)), tau_s, n_steps, dt,
                      noise=noise, rng=rng)
    return np.array(out["v"]), np.array(out["currents"])[:, 0, :]


def _shifted(got, ref) -> bool:
    """True if ``got`` is ``ref`` recorded one step late (``got[n] = ref[n + 1]``)."""
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return False
    return got.shape == ref.shape and _same(got[:-1], ref[1:])


def _pair_mistakes(w21, tau_s, mu, noise, n_steps, seed, dt):
    """(hint, (v, x)) of the typical mistakes of the two-neuron loop."""
    def variant(jump_scale=1.0, decay=None):
        rng = np.random.default_rng(seed)
        v, x, vs, xs = np.zeros(2), np.zeros(2), [], []
        for _ in range(n_steps):
            vs.append(v)
            xs.append(x)
            v, spiked = lif_euler_step(v, mu + x, noise * rng.standard_normal(2), dt / 10.0)
            d = (1.0 - dt / tau_s) if decay is None else decay
            x = d * x + jump_scale * np.array([0.0, w21]) * spiked[0] / tau_s
        return np.array(vs), np.array(xs)
    return [("a spike adds w21 / tau_s to the trace, not w21", variant(jump_scale=tau_s)),
            ("between spikes the trace decays by the factor (1 - dt / tau_s) per step",
             variant(decay=1.0)),
            ("the trace must decay with tau_s, by (1 - dt / tau_s) per step", variant(decay=1.0 - dt / 10.0))]


def check_pair(my_pair) -> None:
    """Check ``my_pair(w21, tau_s, mu, noise, n_steps, rng) -> (v, x)`` (each (n_steps, 2): voltages and
    synaptic inputs at the start of each step, ``v(0) = 0``, one normal per neuron per step) against
    :func:`pair_reference` for 3000 steps of 0.1 ms; names the first time and neuron that differ."""
    w21, tau_s, mu, noise, n, seed, dt = 5.0, 20.0, 0.7, 2.0, 3000, 3, 0.1
    got = _pair_of(run_student(my_pair, w21, tau_s, mu, noise, n, np.random.default_rng(seed),
                               what="your my_pair"), "your my_pair")
    ref = pair_reference(w21, tau_s, mu, noise, n, np.random.default_rng(seed))
    t = np.arange(n) * dt
    where = [("t", t, "ms"), ("neuron", None, "")]
    mistakes = _pair_mistakes(w21, tau_s, mu, noise, n, seed, dt)
    for got_k, ref_k in zip(got, ref):
        if _shifted(got_k, ref_k):
            raise ExerciseError("your values are one step late: store v and x at the start of each step, "
                                "before the Euler step changes them (v[0] is the initial voltage, 0)",
                                "your my_pair", "t = 0 ms")
    _compare(got[1], ref[1], [(h, m[1]) for h, m in mistakes], what="your synaptic input x", where=where,
             atol=1e-9)
    _compare(got[0], ref[0], [], what="your voltage", where=where, unit="(threshold 1)", atol=1e-9)
    spikes = int((ref[0][1:] < ref[0][:-1] - 0.5).sum())
    correct(f"your two neurons match the library's run over {n * dt:.0f} ms ({spikes} spikes).")


# ---------------------------------------------------------------------------
# 3. One training trial of the network

def training_trial_reference(net, rng):
    """One learning trial of ``net`` by the library's plain run (:func:`tutorial_lib.spiking_net.run_trial`
    with ``backend="numpy"``, RLS by :class:`~tutorial_lib.engine.rls_state.BatchRLS`, ``P = I / lam``
    for every trained neuron); trains ``net.W`` in place and returns the :class:`~tutorial_lib.spiking_net.Trial`."""
    tr = net.trained
    rls = BatchRLS(net.presyn[tr], net.params.lam, w0=net.W[tr[:, None], net.presyn[tr]])
    return run_trial(net, rls, 0, rng=rng, backend="numpy")


def _trial_mistakes(net, seed):
    """(hint, total input per step) of the typical mistakes of the training loop, by a plain loop."""
    def variant(**kw):
        n = net.copy()
        return _plain_trial(n, np.random.default_rng(seed), **kw)
    return [(("the error of RLS is that of the total input: pass other = mu + stimulus "
              "(rls_update_batch(P, w, x, f, other=...))"), variant(other=False)),
            ("a spike adds 1 / tau_s to r (trace_step(r, spiked, dt, tau_s)), not 1", variant(jump=False)),
            (("the input of the Euler step must use the weights after this step's RLS update "
              "(u = W @ r once W has changed)"), variant(stale=True)),
            ("store total[n] at the start of the step, before its RLS update changes W",
             variant(record_after=True))]


def _plain_trial(net, rng, other=True, jump=True, stale=False, record_after=False):
    """The training loop of the exercise, written out (with switches for the mistakes of the hints)."""
    p = net.params
    N, n_steps, rows = p.N, round(p.t_end / p.dt), np.arange(p.N)[:, None]
    on, off = round(p.stim_on / p.dt), round(p.stim_off / p.dt)
    learn_at = {round(t / p.dt): k for k, t in enumerate(p.learn_times)}
    f = net.targets(p.learn_times)
    P = np.stack([np.eye(net.presyn.shape[1]) / p.lam] * N)
    v, r, total = rng.uniform(0.0, 1.0, N), np.zeros(N), np.zeros((n_steps, N))
    for n in range(n_steps):
        ext = p.mu + (net.stimulus if on <= n < off else 0.0)
        u = net.W @ r
        total[n] = ext + u
        if n in learn_at:
            w = net.W[rows, net.presyn]
            rls_update_batch(P, w, r[net.presyn], f[learn_at[n]], other=ext if other else 0.0)
            net.W[rows, net.presyn] = w
            u = u if stale else net.W @ r
            total[n] = ext + u if record_after else total[n]
        v, spiked = lif_euler_step(v, ext + u, p.noise * rng.standard_normal(N), p.dt / p.tau_m)
        r = trace_step(r, spiked, p.dt, p.tau_s) if jump else (1 - p.dt / p.tau_s) * r + spiked
    return total


def _first_step(got, ref, dt) -> str:
    """Words for the first time at which ``got`` and ``ref`` differ."""
    off = ~np.isclose(got, ref, rtol=1e-7, atol=1e-9, equal_nan=True)
    n = int(np.argmax(off.any(axis=1)))
    return f"they first differ at t = {n * dt:g} ms"


def check_training_trial(my_training_trial, params: SpikingParams = SMALL, seed: int = 7) -> None:
    """Check ``my_training_trial(net, P, rng) -> total`` (one training trial of ``net``, RLS on
    ``net.W`` and ``P`` in place; ``total`` (steps, N), the total input at the start of every step)
    against the library's plain run (:func:`training_trial_reference`) on a network of ``params``
    (default :data:`SMALL`: 30 neurons, 0.6 s), the same seed: first the total input (the time and
    neuron where it differs, and the first time), then the trained weights."""
    base = build_network(params, backend="numpy")
    net, mine = base.copy(), base.copy()
    P = np.stack([np.eye(net.presyn.shape[1]) / params.lam] * params.N)
    got = run_student(my_training_trial, mine, P, np.random.default_rng(seed), what="your my_training_trial")
    ref = training_trial_reference(net, np.random.default_rng(seed))
    every = round(params.record_every / params.dt)
    n_steps = round(params.t_end / params.dt)
    try:
        total = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise ExerciseError("your my_training_trial should return the total input, an array "
                            f"(steps, N) = ({n_steps}, {params.N})", "your total input") from None
    if total.shape == (n_steps, params.N):
        ref_steps = _plain_trial(base.copy(), np.random.default_rng(seed))
        if _shifted(total, ref_steps):
            raise ExerciseError("your total input is one step late: store it at the start of each step, "
                                "before the RLS update and the Euler step", "your total input", "t = 0 ms")
        if not _same(total, ref_steps):
            hint = _hint(total, _trial_mistakes(base, seed))
            try:
                check_close(total[::every], ref.total_input, what="your total input",
                            where=[("t", ref.t, "ms"), ("neuron", None, "")], unit="(threshold 1)")
            except ExerciseError as err:
                first = _first_step(total, ref_steps, params.dt)
                tail = f". Hint: {hint}" if hint else ""
                raise ExerciseError(f"{err}; {first} (stimulus {params.stim_on:g}-{params.stim_off:g} ms, "
                                    f"first RLS update at {params.stim_off:g} ms){tail}",
                                    err.what, err.where) from None
    else:
        check_close(total, np.zeros((n_steps, params.N)), what="your total input")
    tr = net.trained
    check_close(mine.W[tr], net.W[tr], what="your trained weight W[i, j]",
                where=[("neuron i", tr, ""), ("input j", None, "")])
    correct(f"your trial of {params.N} neurons ({len(params.learn_times)} RLS updates) matches the "
            f"library's; score {ref.score:.2f}.")


# ---------------------------------------------------------------------------
# 4. End exercises: ISI CV, a filtered spike train, the score

def check_isi_cv(my_isi_cv) -> None:
    """Check ``my_isi_cv(spike_times) -> float`` (the CV of one neuron's interspike intervals, spike times
    in ms in any order; NaN for fewer than 2 intervals) against :func:`tutorial_lib.core.stats.isi_cv`
    on four spike trains."""
    rng = np.random.default_rng(5)
    trains = {"a regular train": np.arange(10.0, 500.0, 25.0),
              "a Poisson train": np.cumsum(rng.exponential(20.0, 40)),
              "an unsorted train": rng.permutation(np.cumsum(rng.exponential(10.0, 30))),
              "a train of 2 spikes": np.array([5.0, 40.0])}
    for name, times in trains.items():
        ref = isi_cv(np.diff(np.sort(times)))
        got = run_student(my_isi_cv, times.copy(), what="your my_isi_cv")
        d = np.diff(np.sort(times))
        mistakes = [("the CV uses the standard deviation with ddof=1: np.std(intervals, ddof=1)",
                     d.std() / d.mean() if d.size else np.nan),
                    ("sort the spike times first (np.sort) before taking the intervals",
                     isi_cv(np.diff(times))),
                    ("the CV is the standard deviation over the mean, not the variance",
                     d.var(ddof=1) / d.mean() if d.size > 1 else np.nan)]
        if name == "a train of 2 spikes" and not (np.ndim(got) == 0 and np.isnan(got)):
            raise ExerciseError(f"your CV of {name} (one interval) is {got}; it should be nan "
                                "(a standard deviation with ddof=1 needs 2 intervals)", "your CV", name)
        _compare(got, ref, [m for m in mistakes if not _same(m[1], ref)], what=f"your CV of {name}")
    correct("your ISI CV matches core.stats.isi_cv on 4 spike trains.")


def check_filtered_train(my_filtered_train) -> None:
    """Check ``my_filtered_train(spike_steps, n_steps, dt, tau) -> r`` ((n_steps,) the filtered spike
    train at the start of each step, 1/ms: a spike in step n adds 1/tau from step n + 1 on) against
    :func:`tutorial_lib.core.lif.trace_step` applied step by step."""
    steps, n, dt, tau = np.array([3, 10, 11, 40]), 60, 0.5, 5.0
    s = np.zeros(n)
    np.add.at(s, steps, 1.0)
    ref, early, unit = np.zeros(n), np.zeros(n), np.zeros(n)
    for k in range(n - 1):
        ref[k + 1] = trace_step(ref[k], s[k], dt, tau)
        unit[k + 1] = (1 - dt / tau) * unit[k] + s[k]
    for k in range(n):
        early[k] = trace_step(early[k - 1] if k else 0.0, s[k], dt, tau)
    got = run_student(my_filtered_train, steps.copy(), n, dt, tau, what="your my_filtered_train")
    _compare(got, ref, [("a spike adds 1 / tau (not 1): the area under r is 1 per spike", unit),
                        (("a spike in step n acts from step n + 1 on: r[0] is 0, and r[n + 1] gets the "
                          "spike of step n"), early),
                        ("r decays by the factor (1 - dt / tau) per step",
                         np.concatenate([[0.0], np.cumsum(s)[:-1] / tau]))],
             what="your r", where=[("t", np.arange(n) * dt, "ms")], unit="1/ms")
    correct(f"your filtered spike train matches trace_step over {n} steps ({steps.size} spikes).")


def check_score(my_score) -> None:
    """Check ``my_score(trial) -> float`` (the mean over the trained neurons of the Pearson correlation
    of total input and target in the training window) against
    :func:`tutorial_lib.core.stats.score_correlation` on a made-up trial of 6 neurons, 4 of them trained."""
    rng = np.random.default_rng(11)
    t = np.arange(0.0, 300.0, 1.0)
    target = np.sin(2 * np.pi * (t[:, None] / 200.0 + rng.uniform(0, 1, 6)))
    total = target + rng.normal(0, 0.8, (t.size, 6)) + (t[:, None] < 100) * rng.normal(0, 3, 6)
    trained, window = np.array([0, 2, 3, 5]), t >= 100
    trial = SimpleNamespace(t=t, total_input=total, target=target, window=window, trained=trained)
    ref = float(score_correlation(total[window][:, trained], target[window][:, trained]).mean())
    got = run_student(my_score, trial, what="your my_score")
    mistakes = [("average over the trained neurons only (trial.trained)",
                 score_correlation(total[window], target[window]).mean()),
                ("use the training window only (trial.window)",
                 score_correlation(total[:, trained], target[:, trained]).mean()),
                ("correlate each neuron's input with its target over time (axis 0), then average",
                 np.mean([np.corrcoef(total[k, trained], target[k, trained])[0, 1] for k in np.flatnonzero(window)]))]
    _compare(got, ref, mistakes, what="your score")
    correct(f"your score matches the library's on a made-up trial ({ref:.3f}).")
