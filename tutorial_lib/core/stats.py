r"""Spike statistics, the plain formulas: counts in windows, Fano factor, ISI CV, d'.

Plain NumPy on arrays that are already valid (spike times in ms, integer neuron
indices, windows as ``(start, end]`` pairs): no argument checks here. The
validated functions a notebook calls, with their careful handling of hostile
input and memory, are :mod:`tutorial_lib.stats`; they call these formulas (the
counts through a faster form with the same result, tested in
``tests/test_core_stats.py``).

Conventions: windows are closed on the right, ``a < t <= b`` (the engine
labels a spike of the step ``(t - dt, t]`` with ``t``), a spike time at most
:data:`EDGE_ULPS` units in the last place above an edge counting as on it;
variances use ``ddof=1`` unless told; an undefined value is NaN, never 0.

Source: Dayan P, Abbott LF (2001) Theoretical Neuroscience, ch. 1 (MIT Press).
"""

from __future__ import annotations

import numpy as np

__all__ = ["EDGE_ULPS", "on_edge", "spike_counts", "fano_factor", "interspike_intervals", "isi_cv", "dprime", "score_correlation"]

#: a spike time within this many ulps above an edge counts as on it: the rounding of ``k dt``, never a
#: real distance (8 ulps of 1000 ms are 1e-12 ms)
EDGE_ULPS = 8


def on_edge(edges):
    r"""The edges moved up by :data:`EDGE_ULPS` ulps: a spike at most that far above an edge is on it.

    Parameters
    ----------
    edges : ndarray of float64, any shape, ms.

    Returns
    -------
    ndarray, the shape of ``edges``: :math:`e + 8\,\mathrm{ulp}(e)`.

    Examples
    --------
    >>> bool(on_edge(np.array([0.3]))[0] >= 0.1 + 0.2)   # 0.1 + 0.2 is 0.30000000000000004
    True
    """
    return edges + EDGE_ULPS * np.spacing(np.abs(edges))


def spike_counts(spike_times, spike_neurons, neurons, windows):
    r"""Spike counts of each neuron in each window ``(a, b]`` of one trial.

    .. math::

        c_{wj} = \#\{s : n_s = \mathrm{neurons}_j,\ a_w < t_s \le b_w\}

    Parameters
    ----------
    spike_times : ndarray of float, shape (spikes,), ms.
    spike_neurons : ndarray of int, shape (spikes,), the neuron of each spike.
    neurons : ndarray of int, shape (neurons,), the columns of the result (no repeats).
    windows : ndarray of float, shape (windows, 2), ``(start, end]`` pairs, ms.

    Returns
    -------
    ndarray of int64, shape (windows, neurons).

    Examples
    --------
    >>> spike_counts(np.array([10.0, 20.0, 20.0, 35.0]), np.array([0, 0, 1, 0]), np.array([0, 1]),
    ...              np.array([(0.0, 20.0), (20.0, 40.0)]))
    array([[2, 1],
           [1, 0]])
    """
    lo, hi = on_edge(windows[:, 0]), on_edge(windows[:, 1])
    counts = np.zeros((windows.shape[0], len(neurons)), dtype=np.int64)
    for j, neuron in enumerate(neurons):
        t = np.sort(spike_times[spike_neurons == neuron])
        counts[:, j] = np.searchsorted(t, hi, side="right") - np.searchsorted(t, lo, side="right")
    return counts


def fano_factor(counts, axis: int = 0, ddof: int = 1):
    r"""Fano factor: the variance of spike counts over trials divided by their mean.

    .. math::

        F = \frac{\frac{1}{n - \mathrm{ddof}} \sum_{i=1}^{n} (c_i - \bar c)^2}{\bar c},
        \qquad \bar c = \frac{1}{n} \sum_{i=1}^{n} c_i

    over the ``n`` trials along ``axis``. A Poisson process gives 1, a
    clock-like train identical in every trial 0; NaN where the mean is 0.

    Parameters
    ----------
    counts : ndarray, e.g. shape (trials, windows, neurons), counts >= 0.
    axis : int, the trial axis.
    ddof : int, delta degrees of freedom of the variance (``n > ddof``).

    Returns
    -------
    ndarray of float64, the shape of ``counts`` without ``axis``.

    References
    ----------
    Churchland MM et al. (2010) Stimulus onset quenches neural variability. Nat Neurosci 13:369,
    doi:10.1038/nn.2501.

    Examples
    --------
    >>> fano_factor(np.array([[2, 0, 1], [4, 0, 1], [6, 0, 1]]))   # 3 trials, 3 neurons
    array([ 1., nan,  0.])
    """
    mean = counts.mean(axis=axis)
    var = counts.var(axis=axis, ddof=ddof)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mean > 0, var / np.where(mean > 0, mean, 1.0), np.nan)


def interspike_intervals(spike_times, spike_neurons, neurons, t_range=None):
    r"""The interspike intervals :math:`\tau_k = t_{k+1} - t_k` of each neuron in one trial.

    Parameters
    ----------
    spike_times : ndarray of float, shape (spikes,), ms, any order.
    spike_neurons : ndarray of int, shape (spikes,).
    neurons : ndarray of int, shape (neurons,).
    t_range : (float, float) or None
        Only spikes in ``(start, end]`` (the window rule of :func:`spike_counts`); None: all.

    Returns
    -------
    list of ndarray, one per neuron: its intervals, ms, in time order.

    Examples
    --------
    >>> interspike_intervals(np.array([30.0, 10.0, 15.0, 5.0]), np.array([0, 0, 0, 1]), np.array([0, 1]))
    [array([ 5., 15.]), array([], dtype=float64)]
    """
    if t_range is not None:
        a, b = on_edge(np.array(t_range, dtype=np.float64))
        keep = (spike_times > a) & (spike_times <= b)
        spike_times, spike_neurons = spike_times[keep], spike_neurons[keep]
    return [np.diff(np.sort(spike_times[spike_neurons == n])) for n in neurons]


def isi_cv(intervals, ddof: int = 1) -> float:
    r"""Coefficient of variation of interspike intervals: their standard deviation over their mean.

    .. math::

        \mathrm{CV} = \frac{1}{\bar\tau}
                      \sqrt{\frac{1}{m - \mathrm{ddof}} \sum_{k=1}^{m} (\tau_k - \bar\tau)^2}

    over ``m`` intervals. A Poisson process gives 1, a regular train 0. NaN for
    ``m <= ddof`` intervals or a mean of 0.

    Parameters
    ----------
    intervals : ndarray of float, shape (m,), ms (:func:`interspike_intervals`).
    ddof : int, delta degrees of freedom of the standard deviation.

    Returns
    -------
    float

    References
    ----------
    Holt GR, Softky WR, Koch C, Douglas RJ (1996) Comparison of discharge variability in vitro and in
    vivo in cat visual cortex neurons. J Neurophysiol 75:1806, doi:10.1152/jn.1996.75.5.1806.

    Examples
    --------
    >>> isi_cv(np.array([1.0, 14.0]))
    1.2256517540566823
    """
    if intervals.size <= ddof:
        return float("nan")
    m = intervals.mean()
    return float(intervals.std(ddof=ddof) / m) if m > 0 else float("nan")


def dprime(a, b, ddof: int = 1):
    r"""Selectivity index d' of each neuron between two conditions.

    .. math::

        d' = \frac{\bar a - \bar b}{\sqrt{(s_a^2 + s_b^2) / 2}}

    with :math:`s^2` the sample variances over trials. NaN where both variances are 0.

    Parameters
    ----------
    a, b : ndarray, shape (trials_a, neurons) and (trials_b, neurons), more than ``ddof`` trials each.
    ddof : int, delta degrees of freedom of the variances.

    Returns
    -------
    ndarray of float64, shape (neurons,).

    References
    ----------
    Green DM, Swets JA (1966) Signal Detection Theory and Psychophysics. Wiley.

    Examples
    --------
    >>> dprime(np.array([[1, 0], [3, 0]]), np.array([[0, 0], [2, 0]]))
    array([0.70710678,        nan])
    """
    num = a.mean(axis=0) - b.mean(axis=0)
    pooled = 0.5 * (a.var(axis=0, ddof=ddof) + b.var(axis=0, ddof=ddof))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pooled > 0, num / np.sqrt(np.where(pooled > 0, pooled, 1.0)), np.nan)


def score_correlation(u, f):
    r"""The learning score: the Pearson correlation of each neuron's activity with its target.

    .. math::

        c_i = \frac{\sum_t (u_{ti} - \bar u_i)(f_{ti} - \bar f_i)}
                   {\sqrt{\sum_t (u_{ti} - \bar u_i)^2 \sum_t (f_{ti} - \bar f_i)^2}}

    ``u``, ``f``: arrays of shape (time, neurons), the activity (a rate, a total input or a PSTH) and
    the target in the same units. Returns ``c``, shape (neurons,); a column without variance scores
    0. The score of a part is the mean of ``c`` over the trained neurons. Source: the tutorial's
    score (Kim & Chow 2018, doi:10.7554/eLife.37124).

    >>> t = np.linspace(0.0, 1.0, 50)[:, None]
    >>> score_correlation(np.hstack([t, t, t]), np.hstack([2 * t + 1, -t, np.ones_like(t)]))
    array([ 1., -1.,  0.])
    """
    u = u - u.mean(axis=0)
    f = f - f.mean(axis=0)
    num = np.sum(u * f, axis=0)
    den = np.sqrt(np.sum(u * u, axis=0) * np.sum(f * f, axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return c
