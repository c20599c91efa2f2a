r"""Recursive least squares (RLS) for many neurons at once.

Each trained neuron :math:`i` owns a weight vector :math:`\mathbf w_i` over its
plastic inputs and a matrix :math:`P_i`. At a learning step, with
:math:`\mathbf x` the activity of the neuron's plastic inputs, :math:`f` its
target and ``other`` any input to the neuron that is not plastic:

.. math::

    \mathbf k &= P_i \mathbf x, \qquad c = \frac{1}{1 + \mathbf x^\top \mathbf k} \\
    P_i &\leftarrow P_i - c\, \mathbf k \mathbf k^\top \\
    e &= \mathbf w_i \cdot \mathbf x + \text{other} - f \quad \text{(error before the update)} \\
    \mathbf w_i &\leftarrow \mathbf w_i - e\, c\, \mathbf k

Starting from :math:`P_i = \Lambda^{-1}` (``Lambda`` the penalty matrix, ``lam * I``
in parts 1 and 2) and :math:`\mathbf w_i = \mathbf w_0`, after any number of steps
:math:`\mathbf w_i` is exactly the minimiser of

.. math::

    \sum_t (\mathbf w \cdot \mathbf x_t + \text{other}_t - f_t)^2
    + (\mathbf w - \mathbf w_0)^\top \Lambda (\mathbf w - \mathbf w_0),

the ridge-regression solution :func:`ridge_solution` computes in closed form.

All neurons are held as one batch: ``P`` has shape ``(n, m, m)``, ``w`` shape
``(n, m)`` and ``presyn`` shape ``(n, m)`` (neuron ``n``'s inputs are
``activity[presyn[n]]``). Neurons may have different presynaptic sets, but the
same number ``m`` of them.

Getting started::

    >>> import numpy as np
    >>> from tutorial_lib.rls import BatchRLS
    >>> rls = BatchRLS(presyn=np.array([[1, 2], [0, 2]]), penalty=0.5)
    >>> err = rls.update(activity=np.array([0.2, 1.0, 0.5]), target=np.array([1.0, -1.0]))
    >>> rls.w.shape
    (2, 2)

Why one module of about 1000 lines: it holds one algorithm in five forms that must stay equal,
read in this order: the plain step as in the SPEC (:func:`rls_update`), one ``P`` per neuron
(:class:`BatchRLS`), one shared ``P`` for all-to-all networks (:class:`SharedPoolRLS`), the
shared feed-forward block (:class:`SharedInputRLS`) and its form with the regression block held
once for the input pool (:class:`PooledInputRLS`), each exact form with its derivation, and
the thread split they share. Apart, each would need the others to be understood.

Why numba: the update is two passes over each ``m x m`` matrix. NumPy would
need a batched matrix-vector product, an outer product and a subtraction, with
a temporary of the size of ``P`` in between; the compiled loop makes one pass
for ``k`` and one for the update and allocates nothing (see
``python -m benchmarks rls``).

References
----------
* Haykin S (2002) Adaptive Filter Theory, 4th ed., ch. 9 (RLS, and its equality with the
  regularised least-squares solution).
* Sussillo D, Abbott LF (2009) Neuron 63:544-557. doi:10.1016/j.neuron.2009.07.018 (RLS
  inside a running network: FORCE learning).
* Kim CM, Chow CC (2018) Learning recurrent dynamics in spiking networks. eLife 7:e37124.
  doi:10.7554/eLife.37124 (one RLS problem per neuron, with its own inputs: the batch form).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor, wait
from numbers import Integral, Real

import numpy as np
from numba import njit

from .interrupts import held
from .checks import MemoryEstimateError, gib, must_be, check_int, memory_limit

__all__ = ["BatchRLS", "SharedPoolRLS", "SharedInputRLS", "make_rls", "rls_update", "rls_update_batch",
           "rls_step", "rls_batch_step",
           "rls_shared_step", "rls_block_step", "ridge_solution",
           "PooledInputRLS", "rls_pooled_update", "rls_pooled_step", "penalty_range"]


# No kernel here is compiled with fastmath: sums allowed to be reordered follow the CPU's vector width and
# contracted products its FMA units, so the last bits (and a chaotic network's result) would depend
# on the machine. Every sum runs in one fixed order (tests/test_same_result.py).


# ---------------------------------------------------------------------------
# The update as written in the SPEC, in plain NumPy: read these first. The compiled
# forms below compute exactly the same (tests/test_rls.py proves it).


def _state_arg(name: str, a, shape, what: str, square: bool = False, ndim: int = 2) -> np.ndarray:
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


def _input_arg(name: str, v, shapes, what: str) -> np.ndarray:
    """An input of a plain step: real, of one of ``shapes`` (a shape, or a tuple of shapes) and finite,
    else refused by name."""
    a = _real_array(name, v, what)
    shapes = (shapes,) if not shapes or not isinstance(shapes[0], tuple) else shapes
    if a.shape not in shapes:
        arrays = [str(sh) for sh in shapes if sh != ()]
        allowed = " or ".join((["be a single number"] if () in shapes else [])
                              + ([f"have shape {' or '.join(arrays)}"] if arrays else []))
        raise ValueError(f"{_label(name, what)} must {allowed} (got shape {a.shape})")
    _check_finite(name, a)
    return a


def _check_pooled_args(Pr, H, Q, w, idx, p, f, target, other) -> np.ndarray:
    """The arguments of :func:`rls_pooled_update`, refused by name unless consistent; returns ``idx`` as
    int64."""
    n, mp, _ = _state_arg("Pr", Pr, None, "inverse Schur complements", square=True, ndim=3).shape
    nf = _state_arg("Q", Q, None, "the shared block's inverse", square=True).shape[0]
    if not isinstance(H, np.ndarray) or H.ndim != 2:
        _state_arg("H", H, ("S", nf), "regression of the pool on the shared inputs")
    S = H.shape[0]
    _state_arg("H", H, (S, nf), "regression of the pool on the shared inputs")
    _state_arg("w", w, (n, mp + nf), "weights, private first")
    _check_finite("w", w, rows="neuron", cols="input")
    idx = _index_array("idx", idx, 2, "a 2-D array (neurons, private inputs) of rows of H", hi=S - 1)
    if idx.shape != (n, mp):
        raise ValueError(f"idx (rows of H) must have shape ({n}, {mp}) (got {idx.shape})")
    _input_arg("p", p, (S,), "the pool's activity")
    _input_arg("f", f, (nf,), "the shared inputs' activity")
    _input_arg("target", target, ((), (n,)), "targets")
    _input_arg("other", other, ((), (n,)), "non-plastic inputs")
    return idx


def rls_update(P, w, x, f, other=0.0):
    r"""One RLS step for one neuron, in place, as in the SPEC; returns the error before the update.

    .. math::

        \mathbf k = P \mathbf x, \quad c = \frac{1}{1 + \mathbf x \cdot \mathbf k}, \quad
        P \leftarrow P - c\, \mathbf k \mathbf k^\top, \quad
        e = \mathbf w \cdot \mathbf x + \text{other} - f, \quad
        \mathbf w \leftarrow \mathbf w - e\, c\, \mathbf k

    Parameters
    ----------
    P : (m, m) float array, the inverse of the regularised correlation matrix; updated in place.
    w : (m,) float array, the weights of the neuron's plastic inputs; updated in place.
    x : (m,) the plastic inputs' activity now (rates, or filtered spike trains, 1/ms).
    f : float, the target of the neuron's total input now.
    other : float, the part of the total input that is not plastic (0 in Part 1).

    Raises
    ------
    ValueError or TypeError, naming the argument, before anything is changed: ``P`` or ``w`` not
    a writeable float64 or float32 NumPy array of shape (m, m) and (m,); ``x`` not (m,) real;
    ``f`` or ``other`` not a single real number; a NaN or infinity in ``w``, ``x``, ``f`` or
    ``other``. ``P`` is not scanned (a pass over it would cost as much as the step): start it
    from a finite inverse penalty, e.g. ``I / lam``.

    References
    ----------
    Haykin (2002) Adaptive Filter Theory, ch. 9; Sussillo and Abbott (2009) Neuron 63:544,
    doi:10.1016/j.neuron.2009.07.018.

    Examples
    --------
    Two steps from ``P = I / lambda`` give the ridge-regression weights of the two samples:

    >>> import numpy as np
    >>> P, w = np.eye(2) / 0.5, np.zeros(2)
    >>> X, y = np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([1.0, 2.0])
    >>> errors = [rls_update(P, w, x, f) for x, f in zip(X, y)]
    >>> bool(np.allclose(w, ridge_solution(X, y, 0.5)))
    True
    """
    m = _state_arg("P", P, None, "inverse correlation matrix", square=True).shape[0]
    _state_arg("w", w, (m,), "weights")
    _check_finite("w", w)
    _input_arg("x", x, (m,), "the plastic inputs' activity")
    _input_arg("f", f, (), "target")
    _input_arg("other", other, (), "non-plastic input")
    k = P @ x
    c = 1.0 / (1.0 + x @ k)
    P -= c * np.outer(k, k)
    e = w @ x + other - f
    w -= e * c * k
    return e


def rls_update_batch(P, w, x, f, other=0.0):
    """:func:`rls_update` for ``n`` neurons at once, vectorised with NumPy (no Python loop).

    ``P`` (n, m, m), ``w`` (n, m), ``x`` (n, m) each neuron's plastic inputs,
    ``f`` and ``other`` (n,) or scalars; ``P`` and ``w`` are updated in place;
    returns the (n,) errors. The NumPy baseline of ``python -m benchmarks rls``.

    Raises ValueError or TypeError, naming the argument, before anything is changed, for a
    ``P`` or ``w`` that is not a writeable float64 or float32 array of shape (n, m, m) or (n, m),
    any other shape, or a NaN or infinity in ``w``, ``x``, ``f`` or ``other`` (``P`` is not
    scanned, as in :func:`rls_update`).
    """
    n, m, _ = _state_arg("P", P, None, "inverse correlation matrices", square=True, ndim=3).shape
    _state_arg("w", w, (n, m), "weights")
    _check_finite("w", w, rows="neuron", cols="input")
    _input_arg("x", x, (n, m), "each neuron's plastic inputs' activity")
    _input_arg("f", f, ((), (n,)), "targets")
    _input_arg("other", other, ((), (n,)), "non-plastic inputs")
    k = np.einsum("nij,nj->ni", P, x)
    c = 1.0 / (1.0 + np.einsum("ni,ni->n", x, k))
    e = np.einsum("ni,ni->n", w, x) + other - f
    P -= (c[:, None, None] * k[:, :, None]) * k[:, None, :]
    w -= (e * c)[:, None] * k
    return e


@njit(cache=True, nogil=True)
def rls_step(P, w, x, f, other, k):
    """:func:`rls_update` compiled: one neuron's update in place; returns the error before it.

    ``P`` (m, m), ``w`` (m,), ``x`` (m,) the plastic-input activity, ``f`` the
    target, ``other`` the non-plastic input, ``k`` (m,) scratch space. Two passes
    over ``P`` and no temporary arrays; equal to :func:`rls_update`
    (``tests/test_rls.py::test_compiled_step_equals_the_plain_numpy_step``).
    """
    m = x.shape[0]
    # k = P x and the neuron's plastic input w . x; four rows of P at a time (four sums in flight, each in
    # the order b = 0, 1, ...: the bits of the one-row loop, faster without fastmath)
    xk = 0.0
    wx = 0.0
    a = 0
    while a + 4 <= m:
        s0 = s1 = s2 = s3 = 0.0
        for b in range(m):
            xb = x[b]
            s0 += P[a, b] * xb
            s1 += P[a + 1, b] * xb
            s2 += P[a + 2, b] * xb
            s3 += P[a + 3, b] * xb
        k[a], k[a + 1], k[a + 2], k[a + 3] = s0, s1, s2, s3
        xk += x[a] * s0
        xk += x[a + 1] * s1
        xk += x[a + 2] * s2
        xk += x[a + 3] * s3
        for q in range(a, a + 4):
            wx += w[q] * x[q]
        a += 4
    for a in range(a, m):
        s = 0.0
        for b in range(m):
            s += P[a, b] * x[b]
        k[a] = s
        xk += x[a] * s
        wx += w[a] * x[a]
    c = 1.0 / (1.0 + xk)
    e = wx + other - f
    # P <- P - c k k^T ;  w <- w - e c k
    for a in range(m):
        ck = c * k[a]
        for b in range(m):
            P[a, b] -= ck * k[b]
        w[a] -= e * ck
    return e


@njit(cache=True, nogil=True)
def rls_batch_step(P, w, presyn, activity, target, other, err, scratch):
    """One RLS update for every neuron of a batch, in place.

    Neuron ``n`` sees ``x = activity[presyn[n]]``, target ``target[n]`` and
    non-plastic input ``other[n]``; its error is written to ``err[n]``.
    ``scratch`` is work space of shape (n, 2, m). Equal to :func:`rls_update_batch` on
    ``activity[presyn]`` (``tests/test_rls.py::test_compiled_batch_equals_the_plain_numpy_batch``).
    """
    n, m = presyn.shape
    for i in range(n):
        x = scratch[i, 0]
        for a in range(m):
            x[a] = activity[presyn[i, a]]
        err[i] = rls_step(P[i], w[i], x, target[i], other[i], scratch[i, 1])


def default_threads() -> int:
    """Threads for RLS: ``$TUTORIAL_LIB_THREADS`` if set, else the CPU cores this process may use."""
    env = os.environ.get("TUTORIAL_LIB_THREADS", "").strip()
    if env:
        try:
            threads = int(env)
        except ValueError:
            threads = 0
        if threads < 1:
            raise ValueError(f"$TUTORIAL_LIB_THREADS (CPU threads for RLS) must be a whole number >= 1 "
                             f"(got {env!r})")
        return threads
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool(n: int) -> ThreadPoolExecutor:
    if n not in _POOLS:
        _POOLS[n] = ThreadPoolExecutor(max_workers=n, thread_name_prefix="rls")
    return _POOLS[n]


def _run_chunks(kernel, args, per, chunks) -> None:
    """``kernel(*args)`` once per chunk (a slice), the arguments at the positions ``per`` sliced to it:
    the first chunk in this thread, the others on the thread pool at the same time (one hand-over
    fewer than sending them all out: a pool thread takes ~0.1 ms to wake up). Returns when every
    chunk is done, even if one failed (then it raises that failure); a KeyboardInterrupt is held back
    until then (:func:`~tutorial_lib.interrupts.held`), so no worker writes after it."""
    if len(chunks) == 1:
        kernel(*args)
        return

    def part(c):
        return [a[c] if i in per else a for i, a in enumerate(args)]

    with held():
        futures = [_pool(len(chunks) - 1).submit(kernel, *part(c)) for c in chunks[1:]]
        try:
            kernel(*part(chunks[0]))
        finally:
            wait(futures)  # all of them, even if this thread's chunk failed
        for f in futures:
            f.result()


# Below this many multiply-adds per update, one thread is faster than handing out work.
_THREAD_MIN_WORK = 200_000


# ---------------------------------------------------------------------------
# Input validation, shared by every entry point below. Each check names the parameter and its valid
# range, and runs before the state is allocated; none touches the arithmetic of a step.

_STATE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))  # the compiled kernels are typed for these
_INT64_MAX = int(np.iinfo(np.int64).max)


def _state_dtype(dtype) -> np.dtype:
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
    tiny = float(np.finfo(_state_dtype(dtype)).tiny)
    return _round_inwards(math.sqrt(tiny), up=True), _round_inwards(1.0 / math.sqrt(tiny), up=False)


def _fmt3(x: float) -> str:
    return f"{x:.3g}"


def _label(name: str, what: str) -> str:
    return f"{name} ({what})" if what else name


def _real_array(name: str, value, what: str = "") -> np.ndarray:
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


def _check_finite(name: str, a: np.ndarray, rows: str = "row", cols: str = "column", tail: str = "") -> None:
    """Refuse a NaN or infinity in ``a``, naming ``name``, the first such entry and how many there are."""
    ok = np.isfinite(a)
    if not ok.all():
        if a.ndim == 0:
            raise ValueError(f"{name} must be finite (got {a.item()}){tail}")
        first = tuple(np.argwhere(~ok)[0])
        raise ValueError(f"{name} must be finite: {_where(first, rows, cols)} is {a[first]} "
                         f"({a.size - int(ok.sum())} non-finite in all){tail}")


def _index_array(name: str, value, ndim: int, shape_text: str, hi: int | None = None,
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
    top = _INT64_MAX if hi is None else hi
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


def _check_distinct_rows(name: str, a: np.ndarray, what: str = "input") -> None:
    """Refuse an index repeated within a row of ``a`` (n, m), naming the first such row: RLS would give
    one input two weights, of which a network's weight matrix keeps only one."""
    s = np.sort(a, axis=1)
    rep = s[:, 1:] == s[:, :-1]
    if rep.any():
        i, j = np.argwhere(rep)[0]
        raise ValueError(f"{name} must list each {what} at most once per row (neuron): row {i} lists {what} "
                         f"{s[i, j]} more than once")


def _presyn_array(presyn, inputs: str) -> np.ndarray:
    """``presyn`` as an (n, m) int64 array with n, m >= 1 and indices >= 0, else refused naming ``presyn``."""
    presyn = _index_array("presyn", presyn, 2, f"a 2-D array (neurons, {inputs})")
    if presyn.shape[0] < 1 or presyn.shape[1] < 1:
        raise ValueError(f"presyn must be a 2-D array (neurons, {inputs}) with at least one of each "
                         f"(got shape {presyn.shape})")
    return presyn


def _check_threads(threads):
    """None (:func:`default_threads`), or a whole number >= 1, else refused naming ``threads``."""
    if threads is None:
        return None
    return check_int("threads", threads, lo=1, what="CPU threads for RLS")


def _check_state_memory(names: tuple, terms: list, advice: str) -> None:
    """Raise :class:`~tutorial_lib.checks.MemoryEstimateError`, naming ``names[0]``, if the arrays
    ``terms`` (``(what, bytes)``) would exceed :func:`~tutorial_lib.checks.memory_limit`."""
    total = float(sum(b for _, b in terms))
    limit = memory_limit()
    if total > limit:
        what, big = max(terms, key=lambda t: t[1])
        sized = f" ({', '.join(names)} size it)" if len(names) > 1 else ""
        raise MemoryEstimateError(
            f"{names[0]} too large for memory{sized}: {what} would need about {gib(big)} "
            f"({gib(total)} in all), "
            f"more than the {gib(limit)} available. Lower {advice}.",
            total, limit, tuple(names), [(w, b, tuple(names)) for w, b in terms])


def _check_lam(name: str, value, dtype, what: str = "RLS regulariser lambda") -> float:
    """A scalar penalty ``lam``: a real number in :func:`penalty_range` for ``dtype``, else refused by
    name."""
    a = _real_array(name, value, what)
    if a.ndim != 0:
        raise ValueError(f"{_label(name, what)} must be a single number (got shape {a.shape})")
    v = float(a)
    lo, hi = penalty_range(dtype)
    if not lo <= v <= hi:  # NaN fails too
        raise ValueError(f"{must_be(_label(name, what), lo, hi, fmt=_fmt3)} for a {np.dtype(dtype).name} RLS "
                         f"state: P starts as I / {name}, and its entries and their products must stay finite "
                         f"normal numbers (see rls.penalty_range; got {v!r})")
    return v


def _checked_penalty(name: str, penalty, n: int | None, m: int, dtype, what: str = "RLS regulariser lambda"):
    """The penalty as a float64 array, checked, and its inverse (None for a scalar): a scalar in
    :func:`penalty_range`, or an ``(m, m)`` (or, if ``n`` is given, ``(n, m, m)``) finite, symmetric,
    positive definite matrix with its diagonal in that range and its inverse's in the inverse range."""
    pen = _real_array(name, penalty, what)
    if pen.ndim == 0:
        _check_lam(name, pen, dtype, what)
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
                             f"scalar penalty (see rls.penalty_range; {of} has {d[first]:g} at {where})")
    inv = 0.5 * (inv + np.swapaxes(inv, -1, -2))  # exactly symmetric
    return pen, inv


def _penalty_inverse(checked, n: int, m: int, dtype) -> np.ndarray:
    """Broadcast ``inv(penalty)`` to a batch of shape (n, m, m); ``checked`` from :func:`_checked_penalty`."""
    pen, inv = checked
    if inv is None:
        P = np.zeros((n, m, m), dtype=dtype)
        idx = np.arange(m)
        P[:, idx, idx] = 1.0 / float(pen)
        return P
    return np.array(np.broadcast_to(inv, (n, m, m)), dtype=dtype, order="C")  # a writeable copy


class _RLSState:
    """What both RLS forms share: the weights, the per-neuron arguments of an update, the output."""

    w: np.ndarray
    P: np.ndarray
    presyn: np.ndarray
    err: np.ndarray

    @staticmethod
    def _initial_weights(w0, n: int, m: int, dtype) -> np.ndarray:
        """A float copy of ``w0`` (zeros if None), refused by name unless real, of shape (n, m) and finite."""
        if w0 is None:
            return np.zeros((n, m), dtype=dtype)
        a = _real_array("w0", w0, "initial weights")
        if a.shape != (n, m):
            raise ValueError(f"w0 (initial weights) must have shape ({n}, {m}), one row per neuron "
                             f"(got {a.shape})")
        _check_finite("w0", a, rows="neuron", cols="input")
        return np.array(a, dtype=dtype)  # a copy

    @property
    def n_neurons(self) -> int:
        return self.presyn.shape[0]

    def _neuron_index(self, k) -> int:
        """``k`` as an int in ``[0, n_neurons - 1]``, else refused naming ``k``."""
        return check_int("k", k, lo=0, hi=self.n_neurons - 1, what="neuron index")

    def _check_activity(self, activity) -> None:  # pragma: no cover - overridden
        pass

    @property
    def _io_dtype(self):
        """The dtype of the activity, targets and errors that :meth:`step` expects: ``P``'s (the
        compiled loops take the activity in the state's precision), float64 for the block form."""
        return self.P.dtype

    def _split(self, threads, work: int) -> None:
        """Share the neurons out over ``threads`` threads (1 if an update is less than ``_THREAD_MIN_WORK``)."""
        n = self.n_neurons
        threads = default_threads() if threads is None else int(threads)
        if work < _THREAD_MIN_WORK:
            threads = 1
        self.threads = max(1, min(threads, n))
        edges = np.linspace(0, n, self.threads + 1).round().astype(int)
        self._chunks = [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]

    def _run(self, kernel, args, per_neuron) -> None:
        """``kernel(*args)``, or one call per chunk of neurons (:func:`_run_chunks`: the first in this
        thread, the others on the thread pool): the arguments at the positions ``per_neuron`` are
        sliced to the chunk, the others passed whole.

        All or nothing with respect to interruption: one compiled call cannot be
        interrupted, and with threads a KeyboardInterrupt (Ctrl-C, the notebook's
        interrupt) is held back until every chunk is done (see :mod:`tutorial_lib.interrupts`),
        so no worker writes after it, and the weights and ``P`` stay in step.
        """
        _run_chunks(kernel, args, per_neuron, self._chunks)

    def _activity(self, activity) -> np.ndarray:
        """``activity`` as an array, refused by name unless a 1-D array of real numbers long enough for
        every input (:meth:`_check_activity`)."""
        a = _real_array("activity", activity, "the inputs' activity")
        if a.ndim != 1:
            raise ValueError(f"activity must be a 1-D array, one entry per input (got shape {a.shape})")
        self._check_activity(a)
        return a

    def _per_neuron(self, name: str, value) -> np.ndarray:
        """``value`` as an array, refused by name unless real and a number or one per neuron."""
        a = _real_array(name, value)
        n = self.n_neurons
        if a.shape not in ((), (1,), (n,)):
            raise ValueError(f"{name} must be a number or an array of shape ({n},), one per neuron "
                             f"(got shape {a.shape})")
        return a

    def update(self, activity, target, other=None) -> np.ndarray:
        """One RLS step for all neurons; returns the errors before the update.

        Raises
        ------
        ValueError or TypeError, naming the argument, before anything is changed: ``activity`` not a
        1-D real array long enough for every input; ``target`` or ``other`` neither a number nor
        one per neuron; a NaN or infinity in any of them (one such step would make ``w`` and ``P``
        NaN for good), or, for a float32 state, a value beyond float32's range. The state is then
        left unchanged.
        """
        dtype = self._io_dtype
        tail = "; the RLS state was left unchanged"
        raw = {"activity": self._activity(activity), "target": self._per_neuron("target", target),
               "other": None if other is None else self._per_neuron("other", other)}
        big = float(np.finfo(dtype).max)
        for name, a in raw.items():
            if a is None:
                continue
            _check_finite(name, a.reshape(-1), tail=tail)
            if a.size and dtype != np.float64 and np.abs(a).max() > big:
                j = int(np.argmax(np.abs(a).reshape(-1) > big))
                raise ValueError(f"{name} must be within +-{big:.3g} for a {dtype.name} RLS state (got "
                                 f"{a.reshape(-1)[j]:g} at entry {j}){tail}")
        n = self.n_neurons
        activity = np.ascontiguousarray(raw["activity"], dtype=dtype)
        target = np.ascontiguousarray(np.broadcast_to(np.asarray(raw["target"], dtype=dtype), (n,)))
        other = np.zeros(n, dtype) if other is None else np.ascontiguousarray(
            np.broadcast_to(np.asarray(raw["other"], dtype=dtype), (n,)))
        self.step(activity, target, other)
        return self.err.copy()

    def step(self, activity, target, other) -> None:  # pragma: no cover - overridden
        """:meth:`update` without checks or copies, for the models' inner loops.

        Nothing is checked here. A NaN or infinity in ``activity``, ``target`` or ``other`` gives a
        non-finite ``err[i]`` for each neuron ``i`` whose target it is or whose inputs it reaches
        (in :class:`SharedPoolRLS`, every neuron but the one whose own pool entry it is, which shows
        it at the next step), and NaN weights from then on. That is the divergence check of Parts 2
        and 3: their simulation (:func:`tutorial_lib.spiking.simulate`) reads ``err`` after each
        step and stops with the first such neuron, reported as diverged (``"nonfinite"``); Part 1's
        stops at the first non-finite rate, before a step could read it
        (``tests/test_rls_validation.py``).
        """
        raise NotImplementedError

    def output(self, activity) -> np.ndarray:
        """The plastic input ``w_i . x_i`` of every neuron for this activity (a 1-D real array long enough
        for every input, else a ValueError or TypeError naming ``activity``)."""
        return np.einsum("nm,nm->n", self.w, self._activity(activity)[self.presyn])

    def state(self) -> dict:
        """The arrays that define the RLS state besides ``w`` (for saving), by name."""
        return {"P": self.P}

    def state_nbytes(self) -> int:
        """Bytes of the RLS state besides the weights, as it is held in memory."""
        return sum(a.nbytes for a in self.state().values())

    @staticmethod
    def _checked_state(arrays, expected: dict) -> dict:
        """The arrays of ``arrays`` named in ``expected`` (name: shape), each refused by name unless
        present, real, of that shape and finite."""
        if not isinstance(arrays, Mapping):
            raise TypeError(f"arrays (the RLS state) must be a dict of the arrays {tuple(expected)} "
                            f"(got {type(arrays).__name__})")
        missing = [name for name in expected if name not in arrays]
        if missing:
            raise ValueError(f"arrays (the RLS state) must hold the arrays {tuple(expected)} "
                             f"(missing {', '.join(map(repr, missing))})")
        checked = {}
        for name, shape in expected.items():
            label = f"arrays[{name!r}] (RLS state)"
            b = _real_array(label, arrays[name])
            if b.shape != shape:
                raise ValueError(f"{label} must have shape {shape} (got {b.shape})")
            _check_finite(label, b.reshape(-1))
            checked[name] = b
        return checked

    def set_state(self, arrays: dict) -> None:
        """Overwrite the state with ``arrays`` (as returned by :meth:`state`). Raises ValueError or
        TypeError, naming the array, before anything is written, for a missing array, a wrong shape
        or a NaN or infinity."""
        state = self.state()
        checked = self._checked_state(arrays, {name: a.shape for name, a in state.items()})
        for name, a in state.items():
            a[...] = checked[name]


class BatchRLS(_RLSState):
    """RLS state for ``n`` neurons with ``m`` plastic inputs each.

    Parameters
    ----------
    presyn : int array (n, m)
        ``presyn[i]`` lists the indices (into the activity vector passed to
        :meth:`update`) of neuron ``i``'s plastic inputs.
    penalty : float, (m, m) or (n, m, m) array
        The regulariser: ``lam`` for ``lam * I``, or any symmetric positive
        definite matrix. ``P`` starts as its inverse.
    w0 : (n, m) array, optional
        Initial weights (zero by default); the penalty then acts on ``w - w0``.
    dtype : the precision of ``P``: float64 (default) or float32 (the weights are always float64).
    threads : CPU threads to share the neurons out over, a whole number >= 1 (default
        :func:`default_threads`). Neurons are independent, so the result does
        not depend on it. (Threads rather than numba's ``parallel=True``: a
        cached compiled function that calls a parallel one can crash when it is
        loaded from the cache, numba issue #8578.)

    Raises
    ------
    ValueError or TypeError, naming the argument, before the state is allocated: ``presyn`` not a
    2-D array of whole-number indices >= 0 with at least one neuron and one input, or with an
    input repeated within a row; a penalty that is not a number in :func:`penalty_range` for
    ``dtype`` or a finite, symmetric positive definite matrix of the right shape with its
    diagonal in that range (and its inverse's in the inverse range); ``w0`` not real, finite
    and of shape (n, m); ``dtype`` not float32 or float64; ``threads`` not a whole number >= 1.
    MemoryEstimateError (a ValueError) if the state would not fit in memory.
    """

    def __init__(self, presyn, penalty, w0=None, dtype=np.float64, threads: int | None = None):
        dtype = _state_dtype(dtype)
        threads = _check_threads(threads)
        presyn = _presyn_array(presyn, "inputs")
        n, m = presyn.shape
        item = dtype.itemsize
        _check_state_memory(("presyn",), [
            (f"the RLS matrices P of {n} neurons with {m} inputs each (n m^2 numbers)",
             float(item) * n * m * m),
            ("the inverse of the penalty", 16.0 * (n if np.ndim(penalty) == 3 else 1) * m * m),
            ("the weights, indices and scratch space", float(n) * m * (16 + 2 * item))],
            "the number of neurons or of inputs per neuron (presyn's shape)")
        penalty = _checked_penalty("penalty", penalty, n, m, dtype)
        w = self._initial_weights(w0, n, m, np.float64)
        _check_distinct_rows("presyn", presyn)
        self.presyn = presyn
        self.P = _penalty_inverse(penalty, n, m, dtype)
        self.w = w
        self.err = np.zeros(n)
        self.scratch = np.zeros((n, 2, m), dtype=dtype)
        self._split(threads, n * m * m)

    @property
    def n_inputs(self) -> int:
        return self.presyn.shape[1]

    def _check_activity(self, activity) -> None:
        top = int(self.presyn.max())
        if top >= activity.shape[0]:
            raise ValueError(f"activity must have at least {top + 1} entries: presyn refers to index {top} "
                             f"(got {activity.shape[0]})")

    def step(self, activity, target, other) -> None:
        """:meth:`update` without checks or copies, for the models' inner loops.

        ``activity``, ``target`` and ``other`` must be contiguous arrays of the
        batch's dtype; the errors are left in ``self.err`` (a non-finite input shows there:
        :meth:`_RLSState.step`).
        """
        args = (self.P, self.w, self.presyn, activity, target, other, self.err, self.scratch)
        self._run(rls_batch_step, args, per_neuron=(0, 1, 2, 4, 5, 6, 7))


@njit(cache=True, nogil=True)
def rls_shared_step(P, w, rows, presyn, activity, target, other, err, q):
    """One RLS step for neurons that all read one pool, each without its own entry.

    ``P`` (S, S) is the pool's shared matrix, ``rows[k]`` the pool index of
    neuron ``k``, whose inputs ``presyn[k]`` are all the other S - 1 pool
    members; ``w``, ``target``, ``other``, ``err`` as in :func:`rls_batch_step`;
    ``q`` (S,) scratch. See :class:`SharedPoolRLS` for the derivation.
    """
    S = P.shape[0]
    rq = 0.0
    for a in range(S):  # q = P r,  rq = r . q
        s = 0.0
        for b in range(S):
            s += P[a, b] * activity[b]
        q[a] = s
        rq += activity[a] * s
    R, m = presyn.shape
    for k in range(R):
        i = rows[k]
        Pi = P[i]  # row i, equal to column i: P is symmetric
        h = q[i] / Pi[i]
        c = 1.0 / (1.0 + rq - q[i] * h)  # 1 / (1 + x . P_k x)
        wx = 0.0
        for a in range(m):
            wx += w[k, a] * activity[presyn[k, a]]
        e = wx + other[k] - target[k]
        err[k] = e
        ec = e * c
        for a in range(m):  # k_k = q_j - P_ji q_i / P_ii for every input j != i
            j = presyn[k, a]
            w[k, a] -= ec * (q[j] - Pi[j] * h)
    cc = 1.0 / (1.0 + rq)
    for a in range(S):  # P <- P - q q^T / (1 + r . q)
        qa = cc * q[a]
        for b in range(S):
            P[a, b] -= qa * q[b]


class SharedPoolRLS(_RLSState):
    r"""RLS for neurons that each read every member of one pool but themselves (all-to-all).

    The same result as :class:`BatchRLS` with ``presyn[k]`` = the pool without
    ``rows[k]`` and the penalty ``lam * I``, at a fraction of the cost: one
    ``S x S`` matrix instead of one ``(S-1) x (S-1)`` matrix per neuron, and
    ``O(S^2)`` work per update instead of ``O(R S^2)``.

    Why it is exact. Let :math:`A = \lambda I + \sum_t \mathbf r_t \mathbf r_t^\top`
    over the whole pool and :math:`P = A^{-1}`. Neuron :math:`i` sees every
    input but its own, so its matrix :math:`A_i` is :math:`A` without row and
    column :math:`i`, and the inverse of such a block is a Schur complement of
    :math:`P`:

    .. math::

        P_i = P_{-i,-i} - \frac{P_{-i,i} P_{i,-i}}{P_{ii}}.

    With :math:`\mathbf q = P \mathbf r` (shared by all neurons) the quantities
    of neuron :math:`i`'s update follow in :math:`O(S)`:

    .. math::

        P_i \mathbf r_{-i} = \mathbf q_{-i} - P_{-i,i} \frac{q_i}{P_{ii}}, \qquad
        \mathbf r_{-i}^\top P_i \mathbf r_{-i} = \mathbf r \cdot \mathbf q - \frac{q_i^2}{P_{ii}},

    and only the shared :math:`P` needs the rank-one update
    :math:`P \leftarrow P - \mathbf q \mathbf q^\top / (1 + \mathbf r \cdot \mathbf q)`.
    ``tests/test_rls.py`` checks that both classes give the same weights.

    Parameters
    ----------
    n_pool : size S of the pool (the activity vector passed to :meth:`update`).
    rows : pool index of each trained neuron.
    lam : the regulariser (``P`` starts as ``I / lam``), a number in :func:`penalty_range` for ``dtype``.
    w0 : (R, S-1) initial weights, in the order of :attr:`presyn`.
    dtype : the precision of ``P``: float64 (default) or float32.

    Raises
    ------
    ValueError or TypeError, naming the argument, before the state is allocated: ``n_pool`` not a
    whole number >= 2; ``rows`` not a non-empty 1-D array of distinct whole numbers in
    ``[0, n_pool - 1]``; ``lam`` not a number in :func:`penalty_range`; ``w0`` not real, finite
    and of shape (R, S - 1); ``dtype`` not float32 or float64. MemoryEstimateError (a
    ValueError) if the state would not fit in memory.
    """

    def __init__(self, n_pool: int, rows, lam: float, w0=None, dtype=np.float64):
        dtype = _state_dtype(dtype)
        n_pool = check_int("n_pool", n_pool, lo=2,
                           what="size of the pool; each neuron reads the n_pool - 1 others")
        rows = _index_array("rows", rows, 1, "a 1-D array (pool index of each trained neuron)", hi=n_pool - 1)
        if rows.size == 0:
            raise ValueError("rows (pool index of each trained neuron) must hold at least one index")
        R = rows.size
        _check_state_memory(("n_pool",), [
            (f"the shared RLS matrix P of a pool of {n_pool} (n_pool^2 numbers)",
             float(dtype.itemsize) * n_pool ** 2),
            (f"the inputs and weights of {R} trained neurons", 24.0 * R * n_pool)], "n_pool")
        values, counts = np.unique(rows, return_counts=True)
        if (counts > 1).any():
            raise ValueError(f"rows (pool index of each trained neuron) must be distinct "
                             f"({values[counts > 1][0]} appears {counts[counts > 1][0]} times)")
        lam = _check_lam("lam", lam, dtype)
        w = self._initial_weights(w0, R, n_pool - 1, np.float64)
        self.rows = rows
        self.presyn = np.array([np.delete(np.arange(n_pool), i) for i in rows], dtype=np.int64)
        self.P = np.eye(n_pool, dtype=dtype) / lam
        self.w = w
        self.err = np.zeros(R)
        self._q = np.zeros(n_pool, dtype=dtype)

    def P_of(self, k: int) -> np.ndarray:
        """Neuron ``k``'s own matrix ``P_k`` (the Schur complement), for inspection and tests."""
        k = self._neuron_index(k)
        i = self.rows[k]
        keep = self.presyn[k]
        return self.P[np.ix_(keep, keep)] - np.outer(self.P[keep, i], self.P[i, keep]) / self.P[i, i]

    def _check_activity(self, activity) -> None:
        if activity.shape != (self.P.shape[0],):
            raise ValueError(f"activity must have shape ({self.P.shape[0]},) (got {activity.shape})")

    def step(self, activity, target, other) -> None:
        """:meth:`update` without checks or copies (contiguous arrays of the right dtype)."""
        rls_shared_step(self.P, self.w, self.rows, self.presyn, activity, target, other, self.err, self._q)


@njit(cache=True, nogil=True)
def _shared_prepare(Q, f, g):
    """``g = Q f`` for the shared block; returns ``f . g``."""
    n = f.shape[0]
    fg = 0.0
    for a in range(n):
        s = 0.0
        for b in range(n):
            s += Q[a, b] * f[b]
        g[a] = s
        fg += f[a] * s
    return fg


@njit(cache=True, nogil=True)
def _shared_update(Q, g, beta):
    """``Q <- Q - beta g g^T`` (the shared block's own RLS update)."""
    n = g.shape[0]
    for a in range(n):
        ga = beta * g[a]
        for b in range(n):
            Q[a, b] -= ga * g[b]


@njit(cache=True, nogil=True)
def rls_block_step(Pr, Gt, w, presyn, activity, f, g, beta, target, other, err):
    """One RLS step for neurons with private inputs and a block of inputs shared by all, in place.

    Neuron ``i`` reads its private inputs ``a = activity[presyn[i]]`` (``mp`` of
    them) and the shared inputs ``f`` (``nf``); its weights ``w[i]`` are
    ``[private, shared]``. ``Pr[i]`` (mp, mp) and ``Gt[i]`` (mp, nf) are its state
    (see :class:`SharedInputRLS`); ``g = Q f`` and ``beta = 1 / (1 + f . g)``
    come from the shared block, which the caller updates afterwards.
    """
    n, mp = presyn.shape
    nf = f.shape[0]
    # The passes over the state run in its own precision (float32 state: float32 vector arithmetic,
    # twice as many lanes); the weights and the scalars stay float64.
    zero = Gt[0, 0, 0] - Gt[0, 0, 0]
    z = np.empty(mp, Gt.dtype)
    y = np.empty(mp, Gt.dtype)
    gy = np.empty(nf, Gt.dtype)
    fs = np.empty(nf, Gt.dtype)
    gs = np.empty(nf, Gt.dtype)
    for q in range(nf):
        fs[q] = f[q]
        gs[q] = g[q]
    one = np.empty(1, Gt.dtype)
    one[0] = beta
    beta_s = one[0]
    for i in range(n):
        G = Gt[i]
        P = Pr[i]
        wi = w[i]
        wx = 0.0
        for p in range(mp):  # z = a - G^T f, the private inputs minus their prediction from f
            ap = activity[presyn[i, p]]
            wx += wi[p] * ap
            s = zero
            for q in range(nf):
                s += G[p, q] * fs[q]
            z[p] = ap - s
        for q in range(nf):
            wx += wi[mp + q] * f[q]
        zy = 0.0
        for p in range(mp):  # y = Pr z
            s = zero
            for q in range(mp):
                s += P[p, q] * z[q]
            y[p] = s
            zy += z[p] * s
        c = beta / (1.0 + beta * zy)  # 1 / (1 + x . P_i x)
        e = wx + other[i] - target[i]
        err[i] = e
        ec = e * c
        for p in range(mp):  # Pr <- Pr - c y y^T
            cy = c * y[p]
            for q in range(mp):
                P[p, q] -= cy * y[q]
        for q in range(nf):
            gy[q] = zero
        for p in range(mp):  # one pass over G: gy = G y (old G), then G <- G + beta z g^T
            yp = y[p]
            bz = beta_s * z[p]
            for q in range(nf):
                gy[q] += G[p, q] * yp
                G[p, q] += bz * gs[q]
        for p in range(mp):  # w <- w - e c P_i x, with P_i x = [y, g - G y]
            wi[p] -= ec * y[p]
        for q in range(nf):
            wi[mp + q] -= ec * (g[q] - gy[q])


class SharedInputRLS(_RLSState):
    r"""Exact RLS for neurons that each have private inputs plus one block of inputs common to all.

    Part 3's trained neurons each read ``mp = 2 L`` recurrent inputs of their own
    and all ``nf`` feedforward inputs. With :class:`BatchRLS` every neuron would
    carry an ``(mp + nf)^2`` matrix (1.7 GB at full scale) and stream it twice
    per update. Here the feedforward block of every neuron's correlation matrix
    is the same matrix, so it is held once.

    Why it is exact. Neuron ``i``'s matrix :math:`A_i = \Lambda + \sum_t \mathbf x_t \mathbf x_t^\top`
    has blocks :math:`A_{rr}` (private, its own), :math:`A_{rf}` (its own) and
    :math:`A_{ff}` (shared, if the penalty's feedforward block is shared and the
    cross block of the penalty is zero). Keep

    .. math::

        Q = A_{ff}^{-1}, \qquad G_i = Q A_{fr,i} \;(n_f \times m_p), \qquad
        P_{r,i} = (A_{rr,i} - A_{rf,i} G_i)^{-1} \;(m_p \times m_p),

    the shared block's inverse, neuron ``i``'s regression of its private inputs on
    the shared ones, and the inverse Schur complement. By block inversion,
    :math:`P_i = A_i^{-1}` applied to :math:`\mathbf x = (\mathbf a, \mathbf f)` is

    .. math::

        P_i \mathbf x = \begin{pmatrix} \mathbf y \\ \mathbf g - G_i \mathbf y \end{pmatrix},
        \quad \mathbf g = Q \mathbf f,\; \mathbf z = \mathbf a - G_i^\top \mathbf f,\;
        \mathbf y = P_{r,i} \mathbf z,
        \qquad \mathbf x^\top P_i \mathbf x = \mathbf f \cdot \mathbf g + \mathbf z \cdot \mathbf y,

    and the rank-one update :math:`A_i \leftarrow A_i + \mathbf x \mathbf x^\top` becomes,
    with :math:`\beta = 1 / (1 + \mathbf f \cdot \mathbf g)`,

    .. math::

        Q \leftarrow Q - \beta\, \mathbf g \mathbf g^\top, \qquad
        G_i \leftarrow G_i + \beta\, \mathbf g \mathbf z^\top, \qquad
        P_{r,i} \leftarrow P_{r,i} - c\, \mathbf y \mathbf y^\top, \quad
        c = \frac{1}{1 + \mathbf x^\top P_i \mathbf x} = \frac{\beta}{1 + \beta\, \mathbf z \cdot \mathbf y}

    (the Schur complement itself changes by :math:`\beta \mathbf z \mathbf z^\top`).
    The weights take the usual step :math:`\mathbf w_i \leftarrow \mathbf w_i - e\, c\, P_i \mathbf x`.
    Per neuron the state is ``mp (mp + nf)`` numbers instead of ``(mp + nf)^2``
    (14 000 instead of 116 000 at full scale), and the work per update falls in
    proportion. ``tests/test_rls.py`` checks that it gives the weights of
    :class:`BatchRLS` with the same penalty.

    Parameters
    ----------
    presyn : (n, mp) indices into the activity of each neuron's private inputs.
    shared : (nf,) indices into the activity of the shared inputs.
    penalty : the private block of the penalty: a scalar, (mp, mp) or (n, mp, mp).
    penalty_shared : the shared block: a scalar or an (nf, nf) matrix.
    w0 : (n, mp + nf) initial weights, private first.
    dtype : precision of the stored state: float64 (default) or float32, which halves
        the memory traffic of an update (the update itself is computed in float64,
        and the weights are always float64).
    threads : as for :class:`BatchRLS`.

    Raises
    ------
    ValueError or TypeError, naming the argument, before the state is allocated: as
    :class:`BatchRLS` for ``presyn``, ``penalty`` (here the private block), ``w0`` (shape
    (n, mp + nf)), ``dtype`` and ``threads``; ``shared`` not a non-empty 1-D array of distinct
    whole-number indices >= 0, or sharing an input with a row of ``presyn``; ``penalty_shared``
    not a number in :func:`penalty_range` or a finite, symmetric positive definite (nf, nf)
    matrix with its diagonal in that range (its inverse's in the inverse range).
    MemoryEstimateError (a ValueError) if the state would not fit in memory.
    """

    def __init__(self, presyn, shared, penalty, penalty_shared, w0=None, dtype=np.float64,
                 threads: int | None = None):
        a = self._checked_args(presyn, shared, penalty, penalty_shared, w0, dtype, threads)
        presyn, shared, dtype = a["presyn"], a["shared"], a["dtype"]
        n, mp = presyn.shape
        nf = shared.shape[0]
        self.private = presyn
        self.shared = shared
        self.presyn = np.hstack([presyn, np.broadcast_to(shared, (n, nf))])
        self.Pr = _penalty_inverse(a["penalty"], n, mp, dtype)
        self.Q = np.ascontiguousarray(_penalty_inverse(a["penalty_shared"], 1, nf, dtype)[0])
        self.Gt = np.zeros((n, mp, nf), dtype=dtype)
        self.w = a["w0"]
        self.err = np.zeros(n)
        self._f = np.zeros(nf)
        self._g = np.zeros(nf)
        self._split(a["threads"], n * mp * (mp + 3 * nf))

    @classmethod
    def _memory_terms(cls, n: int, mp: int, nf: int, item: int, presyn, shared, per_neuron: bool) -> list:
        """The big arrays of the state, ``(what, bytes)``, for :func:`_check_state_memory`
        (``per_neuron``: the penalty is one matrix per neuron, inverted as a whole)."""
        return [(f"the private blocks P_r and G of {n} neurons with {mp} private and {nf} shared inputs "
                 "(n mp (mp + nf) numbers)", float(item) * n * mp * (mp + nf)),
                ("the shared block Q and the inverses of the penalties",
                 float(item) * nf * nf + 16.0 * (n if per_neuron else 1) * mp * mp + 16.0 * nf * nf),
                ("the inputs and weights", 16.0 * n * (mp + nf))]

    @classmethod
    def _checked_args(cls, presyn, shared, penalty, penalty_shared, w0, dtype, threads) -> dict:
        """The constructor's arguments, each checked and refused by name (see Raises), before any of the
        state is allocated: the inputs as int64 arrays, the penalties as :func:`_checked_penalty`
        gives them, ``w0`` as a float64 copy."""
        dtype = _state_dtype(dtype)
        threads = _check_threads(threads)
        presyn = _presyn_array(presyn, "private inputs")
        shared = _index_array("shared", shared, 1, "a 1-D array of input indices (the shared inputs)")
        if shared.size < 1:
            raise ValueError("shared must be a 1-D array of at least one input index (got shape (0,))")
        n, mp = presyn.shape
        nf = shared.shape[0]
        terms = cls._memory_terms(n, mp, nf, dtype.itemsize, presyn, shared, np.ndim(penalty) == 3)
        _check_state_memory(("presyn", "shared"), terms, "the number of neurons, of private inputs (presyn's "
                            "shape) or of shared inputs, or the largest input index")
        checked = dict(dtype=dtype, threads=threads, presyn=presyn, shared=shared)
        checked["penalty"] = _checked_penalty("penalty", penalty, n, mp, dtype,
                                              "RLS penalty on the private inputs")
        checked["penalty_shared"] = _checked_penalty("penalty_shared", penalty_shared, None, nf, dtype,
                                                     "RLS penalty on the shared inputs")
        checked["w0"] = cls._initial_weights(w0, n, mp + nf, np.float64)
        _check_distinct_rows("presyn", presyn)
        values, counts = np.unique(shared, return_counts=True)
        if (counts > 1).any():
            raise ValueError(f"shared must list each input once ({values[counts > 1][0]} appears "
                             f"{counts[counts > 1][0]} times)")
        both = np.isin(presyn, shared)
        if both.any():
            i, j = np.argwhere(both)[0]
            raise ValueError(f"presyn and shared must be disjoint, each input private or shared: row {i} of "
                             f"presyn lists input {presyn[i, j]}, which is also in shared")
        return checked

    @property
    def dtype(self):
        """The precision of the stored state (``Pr``, ``Gt``, ``Q``); weights and arithmetic are float64."""
        return self.Pr.dtype

    @property
    def _io_dtype(self):
        return np.float64

    @property
    def n_inputs(self) -> int:
        return self.presyn.shape[1]

    def P_of(self, k: int) -> np.ndarray:
        """Neuron ``k``'s full matrix ``P_k`` (block inversion), for inspection and tests."""
        k = self._neuron_index(k)
        Pr, G = self.Pr[k], self.Gt[k].T
        top = np.hstack([Pr, -Pr @ G.T])
        bottom = np.hstack([-G @ Pr, self.Q + G @ Pr @ G.T])
        return np.vstack([top, bottom])

    def _check_activity(self, activity) -> None:
        top = int(max(self.private.max(), self.shared.max()))
        if top >= activity.shape[0]:
            raise ValueError(f"activity must have at least {top + 1} entries: the inputs refer to index "
                             f"{top} (got {activity.shape[0]})")

    def step(self, activity, target, other) -> None:
        """:meth:`update` without checks or copies (contiguous float64 arrays)."""
        f, g = self._f, self._g
        np.take(activity, self.shared, out=f)
        beta = 1.0 / (1.0 + _shared_prepare(self.Q, f, g))
        args = (self.Pr, self.Gt, self.w, self.private, activity, f, g, beta, target, other, self.err)
        with held():  # the private blocks and the shared Q change together or not at all
            self._run(rls_block_step, args, per_neuron=(0, 1, 2, 3, 8, 9, 10))
            _shared_update(self.Q, g, beta)

    def state(self) -> dict:
        """The arrays that define the RLS state besides ``w`` (for saving)."""
        return {"Pr": self.Pr, "Gt": self.Gt, "Q": self.Q}


# ---------------------------------------------------------------------------
# The shared-input problem once more, with the regression block pooled: the same weights as
# SharedInputRLS from a sixth of the state (tests/test_rls_pooled.py).


def rls_pooled_update(Pr, H, Q, w, idx, p, f, target, other=0.0):
    r"""One step of :class:`PooledInputRLS` in plain NumPy, in place; returns the (n,) errors.

    Read beside the equations of :class:`PooledInputRLS`:

    .. math::

        \mathbf g = Q \mathbf f,\quad \beta = \frac{1}{1 + \mathbf f \cdot \mathbf g},\quad
        \mathbf z = \mathbf p - H \mathbf f,\quad
        \mathbf y_i = P_{r,i}\, \mathbf z_{I_i},\quad
        c_i = \frac{\beta}{1 + \beta\, \mathbf z_{I_i} \cdot \mathbf y_i},\quad
        e_i = \mathbf w_i \cdot (\mathbf p_{I_i}, \mathbf f) + \text{other}_i - \text{target}_i, \\
        \mathbf w_i \leftarrow \mathbf w_i - e_i c_i
        \begin{pmatrix} \mathbf y_i \\ \mathbf g - H_{I_i}^\top \mathbf y_i \end{pmatrix},\quad
        P_{r,i} \leftarrow P_{r,i} - c_i \mathbf y_i \mathbf y_i^\top,\quad
        H \leftarrow H + \beta\, \mathbf z \mathbf g^\top,\quad
        Q \leftarrow Q - \beta\, \mathbf g \mathbf g^\top.

    Parameters
    ----------
    Pr : (n, mp, mp) each neuron's inverse Schur complement; updated in place.
    H : (S, nf) the regression of the pool's inputs on the shared ones; updated in place.
    Q : (nf, nf) the shared block's inverse; updated in place.
    w : (n, mp + nf) weights, private first; updated in place.
    idx : (n, mp) int, each neuron's private inputs as rows of ``H`` (indices into ``p``).
    p : (S,) the pool's activity now; ``f`` (nf,) the shared inputs' activity now.
    target, other : (n,) or scalars, as for :func:`rls_update`.

    Derivation: Sherman-Morrison for the rank-one step of each neuron's full inverse, written in
    its blocks by block inversion (the Schur complement of the shared block); see
    :class:`SharedInputRLS` and :class:`PooledInputRLS`. The compiled :func:`rls_pooled_step`
    computes the same (``tests/test_rls_pooled.py::test_compiled_step_equals_the_plain_numpy_step``).

    Raises ValueError or TypeError, naming the argument, before anything is changed: the state
    arrays (``Pr``, ``H``, ``Q``, ``w``) not writeable float64 or float32 NumPy arrays of
    consistent shapes, ``idx`` not whole numbers in ``[0, S - 1]``, any other shape, a NaN or
    infinity in ``w``, ``p``, ``f``, ``target`` or ``other`` (the state is not scanned).
    """
    idx = _check_pooled_args(Pr, H, Q, w, idx, p, f, target, other)
    mp = idx.shape[1]
    g = Q @ f
    beta = 1.0 / (1.0 + f @ g)
    z = p - H @ f                                   # the pool minus its prediction from f
    zi = z[idx]                                     # (n, mp): neuron i's part of it
    y = np.einsum("npq,nq->np", Pr, zi)
    c = beta / (1.0 + beta * np.einsum("np,np->n", zi, y))
    e = np.einsum("np,np->n", w[:, :mp], p[idx]) + w[:, mp:] @ f + other - target
    Hy = np.einsum("npq,np->nq", H[idx], y)         # H_{I_i}^T y_i with the old H
    w[:, :mp] -= (e * c)[:, None] * y
    w[:, mp:] -= (e * c)[:, None] * (g - Hy)
    Pr -= c[:, None, None] * y[:, :, None] * y[:, None, :]
    H += beta * np.outer(z, g)
    Q -= beta * np.outer(g, g)
    return e


@njit(cache=True, nogil=True)
def _pooled_regress(H, p, f, g, beta, z):
    """``z = p - H f`` with the old ``H``, then ``H <- H + beta z g^T``: one pass over these rows of ``H``.

    The sums are float64 whatever ``H``'s precision (a float32 ``H`` is only rounded where it is
    stored); ``z`` is float64.
    """
    S, nf = H.shape
    for j in range(S):
        s = 0.0
        for q in range(nf):
            s += H[j, q] * f[q]
        zj = p[j] - s
        z[j] = zj
        bz = beta * zj
        for q in range(nf):
            H[j, q] += bz * g[q]


# ---- packed P_r: the upper triangles of a group of neurons, lane by lane ----

#: Neurons per group in :class:`PooledInputRLS`'s packed ``P_r`` (see :func:`pack_symmetric`).
LANES = 32


def pack_symmetric(P, lanes: int | None = None) -> np.ndarray:
    """Symmetric matrices ``P`` (n, m, m) as their upper triangles, ``lanes`` neurons side by side.

    Returns ``Pk`` of shape ``(ceil(n / lanes), m (m + 1) / 2, lanes)``: entry ``q`` (the ``q``-th
    pair ``a <= b`` in row order, :func:`numpy.triu_indices`) of neuron ``i`` is
    ``Pk[i // lanes, q, i % lanes]``; the lanes past ``n`` in the last group are zero. Half the bytes
    of ``P``, and the arithmetic of one step runs across the neurons of a group (the innermost,
    contiguous axis), so it vectorises whatever ``m`` is (:func:`_packed_rank_one`). Only the
    upper triangle of ``P`` is read.
    """
    P = np.asarray(P)
    lanes = LANES if lanes is None else lanes
    n, m, _ = P.shape
    a, b = np.triu_indices(m)
    flat = np.zeros((-(-n // lanes) * lanes, a.size), dtype=P.dtype)
    flat[:n] = P[:, a, b]
    return np.ascontiguousarray(flat.reshape(-1, lanes, a.size).transpose(0, 2, 1))


def unpack_symmetric(Pk, n: int, m: int) -> np.ndarray:
    """The (n, m, m) matrices held in ``Pk`` (:func:`pack_symmetric`), exactly symmetric."""
    a, b = np.triu_indices(m)
    flat = Pk.transpose(0, 2, 1).reshape(-1, a.size)[:n]
    P = np.empty((n, m, m), dtype=Pk.dtype)
    P[:, a, b] = flat
    P[:, b, a] = flat
    return P


@njit(cache=True, nogil=True)
def _clear_lanes(zt, nl):
    """Zero the lanes ``nl:`` of ``zt`` (m, L): past the last neuron of a group, a zero ``z`` leaves the
    unused lanes of the packed ``P_r`` as they are (:func:`_packed_rank_one`)."""
    for a in range(zt.shape[0]):
        for l in range(nl, zt.shape[1]):
            zt[a, l] = 0.0


@njit(cache=True, nogil=True)
def _packed_rank_one(P, zt, beta, y, c, acc, write=True):
    """One RLS step of the packed ``P_r`` of a group of neurons (:func:`pack_symmetric`), in place.

    ``P`` (m (m+1)/2, L) the group's upper triangles, ``zt`` (m, L) each lane's ``z_I``. Fills
    ``y`` (m, L) with ``P z`` (old ``P``) and ``c`` (L,) with ``beta / (1 + beta z . y)``, then
    ``P <- P - c y y^T`` (:func:`_packed_write_back`; not if ``write`` is False). A lane whose ``z``
    is zero is left as it is. Each stored entry ``P[a, b]`` (``a <= b``) is read once for both
    ``y_a`` and ``y_b``; every loop runs over the lanes. ``acc`` (L,) is scratch. Sums are float64,
    whatever ``P``'s precision.
    """
    m, L = zt.shape
    for a in range(m):
        for l in range(L):
            y[a, l] = 0.0
    q = 0
    for a in range(m):  # y = P z: row a of the triangle gives y_a and, by symmetry, y_b (b > a)
        za = zt[a]
        ya = y[a]
        Pq = P[q]
        for l in range(L):
            acc[l] = ya[l] + Pq[l] * za[l]
        q += 1
        for b in range(a + 1, m):
            Pq = P[q]
            zb = zt[b]
            yb = y[b]
            for l in range(L):
                p = Pq[l]
                acc[l] += p * zb[l]
                yb[l] += p * za[l]
            q += 1
        for l in range(L):
            ya[l] = acc[l]
    for l in range(L):
        acc[l] = 0.0
    for a in range(m):
        for l in range(L):
            acc[l] += zt[a, l] * y[a, l]
    for l in range(L):
        c[l] = beta / (1.0 + beta * acc[l])
    if write:
        _packed_write_back(P, y, c, acc)


@njit(cache=True, nogil=True)
def _packed_write_back(P, y, c, acc):
    """``P <- P - c y y^T`` on a group's packed upper triangles ``P`` (m (m+1)/2, L), lane by lane:
    the second half of :func:`_packed_rank_one`. ``acc`` (L,) is scratch."""
    m, L = y.shape
    q = 0
    for a in range(m):
        ya = y[a]
        for l in range(L):
            acc[l] = c[l] * ya[l]
        for b in range(a, m):
            Pq = P[q]
            yb = y[b]
            for l in range(L):
                Pq[l] -= acc[l] * yb[l]
            q += 1


@njit(cache=True, nogil=True)
def _packed_write_backs(Pk, Y, C):
    """:func:`_packed_write_back` for every group: ``Pk`` (G, m (m+1)/2, L), ``Y`` (G, m, L), ``C`` (G, L)."""
    acc = np.empty(Pk.shape[2])
    for k in range(Pk.shape[0]):
        _packed_write_back(Pk[k], Y[k], C[k], acc)


@njit(cache=True, nogil=True)
def rls_pooled_step(Pk, H, w, idx, p, z, f, g, beta, target, other, err, neuron):
    """The per-neuron part of a :class:`PooledInputRLS` step, in place, after :func:`_pooled_regress`.

    ``H`` is already updated (``H <- H + beta z g^T``), so the shared weights take
    ``e (beta g - c H_I^T y)``, which equals ``e c (g - H_old,I^T y)`` (see the class).
    ``Pk`` the packed ``P_r`` of all neurons (:func:`pack_symmetric`; groups of ``L`` neurons),
    ``w`` (n, mp + nf), ``idx`` (n, mp) rows of ``H``, ``p`` (S,) the pool's
    activity, ``z`` (S,) ``p - H_old f``, ``f`` (nf,), ``g = Q f``, ``beta``; ``target``, ``other``,
    ``err`` (n,); ``neuron`` (n,) the index of each among all neurons (a chunk starts at a
    multiple of ``L``). Every sum is float64, whatever the precision of ``Pk`` and ``H`` (float32
    state is only rounded where it is stored). Equal to :func:`rls_pooled_update`
    (``tests/test_rls_pooled.py::test_compiled_step_equals_the_plain_numpy_step``).
    """
    n, mp = idx.shape
    nf = f.shape[0]
    L = Pk.shape[2]
    zero = 0.0
    zt = np.empty((mp, L))
    y = np.empty((mp, L))
    c = np.empty(L)
    acc = np.empty(L)
    hy = np.empty(nf)
    for start in range(0, n, L):
        nl = min(L, n - start)
        _clear_lanes(zt, nl)
        for l in range(nl):  # the group's z_I, lane by lane
            i = start + l
            wi = w[i]
            wx = 0.0
            for a in range(mp):
                j = idx[i, a]
                wx += wi[a] * p[j]
                zt[a, l] = z[j]
            for q in range(nf):
                wx += wi[mp + q] * f[q]
            err[i] = wx + other[i] - target[i]
        # y = Pr z_I, c = 1 / (1 + x . P_i x), Pr <- Pr - c y y^T for the whole group
        _packed_rank_one(Pk[neuron[start] // L], zt, beta, y, c, acc)
        for l in range(nl):
            i = start + l
            wi = w[i]
            e = err[i]
            ec = e * c[l]
            for q in range(nf):
                hy[q] = zero
            # hy = H_I^T y, from the pool's rows (the new H), eight rows at a time: the rows come from
            # cache (H is shared), and eight of them per pass over hy cut its loads and stores to an
            # eighth (1.16-1.19x faster a step than four at a time, measured at full scale)
            a = 0
            while a + 8 <= mp:
                H0, H1, H2, H3 = H[idx[i, a]], H[idx[i, a + 1]], H[idx[i, a + 2]], H[idx[i, a + 3]]
                H4, H5, H6, H7 = H[idx[i, a + 4]], H[idx[i, a + 5]], H[idx[i, a + 6]], H[idx[i, a + 7]]
                y0, y1, y2, y3 = y[a, l], y[a + 1, l], y[a + 2, l], y[a + 3, l]
                y4, y5, y6, y7 = y[a + 4, l], y[a + 5, l], y[a + 6, l], y[a + 7, l]
                for q in range(nf):
                    hy[q] += (((H0[q] * y0 + H1[q] * y1) + (H2[q] * y2 + H3[q] * y3))
                              + ((H4[q] * y4 + H5[q] * y5) + (H6[q] * y6 + H7[q] * y7)))
                a += 8
            while a < mp:
                Hj = H[idx[i, a]]
                ya = y[a, l]
                for q in range(nf):
                    hy[q] += Hj[q] * ya
                a += 1
            for a in range(mp):
                wi[a] -= ec * y[a, l]
            eb = e * beta
            for q in range(nf):
                wi[mp + q] -= eb * g[q] - ec * hy[q]


_NO_COLS = np.zeros(0, np.int64)


def rls_pooled_deferred_update(Pr, H, Q, w, U, idx, p, f, target, other=0.0, cols=None):
    r"""One step of :class:`PooledInputRLS` with the shared weights kept in orthogonal form, in
    plain NumPy, in place; returns ``(e, u)``: the (n,) errors and the (n,) plastic input
    ``w_i . x_i`` with the new weights.

    The shared weights :math:`\mathbf u_i` of neuron ``i`` (``w[i, mp:]``) are held as
    :math:`\tilde{\mathbf u}_i = \mathbf u_i + H_{I_i}^\top \mathbf v_i` (``U[i]``), with
    :math:`\mathbf v_i` its private weights (``w[i, :mp]``). The input is then
    :math:`\mathbf v_i \cdot \mathbf p_{I_i} + \mathbf u_i \cdot \mathbf f
    = \mathbf v_i \cdot \mathbf z_{I_i} + \tilde{\mathbf u}_i \cdot \mathbf f`, and the step of
    :func:`rls_pooled_update` becomes, with :math:`\epsilon_i = \tilde{\mathbf u}_i \cdot \mathbf f
    + \text{other}_i - \text{target}_i` (the error of the shared part alone),

    .. math::

        e_i = \mathbf v_i \cdot \mathbf z_{I_i} + \epsilon_i,\quad
        \mathbf v_i \leftarrow \mathbf v_i - e_i c_i \mathbf y_i,\quad
        \tilde{\mathbf u}_i \leftarrow \tilde{\mathbf u}_i - \beta\, \epsilon_i\, \mathbf g,

    the last one a plain RLS step on the shared inputs alone, with no ``H`` in it: expand
    :math:`\tilde{\mathbf u}_{new} = \mathbf u_{new} + H_{new,I}^\top \mathbf v_{new}` with the
    updates of :func:`rls_pooled_update` and use :math:`c_i (1 + \beta\, \mathbf z_{I_i} \cdot
    \mathbf y_i) = \beta`. The plastic input with the new weights is
    :math:`u_i = \beta\, \mathbf v_i \cdot \mathbf z_{I_i} + \tilde{\mathbf u}_i \cdot \mathbf f`
    (since :math:`\mathbf p - H_{new} \mathbf f = \beta \mathbf z`).

    So a step costs no pass over ``H``'s rows per neuron (the 12 000 multiply-adds per neuron of
    :func:`rls_pooled_step`). The true shared weights are needed only where a shared input
    spikes: ``cols`` (indices into the shared inputs, or None for none) are written back to
    ``w[:, mp + cols]`` as :math:`\tilde{\mathbf u}_i - H_{I_i}^\top \mathbf v_i` with the new
    ``H``; the other shared columns of ``w`` are left as they were (stale).

    Parameters
    ----------
    Pr, H, Q, idx, p, f, target, other : as for :func:`rls_pooled_update`.
    w : (n, mp + nf) weights: the private ones are updated, the shared ones only at ``cols``.
    U : (n, nf) the shared weights in orthogonal form; updated in place.

    Equal to :func:`rls_pooled_update` followed by the same columns of ``w``
    (``tests/test_rls_pooled.py``); the compiled form is :func:`rls_pooled_deferred_step`.
    Raises as :func:`rls_pooled_update`, and for ``U`` not a writeable float array (n, nf) or
    ``cols`` not indices in ``[0, nf - 1]``.
    """
    idx = _check_pooled_args(Pr, H, Q, w, idx, p, f, target, other)
    n, nf = idx.shape[0], Q.shape[0]
    _state_arg("U", U, (n, nf), "shared weights in orthogonal form")
    if cols is not None:
        cols = _index_array("cols", cols, 1, "a 1-D array of shared columns", hi=nf - 1)
    mp = idx.shape[1]
    g = Q @ f
    beta = 1.0 / (1.0 + f @ g)
    z = p - H @ f
    zi = z[idx]
    v = w[:, :mp]                                   # a view: updated in place below
    eps = U @ f + other - target                    # the shared part's error
    e = np.einsum("np,np->n", v, zi) + eps
    y = np.einsum("npq,nq->np", Pr, zi)
    c = beta / (1.0 + beta * np.einsum("np,np->n", zi, y))
    v -= (e * c)[:, None] * y
    U -= beta * eps[:, None] * g
    Pr -= c[:, None, None] * y[:, :, None] * y[:, None, :]
    H += beta * np.outer(z, g)
    Q -= beta * np.outer(g, g)
    u = beta * np.einsum("np,np->n", v, zi) + U @ f
    if cols is not None and len(cols):
        cols = np.asarray(cols)
        w[:, mp + cols] = U[:, cols] - np.einsum("npq,np->nq", H[idx][:, :, cols], v)
    return e, u


@njit(cache=True, nogil=True)
def _deferred_inputs(activity, shared, pool, col_of, soon, f, p, seen, cols, f_ready, cols_ready, m_ready):
    """The inputs of a deferred step in one call: ``f = activity[shared]``, ``p = activity[pool]``, and
    :func:`_soon_columns` of ``soon``; returns their number ``m`` and whether ``f`` and ``cols[:m]``
    are ``f_ready`` and ``cols_ready[:m_ready]`` (the step's products were made for those), bit for bit."""
    same = m_ready >= 0
    for q in range(shared.shape[0]):
        f[q] = activity[shared[q]]
        same &= f[q] == f_ready[q]
    for j in range(pool.shape[0]):
        p[j] = activity[pool[j]]
    m = _soon_columns(soon, col_of, seen, cols)
    same &= m == m_ready
    if same:
        for k in range(m):
            same &= cols[k] == cols_ready[k]
    return m, same


@njit(cache=True, nogil=True)
def _soon_columns(soon, col_of, seen, cols):
    """``cols[:m]`` the distinct shared columns (sorted) of the activity indices ``soon`` (those that are
    not shared inputs are skipped); returns ``m``. ``seen`` (nf,) is all False on entry and on return."""
    for k in range(soon.shape[0]):
        if 0 <= soon[k] < col_of.shape[0] and col_of[soon[k]] >= 0:
            seen[col_of[soon[k]]] = True
    m = 0
    for c in range(seen.shape[0]):
        if seen[c]:
            cols[m] = c
            m += 1
            seen[c] = False
    return m


@njit(cache=True, nogil=True)
def _trace_ahead(f, decay, gain, spikes, steps, col_of, out):
    """The shared inputs' traces ``f`` carried over the time steps that ``steps`` splits ``spikes`` into:
    per step, every trace times ``decay``, then ``+ gain`` for each spike of a shared input (activity
    indices; ``spikes[steps[t] - steps[0]:steps[t + 1] - steps[0]]`` in step ``t``), written to ``out``.

    The same operations in the same order as the simulation's kernel
    (:func:`~tutorial_lib.spiking.lif_kernel`, no fast-math here either), so the result is the
    traces it will hold, to the bit."""
    for q in range(f.shape[0]):
        out[q] = f[q]
    base = steps[0]
    for t in range(steps.shape[0] - 1):
        for q in range(out.shape[0]):
            out[q] *= decay
        for k in range(steps[t] - base, steps[t + 1] - base):
            a = spikes[k]
            if 0 <= a < col_of.shape[0] and col_of[a] >= 0:
                out[col_of[a]] += gain


@njit(cache=True, nogil=True)
def _settle_rows(A, coef, scale, g, pending, f, cols, Af, Ac):
    """Rows of ``A`` (``H``, or ``U`` the shared weights in orthogonal form): the previous step's
    rank-one update ``A_j <- A_j + (scale coef_j) g`` (if ``pending``; ``H``: ``beta z``, ``U``: ``d``),
    then, for the next step's shared activity ``f`` (if not empty), ``Af = A f`` and
    ``Ac = A[:, cols]``. Sums are float64."""
    n, nf = A.shape
    m = cols.shape[0]
    j = 0
    if pending and f.shape[0] > 0:  # four rows at a time: four sums in flight, each in order q = 0, 1, ...
        while j + 4 <= n:
            _settle_four(A[j], A[j + 1], A[j + 2], A[j + 3], coef, scale, j, g, f, Af)
            for k in range(m):
                for r in range(j, j + 4):
                    Ac[r, k] = A[r, cols[k]]
            j += 4
    for j in range(j, n):
        a = A[j]
        if pending:
            c = scale * coef[j]
            for q in range(nf):
                a[q] += c * g[q]
        if f.shape[0] > 0:
            t = 0.0
            for q in range(nf):
                t += a[q] * f[q]
            Af[j] = t
            for k in range(m):
                Ac[j, k] = a[cols[k]]


@njit(cache=True, nogil=True)
def _settle_four(a0, a1, a2, a3, coef, scale, j, g, f, Af):
    """Rows ``j .. j+3`` of :func:`_settle_rows` (update, then ``A f``) in one pass. Each row's sum runs
    in the order of the one-row loop, so the bits are the same; interleaving four sums hides the
    latency of the additions that, compiled without ``fastmath``, may not be reordered or vectorised."""
    c0, c1, c2, c3 = scale * coef[j], scale * coef[j + 1], scale * coef[j + 2], scale * coef[j + 3]
    t0 = t1 = t2 = t3 = 0.0
    for q in range(g.shape[0]):
        gq, fq = g[q], f[q]
        v0, v1, v2, v3 = a0[q] + c0 * gq, a1[q] + c1 * gq, a2[q] + c2 * gq, a3[q] + c3 * gq
        a0[q], a1[q], a2[q], a3[q] = v0, v1, v2, v3
        t0 += v0 * fq
        t1 += v1 * fq
        t2 += v2 * fq
        t3 += v3 * fq
    Af[j], Af[j + 1], Af[j + 2], Af[j + 3] = t0, t1, t2, t3


@njit(cache=True, nogil=True)
def _deferred_settle(Pk, Y, C, H, U, Q, z, d, g, beta, pending, f, cols, s, uf, Hc, Uc):
    """The state brought up to date with the last deferred step (if ``pending``: ``P_r`` by its ``Y``
    and ``C``, ``H`` by ``beta z g^T``, ``U`` by ``d g^T``, ``Q`` by ``- beta g g^T``), then, for the
    shared activity ``f`` (if not empty), the products the next step needs: ``s = H f``, ``uf = U f``,
    ``Hc = H[:, cols]``, ``Uc = U[:, cols]`` and ``g = Q f``. Returns ``f . g`` (0 without ``f``)."""
    if pending:
        _packed_write_backs(Pk, Y, C)
    _settle_rows(H, z, beta, g, pending, f, cols, s, Hc)
    _settle_rows(U, d, 1.0, g, pending, f, cols, uf, Uc)
    if pending:
        _shared_update(Q, g, beta)
    if f.shape[0] == 0:
        return 0.0
    return _shared_prepare(Q, f, g)  # g is the next step's from here


@njit(cache=True, nogil=True)
def _deferred_rest(Pk, Y, C, H, U, Q, z, d, g, beta, f, ahead, decay, gain, soon, steps, next_soon, col_of,
                   seen, f_next, cols_next, s, uf, Hc_buf, Uc_buf):
    """The rest of a deferred step, in one call (the pool's thread runs it while the simulation goes
    on): :func:`_deferred_settle` with the step's update, and, if ``ahead``, for the next step's
    shared activity ``f_next`` forecast from ``f`` (:func:`_trace_ahead`) and its soon columns
    ``cols_next`` (:func:`_soon_columns` of ``next_soon``). ``Hc_buf`` and ``Uc_buf`` hold the columns
    as (S, m) and (n, m) arrays. Returns ``(m, f_next . g)``; ``m = -1`` without a forecast."""
    m = -1
    fn = f_next[:0]
    if ahead:
        _trace_ahead(f, decay, gain, soon, steps, col_of, f_next)
        m = _soon_columns(next_soon, col_of, seen, cols_next)
        fn = f_next
    k = max(m, 0)
    S, n = H.shape[0], U.shape[0]
    fg = _deferred_settle(Pk, Y, C, H, U, Q, z, d, g, beta, True, fn, cols_next[:k], s, uf,
                          Hc_buf[:S * k].reshape((S, k)), Uc_buf[:n * k].reshape((n, k)))
    return m, fg


@njit(cache=True, nogil=True)
def _deferred_residual(p, s, g, beta, cols, z, Hc):
    """``z = p - s`` (the pool minus its prediction ``s = H f`` from the shared inputs) and the columns
    ``Hc = H[:, cols]`` brought to this step's new ``H``: ``+ beta z g[cols]``, in place."""
    m = cols.shape[0]
    for j in range(p.shape[0]):
        zj = p[j] - s[j]
        z[j] = zj
        bz = beta * zj
        for k in range(m):
            Hc[j, k] += bz * g[cols[k]]


@njit(cache=True, nogil=True)
def rls_pooled_deferred_step(Pk, Y, C, w, idx, z, uf, fg, g, beta, target, other, err, u, d, Hc, Uc, cols,
                             w_out, col_start, neuron):
    r"""The per-neuron part of a deferred :class:`PooledInputRLS` step, in place: what must happen
    between the simulation's arrival at a learning step and its going on (the rest, the updates of
    ``H``, ``U`` and ``Q``, comes after: :func:`_deferred_settle`).

    ``Pk`` the packed ``P_r`` of all neurons (:func:`pack_symmetric`), read only: its update
    ``- c y y^T`` is left for later (:func:`_packed_write_backs`), with each group's ``y`` in ``Y``
    (G, mp, L) and ``c`` in ``C`` (G, L); ``w`` (n, mp + nf); ``idx``
    (n, mp); ``z`` (S,) and ``Hc`` (S, m) the new ``H``'s soon columns (:func:`_deferred_residual`);
    ``uf = U f`` (n,) and ``Uc = U[:, cols]`` (n, m) with the old ``U``; ``fg = f . g``, ``g = Q f``,
    ``beta``; ``target``, ``other``, ``err`` (the errors), ``u`` (the plastic input with the new
    weights) and ``d`` (the coefficient of ``U``'s update, ``U_i <- U_i + d_i g``) (n,); ``neuron`` (n,)
    the index of each among all neurons (a chunk starts at a multiple of the group size).
    If ``w_out`` is not empty, the shared weights are written there instead, column by column: column
    ``c`` of neuron ``i`` to ``w_out[col_start[c] + neuron[i]]``. Sums are float64. Equal to
    :func:`rls_pooled_deferred_update` (``tests/test_rls_pooled.py``); the plastic input is
    :math:`\beta\, \mathbf v \cdot \mathbf z_I + \tilde{\mathbf u} \cdot \mathbf f + d\, (\mathbf g
    \cdot \mathbf f)`, the last two terms the new :math:`\tilde{\mathbf u} \cdot \mathbf f`.
    """
    n, mp = idx.shape
    L = Pk.shape[2]
    m = cols.shape[0]
    mirror = w_out.shape[0] > 0
    zt = np.empty((mp, L))
    acc = np.empty(max(L, m))
    eps = np.empty(L)
    for start in range(0, n, L):
        nl = min(L, n - start)
        _clear_lanes(zt, nl)
        for l in range(nl):  # the group's z_I and errors, lane by lane
            i = start + l
            wi = w[i]
            vz = 0.0
            for a in range(mp):
                zt[a, l] = z[idx[i, a]]
                vz += wi[a] * zt[a, l]
            eps[l] = uf[i] + other[i] - target[i]  # the shared part's error
            err[i] = vz + eps[l]
        # y = Pr z_I and c for the whole group (Pr <- Pr - c y y^T later)
        group = neuron[start] // L
        y, c = Y[group], C[group]
        _packed_rank_one(Pk[group], zt, beta, y, c, acc, False)
        for l in range(nl):
            i = start + l
            wi = w[i]
            ec = err[i] * c[l]
            vz = 0.0
            for a in range(mp):  # v <- v - e c y
                wi[a] -= ec * y[a, l]
                vz += wi[a] * zt[a, l]
            di = -beta * eps[l]  # U <- U - beta eps g, later
            d[i] = di
            u[i] = beta * vz + (uf[i] + di * fg)
            # the true shared weights where an input spikes soon: U - H_I^T v, with the new H and U
            for k in range(m):
                acc[k] = 0.0
            for a in range(mp):
                x = wi[a]
                h = Hc[idx[i, a]]
                for k in range(m):
                    acc[k] += x * h[k]
            if mirror:  # only there: w's shared columns are written when the deferred steps end
                for k in range(m):
                    w_out[col_start[cols[k]] + neuron[i]] = (Uc[i, k] + di * g[cols[k]]) - acc[k]
            else:
                for k in range(m):
                    w[i, mp + cols[k]] = (Uc[i, k] + di * g[cols[k]]) - acc[k]


@njit(cache=True, nogil=True)
def _pooled_orthogonal(w, U, H, idx, to_weights):
    """Between the two forms of the shared weights: ``U = w_shared + H_I^T v`` (``to_weights`` False)
    or ``w_shared = U - H_I^T v`` for every column (True); ``v = w[:, :mp]``."""
    n, mp = idx.shape
    nf = H.shape[1]
    acc = np.empty(nf)
    for i in range(n):
        for q in range(nf):
            acc[q] = 0.0
        for a in range(mp):
            x = w[i, a]
            h = H[idx[i, a]]
            for q in range(nf):
                acc[q] += x * h[q]
        if to_weights:
            for q in range(nf):
                w[i, mp + q] = U[i, q] - acc[q]
        else:
            for q in range(nf):
                U[i, q] = w[i, mp + q] + acc[q]


class PooledInputRLS(SharedInputRLS):
    r""":class:`SharedInputRLS` with the regression block held once for the whole input pool.

    The same problem and the same weights (to round-off): neuron ``i`` reads ``mp`` private
    inputs ``a = activity[presyn[i]]`` and the ``nf`` shared inputs ``f``, with a penalty
    that has no private-shared cross block and the same shared block for every neuron.
    :class:`SharedInputRLS` stores for each neuron its ``mp x nf`` regression block
    :math:`G_i^\top`; but that block is :math:`A_{rf,i} Q` with
    :math:`A_{rf,i} = \sum_t \mathbf a_t \mathbf f_t^\top` the rows :math:`I_i` of one matrix
    :math:`C = \sum_t \mathbf p_t \mathbf f_t^\top` over the pool ``p`` of all private inputs
    (the penalty does not enter it). So

    .. math::

        G_i^\top = H_{I_i}, \qquad H = C\, Q \;(S \times n_f), \qquad
        \mathbf z_i = \mathbf a - G_i^\top \mathbf f = (\mathbf p - H \mathbf f)_{I_i},

    and the update :math:`G_i \leftarrow G_i + \beta\, \mathbf g \mathbf z_i^\top` of every neuron is
    the rows :math:`I_i` of the one update :math:`H \leftarrow H + \beta\, \mathbf z \mathbf g^\top`,
    :math:`\mathbf z = \mathbf p - H \mathbf f`. Only the ``mp x mp`` inverse Schur complement
    :math:`P_{r,i}` stays per neuron (it holds the neuron's private penalty, which may differ
    between neurons), updated as before by :math:`-c\, \mathbf y \mathbf y^\top`,
    :math:`\mathbf y = P_{r,i} \mathbf z_{I_i}`. The compiled step makes one pass over ``H``
    (``z`` with the old ``H``, then its update) and then the neurons, reading the new rows:
    :math:`c\,(\mathbf g - H_{old,I}^\top \mathbf y) = \beta\, \mathbf g - c\, H_{new,I}^\top \mathbf y`,
    since :math:`H_{new,I}^\top \mathbf y = H_{old,I}^\top \mathbf y + \beta\, \mathbf g\,
    (\mathbf z_I \cdot \mathbf y)` and :math:`c\,(1 + \beta\, \mathbf z_I \cdot \mathbf y) = \beta`.

    Where the algebra comes from: each rank-one step is the Sherman-Morrison formula
    :math:`(A + \mathbf x \mathbf x^\top)^{-1} = P - P\mathbf x \mathbf x^\top P / (1 + \mathbf x^\top P \mathbf x)`
    (Haykin 2002, ch. 9), written in the blocks of the inverse by block inversion with the Schur
    complement of the shared block (Golub GH, Van Loan CF (2013) Matrix Computations, 4th ed.,
    sec. 3.2; Horn RA, Johnson CR (2013) Matrix Analysis, 2nd ed., sec. 0.7.3), as in
    :class:`SharedInputRLS`.

    State: ``n mp (mp + 1) / 2 + S nf + nf^2`` numbers instead of ``n mp (mp + nf) + nf^2``:
    each ``P_r`` is symmetric, and only its upper triangle is stored, the neurons of a group of
    :data:`LANES` side by side (:func:`pack_symmetric`; :attr:`Pr` unpacks a copy). At Part 3's
    full scale (1824 neurons, 40 private inputs from a pool of 1824 trained E and 2500 I
    neurons, 300 shared) 22 MB instead of 199 MB in float64. :func:`rls_pooled_update` is the
    step in plain NumPy, on full matrices.

    Cost at full scale (``python -m benchmarks part3-rls-pooled`` and ``part3-forms``): an eager
    step (:meth:`step`, :meth:`update`) takes per neuron about 2 500 multiply-adds on ``P_r``
    (streamed from memory: 12 MB per update) and 12 000 on the rows of ``H`` it reads
    (``H_I^T y``: 40 rows of 300). The deferred steps that a training trial takes
    (:meth:`deferred`, :meth:`step_deferred`) drop the 12 000: they keep the shared weights in
    orthogonal form and write only the columns needed next. A step reads and writes about 50 MB of
    state; the simulation waits only for the errors, ``P_r``'s products, the private weights, the
    plastic input and the soon columns (about 1.2 ms on two cores, of which the soon columns are
    half), while the updates of ``H``, ``U``, ``Q`` and ``P_r`` and the next step's products run on
    the pool's thread during the simulation (about 2 ms there). The packed ``P_r`` halves its share
    of the bytes; its arithmetic runs across the neurons of a group, so that each stored entry
    serves ``y_a`` and ``y_b`` in one pass (:func:`_packed_rank_one`).

    Precision: with ``dtype=np.float32`` the state (``Pr``, ``H``, ``Q``) is stored in float32,
    and every sum is still float64 (the state is only rounded where it is stored). Replaying the
    activity of 4 full-scale training trials (400 updates), the float32 weights stay within
    7.7e-7 of the float64 ones relative to their change at Part 3's penalties (lam_rec 0.04,
    lam_ff 1), 8.4e-7 at 1e-3 and 1e-2, 2.2e-6 at 1e-4 and 1e-3, growing with the number of
    updates: float64 is the default, and :func:`~tutorial_lib.balanced.make_rls` warns below
    ``FLOAT32_MIN_LAM_REC`` / ``FLOAT32_MIN_LAM_FF``.

    Parameters
    ----------
    presyn, shared, penalty, penalty_shared, w0, dtype, threads : as for :class:`SharedInputRLS`.

    Attributes
    ----------
    pool : (S,) the distinct private inputs (indices into the activity), sorted.
    idx : (n, mp) each neuron's private inputs as indices into ``pool`` (rows of ``H``).
    Pr : (n, mp, mp) (a property: an unpacked copy), H : (S, nf), Q : (nf, nf) the state
        (:meth:`state`, :meth:`set_state`).

    Raises
    ------
    ValueError or TypeError
        As :class:`SharedInputRLS`, naming the argument, before the state is allocated: malformed
        ``presyn`` or ``shared`` (an input repeated within a row, or both private and shared), a
        penalty out of :func:`penalty_range` or not symmetric positive definite or of the wrong
        shape, ``w0`` not finite or of the wrong shape, ``dtype`` or ``threads`` refused.
        MemoryEstimateError (a ValueError) if the state would not fit in memory, including the
        map from activity index to shared column, as long as the largest index in ``presyn`` and
        ``shared``.
    """

    @classmethod
    def _memory_terms(cls, n: int, mp: int, nf: int, item: int, presyn, shared, per_neuron: bool) -> list:
        S = np.unique(presyn).size
        top = max(int(presyn.max()), int(shared.max()))
        return [(f"the private blocks P_r of {n} neurons with {mp} private inputs (n mp^2 numbers while "
                 "they are packed)", 1.5 * item * n * mp * mp + 16.0 * (n if per_neuron else 1) * mp * mp),
                (f"the regression block H of the pool of {S} private inputs on {nf} shared ones",
                 float(item) * (S * nf + nf * nf)),
                (f"the map from activity index to shared column (up to index {top})", 8.0 * (top + 1)),
                ("the inputs and weights", 16.0 * n * (mp + nf))]

    def __init__(self, presyn, shared, penalty, penalty_shared, w0=None, dtype=np.float64,
                 threads: int | None = None):
        a = self._checked_args(presyn, shared, penalty, penalty_shared, w0, dtype, threads)
        presyn, shared, dtype, threads = a["presyn"], a["shared"], a["dtype"], a["threads"]
        n, mp = presyn.shape
        nf = shared.shape[0]
        self.private = presyn
        self.shared = shared
        self.presyn = np.hstack([presyn, np.broadcast_to(shared, (n, nf))])
        self.pool = np.unique(presyn)
        self.idx = np.ascontiguousarray(np.searchsorted(self.pool, presyn), dtype=np.int64)
        self._Pk = pack_symmetric(_penalty_inverse(a["penalty"], n, mp, dtype))  # P_r, packed (see Pr)
        self.Q = np.ascontiguousarray(_penalty_inverse(a["penalty_shared"], 1, nf, dtype)[0])
        self.H = np.zeros((self.pool.size, nf), dtype=dtype)
        self.w = a["w0"]
        self.err = np.zeros(n)
        self._f = np.zeros(nf)
        self._g = np.zeros(nf)
        self._p = np.zeros(self.pool.size)
        self._z = np.zeros(self.pool.size)
        S = self.pool.size
        self._split(threads, n * mp * (2 * mp + nf) + 2 * S * nf)
        # a thread's neurons start at a multiple of LANES (each group of the packed P_r is one thread's);
        # the calling thread, which starts first, takes the larger share
        groups = -(-n // LANES)
        edges = np.unique(np.minimum(np.ceil(np.linspace(0, groups, self.threads + 1)).astype(int) * LANES, n))
        self._chunks = [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]
        self.threads = len(self._chunks)
        edges = np.linspace(0, S, self.threads + 1).round().astype(int)
        self._row_chunks = [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]
        # for the deferred steps: the position among the shared inputs of each activity index (-1: none)
        self._col_of = np.full(max(presyn.max(), shared.max()) + 1, -1, dtype=np.int64)
        self._col_of[shared] = np.arange(nf)
        self._U = None  # the shared weights in orthogonal form, inside deferred() only
        self._neuron = np.arange(n, dtype=np.int64)
        self._seen = np.zeros(nf, dtype=np.bool_)  # scratch of _soon_columns
        self._cols = np.zeros(nf, dtype=np.int64)  # the columns a deferred step writes
        self._job = None  # the work a deferred step left to the thread pool (a Future), if any
        self._ready = None  # (m, f . g) from the rest of the last deferred step (m = -1: no forecast)
        self._own_products = 0  # deferred steps that made their products themselves (no forecast, or wrong)

    @property
    def Pr(self) -> np.ndarray:
        """(n, mp, mp) each neuron's inverse Schur complement ``P_r``: a copy, unpacked from the state,
        which holds only the upper triangles, neurons side by side (:func:`pack_symmetric`)."""
        self._finish()  # inside deferred(): with the last step's update
        return unpack_symmetric(self._Pk, self.n_neurons, self.private.shape[1])

    @property
    def dtype(self):
        """The precision of the stored state (``Pr``, ``H``, ``Q``); weights and arithmetic are float64."""
        return self._Pk.dtype

    def P_of(self, k: int) -> np.ndarray:
        """Neuron ``k``'s full matrix ``P_k`` (block inversion, ``G_k^T = H[idx[k]]``), for tests."""
        k = self._neuron_index(k)
        self._finish()
        group, lane = divmod(k, self._Pk.shape[2])
        Pr = unpack_symmetric(self._Pk[group:group + 1, :, lane:lane + 1], 1, self.private.shape[1])[0]
        G = self.H[self.idx[k]].T
        top = np.hstack([Pr, -Pr @ G.T])
        bottom = np.hstack([-G @ Pr, self.Q + G @ Pr @ G.T])
        return np.vstack([top, bottom])

    def _run_rows(self, kernel, args, per_row) -> None:
        """As :meth:`_run`, over chunks of the pool's rows instead of neurons."""
        _run_chunks(kernel, args, per_row, self._row_chunks)

    def step(self, activity, target, other) -> None:
        """:meth:`update` without checks or copies (contiguous float64 arrays)."""
        if self._U is not None:
            raise RuntimeError("PooledInputRLS.step/update inside deferred(): use step_deferred there")
        f, g, p, z = self._f, self._g, self._p, self._z
        np.take(activity, self.shared, out=f)
        np.take(activity, self.pool, out=p)
        beta = 1.0 / (1.0 + _shared_prepare(self.Q, f, g))
        with held():  # H, the private blocks and Q change together or not at all
            self._run_rows(_pooled_regress, (self.H, p, f, g, beta, z), per_row=(0, 1, 5))
            args = (self._Pk, self.H, self.w, self.idx, p, z, f, g, beta, target, other, self.err, self._neuron)
            self._run(rls_pooled_step, args, per_neuron=(2, 3, 9, 10, 11, 12))
            _shared_update(self.Q, g, beta)

    @contextmanager
    def deferred(self, shared_out=None, traces=None):
        r"""Steps whose shared weights are written only where they are needed next.

        Inside ``with rls.deferred():`` use :meth:`step_deferred`, not :meth:`step`. The shared
        weights are kept as :math:`\tilde{\mathbf u}_i = \mathbf u_i + H_{I_i}^\top \mathbf v_i`
        (see :func:`rls_pooled_deferred_update`), which a step updates without reading ``H``; a
        column of ``w`` is written only for the shared inputs that spike before the next step.
        On leaving (also by an exception or Ctrl-C) every column of ``w`` is written: the
        weights are then those of the same steps taken with :meth:`step`, to round-off
        (``tests/test_rls_pooled.py``). A training trial of Part 3 takes its steps this way
        (:func:`~tutorial_lib.spiking.simulate`): the 300 feed-forward inputs spike about 30 times
        between two steps, so a step writes about a tenth of the shared columns.

        A step does first what the caller waits for (the errors, ``P_r``, the private weights, the
        plastic input and the soon columns) and leaves the updates of ``H``, ``U`` and ``Q`` (and the
        products with them that the next step needs) to a thread of the pool, which works while the
        caller simulates on to the next step (on one thread: at once). The next step, and leaving
        the context, wait for that work. Inside the context, ``H`` and ``Q`` may therefore be behind
        by one step; :meth:`state` waits first.

        ``shared_out``: ``(w_out, col_start)``, where a step writes its shared columns instead of
        ``w``, column by column (weight ``c`` of neuron ``i`` at ``w_out[col_start[c] + i]``; e.g. by
        presynaptic source, for the simulation's scatter; ``w``'s shared columns are then written
        only when the context ends). None: into ``w``.

        ``traces``: ``(decay, gain)`` if the shared inputs' activity is a trace of their spikes,
        multiplied by ``decay`` every time step and raised by ``gain`` per spike after it (as the
        simulation's plastic synapses are: ``1 - dt/tau``, ``1/tau``). Then a step told the spikes to
        come (:meth:`step_deferred`'s ``soon_steps`` and ``next_soon``) also prepares the next step's
        products in the background. None: the next step makes them itself.
        """
        if self._U is not None:
            raise RuntimeError("PooledInputRLS.deferred() is already active")
        n, S, nf = self.n_neurons, self.pool.size, self.shared.size
        if shared_out is None:
            shared_out = (np.zeros(0), np.zeros(0, np.int64))
        else:
            parts = tuple(shared_out) if isinstance(shared_out, (tuple, list)) else ()
            w_out, col_start = parts if len(parts) == 2 else (None, None)
            col_start = None if col_start is None else np.asarray(col_start)
            ok = (col_start is not None and col_start.dtype.kind in "iu"
                  and col_start.max(initial=0) <= _INT64_MAX)
            col_start = np.ascontiguousarray(col_start, dtype=np.int64) if ok else None
            if (not isinstance(w_out, np.ndarray) or not isinstance(col_start, np.ndarray)
                    or w_out.dtype != np.float64 or w_out.ndim != 1 or col_start.shape != self.shared.shape
                    or col_start.min() < 0 or col_start.max() + n > w_out.shape[0]):
                raise ValueError(f"shared_out must be (1-D float64 weights, {nf} column "
                                 "starts that fit in them)")
            shared_out = (w_out, col_start)
        if traces is not None:
            t = tuple(traces) if isinstance(traces, (tuple, list, np.ndarray)) else ()
            if (len(t) != 2 or any(isinstance(v, bool) or not isinstance(v, Real) for v in t)
                    or not all(math.isfinite(v) for v in t)):
                raise ValueError(f"traces must be None or two finite numbers (decay, gain) (got {traces!r})")
            traces = (float(t[0]), float(t[1]))
        U = np.empty((n, nf))
        self._shared_out, self._traces, self._stepped, self._ready = shared_out, traces, False, None
        # the deferred steps' buffers: z, the coefficients of U's update, H f, U f; the next f and columns
        self._z, self._d, self._s, self._uf = np.zeros(S), np.zeros(n), np.zeros(S), np.zeros(n)
        self._f_next, self._cols_next = np.zeros(nf), np.zeros(nf, dtype=np.int64)
        self._seen_next = np.zeros(nf, dtype=np.bool_)
        # H's and U's columns that a step writes, as (S, m) and (n, m) arrays at the start (the pages
        # of the columns never used are never touched)
        self._Hc, self._Uc = np.empty(S * nf, dtype=self.H.dtype), np.empty(n * nf)
        G, mp, L = self._Pk.shape[0], self.private.shape[1], self._Pk.shape[2]
        self._Y, self._C = np.zeros((G, mp, L)), np.zeros((G, L))  # each group's y and c, for P_r's update
        try:  # also if a Ctrl-C held back while U is computed comes out before the body runs
            with held():
                self._run(_pooled_orthogonal, (self.w, U, self.H, self.idx, False), per_neuron=(0, 1, 3))
                self._U = U
            yield self
        finally:
            with held():
                try:
                    self._finish()  # no worker still writing
                finally:
                    if self._stepped:  # without a step, w is left as it was, to the bit
                        self._run(_pooled_orthogonal, (self.w, U, self.H, self.idx, True), per_neuron=(0, 1, 3))
                    self._U, self._ready, self._Hc, self._Uc = None, None, None, None

    def step_deferred(self, activity, target, other, soon, u, soon_steps=None, next_soon=None) -> None:
        """One step inside :meth:`deferred` (contiguous float64 arrays, no checks).

        ``soon``: activity indices of the inputs that will spike before the next step (those that
        are not shared inputs are ignored: private weights are always written); their columns of
        ``w`` are written with the new weights. ``u`` (n,) receives each neuron's plastic input
        ``w_i . x_i`` with the new weights (what the simulation needs after a step).

        ``soon_steps`` and ``next_soon`` (with the context's ``traces``): ``soon`` split by time step
        until the next step (the spikes of step ``t`` are ``soon[soon_steps[t] - soon_steps[0]:
        soon_steps[t + 1] - soon_steps[0]]``), and the inputs that will spike between the next step
        and the one after. From them the shared activity at the next step is known now, and the
        thread that finishes this step makes the next step's products with it. The next step checks
        that its shared activity and columns are those, bit for bit, and otherwise makes the
        products itself: the results are the same either way, to the bit.
        """
        if self._U is None:
            raise RuntimeError("step_deferred needs the deferred() context")
        f, p = self._f, self._p
        soon = np.asarray(soon, dtype=np.int64)
        with held():  # P_r, the weights, then H, U and Q change together or not at all
            self._finish()
            m_ready, fg = (-1, 0.0) if self._ready is None else self._ready
            self._ready = None
            m, same = _deferred_inputs(activity, self.shared, self.pool, self._col_of, soon, f, p, self._seen,
                                       self._cols, self._f_next, self._cols_next, m_ready)
            cols = self._cols[:m]
            S, n = self.pool.size, self.n_neurons
            Hc, Uc = self._Hc[:S * m].reshape(S, m), self._Uc[:n * m].reshape(n, m)
            if not same:  # no forecast, or a wrong one: the products for this f, made here
                self._own_products += 1
                fg = _deferred_settle(self._Pk, self._Y, self._C, self.H, self._U, self.Q, self._z, self._d,
                                      self._g, 0.0, False, f, cols, self._s, self._uf, Hc, Uc)
            beta = 1.0 / (1.0 + fg)
            _deferred_residual(p, self._s, self._g, beta, cols, self._z, Hc)
            args = (self._Pk, self._Y, self._C, self.w, self.idx, self._z, self._uf, fg, self._g, beta, target,
                    other, self.err, u, self._d, Hc, Uc, cols, *self._shared_out, self._neuron)
            self._stepped = True
            self._run(rls_pooled_deferred_step, args, per_neuron=(3, 4, 6, 10, 11, 12, 13, 14, 16, 20))
            ahead = self._traces is not None and soon_steps is not None and next_soon is not None
            decay, gain = self._traces if ahead else (1.0, 0.0)
            rest = (self._Pk, self._Y, self._C, self.H, self._U, self.Q, self._z, self._d, self._g, beta, f, ahead,
                    decay, gain, soon, _NO_COLS if soon_steps is None else np.asarray(soon_steps, dtype=np.int64),
                    _NO_COLS if next_soon is None else np.asarray(next_soon, dtype=np.int64), self._col_of,
                    self._seen_next, self._f_next, self._cols_next, self._s, self._uf, self._Hc, self._Uc)
            if self.threads > 1:  # the rest of the step on the pool's thread, while the caller goes on
                self._job = _pool(1).submit(_deferred_rest, *rest)
            else:
                self._ready = _deferred_rest(*rest)

    def _finish(self) -> None:
        """Wait for the work the last deferred step left to the pool (raises what it raised)."""
        job, self._job = self._job, None
        if job is not None:
            self._ready = job.result()

    def state(self) -> dict:
        """The arrays that define the RLS state besides ``w`` (for saving): ``Pr`` unpacked (a copy)."""
        self._finish()  # inside deferred(): H and Q with the last step's update
        return {"Pr": self.Pr, "H": self.H, "Q": self.Q}

    def set_state(self, arrays: dict) -> None:
        """Overwrite the state with ``arrays`` (as returned by :meth:`state`; of ``Pr`` the upper
        triangles are kept). Raises ValueError or TypeError, naming the array, before anything is
        written, for a missing array, a wrong shape or a NaN or infinity."""
        if self._U is not None:
            raise RuntimeError("PooledInputRLS.set_state inside deferred(): set the state outside it")
        n, mp = self.private.shape
        arrays = self._checked_state(arrays, {"Pr": (n, mp, mp), "H": self.H.shape, "Q": self.Q.shape})
        self._Pk[...] = pack_symmetric(arrays["Pr"].astype(self._Pk.dtype, copy=False), self._Pk.shape[2])
        self.H[...] = arrays["H"]
        self.Q[...] = arrays["Q"]

    def state_nbytes(self) -> int:
        """Bytes of the RLS state as it is held (``Pr`` packed)."""
        return self._Pk.nbytes + self.H.nbytes + self.Q.nbytes


def make_rls(presyn, penalty, w0=None, rows=None, n_pool=None):
    """The fastest exact RLS for this layout: :class:`SharedPoolRLS` when every neuron
    reads the whole pool but itself and the penalty is ``lam * I``, else :class:`BatchRLS`.

    ``rows`` (pool index of each neuron) and ``n_pool`` are needed for the first; give both or
    neither. Raises ValueError or TypeError, naming the argument: as the class it builds, and for
    ``rows`` without ``n_pool`` (or the reverse), ``n_pool`` not a whole number >= 2, ``rows`` not
    one index in ``[0, n_pool - 1]`` per row of ``presyn``.
    """
    presyn = _presyn_array(presyn, "inputs")
    if (rows is None) != (n_pool is None):
        if n_pool is None:
            missing, given = "n_pool (size of the pool)", "rows"
        else:
            missing, given = "rows (pool index of each neuron)", "n_pool"
        raise ValueError(f"{missing} must be given with {given}, or neither")
    if rows is not None:
        n_pool = check_int("n_pool", n_pool, lo=2, what="size of the pool")
        rows = _index_array("rows", rows, 1, "a 1-D array (pool index of each neuron)", hi=n_pool - 1)
        if rows.shape[0] != presyn.shape[0]:
            raise ValueError(f"rows (pool index of each neuron) must hold one index per row of presyn, "
                             f"{presyn.shape[0]} (got {rows.shape[0]})")
        if np.ndim(penalty) == 0 and presyn.shape[1] == n_pool - 1:
            everyone_else = np.array([np.delete(np.arange(n_pool), i) for i in rows])
            if np.array_equal(presyn, everyone_else):
                _check_lam("penalty", penalty, np.float64)  # by the name given here, not SharedPoolRLS's lam
                return SharedPoolRLS(n_pool, rows, penalty, w0=w0)
    return BatchRLS(presyn, penalty, w0=w0)


def ridge_solution(X, y, penalty, w0=None) -> np.ndarray:
    """Closed-form minimiser of ``|X w - y|^2 + (w - w0)^T Lambda (w - w0)``.

    ``X`` (T, m) holds the samples as rows, ``y`` (T,) the targets (minus any
    non-plastic input), ``penalty`` a scalar ``lam`` or an (m, m) matrix, with the rules of the
    RLS states' penalty (:func:`penalty_range` in float64, symmetric positive definite), ``w0``
    (m,). Raises ValueError or TypeError, naming the argument, for any other shape, a NaN or
    infinity, or such a penalty.
    """
    Xa = _real_array("X", X, "samples as rows")
    if Xa.ndim != 2 or Xa.shape[1] < 1:
        raise ValueError(f"X (samples as rows) must be a 2-D array (samples, inputs) with at least one input "
                         f"(got shape {Xa.shape})")
    T, m = Xa.shape
    ya = _real_array("y", y, "targets")
    if ya.shape != (T,):
        raise ValueError(f"y (targets) must have shape ({T},), one per row of X (got {ya.shape})")
    _check_finite("X", Xa, rows="sample", cols="input")
    _check_finite("y", ya)
    _checked_penalty("penalty", penalty, None, m, np.float64)
    if w0 is not None:
        w0a = _real_array("w0", w0, "initial weights")
        if w0a.shape != (m,):
            raise ValueError(f"w0 (initial weights) must have shape ({m},), one per column of X "
                             f"(got {w0a.shape})")
        _check_finite("w0", w0a)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    Lam = np.eye(m) * float(penalty) if np.ndim(penalty) == 0 else np.asarray(penalty, dtype=np.float64)
    w0 = np.zeros(m) if w0 is None else np.asarray(w0, dtype=np.float64)
    # (X^T X + Lambda) w = X^T y + Lambda w0
    return np.linalg.solve(X.T @ X + Lam, X.T @ y + Lam @ w0)
