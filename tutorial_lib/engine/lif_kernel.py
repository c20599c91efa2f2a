"""The compiled LIF kernel (:func:`lif_kernel`) and the small compiled loops it and its driver use.

The kernel is the compiled twin of :func:`tutorial_lib.core.lif.run_network` with the LIF model
(:data:`tutorial_lib.core.lif.LIF`): same equations, same order of random numbers, same spikes;
``tests/test_spiking.py`` (engine vs NumPy, both backends of
:func:`tutorial_lib.engine.simulate.simulate`) and ``tests/test_neuron_models.py`` prove it. Static
synapses are held by presynaptic neuron in CSR form (``post[ptr[j]:ptr[j+1]]``, targets as uint16
or int32, jumps ``w * (1/tau)`` by target neuron or by synapse:
:func:`tutorial_lib.engine.lif_inputs.pack_static`); plastic weights as rows ``w[k, a]`` from source
``presyn[k, a]`` onto neuron ``rows[k]`` (the layout of :class:`~tutorial_lib.engine.rls_state.BatchRLS`), with an
index by source for the spike scatter. numba, ``cache=True``, no fast-math: a run is the same to the bit
on every CPU.

>>> OK, NONFINITE, TOO_MANY_SPIKES
(0, 1, 2)
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["OK", "NONFINITE", "TOO_MANY_SPIKES", "lif_kernel", "plastic_input", "record_state", "record_total",
           "record_split", "learning_inputs", "after_rls_step", "jumps_by_post", "shared_columns_by_source",
           "first_out_of_order"]

#: Kernel status codes
OK, NONFINITE, TOO_MANY_SPIKES = 0, 1, 2
MAX_FLOAT = float(np.finfo(np.float64).max)  # |x| <= this: x is finite (a test that vectorises)


@njit(cache=True, nogil=True)
def _scatter_channel(j, c, ch_ptr, ch_post, ch_jump, by_post, x):
    """Deliver a spike of neuron ``j`` to static channel ``c``: x_c[post] += J / tau_c.

    The jump is ``ch_jump[c, post]`` if ``by_post`` (every synapse of channel ``c`` onto a neuron has
    the same weight, as in Part 3: the scatter then streams 2 bytes per synapse instead of 10) or
    else ``ch_jump[0, q]``, synapse by synapse (:func:`pack_static`).
    """
    if by_post:
        jump = ch_jump[c]
        for q in range(ch_ptr[c, j], ch_ptr[c, j + 1]):
            i = ch_post[q]
            x[c, i] += jump[i]
    else:
        for q in range(ch_ptr[c, j], ch_ptr[c, j + 1]):
            x[c, ch_post[q]] += ch_jump[0, q]


@njit(cache=True, nogil=True)
def _scatter_static(j, ch_ptr, ch_post, ch_jump, by_post, x):
    """Deliver a spike of neuron ``j`` to every static channel (:func:`_scatter_channel`)."""
    for c in range(ch_ptr.shape[0]):
        _scatter_channel(j, c, ch_ptr, ch_post, ch_jump, by_post, x)


@njit(cache=True, nogil=True)
def _scatter_static_where(j, ch_ptr, ch_post, ch_jump, by_post, x, replayed, which):
    """:func:`_scatter_static` into the channels ``c`` with ``replayed[c] == which`` only: a spike of the
    network (``which`` 0) reaches the live channels, a replayed spike (``which`` 1) the replayed ones."""
    for c in range(ch_ptr.shape[0]):
        if replayed[c] == which:
            _scatter_channel(j, c, ch_ptr, ch_post, ch_jump, by_post, x)


@njit(cache=True, nogil=True)
def _scatter_plastic(src, p_gain, rows, w, w_src, out_ptr, out_row, out_col, r, u):
    """Deliver a spike of source ``src`` to the plastic synapses: r_src += 1/tau_p, u_i += w_i,src / tau_p.

    ``w_src``, if not empty, holds the same weights in the order of the index by source
    (``w_src[q] = w[out_row[q], out_col[q]]``, for a run without learning): a source's weights are
    then read in one sweep, not one per row of ``w`` (a feed-forward source reaches every row).
    """
    r[src] += p_gain
    if w_src.shape[0] > 0:
        for q in range(out_ptr[src], out_ptr[src + 1]):
            u[rows[out_row[q]]] += w_src[q] * p_gain
    else:
        for q in range(out_ptr[src], out_ptr[src + 1]):
            k = out_row[q]
            u[rows[k]] += w[k, out_col[q]] * p_gain


@njit(cache=True, nogil=True)
def plastic_input(rows, presyn, w, r, u):
    """Recompute u_i = sum_a w[k, a] r[presyn[k, a]] exactly, for every plastic row k (neuron rows[k]).

    Four rows at a time: each row's sum is still added up in the order a = 0, 1, ..., but four
    independent sums keep the adder busy, where one sum waits for its previous addition at every term.

    A piece of the kernel path; its plain twin is the matching step of :func:`core.lif.run_network`,
    and tests/test_spiking.py::test_engine_with_learning_matches_a_numpy_implementation proves them equal.
    """
    R, m = presyn.shape
    k = 0
    while k + 4 <= R:
        a0 = a1 = a2 = a3 = 0.0
        for a in range(m):
            a0 += w[k, a] * r[presyn[k, a]]
            a1 += w[k + 1, a] * r[presyn[k + 1, a]]
            a2 += w[k + 2, a] * r[presyn[k + 2, a]]
            a3 += w[k + 3, a] * r[presyn[k + 3, a]]
        u[rows[k]], u[rows[k + 1]], u[rows[k + 2]], u[rows[k + 3]] = a0, a1, a2, a3
        k += 4
    for k in range(k, R):  # the last R % 4 rows
        acc = 0.0
        for a in range(m):
            acc += w[k, a] * r[presyn[k, a]]
        u[rows[k]] = acc


@njit(cache=True, nogil=True)
def record_state(row, rec_idx, v, x, u, v_rec, cur_rec):
    """Write the voltages, static currents and plastic input of neurons ``rec_idx`` to ``row``.

    A piece of the kernel path; its plain twin is the matching step of :func:`core.lif.run_network`,
    and tests/test_spiking.py::test_engine_matches_a_numpy_implementation_spike_for_spike proves them equal.
    """
    C = x.shape[0]
    for q in range(rec_idx.shape[0]):
        i = rec_idx[q]
        v_rec[row, q] = v[i]
        for c in range(C):
            cur_rec[row, c, q] = x[c, i]
        cur_rec[row, C, q] = u[i]


@njit(cache=True)
def after_rls_step(err, errors_row, u_rows, rows, u):
    """After an RLS step: ``errors_row[:] = err``; the index of the first non-finite error, or -1, and
    then (if ``u_rows`` is not empty) ``u[rows] = u_rows``. Holds the GIL (see :func:`simulate`).

    A piece of the kernel path; its plain twin is the matching step of :func:`core.lif.run_network`,
    and tests/test_spiking.py::test_engine_with_learning_matches_a_numpy_implementation proves them equal.
    """
    bad = -1
    for k in range(err.shape[0]):
        errors_row[k] = err[k]
        if bad < 0 and not math.isfinite(err[k]):
            bad = k
    if bad < 0:
        for k in range(u_rows.shape[0]):
            u[rows[k]] = u_rows[k]
    return bad


@njit(cache=True, nogil=True)
def record_total(row, rec_idx, mu, stim, on, x, u, total_rec):
    """Write only the total input of neurons ``rec_idx`` to ``total_rec[row]``: ``external + synaptic``,
    each summed as :attr:`Run.total_input` sums the full record (so the values are the same to the bit).

    A piece of the kernel path; its plain twin is the matching step of :func:`core.lif.run_network`,
    and tests/test_spiking.py::test_engine_with_two_channels_and_a_stimulus_is_bit_identical_to_numpy proves them equal.
    """
    C = x.shape[0]
    for q in range(rec_idx.shape[0]):
        i = rec_idx[q]
        ext = (mu[i] + stim[i]) if on else mu[i]
        syn = u[i]
        if C > 0:
            syn = x[0, i]
            for c in range(1, C):
                syn += x[c, i]
            syn += u[i]
        total_rec[row, q] = ext + syn


@njit(cache=True, nogil=True)
def record_split(row, rec_idx, split_row, presyn, w, r, col_group, split_rec):
    """The plastic input of neurons ``rec_idx`` split by source group, written to ``split_rec[row]``.

    ``split_rec[row, g, q] = sum_a w[k, a] r[presyn[k, a]]`` over the inputs ``a`` of row
    ``k = split_row[rec_idx[q]]`` whose source is in group ``g = col_group[k, a]``
    (0 for a neuron without plastic row, ``k = -1``). Summed afresh from ``w`` and ``r``, so the
    groups add up to the engine's incrementally kept ``u`` up to rounding (see :meth:`Run.inputs_by_source`).

    A piece of the kernel path; its plain twin is the matching step of :func:`core.lif.run_network`,
    and tests/test_spiking.py::test_engine_with_learning_matches_a_numpy_implementation proves them equal.
    """
    G = split_rec.shape[1]
    acc = np.empty(G)
    for q in range(rec_idx.shape[0]):
        acc[:] = 0.0
        k = split_row[rec_idx[q]]
        if k >= 0:
            for a in range(presyn.shape[1]):
                acc[col_group[k, a]] += w[k, a] * r[presyn[k, a]]
        for g in range(G):
            split_rec[row, g, q] = acc[g]


@njit(cache=True, nogil=True)
def learning_inputs(rows, mu, stim, on, x, error_noise, rng, other):
    """The non-plastic input of every plastic row at a learning step: ``mu + stimulus + sum_c x_c``,
    plus ``error_noise`` times a standard normal per row (drawn in row order) if it is positive.

    A piece of the kernel path; its plain twin is the matching step of :func:`core.lif.run_network`,
    and tests/test_spiking.py::test_engine_with_learning_matches_a_numpy_implementation proves them equal.
    """
    C = x.shape[0]
    for k in range(rows.shape[0]):
        i = rows[k]
        o = mu[i] + (stim[i] if on else 0.0)
        for c in range(C):
            o += x[c, i]
        if error_noise > 0.0:
            o += error_noise * rng.standard_normal()
        other[k] = o


# long on purpose: one compiled loop over steps and neurons (a call per step would cost more than the step)
@njit(cache=True, nogil=True)
def lif_kernel(
    v, mu, stim, stim_on, stim_off, dt_tau_m, v_th, v_reset, noise, rng,
    ch_decay, ch_ptr, ch_post, ch_jump, by_post, x,
    plastic, p_decay, p_gain, rows, w, w_src, out_ptr, out_row, out_col, r, u,
    ext_ptr, ext_src, w_src_ext,
    rec_every, rec_idx, v_rec, cur_rec, total_rec,
    spike_step, spike_idx, n_spikes, n_first, n_last, record_first,
    split_row, presyn, col_group, split_rec,
    rp_ptr, rp_src, rp_static, rp_plastic,
):
    """Run ``n_steps`` Euler steps of the LIF network in place; see :mod:`tutorial_lib.core.lif` for the equations.

    Twin: :func:`tutorial_lib.core.lif.run_network` with :data:`~tutorial_lib.core.lif.LIF` (one
    :func:`~tutorial_lib.core.lif.lif_euler_step` per step; here sparse synapses, incremental ``u``);
    ``tests/test_spiking.py`` (``backend="numba"`` vs ``"numpy"``) checks they give the same spikes.

    Neurons: ``v`` (N,) voltages (in: initial, out: final); ``mu`` (N,) constant
    input; ``stim`` (N,) added during steps ``stim_on <= n < stim_off``;
    ``dt_tau_m = dt/tau_m``; threshold ``v_th``, reset ``v_reset``; ``noise`` the
    amplitude sigma_xi; ``rng`` a numpy Generator.

    Static channels (C of them): ``ch_decay[c] = 1 - dt/tau_c``;
    ``ch_ptr`` (C, N+1) absolute offsets into ``ch_post`` (the CSR of all channels
    concatenated; ``ch_post`` uint16 or int32); ``ch_jump = J * (1/tau_c)``, the jump of the
    target's current per spike: (C, N) by target neuron if ``by_post``, else (1, synapses) by
    synapse (:func:`pack_static`); ``x`` (C, N) the currents (state).

    Plastic synapses (R rows of m inputs): ``plastic`` False if there are none (then
    ``r`` is not kept and ``u`` stays 0); ``p_decay = 1 - dt/tau_p``, ``p_gain = 1/tau_p``;
    ``rows`` (R,) postsynaptic neurons; ``w`` (R, m) weights; ``out_ptr`` (S+1,),
    ``out_row``, ``out_col``: for source j, the positions (row, column) of its synapses;
    ``w_src`` empty, or (without learning) ``w`` in that order (:func:`_scatter_plastic`);
    ``r`` (S,) filtered spike trains of the S sources (N neurons, then external ones);
    ``u`` (N,) plastic input (state).

    External spikes: sources ``ext_src[ext_ptr[n]:ext_ptr[n+1]]`` spike in step n
    (``ext_ptr`` empty: none); their weights are read from ``w_src_ext`` as from ``w_src`` (the
    same array without learning; with the deferred RLS steps, the external sources' weights kept
    in step by RLS, while the network's sources are read from ``w``).

    Steps ``n_first <= n < n_last`` are run (the driver, :func:`simulate`, pauses
    the kernel at every learning step and runs RLS in between; see
    :func:`learning_inputs`). ``n_spikes`` spikes are already in the buffers.

    Recording every ``rec_every`` steps, at the start of the step: ``v_rec`` (rows,
    n_rec) and ``cur_rec`` (rows, C+1, n_rec) the static currents and then the
    plastic input of neurons ``rec_idx`` (step ``n_first`` only if ``record_first``); or, if
    ``total_rec`` (n_rec, rows) is not empty, only their total input (:func:`record_total`).
    Spikes go to ``spike_step``/``spike_idx``. If ``split_rec`` (rows, G, n_rec) is not
    empty, the plastic input is also recorded split by source group (:func:`record_split`,
    with ``split_row`` (N,) the plastic row of each neuron or -1, ``presyn`` (R, m) the
    sources of the rows and ``col_group`` (R, m) the group of each source).

    Replayed spikes (:class:`Replay`; ``rp_ptr`` empty: none): the network neurons
    ``rp_src[rp_ptr[n]:rp_ptr[n+1]]`` spike, for the synapses, in step n; the static channels with
    ``rp_static[c] == 1`` and, if ``rp_plastic``, the plastic synapses receive these spikes instead
    of the network's own (which still reach the other channels).

    Random numbers: one normal per neuron per step, in index order (if ``noise > 0``).

    Each step: the input ``mu + u (+ stim) + sum_c x_c`` of all neurons is summed in that
    order into a buffer while ``u`` and ``x`` decay (they are not read again before this
    step's spikes arrive), the voltages are updated in a separate loop (both vectorise),
    then a loop in neuron order applies threshold and reset. A non-finite input only sets a
    flag in the voltage loop; the first such neuron is then looked up, and spikes are
    collected up to it, as if the loop had stopped there.

    Returns ``(status, step, n_spikes, neuron)``: status 0 done; 1 the input of
    ``neuron`` became non-finite in ``step``; 2 the spike buffer filled up in ``step``.
    """
    N = v.shape[0]
    C = x.shape[0]
    max_spikes = spike_step.shape[0]
    fired = np.empty(N, dtype=np.int64)
    xi = np.zeros(N)  # this step's noise, noise * standard normal
    drive = np.empty(N)  # this step's input
    for n in range(n_first, n_last):
        on = stim_on <= n < stim_off
        # 1. record the state at t_n (learning, between kernel calls, comes after it)
        if n % rec_every == 0 and (record_first or n > n_first):
            if total_rec.shape[0] > 0:  # the total input only, for a score
                record_total(n // rec_every, rec_idx, mu, stim, on, x, u, total_rec)
            else:
                record_state(n // rec_every, rec_idx, v, x, u, v_rec, cur_rec)
            if split_rec.shape[0] > 0:
                record_split(n // rec_every, rec_idx, split_row, presyn, w, r, col_group, split_rec)
        # 2. membrane: Euler step, threshold, reset
        if noise > 0.0:
            for i in range(N):
                xi[i] = noise * rng.standard_normal()
        # 2a. the input at t_n; the currents decay as they are read (this step's spikes come in 3.)
        if on:
            for i in range(N):
                drive[i] = mu[i] + u[i] + stim[i]
                u[i] *= p_decay
        else:
            for i in range(N):
                drive[i] = mu[i] + u[i]
                u[i] *= p_decay
        for c in range(C):
            d = ch_decay[c]
            for i in range(N):
                drive[i] += x[c, i]
                x[c, i] *= d
        # 2b. the voltages (a vectorised loop), with a flag for non-finite input
        bad = False
        for i in range(N):
            dr = drive[i]
            bad |= not (abs(dr) <= MAX_FLOAT)
            v[i] += dt_tau_m * (dr + xi[i] - v[i])
        stop = N
        if bad:
            stop = 0
            while math.isfinite(drive[stop]):
                stop += 1
        # 2c. threshold and reset, in neuron order
        n_fired = 0
        for i in range(stop):
            if v[i] >= v_th:
                v[i] = v_reset
                if n_spikes == max_spikes:
                    return TOO_MANY_SPIKES, n, n_spikes, i
                spike_step[n_spikes] = n
                spike_idx[n_spikes] = i
                n_spikes += 1
                fired[n_fired] = i
                n_fired += 1
        if bad:
            return NONFINITE, n, n_spikes, stop
        # 3. synapses: the decay is done; this step's spikes (felt from step n + 1)
        if plastic:
            for a in range(r.shape[0]):
                r[a] *= p_decay
        if rp_ptr.shape[0] == 0:
            for f in range(n_fired):
                _scatter_static(fired[f], ch_ptr, ch_post, ch_jump, by_post, x)
                if plastic:
                    _scatter_plastic(fired[f], p_gain, rows, w, w_src, out_ptr, out_row, out_col, r, u)
        else:  # a replay: the network's spikes go to the live synapses, the replayed ones to the others
            for f in range(n_fired):
                _scatter_static_where(fired[f], ch_ptr, ch_post, ch_jump, by_post, x, rp_static, 0)
                if plastic and not rp_plastic:
                    _scatter_plastic(fired[f], p_gain, rows, w, w_src, out_ptr, out_row, out_col, r, u)
            for q in range(rp_ptr[n], rp_ptr[n + 1]):
                _scatter_static_where(rp_src[q], ch_ptr, ch_post, ch_jump, by_post, x, rp_static, 1)
                if plastic and rp_plastic:
                    _scatter_plastic(rp_src[q], p_gain, rows, w, w_src, out_ptr, out_row, out_col, r, u)
        if ext_ptr.shape[0] > n + 1:
            for q in range(ext_ptr[n], ext_ptr[n + 1]):
                _scatter_plastic(ext_src[q], p_gain, rows, w, w_src_ext, out_ptr, out_row, out_col, r, u)
    return OK, n_last, n_spikes, -1


@njit(cache=True, nogil=True)
def jumps_by_post(post, w, inv_tau, jump, seen) -> bool:
    """``jump[i] = w_q * inv_tau`` for the synapses ``q`` onto neuron ``i``, if they all have the same
    weight (every synapse checked; ``seen`` (N,) False on entry); False as soon as two differ.

    A piece of the kernel path; its plain twin is the matching step of :func:`core.lif.run_network`,
    and tests/test_spiking.py::test_engine_matches_a_numpy_implementation_spike_for_spike proves them equal.
    """
    for q in range(post.shape[0]):
        i = post[q]
        j = w[q] * inv_tau
        if not seen[i]:
            jump[i] = j
            seen[i] = True
        elif jump[i] != j:
            return False
    return True


@njit(cache=True, nogil=True)
def shared_columns_by_source(w, mp, col_start, out):
    """``out[col_start[c] + i] = w[i, mp + c]``: the shared inputs' weights in the index by source.

    A piece of the kernel path; its plain twin is the matching step of :func:`core.lif.run_network`,
    and tests/test_spiking.py::test_engine_with_two_channels_and_a_stimulus_is_bit_identical_to_numpy proves them equal.
    """
    for c in range(col_start.shape[0]):
        q0 = col_start[c]
        for i in range(w.shape[0]):
            out[q0 + i] = w[i, mp + c]


@njit(cache=True, nogil=True)
def first_out_of_order(out_ptr, out_row, out_col, shared, mp, n):
    """The first shared input ``c`` (source ``shared[c]``) whose synapses in the index by source are not
    rows ``0 .. n-1`` in order, each at column ``mp + c``; -1 if there is none.

    A piece of the kernel path; its plain twin is the matching step of :func:`core.lif.run_network`,
    and tests/test_spiking.py::test_engine_with_two_channels_and_a_stimulus_is_bit_identical_to_numpy proves them equal.
    """
    for c in range(shared.shape[0]):
        q0 = out_ptr[shared[c]]
        if out_ptr[shared[c] + 1] - q0 != n:
            return c
        for i in range(n):
            if out_row[q0 + i] != i or out_col[q0 + i] != mp + c:
                return c
    return -1

