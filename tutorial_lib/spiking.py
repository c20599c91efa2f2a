r"""Leaky integrate-and-fire (LIF) networks: one compiled engine for Parts 2 and 3.

Why one module of about 1500 lines: it is one engine, read top to bottom in the order of the
equations below: the single neuron's theory, the plain NumPy step and run (:func:`lif_euler_step`,
:func:`trace_step`, :func:`simulate_numpy`), the compiled kernel that does the same, the network
as data (synapses, plastic rows, learning, perturbations) and the driver (:func:`simulate`, in
named stages). Split apart, each piece would need the others' conventions (the one-step synaptic
delay, the spike-time label, the order of random numbers) restated; here they are stated once.

The model (times in ms, voltages in units of the threshold):

.. math::

    \tau_m \frac{dv_i}{dt} = -v_i + \mu_i + s_i(t) + \sum_c x_{c,i} + u_i + \sigma_\xi\, \xi_i(t),
    \qquad v_i \ge 1 \;\Rightarrow\; \text{spike},\; v_i \leftarrow 0

(threshold 1, reset 0, no refractory period; :math:`\mu_i` a constant input,
:math:`s_i` a stimulus switched on in a window, :math:`\xi_i` a fresh standard
normal at every step). The synaptic input has two kinds of terms:

* **static channels** :math:`c` (Part 2's untrained synapses; Part 3's
  excitatory and inhibitory currents), each with its own time constant and
  fixed sparse weights :math:`J^c`:

  .. math:: \tau_c \frac{dx_{c,i}}{dt} = -x_{c,i} + \sum_j J^c_{ij} \sum_k \delta(t - t_j^k)

* **plastic synapses** (the trained ones), written through the filtered spike
  trains of their sources, which are the regressors of RLS:

  .. math:: \tau_p \frac{dr_j}{dt} = -r_j + \sum_k \delta(t - t_j^k), \qquad u_i = \sum_j w_{ij} r_j

Euler steps of ``dt`` (SPEC: Euler everywhere). From :math:`t_n` to :math:`t_{n+1}`:

.. math::

    v &\leftarrow v + \tfrac{dt}{\tau_m}\big(-v + I_n + \sigma_\xi \xi_n\big)
        \qquad (I_n = \mu + s + \textstyle\sum_c x_c + u \text{ at } t_n) \\
    x_c &\leftarrow (1 - \tfrac{dt}{\tau_c})\, x_c + \tfrac{1}{\tau_c} J^c \mathbf{s}_n \\
    r &\leftarrow (1 - \tfrac{dt}{\tau_p})\, r + \tfrac{1}{\tau_p} \mathbf{s}_n, \qquad
    u \leftarrow (1 - \tfrac{dt}{\tau_p})\, u + \tfrac{1}{\tau_p} w\, \mathbf{s}_n

where :math:`\mathbf s_n` is 1 for the neurons that crossed threshold in step
:math:`n` (a delta function integrates to 1 over the step, so a spike adds
``1/tau`` to a trace). A spike emitted in step ``n`` therefore enters the
currents at :math:`t_{n+1}` and acts on the voltages from step ``n + 1`` on:
the one-step synaptic delay of the SPEC. It is labelled with the time
:math:`t_{n+1} = (n+1)\,dt` at which the threshold was reached, the first time at
which the traces contain it. :math:`u = w r` is kept incrementally (the line
above is exact algebra for fixed ``w``), so a spike costs one pass over its
targets instead of a product with the whole weight matrix at every step; after
every RLS update ``u`` is recomputed exactly as ``w r`` with the new weights.
Euler's decay factor ``1 - dt/tau`` differs from the exact ``exp(-dt/tau)`` by
about ``(dt/tau)^2 / 2`` per step (1e-7 for tau = 200 ms, 6e-4 for tau = 3 ms), and it
keeps the area under a spike's trace exactly 1, as in continuous time
(``sum_k dt/tau (1 - dt/tau)^k = 1``).

About the noise: as in the SPEC (and the original tutorial) the voltage
receives ``dt/tau_m * sigma * xi`` per step, not ``sqrt(dt)``-scaled; the noise's
effect on ``v`` therefore depends on ``dt``, and ``dt = 0.1 ms`` is part of the model.

Layout for the compiled kernel (:func:`lif_kernel`): static weights are held
by presynaptic neuron in CSR form (the targets of neuron ``j`` are
``post[ptr[j]:ptr[j+1]]``; :func:`simulate` hands the kernel the targets as
uint16, or int32 above 65536 neurons, and the jumps ``w * (1/tau)`` computed
once, the same product the scatter used to form per spike: one per target neuron
and channel when the weights allow it, as Part 3's do, else one per synapse,
:func:`_pack_static`); plastic weights as
rows ``w[k, a]`` from source ``presyn[k, a]`` onto neuron ``rows[k]`` (the
layout of :class:`~tutorial_lib.rls.BatchRLS`, so the RLS batch update works on
them directly), with a CSR index by source
for the spike scatter. Sources ``0..N-1`` of the plastic synapses are the
network's neurons; sources ``N..`` are external spike trains (Part 3's
feedforward inputs).

How the parts use it: the single-neuron and two-neuron demos are networks of
one and two neurons (:func:`simulate_single`, :func:`simulate_pair`). Part 2
(:mod:`tutorial_lib.spiking_net`) makes the trained neurons' synapses plastic,
with ``tau_p = tau_s``, and puts any untrained neurons' synapses in one static
channel with the same time constant. Part 3's balanced network has two static
channels (excitatory and inhibitory presynaptic neurons, each with its own
``tau``), per-neuron ``mu`` (E and I), plastic rows for the trained excitatory
neurons (``tau = 150 ms``) whose sources include the feedforward Poisson
neurons, and the RLS penalty matrix in :class:`~tutorial_lib.rls.BatchRLS`.

Getting started::

    >>> from tutorial_lib.spiking import simulate_single, simulate_pair
    >>> run = simulate_single(mu=1.5, noise=0.0, T=200.0)
    >>> run.spike_times[:3]                       # regular firing, every ~11 ms
    array([11., 22., 33.])
    >>> pair = simulate_pair(w21=5.0, tau_s=20.0)  # neuron 0 drives neuron 1
    >>> pair.total_input.shape                    # (time, neuron), sampled every 1 ms
    (1000, 2)

References
----------
* Brunel N (2000) Dynamics of sparsely connected networks of excitatory and inhibitory spiking
  neurons. J Comput Neurosci 8:183-208. doi:10.1023/A:1008925309027 (LIF networks with
  current-based synapses).
* Kim CM, Chow CC (2018) Learning recurrent dynamics in spiking networks. eLife 7:e37124.
  doi:10.7554/eLife.37124 (filtered spike trains as the regressors of RLS).
* Stimberg M, Brette R, Goodman DFM (2019) Brian 2, an intuitive and efficient neural simulator.
  eLife 8:e47314. doi:10.7554/eLife.47314 (the simulator the engine is checked against).
"""

from __future__ import annotations

import contextlib
import math
import numbers
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .checks import MAX_STEPS, MemoryEstimateError, check_grid, check_int, check_real, check_type, memory_limit
from .interrupts import guard
from .engine.rls_shared import SharedInputRLS, SharedPoolRLS
from .engine.rls_state import BatchRLS
from .errors import DivergenceError

__all__ = [
    "Synapses",
    "PlasticSynapses",
    "LIFNetwork",
    "Learning",
    "Run",
    "Perturbation",
    "Replay",
    "simulate",
    "simulate_single",
    "simulate_pair",
    "lif_rate",
    "lif_rate_euler",
    "lif_kernel",
    "lif_euler_step",
    "trace_step",
    "simulate_numpy",
]

# Kernel status codes
OK, NONFINITE, TOO_MANY_SPIKES = 0, 1, 2
_MAX_FLOAT = float(np.finfo(np.float64).max)  # |x| <= this: x is finite (a test that vectorises)


# ---------------------------------------------------------------------------
# Theory for the single neuron


def lif_rate(mu: float, tau_m: float = 10.0) -> float:
    """Firing rate (Hz) of a noiseless LIF neuron with constant input ``mu`` (threshold 1, reset 0).

    For a noisy input see :func:`tutorial_lib.transfer.siegert_rate`, which tends to this as the
    noise vanishes.

    From ``v(t) = mu (1 - exp(-t / tau_m))`` the time to threshold is
    ``T = tau_m ln(mu / (mu - 1))`` ms for ``mu > 1``; below threshold the rate is 0.
    """
    if mu <= 1.0:
        return 0.0
    return 1000.0 / (tau_m * math.log(mu / (mu - 1.0)))


def lif_rate_euler(mu: float, tau_m: float = 10.0, dt: float = 0.1) -> float:
    """The same rate for the Euler-discretised neuron that :func:`simulate` integrates.

    Starting from 0, ``v_n = mu (1 - (1 - dt/tau_m)^n)``; the neuron spikes at the
    first step with ``v_n >= 1``, so the interspike interval is
    ``n* = ceil(ln(1 - 1/mu) / ln(1 - dt/tau_m))`` steps. It differs from
    :func:`lif_rate` by about ``dt / (2 tau_m)`` (Euler) plus up to one step (rounding up).
    """
    if mu <= 1.0:
        return 0.0
    a = dt / tau_m
    n = math.ceil(math.log(1.0 - 1.0 / mu) / math.log(1.0 - a) - 1e-9)
    # guard against the last step landing a hair below threshold in floating point
    while mu * (1.0 - (1.0 - a) ** n) < 1.0:
        n += 1
    return 1000.0 / (n * dt)


# ---------------------------------------------------------------------------
# One Euler step in plain NumPy, and a whole run written with it: the equations of the
# module docstring as they read. The compiled engine below computes the same.


def lif_euler_step(v, total_input, xi, dt_tau_m, v_th=1.0, v_reset=0.0):
    r"""One Euler step of :math:`\tau_m\, dv/dt = -v + I + \sigma_\xi \xi`, then threshold and reset.

    ``v`` (N,) voltages now; ``total_input`` (N,) the input :math:`I` now
    (``mu + stimulus + sum_c x_c + u``); ``xi`` (N,) this step's noise,
    :math:`\sigma_\xi` times a standard normal (0 without noise);
    ``dt_tau_m = dt / tau_m``. Returns ``(v_new, spiked)``: the voltages one step
    later (``v_reset`` where the threshold was crossed) and a boolean mask of the
    neurons that spiked.
    """
    v = v + dt_tau_m * (total_input + xi - v)
    spiked = v >= v_th
    return np.where(spiked, v_reset, v), spiked


def trace_step(x, jumps, dt, tau):
    r"""One Euler step of a filtered spike train or synaptic current, :math:`\tau\, dx/dt = -x + \sum_k \delta(t - t_k)`.

    ``x`` (N,) the traces now; ``jumps`` (N,) what this step's spikes bring: the
    spike indicator ``s`` for the filtered spike trains ``r`` of the plastic
    synapses, or ``J s`` (the summed weights of the spiking presynaptic neurons)
    for a static channel's current. Returns ``(1 - dt/tau) x + jumps / tau``: a
    delta function integrates to 1 over the step, so a spike adds ``1/tau``
    (times its weight) and the area under a trace stays exactly 1 per spike.
    """
    return (1.0 - dt / tau) * x + jumps / tau


def simulate_numpy(net: "LIFNetwork", T: float, *, rng: np.random.Generator, v0=None, stimulus=None,
                   stim_window=(0.0, 0.0), learning: "Learning | None" = None, perturbations=None,
                   replay: "Replay | None" = None) -> "Run":
    """What :func:`simulate` computes, in plain NumPy with dense matrices: slow, for reading and testing.

    Every step, in the engine's order: record the state; at a learning step,
    one RLS update of every plastic row (``learning.rls.update``; see
    :func:`~tutorial_lib.rls.rls_update` for the step itself) from the filtered
    spike trains ``r``; the total input ``mu + stimulus + sum_c x_c + u`` with
    ``u = W_plastic r``; one :func:`lif_euler_step`; then each static current
    decays by ``1 - dt/tau_c`` and takes ``J^c s / tau_c`` of this step's spikes
    ``s``, and each trace ``r`` decays by ``1 - dt/tau_p`` and takes ``s / tau_p``.
    The random numbers are drawn in the engine's order (``v0`` first if not
    given, then per step the error noise of a learning step and one normal per
    neuron when ``net.noise > 0``), so the spikes are the same. External
    spike sources are not supported here. ``perturbations`` (:class:`Perturbation`, indices)
    add their currents to the external input in their windows, as in :func:`simulate`; with a
    ``replay`` (:class:`Replay`) the channels it names take its spike counts ``s`` instead.

    Returns a :class:`Run` that records every neuron at every step.
    ``tests/test_spiking.py`` checks that :func:`simulate` gives the same spikes,
    voltages and inputs (to 1e-12; the compiled engine sums in another order).

    The arguments are checked as :func:`simulate` checks them, before anything is allocated
    (TypeError / ValueError naming the argument; :class:`~tutorial_lib.checks.MemoryEstimateError`
    if the record of every neuron at every step, or the dense matrices, would not fit in memory).
    """
    check_type("net", net, LIFNetwork)
    check_type("rng", rng, np.random.Generator)
    check_type("learning", learning, Learning, allow_none=True)
    dt, N = net.dt, net.N
    n_steps = _run_steps("T", T, dt)
    v0 = None if v0 is None else _per_neuron("v0", v0, N, what="initial voltages, threshold 1")
    stimulus = None if stimulus is None else _per_neuron("stimulus", stimulus, N, what="added input")
    _window("stim_window", stim_window, dt, n_steps)
    C = len(net.static)
    _check_sizes([("the record of every neuron at every step (Python lists of arrays)",
                   n_steps * N * (C + 3) * 8.0 * 2, ["T"]),
                  ("the dense weight matrices", (C + 1) * N * N * 8.0, ["net"])])
    J = [ch.dense() for ch in net.static]  # (N, N) per channel, J[i, j] from j to i
    tau_c = np.array([ch.tau for ch in net.static])
    pl = net.plastic
    Wp = np.zeros((N, N))  # plastic weights from the network's neurons
    if pl is not None:
        if pl.n_sources != N:
            raise ValueError("simulate_numpy does not take external spike sources (n_sources must equal N)")
        Wp[pl.rows[:, None], pl.presyn] = learning.rls.w if learning is not None else pl.w
    v = rng.uniform(0.0, 1.0, N) if v0 is None else np.array(np.broadcast_to(v0, (N,)), dtype=np.float64)
    stim = np.zeros(N) if stimulus is None else np.broadcast_to(stimulus, (N,))
    x = np.zeros((len(J), N))  # static currents
    r = np.zeros(N)  # filtered spike trains, the regressors of RLS
    learn_at = {} if learning is None else {int(round(t / dt)): j for j, t in enumerate(learning.times)}
    packed = _pack_perturbations(perturbations, N, dt, n_steps)
    rp_ptr, rp_src, rp_static, rp_plastic = _index_replay(replay, net, n_steps)
    v_rec, cur_rec, ext_rec, spike_steps, spike_neurons, errors = [], [], [], [], [], []
    for n in range(n_steps):
        on = stim_window[0] <= n * dt < stim_window[1]
        external = net.mu + (stim if on else 0.0)
        for n_on, n_off, idx, cur in packed:  # each active perturbation's current, in their order
            if n_on <= n < n_off:
                added = np.zeros(N)
                np.add.at(added, idx, cur)
                external = external + added
        u = Wp @ r
        v_rec.append(v.copy())
        cur_rec.append(np.vstack([x, u[None, :]]))
        ext_rec.append(external.copy())
        if n in learn_at:  # RLS on the plastic rows, from the state at t_n
            rows = pl.rows
            other = external[rows] + x[:, rows].sum(axis=0)
            if learning.error_noise > 0:
                other = other + learning.error_noise * rng.standard_normal(rows.size)
            errors.append(learning.rls.update(r, learning.targets[learn_at[n]], other))
            learning.clip(learning.rls.w)
            Wp[rows[:, None], pl.presyn] = learning.rls.w
            u = Wp @ r
        xi = net.noise * rng.standard_normal(N) if net.noise > 0 else np.zeros(N)
        v, spiked = lif_euler_step(v, external + x.sum(axis=0) + u, xi, dt / net.tau_m, net.v_th, net.v_reset)
        spike_steps += [n] * int(spiked.sum())
        spike_neurons += list(np.flatnonzero(spiked))
        s_live = spiked.astype(np.float64)
        s_replay = s_live
        if replay is not None:  # the replayed spikes of this step, counted per neuron
            s_replay = np.bincount(rp_src[rp_ptr[n]:rp_ptr[n + 1]], minlength=N).astype(np.float64)
        for c in range(len(J)):
            x[c] = trace_step(x[c], J[c] @ (s_replay if rp_static[c] else s_live), dt, tau_c[c])
        if pl is not None:
            r = trace_step(r, s_replay if rp_plastic else s_live, dt, pl.tau)
    if learning is not None:
        pl.w[...] = learning.rls.w
    return Run(t=np.arange(n_steps) * dt, v=np.array(v_rec), currents=np.array(cur_rec),
               external=np.array(ext_rec), channels=net.channel_names, recorded=np.arange(N),
               spike_steps=np.array(spike_steps, dtype=np.int64), spike_neurons=np.array(spike_neurons, dtype=np.int64),
               dt=dt, duration=float(T), N=N, v_end=v,
               errors=None if learning is None else np.array(errors).reshape(-1, pl.rows.size))


# ---------------------------------------------------------------------------
# The compiled engine. Small functions, typed by use: arrays and numbers only.


@njit(cache=True, nogil=True)
def _scatter_channel(j, c, ch_ptr, ch_post, ch_jump, by_post, x):
    """Deliver a spike of neuron ``j`` to static channel ``c``: x_c[post] += J / tau_c.

    The jump is ``ch_jump[c, post]`` if ``by_post`` (every synapse of channel ``c`` onto a neuron has
    the same weight, as in Part 3: the scatter then streams 2 bytes per synapse instead of 10) or
    else ``ch_jump[0, q]``, synapse by synapse (:func:`_pack_static`).
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
def _plastic_input(rows, presyn, w, r, u):
    """Recompute u_i = sum_a w[k, a] r[presyn[k, a]] exactly, for every plastic row k (neuron rows[k]).

    Four rows at a time: each row's sum is still added up in the order a = 0, 1, ..., but four
    independent sums keep the adder busy, where one sum waits for its previous addition at every term.
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
def _record(row, rec_idx, v, x, u, v_rec, cur_rec):
    """Write the voltages, static currents and plastic input of neurons ``rec_idx`` to ``row``."""
    C = x.shape[0]
    for q in range(rec_idx.shape[0]):
        i = rec_idx[q]
        v_rec[row, q] = v[i]
        for c in range(C):
            cur_rec[row, c, q] = x[c, i]
        cur_rec[row, C, q] = u[i]


@njit(cache=True)
def _after_step(err, errors_row, u_rows, rows, u):
    """After an RLS step: ``errors_row[:] = err``; the index of the first non-finite error, or -1, and
    then (if ``u_rows`` is not empty) ``u[rows] = u_rows``. Holds the GIL (see :func:`simulate`)."""
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
def _record_total(row, rec_idx, mu, stim, on, x, u, total_rec):
    """Write only the total input of neurons ``rec_idx`` to ``total_rec[row]``: ``external + synaptic``,
    each summed as :attr:`Run.total_input` sums the full record (so the values are the same to the bit)."""
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
def _record_split(row, rec_idx, split_row, presyn, w, r, col_group, split_rec):
    """The plastic input of neurons ``rec_idx`` split by source group, written to ``split_rec[row]``.

    ``split_rec[row, g, q] = sum_a w[k, a] r[presyn[k, a]]`` over the inputs ``a`` of row
    ``k = split_row[rec_idx[q]]`` whose source is in group ``g = col_group[k, a]``
    (0 for a neuron without plastic row, ``k = -1``). Summed afresh from ``w`` and ``r``, so the
    groups add up to the engine's incrementally kept ``u`` up to rounding (see :meth:`Run.inputs_by_source`).
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
def _learning_inputs(rows, mu, stim, on, x, error_noise, rng, other):
    """The non-plastic input of every plastic row at a learning step: ``mu + stimulus + sum_c x_c``,
    plus ``error_noise`` times a standard normal per row (drawn in row order) if it is positive."""
    C = x.shape[0]
    for k in range(rows.shape[0]):
        i = rows[k]
        o = mu[i] + (stim[i] if on else 0.0)
        for c in range(C):
            o += x[c, i]
        if error_noise > 0.0:
            o += error_noise * rng.standard_normal()
        other[k] = o


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
    """Run ``n_steps`` Euler steps of the LIF network in place; see the module docstring for the equations.

    The compiled form of :func:`simulate_numpy` (one :func:`lif_euler_step` per step, sparse
    synapses, incremental ``u``); ``tests/test_spiking.py`` checks they give the same spikes.

    Neurons: ``v`` (N,) voltages (in: initial, out: final); ``mu`` (N,) constant
    input; ``stim`` (N,) added during steps ``stim_on <= n < stim_off``;
    ``dt_tau_m = dt/tau_m``; threshold ``v_th``, reset ``v_reset``; ``noise`` the
    amplitude sigma_xi; ``rng`` a numpy Generator.

    Static channels (C of them): ``ch_decay[c] = 1 - dt/tau_c``;
    ``ch_ptr`` (C, N+1) absolute offsets into ``ch_post`` (the CSR of all channels
    concatenated; ``ch_post`` uint16 or int32); ``ch_jump = J * (1/tau_c)``, the jump of the
    target's current per spike: (C, N) by target neuron if ``by_post``, else (1, synapses) by
    synapse (:func:`_pack_static`); ``x`` (C, N) the currents (state).

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
    :func:`_learning_inputs`). ``n_spikes`` spikes are already in the buffers.

    Recording every ``rec_every`` steps, at the start of the step: ``v_rec`` (rows,
    n_rec) and ``cur_rec`` (rows, C+1, n_rec) the static currents and then the
    plastic input of neurons ``rec_idx`` (step ``n_first`` only if ``record_first``); or, if
    ``total_rec`` (n_rec, rows) is not empty, only their total input (:func:`_record_total`).
    Spikes go to ``spike_step``/``spike_idx``. If ``split_rec`` (rows, G, n_rec) is not
    empty, the plastic input is also recorded split by source group (:func:`_record_split`,
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
                _record_total(n // rec_every, rec_idx, mu, stim, on, x, u, total_rec)
            else:
                _record(n // rec_every, rec_idx, v, x, u, v_rec, cur_rec)
            if split_rec.shape[0] > 0:
                _record_split(n // rec_every, rec_idx, split_row, presyn, w, r, col_group, split_rec)
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
            bad |= not (abs(dr) <= _MAX_FLOAT)
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


# ---------------------------------------------------------------------------
# The network, as Python objects that hand plain arrays to the kernel.


def _kernel_array(a, dtype=np.float64) -> np.ndarray:
    """``a`` as a C-contiguous, writeable array of ``dtype`` (copied only if needed).

    The kernel is compiled once per combination of array types; a read-only or
    strided array would make numba compile (and cache) another version.
    """
    a = np.ascontiguousarray(a, dtype=dtype)
    return a if a.flags.writeable else a.copy()


def _as_index(name: str, a, hi: int | None = None, *, what: str = "neuron indices") -> np.ndarray:
    """``a`` (any shape) as a C-ordered int64 array of indices in ``[0, hi]``, checked by :func:`_indices` on
    the values as given (a uint64 ``2**64 - 1`` is out of range, not -1; ``0.7`` is not index 0)."""
    if a is None or isinstance(a, (str, bytes, dict, set)) or np.ndim(a) <= 1:
        return _indices(name, a, hi, what=what)
    arr = np.asarray(a)
    return np.ascontiguousarray(_indices(name, arr.reshape(-1), hi, what=what).reshape(arr.shape))


@dataclass
class Synapses:
    """Fixed synapses of one channel, stored by presynaptic neuron (CSR).

    The targets of neuron ``j`` are ``post[ptr[j]:ptr[j+1]]`` with weights
    ``w[ptr[j]:ptr[j+1]]``; a spike of ``j`` adds ``w / tau`` to each target's
    current of this channel, which decays with time constant ``tau`` (ms).
    Build with :meth:`from_dense` or :meth:`from_pairs`.
    """

    tau: float
    ptr: np.ndarray
    post: np.ndarray
    w: np.ndarray
    name: str = "synaptic"

    def __post_init__(self):
        self.tau = check_real("tau", self.tau, lo=0, lo_open=True,
                              what=f"time constant of the {self.name} synapses, ms")
        self.ptr = _as_index("ptr", self.ptr, what="CSR pointers")
        self.post = _as_index("post", self.post)
        self.w = _kernel_array(self.w)
        if self.ptr.ndim != 1 or self.ptr.shape[0] < 2 or self.ptr[0] != 0 or np.any(np.diff(self.ptr) < 0):
            raise ValueError("ptr must be a non-decreasing 1-D array that starts at 0 (CSR pointers)")
        if self.post.shape != self.w.shape or self.post.shape[0] != self.ptr[-1]:
            raise ValueError(f"post and w must both have ptr[-1] = {self.ptr[-1]} entries")
        if self.post.size and (self.post.min() < 0 or self.post.max() >= self.N):
            raise ValueError(f"post must hold neuron indices in [0, {self.N - 1}]")
        if not np.all(np.isfinite(self.w)):
            raise ValueError(f"the {self.name} weights w must be finite")

    @property
    def N(self) -> int:
        return self.ptr.shape[0] - 1

    @classmethod
    def from_pairs(cls, pre, post, w, N: int, tau: float, name: str = "synaptic") -> "Synapses":
        """Synapses ``pre[q] -> post[q]`` with weights ``w[q]`` among ``N`` neurons."""
        N = check_int("N", N, lo=1, what="neurons")
        pre = _as_index("pre", pre, N - 1)
        post = _as_index("post", post, N - 1)
        w = np.asarray(w, dtype=np.float64)
        if not (pre.shape == post.shape == w.shape) or pre.ndim != 1:
            raise ValueError("pre, post and w must be 1-D arrays of the same length")
        if pre.size and (pre.min() < 0 or pre.max() >= N):
            raise ValueError(f"pre must hold neuron indices in [0, {N - 1}]")
        order = np.argsort(pre, kind="stable")
        ptr = np.zeros(N + 1, dtype=np.int64)
        np.cumsum(np.bincount(pre, minlength=N), out=ptr[1:])
        return cls(tau, ptr, post[order], w[order], name)

    @classmethod
    def from_dense(cls, W, tau: float, name: str = "synaptic") -> "Synapses":
        """From a matrix ``W[i, j]`` (from ``j`` to ``i``); zero entries are absent synapses."""
        W = np.asarray(W, dtype=np.float64)
        post, pre = np.nonzero(W)
        return cls.from_pairs(pre, post, W[post, pre], W.shape[0], tau, name)

    def dense(self) -> np.ndarray:
        """The weights as an (N, N) matrix ``W[i, j]`` from ``j`` to ``i``."""
        W = np.zeros((self.N, self.N))
        pre = np.repeat(np.arange(self.N), np.diff(self.ptr))
        np.add.at(W, (self.post, pre), self.w)
        return W


@dataclass
class PlasticSynapses:
    """Trained synapses: row ``k`` gives neuron ``rows[k]`` the input ``u = sum_a w[k, a] r[presyn[k, a]]``.

    ``r`` are the filtered spike trains (time constant ``tau``, ms) of
    ``n_sources`` sources: the network's ``N`` neurons first, then any external
    spike trains (passed to :func:`simulate`). ``w`` is updated in place by
    learning. ``rows`` must be distinct neurons.
    """

    tau: float
    rows: np.ndarray
    presyn: np.ndarray
    w: np.ndarray
    n_sources: int
    out_ptr: np.ndarray = field(init=False, repr=False)
    out_row: np.ndarray = field(init=False, repr=False)
    out_col: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.tau = check_real("tau", self.tau, lo=0, lo_open=True,
                              what="time constant of the plastic synapses, ms")
        self.n_sources = check_int("n_sources", self.n_sources, lo=1, what="neurons plus external sources")
        self.rows = _as_index("rows", self.rows)  # LIFNetwork checks them against its N
        self.presyn = _as_index("presyn", self.presyn, self.n_sources - 1, what="source indices")
        self.w = np.array(self.w, dtype=np.float64, order="C")  # a copy: learning changes it in place
        R = self.rows.shape[0]
        if self.presyn.ndim != 2 or self.presyn.shape[0] != R or self.w.shape != self.presyn.shape:
            raise ValueError(f"presyn and w must have shape (len(rows), m) = ({R}, m)")
        if not np.all(np.isfinite(self.w)):
            raise ValueError("the plastic weights w must be finite")
        if np.unique(self.rows).shape[0] != R:
            raise ValueError("rows must list distinct neurons (one plastic row per neuron)")
        if self.presyn.size and (self.presyn.min() < 0 or self.presyn.max() >= self.n_sources):
            raise ValueError(f"presyn must hold source indices in [0, {self.n_sources - 1}]")
        self.out_ptr, self.out_row, self.out_col = _source_index(self.presyn, self.n_sources)


_SOURCE_INDEX: list = []  # [(presyn, n_sources, index)] of the last index built: a trial reuses its network's


def _source_index(presyn: np.ndarray, n_sources: int):
    """The index by source of plastic synapses: ``(out_ptr, out_row, out_col)``, the synapses that a
    spike of source j reaches. Reused (the arrays themselves, which nothing writes) if ``presyn`` and
    ``n_sources`` are those of the last call: a Part 3 trial builds its network's synapses anew."""
    last = _SOURCE_INDEX[-1] if _SOURCE_INDEX else None  # one read of the tuple (threads may build too)
    if last is not None and last[1] == n_sources and np.array_equal(last[0], presyn):
        return last[2]
    src = presyn.ravel()
    order = np.argsort(src, kind="stable")
    # rows and columns in the smallest integers that hold them: the kernel streams these for every spike
    # (at Part 3's full scale 620 000 synapses, 2.5 MB as int16 instead of 10 MB as int64)
    small = np.int16 if max(presyn.shape) <= np.iinfo(np.int16).max else np.int32
    small = small if max(presyn.shape) <= np.iinfo(small).max else np.int64
    out_row = (order // presyn.shape[1]).astype(small)
    out_col = (order % presyn.shape[1]).astype(small)
    out_ptr = np.zeros(n_sources + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n_sources), out=out_ptr[1:])
    _SOURCE_INDEX[:] = [(presyn.copy(), n_sources, (out_ptr, out_row, out_col))]
    return out_ptr, out_row, out_col


@dataclass
class LIFNetwork:
    """A network of LIF neurons: what :func:`simulate` runs.

    ``mu`` (N,) constant inputs; ``tau_m`` and ``dt`` in ms; ``noise`` the
    amplitude of the voltage noise (0: none); ``static`` any number of
    :class:`Synapses` channels; ``plastic`` the trained synapses, or None.
    Threshold ``v_th`` and reset ``v_reset`` (1 and 0 in the tutorial).
    """

    mu: np.ndarray
    tau_m: float = 10.0
    dt: float = 0.1
    noise: float = 0.0
    static: tuple = ()
    plastic: PlasticSynapses | None = None
    v_th: float = 1.0
    v_reset: float = 0.0

    def __post_init__(self):
        self.mu = _kernel_array(np.atleast_1d(self.mu))
        if self.mu.ndim != 1 or not np.all(np.isfinite(self.mu)):
            raise ValueError("mu must be a finite 1-D array (one constant input per neuron)")
        self.tau_m = check_real("tau_m", self.tau_m, lo=0, lo_open=True, what="membrane time constant, ms")
        self.dt = check_real("dt", self.dt, lo=0, hi=self.tau_m, lo_open=True, what="time step, ms")
        self.noise = check_real("noise", self.noise, lo=0, what="voltage noise amplitude")
        self.v_th = check_real("v_th", self.v_th)
        self.v_reset = check_real("v_reset", self.v_reset, hi=self.v_th, hi_open=True)
        self.static = tuple(self.static)
        for ch in self.static:
            if ch.N != self.N:
                raise ValueError(
                    f"the {ch.name} synapses are built for {ch.N} neurons, the network has {self.N}")
            if ch.tau < self.dt:
                raise ValueError(
                    f"tau of the {ch.name} synapses must be >= dt = {self.dt:g} ms (got {ch.tau:g})")
        pl = self.plastic
        if pl is not None:
            if pl.n_sources < self.N or (pl.rows.size and pl.rows.max() >= self.N):
                raise ValueError("the plastic synapses must have the network's neurons as their first "
                                 "sources and rows among its neurons")
            if pl.tau < self.dt:
                raise ValueError(
                    f"tau of the plastic synapses must be >= dt = {self.dt:g} ms (got {pl.tau:g})")

    @property
    def N(self) -> int:
        return self.mu.shape[0]

    @property
    def channel_names(self) -> tuple:
        """Names of the recorded currents: the static channels, then ``"plastic"``."""
        return tuple(ch.name for ch in self.static) + ("plastic",)


@dataclass
class Learning:
    """RLS during a run: at each of ``times`` (ms) every plastic row takes one RLS step.

    ``rls`` holds the RLS state and the weights ``rls.w`` (its ``presyn`` must be
    the plastic synapses' ``presyn``). The run starts from ``rls.w`` and trains
    them in place; the network's plastic weights are set equal to them at the
    end (also if the run stops early). ``targets`` (len(times), R) is the target
    of each row's total input; ``error_noise`` the std of a normal draw added to
    each error (0: none).

    ``w_min`` / ``w_max`` (optional, broadcast to ``rls.w``'s shape (R, m), e.g. one
    bound per column (m,); ``-inf`` / ``inf`` for no bound): after every RLS step
    the weights are clipped to ``[w_min, w_max]``, before the plastic input is
    recomputed. This departs from exact RLS: ``P`` keeps the inverse correlation
    of the inputs, but the clipped weights are no longer the penalised
    least-squares solution that ``P`` and the errors so far define. None (the
    default): no clipping, the exact update.
    """

    rls: BatchRLS | SharedPoolRLS | SharedInputRLS
    times: np.ndarray
    targets: np.ndarray
    error_noise: float = 0.0
    w_min: np.ndarray | None = None
    w_max: np.ndarray | None = None

    def __post_init__(self):
        for name in ("w_min", "w_max"):
            b = getattr(self, name)
            if b is None:
                continue
            shape = self.rls.w.shape
            b = np.asarray(b, dtype=np.float64)
            try:
                np.broadcast_to(b, shape)
            except ValueError:
                raise ValueError(f"learning.{name} must broadcast to the weights' shape {shape} "
                                 f"(got shape {b.shape})") from None
            if np.isnan(b).any():
                raise ValueError(f"learning.{name} must not hold NaN (use -inf / inf for no bound)")
            setattr(self, name, b)
        if self.w_min is not None and self.w_max is not None and np.any(self.w_min > self.w_max):
            raise ValueError("learning.w_min must be <= learning.w_max everywhere")

    def clip(self, w: np.ndarray) -> None:
        """Clip ``w`` in place to ``[w_min, w_max]`` (nothing without bounds)."""
        if self.w_min is not None or self.w_max is not None:
            np.clip(w, self.w_min, self.w_max, out=w)


# ---------------------------------------------------------------------------
# Checks of what a caller hands the engine: indices, times, per-neuron arrays and sizes, each refused
# by name before anything is allocated or simulated.

#: The largest index a 1-D index array may hold before it is known which network it is for.
_INDEX_MAX = int(np.iinfo(np.int64).max)
#: Perturbation currents are at most this large in magnitude (units of the threshold). +-100 already
#: silences or drives any neuron of the tutorial at every step; beyond 1e6 sums of currents lose all
#: precision and overlapping ones can overflow.
CURRENT_LIMIT = 1e6


def _shown(values, limit: int = 80) -> str:
    text = " ".join(repr(values).split())
    return text if len(text) <= limit else text[:limit] + " ..."


def _indices(name: str, values, hi: int | None = None, *, lo: int = 0,
             what: str = "neuron indices") -> np.ndarray:
    """``values`` (array_like of whole numbers, or one of them) as a 1-D int64 array in ``[lo, hi]``.

    Checked on the values as given, before any conversion could wrap or cut them: ``np.uint64(2**64 - 1)``
    or ``2**70`` is out of range (not index -1), ``2.5`` or NaN is not a whole number (a whole float
    such as ``2.0`` is that index, as :func:`~tutorial_lib.checks.check_int` takes it), booleans are
    refused (a mask is not a list of indices: ``np.flatnonzero(mask)``). ``hi`` None: any index up to
    ``2**63 - 1``. Raises TypeError (None, text, a dict) or ValueError naming ``name``.
    """
    top = _INDEX_MAX if hi is None else int(hi)
    if values is None or isinstance(values, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be an array of integer {what} (got {_shown(values)})")
    try:
        a = np.asarray(values)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"{name} must be a 1-D array of integer {what} (got {_shown(values)})") from None
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of integer {what} (got shape {a.shape})")
    if a.size == 0:
        return np.zeros(0, np.int64)
    kind = a.dtype.kind
    if kind == "b" or (kind == "O" and any(isinstance(x, (bool, np.bool_)) for x in a.flat)):
        raise ValueError(f"{name} must be integer {what}, not booleans (for a mask use np.flatnonzero(mask); "
                         f"got {_shown(values)})")
    if kind == "O":
        items = list(a)
        if not all(isinstance(x, numbers.Integral) for x in items):
            raise ValueError(f"{name} must be integer {what}: whole numbers (got {_shown(values)})")
        ints = [int(x) for x in items]
        first_bad = next((x for x in ints if x < lo or x > top), None)
    elif kind == "f":
        bad = ~np.isfinite(a) | (a != np.round(a))
        if bad.any():
            raise ValueError(f"{name} must be integer {what}: whole numbers (got {float(a[bad][0])!r})")
        out = (a < lo) | (a > top)
        first_bad = a[out][0] if out.any() else None
    elif kind in "iu":
        out = (a < lo) | (a > top)  # compared in the array's own type: a uint64 never wraps here
        first_bad = a[out][0] if out.any() else None
    else:
        raise ValueError(f"{name} must be integer {what} (got dtype {a.dtype}: {_shown(values)})")
    if first_bad is not None:
        shown = int(first_bad) if isinstance(first_bad, (numbers.Integral, np.integer)) else float(first_bad)
        where = f"in [{lo}, {top}]" if hi is not None else "below 2**63"
        sign = "non-negative " if lo == 0 else ""
        raise ValueError(f"{name} must be {sign}integer {what} {where} (got {shown})")
    idx = np.array(ints, dtype=np.int64) if kind == "O" else a.astype(np.int64)
    if idx.size and (idx.min() < lo or idx.max() > top):  # after the conversion, to be sure
        raise ValueError(f"{name} must be integer {what} in [{lo}, {top}]")
    return idx


def _times(name: str, values, *, what: str = "times in ms") -> np.ndarray:
    """``values`` (array_like of real numbers, or one) as a 1-D float64 array; TypeError / ValueError naming
    ``name`` for text, None, booleans, complex numbers or more dimensions (the values are not checked)."""
    if values is None or isinstance(values, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be an array of numbers ({what}; got {_shown(values)})")
    try:
        raw = np.asarray(values)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"{name} must be a 1-D array of numbers ({what}; got {_shown(values)})") from None
    if raw.dtype.kind == "O" and all(isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))
                                     for x in raw.flat):
        raw = raw.astype(np.float64)
    if raw.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be numbers ({what}), not {raw.dtype} values (got {_shown(values)})")
    t = raw.astype(np.float64).reshape(-1) if raw.ndim <= 1 else None
    if t is None:
        raise ValueError(f"{name} must be a 1-D array ({what}; got shape {raw.shape})")
    return t


def _per_neuron(name: str, value, N: int, *, what: str) -> np.ndarray:
    """``value`` (a number or one per neuron) as a finite float64 array of shape (N,); TypeError / ValueError
    naming ``name`` for text, booleans, a shape that does not fit or a NaN / infinite entry."""
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be a number or an array of {N} numbers ({what}; got {_shown(value)})")
    try:
        a = np.asarray(value)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"{name} must be a number or {N} numbers ({what}; got {_shown(value)})") from None
    if a.dtype.kind == "O" and all(isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))
                                   for x in a.flat):
        a = a.astype(np.float64)
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be numbers ({what}), not {a.dtype} values (got {_shown(value)})")
    try:
        a = np.array(np.broadcast_to(a, (N,)), dtype=np.float64)
    except ValueError:
        raise ValueError(f"{name} must be one number or one per neuron, shape ({N},) ({what}; got shape "
                         f"{a.shape})") from None
    if not np.all(np.isfinite(a)):
        k = int(np.flatnonzero(~np.isfinite(a))[0])
        raise ValueError(f"{name} must be finite ({what}; got {a[k]} for neuron {k})")
    return a


def _run_steps(name: str, T, dt: float, *, what: str = "") -> int:
    """``T`` ms as a whole number of steps of ``dt``: finite, > 0, at most ``MAX_STEPS`` steps (longer runs
    would take days, and their records would not fit in memory), on the dt grid. ValueError naming ``name``
    (``what``: the interval's meaning; default, the length of a run)."""
    what = what or (f"length of the run, ms; at most {MAX_STEPS:.0e} steps of dt = {dt:g} ms: a longer run "
                    "would take days and its record would not fit in memory")
    T = check_real(name, T, lo=0, lo_open=True, hi=MAX_STEPS * dt, what=what)
    return check_grid(name, T, dt)


def _check_sizes(terms: list) -> None:
    """Raise :class:`~tutorial_lib.checks.MemoryEstimateError` (naming the parameters that size the largest
    array) if the arrays ``terms`` = ``[(what, bytes, parameters)]`` need more than :func:`memory_limit`."""
    total = float(sum(b for _, b, _ in terms))
    limit = memory_limit()
    if total > limit:
        what, big, names = max(terms, key=lambda t: t[1])
        gib = lambda x: f"{x / 2**30:.3g} GiB" if x >= 2**27 else f"{x / 2**20:.3g} MiB"  # noqa: E731
        lower = [n for n in names if n != "record_every"]
        advice = " or ".join(lower) + (", or raise record_every" if "record_every" in names else "")
        raise MemoryEstimateError(
            f"{names[0]} too large for memory ({', '.join(names)} size it): {what} would need about "
            f"{gib(big)} "
            f"({gib(total)} in all), more than the {gib(limit)} available. Lower {advice}.",
            total, limit, tuple(names), terms)


def _check_replay(replay, names: tuple, N: int, dt: float | None = None) -> "Replay":
    """``replay`` checked against a network with channels ``names`` and ``N`` neurons (fields re-checked:
    a Replay is a plain dataclass that may have been changed since it was made), and, given ``dt``, its
    times against the dt grid. ValueError / TypeError naming ``replay`` and the field."""
    if not isinstance(replay, Replay):
        raise TypeError(f"replay must be a Replay (got {type(replay).__name__})")
    try:
        replay = Replay(replay.times, replay.neurons, replay.channels)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"replay.{exc}") from None
    unknown = [c for c in replay.channels if c not in names]
    if unknown:
        raise ValueError(f"replay.channels must be among the network's channels {names} (got {unknown})")
    _indices("replay.neurons", replay.neurons, N - 1)
    if dt is not None and replay.times.size:
        with np.errstate(over="ignore", invalid="ignore"):  # a huge time: a spike long after any run
            label = replay.times / dt
            k = np.rint(label)
            off_grid = np.abs(label - k) > 1e-6 * np.maximum(1.0, k)
        if np.any(off_grid):
            raise ValueError(f"replay.times must be multiples of dt = {dt:g} ms")
    return replay


@dataclass
class Perturbation:
    """A current added to the input of a set of neurons between two times (SPEC, Part 4).

    Neuron ``i`` in ``neurons`` gets the extra input ``current`` (in the units of
    ``mu``: threshold 1) in every step ``n`` with ``start <= n dt < stop``, on top
    of ``mu`` and any stimulus, in every run mode (static, training, test); several
    perturbations may overlap, and their currents add. A positive current to the
    I cells is an optogenetic-style excitation of inhibition; a large negative
    current silences its neurons.

    Parameters
    ----------
    neurons : array_like of int, or str
        Neuron indices, whole numbers >= 0 (repeats add their current once per repeat; empty: a
        perturbation of nobody, which changes nothing), or the name of a population that the caller
        resolves (Part 3: :func:`tutorial_lib.balanced.populations`, e.g. ``"I"`` or ``"trained"``);
        :func:`simulate` itself takes indices only.
    current : float or array_like, shape (len(neurons),)
        The added input, finite, at most ``CURRENT_LIMIT`` (1e6) in magnitude (units of the
        threshold: +-100 already silences or saturates any neuron).
    start, stop : float
        The window in ms, ``0 <= start < stop``, finite, on the dt grid of the run; ``stop``
        may lie past the end of the run (the perturbation then lasts to the end; any finite
        ``stop``, 1e308 too, means "to the end of the run").

    Raises
    ------
    ValueError
        Naming the field: ``stop <= start``, a negative or non-finite time, a
        non-finite or too large current, negative, non-whole or boolean neuron indices
        (checked before any conversion: an unsigned ``2**64 - 1`` does not wrap to -1),
        a current array whose length is not that of ``neurons``. Indices beyond the
        network and times off the dt grid are refused by :func:`simulate`.
    TypeError
        ``neurons`` or ``current`` of the wrong kind (None, text for ``current``).

    Examples
    --------
    >>> Perturbation("I", current=0.5, start=1500.0, stop=2500.0).neurons
    'I'
    """

    neurons: object
    current: object
    start: float
    stop: float

    def __post_init__(self):
        # + 0.0: -0.0 is 0 (and shown as 0)
        self.start = check_real("start", self.start, lo=0, what="when the perturbation starts, ms") + 0.0
        self.stop = check_real("stop", self.stop, lo=self.start, lo_open=True,
                               what=f"when the perturbation stops, ms; after start = {self.start:g}") + 0.0
        if isinstance(self.neurons, str):
            if not self.neurons.strip():
                raise ValueError("neurons must be a population name or a 1-D array of neuron indices "
                                 "(got '')")
        else:
            self.neurons = _indices("neurons", self.neurons)
        what = "the added input, units of the threshold"
        if self.current is None or isinstance(self.current, (str, bytes, dict, set)):
            raise TypeError(f"current ({what}) must be a finite number or a 1-D array of them "
                            f"(got {_shown(self.current)})")
        try:
            raw = np.asarray(self.current)
        except (ValueError, TypeError, OverflowError):
            raw = np.asarray([None], dtype=object)
        if raw.dtype.kind not in "iuf" or raw.ndim > 1:
            raise ValueError(f"current ({what}) must be a finite number or a 1-D array of them "
                             f"(got {_shown(self.current)})")
        cur = raw.astype(np.float64)
        if not np.all(np.isfinite(cur)):
            raise ValueError(f"current ({what}) must be a finite number or a 1-D array of them "
                             f"(got {_shown(self.current)})")
        if cur.size and np.abs(cur).max() > CURRENT_LIMIT:
            raise ValueError(f"current ({what}) must be in [{-CURRENT_LIMIT:g}, {CURRENT_LIMIT:g}]: "
                             f"+-100 already silences or saturates any neuron (got {_shown(self.current)})")
        if cur.ndim == 1 and not isinstance(self.neurons, str) and cur.shape[0] != self.neurons.shape[0]:
            raise ValueError(f"current must be one number or one per neuron ({self.neurons.shape[0]}); "
                             f"got {cur.shape[0]}")
        self.current = float(cur) if cur.ndim == 0 else cur

    def resolve(self, populations: dict) -> "Perturbation":
        """This perturbation with a population name replaced by its indices from ``populations``.

        Raises ValueError naming ``neurons`` and the known names for an unknown name.
        """
        if not isinstance(self.neurons, str):
            return self
        if self.neurons not in populations:
            raise ValueError(f"neurons must be a neuron index array or one of the populations "
                             f"{sorted(populations)} (got {self.neurons!r})")
        return Perturbation(np.asarray(populations[self.neurons]), self.current, self.start, self.stop)


@dataclass
class Replay:
    """Recorded spikes delivered to chosen synapses instead of the network's own (SPEC, Part 4).

    In a replayed run the neurons still integrate their input and spike as usual (their spikes
    are recorded and reach the other synapses), but the synapses named in ``channels`` receive
    the spikes given here instead: a recorded trial's spikes (then the network is driven, through
    those synapses, by its own past activity), the same spikes with their times jittered
    (:meth:`jittered`), or spike trains of matched rate (:func:`tutorial_lib.balanced.rate_matched_poisson`).
    Comparing them separates what the precise spike times carry from what the rates carry.

    Parameters
    ----------
    times : array_like of float, shape (n,)
        Spike times in ms, finite and > 0, labelled like :attr:`Run.spike_times` (a spike in step
        ``k`` is at ``(k + 1) dt``), so a recorded run's spikes replay at the steps where they
        happened. Spikes after the end of a run are not delivered.
    neurons : array_like of int, shape (n,)
        The presynaptic neuron of each spike (network neurons, ``0 .. N-1``; whole numbers, checked
        before any conversion). A neuron listed twice at one time delivers two spikes.
    channels : tuple of str
        The synapses that receive the replay: names of ``LIFNetwork.channel_names`` (the static
        channels and ``"plastic"``, whose external sources keep their own spikes).

    Raises
    ------
    ValueError
        Naming the field: arrays of different lengths or not 1-D, non-finite or negative times,
        negative, non-whole or boolean neurons (an unsigned ``2**64 - 1`` does not wrap to -1), no
        channel or a repeated one. Times off the dt grid, neurons beyond the network and unknown
        channel names are refused by :func:`simulate`.
    TypeError
        ``times`` or ``neurons`` of the wrong kind (None, text).

    Examples
    --------
    >>> Replay([1.0, 2.5], [0, 3], channels=("plastic",)).neurons
    array([0, 3])
    """

    times: object
    neurons: object
    channels: tuple = ("plastic",)

    def __post_init__(self):
        t = _times("times", self.times, what="spike times in ms, one per spike")
        if np.ndim(self.neurons) > 1:
            raise ValueError("times and neurons must be 1-D arrays (one entry per spike)")
        idx = _indices("neurons", self.neurons)
        if t.shape[0] != idx.shape[0]:
            raise ValueError(f"times and neurons must have the same length (got {t.shape[0]} and {idx.shape[0]})")
        if t.size and not (np.all(np.isfinite(t)) and t.min() > 0):
            raise ValueError("times must be finite and positive (ms; a spike in step k is at (k + 1) dt)")
        channels = (self.channels,) if isinstance(self.channels, str) else (
            tuple(self.channels) if hasattr(self.channels, "__iter__") else ())
        if not channels or not all(isinstance(c, str) and c for c in channels) \
                or len(set(channels)) < len(channels):
            raise ValueError(f"channels must name one or more synapse channels, each once (got {self.channels!r})")
        self.times, self.neurons, self.channels = t, idx.astype(np.int64), channels

    def jittered(self, jitter: float, rng: np.random.Generator, dt: float, T: float) -> "Replay":
        """These spikes with Gaussian jitter: each time moved by ``jitter * z`` ms (``z`` standard normal,
        drawn in spike order), rounded to the dt grid; spikes moved outside ``(0, T]`` are dropped.

        ``jitter`` 0 returns the same spikes; a jitter far beyond ``T`` moves (nearly) every spike out.
        Raises ValueError for a negative or non-finite ``jitter``, ``dt`` not finite and > 0, ``T`` not
        finite and > 0 or longer than ``MAX_STEPS`` (1e8) steps of ``dt`` (no run is that long);
        TypeError if ``rng`` is not a numpy Generator.
        """
        jitter = check_real("jitter", jitter, lo=0, what="standard deviation of the spike-time jitter, ms")
        dt = check_real("dt", dt, lo=0, lo_open=True, what="time step, ms")
        T = check_real("T", T, lo=0, lo_open=True, hi=MAX_STEPS * dt,
                       what=f"trial duration, ms; at most {MAX_STEPS:.0e} steps of dt = {dt:g} ms")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator (got {type(rng).__name__})")
        with np.errstate(over="ignore", invalid="ignore"):  # huge times or jitters: out of (0, T], dropped
            steps = np.rint(self.times / dt)
            if jitter > 0:  # in float (whole numbers, exact below 2**53): a huge jitter would overflow int64
                steps = steps + np.rint(jitter * rng.standard_normal(steps.shape[0]) / dt)
        keep = (steps >= 1) & (steps <= int(round(T / dt)))
        steps = np.where(keep, steps, 0).astype(np.int64)
        order = np.lexsort((self.neurons[keep], steps[keep]))
        return Replay(steps[keep][order] * dt, self.neurons[keep][order], self.channels)


def _index_replay(replay, net: "LIFNetwork", n_steps: int):
    """A :class:`Replay` for the kernel: ``(rp_ptr, rp_src, rp_static, rp_plastic)`` (empty arrays for none).

    Spikes by step (in their given order within a step; spikes after the run's ``n_steps`` are left
    out); ``rp_static`` (C,) 1 for a replayed static channel. Raises TypeError / ValueError (unknown
    channel, neurons beyond the network, times off the dt grid, fields changed since the Replay
    was made) before the run.
    """
    C = len(net.static)
    if replay is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(C, np.int8), False
    dt = net.dt
    replay = _check_replay(replay, net.channel_names, net.N, dt)  # also the times on the dt grid
    with np.errstate(over="ignore"):  # a huge time: a spike long after the run (inf, dropped)
        k = np.rint(replay.times / dt)  # (k - 1) the step, in float: exact below 2**53, never wrapped
    inside = k <= n_steps
    steps, src = k[inside].astype(np.int64) - 1, replay.neurons[inside]
    order = np.argsort(steps, kind="stable")
    rp_ptr = np.zeros(n_steps + 1, dtype=np.int64)
    np.cumsum(np.bincount(steps, minlength=n_steps), out=rp_ptr[1:])
    rp_static = np.array([1 if ch.name in replay.channels else 0 for ch in net.static], dtype=np.int8)
    return rp_ptr, np.ascontiguousarray(src[order]), rp_static, "plastic" in replay.channels


def _pack_perturbations(perturbations, N: int, dt: float, n_steps: int) -> list:
    """The perturbations as ``(on, off, neurons, current)`` in steps, checked against the network.

    ``on <= n < off`` are the steps in which each acts (``off`` cut at ``n_steps``: a ``stop``, or a
    ``start``, at or after the end of the run, however far, is the end). Raises TypeError / ValueError
    (naming the field) for a population name, indices beyond ``N - 1``, times off the dt grid, or a
    field changed since the Perturbation was made (each is checked again here).
    """
    if perturbations is None:
        return []
    if isinstance(perturbations, Perturbation):
        perturbations = [perturbations]
    if isinstance(perturbations, (str, bytes, dict)) or not hasattr(perturbations, "__iter__"):
        raise TypeError(f"perturbations must be a Perturbation or a sequence of them "
                        f"(got {type(perturbations).__name__})")
    packed = []
    for k, pert in enumerate(perturbations):
        if not isinstance(pert, Perturbation):
            raise TypeError(f"perturbations[{k}] must be a Perturbation (got {type(pert).__name__})")
        if isinstance(pert.neurons, str):
            raise ValueError(f"perturbations[{k}].neurons is the population name {pert.neurons!r}: the engine "
                             "takes neuron indices (resolve names with Perturbation.resolve)")
        try:  # again: a Perturbation is a plain dataclass, its fields may have been set since
            pert = Perturbation(pert.neurons, pert.current, pert.start, pert.stop)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"perturbations[{k}].{exc}") from None
        idx = _indices(f"perturbations[{k}].neurons", pert.neurons, N - 1)
        on = _step_of(f"perturbations[{k}].start", pert.start, dt, n_steps)
        off = _step_of(f"perturbations[{k}].stop", pert.stop, dt, n_steps)
        packed.append((on, off, idx, pert.current))
    return packed


def _segment_input(stim, stim_on: int, stim_off: int, packed: list, n: int):
    """The input the kernel adds on top of ``mu`` from step ``n`` to the next change: ``(extra, on, off)``.

    Without an active perturbation, the stimulus and its window as they are (so a run without
    perturbations is the same to the bit); else ``stimulus (if on) + current of each active
    perturbation, in their order``, on for every step.
    """
    active = [pk for pk in packed if pk[0] <= n < pk[1]]
    if not active:
        return stim, stim_on, stim_off
    extra = stim.copy() if stim_on <= n < stim_off else np.zeros_like(stim)
    for _, _, idx, cur in active:
        np.add.at(extra, idx, cur)
    return extra, 0, np.iinfo(np.int64).max


@dataclass
class Run:
    """What one call of :func:`simulate` recorded. Times in ms; arrays are (time, recorded neuron).

    ``v`` is the voltage at the start of each recorded step (so a trace rises
    towards 1 and is 0 after a spike; the spike itself is in ``spike_times``).
    ``currents[:, c]`` are the synaptic currents of ``channels[c]`` (the static
    channels, then the plastic input); ``external`` is ``mu`` plus the stimulus
    plus any perturbation currents. ``plastic_parts[:, g]`` (time, groups,
    recorded neuron), if asked for (``simulate(plastic_groups=...)``), is the
    plastic input split by the groups ``plastic_part_names`` of its sources; see
    :meth:`inputs_by_source`. A run with ``simulate(total_only=True)`` keeps only ``total``, the
    total input (``v``, ``currents`` and ``external`` are None).
    """

    t: np.ndarray
    v: np.ndarray
    currents: np.ndarray
    external: np.ndarray
    channels: tuple
    recorded: np.ndarray
    spike_steps: np.ndarray
    spike_neurons: np.ndarray
    dt: float
    duration: float
    N: int
    v_end: np.ndarray
    errors: np.ndarray | None = None
    plastic_parts: np.ndarray | None = None
    plastic_part_names: tuple = ()
    total: np.ndarray | None = None

    def inputs_by_source(self) -> dict:
        """The total input of every recorded neuron split by source: a dict of (time, recorded) arrays.

        Keys: ``"external"`` (``mu`` + stimulus + perturbations), one per static
        channel (``channels[:-1]``), then the plastic input: split by source group
        (``plastic_part_names``) if the run recorded the split, else as one entry
        ``"plastic"``. The values add up to :attr:`total_input`: the static channels
        and ``external`` exactly as ``total_input`` adds them, the plastic groups
        up to rounding, because they are summed afresh as ``w r`` per group at
        each recorded step while the engine keeps ``u`` incrementally (their sum
        differs from ``currents[:, -1]`` by about ``1e-14`` of the largest group, 9e-15
        measured in a lecture-size trial; ``tests/test_perturbation.py`` checks ``1e-12``
        relative to it). Relative to ``u`` itself the difference can be larger where the
        E and I groups cancel.
        """
        out = {"external": self.external}
        for c, name in enumerate(self.channels[:-1]):
            out[name] = self.currents[:, c]
        if self.plastic_parts is None:
            out[self.channels[-1]] = self.currents[:, -1]
        else:
            for g, name in enumerate(self.plastic_part_names):
                out[name] = self.plastic_parts[:, g]
        return out

    @property
    def spike_times(self) -> np.ndarray:
        """Spike times (ms): a spike in step n is labelled (n + 1) dt, when v reached threshold."""
        return (self.spike_steps + 1) * self.dt

    @property
    def synaptic_input(self) -> np.ndarray:
        """Sum of all synaptic currents, ``sum_c x_c + u``."""
        return self.currents.sum(axis=1)

    @property
    def total_input(self) -> np.ndarray:
        """The total input in the voltage equation (without the noise): ``mu + stimulus + synaptic``."""
        if self.total is not None:
            return self.total
        return self.external + self.synaptic_input

    def spikes_of(self, i: int) -> np.ndarray:
        """Spike times (ms) of neuron ``i``."""
        return self.spike_times[self.spike_neurons == i]

    def rates(self) -> np.ndarray:
        """Firing rate of every neuron over the run, Hz."""
        return np.bincount(self.spike_neurons, minlength=self.N) / (self.duration / 1000.0)


def _step_of(name: str, t: float, dt: float, n_steps: int) -> int:
    """The step index of time ``t`` (ms), cut at ``n_steps`` (the end of the run).

    ``t`` must be a finite number >= 0; before the end it must lie on the dt grid (0 allowed). A time
    at or after the end, however far (1e308 too), is the end: no overflow, no grid to check there.
    ValueError naming ``name``.
    """
    t = check_real(name, t, lo=0, what="ms")
    if t / dt >= n_steps:
        return int(n_steps)
    return 0 if t == 0 else check_grid(name, t, dt)


#: Step counts beyond this are refused by :func:`_steps_of` (above 2**53 a float no longer holds every
#: whole number: the grid cannot be checked, and int64 would be near).
_STEP_LIMIT = 2.0**53


def _steps_of(name: str, times, dt: float) -> np.ndarray:
    """Step indices of an array of times (ms) on the dt grid: finite, >= 0, below ``2**53`` steps.
    ValueError naming ``name``."""
    times = np.atleast_1d(_times(name, times))
    if not np.all(np.isfinite(times)):
        raise ValueError(f"{name} must be finite (ms)")
    with np.errstate(over="ignore"):
        q = times / dt
    steps = np.rint(q)
    if times.size and (steps.min() < 0 or steps.max() > _STEP_LIMIT
                       or np.any(np.abs(q - steps) > 1e-9 * np.maximum(1.0, steps))):
        raise ValueError(f"{name} must be non-negative multiples of dt = {dt:g} ms, "
                         f"below {_STEP_LIMIT * dt:g} ms")
    return steps.astype(np.int64)


def _pack_static(net: LIFNetwork):
    """The static channels concatenated for the kernel: ``(ch_ptr, ch_post, ch_jump, by_post, ch_decay)``.

    ``ch_ptr`` (C, N+1) offsets into the concatenated CSR; ``ch_post`` the targets in 2 (or 4) bytes
    instead of 8 (the scatter streams them from memory at every spike); ``ch_jump`` the jump
    ``w * (1/tau_c)`` (one product, as the kernel used to form it): by target neuron, (C, N), if
    within each channel all synapses onto a neuron have the same weight (``by_post`` True: Part 3's
    channels, whose weight depends on the two populations only), else by synapse, (1, synapses).
    The same jumps either way, so the same run to the bit; by target, the scatter streams a fifth of
    the bytes (5 M synapses: 10 MB instead of 50 MB, which no longer outgrow the cache).
    ``ch_decay`` (C,).
    """
    dt, N, C = net.dt, net.N, len(net.static)
    offsets = np.cumsum([0] + [ch.post.shape[0] for ch in net.static])
    ch_ptr = np.zeros((C, N + 1), dtype=np.int64)
    for c, ch in enumerate(net.static):
        ch_ptr[c] = ch.ptr + offsets[c]
    ch_post = np.empty(offsets[-1], dtype=np.uint16 if N <= 65536 else np.int32)
    for c, ch in enumerate(net.static):
        ch_post[offsets[c]:offsets[c + 1]] = ch.post
    by_post = np.zeros((C, N))
    seen = np.zeros(N, dtype=np.bool_)
    for c, ch in enumerate(net.static):
        seen[:] = False
        if not _jumps_by_post(ch.post, ch.w, 1.0 / ch.tau, by_post[c], seen):
            break
    else:
        return ch_ptr, ch_post, by_post, True, _decays(net)
    ch_jump = np.empty((1, offsets[-1]))
    for c, ch in enumerate(net.static):
        with np.errstate(over="ignore"):  # an infinite jump is the kernel's to report (DivergenceError)
            np.multiply(ch.w, 1.0 / ch.tau, out=ch_jump[0, offsets[c]:offsets[c + 1]])
    return ch_ptr, ch_post, ch_jump, False, _decays(net)


def _decays(net: LIFNetwork) -> np.ndarray:
    return np.array([1.0 - net.dt / ch.tau for ch in net.static], dtype=np.float64)


@njit(cache=True, nogil=True)
def _jumps_by_post(post, w, inv_tau, jump, seen) -> bool:
    """``jump[i] = w_q * inv_tau`` for the synapses ``q`` onto neuron ``i``, if they all have the same
    weight (every synapse checked; ``seen`` (N,) False on entry); False as soon as two differ."""
    for q in range(post.shape[0]):
        i = post[q]
        j = w[q] * inv_tau
        if not seen[i]:
            jump[i] = j
            seen[i] = True
        elif jump[i] != j:
            return False
    return True


def _index_external(external, dt: float, N: int, n_sources: int, n_steps: int):
    """External spikes ``(times, sources)`` by step: ``(ext_ptr, ext_src)`` (empty arrays for none).

    ``times`` finite positive multiples of dt (ms; spikes after the run are left out), ``sources``
    whole numbers in ``[N, n_sources - 1]``, checked before any conversion. Raises TypeError /
    ValueError naming ``external``.
    """
    if external is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if isinstance(external, (str, bytes, dict)) or not hasattr(external, "__len__") or len(external) != 2:
        raise TypeError(f"external must be a pair (times, sources) of 1-D arrays (got {_shown(external)})")
    times = _times("external times", external[0], what="spike times of the external sources, ms")
    sources = _indices("external sources", external[1], n_sources - 1, lo=N,
                       what="source indices of the plastic synapses")
    if times.shape != sources.shape:
        raise ValueError(f"external times and sources must have the same length (got {times.shape[0]} and "
                         f"{sources.shape[0]})")
    with np.errstate(over="ignore", invalid="ignore"):  # a huge time: long after the run (inf, dropped)
        label = times / dt
        k = np.rint(label)  # the step + 1, in float (a huge time is not wrapped)
        off_grid = np.abs(label - k) > 1e-6
    if times.size and (not np.all(np.isfinite(times)) or np.any(off_grid) or k.min() < 1):
        raise ValueError(f"external spike times must be finite positive multiples of dt = {dt:g} ms")
    inside = k <= n_steps  # the spikes after the run never come: left out (the kernel reads none of them)
    steps, sources = k[inside].astype(np.int64) - 1, sources[inside]
    order = np.argsort(steps, kind="stable")
    ext_src = np.ascontiguousarray(sources[order])
    ext_ptr = np.zeros(n_steps + 1, dtype=np.int64)
    np.cumsum(np.bincount(steps, minlength=n_steps), out=ext_ptr[1:])
    return ext_ptr, ext_src


def _check_learning(learning: Learning, net: LIFNetwork, pl: PlasticSynapses, n_steps: int):
    """The learning grid and targets, checked: ``(learn_steps, targets, error_noise)``.

    ``learn_steps`` are the steps of the learning times before the end of the run (steps past the
    end never come); ``targets`` has one row per learning time. Raises ValueError for a learning
    set-up that does not fit the network or the dt grid.
    """
    rls = learning.rls
    if net.plastic is None or not np.array_equal(rls.presyn, pl.presyn):
        raise ValueError("learning needs plastic synapses, and rls.presyn must equal their presyn")
    learn_steps = _steps_of("learning.times", learning.times, net.dt)
    if np.any(np.diff(learn_steps) <= 0):
        raise ValueError("learning.times must be increasing")
    R = pl.presyn.shape[0]
    targets = _kernel_array(learning.targets)
    if targets.shape != (learn_steps.shape[0], R):
        raise ValueError(
            f"learning.targets must have shape ({learn_steps.shape[0]}, {R}) (got {targets.shape})")
    learn_steps = learn_steps[learn_steps < n_steps]
    if isinstance(rls, SharedPoolRLS) and (
            not np.array_equal(rls.rows, pl.rows) or rls.P.shape[0] != pl.n_sources):
        raise ValueError("a SharedPoolRLS must have the plastic rows and one pool entry per source")
    error_noise = check_real("error_noise", learning.error_noise, lo=0,
                             what="std of the noise added to the error")
    return learn_steps, targets, error_noise


def simulate(
    net: LIFNetwork,
    T: float,
    *,
    rng: np.random.Generator,
    v0=None,
    stimulus=None,
    stim_window=(0.0, 0.0),
    record=None,
    record_every: float = 1.0,
    learning: Learning | None = None,
    external=None,
    max_rate: float = 500.0,
    perturbations=None,
    plastic_groups=None,
    replay: "Replay | None" = None,
    total_only: bool = False,
) -> Run:
    """Simulate ``net`` for ``T`` ms from the state ``v0`` with all synaptic traces at 0.

    Parameters
    ----------
    rng : the random generator of the noise (and of ``v0`` if it is not given:
        Uniform(0, 1) per neuron, drawn first).
    stimulus : (N,) input added to ``mu`` during ``stim_window = (on, off)`` ms.
    record : indices of the neurons whose ``v`` and currents are recorded (default all),
        every ``record_every`` ms.
    learning : RLS on the plastic synapses during the run (:class:`Learning`).
    external : ``(times, sources)``: spikes of external sources (indices ``N..``
        of the plastic synapses' sources) at ``times`` ms, on the dt grid; like a
        network spike with that time label they are in the traces from ``times`` on.
    max_rate : population-average rate (Hz) above which the run stops.
    perturbations : a :class:`Perturbation` or a sequence of them (neuron indices, not names):
        currents added to ``mu`` in their windows (they add where they overlap; with ``learning``,
        RLS sees them as part of the total input). None or empty: the run is the same to the bit
        as without the argument.
    plastic_groups : ``(names, group)``, to record the plastic input split by source: ``group``
        (n_sources,) ints in ``[0, len(names))``, the group of each plastic source. The split is
        in ``run.plastic_parts`` and :meth:`Run.inputs_by_source`; it costs one pass over the
        recorded neurons' plastic inputs per recorded step (None: not recorded, no cost).
    replay : a :class:`Replay`: the synapses it names receive its spikes instead of the network's
        (None: the run is the same to the bit as without the argument). Replaying a run's own spikes
        into every channel, with that run's random generator, gives that run again, spike for spike.
    total_only : record only the total input of the ``record`` neurons (``run.total_input``, the same
        to the bit; ``run.v``, ``run.currents`` and ``run.external`` are then None): one array
        instead of ``C + 3``, for a caller that needs the input for a score and nothing else.

    Raises
    ------
    DivergenceError
        ``kind="runaway"`` (more spikes than ``max_rate`` allows) or ``"nonfinite"`` (an input
        became infinite or NaN), with ``t_ms`` and ``neuron``; ``phase`` is ``"learning"`` with
        ``learning``, else ``"untrained"`` (the caller, who knows better, may re-label it). The
        message states the fact only: each part attaches its advice.
    ValueError
        Arguments that do not fit the network or the dt grid, each named (before anything is
        allocated or run): ``T`` not finite and > 0, longer than ``MAX_STEPS`` (1e8) steps or off
        the grid; ``v0`` or ``stimulus`` not finite or not one value per neuron; ``stim_window``
        not ``0 <= on <= off`` (times at or after the end of the run mean the end); ``record`` or
        any other index array with entries that are not whole numbers in range (unsigned, huge,
        boolean or fractional entries included); ``record_every`` off the grid;
        :class:`~tutorial_lib.checks.MemoryEstimateError` (a ValueError) if the record and the
        spike buffers would not fit in memory (:func:`~tutorial_lib.checks.memory_limit`).
    TypeError
        ``net``, ``rng``, ``perturbations``, ``replay`` or ``external`` of the wrong kind.

    The stages: the arguments checked and the sizes estimated; the state (``v0`` drawn first), the
    static channels packed for the kernel
    (:func:`_pack_static`), the external spikes indexed by step (:func:`_index_external`), the
    learning grid checked (:func:`_check_learning`), the perturbations by step
    (:func:`_pack_perturbations`), the recording buffers; then the run (the kernel up to each
    learning step and each step where a perturbation starts or stops, RLS at the learning steps,
    the added input changed at the others: :func:`_segment_input`) and the :class:`Run` assembled.
    """
    # the arguments, checked before anything is allocated or drawn from rng
    check_type("net", net, LIFNetwork)
    check_type("rng", rng, np.random.Generator)
    dt = net.dt
    N = net.N
    n_steps = _run_steps("T", T, dt)
    T = float(T)
    max_rate = check_real("max_rate", max_rate, lo=0, lo_open=True, what="largest plausible mean rate, Hz")
    v0 = None if v0 is None else _per_neuron("v0", v0, N, what="initial voltages, threshold 1")
    stim = np.zeros(N) if stimulus is None else _per_neuron("stimulus", stimulus, N, what="added input")
    stim_on, stim_off = _window("stim_window", stim_window, dt, n_steps)
    rec_idx = np.arange(N, dtype=np.int64) if record is None else _indices("record", record, N - 1)
    rec_every = _run_steps("record_every", record_every, dt,
                           what=f"recording interval, ms; a multiple of dt = {dt:g} ms")
    n_rec = (n_steps - 1) // rec_every + 1
    n_groups = _check_groups(plastic_groups, net)
    if total_only and n_groups:
        raise ValueError("plastic_groups needs the full record: it cannot go with total_only=True")
    # a neuron fires at most once per step: a larger max_rate needs no larger buffer
    max_spikes = int(math.ceil(min(max_rate, 1000.0 / dt) * 1e-3 * N * T)) + N
    n_r, C = rec_idx.shape[0], len(net.static)
    rows = n_rec * n_r * 8.0
    _check_sizes([
        ("the record of voltages, inputs and currents", rows * (1 if total_only else C + 3 + n_groups),
         ["T", "record", "record_every"]),
        ("the spike buffers", max_spikes * 16.0, ["T", "max_rate"]),
        ("the spikes indexed by step", (n_steps + 1) * 8.0 * ((replay is not None) + (external is not None)),
         ["T"]),
    ])
    check_type("learning", learning, Learning, allow_none=True)
    packed = _pack_perturbations(perturbations, N, dt, n_steps)
    rp_ptr, rp_src, rp_static, rp_plastic = _index_replay(replay, net, n_steps)
    pl = net.plastic
    if pl is None:
        pl = PlasticSynapses(net.tau_m, np.zeros(0), np.zeros((0, 1)), np.zeros((0, 1)), N)
    ext_ptr, ext_src = _index_external(external, dt, N, pl.n_sources, n_steps)
    if learning is not None:
        learn_steps, targets, error_noise = _check_learning(learning, net, pl, n_steps)
    # the state: voltages, stimulus, currents and traces
    v = rng.uniform(0.0, 1.0, size=N) if v0 is None else v0
    ch_ptr, ch_post, ch_jump, by_post, ch_decay = _pack_static(net)
    x = np.zeros((len(net.static), N))
    r = np.zeros(pl.n_sources)
    u = np.zeros(N)
    R = pl.presyn.shape[0]
    if learning is None:
        learn_steps, w = np.zeros(0, np.int64), pl.w
        w_src = w[pl.out_row, pl.out_col]  # fixed weights: by source, for the scatter (one gather)
    else:
        rls = learning.rls
        errors = np.zeros((learn_steps.shape[0], R))
        other = np.zeros(R)
        w = rls.w  # the kernel works on the RLS weights themselves (float64 in every RLS form)
        w_src = np.zeros(0)  # weights that change at every learning step are read where they are
    w_src_ext = w_src  # (replaced below for the deferred RLS steps)
    # recording buffers
    split_row, col_group, split_rec, split_names = _split_buffers(plastic_groups, net, pl, n_rec, rec_idx)
    n_full = 0 if total_only else n_rec  # every row of the buffers in use is written by the kernel
    v_rec = np.empty((n_full, rec_idx.shape[0]))
    cur_rec = np.empty((n_full, len(net.static) + 1, rec_idx.shape[0]))
    total_rec = np.empty((n_rec - n_full, rec_idx.shape[0] if total_only else 0))
    spike_step = np.empty(max_spikes, dtype=np.int64)
    spike_idx = np.empty(max_spikes, dtype=np.int64)

    def kernel(n_first, n_last, record_first, n_spikes):
        added, on, off = _segment_input(stim, stim_on, stim_off, packed, n_first)
        return lif_kernel(
            v, net.mu, added, on, off, dt / net.tau_m, net.v_th, net.v_reset, net.noise, rng,
            ch_decay, ch_ptr, ch_post, ch_jump, by_post, x,
            net.plastic is not None, 1.0 - dt / pl.tau, 1.0 / pl.tau, pl.rows, w, w_src, pl.out_ptr,
            pl.out_row, pl.out_col, r, u,
            ext_ptr, ext_src, w_src_ext,
            rec_every, rec_idx, v_rec, cur_rec, total_rec,
            spike_step, spike_idx, n_spikes, n_first, n_last, record_first,
            split_row, pl.presyn, col_group, split_rec,
            rp_ptr, rp_src, rp_static, rp_plastic,
        )

    # The run. The kernel runs up to each learning step; RLS runs here, between kernel calls, so
    # that it can use threads (and a block form) that a kernel loop cannot. It also pauses where
    # the stimulus or a perturbation switches while a perturbation acts (none: no extra pause).
    learn_at = {int(s): j for j, s in enumerate(learn_steps)}
    pauses = sorted(set(learn_at) | _switch_steps(packed, stim_on, stim_off, n_steps))
    # Deferred RLS steps (PooledInputRLS.deferred): a step writes the shared weights only of the
    # external sources that spike before the next learning step (the kernel reads no others) and
    # returns the new plastic input. Not with bounds (clipping needs every weight) nor with a split
    # record (it reads every weight). Every weight is written when the context ends, however it ends.
    # Told the external spikes up to the step after next, a step leaves the updates of the regression
    # blocks (and the next step's products with them, from the traces those spikes will make) to a
    # second thread, which works while the kernel runs on to the next step.
    deferred = (learning is not None and hasattr(rls, "deferred") and learning.w_min is None
                and learning.w_max is None and not split_names)
    u_rows = np.zeros(R if deferred else 0)  # the plastic rows' u after a step, from RLS (deferred steps)
    if deferred:
        learn_next = np.append(learn_steps[1:], n_steps)
        no_ext = ext_ptr.shape[0] == 0
        # the kernel reads the external sources' weights by source (one sweep per spike, not one row
        # of w per synapse: each reaches every row), and RLS writes the columns it updates there too;
        # only the shared inputs' part of the array is read
        col_start = _column_starts(pl, rls)
        w_src_ext = np.empty(pl.out_row.shape[0])
        _shared_columns_by_source(w, rls.private.shape[1], col_start, w_src_ext)
    status, step, n_spikes, neuron = OK, 0, 0, -1
    start, record_first = 0, True
    try:
        with contextlib.ExitStack() as stack:
            if learning is not None:  # RLS holds Ctrl-C back at every step: cheaply inside a guard
                stack.enter_context(guard())
            if deferred:  # the traces as the kernel's p_decay and p_gain make them
                stack.enter_context(rls.deferred(shared_out=(w_src_ext, col_start),
                                                 traces=(1.0 - dt / pl.tau, 1.0 / pl.tau)))
            for s in pauses:
                status, step, n_spikes, neuron = kernel(start, s, record_first, n_spikes)
                if status != OK:
                    break
                start, record_first = s, True  # the kernel records t_s itself, unless RLS comes first
                if s not in learn_at:
                    continue
                j = learn_at[s]
                added, on, off = _segment_input(stim, stim_on, stim_off, packed, s)
                if s % rec_every == 0:  # the state at t_s is recorded before the update
                    if total_only:
                        _record_total(s // rec_every, rec_idx, net.mu, added, on <= s < off, x, u, total_rec)
                    else:
                        _record(s // rec_every, rec_idx, v, x, u, v_rec, cur_rec)
                    if split_rec.shape[0] > 0:
                        _record_split(s // rec_every, rec_idx, split_row, pl.presyn, w, r, col_group, split_rec)
                _learning_inputs(pl.rows, net.mu, added, on <= s < off, x, error_noise, rng, other)
                if deferred and no_ext:
                    rls.step_deferred(r, targets[j], other, ext_src[:0], u_rows)
                elif deferred:  # with the external spikes until the step after next (see step_deferred)
                    nxt, after = learn_next[j], learn_next[min(j + 1, learn_next.shape[0] - 1)]
                    rls.step_deferred(r, targets[j], other, ext_src[ext_ptr[s]:ext_ptr[nxt]], u_rows,
                                      soon_steps=ext_ptr[s:nxt + 1],
                                      next_soon=ext_src[ext_ptr[nxt]:ext_ptr[after]])
                else:
                    rls.step(r, targets[j], other)
                # the errors kept, checked, and (deferred) u = w r with the new weights, from RLS: in one
                # compiled call that holds the GIL, so that the pool's thread, just handed the rest of the
                # step, takes it only when the kernel lets it go (NumPy lets it go in the middle)
                bad = _after_step(rls.err, errors[j], u_rows, pl.rows, u)
                if bad >= 0:
                    status, step, neuron = NONFINITE, s, pl.rows[bad]
                    break
                if not deferred:
                    learning.clip(w)  # only with bounds (sign-constrained training): not exact RLS
                    _plastic_input(pl.rows, pl.presyn, w, r, u)  # u = w r with the new weights
                record_first = False
            if status == OK:
                status, step, n_spikes, neuron = kernel(start, n_steps, record_first, n_spikes)
    finally:
        if learning is not None:  # keep what was learned, even if the run stopped
            pl.w[...] = rls.w
    if status != OK:
        raise _divergence(status, step, n_spikes, int(neuron), dt, N, T, max_rate, learning is not None)
    run = _assemble(net, T, n_rec, rec_every, rec_idx, v_rec, cur_rec, stim, stim_on, stim_off,
                    spike_step[:n_spikes], spike_idx[:n_spikes], v, None if learning is None else errors,
                    packed, total_rec if total_only else None)
    if split_names:
        run.plastic_parts, run.plastic_part_names = split_rec, split_names
    return run


def _column_starts(pl: PlasticSynapses, rls) -> np.ndarray:
    """Where each shared input's weights start in the index by source, for the deferred RLS steps:
    ``col_start[c]`` with weight ``c`` of row ``i`` at ``col_start[c] + i`` (a shared input reaches
    every row, and the index lists a source's rows in order: :func:`_source_index`)."""
    col_start = pl.out_ptr[rls.shared]
    # checked: the kernel reads these very positions
    c = _first_out_of_order(pl.out_ptr, pl.out_row, pl.out_col, np.asarray(rls.shared, dtype=np.int64),
                            rls.private.shape[1], pl.presyn.shape[0])
    if c >= 0:
        raise ValueError(f"shared input {c} does not reach every plastic row in order")
    return col_start


@njit(cache=True, nogil=True)
def _shared_columns_by_source(w, mp, col_start, out):
    """``out[col_start[c] + i] = w[i, mp + c]``: the shared inputs' weights in the index by source."""
    for c in range(col_start.shape[0]):
        q0 = col_start[c]
        for i in range(w.shape[0]):
            out[q0 + i] = w[i, mp + c]


@njit(cache=True, nogil=True)
def _first_out_of_order(out_ptr, out_row, out_col, shared, mp, n):
    """The first shared input ``c`` (source ``shared[c]``) whose synapses in the index by source are not
    rows ``0 .. n-1`` in order, each at column ``mp + c``; -1 if there is none."""
    for c in range(shared.shape[0]):
        q0 = out_ptr[shared[c]]
        if out_ptr[shared[c] + 1] - q0 != n:
            return c
        for i in range(n):
            if out_row[q0 + i] != i or out_col[q0 + i] != mp + c:
                return c
    return -1


def _switch_steps(packed: list, stim_on: int, stim_off: int, n_steps: int) -> set:
    """Steps inside the run where the input that :func:`_segment_input` adds changes (none without
    perturbations): each perturbation's start and stop, and the stimulus' switches."""
    if not packed:
        return set()
    steps = {stim_on, stim_off}
    for on, off, _, _ in packed:
        steps |= {on, off}
    return {s for s in steps if 0 < s < n_steps}


def _check_groups(plastic_groups, net: LIFNetwork) -> int:
    """The number of groups of ``plastic_groups`` (0 for None), checked: ``(names, group)`` with distinct
    text ``names`` and ``group`` one whole number in ``[0, len(names))`` per plastic source."""
    if plastic_groups is None:
        return 0
    if isinstance(plastic_groups, (str, bytes, dict)) or not hasattr(plastic_groups, "__len__") \
            or len(plastic_groups) != 2:
        raise TypeError(f"plastic_groups must be a pair (names, group) (got {_shown(plastic_groups)})")
    names, group = plastic_groups
    if isinstance(names, (str, bytes)) or not hasattr(names, "__iter__"):
        raise TypeError(f"plastic_groups names must be a sequence of names (got {_shown(names)})")
    names = tuple(names)
    if not names or not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ValueError(f"plastic_groups names must be distinct non-empty texts (got {_shown(names)})")
    n_sources = net.N if net.plastic is None else net.plastic.n_sources
    group = _indices("plastic_groups group", group, len(names) - 1, what="source groups")
    if group.shape != (n_sources,):
        raise ValueError(f"plastic_groups must be (names, group) with group one index in "
                         f"[0, {len(names) - 1}] per plastic source ({n_sources}; got {group.shape[0]})")
    return len(names)


def _window(name: str, window, dt: float, n_steps: int) -> tuple[int, int]:
    """``window = (on, off)`` ms as steps: finite, ``0 <= on <= off`` (equal: never on), on the dt grid
    before the end of the run; times at or after the end (1e308 too) are the end. ValueError naming it."""
    if isinstance(window, (str, bytes, dict)) or not hasattr(window, "__len__") or len(window) != 2:
        raise ValueError(f"{name} must be a pair (on, off) of times in ms (got {_shown(window)})")
    on = check_real(f"{name}[0]", window[0], lo=0, what="when it switches on, ms")
    off = check_real(f"{name}[1]", window[1], lo=on, what=f"when it switches off, ms; at least on = {on:g}")
    return _step_of(f"{name}[0]", on, dt, n_steps), _step_of(f"{name}[1]", off, dt, n_steps)


def _split_buffers(plastic_groups, net: LIFNetwork, pl: PlasticSynapses, n_rec: int, rec_idx: np.ndarray):
    """Arrays for the plastic input split by source group: ``(split_row, col_group, split_rec, names)``.

    ``col_group`` (R, m) is the group of the source of each plastic input.

    Empty (and ``names = ()``) if ``plastic_groups`` is None. Raises ValueError for groups that do not
    fit the plastic synapses.
    """
    if plastic_groups is None:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.int64), np.zeros((0, 0, 0)), ()
    _check_groups(plastic_groups, net)
    names, group = plastic_groups
    names = tuple(str(n) for n in names)
    group = _indices("plastic_groups group", group, len(names) - 1, what="source groups")
    split_row = np.full(net.N, -1, dtype=np.int64)
    split_row[pl.rows] = np.arange(pl.rows.shape[0])
    col_group = np.ascontiguousarray(group[pl.presyn], dtype=np.int64)
    return split_row, col_group, np.empty((n_rec, len(names), rec_idx.shape[0])), names


def _divergence(status, step, n_spikes, neuron, dt, N, T, max_rate, learning: bool) -> DivergenceError:
    """The :class:`~tutorial_lib.training.DivergenceError` for a kernel status other than OK: facts only."""
    phase = "learning" if learning else "untrained"
    if status == NONFINITE:
        return DivergenceError(
            f"The input to neuron {neuron} became infinite or NaN at t = {step * dt:.1f} ms.",
            phase=phase, kind="nonfinite", t_ms=step * dt, neuron=neuron)
    return DivergenceError(
        f"The network fired {n_spikes} spikes by t = {(step + 1) * dt:.1f} ms, more than max_rate = "
        f"{max_rate:g} Hz on average over {N} neurons and {T:g} ms allow: its activity ran away.",
        phase=phase, kind="runaway", t_ms=(step + 1) * dt, neuron=neuron)


def _assemble(net, T, n_rec, rec_every, rec_idx, v_rec, cur_rec, stim, stim_on, stim_off, spike_step,
              spike_idx, v_end, errors, packed=(), total=None) -> Run:
    """The :class:`Run` of a finished simulation (the external input rebuilt on the recording grid;
    with ``total``, the total input recorded alone, only that)."""
    dt = net.dt
    t = np.arange(n_rec) * rec_every * dt
    if total is not None:
        return Run(t=t, v=None, currents=None, external=None, channels=net.channel_names, recorded=rec_idx,
                   spike_steps=spike_step.copy(), spike_neurons=spike_idx.copy(), dt=dt, duration=float(T),
                   N=net.N, v_end=v_end, errors=errors, total=total)
    ext = np.empty((n_rec, rec_idx.shape[0]))
    ext[:] = net.mu[rec_idx]
    on = slice(-(-stim_on // rec_every), -(-stim_off // rec_every))  # rows with stim_on <= step < stim_off
    ext[on] += stim[rec_idx]
    n_steps = int(round(T / dt))
    edges = [0] + sorted(_switch_steps(packed, stim_on, stim_off, n_steps)) + [n_steps]
    for a, b in zip(edges[:-1], edges[1:]):  # segments with a perturbation: mu + what the kernel added
        added, on_, off_ = _segment_input(stim, stim_on, stim_off, packed, a)
        if added is not stim:
            ext[-(-a // rec_every):-(-b // rec_every)] = net.mu[rec_idx] + added[rec_idx]
    return Run(
        t=t, v=v_rec, currents=cur_rec, external=ext, channels=net.channel_names, recorded=rec_idx,
        spike_steps=spike_step.copy(), spike_neurons=spike_idx.copy(), dt=dt,
        duration=float(T), N=net.N, v_end=v_end, errors=errors,
    )


# ---------------------------------------------------------------------------
# The demos of Part 2


def simulate_single(mu: float = 0.7, noise: float = 2.0, T: float = 1000.0, *, seed: int = 0,
                    dt: float = 0.1, tau_m: float = 10.0, v0: float = 0.0,
                    record_every: float | None = None) -> Run:
    """One LIF neuron with constant input ``mu`` and voltage noise of amplitude ``noise``.

    ``tau_m dv/dt = -v + mu + noise * xi``; threshold 1, reset 0. With ``mu = 0.7``
    the neuron is below threshold and fires only when the noise pushes it
    there. The voltage is recorded at every step (``record_every = dt``) unless
    told otherwise. Returns a :class:`Run` (``run.v[:, 0]``, ``run.spike_times``).

    Raises ValueError naming the argument (before anything runs): ``mu``, ``noise``, ``v0`` not
    finite; ``seed`` not a whole number >= 0; ``dt``, ``tau_m`` (see :class:`LIFNetwork`); ``T`` and
    ``record_every`` as in :func:`simulate` (finite, on the dt grid, ``T`` at most 1e8 steps, the
    record within the memory available).
    """
    seed = check_int("seed", seed, lo=0, what="seed of the noise")
    net = LIFNetwork(mu=np.array([check_real("mu", mu)]), tau_m=tau_m, dt=dt, noise=noise)
    v0 = check_real("v0", v0, what="initial voltage, threshold 1")
    return simulate(net, T, rng=np.random.default_rng(seed), v0=v0,
                    record_every=dt if record_every is None else record_every, max_rate=1e4)


def simulate_pair(w21: float = 5.0, tau_s: float = 20.0, mu=0.7, noise: float = 2.0, T: float = 1000.0, *,
                  w12: float = 0.0, seed: int = 0, dt: float = 0.1, tau_m: float = 10.0, v0=0.0,
                  record_every: float = 1.0) -> Run:
    """Two LIF neurons; neuron 0 (the SPEC's neuron 1) projects to neuron 1 with weight ``w21``.

    Each spike of neuron 0 adds ``w21 / tau_s`` to neuron 1's synaptic input,
    which then decays with ``tau_s`` (ms): ``tau_s dx/dt = -x + w21 sum_k delta(t - t_k)``.
    ``w12`` is the weight back (0 in the SPEC). ``mu`` may be one value or one
    per neuron; the noise is as in :func:`simulate_single`.

    Raises ValueError naming the argument (before anything runs) for weights, ``mu`` or ``v0`` that
    are not finite or not one value or two, ``tau_s < dt``, a ``seed`` that is not a whole number
    >= 0, and ``T``, ``dt``, ``record_every`` as :func:`simulate_single`.
    """
    seed = check_int("seed", seed, lo=0, what="seed of the noise")
    dt = check_real("dt", dt, lo=0, lo_open=True, what="time step, ms")
    w21 = check_real("w21", w21, what="weight from neuron 0 to neuron 1")
    w12 = check_real("w12", w12, what="weight from neuron 1 to neuron 0")
    tau_s = check_real("tau_s", tau_s, lo=dt, what="synaptic time constant, ms; at least dt")
    W = np.array([[0.0, w12], [w21, 0.0]])
    mu = _per_neuron("mu", mu, 2, what="constant input of each neuron")
    v0 = _per_neuron("v0", v0, 2, what="initial voltages, threshold 1")
    syn = Synapses.from_dense(W, tau=tau_s, name="synaptic")
    net = LIFNetwork(mu=mu, tau_m=tau_m, dt=dt, noise=noise, static=(syn,))
    return simulate(net, T, rng=np.random.default_rng(seed), v0=v0, record_every=record_every, max_rate=1e4)
