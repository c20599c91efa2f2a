"""Checks for Part 1's coding exercises (notebook 01): the Euler step, the RLS step, one training trial,
and the four end exercises (the first RLS step, correlations of untrained neurons, a growth rate, a
least-squares fit).

Each check runs the student's function on small inputs, compares it with the plain function of
:mod:`tutorial_lib.core` (or the library's training, :func:`tutorial_lib.rate.train`), and prints one
line starting "Correct", or raises :class:`~tutorial_lib.exercises.ExerciseError` naming what differs,
where and by how much. Where a typical mistake can be recognised (a missing ReLU, ``dt`` left out, the
weights not written back), the message says which.
"""

from __future__ import annotations

import numpy as np

from .. import rate
from ..core import rate as core_rate
from ..core.rls import ridge_solution, rls_update
from ..core.stats import score_correlation
from ..params import RateParams
from .compare import ExerciseError, check_close, correct, run_student

__all__ = ["check_euler_step", "check_rls_step", "check_training_trial", "check_first_update",
           "check_correlations", "check_growth_rate", "check_least_squares", "small_trial_inputs"]


def _same(a, b) -> bool:
    """Whether ``a`` (anything) equals the array ``b`` in shape and values (to rounding)."""
    try:
        a = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        return False
    return a.shape == np.shape(b) and bool(np.allclose(a, b, rtol=1e-6, atol=1e-9))


def _hint(got, reference, mistakes, what):
    """Raise the hint of the first mistake in ``mistakes`` ((answer it gives, words)) that ``got`` equals,
    unless ``got`` equals ``reference``."""
    if _same(got, reference):
        return
    for wrong, words in mistakes:
        if _same(got, wrong):
            raise ExerciseError(f"{what} is not right: {words}", what)


def check_euler_step(euler_step) -> None:
    """Check ``euler_step(r, u, stim, dt_tau)`` against :func:`tutorial_lib.core.rate.euler_step`.

    First one step of 6 neurons (some with ``u + stim < 0``), then 40 ms (400 steps of 0.1 ms) of a random
    50-neuron network with a stimulus in its first 10 ms, rate by rate.
    """
    rng = np.random.default_rng(7)
    r, u, stim, dt_tau = rng.uniform(0, 2, 6), rng.normal(0, 1.5, 6), rng.uniform(0, 1, 6), 0.02
    got = run_student(euler_step, r.copy(), u.copy(), stim.copy(), dt_tau, what="your Euler step")
    relu = core_rate.relu
    _hint(got, core_rate.euler_step(r, u, stim, dt_tau), [
        (r + dt_tau * (u + stim - r), "the ReLU is missing: use relu(u + stim) (a rate cannot be driven "
                                      "below 0 by a negative input)"),
        (relu(u + stim), "dt / tau is missing: the rate moves only a fraction dt_tau of the way"),
        (r - dt_tau * (relu(u + stim) - r), "the sign is wrong: r + dt_tau * (-r + relu(u + stim))"),
        (r + dt_tau * (relu(u) - r), "the stimulus is missing: the input is relu(u + stim)"),
        (dt_tau * (relu(u + stim) - r), "return the new rate r + dt_tau * (...), not only the change"),
    ], "your Euler step")
    check_close(got, core_rate.euler_step(r, u, stim, dt_tau), what="your new rate",
                where=[("neuron", None, "")])
    W = np.random.default_rng(3).normal(0.0, 0.1, (50, 50))
    s0 = np.random.default_rng(4).uniform(0, 4, 50)
    mine, ref = np.zeros(50), np.zeros(50)
    r_mine, r_ref = np.empty((400, 50)), np.empty((400, 50))
    for s in range(400):
        stim_s = s0 if s < 100 else 0.0
        mine = np.asarray(run_student(euler_step, mine, W @ mine, stim_s, 0.02, what="your Euler step"))
        ref = core_rate.euler_step(ref, W @ ref, stim_s, 0.02)
        r_mine[s], r_ref[s] = mine, ref
    check_close(r_mine, r_ref, what="your rate", where=[("t", np.arange(1, 401) * 0.1, "ms"),
                                                        ("neuron", None, "")])
    correct("your Euler step matches core.rate.euler_step (one step, and 400 steps of 50 neurons).")


def _rls_case(rng, m=5):
    """A state after three RLS steps from ``P = I / 0.5``, a new sample ``x``, ``f``."""
    P, w = np.eye(m) / 0.5, rng.normal(0, 0.3, m)
    for _ in range(3):
        rls_update(P, w, rng.uniform(0, 2, m), rng.normal())
    return P, w, rng.uniform(0, 2, m), float(rng.normal(1.0, 0.5))


def _rls_one(rls_step, P, w, x, f):
    """The student's step on copies; returns (error, new P, new w)."""
    P_got, w_got = P.copy(), w.copy()
    e = run_student(rls_step, P_got, w_got, x.copy(), f, what="your RLS step")
    return e, P_got, w_got


def _rls_mistakes(P, w, x, f, P_ref, w_ref, e_ref, P_got, w_got, e_got):
    """Name a typical mistake of one RLS step, if the answer shows one."""
    if np.array_equal(P_got, P):
        raise ExerciseError("your RLS step did not change P: update it in place with `P -= ...` "
                            "(`P = P - ...` makes a new array that the caller never sees)", "your P")
    if np.array_equal(w_got, w):
        raise ExerciseError("your RLS step did not change w: update it in place with `w -= ...` "
                            "(`w = w - ...` makes a new array that the caller never sees)", "your w")
    k = P @ x
    _hint(w_got, w_ref, [
        (2 * w - w_ref, "the weights moved the wrong way: w -= e * c * k, with e = w . r - f"),
        (w - e_ref * k, "the factor c is missing in the weight update: w -= e * c * k"),
    ], "your new w")
    _hint(e_got, e_ref, [
        (-e_ref, "the error has the wrong sign: e = w . r - f (the input minus its target)"),
        (w_ref @ x - f, "return the error before the update: compute e before changing w"),
    ], "your error e")


def check_rls_step(rls_step) -> None:
    """Check ``rls_step(P, w, r, f)`` (in place; returns the error before the update).

    One step from a random state against :func:`tutorial_lib.core.rls.rls_update` (error, ``w`` and
    ``P``); then 200 steps on toy data from ``P = I / 0.5``, ``w = 0``, whose weights must equal the
    closed form :func:`tutorial_lib.core.rls.ridge_solution` and ``P`` the inverse of
    ``X^T X + 0.5 I``.
    """
    P, w, x, f = _rls_case(np.random.default_rng(11))
    P_ref, w_ref = P.copy(), w.copy()
    e_ref = rls_update(P_ref, w_ref, x, f)
    e_got, P_got, w_got = _rls_one(rls_step, P, w, x, f)
    _rls_mistakes(P, w, x, f, P_ref, w_ref, e_ref, P_got, w_got, e_got)
    check_close(e_got, e_ref, what="your error e")
    check_close(w_got, w_ref, what="your new w", where=[("input", None, "")])
    check_close(P_got, P_ref, what="your new P", where=[("row", None, ""), ("column", None, "")])
    rng = np.random.default_rng(1)
    X = rng.uniform(0.0, 2.0, size=(200, 8))
    y = X @ rng.normal(size=8) + 0.1 * rng.normal(size=200)
    P, w = np.eye(8) / 0.5, np.zeros(8)
    for x, f in zip(X, y):
        run_student(rls_step, P, w, x, float(f), what="your RLS step")
    check_close(w, ridge_solution(X, y, 0.5), what="your weights after 200 samples (against ridge_solution)",
                where=[("input", None, "")])
    check_close(P, np.linalg.inv(X.T @ X + 0.5 * np.eye(8)), what="your P after 200 samples",
                where=[("row", None, ""), ("column", None, "")], rtol=1e-6, atol=1e-9)
    correct("your RLS step matches core.rls.rls_update; after 200 samples your w equals "
            "ridge_solution.")


def small_trial_inputs(params: RateParams | None = None) -> dict:
    """The arguments of the training-trial exercise for the network of ``params`` (a fresh copy each call).

    Keys: ``W`` (N, N), ``presyn`` (N, K), ``stimulus`` (N,), ``target`` (steps, N) at every Euler step
    (zero before the training window), ``trained`` (indices), ``P`` (n_trained, K, K) = I / lam each,
    ``dt_tau``, and in steps: ``stim_on``, ``stim_off``, ``learn_every``. Built by
    :func:`tutorial_lib.rate.build_network`, so the same seed gives the network :func:`rate.train` trains.
    """
    p = RateParams() if params is None else params
    net = rate.build_network(p)
    n_steps = int(round(p.t_end / p.dt))
    steps = lambda ms: int(round(ms / p.dt))  # noqa: E731
    return dict(W=net.W.copy(), presyn=net.presyn.copy(), stimulus=net.stimulus.copy(),
                target=net.targets(np.arange(n_steps) * p.dt), trained=net.trained.copy(),
                P=np.stack([np.eye(p.n_inputs) / p.lam] * len(net.trained)), dt_tau=p.dt / p.tau,
                stim_on=steps(p.stim_on), stim_off=steps(p.stim_off), learn_every=steps(p.learn_every))


def _late_trial(a: dict) -> tuple[np.ndarray, np.ndarray]:
    """The trial with each RLS update one step late (after that step's ``u``): a typical mistake."""
    W, P, n_steps = a["W"], a["P"], len(a["target"])
    r, u_rec = np.zeros(W.shape[0]), np.empty((n_steps, W.shape[0]))
    for s in range(n_steps):
        u_rec[s] = W @ r
        if s >= a["stim_off"] and (s - a["stim_off"]) % a["learn_every"] == 0:
            for n, i in enumerate(a["trained"]):
                w = W[i, a["presyn"][i]]
                rls_update(P[n], w, r[a["presyn"][i]], a["target"][s, i])
                W[i, a["presyn"][i]] = w
        r = core_rate.euler_step(r, u_rec[s], a["stimulus"] if a["stim_on"] <= s < a["stim_off"] else 0.0,
                                 a["dt_tau"])
    return u_rec, W


#: the network of the training-trial check: 50 neurons, 30 of them trained, a 100 ms training window
CHECK_PARAMS = RateParams(N=50, train_fraction=0.6, train_duration=100.0, record_every=0.1, seed=5)


def check_training_trial(training_trial, rls_step=rls_update) -> None:
    """Check ``training_trial(W, presyn, stimulus, target, trained, P, dt_tau, stim_on, stim_off, learn_every,
    rls_step)`` (see :func:`small_trial_inputs`; returns ``u`` at every step, trains ``W`` in place).

    Runs it on :data:`CHECK_PARAMS` with the student's ``rls_step`` and compares the recurrent input at
    every step and the weights after the trial with one loop of :func:`tutorial_lib.rate.train` on the
    same seed.
    """
    probe = np.eye(2) / 0.5, np.zeros(2)
    run_student(rls_step, *probe, np.ones(2), 1.0, what="your RLS step (the exercise before)")
    a = small_trial_inputs(CHECK_PARAMS)
    W0 = a["W"].copy()
    u = run_student(training_trial, **a, rls_step=rls_step, what="your training trial")
    ref = rate.train(CHECK_PARAMS, n_loops=1, progress=False, backend="numpy")
    u_ref, W_ref = ref.last.u, ref.network.W
    if np.array_equal(a["W"], W0):
        raise ExerciseError("your trial did not change W: `w = W[i, presyn[i]]` is a copy (fancy indexing), "
                            "so write it back after the RLS step: `W[i, presyn[i]] = w`", "your W")
    if not _same(u, u_ref):  # the typical mistake, computed only when needed
        u_late, _ = _late_trial(small_trial_inputs(CHECK_PARAMS))
        _hint(u, u_ref, [(u_late, "the weights are updated one step late: at a learning step, first the "
                                  "RLS update, then u = W r")], "your recurrent input u")
    t = np.arange(len(u_ref)) * CHECK_PARAMS.dt
    check_close(u, u_ref, what="your recurrent input u", where=[("t", t, "ms"), ("neuron", None, "")],
                rtol=1e-6, atol=1e-8)
    check_close(a["W"], W_ref, what="your trained weight W", where=[("neuron", None, ""),
                                                                   ("presynaptic neuron", None, "")],
                rtol=1e-6, atol=1e-8)
    n = len(a["trained"])
    correct(f"your trial gives the u and W of rate.train (1 loop, {CHECK_PARAMS.N} neurons, {n} trained).")


def check_first_update(first_update) -> None:
    """Check ``first_update(r, e, lam)``: the change of ``w`` in the first RLS step from ``P = I / lam``
    with error ``e``, i.e. ``-e r / (lam + r . r)``, against :func:`tutorial_lib.core.rls.rls_update`."""
    rng = np.random.default_rng(2)
    for lam in (0.01, 0.5, 50.0):
        r, e, w0 = rng.uniform(0, 2, 6), float(rng.normal(0, 1)), rng.normal(0, 0.1, 6)
        P, w = np.eye(6) / lam, w0.copy()
        rls_update(P, w, r, float(w0 @ r - e))  # a target that makes the error e
        got = run_student(first_update, r.copy(), e, lam, what="your first_update")
        _hint(got, w - w0, [
            (-e * r / lam, "the denominator is lam + r . r, not lam (the factor c = 1 / (1 + r . k))"),
            (e * r / (lam + r @ r), "the sign is wrong: the weights move against the error"),
        ], "your weight change")
        check_close(got, w - w0, what=f"your weight change at lam = {lam:g}", where=[("input", None, "")])
    correct("your first update matches core.rls.rls_update from P = I / lam.")


def check_correlations(correlations) -> None:
    """Check ``correlations(u, target, window)``: per neuron, the Pearson correlation of ``u`` and
    ``target`` (time, neuron) over the rows where ``window`` is True, against
    :func:`tutorial_lib.core.stats.score_correlation`."""
    rng = np.random.default_rng(4)
    t = np.arange(300.0)
    f = np.sin(2 * np.pi * (t[:, None] - rng.uniform(0, 100, 5)) / 100.0) + 1
    u = f + rng.normal(0, 0.5, f.shape) + np.where(t[:, None] < 100, 3.0 * rng.normal(size=(300, 5)), 0.0)
    window = t >= 100
    got = run_student(correlations, u.copy(), f.copy(), window.copy(), what="your correlations")
    ref = score_correlation(u[window], f[window])
    _hint(got, ref, [(score_correlation(u, f), "use only the rows inside the window: u[window], "
                                               "target[window]")], "your correlations")
    check_close(got, ref, what="your correlation", where=[("neuron", None, "")])
    correct("your correlations match core.stats.score_correlation in the window.")


def check_growth_rate(growth_rate) -> None:
    """Check ``growth_rate(t, rate, t0, t1)``: the slope (1/ms) of a straight line fitted to the natural
    log of ``rate`` at the times ``t0 <= t < t1`` (ms), against ``np.polyfit``."""
    t = np.arange(0.0, 400.0)
    for slope in (-0.02, 0.01):
        rate_ = np.where(t < 150, 2.0, 2.0 * np.exp(slope * (t - 150))) * (1 + 0.05 * np.sin(t / 7))
        w = (t >= 150) & (t < 300)
        ref = np.polyfit(t[w], np.log(rate_[w]), 1)[0]
        got = run_student(growth_rate, t.copy(), rate_.copy(), 150.0, 300.0, what="your growth_rate")
        _hint(got, ref, [
            (np.polyfit(t[w], np.log10(rate_[w]), 1)[0], "use the natural log (np.log), not log10"),
            (np.polyfit(t[w], rate_[w], 1)[0], "fit the log of the rate, not the rate"),
            (np.polyfit(t, np.log(rate_), 1)[0], "fit only the times t0 <= t < t1"),
        ], "your growth rate")
        check_close(got, ref, what=f"your growth rate (true slope {slope:g} per ms)", unit="1/ms", rtol=1e-4)
    correct("your growth rates match a fit of ln(rate) against t.")


def check_least_squares(least_squares) -> None:
    """Check ``least_squares(X, f)``: the weights ``w`` minimising ``|X w - f|^2`` (no penalty), against
    ``np.linalg.lstsq``."""
    rng = np.random.default_rng(9)
    X, f = rng.uniform(0, 2, (40, 4)), rng.normal(1, 1, 40)
    got = run_student(least_squares, X.copy(), f.copy(), what="your least_squares")
    ref = np.linalg.lstsq(X, f, rcond=None)[0]
    _hint(got, ref, [(X.T @ f, "X.T @ f is only the right-hand side: solve (X^T X) w = X^T f "
                               "(np.linalg.solve), or use np.linalg.lstsq")], "your weights")
    check_close(got, ref, what="your weight", where=[("input", None, "")], rtol=1e-6)
    correct("your least-squares weights match np.linalg.lstsq.")

