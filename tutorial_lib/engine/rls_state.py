r"""The engine's RLS states: what every form shares, the batch form, its compiled steps and threads.

:class:`RLSState` holds what every RLS state of the engine shares (the weights, the checked
per-neuron arguments of an update, the output, saving and loading the state, the share-out of
neurons over threads). :class:`BatchRLS` keeps one ``P`` per neuron: ``P`` has shape ``(n, m, m)``,
``w`` shape ``(n, m)`` and ``presyn`` shape ``(n, m)`` (neuron ``n``'s inputs are
``activity[presyn[n]]``). Neurons may have different presynaptic sets, but the same number ``m``.
Its compiled steps :func:`rls_step` and :func:`rls_batch_step` compute exactly what the plain
:func:`~tutorial_lib.core.rls.rls_update` and :func:`~tutorial_lib.core.rls.rls_update_batch` do
(``tests/test_rls.py``, ``tests/test_core_rls.py``).

Getting started::

    >>> import numpy as np
    >>> rls = BatchRLS(presyn=np.array([[1, 2], [0, 2]]), penalty=0.5)
    >>> err = rls.update(activity=np.array([0.2, 1.0, 0.5]), target=np.array([1.0, -1.0]))
    >>> rls.w.shape
    (2, 2)

Why numba: the update is two passes over each ``m x m`` matrix. NumPy would need a batched
matrix-vector product, an outer product and a subtraction, with a temporary of the size of ``P``
in between; the compiled loop makes one pass for ``k`` and one for the update and allocates
nothing (see ``python -m benchmarks rls``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np
from numba import njit

from ..checks import MemoryEstimateError, check_int, gib, memory_limit
from ..core.rls_checks import (check_finite, checked_penalty, index_array, real_array, state_dtype)
from ..interrupts import held

__all__ = ["RLSState", "BatchRLS", "rls_step", "rls_batch_step", "default_threads", "run_chunks",
           "thread_pool"]

# No kernel here is compiled with fastmath: sums allowed to be reordered follow the CPU's vector width and
# contracted products its FMA units, so the last bits (and a chaotic network's result) would depend
# on the machine. Every sum runs in one fixed order (tests/test_same_result.py).


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


def thread_pool(n: int) -> ThreadPoolExecutor:
    if n not in _POOLS:
        _POOLS[n] = ThreadPoolExecutor(max_workers=n, thread_name_prefix="rls")
    return _POOLS[n]


def run_chunks(kernel, args, per, chunks) -> None:
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
        futures = [thread_pool(len(chunks) - 1).submit(kernel, *part(c)) for c in chunks[1:]]
        try:
            kernel(*part(chunks[0]))
        finally:
            wait(futures)  # all of them, even if this thread's chunk failed
        for f in futures:
            f.result()


# Below this many multiply-adds per update, one thread is faster than handing out work.
_THREAD_MIN_WORK = 200_000


def check_distinct_rows(name: str, a: np.ndarray, what: str = "input") -> None:
    """Refuse an index repeated within a row of ``a`` (n, m), naming the first such row: RLS would give
    one input two weights, of which a network's weight matrix keeps only one."""
    s = np.sort(a, axis=1)
    rep = s[:, 1:] == s[:, :-1]
    if rep.any():
        i, j = np.argwhere(rep)[0]
        raise ValueError(f"{name} must list each {what} at most once per row (neuron): row {i} lists {what} "
                         f"{s[i, j]} more than once")


def presyn_array(presyn, inputs: str) -> np.ndarray:
    """``presyn`` as an (n, m) int64 array with n, m >= 1 and indices >= 0, else refused naming ``presyn``."""
    presyn = index_array("presyn", presyn, 2, f"a 2-D array (neurons, {inputs})")
    if presyn.shape[0] < 1 or presyn.shape[1] < 1:
        raise ValueError(f"presyn must be a 2-D array (neurons, {inputs}) with at least one of each "
                         f"(got shape {presyn.shape})")
    return presyn


def check_threads(threads):
    """None (:func:`default_threads`), or a whole number >= 1, else refused naming ``threads``."""
    if threads is None:
        return None
    return check_int("threads", threads, lo=1, what="CPU threads for RLS")


def check_state_memory(names: tuple, terms: list, advice: str) -> None:
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


def penalty_inverse(checked, n: int, m: int, dtype) -> np.ndarray:
    """Broadcast ``inv(penalty)`` to a batch of shape (n, m, m); ``checked`` from :func:`.checked_penalty`."""
    pen, inv = checked
    if inv is None:
        P = np.zeros((n, m, m), dtype=dtype)
        idx = np.arange(m)
        P[:, idx, idx] = 1.0 / float(pen)
        return P
    return np.array(np.broadcast_to(inv, (n, m, m)), dtype=dtype, order="C")  # a writeable copy


class RLSState:
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
        a = real_array("w0", w0, "initial weights")
        if a.shape != (n, m):
            raise ValueError(f"w0 (initial weights) must have shape ({n}, {m}), one row per neuron "
                             f"(got {a.shape})")
        check_finite("w0", a, rows="neuron", cols="input")
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
        """``kernel(*args)``, or one call per chunk of neurons (:func:`run_chunks`: the first in this
        thread, the others on the thread pool): the arguments at the positions ``per_neuron`` are
        sliced to the chunk, the others passed whole.

        All or nothing with respect to interruption: one compiled call cannot be
        interrupted, and with threads a KeyboardInterrupt (Ctrl-C, the notebook's
        interrupt) is held back until every chunk is done (see :mod:`tutorial_lib.interrupts`),
        so no worker writes after it, and the weights and ``P`` stay in step.
        """
        run_chunks(kernel, args, per_neuron, self._chunks)

    def _activity(self, activity) -> np.ndarray:
        """``activity`` as an array, refused by name unless a 1-D array of real numbers long enough for
        every input (:meth:`_check_activity`)."""
        a = real_array("activity", activity, "the inputs' activity")
        if a.ndim != 1:
            raise ValueError(f"activity must be a 1-D array, one entry per input (got shape {a.shape})")
        self._check_activity(a)
        return a

    def _per_neuron(self, name: str, value) -> np.ndarray:
        """``value`` as an array, refused by name unless real and a number or one per neuron."""
        a = real_array(name, value)
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
            check_finite(name, a.reshape(-1), tail=tail)
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
        (in :class:`.SharedPoolRLS`, every neuron but the one whose own pool entry it is, which shows
        it at the next step), and NaN weights from then on. That is the divergence check of Parts 2
        and 3: their simulation (:func:`tutorial_lib.engine.simulate.simulate`) reads ``err`` after each
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
            b = real_array(label, arrays[name])
            if b.shape != shape:
                raise ValueError(f"{label} must have shape {shape} (got {b.shape})")
            check_finite(label, b.reshape(-1))
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


@njit(cache=True, nogil=True)
def rls_step(P, w, x, f, other, k):
    """:func:`.rls_update` compiled: one neuron's update in place; returns the error before it.

    ``P`` (m, m), ``w`` (m,), ``x`` (m,) the plastic-input activity, ``f`` the
    target, ``other`` the non-plastic input, ``k`` (m,) scratch space. Two passes
    over ``P`` and no temporary arrays; equal to :func:`~tutorial_lib.core.rls.rls_update`
    (``tests/test_rls.py::test_compiled_step_equals_the_plain_numpy_step``,
    ``tests/test_core_rls.py::test_compiled_one_neuron_step_equals_core_rls_update``). Its arguments
    are its twin's, with ``other`` required and the scratch ``k`` added (a compiled loop allocates
    nothing).
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
    ``scratch`` is work space of shape (n, 2, m). Equal to :func:`~tutorial_lib.core.rls.rls_update_batch` on
    ``activity[presyn]`` (``tests/test_rls.py::test_compiled_batch_equals_the_plain_numpy_batch``).
    Its arguments are its twin's with ``x = activity[presyn]`` gathered inside, and the outputs
    ``err`` and ``scratch`` added.
    """
    n, m = presyn.shape
    for i in range(n):
        x = scratch[i, 0]
        for a in range(m):
            x[a] = activity[presyn[i, a]]
        err[i] = rls_step(P[i], w[i], x, target[i], other[i], scratch[i, 1])


class BatchRLS(RLSState):
    """RLS state for ``n`` neurons with ``m`` plastic inputs each.

    Core twin: :func:`~tutorial_lib.core.rls.rls_update_batch` on ``activity[presyn]``; :meth:`update`
    gives its errors, weights and ``P``
    (``tests/test_core_rls.py::test_batch_rls_equals_core_rls_update_batch``).

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
    input repeated within a row; a penalty that is not a number in :func:`.penalty_range` for
    ``dtype`` or a finite, symmetric positive definite matrix of the right shape with its
    diagonal in that range (and its inverse's in the inverse range); ``w0`` not real, finite
    and of shape (n, m); ``dtype`` not float32 or float64; ``threads`` not a whole number >= 1.
    MemoryEstimateError (a ValueError) if the state would not fit in memory.
    """

    def __init__(self, presyn, penalty, w0=None, dtype=np.float64, threads: int | None = None):
        dtype = state_dtype(dtype)
        threads = check_threads(threads)
        presyn = presyn_array(presyn, "inputs")
        n, m = presyn.shape
        item = dtype.itemsize
        check_state_memory(("presyn",), [
            (f"the RLS matrices P of {n} neurons with {m} inputs each (n m^2 numbers)",
             float(item) * n * m * m),
            ("the inverse of the penalty", 16.0 * (n if np.ndim(penalty) == 3 else 1) * m * m),
            ("the weights, indices and scratch space", float(n) * m * (16 + 2 * item))],
            "the number of neurons or of inputs per neuron (presyn's shape)")
        penalty = checked_penalty("penalty", penalty, n, m, dtype)
        w = self._initial_weights(w0, n, m, np.float64)
        check_distinct_rows("presyn", presyn)
        self.presyn = presyn
        self.P = penalty_inverse(penalty, n, m, dtype)
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
        :meth:`RLSState.step`).
        """
        args = (self.P, self.w, self.presyn, activity, target, other, self.err, self.scratch)
        self._run(rls_batch_step, args, per_neuron=(0, 1, 2, 4, 5, 6, 7))
