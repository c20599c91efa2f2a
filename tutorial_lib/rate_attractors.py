r"""Part 5 on the rate side: the fixed points of a trained rate network beside its empirical separatrix.

Part 1's ReLU rate network, :math:`\tau\, dr/dt = -r + \phi(W r + b + I(t))`, :math:`\phi = \max(\cdot, 0)`,
trained with RLS on a two-condition delay task, then taken apart in three steps:

1. :func:`train_delay_task`: two conditions, each a random input pattern ``stimuli[c]`` on from
   20 to 70 ms, then a delay to 400 ms with no condition-specific input. RLS trains every
   neuron's total input :math:`x = W r + b` (all synapses but autapses plastic, as in Part 1) to
   hold the condition's pattern ``target_inputs[c]`` through the delay, so that the rates hold
   ``targets[c] = relu(target_inputs[c])``. The training trials are noise-driven (Euler-Maruyama),
   so RLS also learns to pull nearby states back: the end states become attractors. A tonic input
   ``b`` (the same in both conditions and every epoch) keeps them isolated points: with ``b = 0`` a
   ReLU network is scale-free (if :math:`r^*` rests, so does :math:`c\, r^*` for every
   :math:`c > 0`), and an attractor could only be a line. :func:`alm_target_inputs` makes the two
   patterns from the ALM recordings instead (late-delay rates of the most choice-selective neurons;
   they need more loops: R^2 0.995 and 0.999 at ``n_loops=15``, condition 1 only 0.01 at 5).
2. :func:`delay_fixed_points`: the delay's fixed points, found by
   :func:`~tutorial_lib.core.fixed_points.find_fixed_points` (in its x-form, :math:`dx/dt = -x +
   W\phi(x) + b`, whose rest points :math:`x^*` give :math:`r^* = \phi(x^*)`) from states the
   network visits and from points on the line between the two end states; each classified
   (stable, saddle, ...) and placed along the choice mode :math:`m`:

   .. math:: s = \frac{(r^* - r_{\rm mid}) \cdot m}{h}, \qquad r_{\rm mid} = \tfrac12 (r^*_a + r^*_b),
             \qquad h = \tfrac12 (r^*_a - r^*_b) \cdot m,

   so the attractor of condition ``a`` (index 0) sits at :math:`s = +1` and that of ``b`` at
   :math:`-1`: the rate side's "where is the saddle".
3. :func:`kick_separatrix`: from each attractor, kicks along :math:`m` towards the other one, of
   graded amplitude :math:`A` (a displacement of :math:`A h` along :math:`m`: it moves :math:`s` by
   exactly :math:`A`), then noisy dynamics; switched or not per trial; the amplitude at which half
   switch (:func:`~tutorial_lib.core.choice.switch_threshold`) with its interval, and the position
   :math:`s = \pm(1 - A_{50})` it marks, in the units of step 2.

Units: times in ms, rates and inputs dimensionless (as in Part 1); ``noise`` :math:`\sigma` enters
as :math:`\tau\, dr = (\dots)\,dt + \sigma \sqrt{\tau}\, dB`, so a lone leaky unit fluctuates with
standard deviation :math:`\sigma / \sqrt 2`. Plain NumPy; trials are simulated as a batch.

What to expect: the saddle is not on the line between the attractors, so its own position ``s``
need not be where the kicks find the separatrix; the crossing of its stable plane with that line
(``RateFixedPoints.s_cross``) predicts it better, and exactly only while the separatrix stays in
the saddle's linear region. At the defaults, seeds 0 to 4, ``s`` missed the kicks' interval by up
to 0.08 (seed 4), ``s_cross`` by at most 0.002.

Getting started (about 10 s; seed 0, the defaults)::

    >>> from tutorial_lib import rate_attractors as ra
    >>> task = ra.train_delay_task()                               # doctest: +SKIP
    >>> task.r2.round(3).tolist(), task.choices.tolist()           # doctest: +SKIP
    ([0.997, 0.999], [[1, 1, 1], [-1, -1, -1]])
    >>> points = ra.delay_fixed_points(task)                       # doctest: +SKIP
    >>> points.kind.tolist(), points.s.round(3).tolist()           # doctest: +SKIP
    (['stable', 'saddle', 'stable'], [-1.0, -0.007, 1.0])
    >>> kicks = ra.kick_separatrix(task, points)                   # doctest: +SKIP
    >>> round(kicks.pooled.a50, 3), round(kicks.pooled.low, 3), round(kicks.pooled.high, 3)  # doctest: +SKIP
    (-0.005, -0.03, 0.02)

References
----------
* Sussillo D, Barak O (2013) Opening the black box: low-dimensional dynamics in high-dimensional
  recurrent neural networks. Neural Comput 25:626-649. doi:10.1162/NECO_a_00409
* Inagaki HK, Fontolan L, Romani S, Svoboda K (2019) Discrete attractor dynamics underlies persistent
  activity in the frontal cortex. Nature 566:212-217. doi:10.1038/s41586-019-0919-7
* Finkelstein A, Fontolan L, Economo MN, Li N, Romani S, Svoboda K (2021) Attractor dynamics gate
  cortical information flow during decision-making. Nat Neurosci 24:843-850.
  doi:10.1038/s41593-021-00840-6
* Sussillo D, Abbott LF (2009) Generating coherent patterns of activity from chaotic neural networks.
  Neuron 63:544-557. doi:10.1016/j.neuron.2009.07.018 (RLS in a running network, as Part 1)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .checks import check_int, check_real, check_type
from .core.choice import (SwitchThreshold, choice_midpoint, choice_mode, drelu, project, read_choice, relu,
                          switch_threshold, window_mean)
from .core.fixed_points import FixedPoints, find_fixed_points
from .core.rate import random_presyn
from .core.rls import rls_update_batch
from .data import CONDITIONS, ALMData

__all__ = ["DelayTask", "RateFixedPoints", "RateKicks", "euler_maruyama_step", "simulate", "train_delay_task",
           "delay_fixed_points", "stable_plane_crossing", "kick_separatrix", "alm_target_inputs", "SIGN"]

#: the side of each condition on the choice mode: condition 0 ("a") at +1, condition 1 ("b") at -1
SIGN = (1, -1)
#: Part 1's time constant (ms), RLS interval (ms) and stimulus range, and the task's timeline (ms)
TAU, LEARN_EVERY, STIM_MAX = 5.0, 5.0, 4.0
STIM_ON, STIM_OFF, T_END = 20.0, 70.0, 400.0
#: the late delay (its second half: the choice mode, the R^2, the end states) and the read-out window, ms
LATE_DELAY, READOUT = (0.5 * (STIM_OFF + T_END), T_END), (T_END - 50.0, T_END)


def euler_maruyama_step(W, r, drive, dt_tau: float, noise: float, rng):
    r"""One step of :math:`\tau\, dr = (-r + \phi(W r + b + I))\, dt + \sigma\sqrt\tau\, dB`: the rates a step later.

    ``r`` (..., N) a batch of trials; ``drive`` (N,) or (..., N) the input :math:`b + I` now;
    ``dt_tau = dt / tau``; ``noise`` :math:`\sigma`; ``rng`` drawn from only if ``noise > 0``, one
    standard normal array of ``r``'s shape. Source: Part 1's network (Sussillo & Abbott 2009,
    doi:10.1016/j.neuron.2009.07.018), forward Euler-Maruyama.

    >>> euler_maruyama_step(np.zeros((1, 1)), np.zeros(1), np.array([2.0]), 0.1, 0.0, None).tolist()
    [0.2]
    """
    r = r + dt_tau * (-r + relu(r @ W.T + drive))
    if noise > 0.0:
        r = r + noise * np.sqrt(dt_tau) * rng.standard_normal(r.shape)
    return r


def simulate(W, b, r0, n_steps: int, dt_tau: float, noise: float, rng, stimulus=None, stim_steps=(0, 0)):
    r"""``n_steps`` :func:`euler_maruyama_step` from ``r0`` (..., N), a batch of trials of any leading shape.

    ``W`` (N, N), ``b`` (N,) the tonic input; ``stimulus`` (N,) or (..., N) added to ``b`` for the
    steps ``stim_steps[0] <= k < stim_steps[1]``. Returns the rates (n_steps + 1, ..., N), the start
    first. ``rng`` gives one array of ``r0``'s shape per step (none if ``noise`` is 0): the same
    ``rng`` state and ``r0`` shape give the same noise. ``r0`` is copied in C order: the matrix
    products' last bits depend on the memory layout, so the same values give the same bits whatever
    ``r0``'s layout (a broadcast view, a transpose). No checks (the callers check).

    >>> r = simulate(np.zeros((2, 2)), np.array([1.0, -1.0]), np.zeros(2), 3, 0.5, 0.0, None)
    >>> r[:, 0].tolist(), r[:, 1].tolist()             # relaxing to relu(b) = (1, 0)
    ([0.0, 0.5, 0.75, 0.875], [0.0, 0.0, 0.0, 0.0])
    """
    r = np.array(r0, dtype=float, order="C")
    out = np.empty((n_steps + 1,) + r.shape)
    out[0] = r
    for k in range(n_steps):
        drive = b + stimulus if stimulus is not None and stim_steps[0] <= k < stim_steps[1] else b
        r = out[k + 1] = euler_maruyama_step(W, r, drive, dt_tau, noise, rng)
    return out


@dataclass
class DelayTask:
    r"""A rate network trained on the two-condition delay task (:func:`train_delay_task`).

    ``W`` (N, N) the trained weights (``W[i, j]`` from j to i, no autapses); ``b`` (N,) the tonic
    input, in every epoch and both conditions (the delay's only input); ``stimuli`` (2, N) the input
    added during the stimulus, per condition; ``target_inputs`` (2, N) the trained total inputs
    :math:`x = W r + b` in the delay and ``targets`` (2, N) the target rates ``relu(target_inputs)``;
    ``t`` (time,) ms, every 1 ms; ``rates`` (2, n_test, time, N) noisy test trials of the
    trained network (no learning); ``mode`` (N,) their choice mode (fitted on the first half of each
    condition's test trials, late delay), ``midpoint`` its read-out threshold, ``choices`` (2, n_held)
    the choices of the held-out second half (+1: the side of condition 0); ``r2`` (2,) per
    condition, the R^2 of the late-delay pattern (test trials' rates averaged over trials and the
    second half of the delay) against ``targets``, and ``r2_single`` (2,) that of every trial at
    every time there (lower: it counts the noise); ``train_seconds`` the wall time of
    training; ``dt``, ``noise``, ``seed`` as given.
    """

    W: np.ndarray
    b: np.ndarray
    stimuli: np.ndarray
    target_inputs: np.ndarray
    targets: np.ndarray
    t: np.ndarray
    rates: np.ndarray
    mode: np.ndarray
    midpoint: float
    choices: np.ndarray
    r2: np.ndarray
    r2_single: np.ndarray
    train_seconds: float
    dt: float
    noise: float
    seed: int

    @property
    def N(self) -> int:
        return self.W.shape[0]

    @property
    def epochs(self) -> dict:
        """The trial's epochs, ``name: (start, stop)`` in ms."""
        return {"baseline": (0.0, STIM_ON), "stimulus": (STIM_ON, STIM_OFF), "delay": (STIM_OFF, T_END)}

    def inputs(self, condition: int) -> dict:
        """The constant input in each epoch for ``condition`` (0 or 1): ``name: (N,) array``."""
        c = check_int("condition", condition, lo=0, hi=1)
        return {"baseline": self.b.copy(), "stimulus": self.b + self.stimuli[c], "delay": self.b.copy()}

    @property
    def late_delay(self) -> tuple:
        """The window of the choice mode and the R^2: the second half of the delay, ms."""
        return LATE_DELAY


def _r2(rates, target) -> float:
    """1 - SS_res / SS_tot of ``rates`` (..., N) against ``target`` (N,), over every row and neuron."""
    rates = rates.reshape(-1, target.size)
    return float(1.0 - np.sum((rates - target) ** 2) / (len(rates) * np.sum((target - target.mean()) ** 2)))


def _rls_trial(W, presyn, P, w, b, stimulus, x_target, steps, dt_tau, noise, rng):
    """One noise-driven trial with an RLS step on every neuron's row of ``W`` every ``steps['learn']``
    steps of the delay, towards the total input ``x_target``; ``W``, ``P``, ``w`` change in place."""
    rows = np.arange(W.shape[0])[:, None]
    r = np.zeros(W.shape[0])
    for k in range(steps["end"]):
        if k >= steps["off"] and (k - steps["off"]) % steps["learn"] == 0:
            rls_update_batch(P, w, r[presyn], x_target, b)   # e = w . r + b - x_target
            W[rows, presyn] = w
        drive = b + stimulus if steps["on"] <= k < steps["off"] else b
        r = euler_maruyama_step(W, r, drive, dt_tau, noise, rng)


def _check_dt(dt) -> float:
    """``dt`` in [0.01, 1] ms and dividing 1 ms, so that every time of the task is a whole number of steps."""
    dt = check_real("dt", dt, lo=0.01, hi=1.0, what="Euler step, ms")
    if abs(1.0 / dt - round(1.0 / dt)) > 1e-9:
        raise ValueError(f"dt (Euler step, ms) must divide 1 ms (0.1, 0.125, 0.2, 0.25, 0.5, 1, ...; got {dt!r})")
    return dt


def _check_targets(target_inputs, N):
    if target_inputs is None:
        return None
    x = np.asarray(target_inputs, dtype=float)
    if x.shape != (2, N) or not np.all(np.abs(x) <= 4.0):
        raise ValueError(f"target_inputs must be a (2, N) = (2, {N}) array of finite numbers in [-4, 4] "
                         f"(got shape {x.shape})")
    return x.copy()


def _check_task_args(N, n_loops, noise, drive, lam, n_test, dt, seed):
    return dict(N=check_int("N", N, lo=2, hi=300, what="rate units"),
                n_loops=check_int("n_loops", n_loops, lo=1, hi=200, what="training loops per condition"),
                noise=check_real("noise", noise, lo=0.0, hi=1.0, what="training noise sigma, rate units"),
                drive=check_real("drive", drive, lo=0.0, lo_open=True, hi=4.0, what="tonic input b"),
                lam=check_real("lam", lam, lo=0.0, lo_open=True, hi=1e6, what="RLS penalty lambda"),
                n_test=check_int("n_test", n_test, lo=2, hi=200, what="test trials per condition"),
                dt=_check_dt(dt), seed=check_int("seed", seed, lo=0, hi=2**32 - 1))


def train_delay_task(N: int = 100, n_loops: int = 5, noise: float = 0.1, *, drive: float = 0.5,
                     lam: float = 0.5, n_test: int = 6, dt: float = 0.1, seed: int = 0,
                     target_inputs=None) -> DelayTask:
    r"""Train Part 1's ReLU rate network with RLS to hold one of two patterns through a delay.

    Draws from ``default_rng(seed)``, in this order: the initial weights :math:`W_{ij} \sim
    \mathcal N(0, 1/N)` (g = 1, no autapses), the stimuli (2, N) uniform in [0, 4), the target total
    inputs (2, N) uniform in [-1, 1] (about half of the units silent in each pattern, so the two
    attractors lie in different linear regions of the ReLU network), then the noise of every trial.
    Each of ``n_loops`` loops runs one trial per condition (r = 0 at the start; stimulus from 20 to
    70 ms; delay to 400 ms; ``tau`` = 5 ms), with an RLS step (:func:`~tutorial_lib.core.rls.rls_update_batch`,
    ``P = I / lam`` at the start) on every neuron every 5 ms of the delay, and Euler-Maruyama noise
    ``noise``. Then ``n_test`` noisy trials per condition without learning give ``rates``, the choice
    mode (:func:`~tutorial_lib.core.choice.choice_mode`), the choices and the R^2 (see
    :class:`DelayTask`). ``target_inputs`` (2, N), if given, replaces the drawn patterns (the draw
    still happens, so the rest of the stream is the same): the total inputs to hold, in [-4, 4]; a
    unit's rate is held at ``relu`` of it (e.g. recorded rates scaled to [0, 1], with negative
    values for the units silent in a condition: two patterns with the same active units lie in one
    linear region of the network, where two fixed points cannot both be isolated attractors).

    Parameters and their ranges (ValueError naming the parameter otherwise): ``N`` rate units in
    [2, 300]; ``n_loops`` in [1, 200]; ``noise`` in [0, 1]; ``drive`` the tonic input ``b`` in
    (0, 4]; ``lam`` in (0, 1e6]; ``n_test`` in [2, 200]; ``dt`` ms in [0.01, 1], dividing 1 ms;
    ``seed`` in [0, 2**32 - 1]; ``target_inputs`` as above.

    Sources: Sussillo & Abbott (2009) doi:10.1016/j.neuron.2009.07.018 (RLS in a running network);
    Inagaki et al. (2019) doi:10.1038/s41586-019-0919-7 (the delay task's two end points).
    """
    a = _check_task_args(N, n_loops, noise, drive, lam, n_test, dt, seed)
    N, dt, rng = a["N"], a["dt"], np.random.default_rng(a["seed"])
    given = _check_targets(target_inputs, N)
    presyn = random_presyn(rng, N, N - 1)
    W = np.zeros((N, N))
    W[np.repeat(np.arange(N), N - 1), presyn.ravel()] = rng.normal(0.0, 1.0 / np.sqrt(N), N * (N - 1))
    stimuli = rng.uniform(0.0, STIM_MAX, (2, N))
    drawn = rng.uniform(-1.0, 1.0, (2, N))
    target_inputs = drawn if given is None else given
    b = np.full(N, a["drive"])
    steps = {k: round(v / dt) for k, v in
             dict(on=STIM_ON, off=STIM_OFF, end=T_END, learn=LEARN_EVERY).items()}
    P = np.repeat((np.eye(N - 1) / a["lam"])[None], N, axis=0)
    w = W[np.arange(N)[:, None], presyn].copy()
    start = time.perf_counter()
    for _ in range(a["n_loops"]):
        for c in (0, 1):
            _rls_trial(W, presyn, P, w, b, stimuli[c], target_inputs[c], steps, dt / TAU, a["noise"], rng)
    seconds = time.perf_counter() - start
    every = round(1.0 / dt)                             # record every ms
    r0 = np.zeros((2, a["n_test"], N))
    traj = simulate(W, b, r0, steps["end"], dt / TAU, a["noise"], rng, stimuli[:, None, :],
                    (steps["on"], steps["off"]))[::every]
    rates = traj.transpose(1, 2, 0, 3)                       # (2, n_test, time, N)
    t = np.arange(rates.shape[2], dtype=float)               # ms
    return _read_out(W, b, stimuli, target_inputs, t, rates, seconds, a)


def _read_out(W, b, stimuli, target_inputs, t, rates, seconds, a) -> DelayTask:
    """The :class:`DelayTask` with its choice mode, held-out choices and R^2 from the test ``rates``."""
    fit, held = rates[:, : a["n_test"] // 2], rates[:, a["n_test"] // 2:]
    mode = choice_mode(fit[0], fit[1], t, LATE_DELAY)
    mid = choice_midpoint(project(fit[0], mode), project(fit[1], mode), t, READOUT)
    choices = np.stack([read_choice(project(held[c], mode), t, READOUT, mid) for c in (0, 1)])
    targets = relu(target_inputs)
    sel = (t >= LATE_DELAY[0]) & (t <= LATE_DELAY[1])
    r2 = np.array([_r2(rates[c][:, sel].mean(axis=(0, 1)), targets[c]) for c in (0, 1)])
    r2_single = np.array([_r2(rates[c][:, sel], targets[c]) for c in (0, 1)])
    return DelayTask(W, b, stimuli, target_inputs, targets, t, rates, mode, mid, choices, r2, r2_single, seconds,
                     a["dt"], a["noise"], a["seed"])


@dataclass
class RateFixedPoints:
    r"""The delay's fixed points of a :class:`DelayTask` (:func:`delay_fixed_points`).

    ``points`` the finder's :class:`~tutorial_lib.core.fixed_points.FixedPoints` (x-form: ``points.x``
    (n, N) total inputs, ``points.eigenvalues``); ``r`` (n, N) the rates :math:`r^* = \phi(x^*)`;
    ``kind`` (n,) ``"stable"``, ``"saddle"``, ...; ``s`` (n,) each point's position along the
    choice mode, the attractors at +1 (condition 0) and -1 (condition 1); ``attractors`` (2,) the
    indices of those two stable points (nearest each condition's late-delay mean rates);
    ``saddles`` the indices of the saddles; ``s_cross`` (n,) for each saddle (NaN for the others),
    where the tangent plane of its stable manifold meets the line through the two attractors, in
    units of ``s``: the saddle itself is off that line, so this, not ``s``, is where the kicks of
    :func:`kick_separatrix` (along that line) should find the separatrix; ``r_mid`` (N,), ``h``
    (rate units) and ``mode`` (N,) the normalisation :math:`s = (r - r_{\rm mid}) \cdot m / h`.
    """

    points: FixedPoints
    r: np.ndarray
    kind: np.ndarray
    s: np.ndarray
    attractors: np.ndarray
    saddles: np.ndarray
    s_cross: np.ndarray
    r_mid: np.ndarray
    h: float
    mode: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)

    def position(self, rates) -> np.ndarray:
        """Rates (..., N) -> their positions ``s`` (...,) along the choice mode, normalised."""
        return (np.asarray(rates, float) - self.r_mid) @ self.mode / self.h

    def counts(self) -> dict:
        """How many points of each kind: ``{"stable": 2, "saddle": 1, ...}``."""
        kinds, n = np.unique(self.kind.astype(str), return_counts=True)
        return dict(zip(kinds.tolist(), n.tolist()))


def delay_fixed_points(task: DelayTask, n_line: int = 21, every_ms: float = 20.0) -> RateFixedPoints:
    r"""The fixed points of ``task``'s network in the delay (input ``b``), placed along its choice mode.

    Starts :func:`~tutorial_lib.core.fixed_points.find_fixed_points` (``phi=relu``, ``dphi=drelu``,
    the x-form :math:`x = W r + b`) from the states of the first test trial of each condition every
    ``every_ms`` ms of the delay, and from ``n_line`` points on the line between the two conditions'
    late-delay mean rates (from 0.2 beyond one to 0.2 beyond the other). The attractors: the stable
    point nearest each condition's mean; ``s`` as in the module. ``n_line`` in [2, 500],
    ``every_ms`` in [1, 330] (ValueError naming the parameter otherwise); ValueError if fewer than
    two stable points are found (no two attractors to place the others between). Source: Sussillo &
    Barak (2013) doi:10.1162/NECO_a_00409; Finkelstein et al. (2021) doi:10.1038/s41593-021-00840-6.
    """
    check_type("task", task, DelayTask)
    n_line = check_int("n_line", n_line, lo=2, hi=500, what="starting points on the line between the end states")
    every_ms = check_real("every_ms", every_ms, lo=1.0, hi=T_END - STIM_OFF, what="ms between visited states")
    late = (task.t >= task.late_delay[0])
    ends = task.rates[:, :, late].mean(axis=(1, 2))                           # (2, N)
    every = max(1, round(every_ms / (task.t[1] - task.t[0])))
    visited = task.rates[:, 0, np.flatnonzero(task.t >= STIM_OFF)[::every]]       # (2, n_visited, N)
    lam = np.linspace(-0.2, 1.2, n_line)[:, None]
    r0 = np.concatenate([visited.reshape(-1, task.N), lam * ends[0] + (1.0 - lam) * ends[1]])
    points = find_fixed_points(task.W, task.b, r0 @ task.W.T + task.b, phi=relu, dphi=drelu)
    r = relu(points.x)
    stable = np.flatnonzero(points.kind == "stable")
    if stable.size < 2:
        raise ValueError(f"found {stable.size} stable point(s), not the two attractors of the task "
                         f"(kinds: {points.kind.tolist()}); train longer or with more noise")
    near = [stable[np.argmin(np.linalg.norm(r[stable] - e, axis=1))] for e in ends]
    if near[0] == near[1]:
        raise ValueError("both conditions end near the same stable point: the network does not hold the choice")
    r_mid = 0.5 * (r[near[0]] + r[near[1]])
    h = 0.5 * float((r[near[0]] - r[near[1]]) @ task.mode)
    s = (r - r_mid) @ task.mode / h
    saddles = np.flatnonzero(points.kind == "saddle")
    s_cross = np.full(len(r), np.nan)
    for i in saddles:
        s_cross[i] = stable_plane_crossing(task.W, points.x[i], r_mid, h, task.mode)
    return RateFixedPoints(points, r, points.kind, s, np.array(near), saddles, s_cross, r_mid, h, task.mode.copy())


def stable_plane_crossing(W, x, r_mid, h: float, mode) -> float:
    r"""Where the tangent plane of a saddle's stable manifold meets the line :math:`r_{\rm mid} + s h m`: its ``s``.

    At the saddle :math:`x^*` (N,) (x-form; its rates :math:`r^* = \phi(x^*)`), the rate form's
    Jacobian is :math:`J_r = -I + \operatorname{diag}(\phi'(x^*))\, W`; the plane through
    :math:`r^*` that its stable manifold is tangent to has for normal the left eigenvector
    :math:`l` of its most unstable eigenvalue, so the line crosses it at
    :math:`s = l \cdot (r^* - r_{\rm mid}) / (h\, l \cdot m)` (infinite if the line runs parallel
    to it). In a ReLU network the flow is linear inside the saddle's region, where the stable
    manifold *is* that plane. Source: linear stability (Strogatz, Nonlinear Dynamics and Chaos,
    ch. 6); Sussillo & Barak (2013) doi:10.1162/NECO_a_00409.

    >>> from tutorial_lib.core.choice import two_attractor_relu
    >>> W, b, points = two_attractor_relu()              # the saddle (0.4, 0.4), its stable manifold the diagonal
    >>> mode = np.array([1.0, -1.0]) / np.sqrt(2.0)      # from the attractor (2, 0) to the other, (0, 2)
    >>> round(stable_plane_crossing(W, points[2][0], np.ones(2), np.sqrt(2.0), mode), 9) + 0.0
    0.0
    """
    J = -np.eye(len(x)) + drelu(x)[:, None] * W
    eigenvalues, left = np.linalg.eig(J.T)
    l = np.real(left[:, np.argmax(eigenvalues.real)])
    with np.errstate(divide="ignore"):
        return float(l @ (relu(x) - r_mid) / (h * (l @ mode)))


@dataclass
class RateKicks:
    r"""Kicks along the choice mode from each attractor (:func:`kick_separatrix`), one row per trial.

    ``side`` (rows,) the start: +1 the attractor of condition 0, -1 that of condition 1;
    ``amplitude`` (rows,) the kick in units of ``h`` (it moves ``s`` by exactly that, towards the
    other side); ``trial`` (rows,) the trial number (trial ``j`` gets the same noise at every
    amplitude); ``s_start`` (rows,) the position right after the kick; ``s_end`` (rows,) the mean
    position in the read-out window; ``choice`` (rows,) +1 / -1 / 0 (:func:`~tutorial_lib.core.choice.read_choice`
    at the midpoint ``s = 0``); ``switched`` (rows,) the choice is the other side; ``t`` (time,)
    ms after the kick and ``s`` (rows, time) every trial's position over time; ``thresholds``
    ``{+1: SwitchThreshold, -1: ...}`` the amplitude at which half switch from each side;
    ``separatrix`` ``{+1: (s50, low, high), -1: ...}`` the position :math:`\pm(1 - A_{50})` it marks
    and its interval; ``pooled`` a :class:`~tutorial_lib.core.choice.SwitchThreshold` over both
    sides: the start position ``s_start`` at which half of the trials end on the +1 side.
    """

    side: np.ndarray
    amplitude: np.ndarray
    trial: np.ndarray
    s_start: np.ndarray
    s_end: np.ndarray
    choice: np.ndarray
    switched: np.ndarray
    t: np.ndarray
    s: np.ndarray
    thresholds: dict
    separatrix: dict
    pooled: SwitchThreshold


def _check_kick_args(amplitudes, n_trials, noise, duration, readout, dt, seed):
    amplitudes = np.linspace(0.0, 2.0, 21) if amplitudes is None else amplitudes
    amps = np.atleast_1d(np.asarray(amplitudes, dtype=object))
    if amps.ndim != 1 or amps.size < 2:
        raise ValueError(f"amplitudes must be a 1-D sequence of at least 2 kick amplitudes (got {amplitudes!r:.80})")
    amps = np.array([check_real(f"amplitudes[{k}]", v, lo=0.0, hi=10.0, what="kick in units of h")
                     for k, v in enumerate(amps)])
    if np.unique(amps).size < 2:
        raise ValueError("amplitudes must hold at least two distinct values to fit a threshold")
    twice = [v for k, v in enumerate(amps) if v in amps[:k]]
    if twice:  # the same trials (the same noise) again: counted twice, a falsely narrow interval
        raise ValueError(f"amplitudes must hold each value once (got {twice[0]:g} twice: the same trials would "
                         "count twice)")
    dt = _check_dt(dt)
    duration = check_real("duration", duration, lo=1.0, hi=2000.0, what="ms of dynamics after the kick")
    return dict(amps=amps, n_trials=check_int("n_trials", n_trials, lo=1, hi=1000, what="trials per amplitude"),
                noise=check_real("noise", noise, lo=0.0, hi=1.0, what="noise sigma, rate units"),
                duration=duration, dt=dt, seed=check_int("seed", seed, lo=0, hi=2**32 - 1),
                readout=check_real("readout", readout, lo=0.0, lo_open=True, hi=duration,
                                   what="ms at the end over which the choice is read"))


def kick_separatrix(task: DelayTask, points: RateFixedPoints, amplitudes=None,
                    n_trials: int = 20, noise: float = 0.05, *, duration: float = 100.0, readout: float = 20.0,
                    dt: float = 0.5, seed: int = 0) -> RateKicks:
    r"""The empirical separatrix of ``task``'s network: kicks of graded amplitude along the choice mode.

    From each attractor of ``points`` (its rates :math:`r^*`, side :math:`\sigma = \pm 1`), each trial
    starts at :math:`r^* - \sigma A h m` (``s = sigma (1 - A)``), then runs ``duration`` ms of the
    delay's dynamics (:func:`simulate`, input ``b``, Euler-Maruyama ``noise``, step ``dt``); its
    choice is read in the last ``readout`` ms. The noise comes from ``default_rng(seed)``, one draw of
    (2, n_trials, N) per step shared by every amplitude: trial ``j`` meets the same noise at every
    amplitude, so a kick of amplitude 0 starts exactly at :math:`r^*` and changes nothing, bit for bit.

    Ranges (ValueError naming the parameter otherwise): ``amplitudes`` each in [0, 10] (units of
    ``h``), at least two, each once (default 0, 0.1, ..., 2); ``n_trials`` in [1, 1000]; ``noise`` in
    [0, 1]; ``dt`` in [0.01, 1] ms, dividing 1 ms; ``duration`` in [1, 2000] ms and ``readout`` in
    (0, duration] ms (both rounded to whole steps); ``seed`` in [0, 2**32 - 1]; ``points`` from
    :func:`delay_fixed_points` of this ``task``. Sources: Inagaki et al. (2019) doi:10.1038/s41586-019-0919-7 and Finkelstein et
    al. (2021) doi:10.1038/s41593-021-00840-6 (perturbations along the choice mode, the separatrix).
    """
    check_type("task", task, DelayTask)
    check_type("points", points, RateFixedPoints)
    if points.mode.shape != task.mode.shape or not np.array_equal(points.mode, task.mode):
        raise ValueError("points must come from delay_fixed_points(task) of this task (their choice modes differ)")
    a = _check_kick_args(amplitudes, n_trials, noise, duration, readout, dt, seed)
    amps, n = a["amps"], a["n_trials"]
    side = np.array(SIGN, float)[:, None, None]                                  # (2, 1, 1)
    start = np.broadcast_to(points.r[points.attractors][:, None, :], (2, n, task.N))
    n_steps = round(a["duration"] / a["dt"])
    s = []
    for amp in amps:                    # a fresh rng per amplitude: trial j meets the same noise at each
        r0 = start - side * amp * points.h * points.mode
        r = simulate(task.W, task.b, r0, n_steps, a["dt"] / TAU, a["noise"], np.random.default_rng(a["seed"]))
        s.append(points.position(r))                                              # (time, 2, n)
    s = np.array(s).transpose(2, 0, 3, 1).reshape(-1, n_steps + 1)              # rows (side, amp, trial)
    t = np.arange(n_steps + 1) * a["dt"]
    window = (t[-1] - a["readout"], t[-1])
    rows = dict(side=np.repeat(SIGN, amps.size * n), amplitude=np.tile(np.repeat(amps, n), 2),
                trial=np.tile(np.arange(n), 2 * amps.size))
    choice = read_choice(s, t, window, 0.0)
    return _kick_table(rows, rows["side"] * (1.0 - rows["amplitude"]), window_mean(s, t, window), choice,
                       choice == -rows["side"], t, s)


def _kick_table(rows, s_start, s_end, choice, switched, t, s) -> RateKicks:
    """The :class:`RateKicks` with the threshold fits per side and pooled."""
    thresholds, separatrix = {}, {}
    for side in SIGN:
        sel = rows["side"] == side
        fit = switch_threshold(rows["amplitude"][sel], switched[sel])
        thresholds[side] = fit
        ends = sorted((side * (1.0 - fit.low), side * (1.0 - fit.high)))
        separatrix[side] = (side * (1.0 - fit.a50), ends[0], ends[1])
    pooled = switch_threshold(s_start, choice == 1)
    return RateKicks(rows["side"], rows["amplitude"], rows["trial"], s_start, s_end, choice, switched, t, s,
                     thresholds, separatrix, pooled)


def alm_target_inputs(data: ALMData, n: int = 100, window=(1600.0, 2000.0)):
    r"""Delay patterns from the ALM recordings for :func:`train_delay_task`: ``(target_inputs, neurons)``.

    Per recorded neuron, the trial-averaged rate (Hz) over the times of ``data.t`` in ``window``
    (ms, closed; default the last 400 ms of the 2 s), per condition (``CONDITIONS``: lick right is
    condition 0, at +1); the ``n`` neurons whose two rates differ most (the most choice-selective;
    ties by index), ``neurons`` (n,); each scaled by its larger rate :math:`r_{\max}`:
    :math:`x_c = 2 r_c / r_{\max} - 1` in [-1, 1], ``target_inputs`` (2, n): +1 in the preferred
    condition and, in the other, negative (silent) where the rate falls below half of it. (Rates
    scaled to [0, 1] alone keep every unit active in both patterns: one linear region, no two
    attractors.) Raises ValueError naming ``n`` (in [2, neurons]) or ``window`` (no time in it);
    TypeError for ``data`` of another kind. Source of the data: Finkelstein et al. (2021)
    doi:10.1038/s41593-021-00840-6; the task's two end points: Inagaki et al. (2019)
    doi:10.1038/s41586-019-0919-7.

    >>> rates = {"right": [[0.0, 0.0, 0.0], [10.0, 2.0, 5.0]], "left": [[0.0, 0.0, 0.0], [5.0, 2.0, 10.0]]}
    >>> x, neurons = alm_target_inputs(ALMData(rates, None, np.array([0.0, 2000.0]), "toy"), n=2)
    >>> x.tolist(), neurons.tolist()
    ([[1.0, 0.0], [0.0, 1.0]], [0, 2])
    """
    check_type("data", data, ALMData)
    rates = np.array([data.rates[c] for c in CONDITIONS])                       # (2, time, neurons)
    n = check_int("n", n, lo=2, hi=rates.shape[2], what="recorded neurons to hold")
    if isinstance(window, (str, bytes)) or not (hasattr(window, "__len__") and len(window) == 2):
        raise ValueError(f"window must be a pair (start, stop) of times in ms (got {window!r:.80})")
    lo = check_real("window[0]", window[0], what="start, ms")
    sel = (data.t >= lo) & (data.t <= check_real("window[1]", window[1], lo=lo, what=f"stop, ms, from {lo:g}"))
    if not sel.any():
        raise ValueError(f"window must hold at least one time of the recordings, {data.t[0]:g} to "
                         f"{data.t[-1]:g} ms (got {tuple(window)})")
    late = rates[:, sel].mean(axis=1)                                            # (2, neurons), Hz
    neurons = np.argsort(-np.abs(late[0] - late[1]), kind="stable")[:n]
    late, peak = late[:, neurons], late[:, neurons].max(axis=0)
    return np.where(peak > 0.0, 2.0 * late / np.where(peak > 0.0, peak, 1.0) - 1.0, -1.0), neurons
