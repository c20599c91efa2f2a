r"""Spike counts in windows, Fano factors and ISI CVs, with every argument checked by name.

The conventions (windows ``(a, b]``, ddof, NaN for undefined values) are those
of :mod:`tutorial_lib.stats`; the formulas are :mod:`tutorial_lib.core.stats`.
"""

from __future__ import annotations

import math

import numpy as np

from ..checks import MemoryEstimateError, check_int, check_real, index_array, memory_limit, real_array
from ..core import stats as core_stats

__all__ = ["tile_windows", "spike_counts", "trial_counts", "fano_factor", "isi_cv", "isi_cv_pooled",
           "MAX_TIME_MS", "MAX_VALUE", "MAX_WINDOWS"]

#: the largest ``|time|`` accepted, ms: 1e15 ms is 31 700 years, beyond any recording; larger values are
#: refused by name (they would overflow to infinity in differences and sums)
MAX_TIME_MS = 1e15
#: the largest ``|value|`` of a count or rate accepted (no spike count or rate comes near; squares and
#: sums of larger values overflow)
MAX_VALUE = 1e15
#: the most windows :func:`tile_windows` makes (160 MB of edges; each costs a row of counts per trial)
MAX_WINDOWS = 10**7


# ---------------------------------------------------------------------------------------------- input checks

def _spikes(spike_times, spike_neurons, where: str = ""):
    t = real_array(f"{where}spike_times", spike_times, bound=MAX_TIME_MS, unit="ms")
    n = index_array(f"{where}spike_neurons", spike_neurons) if np.ndim(spike_neurons) == 1 else None
    if t.ndim != 1 or n is None or t.shape != n.shape:
        raise ValueError(f"{where}spike_times and {where}spike_neurons must be 1-D arrays of one length "
                         f"(got shapes {t.shape} and {np.shape(spike_neurons)})")
    return t, n


def _columns(spike_neurons, neurons):
    """Column of each spike's neuron in ``neurons`` (-1: not asked for); nothing is sized by the
    largest index."""
    if neurons.size == 0 or spike_neurons.size == 0:
        return np.full(spike_neurons.size, -1, dtype=np.int64)
    order = np.argsort(neurons, kind="stable")
    ranked = neurons[order]
    pos = np.minimum(np.searchsorted(ranked, spike_neurons), ranked.size - 1)
    return np.where(ranked[pos] == spike_neurons, order[pos], -1)


def _windows(windows):
    w = real_array("windows", windows, bound=MAX_TIME_MS, unit="ms")
    if w.ndim == 1 and w.size == 2:
        w = w[None, :]
    if w.ndim != 2 or w.shape[1] != 2:
        raise ValueError(f"windows must be an array of (start, end] pairs, shape (windows, 2), ms "
                         f"(got shape {w.shape})")
    if np.any(w[:, 1] <= w[:, 0]):
        k = int(np.argmax(w[:, 1] <= w[:, 0]))
        raise ValueError(f"windows must have start < end in each window (window {k} is "
                         f"({w[k, 0]:g}, {w[k, 1]:g}) ms)")
    return w


def _check_size(shape: tuple, names: tuple, what: str):
    """Refuse, before allocating, an int64/float64 result of ``shape`` larger than the memory available."""
    need = 8.0 * math.prod(shape)
    limit = memory_limit()
    if need > limit:
        raise MemoryEstimateError(
            f"{names[0]} too large for memory ({', '.join(names)} size it): {what} of shape {shape} "
            f"would need about {need / 2**30:.3g} GiB, more than the {limit / 2**30:.3g} GiB available. "
            f"Lower "
            f"{' or '.join(names)}.", need, limit, names, [(what, need, names)])


def _trial_spikes(trial, k: int):
    """``(spike_times, spike_neurons)`` of a pair or of an object with those attributes (a Trial)."""
    where = f"trials[{k}]: "
    if hasattr(trial, "spike_times") and hasattr(trial, "spike_neurons"):
        return _spikes(trial.spike_times, trial.spike_neurons, where)
    if isinstance(trial, (str, bytes)):
        raise TypeError(f"trials[{k}] must be a (spike_times, spike_neurons) pair or have attributes "
                        f"spike_times and spike_neurons (got {type(trial).__name__})")
    try:
        times, neurons = trial
    except (TypeError, ValueError):
        raise TypeError(f"trials[{k}]: each trial must be a (spike_times, spike_neurons) pair or have "
                        f"attributes spike_times and spike_neurons (got {type(trial).__name__})") from None
    return _spikes(times, neurons, where)


def _trials(trials):
    if trials is None or isinstance(trials, (str, bytes)) or not hasattr(trials, "__iter__"):
        raise TypeError(f"trials must be a sequence of trials (got {type(trials).__name__})")
    trials = list(trials)
    if not trials:
        raise ValueError("trials must hold at least one trial")
    return [_trial_spikes(tr, k) for k, tr in enumerate(trials)]


def _ddof(ddof):
    return check_int("ddof", ddof, lo=0, what="delta degrees of freedom")


# ---------------------------------------------------------------------------------------------- counts

def tile_windows(start: float, stop: float, width: float) -> np.ndarray:
    r"""Consecutive windows ``(start + k w, start + (k + 1) w]`` of width ``w`` inside ``(start, stop]``.

    The PSTH's rule (:meth:`tutorial_lib.balanced.Trial.psth`): whole windows
    only, a remainder shorter than ``width`` at the end is dropped.

    Parameters
    ----------
    start, stop : float
        The span, ms, ``start < stop``, each within ``+-1e15`` (:data:`MAX_TIME_MS`).
    width : float
        Window width, ms, ``(stop - start) / 1e7 <= width <= stop - start``: at most
        :data:`MAX_WINDOWS` (1e7) windows.

    Returns
    -------
    ndarray, shape (n, 2)
        ``(start, end]`` of each window, ms, with ``n = floor((stop - start) / width)``
        (a ratio within a few ulps below a whole number counts as it); the end
        of each window is the start of the next, the same float.

    Raises
    ------
    ValueError
        Values that are not finite real numbers or beyond ``+-1e15``, ``start >= stop``,
        ``width`` outside ``(0, stop - start]``, or more than ``MAX_WINDOWS`` windows.

    Examples
    --------
    >>> tile_windows(1500, 3000, 500)
    array([[1500., 2000.],
           [2000., 2500.],
           [2500., 3000.]])
    """
    start = check_real("start", start, lo=-MAX_TIME_MS, hi=MAX_TIME_MS, what="ms")
    stop = check_real("stop", stop, lo=-MAX_TIME_MS, hi=MAX_TIME_MS, what="ms")
    if not start < stop:
        raise ValueError(f"stop must be > start (got start {start:g}, stop {stop:g} ms)")
    span = stop - start
    width = check_real("width", width, lo=0.0, lo_open=True, what="window width, ms")
    slack = 1.0 + 4 * np.finfo(np.float64).eps  # a ratio a few ulps below a whole number counts as it
    if width > span * slack:
        raise ValueError(f"width must be in (0, stop - start] = (0, {span:g}] ms (got {width:g})")
    ratio = span / width
    if ratio >= MAX_WINDOWS + 1:
        raise ValueError(f"width must be >= (stop - start) / {MAX_WINDOWS:g} = {span / MAX_WINDOWS:.3g} "
                         f"ms: the number of windows, floor((stop - start) / width) = {ratio:.3g}, would "
                         f"exceed "
                         f"MAX_WINDOWS = {MAX_WINDOWS:g} (got {width:g} ms)")
    n = max(1, int(math.floor(ratio * slack)))
    edges = start + width * np.arange(n + 1)
    return np.stack([edges[:-1], edges[1:]], axis=1)


def spike_counts(spike_times, spike_neurons, neurons, windows) -> np.ndarray:
    r"""Spike counts of ``neurons`` in each window of one trial.

    .. math::

        c_{wj} = \#\{s : n_s = \mathrm{neurons}_j,\ a_w < t_s \le b_w\}

    Windows are closed on the right, ``(a, b]``, the rule of
    :meth:`tutorial_lib.balanced.Trial.psth` (the engine labels a spike of the
    step ``(t - dt, t]`` with ``t``); a spike at most 8 ulps above an edge
    counts as on it (rounding, never a real distance). Windows may overlap or
    leave gaps. Nothing is sized by the largest neuron index (ids like 10**12
    are fine).

    Parameters
    ----------
    spike_times : array_like, shape (spikes,)
        Spike times, ms (any order), finite, within ``+-1e15``.
    spike_neurons : array_like of int, shape (spikes,)
        The neuron of each spike, in ``[0, 2**63 - 1]``.
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
        Arrays of wrong shapes, times that are NaN, infinite or beyond ``+-1e15``
        (the message says how many), indices outside ``[0, 2**63 - 1]`` or repeated,
        a window with ``start >= end``.
    TypeError
        Neuron indices that are not integers (floats, bools, strings), times that
        are not numbers.
    tutorial_lib.checks.MemoryEstimateError
        A result larger than the memory available (a ValueError).

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
    idx = index_array("neurons", neurons, unique=True)
    w = _windows(windows)
    _check_size((w.shape[0], idx.size), ("windows", "neurons"), "the counts")
    return _counts(t, n, idx, w)


def _counts(t, n, idx, w):
    """:func:`spike_counts` of checked arrays: :func:`tutorial_lib.core.stats.spike_counts`, with a loop
    over the shorter axis instead of one scan of the spikes per neuron."""
    counts = np.zeros((w.shape[0], idx.size), dtype=np.int64)
    if idx.size == 0 or t.size == 0:
        return counts
    col = _columns(n, idx)
    keep = col >= 0
    t, col = t[keep], col[keep]
    # a < t <= b, a spike at most EDGE_ULPS ulps above an edge being on it
    lo_edge, hi_edge = core_stats.on_edge(w[:, 0]), core_stats.on_edge(w[:, 1])
    if w.shape[0] <= idx.size:  # a loop over the shorter axis
        order = np.argsort(t, kind="stable")
        t, col = t[order], col[order]
        lo = np.searchsorted(t, lo_edge, side="right")
        hi = np.searchsorted(t, hi_edge, side="right")
        for k in range(w.shape[0]):
            counts[k] = np.bincount(col[lo[k]:hi[k]], minlength=idx.size)
        return counts
    order = np.lexsort((t, col))
    t, col = t[order], col[order]
    bounds = np.searchsorted(col, np.arange(idx.size + 1))
    for j in range(idx.size):
        tj = t[bounds[j]:bounds[j + 1]]
        if tj.size:
            counts[:, j] = (np.searchsorted(tj, hi_edge, side="right")
                            - np.searchsorted(tj, lo_edge, side="right"))
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
        No trials, or the errors of :func:`spike_counts` (naming the trial, ``trials[k]``).
    TypeError
        ``trials`` not a sequence, a trial that is neither a pair nor has spike attributes.
    tutorial_lib.checks.MemoryEstimateError
        A result larger than the memory available (a ValueError).

    Examples
    --------
    >>> trial_counts([([5.0], [0]), ([5.0, 6.0], [0, 0])], [0], [(0, 10)])[:, 0, 0]
    array([1, 2])
    """
    spikes = _trials(trials)
    idx = index_array("neurons", neurons, unique=True)
    w = _windows(windows)
    _check_size((len(spikes), w.shape[0], idx.size), ("windows", "neurons", "trials"), "the counts")
    out = np.empty((len(spikes), w.shape[0], idx.size), dtype=np.int64)
    for k, (t, n) in enumerate(spikes):
        out[k] = _counts(t, n, idx, w)
    return out


# ---------------------------------------------------------------------------------------------- variability

def fano_factor(counts, axis: int = 0, ddof: int = 1) -> np.ndarray:
    r"""Fano factor of spike counts: their variance over trials divided by their mean.

    :func:`tutorial_lib.core.stats.fano_factor` (the formula) over the ``n`` trials along ``axis``. With ``ddof=1`` (the default) the
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
        Spike counts in ``[0, 1e15]`` (:data:`MAX_VALUE`), trials along ``axis``.
    axis : int
        The trial axis, in ``[-counts.ndim, counts.ndim - 1]``. Default 0.
    ddof : int
        Delta degrees of freedom of the variance (>= 0). Default 1.

    Returns
    -------
    ndarray of float64
        ``counts``' shape without ``axis`` (e.g. (windows, neurons)).

    Raises
    ------
    ValueError
        Fewer than ``ddof + 1`` trials, counts that are negative, NaN, infinite or above
        ``1e15``, an ``axis`` or ``ddof`` that is not a whole number in range.
    TypeError
        Counts that are not numbers (strings, None, bools).

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
    c = real_array("counts", counts, bound=MAX_VALUE, unit="spike counts")
    ddof = _ddof(ddof)
    if c.ndim == 0:
        raise ValueError("counts must have a trial axis (got a scalar)")
    axis = check_int("axis", axis, lo=-c.ndim, hi=c.ndim - 1,
                     what=f"the trial axis of counts of shape {c.shape}")
    if c.shape[axis] < ddof + 1:
        raise ValueError(f"ddof must be <= the number of trials - 1 (fano_factor needs at least ddof + 1 = "
                         f"{ddof + 1} trials along axis {axis}; got {c.shape[axis]})")
    if np.any(c < 0):
        raise ValueError(f"counts must be >= 0 ({int((c < 0).sum())} are negative)")
    return core_stats.fano_factor(c, axis=axis, ddof=ddof)


def _isis(t, col, n_cols, t_range):
    """List (per column) of the interspike intervals of one trial's spikes: the result of
    :func:`tutorial_lib.core.stats.interspike_intervals` from one sort instead of one scan per neuron."""
    if t_range is not None:
        a, b = core_stats.on_edge(np.array(t_range))
        keep = (t > a) & (t <= b)
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
        pair = tuple(t_range)
        if any(isinstance(x, (bool, np.bool_, str, bytes)) for x in pair):
            raise TypeError("not a number")
        a, b = (float(x) for x in pair)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"t_range must be None or a (start, end] pair of numbers, ms "
                         f"(got {t_range!r:.80})") from None
    if not (math.isfinite(a) and math.isfinite(b) and a < b):
        raise ValueError(f"t_range must be finite with start < end (got {t_range!r:.80} ms)")
    if max(abs(a), abs(b)) > MAX_TIME_MS:
        raise ValueError(f"t_range must be within +-{MAX_TIME_MS:g} ms (got {t_range!r:.80})")
    return a, b


def _min_spikes(min_spikes):
    return check_int("min_spikes", min_spikes, lo=2, what="fewest spikes for a CV")


def _cv(isis, min_intervals, ddof):
    """:func:`tutorial_lib.core.stats.isi_cv` of each neuron's intervals; NaN below ``min_intervals``."""
    return np.array([core_stats.isi_cv(d, ddof) if d.size >= min_intervals else np.nan for d in isis],
                    dtype=np.float64)


def isi_cv(spike_times, spike_neurons, neurons, t_range=None, min_spikes: int = 3,
           ddof: int = 1) -> np.ndarray:
    r"""Coefficient of variation of the interspike intervals (ISIs) of each neuron in one trial.

    :func:`tutorial_lib.core.stats.isi_cv` (the formula) over the ``m`` ISIs between a neuron's consecutive spikes in ``t_range``
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
        ``(start, end]`` in ms, within ``+-1e15``; None: all spikes.
    min_spikes : int
        Fewest spikes for a CV (a whole number >= 2, default 3: at least two intervals).
    ddof : int
        Delta degrees of freedom of the standard deviation (>= 0). Default 1.

    Returns
    -------
    ndarray of float64, shape (neurons,)

    Raises
    ------
    ValueError
        The errors of :func:`spike_counts`, a bad ``t_range``, ``min_spikes`` or ``ddof`` not a
        whole number, ``min_spikes < 2`` or ``ddof < 0``.
    TypeError
        As :func:`spike_counts`.

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
    idx = index_array("neurons", neurons, unique=True)
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
    idx = index_array("neurons", neurons, unique=True)
    rng_ = _t_range(t_range)
    min_spikes = _min_spikes(min_spikes)
    ddof = _ddof(ddof)
    pooled = [[] for _ in range(idx.size)]
    for t, n in spikes:
        for j, d in enumerate(_isis(t, _columns(n, idx), idx.size, rng_)):
            pooled[j].append(d)
    return _cv([np.concatenate(p) if p else np.zeros(0) for p in pooled], min_spikes - 1, ddof)
