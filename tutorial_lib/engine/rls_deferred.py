r"""Deferred steps of :class:`~tutorial_lib.engine.rls_pooled.PooledInputRLS`: the shared weights in
orthogonal form, written only where a shared input spikes next; the rest of a step on a second thread.

:func:`rls_pooled_deferred_update` is the step in plain NumPy (equal to the plain
:func:`~tutorial_lib.core.rls.rls_pooled_update` followed by the columns it writes,
``tests/test_rls_pooled.py``); :func:`rls_pooled_deferred_step` and the kernels below are its
compiled form, split into what the simulation waits for and what can run beside it
(:func:`deferred_rest`, with the next step's shared activity forecast by :func:`_trace_ahead`).

The orthogonal form. The shared weights :math:`\mathbf u_i` of neuron ``i`` (``w[i, mp:]``) are held as
:math:`\tilde{\mathbf u}_i = \mathbf u_i + H_{I_i}^\top \mathbf v_i` (``U[i]``), with
:math:`\mathbf v_i` its private weights (``w[i, :mp]``). The input is then
:math:`\mathbf v_i \cdot \mathbf p_{I_i} + \mathbf u_i \cdot \mathbf f
= \mathbf v_i \cdot \mathbf z_{I_i} + \tilde{\mathbf u}_i \cdot \mathbf f`, and the step of
:func:`.rls_pooled_update` becomes, with :math:`\epsilon_i = \tilde{\mathbf u}_i \cdot \mathbf f
+ \text{other}_i - \text{target}_i` (the error of the shared part alone),

.. math::

    e_i = \mathbf v_i \cdot \mathbf z_{I_i} + \epsilon_i,\quad
    \mathbf v_i \leftarrow \mathbf v_i - e_i c_i \mathbf y_i,\quad
    \tilde{\mathbf u}_i \leftarrow \tilde{\mathbf u}_i - \beta\, \epsilon_i\, \mathbf g,

the last one a plain RLS step on the shared inputs alone, with no ``H`` in it: expand
:math:`\tilde{\mathbf u}_{new} = \mathbf u_{new} + H_{new,I}^\top \mathbf v_{new}` with the
updates of :func:`.rls_pooled_update` and use :math:`c_i (1 + \beta\, \mathbf z_{I_i} \cdot
\mathbf y_i) = \beta`. The plastic input with the new weights is
:math:`u_i = \beta\, \mathbf v_i \cdot \mathbf z_{I_i} + \tilde{\mathbf u}_i \cdot \mathbf f`
(since :math:`\mathbf p - H_{new} \mathbf f = \beta \mathbf z`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..core.rls_checks import check_pooled_args, index_array, state_arg
from .rls_packed import clear_lanes, packed_rank_one, packed_write_backs
from .rls_shared import shared_prepare, shared_update

__all__ = ["NO_COLS", "rls_pooled_deferred_update", "rls_pooled_deferred_step", "deferred_inputs",
           "deferred_settle", "deferred_rest", "deferred_residual", "pooled_orthogonal"]

#: No shared columns (an empty index array), for a deferred step without a forecast.
NO_COLS = np.zeros(0, np.int64)


def rls_pooled_deferred_update(Pr, H, Q, w, U, idx, p, f, target, other=0.0, cols=None):
    r"""One step of :class:`.PooledInputRLS` with the shared weights kept in orthogonal form, in
    plain NumPy, in place; returns ``(e, u)``: the (n,) errors and the (n,) plastic input
    ``w_i . x_i`` with the new weights.

    The orthogonal form and why a step needs no ``H`` in it: see the module's docstring.

    So a step costs no pass over ``H``'s rows per neuron (the 12 000 multiply-adds per neuron of
    :func:`.rls_pooled_step`). The true shared weights are needed only where a shared input
    spikes: ``cols`` (indices into the shared inputs, or None for none) are written back to
    ``w[:, mp + cols]`` as :math:`\tilde{\mathbf u}_i - H_{I_i}^\top \mathbf v_i` with the new
    ``H``; the other shared columns of ``w`` are left as they were (stale).

    Parameters
    ----------
    Pr, H, Q, idx, p, f, target, other : as for :func:`~tutorial_lib.core.rls.rls_pooled_update`.
    w : (n, mp + nf) weights: the private ones are updated, the shared ones only at ``cols``.
    U : (n, nf) the shared weights in orthogonal form; updated in place.

    Equal to :func:`~tutorial_lib.core.rls.rls_pooled_update` followed by the same columns of ``w``
    (``tests/test_rls_pooled.py``, and through the class ``tests/test_core_rls.py::
    test_pooled_plain_packed_and_deferred_steps_agree``); the compiled form is
    :func:`rls_pooled_deferred_step`.
    Raises as :func:`.rls_pooled_update`, and for ``U`` not a writeable float array (n, nf) or
    ``cols`` not indices in ``[0, nf - 1]``.
    """
    idx = check_pooled_args(Pr, H, Q, w, idx, p, f, target, other)
    n, nf = idx.shape[0], Q.shape[0]
    state_arg("U", U, (n, nf), "shared weights in orthogonal form")
    if cols is not None:
        cols = index_array("cols", cols, 1, "a 1-D array of shared columns", hi=nf - 1)
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
def deferred_inputs(activity, shared, pool, col_of, soon, f, p, seen, cols, f_ready, cols_ready, m_ready):
    """The inputs of a deferred step in one call: ``f = activity[shared]``, ``p = activity[pool]``, and
    :func:`_soon_columns` of ``soon``; returns their number ``m`` and whether ``f`` and ``cols[:m]``
    are ``f_ready`` and ``cols_ready[:m_ready]`` (the step's products were made for those), bit for bit.

    A piece of the deferred pooled step; its plain twin is :func:`core.rls.rls_pooled_update`,
    and tests/test_core_rls.py::test_pooled_plain_packed_and_deferred_steps_agree proves them equal.
    """
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
    (:func:`~tutorial_lib.engine.lif_kernel.lif_kernel`, no fast-math here either), so the result is the
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
def deferred_settle(Pk, Y, C, H, U, Q, z, d, g, beta, pending, f, cols, s, uf, Hc, Uc):
    """The state brought up to date with the last deferred step (if ``pending``: ``P_r`` by its ``Y``
    and ``C``, ``H`` by ``beta z g^T``, ``U`` by ``d g^T``, ``Q`` by ``- beta g g^T``), then, for the
    shared activity ``f`` (if not empty), the products the next step needs: ``s = H f``, ``uf = U f``,
    ``Hc = H[:, cols]``, ``Uc = U[:, cols]`` and ``g = Q f``. Returns ``f . g`` (0 without ``f``).

    A piece of the deferred pooled step; its plain twin is :func:`core.rls.rls_pooled_update`,
    and tests/test_core_rls.py::test_pooled_plain_packed_and_deferred_steps_agree proves them equal.
    """
    if pending:
        packed_write_backs(Pk, Y, C)
    _settle_rows(H, z, beta, g, pending, f, cols, s, Hc)
    _settle_rows(U, d, 1.0, g, pending, f, cols, uf, Uc)
    if pending:
        shared_update(Q, g, beta)
    if f.shape[0] == 0:
        return 0.0
    return shared_prepare(Q, f, g)  # g is the next step's from here


@njit(cache=True, nogil=True)
def deferred_rest(Pk, Y, C, H, U, Q, z, d, g, beta, f, ahead, decay, gain, soon, steps, next_soon, col_of,
                   seen, f_next, cols_next, s, uf, Hc_buf, Uc_buf):
    """The rest of a deferred step, in one call (the pool's thread runs it while the simulation goes
    on): :func:`deferred_settle` with the step's update, and, if ``ahead``, for the next step's
    shared activity ``f_next`` forecast from ``f`` (:func:`_trace_ahead`) and its soon columns
    ``cols_next`` (:func:`_soon_columns` of ``next_soon``). ``Hc_buf`` and ``Uc_buf`` hold the columns
    as (S, m) and (n, m) arrays. Returns ``(m, f_next . g)``; ``m = -1`` without a forecast.

    A piece of the deferred pooled step; its plain twin is :func:`core.rls.rls_pooled_update`,
    and tests/test_core_rls.py::test_pooled_plain_packed_and_deferred_steps_agree proves them equal.
    """
    m = -1
    fn = f_next[:0]
    if ahead:
        _trace_ahead(f, decay, gain, soon, steps, col_of, f_next)
        m = _soon_columns(next_soon, col_of, seen, cols_next)
        fn = f_next
    k = max(m, 0)
    S, n = H.shape[0], U.shape[0]
    fg = deferred_settle(Pk, Y, C, H, U, Q, z, d, g, beta, True, fn, cols_next[:k], s, uf,
                          Hc_buf[:S * k].reshape((S, k)), Uc_buf[:n * k].reshape((n, k)))
    return m, fg


@njit(cache=True, nogil=True)
def deferred_residual(p, s, g, beta, cols, z, Hc):
    """``z = p - s`` (the pool minus its prediction ``s = H f`` from the shared inputs) and the columns
    ``Hc = H[:, cols]`` brought to this step's new ``H``: ``+ beta z g[cols]``, in place.

    A piece of the deferred pooled step; its plain twin is :func:`core.rls.rls_pooled_update`,
    and tests/test_core_rls.py::test_pooled_plain_packed_and_deferred_steps_agree proves them equal.
    """
    m = cols.shape[0]
    for j in range(p.shape[0]):
        zj = p[j] - s[j]
        z[j] = zj
        bz = beta * zj
        for k in range(m):
            Hc[j, k] += bz * g[cols[k]]


# Long (a compiled kernel): a group's errors, P_r products, weights and soon columns in one pass over it.
@njit(cache=True, nogil=True)
def rls_pooled_deferred_step(Pk, Y, C, w, idx, z, uf, fg, g, beta, target, other, err, u, d, Hc, Uc, cols,
                             w_out, col_start, neuron):
    r"""The per-neuron part of a deferred :class:`.PooledInputRLS` step, in place: what must happen
    between the simulation's arrival at a learning step and its going on (the rest, the updates of
    ``H``, ``U`` and ``Q``, comes after: :func:`deferred_settle`).

    ``Pk`` the packed ``P_r`` of all neurons (:func:`.pack_symmetric`), read only: its update
    ``- c y y^T`` is left for later (:func:`.packed_write_backs`), with each group's ``y`` in ``Y``
    (G, mp, L) and ``c`` in ``C`` (G, L); ``w`` (n, mp + nf); ``idx``
    (n, mp); ``z`` (S,) and ``Hc`` (S, m) the new ``H``'s soon columns (:func:`deferred_residual`);
    ``uf = U f`` (n,) and ``Uc = U[:, cols]`` (n, m) with the old ``U``; ``fg = f . g``, ``g = Q f``,
    ``beta``; ``target``, ``other``, ``err`` (the errors), ``u`` (the plastic input with the new
    weights) and ``d`` (the coefficient of ``U``'s update, ``U_i <- U_i + d_i g``) (n,); ``neuron`` (n,)
    the index of each among all neurons (a chunk starts at a multiple of the group size).
    If ``w_out`` is not empty, the shared weights are written there instead, column by column: column
    ``c`` of neuron ``i`` to ``w_out[col_start[c] + neuron[i]]``. Sums are float64. Equal to
    :func:`rls_pooled_deferred_update` (``tests/test_rls_pooled.py``) and, with the weights written
    back, to the core twin :func:`~tutorial_lib.core.rls.rls_pooled_update`
    (``tests/test_core_rls.py::test_pooled_plain_packed_and_deferred_steps_agree``); the plastic input is
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
        clear_lanes(zt, nl)
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
        packed_rank_one(Pk[group], zt, beta, y, c, acc, False)
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
def pooled_orthogonal(w, U, H, idx, to_weights):
    """Between the two forms of the shared weights: ``U = w_shared + H_I^T v`` (``to_weights`` False)
    or ``w_shared = U - H_I^T v`` for every column (True); ``v = w[:, :mp]``.

    A piece of the deferred pooled step; its plain twin is :func:`core.rls.rls_pooled_update`,
    and tests/test_core_rls.py::test_pooled_plain_packed_and_deferred_steps_agree proves them equal.
    """
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
