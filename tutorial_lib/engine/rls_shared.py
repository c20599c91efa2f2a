r"""RLS forms for inputs that neurons share: one pool read by all, or one block of shared inputs.

:class:`SharedPoolRLS` is the exact shared-``P`` form for all-to-all networks (each neuron reads
every member of one pool but itself): one ``S x S`` matrix instead of one per neuron.
:class:`SharedInputRLS` is the exact form for neurons with private inputs plus one block of inputs
common to all (Part 3's feed-forward inputs): the shared block's inverse is held once.
:func:`make_rls` picks the fastest exact form for a layout. Each gives the weights of
:class:`~tutorial_lib.engine.rls_state.BatchRLS` with the same penalty, hence of the plain
:func:`~tutorial_lib.core.rls.rls_update_batch` (``tests/test_rls.py``, ``tests/test_core_rls.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..checks import check_int
from ..core.rls_checks import check_lam, checked_penalty, index_array, state_dtype
from ..interrupts import held
from .rls_state import (BatchRLS, RLSState, check_distinct_rows, check_state_memory, check_threads,
                        penalty_inverse, presyn_array)

__all__ = ["SharedPoolRLS", "SharedInputRLS", "make_rls", "rls_shared_step", "rls_block_step",
           "shared_prepare", "shared_update"]

@njit(cache=True, nogil=True)
def rls_shared_step(P, w, rows, presyn, activity, target, other, err, q):
    """One RLS step for neurons that all read one pool, each without its own entry.

    ``P`` (S, S) is the pool's shared matrix, ``rows[k]`` the pool index of
    neuron ``k``, whose inputs ``presyn[k]`` are all the other S - 1 pool
    members; ``w``, ``target``, ``other``, ``err`` as in :func:`.rls_batch_step`;
    ``q`` (S,) scratch. See :class:`SharedPoolRLS` for the derivation, its core twin and the test.

    A piece of the shared-input forms; its plain twin is :func:`core.rls.rls_update_batch`,
    and tests/test_core_rls.py::test_shared_input_forms_equal_core_batch_over_private_and_shared_inputs proves them equal.
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


class SharedPoolRLS(RLSState):
    r"""RLS for neurons that each read every member of one pool but themselves (all-to-all).

    The same result as :class:`~tutorial_lib.engine.rls_state.BatchRLS` with ``presyn[k]`` = the pool without
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
    ``tests/test_rls.py`` checks that both classes give the same weights. Core twin:
    :func:`~tutorial_lib.core.rls.rls_update_batch` with ``x = activity[presyn]``, ``P`` starting as
    ``I / lam`` (``tests/test_core_rls.py::test_shared_pool_rls_equals_core_batch_over_everyone_else``).

    Parameters
    ----------
    n_pool : size S of the pool (the activity vector passed to :meth:`update`).
    rows : pool index of each trained neuron.
    lam : the regulariser (``P`` starts as ``I / lam``), a number in :func:`.penalty_range` for ``dtype``.
    w0 : (R, S-1) initial weights, in the order of :attr:`presyn`.
    dtype : the precision of ``P``: float64 (default) or float32.

    Raises
    ------
    ValueError or TypeError, naming the argument, before the state is allocated: ``n_pool`` not a
    whole number >= 2; ``rows`` not a non-empty 1-D array of distinct whole numbers in
    ``[0, n_pool - 1]``; ``lam`` not a number in :func:`.penalty_range`; ``w0`` not real, finite
    and of shape (R, S - 1); ``dtype`` not float32 or float64. MemoryEstimateError (a
    ValueError) if the state would not fit in memory.
    """

    def __init__(self, n_pool: int, rows, lam: float, w0=None, dtype=np.float64):
        dtype = state_dtype(dtype)
        n_pool = check_int("n_pool", n_pool, lo=2,
                           what="size of the pool; each neuron reads the n_pool - 1 others")
        rows = index_array("rows", rows, 1, "a 1-D array (pool index of each trained neuron)", hi=n_pool - 1)
        if rows.size == 0:
            raise ValueError("rows (pool index of each trained neuron) must hold at least one index")
        R = rows.size
        check_state_memory(("n_pool",), [
            (f"the shared RLS matrix P of a pool of {n_pool} (n_pool^2 numbers)",
             float(dtype.itemsize) * n_pool ** 2),
            (f"the inputs and weights of {R} trained neurons", 24.0 * R * n_pool)], "n_pool")
        values, counts = np.unique(rows, return_counts=True)
        if (counts > 1).any():
            raise ValueError(f"rows (pool index of each trained neuron) must be distinct "
                             f"({values[counts > 1][0]} appears {counts[counts > 1][0]} times)")
        lam = check_lam("lam", lam, dtype)
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
def shared_prepare(Q, f, g):
    """``g = Q f`` for the shared block; returns ``f . g``.

    A piece of the shared-input forms; its plain twin is :func:`core.rls.rls_update_batch`,
    and tests/test_core_rls.py::test_shared_input_forms_equal_core_batch_over_private_and_shared_inputs proves them equal.
    """
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
def shared_update(Q, g, beta):
    """``Q <- Q - beta g g^T`` (the shared block's own RLS update).

    A piece of the shared-input forms; its plain twin is :func:`core.rls.rls_update_batch`,
    and tests/test_core_rls.py::test_shared_input_forms_equal_core_batch_over_private_and_shared_inputs proves them equal.
    """
    n = g.shape[0]
    for a in range(n):
        ga = beta * g[a]
        for b in range(n):
            Q[a, b] -= ga * g[b]


# Long (a compiled kernel): each neuron's passes over its P_r and G run back to back, while they are in cache.
@njit(cache=True, nogil=True)
def rls_block_step(Pr, Gt, w, presyn, activity, f, g, beta, target, other, err):
    """One RLS step for neurons with private inputs and a block of inputs shared by all, in place.

    Neuron ``i`` reads its private inputs ``a = activity[presyn[i]]`` (``mp`` of
    them) and the shared inputs ``f`` (``nf``); its weights ``w[i]`` are
    ``[private, shared]``. ``Pr[i]`` (mp, mp) and ``Gt[i]`` (mp, nf) are its state
    (see :class:`SharedInputRLS`); ``g = Q f`` and ``beta = 1 / (1 + f . g)``
    come from the shared block, which the caller updates afterwards. Core twin and test: see
    :class:`SharedInputRLS`.

    A piece of the shared-input forms; its plain twin is :func:`core.rls.rls_update_batch`,
    and tests/test_core_rls.py::test_shared_input_forms_equal_core_batch_over_private_and_shared_inputs proves them equal.
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


class SharedInputRLS(RLSState):
    r"""Exact RLS for neurons that each have private inputs plus one block of inputs common to all.

    Part 3's trained neurons each read ``mp = 2 L`` recurrent inputs of their own
    and all ``nf`` feedforward inputs. With :class:`.BatchRLS` every neuron would
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
    proportion. Core twin: :func:`~tutorial_lib.core.rls.rls_update_batch` on the inputs
    ``[private, shared]`` with a block-diagonal ``P`` (``tests/test_core_rls.py::
    test_shared_input_forms_equal_core_batch_over_private_and_shared_inputs``); ``tests/test_rls.py``
    checks that it gives the weights of
    :class:`~tutorial_lib.engine.rls_state.BatchRLS` with the same penalty.

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
    threads : as for :class:`~tutorial_lib.engine.rls_state.BatchRLS`.

    Raises
    ------
    ValueError or TypeError, naming the argument, before the state is allocated: as
    :class:`.BatchRLS` for ``presyn``, ``penalty`` (here the private block), ``w0`` (shape
    (n, mp + nf)), ``dtype`` and ``threads``; ``shared`` not a non-empty 1-D array of distinct
    whole-number indices >= 0, or sharing an input with a row of ``presyn``; ``penalty_shared``
    not a number in :func:`.penalty_range` or a finite, symmetric positive definite (nf, nf)
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
        self.Pr = penalty_inverse(a["penalty"], n, mp, dtype)
        self.Q = np.ascontiguousarray(penalty_inverse(a["penalty_shared"], 1, nf, dtype)[0])
        self.Gt = np.zeros((n, mp, nf), dtype=dtype)
        self.w = a["w0"]
        self.err = np.zeros(n)
        self._f = np.zeros(nf)
        self._g = np.zeros(nf)
        self._split(a["threads"], n * mp * (mp + 3 * nf))

    @classmethod
    def _memory_terms(cls, n: int, mp: int, nf: int, item: int, presyn, shared, per_neuron: bool) -> list:
        """The big arrays of the state, ``(what, bytes)``, for :func:`.check_state_memory`
        (``per_neuron``: the penalty is one matrix per neuron, inverted as a whole)."""
        return [(f"the private blocks P_r and G of {n} neurons with {mp} private and {nf} shared inputs "
                 "(n mp (mp + nf) numbers)", float(item) * n * mp * (mp + nf)),
                ("the shared block Q and the inverses of the penalties",
                 float(item) * nf * nf + 16.0 * (n if per_neuron else 1) * mp * mp + 16.0 * nf * nf),
                ("the inputs and weights", 16.0 * n * (mp + nf))]

    @classmethod
    def _checked_args(cls, presyn, shared, penalty, penalty_shared, w0, dtype, threads) -> dict:
        """The constructor's arguments, each checked and refused by name (see Raises), before any of the
        state is allocated: the inputs as int64 arrays, the penalties as :func:`.checked_penalty`
        gives them, ``w0`` as a float64 copy."""
        dtype = state_dtype(dtype)
        threads = check_threads(threads)
        presyn = presyn_array(presyn, "private inputs")
        shared = index_array("shared", shared, 1, "a 1-D array of input indices (the shared inputs)")
        if shared.size < 1:
            raise ValueError("shared must be a 1-D array of at least one input index (got shape (0,))")
        n, mp = presyn.shape
        nf = shared.shape[0]
        terms = cls._memory_terms(n, mp, nf, dtype.itemsize, presyn, shared, np.ndim(penalty) == 3)
        check_state_memory(("presyn", "shared"), terms, "the number of neurons, of private inputs (presyn's "
                            "shape) or of shared inputs, or the largest input index")
        checked = dict(dtype=dtype, threads=threads, presyn=presyn, shared=shared)
        checked["penalty"] = checked_penalty("penalty", penalty, n, mp, dtype,
                                              "RLS penalty on the private inputs")
        checked["penalty_shared"] = checked_penalty("penalty_shared", penalty_shared, None, nf, dtype,
                                                     "RLS penalty on the shared inputs")
        checked["w0"] = cls._initial_weights(w0, n, mp + nf, np.float64)
        check_distinct_rows("presyn", presyn)
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
        beta = 1.0 / (1.0 + shared_prepare(self.Q, f, g))
        args = (self.Pr, self.Gt, self.w, self.private, activity, f, g, beta, target, other, self.err)
        with held():  # the private blocks and the shared Q change together or not at all
            self._run(rls_block_step, args, per_neuron=(0, 1, 2, 3, 8, 9, 10))
            shared_update(self.Q, g, beta)

    def state(self) -> dict:
        """The arrays that define the RLS state besides ``w`` (for saving)."""
        return {"Pr": self.Pr, "Gt": self.Gt, "Q": self.Q}


def make_rls(presyn, penalty, w0=None, rows=None, n_pool=None):
    """The fastest exact RLS for this layout: :class:`SharedPoolRLS` when every neuron
    reads the whole pool but itself and the penalty is ``lam * I``, else :class:`.BatchRLS`.

    ``rows`` (pool index of each neuron) and ``n_pool`` are needed for the first; give both or
    neither. Raises ValueError or TypeError, naming the argument: as the class it builds, and for
    ``rows`` without ``n_pool`` (or the reverse), ``n_pool`` not a whole number >= 2, ``rows`` not
    one index in ``[0, n_pool - 1]`` per row of ``presyn``.
    """
    presyn = presyn_array(presyn, "inputs")
    if (rows is None) != (n_pool is None):
        if n_pool is None:
            missing, given = "n_pool (size of the pool)", "rows"
        else:
            missing, given = "rows (pool index of each neuron)", "n_pool"
        raise ValueError(f"{missing} must be given with {given}, or neither")
    if rows is not None:
        n_pool = check_int("n_pool", n_pool, lo=2, what="size of the pool")
        rows = index_array("rows", rows, 1, "a 1-D array (pool index of each neuron)", hi=n_pool - 1)
        if rows.shape[0] != presyn.shape[0]:
            raise ValueError(f"rows (pool index of each neuron) must hold one index per row of presyn, "
                             f"{presyn.shape[0]} (got {rows.shape[0]})")
        if np.ndim(penalty) == 0 and presyn.shape[1] == n_pool - 1:
            everyone_else = np.array([np.delete(np.arange(n_pool), i) for i in rows])
            if np.array_equal(presyn, everyone_else):
                check_lam("penalty", penalty, np.float64)  # by the name given here, not SharedPoolRLS's lam
                return SharedPoolRLS(n_pool, rows, penalty, w0=w0)
    return BatchRLS(presyn, penalty, w0=w0)
