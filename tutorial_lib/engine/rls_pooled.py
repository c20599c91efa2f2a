r""":class:`PooledInputRLS`: Part 3's default RLS form, the regression block held once for the input pool.

The same weights as :class:`~tutorial_lib.engine.rls_shared.SharedInputRLS` from a sixth of the
state; its plain NumPy twin is :func:`~tutorial_lib.core.rls.rls_pooled_update`
(``tests/test_rls_pooled.py``, ``tests/test_core_rls.py``). The compiled eager step is in
:mod:`~tutorial_lib.engine.rls_packed`, the deferred steps of a training trial in
:mod:`~tutorial_lib.engine.rls_deferred`.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from numbers import Real

import numpy as np

from ..core.rls_checks import INT64_MAX
from ..interrupts import held
from .rls_deferred import (NO_COLS, deferred_inputs, deferred_rest, deferred_residual, deferred_settle,
                           pooled_orthogonal, rls_pooled_deferred_step)
from .rls_packed import LANES, pack_symmetric, pooled_regress, rls_pooled_step, unpack_symmetric
from .rls_shared import SharedInputRLS, shared_prepare, shared_update
from .rls_state import penalty_inverse, run_chunks, thread_pool

__all__ = ["PooledInputRLS"]

class PooledInputRLS(SharedInputRLS):
    r""":class:`.SharedInputRLS` with the regression block held once for the whole input pool.

    The same problem and the same weights (to round-off): neuron ``i`` reads ``mp`` private
    inputs ``a = activity[presyn[i]]`` and the ``nf`` shared inputs ``f``, with a penalty
    that has no private-shared cross block and the same shared block for every neuron.
    :class:`.SharedInputRLS` stores for each neuron its ``mp x nf`` regression block
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
    :class:`~tutorial_lib.engine.rls_shared.SharedInputRLS`.

    State: ``n mp (mp + 1) / 2 + S nf + nf^2`` numbers instead of ``n mp (mp + nf) + nf^2``:
    each ``P_r`` is symmetric, and only its upper triangle is stored, the neurons of a group of
    :data:`.LANES` side by side (:func:`.pack_symmetric`; :attr:`Pr` unpacks a copy). At Part 3's
    full scale (1824 neurons, 40 private inputs from a pool of 1824 trained E and 2500 I
    neurons, 300 shared) 22 MB instead of 199 MB in float64. Core twin:
    :func:`~tutorial_lib.core.rls.rls_pooled_update`, the step in plain NumPy on full matrices
    (``tests/test_core_rls.py::test_pooled_plain_packed_and_deferred_steps_agree``,
    ``tests/test_rls_pooled.py::test_compiled_step_equals_the_plain_numpy_step``).

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
    serves ``y_a`` and ``y_b`` in one pass (:func:`~tutorial_lib.engine.rls_packed.packed_rank_one`).

    Precision: with ``dtype=np.float32`` the state (``Pr``, ``H``, ``Q``) is stored in float32,
    and every sum is still float64 (the state is only rounded where it is stored). Replaying the
    activity of 4 full-scale training trials (400 updates), the float32 weights stay within
    7.7e-7 of the float64 ones relative to their change at Part 3's penalties (lam_rec 0.04,
    lam_ff 1), 8.4e-7 at 1e-3 and 1e-2, 2.2e-6 at 1e-4 and 1e-3, growing with the number of
    updates: float64 is the default, and :func:`~tutorial_lib.balanced.make_rls` warns below
    ``FLOAT32_MIN_LAM_REC`` / ``FLOAT32_MIN_LAM_FF``.

    Parameters
    ----------
    presyn, shared, penalty, penalty_shared, w0, dtype, threads : as for :class:`.SharedInputRLS`.

    Attributes
    ----------
    pool : (S,) the distinct private inputs (indices into the activity), sorted.
    idx : (n, mp) each neuron's private inputs as indices into ``pool`` (rows of ``H``).
    Pr : (n, mp, mp) (a property: an unpacked copy), H : (S, nf), Q : (nf, nf) the state
        (:meth:`state`, :meth:`set_state`).

    Raises
    ------
    ValueError or TypeError
        As :class:`.SharedInputRLS`, naming the argument, before the state is allocated: malformed
        ``presyn`` or ``shared`` (an input repeated within a row, or both private and shared), a
        penalty out of :func:`.penalty_range` or not symmetric positive definite or of the wrong
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
        self._Pk = pack_symmetric(penalty_inverse(a["penalty"], n, mp, dtype))  # P_r, packed (see Pr)
        self.Q = np.ascontiguousarray(penalty_inverse(a["penalty_shared"], 1, nf, dtype)[0])
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
        which holds only the upper triangles, neurons side by side (:func:`.pack_symmetric`)."""
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
        run_chunks(kernel, args, per_row, self._row_chunks)

    def step(self, activity, target, other) -> None:
        """:meth:`update` without checks or copies (contiguous float64 arrays)."""
        if self._U is not None:
            raise RuntimeError("PooledInputRLS.step/update inside deferred(): use step_deferred there")
        f, g, p, z = self._f, self._g, self._p, self._z
        np.take(activity, self.shared, out=f)
        np.take(activity, self.pool, out=p)
        beta = 1.0 / (1.0 + shared_prepare(self.Q, f, g))
        with held():  # H, the private blocks and Q change together or not at all
            self._run_rows(pooled_regress, (self.H, p, f, g, beta, z), per_row=(0, 1, 5))
            args = (self._Pk, self.H, self.w, self.idx, p, z, f, g, beta, target, other, self.err, self._neuron)
            self._run(rls_pooled_step, args, per_neuron=(2, 3, 9, 10, 11, 12))
            shared_update(self.Q, g, beta)

    def _checked_shared_out(self, shared_out) -> tuple:
        """``shared_out`` of :meth:`deferred` as ``(w_out, col_start)`` (two empty arrays for None), else a
        ValueError naming it."""
        n, nf = self.n_neurons, self.shared.size
        if shared_out is None:
            return np.zeros(0), np.zeros(0, np.int64)
        parts = tuple(shared_out) if isinstance(shared_out, (tuple, list)) else ()
        w_out, col_start = parts if len(parts) == 2 else (None, None)
        col_start = None if col_start is None else np.asarray(col_start)
        ok = (col_start is not None and col_start.dtype.kind in "iu"
              and col_start.max(initial=0) <= INT64_MAX)
        col_start = np.ascontiguousarray(col_start, dtype=np.int64) if ok else None
        if (not isinstance(w_out, np.ndarray) or not isinstance(col_start, np.ndarray)
                or w_out.dtype != np.float64 or w_out.ndim != 1 or col_start.shape != self.shared.shape
                or col_start.min() < 0 or col_start.max() + n > w_out.shape[0]):
            raise ValueError(f"shared_out must be (1-D float64 weights, {nf} column "
                             "starts that fit in them)")
        return w_out, col_start

    @contextmanager
    def deferred(self, shared_out=None, traces=None):
        r"""Steps whose shared weights are written only where they are needed next.

        Inside ``with rls.deferred():`` use :meth:`step_deferred`, not :meth:`step`. The shared
        weights are kept as :math:`\tilde{\mathbf u}_i = \mathbf u_i + H_{I_i}^\top \mathbf v_i`
        (see :func:`.rls_pooled_deferred_update`), which a step updates without reading ``H``; a
        column of ``w`` is written only for the shared inputs that spike before the next step.
        On leaving (also by an exception or Ctrl-C) every column of ``w`` is written: the
        weights are then those of the same steps taken with :meth:`step`, to round-off
        (``tests/test_rls_pooled.py``). A training trial of Part 3 takes its steps this way
        (:func:`~tutorial_lib.engine.simulate.simulate`): the 300 feed-forward inputs spike about 30 times
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
        shared_out, traces = self._checked_shared_out(shared_out), _checked_traces(traces)
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
                self._run(pooled_orthogonal, (self.w, U, self.H, self.idx, False), per_neuron=(0, 1, 3))
                self._U = U
            yield self
        finally:
            with held():
                try:
                    self._finish()  # no worker still writing
                finally:
                    if self._stepped:  # without a step, w is left as it was, to the bit
                        self._run(pooled_orthogonal, (self.w, U, self.H, self.idx, True), per_neuron=(0, 1, 3))
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
            m, same = deferred_inputs(activity, self.shared, self.pool, self._col_of, soon, f, p, self._seen,
                                       self._cols, self._f_next, self._cols_next, m_ready)
            cols = self._cols[:m]
            S, n = self.pool.size, self.n_neurons
            Hc, Uc = self._Hc[:S * m].reshape(S, m), self._Uc[:n * m].reshape(n, m)
            if not same:  # no forecast, or a wrong one: the products for this f, made here
                self._own_products += 1
                fg = deferred_settle(self._Pk, self._Y, self._C, self.H, self._U, self.Q, self._z, self._d,
                                      self._g, 0.0, False, f, cols, self._s, self._uf, Hc, Uc)
            beta = 1.0 / (1.0 + fg)
            deferred_residual(p, self._s, self._g, beta, cols, self._z, Hc)
            args = (self._Pk, self._Y, self._C, self.w, self.idx, self._z, self._uf, fg, self._g, beta, target,
                    other, self.err, u, self._d, Hc, Uc, cols, *self._shared_out, self._neuron)
            self._stepped = True
            self._run(rls_pooled_deferred_step, args, per_neuron=(3, 4, 6, 10, 11, 12, 13, 14, 16, 20))
            ahead = self._traces is not None and soon_steps is not None and next_soon is not None
            decay, gain = self._traces if ahead else (1.0, 0.0)
            rest = (self._Pk, self._Y, self._C, self.H, self._U, self.Q, self._z, self._d, self._g, beta, f, ahead,
                    decay, gain, soon, NO_COLS if soon_steps is None else np.asarray(soon_steps, dtype=np.int64),
                    NO_COLS if next_soon is None else np.asarray(next_soon, dtype=np.int64), self._col_of,
                    self._seen_next, self._f_next, self._cols_next, self._s, self._uf, self._Hc, self._Uc)
            if self.threads > 1:  # the rest of the step on the pool's thread, while the caller goes on
                self._job = thread_pool(1).submit(deferred_rest, *rest)
            else:
                self._ready = deferred_rest(*rest)

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


def _checked_traces(traces):
    """``traces`` of :meth:`PooledInputRLS.deferred`: None, or ``(decay, gain)`` as two floats, else a
    ValueError naming it."""
    if traces is None:
        return None
    t = tuple(traces) if isinstance(traces, (tuple, list, np.ndarray)) else ()
    if (len(t) != 2 or any(isinstance(v, bool) or not isinstance(v, Real) for v in t)
            or not all(math.isfinite(v) for v in t)):
        raise ValueError(f"traces must be None or two finite numbers (decay, gain) (got {traces!r})")
    return float(t[0]), float(t[1])
