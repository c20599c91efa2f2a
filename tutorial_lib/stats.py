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
  step ``(t - dt, t]`` with ``t``. A spike time at most 8 units in the last
  place (ulps, a relative ``1.8e-15``) above an edge counts as on it, so the
  rounding of ``k dt`` does not move a spike across an edge, and no real
  distance is ever ignored, whatever the window's width;
* inputs are refused by name, before anything is allocated: times and
  counts that are NaN, infinite or beyond ``1e15`` (:data:`MAX_TIME_MS`,
  :data:`MAX_VALUE`), neuron indices that are not integers in
  ``[0, 2**63 - 1]`` (bools, floats, unsigned values that would wrap), bad
  scalar parameters, and results larger than the memory available;
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
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np

from .checks import MemoryEstimateError, check_int, check_real, memory_limit

__all__ = ["tile_windows", "spike_counts", "trial_counts", "fano_factor", "isi_cv", "isi_cv_pooled", "dprime",
           "SelectivityTest", "selectivity_test", "fraction_selective", "split_half_agreement"]

#: a spike time within this many units in the last place (ulps) of an edge above it counts as on it: the
#: rounding of ``k dt`` (a few ulps), never a real distance (8 ulps of 1000 ms are 1e-12 ms)
_EDGE_ULPS = 8
#: the largest ``|time|`` accepted, ms: 1e15 ms is 31 700 years, beyond any recording; larger values are
#: refused by name (they would overflow to infinity in differences and sums)
MAX_TIME_MS = 1e15
#: the largest ``|value|`` of a count or rate accepted (no spike count or rate comes near; squares and
#: sums of larger values overflow)
MAX_VALUE = 1e15
#: the most windows :func:`tile_windows` makes (160 MB of edges; each costs a row of counts per trial)
MAX_WINDOWS = 10**7
_INDEX_MAX = 2**63 - 1  # neuron indices are int64


# ---------------------------------------------------------------------------------------------- input checks

def _real_array(name: str, x, bound: float, unit: str) -> np.ndarray:
    """``x`` as a float64 array, or a named error: numbers only (no bools, strings, None), all finite and
    within ``+-bound`` (the message says how many are not)."""
    try:
        a = np.asarray(x)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(f"{name} must be an array of numbers ({unit}; {exc})") from None
    if a.dtype.kind == "O":
        bad = [v for v in a.ravel() if isinstance(v, (bool, np.bool_)) or not isinstance(v, Real)]
        if bad:
            raise TypeError(f"{name} must hold numbers ({unit}; got {type(bad[0]).__name__}: {bad[0]!r:.40})")
        try:
            a = a.astype(np.float64)
        except OverflowError:
            raise ValueError(f"{name} must be within +-{bound:g} {unit} (got a number too large for a "
                             "float)") from None
    if a.dtype.kind == "b":
        raise TypeError(f"{name} must hold numbers ({unit}), not booleans")
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers ({unit}; got dtype {a.dtype})")
    a = a.astype(np.float64, copy=False)
    finite = np.isfinite(a)
    if not finite.all():
        k = int((~finite).sum())
        raise ValueError(f"{name} must be finite ({unit}): {k} of {a.size} are NaN or infinite")
    far = np.abs(a) > bound
    if far.any():
        raise ValueError(f"{name} must be within +-{bound:g} {unit}: {int(far.sum())} of {a.size} are beyond "
                         f"(e.g. {a[far].ravel()[0]:g})")
    return a


def _index_array(name: str, x) -> np.ndarray:
    """``x`` as a 1-D int64 array of indices in ``[0, 2**63 - 1]``, checked before the conversion (an
    unsigned 2**64 - 1 does not wrap to -1, a huge Python int does not overflow), or a named error."""
    try:
        a = np.asarray(x)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(f"{name} must be a 1-D array of integer indices ({exc})") from None
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of integer indices (got shape {a.shape})")
    if a.size == 0:
        return np.zeros(0, dtype=np.int64)
    kind = a.dtype.kind
    if kind == "O":
        bad = [v for v in a if isinstance(v, (bool, np.bool_)) or not isinstance(v, Integral)]
        if bad:
            raise TypeError(f"{name} must hold integer indices (got {type(bad[0]).__name__}: {bad[0]!r:.40})")
        lo, hi = min(int(v) for v in a), max(int(v) for v in a)
    elif kind in "iu":
        lo, hi = int(a.min()), int(a.max())  # exact: Python ints of the array's own values
    elif kind == "b":
        raise TypeError(f"{name} must hold integer indices, not booleans")
    else:
        raise TypeError(f"{name} must hold integer indices (got dtype {a.dtype})")
    if lo < 0 or hi > _INDEX_MAX:
        raise ValueError(f"{name} must be in [0, 2**63 - 1] (got {lo if lo < 0 else hi})")
    return np.array([int(v) for v in a], dtype=np.int64) if kind == "O" else a.astype(np.int64)


def _spikes(spike_times, spike_neurons, where: str = ""):
    t = _real_array(f"{where}spike_times", spike_times, MAX_TIME_MS, "ms")
    n = _index_array(f"{where}spike_neurons", spike_neurons) if np.ndim(spike_neurons) == 1 else None
    if t.ndim != 1 or n is None or t.shape != n.shape:
        raise ValueError(f"{where}spike_times and {where}spike_neurons must be 1-D arrays of one length "
                         f"(got shapes {t.shape} and {np.shape(spike_neurons)})")
    return t, n


def _neurons(neurons):
    idx = _index_array("neurons", neurons)
    if np.unique(idx).size != idx.size:
        raise ValueError("neurons must not repeat an index")
    return idx


def _columns(spike_neurons, neurons):
    """Column of each spike's neuron in ``neurons`` (-1: not asked for); nothing is sized by the
    largest index."""
    if neurons.size == 0 or spike_neurons.size == 0:
        return np.full(spike_neurons.size, -1, dtype=np.int64)
    order = np.argsort(neurons, kind="stable")
    ranked = neurons[order]
    pos = np.minimum(np.searchsorted(ranked, spike_neurons), ranked.size - 1)
    return np.where(ranked[pos] == spike_neurons, order[pos], -1)


def _above(edges):
    """The edges moved up by ``_EDGE_ULPS`` ulps: spikes at most that far above an edge count as on it."""
    return edges + _EDGE_ULPS * np.spacing(np.abs(edges))


def _windows(windows):
    w = _real_array("windows", windows, MAX_TIME_MS, "ms")
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
    idx = _neurons(neurons)
    w = _windows(windows)
    _check_size((w.shape[0], idx.size), ("windows", "neurons"), "the counts")
    return _counts(t, n, idx, w)


def _counts(t, n, idx, w):
    """:func:`spike_counts` of checked arrays."""
    counts = np.zeros((w.shape[0], idx.size), dtype=np.int64)
    if idx.size == 0 or t.size == 0:
        return counts
    col = _columns(n, idx)
    keep = col >= 0
    t, col = t[keep], col[keep]
    # a < t <= b, a spike at most _EDGE_ULPS above an edge being on it
    lo_edge, hi_edge = _above(w[:, 0]), _above(w[:, 1])
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
    idx = _neurons(neurons)
    w = _windows(windows)
    _check_size((len(spikes), w.shape[0], idx.size), ("windows", "neurons", "trials"), "the counts")
    out = np.empty((len(spikes), w.shape[0], idx.size), dtype=np.int64)
    for k, (t, n) in enumerate(spikes):
        out[k] = _counts(t, n, idx, w)
    return out


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
    c = _real_array("counts", counts, MAX_VALUE, "spike counts")
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
    mean = c.mean(axis=axis)
    var = c.var(axis=axis, ddof=ddof)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mean > 0, var / np.where(mean > 0, mean, 1.0), np.nan)


def _isis(t, col, n_cols, t_range):
    """List (per column) of the interspike intervals of one trial's spikes."""
    if t_range is not None:
        a, b = _above(np.array(t_range))
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
    a = _real_array("a", a, MAX_VALUE, "one value per trial and neuron")
    b = _real_array("b", b, MAX_VALUE, "one value per trial and neuron")
    if a.ndim == 1:
        a = a[:, None]
    if b.ndim == 1:
        b = b[:, None]
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must be (trials, neurons) arrays with the same neurons "
                         f"(got shapes {a.shape} and {b.shape})")
    if min(a.shape[0], b.shape[0]) < least:
        raise ValueError(f"a and b must have at least {least} trials each (got {a.shape[0]} and "
                         f"{b.shape[0]})")
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
        One value per trial and neuron (spike counts or rates in a window),
        finite, within ``+-1e15`` (:data:`MAX_VALUE`); 1-D arrays count as one neuron.
    ddof : int
        Delta degrees of freedom of the variances (a whole number >= 0). Default 1.

    Returns
    -------
    ndarray of float64, shape (neurons,)

    Raises
    ------
    ValueError
        Arrays of different neurons, values that are NaN, infinite or beyond ``+-1e15``,
        fewer than ``ddof + 1`` trials, a bad ``ddof``.
    TypeError
        Values that are not numbers (strings, None, bools).

    References
    ----------
    Green DM, Swets JA (1966) Signal Detection Theory and Psychophysics. Wiley.

    Examples
    --------
    >>> dprime([[1, 0], [3, 0]], [[0, 0], [2, 0]])
    array([0.70710678,        nan])
    """
    ddof = _ddof(ddof)
    a, b = _conditions(a, b)
    if min(a.shape[0], b.shape[0]) < ddof + 1:
        raise ValueError(f"ddof must be <= the number of trials - 1 (dprime needs at least ddof + 1 = {ddof + 1} "
                         f"trials in a and in b; got {a.shape[0]} and {b.shape[0]})")
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
        As :func:`dprime`, or ``alpha`` not a real number in (0, 1).
    TypeError
        As :func:`dprime`.

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

    alpha = check_real("alpha", alpha, lo=0.0, hi=1.0, lo_open=True, hi_open=True, what="significance level")
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
        Values that are not booleans, or not a 1-D array.

    Examples
    --------
    >>> fraction_selective([True, False, False, False])
    0.25
    """
    if isinstance(selective, SelectivityTest):
        selective = selective.selective
    s = np.asarray(selective)
    if s.ndim != 1:
        raise ValueError(f"selective must be a 1-D array of booleans, one per neuron (got shape {s.shape})")
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
        The random stream (an int >= 0 seeds a new one): same seed, same result.
    n_repeats : int
        Random splits to average, a whole number in ``[1, 1e5]``. Default 100.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        As :func:`dprime`, fewer than 4 trials in a condition, ``n_repeats`` outside
        ``[1, 1e5]``, a negative seed.
    TypeError
        ``rng`` neither a Generator nor an int; as :func:`dprime`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> shift = rng.normal(0, 2, 100)                     # each neuron's own preference
    >>> a = rng.normal(shift, 1, (40, 100)); b = rng.normal(0, 1, (40, 100))
    >>> bool(split_half_agreement(a, b, rng=1) > 0.9)
    True
    """
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        if int(rng) < 0:
            raise ValueError(f"rng must be a numpy.random.Generator or an int seed >= 0 (got {int(rng)})")
        rng = np.random.default_rng(int(rng))
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or an int seed (got {type(rng).__name__})")
    n_repeats = check_int("n_repeats", n_repeats, lo=1, hi=100_000, what="random splits")
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
