r"""The choice mode of population activity and the separatrix between two choices, the plain formulas.

*Choice mode* (the "coding direction" of the ALM papers). From trials of two conditions ``a`` and
``b`` (trials x time x neurons, rates in Hz), the normalised difference of the trial-averaged
activity over a window of time,

.. math:: m = \frac{\bar r_a - \bar r_b}{\lVert \bar r_a - \bar r_b \rVert},

estimated on *training* trials and applied to *held-out* trials: the projection :math:`p(t) = m
\cdot r(t)` of each trial over time, and the choice read out at the end of the delay, the sign of
the mean projection in a read-out window relative to the midpoint of the two conditions' mean
projections there (+1: the side of ``a``, -1: that of ``b``, 0: exactly on the midpoint).

*Separatrix* (an empirical one). Kicks of graded amplitude along the choice mode, each trial
labelled switched or not: the switched fraction per amplitude with Wilson intervals, and the
amplitude at which half of the trials switch, :math:`A_{50}`, from a logistic fit
:math:`P(\text{switch} \mid A) = 1 / (1 + e^{-(A - A_{50}) / s})` by maximum likelihood, its
confidence interval by the profile likelihood (the :math:`A_{50}` whose best fit lies within
:math:`\chi^2_1(\text{level}) / 2` of the maximum log-likelihood). With no trial between all and
none switched the fit's slope goes to 0 and the interval is the gap between the amplitudes that
never and always switched: honest, and never narrower than the data allow.

A *two-attractor rate model* with analytic fixed points (:func:`two_attractor_relu`), for
:func:`tutorial_lib.core.fixed_points.find_fixed_points` with :func:`relu`.

Plain NumPy and SciPy on valid arrays (shapes are checked, with the parameter named; values are not,
except a confidence ``level``, the grid of :func:`switch_threshold` and its amplitudes, which must be finite).

>>> rng = np.random.default_rng(0)
>>> a = rng.normal(5.0, 1.0, (20, 10, 3)); a[..., 0] += 4.0       # 20 trials, 10 bins, 3 neurons
>>> b = rng.normal(5.0, 1.0, (20, 10, 3))
>>> m = choice_mode(a[:10], b[:10], np.arange(10), (5, 9))       # fit on 10 trials of each
>>> int(np.argmax(np.abs(m)))                                     # neuron 0 carries the choice
0
>>> mid = choice_midpoint(project(a[:10], m), project(b[:10], m), np.arange(10), (8, 9))
>>> read_choice(project(a[10:], m), np.arange(10), (8, 9), mid).tolist() == [1] * 10  # held-out
True

References
----------
* Li N, Daie K, Svoboda K, Druckmann S (2016) Robust neuronal dynamics in premotor cortex during
  motor planning. Nature 532:459-464. doi:10.1038/nature17643
* Inagaki HK, Fontolan L, Romani S, Svoboda K (2019) Discrete attractor dynamics underlies persistent
  activity in the frontal cortex. Nature 566:212-217. doi:10.1038/s41586-019-0919-7
* Finkelstein A, Fontolan L, Economo MN, Li N, Romani S, Svoboda K (2021) Attractor dynamics gate
  cortical information flow during decision-making. Nat Neurosci 24:843-850.
  doi:10.1038/s41593-021-00840-6
* Wilson EB (1927) Probable inference, the law of succession, and statistical inference. J Am Stat
  Assoc 22:209-212. doi:10.1080/01621459.1927.10502953
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_expit
from scipy.stats import chi2, norm

from ..checks import check_int, check_real

__all__ = ["choice_mode", "project", "window_mean", "choice_midpoint", "read_choice", "wilson_interval",
           "switch_fractions", "SwitchThreshold", "switch_threshold", "relu", "drelu", "two_attractor_relu"]


def _check_trials(name: str, x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 3 or x.shape[0] < 1:
        raise ValueError(f"{name} must be a (trials, time, neurons) array with at least one trial "
                         f"(got shape {x.shape})")
    return x


def _in_window(t, window, name: str = "window") -> np.ndarray:
    t = np.asarray(t, dtype=float)
    lo, hi = float(window[0]), float(window[1])
    sel = (t >= lo) & (t <= hi)
    if not np.any(sel):
        raise ValueError(f"{name} must hold at least one time of t, from {t.min():g} to {t.max():g} "
                         f"(got ({lo:g}, {hi:g}))")
    return sel


def choice_mode(a, b, t, window) -> np.ndarray:
    r"""The choice mode: :math:`(\bar r_a - \bar r_b) / \lVert \bar r_a - \bar r_b \rVert`, shape (neurons,).

    ``a``, ``b``: (trials, time, neurons) activity of the two conditions (e.g. rates in Hz; the
    trial counts may differ), the *training* trials; ``t`` (time,) their times (ms); ``window``
    ``(start, stop)`` ms, closed, over which the trial-averaged difference is averaged. A unit
    vector (dimensionless), pointing from ``b`` to ``a``. Raises ValueError for shapes that do not
    fit, a window with no time in it or no difference at all. Source: Li, Daie et al. (2016)
    doi:10.1038/nature17643; Inagaki et al. (2019) doi:10.1038/s41586-019-0919-7.

    >>> a = np.ones((2, 3, 2)) * [3.0, 1.0]; b = np.ones((4, 3, 2)) * [0.0, 5.0]
    >>> choice_mode(a, b, [0.0, 10.0, 20.0], (0.0, 20.0)).tolist()   # (3, -4) / 5
    [0.6, -0.8]
    """
    a, b = _check_trials("a", a), _check_trials("b", b)
    t = np.asarray(t, dtype=float)
    if a.shape[1:] != b.shape[1:] or t.shape != (a.shape[1],):
        raise ValueError(f"a, b (trials, time, neurons) and t (time,) must fit (got {a.shape}, {b.shape}, "
                         f"{t.shape})")
    sel = _in_window(t, window)
    d = a[:, sel].mean(axis=(0, 1)) - b[:, sel].mean(axis=(0, 1))
    norm_d = float(np.linalg.norm(d))
    if not norm_d > 0.0:
        raise ValueError("a and b have the same mean activity in the window: there is no choice mode")
    return d / norm_d


def project(x, mode) -> np.ndarray:
    r"""The projection :math:`p = x \cdot m` on the choice mode: (trials, time, neurons) -> (trials, time).

    In the units of ``x`` (Hz for rates; ``mode`` is a unit vector). Source: Li, Daie et al. (2016)
    doi:10.1038/nature17643.

    >>> project(np.ones((1, 2, 2)), np.array([0.6, 0.8])).tolist()
    [[1.4, 1.4]]
    """
    x, mode = np.asarray(x, dtype=float), np.asarray(mode, dtype=float)
    if mode.ndim != 1 or x.shape[-1] != mode.shape[0]:
        raise ValueError(f"mode must be (neurons,) with as many neurons as x (got {mode.shape} for {x.shape})")
    return x @ mode


def window_mean(p, t, window) -> np.ndarray:
    r"""The mean of projections ``p`` (trials, time) over the times ``t`` in ``window`` (closed), (trials,).

    >>> window_mean(np.array([[1.0, 2.0, 3.0]]), [0.0, 1.0, 2.0], (1.0, 2.0)).tolist()
    [2.5]
    """
    p = np.atleast_2d(np.asarray(p, dtype=float))
    t = np.asarray(t, dtype=float)
    if t.shape != (p.shape[-1],):
        raise ValueError(f"t must have one time per column of p (got {t.shape} for {p.shape})")
    return p[:, _in_window(t, window)].mean(axis=1)


def choice_midpoint(p_a, p_b, t, window) -> float:
    r"""The midpoint :math:`(\bar p_a + \bar p_b) / 2` of the two conditions' mean projections in ``window``.

    ``p_a``, ``p_b`` (trials, time) projections of training trials; the threshold of
    :func:`read_choice`. Source: Inagaki et al. (2019) doi:10.1038/s41586-019-0919-7.

    >>> choice_midpoint([[4.0, 6.0]], [[0.0, 2.0], [2.0, 0.0]], [0.0, 1.0], (0.0, 1.0))
    3.0
    """
    return 0.5 * float(window_mean(p_a, t, window).mean() + window_mean(p_b, t, window).mean())


def read_choice(p, t, window, midpoint: float) -> np.ndarray:
    r"""The choice of each trial, (trials,) int: the sign of its mean projection in ``window`` minus ``midpoint``.

    +1: the side of condition ``a`` of :func:`choice_mode`; -1: that of ``b``; 0: exactly on the
    midpoint. ``window``: the end of the delay. Source: Inagaki et al. (2019)
    doi:10.1038/s41586-019-0919-7; Finkelstein et al. (2021) doi:10.1038/s41593-021-00840-6.

    >>> read_choice([[5.0, 5.0], [1.0, 0.0], [2.0, 4.0]], [0.0, 1.0], (0.0, 1.0), 3.0).tolist()
    [1, -1, 0]
    """
    return np.sign(window_mean(p, t, window) - float(midpoint)).astype(np.int64)


def _level(level) -> float:
    """The confidence level, checked: in (0, 1) (0.95 for 95 %)."""
    return check_real("level", level, lo=0.0, hi=1.0, lo_open=True, hi_open=True,
                      what="confidence level of the interval, e.g. 0.95")


def wilson_interval(k, n, level: float = 0.95):
    r"""The fraction ``k / n`` and its Wilson score interval: ``(fraction, low, high)``, arrays like ``k``.

    .. math:: \frac{\hat p + z^2/2n \pm z \sqrt{\hat p (1 - \hat p)/n + z^2/4n^2}}{1 + z^2/n}

    with :math:`z` the normal quantile of ``(1 + level) / 2``; inside [0, 1] even for 0 or n
    successes (exactly 0 and 1 at ``k = 0`` and ``k = n``). ``n`` must be >= 1, ``level`` in (0, 1)
    (ValueError naming it). Source: Wilson (1927) doi:10.1080/01621459.1927.10502953.

    >>> p, lo, hi = wilson_interval(0, 10)
    >>> float(p), float(lo), round(float(hi), 4)
    (0.0, 0.0, 0.2775)
    """
    level = _level(level)
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n):
        raise ValueError("n must be >= 1 and k within [0, n]")
    z = float(norm.ppf(0.5 * (1.0 + level)))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # exactly 0 below none and 1 above all (the formula gives them up to rounding)
    low = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return p, low, high


def _outcomes(amplitude, switched):
    amplitude = np.asarray(amplitude, dtype=float).ravel()
    switched = np.asarray(switched).ravel()
    if amplitude.shape != switched.shape or amplitude.size == 0:
        raise ValueError(f"amplitude and switched must be 1-D arrays of the same, non-zero length "
                         f"(got {amplitude.shape} and {switched.shape})")
    if switched.dtype != bool and not np.all(np.isin(switched, (0, 1))):
        raise ValueError("switched must hold True/False (or 1/0) per trial")
    return amplitude, switched.astype(bool)


def switch_fractions(amplitude, switched, level: float = 0.95):
    r"""The switched fraction per amplitude: ``(amplitudes, n, k, fraction, low, high)``, each (levels,).

    ``amplitude`` (trials,) the kick of each trial, ``switched`` (trials,) bool its outcome;
    ``low``, ``high`` the Wilson interval (:func:`wilson_interval`). Source: Wilson (1927)
    doi:10.1080/01621459.1927.10502953.

    >>> amps, n, k, frac, lo, hi = switch_fractions([0, 0, 1, 1, 1], [False, False, True, True, False])
    >>> amps.tolist(), n.tolist(), k.tolist()
    ([0.0, 1.0], [2, 3], [0, 2])
    """
    amplitude, switched = _outcomes(amplitude, switched)
    amps, inv = np.unique(amplitude, return_inverse=True)
    n = np.bincount(inv)
    k = np.bincount(inv, weights=switched).astype(np.int64)
    return (amps, n, k, *wilson_interval(k, n, level))


@dataclass
class SwitchThreshold:
    r"""The fit of :func:`switch_threshold`: ``a50`` the amplitude at which half of the trials switch,
    ``low``, ``high`` its confidence interval (``level``), ``scale`` the logistic's width ``s`` (0:
    a step), ``loglik`` the maximum log-likelihood; ``bounded`` False if the interval reaches the
    edge of the searched range (``a50`` is then not pinned down on that side)."""

    a50: float
    low: float
    high: float
    scale: float
    loglik: float
    level: float
    bounded: bool


def _profile(amps, n, k, c: float, s_lo: float, s_hi: float):
    """(log-likelihood, scale) of the logistic fit with its centre fixed at ``c``, maximised over the scale
    (the outcomes as ``k`` switched of ``n`` at each of ``amps``)."""

    def nll(log_s):
        z = (amps - c) / np.exp(log_s)
        return -float(np.sum(k * log_expit(z) + (n - k) * log_expit(-z)))

    res = minimize_scalar(nll, bounds=(np.log(s_lo), np.log(s_hi)), method="bounded",
                          options=dict(xatol=1e-6))
    return -float(res.fun), float(np.exp(res.x))


def switch_threshold(amplitude, switched, level: float = 0.95, n_grid: int = 801) -> SwitchThreshold:
    r"""The amplitude :math:`A_{50}` at which half of the trials switch, with a profile-likelihood interval.

    Fits :math:`P(\text{switch} \mid A) = 1 / (1 + e^{-(A - A_{50}) / s})` to the outcomes
    (``amplitude`` (trials,), ``switched`` (trials,) bool) by maximum likelihood: on a grid of
    ``n_grid`` centres over the amplitudes' range widened by half of it on each side (not below 0
    when no amplitude is negative: then an interval reaching 0 is not ``bounded``), the scale
    maximised for each (SciPy, bounded, from 1e-4 to 10 times the range), then refined around the
    best. The interval: the centres whose profile log-likelihood is within
    :math:`\chi^2_1(\text{level}) / 2` of the maximum. Needs at least two distinct finite amplitudes,
    ``level`` in (0, 1) and ``n_grid`` in [3, 100000] (ValueError naming each).
    Source: profile likelihood (Venzon & Moolgavkar 1988, doi:10.2307/2347496); the separatrix
    as the kick that switches the choice: Finkelstein et al. (2021) doi:10.1038/s41593-021-00840-6.

    >>> amp = np.repeat([0.0, 1.0, 2.0, 3.0, 4.0], 20)
    >>> fit = switch_threshold(amp, amp + np.tile(np.linspace(-1.0, 1.0, 20), 5) > 2.0)
    >>> bool(fit.low < 2.0 < fit.high), fit.bounded
    (True, True)
    """
    level = _level(level)
    n_grid = check_int("n_grid", n_grid, lo=3, hi=100_000, what="centres searched for the threshold")
    a, n, k = switch_fractions(amplitude, switched, level)[:3]
    if not np.all(np.isfinite(a)):
        raise ValueError(f"amplitude must be finite (got {a[~np.isfinite(a)][0]})")
    lo_a, hi_a = float(a.min()), float(a.max())
    if not hi_a > lo_a:
        raise ValueError("amplitude must take at least two distinct values to fit a threshold")
    span = hi_a - lo_a
    floor = max(lo_a - 0.5 * span, 0.0) if lo_a >= 0 else lo_a - 0.5 * span  # a kick's size is never < 0
    grid = np.linspace(floor, hi_a + 0.5 * span, n_grid)
    s_lo, s_hi = 1e-4 * span, 10.0 * span
    ll = np.array([_profile(a, n, k, c, s_lo, s_hi)[0] for c in grid])
    step = grid[1] - grid[0]
    best = int(np.argmax(ll))
    fine = np.linspace(grid[best] - step, grid[best] + step, 41)
    ll_fine = np.array([_profile(a, n, k, c, s_lo, s_hi)[0] for c in fine])
    c_best = float(fine[np.argmax(ll_fine)])
    ll_best, s_best = _profile(a, n, k, c_best, s_lo, s_hi)
    inside = grid[ll >= ll_best - 0.5 * float(chi2.ppf(level, 1))]
    low, high = float(min(inside.min(), c_best)), float(max(inside.max(), c_best))
    low, high = low - (step if low > grid[0] else 0.0), high + (step if high < grid[-1] else 0.0)
    bounded = bool(low > grid[0] and high < grid[-1])
    return SwitchThreshold(c_best, float(low), float(high), 0.0 if s_best <= 1.01 * s_lo else s_best, ll_best, level, bounded)


def relu(x):
    r"""The rectified linear activation :math:`\max(x, 0)`.

    >>> relu(np.array([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    return np.maximum(x, 0.0)


def drelu(x):
    r"""The derivative of :func:`relu`: 1 where :math:`x > 0`, else 0 (the fixed points lie off the kink).

    >>> drelu(np.array([-1.0, 2.0])).tolist()
    [0.0, 1.0]
    """
    return (np.asarray(x) > 0).astype(float)


def two_attractor_relu(w_self: float = 0.5, w_cross: float = 2.0, drive: float = 1.0):
    r"""Two populations that excite themselves and inhibit each other: ``(W, b, points)``.

    :math:`dx/dt = -x + W \operatorname{relu}(x) + b` with :math:`W = [[w_s, -w_c], [-w_c, w_s]]`,
    :math:`b = (d, d)`. Its fixed points, from the linear equations of each pattern of active
    populations: one active, :math:`x_1 = d / (1 - w_s)`, :math:`x_2 = d - w_c x_1` (stable, the
    eigenvalues :math:`w_s - 1` and -1; needs :math:`w_s < 1`, :math:`x_2 \le 0`), and the mirror
    image; both active, :math:`x_1 = x_2 = d / (1 - w_s + w_c)`, a saddle (the eigenvalues
    :math:`w_s - w_c - 1 < 0` and :math:`w_s + w_c - 1 > 0`); none active has none for
    :math:`d > 0`. ``points``: a list of ``(x (2,), kind)`` (the attractors, then the saddle).
    Raises ValueError, naming the parameter, outside ``0 <= w_self < 1``, ``w_cross > 1 - w_self``
    and ``drive > 0``, where these three points exist (and one population silences the other).
    Source: the two-population model of a bistable decision (Wong & Wang 2006,
    doi:10.1523/JNEUROSCI.3733-05.2006), here piecewise linear.

    >>> W, b, points = two_attractor_relu()
    >>> [(x.tolist(), kind) for x, kind in points]
    [([2.0, -3.0], 'stable'), ([-3.0, 2.0], 'stable'), ([0.4, 0.4], 'saddle')]
    """
    if not 0.0 <= w_self < 1.0:
        raise ValueError(f"w_self must be in [0, 1): the active population must not run away (got {w_self})")
    if not w_cross > 1.0 - w_self:
        raise ValueError(f"w_cross must be > 1 - w_self = {1 - w_self:g}, else the symmetric point is "
                         f"stable, not a saddle (got {w_cross})")
    if not drive > 0.0:
        raise ValueError(f"drive must be > 0 (got {drive})")
    W = np.array([[w_self, -w_cross], [-w_cross, w_self]])
    b = np.full(2, float(drive))
    hi = drive / (1.0 - w_self)
    lo = drive - w_cross * hi
    mid = drive / (1.0 - w_self + w_cross)
    return W, b, [(np.array([hi, lo]), "stable"), (np.array([lo, hi]), "stable"),
                  (np.array([mid, mid]), "saddle")]
