r"""Part 1: a rate RNN whose recurrent input is trained with RLS.

The network (SPEC, Part 1):

.. math::

    \tau \frac{d r_i}{dt} = -r_i + \phi\Big(\underbrace{\textstyle\sum_j W_{ij} r_j}_{u_i}
    + I_i^{\rm ext}(t)\Big), \qquad \phi(x) = \max(x, 0),

integrated with Euler steps of ``dt``; ``r(0) = 0`` at the start of every loop.
Training makes the recurrent input :math:`u_i` of each trained neuron follow
its target :math:`f_i(t) = A \sin(2\pi (t - t_i)/T) + 1` by RLS on the row
:math:`W_{i\cdot}` (every existing synapse onto a trained neuron is plastic).

The equations (ReLU, Euler step, the plain trial loop, weights and targets) are in
:mod:`tutorial_lib.core.rate`; the compiled trial in :mod:`tutorial_lib.engine.rate_kernel`.
:func:`run_trial` and :func:`train` take ``backend="numba" | "numpy"`` to run on either.

Getting started::

    >>> from tutorial_lib import RateParams, rate
    >>> result = rate.train(RateParams(n_loops=5), progress=False)
    >>> result.scores.shape
    (5,)
    >>> test = result.test()              # one more trial, without learning
    >>> round(test.score, 2) > 0.5
    True

References
----------
* Sussillo D, Abbott LF (2009) Generating coherent patterns of activity from chaotic neural
  networks. Neuron 63:544-557. doi:10.1016/j.neuron.2009.07.018 (FORCE: RLS on a recurrent
  network's weights while it runs).
* Haykin S (2002) Adaptive Filter Theory, 4th ed., ch. 9 (the RLS recursion).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .params import RateParams
from .checks import check_int, check_memory, check_train_args, check_type
from .core import rate as core
from .core.rate import choose_trained, random_weights, relu, sine_targets
from .engine import rate_kernel as kernel
from .core.rls import rls_update
from .engine.rls_shared import SharedPoolRLS
from .engine.rls_state import BatchRLS
from .core.stats import score_correlation
from .training import TrainResultBase, advise, inputs_knob, train_rows
from .errors import Advice, DivergenceError

__all__ = [
    "RateNetwork",
    "Trial",
    "TrainResult",
    "BACKENDS",
    "build_network",
    "run_trial",
    "run_trial_numpy",
    "train",
    "relu",
    "advice",
]

#: what ``run_trial(..., backend=...)`` accepts: the compiled kernels or the core's plain loop
BACKENDS = ("numba", "numpy")


@dataclass
class RateNetwork:
    """A rate network and its task: weights, connectivity, stimulus and targets.

    Built by :func:`build_network`; ``W`` changes as the network is trained.
    """

    params: RateParams
    W: np.ndarray  # (N, N) recurrent weights, W[i, j] from j to i
    presyn: np.ndarray  # (N, K) inputs of each neuron
    stimulus: np.ndarray  # (N,) input during the stimulus
    time_shifts: np.ndarray  # (N,) time shift t_i of each target sine, ms
    trained: np.ndarray  # indices of the trained neurons, sorted

    def copy(self) -> "RateNetwork":
        return RateNetwork(self.params, self.W.copy(), self.presyn, self.stimulus, self.time_shifts, self.trained)

    def targets(self, t) -> np.ndarray:
        """Targets of all neurons at times ``t`` (ms), zero before the training window."""
        p = self.params
        return sine_targets(t, self.time_shifts, p.target_amplitude, p.target_period, p.target_offset, p.stim_off)


def build_network(params: RateParams | None = None) -> RateNetwork:
    """Draw connectivity, weights, stimulus, target time shifts and trained neurons from ``params.seed``.

    Raises TypeError if ``params`` is not a RateParams, and
    :class:`~tutorial_lib.checks.MemoryEstimateError` (a ValueError naming the
    parameter) if a trial would not fit in memory.
    """
    p = RateParams() if check_type("params", params, RateParams, allow_none=True) is None else params
    check_memory(p)
    rng = np.random.default_rng(p.seed)
    presyn, W = random_weights(rng, p)
    stimulus = rng.uniform(0.0, p.stim_max, size=p.N)
    time_shifts = rng.uniform(0.0, p.target_period, size=p.N)
    trained = choose_trained(rng, p)
    return RateNetwork(p, W, presyn, stimulus, time_shifts, trained)


@dataclass
class Trial:
    """What one trial recorded. Times in ms; arrays are (time, neuron)."""

    t: np.ndarray
    r: np.ndarray  # rates
    u: np.ndarray  # recurrent input W r
    target: np.ndarray
    trained: np.ndarray
    window: np.ndarray  # boolean mask of t inside the training window
    corr: np.ndarray = field(default=None)  # per trained neuron

    @property
    def score(self) -> float:
        """Mean Pearson correlation of u and target over trained neurons, in the training window."""
        return float(np.mean(self.corr))


def _grid(p: RateParams):
    """Step counts of the trial's events."""
    steps = lambda ms: int(round(ms / p.dt))  # noqa: E731 - grids were validated in params
    return dict(
        n_steps=steps(p.t_end), stim_on=steps(p.stim_on), stim_off=steps(p.stim_off),
        learn_every=steps(p.learn_every), rec_every=steps(p.record_every),
    )


def run_trial_numpy(net: RateNetwork, learn: bool = False):
    """One trial of Part 1 in plain NumPy, with RLS written out per neuron: what :func:`run_trial` computes.

    The loop a student can read beside the SPEC (:func:`tutorial_lib.core.rate.run_trial`): at each
    step, first (inside the training window, every ``learn_every`` ms) one
    :func:`~tutorial_lib.core.rls.rls_update` per trained neuron on its row of ``W``, then the recurrent
    input ``u = W r``, then one :func:`~tutorial_lib.core.rate.euler_step`. Works on a copy of
    ``net.W``; RLS starts from ``P = I / lam``, as in the first training loop.

    Returns ``(W, u, X, learn_steps)``: the weights after the trial (N, N); the
    recurrent input every ``record_every`` ms (time, N); the rates at each
    learning step, the regressors of RLS (learning steps, N); and the steps at
    which RLS ran. ``tests/test_rate.py::test_compiled_trial_matches_numpy_reference``
    checks that the compiled :func:`run_trial` gives the same ``u`` and ``W``.
    """
    p = net.params
    W = net.W.copy()
    g = _grid(p)
    P = {i: np.eye(p.n_inputs) / p.lam for i in net.trained}
    learn_steps = np.arange(g["stim_off"], g["n_steps"], g["learn_every"]) if learn else np.zeros(0, np.int64)
    X = []

    def rls_per_neuron(k, r, W):
        X.append(r.copy())
        f = net.targets(np.array([learn_steps[k] * p.dt]))[0]
        for i in net.trained:
            pre = net.presyn[i]
            w = W[i, pre]  # a copy (fancy indexing): update it, then write it back
            rls_update(P[i], w, r[pre], f[i])
            W[i, pre] = w

    _, u, _, _, _ = core.run_trial(W, net.stimulus, p.dt / p.tau, g["n_steps"], g["stim_on"], g["stim_off"],
                                   g["rec_every"], learn_steps, rls_per_neuron)
    return W, u, np.array(X).reshape(-1, p.N), learn_steps.astype(np.int64)


def _run_numba(net: RateNetwork, rls, g: dict, learn_steps, learn):
    """The trial on the compiled kernels (:mod:`tutorial_lib.engine.rate_kernel`): what
    :func:`tutorial_lib.core.rate.run_trial` computes, with ``W`` read transposed."""
    p = net.params
    n_rec = (g["n_steps"] - 1) // g["rec_every"] + 1
    r_rec = np.empty((n_rec, p.N))
    u_rec = np.empty((n_rec, p.N))
    r = np.zeros(p.N)
    u = np.empty(p.N)
    WT = np.ascontiguousarray(net.W.T)  # the kernel reads W by presynaptic column (recurrent_input)

    def advance(s0, s1):
        return kernel.advance(WT, r, u, net.stimulus, g["stim_on"], g["stim_off"], s0, s1, p.dt / p.tau,
                              g["rec_every"], r_rec, u_rec, p.max_rate)

    status, step, s = 0, 0, 0
    for j, s_learn in enumerate(learn_steps):
        status, step = advance(s, s_learn)
        if status:
            break
        learn(j, r)
        kernel.write_rows(net.W, WT, net.trained, rls.presyn, rls.w)  # the plastic weights are the trained rows of W
        s = s_learn
    if not status:
        status, step = advance(s, g["n_steps"])
    return r_rec, u_rec, r, status, step


def _run_numpy(net: RateNetwork, rls, g: dict, learn_steps, learn):
    """The trial on the core's plain loop (:func:`tutorial_lib.core.rate.run_trial`), the same RLS."""
    p = net.params

    def learn_and_write(j, r, W):
        learn(j, r)
        W[net.trained[:, None], rls.presyn] = rls.w  # the plastic weights are the trained rows of W

    return core.run_trial(net.W, net.stimulus, p.dt / p.tau, g["n_steps"], g["stim_on"], g["stim_off"],
                          g["rec_every"], learn_steps, learn_and_write, p.max_rate)


def run_trial(net: RateNetwork, rls: BatchRLS | SharedPoolRLS | None = None, loop: int | None = None,
              backend: str = "numba") -> Trial:
    """Simulate one trial from r = 0. With ``rls``, train ``net.W`` in place as it runs.

    The dynamics run between learning steps on the compiled kernels (``backend="numba"``) or on the
    core's plain loop (``backend="numpy"``, :func:`tutorial_lib.core.rate.run_trial`); at each
    learning step (every ``learn_every`` ms from the end of the stimulus) the trained rows
    of ``W`` get one RLS update from the current rates, before the step's
    recurrent input is computed. Raises TypeError for arguments of the wrong class, ValueError for
    an unknown backend.
    """
    check_type("net", net, RateNetwork)
    check_type("rls", rls, (BatchRLS, SharedPoolRLS), allow_none=True)
    if loop is not None:
        loop = check_int("loop", loop, lo=0)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))} (got {backend!r})")
    p = net.params
    g = _grid(p)
    learn_steps = np.arange(g["stim_off"], g["n_steps"], g["learn_every"]) if rls is not None else []
    learn = None if rls is None else _rls_learner(net, rls, learn_steps)
    run = _run_numba if backend == "numba" else _run_numpy
    r_rec, u_rec, r, status, step = run(net, rls, g, learn_steps, learn)
    t = np.arange(len(r_rec)) * p.record_every
    target = net.targets(t)
    window = t >= p.stim_off
    if status != 0:
        _diverged(net, rls, loop, g, Trial(t, r_rec, u_rec, target, net.trained, window), r, step)
    corr = score_correlation(u_rec[window][:, net.trained], target[window][:, net.trained])
    return Trial(t, r_rec, u_rec, target, net.trained, window, corr)


def _rls_learner(net: RateNetwork, rls, learn_steps):
    """``learn(j, r)``: one step of ``rls`` towards the targets at ``learn_steps[j]``, from the rates ``r``."""
    f_learn = np.ascontiguousarray(net.targets(learn_steps * net.params.dt)[:, net.trained])
    no_other = np.zeros(len(net.trained))

    def learn(j, r):
        rls.step(r, f_learn[j], no_other)

    return learn


def _diverged(net: RateNetwork, rls, loop, g: dict, partial: Trial, r, step: int):
    """Raise the :class:`DivergenceError` of a trial stopped at ``step`` (``r``: the rates then)."""
    p = net.params
    partial.r[(step // g["rec_every"]) + 1:] = np.nan
    partial.u[(step // g["rec_every"]) + 1:] = np.nan
    partial.corr = np.full(len(net.trained), np.nan)
    bad = ~(r <= p.max_rate)  # the kernel stops at the first neuron whose rate left [0, max_rate]
    neuron = int(np.argmax(bad))
    kind = "nonfinite" if not np.isfinite(r[neuron]) else "runaway"
    what = "became infinite or NaN" if kind == "nonfinite" else f"exceeded max_rate = {p.max_rate:g}"
    err = DivergenceError(f"The rate of neuron {neuron} {what} at t = {step * p.dt:.1f} ms.",
                          phase="learning" if rls is not None else "untrained", kind=kind,
                          t_ms=step * p.dt, neuron=neuron, loop=loop if rls is not None else None,
                          params=p, trial=partial)
    raise err.annotate(advice=advice(err))


#: what may make Part 1's rates blow up: (parameter, what undoes it, named even if unchanged, label)
#: (K, or N when all-to-all (K = N - 1, not set by the user): the gain sigma sqrt(K) grows with the inputs
#: per neuron, see :func:`~tutorial_lib.training.inputs_knob`; a target amplitude of either sign far from
#: the default: "shrink")
_NETWORK = (("sigma", "lower", True, None), ("K", "lower", False, None), ("N", "lower", False, None),
            ("stim_max", "lower", False, None), ("max_rate", "raise", False, None))
_RLS = (("lam", "raise", True, "lambda"), ("learn_every", "lower", False, None),
        ("target_amplitude", "shrink", False, None), ("target_offset", "lower", False, None))


def advice(err: DivergenceError, params: RateParams | None = None,
           reference: RateParams | None = None) -> Advice:
    """What to change after ``err`` in Part 1: the parameters that most plausibly caused it.

    The rule, from the error's data (never its text), with ``g = sigma sqrt(K)``:

    * before the training window opens (an untrained network, or a learning trial before
      ``stim_off``): RLS could not act yet, so the network itself: lower ``sigma`` (a ReLU network
      with ``g`` above about 1.4 grows without bound), or ``stim_max`` if the stimulus alone
      drives the rates that high;
    * once RLS has acted (a later loop, or the training window of the first), with ``g <= 1.5``
      (the untrained network is tame): RLS changed the weights too much: raise ``lam``;
    * otherwise both: raise ``lam`` or lower ``sigma``.

    Any parameter far from its ``reference`` value (default: the defaults; a dashboard passes the
    values it started from) in the direction that causes a blow-up is named first (``K``, or ``N``
    when all-to-all, ``stim_max``, ``learn_every``, a ``target_amplitude`` far from 0 of either sign,
    ...). ``params`` default ``err.params``. See :func:`~tutorial_lib.training.advise`.
    """
    p = err.params if params is None else params
    stim_off = int(round(p.stim_off / p.dt)) * p.dt
    before_window = err.phase == "untrained" or (
        err.phase == "learning" and not err.loop and err.t_ms < stim_off)
    network = inputs_knob(_NETWORK, p)
    if before_window and p.stim_max >= 0.1 * p.max_rate:  # the stimulus alone drives the rates that high
        network = tuple((n, f, usual or n == "stim_max", lab) for n, f, usual, lab in _NETWORK)
    gain = (f"The gain is g = sigma sqrt(K) = {p.g:.2f}; a ReLU network with g above about 1.4 can grow "
            "without bound.")
    if before_window:
        why = gain + (" It came before the training window opens, so RLS could not act yet."
                      if err.phase == "learning" else
                      " Training can still tame a stronger network: RLS corrects the weights from the end of "
                      "the stimulus on.")
        return advise(p, network, reference=reference, why=why)
    if (err.loop or err.phase == "learning") and p.g <= 1.5:  # the weights RLS learned ran away
        why = "RLS changed the weights too much (a larger lambda changes them less)."
        return advise(p, _RLS + tuple((n, f, False, lab) for n, f, _, lab in network), reference=reference,
                      why=why)
    why = gain + " RLS may also have changed the weights too much (a larger lambda changes them less)."
    return advise(p, _RLS[:1] + network + _RLS[1:], reference=reference, why=why)


class TrainResult(TrainResultBase):
    """What :func:`train` returns; see :class:`~tutorial_lib.training.TrainResultBase`."""

    def test(self, backend: str = "numba") -> Trial:
        """A trial of the trained network without learning, on ``backend`` (see :func:`run_trial`).

        Raises :class:`DivergenceError` (``phase="test"``) if the rates blow up."""
        return self._test_trial(run_trial, advice, backend=backend)


def train(params: RateParams | RateNetwork | None = None, *, n_loops: int | None = None, callback=None,
          progress: bool = True, stop=None, backend: str = "numba") -> TrainResult:
    """Train a rate network with RLS for ``n_loops`` loops (default ``params.n_loops``).

    Parameters
    ----------
    params : RateParams (a new network is built), or a RateNetwork to train further.
    callback : called as ``callback(loop, trial, scores)`` after every loop
        (loop counts from 0); return ``False`` to stop training early.
    progress : show a progress bar (tqdm).
    stop : an object with ``is_set()`` (a ``threading.Event``); training stops
        after the current loop once it is set.
    backend : ``"numba"`` (compiled kernels) or ``"numpy"`` (the core's plain loop); see :func:`run_trial`.

    Raises :class:`DivergenceError` (its cause as data, and :func:`advice`) if the rates blow up; TypeError
    or ValueError, naming the argument, for bad arguments (before any simulation).
    """
    check_type("params", params, (RateParams, RateNetwork), allow_none=True)
    n_loops = check_train_args(n_loops, callback, stop)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))} (got {backend!r})")
    if isinstance(params, RateNetwork):
        check_memory(params.params)
    net = params.copy() if isinstance(params, RateNetwork) else build_network(params)
    def run(net, rls, loop):
        return run_trial(net, rls, loop, backend=backend)

    return train_rows(net, run, TrainResult, n_loops=n_loops, callback=callback, progress=progress,
                      stop=stop, desc="Part 1 training")
