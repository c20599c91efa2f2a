r"""Part 4's perturbation without widgets: one perturbed trial against its control (:func:`run_perturbation`).

A current is added to a population (``"E"``, ``"I"``, ``"all"``, ``"trained"``, ``"untrained E"``)
of the balanced network in a time window of one trial; the outcome holds the E and I rates of the
perturbed trial and of an unperturbed control from the same random stream, the rate change the
balance equations predict (:func:`~tutorial_lib.balanced.balance_response`,
:math:`\Delta r = -A^{-1}\delta`), and the perturbed population's input split into its E and I
parts. :mod:`.perturbation` is the dashboard that shows it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import balanced
from ..analysis import moving_average
from ..balanced import Perturbation, Trial, populations
from ..checks import check_int, check_real, check_type
from ..data import CONDITIONS
from ..params import BalancedParams

__all__ = ["PerturbationOutcome", "run_perturbation", "sample_population", "make_perturbation", "POPULATIONS",
           "WHOLE_POPULATIONS", "CURRENT_RANGE", "MAX_SPLIT", "BIN_MS", "SMOOTH_MS"]

#: The populations one can perturb (:func:`~tutorial_lib.balanced.populations` of a trained network).
POPULATIONS = ("I", "E", "all", "trained", "untrained E")
#: The populations for which the balance equations predict the rate change (whole populations): the
#: fractions of the current that the E and the I population get.
WHOLE_POPULATIONS = {"E": (1.0, 0.0), "I": (0.0, 1.0), "all": (1.0, 1.0)}
#: The added current's range, in the units of ``mu`` (threshold 1): at lecture scale 1 moves the
#: balanced rates by a few Hz (:func:`~tutorial_lib.balanced.balance_response`); -5 silences.
CURRENT_RANGE = (-5.0, 5.0)
#: At most this many neurons of the perturbed population have their inputs recorded (a random
#: sample; their mean is the population's to within a few per cent, at a fraction of the memory).
MAX_SPLIT = 200
#: the PSTH: 20 ms bins averaged over +-50 ms
BIN_MS, SMOOTH_MS = 20.0, 50.0
INPUT_SMOOTH_MS = 5.0  # the inputs drawn: averaged over +-5 ms


@dataclass
class PerturbationOutcome:
    """A perturbed trial and its unperturbed control (same network, condition and random stream).

    ``t`` (bins,) are the PSTH's bin centres (ms) and ``rates[name] = (perturbed, control)`` the
    population-average rates (Hz) of ``"E"``, ``"I"`` and the perturbed population
    (:meth:`~tutorial_lib.balanced.Trial.psth`, 20 ms bins averaged over +-50 ms). ``input_t``
    (samples,) and ``inputs[run][part]`` (samples,) for ``run`` in ``("perturbed", "control")``:
    the mean input of ``sampled`` (neurons of the perturbed population) split into ``"E"`` (external,
    with the perturbation, + static E + plastic E + feed-forward), ``"I"`` (static I + plastic I)
    and ``"net"`` (their sum, the total input), each averaged over +-5 ms; units of threshold.
    ``baseline`` and ``measured``: the mean E and I rates (Hz) inside the window (at the bin centres
    inside it; a window shorter than a bin: the bins it overlaps), control and perturbed; ``predicted`` the change :func:`~tutorial_lib.balanced.balance_response` predicts
    (Hz, ``[dE, dI]``), or None when the population is not a whole one (E, I or all). ``n_population``: the population's size.
    ``trained_loops``: how many loops the network had been trained (0: untrained; None: not known).
    ``trial`` and ``control``: the two :class:`~tutorial_lib.balanced.Trial` objects.
    """

    population: str
    current: float
    start: float
    stop: float
    condition: str
    trained_loops: int | None
    t: np.ndarray
    rates: dict
    input_t: np.ndarray
    inputs: dict
    baseline: np.ndarray
    measured: np.ndarray
    predicted: np.ndarray | None
    sampled: np.ndarray
    n_population: int
    trial: object
    control: object

    @property
    def change(self) -> np.ndarray:
        """The measured change of the mean E and I rates in the window (Hz)."""
        return self.measured - self.baseline


def sample_population(net, population: str) -> np.ndarray:
    """The neurons of ``population`` whose inputs are recorded: all, or MAX_SPLIT of them (fixed seed)."""
    idx = np.asarray(populations(net)[population], dtype=np.int64)
    if idx.size <= MAX_SPLIT:
        return idx
    return np.sort(np.random.default_rng([net.params.seed, 4]).choice(idx, MAX_SPLIT, replace=False))


def _input_parts(trial, n: int, half: int) -> dict:
    """The mean over the first ``n`` recorded neurons of the E part, the I part and the net input,
    each a moving average over ``2 half + 1`` samples."""
    by = trial.inputs_by_source()
    exc = sum(by[k][:, :n] for k in ("external", "static E", "plastic E", "feed-forward")).mean(axis=1)
    inh = (by["static I"][:, :n] + by["plastic I"][:, :n]).mean(axis=1)
    exc, inh = moving_average(np.stack([exc, inh], axis=1), half).T
    return {"E": exc, "I": inh, "net": exc + inh}


def _window_mean(t, y, start, stop) -> float:
    """The mean of ``y`` at the bin centres ``t`` inside ``(start, stop)``; a window with no centre inside
    (shorter than a bin: the sliders allow 10 ms) takes the bins of ``BIN_MS`` it overlaps."""
    inside = (t > start) & (t < stop)
    if not inside.any():
        inside = (t + BIN_MS / 2 > start) & (t - BIN_MS / 2 < stop)
    return float(np.mean(y[inside])) if inside.any() else float("nan")


def run_perturbation(net, population: str = "I", current: float = 0.5, start: float = 1500.0,
                     stop: float = 2500.0, condition: str = "right", *, control=None,
                     trained_loops: int | None = 0, stop_event=None) -> PerturbationOutcome | None:
    """Perturb ``population`` of ``net`` by ``current`` in ``[start, stop)`` ms of one trial; compare.

    Two trials of ``condition`` without learning, from the same random stream (test trial 0): the
    perturbed one and, unless given as ``control``, an unperturbed one, both recording the inputs of
    ``MAX_SPLIT`` neurons of the population at most (:func:`~tutorial_lib.balanced.run_trial`
    with ``split_inputs=True``). ``current`` is in the units of ``mu`` (threshold 1), in
    ``CURRENT_RANGE``. ``stop_event`` (``is_set()``): checked between the two trials; if set, None is
    returned. Returns a :class:`PerturbationOutcome`.

    Raises ValueError naming the argument (unknown population or condition, a current outside
    ``CURRENT_RANGE``, NaN or infinite, a window outside ``[0, t_end]`` or with ``stop <= start``,
    times off the dt grid, a ``control`` trial that is not of this network, condition and sampled
    neurons, a negative ``trained_loops``) and TypeError for arguments of the wrong class
    (``control`` not a Trial, ``stop_event`` without ``is_set()``), before any simulation, and
    :class:`~tutorial_lib.training.DivergenceError` if the activity runs away (with the balanced
    network's advice).
    """
    check_type("net", net, balanced.BalancedNetwork)
    p = net.params
    pert = make_perturbation(p, population, current, start, stop, condition)
    balanced.resolve_perturbations(net, pert)  # times on the dt grid, before any run
    if trained_loops is not None:
        trained_loops = check_int("trained_loops", trained_loops, lo=0, what="loops the network was trained")
    if stop_event is not None and not callable(getattr(stop_event, "is_set", None)):
        raise TypeError(f"stop_event must have an is_set() method, e.g. a threading.Event "
                        f"(got {type(stop_event).__name__})")
    sampled = sample_population(net, population)
    if control is not None:
        _check_control(control, net, condition, sampled)
    opts = dict(loop=0, record=sampled, split_inputs=True)
    if control is None:
        control = balanced.run_trial(net, condition, **opts)
        if stop_event is not None and stop_event.is_set():
            return None
    trial = balanced.run_trial(net, condition, perturbations=pert, **opts)
    pops = balanced.populations(net)
    names = ["E", "I"] + ([population] if population not in ("E", "I") else [])
    rates = {}
    for name in names:
        t, pert_rate = trial.psth(pops[name], BIN_MS, SMOOTH_MS)
        _, ctrl_rate = control.psth(pops[name], BIN_MS, SMOOTH_MS)
        rates[name] = (pert_rate.mean(axis=1), ctrl_rate.mean(axis=1))
    n = sampled.size
    half = int(round(INPUT_SMOOTH_MS / p.record_every))
    inputs = {"perturbed": _input_parts(trial, n, half), "control": _input_parts(control, n, half)}
    baseline = np.array([_window_mean(t, rates[k][1], pert.start, pert.stop) for k in ("E", "I")])
    measured = np.array([_window_mean(t, rates[k][0], pert.start, pert.stop) for k in ("E", "I")])
    predicted = None
    if population in WHOLE_POPULATIONS:
        fe, fi = WHOLE_POPULATIONS[population]
        predicted = balanced.balance_response(p, fe * pert.current, fi * pert.current)
    return PerturbationOutcome(population, pert.current, pert.start, pert.stop, condition, trained_loops,
                               t, rates, trial.run.t, inputs, baseline, measured, predicted, sampled,
                               len(pops[population]), trial, control)


def _check_control(control, net, condition: str, sampled: np.ndarray) -> None:
    """A ``control`` trial given to :func:`run_perturbation`: an unperturbed trial of ``net`` in ``condition``
    with the split inputs of ``sampled`` first (as :func:`run_perturbation` runs it). TypeError /
    ValueError naming ``control``."""
    check_type("control", control, Trial, allow_none=True)
    p = net.params
    if control.N != p.N or control.duration != p.t_end or control.condition != condition:
        raise ValueError(f"control must be a trial of this network ({p.N} neurons, {p.t_end:g} ms) in "
                         f"condition {condition!r} (got {control.N} neurons, {control.duration:g} ms, "
                         f"{control.condition!r})")
    if control.perturbations:
        raise ValueError("control must be a trial without perturbations (got one with "
                         f"{len(control.perturbations)})")
    rec = np.asarray(control.recorded)
    if control.run is None or control.run.plastic_parts is None or rec.size < sampled.size \
            or not np.array_equal(rec[:sampled.size], sampled):
        raise ValueError("control must record the split inputs of the sampled neurons: run it with "
                         "balanced.run_trial(net, condition, loop=0, record=<the sample>, split_inputs=True)")


def make_perturbation(p: BalancedParams, population, current, start, stop, condition) -> Perturbation:
    """The :class:`~tutorial_lib.balanced.Perturbation` of ``current`` into ``population`` in ``[start, stop)`` ms
    of a trial of ``condition`` under ``p``, checked; ValueError naming the argument."""
    if not isinstance(population, str) or population not in POPULATIONS:
        raise ValueError(f"population must be one of {list(POPULATIONS)} (got {population!r:.60})")
    if not isinstance(condition, str) or condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS} (got {condition!r:.60})")
    lo, hi = CURRENT_RANGE
    current = check_real("current", current, lo=lo, hi=hi,
                         what="the added input, units of threshold; negative silences")
    start = check_real("start", start, lo=0.0, hi=p.t_end, hi_open=True,
                       what=f"when the perturbation starts, ms, within the trial [0, {p.t_end:g})")
    stop = check_real("stop", stop, lo=start, lo_open=True, hi=p.t_end,
                      what=f"when it stops, ms, after start = {start:g} and at most the trial's end "
                           f"{p.t_end:g}")
    return Perturbation(population, current, start, stop)
