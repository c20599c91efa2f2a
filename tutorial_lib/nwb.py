r"""Targets for Part 3 from your own recordings in an NWB file.

Part 3 trains a balanced network on trial-averaged firing rates of recorded
neurons in two conditions (:data:`tutorial_lib.data.CONDITIONS`: ``"right"`` and
``"left"``). :func:`load_nwb` builds those rates from an NWB 2.x file (Neurodata
Without Borders, read with pynwb) and returns an :class:`NWBData`, a subclass
of :class:`~tutorial_lib.data.ALMData`, so that the rest of Part 3
(``balanced.build_network(params, data=...)``, ``balanced.train(params, data=...)``,
the inverse transfer function, rate matching) runs unchanged.

What it reads from the file
---------------------------
* The **units** table (``nwbfile.units``, stored under ``/units``): one row per
  sorted unit, with its spike times in seconds (the ragged column
  ``spike_times``), optional per-unit columns (e.g. ``cell_type``, ``quality``)
  and, optionally, ``obs_intervals``: the time intervals (s) in which the unit
  was recorded. A unit counts for a trial only if the trial's event falls in
  one of its observation intervals (so a unit lost halfway through a session is
  averaged over the trials it was recorded in, not diluted by zeros).
* The **trials** table (``nwbfile.trials``, ``/intervals/trials``): one row per
  trial with ``start_time`` and ``stop_time`` (s) and any number of custom
  columns: the condition (e.g. the instructed lick direction), the outcome, and
  perhaps event times (e.g. the go cue, s).

DANDI dandiset 000060 (Finkelstein, Fontolan et al. 2021, ALM and vS1 during a
delayed-response task with S1 photostimulation), as far as public listings of
its files show (check your copy: ``nwbfile.trials.to_dataframe().columns``):
the trials table has ``start_time, stop_time, trial_instruction`` (``"left"``
/ ``"right"``), ``outcome`` (``"hit"``, ``"miss"``, ``"ignore"``), ``early_lick``
(``"early"`` / ``"no early"``), ``photostim_onset`` (s relative to the go cue,
``"N/A"`` without stimulation), ``photostim_power``, ``photostim_duration``,
``task``, ``task_protocol`` and ``trial_type_name``; the units table has
``spike_times``, ``obs_intervals``, ``cell_type``, ``quality``,
``spk_width_ms``, locations and waveforms. There is **no go-cue column** in its
trials table: the task events (sample, delay, go cue) are stored in
``/acquisition`` (a ``LabeledEvents`` object of the ndx-events extension).
Take the go-cue times from there and pass them as ``align_to=`` an array, one
per trial; :func:`first_event_in_trials` picks, for each trial, the first event
time inside it. The README shows the steps.

Rates
-----
For each unit and condition, the trial-averaged rate (Hz) on a 20 ms grid
(:data:`tutorial_lib.data.SAMPLE_MS`), by a kernel estimate on the spike times
themselves (no binning first): the default is a **boxcar of 300 ms**, the rate
at time ``t`` being the number of spikes in ``(t - 150, t + 150]`` ms per trial
divided by 0.3 s. That is what the ALM files of the original tutorial hold
("movingrate"): the first differences of their rates are uncorrelated except
at a lag of exactly 15 samples (300 ms), where the correlation is -0.4, the
signature of a 300 ms sliding window; and their values are multiples of
1 / (number of trials x 0.3 s). ``smoothing="gaussian"`` uses a Gaussian of
standard deviation ``smooth_ms`` instead. Spikes outside the window are used
where the kernel reaches them, so the ends of the window are not biased low.
The files were also limited to pyramidal neurons with a mean rate of at least
1 Hz ("Pyr1Hz"; their lowest mean rate is 1.004 Hz): hence ``min_rate=1.0``.

Getting started::

    >>> from tutorial_lib.nwb import load_nwb
    >>> data = load_nwb("session.nwb", condition_column="trial_instruction",
    ...                 conditions={"right": "right", "left": "left"},
    ...                 trial_filter={"outcome": "hit", "early_lick": "no early"},
    ...                 align_to="go_time", window=(-2000.0, 0.0),
    ...                 units_filter={"cell_type": "Pyr"}, min_rate=1.0)  # doctest: +SKIP
    >>> import numpy as np
    >>> from tutorial_lib.nwb import trial_averaged_rate
    >>> spikes = np.arange(0.0, 10.0, 0.1)            # a unit firing every 100 ms: 10 Hz
    >>> trial_averaged_rate(spikes, [2.02, 5.02], [-200.0, 0.0, 200.0])  # Hz, 300 ms boxcar
    array([10., 10., 10.])

pynwb is imported only when a file is read; without it, :func:`load_nwb` raises
ImportError saying how to install it (``pip install -e ".[nwb]"``).
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .checks import MemoryEstimateError, index_array, memory_limit, real_array
from .data import CONDITIONS, SAMPLE_MS, ALMData

__all__ = ["NWBData", "NWBColumnError", "NWBSelectionError", "load_nwb", "trial_averaged_rate",
           "first_event_in_trials", "KERNELS"]

#: the kernels of :func:`trial_averaged_rate`; ``smooth_ms`` is the boxcar's full width or the Gaussian's sd
KERNELS = ("boxcar", "gaussian")
#: the longest window (ms) load_nwb builds rates over: 5001 samples, 100 s around the event
MAX_WINDOW_MS = 1e5
#: the Gaussian kernel is cut at this many standard deviations (the mass beyond: 6e-7)
GAUSS_CUT = 5.0
#: the largest ``|time|`` accepted in s (spikes, events, trial bounds): 1e12 s is 31 700 years
MAX_TIME_S = 1e12
#: the kernel widths accepted, ms: from a microsecond (narrower ones overflow the rate) to 100 s
SMOOTH_MS_RANGE = (1e-3, 1e5)
#: the highest ``min_rate`` accepted, Hz (no unit fires faster)
MAX_RATE_HZ = 1e4
#: the most kernel evaluations (spikes within reach x samples) of one Gaussian rate: beyond, minutes of work
MAX_KERNEL_PAIRS = 1e10


class NWBColumnError(KeyError):
    """A column the call names is not in the file's table.

    ``table`` (``"trials"`` or ``"units"``), ``missing`` (the names not found) and
    ``available`` (the table's columns) are attributes, as data.
    """

    def __init__(self, message: str, *, table: str, missing, available):
        super().__init__(message)
        self.message = message
        self.table = table
        self.missing = tuple(missing)
        self.available = tuple(available)

    def __str__(self):  # KeyError would show the message in quotes
        return self.message


class NWBSelectionError(ValueError):
    """The selection leaves nothing to average: a condition without trials, or no units.

    ``counts`` holds the numbers behind the message as data (trials per
    condition and what each filter removed, or units removed per filter).
    """

    def __init__(self, message: str, *, counts: dict):
        super().__init__(message)
        self.counts = dict(counts)


@dataclass
class NWBData(ALMData):
    """:class:`~tutorial_lib.data.ALMData` built from an NWB file by :func:`load_nwb`.

    The fields of ALMData hold what Part 3 reads: ``rates[c]`` (time, unit) in Hz
    for ``c`` in ``("right", "left")``, ``t`` in ms from the start of the window
    (0, 20, ...), ``utarg`` None (Part 3 computes the target inputs with the
    inverse transfer function), ``neuron_ids`` the units' ids in the file,
    ``source`` the file and session. Beside them: ``name`` (what titles call
    the neurons, :attr:`label`), ``window`` (ms relative to the event, so row
    ``k`` is ``window[0] + 20 k`` ms from it), ``align_to`` (the event),
    ``n_trials`` (trials averaged per condition), ``dropped`` (units removed,
    by reason, in order), ``smoothing`` and ``smooth_ms``.
    """

    name: str = "NWB"
    window: tuple = (0.0, 0.0)
    align_to: str = ""
    n_trials: dict = field(default_factory=dict)
    dropped: dict = field(default_factory=dict)
    smoothing: str = "boxcar"
    smooth_ms: float = 300.0

    @property
    def label(self) -> str:
        """What the neurons are called in titles and legends (``name``, default ``"NWB"``)."""
        return self.name

    @property
    def description(self) -> str:
        """The data in one sentence: file, trials, units, window, kernel, and the units dropped."""
        trials = " and ".join(f"{self.n_trials.get(c, 0)} {c!r}" for c in CONDITIONS)
        text = (f"{self.n_neurons} units from {self.source}, averaged over {trials} trials, "
                f"{self.window[0]:g} to {self.window[1]:g} ms around {self.align_to}, "
                f"{self.smoothing} {self.smooth_ms:g} ms")
        gone = [f"{n} {why}" for why, n in self.dropped.items() if n]
        return text + (f"; units dropped: {', '.join(gone)}" if gone else "; no units dropped")

    def subset(self, neurons) -> "NWBData":
        """The same data for the chosen units (indices into the columns); keeps the NWB details.

        ``neurons``: a 1-D array of integer indices in ``[0, n_neurons - 1]`` (not bools, floats,
        negative indices that would count from the end); a ValueError or TypeError names it otherwise.
        """
        neurons = index_array("neurons", neurons)
        if neurons.size and neurons.max() >= self.n_neurons:
            raise ValueError(f"neurons must be in [0, n_neurons - 1] = [0, {self.n_neurons - 1}] "
                             f"(got {neurons.max()})")
        base = ALMData.subset(self, neurons)
        return replace(self, rates=base.rates, utarg=base.utarg, neuron_ids=base.neuron_ids)


# ---------------------------------------------------------------------------
# Rates from spike times


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
    smoothing, smooth_ms = _check_kernel(smoothing, smooth_ms)
    spikes = np.sort(_times("spike_times", spike_times, "s").ravel())
    events = _times("event_times", event_times, "s", hint="; leave out the trials without an event").ravel()
    if events.size == 0:
        raise ValueError("event_times must hold at least one event (trial_averaged_rate averages over them)")
    t = _times("t", t, "ms relative to the event", bound=MAX_TIME_S * 1000.0)
    if t.ndim != 1:
        raise ValueError(f"t must be a 1-D array of times, ms relative to the event (got shape {t.shape})")
    w = smooth_ms / 1000.0
    if smoothing == "gaussian":  # trial by trial, spikes in blocks: memory bounded, the work checked first
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


def _check_kernel(smoothing, smooth_ms):
    """``(smoothing, smooth_ms)`` checked: a name of :data:`KERNELS` and a width in SMOOTH_MS_RANGE."""
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


# ---------------------------------------------------------------------------
# Checks of the arguments (all before the file is read)


def _positive(x) -> bool:
    return (not isinstance(x, bool) and isinstance(x, (int, float, np.integer, np.floating))
            and math.isfinite(x) and x > 0)


def _as_values(name: str, v) -> tuple:
    """A condition or filter value: one scalar, or a non-empty list/tuple/set of them."""
    vals = tuple(v) if isinstance(v, (list, tuple, set, frozenset, np.ndarray)) else (v,)
    if not vals:
        raise ValueError(f"{name} must be a value or a non-empty list of values "
                         f"(got an empty {type(v).__name__})")
    for x in vals:
        if not isinstance(x, (str, bytes, int, float, bool, np.generic)):
            raise TypeError(f"{name} must hold strings or numbers (got {type(x).__name__})")
    return vals


def _check_filter(name: str, f, table: str):
    if f is None:
        return None
    if callable(f):
        return f
    if not isinstance(f, dict) or not f:
        kinds = f"a dict {{column: value or values}} or a callable on the {table} DataFrame"
        raise TypeError(f"{name} must be None, {kinds} (got {type(f).__name__})")
    out = {}
    for col, v in f.items():
        if not isinstance(col, str) or not col:
            raise TypeError(f"{name} keys must be column names (strings; got {col!r})")
        out[col] = _as_values(f"{name}[{col!r}]", v)
    return out


def _check_args(path, condition_column, conditions, align_to, window, trial_filter, units_filter, min_rate,
                smoothing, smooth_ms, obs_intervals, name):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name (str or Path; got {type(path).__name__})")
    if not isinstance(condition_column, str) or not condition_column:
        raise TypeError("condition_column must be the name of a trials column (a string; "
                        f"got {condition_column!r})")
    if conditions is None:
        conditions = {c: c for c in CONDITIONS}
    if not isinstance(conditions, dict) or set(conditions) != set(CONDITIONS):
        got = sorted(conditions) if isinstance(conditions, dict) else type(conditions).__name__
        raise ValueError(f"conditions must be a dict with exactly the keys {CONDITIONS} (the library's "
                         f"condition names), each mapped to the value(s) of {condition_column!r} that "
                         f"mean it (got {got})")
    conds = {c: _as_values(f"conditions[{c!r}]", conditions[c]) for c in CONDITIONS}
    both = set(map(_norm, conds[CONDITIONS[0]])) & set(map(_norm, conds[CONDITIONS[1]]))
    if both:
        raise ValueError(f"conditions: the values {sorted(map(str, both))} are given for both {CONDITIONS}; "
                         "a trial can belong to only one condition")
    if isinstance(align_to, str):
        if not align_to:
            raise ValueError("align_to must be a trials column name (non-empty) or an array of event "
                             "times (s)")
    else:
        flat = np.ravel(np.asarray(align_to, dtype=object))
        if any(isinstance(x, (str, bytes)) for x in flat):
            raise TypeError("align_to must be a trials column name or an array of event times in s (numbers, "
                            f"not strings; got {flat[:3]!r}...)")
        try:
            arr = np.asarray(align_to, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError("align_to must be a trials column name or an array of event times in s, one per "
                            f"trial (got {type(align_to).__name__})") from None
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError("align_to, as event times, must be 1-D with one time (s) per trial "
                             f"(got shape {arr.shape})")
        if any(isinstance(x, (bool, np.bool_)) for x in flat) or np.asarray(align_to).dtype.kind == "b":
            raise TypeError("align_to must be a trials column name or an array of event times in s (numbers, "
                            "not booleans)")
        bad = np.isinf(arr) | (np.abs(np.nan_to_num(arr)) > MAX_TIME_S)
        if bad.any():
            raise ValueError(f"align_to must hold event times in s within +-{MAX_TIME_S:g}, or NaN for a "
                             f"trial without an event: {int(bad.sum())} of {arr.size} are infinite or beyond "
                             f"(e.g. {arr[bad][0]:g})")
        align_to = arr
    if isinstance(window, (str, bytes)) or (hasattr(window, "__iter__")
                                            and any(isinstance(x, (str, bytes)) for x in window)):
        raise TypeError(f"window must be two numbers (t_start, t_stop) in ms, not strings (got {window!r})")
    try:
        t0, t1 = (float(x) for x in window)
    except (TypeError, ValueError):
        raise ValueError(f"window must be (t_start, t_stop) in ms relative to the event "
                         f"(got {window!r})") from None
    if not (math.isfinite(t0) and math.isfinite(t1)):
        raise ValueError(f"window must be finite (ms; got {window!r})")
    if t1 <= t0:
        raise ValueError("window is empty: t_stop must be > t_start (ms relative to the event; "
                         f"got {window!r})")
    if t1 - t0 > MAX_WINDOW_MS:
        raise ValueError(f"window must span at most {MAX_WINDOW_MS:g} ms ({MAX_WINDOW_MS / 1000:g} s around "
                         f"the event; got {window!r})")
    steps = (t1 - t0) / SAMPLE_MS
    # a whole number up to the rounding of t1 - t0 and of the division (a few ulps of each), no more
    slack = 16 * np.finfo(np.float64).eps * (max(abs(t0), abs(t1)) / SAMPLE_MS + max(1.0, steps))
    if abs(steps - round(steps)) > slack:
        raise ValueError(f"window must span a whole number of {SAMPLE_MS:g} ms samples (the targets' grid): "
                         f"t_stop - t_start = {t1 - t0:g} ms (got {window!r})")
    if isinstance(min_rate, bool) or not isinstance(min_rate, (int, float, np.integer, np.floating)) \
            or not math.isfinite(min_rate) or not 0 <= min_rate <= MAX_RATE_HZ:
        raise ValueError(f"min_rate must be a finite number >= 0 and <= {MAX_RATE_HZ:g} "
                         f"(Hz; got {min_rate!r:.80})")
    _check_kernel(smoothing, smooth_ms)
    if not isinstance(obs_intervals, bool):
        raise TypeError(f"obs_intervals must be True or False (got {obs_intervals!r})")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty string (what titles call the neurons; got {name!r})")
    return (conds, align_to, (t0, t1), _check_filter("trial_filter", trial_filter, "trials"),
            _check_filter("units_filter", units_filter, "units"))


_NAN = float("nan")  # every NaN as this one object: equal to itself in sets and dicts (by identity)


def _norm(x):
    """A value as compared: bytes decoded, numpy scalars as Python ones, every NaN as one value."""
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and math.isnan(x):
        return _NAN
    return x


def _matches(column, values) -> np.ndarray:
    """One bool per entry of ``column``: is it one of ``values``? (an unhashable entry is not)"""
    wanted = set(map(_norm, values))

    def hit(x):
        try:
            return _norm(x) in wanted
        except TypeError:
            return False

    return np.array([hit(x) for x in column], dtype=bool)


def _mask(name: str, result, n: int, what: str) -> np.ndarray:
    """The result of a filter callable as a boolean mask of length ``n``, or ValueError naming the filter."""
    mask = np.asarray(result)
    if mask.shape != (n,) or mask.dtype != bool:
        raise ValueError(f"{name} must return a boolean mask with one entry per {what} ({n}); got dtype "
                         f"{mask.dtype}, shape {mask.shape}")
    return mask


def _distinct(column, limit: int = 12) -> str:
    counts = {}
    for x in column:
        x = _norm(x)
        try:
            counts[x] = counts.get(x, 0) + 1
        except TypeError:  # unhashable (an array in a cell)
            counts[repr(x)] = counts.get(repr(x), 0) + 1
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    shown = ", ".join(f"{k!r} ({n})" for k, n in items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


# ---------------------------------------------------------------------------
# The loader


def _open(path: Path):
    try:
        from pynwb import NWBHDF5IO
    except ImportError as exc:
        raise ImportError("reading NWB files needs pynwb: pip install -e \".[nwb]\" (from the repository; or "
                          "pip install pynwb)") from exc
    from .storage import FormatError

    try:
        io = NWBHDF5IO(str(path), "r", load_namespaces=True)
    except Exception as exc:  # noqa: BLE001 - h5py/hdmf raise OSError, TypeError, ValueError, ...
        raise FormatError(f"{path} could not be opened as an NWB file ({type(exc).__name__}: {exc})",
                          path=path) from exc
    try:
        nwbfile = io.read()
    except Exception as exc:  # noqa: BLE001
        io.close()
        raise FormatError(f"{path} is not a readable NWB file ({type(exc).__name__}: {exc})",
                          path=path) from exc
    return io, nwbfile


def load_nwb(path, *, condition_column: str, align_to, conditions: dict | None = None,
             window=(-2000.0, 0.0), trial_filter=None, units_filter=None,
             min_rate: float = 1.0, smoothing: str = "boxcar", smooth_ms: float = 300.0,
             obs_intervals: bool = True, name: str = "NWB") -> NWBData:
    """Trial-averaged rates of an NWB file's units in the two conditions, as Part 3's targets.

    Parameters
    ----------
    path : str or Path
        An NWB 2.x file (HDF5) with a units table and a trials table.
    condition_column : str
        The trials column that tells the condition (e.g. ``"trial_instruction"``).
    align_to : str or array_like
        The event the window is relative to: a trials column of times in s
        (e.g. a go-cue time; ``"start_time"`` for the trial start), or an array
        of event times in s, one per row of the trials table (NaN: no event, the
        trial is left out). See :func:`first_event_in_trials`.
    conditions : dict, optional
        ``{"right": value(s), "left": value(s)}``: which values of
        ``condition_column`` make each of the library's conditions. Default
        ``{"right": "right", "left": "left"}``.
    window : (t_start, t_stop), ms
        Relative to the event; ``t_stop - t_start`` a positive multiple of 20 ms,
        at most :data:`MAX_WINDOW_MS` (100 s). Default ``(-2000, 0)``: the 2 s
        before the event, 101 samples like the ALM files. A UserWarning says when
        it reaches outside a trial used (its ``start_time`` to ``stop_time``).
    trial_filter : dict or callable, optional
        Keep only trials whose columns have the given value(s), e.g.
        ``{"outcome": "hit", "early_lick": "no early"}``; or a callable taking the
        trials DataFrame and returning a boolean mask (one per row).
    units_filter : dict or callable, optional
        Keep only units whose columns have the given value(s), e.g.
        ``{"cell_type": "Pyr"}``; or a callable taking the units DataFrame
        (``units.to_dataframe(index=True)``: the ``electrodes`` column holds rows
        of the electrodes table, e.g. to select a brain area) and returning a
        boolean mask (one per unit).
    min_rate : float
        Hz, in ``[0, 1e4]``: drop units whose mean rate over the window (mean of both
        conditions) is below it. Default 1 Hz, as the ALM files.
    smoothing, smooth_ms : the kernel, ``"boxcar"`` (full width ``smooth_ms``,
        default 300 ms, as the ALM files) or ``"gaussian"`` (sd ``smooth_ms``),
        ``smooth_ms`` in ``[1e-3, 1e5]`` ms; see :func:`trial_averaged_rate`.
    obs_intervals : bool
        If the units table has ``obs_intervals``, average each unit only over
        the trials whose event lies in one of its intervals (default True).
    name : str
        What titles and legends call the neurons (:attr:`NWBData.label`).

    Returns
    -------
    NWBData
        ``rates[c]`` of shape (samples, units), Hz, samples every 20 ms over the
        window (``t`` = 0, 20, ... ms from its start); ``neuron_ids`` the units'
        ids; ``description`` says how many trials and units and what was dropped.

    Raises
    ------
    TypeError, ValueError
        Bad arguments, naming the argument and its valid range; before the file is opened.
    ImportError
        pynwb is not installed (``pip install -e ".[nwb]"``).
    FileNotFoundError
        The file does not exist.
    tutorial_lib.storage.FormatError
        The file is not NWB, is damaged, or has no units or trials table (names the file).
    NWBColumnError (a KeyError)
        A column named by the call is missing; the message lists the table's columns.
    NWBSelectionError (a ValueError)
        A condition has no trials left (with the counts per filter and the
        values the condition column holds), or no units are left (with how many
        each filter removed).
    ValueError
        The event times are not numbers, or an array ``align_to`` does not have
        one entry per trial, or holds infinite times or times beyond ``+-1e12`` s.

    Warns
    -----
    UserWarning
        Spike times in the file that are NaN or infinite: they are left out, and
        the warning names the units and how many of each unit's times; a unit
        left with no finite spike is dropped (``dropped["with only NaN or infinite
        spike times"]``), never kept as a 0 Hz unit. Likewise event times of the
        ``align_to`` column that are infinite (those trials are left out, as
        without an event), obs_intervals with NaN bounds, and a window reaching
        outside the trials used.
    """
    conds, align, (t0, t1), tfilter, ufilter = _check_args(
        path, condition_column, conditions, align_to, window, trial_filter, units_filter, min_rate,
        smoothing, smooth_ms, obs_intervals, name)
    path = Path(os.fspath(path)).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist (the NWB file to read)")
    if not path.is_file():
        raise IsADirectoryError(f"{path} is not a file (the NWB file to read)")
    from .storage import FormatError

    io, nwbfile = _open(path)
    try:
        trials_table, units = nwbfile.trials, nwbfile.units
        if trials_table is None or units is None:
            what = "trials" if trials_table is None else "units"
            raise FormatError(f"{path} has no {what} table (nwbfile.{what} is None); load_nwb needs both a "
                              "units table with spike times and a trials table", path=path, field=what)
        trials = trials_table.to_dataframe()
        columns = list(trials.columns)
        wanted = [condition_column] + ([align] if isinstance(align, str) else []) + \
                 (list(tfilter) if isinstance(tfilter, dict) else [])
        missing = [c for c in dict.fromkeys(wanted) if c not in columns]
        if missing:
            raise NWBColumnError(f"{path}: the trials table has no column {', '.join(map(repr, missing))}; "
                                 f"its columns are {columns}", table="trials", missing=missing,
                                 available=columns)
        ucols = list(units.colnames)
        if "spike_times" not in ucols:
            raise NWBColumnError(f"{path}: the units table has no column 'spike_times'; its columns are "
                                 f"{ucols}", table="units", missing=["spike_times"], available=ucols)
        umissing = [c for c in (ufilter if isinstance(ufilter, dict) else ()) if c not in ucols]
        if umissing:
            raise NWBColumnError(f"{path}: the units table has no column {', '.join(map(repr, umissing))}; "
                                 f"its columns are {ucols}", table="units", missing=umissing, available=ucols)

        # --- trials: events, conditions, filter
        n_rows = len(trials)
        if isinstance(align, str):
            try:
                events = np.array([np.nan if v is None else v for v in trials[align]], dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"{path}: the trials column {align!r} (align_to) must hold event times in s "
                                 f"(numbers); it holds {_distinct(trials[align], 5)}") from None
            align_name = repr(align)
        else:
            if align.size != n_rows:
                raise ValueError(f"align_to must have one event time per trial: the trials table has "
                                 f"{n_rows} rows (got {align.size})")
            events, align_name = align, "the given event times"
        wild = np.isinf(events) | (np.abs(np.nan_to_num(events)) > MAX_TIME_S)
        if wild.any():  # only from a column: an array align_to with such times is refused by _check_args
            warnings.warn(f"{path}: {int(wild.sum())} of the {n_rows} event times in {align_name} (align_to) "
                          f"are infinite or beyond +-{MAX_TIME_S:g} s; those trials are left out, like "
                          "trials without an event (NaN)", UserWarning, stacklevel=2)
            events = np.where(wild, np.nan, events)
        keep = np.ones(n_rows, dtype=bool)
        counts = {"trials in the file": n_rows}
        if tfilter is not None:
            if callable(tfilter):
                mask = _mask("trial_filter", tfilter(trials), n_rows, "trial")
            else:
                mask = np.ones(n_rows, dtype=bool)
                for col, vals in tfilter.items():
                    mask &= _matches(trials[col], vals)
            keep &= mask
        no_event = ~np.isfinite(events)
        trial_idx = {}
        for c in CONDITIONS:
            in_c = _matches(trials[condition_column], conds[c])
            counts[c] = {"in condition": int(in_c.sum()),
                         "removed by trial_filter": int((in_c & ~keep).sum()),
                         "without an event time": int((in_c & keep & no_event).sum())}
            sel = np.flatnonzero(in_c & keep & ~no_event)
            counts[c]["kept"] = int(sel.size)
            trial_idx[c] = sel
        for c in CONDITIONS:
            if trial_idx[c].size == 0:
                k = counts[c]
                raise NWBSelectionError(
                    f"{path}: no trials left for condition {c!r} (conditions[{c!r}] = {list(conds[c])} in "
                    f"column {condition_column!r}): {k['in condition']} trials have that value, "
                    f"{k['removed by trial_filter']} of them removed by trial_filter, "
                    f"{k['without an event time']} without an event time ({align_name}). The column holds: "
                    f"{_distinct(trials[condition_column])}.", counts=counts)

        used = np.concatenate([trial_idx[c] for c in CONDITIONS])
        outside = int(((events[used] + t0 / 1000.0 < trials["start_time"].to_numpy()[used])
                       | (events[used] + t1 / 1000.0 > trials["stop_time"].to_numpy()[used])).sum())
        if outside:
            warnings.warn(f"{path}: the window {t0:g} to {t1:g} ms around {align_name} reaches outside "
                          f"{outside} of the {used.size} trials used (their start_time to stop_time): their "
                          "rates count spikes between trials or of the next trial", UserWarning, stacklevel=2)

        # --- units: spike times (read once, split by the ragged index), filters
        ends = np.asarray(units["spike_times"].data[:], dtype=np.int64)
        flat = np.asarray(units["spike_times"].target.data[:], dtype=np.float64)
        starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
        if ends.size and (np.any(ends < starts) or ends[-1] != flat.size):
            raise FormatError(f"{path}: the units table's spike_times index is damaged (it must rise to the "
                              f"{flat.size} spike times)", path=path, field="spike_times")
        ids = np.asarray(units.id.data[:])
        n_units = ids.size
        dropped = {}
        alive = ends > starts
        dropped["without spikes"] = int(n_units - alive.sum())
        # NaN or infinite spike times (a damaged or hand-made file) are left out, counted and reported
        finite = np.isfinite(flat)
        cum = np.concatenate([[0], np.cumsum(~finite)])
        n_bad = cum[ends] - cum[starts]
        if n_bad.any():
            hit = np.flatnonzero(n_bad)
            only = alive & (n_bad == ends - starts)
            listed = ", ".join(f"unit {ids[i]} ({n_bad[i]} of {ends[i] - starts[i]})" for i in hit[:5])
            more = f" and {hit.size - 5} more" if hit.size > 5 else ""
            warnings.warn(f"{path}: {hit.size} units have spike times that are NaN or infinite, left out: "
                          f"{listed}{more}; {int(only.sum())} of them have no finite spike time and are "
                          "dropped", UserWarning, stacklevel=2)
            dropped["with only NaN or infinite spike times"] = int(only.sum())
            alive &= ~only
        if not alive.any():
            nonfinite = dropped.get("with only NaN or infinite spike times", 0)
            raise NWBSelectionError(f"{path}: none of the {n_units} units has any spike" +
                                    (f" with a finite time ({nonfinite} have only NaN or infinite times)"
                                     if nonfinite else ""), counts=dropped)
        if callable(ufilter):
            ok = _mask("units_filter", ufilter(units.to_dataframe(index=True)), n_units, "unit")
            dropped["by units_filter"] = int((alive & ~ok).sum())
            alive &= ok
        for col, vals in (ufilter.items() if isinstance(ufilter, dict) else ()):
            ok = _matches(units[col][:], vals)
            dropped[f"by units_filter {col!r}"] = int((alive & ~ok).sum())
            alive &= ok
        obs = None
        if obs_intervals and "obs_intervals" in ucols:
            o_ends = np.asarray(units["obs_intervals"].data[:], dtype=np.int64)
            o_flat = np.asarray(units["obs_intervals"].target.data[:], dtype=np.float64).reshape(-1, 2)
            if np.isnan(o_flat).any():
                o_starts = np.concatenate([[0], o_ends[:-1]])
                nan_iv = np.concatenate([[0], np.cumsum(np.isnan(o_flat).any(axis=1))])
                n_nan = int(((nan_iv[o_ends] - nan_iv[o_starts]) > 0).sum())
                warnings.warn(f"{path}: the obs_intervals of {n_nan} units have NaN bounds; such an interval "
                              "covers no event (a unit with only those counts as not recorded)", UserWarning,
                              stacklevel=2)
            obs = (np.concatenate([[0], o_ends[:-1]]), o_ends, o_flat)
        samples = t0 + SAMPLE_MS * np.arange(int(round((t1 - t0) / SAMPLE_MS)) + 1)
        rates = {c: [] for c in CONDITIONS}
        kept, unobserved = [], 0
        for i in np.flatnonzero(alive):
            spikes = flat[starts[i]:ends[i]]
            if n_bad[i]:
                spikes = spikes[np.isfinite(spikes)]
            per_c = {}
            for c in CONDITIONS:
                ev = events[trial_idx[c]]
                if obs is not None:
                    iv = obs[2][obs[0][i]:obs[1][i]]
                    seen = ((ev[:, None] >= iv[None, :, 0]) & (ev[:, None] <= iv[None, :, 1])).any(axis=1)
                    ev = ev[seen]
                if ev.size == 0:
                    break
                per_c[c] = trial_averaged_rate(spikes, ev, samples, smoothing, smooth_ms)
            if len(per_c) < len(CONDITIONS):
                unobserved += 1
                continue
            for c in CONDITIONS:
                rates[c].append(per_c[c])
            kept.append(i)
        if obs is not None:
            dropped["not recorded in any trial of a condition (obs_intervals)"] = unobserved
        kept = np.array(kept, dtype=np.int64)
        R = {c: (np.array(rates[c]).T if kept.size else np.zeros((samples.size, 0))) for c in CONDITIONS}
        mean_rate = np.mean([R[c].mean(axis=0) for c in CONDITIONS], axis=0) if kept.size else np.zeros(0)
        fast = mean_rate >= min_rate
        dropped[f"below min_rate {min_rate:g} Hz"] = int((~fast).sum())
        if not fast.any():
            detail = ", ".join(f"{n} {why}" for why, n in dropped.items())
            raise NWBSelectionError(f"{path}: no units left of {n_units}: {detail}", counts=dropped)
        source = f"{path.name} (NWB, session {getattr(nwbfile, 'identifier', '?')})"
    finally:
        io.close()
    return NWBData({c: R[c][:, fast] for c in CONDITIONS}, None, SAMPLE_MS * np.arange(samples.size), source,
                   neuron_ids=ids[kept[fast]], name=name, window=(t0, t1), align_to=align_name,
                   n_trials={c: int(trial_idx[c].size) for c in CONDITIONS}, dropped=dropped,
                   smoothing=smoothing, smooth_ms=float(smooth_ms))
