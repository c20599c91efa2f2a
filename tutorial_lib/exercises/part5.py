r"""Checks for Part 5's coding exercises (notebook 05): the choice mode, the separatrix, a fixed point's kind.

Each check runs the student's function on a small made-up input, compares it with the plain formula
of :mod:`tutorial_lib.core` (``core.choice.choice_mode`` and ``project``, ``core.choice.switch_fractions``
and ``switch_threshold``, ``core.fixed_points.jacobian`` and ``classify``), names the first place
where the answer differs, and adds a hint for the typical mistakes it can recognise. On success it
prints one line starting "Correct".

>>> from tutorial_lib.core import choice as cc
>>> check_choice_mode(cc.choice_mode, cc.project)
Correct: your choice mode matches core.choice.choice_mode (5 neurons) and your projection core.choice.project (6 trials x 12 bins).
"""

from __future__ import annotations

import numpy as np

from ..core import choice as core_choice
from ..core import fixed_points as core_fp
from .compare import ExerciseError, check_close, correct, run_student

__all__ = ["check_choice_mode", "check_separatrix", "check_stability"]

#: the made-up trials' bin centres, ms (12 bins of 250 ms over a 3 s trial)
_T = 125.0 + 250.0 * np.arange(12)
#: the window of the made-up choice mode, ms: closed, its ends are bin centres
_WINDOW = (1875.0, 2875.0)


def _similar(got, candidate) -> bool:
    """True where ``got`` equals ``candidate`` (same shape) to 1e-9 relative."""
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return False
    cand = np.asarray(candidate, dtype=float)
    return got.shape == cand.shape and bool(np.allclose(got, cand, rtol=1e-9, atol=1e-12))


def _compare(got, ref, hints, *, what, where, unit="") -> None:
    """check_close, with the first recognised mistake's hint added to the message."""
    try:
        check_close(got, ref, what=what, where=where, unit=unit)
    except ExerciseError as err:
        hint = next((message for candidate, message in hints if _similar(got, candidate())), "")
        if hint:
            raise ExerciseError(f"{err}. Hint: {hint}", err.what, err.where) from None
        raise


def _made_up_rates(seed: int = 5):
    """Rates (Hz) of two conditions: a (6 trials), b (7 trials), 12 bins, 5 neurons; the conditions
    differ late in the trial (neurons 0 and 3 up in a, neuron 1 up in b) and a little early."""
    rng = np.random.default_rng(seed)
    late = (_T > 1500.0)[:, None]
    base = rng.uniform(4.0, 12.0, size=(1, 1, 5))
    a = base + rng.normal(0.0, 1.0, (6, 12, 5)) + late * np.array([4.0, -1.0, 0.0, 2.5, 0.5])
    b = base + rng.normal(0.0, 1.0, (7, 12, 5)) + late * np.array([-1.0, 3.0, 0.0, -0.5, 0.0])
    a[:, :2] += np.array([0.0, 0.0, 3.0, 0.0, -2.0])  # early: another direction
    return a, b


def check_choice_mode(choice_mode, project) -> None:
    r"""Check ``choice_mode(a, b, t, window)`` and ``project(x, mode)``.

    ``choice_mode``: a (trials_a, time, neurons) and b (trials_b, time, neurons) rates, t (time,) ms,
    window ``(start, stop)`` ms, closed -> the unit vector (neurons,) along the difference of the
    trial- and window-averaged activities, a minus b (:func:`tutorial_lib.core.choice.choice_mode`).
    ``project``: x (trials, time, neurons), mode (neurons,) -> (trials, time), Hz
    (:func:`tutorial_lib.core.choice.project`).
    """
    a, b = _made_up_rates()
    ref = core_choice.choice_mode(a, b, _T, _WINDOW)
    got = run_student(choice_mode, a.copy(), b.copy(), _T.copy(), _WINDOW, what="your choice_mode")
    sel = (_T >= _WINDOW[0]) & (_T <= _WINDOW[1])
    d = a[:, sel].mean(axis=(0, 1)) - b[:, sel].mean(axis=(0, 1))
    half_open = (_T >= _WINDOW[0]) & (_T < _WINDOW[1])
    d_half = a[:, half_open].mean(axis=(0, 1)) - b[:, half_open].mean(axis=(0, 1))
    d_all = a.mean(axis=(0, 1)) - b.mean(axis=(0, 1))
    pooled = np.concatenate([a, b])[:, sel].mean(axis=(0, 1))
    hints = [
        (lambda: d, "divide the difference by its length, np.linalg.norm(d), so that the mode is a unit vector"),
        (lambda: -ref, "the sign is flipped: the mode points from b to a (a minus b)"),
        (lambda: d / np.abs(d).sum(), "divide by the Euclidean length, np.linalg.norm(d), not the sum of |d|"),
        (lambda: d_all / np.linalg.norm(d_all), ("average only over the times inside the window "
                                                 "(t >= start and t <= stop), not the whole trial")),
        (lambda: d_half / np.linalg.norm(d_half), "the window is closed: include t == stop (t <= stop)"),
        (lambda: pooled / np.linalg.norm(pooled), "subtract condition b's average from condition a's"),
    ]
    if np.ndim(got) == 2 and np.shape(got)[-1] == a.shape[-1]:
        raise ExerciseError(f"your choice_mode has shape {np.shape(got)}; it should have shape {ref.shape} "
                            "(neurons,). Hint: average over the trials AND the window's times, "
                            ".mean(axis=(0, 1))", "your choice_mode")
    _compare(got, ref, hints, what="your choice mode", where=[("neuron", None, "")])
    p_ref = core_choice.project(a, ref)
    p_got = run_student(project, a.copy(), ref.copy(), what="your project")
    if _similar(p_got, p_ref.T):
        raise ExerciseError(f"your projection has shape {np.shape(p_got)}; it should be {p_ref.shape} "
                            "(trials, time). Hint: x @ mode keeps x's first two axes", "your project")
    if np.ndim(p_got) == 3:
        raise ExerciseError(f"your projection has shape {np.shape(p_got)}; it should be {p_ref.shape} "
                            "(trials, time). Hint: sum the products over the neurons (x @ mode)",
                            "your project")
    _compare(p_got, p_ref, [(lambda: -p_ref, "the projection is x @ mode, not minus it")],
             what="your projection", where=[("trial", None, ""), ("t", _T, "ms")], unit="Hz")
    correct(f"your choice mode matches core.choice.choice_mode ({ref.size} neurons) and your projection "
            f"core.choice.project ({p_ref.shape[0]} trials x {p_ref.shape[1]} bins).")


#: made-up kicks: amplitudes (threshold units) and, per amplitude, how many of 20 trials switched
_AMPS = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
_SWITCHED = np.array([0, 1, 3, 8, 14, 19, 20])
_N = 20


def _made_up_kicks(seed: int = 2):
    """(amplitude, switched) per trial, in shuffled order: 20 trials per amplitude of ``_AMPS``."""
    amp = np.repeat(_AMPS, _N)
    switched = np.concatenate([np.arange(_N) < k for k in _SWITCHED])
    order = np.random.default_rng(seed).permutation(amp.size)
    return amp[order], switched[order]


def check_separatrix(separatrix) -> None:
    r"""Check ``separatrix(amplitude, switched)`` -> ``(amps, fraction, a50)``.

    ``amplitude`` (trials,) each trial's kick, ``switched`` (trials,) bool its outcome; ``amps`` the
    distinct amplitudes, sorted; ``fraction`` the switched fraction at each
    (:func:`tutorial_lib.core.choice.switch_fractions`); ``a50`` the amplitude where the fraction
    crosses one half, which must lie inside the 95 % interval of
    :func:`tutorial_lib.core.choice.switch_threshold` (a logistic fit).
    """
    amp, switched = _made_up_kicks()
    amps_ref, _, k, frac_ref = core_choice.switch_fractions(amp, switched)[:4]
    fit = core_choice.switch_threshold(amp, switched)
    got = run_student(separatrix, amp.copy(), switched.copy(), what="your separatrix")
    if not (isinstance(got, tuple) and len(got) == 3):
        raise ExerciseError("your separatrix should return three things, (amps, fraction, a50)", "your separatrix")
    amps, frac, a50 = got
    if _similar(amps, np.unique(amp)[::-1]):
        raise ExerciseError("your amps run downwards; sort them upwards (np.unique does)", "your amps")
    check_close(amps, amps_ref, what="your amps", where=[("level", None, "")])
    hints = [
        (lambda: k, f"these are counts of switched trials; divide by the trials per amplitude ({_N})"),
        (lambda: 1.0 - frac_ref, "that is the fraction that recovered; count the switched trials"),
        (lambda: k / amp.size, f"divide by the trials at each amplitude ({_N}), not by all {amp.size}"),
    ]
    _compare(frac, frac_ref, hints, what="your switched fraction", where=[("amplitude", amps_ref, "")])
    try:
        a50 = float(a50)
    except (TypeError, ValueError):
        raise ExerciseError(f"your a50 should be one number (got {type(a50).__name__})", "your a50") from None
    if not fit.low <= a50 <= fit.high:
        wrong_way = float(np.interp(0.5, amps_ref, frac_ref))
        hint = (" Hint: np.interp(0.5, amps, fraction) gives the fraction at amplitude 0.5; you want the "
                "amplitude at fraction 0.5: np.interp(0.5, fraction, amps)" if np.isclose(a50, wrong_way) else
                " Hint: find the two amplitudes where the fraction goes from below 0.5 to 0.5 or above, and "
                "interpolate linearly between them")
        raise ExerciseError(f"your a50 = {a50:.3g} lies outside the logistic fit's 95% interval "
                            f"[{fit.low:.3g}, {fit.high:.3g}] (core.choice.switch_threshold).{hint}", "your a50")
    correct(f"your fractions match core.choice.switch_fractions at {amps_ref.size} amplitudes, and "
            f"a50 = {a50:.2f} lies in [{fit.low:.2f}, {fit.high:.2f}].")


def _kind(real) -> str:
    """The kind a three-way rule on ``real`` (real parts, or any numbers) gives: all < 0, all > 0, or neither."""
    return "stable" if np.all(real < 0) else "unstable" if np.all(real > 0) else "saddle"


def _dtanh(x):
    """The derivative of tanh."""
    return 1.0 - np.tanh(x) ** 2


def _cases():
    """(name, x, W, dphi) of points to classify: the two-attractor model's three fixed points (ReLU),
    and tanh networks at the origin with an unstable point, a saddle and a stable spiral."""
    W2, _, points = core_choice.two_attractor_relu()
    cases = [(f"two-attractor point ({x[0]:g}, {x[1]:g})", x, W2, core_choice.drelu) for x, _ in points]
    origin = np.zeros(2)
    cases += [("the origin, W = 2 I (tanh)", origin, 2.0 * np.eye(2), _dtanh),
              ("the origin, W = diag(2, 0.5) (tanh)", origin, np.diag([2.0, 0.5]), _dtanh),
              ("the origin, W = [[0, -3], [3, 0]] (tanh)", origin, np.array([[0.0, -3.0], [3.0, 0.0]]), _dtanh),
              ("the origin, W = [[1.5, -3], [3, 1.5]] (tanh)", origin, np.array([[1.5, -3.0], [3.0, 1.5]]), _dtanh)]
    return cases


def check_stability(stability) -> None:
    r"""Check ``stability(x, W, dphi)`` -> ``"stable"``, ``"saddle"`` or ``"unstable"``.

    The kind of the fixed point ``x`` of :math:`dx/dt = -x + W\phi(x) + b` from the eigenvalues of the
    Jacobian :math:`J = -I + W \operatorname{diag}(\phi'(x))`: every real part negative, stable;
    every one positive, unstable; some of each, a saddle. Compared with
    :func:`tutorial_lib.core.fixed_points.classify` of :func:`~tutorial_lib.core.fixed_points.jacobian`'s
    eigenvalues on seven points (ReLU and tanh networks, real and complex eigenvalues).
    """
    cases = _cases()
    said, ref, eigs = [], [], []
    for name, x, W, dphi in cases:
        eigs.append(np.linalg.eigvals(core_fp.jacobian(x, W, dphi)))
        ref.append(core_fp.classify(eigs[-1]))
        said.append(run_student(stability, x.copy(), W.copy(), dphi, what="your stability"))
        if not isinstance(said[-1], str):
            raise ExerciseError(f"your stability should return a word, 'stable', 'saddle' or 'unstable' "
                                f"(got {type(said[-1]).__name__} at {name})", "your stability")
    wrong = [k for k in range(len(cases)) if said[k] != ref[k]]
    if wrong:
        k = wrong[0]
        no_minus = [_kind(np.linalg.eigvals(W * dphi(x)[None, :]).real) for _, x, W, dphi in cases]
        as_map = [_kind(np.abs(e) - 1.0) for e in eigs]
        hint = ("the Jacobian of dx/dt = -x + W phi(x) + b has -I: J = -np.eye(n) + W * dphi(x)"
                if said == no_minus else
                "|eigenvalue| < 1 is the test for a map x[n+1] = f(x[n]); for a flow dx/dt = F(x) "
                "the signs of the real parts decide" if said == as_map else
                "decide by the real parts of the eigenvalues (np.real); complex ones come in pairs"
                if np.any(np.imag(eigs[k])) else
                "stable: every real part < 0; unstable: every one > 0; saddle: some of each")
        raise ExerciseError(f"your stability says {said[k]!r} at {cases[k][0]}; the eigenvalues of J there are "
                            f"{np.round(eigs[k], 3).tolist()}, so it is {ref[k]!r}. Hint: {hint}",
                            "your stability")
    correct(f"your stability agrees with core.fixed_points.classify at all {len(_cases())} points.")
