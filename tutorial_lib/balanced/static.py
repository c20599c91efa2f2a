r"""Part 3, stage 1: the static balanced network, its balance equations and one run of it.

``N`` LIF neurons, ``Ne`` excitatory then ``Ni`` inhibitory; each projects to ``N K / Ne`` others
drawn uniformly without replacement; strong weights ``J ~ 1/sqrt(K)`` and a strong constant input
``mu ~ sqrt(K)`` (SPEC, Part 3). :func:`balance_rates` solves the balance equations (the rates at
which the large E and I inputs cancel, ``K -> infinity``); :func:`simulate_static` runs the finite
network once and measures every neuron's rate.

References
----------
* van Vreeswijk C, Sompolinsky H (1996) Chaos in neuronal networks with balanced excitatory and
  inhibitory activity. Science 274:1724-1726. doi:10.1126/science.274.5293.1724
* Brunel N (2000) Dynamics of sparsely connected networks of excitatory and inhibitory spiking
  neurons. J Comput Neurosci 8:183-208. doi:10.1023/A:1008925309027
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..params import BalancedParams
from ..checks import MAX_STEPS, check_grid, check_int, check_real, check_type
from ..core.balance import balance_rates
from ..engine.lif_data import LIFNetwork, PlasticSynapses, Run, Synapses
from ..engine.simulate import simulate
from ..errors import DivergenceError
from .advice import advice
from .perturbation import base_populations, resolve_named
from .streams import CONNECT, STATIC

__all__ = [
    "SETTLE_MS",
    "StaticNetwork",
    "StaticRun",
    "static_network",
    "simulate_static",
]


SETTLE_MS = 200.0  # onset transient skipped by the static run's statistics


def _fixed_out_degree(rng: np.random.Generator, N: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """``(pre, post)``: every neuron ``j`` projects to ``d`` distinct others, uniformly, no autapses."""
    pre = np.repeat(np.arange(N, dtype=np.int64), d)
    post = np.empty(N * d, dtype=np.int64)
    for j in range(N):
        t = rng.choice(N - 1, size=d, replace=False)
        t[t >= j] += 1  # skip j itself
        t.sort()
        post[j * d:(j + 1) * d] = t
    return pre, post


@dataclass
class StaticNetwork:
    """The untrained balanced network: two static channels (E and I presynaptic neurons) and ``mu``.

    ``exc`` / ``inh`` hold the synapses from excitatory / inhibitory neurons,
    by presynaptic neuron (CSR), each filtered with ``tau_syn``.
    """

    params: BalancedParams
    exc: Synapses
    inh: Synapses
    mu: np.ndarray

    def lif(self, plastic: PlasticSynapses | None = None) -> LIFNetwork:
        p = self.params
        return LIFNetwork(mu=self.mu, tau_m=p.tau_m, dt=p.dt, noise=0.0, static=(self.exc, self.inh),
                          plastic=plastic)

    @property
    def in_degree(self) -> np.ndarray:
        """(N, 2) number of E and of I inputs of every neuron."""
        N = self.params.N
        return np.stack([np.bincount(self.exc.post, minlength=N), np.bincount(self.inh.post, minlength=N)], 1)


def static_network(params: BalancedParams | None = None,
                   rng: np.random.Generator | None = None) -> StaticNetwork:
    """Draw the fixed out-degree connectivity and the strong weights (SPEC, Part 3)."""
    p = BalancedParams() if params is None else params
    rng = np.random.default_rng([p.seed, CONNECT]) if rng is None else rng
    N, Ne = p.N, p.Ne
    pre, post = _fixed_out_degree(rng, N, p.out_degree)
    w = p.weights
    post_exc = post < Ne
    weight = np.where(pre < Ne, np.where(post_exc, w["EE"], w["IE"]), np.where(post_exc, w["EI"], w["II"]))
    e = pre < Ne
    exc = Synapses.from_pairs(pre[e], post[e], weight[e], N, p.tau_syn, name="excitatory")
    inh = Synapses.from_pairs(pre[~e], post[~e], weight[~e], N, p.tau_syn, name="inhibitory")
    mu = np.where(np.arange(N) < Ne, p.mu_e, p.mu_i)
    return StaticNetwork(p, exc, inh, mu)


@dataclass
class StaticRun:
    """One run of the static network: rates of all neurons, mean inputs of a recorded sample.

    Statistics are over ``[SETTLE_MS, T)`` (the onset transient skipped).
    ``recorded`` are the sampled neurons (half E, half I); ``mean_exc``,
    ``mean_inh`` their time-averaged E and I synaptic currents and ``mu`` their
    constant input; ``run`` the engine's record (inputs every 1 ms).
    """

    params: BalancedParams
    rates: np.ndarray
    recorded: np.ndarray
    mean_exc: np.ndarray
    mean_inh: np.ndarray
    mu: np.ndarray
    run: Run
    seconds: float

    @property
    def rate_e(self) -> float:
        """Mean rate of the E population, Hz."""
        return float(self.rates[: self.params.Ne].mean())

    @property
    def rate_i(self) -> float:
        """Mean rate of the I population, Hz."""
        return float(self.rates[self.params.Ne:].mean())

    @property
    def prediction(self) -> np.ndarray:
        """The balance equations' ``[r_E, r_I]`` (Hz) for ``K -> infinity``."""
        return balance_rates(self.params)

    def mean_inputs(self, population: str = "E") -> dict:
        """Population means of the input terms of the recorded neurons of ``"E"`` or ``"I"``.

        Keys ``mu``, ``exc``, ``inh`` (each of order sqrt(K)) and ``net``
        (``mu + exc + inh``, of order 1: the cancellation).
        """
        is_e = self.recorded < self.params.Ne
        sel = is_e if population == "E" else ~is_e
        mu, ex, ih = (float(a[sel].mean()) for a in (self.mu, self.mean_exc, self.mean_inh))
        return {"mu": mu, "exc": ex, "inh": ih, "net": mu + ex + ih}


def simulate_static(net: StaticNetwork, T: float | None = None, *, rng: np.random.Generator | None = None,
                    n_record: int = 100, record_every: float = 1.0, perturbations=None) -> StaticRun:
    """Simulate the untrained network for ``T`` ms (default the trial length, 3 s) without stimulus.

    Records the inputs of ``n_record`` E and ``n_record`` I neurons (a random
    sample) every ``record_every`` ms; rates are counted for all neurons.
    ``perturbations``: a :class:`~tutorial_lib.engine.lif_data.Perturbation` or a list of them (neuron
    indices or the populations ``"E"``, ``"I"``, ``"all"``), added to ``mu`` in their windows;
    ``run.external`` holds them.

    Raises
    ------
    TypeError
        ``net`` not a StaticNetwork, ``rng`` not a numpy Generator, a perturbation that is not a
        Perturbation.
    ValueError
        Naming the argument or field, before anything is allocated or run: ``T`` not a finite
        multiple of dt in ``(SETTLE_MS, MAX_STEPS dt]`` (a longer run would take days; NaN, inf,
        1e308 and text are refused), ``n_record`` not a whole number >= 1 (more than a population
        holds records all of it), ``record_every`` not a positive multiple of dt, a bad perturbation;
        :class:`~tutorial_lib.checks.MemoryEstimateError` if the record would not fit in memory.
    DivergenceError
        ``phase="static"``, with :func:`advice`, if the activity runs away.
    """
    check_type("net", net, StaticNetwork)
    check_type("rng", rng, np.random.Generator, allow_none=True)
    p = net.params
    if T is None:
        T = p.t_end
    T = check_real("T", T, lo=SETTLE_MS, lo_open=True, hi=MAX_STEPS * p.dt,
                   what=f"length of the static run, ms; longer than the skipped onset {SETTLE_MS:g} ms "
                        f"and at most {MAX_STEPS:.0e} steps of dt = {p.dt:g} ms (a longer run would take "
                        "days)")
    check_grid("T", T, p.dt)
    n_record = check_int("n_record", n_record, lo=1, what="recorded E neurons and I neurons")
    record_every = check_real("record_every", record_every, lo=0, lo_open=True, hi=T,
                              what="recording interval, ms; at most T")
    perturbations = resolve_named(perturbations, base_populations(p.N, p.Ne), p.dt)
    rng = np.random.default_rng([p.seed, STATIC]) if rng is None else rng
    pick = np.random.default_rng([p.seed, STATIC, 1])
    n_e, n_i = min(n_record, p.Ne), min(n_record, p.Ni)
    record = np.sort(np.concatenate([pick.choice(p.Ne, n_e, replace=False),
                                     p.Ne + pick.choice(p.Ni, n_i, replace=False)]))
    t0 = time.perf_counter()
    try:
        run = simulate(net.lif(), T, rng=rng, record=record, record_every=record_every, max_rate=p.max_rate,
                       perturbations=perturbations)
    except DivergenceError as err:
        err.annotate(phase="static", params=p)
        raise err.annotate(advice=advice(err))
    seconds = time.perf_counter() - t0
    late = run.spike_times > SETTLE_MS
    rates = np.bincount(run.spike_neurons[late], minlength=p.N) / ((T - SETTLE_MS) / 1000.0)
    keep = run.t >= SETTLE_MS
    cur = run.currents[keep]
    return StaticRun(p, rates, record, cur[:, 0].mean(axis=0), cur[:, 1].mean(axis=0), net.mu[record], run,
                     seconds)
