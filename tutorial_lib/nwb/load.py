r"""Part 3's targets from an NWB file: :func:`load_nwb` and its steps (read, select, average).

pynwb (an optional heavy dependency, the ``nwb`` extra) is imported inside :func:`_open` only, when a
file is read. The arguments of :func:`load_nwb` in full:

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

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np

from ..data import CONDITIONS, SAMPLE_MS
from ..storage import FormatError
from .rates import MAX_TIME_S, check_kernel, trial_averaged_rate
from .results import NWBColumnError, NWBData, NWBSelectionError

__all__ = ["load_nwb", "MAX_WINDOW_MS", "MAX_RATE_HZ"]

#: the longest window (ms) load_nwb builds rates over: 5001 samples, 100 s around the event
MAX_WINDOW_MS = 1e5
#: the highest ``min_rate`` accepted, Hz (no unit fires faster)
MAX_RATE_HZ = 1e4


# ---------------------------------------------------------------------------
# Checks of the arguments (all before the file is read)


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
    """The arguments of :func:`load_nwb`, checked before the file is opened: ``(conds, align_to,
    (t0, t1), trial_filter, units_filter)`` normalised, or a TypeError/ValueError naming the argument."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name (str or Path; got {type(path).__name__})")
    if not isinstance(condition_column, str) or not condition_column:
        raise TypeError("condition_column must be the name of a trials column (a string; "
                        f"got {condition_column!r})")
    conds = _check_conditions(conditions, condition_column)
    align_to = _check_align_to(align_to)
    t0, t1 = _check_window(window)
    if isinstance(min_rate, bool) or not isinstance(min_rate, (int, float, np.integer, np.floating)) \
            or not math.isfinite(min_rate) or not 0 <= min_rate <= MAX_RATE_HZ:
        raise ValueError(f"min_rate must be a finite number >= 0 and <= {MAX_RATE_HZ:g} "
                         f"(Hz; got {min_rate!r:.80})")
    check_kernel(smoothing, smooth_ms)
    if not isinstance(obs_intervals, bool):
        raise TypeError(f"obs_intervals must be True or False (got {obs_intervals!r})")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty string (what titles call the neurons; got {name!r})")
    return (conds, align_to, (t0, t1), _check_filter("trial_filter", trial_filter, "trials"),
            _check_filter("units_filter", units_filter, "units"))


def _check_conditions(conditions, condition_column) -> dict:
    """``{"right": values, "left": values}``: each condition's values of the condition column, disjoint."""
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
    return conds


def _check_align_to(align_to):
    """A non-empty column name, or the event times as a 1-D float array (NaN: no event)."""
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
    return align_to


def _check_window(window) -> tuple:
    """``(t0, t1)`` in ms: finite, ``t0 < t1``, at most MAX_WINDOW_MS, a whole number of samples."""
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
    return t0, t1


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

    ``path``: an NWB 2.x file with a units and a trials table; ``condition_column``: the trials
    column of the condition, ``conditions`` the values of it that make ``"right"`` and ``"left"``;
    ``align_to``: the event (a trials column of times in s, or one time per trial, NaN: none);
    ``window``: ms around it; ``trial_filter`` / ``units_filter``: column values or callables;
    ``min_rate``: Hz; ``smoothing`` / ``smooth_ms``: the kernel (:func:`trial_averaged_rate`);
    ``obs_intervals``: average a unit only over the trials it was recorded in; ``name``: what
    titles call the neurons. Each argument, the errors raised and the warnings are described in
    full in :mod:`tutorial_lib.nwb.load`. Returns an :class:`NWBData`: ``rates[c]`` (samples,
    units) in Hz every 20 ms over the window, ``neuron_ids`` the units' ids, ``description`` what
    was averaged and dropped.
    """
    conds, align, (t0, t1), tfilter, ufilter = _check_args(
        path, condition_column, conditions, align_to, window, trial_filter, units_filter, min_rate,
        smoothing, smooth_ms, obs_intervals, name)
    path = Path(os.fspath(path)).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist (the NWB file to read)")
    if not path.is_file():
        raise IsADirectoryError(f"{path} is not a file (the NWB file to read)")
    io, nwbfile = _open(path)
    try:
        trials, units = _tables(path, nwbfile, condition_column, align, tfilter, ufilter)
        events, align_name = _event_times(path, trials, align)
        trial_idx = _select_trials(path, trials, events, condition_column, conds, tfilter, align_name)
        _warn_outside(path, trials, events, trial_idx, (t0, t1), align_name)
        spikes, ids, alive, dropped = _spike_table(path, units)
        alive = _filter_units(units, ufilter, alive, dropped)
        obs = _observation_intervals(path, units) if obs_intervals and "obs_intervals" in units.colnames \
            else None
        samples = t0 + SAMPLE_MS * np.arange(int(round((t1 - t0) / SAMPLE_MS)) + 1)
        R, kept = _unit_rates(spikes, alive, events, trial_idx, obs, samples, smoothing, smooth_ms, dropped)
        fast = _fast_enough(path, R, kept, min_rate, ids.size, dropped)
        source = f"{path.name} (NWB, session {getattr(nwbfile, 'identifier', '?')})"
    finally:
        io.close()
    return NWBData({c: R[c][:, fast] for c in CONDITIONS}, None, SAMPLE_MS * np.arange(samples.size), source,
                   neuron_ids=ids[kept[fast]], name=name, window=(t0, t1), align_to=align_name,
                   n_trials={c: int(trial_idx[c].size) for c in CONDITIONS}, dropped=dropped,
                   smoothing=smoothing, smooth_ms=float(smooth_ms))


def _tables(path, nwbfile, condition_column, align, tfilter, ufilter):
    """``(trials DataFrame, units table)``, with every column the call names, or a named error."""
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
    return trials, units


def _event_times(path, trials, align):
    """``(events, align_name)``: one event time (s) per trial row, NaN for none (infinite or far
    times of a column become NaN, with a warning)."""
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
                      "trials without an event (NaN)", UserWarning, stacklevel=3)
        events = np.where(wild, np.nan, events)
    return events, align_name


def _select_trials(path, trials, events, condition_column, conds, tfilter, align_name) -> dict:
    """``{condition: row indices}`` of the trials kept (in the condition, passing ``trial_filter``, with
    an event), or NWBSelectionError with the counts if a condition has none."""
    n_rows = len(trials)
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
    return trial_idx


def _warn_outside(path, trials, events, trial_idx, window, align_name) -> None:
    """A UserWarning if the window around the event reaches outside a used trial's start to stop."""
    t0, t1 = window
    used = np.concatenate([trial_idx[c] for c in CONDITIONS])
    outside = int(((events[used] + t0 / 1000.0 < trials["start_time"].to_numpy()[used])
                   | (events[used] + t1 / 1000.0 > trials["stop_time"].to_numpy()[used])).sum())
    if outside:
        warnings.warn(f"{path}: the window {t0:g} to {t1:g} ms around {align_name} reaches outside "
                      f"{outside} of the {used.size} trials used (their start_time to stop_time): their "
                      "rates count spikes between trials or of the next trial", UserWarning, stacklevel=3)


def _spike_table(path, units):
    """``(spikes, ids, alive, dropped)``: each unit's finite spike times (read once, split by the ragged
    index), the units' ids, which units have a finite spike, and the units dropped so far by reason.
    NaN or infinite spike times (a damaged or hand-made file) are left out, counted and reported."""
    ends = np.asarray(units["spike_times"].data[:], dtype=np.int64)
    flat = np.asarray(units["spike_times"].target.data[:], dtype=np.float64)
    starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
    if ends.size and (np.any(ends < starts) or ends[-1] != flat.size):
        raise FormatError(f"{path}: the units table's spike_times index is damaged (it must rise to the "
                          f"{flat.size} spike times)", path=path, field="spike_times")
    ids = np.asarray(units.id.data[:])
    n_units = ids.size
    alive = ends > starts
    dropped = {"without spikes": int(n_units - alive.sum())}
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
                      "dropped", UserWarning, stacklevel=3)
        dropped["with only NaN or infinite spike times"] = int(only.sum())
        alive &= ~only
    if not alive.any():
        nonfinite = dropped.get("with only NaN or infinite spike times", 0)
        raise NWBSelectionError(f"{path}: none of the {n_units} units has any spike" +
                                (f" with a finite time ({nonfinite} have only NaN or infinite times)"
                                 if nonfinite else ""), counts=dropped)
    spikes = [flat[starts[i]:ends[i]] if not n_bad[i] else flat[starts[i]:ends[i]][finite[starts[i]:ends[i]]]
              for i in range(n_units)]
    return spikes, ids, alive, dropped


def _filter_units(units, ufilter, alive, dropped):
    """``alive`` and the units that pass ``units_filter``; ``dropped`` counts the units each removed."""
    n_units = alive.size
    if callable(ufilter):
        ok = _mask("units_filter", ufilter(units.to_dataframe(index=True)), n_units, "unit")
        dropped["by units_filter"] = int((alive & ~ok).sum())
        alive &= ok
    for col, vals in (ufilter.items() if isinstance(ufilter, dict) else ()):
        ok = _matches(units[col][:], vals)
        dropped[f"by units_filter {col!r}"] = int((alive & ~ok).sum())
        alive &= ok
    return alive


def _observation_intervals(path, units):
    """``(starts, ends, intervals)``: each unit's rows of the (n, 2) array of observation intervals, s."""
    o_ends = np.asarray(units["obs_intervals"].data[:], dtype=np.int64)
    o_flat = np.asarray(units["obs_intervals"].target.data[:], dtype=np.float64).reshape(-1, 2)
    if np.isnan(o_flat).any():
        o_starts = np.concatenate([[0], o_ends[:-1]])
        nan_iv = np.concatenate([[0], np.cumsum(np.isnan(o_flat).any(axis=1))])
        n_nan = int(((nan_iv[o_ends] - nan_iv[o_starts]) > 0).sum())
        warnings.warn(f"{path}: the obs_intervals of {n_nan} units have NaN bounds; such an interval "
                      "covers no event (a unit with only those counts as not recorded)", UserWarning,
                      stacklevel=3)
    return np.concatenate([[0], o_ends[:-1]]), o_ends, o_flat


def _unit_rates(spikes, alive, events, trial_idx, obs, samples, smoothing, smooth_ms, dropped):
    """``(R, kept)``: ``R[c]`` (samples, units kept) the trial-averaged rates, Hz; ``kept`` the units'
    rows. A unit not recorded (``obs``) in any trial of a condition is dropped."""
    rates = {c: [] for c in CONDITIONS}
    kept, unobserved = [], 0
    for i in np.flatnonzero(alive):
        per_c = {}
        for c in CONDITIONS:
            ev = events[trial_idx[c]]
            if obs is not None:
                iv = obs[2][obs[0][i]:obs[1][i]]
                seen = ((ev[:, None] >= iv[None, :, 0]) & (ev[:, None] <= iv[None, :, 1])).any(axis=1)
                ev = ev[seen]
            if ev.size == 0:
                break
            per_c[c] = trial_averaged_rate(spikes[i], ev, samples, smoothing, smooth_ms)
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
    return R, kept


def _fast_enough(path, R, kept, min_rate, n_units, dropped):
    """The units kept whose mean rate (both conditions) is at least ``min_rate``; an error if none is."""
    mean_rate = np.mean([R[c].mean(axis=0) for c in CONDITIONS], axis=0) if kept.size else np.zeros(0)
    fast = mean_rate >= min_rate
    dropped[f"below min_rate {min_rate:g} Hz"] = int((~fast).sum())
    if not fast.any():
        detail = ", ".join(f"{n} {why}" for why, n in dropped.items())
        raise NWBSelectionError(f"{path}: no units left of {n_units}: {detail}", counts=dropped)
    return fast
