"""Checks of what a caller hands the LIF engine: indices, times, per-neuron arrays, run lengths and sizes.

Each refuses a bad value by name before anything is allocated or simulated (TypeError / ValueError,
:class:`~tutorial_lib.checks.MemoryEstimateError`). Used by :mod:`tutorial_lib.engine.lif_data`,
:mod:`tutorial_lib.engine.lif_inputs` and :mod:`tutorial_lib.engine.simulate`.

>>> check_indices("record", [0, 2.0, 5])
array([0, 2, 5])
"""

from __future__ import annotations

import numbers

import numpy as np

from ..checks import MAX_STEPS, MemoryEstimateError, check_grid, check_real, memory_limit

__all__ = ["kernel_array", "as_index", "INDEX_MAX", "CURRENT_LIMIT", "shown", "check_indices", "check_times",
           "per_neuron", "run_steps", "check_sizes", "step_of", "STEP_LIMIT", "steps_of", "check_window"]

def kernel_array(a, dtype=np.float64) -> np.ndarray:
    """``a`` as a C-contiguous, writeable array of ``dtype`` (copied only if needed).

    The kernel is compiled once per combination of array types; a read-only or
    strided array would make numba compile (and cache) another version.
    """
    a = np.ascontiguousarray(a, dtype=dtype)
    return a if a.flags.writeable else a.copy()


def as_index(name: str, a, hi: int | None = None, *, what: str = "neuron indices") -> np.ndarray:
    """``a`` (any shape) as a C-ordered int64 array of indices in ``[0, hi]``, checked by :func:`check_indices` on
    the values as given (a uint64 ``2**64 - 1`` is out of range, not -1; ``0.7`` is not index 0)."""
    if a is None or isinstance(a, (str, bytes, dict, set)) or np.ndim(a) <= 1:
        return check_indices(name, a, hi, what=what)
    arr = np.asarray(a)
    return np.ascontiguousarray(check_indices(name, arr.reshape(-1), hi, what=what).reshape(arr.shape))


#: The largest index a 1-D index array may hold before it is known which network it is for.
INDEX_MAX = int(np.iinfo(np.int64).max)
#: Perturbation currents are at most this large in magnitude (units of the threshold). +-100 already
#: silences or drives any neuron of the tutorial at every step; beyond 1e6 sums of currents lose all
#: precision and overlapping ones can overflow.
CURRENT_LIMIT = 1e6


def shown(values, limit: int = 80) -> str:
    text = " ".join(repr(values).split())
    return text if len(text) <= limit else text[:limit] + " ..."


def check_indices(name: str, values, hi: int | None = None, *, lo: int = 0,
             what: str = "neuron indices") -> np.ndarray:
    """``values`` (array_like of whole numbers, or one of them) as a 1-D int64 array in ``[lo, hi]``.

    Checked on the values as given, before any conversion could wrap or cut them: ``np.uint64(2**64 - 1)``
    or ``2**70`` is out of range (not index -1), ``2.5`` or NaN is not a whole number (a whole float
    such as ``2.0`` is that index, as :func:`~tutorial_lib.checks.check_int` takes it), booleans are
    refused (a mask is not a list of indices: ``np.flatnonzero(mask)``). ``hi`` None: any index up to
    ``2**63 - 1``. Raises TypeError (None, text, a dict) or ValueError naming ``name``.
    """
    top = INDEX_MAX if hi is None else int(hi)
    if values is None or isinstance(values, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be an array of integer {what} (got {shown(values)})")
    try:
        a = np.asarray(values)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"{name} must be a 1-D array of integer {what} (got {shown(values)})") from None
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of integer {what} (got shape {a.shape})")
    if a.size == 0:
        return np.zeros(0, np.int64)
    kind = a.dtype.kind
    if kind == "b" or (kind == "O" and any(isinstance(x, (bool, np.bool_)) for x in a.flat)):
        raise ValueError(f"{name} must be integer {what}, not booleans (for a mask use np.flatnonzero(mask); "
                         f"got {shown(values)})")
    if kind == "O":
        items = list(a)
        if not all(isinstance(x, numbers.Integral) for x in items):
            raise ValueError(f"{name} must be integer {what}: whole numbers (got {shown(values)})")
        ints = [int(x) for x in items]
        first_bad = next((x for x in ints if x < lo or x > top), None)
    elif kind == "f":
        bad = ~np.isfinite(a) | (a != np.round(a))
        if bad.any():
            raise ValueError(f"{name} must be integer {what}: whole numbers (got {float(a[bad][0])!r})")
        out = (a < lo) | (a > top)
        first_bad = a[out][0] if out.any() else None
    elif kind in "iu":
        out = (a < lo) | (a > top)  # compared in the array's own type: a uint64 never wraps here
        first_bad = a[out][0] if out.any() else None
    else:
        raise ValueError(f"{name} must be integer {what} (got dtype {a.dtype}: {shown(values)})")
    if first_bad is not None:
        got = int(first_bad) if isinstance(first_bad, (numbers.Integral, np.integer)) else float(first_bad)
        where = f"in [{lo}, {top}]" if hi is not None else "below 2**63"
        sign = "non-negative " if lo == 0 else ""
        raise ValueError(f"{name} must be {sign}integer {what} {where} (got {got})")
    idx = np.array(ints, dtype=np.int64) if kind == "O" else a.astype(np.int64)
    if idx.size and (idx.min() < lo or idx.max() > top):  # after the conversion, to be sure
        raise ValueError(f"{name} must be integer {what} in [{lo}, {top}]")
    return idx


def real_values(name: str, values, what: str, expected: str, readable: str) -> np.ndarray:
    """``values`` as a NumPy array of real numbers (any shape; booleans inside a list refused), or
    TypeError naming ``name`` (``expected``) for None, text, dicts and sets, and ValueError for what NumPy
    cannot read as ``readable`` or for values that are not numbers. Shared by :func:`check_times` and
    :func:`per_neuron`."""
    if values is None or isinstance(values, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be {expected} ({what}; got {shown(values)})")
    try:
        a = np.asarray(values)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"{name} must be {readable} ({what}; got {shown(values)})") from None
    if a.dtype.kind == "O" and all(isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))
                                   for x in a.flat):
        a = a.astype(np.float64)
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be numbers ({what}), not {a.dtype} values (got {shown(values)})")
    return a


def check_times(name: str, values, *, what: str = "times in ms") -> np.ndarray:
    """``values`` (array_like of real numbers, or one) as a 1-D float64 array; TypeError / ValueError naming
    ``name`` for text, None, booleans, complex numbers or more dimensions (the values are not checked)."""
    raw = real_values(name, values, what, "an array of numbers", "a 1-D array of numbers")
    t = raw.astype(np.float64).reshape(-1) if raw.ndim <= 1 else None
    if t is None:
        raise ValueError(f"{name} must be a 1-D array ({what}; got shape {raw.shape})")
    return t


def per_neuron(name: str, value, N: int, *, what: str) -> np.ndarray:
    """``value`` (a number or one per neuron) as a finite float64 array of shape (N,); TypeError / ValueError
    naming ``name`` for text, booleans, a shape that does not fit or a NaN / infinite entry."""
    a = real_values(name, value, what, f"a number or an array of {N} numbers", f"a number or {N} numbers")
    try:
        a = np.array(np.broadcast_to(a, (N,)), dtype=np.float64)
    except ValueError:
        raise ValueError(f"{name} must be one number or one per neuron, shape ({N},) ({what}; got shape "
                         f"{a.shape})") from None
    if not np.all(np.isfinite(a)):
        k = int(np.flatnonzero(~np.isfinite(a))[0])
        raise ValueError(f"{name} must be finite ({what}; got {a[k]} for neuron {k})")
    return a


def run_steps(name: str, T, dt: float, *, what: str = "") -> int:
    """``T`` ms as a whole number of steps of ``dt``: finite, > 0, at most ``MAX_STEPS`` steps (longer runs
    would take days, and their records would not fit in memory), on the dt grid. ValueError naming ``name``
    (``what``: the interval's meaning; default, the length of a run)."""
    what = what or (f"length of the run, ms; at most {MAX_STEPS:.0e} steps of dt = {dt:g} ms: a longer run "
                    "would take days and its record would not fit in memory")
    T = check_real(name, T, lo=0, lo_open=True, hi=MAX_STEPS * dt, what=what)
    return check_grid(name, T, dt)


def check_sizes(terms: list) -> None:
    """Raise :class:`~tutorial_lib.checks.MemoryEstimateError` (naming the parameters that size the largest
    array) if the arrays ``terms`` = ``[(what, bytes, parameters)]`` need more than :func:`memory_limit`."""
    total = float(sum(b for _, b, _ in terms))
    limit = memory_limit()
    if total > limit:
        what, big, names = max(terms, key=lambda t: t[1])
        gib = lambda x: f"{x / 2**30:.3g} GiB" if x >= 2**27 else f"{x / 2**20:.3g} MiB"  # noqa: E731
        lower = [n for n in names if n != "record_every"]
        advice = " or ".join(lower) + (", or raise record_every" if "record_every" in names else "")
        raise MemoryEstimateError(
            f"{names[0]} too large for memory ({', '.join(names)} size it): {what} would need about "
            f"{gib(big)} "
            f"({gib(total)} in all), more than the {gib(limit)} available. Lower {advice}.",
            total, limit, tuple(names), terms)


def step_of(name: str, t: float, dt: float, n_steps: int) -> int:
    """The step index of time ``t`` (ms), cut at ``n_steps`` (the end of the run).

    ``t`` must be a finite number >= 0; before the end it must lie on the dt grid (0 allowed). A time
    at or after the end, however far (1e308 too), is the end: no overflow, no grid to check there.
    ValueError naming ``name``.
    """
    t = check_real(name, t, lo=0, what="ms")
    if t / dt >= n_steps:
        return int(n_steps)
    return 0 if t == 0 else check_grid(name, t, dt)


#: Step counts beyond this are refused by :func:`steps_of` (above 2**53 a float no longer holds every
#: whole number: the grid cannot be checked, and int64 would be near).
STEP_LIMIT = 2.0**53


def steps_of(name: str, times, dt: float) -> np.ndarray:
    """Step indices of an array of times (ms) on the dt grid: finite, >= 0, below ``2**53`` steps.
    ValueError naming ``name``."""
    times = np.atleast_1d(check_times(name, times))
    if not np.all(np.isfinite(times)):
        raise ValueError(f"{name} must be finite (ms)")
    with np.errstate(over="ignore"):
        q = times / dt
    steps = np.rint(q)
    if times.size and (steps.min() < 0 or steps.max() > STEP_LIMIT
                       or np.any(np.abs(q - steps) > 1e-9 * np.maximum(1.0, steps))):
        raise ValueError(f"{name} must be non-negative multiples of dt = {dt:g} ms, "
                         f"below {STEP_LIMIT * dt:g} ms")
    return steps.astype(np.int64)


def check_window(name: str, window, dt: float, n_steps: int) -> tuple[int, int]:
    """``window = (on, off)`` ms as steps: finite, ``0 <= on <= off`` (equal: never on), on the dt grid
    before the end of the run; times at or after the end (1e308 too) are the end. ValueError naming it."""
    if isinstance(window, (str, bytes, dict)) or not hasattr(window, "__len__") or len(window) != 2:
        raise ValueError(f"{name} must be a pair (on, off) of times in ms (got {shown(window)})")
    on = check_real(f"{name}[0]", window[0], lo=0, what="when it switches on, ms")
    off = check_real(f"{name}[1]", window[1], lo=on, what=f"when it switches off, ms; at least on = {on:g}")
    return step_of(f"{name}[0]", on, dt, n_steps), step_of(f"{name}[1]", off, dt, n_steps)

