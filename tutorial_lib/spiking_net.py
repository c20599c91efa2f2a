r"""Part 2: a generic network of LIF neurons whose synaptic input is trained with RLS.

The network (SPEC, Part 2), simulated by :func:`tutorial_lib.engine.simulate.simulate` (any neuron model
of :mod:`tutorial_lib.core.lif` with ``backend="numpy"``; the LIF, the default, also compiled):

.. math::

    \tau_m \frac{dv_i}{dt} = -v_i + \mu + u_i + \sigma_\xi \xi_i, \qquad
    u_i = \sum_j W_{ij} r_j, \qquad
    \tau_s \frac{dr_j}{dt} = -r_j + \sum_k \delta(t - t_j^k),

threshold 1, reset 0, :math:`W_{ij} \sim \mathcal N(0, \sigma^2)` all-to-all
without autapses (or ``K`` random inputs each), a stimulus between 800 and
1000 ms. Training (every 20 ms in the window 1000 to 3000 ms) makes the total
input :math:`\mu + u_i` of each trained neuron follow

.. math::

    f_i(t) = A \sin\big(2\pi ((t - t_0)/T + \phi_i)\big) + \bar u_i,
    \qquad t_0 = 1000 \text{ ms (start of the window)},

where :math:`\bar u_i` is the neuron's mean input in one run of the untrained
network (the sine is added to what the network does anyway). RLS treats the
filtered spike trains :math:`r_j` as the regressors and the row
:math:`W_{i\cdot}` as the weights: a linear regression at every learning step,
exactly as in Part 1 with rates replaced by filtered spikes. The score of a
trial is the Pearson correlation between :math:`\mu + u_i` and :math:`f_i` over
the training window, sampled every ``record_every`` (1 ms), averaged over the
trained neurons.

Getting started::

    >>> from tutorial_lib import SpikingParams
    >>> from tutorial_lib import spiking_net
    >>> result = spiking_net.train(SpikingParams(n_loops=5), progress=False)
    >>> result.scores.shape
    (5,)
    >>> test = result.test()              # one more trial, without learning
    >>> test.total_input.shape            # mu + u, every 1 ms, all neurons
    (3000, 100)

References
----------
* Kim CM, Chow CC (2018) Learning recurrent dynamics in spiking networks. eLife 7:e37124.
  doi:10.7554/eLife.37124 (the model and training of this part).
* Nicola W, Clopath C (2017) Supervised learning in spiking neural networks with FORCE training.
  Nat Commun 8:2208. doi:10.1038/s41467-017-01827-3.
* Sussillo D, Abbott LF (2009) Neuron 63:544-557. doi:10.1016/j.neuron.2009.07.018.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .core.rate import choose_trained, random_weights
from .engine.rls_shared import SharedPoolRLS
from .engine.rls_state import BatchRLS
from .core.lif import NeuronModel
from .engine.lif_checks import per_neuron
from .engine.lif_data import Learning, LIFNetwork, PlasticSynapses, Run, Synapses
from .engine.simulate import BACKENDS, simulate
from .params import SpikingParams
from .checks import check_int, check_memory, check_real, check_train_args, check_type
from .core.stats import score_correlation
from .training import TrainResultBase, advise, inputs_knob, train_rows
from .errors import Advice, DivergenceError

__all__ = [
    "SpikingNetwork",
    "Trial",
    "TrainResult",
    "build_network",
    "run_trial",
    "train",
    "spontaneous_mean_input",
    "advice",
    "simulate_single",
    "simulate_pair",
]

# Independent random streams, all derived from params.seed
_BUILD, _SPONTANEOUS, _TRAIN, _TEST = 0, 1, 2, 3


@dataclass
class SpikingNetwork:
    """A spiking network and its task: weights, connectivity, stimulus, targets.

    Built by :func:`build_network`; ``W`` changes as the network is trained.
    ``ubar`` is each neuron's mean total input in the spontaneous run (the
    target's offset).
    """

    params: SpikingParams
    W: np.ndarray  # (N, N) W[i, j] from j to i
    presyn: np.ndarray  # (N, K) inputs of each neuron
    stimulus: np.ndarray  # (N,) added to mu during the stimulus
    phases: np.ndarray  # (N,) target phase phi_i in [0, 1)
    trained: np.ndarray  # indices of the trained neurons, sorted
    ubar: np.ndarray = field(default=None)  # (N,) mean spontaneous input
    model: NeuronModel | None = None  # the neuron model (None: the LIF of params)
    backend: str = "numba"  # the engine's backend (simulate's)
    _recorded_targets: tuple = field(default=None, init=False, repr=False, compare=False)

    def copy(self) -> "SpikingNetwork":
        return SpikingNetwork(self.params, self.W.copy(), self.presyn, self.stimulus, self.phases,
                              self.trained, self.ubar, self.model, self.backend)

    def _targets_at(self, t) -> np.ndarray:
        """:meth:`targets` at the recording grid ``t``, computed once per network (read-only)."""
        cached = self._recorded_targets
        if cached is None or cached[0] is not self.ubar or not np.array_equal(cached[1], t):
            f = self.targets(t)
            f.flags.writeable = False
            self._recorded_targets = cached = (self.ubar, t, f)
        return cached[2]

    def targets(self, t) -> np.ndarray:
        """Targets of all neurons at times ``t`` (ms), shape (len(t), N)."""
        p = self.params
        t = np.asarray(t, dtype=np.float64)[:, None]
        phase = (t - p.stim_off) / p.target_period + self.phases
        return p.target_amplitude * np.sin(2 * np.pi * phase) + self.ubar

    def lif(self, tau_s: float | None = None) -> LIFNetwork:
        """The network in the engine's terms: trained rows plastic, the others a static channel.

        ``tau_s`` is the synaptic time constant (default ``params.tau_s``).
        """
        p = self.params
        tau = p.tau_s if tau_s is None else tau_s
        tr = self.trained
        plastic = PlasticSynapses(tau, rows=tr, presyn=self.presyn[tr],
                                  w=self.W[tr[:, None], self.presyn[tr]], n_sources=p.N)
        static = ()
        untrained = np.setdiff1d(np.arange(p.N), tr)
        if untrained.size:
            pre = self.presyn[untrained]
            post = np.repeat(untrained, pre.shape[1])
            static = (Synapses.from_pairs(pre.ravel(), post, self.W[post, pre.ravel()], p.N, tau,
                                          name="recurrent (untrained)"),)
        return LIFNetwork(mu=np.full(p.N, p.mu), tau_m=p.tau_m, dt=p.dt, noise=p.noise,
                          static=static, plastic=plastic)


@dataclass
class Trial:
    """What one trial recorded. Times in ms; arrays are (time, neuron), sampled every ``record_every``.

    ``total_input`` is ``mu + stimulus + u`` (the trained quantity);
    ``target`` the targets on the same grid (read-only: shared by the trials of a
    network); ``corr`` the correlation of total input and target of each trained neuron over
    the training window; ``errors`` (learning steps, trained neurons) the RLS
    errors before each update (None without learning); ``run`` the engine's record.
    """

    t: np.ndarray
    v: np.ndarray
    total_input: np.ndarray
    target: np.ndarray
    spike_times: np.ndarray
    spike_neurons: np.ndarray
    trained: np.ndarray
    window: np.ndarray  # boolean mask of t inside the training window
    corr: np.ndarray
    errors: np.ndarray | None
    run: Run

    @property
    def score(self) -> float:
        """Mean Pearson correlation of total input and target over trained neurons, in the training window."""
        return float(np.mean(self.corr))

    @property
    def rates(self) -> np.ndarray:
        """Firing rate of each neuron over the trial, Hz."""
        return self.run.rates()


#: what may make Part 2's activity blow up: (parameter, what undoes it, named even if unchanged, label)
#: (K, or N when all-to-all (training.inputs_knob); a target amplitude of either sign: "shrink")
_NETWORK = (("sigma", "lower", True, None), ("K", "lower", False, None), ("N", "lower", False, None),
            ("mu", "lower", True, None))
_DRIVE = (("noise", "lower", False, None), ("stim_std", "lower", False, None),
          ("target_amplitude", "shrink", False, None), ("max_rate", "raise", False, None))
_RLS = (("lam", "raise", True, "lambda"), ("error_noise", "lower", False, None),
        ("learn_every", "lower", False, None), ("tau_s", "raise", False, None))


def advice(err: DivergenceError, params: SpikingParams | None = None, reference: SpikingParams | None = None
           ) -> Advice:
    """What to change after ``err`` in Part 2: the parameters that most plausibly caused it.

    The rule, from the error's data (never its text): if RLS has already changed the weights
    (a learning trial after the first loop or after the training window opened, or a test trial),
    RLS changed them too much: raise ``lam`` (and lower ``error_noise`` if it is set); otherwise
    the network itself is too strongly coupled or driven: lower ``sigma`` or ``mu``. Any
    parameter far from its ``reference`` value (default: the defaults; a dashboard passes the
    values it started from) in the direction that causes a blow-up is named first (``K``, or ``N``
    when all-to-all, ``noise``, ``stim_std``, ``target_amplitude`` of either sign, ``max_rate``, ...).
    ``params`` default ``err.params``. See :func:`~tutorial_lib.training.advise`.
    """
    p = err.params if params is None else params
    rls_acted = err.phase == "test" or (err.phase == "learning" and (bool(err.loop) or err.t_ms > p.stim_off))
    if rls_acted:
        why = "RLS changed the weights too much (a larger lambda makes each update change them less)."
        candidates = _RLS + tuple((n, f, False, lab) for n, f, _, lab in inputs_knob(_NETWORK, p)) + _DRIVE
    else:
        why = "The untrained network is too strongly coupled or driven."
        candidates = inputs_knob(_NETWORK, p) + _DRIVE
    return advise(p, candidates, reference=reference, why=why)


def _simulate(net: SpikingNetwork, tau_s: float, rng, learning: Learning | None,
              lif: LIFNetwork | None = None, loop: int | None = None) -> Run:
    """One run of the engine; a DivergenceError gets its phase, loop, parameters and advice."""
    p = net.params
    lif = net.lif(tau_s) if lif is None else lif
    try:
        return simulate(lif, p.t_end, rng=rng, stimulus=net.stimulus, stim_window=(p.stim_on, p.stim_off),
                        record_every=p.record_every, learning=learning, max_rate=p.max_rate, model=net.model,
                        backend=net.backend)
    except DivergenceError as err:
        err.annotate(loop=loop if learning is not None else None, params=p)
        raise err.annotate(advice=advice(err))


def spontaneous_mean_input(net: SpikingNetwork) -> np.ndarray:
    """Each neuron's mean total input ``mu + u_i`` in the training window of one untrained run.

    The run uses the SPEC's short synaptic time constant ``tau_s_spont`` (3 ms)
    and the trial's stimulus; a synaptic filter does not change the mean.
    """
    p = net.params
    run = _simulate(net, p.tau_s_spont, np.random.default_rng([p.seed, _SPONTANEOUS]), None)
    return run.total_input[run.t >= p.stim_off].mean(axis=0)


def build_network(params: SpikingParams | None = None, *, model: NeuronModel | None = None,
                  backend: str = "numba") -> SpikingNetwork:
    """Draw connectivity, weights, stimulus, phases and trained neurons; measure ``ubar`` in one run.

    ``model`` the neuron model (default the LIF of ``params``), ``backend`` the engine's (``"numba"``:
    the compiled LIF kernel; ``"numpy"``: the core's plain run, any model); the network keeps both.
    Raises TypeError if ``params`` is not a SpikingParams (or ``model`` not a NeuronModel), ValueError
    naming ``backend`` for an unknown backend or a model without a kernel on ``"numba"``, and
    :class:`~tutorial_lib.checks.MemoryEstimateError` (a ValueError naming the
    parameter) if a trial would not fit in memory.
    """
    p = SpikingParams() if check_type("params", params, SpikingParams, allow_none=True) is None else params
    check_type("model", model, NeuronModel, allow_none=True)
    _check_backend(model, backend)
    check_memory(p)
    rng = np.random.default_rng([p.seed, _BUILD])
    presyn, W = random_weights(rng, p)  # the draws of Part 1, in the same order
    stimulus = rng.normal(0.0, p.stim_std, size=p.N)
    phases = rng.uniform(0.0, 1.0, size=p.N)
    trained = choose_trained(rng, p)
    net = SpikingNetwork(p, W, presyn, stimulus, phases, trained, model=model, backend=backend)
    net.ubar = spontaneous_mean_input(net)
    return net


def _check_backend(model: NeuronModel | None, backend) -> None:
    """ValueError naming ``backend`` if it is unknown, or ``"numba"`` for a model without a kernel."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS} (got {backend!r})")
    if backend == "numba" and model is not None and model.name != "lif":
        raise ValueError(f"backend='numba' has a compiled kernel for the LIF model only; the model "
                         f"{model.name!r} runs with backend='numpy'")


def learning_times(p: SpikingParams) -> np.ndarray:
    """Times (ms) of the RLS updates: stim_off, stim_off + learn_every, ... before the end of the trial
    (``p.learn_times``, the one definition every part shares)."""
    return p.learn_times


def run_trial(net: SpikingNetwork, rls: BatchRLS | SharedPoolRLS | None = None, loop: int | None = None, *,
              rng: np.random.Generator | None = None, model: NeuronModel | None = None,
              backend: str | None = None) -> Trial:
    """Simulate one trial (``v(0) ~ Uniform(0, 1)``, synapses at 0). With ``rls``, train ``net.W`` in place.

    The noise comes from ``rng``; by default from a stream fixed by
    ``params.seed`` and ``loop`` (one for training loops, another for tests), so
    the same network, seed and loop give the same spikes. Raises TypeError for
    arguments of the wrong class.
    """
    check_type("net", net, SpikingNetwork)
    check_type("rls", rls, (BatchRLS, SharedPoolRLS), allow_none=True)
    check_type("rng", rng, np.random.Generator, allow_none=True)
    if loop is not None:
        loop = check_int("loop", loop, lo=0)
    p = net.params
    if rng is None:
        stream = _TRAIN if rls is not None else _TEST
        rng = np.random.default_rng([p.seed, stream, 0 if loop is None else loop])
    lif = net.lif()
    learning = None
    if rls is not None:
        times = learning_times(p)
        learning = Learning(rls, times, net.targets(times)[:, net.trained], p.error_noise)
    try:
        run = _simulate(net, p.tau_s, rng, learning, lif, loop)
    finally:
        if rls is not None:  # keep what was learned, even if the run stopped
            tr = net.trained
            net.W[tr[:, None], net.presyn[tr]] = lif.plastic.w
    t = run.t
    target = net._targets_at(t)
    window = t >= p.stim_off
    total_input = run.total_input
    first = int(np.argmax(window))  # the window is the end of the trial
    if net.trained.shape[0] == p.N:
        corr = score_correlation(total_input[first:], target[first:])
    else:
        corr = score_correlation(total_input[first:, net.trained], target[first:, net.trained])
    return Trial(t, run.v, total_input, target, run.spike_times, run.spike_neurons, net.trained, window, corr,
                 run.errors, run)


def _with_engine(net: SpikingNetwork, model: NeuronModel | None, backend: str | None) -> SpikingNetwork:
    """``net`` itself (its weights trained in place) with ``model`` / ``backend`` replaced where given."""
    model = net.model if model is None else model
    backend = net.backend if backend is None else backend
    _check_backend(model, backend)
    view = SpikingNetwork(net.params, net.W, net.presyn, net.stimulus, net.phases, net.trained, net.ubar,
                          model, backend)
    view._recorded_targets = net._recorded_targets
    return view


class TrainResult(TrainResultBase):
    """What :func:`train` returns; see :class:`~tutorial_lib.training.TrainResultBase`."""

    def test(self, trial: int = 0) -> Trial:
        """A trial of the trained network without learning (``trial`` >= 0 picks the noise realisation).

        Raises :class:`~tutorial_lib.training.DivergenceError` (``phase="test"``) if the activity blows up."""
        trial = check_int("trial", trial, lo=0, what="noise realisation")
        return self._test_trial(run_trial, advice, loop=trial)


def train(params: SpikingParams | SpikingNetwork | None = None, *, n_loops: int | None = None, callback=None,
          progress: bool = True, stop=None, model: NeuronModel | None = None,
          backend: str | None = None) -> TrainResult:
    """Train a spiking network with RLS for ``n_loops`` loops (default ``params.n_loops``).

    Parameters
    ----------
    params : SpikingParams (a new network is built, including its spontaneous
        run), or a SpikingNetwork to train further (from a fresh RLS state).
    callback : called as ``callback(loop, trial, scores)`` after every loop
        (loop counts from 0); return ``False`` to stop training early.
    progress : show a progress bar (tqdm).
    stop : an object with ``is_set()`` (a ``threading.Event``); training stops
        after the current loop once it is set.
    model, backend : the neuron model and the engine (:func:`build_network`; for a SpikingNetwork,
        default its own).

    Raises :class:`~tutorial_lib.training.DivergenceError` (its cause as data, and :func:`advice`) if the
    activity blows up;
    TypeError or ValueError, naming the argument, for bad arguments (before any simulation).
    """
    check_type("params", params, (SpikingParams, SpikingNetwork), allow_none=True)
    n_loops = check_train_args(n_loops, callback, stop)
    check_type("model", model, NeuronModel, allow_none=True)
    if isinstance(params, SpikingNetwork):
        check_memory(params.params)
        net = _with_engine(params, model, backend).copy()
    else:
        net = build_network(params, model=model, backend="numba" if backend is None else backend)
    return train_rows(net, run_trial, TrainResult, n_loops=n_loops, callback=callback, progress=progress,
                      stop=stop, desc="Part 2 training")


# ---------------------------------------------------------------------------
# The demos of Part 2: one neuron and two


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
    mu = per_neuron("mu", mu, 2, what="constant input of each neuron")
    v0 = per_neuron("v0", v0, 2, what="initial voltages, threshold 1")
    syn = Synapses.from_dense(W, tau=tau_s, name="synaptic")
    net = LIFNetwork(mu=mu, tau_m=tau_m, dt=dt, noise=noise, static=(syn,))
    return simulate(net, T, rng=np.random.default_rng(seed), v0=v0, record_every=record_every, max_rate=1e4)
