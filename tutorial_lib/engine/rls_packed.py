r"""The compiled eager step of :class:`~tutorial_lib.engine.rls_pooled.PooledInputRLS`, on packed ``P_r``.

Each neuron's inverse Schur complement ``P_r`` is symmetric, so only its upper triangle is
stored, the neurons of a group of :data:`LANES` side by side (:func:`pack_symmetric`); the
arithmetic of a step runs across the neurons of a group. :func:`pooled_regress` and
:func:`rls_pooled_step` together compute what the plain
:func:`~tutorial_lib.core.rls.rls_pooled_update` does
(``tests/test_rls_pooled.py::test_compiled_step_equals_the_plain_numpy_step``,
``tests/test_core_rls.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["LANES", "pack_symmetric", "unpack_symmetric", "pooled_regress", "clear_lanes",
           "packed_rank_one", "packed_write_backs", "rls_pooled_step"]

@njit(cache=True, nogil=True)
def pooled_regress(H, p, f, g, beta, z):
    """``z = p - H f`` with the old ``H``, then ``H <- H + beta z g^T``: one pass over these rows of ``H``.

    The sums are float64 whatever ``H``'s precision (a float32 ``H`` is only rounded where it is
    stored); ``z`` is float64.

    A piece of the packed pooled step; its plain twin is :func:`core.rls.rls_pooled_update`,
    and tests/test_core_rls.py::test_pooled_plain_packed_and_deferred_steps_agree proves them equal.
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

#: Neurons per group in :class:`.PooledInputRLS`'s packed ``P_r`` (see :func:`pack_symmetric`).
LANES = 32


def pack_symmetric(P, lanes: int | None = None) -> np.ndarray:
    """Symmetric matrices ``P`` (n, m, m) as their upper triangles, ``lanes`` neurons side by side.

    Returns ``Pk`` of shape ``(ceil(n / lanes), m (m + 1) / 2, lanes)``: entry ``q`` (the ``q``-th
    pair ``a <= b`` in row order, :func:`numpy.triu_indices`) of neuron ``i`` is
    ``Pk[i // lanes, q, i % lanes]``; the lanes past ``n`` in the last group are zero. Half the bytes
    of ``P``, and the arithmetic of one step runs across the neurons of a group (the innermost,
    contiguous axis), so it vectorises whatever ``m`` is (:func:`packed_rank_one`). Only the
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
def clear_lanes(zt, nl):
    """Zero the lanes ``nl:`` of ``zt`` (m, L): past the last neuron of a group, a zero ``z`` leaves the
    unused lanes of the packed ``P_r`` as they are (:func:`packed_rank_one`).

    A piece of the packed pooled step; its plain twin is :func:`core.rls.rls_pooled_update`,
    and tests/test_core_rls.py::test_pooled_plain_packed_and_deferred_steps_agree proves them equal.
    """
    for a in range(zt.shape[0]):
        for l in range(nl, zt.shape[1]):
            zt[a, l] = 0.0


@njit(cache=True, nogil=True)
def packed_rank_one(P, zt, beta, y, c, acc, write=True):
    """One RLS step of the packed ``P_r`` of a group of neurons (:func:`pack_symmetric`), in place.

    ``P`` (m (m+1)/2, L) the group's upper triangles, ``zt`` (m, L) each lane's ``z_I``. Fills
    ``y`` (m, L) with ``P z`` (old ``P``) and ``c`` (L,) with ``beta / (1 + beta z . y)``, then
    ``P <- P - c y y^T`` (:func:`_packed_write_back`; not if ``write`` is False). A lane whose ``z``
    is zero is left as it is. Each stored entry ``P[a, b]`` (``a <= b``) is read once for both
    ``y_a`` and ``y_b``; every loop runs over the lanes. ``acc`` (L,) is scratch. Sums are float64,
    whatever ``P``'s precision.

    A piece of the packed pooled step; its plain twin is :func:`core.rls.rls_pooled_update`,
    and tests/test_core_rls.py::test_pooled_plain_packed_and_deferred_steps_agree proves them equal.
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
    the second half of :func:`packed_rank_one`. ``acc`` (L,) is scratch."""
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
def packed_write_backs(Pk, Y, C):
    """:func:`_packed_write_back` for every group: ``Pk`` (G, m (m+1)/2, L), ``Y`` (G, m, L), ``C`` (G, L).

    A piece of the packed pooled step; its plain twin is :func:`core.rls.rls_pooled_update`,
    and tests/test_core_rls.py::test_pooled_plain_packed_and_deferred_steps_agree proves them equal.
    """
    acc = np.empty(Pk.shape[2])
    for k in range(Pk.shape[0]):
        _packed_write_back(Pk[k], Y[k], C[k], acc)


# Long (a compiled kernel): a group's errors, packed P_r step and weights in one pass, its y still in cache.
@njit(cache=True, nogil=True)
def rls_pooled_step(Pk, H, w, idx, p, z, f, g, beta, target, other, err, neuron):
    """The per-neuron part of a :class:`.PooledInputRLS` step, in place, after :func:`pooled_regress`.

    ``H`` is already updated (``H <- H + beta z g^T``), so the shared weights take
    ``e (beta g - c H_I^T y)``, which equals ``e c (g - H_old,I^T y)`` (see the class).
    ``Pk`` the packed ``P_r`` of all neurons (:func:`pack_symmetric`; groups of ``L`` neurons),
    ``w`` (n, mp + nf), ``idx`` (n, mp) rows of ``H``, ``p`` (S,) the pool's
    activity, ``z`` (S,) ``p - H_old f``, ``f`` (nf,), ``g = Q f``, ``beta``; ``target``, ``other``,
    ``err`` (n,); ``neuron`` (n,) the index of each among all neurons (a chunk starts at a
    multiple of ``L``). Every sum is float64, whatever the precision of ``Pk`` and ``H`` (float32
    state is only rounded where it is stored). Equal to :func:`~tutorial_lib.core.rls.rls_pooled_update`
    (``tests/test_rls_pooled.py::test_compiled_step_equals_the_plain_numpy_step``,
    ``tests/test_core_rls.py::test_pooled_plain_packed_and_deferred_steps_agree``). Its arguments are
    the twin's state in packed form and the products the class computes first (``z``, ``g``,
    ``beta``), plus outputs.
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
        clear_lanes(zt, nl)
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
        packed_rank_one(Pk[neuron[start] // L], zt, beta, y, c, acc)
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
