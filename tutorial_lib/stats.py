r"""Spike-train statistics: counts in windows, Fano factors, ISI CVs, choice selectivity.

Why one module of about 750 lines: a handful of short functions, each with its equation, its
conventions (window edges, ddof, what is NaN) and an example; most lines are documentation.

Plain NumPy and SciPy on arrays (spike times in ms, neuron indices), so any
part can use them; nothing here knows about a network. Part 4 asks whether the
trained balanced network still looks like cortex: irregular (ISI CV near 1),
variable across trials (Fano factor near 1), and with choice selectivity
spread beyond the trained cells.

* :func:`tile_windows`: consecutive windows of one width, like the PSTH bins;
* :func:`spike_counts`: counts (windows, neurons) of one trial, windows ``(a, b]``;
* :func:`trial_counts`: the same for many trials, (trials, windows, neurons);
* :func:`fano_factor`: variance over trials / mean;
* :func:`isi_cv` and :func:`isi_cv_pooled`: the coefficient of variation of
  the interspike intervals, in one trial or pooled over trials;
* :func:`dprime`, :func:`selectivity_test`, :func:`fraction_selective`,
  :func:`split_half_agreement`: selectivity between two conditions.

PSTHs are :func:`tutorial_lib.analysis.population_psth` (not repeated here).

Conventions, once for the whole module:

* windows are closed on the right, ``a < t <= b``, the rule of
  :meth:`tutorial_lib.balanced.Trial.psth`: the engine labels a spike of the
  step ``(t - dt, t]`` with ``t``. A spike time within ``1e-9 (b - a)`` above
  an edge counts as on it (as in the PSTH), so rounding of ``k dt`` does not
  move a spike across an edge;
* variances are sample variances with ``ddof=1`` (divide by ``n - 1``) unless
  ``ddof`` is given; Elephant's ``fanofactor`` and ``cv`` use ``ddof=0``;
* an undefined value is NaN, never 0: a Fano factor where the mean count is 0,
  a CV with too few spikes, a d' where both conditions have zero variance.
  Average such arrays with :func:`numpy.nanmean` and report how many were NaN.

Getting started::

    >>> import numpy as np
    >>> from tutorial_lib import stats
    >>> rng = np.random.default_rng(1)
    >>> trials = []
    >>> for _ in range(200):        # 200 trials of 20 Poisson neurons at 20 Hz for 1 s
    ...     n = rng.poisson(20.0, size=20)
    ...     trials.append((rng.uniform(0, 1000, n.sum()), np.repeat(np.arange(20), n)))
    >>> counts = stats.trial_counts(trials, np.arange(20), stats.tile_windows(0, 1000, 500))
    >>> counts.shape                # (trials, windows, neurons)
    (200, 2, 20)
    >>> F = stats.fano_factor(counts)                      # (windows, neurons)
    >>> bool(abs(F.mean() - 1.0) < 0.05)
    True
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["tile_windows", "spike_counts", "trial_counts", "fano_factor", "isi_cv", "isi_cv_pooled", "dprime",
           "SelectivityTest", "selectivity_test", "fraction_selective", "split_half_agreement"]

_EDGE_TOL = 1e-9  # relative to a window's width, as in Trial.psth


# ---------------------------------------------------------------------------------------------- input checks

def _spikes(spike_times, spike_neurons):
    t = np.asarray(spike_times, dtype=np.float64)
    n = np.asarray(spike_neurons)
    if t.ndim != 1 or n.ndim != 1 or t.shape != n.shape:
        raise ValueError(f"spike_times and spike_neurons must be 1-D arrays of one length "
                         f"(got shapes {t.shape} and {n.shape})")
    if n.size and not np.issubdtype(n.dtype, np.integer):
        raise TypeError(f"spike_neurons must hold integer neuron indices (got dtype {n.dtype})")
    if not np.all(np.isfinite(t)):
        raise ValueError("spike_times must be finite (ms)")
    if n.size and n.min() < 0:
        raise ValueError(f"spike_neurons must be >= 0 (got {n.min()})")
    return t, n.astype(np.int64, copy=False)


def _neurons(neurons):
    idx = np.asarray(neurons)
    if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
        raise ValueError(f"neurons must be a 1-D array of integer indices "
                         f"(got shape {idx.shape}, dtype {idx.dtype})")
    if idx.size and idx.min() < 0:
        raise ValueError(f"neurons must be >= 0 (got {idx.min()})")
    if np.unique(idx).size != idx.size:
        raise ValueError("neurons must not repeat an index")
    return idx.astype(np.int64, copy=False)


def _columns(spike_neurons, neurons):
    """Column of each spike's neuron in ``neurons`` (-1: not asked for)."""
    size = int(max(neurons.max(initial=-1), spike_neurons.max(initial=-1))) + 1
    col = np.full(size, -1, dtype=np.int64)
    col[neurons] = np.arange(neurons.size)
    return col[spike_neurons]


def _windows(windows):
    w = np.asarray(windows, dtype=np.float64)
    if w.ndim == 1 and w.size == 2:
        w = w[None, :]
    if w.ndim != 2 or w.shape[1] != 2:
        raise ValueError(f"windows must be an array of (start, end] pairs, shape (windows, 2), ms "
                         f"(got shape {w.shape})")
    if not np.all(np.isfinite(w)):
        raise ValueError("windows must be finite (ms)")
    if np.any(w[:, 1] <= w[:, 0]):
        k = int(np.argmax(w[:, 1] <= w[:, 0]))
        raise ValueError(f"each window needs start < end (window {k} is {tuple(w[k])} ms)")
    return w


def _trial_spikes(trial):
    """``(spike_times, spike_neurons)`` of a pair or of an object with those attributes (a Trial)."""
    if hasattr(trial, "spike_times") and hasattr(trial, "spike_neurons"):
        return _spikes(trial.spike_times, trial.spike_neurons)
    try:
        times, neurons = trial
    except (TypeError, ValueError):
        raise TypeError("each trial must be a (spike_times, spike_neurons) pair or have attributes "
                        f"spike_times and spike_neurons (got {type(trial).__name__})") from None
    return _spikes(times, neurons)


def _trials(trials):
    trials = list(trials)
    if not trials:
        raise ValueError("trials must hold at least one trial")
    return [_trial_spikes(tr) for tr in trials]


def _ddof(ddof):
    if isinstance(ddof, bool) or not isinstance(ddof, (int, np.integer)) or ddof < 0:
        raise ValueError(f"ddof must be an integer >= 0 (got {ddof!r})")
    return int(ddof)


# ---------------------------------------------------------------------------------------------- counts

def tile_windows(start: float, stop: float, width: float) -> np.ndarray:
    r"""Consecutive windows ``(start + k w, start + (k + 1) w]`` of width ``w`` inside ``(start, stop]``.

    The PSTH's rule (:meth:`tutorial_lib.balanced.Trial.psth`): whole windows
    only, a remainder shorter than ``width`` at the end is dropped.

    Parameters
    ----------
    start, stop : float
        The span, ms, ``start < stop``.
    width : float
        Window width, ms, ``0 < width <= stop - start``.

    Returns
    -------
    ndarray, shape (n, 2)
        ``(start, end]`` of each window, ms, with ``n = floor((stop - start) / width)``.

    Raises
    ------
    ValueError
        Non-finite values, ``start >= stop`` or ``width`` outside ``(0, stop - start]``.

    Examples
    --------
    >>> tile_windows(1500, 3000, 500)
    array([[1500., 2000.],
           [2000., 2500.],
           [2500., 3000.]])
    """
    start, stop, width = float(start), float(stop), float(width)
    if not (math.isfinite(start) and math.isfinite(stop) and start < stop):
        raise ValueError(f"start and stop must be finite with start < stop (got {start}, {stop} ms)")
    if not (math.isfinite(width) and 0 < width <= (stop - start) * (1 + 1e-12)):
        raise ValueError(f"width must be in (0, stop - start] = (0, {stop - start:g}] ms (got {width})")
    n = max(1, int(math.floor((stop - start) / width + 1e-9)))
    a = start + width * np.arange(n)
    return np.stack([a, a + width], axis=1)


def spike_counts(spike_times, spike_neurons, neurons, windows) -> np.ndarray:
    r"""Spike counts of ``neurons`` in each window of one trial.

    .. math::

        c_{wj} = \#\{s : n_s = \mathrm{neurons}_j,\ a_w < t_s \le b_w\}

    Windows are closed on the right, ``(a, b]``, the rule of
    :meth:`tutorial_lib.balanced.Trial.psth` (the engine labels a spike of the
    step ``(t - dt, t]`` with ``t``); a spike within ``1e-9 (b - a)`` above an
    edge counts as on it. Windows may overlap or leave gaps.

    Parameters
    ----------
    spike_times : array_like, shape (spikes,)
        Spike times, ms (any order).
    spike_neurons : array_like of int, shape (spikes,)
        The neuron of each spike.
    neurons : array_like of int, shape (neurons,)
        The neurons to count (columns of the result, in this order; no repeats).
    windows : array_like, shape (windows, 2)
        ``(start, end]`` of each window, ms (e.g. from :func:`tile_windows`).

    Returns
    -------
    ndarray of int64, shape (windows, neurons)

    Raises
    ------
    ValueError
        Arrays of wrong shapes, non-finite times, negative or repeated indices,
        a window with ``start >= end``.
    TypeError
        Non-integer neuron indices.

    See Also
    --------
    trial_counts : the same for many trials.

    Examples
    --------
    >>> spike_counts([10.0, 20.0, 20.0, 35.0], [0, 0, 1, 0], [0, 1], [(0, 20), (20, 40)])
    array([[2, 1],
           [1, 0]])
    """
    t, n = _spikes(spike_times, spike_neurons)
    idx = _neurons(neurons)
    w = _windows(windows)
    counts = np.zeros((w.shape[0], idx.size), dtype=np.int64)
    if idx.size == 0 or t.size == 0:
        return counts
    col = _columns(n, idx)
    keep = col >= 0
    t, col = t[keep], col[keep]
    order = np.argsort(t, kind="stable")
    t, col = t[order], col[order]
    tol = _EDGE_TOL * (w[:, 1] - w[:, 0])
    # a < t - tol <= b  <=>  a + tol < t <= b + tol
    lo = np.searchsorted(t, w[:, 0] + tol, side="right")
    hi = np.searchsorted(t, w[:, 1] + tol, side="right")
    for k in range(w.shape[0]):
        counts[k] = np.bincount(col[lo[k]:hi[k]], minlength=idx.size)
    return counts


def trial_counts(trials, neurons, windows) -> np.ndarray:
    r"""Spike counts of ``neurons`` in ``windows`` for each of many trials.

    :func:`spike_counts` of each trial, stacked; window times are relative to
    each trial's start, the same for all trials.

    Parameters
    ----------
    trials : sequence
        Each a ``(spike_times, spike_neurons)`` pair or an object with those
        attributes (such as :class:`tutorial_lib.balanced.Trial`).
    neurons : array_like of int, shape (neurons,)
    windows : array_like, shape (windows, 2)
        ``(start, end]`` pairs, ms.

    Returns
    -------
    ndarray of int64, shape (trials, windows, neurons)

    Raises
    ------
    ValueError
        No trials, or the errors of :func:`spike_counts`.
    TypeError
        A trial that is neither a pair nor has spike attributes.

    Examples
    --------
    >>> trial_counts([([5.0], [0]), ([5.0, 6.0], [0, 0])], [0], [(0, 10)])[:, 0, 0]
    array([1, 2])
    """
    spikes = _trials(trials)
    idx = _neurons(neurons)
    w = _windows(windows)
    return np.stack([spike_counts(t, n, idx, w) for t, n in spikes])


# ---------------------------------------------------------------------------------------------- variability

def fano_factor(counts, axis: int = 0, ddof: int = 1) -> np.ndarray:
    r"""Fano factor of spike counts: their variance over trials divided by their mean.

    .. math::

        F = \frac{\frac{1}{n - \mathrm{ddof}} \sum_{i=1}^{n} (c_i - \bar c)^2}{\bar c},
        \qquad \bar c = \frac{1}{n} \sum_{i=1}^{n} c_i

    over the ``n`` trials along ``axis``. With ``ddof=1`` (the default) the
    numerator is the unbiased variance, so a Poisson process gives ``E[F]``
    close to 1 even for few trials (its standard error is about
    ``sqrt(2 / (n - 1))``); Elephant's ``fanofactor`` uses ``ddof=0``, smaller
    by ``(n - 1) / n``. A regular (clock-like) train, identical on every
    trial, gives 0. Where the mean count is 0 the result is NaN (undefined,
    not 0). Compute it in windows of fixed width (100 ms, 500 ms): F depends on
    the window.

    Parameters
    ----------
    counts : array_like, e.g. shape (trials, windows, neurons)
        Spike counts (non-negative), trials along ``axis``.
    axis : int
        The trial axis. Default 0.
    ddof : int
        Delta degrees of freedom of the variance (>= 0). Default 1.

    Returns
    -------
    ndarray of float64
        ``counts``' shape without ``axis`` (e.g. (windows, neurons)).

    Raises
    ------
    ValueError
        Fewer than ``ddof + 1`` trials, negative or non-finite counts, a bad ``axis`` or ``ddof``.

    References
    ----------
    Fano U (1947) Ionization yield of radiations. II. Phys Rev 72:26, doi:10.1103/PhysRev.72.26.
    Churchland MM et al. (2010) Stimulus onset quenches neural variability. Nat Neurosci 13:369,
    doi:10.1038/nn.2501.

    Examples
    --------
    >>> fano_factor([[2, 0, 1], [4, 0, 1], [6, 0, 1]])   # 3 trials, 3 neurons
    array([ 1., nan,  0.])
    """
    c = np.asarray(counts, dtype=np.float64)
    ddof = _ddof(ddof)
    if c.ndim == 0:
        raise ValueError("counts must have a trial axis (got a scalar)")
    if not -c.ndim <= axis < c.ndim:
        raise ValueError(f"axis must be in [{-c.ndim}, {c.ndim - 1}] for counts of shape {c.shape} "
                         f"(got {axis})")
    if c.shape[axis] < ddof + 1:
        raise ValueError(f"fano_factor needs at least ddof + 1 = {ddof + 1} trials along axis {axis} "
                         f"(got {c.shape[axis]})")
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError("counts must be finite and >= 0")
    mean = c.mean(axis=axis)
    var = c.var(axis=axis, ddof=ddof)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mean > 0, var / np.where(mean > 0, mean, 1.0), np.nan)


def _isis(t, col, n_cols, t_range):
    """List (per column) of the interspike intervals of one trial's spikes."""
    if t_range is not None:
        a, b = t_range
        tol = _EDGE_TOL * (b - a)
        keep = (t > a + tol) & (t <= b + tol)
        t, col = t[keep], col[keep]
    keep = col >= 0
    t, col = t[keep], col[keep]
    order = np.lexsort((t, col))
    t, col = t[order], col[order]
    bounds = np.searchsorted(col, np.arange(n_cols + 1))
    return [np.diff(t[bounds[j]:bounds[j + 1]]) for j in range(n_cols)]


def _t_range(t_range):
    if t_range is None:
        return None
    try:
        a, b = (float(x) for x in t_range)
    except (TypeError, ValueError):
        raise ValueError(f"t_range must be None or a (start, end] pair, ms (got {t_range!r})") from None
    if not (math.isfinite(a) and math.isfinite(b) and a < b):
        raise ValueError(f"t_range must be finite with start < end (got {t_range!r} ms)")
    return a, b


def _min_spikes(min_spikes):
    if isinstance(min_spikes, bool) or not isinstance(min_spikes, (int, np.integer)) or min_spikes < 2:
        raise ValueError(f"min_spikes must be an integer >= 2 (got {min_spikes!r})")
    return int(min_spikes)


def _cv(isis, min_intervals, ddof):
    out = np.full(len(isis), np.nan)
    for j, d in enumerate(isis):
        if d.size >= min_intervals and d.size > ddof:
            m = d.mean()
            if m > 0:
                out[j] = d.std(ddof=ddof) / m
    return out


def isi_cv(spike_times, spike_neurons, neurons, t_range=None, min_spikes: int = 3,
           ddof: int = 1) -> np.ndarray:
    r"""Coefficient of variation of the interspike intervals (ISIs) of each neuron in one trial.

    .. math::

        \mathrm{CV} = \frac{1}{\bar\tau}
                      \sqrt{\frac{1}{m - \mathrm{ddof}} \sum_{k=1}^{m} (\tau_k - \bar\tau)^2},
        \qquad \tau_k = t_{k+1} - t_k

    over the ``m`` ISIs between a neuron's consecutive spikes in ``t_range``
    (``(start, end]``, the window rule of :func:`spike_counts`). A Poisson
    process gives 1 (standard error about ``1 / sqrt(m)``), a regular train 0.
    ``ddof=1`` by default; Elephant's ``cv(isi(...))`` (scipy.stats.variation)
    uses ``ddof=0``, smaller by ``sqrt((m - 1) / m)``. Intervals in a finite
    window are biased short (a long interval does not fit), by about ``1/m``
    for Poisson spikes. NaN for a neuron with fewer than ``min_spikes``
    spikes in the range. To pool intervals over trials use :func:`isi_cv_pooled`.

    Parameters
    ----------
    spike_times : array_like, shape (spikes,)
        Spike times, ms.
    spike_neurons : array_like of int, shape (spikes,)
    neurons : array_like of int, shape (neurons,)
    t_range : (float, float) or None
        ``(start, end]`` in ms; None: all spikes.
    min_spikes : int
        Fewest spikes for a CV (>= 2, default 3: at least two intervals).
    ddof : int
        Delta degrees of freedom of the standard deviation. Default 1.

    Returns
    -------
    ndarray of float64, shape (neurons,)

    Raises
    ------
    ValueError
        The errors of :func:`spike_counts`, a bad ``t_range``, ``min_spikes < 2`` or ``ddof < 0``.

    References
    ----------
    Softky WR, Koch C (1993) The highly irregular firing of cortical cells is inconsistent with temporal
    integration of random EPSPs. J Neurosci 13:334, doi:10.1523/JNEUROSCI.13-01-00334.1993.

    Examples
    --------
    >>> isi_cv([10, 20, 30, 40, 5, 6, 20], [0, 0, 0, 0, 1, 1, 1], [0, 1, 2])
    array([0.        , 1.22565175,        nan])
    """
    t, n = _spikes(spike_times, spike_neurons)
    idx = _neurons(neurons)
    rng_ = _t_range(t_range)
    min_spikes = _min_spikes(min_spikes)
    ddof = _ddof(ddof)
    if idx.size == 0:
        return np.zeros(0)
    return _cv(_isis(t, _columns(n, idx), idx.size, rng_), min_spikes - 1, ddof)


def isi_cv_pooled(trials, neurons, t_range=None, min_spikes: int = 3, ddof: int = 1) -> np.ndarray:
    r"""ISI CV of each neuron with the intervals of all ``trials`` pooled.

    Intervals are taken within each trial (none spans two trials), then pooled:
    the CV of :func:`isi_cv` over the union of every trial's intervals

    .. math::

        \{\tau\} = \bigcup_{r} \{t^{(r)}_{k+1} - t^{(r)}_k\}.

    A neuron needs at least ``min_spikes - 1`` intervals in all, else NaN. If
    the rate differs between trials the pooled CV is larger than each trial's
    (it includes the spread of the mean interval); the per-trial CVs are
    :func:`isi_cv` of each trial.

    Parameters
    ----------
    trials : sequence
        Each a ``(spike_times, spike_neurons)`` pair or an object with those attributes.
    neurons : array_like of int, shape (neurons,)
    t_range : (float, float) or None
        ``(start, end]`` within each trial, ms; None: all spikes.
    min_spikes : int
        At least ``min_spikes - 1`` pooled intervals for a CV (>= 2, default 3).
    ddof : int
        Delta degrees of freedom. Default 1.

    Returns
    -------
    ndarray of float64, shape (neurons,)

    Raises
    ------
    ValueError, TypeError
        As :func:`isi_cv` and :func:`trial_counts`.

    Examples
    --------
    >>> trials = [([0, 10, 20], [0, 0, 0]), ([0, 30], [0, 0])]      # intervals 10, 10, 30
    >>> isi_cv_pooled(trials, [0])
    array([0.69282032])
    """
    spikes = _trials(trials)
    idx = _neurons(neurons)
    rng_ = _t_range(t_range)
    min_spikes = _min_spikes(min_spikes)
    ddof = _ddof(ddof)
    pooled = [[] for _ in range(idx.size)]
    for t, n in spikes:
        for j, d in enumerate(_isis(t, _columns(n, idx), idx.size, rng_)):
            pooled[j].append(d)
    return _cv([np.concatenate(p) if p else np.zeros(0) for p in pooled], min_spikes - 1, ddof)


# ---------------------------------------------------------------------------------------------- selectivity

def _conditions(a, b, least=1):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if b.ndim == 1:
        b = b[:, None]
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must be (trials, neurons) arrays with the same neurons "
                         f"(got shapes {a.shape} and {b.shape})")
    if min(a.shape[0], b.shape[0]) < least:
        raise ValueError(f"a and b need at least {least} trials each (got {a.shape[0]} and {b.shape[0]})")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("a and b must be finite")
    return a, b


def dprime(a, b, ddof: int = 1) -> np.ndarray:
    r"""Selectivity index d' of each neuron between two conditions.

    .. math::

        d' = \frac{\bar a - \bar b}{\sqrt{(s_a^2 + s_b^2) / 2}}

    with ``s^2`` the sample variances over trials (``ddof=1`` by default).
    Positive where the neuron responds more in condition ``a``. For two
    Gaussians of equal sd ``sigma`` whose means differ by ``delta`` it
    estimates ``delta / sigma``; for identical distributions it scatters
    around 0 with standard error about ``sqrt(1/n_a + 1/n_b)``. NaN where
    both variances are 0 (a neuron silent in both conditions, or with one
    fixed count in each): undefined, not 0 and not infinite.

    Parameters
    ----------
    a, b : array_like, shape (trials_a, neurons) and (trials_b, neurons)
        One value per trial and neuron (spike counts or rates in a window);
        1-D arrays count as one neuron.
    ddof : int
        Delta degrees of freedom of the variances. Default 1.

    Returns
    -------
    ndarray of float64, shape (neurons,)

    Raises
    ------
    ValueError
        Arrays of different neurons, non-finite values, fewer than ``ddof + 1`` trials.

    References
    ----------
    Green DM, Swets JA (1966) Signal Detection Theory and Psychophysics. Wiley.

    Examples
    --------
    >>> dprime([[1, 0], [3, 0]], [[0, 0], [2, 0]])
    array([0.70710678,        nan])
    """
    ddof = _ddof(ddof)
    a, b = _conditions(a, b, least=ddof + 1)
    num = a.mean(axis=0) - b.mean(axis=0)
    pooled = 0.5 * (a.var(axis=0, ddof=ddof) + b.var(axis=0, ddof=ddof))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pooled > 0, num / np.sqrt(np.where(pooled > 0, pooled, 1.0)), np.nan)


class SelectivityTest(NamedTuple):
    """What :func:`selectivity_test` found: ``pvalue`` (neurons,) and ``selective`` (neurons,) bool."""

    pvalue: np.ndarray
    selective: np.ndarray
    alpha: float


def selectivity_test(a, b, alpha: float = 0.05) -> SelectivityTest:
    r"""Two-sided Mann-Whitney U test per neuron: does its response differ between conditions a and b?

    For each neuron the statistic counts the pairs of trials where ``a``
    exceeds ``b`` (ties count one half),

    .. math::

        U = \sum_{i, k} \left[ \mathbb{1}(a_i > b_k) + \tfrac12 \mathbb{1}(a_i = b_k) \right],

    and ``pvalue`` is :func:`scipy.stats.mannwhitneyu` (two-sided; for a
    neuron without ties scipy's ``"auto"`` method, exact for small samples;
    for a neuron with ties the normal approximation with tie and continuity
    corrections, chosen neuron by neuron so that a p-value depends only on
    that neuron's counts). A neuron is
    ``selective`` where ``pvalue < alpha``. Without any true difference a
    fraction of about ``alpha`` is selective by chance (less for small
    samples with many ties: the test is then conservative). A neuron with one
    value in every trial of both conditions has ``pvalue = 1``. No correction
    for multiple comparisons: the chance level of the fraction is ``alpha``.

    Parameters
    ----------
    a, b : array_like, shape (trials_a, neurons) and (trials_b, neurons)
        Spike counts (or rates) per trial; 1-D arrays count as one neuron.
    alpha : float
        Significance level, ``0 < alpha < 1``. Default 0.05.

    Returns
    -------
    SelectivityTest
        ``pvalue`` (neurons,) float64, ``selective`` (neurons,) bool, and ``alpha``.

    Raises
    ------
    ValueError
        As :func:`dprime`, or ``alpha`` outside (0, 1).

    References
    ----------
    Mann HB, Whitney DR (1947) On a test of whether one of two random variables is stochastically larger
    than the other. Ann Math Stat 18:50, doi:10.1214/aoms/1177730491.

    Examples
    --------
    >>> a = [[5, 1], [6, 2], [7, 1], [8, 2], [9, 1]]
    >>> b = [[0, 1], [1, 2], [2, 1], [3, 2], [4, 1]]
    >>> test = selectivity_test(a, b)
    >>> test.selective
    array([ True, False])
    >>> round(float(test.pvalue[0]), 4)
    0.0079
    """
    from scipy.stats import mannwhitneyu

    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1) (got {alpha})")
    a, b = _conditions(a, b)
    # scipy's "auto" picks one method for the whole array (asymptotic if any column has ties), so a
    # neuron's p-value would depend on the other neurons: choose per neuron, in two calls
    both = np.sort(np.vstack([a, b]), axis=0)
    tied = np.any(both[1:] == both[:-1], axis=0)
    p = np.ones(a.shape[1])
    for cols, method in ((~tied, "auto"), (tied, "asymptotic")):
        if cols.any():
            res = mannwhitneyu(a[:, cols], b[:, cols], alternative="two-sided", axis=0, method=method)
            p[cols] = np.asarray(res.pvalue, dtype=np.float64).reshape(-1)
    p = np.where(np.isnan(p), 1.0, p)  # all values tied: no evidence of a difference
    return SelectivityTest(p, p < alpha, alpha)


def fraction_selective(selective) -> float:
    r"""Fraction of neurons marked selective: ``k / n``, NaN for no neurons.

    Parameters
    ----------
    selective : array_like of bool, shape (neurons,), or SelectivityTest
        ``selective`` of :func:`selectivity_test` (or the test itself).

    Returns
    -------
    float
        Compare with the test's ``alpha``, the fraction expected by chance; with
        ``n`` neurons its chance spread is ``sqrt(alpha (1 - alpha) / n)``.

    Raises
    ------
    ValueError
        Values that are not booleans.

    Examples
    --------
    >>> fraction_selective([True, False, False, False])
    0.25
    """
    if isinstance(selective, SelectivityTest):
        selective = selective.selective
    s = np.asarray(selective)
    if s.size and s.dtype != np.bool_:
        raise ValueError(f"selective must be an array of booleans (got dtype {s.dtype})")
    return float(s.mean()) if s.size else float("nan")


def split_half_agreement(a, b, rng, n_repeats: int = 100) -> float:
    r"""How reproducible the pattern of selectivity is: the correlation of d' between halves of the trials.

    Each repeat shuffles the trials of each condition, splits them into two
    halves of ``floor(n / 2)`` trials (an odd one out is left out), computes
    :func:`dprime` of every neuron in each half, and takes Pearson's
    correlation over the neurons whose d' is finite in both halves:

    .. math::

        r = \frac{\sum_j (d'_{1j} - \bar d'_1)(d'_{2j} - \bar d'_2)}
                 {\sqrt{\sum_j (d'_{1j} - \bar d'_1)^2 \sum_j (d'_{2j} - \bar d'_2)^2}}

    The result is the mean of ``r`` over the repeats: near 1 when neurons keep
    their preference and its strength, near 0 when the pattern is noise (its
    chance spread is about ``1 / sqrt(neurons)``). A repeat where fewer than 3
    neurons are finite in both halves, or one half's d' is constant, is
    skipped; NaN if every repeat is.

    Parameters
    ----------
    a, b : array_like, shape (trials_a, neurons) and (trials_b, neurons)
        Spike counts per trial in the two conditions, at least 4 trials each.
    rng : numpy.random.Generator or int
        The random stream (an int seeds a new one): same seed, same result.
    n_repeats : int
        Random splits to average (>= 1). Default 100.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        As :func:`dprime`, fewer than 4 trials in a condition, ``n_repeats < 1``.
    TypeError
        ``rng`` neither a Generator nor an int.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> shift = rng.normal(0, 2, 100)                     # each neuron's own preference
    >>> a = rng.normal(shift, 1, (40, 100)); b = rng.normal(0, 1, (40, 100))
    >>> bool(split_half_agreement(a, b, rng=1) > 0.9)
    True
    """
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        rng = np.random.default_rng(int(rng))
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or an int seed (got {type(rng).__name__})")
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, (int, np.integer)) or n_repeats < 1:
        raise ValueError(f"n_repeats must be an integer >= 1 (got {n_repeats!r})")
    a, b = _conditions(a, b, least=4)
    ha, hb = a.shape[0] // 2, b.shape[0] // 2
    rs = []
    for _ in range(int(n_repeats)):
        pa, pb = rng.permutation(a.shape[0]), rng.permutation(b.shape[0])
        d1 = dprime(a[pa[:ha]], b[pb[:hb]])
        d2 = dprime(a[pa[ha:2 * ha]], b[pb[hb:2 * hb]])
        ok = np.isfinite(d1) & np.isfinite(d2)
        if ok.sum() < 3:
            continue
        x, y = d1[ok] - d1[ok].mean(), d2[ok] - d2[ok].mean()
        den = math.sqrt(float(x @ x) * float(y @ y))
        if den > 0:
            rs.append(float(x @ y) / den)
    return float(np.mean(rs)) if rs else float("nan")
