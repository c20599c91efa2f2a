r"""Checks for Part 4's coding exercises (notebook 04): variability, a perturbation, selectivity, a PSTH.

Each check runs the student's function on a small made-up input, compares it with the plain formula
of :mod:`tutorial_lib.core` (``core.stats.fano_factor``, ``core.stats.spike_counts``,
``core.stats.dprime``, ``core.psth.psth``), names the first place where the answer differs, and
adds a hint for the typical mistakes it can recognise. On success it prints one line starting
"Correct".

>>> import numpy as np
>>> from tutorial_lib.core import stats as cs
>>> check_fano_factor(cs.fano_factor)
Correct: your Fano factor matches core.stats.fano_factor in 3 windows x 5 neurons.
"""

from __future__ import annotations

import numpy as np

from ..core import psth as core_psth
from ..core import stats as core_stats
from .compare import ExerciseError, check_close, correct, run_student

__all__ = ["check_dprime", "check_fano_factor", "check_perturbation", "check_psth"]

#: the made-up counts' windows: starts of three 100 ms windows, ms
_WINDOW_STARTS = np.array([1500.0, 1600.0, 1700.0])


def _similar(got, candidate) -> bool:
    """True where ``got`` equals ``candidate`` (same shape, NaN where it is NaN) to 1e-9 relative."""
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return False
    cand = np.asarray(candidate, dtype=float)
    if got.shape != cand.shape:
        return False
    finite = np.isfinite(cand)
    return bool(np.array_equal(np.isfinite(got), finite)
                and np.allclose(got[finite], cand[finite], rtol=1e-9, atol=1e-12))


def _first_hint(got, hints) -> str:
    """The message of the first (candidate, message) pair that ``got`` reproduces, or ""."""
    for candidate, message in hints:
        with np.errstate(invalid="ignore", divide="ignore"):
            if _similar(got, candidate()):
                return message
    return ""


def _compare(got, ref, hints, *, what, where, unit="") -> None:
    """check_close, with a recognised mistake's hint added to the message, and NaN places checked."""
    try:
        check_close(got, ref, what=what, where=where, unit=unit)  # shape, type, NaN/inf where ref is finite
        # check_close lets any answer pass where the reference holds a NaN (its max of differences is
        # NaN): compare the defined places with the undefined ones filled in, then the undefined ones
        ref = np.asarray(ref, dtype=float)
        undefined = np.isnan(ref)
        if undefined.any():
            filled = np.where(undefined, 0.0, ref)
            check_close(np.where(undefined, 0.0, np.asarray(got, dtype=float)), filled, what=what,
                        where=where, unit=unit)
        missing = undefined & ~np.isnan(np.asarray(got, dtype=float))
        if missing.any():
            index = tuple(int(i) for i in np.argwhere(missing)[0])
            value = np.asarray(got, dtype=float)[index]
            raise ExerciseError(f"{what} is {value:g} where it is undefined (index {index}): a neuron "
                                "without spikes (or without variance) should give NaN (np.nan), not a number",
                                what)
    except ExerciseError as err:
        hint = _first_hint(got, hints)
        if hint:
            raise ExerciseError(f"{err}. Hint: {hint}", err.what, err.where) from None
        raise


def _counts(seed: int = 4) -> np.ndarray:
    """Made-up spike counts, shape (8 trials, 3 windows, 5 neurons); neuron 2 never fires."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(rng.uniform(1.0, 8.0, size=(1, 3, 5)), size=(8, 3, 5))
    counts[:, :, 2] = 0
    return counts


def check_fano_factor(fano_factor) -> None:
    r"""Check ``fano_factor(counts)``: counts (trials, windows, neurons) -> (windows, neurons).

    The reference is :func:`tutorial_lib.core.stats.fano_factor`: the sample variance over trials
    (``ddof=1``) divided by the mean, NaN where the mean is 0.
    """
    counts = _counts()
    ref = core_stats.fano_factor(counts)
    got = run_student(fano_factor, counts.copy(), what="your fano_factor")
    m, v1 = counts.mean(axis=0), counts.var(axis=0, ddof=1)
    hints = [
        (lambda: counts.var(axis=0) / m, ("np.var divides by n (ddof=0); the sample variance over trials "
                                         "divides by n - 1: use counts.var(axis=0, ddof=1)")),
        (lambda: np.sqrt(v1) / m, "you divided the standard deviation by the mean; F uses the variance"),
        (lambda: np.sqrt(counts.var(axis=0)) / m, ("you divided the standard deviation by the mean; "
                                                  "F uses the variance (with ddof=1)")),
        (lambda: m / v1, "your ratio is upside down: F = variance / mean"),
        (lambda: np.where(m > 0, v1 / np.where(m > 0, m, 1.0), 0.0),
         "a neuron that never fires has no Fano factor: return NaN there, not 0"),
    ]
    try:
        shape = np.shape(np.asarray(got, dtype=float))
    except (TypeError, ValueError):
        shape = None
    if shape in ((counts.shape[0], counts.shape[2]), (counts.shape[0], counts.shape[1])):
        raise ExerciseError(f"your fano_factor has shape {shape}; it should have shape {ref.shape} "
                            "(windows, neurons). Hint: take the mean and variance over the trials, axis=0",
                            "your fano_factor")
    _compare(got, ref, hints, what="your Fano factor",
             where=[("window from t", _WINDOW_STARTS, "ms"), ("neuron", None, "")])
    correct(f"your Fano factor matches core.stats.fano_factor in {ref.shape[0]} windows x "
            f"{ref.shape[1]} neurons.")


def _made_up_trials(rates_hz, n_trials: int, duration: float, seed: int):
    """Poisson spike trains: a list of (spike_times ms, spike_neurons) per trial, rates per neuron in Hz."""
    rng = np.random.default_rng(seed)
    trials = []
    for _ in range(n_trials):
        n = rng.poisson(np.asarray(rates_hz) * duration / 1000.0)
        neurons = np.repeat(np.arange(len(rates_hz)), n)
        times = rng.uniform(0.0, duration, size=neurons.size)
        order = np.argsort(times)
        trials.append((times[order], neurons[order]))
    return trials


def _mean_rate(trials, neurons, window) -> float:
    """Mean rate (Hz) of ``neurons`` in ``window`` (ms) over trials: the reference, from core.stats."""
    w = np.array([window], dtype=float)
    counts = [core_stats.spike_counts(t, n, np.asarray(neurons), w)[0] for t, n in trials]
    return float(np.mean(counts) / ((window[1] - window[0]) / 1000.0))


def check_perturbation(rate_change, is_paradoxical) -> None:
    r"""Check ``rate_change(base_trials, perturbed_trials, neurons, window)`` and ``is_paradoxical``.

    ``rate_change``: the mean firing rate (Hz) of ``neurons`` in ``window = (start, stop]`` (ms),
    averaged over neurons and trials, perturbed minus unperturbed. ``is_paradoxical``: True when the
    I rate changes against the drive (``dr_i`` of the opposite sign to ``delta_i``).
    """
    duration, window = 3000.0, (1500.0, 2500.0)
    rates = np.array([4.0, 8.0, 12.0, 6.0, 20.0, 2.0])
    base = _made_up_trials(rates, 5, duration, seed=1)
    pert = _made_up_trials(rates * np.array([0.5, 0.8, 1.0, 1.0, 0.6, 1.5]), 5, duration, seed=2)
    neurons = np.array([0, 1, 4, 5])
    ref = _mean_rate(pert, neurons, window) - _mean_rate(base, neurons, window)
    got = run_student(rate_change, base, pert, neurons, window, what="your rate_change")
    seconds = (window[1] - window[0]) / 1000.0
    hints = [
        (lambda: ref / 1000.0, ("the window is in ms: divide the counts by its length in seconds "
                               f"({seconds:g} s), not in ms")),
        (lambda: -ref, "the sign is flipped: the change is perturbed minus unperturbed"),
        (lambda: ref * seconds, ("that is a change of spike counts; divide by the window's length "
                                f"({seconds:g} s) for a rate in Hz")),
        (lambda: ref * len(neurons), "average over the neurons, do not sum them"),
        (lambda: ref * len(base), "average over the trials, do not sum them"),
    ]
    if np.ndim(got) != 0:
        raise ExerciseError(f"your rate_change should return one number (the mean over neurons and "
                            f"trials); it returned shape {np.shape(got)}", "your rate_change")
    _compare(got, ref, hints, what="your rate change (neurons 0, 1, 4, 5; 1500-2500 ms)", where=None,
             unit="Hz")
    cases = [(-0.4, 0.5, True), (0.3, 0.5, False), (0.2, -0.5, True), (-0.2, -0.5, False)]
    for dr_i, delta_i, answer in cases:
        said = run_student(is_paradoxical, dr_i, delta_i, what="your is_paradoxical")
        if said is not answer and said != answer:
            hint = (" Hint: with a negative drive the paradoxical response is a rise of the I rate; "
                    "compare the signs of dr_i and delta_i" if delta_i < 0 else "")
            moves = "falls" if dr_i < 0 else "rises"
            drive = "rises" if delta_i > 0 else "falls"
            raise ExerciseError(f"your is_paradoxical({dr_i}, {delta_i}) says {said}; it should say {answer} "
                                f"(the I rate {moves} when the drive to the I cells {drive}).{hint}",
                                "your is_paradoxical")
    correct(f"your rate change is {got:+.3f} Hz, as core.stats.spike_counts gives, and "
            "is_paradoxical decides all four sign cases.")


def check_dprime(dprime) -> None:
    r"""Check ``dprime(a, b)``: a (trials_a, neurons), b (trials_b, neurons) -> d' per neuron.

    The reference is :func:`tutorial_lib.core.stats.dprime`: the difference of the means over
    the square root of the mean of the two sample variances (``ddof=1``); NaN where both are 0.
    """
    counts = _counts(seed=7)
    a, b = counts[:, 0, :], _counts(seed=8)[:6, 1, :]
    a[:, 3] = 5  # neuron 3: the same count in every trial of both conditions (d' undefined)
    b[:, 3] = 5
    ref = core_stats.dprime(a, b)
    got = run_student(dprime, a.copy(), b.copy(), what="your dprime")
    num = a.mean(axis=0) - b.mean(axis=0)
    va, vb = a.var(axis=0, ddof=1), b.var(axis=0, ddof=1)
    hints = [
        (lambda: -ref, "the sign is flipped: d' is positive where the response is larger in `a`"),
        (lambda: num / np.sqrt(va + vb), ("the pooled variance is the MEAN of the two variances: "
                                         "divide their sum by 2")),
        (lambda: num / np.sqrt(0.5 * (a.var(axis=0) + b.var(axis=0))),
         "np.var divides by n (ddof=0); use the sample variances, ddof=1"),
        (lambda: num / (0.5 * (np.sqrt(va) + np.sqrt(vb))),
         "average the variances, then take the square root (not the mean of the standard deviations)"),
        (lambda: num / (0.5 * (va + vb)), "take the square root of the pooled variance"),
    ]
    _compare(got, ref, hints, what="your d'", where=[("neuron", None, "")])
    correct(f"your d' matches core.stats.dprime for {ref.size} neurons (NaN where both "
            "conditions have no variance).")


def check_psth(psth) -> None:
    r"""Check ``psth(spike_times, spike_neurons, neurons, duration, bin_ms)``: binned rates, Hz.

    Returns ``(t, rates)``: bin centres (ms), shape (bins,), and rates, shape (bins, neurons): the
    count in each bin ``(k bin_ms, (k+1) bin_ms]`` times ``1000 / bin_ms``. The reference is
    :func:`tutorial_lib.core.psth.psth` with no smoothing (``smooth_ms=0``).
    """
    duration, bin_ms = 400.0, 50.0
    times, neurons_of = _made_up_trials([30.0, 60.0, 10.0], 1, duration, seed=3)[0]
    neurons = np.array([0, 1, 2])
    t_ref, r_ref = core_psth.psth(times, neurons_of, neurons, duration, bin_ms, 0.0)
    got = run_student(psth, times.copy(), neurons_of.copy(), neurons, duration, bin_ms, what="your psth")
    if not (isinstance(got, tuple) and len(got) == 2):
        raise ExerciseError("your psth should return two arrays, (t, rates): the bin centres and the rates",
                            "your psth")
    t, rates = got
    if _similar(t, t_ref - bin_ms / 2):
        raise ExerciseError(f"your t are the left edges of the bins; return their centres (add "
                            f"{bin_ms / 2:g} ms)", "your bin centres")
    check_close(t, t_ref, what="your bin centres", where=[("bin", None, "")], unit="ms", rtol=0, atol=1e-9)
    hints = [
        (lambda: r_ref * bin_ms / 1000.0, ("these are spike counts per bin; multiply by 1000 / bin_ms "
                                          "for a rate in Hz")),
        (lambda: r_ref / 1000.0, ("the bins are in ms: a count per bin of 50 ms is count * 1000 / 50 Hz, "
                                 "not count / 50")),
        (lambda: r_ref.T, "rates should have one row per bin and one column per neuron: transpose"),
    ]
    _compare(rates, r_ref, hints, what="your rate", where=[("t", t_ref, "ms"), ("neuron", None, "")],
             unit="Hz")
    correct(f"your PSTH matches core.psth.psth (no smoothing) in {r_ref.shape[0]} bins x "
            f"{r_ref.shape[1]} neurons.")

