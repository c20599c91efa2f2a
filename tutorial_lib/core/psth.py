r"""Rates in time, the plain formulas: moving average, window means, the PSTH of one trial and of many.

Plain NumPy on arrays that are already valid (no argument checks here; the
validated functions are in :mod:`tutorial_lib.analysis`, which calls these).
Times in ms, rates in Hz.

Source: Dayan P, Abbott LF (2001) Theoretical Neuroscience, ch. 1.2 (firing
rates, the PSTH) (MIT Press).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["moving_average", "window_average", "psth", "population_psth"]


def moving_average(x, half: int):
    r"""Centred moving average along axis 0 over ``2 half + 1`` samples, cut at the ends.

    .. math::

        \bar x_k = \frac{1}{|W_k|} \sum_{i \in W_k} x_i, \qquad
        W_k = \{i : |i - k| \le h,\ 0 \le i < n\}

    Near the ends the window holds fewer samples (never padded with zeros), so a
    constant stays constant. Computed from the cumulative sum ``c``:
    :math:`\sum_{i=a}^{b-1} x_i = c_b - c_a`.

    Parameters
    ----------
    x : ndarray of float, shape (n, ...), samples on a regular grid along axis 0.
    half : int, the half-width ``h`` in samples (>= 0; 0 returns a copy).

    Returns
    -------
    ndarray of float64, the shape of ``x``.

    Examples
    --------
    >>> moving_average(np.array([0.0, 0.0, 3.0, 0.0]), 1)
    array([0. , 1. , 1. , 1.5])
    """
    if half == 0 or x.shape[0] == 0:
        return x.copy()
    n = x.shape[0]
    half = min(half, n)  # a window reaching past both ends is cut there: any larger half is the same
    c = np.concatenate([np.zeros((1,) + x.shape[1:]), np.cumsum(x, axis=0)])  # axis 0, 1-D x too
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    return (c[hi] - c[lo]) / (hi - lo).reshape((-1,) + (1,) * (x.ndim - 1))


def window_average(t, x, centres, half_width: float, lo: float, hi: float):
    r"""Mean of the rows of ``x`` sampled at ``t`` in each window :math:`[c - h, c + h) \cap [lo, hi)`.

    .. math::

        \bar x(c) = \frac{1}{|S_c|} \sum_{k \in S_c} x_k, \qquad
        S_c = \{k : \max(c - h, lo) \le t_k < \min(c + h, hi)\}

    Part 3's score: the means around each learning time. A sample time within
    1e-9 ms below a bound counts as on it. Every window must hold a sample.

    Parameters
    ----------
    t : ndarray of float, shape (samples,), increasing, ms.
    x : ndarray, shape (samples,) or (samples, columns).
    centres : ndarray of float, shape (windows,), ms.
    half_width, lo, hi : float, ms (``h > 0``, ``lo < hi``).

    Returns
    -------
    ndarray of float64, shape (windows,) or (windows, columns).

    Examples
    --------
    >>> window_average(np.arange(10.0), np.arange(10.0), np.array([2.0, 9.0]), 1.0, 0.0, 9.5)
    array([1.5, 8.5])
    """
    a = np.searchsorted(t, np.maximum(centres - half_width, lo) - 1e-9, side="left")
    b = np.searchsorted(t, np.minimum(centres + half_width, hi) - 1e-9, side="left")
    c = np.concatenate([np.zeros((1,) + x.shape[1:]), np.cumsum(x, axis=0)])  # axis 0, 1-D x too
    return (c[b] - c[a]) / (b - a).reshape((-1,) + (1,) * (x.ndim - 1))


def psth(spike_times, spike_neurons, neurons, duration: float, bin_ms: float = 20.0,
         smooth_ms: float = 50.0):
    r"""``(t, rates)``: the firing rates (Hz) of ``neurons`` in one trial, binned then smoothed.

    .. math::

        r_j(k) = \frac{1000}{\Delta} \#\{s : n_s = j,\ k\Delta < t_s \le (k + 1)\Delta\},
        \qquad k = 0 .. \lfloor T / \Delta \rfloor - 1

    with bin width :math:`\Delta` = ``bin_ms`` (a spike within ``1e-9 bin_ms``
    above an edge counts as on it; a remainder shorter than a bin is dropped),
    then :func:`moving_average` over ``round(smooth_ms / bin_ms)`` bins on each side (Python's
    ``round``, halves to even: the defaults, 50 ms over 20 ms bins, give 2 bins, a window of +-40 ms;
    ``balanced.Trial.psth`` uses the same rule).

    Parameters
    ----------
    spike_times : ndarray of float, shape (spikes,), ms in ``(0, duration]``.
    spike_neurons : ndarray of int, shape (spikes,).
    neurons : ndarray of int, shape (neurons,), the columns.
    duration : float, the trial's length ``T``, ms.
    bin_ms, smooth_ms : float, bin width and the smoothing's half-width asked for, ms (rounded to bins).

    Returns
    -------
    t : ndarray, shape (bins,), the bin centres, ms.
    rates : ndarray, shape (bins, neurons), Hz.

    Examples
    --------
    >>> t, r = psth(np.array([5.0, 15.0, 25.0]), np.array([0, 0, 0]), np.array([0]), 40.0, 10.0, 0.0)
    >>> t, r[:, 0]
    (array([ 5., 15., 25., 35.]), array([100., 100., 100.,   0.]))
    """
    n = int(math.floor(duration / bin_ms + 1e-9))
    edges = bin_ms * np.arange(n + 1)
    counts = np.zeros((n, len(neurons)))
    for j, neuron in enumerate(neurons):
        b = np.searchsorted(edges, spike_times[spike_neurons == neuron] - 1e-9 * bin_ms, side="left") - 1
        counts[:, j] = np.bincount(b[(b >= 0) & (b < n)], minlength=n)
    half = min(smooth_ms / bin_ms, float(n))  # a window wider than the trial is the whole trial
    return 0.5 * (edges[:-1] + edges[1:]), moving_average(counts * (1000.0 / bin_ms), int(round(half)))


def population_psth(trials, neurons, duration: float, bin_ms: float = 20.0, smooth_ms: float = 50.0):
    r"""``(t, rates)``: the trial-averaged PSTH, :math:`\bar r_j(k) = \frac{1}{R} \sum_{r=1}^{R} r^{(r)}_j(k)`.

    Parameters
    ----------
    trials : sequence of ``(spike_times, spike_neurons)`` pairs, all of length ``duration`` ms.
    neurons, duration, bin_ms, smooth_ms : as :func:`psth`.

    Returns
    -------
    t : ndarray, shape (bins,), ms; rates : ndarray, shape (bins, neurons), Hz.

    Examples
    --------
    >>> trials = [(np.array([5.0]), np.array([0])), (np.array([15.0]), np.array([0]))]
    >>> population_psth(trials, np.array([0]), 20.0, 10.0, 0.0)[1][:, 0]
    array([50., 50.])
    """
    t, total = psth(*trials[0], neurons, duration, bin_ms, smooth_ms)
    for spike_times, spike_neurons in trials[1:]:
        total += psth(spike_times, spike_neurons, neurons, duration, bin_ms, smooth_ms)[1]
    return t, total / len(trials)
