"""Argument checks shared by every layer: numbers, whole numbers, types, grids and memory.

Each check raises :class:`ValueError` (or :class:`TypeError`) naming the argument and its
valid range, before any long computation starts. The parameter classes of
:mod:`tutorial_lib.params`, the core's equations and the engine's kernels all use these, so a
rule (``True`` is not a whole number, ``2.0`` is ``2``, NaN is refused) is written once.
This module imports nothing from the package.
"""

from __future__ import annotations

import math
import os
from numbers import Integral, Real

import numpy as np

__all__ = [
    "check_real", "check_int", "check_grid", "check_type", "check_train_args", "count_from_fraction",
    "min_fraction", "must_be", "gib", "memory_limit", "check_memory", "MemoryEstimateError", "MEMORY_ENV",
    "MAX_STEPS", "INT64_MAX", "real_array", "index_array",
]
def _fmt(x: float) -> str:
    return f"{x:g}"


def check_real(
    name: str,
    value,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    what: str = "",
) -> float:
    """Return ``value`` as a float, or raise a ValueError naming ``name`` and its range.

    ``lo``/``hi`` are the bounds (None: unbounded); ``lo_open``/``hi_open`` make
    them strict. ``what`` is an optional plain-words description of the
    parameter, added to the message.
    """
    label = f"{name} ({what})" if what else name
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{label} must be a real number (got {value!r})")
    try:
        v = float(value) + 0.0  # + 0.0: -0.0 is 0.0 (NumPy refuses uniform(0, -0.0))
    except OverflowError:  # an int beyond the largest float, e.g. 10**400
        v = math.inf
    if not math.isfinite(v):
        raise ValueError(f"{label} must be finite (got {_short(value)})")
    below = lo is not None and (v <= lo if lo_open else v < lo)
    above = hi is not None and (v >= hi if hi_open else v > hi)
    if below or above:
        raise ValueError(f"{_range_message(label, v, lo, hi, lo_open, hi_open)} (got {_short(value)})")
    return v


def _range_message(label: str, v: float, lo, hi, lo_open: bool, hi_open: bool) -> str:
    """``"<label> must be in [lo, hi]"``; below a range with two ends, the lower rule first:
    ``"sigma (weight scale) must be > 0; it must be in (0, 1e+06]"``, ``"lam must be >= 1e-14; it must be
    in [1e-14, 1e+14]"`` (a value of the wrong sign for a positive lower bound breaks "> 0")."""
    whole = must_be(label, lo, hi, lo_open, hi_open, _fmt)
    if hi is None or lo is None or not (v <= lo if lo_open else v < lo):
        return whole
    rule = f"{label} must be > 0" if lo > 0 and v <= 0 else must_be(label, lo, None, lo_open, False, _fmt)
    return f"{rule}; it must be {whole.split(' must be ', 1)[1]}"


def _short(value) -> str:
    """``repr(value)``, but a huge int as ``1e+400``-like text, not 400 digits."""
    if isinstance(value, Integral) and not isinstance(value, bool) and abs(int(value)) >= 10**16:
        digits = len(str(abs(int(value)))) - 1
        return f"{'-' if value < 0 else ''}{str(abs(int(value)))[0]}e+{digits} (an int)"
    return repr(value)


def must_be(label: str, lo, hi, lo_open: bool = False, hi_open: bool = False, fmt=str) -> str:
    """``"<label> must be in [lo, hi]"`` (or ``>= lo`` / ``<= hi``, with open ends as ``(`` ``>``)."""
    if lo is not None and hi is not None:
        return f"{label} must be in {'(' if lo_open else '['}{fmt(lo)}, {fmt(hi)}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{label} must be {'>' if lo_open else '>='} {fmt(lo)}"
    return f"{label} must be {'<' if hi_open else '<='} {fmt(hi)}"


def check_int(name: str, value, *, lo: int | None = None, hi: int | None = None, what: str = "") -> int:
    """Return ``value`` as an int, or raise a ValueError naming ``name`` and its range.

    ``True``/``False`` are refused (a bool is not a count); a float with an
    integral value (``2.0``) is accepted as that integer; ``2.5``, NaN and
    infinity are refused. Without ``hi``, a value beyond the int64 range (no count can
    be larger) is refused too.
    """
    label = f"{name} ({what})" if what else name
    if isinstance(value, bool) or getattr(value, "dtype", None) is not None and value.dtype.kind == "b":
        raise ValueError(f"{label} must be a whole number, not a bool (got {value!r})")
    if not isinstance(value, Integral):
        if isinstance(value, Real) and math.isfinite(float(value)) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{label} must be a whole number (got {value!r})")
    v = int(value)
    if hi is None and v > INT64_MAX:  # no count of an array can exceed it (a bound that depends on other
        hi = INT64_MAX               # fields, like K <= N - 1, is checked later, with a readable number)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ValueError(f"{must_be(label, lo, hi)} (got {_short(value)})")
    return v


#: The largest count (an int64 index)
INT64_MAX = 2**63 - 1


def check_grid(name: str, interval: float, dt: float) -> int:
    """Return ``interval / dt`` as a whole number of steps, or raise.

    Used for every interval that the simulation must hit exactly (learning
    every 5 ms with dt = 0.1 ms is 50 steps; 5.05 ms would fall between steps).
    """
    steps = interval / dt
    if not math.isfinite(steps) or steps > 2.0**62:  # an interval beyond any trial, or a vanishing dt
        raise ValueError(f"{name} must be a positive whole multiple of dt = {_fmt(dt)} ms, at most "
                         f"{MAX_STEPS:.0e} steps (got {_fmt(interval)} ms)")
    n = round(steps)
    if n < 1 or abs(steps - n) > 1e-9 * max(1.0, steps):
        raise ValueError(
            f"{name} must be a positive whole multiple of dt = {_fmt(dt)} ms (got {_fmt(interval)} ms)"
        )
    return n


def check_type(name: str, value, types, *, allow_none: bool = False):
    """Return ``value`` if it is an instance of ``types`` (or None, if allowed), else raise a TypeError.

    The message names the argument, the expected class(es) and what was passed,
    e.g. ``TypeError: params must be RateParams or RateNetwork (got SpikingParams)``.
    """
    if value is None and allow_none:
        return value
    if not isinstance(types, tuple):
        types = (types,)
    if isinstance(value, types):
        return value
    names = " or ".join(t.__name__ for t in types) + (" or None" if allow_none else "")
    shown = " ".join(repr(value).split())  # one line, also for an array
    raise TypeError(f"{name} must be {names} (got {type(value).__name__}: {shown:.80})")


def check_train_args(n_loops=None, callback=None, stop=None) -> int | None:
    """The arguments every ``train`` shares: ``n_loops`` (None, or a whole number >= 0: 0 trains
    nothing and returns the network as it is), ``callback`` (None or callable) and ``stop`` (None or
    an object with ``is_set()``, e.g. a ``threading.Event``). Returns ``n_loops`` as an int (or None)."""
    if n_loops is not None:
        n_loops = check_int("n_loops", n_loops, lo=0, hi=100_000, what="training loops")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None (got {type(callback).__name__})")
    if stop is not None and not callable(getattr(stop, "is_set", None)):
        raise TypeError(f"stop must have an is_set() method, e.g. a threading.Event (got {type(stop).__name__})")
    return n_loops


def count_from_fraction(fraction: float, n: int) -> int:
    """``fraction * n`` rounded to the nearest integer, halves up: THE rule of every derived count.

    ``count_from_fraction(0.005, 100) == 1`` and ``count_from_fraction(0.025, 100) == 3``
    (Python's ``round`` would give 0 and 2: it rounds halves to even). A product within
    1e-9 of a half counts as the half, so that a fraction printed from ``k / n``
    or ``(k - 0.5) / n`` gives back ``k``.
    """
    return int(math.floor(fraction * n + 0.5 + 1e-9))


def min_fraction(n: int) -> str:
    """The smallest fraction that :func:`count_from_fraction` turns into at least one of ``n``, as text
    with 3 significant digits, rounded up (so the value printed is one that is accepted)."""
    x = 0.5 / n
    e = math.floor(math.log10(x)) - 2
    return f"{math.ceil(x / 10.0 ** e - 1e-6) * 10.0 ** e:.3g}"


class MemoryEstimateError(ValueError):
    """The arrays a run would allocate do not fit in memory; raised before allocating any of them.

    ``needed`` and ``available`` are in bytes; ``parameters`` names the
    parameters that size the largest array; ``terms`` lists every estimated
    array as ``(what, bytes, parameters)``.
    """

    def __init__(self, message: str, needed: float, available: float, parameters: tuple, terms: list):
        super().__init__(message)
        self.needed = needed
        self.available = available
        self.parameters = parameters
        self.terms = terms


#: Environment variable: a memory limit in GiB for :func:`check_memory` (default: the memory available).
MEMORY_ENV = "TUTORIAL_MEMORY_GB"


def memory_limit() -> float:
    """Bytes a run may allocate: ``$TUTORIAL_MEMORY_GB`` if set, else the memory available now.

    "Available" is ``MemAvailable`` of ``/proc/meminfo`` (Linux), else the physical
    memory (``os.sysconf``); if neither can be read, no limit (infinity).
    """
    env = os.environ.get(MEMORY_ENV, "").strip()
    if env:
        try:
            return float(env) * 2**30
        except ValueError:
            pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return math.inf


def gib(x: float) -> str:
    return f"{x / 2**30:.3g} GiB" if x >= 2**27 else f"{x / 2**20:.3g} MiB"


def check_memory(params, n_trained: int | None = None, limit: float | None = None) -> float:
    """Estimate the bytes a run of ``params`` allocates; raise :class:`MemoryEstimateError` if too many.

    The estimate (``params.memory_terms(n_trained)``) counts the big arrays of
    one training loop and its test: recordings, connectivity, the RLS state,
    feedforward spikes, with their main temporaries. It errs on the large side
    (within a factor of about 2). The message names the parameters that size
    the largest array. ``limit`` defaults to :func:`memory_limit`. Returns the
    estimate in bytes.
    """
    terms = params.memory_terms(n_trained)
    total = float(sum(b for _, b, _ in terms))
    limit = memory_limit() if limit is None else limit
    if total > limit:
        what, big, names = max(terms, key=lambda t: t[1])
        lower = [n for n in names if n not in _RAISE_TO_SHRINK]
        higher = [n for n in names if n in _RAISE_TO_SHRINK]
        advice = " or ".join(lower) + (", or raise " + " or ".join(higher) if higher else "")
        raise MemoryEstimateError(
            f"{names[0]} too large for memory ({', '.join(names)} size it): {what} would need about "
            f"{gib(big)} ({gib(total)} in all), more than the {gib(limit)} available. Lower {advice}.",
            total, limit, tuple(names), terms)
    return total


_RAISE_TO_SHRINK = ("record_every", "learn_every")  # intervals: a larger one means fewer samples



#: Euler steps a trial may have at most: 1e8 steps are about 3 hours of model time at dt = 0.1 ms
#: (a SPEC trial has 30 000); longer trials would run for days, so they are refused by name.
MAX_STEPS = 1e8


# ---------------------------------------------------------------------------------------------- arrays


def real_array(name: str, x, *, bound: float, unit: str = "", noun: str = "numbers", hint: str = "",
               ndim: tuple | None = None):
    """``x`` as a float64 array, or a TypeError/ValueError naming ``name``: real numbers only (no bools,
    strings, None), ``x.ndim`` in ``ndim`` (None: any), all finite (the message says how many are not,
    then ``hint``) and within ``+-bound``. ``unit`` (e.g. ``"ms"``) and ``noun`` (``"numbers"``,
    ``"times"``) word the messages. The one array check of the statistics, PSTH, PCA and NWB functions.

    >>> real_array("t", [1, 2.5], bound=1e15, unit="ms")
    array([1. , 2.5])
    >>> real_array("t", [1.0, float("nan")], bound=1e15, unit="ms")
    Traceback (most recent call last):
    ValueError: t must be finite (ms): 1 of 2 are NaN or infinite
    """
    what = f" ({unit})" if unit else ""
    try:
        a = np.asarray(x)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(f"{name} must be an array of {noun} ({unit + '; ' if unit else ''}{exc})") from None
    if a.dtype.kind == "O":
        bad = [v for v in a.ravel() if isinstance(v, (bool, np.bool_)) or not isinstance(v, Real)]
        if bad:
            raise TypeError(f"{name} must hold {noun}{what} (got {type(bad[0]).__name__}: {bad[0]!r:.40})")
        try:
            a = a.astype(np.float64)
        except OverflowError:
            raise ValueError(f"{name} must be within +-{bound:g}{' ' + unit if unit else ''} (got a number "
                             "too large for a float)") from None
    if a.dtype.kind == "b":
        raise TypeError(f"{name} must hold {noun}{what}, not booleans")
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real {noun}{what} (got dtype {a.dtype})")
    if ndim is not None and a.ndim not in ndim:
        dims = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be a {dims} array{what} (got shape {a.shape})")
    a = a.astype(np.float64, copy=False)
    finite = np.isfinite(a)
    if not finite.all():
        raise ValueError(f"{name} must be finite{what}: {int((~finite).sum())} of {a.size} are NaN or "
                         f"infinite{hint}")
    far = np.abs(a) > bound
    if far.any():
        raise ValueError(f"{name} must be within +-{bound:g}{' ' + unit if unit else ''}: {int(far.sum())} of "
                         f"{a.size} are beyond (e.g. {a[far].ravel()[0]:g})")
    return a


def index_array(name: str, x, *, unique: bool = False):
    """``x`` as a 1-D int64 array of indices in ``[0, 2**63 - 1]``, checked before the conversion (an
    unsigned 2**64 - 1 does not wrap to -1, a huge Python int does not overflow), or a TypeError /
    ValueError naming ``name``; ``unique=True`` also refuses a repeated index.

    >>> index_array("neurons", [3, 0, 2**40])
    array([            3,             0, 1099511627776])
    >>> index_array("neurons", [1, 1], unique=True)
    Traceback (most recent call last):
    ValueError: neurons must not repeat an index
    """
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
    if lo < 0 or hi > INT64_MAX:
        raise ValueError(f"{name} must be in [0, 2**63 - 1] (got {lo if lo < 0 else hi})")
    a = np.array([int(v) for v in a], dtype=np.int64) if kind == "O" else a.astype(np.int64)
    if unique and np.unique(a).size != a.size:
        raise ValueError(f"{name} must not repeat an index")
    return a
