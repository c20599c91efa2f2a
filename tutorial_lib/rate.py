r"""Part 1: a rate RNN whose recurrent input is trained with RLS.

The network (SPEC, Part 1):

.. math::

    \tau \frac{d r_i}{dt} = -r_i + \phi\Big(\underbrace{\textstyle\sum_j W_{ij} r_j}_{u_i}
    + I_i^{\rm ext}(t)\Big), \qquad \phi(x) = \max(x, 0),

integrated with Euler steps of ``dt``; ``r(0) = 0`` at the start of every loop.
Training makes the recurrent input :math:`u_i` of each trained neuron follow
its target :math:`f_i(t) = A \sin(2\pi (t - t_i)/T) + 1` by RLS on the row
:math:`W_{i\cdot}` (every existing synapse onto a trained neuron is plastic).

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
from numba import njit

from .params import RateParams
from .checks import check_int, check_memory, check_train_args, check_type
from .engine.rls_shared import SharedPoolRLS
from .engine.rls_state import BatchRLS
from .training import TrainResultBase, advise, inputs_knob, score_correlation, train_rows
from .errors import Advice, DivergenceError

__all__ = [
    "RateNetwork",
    "Trial",
    "TrainResult",
    "build_network",
    "run_trial",
    "train",
    "relu",
    "random_presyn",
    "random_weights",
    "choose_trained",
    "sine_targets",
    "euler_step",
    "run_trial_numpy",
    "advice",
]


def relu(x):
    """The activation function phi(x) = max(x, 0)."""
    return np.maximum(x, 0.0)


def random_presyn(rng: np.random.Generator, N: int, K: int) -> np.ndarray:
    """For each neuron, ``K`` distinct presynaptic partners other than itself, sorted.

    With ``K = N - 1`` this is all-to-all connectivity without autapses.
    """
    presyn = np.empty((N, K), dtype=np.int64)
    for i in range(N):
        others = np.delete(np.arange(N), i)
        presyn[i] = others if K == N - 1 else np.sort(rng.choice(others, size=K, replace=False))
    return presyn


def random_weights(rng: np.random.Generator, p) -> tuple[np.ndarray, np.ndarray]:
    """The random recurrent network of parts 1 and 2: ``(presyn, W)``, drawn from ``rng`` in this order.

    ``presyn`` (N, K): each neuron's presynaptic partners (:func:`random_presyn`); ``W`` (N, N): zero
    but at those synapses, where it is ``Normal(0, sigma^2)``. ``p``: RateParams or SpikingParams.
    """
    presyn = random_presyn(rng, p.N, p.n_inputs)
    W = np.zeros((p.N, p.N))
    rows = np.repeat(np.arange(p.N), p.n_inputs)
    W[rows, presyn.ravel()] = rng.normal(0.0, p.sigma, size=p.N * p.n_inputs)
    return presyn, W


def choose_trained(rng: np.random.Generator, p) -> np.ndarray:
    """The trained neurons of parts 1 and 2, sorted: all of them, or ``p.n_trained`` drawn from ``rng``
    without replacement (no draw when all are trained)."""
    if p.n_trained == p.N:
        return np.arange(p.N)
    return np.sort(rng.choice(p.N, size=p.n_trained, replace=False))


def sine_targets(t, time_shifts, amplitude=1.0, period=100.0, offset=1.0, t_start=None):
    """Target ``f_i(t) = A sin(2 pi (t - t_i) / T) + offset``, shape (len(t), len(time_shifts)).

    ``time_shifts`` are the ``t_i`` (ms): a shift of ``t_i`` is a phase of ``t_i / T`` cycles
    (Part 2 draws that phase, as a fraction of a cycle, directly).

    Zero before ``t_start`` (the start of the training window), if given.
    """
    t = np.asarray(t, dtype=np.float64)[:, None]
    f = amplitude * np.sin(2 * np.pi * (t - time_shifts[None, :]) / period) + offset
    if t_start is not None:
        f = np.where(t >= t_start, f, 0.0)
    return f


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


# ---------------------------------------------------------------------------
# The trial in plain NumPy: the equations as written. The compiled trial below does the same.


def euler_step(r, u, stim, dt_tau):
    r"""One Euler step of the rate equation :math:`\tau\, dr/dt = -r + \phi(u + I^{\rm ext})`.

    ``r`` (N,) rates now, ``u`` (N,) recurrent input ``W r`` now, ``stim`` (N,)
    external input now (0 outside the stimulus), ``dt_tau = dt / tau``.
    Returns the rates one step later: ``r + dt/tau (-r + relu(u + stim))``.
    """
    return r + dt_tau * (relu(u + stim) - r)


def run_trial_numpy(net: RateNetwork, learn: bool = False):
    """One trial of Part 1 in plain NumPy, with RLS written out per neuron: what :func:`run_trial` computes.

    The loop a student can read beside the SPEC: at each step, first (inside
    the training window, every ``learn_every`` ms) one :func:`~tutorial_lib.core.rls.rls_update`
    per trained neuron on its row of ``W``, then the recurrent input ``u = W r``,
    then one :func:`euler_step`. Works on a copy of ``net.W``; RLS starts from
    ``P = I / lam``, as in the first training loop.

    Returns ``(W, u, X, learn_steps)``: the weights after the trial (N, N); the
    recurrent input every ``record_every`` ms (time, N); the rates at each
    learning step, the regressors of RLS (learning steps, N); and the steps at
    which RLS ran. ``tests/test_rate.py::test_compiled_trial_matches_numpy_reference``
    checks that the compiled :func:`run_trial` gives the same ``u`` and ``W``.
    """
    from .core.rls import rls_update

    p = net.params
    W = net.W.copy()
    n_steps = int(round(p.t_end / p.dt))
    on, off = int(round(p.stim_on / p.dt)), int(round(p.stim_off / p.dt))
    every = int(round(p.learn_every / p.dt))
    rec = int(round(p.record_every / p.dt))
    P = {i: np.eye(p.n_inputs) / p.lam for i in net.trained}
    r = np.zeros(p.N)
    us, X, learn_steps = [], [], []
    for s in range(n_steps):
        if learn and s >= off and (s - off) % every == 0:
            X.append(r.copy())
            learn_steps.append(s)
            f = net.targets(np.array([s * p.dt]))[0]
            for i in net.trained:
                pre = net.presyn[i]
                w = W[i, pre]  # a copy (fancy indexing): update it, then write it back
                rls_update(P[i], w, r[pre], f[i])
                W[i, pre] = w
        u = W @ r
        if s % rec == 0:
            us.append(u.copy())
        r = euler_step(r, u, net.stimulus if on <= s < off else 0.0, p.dt / p.tau)
    return W, np.array(us), np.array(X).reshape(-1, p.N), np.array(learn_steps, dtype=np.int64)


# ---------------------------------------------------------------------------
# The compiled trial. Small, typed by use, no Python objects: arrays and numbers.


@njit(cache=True, nogil=True)
def _recurrent_input(WT, r, u):
    """u = W r from ``WT`` = W transposed (C order), summed over presynaptic j in order 0, 1, ...

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
def _write_rows(W, WT, rows, presyn, w):
    """The plastic weights into the trained rows of ``W`` and the same entries of ``WT`` = W transposed."""
    for k in range(rows.shape[0]):
        i = rows[k]
        for a in range(presyn.shape[1]):
            j = presyn[k, a]
            W[i, j] = w[k, a]
            WT[j, i] = w[k, a]


@njit(cache=True, nogil=True)
def _advance(WT, r, u, stim, stim_on, stim_off, s0, s1, dt_tau, rec_every, r_rec, u_rec, max_rate):
    """Euler steps s0 .. s1-1 of the rate equation, in place on ``r`` (:func:`euler_step`, compiled).

    Returns (0, s1), or (1, s) if a rate exceeded ``max_rate`` (or became NaN) at step s.
    """
    N = WT.shape[0]
    for s in range(s0, s1):
        _recurrent_input(WT, r, u)
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


def _grid(p: RateParams):
    """Step counts of the trial's events."""
    steps = lambda ms: int(round(ms / p.dt))  # noqa: E731 - grids were validated in params
    return dict(
        n_steps=steps(p.t_end), stim_on=steps(p.stim_on), stim_off=steps(p.stim_off),
        learn_every=steps(p.learn_every), rec_every=steps(p.record_every),
    )


def run_trial(net: RateNetwork, rls: BatchRLS | SharedPoolRLS | None = None, loop: int | None = None) -> Trial:
    """Simulate one trial from r = 0. With ``rls``, train ``net.W`` in place as it runs.

    The dynamics run compiled between learning steps; at each learning step
    (every ``learn_every`` ms from the end of the stimulus) the trained rows
    of ``W`` get one RLS update from the current rates, before the step's
    recurrent input is computed. Raises TypeError for arguments of the wrong class.
    """
    check_type("net", net, RateNetwork)
    check_type("rls", rls, (BatchRLS, SharedPoolRLS), allow_none=True)
    if loop is not None:
        loop = check_int("loop", loop, lo=0)
    p = net.params
    g = _grid(p)
    n_steps = g["n_steps"]
    n_rec = (n_steps - 1) // g["rec_every"] + 1
    r_rec = np.empty((n_rec, p.N))
    u_rec = np.empty((n_rec, p.N))
    r = np.zeros(p.N)
    u = np.empty(p.N)
    WT = np.ascontiguousarray(net.W.T)  # the kernel reads W by presynaptic column (_recurrent_input)

    def advance(s0, s1):
        return _advance(WT, r, u, net.stimulus, g["stim_on"], g["stim_off"], s0, s1, p.dt / p.tau,
                        g["rec_every"], r_rec, u_rec, p.max_rate)

    learn_steps = np.arange(g["stim_off"], n_steps, g["learn_every"]) if rls is not None else []
    status, step, s = 0, 0, 0
    if rls is not None:
        f_learn = np.ascontiguousarray(net.targets(learn_steps * p.dt)[:, net.trained])
        no_other = np.zeros(len(net.trained))
    for j, s_learn in enumerate(learn_steps):
        status, step = advance(s, s_learn)
        if status:
            break
        rls.step(r, f_learn[j], no_other)
        _write_rows(net.W, WT, net.trained, rls.presyn, rls.w)  # the plastic weights are the trained rows of W
        s = s_learn
    if not status:
        status, step = advance(s, n_steps)
    t = np.arange(n_rec) * p.record_every
    target = net.targets(t)
    window = t >= p.stim_off
    if status != 0:
        r_rec[(step // g["rec_every"]) + 1:] = np.nan
        u_rec[(step // g["rec_every"]) + 1:] = np.nan
        partial = Trial(t, r_rec, u_rec, target, net.trained, window, np.full(len(net.trained), np.nan))
        bad = ~(r <= p.max_rate)  # the kernel stops at the first neuron whose rate left [0, max_rate]
        neuron = int(np.argmax(bad))
        kind = "nonfinite" if not np.isfinite(r[neuron]) else "runaway"
        what = "became infinite or NaN" if kind == "nonfinite" else f"exceeded max_rate = {p.max_rate:g}"
        err = DivergenceError(f"The rate of neuron {neuron} {what} at t = {step * p.dt:.1f} ms.",
                              phase="learning" if rls is not None else "untrained", kind=kind,
                              t_ms=step * p.dt, neuron=neuron, loop=loop if rls is not None else None,
                              params=p, trial=partial)
        raise err.annotate(advice=advice(err))
    corr = score_correlation(u_rec[window][:, net.trained], target[window][:, net.trained])
    return Trial(t, r_rec, u_rec, target, net.trained, window, corr)


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

    def test(self) -> Trial:
        """A trial of the trained network without learning.

        Raises :class:`DivergenceError` (``phase="test"``) if the rates blow up."""
        return self._test_trial(run_trial, advice)


def train(params: RateParams | RateNetwork | None = None, *, n_loops: int | None = None, callback=None,
          progress: bool = True, stop=None) -> TrainResult:
    """Train a rate network with RLS for ``n_loops`` loops (default ``params.n_loops``).

    Parameters
    ----------
    params : RateParams (a new network is built), or a RateNetwork to train further.
    callback : called as ``callback(loop, trial, scores)`` after every loop
        (loop counts from 0); return ``False`` to stop training early.
    progress : show a progress bar (tqdm).
    stop : an object with ``is_set()`` (a ``threading.Event``); training stops
        after the current loop once it is set.

    Raises :class:`DivergenceError` (its cause as data, and :func:`advice`) if the rates blow up; TypeError
    or ValueError, naming the argument, for bad arguments (before any simulation).
    """
    check_type("params", params, (RateParams, RateNetwork), allow_none=True)
    n_loops = check_train_args(n_loops, callback, stop)
    if isinstance(params, RateNetwork):
        check_memory(params.params)
    net = params.copy() if isinstance(params, RateNetwork) else build_network(params)
    return train_rows(net, run_trial, TrainResult, n_loops=n_loops, callback=callback, progress=progress,
                      stop=stop, desc="Part 1 training")
