"""The network and what a run is handed besides it, packed for the kernel: the static channels, and
perturbations, replays and external spikes indexed by step, and where the added input changes.

Each function checks its argument against the network (TypeError / ValueError naming it) and returns
plain arrays (:func:`tutorial_lib.engine.simulate.simulate` and the Part 3 model use them).

>>> pack_perturbations(Perturbation([0, 1], 0.5, 1.0, 2.0), N=2, dt=0.1, n_steps=100)
[(10, 20, array([0, 1]), 0.5)]
"""

from __future__ import annotations

import numpy as np

from .lif_checks import check_indices, check_times, shown, step_of
from .lif_data import LIFNetwork, Perturbation, Replay
from .lif_kernel import jumps_by_post

__all__ = ["pack_static", "check_replay", "index_replay", "perturbation_list", "pack_perturbations", "segment_input", "index_external",
           "switch_steps"]


def check_replay(replay, names: tuple, N: int, dt: float | None = None) -> "Replay":
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
    check_indices("replay.neurons", replay.neurons, N - 1)
    if dt is not None and replay.times.size:
        with np.errstate(over="ignore", invalid="ignore"):  # a huge time: a spike long after any run
            label = replay.times / dt
            k = np.rint(label)
            off_grid = np.abs(label - k) > 1e-6 * np.maximum(1.0, k)
        if np.any(off_grid):
            raise ValueError(f"replay.times must be multiples of dt = {dt:g} ms")
    return replay


def index_replay(replay, net: "LIFNetwork", n_steps: int):
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
    replay = check_replay(replay, net.channel_names, net.N, dt)  # also the times on the dt grid
    with np.errstate(over="ignore"):  # a huge time: a spike long after the run (inf, dropped)
        k = np.rint(replay.times / dt)  # (k - 1) the step, in float: exact below 2**53, never wrapped
    inside = k <= n_steps
    steps, src = k[inside].astype(np.int64) - 1, replay.neurons[inside]
    order = np.argsort(steps, kind="stable")
    rp_ptr = np.zeros(n_steps + 1, dtype=np.int64)
    np.cumsum(np.bincount(steps, minlength=n_steps), out=rp_ptr[1:])
    rp_static = np.array([1 if ch.name in replay.channels else 0 for ch in net.static], dtype=np.int8)
    return rp_ptr, np.ascontiguousarray(src[order]), rp_static, "plastic" in replay.channels


def perturbation_list(perturbations) -> list:
    """``perturbations`` (None, one :class:`Perturbation` or an iterable of them) as a new list, read once.

    Every function that takes perturbations starts here, so a generator is read once and the same
    entries reach every later check and the run. Raises TypeError naming ``perturbations`` (a string,
    bytes, a dict or a number) or the entry ``perturbations[k]`` that is not a Perturbation.
    """
    if perturbations is None:
        return []
    if isinstance(perturbations, Perturbation):
        return [perturbations]
    if isinstance(perturbations, (str, bytes, dict)) or not hasattr(perturbations, "__iter__"):
        raise TypeError(f"perturbations must be a Perturbation or a sequence of them "
                        f"(got {type(perturbations).__name__})")
    out = list(perturbations)
    for k, pert in enumerate(out):
        if not isinstance(pert, Perturbation):
            raise TypeError(f"perturbations[{k}] must be a Perturbation (got {type(pert).__name__})")
    return out


def pack_perturbations(perturbations, N: int, dt: float, n_steps: int) -> list:
    """The perturbations as ``(on, off, neurons, current)`` in steps, checked against the network.

    ``on <= n < off`` are the steps in which each acts (``off`` cut at ``n_steps``: a ``stop``, or a
    ``start``, at or after the end of the run, however far, is the end). Raises TypeError / ValueError
    (naming the field) for a population name, indices beyond ``N - 1``, times off the dt grid, or a
    field changed since the Perturbation was made (each is checked again here).
    """
    packed = []
    for k, pert in enumerate(perturbation_list(perturbations)):
        if isinstance(pert.neurons, str):
            raise ValueError(f"perturbations[{k}].neurons is the population name {pert.neurons!r}: the engine "
                             "takes neuron indices (resolve names with Perturbation.resolve)")
        try:  # again: a Perturbation is a plain dataclass, its fields may have been set since
            pert = Perturbation(pert.neurons, pert.current, pert.start, pert.stop)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"perturbations[{k}].{exc}") from None
        idx = check_indices(f"perturbations[{k}].neurons", pert.neurons, N - 1)
        on = step_of(f"perturbations[{k}].start", pert.start, dt, n_steps)
        off = step_of(f"perturbations[{k}].stop", pert.stop, dt, n_steps)
        packed.append((on, off, idx, pert.current))
    return packed


def segment_input(stim, stim_on: int, stim_off: int, packed: list, n: int):
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


def index_external(external, dt: float, N: int, n_sources: int, n_steps: int):
    """External spikes ``(times, sources)`` by step: ``(ext_ptr, ext_src)`` (empty arrays for none).

    ``times`` finite positive multiples of dt (ms; spikes after the run are left out), ``sources``
    whole numbers in ``[N, n_sources - 1]``, checked before any conversion. Raises TypeError /
    ValueError naming ``external``.
    """
    if external is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if isinstance(external, (str, bytes, dict)) or not hasattr(external, "__len__") or len(external) != 2:
        raise TypeError(f"external must be a pair (times, sources) of 1-D arrays (got {shown(external)})")
    times = check_times("external times", external[0], what="spike times of the external sources, ms")
    sources = check_indices("external sources", external[1], n_sources - 1, lo=N,
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


def switch_steps(packed: list, stim_on: int, stim_off: int, n_steps: int) -> set:
    """Steps inside the run where the input that :func:`segment_input` adds changes (none without
    perturbations): each perturbation's start and stop, and the stimulus' switches."""
    if not packed:
        return set()
    steps = {stim_on, stim_off}
    for on, off, _, _ in packed:
        steps |= {on, off}
    return {s for s in steps if 0 < s < n_steps}


def pack_static(net: LIFNetwork):
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
    N, C = net.N, len(net.static)
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
        if not jumps_by_post(ch.post, ch.w, 1.0 / ch.tau, by_post[c], seen):
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
