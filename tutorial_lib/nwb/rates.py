r"""Firing rates from spike times: the trial-averaged rate of one unit around events, by a kernel.

Spike and event times in s (as NWB files store them), sample times in ms
relative to the event, rates in Hz. The kernels and the reason for the
default (a 300 ms boxcar, as the ALM files of the original tutorial) are in
:mod:`tutorial_lib.nwb`'s docstring.

    >>> import numpy as np
    >>> spikes = np.arange(0.0, 10.0, 0.1)            # a unit firing every 100 ms: 10 Hz
    >>> trial_averaged_rate(spikes, [2.02, 5.02], [-200.0, 0.0, 200.0])  # Hz, 300 ms boxcar
    array([10., 10., 10.])
"""

from __future__ import annotations

import math

import numpy as np

from ..checks import MemoryEstimateError, memory_limit, real_array

__all__ = ["trial_averaged_rate", "first_event_in_trials", "check_kernel", "KERNELS", "GAUSS_CUT", "MAX_TIME_S",
           "SMOOTH_MS_RANGE", "MAX_KERNEL_PAIRS"]

#: the kernels of :func:`trial_averaged_rate`; ``smooth_ms`` is the boxcar's full width or the Gaussian's sd
KERNELS = ("boxcar", "gaussian")
#: the Gaussian kernel is cut at this many standard deviations (the mass beyond: 6e-7)
GAUSS_CUT = 5.0
#: the largest ``|time|`` accepted in s (spikes, events, trial bounds): 1e12 s is 31 700 years
MAX_TIME_S = 1e12
#: the kernel widths accepted, ms: from a microsecond (narrower ones overflow the rate) to 100 s
SMOOTH_MS_RANGE = (1e-3, 1e5)
#: the most kernel evaluations (spikes within reach x samples) of one Gaussian rate: beyond, minutes of work
MAX_KERNEL_PAIRS = 1e10



def trial_averaged_rate(spike_times, event_times, t, smoothing: str = "boxcar",
                        smooth_ms: float = 300.0) -> np.ndarray:
    r"""Trial-averaged firing rate (Hz) of one unit at times ``t`` (ms) around events.

    .. math:: r(t) = \frac{1}{n} \sum_{j=1}^{n} \sum_s k(e_j + t - s)

    over the ``n`` events ``e_j`` and all spikes ``s``; ``k`` is the boxcar
    ``1 / w`` on ``[-w/2, w/2)`` (``w = smooth_ms``; the rate at ``t`` counts the
    spikes in ``(t - w/2, t + w/2]``, the library's ``(a, b]`` rule) or the
    Gaussian of standard deviation ``smooth_ms``, cut at ``GAUSS_CUT`` sd.

    Parameters
    ----------
    spike_times : array_like, shape (spikes,)
        Spike times in s (any order), finite, within ``+-1e12`` s (:data:`MAX_TIME_S`).
        NaN or infinite times are refused (the message says how many): drop
        them first if that is what you mean (:func:`load_nwb` does so, with a warning).
    event_times : array_like, shape (trials,)
        The aligning event of each trial, s; at least one, all finite, within ``+-1e12`` s.
    t : array_like, shape (samples,)
        Times relative to the event, ms, finite, within ``+-1e15`` ms.
    smoothing, smooth_ms : the kernel (:data:`KERNELS`) and its width in ms, in
        ``[1e-3, 1e5]`` (:data:`SMOOTH_MS_RANGE`).

    Returns
    -------
    ndarray, shape (samples,), Hz.

    Raises
    ------
    ValueError
        An unknown kernel, a width outside ``[1e-3, 1e5]`` ms, no events, times that are
        NaN, infinite or beyond their bounds, arrays of the wrong shape.
    TypeError
        Times that are not numbers (strings, None, bools), a kernel name that is not a string.
    tutorial_lib.checks.MemoryEstimateError
        ``event_times`` x ``t`` larger than the memory available (a ValueError).

    Examples
    --------
    >>> trial_averaged_rate([0.9, 1.0, 1.1], [1.0], [0.0], smooth_ms=300.0)   # 3 spikes in 0.3 s
    array([10.])
    """
    smoothing, smooth_ms = check_kernel(smoothing, smooth_ms)
    spikes = np.sort(_times("spike_times", spike_times, "s").ravel())
    events = _times("event_times", event_times, "s", hint="; leave out the trials without an event").ravel()
    if events.size == 0:
        raise ValueError("event_times must hold at least one event (trial_averaged_rate averages over them)")
    t = _times("t", t, "ms relative to the event", bound=MAX_TIME_S * 1000.0)
    if t.ndim != 1:
        raise ValueError(f"t must be a 1-D array of times, ms relative to the event (got shape {t.shape})")
    w = smooth_ms / 1000.0  # s
    return _gaussian_rate(spikes, events, t, w) if smoothing == "gaussian" else _boxcar_rate(spikes, events, t, w)


def _gaussian_rate(spikes, events, t, w):
    """The Gaussian rate of :func:`trial_averaged_rate` (sorted ``spikes`` and ``events`` in s, ``t`` in
    ms, sd ``w`` in s): trial by trial, spikes in blocks, so memory stays bounded; the work is checked
    first."""
    rel = t / 1000.0
    lo = np.searchsorted(spikes, events + rel.min(initial=0.0) - GAUSS_CUT * w, side="left")
    hi = np.searchsorted(spikes, events + rel.max(initial=0.0) + GAUSS_CUT * w, side="right")
    pairs = float((hi - lo).sum()) * t.size
    if pairs > MAX_KERNEL_PAIRS:
        raise ValueError(f"smooth_ms, t and event_times must keep the Gaussian kernel's evaluations "
                         f"(spikes within reach x samples, summed over events) at most {MAX_KERNEL_PAIRS:g} "
                         f"(got {pairs:.3g}: many minutes): use fewer samples t, fewer events, a narrower "
                         "smooth_ms, or smoothing='boxcar' (the same cost for any width)")
    total = np.zeros(t.size)
    block = max(1, 2**21 // max(t.size, 1))  # spikes per block: d below holds at most 2**21 values
    with np.errstate(over="ignore", under="ignore"):  # far spikes give exp(-huge) = 0 exactly
        for j in range(events.size):
            centre = events[j] + rel
            for k in range(lo[j], hi[j], block):
                d = (centre[None, :] - spikes[k:min(k + block, hi[j]), None]) / w
                total += np.where(np.abs(d) <= GAUSS_CUT, np.exp(-0.5 * d * d), 0.0).sum(axis=0)
    return total / (events.size * w * math.sqrt(2.0 * math.pi))


def _boxcar_rate(spikes, events, t, w):
    """The boxcar rate of :func:`trial_averaged_rate` (full width ``w`` in s): spikes in
    ``(centre - w/2, centre + w/2]`` counted by two searches, after a memory check."""
    need, limit = 32.0 * events.size * t.size, memory_limit()  # the centres, two searches, their difference
    if need > limit:
        raise MemoryEstimateError(
            f"event_times too large for memory (event_times, t size it): {events.size} events x {t.size} "
            f"samples would need about {need / 2**30:.3g} GiB, more than the {limit / 2**30:.3g} GiB "
            "available. Lower event_times or t.", need, limit, ("event_times", "t"),
            [("the boxcar's centres", need, ("event_times", "t"))])
    centres = events[:, None] + t[None, :] / 1000.0  # (trials, samples), s
    counts = (np.searchsorted(spikes, centres + w / 2, side="right")
              - np.searchsorted(spikes, centres - w / 2, side="right"))
    return counts.sum(axis=0) / (events.size * w)


def _times(name: str, x, unit: str, *, bound: float = MAX_TIME_S, hint: str = "") -> np.ndarray:
    """``x`` as a float64 array of times: :func:`tutorial_lib.checks.real_array` worded for times."""
    return real_array(name, x, bound=bound, unit=unit, noun="times", hint=hint)


def check_kernel(smoothing, smooth_ms):
    """``(smoothing, smooth_ms)`` checked: a name of :data:`KERNELS` and a width in SMOOTH_MS_RANGE, else a
    ValueError naming the argument (also used by :func:`tutorial_lib.nwb.load_nwb`)."""
    if not isinstance(smoothing, str) or smoothing not in KERNELS:
        raise ValueError(f"smoothing must be one of {KERNELS} (got {smoothing!r:.80})")
    lo, hi = SMOOTH_MS_RANGE  # the message's "1e5" is hi
    if not _positive(smooth_ms) or not lo <= smooth_ms <= hi:
        raise ValueError(f"smooth_ms must be a number in (0, 1e5] and >= {lo:g} (ms: the boxcar's full width "
                         f"or the Gaussian's sd; got {smooth_ms!r:.80})")
    return smoothing, float(smooth_ms)


def first_event_in_trials(start_times, stop_times, event_times) -> np.ndarray:
    """For each trial, the first of ``event_times`` in ``[start, stop)`` (s); NaN where there is none.

    For files whose trials table has no column for the event (e.g. the go cue
    of dandiset 000060, stored among the acquisition's events): pass the
    result as ``load_nwb(..., align_to=...)``. Times in s, any order.

    >>> first_event_in_trials([0.0, 5.0, 10.0], [5.0, 10.0, 15.0], [7.5, 2.0, 3.0, 14.0])
    array([ 2. ,  7.5, 14. ])
    >>> first_event_in_trials([0.0], [1.0], [2.0])
    array([nan])

    All times must be finite numbers within ``+-1e12`` s (:data:`MAX_TIME_S`) and
    each ``stop >= start``; otherwise a ValueError (TypeError for values that are
    not numbers) names the argument and says how many values are wrong.
    """
    start = _times("start_times", start_times, "s").ravel()
    stop = _times("stop_times", stop_times, "s").ravel()
    if start.shape != stop.shape:
        raise ValueError(f"start_times and stop_times must have one entry per trial (got {start.size} "
                         f"and {stop.size})")
    if np.any(stop < start):
        k = int(np.argmax(stop < start))
        raise ValueError(f"stop_times must be >= start_times ({int((stop < start).sum())} trials end before "
                         f"they start, e.g. trial {k}: {start[k]:g} to {stop[k]:g} s)")
    ev = np.sort(_times("event_times", event_times, "s").ravel())
    k = np.searchsorted(ev, start, side="left")
    out = np.full(start.shape, np.nan)
    ok = k < ev.size
    first = ev[np.minimum(k, max(ev.size - 1, 0))] if ev.size else np.full(start.shape, np.nan)
    ok &= first < stop
    out[ok] = first[ok]
    return out


def _positive(x) -> bool:
    return (not isinstance(x, bool) and isinstance(x, (int, float, np.integer, np.floating))
            and math.isfinite(x) and x > 0)
