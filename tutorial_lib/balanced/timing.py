r"""Part 4: does the trained network use spike timing, or only rates?

A test trial is run and its spikes are recorded. The same trial is then run again (same noise,
same initial voltages, same feed-forward spikes), but the synapses chosen (by default the plastic
ones, which carry what was learned) receive the recorded spikes *jittered*: each spike moved by a
Gaussian amount of standard deviation :math:`\sigma` (2 to 100 ms). If the output (each trained
neuron's total input, scored against its target as in training) survives a jitter much longer than
the interval between a neuron's spikes, the precise times did not matter: the synapses read rates.
A second control replaces each presynaptic neuron's spikes with a Poisson train of the same
time-varying rate (its PSTH over the recorded trials of that condition), which keeps the rate and
removes both the timing and the trial-to-trial fluctuations.

What to expect, and why. The plastic synapses filter spikes with :math:`\tau_p = 150` ms:
:math:`r(t) = \sum_k e^{-(t - t_k)/\tau_p} / \tau_p`. Moving every spike by a jitter of standard
deviation :math:`\sigma` multiplies each frequency component of the spike train by
:math:`e^{-\omega^2 \sigma^2 / 2}`, while the synapse itself passes only frequencies below
:math:`1 / (2 \pi \tau_p) \approx 1` Hz; the targets vary on the scale of hundreds of ms. Jitter well
below :math:`\tau_p` therefore leaves :math:`r` almost unchanged; only jitters approaching
:math:`\tau_p` blur the rate itself. A network that kept the targets under 100 ms jitter is using a
rate code, whatever its spikes look like (Zhu et al. found the opposite in networks with fast
synapses: the filter decides).

References
----------
* Zhu Y, Smith A, Jabri P, Tang J, Scherr F, MacLean JN. Task success in trained spiking neural
  network models coincides with emergence of cross-stimulus-modulated inhibition. bioRxiv (2023).
* Kim CM, Chow CC (2018) Learning recurrent dynamics in spiking networks. eLife 7:e37124.
  doi:10.7554/eLife.37124
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ..data import CONDITIONS
from ..checks import check_int, check_real, check_type
from ..engine.lif_data import Replay
from ..errors import DivergenceError
from ..core.stats import score_correlation
from .network import BalancedNetwork, network_of
from .trials import Trial, run_trial

__all__ = ["SpikeTimingResult", "rate_matched_poisson", "spike_timing_test"]

STATIC_CHANNELS = ("excitatory", "inhibitory")
CHANNELS = STATIC_CHANNELS + ("plastic",)


def _channels(channels) -> tuple:
    """``channels`` checked, with ``"static"`` standing for both static channels."""
    if not isinstance(channels, str) and not hasattr(channels, "__iter__"):
        raise TypeError(f"channels must be a channel name or a sequence of them (got {channels!r})")
    channels = (channels,) if isinstance(channels, str) else tuple(channels)
    out = []
    for c in channels:
        if not isinstance(c, str) or c not in CHANNELS + ("static",):
            raise ValueError(f"channels must be among {CHANNELS + ('static',)} (got {c!r})")
        out += list(STATIC_CHANNELS) if c == "static" else [c]
    if not out:
        raise ValueError("channels must name at least one synapse channel")
    return tuple(dict.fromkeys(out))


def rate_matched_poisson(trials, rng: np.random.Generator, dt: float, *, smooth_ms: float = 25.0,
                         channels=("plastic",)) -> Replay:
    r"""Poisson spikes with each neuron's PSTH over ``trials``, as a :class:`~tutorial_lib.engine.lif_data.Replay`.

    Each neuron's rate :math:`\lambda_i(t)` (Hz) is its spike count in 1 ms bins averaged over the
    trials and smoothed by a moving average of half-width ``smooth_ms``
    (:meth:`Trial.psth`); in each 1 ms bin the neuron then gets a Poisson number of spikes of mean
    :math:`\lambda_i \cdot 1` ms, each at a uniformly drawn step of the dt grid inside the bin. The
    expected count in any window wider than the smoothing equals the trials' mean count there.

    Parameters
    ----------
    trials : sequence of :class:`Trial`
        Trials of one network (same ``N`` and duration), usually of one condition.
    rng : numpy Generator
    dt : float
        The network's time step, ms (``params.dt``); 1 ms must be a whole number of steps.
    smooth_ms : float
        Half-width of the moving average, ms (>= 0).
    channels : the synapses that receive the spikes (see :func:`spike_timing_test`).

    Raises
    ------
    ValueError
        No trials, trials of different networks or durations, a ``dt`` that does not divide 1 ms,
        a negative ``smooth_ms``, an unknown channel.
    """
    check_type("rng", rng, np.random.Generator)
    if isinstance(trials, Trial) or not hasattr(trials, "__iter__"):
        raise TypeError(f"trials must be a sequence of Trial objects (got {type(trials).__name__}; "
                        "one trial: [trial])")
    trials = list(trials)
    if not trials or not all(isinstance(t, Trial) for t in trials):
        raise ValueError("trials must be a non-empty sequence of Trial objects")
    N, T = trials[0].N, trials[0].duration
    if any(t.N != N or t.duration != T for t in trials):
        raise ValueError("trials must come from one network and have one duration")
    dt = check_real("dt", dt, lo=0.0, lo_open=True, hi=1.0, what="time step, ms")
    per_bin = int(round(1.0 / dt))
    if abs(per_bin * dt - 1.0) > 1e-9:
        raise ValueError(f"dt must divide 1 ms into whole steps (got {dt:g})")
    smooth_ms = check_real("smooth_ms", smooth_ms, lo=0.0, what="half-width of the moving average, ms")
    channels = _channels(channels)
    rates = np.mean([t.psth(np.arange(N), bin_ms=1.0, smooth_ms=smooth_ms)[1] for t in trials], axis=0)
    counts = rng.poisson(rates * 1e-3)  # (bins, N): spikes per 1 ms bin
    b, i = np.nonzero(counts)
    reps = counts[b, i]
    b, i = np.repeat(b, reps), np.repeat(i, reps)
    steps = b * per_bin + rng.integers(1, per_bin + 1, size=b.shape[0])  # labels (k + 1) dt inside bin k
    order = np.lexsort((i, steps))
    return Replay(steps[order] * dt, i[order], channels)


@dataclass
class SpikeTimingResult:
    """Scores of test trials whose chosen synapses received jittered or rate-matched spikes.

    ``jitters`` (ms); ``scores`` (len(jitters),) and ``scores_avg`` the single-trial and
    trial-averaged scores (as in training: correlation of the trained neurons' windowed total input
    with their targets), each averaged over the conditions; ``baseline`` / ``baseline_avg`` without
    replay; ``poisson`` / ``poisson_avg`` with rate-matched Poisson spikes; ``channels`` replayed;
    ``n_trials`` per condition; ``per_condition`` the same numbers per condition; ``failures`` maps
    a replay (``"jitter 30 ms"``, ``"Poisson"``) whose trials ran away to the first
    :class:`~tutorial_lib.training.DivergenceError` message (its scores are then NaN): a replay into
    the static synapses can break the balance, which is itself a result.
    """

    jitters: np.ndarray
    scores: np.ndarray
    scores_avg: np.ndarray
    baseline: float
    baseline_avg: float
    poisson: float
    poisson_avg: float
    channels: tuple
    n_trials: int
    per_condition: dict
    failures: dict = field(default_factory=dict)

    def table(self) -> str:
        """The scores as a small text table."""
        lines = [f"replayed into {', '.join(self.channels)} synapses; {self.n_trials} test trials per condition",
                 f"{'replay':>22s}  {'single trial':>12s}  {'trial-avg':>9s}",
                 f"{'none (the network)':>22s}  {self.baseline:12.3f}  {self.baseline_avg:9.3f}"]
        for j, s, a in zip(self.jitters, self.scores, self.scores_avg):
            lines.append(f"{f'jitter {j:g} ms':>22s}  {s:12.3f}  {a:9.3f}")
        lines.append(f"{'rate-matched Poisson':>22s}  {self.poisson:12.3f}  {self.poisson_avg:9.3f}")
        lines += [f"{label}: ran away ({message.splitlines()[0]})" for label, message in self.failures.items()]
        return "\n".join(lines)


def _scores(trials: list) -> tuple[float, float]:
    if any(t is None for t in trials):  # a replay ran away
        return float("nan"), float("nan")
    binned = np.stack([t.binned for t in trials])
    single = float(np.mean([t.score for t in trials]))
    return single, float(np.mean(score_correlation(binned.mean(axis=0), trials[0].target)))


def spike_timing_test(net, jitters=(0.0, 2.0, 10.0, 30.0, 100.0), n_trials: int = 2, *,
                      channels=("plastic",), conditions=CONDITIONS, seed: int = 0,
                      smooth_ms: float = 25.0, progress: bool = False) -> SpikeTimingResult:
    r"""Score test trials whose ``channels`` receive the trial's own spikes jittered, or Poisson spikes.

    For each condition and each of ``n_trials`` test trials ``k``: the trial is run (the baseline)
    and its spikes kept; then, for each jitter :math:`\sigma`, run again with the same random
    stream (noise, initial voltages, feed-forward spikes) while the synapses in ``channels`` receive
    the recorded spikes moved by :math:`\sigma z` (:meth:`~tutorial_lib.engine.lif_data.Replay.jittered`);
    and once with rate-matched Poisson spikes (:func:`rate_matched_poisson` over the condition's
    baseline trials). Jitter 0 replays the exact spikes: into every channel it reproduces the
    baseline to the bit (a check of the method, tested).

    Parameters
    ----------
    net : a trained :class:`BalancedNetwork` (or ``TrainResult``: its network is used).
    jitters : standard deviations of the jitter, ms (each >= 0).
    n_trials : test trials per condition (1..100); runs ``n_trials (len(jitters) + 2)`` trials per
        condition (at lecture scale about 0.3 s each).
    channels : ``"plastic"`` (default: the trained synapses, with their feed-forward inputs left
        alone), ``"excitatory"``, ``"inhibitory"`` or ``"static"`` (both static channels), or several.
    seed : seed of the jitter and Poisson draws (the trials' own streams come from ``params.seed``).
    smooth_ms : smoothing of the PSTH for the Poisson control, ms (finite, >= 0; beyond the trial's
        duration it is the whole trial).

    Raises TypeError / ValueError naming the argument, before any trial: jitters not finite numbers
    >= 0 (a jitter far beyond the trial moves every spike out: a valid, if empty, replay), an
    unknown channel or condition (or one that is not text), ``n_trials`` outside 1..100, a
    negative ``seed``, ``progress`` not True or False.
    """
    net = network_of(net)
    jitters = _check_jitters(jitters)
    n_trials = check_int("n_trials", n_trials, lo=1, hi=100, what="test trials per condition")
    channels = _channels(channels)
    conditions = _check_conditions(conditions)
    seed = check_int("seed", seed, lo=0)
    smooth_ms = check_real("smooth_ms", smooth_ms, lo=0.0, what="half-width of the moving average, ms")
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be True or False (got {type(progress).__name__}: {progress!r:.60})")
    rng = np.random.default_rng([seed, 4])
    total = len(conditions) * n_trials * (len(jitters) + 2)
    bar = None
    if progress:
        bar = tqdm(total=total, desc="spike timing", unit="trial")
    failures = {}
    per_condition = {}
    try:
        for c in conditions:
            per_condition[c] = _condition_scores(net, c, jitters, n_trials, channels, rng, smooth_ms, bar,
                                                 failures)
    finally:
        if bar is not None:
            bar.close()
    return _timing_result(jitters, channels, n_trials, conditions, per_condition, failures)


def _check_jitters(jitters) -> np.ndarray:
    """``jitters`` as a 1-D float array of finite numbers >= 0; TypeError / ValueError naming them."""
    raw = np.atleast_1d(np.asarray(jitters, dtype=object))
    if any(isinstance(x, (str, bytes)) for x in raw.flat):
        raise TypeError(f"jitters must be numbers (standard deviations in ms), not strings (got {jitters!r})")
    try:
        jitters = np.atleast_1d(np.asarray(jitters, dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError(f"jitters must be one or more numbers (standard deviations in ms; "
                        f"got {jitters!r})") from None
    if jitters.ndim != 1 or jitters.size == 0 or not np.all(np.isfinite(jitters)) or jitters.min() < 0:
        raise ValueError(f"jitters must be one or more finite standard deviations >= 0 ms (got {jitters!r})")
    return jitters


def _check_conditions(conditions) -> tuple:
    """``conditions`` (one name or a sequence) as a non-empty tuple of known conditions."""
    if not isinstance(conditions, str) and not hasattr(conditions, "__iter__"):
        raise TypeError(f"conditions must be a condition name or a sequence of them (got {conditions!r:.60})")
    conditions = (conditions,) if isinstance(conditions, str) else tuple(conditions)
    if not conditions or any(not isinstance(c, str) or c not in CONDITIONS for c in conditions):
        raise ValueError(f"conditions must be among {CONDITIONS} (got {conditions!r})")
    return conditions


def _replay_trial(net: BalancedNetwork, c: str, k: int, replay, label, bar, failures: dict) -> Trial | None:
    """Test trial ``k`` of condition ``c`` (spikes only), with ``replay``; None if a replay ran away (its
    first error message goes into ``failures[label]``). Moves the progress ``bar`` on."""
    try:
        tr = run_trial(net, c, loop=k, keep_run=False, spikes_only=True, replay=replay)
    except DivergenceError as err:
        if replay is None:  # the network itself ran away: not a result of the replay
            raise
        failures.setdefault(label, str(err))
        tr = None
    if bar is not None:
        bar.update()
    return tr


def _condition_scores(net: BalancedNetwork, c: str, jitters: np.ndarray, n_trials: int, channels: tuple,
                      rng: np.random.Generator, smooth_ms: float, bar, failures: dict) -> dict:
    """The scores of condition ``c``: its baseline trials, each jitter's replays of them, and the
    rate-matched Poisson replays, as ``{"baseline": ..., "jitter": [...], "poisson": ...}``."""
    p = net.params
    base = [_replay_trial(net, c, k, None, None, bar, failures) for k in range(n_trials)]
    jit = []
    for sd in jitters:
        jit.append([_replay_trial(net, c, k, Replay(b.spike_times, b.spike_neurons, channels).jittered(
            sd, rng, p.dt, p.t_end), f"jitter {sd:g} ms", bar, failures) for k, b in enumerate(base)])
    pois = [_replay_trial(net, c, k, rate_matched_poisson(base, rng, p.dt, smooth_ms=smooth_ms,
                                                          channels=channels), "Poisson", bar, failures)
            for k in range(n_trials)]
    return {"baseline": _scores(base), "jitter": [_scores(j) for j in jit], "poisson": _scores(pois)}


def _timing_result(jitters: np.ndarray, channels: tuple, n_trials: int, conditions: tuple,
                   per_condition: dict, failures: dict) -> SpikeTimingResult:
    """The scores of every condition averaged over the conditions, as a :class:`SpikeTimingResult`."""
    mean = lambda key, i: float(np.mean([per_condition[c][key][i] for c in conditions]))  # noqa: E731
    scores = np.array([np.mean([per_condition[c]["jitter"][j][0] for c in conditions]) for j in range(jitters.size)])
    scores_avg = np.array([np.mean([per_condition[c]["jitter"][j][1] for c in conditions])
                           for j in range(jitters.size)])
    return SpikeTimingResult(jitters, scores, scores_avg, mean("baseline", 0), mean("baseline", 1),
                             mean("poisson", 0), mean("poisson", 1), channels, n_trials, per_condition, failures)
