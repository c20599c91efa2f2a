"""The checks of notebook 03's coding exercises (Part 3: a balanced network trained on ALM recordings).

Each check runs the student's function on small inputs, compares it with the plain function it should
reproduce (:mod:`tutorial_lib.core` or the library's plain version) and prints one line starting
"Correct", or raises :class:`~tutorial_lib.exercises.compare.ExerciseError` naming where the answer
differs and, for the typical mistakes it recognises, what went wrong.

* :func:`check_rate_to_input`: a rate (Hz) to the mean input at which the noisy LIF neuron fires at it,
  by root finding (:func:`tutorial_lib.core.siegert.siegert_inverse`);
* :func:`check_learning_step`: one RLS step of one trained neuron (plastic input, error, update;
  :func:`tutorial_lib.core.rls.rls_update`);
* :func:`check_balance_rates`: the balance equations solved by hand
  (:func:`tutorial_lib.core.balance.balance_rates`);
* :func:`check_pca_time_courses`: the time courses of a population's principal components
  (:func:`tutorial_lib.core.pca.pca`);
* :func:`check_match_rates`: the original's greedy matching of recorded to model neurons
  (:func:`tutorial_lib.balanced.match_rates`).
"""

from __future__ import annotations

import numpy as np

from ..balanced import match_rates
from ..core.balance import balance_rates
from ..core.pca import pca
from ..core.rls import rls_update
from ..core.siegert import siegert_inverse
from ..params import BalancedParams
from .compare import ExerciseError, check_close, correct, run_student

__all__ = ["check_rate_to_input", "check_learning_step", "check_balance_rates", "check_pca_time_courses",
           "check_match_rates", "CHECK_SIGMA", "CHECK_RATES_HZ"]

#: The noise amplitude and the rates (Hz) :func:`check_rate_to_input` tries: from the 0.1 Hz floor of
#: the ALM targets to a fast neuron.
CHECK_SIGMA = 0.3092
CHECK_RATES_HZ = (0.1, 1.0, 4.0, 11.0, 30.0, 60.0)


def _close(a, b, tol: float = 1e-6) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and bool(np.allclose(a, b, rtol=tol, atol=tol))


def check_rate_to_input(function) -> None:
    """Check ``function(rate_hz, sigma)``: the mean input (threshold units) at which the noisy LIF neuron
    of :func:`~tutorial_lib.core.siegert.siegert_rate` fires at ``rate_hz`` (Hz), one rate at a time.

    Tried at ``sigma = CHECK_SIGMA`` for the rates :data:`CHECK_RATES_HZ` and at ``sigma = 0.5`` for
    10 Hz; compared with :func:`~tutorial_lib.core.siegert.siegert_inverse` to 1e-6. Hints for a rate
    given in spikes per ms, and for a root of the rate itself instead of the rate minus the target.
    """
    cases = [(r, CHECK_SIGMA) for r in CHECK_RATES_HZ] + [(10.0, 0.5)]
    for rate, sigma in cases:
        what = f"your input for a rate of {rate:g} Hz (sigma = {sigma:g})"
        got = run_student(function, rate, sigma, what=what)
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise ExerciseError(f"{what} should be one number (got {type(got).__name__})", what) from None
        ref = siegert_inverse(rate, sigma)
        if _close(got, ref):
            continue
        hint = ""
        if _close(got, siegert_inverse(rate / 1000.0, sigma), 1e-4):
            hint = ("; siegert_rate returns Hz: compare it with rate_hz itself, not with rate_hz / 1000")
        elif abs(got - 1.0) < 1e-3 or not np.isfinite(got):
            hint = ("; the root finder should find where siegert_rate(mu, sigma) - rate_hz crosses 0 "
                    "(the rate minus the target rate, not the rate alone)")
        if hint:
            raise ExerciseError(f"{what} is {got:.6g}; the reference is {ref:.6g}{hint}", what)
        check_close(got, ref, what=what, rtol=1e-6, atol=1e-6)
    correct(f"your inputs agree with core.siegert.siegert_inverse for {len(cases)} rates "
            f"from {min(CHECK_RATES_HZ):g} to {max(CHECK_RATES_HZ):g} Hz")


def _learning_case(seed: int = 3, m: int = 6, n_steps: int = 5):
    """A small learning problem: P, w, and per step the filtered spikes q (1/ms), u_other and u_target."""
    rng = np.random.default_rng(seed)
    P = np.eye(m) / 0.5
    w = rng.normal(0.0, 1.0, m)
    q = rng.uniform(0.002, 0.03, (n_steps, m)) * 10.0
    other = rng.normal(0.3, 0.2, n_steps)
    target = rng.normal(0.6, 0.3, n_steps)
    return P, w, q, other, target


def _learning_hint(e_got, e_ref, u_ref, w_after, q, other, target) -> str:
    """Words for the typical mistakes of the error of one learning step, or ''."""
    if _close(e_got, -e_ref, 1e-8):
        return "the wrong sign: e = (u_plas + u_other) - u_target, the total input minus the target"
    if _close(e_got, u_ref - target, 1e-8):
        return "u_other is missing: the error is that of the TOTAL input, u_plas + u_other"
    if _close(e_got, w_after @ q + other - target, 1e-8):
        return "it is taken after the weight update: compute e before changing w"
    return ""


def check_learning_step(function) -> None:
    """Check ``function(P, w, q, u_other, u_target)``: one RLS step of one trained neuron, in place.

    ``P`` (m, m) and ``w`` (m,) are updated in place; ``q`` (m,) the filtered spike trains of the
    neuron's plastic inputs (1/ms); ``u_other`` its input that is not plastic (mu, stimulus and the
    balanced E and I inputs); ``u_target`` its target input. Returns ``(u_plas, e)``: the plastic input
    ``w . q`` and the error ``u_plas + u_other - u_target``, both before the update. Five steps on
    6 inputs, compared step by step with :func:`~tutorial_lib.core.rls.rls_update`; hints for a wrong
    sign, a missing ``u_other``, the error taken after the update, ``P`` or ``w`` not updated in place
    and a missing factor ``c``.
    """
    P0, w0, q, other, target = _learning_case()
    P, w = P0.copy(), w0.copy()      # the student's state
    Pr, wr = P0.copy(), w0.copy()    # the reference's
    for k in range(q.shape[0]):
        where = f"step {k + 1}"
        u_ref, P_before, w_before = wr @ q[k], Pr.copy(), wr.copy()
        e_ref = rls_update(Pr, wr, q[k], target[k], other[k])
        out = run_student(function, P, w, q[k].copy(), float(other[k]), float(target[k]),
                          what="your learning step")
        if not isinstance(out, tuple) or len(out) != 2:
            raise ExerciseError("your learning step should return two numbers, (u_plas, e)",
                                "your learning step")
        check_close(out[0], u_ref, what=f"your plastic input u_plas at {where}", rtol=1e-8, atol=1e-10)
        if not _close(out[1], e_ref, 1e-8):
            hint = _learning_hint(float(out[1]), e_ref, u_ref, w, q[k], other[k], target[k])
            raise ExerciseError(f"your error at {where} is {float(out[1]):.6g}; the reference is {e_ref:.6g}"
                                + (f": {hint}" if hint else ""), "your error", where)
        if np.array_equal(P, P_before):
            raise ExerciseError(f"P did not change at {where}: update it in place "
                                "(P -= c * np.outer(k, k)), not P = P - ...", "your P", where)
        check_close(P, Pr, what=f"your P after {where}", rtol=1e-8, atol=1e-10)
        if np.array_equal(w, w_before):
            raise ExerciseError(f"w did not change at {where}: update it in place (w -= ...), "
                                "not w = w - ...", "your w", where)
        if _close(w, w_before - e_ref * (P_before @ q[k]), 1e-8):
            raise ExerciseError(f"your weights after {where} miss the factor c: w -= e * c * k, "
                                "with c = 1 / (1 + q . k)", "your w", where)
        check_close(w, wr, what=f"your weights w after {where}", where=[("input", None, "")],
                    rtol=1e-8, atol=1e-10)
    correct(f"{q.shape[0]} learning steps agree with core.rls.rls_update (plastic input, error, P and w)")


def check_balance_rates(function) -> None:
    """Check ``function(params)``: the mean E and I rates (Hz) of the balance equations, ``(r_E, r_I)``.

    Tried on the original's network, the lecture network, one with g = 1.5 and one with 80 % E
    neurons (where K_I = K N_I / N_E differs from K); compared with
    :func:`~tutorial_lib.core.balance.balance_rates`. Hints for spikes per ms instead of Hz, the wrong
    sign of the right-hand side, and K_I taken as K.
    """
    cases = {"the original's network": BalancedParams(), "the lecture network": BalancedParams.lecture(),
             "g = 1.5": BalancedParams(N=2000, K=200, g=1.5),
             "80 % E neurons": BalancedParams(N=2000, K=200, frac_exc=0.8)}
    for name, p in cases.items():
        what = f"your rates for {name}"
        got = run_student(function, p, what=what)
        ref = balance_rates(p)
        try:
            got = np.asarray(got, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise ExerciseError(f"{what} should be two numbers (got {type(got).__name__})", what) from None
        if got.shape == (2,) and not _close(got, ref):
            if _close(got * 1000.0, ref):
                raise ExerciseError(f"{what} are {got.round(5).tolist()}: these are spikes per ms; "
                                    "return Hz (times 1000)", what)
            if _close(-got, ref):
                raise ExerciseError(f"{what} are negative ({got.round(2).tolist()}): the equations are "
                                    "A r = -mu (the recurrent input cancels mu)", what)
            w = p.weights
            A_wrong = np.array([[p.K * w["EE"], p.K * w["EI"]], [p.K * w["IE"], p.K * w["II"]]])
            if _close(got, 1000.0 * np.linalg.solve(A_wrong, -np.array([p.mu_e, p.mu_i]))):
                raise ExerciseError(f"{what} are {got.round(2).tolist()}, the reference "
                                    f"{ref.round(2).tolist()}: an I neuron's number of I inputs is "
                                    "K_I = K Ni / Ne, not K", what)
        check_close(got, ref, what=what, where=[("population", ("E", "I"), "")], unit="Hz",
                    rtol=1e-6, atol=1e-6)
    correct(f"your balance equations give the rates of core.balance.balance_rates for {len(cases)} networks")


def check_pca_time_courses(function) -> None:
    """Check ``function(X, n_components)``: the time courses (samples, n_components) of the leading
    principal components of ``X`` (time, neurons): the centred ``X`` projected on its components.

    Compared with ``core.pca.pca(X, n_components).scores`` after aligning each column's sign (a
    component's sign is arbitrary). Hints for an uncentred ``X`` and for the projection on the wrong
    axis (neurons instead of time).
    """
    rng = np.random.default_rng(5)
    t = np.linspace(0.0, 1.0, 40)
    X = np.outer(t, rng.normal(size=12)) + np.outer(np.sin(6 * t), rng.normal(size=12)) * 0.5
    X += 0.05 * rng.normal(size=X.shape) + rng.uniform(2.0, 10.0, 12)
    ref = pca(X, 3).scores
    got = run_student(function, X.copy(), 3, what="your time courses")
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise ExerciseError(f"your time courses should be an array (got {type(got).__name__})") from None
    if got.shape == (X.shape[1], 3):
        raise ExerciseError(f"your time courses have shape {got.shape}, one row per neuron: these are the "
                            f"components (loadings); project X on them, X_centred @ V, shape {ref.shape}")
    if got.shape == ref.shape:
        got = got * np.where(np.sum(got * ref, axis=0) < 0, -1.0, 1.0)
        U, S, Vt = np.linalg.svd(X, full_matrices=False)
        raw = (U * S)[:, :3]
        raw = raw * np.where(np.sum(raw * got, axis=0) < 0, -1.0, 1.0)
        if _close(got, raw, 1e-6) and not _close(got, ref, 1e-6):
            raise ExerciseError("your time courses come from X without its mean removed: subtract "
                                "X.mean(axis=0) (each neuron's mean over time) before the SVD")
    check_close(got, ref, what="your time courses", where=[("time bin", None, ""), ("component", None, "")],
                rtol=1e-6, atol=1e-8)
    correct("your time courses agree with core.pca.pca(X, 3).scores (signs aligned)")


def check_match_rates(function) -> None:
    """Check ``function(target_rates, model_rates)``: the original's greedy matching, ``(order, matched)``.

    ``order[k]`` the k-th target neuron, by decreasing rate; ``matched[k]`` the not-yet-used model
    neuron whose rate is closest to it. Compared with :func:`~tutorial_lib.balanced.match_rates` on
    40 targets and 100 model neurons; hints for a model neuron used twice and for the wrong order.
    """
    rng = np.random.default_rng(7)
    targets = rng.gamma(2.0, 4.0, 40)
    model = rng.gamma(1.5, 4.0, 100)
    order_ref, matched_ref = match_rates(targets, model)
    out = run_student(function, targets.copy(), model.copy(), what="your matching")
    if not isinstance(out, tuple) or len(out) != 2:
        raise ExerciseError("your matching should return two arrays, (order, matched)", "your matching")
    order, matched = (np.asarray(a) for a in out)
    if order.shape != order_ref.shape or matched.shape != matched_ref.shape:
        raise ExerciseError(f"order and matched should have shape {order_ref.shape} (one per target neuron; "
                            f"got {order.shape} and {matched.shape})", "your matching")
    if np.array_equal(order, order_ref[::-1]):
        raise ExerciseError("your order runs from the lowest rate up: take the target neurons from the "
                            "highest rate down (np.argsort(-target_rates))", "your order")
    check_close(order, order_ref, what="your order", where=[("k", None, "")], rtol=0, atol=0)
    values, counts = np.unique(matched, return_counts=True)
    if (counts > 1).any():
        j = int(values[np.argmax(counts)])
        raise ExerciseError(f"model neuron {j} is matched {int(counts.max())} times: each model neuron may "
                            "be used once (mark it as taken, e.g. set its rate to np.inf)", "your matching")
    bad = np.flatnonzero(matched != matched_ref)
    if bad.size:
        k = int(bad[0])
        raise ExerciseError(f"your matched[{k}] (target neuron {order_ref[k]}, {targets[order_ref[k]]:.2f} Hz) "
                            f"is model neuron {matched[k]} ({model[matched[k]]:.2f} Hz); the reference is "
                            f"{matched_ref[k]} ({model[matched_ref[k]]:.2f} Hz)", "your matching", f"k = {k}")
    correct(f"your matching agrees with balanced.match_rates for {targets.size} target neurons")
