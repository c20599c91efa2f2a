"""Part 1's compiled trial: the numba twins of :mod:`tutorial_lib.core.rate`.

Small kernels, typed by use, no Python objects: arrays and numbers. They read ``W`` transposed
(``WT``, C order) so that the recurrent input is summed column by column in one fixed order.
``tests/test_rate.py::test_backends_agree`` runs a trial on both backends (``rate.run_trial(...,
backend="numba" | "numpy")``) and checks that they give the same rates, inputs and weights.
"""

from __future__ import annotations

from numba import njit

__all__ = ["recurrent_input", "write_rows", "advance"]


@njit(cache=True, nogil=True)
def recurrent_input(WT, r, u):
    """u = W r from ``WT`` = W transposed (C order), summed over presynaptic j in order 0, 1, ...

    Core twin: the ``u = W @ r`` of :func:`tutorial_lib.core.rate.advance`.
    Column by column (``u += r_j W[:, j]``) the loop over neurons vectorises on any CPU while every
    ``u_i`` is still the sum in one fixed order: the same bits with SSE, AVX2 or AVX-512 and with or
    without FMA units (no ``fastmath``; ``tests/test_same_result.py``).
    """
    N = WT.shape[1]
    for i in range(N):
        u[i] = 0.0
    for j in range(WT.shape[0]):
        rj = r[j]
        if rj == 0.0:  # a silent unit (ReLU) adds +-0 to every sum, which leaves it as it is: skip it
            continue
        for i in range(N):
            u[i] += WT[j, i] * rj


@njit(cache=True, nogil=True)
def write_rows(W, WT, rows, presyn, w):
    """The plastic weights into the trained rows of ``W`` and the same entries of ``WT`` = W transposed.

    Core twin: the fancy assignment ``W[rows[:, None], presyn] = w`` inside :func:`core.rate.run_trial`'s
    ``learn`` callback (what ``rate.run_trial(..., backend="numpy")`` does);
    ``tests/test_rate.py::test_write_rows_kernel_equals_fancy_assignment`` proves them equal.
    """
    for k in range(rows.shape[0]):
        i = rows[k]
        for a in range(presyn.shape[1]):
            j = presyn[k, a]
            W[i, j] = w[k, a]
            WT[j, i] = w[k, a]


@njit(cache=True, nogil=True)
def advance(WT, r, u, stim, stim_on, stim_off, s0, s1, dt_tau, rec_every, r_rec, u_rec, max_rate):
    """Euler steps s0 .. s1-1 of the rate equation, in place on ``r`` (``u`` is a work array).

    Core twin: :func:`tutorial_lib.core.rate.advance` (same arguments, with ``W`` given as ``WT``
    and the work array ``u``); ``tests/test_rate.py::test_advance_kernel_equals_core`` and
    ``test_backends_agree`` prove them equal. Returns (0, s1), or (1, s) if a rate exceeded
    ``max_rate`` (or became NaN) at step s.
    """
    N = WT.shape[0]
    for s in range(s0, s1):
        recurrent_input(WT, r, u)
        if s % rec_every == 0:
            row = s // rec_every
            r_rec[row] = r
            u_rec[row] = u
        on = stim_on <= s < stim_off
        for i in range(N):  # tau dr/dt = -r + relu(u + stimulus)
            drive = u[i] + (stim[i] if on else 0.0)
            if drive < 0.0:
                drive = 0.0
            r[i] += dt_tau * (drive - r[i])
            if not (r[i] <= max_rate):  # also catches NaN
                return 1, s
    return 0, s1
