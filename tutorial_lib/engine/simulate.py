r"""The LIF engine's driver: :func:`simulate` runs an :class:`~tutorial_lib.engine.lif_data.LIFNetwork`.

``backend="numba"`` (the default) runs the compiled :func:`~tutorial_lib.engine.lif_kernel.lif_kernel`,
pausing it at every learning step for RLS (threads and block forms live in :mod:`tutorial_lib.engine.rls_state` and its siblings);
``backend="numpy"`` runs the core's plain loop, :func:`tutorial_lib.core.lif.run_network`, with the
network's weights as dense matrices: any :class:`~tutorial_lib.core.lif.NeuronModel` runs there, and
for the LIF it gives the same spikes as the kernel (``tests/test_spiking.py``,
``tests/test_neuron_models.py``). A model without a kernel asks for ``backend="numpy"``.

The arguments of :func:`simulate` (times in ms):

rng : the random generator of the noise (and of ``v0`` if it is not given:
    Uniform(0, 1) per neuron, drawn first).
stimulus : (N,) input added to ``mu`` during ``stim_window = (on, off)`` ms.
record : indices of the neurons whose ``v`` and currents are recorded (default all),
    every ``record_every`` ms.
learning : RLS on the plastic synapses during the run (:class:`~tutorial_lib.engine.lif_data.Learning`).
external : ``(times, sources)``: spikes of external sources (indices ``N..``
    of the plastic synapses' sources) at ``times`` ms, on the dt grid; like a
    network spike with that time label they are in the traces from ``times`` on.
max_rate : population-average rate (Hz) above which the run stops.
perturbations : a :class:`~tutorial_lib.engine.lif_data.Perturbation` or a sequence of them (neuron indices,
    not names):
    currents added to ``mu`` in their windows (they add where they overlap; with ``learning``,
    RLS sees them as part of the total input). None or empty: the run is the same to the bit
    as without the argument.
plastic_groups : ``(names, group)``, to record the plastic input split by source: ``group``
    (n_sources,) ints in ``[0, len(names))``, the group of each plastic source. The split is
    in ``run.plastic_parts`` and :meth:`~tutorial_lib.engine.lif_data.Run.inputs_by_source`; it costs one
    pass over the
    recorded neurons' plastic inputs per recorded step (None: not recorded, no cost).
replay : a :class:`~tutorial_lib.engine.lif_data.Replay`: the synapses it names receive its spikes instead of
    the network's
    (None: the run is the same to the bit as without the argument). Replaying a run's own spikes
    into every channel, with that run's random generator, gives that run again, spike for spike.
total_only : record only the total input of the ``record`` neurons (``run.total_input``, the same
    to the bit; ``run.v``, ``run.currents`` and ``run.external`` are then None): one array
    instead of ``C + 3``, for a caller that needs the input for a score and nothing else.

Raises:

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

model : a :class:`~tutorial_lib.core.lif.NeuronModel` (default: the LIF with the network's
    ``tau_m``, ``v_th`` and ``v_reset``). backend : ``"numba"`` or ``"numpy"``; the numpy backend
    takes no ``external`` spikes and no ``plastic_groups`` (ValueError naming ``backend``).

>>> from tutorial_lib.engine.lif_data import LIFNetwork
>>> run = simulate(LIFNetwork(mu=[1.5]), 50.0, rng=np.random.default_rng(0), v0=0.0)
>>> run.spike_times, simulate(LIFNetwork(mu=[1.5]), 50.0, rng=np.random.default_rng(0), v0=0.0,
...                           backend="numpy").spike_times
(array([11., 22., 33., 44.]), array([11., 22., 33., 44.]))
"""

from __future__ import annotations

import contextlib
import math
from types import SimpleNamespace

import numpy as np

from ..checks import check_real, check_type
from ..core.lif import NeuronModel, lif_model, run_network
from ..errors import DivergenceError
from ..interrupts import guard
from .rls_shared import SharedPoolRLS
from .lif_checks import (check_indices, check_sizes, check_window, kernel_array, per_neuron, run_steps, shown,
                         steps_of)
from .lif_data import Learning, LIFNetwork, PlasticSynapses, Run
from .lif_inputs import (index_external, index_replay, pack_perturbations, pack_static, segment_input,
                         switch_steps)
from .lif_kernel import (NONFINITE, OK, TOO_MANY_SPIKES, after_rls_step, first_out_of_order, learning_inputs,
                         lif_kernel, plastic_input, record_split, record_state, record_total,
                         shared_columns_by_source)

__all__ = ["simulate", "column_starts", "BACKENDS"]

#: The backends of :func:`simulate`.
BACKENDS = ("numba", "numpy")


def _check_learning(learning: Learning, net: LIFNetwork, pl: PlasticSynapses, n_steps: int):
    """The learning grid and targets, checked: ``(learn_steps, targets, error_noise)``.

    ``learn_steps`` are the steps of the learning times before the end of the run (steps past the
    end never come); ``targets`` has one row per learning time. Raises ValueError for a learning
    set-up that does not fit the network or the dt grid.
    """
    rls = learning.rls
    if net.plastic is None or not np.array_equal(rls.presyn, pl.presyn):
        raise ValueError("learning needs plastic synapses, and rls.presyn must equal their presyn")
    learn_steps = steps_of("learning.times", learning.times, net.dt)
    if np.any(np.diff(learn_steps) <= 0):
        raise ValueError("learning.times must be increasing")
    R = pl.presyn.shape[0]
    targets = kernel_array(learning.targets)
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


def simulate(net: LIFNetwork, T: float, *, rng: np.random.Generator, v0=None, stimulus=None,
             stim_window=(0.0, 0.0), record=None, record_every: float = 1.0, learning: Learning | None = None,
             external=None, max_rate: float = 500.0, perturbations=None, plastic_groups=None, replay=None,
             total_only: bool = False, model: NeuronModel | None = None, backend: str = "numba") -> Run:
    """Simulate ``net`` for ``T`` ms from the state ``v0`` with all synaptic traces at 0: a :class:`Run`.

    The arguments, the errors raised and the two backends are described in the module docstring
    (:mod:`tutorial_lib.engine.simulate`). The stages: the arguments checked and the sizes estimated
    (:func:`_checked`, :func:`_checked_inputs`); with ``backend="numpy"`` the core's plain run
    (:func:`_simulate_plain`); else the state (``v0`` drawn first) and the buffers
    (:func:`_kernel_state`), the run (:func:`_run_kernel`: the kernel up to each learning step and each
    step where the added input changes, RLS at the learning steps) and the :class:`Run` assembled.
    """
    model = _checked_model(net, model, backend)
    a = _checked(net, T, rng, v0, stimulus, stim_window, record, record_every, max_rate, plastic_groups,
                 total_only, replay, external)
    _checked_inputs(a, net, learning, perturbations, replay, external)
    if backend == "numpy":
        if external is not None or plastic_groups is not None:
            raise ValueError("backend='numpy' takes no external spikes and no plastic_groups: use "
                             "backend='numba'")
        return _simulate_plain(net, a, rng, learning, model)
    k = _kernel_state(net, a, rng, learning, plastic_groups)
    status, step, n_spikes, neuron = _run_kernel(net, a, k, rng, learning)
    if status != OK:
        raise _divergence(status, step, n_spikes, int(neuron), net.dt, net.N, a.T, a.max_rate,
                          learning is not None)
    run = _assemble(net, a.T, a.n_rec, a.rec_every, a.rec_idx, k.v_rec, k.cur_rec, a.stim, a.stim_on,
                    a.stim_off, k.spike_step[:n_spikes], k.spike_idx[:n_spikes], k.v,
                    None if learning is None else k.errors, a.packed, k.total_rec if total_only else None)
    if k.split_names:
        run.plastic_parts, run.plastic_part_names = k.split_rec, k.split_names
    return run


def _checked_model(net: LIFNetwork, model, backend) -> NeuronModel:
    """The neuron model of a run (default: the LIF of ``net``), checked against ``backend``: the compiled
    kernel is the LIF's only. ValueError / TypeError naming ``backend`` or ``model``."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS} (got {shown(backend)})")
    check_type("model", model, NeuronModel, allow_none=True)
    model = lif_model(net.tau_m, net.v_th, net.v_reset) if model is None else model
    if backend == "numba" and model.name != "lif":
        raise ValueError(f"backend='numba' has a compiled kernel for the LIF model only; the model "
                         f"{model.name!r} runs with backend='numpy'")
    if backend == "numba" and (model.params.get("tau_m"), model.params.get("v_th"),
                               model.params.get("v_reset")) != (net.tau_m, net.v_th, net.v_reset):
        raise ValueError("backend='numba' runs the LIF with the network's tau_m, v_th and v_reset: give the "
                         "LIFNetwork those values (or use backend='numpy')")
    return model


def _checked(net, T, rng, v0, stimulus, stim_window, record, record_every, max_rate, plastic_groups,
             total_only, replay, external) -> SimpleNamespace:
    """The run's arguments checked and its sizes estimated, before anything is allocated or drawn from rng."""
    check_type("net", net, LIFNetwork)
    check_type("rng", rng, np.random.Generator)
    dt, N = net.dt, net.N
    a = SimpleNamespace(n_steps=run_steps("T", T, dt), T=float(T))
    a.max_rate = check_real("max_rate", max_rate, lo=0, lo_open=True, what="largest plausible mean rate, Hz")
    a.v0 = None if v0 is None else per_neuron("v0", v0, N, what="initial voltages, threshold 1")
    a.stim = np.zeros(N) if stimulus is None else per_neuron("stimulus", stimulus, N, what="added input")
    a.stim_on, a.stim_off = check_window("stim_window", stim_window, dt, a.n_steps)
    a.rec_idx = np.arange(N, dtype=np.int64) if record is None else check_indices("record", record, N - 1)
    a.rec_every = run_steps("record_every", record_every, dt,
                            what=f"recording interval, ms; a multiple of dt = {dt:g} ms")
    a.n_rec = (a.n_steps - 1) // a.rec_every + 1
    a.total_only = total_only
    n_groups = _check_groups(plastic_groups, net)
    if total_only and n_groups:
        raise ValueError("plastic_groups needs the full record: it cannot go with total_only=True")
    # a neuron fires at most once per step: a larger max_rate needs no larger buffer
    a.max_spikes = int(math.ceil(min(a.max_rate, 1000.0 / dt) * 1e-3 * N * a.T)) + N
    n_r, C = a.rec_idx.shape[0], len(net.static)
    rows = a.n_rec * n_r * 8.0
    check_sizes([
        ("the record of voltages, inputs and currents", rows * (1 if total_only else C + 3 + n_groups),
         ["T", "record", "record_every"]),
        ("the spike buffers", a.max_spikes * 16.0, ["T", "max_rate"]),
        ("the spikes indexed by step",
         (a.n_steps + 1) * 8.0 * ((replay is not None) + (external is not None)), ["T"]),
    ])
    return a


def _checked_inputs(a: SimpleNamespace, net: LIFNetwork, learning, perturbations, replay, external) -> None:
    """Learning, perturbations, replay and external spikes checked and indexed by step (into ``a``)."""
    N, dt, n_steps = net.N, net.dt, a.n_steps
    check_type("learning", learning, Learning, allow_none=True)
    a.packed = pack_perturbations(perturbations, N, dt, n_steps)
    a.rp = index_replay(replay, net, n_steps)
    a.pl = net.plastic
    if a.pl is None:
        a.pl = PlasticSynapses(net.tau_m, np.zeros(0), np.zeros((0, 1)), np.zeros((0, 1)), N)
    a.ext_ptr, a.ext_src = index_external(external, dt, N, a.pl.n_sources, n_steps)
    a.learn_steps = np.zeros(0, np.int64)
    if learning is not None:
        a.learn_steps, a.targets, a.error_noise = _check_learning(learning, net, a.pl, n_steps)


def _kernel_state(net: LIFNetwork, a: SimpleNamespace, rng, learning, plastic_groups) -> SimpleNamespace:
    """The state (voltages drawn first if ``v0`` is None, currents, traces), the static channels packed and
    the recording buffers, for :func:`_run_kernel`."""
    N, pl = net.N, a.pl
    k = SimpleNamespace(v=rng.uniform(0.0, 1.0, size=N) if a.v0 is None else a.v0)
    k.ch_ptr, k.ch_post, k.ch_jump, k.by_post, k.ch_decay = pack_static(net)
    k.x, k.r, k.u = np.zeros((len(net.static), N)), np.zeros(pl.n_sources), np.zeros(N)
    R = pl.presyn.shape[0]
    if learning is None:
        k.w = pl.w
        k.w_src = k.w[pl.out_row, pl.out_col]  # fixed weights: by source, for the scatter (one gather)
    else:
        k.errors = np.zeros((a.learn_steps.shape[0], R))
        k.other = np.zeros(R)
        k.w = learning.rls.w  # the kernel works on the RLS weights themselves (float64 in every RLS form)
        k.w_src = np.zeros(0)  # weights that change at every learning step are read where they are
    k.w_src_ext = k.w_src  # (replaced in _deferred for the deferred RLS steps)
    k.split_row, k.col_group, k.split_rec, k.split_names = _split_buffers(plastic_groups, net, pl, a.n_rec,
                                                                          a.rec_idx)
    n_full = 0 if a.total_only else a.n_rec  # every row of the buffers in use is written by the kernel
    k.v_rec = np.empty((n_full, a.rec_idx.shape[0]))
    k.cur_rec = np.empty((n_full, len(net.static) + 1, a.rec_idx.shape[0]))
    k.total_rec = np.empty((a.n_rec - n_full, a.rec_idx.shape[0] if a.total_only else 0))
    k.spike_step = np.empty(a.max_spikes, dtype=np.int64)
    k.spike_idx = np.empty(a.max_spikes, dtype=np.int64)
    _deferred(a, k, learning)
    return k


def _deferred(a: SimpleNamespace, k: SimpleNamespace, learning) -> None:
    """Whether the RLS steps are deferred (``k.deferred``), and what they need.

    Deferred RLS steps (PooledInputRLS.deferred): a step writes the shared weights only of the
    external sources that spike before the next learning step (the kernel reads no others) and
    returns the new plastic input. Not with bounds (clipping needs every weight) nor with a split
    record (it reads every weight). Every weight is written when the context ends, however it ends.
    Told the external spikes up to the step after next, a step leaves the updates of the regression
    blocks (and the next step's products with them, from the traces those spikes will make) to a
    second thread, which works while the kernel runs on to the next step.
    """
    rls = None if learning is None else learning.rls
    k.deferred = (learning is not None and hasattr(rls, "deferred") and learning.w_min is None
                  and learning.w_max is None and not k.split_names)
    k.u_rows = np.zeros(a.pl.presyn.shape[0] if k.deferred else 0)  # the rows' u after a step, from RLS
    if k.deferred:
        k.learn_next = np.append(a.learn_steps[1:], a.n_steps)
        # the kernel reads the external sources' weights by source (one sweep per spike, not one row
        # of w per synapse: each reaches every row), and RLS writes the columns it updates there too;
        # only the shared inputs' part of the array is read
        k.col_start = column_starts(a.pl, rls)
        k.w_src_ext = np.empty(a.pl.out_row.shape[0])
        shared_columns_by_source(k.w, rls.private.shape[1], k.col_start, k.w_src_ext)


def _kernel(net: LIFNetwork, a: SimpleNamespace, k: SimpleNamespace, rng, n_first, n_last, record_first,
            n_spikes):
    """One call of :func:`~tutorial_lib.engine.lif_kernel.lif_kernel`, steps ``n_first`` to ``n_last``."""
    added, on, off = segment_input(a.stim, a.stim_on, a.stim_off, a.packed, n_first)
    pl, dt = a.pl, net.dt
    return lif_kernel(
        k.v, net.mu, added, on, off, dt / net.tau_m, net.v_th, net.v_reset, net.noise, rng,
        k.ch_decay, k.ch_ptr, k.ch_post, k.ch_jump, k.by_post, k.x,
        net.plastic is not None, 1.0 - dt / pl.tau, 1.0 / pl.tau, pl.rows, k.w, k.w_src, pl.out_ptr,
        pl.out_row, pl.out_col, k.r, k.u,
        a.ext_ptr, a.ext_src, k.w_src_ext,
        a.rec_every, a.rec_idx, k.v_rec, k.cur_rec, k.total_rec,
        k.spike_step, k.spike_idx, n_spikes, n_first, n_last, record_first,
        k.split_row, pl.presyn, k.col_group, k.split_rec,
        *a.rp,
    )


def _run_kernel(net: LIFNetwork, a: SimpleNamespace, k: SimpleNamespace, rng, learning):
    """The run: the kernel up to each pause, RLS (:func:`_learning_step`) at the learning steps.
    Returns the kernel's ``(status, step, n_spikes, neuron)``.

    RLS runs here, between kernel calls, so that it can use threads (and a block form) that a kernel
    loop cannot. The kernel also pauses where the stimulus or a perturbation switches while a
    perturbation acts (none: no extra pause).
    """
    learn_at = {int(s): j for j, s in enumerate(a.learn_steps)}
    pauses = sorted(set(learn_at) | switch_steps(a.packed, a.stim_on, a.stim_off, a.n_steps))
    status, step, n_spikes, neuron = OK, 0, 0, -1
    start, record_first = 0, True
    try:
        with contextlib.ExitStack() as stack:
            if learning is not None:  # RLS holds Ctrl-C back at every step: cheaply inside a guard
                stack.enter_context(guard())
            if k.deferred:  # the traces as the kernel's p_decay and p_gain make them
                stack.enter_context(learning.rls.deferred(shared_out=(k.w_src_ext, k.col_start),
                                                          traces=(1.0 - net.dt / a.pl.tau, 1.0 / a.pl.tau)))
            for s in pauses:
                status, step, n_spikes, neuron = _kernel(net, a, k, rng, start, s, record_first, n_spikes)
                if status != OK:
                    break
                start, record_first = s, True  # the kernel records t_s itself, unless RLS comes first
                if s not in learn_at:
                    continue
                bad = _learning_step(net, a, k, rng, learning, s, learn_at[s])
                if bad >= 0:
                    status, step, neuron = NONFINITE, s, a.pl.rows[bad]
                    break
                record_first = False
            if status == OK:
                status, step, n_spikes, neuron = _kernel(net, a, k, rng, start, a.n_steps, record_first,
                                                         n_spikes)
    finally:
        if learning is not None:  # keep what was learned, even if the run stopped
            a.pl.w[...] = learning.rls.w
    return status, step, n_spikes, neuron


def _learning_step(net: LIFNetwork, a: SimpleNamespace, k: SimpleNamespace, rng, learning, s: int,
                   j: int) -> int:
    """The ``j``-th RLS step, at step ``s`` (the state at ``t_s`` recorded first if it is on the grid).
    Returns the index of the first row with a non-finite error, or -1."""
    pl, rls, x, u = a.pl, learning.rls, k.x, k.u
    added, on, off = segment_input(a.stim, a.stim_on, a.stim_off, a.packed, s)
    if s % a.rec_every == 0:  # the state at t_s is recorded before the update
        row = s // a.rec_every
        if a.total_only:
            record_total(row, a.rec_idx, net.mu, added, on <= s < off, x, u, k.total_rec)
        else:
            record_state(row, a.rec_idx, k.v, x, u, k.v_rec, k.cur_rec)
        if k.split_rec.shape[0] > 0:
            record_split(row, a.rec_idx, k.split_row, pl.presyn, k.w, k.r, k.col_group, k.split_rec)
    learning_inputs(pl.rows, net.mu, added, on <= s < off, x, a.error_noise, rng, k.other)
    ext_ptr, ext_src = a.ext_ptr, a.ext_src
    if k.deferred and ext_ptr.shape[0] == 0:
        rls.step_deferred(k.r, a.targets[j], k.other, ext_src[:0], k.u_rows)
    elif k.deferred:  # with the external spikes until the step after next (see step_deferred)
        nxt, after = k.learn_next[j], k.learn_next[min(j + 1, k.learn_next.shape[0] - 1)]
        rls.step_deferred(k.r, a.targets[j], k.other, ext_src[ext_ptr[s]:ext_ptr[nxt]], k.u_rows,
                          soon_steps=ext_ptr[s:nxt + 1], next_soon=ext_src[ext_ptr[nxt]:ext_ptr[after]])
    else:
        rls.step(k.r, a.targets[j], k.other)
    # the errors kept, checked, and (deferred) u = w r with the new weights, from RLS: in one
    # compiled call that holds the GIL, so that the pool's thread, just handed the rest of the
    # step, takes it only when the kernel lets it go (NumPy lets it go in the middle)
    bad = after_rls_step(rls.err, k.errors[j], k.u_rows, pl.rows, u)
    if bad < 0 and not k.deferred:
        learning.clip(k.w)  # only with bounds (sign-constrained training): not exact RLS
        plastic_input(pl.rows, pl.presyn, k.w, k.r, u)  # u = w r with the new weights
    return bad


# ---------------------------------------------------------------------------
# backend="numpy": the core's plain run, with dense matrices


def _simulate_plain(net: LIFNetwork, a: SimpleNamespace, rng, learning, model: NeuronModel) -> Run:
    """:func:`simulate` with ``backend="numpy"``: :func:`tutorial_lib.core.lif.run_network` on dense weights.

    The random numbers are drawn in the kernel's order (``v0`` first if not given, then per step the
    error noise of a learning step and one normal per neuron when ``net.noise > 0``), so for the LIF
    the spikes are the kernel's. :class:`~tutorial_lib.checks.MemoryEstimateError` if the dense
    matrices would not fit in memory.
    """
    N, dt, pl, C = net.N, net.dt, net.plastic, len(net.static)
    check_sizes([("the dense weight matrices", (C + 1) * N * N * 8.0, ["net"])])
    if pl is not None and pl.n_sources != N:
        raise ValueError("backend='numpy' takes no external spike sources (n_sources must equal N): use "
                         "backend='numba'")
    J = np.array([ch.dense() for ch in net.static]).reshape(C, N, N)
    Wp = np.zeros((N, N))  # plastic weights from the network's neurons
    if pl is not None:
        Wp[pl.rows[:, None], pl.presyn] = learning.rls.w if learning is not None else pl.w
    v = rng.uniform(0.0, 1.0, N) if a.v0 is None else np.array(a.v0, dtype=np.float64)
    errors = []
    try:
        out = run_network(model, model.init(v), net.mu, J, [ch.tau for ch in net.static], Wp,
                          net.tau_m if pl is None else pl.tau, a.n_steps, dt, noise=net.noise, rng=rng,
                          inputs=_plain_inputs(net, a),
                          learn=_plain_learning(net, a, rng, learning, Wp, errors),
                          delivered=_plain_replay(net, a), every=a.rec_every, max_spikes=a.max_spikes)
    finally:
        if learning is not None:
            pl.w[...] = learning.rls.w
    if out["stopped"] is not None:
        kind, step, neuron = out["stopped"]
        status = NONFINITE if kind == "nonfinite" else TOO_MANY_SPIKES
        raise _divergence(status, step, out["spike_steps"].size, neuron, dt, N, a.T, a.max_rate,
                          learning is not None)
    out["v_end"] = np.asarray(model.voltage(out["state"]))
    return _plain_run(net, a, out, None if learning is None else np.array(errors).reshape(-1, pl.rows.size))


def _plain_inputs(net: LIFNetwork, a: SimpleNamespace):
    """``inputs(n)``: ``mu``, plus the stimulus in its window, plus each active perturbation's current."""
    def inputs(n):
        external = net.mu + (a.stim if a.stim_on <= n < a.stim_off else 0.0)
        for n_on, n_off, idx, cur in a.packed:  # each active perturbation's current, in their order
            if n_on <= n < n_off:
                added = np.zeros(net.N)
                np.add.at(added, idx, cur)
                external = external + added
        return external
    return inputs


def _plain_learning(net: LIFNetwork, a: SimpleNamespace, rng, learning, Wp, errors):
    """``learn(n, r, other)``: one RLS update of every plastic row (``learning.rls.update``) at a
    learning step, from the state at ``t_n``; returns the new dense weights (None between)."""
    if learning is None:
        return None
    learn_at = {int(s): j for j, s in enumerate(a.learn_steps)}
    rows, presyn = net.plastic.rows, net.plastic.presyn

    def learn(n, r, other):
        if n not in learn_at:
            return None
        o = other[rows]
        if a.error_noise > 0:
            o = o + a.error_noise * rng.standard_normal(rows.size)
        errors.append(learning.rls.update(r, a.targets[learn_at[n]], o))
        learning.clip(learning.rls.w)
        Wp[rows[:, None], presyn] = learning.rls.w
        return Wp
    return learn


def _plain_replay(net: LIFNetwork, a: SimpleNamespace):
    """``delivered(n, s)``: the spikes each channel and the plastic synapses receive (None: no replay)."""
    rp_ptr, rp_src, rp_static, rp_plastic = a.rp
    if rp_ptr.shape[0] == 0:
        return None
    which = np.append(rp_static, 1 if rp_plastic else 0).astype(bool)

    def delivered(n, s):
        s_replay = np.bincount(rp_src[rp_ptr[n]:rp_ptr[n + 1]], minlength=net.N).astype(np.float64)
        return np.where(which[:, None], s_replay, s)
    return delivered


def _plain_run(net: LIFNetwork, a: SimpleNamespace, out: dict, errors) -> Run:
    """The :class:`Run` of a plain run: the record of the neurons ``record``."""
    idx = a.rec_idx
    v, cur, ext = (np.array(out[key])[..., idx] for key in ("v", "currents", "external"))
    run = Run(t=np.arange(a.n_rec) * a.rec_every * net.dt, v=v, currents=cur, external=ext,
              channels=net.channel_names, recorded=idx, spike_steps=out["spike_steps"],
              spike_neurons=out["spike_neurons"], dt=net.dt, duration=a.T, N=net.N,
              v_end=out["v_end"], errors=errors)
    if a.total_only:
        run.total, run.v, run.currents, run.external = run.total_input, None, None, None
    return run


def column_starts(pl: PlasticSynapses, rls) -> np.ndarray:
    """Where each shared input's weights start in the index by source, for the deferred RLS steps:
    ``col_start[c]`` with weight ``c`` of row ``i`` at ``col_start[c] + i`` (a shared input reaches
    every row, and the index lists a source's rows in order: :func:`_source_index`)."""
    col_start = pl.out_ptr[rls.shared]
    # checked: the kernel reads these very positions
    c = first_out_of_order(pl.out_ptr, pl.out_row, pl.out_col, np.asarray(rls.shared, dtype=np.int64),
                            rls.private.shape[1], pl.presyn.shape[0])
    if c >= 0:
        raise ValueError(f"shared input {c} does not reach every plastic row in order")
    return col_start


def _check_groups(plastic_groups, net: LIFNetwork) -> int:
    """The number of groups of ``plastic_groups`` (0 for None), checked: ``(names, group)`` with distinct
    text ``names`` and ``group`` one whole number in ``[0, len(names))`` per plastic source."""
    if plastic_groups is None:
        return 0
    if isinstance(plastic_groups, (str, bytes, dict)) or not hasattr(plastic_groups, "__len__") \
            or len(plastic_groups) != 2:
        raise TypeError(f"plastic_groups must be a pair (names, group) (got {shown(plastic_groups)})")
    names, group = plastic_groups
    if isinstance(names, (str, bytes)) or not hasattr(names, "__iter__"):
        raise TypeError(f"plastic_groups names must be a sequence of names (got {shown(names)})")
    names = tuple(names)
    if not names or not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ValueError(f"plastic_groups names must be distinct non-empty texts (got {shown(names)})")
    n_sources = net.N if net.plastic is None else net.plastic.n_sources
    group = check_indices("plastic_groups group", group, len(names) - 1, what="source groups")
    if group.shape != (n_sources,):
        raise ValueError(f"plastic_groups must be (names, group) with group one index in "
                         f"[0, {len(names) - 1}] per plastic source ({n_sources}; got {group.shape[0]})")
    return len(names)


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
    group = check_indices("plastic_groups group", group, len(names) - 1, what="source groups")
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
    edges = [0] + sorted(switch_steps(packed, stim_on, stim_off, n_steps)) + [n_steps]
    for a, b in zip(edges[:-1], edges[1:]):  # segments with a perturbation: mu + what the kernel added
        added, on_, off_ = segment_input(stim, stim_on, stim_off, packed, a)
        if added is not stim:
            ext[-(-a // rec_every):-(-b // rec_every)] = net.mu[rec_idx] + added[rec_idx]
    return Run(
        t=t, v=v_rec, currents=cur_rec, external=ext, channels=net.channel_names, recorded=rec_idx,
        spike_steps=spike_step.copy(), spike_neurons=spike_idx.copy(), dt=dt,
        duration=float(T), N=net.N, v_end=v_end, errors=errors,
    )


# ---------------------------------------------------------------------------
# The demos of Part 2
