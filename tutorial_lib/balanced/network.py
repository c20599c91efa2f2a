r"""Part 3, stage 4: the network to train, built from the stages before (:func:`build_network`).

:class:`BalancedNetwork` holds the static network, the trained neurons and their plastic inputs
and weights, the targets, the stimulus and the feed-forward rates of each condition;
:func:`build_network` makes one: static network, static run, selection and matching, plastic
synapses, task inputs.
"""

from __future__ import annotations

import copy as _copy
import math
from dataclasses import dataclass, field

import numpy as np

from ..data import CONDITIONS, ALMData, load_alm
from ..params import BalancedParams
from ..checks import check_memory, check_type
from ..engine.lif_data import LIFNetwork, PlasticSynapses
from .perturbation import base_populations, resolve_named
from .plastic import (FFWD_GRID_MS, choose_plastic_inputs, condition_ffwd_rates, initial_plastic_weights,
                      plastic_weight_ratio)
from .static import StaticNetwork, StaticRun, simulate_static, static_network
from .streams import PLASTIC, TASK
from .targets import match_rates, select_alm, window_targets
from ..messages import wrap_line

__all__ = [
    "N_EXAMPLES",
    "BalancedNetwork",
    "build_network",
    "populations",
    "resolve_perturbations",
    "network_of",
]


N_EXAMPLES = 20  # untrained E and I neurons recorded besides the trained ones


@dataclass
class BalancedNetwork:
    """A balanced network and its task: static synapses, trained neurons, plastic weights, targets.

    Built by :func:`build_network`; ``w`` changes as the network is trained.

    ``trained[k]`` is the model E neuron trained on the ALM neuron
    ``alm.neuron_ids[k]`` (column ``k`` of ``alm`` and of ``targets``), in the
    order of the rate matching (highest ALM rate first). ``presyn[k]`` are its
    plastic inputs: ``L`` trained E neurons, ``L`` I neurons, then (with
    ``ffwd``) the feedforward neurons, numbered ``N .. N + n_ffwd - 1``.
    ``targets[c]`` (learning steps, trained neurons) is the target input at
    ``params.learn_times``. ``stimulus[c]`` (N,) and ``ffwd_rates[c]``
    (1 ms bins of the training window, n_ffwd) are fixed per condition (the same for both with
    ``params.ffwd_condition="none"``). ``static_rates`` are the
    rates of the static run used for the matching; ``examples`` a few untrained
    E and I neurons recorded in every trial.
    """

    params: BalancedParams
    static: StaticNetwork
    static_rates: np.ndarray
    alm: ALMData
    targets: dict
    trained: np.ndarray
    presyn: np.ndarray
    w: np.ndarray
    w0: np.ndarray
    stimulus: dict
    ffwd_rates: dict | None
    examples: np.ndarray
    static_run: StaticRun | None = field(default=None, repr=False, compare=False)

    @property
    def n_trained(self) -> int:
        return self.trained.shape[0]

    @property
    def recorded(self) -> np.ndarray:
        """Neurons whose inputs every trial records: the trained ones (in order), then ``examples``."""
        return np.concatenate([self.trained, self.examples])

    @property
    def inh_weight_ratio(self) -> float:
        """The ratio used for the initial I plastic weights (see :func:`plastic_weight_ratio`)."""
        p = self.params
        return float(self.w0[0, p.L] / (-p.ji * math.sqrt(p.K) / p.wpscale))

    @property
    def dw(self) -> np.ndarray:
        """The plastic weight change ``w - w0``."""
        return self.w - self.w0

    def copy(self) -> "BalancedNetwork":
        """A copy whose weights can be trained independently (the static parts are shared)."""
        new = _copy.copy(self)
        new.w = self.w.copy()
        new.static_run = None
        return new

    def lif(self) -> LIFNetwork:
        """The network in the engine's terms: two static channels and the plastic rows."""
        p = self.params
        n_sources = p.N + (p.n_ffwd if p.ffwd else 0)
        plastic = PlasticSynapses(p.tau_plastic, rows=self.trained, presyn=self.full_presyn, w=self.w,
                                  n_sources=n_sources)
        return self.static.lif(plastic)

    @property
    def full_presyn(self) -> np.ndarray:
        """(R, m) sources of every plastic row, the feedforward ones included (the RLS layout)."""
        p = self.params
        if not p.ffwd:
            return self.presyn
        ffwd = np.broadcast_to(p.N + np.arange(p.n_ffwd), (self.n_trained, p.n_ffwd))
        return np.hstack([self.presyn, ffwd])

    def ffwd_spikes(self, condition: str, rng: np.random.Generator):
        """``(times, sources)`` of one realisation of the Poisson feedforward spikes, or None without ffwd.

        In each step of the training window, feedforward neuron ``a`` spikes
        with probability ``rate_a(t) dt``; a spike in step ``n`` enters the traces
        at ``(n + 1) dt`` like a network spike.
        """
        p = self.params
        if not p.ffwd:
            return None
        rates = self.ffwd_rates[condition]
        prob_of = rates * (p.dt / 1000.0)  # the spike probability in one step, per grid point
        nf = rates.shape[1]
        n0, n1 = round(p.stim_off / p.dt), round(p.t_end / p.dt)
        times, sources = [], []
        chunk = 2000
        draws = np.empty((chunk, nf))
        for s in range(n0, n1, chunk):
            steps = np.arange(s, min(s + chunk, n1))
            k = np.minimum(((steps - n0) * p.dt + 1e-9) // FFWD_GRID_MS, rates.shape[0] - 1).astype(np.int64)
            u = draws[:steps.size]
            rng.random(out=u)
            # the steps come in runs on one grid point; runs of equal length (the rule) are compared
            # with their row of probabilities by broadcasting, without a (steps, nf) copy of them
            bounds = np.concatenate([[0], np.flatnonzero(np.diff(k)) + 1, [steps.size]])
            runs = np.diff(bounds)
            if np.all(runs == runs[0]):
                hit = np.flatnonzero(u.reshape(runs.size, runs[0], nf) < prob_of[k[bounds[:-1]], None, :])
            else:
                hit = np.flatnonzero(u < prob_of[k])
            n, a = np.divmod(hit, nf)
            times.append((steps[n] + 1) * p.dt)
            sources.append(p.N + a)
        return np.concatenate(times), np.concatenate(sources)


def build_network(params: BalancedParams | None = None, data: ALMData | None = None, *,
                  progress: bool = False) -> BalancedNetwork:
    """Build the static network, simulate it once, match ALM neurons to E neurons, add plastic synapses.

    ``data``: the ALM recordings (default :func:`~tutorial_lib.data.load_alm` with
    the synthetic fallback). Raises ValueError, naming the parameter, if the
    data and parameters do not fit (more trained neurons than ALM or E neurons,
    a training window longer than the recordings, ...) or if the network would
    not fit in memory (:class:`~tutorial_lib.checks.MemoryEstimateError`), and
    TypeError for arguments of the wrong class; all before anything is built.
    """
    p = BalancedParams() if check_type("params", params, BalancedParams, allow_none=True) is None else params
    check_type("data", data, ALMData, allow_none=True)
    check_memory(p)  # before loading anything; again below with the data's number of neurons
    data = load_alm(fallback="synthetic") if data is None else data
    for c in CONDITIONS:  # fail before the expensive steps
        if c not in data.rates:
            raise ValueError(f"data must hold the conditions {CONDITIONS} (missing {c!r})")
    targets_all = window_targets(p, data)
    alm_idx = select_alm(p, data, targets_all)
    check_memory(p, n_trained=alm_idx.shape[0])

    def say(msg):
        if progress:
            print(wrap_line(msg), flush=True)

    say(f"Drawing the static network: {p.N} neurons, each projecting to {p.out_degree} others ...")
    static = static_network(p)
    say("Simulating it once, to measure each neuron's rate ...")
    srun = simulate_static(static)
    say(f"  mean rates {srun.rate_e:.2f} Hz (E), {srun.rate_i:.2f} Hz (I) in {srun.seconds:.1f} s")
    alm_rate = np.mean([data.rates[c][:, alm_idx].mean(axis=0) for c in CONDITIONS], axis=0)
    order, matched = match_rates(alm_rate, srun.rates[: p.Ne])
    alm_cols = alm_idx[order]
    trained = matched
    alm = data.subset(alm_cols)
    targets = {c: np.ascontiguousarray(targets_all[c][:, alm_cols]) for c in CONDITIONS}
    rng = np.random.default_rng([p.seed, PLASTIC])
    presyn = choose_plastic_inputs(rng, trained, p.Ne, p.Ni, p.L)
    ratio = plastic_weight_ratio(p, srun.rates, trained)
    w0 = initial_plastic_weights(p, trained.shape[0], ratio)
    task = np.random.default_rng([p.seed, TASK])
    stimulus = {c: task.uniform(-p.stim_amplitude, p.stim_amplitude, size=p.N) for c in CONDITIONS}
    ffwd = condition_ffwd_rates(p, task) if p.ffwd else None  # as p.ffwd_condition says
    untrained_e = np.setdiff1d(np.arange(p.Ne), trained)
    n_ex_e, n_ex_i = min(N_EXAMPLES, untrained_e.size), min(N_EXAMPLES, p.Ni)
    examples = np.concatenate([np.sort(task.choice(untrained_e, n_ex_e, replace=False)),
                               p.Ne + np.sort(task.choice(p.Ni, n_ex_i, replace=False))]).astype(np.int64)
    say(f"Training {trained.shape[0]} E neurons ({100 * trained.shape[0] / p.Ne:.0f} % of E) on {data.label} "
        f"neurons; initial plastic weights {p.wp_exc:.3f} (E), {p.wp_inh(ratio):.3f} (I).")
    return BalancedNetwork(p, static, srun.rates, alm, targets, trained, presyn, w0.copy(), w0, stimulus,
                           ffwd, examples, srun)


def populations(net: BalancedNetwork | StaticNetwork) -> dict:
    """Named sets of neurons, for perturbations and recording: a dict of sorted index arrays.

    ``"all"``, ``"E"`` (``0 .. Ne-1``) and ``"I"`` (``Ne .. N-1``) for any network; for a
    :class:`BalancedNetwork` also ``"trained"`` (in the order of ``net.trained``, the columns of
    the targets, not sorted) and ``"untrained E"``. Raises TypeError for another object.
    """
    check_type("net", net, (BalancedNetwork, StaticNetwork))
    p = net.params
    pops = base_populations(p.N, p.Ne)
    if isinstance(net, BalancedNetwork):
        pops["trained"] = net.trained.copy()
        pops["untrained E"] = np.setdiff1d(np.arange(p.Ne), net.trained)
    return pops


def resolve_perturbations(net: BalancedNetwork, perturbations) -> list:
    """``perturbations`` (None, one :class:`~tutorial_lib.engine.lif_data.Perturbation` or a sequence) as a list
    with indices only, for ``net`` (pass ``result.network`` for a TrainResult).

    Population names are those of :func:`populations` (``"trained"`` and ``"untrained E"`` too); the
    checks are :func:`~tutorial_lib.balanced.perturbation.resolve_named`'s. Raises TypeError for a
    ``net`` that is not a BalancedNetwork or an entry that is not a Perturbation, ValueError naming the
    field (unknown population, index out of range, a time off the grid), before any simulation.
    """
    check_type("net", net, BalancedNetwork)
    return resolve_named(perturbations, populations(net), net.params.dt)


def network_of(net) -> BalancedNetwork:
    """``net`` if it is a :class:`BalancedNetwork`, else the BalancedNetwork in its ``network`` attribute
    (a :class:`~tutorial_lib.balanced.TrainResult`, as notebook 04 passes to the Part 4 analyses).

    Read by attribute, so that the analyses (:mod:`.weights`, :mod:`.timing`) need not import the
    training module above them. Raises TypeError naming ``net`` for anything else.
    """
    net = getattr(net, "network", net)  # a BalancedNetwork has no attribute network
    check_type("net", net, BalancedNetwork)
    return net
