"""Argument checks of the RLS equations (:mod:`tutorial_lib.core.rls`) and of the engine's RLS states.

Each check names the argument and says what is allowed, and runs before anything is changed or
allocated; none touches the arithmetic of a step. The penalty rules (:func:`penalty_range`) hold
alike for the closed-form ridge solution and for every RLS state of the engine.
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np

from ..checks import must_be

#: The precisions of an RLS state (the compiled kernels are typed for these); the largest int64 index.
_STATE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))  # the compiled kernels are typed for these
INT64_MAX = int(np.iinfo(np.int64).max)


def state_dtype(dtype) -> np.dtype:
    """``dtype`` as a NumPy dtype, float32 or float64; anything else is refused naming ``dtype``."""
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"dtype (precision of the RLS state) must be float32 or float64 "
                        f"(got {dtype!r})") from None
    if dt not in _STATE_DTYPES:
        raise ValueError(f"dtype (precision of the RLS state) must be float32 or float64 "
                         f"(got {dt.name if dt.isnative else dt.str})")
    return dt


def _round_inwards(x: float, up: bool) -> float:
    """``x`` rounded to 3 significant digits, up or down, as the double nearest that decimal (so that the
    number printed in a message is the number accepted)."""
    e = math.floor(math.log10(x)) - 2
    digits = x / 10.0 ** e
    return float(f"{math.ceil(digits) if up else math.floor(digits)}e{e}")


def penalty_range(dtype=np.float64) -> tuple[float, float]:
    """The penalties an RLS state of ``dtype`` accepts: ``(lo, hi)``, (1.5e-154, 6.7e+153) in float64 and
    (1.09e-19, 9.22e+18) in float32. A scalar penalty ``lam`` must lie in ``[lo, hi]``; a penalty matrix
    must have its diagonal there, and the diagonal of its inverse in ``[1 / hi, 1 / lo]``.

    Why: ``P`` starts as ``I / lam``, and a step subtracts ``c k k^T`` with ``k = P x``: for activities of
    order one (rates in 1/ms, filtered spike trains) it multiplies two entries of ``P``, about
    ``1 / lam^2``. Both ``1 / lam`` and ``1 / lam^2`` must be finite normal numbers of the dtype, i.e.
    ``1 / lam^2`` in ``[tiny, 1 / tiny]`` (``tiny`` the smallest normal number, about ``1 / max``):
    ``lam`` in ``[sqrt(tiny), 1 / sqrt(tiny)]``. Below, ``1 / lam^2`` leaves that range and soon overflows
    (``rls_update`` gives an infinite ``P``; for a subnormal ``lam``, such as 1e-320 in float64,
    ``1 / lam`` itself is infinite, and ``P`` with it); above, the products underflow
    to subnormals and zero, so ``P`` loses its digits and stops learning. The bounds are rounded
    inwards to 3 digits. For a matrix, the diagonal entries play the part of ``lam`` (the largest
    entries of a symmetric positive definite matrix are on its diagonal), and those of its inverse
    the part of ``1 / lam``. Part 3's penalties (1e-4 to 10) are far inside both ranges.
    """
    tiny = float(np.finfo(state_dtype(dtype)).tiny)
    return _round_inwards(math.sqrt(tiny), up=True), _round_inwards(1.0 / math.sqrt(tiny), up=False)


def _fmt3(x: float) -> str:
    return f"{x:.3g}"


def _label(name: str, what: str) -> str:
    return f"{name} ({what})" if what else name


def real_array(name: str, value, what: str = "") -> np.ndarray:
    """``np.asarray(value)`` if it holds real numbers (ints or floats); else a TypeError naming ``name``."""
    label = _label(name, what)
    if value is None:
        raise TypeError(f"{label} must be a real number or an array of them (got None)")
    try:
        a = np.asarray(value)
    except (TypeError, ValueError):  # a ragged nesting of lists
        raise ValueError(f"{label} must be a real number or a regular array of them "
                         "(got a ragged sequence)") from None
    if a.dtype.kind not in "iuf":
        got = "bools" if a.dtype.kind == "b" else a.dtype.name
        raise TypeError(f"{label} must hold real numbers (got {got})")
    return a


def _where(idx, rows: str = "row", cols: str = "column") -> str:
    """The position ``idx`` (a tuple of indices) in words: ``entry 3``, ``row 1, column 2``."""
    idx = tuple(int(i) for i in idx)
    if len(idx) == 1:
        return f"entry {idx[0]}"
    if len(idx) == 2:
        return f"{rows} {idx[0]}, {cols} {idx[1]}"
    return f"entry {idx}"


def check_finite(name: str, a: np.ndarray, rows: str = "row", cols: str = "column", tail: str = "") -> None:
    """Refuse a NaN or infinity in ``a``, naming ``name``, the first such entry and how many there are."""
    ok = np.isfinite(a)
    if not ok.all():
        if a.ndim == 0:
            raise ValueError(f"{name} must be finite (got {a.item()}){tail}")
        first = tuple(np.argwhere(~ok)[0])
        raise ValueError(f"{name} must be finite: {_where(first, rows, cols)} is {a[first]} "
                         f"({a.size - int(ok.sum())} non-finite in all){tail}")


def index_array(name: str, value, ndim: int, shape_text: str, hi: int | None = None,
                 what: str = "") -> np.ndarray:
    """``value`` as a C-contiguous int64 array of ``ndim`` dimensions with entries in ``[0, hi]``
    (``hi`` default: the largest int64). Bools, fractions, NaN and text are refused; the range is
    checked on the values as given, before the conversion (an unsigned ``2**64 - 1`` or a Python
    ``2**70`` must not wrap around)."""
    label = _label(name, what)
    if value is None:
        raise TypeError(f"{label} must be {shape_text} of whole-number indices (got None)")
    try:
        a = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be {shape_text} of whole-number indices "
                         "(got a ragged sequence)") from None
    if a.ndim != ndim:
        raise ValueError(f"{label} must be {shape_text} (got shape {a.shape})")
    kind = a.dtype.kind
    if kind == "b":
        raise TypeError(f"{label} must hold whole-number indices, not bools")
    if kind == "O" and not all(isinstance(v, Integral) and not isinstance(v, bool) for v in a.flat):
        kind = "?"
    if kind not in "iufO":
        raise TypeError(f"{label} must hold whole-number indices (got {a.dtype.name})")
    if kind == "f":
        frac = ~np.isfinite(a) | (a != np.round(a))
        if frac.any():
            first = tuple(np.argwhere(frac)[0])
            raise ValueError(f"{label} must hold whole-number indices (got {a[first]} at {_where(first)})")
    top = INT64_MAX if hi is None else hi
    if a.size:
        lo_v, hi_v = (min(a.flat), max(a.flat)) if kind == "O" else (a.min(), a.max())
        if lo_v < 0 or hi_v > top:
            out = np.argwhere((a < 0) | (a > top)) if kind != "O" else np.argwhere(
                np.vectorize(lambda v: v < 0 or v > top, otypes=[bool])(a))
            first = tuple(out[0])
            v = a[first]
            raise ValueError(f"{label} must hold non-negative indices in [0, {top}] "
                             f"(got {int(v) if kind != 'f' else v} at {_where(first)})")
    return np.ascontiguousarray(a, dtype=np.int64)


def check_lam(name: str, value, dtype, what: str = "RLS regulariser lambda") -> float:
    """A scalar penalty ``lam``: a real number in :func:`penalty_range` for ``dtype``, else refused by
    name."""
    a = real_array(name, value, what)
    if a.ndim != 0:
        raise ValueError(f"{_label(name, what)} must be a single number (got shape {a.shape})")
    v = float(a)
    lo, hi = penalty_range(dtype)
    if not lo <= v <= hi:  # NaN fails too
        raise ValueError(f"{must_be(_label(name, what), lo, hi, fmt=_fmt3)} for a {np.dtype(dtype).name} RLS "
                         f"state: P starts as I / {name}, and its entries and their products must stay finite "
                         f"normal numbers (see core.rls_checks.penalty_range; got {v!r})")
    return v


def checked_penalty(name: str, penalty, n: int | None, m: int, dtype, what: str = "RLS regulariser lambda"):
    """The penalty as a float64 array, checked, and its inverse (None for a scalar): a scalar in
    :func:`penalty_range`, or an ``(m, m)`` (or, if ``n`` is given, ``(n, m, m)``) finite, symmetric,
    positive definite matrix with its diagonal in that range and its inverse's in the inverse range."""
    pen = real_array(name, penalty, what)
    if pen.ndim == 0:
        check_lam(name, pen, dtype, what)
        return np.asarray(pen, dtype=np.float64), None
    shapes = ((m, m),) if n is None else ((m, m), (n, m, m))
    if pen.shape not in shapes:
        allowed = f"({m}, {m})" + ("" if n is None else f" or ({n}, {m}, {m})")
        raise ValueError(f"{name} must be a scalar or a matrix of shape {allowed} (got shape {pen.shape})")
    pen = np.asarray(pen, dtype=np.float64)
    if not np.all(np.isfinite(pen)):
        first = tuple(np.argwhere(~np.isfinite(pen))[0])
        raise ValueError(f"{name} must be finite (got {pen[first]} at index {tuple(int(i) for i in first)})")

    def whose(k):  # the neuron of a per-neuron penalty
        return f" (neuron {k}'s is not)" if pen.ndim == 3 else ""

    sym = np.isclose(pen, np.swapaxes(pen, -1, -2), rtol=1e-12, atol=0).reshape(-1, m * m).all(axis=1)
    if not sym.all():
        raise ValueError(f"{name} must be a symmetric matrix{whose(int(np.argmin(sym)))}")
    try:
        np.linalg.cholesky(pen)
    except np.linalg.LinAlgError:
        bad = 0
        for k, pk in enumerate(pen.reshape(-1, m, m)):  # which one (only on this path)
            try:
                np.linalg.cholesky(pk)
            except np.linalg.LinAlgError:
                bad = k
                break
        low = float(np.linalg.eigvalsh(pen.reshape(-1, m, m)[bad])[0])
        raise ValueError(f"{name} must be positive definite{whose(bad)}: its smallest eigenvalue is "
                         f"{low:.3g}") from None
    lo, hi = penalty_range(dtype)
    try:
        inv = np.linalg.inv(pen)
    except np.linalg.LinAlgError:
        inv = np.full_like(pen, np.inf)
    diag = np.diagonal(pen, axis1=-2, axis2=-1)
    idiag = np.diagonal(inv, axis1=-2, axis2=-1)
    for of, d, a, b in (("its diagonal", diag, lo, hi),
                        ("its inverse's diagonal (P's)", idiag, 1 / hi, 1 / lo)):
        out = ~((d >= a) & (d <= b))
        if out.any():
            first = tuple(np.argwhere(out)[0])
            where = f"neuron {first[0]}, entry {first[1]}" if d.ndim == 2 else f"entry {first[0]}"
            raise ValueError(f"{name} must have its diagonal in [{_fmt3(lo)}, {_fmt3(hi)}] and its inverse's "
                             f"in [1/{_fmt3(hi)}, 1/{_fmt3(lo)}] for a {np.dtype(dtype).name} RLS state, as a "
                             f"scalar penalty (see core.rls_checks.penalty_range; {of} has {d[first]:g} "
                             f"at {where})")
    inv = 0.5 * (inv + np.swapaxes(inv, -1, -2))  # exactly symmetric
    return pen, inv



def state_arg(name: str, a, shape, what: str, square: bool = False, ndim: int = 2) -> np.ndarray:
    """A state array that a plain step updates in place: a writeable float64 or float32 NumPy array of
    ``shape`` (or, if ``square``, of ``ndim`` dimensions whose last two are equal), else refused by name."""
    label = _label(name, what)
    if not isinstance(a, np.ndarray) or a.dtype not in _STATE_DTYPES or not a.flags.writeable:
        got = f"{a.dtype} array" if isinstance(a, np.ndarray) else type(a).__name__
        got += "" if not isinstance(a, np.ndarray) or a.flags.writeable else ", read-only"
        raise TypeError(f"{label} must be a writeable float64 or float32 NumPy array, updated in place "
                        f"(got {got})")
    if square:
        if a.ndim != ndim or a.shape[-1] != a.shape[-2] or a.shape[-1] < 1:
            form = "(m, m)" if ndim == 2 else "(n, m, m)"
            raise ValueError(f"{label} must have shape {form} (got {a.shape})")
    elif a.shape != shape:
        raise ValueError(f"{label} must have shape {shape} (got {a.shape})")
    return a


def input_arg(name: str, v, shapes, what: str) -> np.ndarray:
    """An input of a plain step: real, of one of ``shapes`` (a shape, or a tuple of shapes) and finite,
    else refused by name."""
    a = real_array(name, v, what)
    shapes = (shapes,) if not shapes or not isinstance(shapes[0], tuple) else shapes
    if a.shape not in shapes:
        arrays = [str(sh) for sh in shapes if sh != ()]
        allowed = " or ".join((["be a single number"] if () in shapes else [])
                              + ([f"have shape {' or '.join(arrays)}"] if arrays else []))
        raise ValueError(f"{_label(name, what)} must {allowed} (got shape {a.shape})")
    check_finite(name, a)
    return a


def check_pooled_args(Pr, H, Q, w, idx, p, f, target, other) -> np.ndarray:
    """The arguments of :func:`.rls_pooled_update`, refused by name unless consistent; returns ``idx`` as
    int64."""
    n, mp, _ = state_arg("Pr", Pr, None, "inverse Schur complements", square=True, ndim=3).shape
    nf = state_arg("Q", Q, None, "the shared block's inverse", square=True).shape[0]
    if not isinstance(H, np.ndarray) or H.ndim != 2:
        state_arg("H", H, ("S", nf), "regression of the pool on the shared inputs")
    S = H.shape[0]
    state_arg("H", H, (S, nf), "regression of the pool on the shared inputs")
    state_arg("w", w, (n, mp + nf), "weights, private first")
    check_finite("w", w, rows="neuron", cols="input")
    idx = index_array("idx", idx, 2, "a 2-D array (neurons, private inputs) of rows of H", hi=S - 1)
    if idx.shape != (n, mp):
        raise ValueError(f"idx (rows of H) must have shape ({n}, {mp}) (got {idx.shape})")
    input_arg("p", p, (S,), "the pool's activity")
    input_arg("f", f, (nf,), "the shared inputs' activity")
    input_arg("target", target, ((), (n,)), "targets")
    input_arg("other", other, ((), (n,)), "non-plastic inputs")
    return idx
