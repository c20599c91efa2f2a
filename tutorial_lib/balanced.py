r"""Part 3: a balanced excitatory-inhibitory LIF network trained to reproduce ALM recordings.

The model (SPEC, Part 3), simulated by :mod:`tutorial_lib.spiking`. ``N``
leaky integrate-and-fire neurons, ``Ne`` excitatory (indices ``0 .. Ne-1``)
and ``Ni`` inhibitory (``Ne .. N-1``):

.. math::

    \tau_m \frac{dv_i}{dt} = -v_i + \mu_i + s_i(t) + x^E_i + x^I_i + u_i,
    \qquad \tau_s \frac{dx^{E,I}_i}{dt} = -x^{E,I}_i + \sum_{j \in E, I} J_{ij} \sum_k \delta(t - t^k_j),

threshold 1, reset 0, no noise: the irregular firing comes from the balanced
dynamics (van Vreeswijk and Sompolinsky 1996; Brunel 2000).

*Static network.* Each neuron projects to ``N K / Ne`` others, drawn uniformly
without replacement (no autapses), so every neuron receives about ``K``
excitatory and ``K Ni / Ne`` inhibitory inputs. The weights are strong,
``J ~ 1/sqrt(K)`` (``je = ji = 2 tau_m g / sqrt(K)``; E->E ``0.15 je``, E->I
``je``, I->E ``-0.75 ji``, I->I ``-ji``), and so is the constant external
input, ``mu ~ sqrt(K)`` (``jx = 0.12 g sqrt(K)``, ``mu_E = 1.5 jx``, ``mu_I = jx``).
The mean E and I inputs are each of order ``sqrt(K)``; for the net input to
stay of order 1 they must cancel to leading order, which fixes the mean rates
through a *linear* equation, whatever the neurons' transfer function
(:func:`balance_rates`): about 7.5 Hz (E) and 13.5 Hz (I) with the SPEC's
numbers. A finite network fires somewhat lower (:func:`simulate_static`).

*Training.* Each recorded ALM neuron is matched to a model E neuron of similar
rate (:func:`match_rates`). That neuron gets plastic synapses on top of the
static ones: ``L`` excitatory inputs from other trained neurons, ``L``
inhibitory inputs from the I population and, optionally, all of ``n_ffwd``
feedforward Poisson neurons whose rates are slow random processes. The plastic
inputs are filtered with ``tau = 150 ms``: :math:`u_i = \sum_a w_{ia} r_a`.
Every 20 ms of the training window (1000 to 3000 ms) recursive least squares
(:func:`make_rls`: :class:`~tutorial_lib.rls.SharedInputRLS` with feedforward
inputs, else :class:`~tutorial_lib.rls.BatchRLS`; run between the engine's kernel calls) moves
:math:`w_i` so that the neuron's total input

.. math:: \mu_i + x^E_i + x^I_i + u_i \quad (\text{+ the stimulus, off in the window})

follows the target input that the ALM neuron's rate implies (``utarg``, or
:func:`~tutorial_lib.transfer.siegert_inverse` of the rate). The penalty matrix is
``lam_rec I + mu_rs (1_E 1_E^T + 1_I 1_I^T)`` on the recurrent block and
``lam_ff I`` on the feedforward block (:func:`penalty_matrix`): the row-sum
term keeps each neuron's summed E and summed I plastic weights near their
initial values, so learning reshapes the inputs without unbalancing the
network. A loop trains lick-right, then lick-left, each from a reset state
with its own stimulus and feedforward realisation.

*Score* (the original's): the lick-right condition without learning; each
trained neuron's total input averaged over +-50 ms windows centred on the
20 ms learning grid; its Pearson correlation with the target; the mean over
neurons. Single trials are noisy, like single recorded trials, so
:meth:`TrainResult.test` also reports the *trial-averaged* score (the same
correlation for the input averaged over several test trials that differ in
their initial voltages and Poisson inputs), the fairer comparison with the
trial-averaged recordings.

Choices where the SPEC is silent (and how the original differs)
---------------------------------------------------------------
* Time alignment: the recordings' time ``tau`` (0 to 2000 ms, every 20 ms) is
  model time ``stim_off + tau``; RLS updates at 1000, 1020, ..., 2980 ms use the
  samples 0 .. 99 (a trial ends at 3000 ms, so the last sample is unused). The
  original updated at 1020, ..., 3000 ms with the same samples, i.e. one learning
  step (20 ms) later.
* Rates for rate matching are counted after the first ``SETTLE_MS`` (200 ms)
  of the static run, skipping the onset transient (the original counted the
  whole run).
* Feedforward weights are one set per neuron shared by both conditions (exact
  RLS with one ``P``). The original kept a separate set per condition that shared
  one ``P``. The OU rate process is sampled every 1 ms (it is smoothed over
  +-50 ms, so a finer grid changes nothing) and started at its mean at stim_off, as
  in the original; the Poisson spikes are drawn afresh in every trial, from the
  fixed rate realisation of the condition.
* "Modulation" (for ``selection="modulated"``): the standard deviation of the
  neuron's target input over the training-window samples of both conditions,
  which counts both temporal modulation and choice selectivity, in the units
  that training and the score use.
* Initial plastic weights: the SPEC's I weight carries the factor 6.5 / 12, the
  E / I rate ratio of the original's initial network, so that a trained neuron's
  plastic E and I inputs cancel. That holds when the trained neurons fire like
  the E population (the original trains 73 % of it). A small, fast subset (the
  lecture's 100 most modulated neurons fire at 11 Hz) would instead excite
  itself through its plastic E synapses; ``inh_weight_ratio=None`` uses the
  measured ratio (their static rate over the I rate) instead.

Cost (2-core laptop, ``dt = 0.1 ms``; ``python -m benchmarks part3-static part3``):
the static SPEC network (5000 neurons, 5 million synapses) simulates 3 s in
about 0.7 s. A training loop at full scale (1824 trained neurons, 340 plastic
inputs each) takes about 8 s: two 3 s trials and 200 RLS updates over a 0.2 GB
state (one ``P`` per neuron would be 1.7 GB and about 7 times slower); 200 loops
take about half an hour, where the original took two hours.
:meth:`BalancedParams.lecture` trains in about 20 s (30 loops).

Getting started::

    >>> from tutorial_lib import BalancedParams
    >>> from tutorial_lib import balanced
    >>> p = BalancedParams.lecture(n_loops=10)          # 100 ALM neurons, ~15 s
    >>> result = balanced.train(p)                      # doctest: +SKIP
    >>> test = result.test(n_trials=5)                  # doctest: +SKIP
    >>> test.score, test.score_avg                      # doctest: +SKIP
    >>> result.save("part3_lecture.npz")                # doctest: +SKIP
    >>> again = balanced.load("part3_lecture.npz")      # doctest: +SKIP
"""

from __future__ import annotations

import copy as _copy
import math
import time
from dataclasses import dataclass, field

import numpy as np

from .data import CONDITIONS, ALMData, load_alm
from .params import (BalancedParams, check_int, check_memory, check_real, check_train_args, check_type,
                     far_from_default)
from .rls import BatchRLS, SharedInputRLS
from .spiking import Learning, LIFNetwork, PlasticSynapses, Run, Synapses, simulate
from .training import run_loops, score_correlation

__all__ = [
    "StaticNetwork",
    "StaticRun",
    "BalancedNetwork",
    "Trial",
    "TestResult",
    "LoopRecord",
    "TrainResult",
    "balance_rates",
    "static_network",
    "simulate_static",
    "match_rates",
    "modulation",
    "target_inputs",
    "choose_plastic_inputs",
    "initial_plastic_weights",
    "plastic_weight_ratio",
    "penalty_matrix",
    "make_rls",
    "ffwd_rate_process",
    "moving_average",
    "window_average",
    "build_network",
    "run_trial",
    "evaluate",
    "train",
    "save",
    "load",
    "FORMAT_VERSION",
]

# Independent random streams, all derived from params.seed
_CONNECT, _STATIC, _SELECT, _PLASTIC, _TASK, _TRAIN, _TEST = range(7)
SETTLE_MS = 200.0  # onset transient skipped by the static run's statistics
FFWD_GRID_MS = 1.0  # sampling interval of the feedforward rate process
N_EXAMPLES = 20  # untrained E and I neurons recorded besides the trained ones


# ---------------------------------------------------------------------------
# The static balanced network


def balance_rates(params: BalancedParams) -> np.ndarray:
    r"""Mean E and I rates (Hz) of the balanced state in the limit ``K -> infinity``.

    A neuron of population ``a`` receives on average ``K_b J_ab r_b`` from
    population ``b`` (``K_E = K``, ``K_I = K Ni / Ne`` inputs; ``r`` in spikes per
    ms) plus ``mu_a``. Each term is of order ``sqrt(K)``; the net input stays of
    order 1 only if they cancel:

    .. math:: \mu_a + \sum_b K_b J_{ab} r_b = 0, \qquad a, b \in \{E, I\},

    a 2 x 2 linear system. Returns ``[r_E, r_I]`` in Hz (7.5 and 13.5 with the
    SPEC's numbers). A negative entry means the parameters admit no balanced state.
    """
    p = params
    w = p.weights
    KE, KI = p.K, p.K * p.Ni / p.Ne
    A = np.array([[KE * w["EE"], KI * w["EI"]],
                  [KE * w["IE"], KI * w["II"]]])
    mu = np.array([p.mu_e, p.mu_i])
    return 1000.0 * np.linalg.solve(A, -mu)


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
    rng = np.random.default_rng([p.seed, _CONNECT]) if rng is None else rng
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
                    n_record: int = 100, record_every: float = 1.0) -> StaticRun:
    """Simulate the untrained network for ``T`` ms (default the trial length, 3 s) without stimulus.

    Records the inputs of ``n_record`` E and ``n_record`` I neurons (a random
    sample) every ``record_every`` ms; rates are counted for all neurons.
    """
    p = net.params
    T = p.t_end if T is None else float(T)
    if T <= SETTLE_MS:
        raise ValueError(f"T (length of the static run) must be > {SETTLE_MS:g} ms, the skipped onset "
                         f"(got {T:g})")
    rng = np.random.default_rng([p.seed, _STATIC]) if rng is None else rng
    pick = np.random.default_rng([p.seed, _STATIC, 1])
    n_e, n_i = min(n_record, p.Ne), min(n_record, p.Ni)
    record = np.sort(np.concatenate([pick.choice(p.Ne, n_e, replace=False),
                                     p.Ne + pick.choice(p.Ni, n_i, replace=False)]))
    t0 = time.perf_counter()
    run = simulate(net.lif(), T, rng=rng, record=record, record_every=record_every, max_rate=p.max_rate,
                   advice=f"The static network is not balanced: lower g (now {p.g:g}).")
    seconds = time.perf_counter() - t0
    late = run.spike_times > SETTLE_MS
    rates = np.bincount(run.spike_neurons[late], minlength=p.N) / ((T - SETTLE_MS) / 1000.0)
    keep = run.t >= SETTLE_MS
    cur = run.currents[keep]
    return StaticRun(p, rates, record, cur[:, 0].mean(axis=0), cur[:, 1].mean(axis=0), net.mu[record], run,
                     seconds)


# ---------------------------------------------------------------------------
# Targets, selection and matching


def target_inputs(data: ALMData) -> dict:
    """Target input of every ALM neuron per condition, (time, neuron): ``utarg``, or ``siegert_inverse(rates)``.

    Data without ``utarg`` (the synthetic stand-in) are turned into inputs with
    :func:`~tutorial_lib.transfer.siegert_inverse` at the noise level that reproduces
    the original's targets.
    """
    if data.utarg is not None:
        return {c: np.asarray(data.utarg[c], dtype=np.float64) for c in CONDITIONS}
    from .transfer import siegert_inverse

    return {c: siegert_inverse(data.rates[c]) for c in CONDITIONS}


def _resample(t_data: np.ndarray, u: np.ndarray, t_new: np.ndarray) -> np.ndarray:
    """Linear interpolation of each column of ``u`` (sampled at ``t_data``) at ``t_new``."""
    k = np.clip(np.searchsorted(t_data, t_new, side="right") - 1, 0, len(t_data) - 2)
    frac = ((t_new - t_data[k]) / (t_data[k + 1] - t_data[k]))[:, None]
    return (1.0 - frac) * u[k] + frac * u[k + 1]


def _window_targets(p: BalancedParams, data: ALMData) -> dict:
    """Targets at the learning times (model time ``stim_off + tau`` is the recordings' time ``tau``)."""
    t_rel = p.learn_times - p.stim_off
    if t_rel[-1] > data.t[-1] + 1e-9:
        raise ValueError(f"train_duration must be <= {data.t[-1] + p.learn_every:g} ms: the recordings cover "
                         f"{data.t[-1]:g} ms (got {p.train_duration:g})")
    u = target_inputs(data)
    return {c: np.ascontiguousarray(_resample(data.t, u[c], t_rel)) for c in CONDITIONS}


def modulation(params: BalancedParams, data: ALMData) -> np.ndarray:
    """How strongly each ALM neuron's target input varies: its std over the training window, both conditions.

    The samples are the targets at the learning times (the ones RLS and the
    score use) of lick-right and lick-left together, so a neuron counts as
    modulated if its input changes in time or differs between the conditions.
    """
    return _modulation(_window_targets(params, data))


def _modulation(targets: dict) -> np.ndarray:
    return np.concatenate([targets[c] for c in CONDITIONS], axis=0).std(axis=0)


def _select_alm(p: BalancedParams, data: ALMData, targets: dict) -> np.ndarray:
    """Indices of the ALM neurons to train (all, the most modulated, or random)."""
    n_alm = data.n_neurons
    n = n_alm if p.n_trained is None else p.n_trained
    if n > n_alm:
        raise ValueError(f"n_trained (ALM neurons trained) must be in [L + 1, {n_alm}]: the data hold "
                         f"{n_alm} neurons (got {n})")
    if n > p.Ne:
        raise ValueError(f"n_trained (None: all {n_alm} ALM neurons) must be <= Ne = {p.Ne}: each ALM neuron "
                         "needs its own E neuron. Pass a smaller n_trained or a larger N.")
    if n < p.L + 1:
        raise ValueError(f"L (plastic inputs of each type) must be <= n_trained - 1 = {n - 1}: the E inputs "
                         f"come from the other trained neurons (got {p.L})")
    if n == n_alm:
        return np.arange(n_alm)
    if p.selection == "modulated":
        return np.sort(np.argsort(-_modulation(targets), kind="stable")[:n])
    return np.sort(np.random.default_rng([p.seed, _SELECT]).choice(n_alm, n, replace=False))


def match_rates(target_rates: np.ndarray, model_rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pair each target neuron with a distinct model neuron of similar rate (the original's greedy rule).

    Target neurons are taken in order of decreasing rate; each gets the
    not-yet-used model neuron whose rate is closest. Returns ``(order,
    matched)``: ``order[k]`` is the k-th target neuron and ``matched[k]`` its
    model neuron (indices into ``model_rates``).
    """
    target_rates = np.asarray(target_rates, dtype=np.float64)
    free = np.array(model_rates, dtype=np.float64)
    if target_rates.shape[0] > free.shape[0]:
        raise ValueError(f"cannot match {target_rates.shape[0]} target neurons to {free.shape[0]} "
                         "model neurons")
    order = np.argsort(-target_rates, kind="stable")
    matched = np.empty(order.shape[0], dtype=np.int64)
    for k, a in enumerate(order):
        j = int(np.argmin(np.abs(free - target_rates[a])))
        matched[k] = j
        free[j] = np.inf
    return order, matched


def choose_plastic_inputs(rng: np.random.Generator, trained: np.ndarray, Ne: int, Ni: int,
                          L: int) -> np.ndarray:
    """(R, 2L) plastic presynaptic neurons: ``L`` other trained neurons, then ``L`` I neurons, each sorted."""
    trained = np.asarray(trained, dtype=np.int64)
    R = trained.shape[0]
    if L > R - 1:
        raise ValueError(f"L must be <= {R - 1}, the number of other trained neurons (got {L})")
    if L > Ni:
        raise ValueError(f"L must be <= Ni = {Ni} (got {L})")
    presyn = np.empty((R, 2 * L), dtype=np.int64)
    for k in range(R):
        pick = rng.choice(R - 1, size=L, replace=False)
        pick[pick >= k] += 1  # any trained neuron but itself
        presyn[k, :L] = np.sort(trained[pick])
        presyn[k, L:] = Ne + np.sort(rng.choice(Ni, size=L, replace=False))
    return presyn


def initial_plastic_weights(params: BalancedParams, n_rows: int, ratio: float | None = None) -> np.ndarray:
    """(n_rows, m): ``wp_exc`` on the E inputs, ``wp_inh(ratio)`` on the I inputs, 0 on the feedforward ones.

    ``ratio`` (default ``params.inh_weight_ratio``) scales the I weights:
    ``je sqrt(K) / wpscale`` and ``-ji sqrt(K) / wpscale * ratio`` give no net
    plastic input when the E inputs fire at ``ratio`` times the rate of the I inputs.
    """
    p = params
    w = np.zeros((n_rows, p.n_plastic))
    w[:, : p.L] = p.wp_exc
    w[:, p.L: 2 * p.L] = p.wp_inh(ratio)
    return w


def plastic_weight_ratio(params: BalancedParams, static_rates: np.ndarray, trained: np.ndarray) -> float:
    """The ratio of the initial I to E plastic weights: ``params.inh_weight_ratio``, or, if it is None,
    the mean static rate of the ``trained`` neurons over the mean rate of the I population."""
    if params.inh_weight_ratio is not None:
        return params.inh_weight_ratio
    r_i = float(np.mean(static_rates[params.Ne:]))
    if r_i <= 0:
        raise ValueError(f"g (now {params.g:g}) is too small: no I neuron fired in the static run "
                         f"({params.t_end - SETTLE_MS:g} ms counted; K = {params.K}, tau_m = {params.tau_m:g} ms, "
                         f"tau_syn = {params.tau_syn:g} ms), and inh_weight_ratio=None needs a firing I population "
                         "in the static run. Raise g or K (the external input grows with g sqrt(K)), lower tau_m "
                         "or tau_syn, lengthen the trial (train_duration), or give inh_weight_ratio a value.")
    return float(np.mean(static_rates[trained])) / r_i


def penalty_matrix(params: BalancedParams) -> np.ndarray:
    """The RLS penalty (``P`` starts as its inverse), in the plastic inputs' order [E, I, ffwd].

    ``lam_rec I + mu_rs (1_E 1_E^T + 1_I 1_I^T)`` on the recurrent block: an L2
    penalty plus one on the sum of the E and on the sum of the I weights;
    ``lam_ff I`` on the feedforward block.
    """
    p = params
    m = p.n_plastic
    pen = np.zeros((m, m))
    L = p.L
    pen[: 2 * L, : 2 * L] = p.lam_rec * np.eye(2 * L)
    pen[:L, :L] += p.mu_rs
    pen[L: 2 * L, L: 2 * L] += p.mu_rs
    if p.ffwd:
        pen[2 * L:, 2 * L:] = p.lam_ff * np.eye(p.n_ffwd)
    return pen


def make_rls(net: "BalancedNetwork", dtype=None) -> BatchRLS | SharedInputRLS:
    """A fresh RLS state for ``net``, starting from its current weights.

    With feedforward inputs, :class:`~tutorial_lib.rls.SharedInputRLS`: every
    trained neuron reads the same ``n_ffwd`` inputs with the same penalty
    ``lam_ff I``, so that block of the RLS matrices is held once, and the
    per-neuron state shrinks from ``(2L + n_ffwd)^2`` to ``2L (2L + n_ffwd)``
    numbers (exactly the same weights as one ``P`` per neuron). Without them,
    :class:`~tutorial_lib.rls.BatchRLS` with the penalty of :func:`penalty_matrix`.
    ``dtype`` (default ``params.rls_precision``): the precision of the stored state.
    """
    p = net.params
    pen = penalty_matrix(p)
    dtype = np.dtype(p.rls_precision if dtype is None else dtype)
    if not p.ffwd:
        return BatchRLS(net.presyn, pen, w0=net.w, dtype=dtype)
    m = 2 * p.L
    return SharedInputRLS(net.presyn, p.N + np.arange(p.n_ffwd), pen[:m, :m], p.lam_ff, w0=net.w, dtype=dtype)


def ffwd_rate_process(params: BalancedParams, rng: np.random.Generator) -> np.ndarray:
    """Rates (Hz) of the feedforward Poisson neurons over the training window, (time, n_ffwd), every 1 ms.

    An Ornstein-Uhlenbeck process ``dr = (rate - r) dt / tau + noise dW`` (Hz;
    ``noise`` per sqrt(ms)) started at its mean, smoothed with a moving average of
    half-width ``ffwd_smooth`` (:func:`moving_average`: near the ends of the window
    it averages only the samples that exist, so a constant stays constant) and
    rectified.
    """
    p = params
    n = int(math.ceil(p.train_duration / FFWD_GRID_MS - 1e-9))
    h = FFWD_GRID_MS
    r = np.empty((n, p.n_ffwd))
    r[0] = p.ffwd_rate
    kicks = p.ffwd_noise * math.sqrt(h) * rng.standard_normal((n - 1, p.n_ffwd))
    for k in range(n - 1):
        r[k + 1] = r[k] + (p.ffwd_rate - r[k]) * (h / p.ffwd_tau) + kicks[k]
    r = moving_average(r, int(round(p.ffwd_smooth / h)))
    return np.maximum(r, 0.0)


def moving_average(x, half: int) -> np.ndarray:
    """Centred moving average along axis 0 over ``2 half + 1`` samples, truncated at the ends.

    Row ``k`` of the result is the mean of the rows ``k - half .. k + half`` of
    ``x`` that exist: near the ends the window is cut at the data and the mean
    is taken over the samples inside it (never padded with zeros), so a constant
    stays constant everywhere, edges included. The samples must be of equal
    width (a regular grid). Used by :func:`ffwd_rate_process` and
    :meth:`Trial.psth`.

    Parameters
    ----------
    x : array_like, shape (n, ...)
        Samples along axis 0.
    half : int
        Half-width in samples (>= 0); 0 returns ``x`` unchanged (as floats).

    Returns
    -------
    ndarray, shape of ``x``, float64.
    """
    x = np.asarray(x, dtype=np.float64)
    if isinstance(half, bool) or not isinstance(half, (int, np.integer)) or half < 0:
        raise ValueError(f"half must be an integer >= 0 (samples; got {half!r})")
    if half == 0 or x.shape[0] == 0:
        return x.copy()
    n = x.shape[0]
    c = np.vstack([np.zeros((1,) + x.shape[1:]), np.cumsum(x, axis=0)])
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    return (c[hi] - c[lo]) / (hi - lo).reshape((-1,) + (1,) * (x.ndim - 1))


def window_average(t: np.ndarray, x: np.ndarray, centres: np.ndarray, half_width: float, lo: float,
                   hi: float) -> np.ndarray:
    """Mean of the rows of ``x`` (sampled at increasing ``t``) over ``[c - hw, c + hw)`` and ``[lo, hi)``.

    One row per centre ``c`` of ``centres``; ``hw`` is ``half_width``. The score's
    windows (``+-score_window`` around each learning time). Near ``lo`` and
    ``hi`` a window is cut there and the mean is over the samples inside it (not
    padded), so a constant input gives a constant output, edges included.
    Sample times within 1e-9 ms below a window's bound count as on it.

    Raises ValueError if a window holds no samples.
    """
    c = np.vstack([np.zeros((1,) + x.shape[1:]), np.cumsum(x, axis=0)])
    a = np.searchsorted(t, np.maximum(centres - half_width, lo) - 1e-9, side="left")
    b = np.searchsorted(t, np.minimum(centres + half_width, hi) - 1e-9, side="left")
    if np.any(b <= a):
        raise ValueError("a score window holds no samples: record more often (record_every)")
    return (c[b] - c[a]) / (b - a).reshape((-1,) + (1,) * (x.ndim - 1))


# ---------------------------------------------------------------------------
# The trained network


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
    (1 ms bins, n_ffwd) are fixed per condition. ``static_rates`` are the
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
        n0, n1 = round(p.stim_off / p.dt), round(p.t_end / p.dt)
        times, sources = [], []
        chunk = 2000
        for s in range(n0, n1, chunk):
            steps = np.arange(s, min(s + chunk, n1))
            k = np.minimum(((steps - n0) * p.dt + 1e-9) // FFWD_GRID_MS, rates.shape[0] - 1).astype(np.int64)
            prob = rates[k] * (p.dt / 1000.0)
            n, a = np.nonzero(rng.random(prob.shape) < prob)
            times.append((steps[n] + 1) * p.dt)
            sources.append(p.N + a)
        return np.concatenate(times), np.concatenate(sources)

    def test(self, n_trials: int = 5, condition: str = "right", keep_runs: int = 1,
             progress: bool = False) -> "TestResult":
        """Test trials without learning; see :func:`evaluate`."""
        return evaluate(self, n_trials=n_trials, condition=condition, keep_runs=keep_runs, progress=progress)


def build_network(params: BalancedParams | None = None, data: ALMData | None = None, *,
                  progress: bool = False) -> BalancedNetwork:
    """Build the static network, simulate it once, match ALM neurons to E neurons, add plastic synapses.

    ``data``: the ALM recordings (default :func:`~tutorial_lib.data.load_alm` with
    the synthetic fallback). Raises ValueError, naming the parameter, if the
    data and parameters do not fit (more trained neurons than ALM or E neurons,
    a training window longer than the recordings, ...) or if the network would
    not fit in memory (:class:`~tutorial_lib.params.MemoryEstimateError`), and
    TypeError for arguments of the wrong class; all before anything is built.
    """
    p = BalancedParams() if check_type("params", params, BalancedParams, allow_none=True) is None else params
    check_type("data", data, ALMData, allow_none=True)
    check_memory(p)  # before loading anything; again below with the data's number of neurons
    data = load_alm(fallback="synthetic") if data is None else data
    for c in CONDITIONS:  # fail before the expensive steps
        if c not in data.rates:
            raise ValueError(f"data must hold the conditions {CONDITIONS} (missing {c!r})")
    targets_all = _window_targets(p, data)
    alm_idx = _select_alm(p, data, targets_all)
    check_memory(p, n_trained=alm_idx.shape[0])

    def say(msg):
        if progress:
            print(msg, flush=True)

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
    rng = np.random.default_rng([p.seed, _PLASTIC])
    presyn = choose_plastic_inputs(rng, trained, p.Ne, p.Ni, p.L)
    ratio = plastic_weight_ratio(p, srun.rates, trained)
    w0 = initial_plastic_weights(p, trained.shape[0], ratio)
    task = np.random.default_rng([p.seed, _TASK])
    stimulus = {c: task.uniform(-p.stim_amplitude, p.stim_amplitude, size=p.N) for c in CONDITIONS}
    ffwd = {c: ffwd_rate_process(p, task) for c in CONDITIONS} if p.ffwd else None
    untrained_e = np.setdiff1d(np.arange(p.Ne), trained)
    n_ex_e, n_ex_i = min(N_EXAMPLES, untrained_e.size), min(N_EXAMPLES, p.Ni)
    examples = np.concatenate([np.sort(task.choice(untrained_e, n_ex_e, replace=False)),
                               p.Ne + np.sort(task.choice(p.Ni, n_ex_i, replace=False))]).astype(np.int64)
    say(f"Training {trained.shape[0]} E neurons ({100 * trained.shape[0] / p.Ne:.0f} % of E) on {data.label} "
        f"neurons; initial plastic weights {p.wp_exc:.3f} (E), {p.wp_inh(ratio):.3f} (I).")
    return BalancedNetwork(p, static, srun.rates, alm, targets, trained, presyn, w0.copy(), w0, stimulus,
                           ffwd, examples, srun)


# ---------------------------------------------------------------------------
# Trials


@dataclass
class Trial:
    """What one trial recorded. Times in ms.

    ``binned`` (bins, trained neurons) is each trained neuron's total input
    averaged over ``+-score_window`` around each learning time ``bin_t``;
    ``target`` the targets at ``bin_t``; ``corr`` their Pearson correlation per
    neuron (the score is its mean). ``errors`` (learning steps, trained
    neurons): the RLS errors before each update (None without learning).
    ``run`` is the engine's record of the ``recorded`` neurons (inputs and
    voltages every ``record_every``; ``run.currents[:, c]`` for the channels
    ``("excitatory", "inhibitory", "plastic")``), or None if not kept.
    Spikes of all neurons are in ``spike_times`` / ``spike_neurons``.
    """

    condition: str
    bin_t: np.ndarray
    binned: np.ndarray
    target: np.ndarray
    corr: np.ndarray
    spike_times: np.ndarray
    spike_neurons: np.ndarray
    recorded: np.ndarray
    errors: np.ndarray | None
    run: Run | None
    N: int
    duration: float

    @property
    def score(self) -> float:
        """Mean correlation of windowed input and target over the trained neurons."""
        return float(np.mean(self.corr))

    @property
    def rates(self) -> np.ndarray:
        """Firing rate of each neuron over the trial, Hz."""
        return np.bincount(self.spike_neurons, minlength=self.N) / (self.duration / 1000.0)

    def psth(self, neurons, bin_ms: float = 20.0, smooth_ms: float = 50.0):
        """``(t, rates)``: rates (Hz) of ``neurons`` in bins of ``bin_ms``, averaged over ``+-smooth_ms``.

        The rule for the bins: they tile the trial's data ``(0, duration]`` from 0
        on, ``(k bin_ms, (k + 1) bin_ms]`` for ``k = 0 .. n - 1`` with ``n =
        floor(duration / bin_ms)``; closed on the right because a spike in the
        engine's step ``(t - dt, t]`` is labelled ``t``. A trailing remainder
        shorter than a bin is dropped (no bin reaches past the trial's end, and
        every bin is a whole ``bin_ms``, as in Elephant's binned spike trains).
        Spike times within ``1e-9 bin_ms`` above an edge count as on it.

        The smoothing is :func:`moving_average` over ``round(smooth_ms / bin_ms)``
        bins on each side, cut at the first and last bin, so a constant rate stays
        constant up to the ends.

        Parameters
        ----------
        neurons : array_like of int
            Neuron indices (columns of the result, in this order).
        bin_ms : float
            Bin width in ms, ``0 < bin_ms <= duration``. Default 20.
        smooth_ms : float
            Half-width of the moving average in ms (>= 0; 0: none). Default 50.

        Returns
        -------
        t : ndarray, shape (n,)
            Bin centres, ms.
        rates : ndarray, shape (n, len(neurons))
            Firing rates, Hz.

        Raises
        ------
        ValueError
            ``bin_ms`` outside ``(0, duration]`` or ``smooth_ms`` negative or not finite.
        """
        neurons = np.asarray(neurons)
        bin_ms = check_real("bin_ms", bin_ms, lo=0.0, lo_open=True, hi=self.duration,
                            what=f"bin width, ms, at most the trial's duration {self.duration:g}")
        smooth_ms = check_real("smooth_ms", smooth_ms, lo=0.0, what="half-width of the moving average, ms")
        n = int(math.floor(self.duration / bin_ms + 1e-9))
        edges = bin_ms * np.arange(n + 1)
        col = np.full(self.N, -1)
        col[neurons] = np.arange(neurons.size)
        sel = col[self.spike_neurons] >= 0
        b = np.searchsorted(edges, self.spike_times[sel] - 1e-9 * bin_ms, side="left") - 1
        inside = (b >= 0) & (b < n)
        counts = np.zeros((n, neurons.size))
        np.add.at(counts, (b[inside], col[self.spike_neurons[sel]][inside]), 1.0)
        rate = moving_average(counts * (1000.0 / bin_ms), int(round(smooth_ms / bin_ms)))
        return 0.5 * (edges[:-1] + edges[1:]), rate


def _advice(p: BalancedParams, learning: bool) -> str:
    unusual = far_from_default(p, ("stim_amplitude", "inh_weight_ratio", "ffwd_rate"))
    if learning:
        return (f"RLS changed the weights too much: raise lam_rec (now {p.lam_rec:g}), "
                f"mu_rs (now {p.mu_rs:g}) or lam_ff (now {p.lam_ff:g}). If the untrained network is "
                f"itself close to running away (its rates climb within a trial), lower g (now {p.g:g}).{unusual}")
    return f"The network's activity ran away: lower g (now {p.g:g}).{unusual}"


def _trial_rng(p: BalancedParams, stream: int, index: int, condition: str) -> np.random.Generator:
    return np.random.default_rng([p.seed, stream, index, CONDITIONS.index(condition)])


def run_trial(net: BalancedNetwork, condition: str = "right", rls: BatchRLS | SharedInputRLS | None = None, *,
              loop: int | None = None, rng: np.random.Generator | None = None,
              keep_run: bool = True) -> Trial:
    """Simulate one trial of ``condition`` from a reset state; with ``rls``, train ``net.w`` in place.

    The initial voltages (Uniform(0, 1)) and the Poisson feedforward spikes
    come from ``rng``; by default from a stream fixed by ``params.seed``,
    ``loop`` and the condition (one family for training loops, another for
    tests), so the same network, seed and loop give the same spikes. Raises
    TypeError for arguments of the wrong class.
    """
    check_type("net", net, BalancedNetwork)
    check_type("rls", rls, (BatchRLS, SharedInputRLS), allow_none=True)
    check_type("rng", rng, np.random.Generator, allow_none=True)
    if loop is not None:
        loop = check_int("loop", loop, lo=0)
    p = net.params
    if not isinstance(condition, str) or condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS} (got {condition!r})")
    if rng is None:
        rng = _trial_rng(p, _TRAIN if rls is not None else _TEST, 0 if loop is None else loop, condition)
    external = net.ffwd_spikes(condition, rng)
    lif = net.lif()
    learning = None if rls is None else Learning(rls, p.learn_times, net.targets[condition])
    where = ""
    if rls is not None and loop is not None:
        where = f"This happened in training loop {loop + 1} ({condition}). "
    try:
        run = simulate(lif, p.t_end, rng=rng, stimulus=net.stimulus[condition],
                       stim_window=(p.stim_on, p.stim_off), record=net.recorded, record_every=p.record_every,
                       learning=learning, external=external, max_rate=p.max_rate,
                       advice=where + _advice(p, rls is not None))
    finally:
        if rls is not None:  # keep what was learned, even if the run stopped
            net.w[...] = lif.plastic.w
    R = net.n_trained
    total_input = run.total_input[:, :R]
    binned = window_average(run.t, total_input, p.learn_times, p.score_window, p.stim_off, p.t_end)
    target = net.targets[condition]
    corr = score_correlation(binned, target)
    return Trial(condition, p.learn_times, binned, target, corr, run.spike_times, run.spike_neurons,
                 net.recorded, run.errors, run if keep_run else None, p.N, p.t_end)


@dataclass
class TestResult:
    """Test trials without learning, and their scores.

    ``binned`` (trials, bins, trained neurons) the windowed inputs of each
    trial; ``corr`` (trials, neurons) their correlations with ``target``;
    ``corr_avg`` (neurons,) the correlation of the trial-averaged input.
    ``trials`` keeps the first ``keep_runs`` trials with their full records.
    """

    condition: str
    bin_t: np.ndarray
    binned: np.ndarray
    target: np.ndarray
    corr: np.ndarray
    corr_avg: np.ndarray
    trials: list

    @property
    def n_trials(self) -> int:
        return self.binned.shape[0]

    @property
    def score(self) -> float:
        """The original's score: the first test trial's mean correlation."""
        return float(self.corr[0].mean())

    @property
    def scores(self) -> np.ndarray:
        """Single-trial score of every test trial."""
        return self.corr.mean(axis=1)

    @property
    def score_avg(self) -> float:
        """Trial-averaged score: correlation of the trial-mean input with the target, mean over neurons."""
        return float(self.corr_avg.mean())

    @property
    def mean_input(self) -> np.ndarray:
        """(bins, neurons) the trial-averaged windowed input."""
        return self.binned.mean(axis=0)


def evaluate(net: BalancedNetwork, n_trials: int = 5, condition: str = "right",
             keep_runs: int = 1, progress: bool = False) -> TestResult:
    """Run ``n_trials`` trials of ``condition`` without learning (test trial ``k`` always uses the same
    random stream, so repeated tests differ only through the weights); ``progress``: a progress bar.

    Raises TypeError or ValueError, naming the argument, for bad arguments."""
    check_type("net", net, BalancedNetwork)
    n_trials = check_int("n_trials", n_trials, lo=1, hi=1000, what="test trials")
    keep_runs = check_int("keep_runs", keep_runs, lo=0, what="test trials whose full record is kept")
    if not isinstance(condition, str) or condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS} (got {condition!r})")
    trial_ids = range(n_trials)
    if progress:
        from tqdm.auto import tqdm

        trial_ids = tqdm(trial_ids, desc=f"test trials (lick {condition})", unit="trial")
    trials = [run_trial(net, condition, loop=k, keep_run=k < keep_runs) for k in trial_ids]
    binned = np.stack([tr.binned for tr in trials])
    target = trials[0].target
    corr = np.stack([tr.corr for tr in trials])
    corr_avg = score_correlation(binned.mean(axis=0), target)
    kept = [tr for tr in trials if tr.run is not None]
    return TestResult(condition, trials[0].bin_t, binned, target, corr, corr_avg, kept)


# ---------------------------------------------------------------------------
# Training


@dataclass
class LoopRecord:
    """One training loop: its two trials (with learning), its score and, every ``score_every`` loops, a test.

    ``score`` is the lick-right training trial's score (measured while learning).
    """

    loop: int
    trials: dict
    test: TestResult | None
    seconds: float

    @property
    def score(self) -> float:
        return self.trials["right"].score


@dataclass
class TrainResult:
    """What :func:`train` returns.

    ``scores`` the lick-right training trial's score of each loop (measured while
    learning); ``test_loops`` the loops (counted from 1) after which the
    network was tested without learning, with ``test_scores`` (the original's
    single-trial score) and ``test_scores_avg`` (trial-averaged over
    ``n_test_trials``); ``loop_seconds`` the wall time of each loop (tests
    included); ``last`` the last loop's record; ``rls`` the RLS state (to
    continue training: ``train(result)``). ``stopped``: training ended early;
    ``partial``: it was interrupted inside a loop, whose learning steps so far
    are in the weights (and the RLS state) but in none of the histories, which
    hold whole loops only. ``network.w`` always equals ``rls.w``.
    """

    network: BalancedNetwork
    scores: np.ndarray
    test_loops: np.ndarray
    test_scores: np.ndarray
    test_scores_avg: np.ndarray
    loop_seconds: np.ndarray
    last: LoopRecord | None
    rls: BatchRLS | SharedInputRLS | None
    stopped: bool = False
    partial: bool = False

    @property
    def params(self) -> BalancedParams:
        return self.network.params

    @property
    def n_loops(self) -> int:
        return self.scores.shape[0]

    def test(self, n_trials: int = 5, condition: str = "right", keep_runs: int = 1,
             progress: bool = False) -> TestResult:
        """Test trials of the trained network without learning; see :func:`evaluate`."""
        return evaluate(self.network, n_trials=n_trials, condition=condition, keep_runs=keep_runs,
                        progress=progress)

    def save(self, path, include_rls: bool = True):
        """Save to ``path`` (see :func:`save`)."""
        return save(self, path, include_rls=include_rls)


def train(params: BalancedParams | BalancedNetwork | TrainResult | None = None, *,
          data: ALMData | None = None, n_loops: int | None = None, callback=None, progress: bool = True,
          stop=None) -> TrainResult:
    """Train the balanced network on the ALM targets for ``n_loops`` loops (default ``params.n_loops``).

    Parameters
    ----------
    params : BalancedParams (a new network is built: static run, matching,
        plastic synapses), a BalancedNetwork (trained from a fresh RLS state), or
        a TrainResult (training continues with its RLS state and history).
    data : the ALM recordings, for a new network (default :func:`~tutorial_lib.data.load_alm`
        with the synthetic fallback).
    callback : called as ``callback(loop, record, scores)`` after every loop
        (``record`` a :class:`LoopRecord`); return ``False`` to stop early.
    progress : show a progress bar (tqdm) and what is being built.
    stop : an object with ``is_set()`` (a ``threading.Event``); training stops
        after the current loop once it is set.

    Raises :class:`~tutorial_lib.training.DivergenceError` (with advice) if the activity blows up;
    TypeError or ValueError, naming the argument, for bad arguments (before any simulation).
        partial=bool(meta.get("partial", False)),
    """
    check_type("params", params, (BalancedParams, BalancedNetwork, TrainResult), allow_none=True)
    check_type("data", data, ALMData, allow_none=True)
    n_loops = check_train_args(n_loops, callback, stop)
    if isinstance(params, (BalancedNetwork, TrainResult)):
        check_memory(params.params, n_trained=params.network.n_trained if isinstance(params, TrainResult)
                     else params.n_trained)
    previous = params if isinstance(params, TrainResult) else None
    if previous is not None:
        net = previous.network.copy()
        rls = None if previous.rls is None else _copy.deepcopy(previous.rls)
    elif isinstance(params, BalancedNetwork):
        net, rls = params.copy(), None
    else:
        net, rls = build_network(params, data, progress=progress), None
    p = net.params
    if rls is None:
        rls = make_rls(net)
    else:
        rls.w[...] = net.w
    start = 0 if previous is None else previous.n_loops
    n = p.n_loops if n_loops is None else n_loops
    tests: list[tuple[int, float, float]] = []
    seconds: list[float] = []

    def one_loop(k: int) -> LoopRecord:
        loop = start + k
        t0 = time.perf_counter()
        trials = {c: run_trial(net, c, rls, loop=loop) for c in CONDITIONS}
        tested = None
        if p.score_every and (loop + 1) % p.score_every == 0:
            tested = evaluate(net, p.n_test_trials, "right", keep_runs=1)
            tests.append((loop + 1, tested.score, tested.score_avg))
            if progress:
                from tqdm.auto import tqdm

                avg = ""
                if p.n_test_trials > 1:
                    avg = f", trial-averaged ({p.n_test_trials} trials) {tested.score_avg:.3f}"
                tqdm.write(f"loop {loop + 1}: test score {tested.score:.3f}{avg}")
        seconds.append(time.perf_counter() - t0)
        return LoopRecord(loop, trials, tested, seconds[-1])

    outcome = run_loops(n, one_loop, callback=callback, progress=progress, stop=stop, desc="Part 3 training")
    net.w[...] = rls.w  # an interrupt may come between an RLS update and the copy at the end of a trial
    done = outcome.scores.shape[0]  # whole loops: drop what an interrupted loop recorded
    del seconds[done:]
    tests = [t for t in tests if t[0] <= start + done]
    if previous is None:
        old = (np.zeros(0), np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0))
    else:
        old = (previous.scores, previous.test_loops, previous.test_scores, previous.test_scores_avg,
               previous.loop_seconds)
    new_tests = np.array(tests, dtype=np.float64).reshape(-1, 3)
    return TrainResult(
        network=net,
        scores=np.concatenate([old[0], outcome.scores]),
        test_loops=np.concatenate([old[1], new_tests[:, 0].astype(np.int64)]),
        test_scores=np.concatenate([old[2], new_tests[:, 1]]),
        test_scores_avg=np.concatenate([old[3], new_tests[:, 2]]),
        loop_seconds=np.concatenate([old[4], np.array(seconds)]),
        last=outcome.last,
        rls=rls,
        stopped=outcome.stopped,
        partial=outcome.partial,
    )


# ---------------------------------------------------------------------------
# Saving and loading

#: 2: the RLS state is saved as the arrays of ``rls.state()`` (``rls_Pr``, ``rls_Gt``, ``rls_Q`` with
#: feedforward inputs); 1 saved one full ``rls_P`` per neuron (still read).
FORMAT_VERSION = 2
_KIND = "balanced-network"


def _block_state(P: np.ndarray, mp: int) -> dict:
    """The :class:`~tutorial_lib.rls.SharedInputRLS` state equal to full per-neuron matrices ``P``."""
    Pr = P[:, :mp, :mp]
    Gt = -np.linalg.solve(Pr, P[:, :mp, mp:])  # P_rf = -Pr G^T
    Q = P[0, mp:, mp:] - np.einsum("pf,pq,qg->fg", Gt[0], Pr[0], Gt[0])
    return {"Pr": Pr, "Gt": Gt, "Q": Q}


def save(obj: TrainResult | BalancedNetwork, path, *, include_rls: bool = True):
    """Save a trained (or untrained) network to ``path`` (``.npz``; written atomically, versioned).

    Everything needed to run it again is stored (static synapses, trained
    neurons, plastic weights, stimuli, feedforward rates, targets and the ALM
    data of the trained neurons, parameters as JSON), plus the training
    history and, with ``include_rls``, the RLS matrices ``P`` to continue
    training exactly (``R m^2`` numbers: 1.7 GB at full scale with the
    feedforward inputs). Returns the path written.
    """
    from . import __version__
    from .storage import params_to_dict, save_arrays

    result = obj if isinstance(obj, TrainResult) else None
    net = obj.network if result is not None else obj
    if not isinstance(net, BalancedNetwork):
        raise TypeError(f"save expects a TrainResult or a BalancedNetwork (got {type(obj).__name__})")
    p = net.params
    a = {
        "exc_ptr": net.static.exc.ptr, "exc_post": net.static.exc.post.astype(np.int32),
        "exc_w": net.static.exc.w,
        "inh_ptr": net.static.inh.ptr, "inh_post": net.static.inh.post.astype(np.int32),
        "inh_w": net.static.inh.w,
        "mu": net.static.mu, "static_rates": net.static_rates, "trained": net.trained, "presyn": net.presyn,
        "w": net.w, "w0": net.w0, "examples": net.examples, "alm_t": net.alm.t, "alm_ids": net.alm.neuron_ids,
    }
    for c in CONDITIONS:
        a[f"stimulus_{c}"] = net.stimulus[c]
        a[f"targets_{c}"] = net.targets[c]
        a[f"alm_rates_{c}"] = net.alm.rates[c]
        if net.alm.utarg is not None:
            a[f"alm_utarg_{c}"] = net.alm.utarg[c]
        if p.ffwd:
            a[f"ffwd_rates_{c}"] = net.ffwd_rates[c]
    if result is not None:
        a.update(scores=result.scores, test_loops=result.test_loops, test_scores=result.test_scores,
                 test_scores_avg=result.test_scores_avg, loop_seconds=result.loop_seconds)
        if include_rls and result.rls is not None:
            for name, arr in result.rls.state().items():
                a[f"rls_{name}"] = arr
    meta = {
        "params": params_to_dict(p),
        "alm_source": net.alm.source,
        "alm_synthetic": bool(net.alm.synthetic),
        "conditions": list(CONDITIONS),
        "has_result": result is not None,
        "stopped": bool(result.stopped) if result is not None else False,
        "partial": bool(result.partial) if result is not None else False,
        "tutorial_lib_version": __version__,
    }
    return save_arrays(path, a, kind=_KIND, version=FORMAT_VERSION, meta=meta)


def load(path) -> TrainResult:
    """Load a file written by :func:`save` as a :class:`TrainResult`.

    A file saved from a bare network gives empty score histories; a file
    saved without ``P`` gives ``rls=None`` (further training starts a fresh RLS
    state). The loaded network runs exactly like the saved one: the same seed
    gives the same spikes.

    Everything is checked here, so that a damaged or edited file is refused
    now, not at its first run: the stored parameters (validated again), the
    dtype and shape of every array against them, finite weights, inputs,
    targets and RLS state, and every index in its range (synapse targets,
    trained neurons among the E neurons, plastic inputs from other trained E
    neurons and from I neurons, recorded neurons, tested loops).

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        If ``path`` (with ``.npz`` appended if it has no suffix) does not exist
        or is a folder.
    ~tutorial_lib.storage.FormatError
        For a damaged, incomplete or edited file, a file of another kind or an
        unknown format version; the message names the file and what is wrong
        (``field``: the array, metadata key or parameter). An invalid stored
        parameter carries the ValueError of its check as ``__cause__``.
    """
    from .storage import FormatError, _npz_path, check_array, load_arrays, params_from_dict

    a, meta = load_arrays(path, kind=_KIND, versions=(1, FORMAT_VERSION))
    path = _npz_path(path)

    def meta_value(key, types, what):
        if key not in meta:
            raise FormatError(f"{path} is incomplete: its metadata has no {key!r}", path=path, field=key)
        if not isinstance(meta[key], types):
            raise FormatError(f"{path} is damaged: {key!r} in its metadata is {meta[key]!r}, not {what}",
                              path=path, field=key)
        return meta[key]

    p = params_from_dict(BalancedParams, meta_value("params", dict, "an object"), source=path)
    alm_source = meta_value("alm_source", str, "a text")
    alm_synthetic = meta_value("alm_synthetic", bool, "true or false")
    stopped = meta_value("stopped", bool, "true or false") if "stopped" in meta else False
    partial = meta_value("partial", bool, "true or false") if "partial" in meta else False
    has_result = meta_value("has_result", bool, "true or false") if "has_result" in meta else "scores" in a
    N, Ne, L = p.N, p.Ne, p.L

    def arr(name, kind="float", shape=None, finite=True, lo=None, hi=None, what=""):
        return check_array(a, name, path, kind=kind, shape=shape, finite=finite, lo=lo, hi=hi, what=what)

    def damaged(name, problem):
        return FormatError(f"{path} is damaged: the array {name!r} {problem}", path=path, field=name)

    channels = {}
    for ch, first, last in (("exc", 0, Ne), ("inh", Ne, N)):  # presynaptic neurons first .. last - 1
        ptr = arr(f"{ch}_ptr", "int", (N + 1,), what="CSR pointers of the static synapses")
        if ptr[0] != 0 or np.any(np.diff(ptr) < 0):
            raise damaged(f"{ch}_ptr", "must start at 0 and never decrease (CSR pointers)")
        if ptr[first] != 0 or ptr[last] != ptr[-1]:
            raise damaged(f"{ch}_ptr", f"gives synapses to presynaptic neurons outside [{first}, {last - 1}]")
        n_syn = int(ptr[-1])
        post = arr(f"{ch}_post", "int", (n_syn,), lo=0, hi=N - 1, what="targets of the static synapses")
        channels[ch] = (ptr, post, arr(f"{ch}_w", "float", (n_syn,), what="static weights"))
    mu = arr("mu", shape=(N,), what="constant input of every neuron")
    static_rates = arr("static_rates", shape=(N,), what="rates of the static run")
    trained = arr("trained", "int", (p.n_trained,), lo=0, hi=Ne - 1, what="trained E neurons")
    R = trained.shape[0]
    if np.unique(trained).shape[0] != R:
        raise damaged("trained", "names a neuron twice")
    if R < L + 1:
        raise damaged("trained", f"holds {R} neurons: L = {L} plastic E inputs need at least {L + 1}")
    presyn = arr("presyn", "int", (R, 2 * L), what="plastic inputs of the trained neurons")
    check_array({"presyn": presyn[:, L:]}, "presyn", path, kind="int", lo=Ne, hi=N - 1,
                what=f"plastic inputs, columns {L} .. {2 * L - 1}: I neurons")
    if not np.all(np.isin(presyn[:, :L], trained)) or np.any(presyn[:, :L] == trained[:, None]):
        raise damaged("presyn", f"(plastic inputs, columns 0 .. {L - 1}) must name other trained neurons")
    w = arr("w", shape=(R, p.n_plastic), what="plastic weights (trained neurons, plastic inputs)")
    w0 = arr("w0", shape=(R, p.n_plastic), what="initial plastic weights")
    examples = arr("examples", "int", (None,), lo=0, hi=N - 1, what="recorded untrained neurons")
    # the ALM data are the user's: any real dtype (their neuron ids are labels, of any dtype)
    alm_t = arr("alm_t", "real", (None,), what="times of the ALM samples, ms")
    T = alm_t.shape[0]
    if T < 2 or np.any(np.diff(alm_t) <= 0):
        raise damaged("alm_t", "must hold at least two increasing times")
    alm_ids = arr("alm_ids", "any", (R,), what="ALM neuron of each trained neuron")
    n_bins = int(math.ceil(p.train_duration / FFWD_GRID_MS - 1e-9))
    has_utarg = any(f"alm_utarg_{c}" in a for c in CONDITIONS)
    per = {}
    for c in CONDITIONS:
        per[c] = dict(
            stimulus=arr(f"stimulus_{c}", shape=(N,), what="stimulus of every neuron"),
            targets=arr(f"targets_{c}", shape=(p.n_learn, R),
                        what="targets (learning steps, trained neurons)"),
            rates=arr(f"alm_rates_{c}", "real", (T, R), what="ALM rates (samples, trained neurons)"),
            utarg=arr(f"alm_utarg_{c}", "real", (T, R), what="ALM target inputs") if has_utarg else None,
            ffwd=arr(f"ffwd_rates_{c}", shape=(n_bins, p.n_ffwd),
                     what="feedforward rates (1 ms bins, inputs)") if p.ffwd else None)
    empty = np.zeros(0)
    history = dict(scores=empty, test_loops=np.zeros(0, np.int64), test_scores=empty, test_scores_avg=empty,
                   loop_seconds=empty)
    if has_result or any(name in a for name in history):
        n = arr("scores", shape=(None,), finite=False, what="training score of each loop").shape[0]
        k = arr("test_loops", "int", (None,), lo=1, hi=n, what="loops after which the network was tested")
        history = dict(scores=a["scores"], test_loops=k.astype(np.int64),
                       test_scores=arr("test_scores", shape=k.shape, finite=False),
                       test_scores_avg=arr("test_scores_avg", shape=k.shape, finite=False),
                       loop_seconds=arr("loop_seconds", shape=(n,), finite=False, what="seconds per loop"))
    try:
        exc = Synapses(p.tau_syn, *channels["exc"], name="excitatory")
        inh = Synapses(p.tau_syn, *channels["inh"], name="inhibitory")
        static = StaticNetwork(p, exc, inh, mu)
        utarg = {c: per[c]["utarg"] for c in CONDITIONS} if has_utarg else None
        alm = ALMData({c: per[c]["rates"] for c in CONDITIONS}, utarg, alm_t, alm_source, alm_synthetic,
                      alm_ids)
        ffwd = {c: per[c]["ffwd"] for c in CONDITIONS} if p.ffwd else None
        net = BalancedNetwork(
            p, static, static_rates, alm, {c: per[c]["targets"] for c in CONDITIONS},
            trained.astype(np.int64), presyn.astype(np.int64), w.copy(), w0,
            {c: per[c]["stimulus"] for c in CONDITIONS}, ffwd, examples.astype(np.int64))
        net.lif()  # the engine's own checks of the plastic synapses
    except ValueError as exc:  # not expected after the checks above; still a damaged file, named
        raise FormatError(f"{path} is damaged: {exc}", path=path) from exc
    rls = None
    saved = {k[4:]: a[k] for k in a if k.startswith("rls_")}
    if saved:
        rls = make_rls(net)
        expected = rls.state()
        if "P" in saved and "P" not in expected:  # format 1: one full P per neuron
            m = p.n_plastic
            full = arr("rls_P", shape=(R, m, m), what="RLS matrices, format 1")
            try:
                with np.errstate(all="ignore"):
                    saved = _block_state(full, 2 * L)
            except np.linalg.LinAlgError as exc:
                raise damaged("rls_P", f"cannot be split into the RLS blocks ({exc})") from exc
        state = {}
        for name, target in expected.items():
            state[name] = check_array({f"rls_{k}": v for k, v in saved.items()}, f"rls_{name}", path,
                                      kind="float", shape=target.shape, finite=True, what="RLS state")
        rls.set_state(state)
    return TrainResult(
        network=net,
        **history,
        last=None,
        rls=rls,
        stopped=stopped,
        partial=partial,
    )
