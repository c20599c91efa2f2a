r"""Part 5: does the trained network hold its choice? Perturb it as ALM was perturbed.

The experiments of the ALM papers on Part 3's trained balanced network (:mod:`tutorial_lib.balanced`):

* :func:`fit_choice`: the choice mode of the network's population activity (the rates of the trained
  neurons, or any population), fitted on some test trials of each condition and applied to others
  (held out), the projection of every held-out trial over time and its choice at the end of the delay
  (:mod:`tutorial_lib.core.choice` holds the formulas);
* :func:`photoinhibition`: strong drive to the I cells (a :class:`~tutorial_lib.balanced.Perturbation`
  on ``"I"``) in windows of given lengths at given times of the delay (Inagaki et al. 2019);
* :func:`distractors`: the other condition's stimulus, given again at a time of the delay
  (Finkelstein et al. 2021): exactly what the network's stimulus is, a current per neuron
  (``net.stimulus``), added as a Perturbation on every neuron for the stimulus' length;
* :func:`kicks`: a current to each neuron of the choice mode proportional to its weight, towards the
  other choice, of graded amplitude: the amplitude at which half of the trials switch
  (:meth:`Outcomes.thresholds`) is an empirical separatrix, and how it moves over the delay.

Each experiment runs its trials in parallel on ``n_jobs`` threads (default: the cores this process may
use; :func:`trials_in_parallel`), shows a progress bar with ``progress=True``, calls ``on_trial(row)``
as each trial finishes (a dict of the :data:`ROW` fields plus ``projection``, ``index`` and ``total``:
for a live figure) and takes ``stop``, an object with ``is_set()`` (a ``threading.Event``) checked
before every trial: once set, the experiment waits for the trials in flight and returns the trials run
so far (``Outcomes.stopped``). The results do not depend on ``n_jobs``.

Each experiment runs the held-out trials of the read-out again, each with the same random stream
(initial voltages, feed-forward spikes) as its unperturbed run, so a perturbed trial differs from its
baseline only by the perturbation: a perturbation of strength zero changes no spike. Per trial the
choice is read out as in :func:`fit_choice` and compared with the same trial's unperturbed choice:
*recovered* (the same) or *switched* (the other). :class:`Outcomes` holds one row per trial and
setting (tidy arrays) and the fractions with Wilson intervals.

Times in ms of the model's trial (the stimulus from ``stim_on`` to ``stim_off``, the delay from
``stim_off`` to the end of the trial ``t_end``: the model has no go cue, so the choice is read out in
the last ``readout_ms`` of the trial); currents in units of the threshold, as every input of the model;
rates in Hz.

The control that separates input from recurrence (:func:`without_condition_ffwd`): Part 3's
feed-forward inputs carry a rate process per condition through the whole delay, so the network may hold
its choice because its input does. The control gives both conditions the same rate process (same mean
rates; ``BalancedParams(ffwd_condition="none")`` builds such a network from the start), so only the
stimulus tells the conditions apart; train it with
:func:`tutorial_lib.balanced.train` and perturb it the same way.

Getting started::

    >>> from tutorial_lib import BalancedParams, balanced, attractors
    >>> result = balanced.train(BalancedParams.lecture())                       # doctest: +SKIP
    >>> readout = attractors.fit_choice(result, n_train=10, n_test=10)           # doctest: +SKIP
    >>> out = attractors.photoinhibition(result, readout, starts=[1200, 1800],
    ...                                  durations=[200, 400], strength=1.0)     # doctest: +SKIP
    >>> out.summary()["switched"]                                                # doctest: +SKIP

References
----------
* Inagaki HK, Fontolan L, Romani S, Svoboda K (2019) Discrete attractor dynamics underlies persistent
  activity in the frontal cortex. Nature 566:212-217. doi:10.1038/s41586-019-0919-7
* Finkelstein A, Fontolan L, Economo MN, Li N, Romani S, Svoboda K (2021) Attractor dynamics gate
  cortical information flow during decision-making. Nat Neurosci 24:843-850.
  doi:10.1038/s41593-021-00840-6
* Li N, Daie K, Svoboda K, Druckmann S (2016) Robust neuronal dynamics in premotor cortex during
  motor planning. Nature 532:459-464. doi:10.1038/nature17643
"""

from __future__ import annotations

import hashlib
import itertools
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

import numpy as np
from tqdm.auto import tqdm

from .balanced import Perturbation, populations, run_trial
from .balanced.network import BalancedNetwork, network_of
from .checks import MAX_STEPS, check_int, check_real, check_type
from .core import choice as core_choice
from .core import psth as core_psth
from .data import CONDITIONS
from .engine.rls_state import default_threads

__all__ = ["ChoiceReadout", "Outcomes", "ROW", "MAX_STRENGTH", "fit_choice", "fingerprint", "trial_rates", "trials_in_parallel",
           "photoinhibition", "distractors", "kicks", "without_condition_ffwd"]

#: the largest strength each experiment accepts (threshold units; the distractor's is a scale of the stimulus)
MAX_STRENGTH = {"photoinhibition": 100.0, "distractor": 10.0, "kick": 1000.0}
#: the condition on the +1 side of the choice mode (``CONDITIONS[0]``, lick right); the other is -1
SIGN = {CONDITIONS[0]: 1, CONDITIONS[1]: -1}


@dataclass
class ChoiceReadout:
    r"""The choice mode of a network and the choices of its held-out trials (:func:`fit_choice`).

    ``neurons`` (n,) the model neurons whose rates span the mode; ``mode`` (n,) the unit vector
    from lick-left to lick-right activity; ``midpoint`` (Hz) the threshold of the read-out;
    ``t`` (time,) bin centres, ms; ``mode_window``, ``readout_window`` (ms); ``bin_ms``,
    ``smooth_ms`` the rates' bins and smoothing; ``train_loops``, ``test_loops`` the test-trial
    numbers (``loop`` of :func:`~tutorial_lib.balanced.run_trial`) used to fit and held out;
    ``projection[c]`` (held-out trials, time) the held-out trials' projections (Hz) and
    ``choice[c]`` (held-out trials,) their choices (+1 right, -1 left, 0 undecided), per condition;
    ``network`` the :func:`fingerprint` of the network it was fitted on (the experiments refuse a read-out
    of another network, or of this one before its weights changed: its baseline choices would not be its
    trials').
    """

    neurons: np.ndarray
    mode: np.ndarray
    midpoint: float
    t: np.ndarray
    mode_window: tuple
    readout_window: tuple
    bin_ms: float
    smooth_ms: float
    train_loops: np.ndarray
    test_loops: np.ndarray
    projection: dict
    choice: dict
    network: str = ""

    @property
    def accuracy(self) -> float:
        """The fraction of held-out trials whose choice is their condition's (right +1, left -1)."""
        hits = [np.mean(self.choice[c] == SIGN[c]) for c in CONDITIONS]
        return float(np.mean(hits))

    def project(self, rates) -> np.ndarray:
        """Rates (trials, time, neurons) -> their projections (trials, time), Hz."""
        return core_choice.project(rates, self.mode)

    def choose(self, projection) -> np.ndarray:
        """Projections (trials, time) -> choices (trials,) read out in ``readout_window``."""
        return core_choice.read_choice(projection, self.t, self.readout_window, self.midpoint)


@dataclass
class Outcomes:
    r"""One row per perturbed trial and setting (tidy arrays, all of length ``n``).

    ``experiment`` its name; ``condition`` (n,) str; ``trial`` (n,) the test-trial number;
    ``start``, ``duration`` (n,) the perturbation's window, ms; ``strength`` (n,) its strength
    (threshold units: the current to each I cell, the distractor's scale, the kick's amplitude);
    ``baseline`` (n,) the same trial's unperturbed choice, ``choice`` (n,) the perturbed one
    (+1 right, -1 left, 0 undecided); ``switched`` (n,) the choice is the other one,
    ``recovered`` (n,) it is the same; ``end`` (n,) the mean projection in the read-out window
    (Hz); ``projection`` (n, time) every trial's projection over ``t`` (time,); ``stopped`` True if
    ``stop`` ended the experiment early (the rows then hold the trials run so far).
    """

    experiment: str
    condition: np.ndarray
    trial: np.ndarray
    start: np.ndarray
    duration: np.ndarray
    strength: np.ndarray
    baseline: np.ndarray
    choice: np.ndarray
    switched: np.ndarray
    recovered: np.ndarray
    end: np.ndarray
    projection: np.ndarray
    t: np.ndarray
    stopped: bool = False

    def __len__(self) -> int:
        return self.trial.shape[0]

    def summary(self, level: float = 0.95) -> dict:
        """Per setting (start, duration, strength): ``n`` trials, the ``switched`` and ``recovered``
        fractions and the Wilson interval of the switched one (``low``, ``high``); a dict of arrays."""
        keys = np.stack([self.start, self.duration, self.strength], axis=1)
        settings, inv = np.unique(keys, axis=0, return_inverse=True)
        inv = inv.ravel()
        n = np.bincount(inv, minlength=len(settings))
        k = np.bincount(inv, weights=self.switched, minlength=len(settings))
        kept = np.bincount(inv, weights=self.recovered, minlength=len(settings))
        frac, low, high = core_choice.wilson_interval(k, n, level)
        return {"start": settings[:, 0], "duration": settings[:, 1], "strength": settings[:, 2], "n": n,
                "switched": frac, "low": low, "high": high, "recovered": kept / n}

    def thresholds(self, level: float = 0.95) -> dict:
        """Per start time: the strength at which half of the trials switch and its interval
        (:func:`~tutorial_lib.core.choice.switch_threshold`); for :func:`kicks`, the empirical separatrix
        over the delay. A dict of arrays ``start``, ``a50``, ``low``, ``high``, ``bounded``; NaN (and
        ``bounded`` False) at a time with fewer than two amplitudes (one given, or a stopped run)."""
        starts = np.unique(self.start)
        out = {"start": starts, **{k: np.full(starts.size, np.nan) for k in ("a50", "low", "high")},
               "bounded": np.zeros(starts.size, bool)}
        for i, s in enumerate(starts):
            here = self.start == s
            if np.unique(self.strength[here]).size < 2:  # a stopped run, or one amplitude: no fit
                continue
            fit = core_choice.switch_threshold(self.strength[here], self.switched[here], level)
            out["a50"][i], out["low"][i], out["high"][i], out["bounded"][i] = fit.a50, fit.low, fit.high, fit.bounded
        return out


def _neurons(net: BalancedNetwork, neurons) -> np.ndarray:
    pops = populations(net)
    if isinstance(neurons, str):
        if neurons not in pops:
            raise ValueError(f"neurons must be one of the populations {sorted(pops)} or an index array "
                             f"(got {neurons!r})")
        return pops[neurons].astype(np.int64)
    idx = np.asarray(neurons)
    if idx.ndim != 1 or idx.size < 2 or idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= net.params.N:
        raise ValueError(f"neurons must be a 1-D array of at least 2 neuron indices in [0, {net.params.N - 1}]")
    if np.unique(idx).size != idx.size:
        raise ValueError("neurons must name each neuron once (a neuron given twice would weigh twice in the "
                         f"choice mode; got {np.sort(idx)[np.flatnonzero(np.diff(np.sort(idx)) == 0)[0]]} twice)")
    return idx.astype(np.int64)


def fingerprint(net) -> str:
    """A digest of what a trial of ``net`` depends on (its parameters, plastic weights, stimuli and
    feed-forward rates): equal for copies, different once the weights change. :func:`fit_choice`
    stores it in the read-out; the experiments compare it."""
    net = network_of(net)
    h = hashlib.blake2b(repr(net.params).encode(), digest_size=16)
    arrays = [net.trained, net.presyn, net.w, *(net.stimulus[c] for c in CONDITIONS)]
    arrays += [] if net.ffwd_rates is None else [net.ffwd_rates[c] for c in CONDITIONS]
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def trial_rates(net, condition: str, loop: int, neurons, bin_ms: float = 20.0, smooth_ms: float = 50.0,
                perturbations=None):
    """``(t, rates)`` of one test trial: bin centres (time,) ms and the rates (time, neurons) in Hz of
    ``neurons`` (:meth:`~tutorial_lib.balanced.Trial.psth`), from test trial ``loop`` of ``condition``
    (its own random stream: the same ``loop`` gives the same spikes), with ``perturbations``."""
    net = network_of(net)
    trial = run_trial(net, condition, loop=loop, spikes_only=True, perturbations=perturbations)
    return trial.psth(neurons, bin_ms, smooth_ms)


def _windows(p, mode_window, readout_ms: float, bin_ms, smooth_ms):
    """The checked ``(mode_window, readout_window, bin_ms, smooth_ms)``: each window must hold a bin centre of
    the rates (:meth:`~tutorial_lib.balanced.Trial.psth`'s bins), said before any trial runs."""
    delay = (p.stim_off, p.t_end)
    bin_ms = check_real("bin_ms", bin_ms, lo=p.t_end / MAX_STEPS, lo_open=True, hi=p.t_end,
                        what=f"bin width of the rates, ms, at most the trial's duration {p.t_end:g}")
    smooth_ms = check_real("smooth_ms", smooth_ms, lo=0.0, what="half-width of the rates' moving average, ms")
    readout_ms = check_real("readout_ms", readout_ms, lo=0.0, lo_open=True, hi=p.t_end - p.stim_off,
                            what="the read-out window at the end of the delay, ms")
    if mode_window is None:
        mode_window = (0.5 * (delay[0] + delay[1]), delay[1])  # the second half of the delay
    if isinstance(mode_window, (str, bytes)) or not (hasattr(mode_window, "__len__") and len(mode_window) == 2):
        raise ValueError(f"mode_window must be a pair (start, stop) of times in ms (got {mode_window!r})")
    lo = check_real("mode_window[0]", mode_window[0], lo=0.0, hi=p.t_end, what="ms")
    hi = check_real("mode_window[1]", mode_window[1], lo=lo, lo_open=True, hi=p.t_end, what=f"ms, after {lo:g}")
    t = core_psth.psth(np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64), p.t_end, bin_ms, 0.0)[0]
    for name, (a, b) in (("mode_window", (lo, hi)), ("readout_ms", (p.t_end - readout_ms, p.t_end))):
        if not np.any((t >= a) & (t <= b)):
            raise ValueError(f"{name} must hold the centre of at least one {bin_ms:g} ms bin of the rates "
                             f"(the window ({a:g}, {b:g}) ms holds none: widen it, or narrow bin_ms)")
    return (lo, hi), (p.t_end - readout_ms, p.t_end), bin_ms, smooth_ms


def fit_choice(net, n_train: int = 10, n_test: int = 10, *, neurons="trained", bin_ms: float = 20.0,
               smooth_ms: float = 50.0, mode_window=None, readout_ms: float = 100.0,
               progress: bool = False, n_jobs=None, stop=None, on_trial=None) -> ChoiceReadout | None:
    """The choice mode of ``net`` (a BalancedNetwork or a TrainResult), fitted on held-in test trials.

    Runs test trials ``0 .. n_train - 1`` of each condition to fit the mode (averaged over
    ``mode_window``, default the second half of the delay) and the midpoint (in the read-out
    window, the last ``readout_ms`` of the trial), then the held-out trials ``n_train .. n_train +
    n_test - 1``, projected and read out. ``neurons``: a population of
    :func:`~tutorial_lib.balanced.populations` (default ``"trained"``, the model neurons that stand
    for the recorded ones) or indices; their rates in bins of ``bin_ms`` smoothed over
    ``+-smooth_ms`` (:meth:`~tutorial_lib.balanced.Trial.psth`). The trials run on ``n_jobs`` threads
    (:func:`trials_in_parallel`); ``on_trial(row)`` gets ``{"index", "total"}`` as each finishes (for
    progress); once ``stop.is_set()`` the fit waits for the trials in flight and returns None (the mode
    needs all its trials).

    Raises ValueError naming the parameter and its range (``n_train`` and ``n_test`` from 1 to 500,
    ``readout_ms`` in (0, delay], ``mode_window`` inside the trial, each window holding a bin centre,
    ``bin_ms`` in (0, trial], ``smooth_ms`` >= 0, an unknown population or a neuron named twice), TypeError
    for a ``net`` of another kind, before any trial runs.
    """
    net = network_of(net)
    n_train = check_int("n_train", n_train, lo=1, hi=500, what="test trials per condition to fit the mode")
    n_test = check_int("n_test", n_test, lo=1, hi=500, what="held-out test trials per condition")
    idx = _neurons(net, neurons)
    mode_window, readout_window, bin_ms, smooth_ms = _windows(net.params, mode_window, readout_ms, bin_ms, smooth_ms)
    train_loops, test_loops = np.arange(n_train), n_train + np.arange(n_test)
    bar = tqdm(total=2 * (n_train + n_test), desc="choice mode", unit="trial") if progress else None
    runs = [(c, k) for c in CONDITIONS for k in (*train_loops, *test_loops)]
    if on_trial is not None and not callable(on_trial):
        raise TypeError(f"on_trial must be None or a function of one row (got {on_trial!r:.80})")
    report = None if on_trial is None else (lambda k, _: on_trial({"index": k, "total": len(runs)}))
    try:
        done, stopped = trials_in_parallel(lambda run: trial_rates(net, run[0], int(run[1]), idx, bin_ms,
                                                                   smooth_ms), runs, n_jobs, stop=stop, bar=bar,
                                           on_result=report)
    finally:
        if bar is not None:
            bar.close()
    if stopped:
        return None
    t = done[0][0]
    rates = {c: np.stack([r for (cc, _), (_, r) in zip(runs, done) if cc == c]) for c in CONDITIONS}
    fit = {c: rates[c][:n_train] for c in CONDITIONS}
    held = {c: rates[c][n_train:] for c in CONDITIONS}
    a, b = CONDITIONS
    mode = core_choice.choice_mode(fit[a], fit[b], t, mode_window)
    mid = core_choice.choice_midpoint(core_choice.project(fit[a], mode), core_choice.project(fit[b], mode), t,
                                      readout_window)
    proj = {c: core_choice.project(held[c], mode) for c in CONDITIONS}
    choice = {c: core_choice.read_choice(proj[c], t, readout_window, mid) for c in CONDITIONS}
    return ChoiceReadout(idx, mode, mid, t, mode_window, readout_window, bin_ms, smooth_ms, train_loops, test_loops,
                         proj, choice, fingerprint(net))


def _times(name: str, values, lo: float, hi: float, dt, what: str) -> np.ndarray:
    """``values`` (one number or a 1-D sequence) as an array, each in ``[lo, hi]``, on the dt grid (None: any
    value) and each once: a setting given twice would run the same trials twice and count them twice."""
    arr = np.atleast_1d(np.asarray(values, dtype=object))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a number or a non-empty 1-D sequence of numbers ({what})")
    out = np.array([check_real(f"{name}[{k}]", v, lo=lo, hi=hi, what=what) for k, v in enumerate(arr)])
    if dt is not None:
        _on_grid(name, out, dt)
    twice = [v for k, v in enumerate(out) if v in out[:k]]
    if twice:
        raise ValueError(f"{name} must hold each value once (got {twice[0]:g} twice: the same trials would "
                         "count twice)")
    return out


def _on_grid(name: str, values: np.ndarray, dt: float) -> None:
    off = np.abs(values / dt - np.round(values / dt)) > 1e-6
    if np.any(off):
        raise ValueError(f"{name} must be on the dt = {dt:g} ms grid (got {values[off][0]:g})")


def _check_readout(net: BalancedNetwork, readout) -> ChoiceReadout:
    check_type("readout", readout, ChoiceReadout)
    if (readout.neurons.max() >= net.params.N or readout.t[-1] > net.params.t_end
            or readout.network != fingerprint(net)):
        raise ValueError("readout must come from fit_choice on this network, with its weights as they are now "
                         "(it was fitted on another network, or before the weights changed: fit it again)")
    return readout


def trials_in_parallel(run_one, items, n_jobs=None, *, stop=None, bar=None, on_result=None):
    """``run_one(item)`` for every item on ``n_jobs`` threads (the compiled trial releases the GIL):
    ``(results, stopped)``, ``results`` in the order of ``items`` (the trials finished).

    ``n_jobs``: None, the cores this process may use (``$TUTORIAL_LIB_THREADS`` if set); at most one
    trial per thread is in flight, so ``stop.is_set()``, checked before each trial starts, ends the run
    within one trial's time, and an exception (Ctrl-C included) returns only after every started trial
    has finished: no thread is left running. ``on_result(index, result)`` is called in the calling thread
    as each trial finishes (for a live figure). Each trial has its own random stream, so the results do
    not depend on ``n_jobs``.
    """
    n_jobs = default_threads() if n_jobs is None else check_int("n_jobs", n_jobs, lo=1, hi=256,
                                                                 what="threads running trials")
    if stop is not None and not callable(getattr(stop, "is_set", None)):
        raise TypeError(f"stop must be None or an object with is_set() (a threading.Event; got {stop!r:.80})")
    results, todo, stopped = {}, list(enumerate(items)), False
    pool = ThreadPoolExecutor(max_workers=max(1, min(n_jobs, len(todo))), thread_name_prefix="trial")
    running = {}
    try:
        while todo or running:
            while todo and len(running) < n_jobs:
                if stop is not None and stop.is_set():
                    stopped, todo = True, []
                    break
                k, item = todo.pop(0)
                running[pool.submit(run_one, item)] = k
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=running.get):
                k = running.pop(future)
                results[k] = future.result()
                if bar is not None:
                    bar.update()
                if on_result is not None:
                    on_result(k, results[k])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [results[k] for k in sorted(results)], stopped


def _run(net, readout: ChoiceReadout, experiment: str, settings: list, make, progress: bool, stop,
         n_jobs=None, on_trial=None) -> Outcomes:
    """Every held-out trial of each condition under every setting ``(start, duration, strength)``:
    ``make(setting, condition, baseline)`` gives the trial's perturbations; runs them with
    :func:`trials_in_parallel`; ``on_trial(row)`` gets each finished trial's row (a dict)."""
    runs = list(itertools.product(CONDITIONS, range(readout.test_loops.size), settings))

    def one(run):
        c, j, s = run
        loop, base = int(readout.test_loops[j]), int(readout.choice[c][j])
        _, r = trial_rates(net, c, loop, readout.neurons, readout.bin_ms, readout.smooth_ms, make(s, c, base))
        proj = readout.project(r[None])
        row = (c, loop, *s, base, int(readout.choose(proj)[0]),
               float(core_choice.window_mean(proj, readout.t, readout.readout_window)[0]))
        return row, proj[0]

    def report(k, result):
        if on_trial is not None:
            on_trial(dict(zip(ROW, result[0]), projection=result[1], index=k, total=len(runs)))

    if on_trial is not None and not callable(on_trial):
        raise TypeError(f"on_trial must be None or a function of one row (got {on_trial!r:.80})")
    bar = tqdm(total=len(runs), desc=experiment, unit="trial") if progress else None
    try:
        done, stopped = trials_in_parallel(one, runs, n_jobs, stop=stop, bar=bar, on_result=report)
    finally:
        if bar is not None:
            bar.close()
    return _table(experiment, [row for row, _ in done], [proj for _, proj in done], readout.t, stopped)


#: the fields of a trial's row, in the order of :func:`_table`'s columns (``on_trial`` gets them as a dict)
ROW = ("condition", "trial", "start", "duration", "strength", "baseline", "choice", "end")


def _table(experiment: str, rows: list, traces: list, t: np.ndarray, stopped: bool) -> Outcomes:
    """The :class:`Outcomes` of rows ``(condition, trial, start, duration, strength, baseline, choice, end)``."""
    cols = list(zip(*rows)) or [()] * 8
    base, choice = np.array(cols[5], np.int64), np.array(cols[6], np.int64)
    return Outcomes(experiment, np.array(cols[0], dtype=object), np.array(cols[1], np.int64),
                    np.array(cols[2], float), np.array(cols[3], float), np.array(cols[4], float), base, choice,
                    (choice == -base) & (base != 0), choice == base, np.array(cols[7], float),
                    np.array(traces, float).reshape(len(rows), t.size), t.copy(), stopped)


def _strength(name: str, value, hi: float, what: str) -> float:
    return check_real(name, value, lo=0.0, hi=hi, what=what)


def photoinhibition(net, readout: ChoiceReadout, starts, durations, strength: float = 1.0, *,
                    progress: bool = False, stop=None, n_jobs=None, on_trial=None) -> Outcomes:
    """Photoinhibition-like windows: ``strength`` added to every I cell from each of ``starts`` for each of
    ``durations`` (ms), in every held-out trial of ``readout``; recovered or switched per trial.

    ``starts`` in ``[stim_off, readout start)`` and each window ending by the read-out window (the
    last ``readout_ms`` of the trial), on the dt grid, each start and each duration once; ``strength`` in ``[0, 100]`` (threshold units;
    0 changes no spike). Raises ValueError naming the parameter and its range.
    """
    net = network_of(net)
    readout = _check_readout(net, readout)
    p, end = net.params, readout.readout_window[0]
    starts = _times("starts", starts, p.stim_off, end - p.dt, p.dt, "window starts in the delay, ms")
    durations = _times("durations", durations, p.dt, end - starts.min(), p.dt, "window lengths, ms")
    if starts.max() + durations.max() > end + 1e-9:
        raise ValueError(f"starts + durations must end by the read-out window at {end:g} ms "
                         f"(got {starts.max():g} + {durations.max():g})")
    strength = _strength("strength", strength, MAX_STRENGTH["photoinhibition"],
                         "current to each I cell, threshold units")
    settings = [(s, d, strength) for s, d in itertools.product(starts, durations)]
    return _run(net, readout, "photoinhibition", settings,
                lambda s, c, base: [Perturbation("I", s[2], s[0], s[0] + s[1])],
                progress, stop, n_jobs, on_trial)


def distractors(net, readout: ChoiceReadout, times, strength: float = 1.0, *, progress: bool = False,
                stop=None, n_jobs=None, on_trial=None) -> Outcomes:
    """The other condition's stimulus (``strength`` times ``net.stimulus``, as long as the stimulus) given
    again from each of ``times`` (ms) of the delay, in every held-out trial; recovered or switched.

    ``times`` in ``[stim_off, readout start - stimulus length]`` on the dt grid, each once; ``strength`` in
    ``[0, 10]`` (1: the stimulus itself; 0 changes no spike). Raises ValueError naming the parameter
    and its range. The gating curve: ``summary()["switched"]`` against ``summary()["start"]``.
    """
    net = network_of(net)
    readout = _check_readout(net, readout)
    p = net.params
    length = p.stim_off - p.stim_on
    times = _times("times", times, p.stim_off, readout.readout_window[0] - length, p.dt,
                   f"distractor onsets, ms, so that the {length:g} ms stimulus ends by the read-out window")
    strength = _strength("strength", strength, MAX_STRENGTH["distractor"],
                         "scale of the other condition's stimulus")
    other = {CONDITIONS[0]: CONDITIONS[1], CONDITIONS[1]: CONDITIONS[0]}
    settings = [(t, length, strength) for t in times]
    return _run(net, readout, "distractor", settings,
                lambda s, c, base: [Perturbation("all", s[2] * net.stimulus[other[c]], s[0], s[0] + s[1])],
                progress, stop, n_jobs, on_trial)


def kicks(net, readout: ChoiceReadout, amplitudes, times, duration: float = 50.0, *,
          progress: bool = False, stop=None, n_jobs=None, on_trial=None) -> Outcomes:
    """Kicks along the choice mode towards the other choice: neuron ``readout.neurons[i]`` gets
    ``-baseline * amplitude * readout.mode[i]`` (threshold units; the current vector has norm
    ``amplitude``) from each of ``times`` for ``duration`` ms, in every held-out trial.

    ``amplitudes`` in ``[0, 1000]``, each once; ``times`` in the delay, each once, each kick ending by the
    read-out window, on the dt grid; ``duration`` (one number) ms in ``[dt, delay]``. A trial read out as undecided (0) gets no kick.
    :meth:`Outcomes.thresholds` gives the amplitude that switches half of the trials at each time.
    Raises ValueError naming the parameter and its range.
    """
    net = network_of(net)
    readout = _check_readout(net, readout)
    p, end = net.params, readout.readout_window[0]
    duration = check_real("duration", duration, lo=p.dt, hi=end - p.stim_off, what="kick length, ms")
    _on_grid("duration", np.array([duration]), p.dt)
    times = _times("times", times, p.stim_off, end - duration, p.dt,
                   f"kick onsets, ms, so that a {duration:g} ms kick ends by the read-out window")
    amps = _times("amplitudes", amplitudes, 0.0, MAX_STRENGTH["kick"], None,
                  "norm of the kick's current vector, threshold units")
    settings = [(t, duration, a) for t, a in itertools.product(times, amps)]
    return _run(net, readout, "kick", settings,
                lambda s, c, base: [Perturbation(readout.neurons, -base * s[2] * readout.mode, s[0], s[0] + s[1])],
                progress, stop, n_jobs, on_trial)


def without_condition_ffwd(net) -> BalancedNetwork:
    """The control: a copy of ``net``, untrained (weights ``w0``), whose feed-forward inputs carry no
    condition: both conditions get the first condition's rate process (a copy each), as a network built
    with ``ffwd_condition="none"`` has (its params say so). Everything else (static network, trained
    neurons, targets, stimuli) is shared; train it with :func:`tutorial_lib.balanced.train`.

    Raises ValueError if ``net`` has no feed-forward inputs (``params.ffwd`` False), TypeError for a
    ``net`` of another kind.
    """
    net = network_of(net)
    if not net.params.ffwd or net.ffwd_rates is None:
        raise ValueError("net has no feed-forward inputs (params.ffwd is False): there is no condition to remove")
    control = net.copy()
    control.params = replace(net.params, ffwd_condition="none")
    control.w = net.w0.copy()
    control.ffwd_rates = {c: net.ffwd_rates[CONDITIONS[0]].copy() for c in CONDITIONS}
    return control
