r"""Part 3, stage 5: one trial (with or without learning), test trials, and the score.

:func:`run_trial` simulates one condition from a reset state, running RLS at the learning times
when given an RLS state; :func:`evaluate` runs test trials without learning. The score (the
original's) correlates each trained neuron's total input, averaged over +-50 ms windows on the
learning grid, with its target; the trial-averaged score does the same for the input averaged
over test trials.

Both choose what to record (``record``: the default neurons, ``"all"``, a population of
:func:`~tutorial_lib.balanced.populations` or an index array; ``spikes_only`` for many trials),
can split each recorded neuron's input by source (``split_inputs``, then
:meth:`Trial.inputs_by_source`) and take perturbations (:class:`~tutorial_lib.engine.lif_data.Perturbation`,
neurons by index or population name).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from ..analysis import moving_average, window_average
from ..data import CONDITIONS
from ..params import BalancedParams
from ..checks import MAX_STEPS, MemoryEstimateError, check_int, check_real, check_type, memory_limit
from ..engine.rls_shared import SharedInputRLS
from ..engine.rls_state import BatchRLS
from ..engine.lif_checks import check_indices
from ..engine.lif_data import Learning, Replay, Run
from ..engine.lif_inputs import check_replay
from ..engine.simulate import simulate
from ..core.stats import score_correlation
from ..errors import DivergenceError
from .advice import advice
from .network import BalancedNetwork, populations, resolve_perturbations
from .streams import TEST, TRAIN
from .weights import sign_bounds

__all__ = [
    "Trial",
    "TestResult",
    "run_trial",
    "evaluate",
]


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
    ``("excitatory", "inhibitory", "plastic")``), or None if not kept
    (``keep_run=False`` or ``spikes_only``); column ``q`` of its arrays is neuron
    ``recorded[q]``. Spikes of all neurons are in ``spike_times`` / ``spike_neurons``.
    ``perturbations`` those applied (indices resolved).
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
    perturbations: tuple = ()

    def inputs_by_source(self) -> dict:
        """Each recorded neuron's input split by source: a dict of (time, recorded) arrays.

        Keys ``"external"`` (``mu`` + stimulus + perturbations), ``"static E"``, ``"static I"``
        (the static balanced inputs), ``"plastic E"``, ``"plastic I"``, ``"feed-forward"`` (the
        plastic input by source; zero for neurons that are not trained and, without feed-forward
        inputs, for ``"feed-forward"``); times ``run.t``, columns ``recorded``. The six add up to
        ``run.total_input``: exactly for the first three, and for the plastic ones up to rounding
        (``1e-12`` relative to the largest group; see :meth:`~tutorial_lib.engine.lif_data.Run.inputs_by_source`).

        Raises ValueError if the trial kept no record or was run without ``split_inputs=True``.
        """
        if self.run is None:
            raise ValueError("this trial kept no record (keep_run=False or spikes_only=True); "
                             "run it with keep_run=True and split_inputs=True")
        if self.run.plastic_parts is None:
            raise ValueError("this trial did not record the split of its plastic input: "
                             "run it with split_inputs=True")
        by = self.run.inputs_by_source()
        return {"external": by["external"], "static E": by["excitatory"], "static I": by["inhibitory"],
                **{name: by[name] for name in PLASTIC_SOURCES}}

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
            Neuron indices in ``[0, N - 1]`` (columns of the result, in this order; whole numbers,
            checked before any conversion, so -1 or an unsigned ``2**64 - 1`` is refused, not read
            as the last neuron; a neuron given twice has two equal columns). Empty: no columns.
        bin_ms : float
            Bin width in ms, ``0 < bin_ms <= duration``, at most ``MAX_STEPS`` (1e8) bins. Default 20.
        smooth_ms : float
            Half-width of the moving average in ms (>= 0, finite; 0: none; beyond the trial's
            duration it is the whole trial). Default 50.

        Returns
        -------
        t : ndarray, shape (n,)
            Bin centres, ms.
        rates : ndarray, shape (n, len(neurons))
            Firing rates, Hz.

        Raises
        ------
        ValueError
            ``neurons`` not whole numbers in ``[0, N - 1]``, ``bin_ms`` outside ``(0, duration]`` or
            giving more than 1e8 bins, ``smooth_ms`` negative or not finite;
            :class:`~tutorial_lib.checks.MemoryEstimateError` if the counts would not fit in memory.
        """
        neurons = check_indices("neurons", neurons, self.N - 1)
        bin_ms = check_real("bin_ms", bin_ms, lo=max(self.duration / MAX_STEPS, 0.0), lo_open=True,
                            hi=self.duration,
                            what=f"bin width, ms, at most the trial's duration {self.duration:g} and at most "
                                 f"{MAX_STEPS:.0e} bins")
        smooth_ms = check_real("smooth_ms", smooth_ms, lo=0.0, what="half-width of the moving average, ms")
        n = int(math.floor(self.duration / bin_ms + 1e-9))
        _check_psth_memory(n, neurons.size)
        edges = bin_ms * np.arange(n + 1)
        counts = _bin_counts(self.spike_times, self.spike_neurons, self.N, neurons, edges, bin_ms)
        half = min(smooth_ms / bin_ms, float(n))  # a window wider than the trial is the whole trial
        rate = moving_average(counts * (1000.0 / bin_ms), int(round(half)))
        return 0.5 * (edges[:-1] + edges[1:]), rate


def _bin_counts(spike_times: np.ndarray, spike_neurons: np.ndarray, N: int, neurons: np.ndarray,
                edges: np.ndarray, bin_ms: float) -> np.ndarray:
    """(bins, len(neurons)) spike counts of ``neurons`` in the bins ``(edges[k], edges[k + 1]]`` (the rule of
    :meth:`Trial.psth`: a spike within ``1e-9 bin_ms`` above an edge counts as on it)."""
    n = edges.shape[0] - 1
    # a neuron asked for twice gets its counts in both columns (counted once, then copied)
    uniq, inv = np.unique(neurons, return_inverse=True)
    cols = neurons if uniq.size == neurons.size else uniq
    col = np.full(N, -1)
    col[cols] = np.arange(cols.size)
    sel = col[spike_neurons] >= 0
    b = np.searchsorted(edges, spike_times[sel] - 1e-9 * bin_ms, side="left") - 1
    inside = (b >= 0) & (b < n)
    counts = np.zeros((n, cols.size))
    np.add.at(counts, (b[inside], col[spike_neurons[sel]][inside]), 1.0)
    if cols is not neurons:
        counts = counts[:, inv]
    return counts


def _check_psth_memory(n_bins: int, n_neurons: int) -> None:
    """MemoryEstimateError naming ``bin_ms`` and ``neurons`` if :meth:`Trial.psth`'s arrays (the counts,
    the rates and their moving average: three of bins x neurons) would not fit in memory."""
    need, limit = 3 * 8.0 * n_bins * n_neurons, memory_limit()
    if need > limit:
        raise MemoryEstimateError(f"bin_ms too small for memory (bin_ms, neurons size it): {n_bins} bins of "
                                  f"{n_neurons} neurons would need {need / 2**30:.3g} GiB, more than the "
                                  f"{limit / 2**30:.3g} GiB available. Raise bin_ms or pass fewer neurons.",
                                  need, limit, ("bin_ms", "neurons"), [("psth", need, ["bin_ms", "neurons"])])


def _check_flags(**flags) -> None:
    """TypeError naming the first of ``flags`` that is not True or False (text such as "no" is not False)."""
    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False (got {type(value).__name__}: {value!r:.60})")


PLASTIC_SOURCES = ("plastic E", "plastic I", "feed-forward")  # the groups of the plastic input's sources


def _record_index(net: BalancedNetwork, record, spikes_only: bool) -> np.ndarray:
    """The neurons a trial records: those asked for (in that order), then any trained neuron missing
    (the score needs their input). ``spikes_only``: the trained neurons only. Raises ValueError."""
    if spikes_only:
        if record is not None:
            raise ValueError("record must be None with spikes_only=True (only spikes are kept)")
        return net.trained.astype(np.int64)
    if record is None:
        return net.recorded
    if isinstance(record, str):
        pops = populations(net)
        if record not in pops:
            raise ValueError(f"record must be None, a neuron index array or one of the populations "
                             f"{sorted(pops)} (got {record!r})")
        idx = pops[record]
    else:
        if np.ndim(record) != 1:
            raise ValueError(f"record must be None, a population name or a 1-D array of neuron indices "
                             f"(got {' '.join(repr(record).split()):.80})")
        # whole numbers in range, checked before any conversion (no uint64 wrapping to -1)
        idx = check_indices("record", record, net.params.N - 1)
    idx = idx.astype(np.int64)
    return np.concatenate([idx, net.trained[~np.isin(net.trained, idx)]])


def _plastic_groups(net: BalancedNetwork):
    """``(names, group)`` of the plastic sources for the engine: E neurons, I neurons, feed-forward."""
    p = net.params
    n_sources = p.N + (p.n_ffwd if p.ffwd else 0)
    group = np.full(n_sources, 2, dtype=np.int64)
    group[:p.N] = np.where(np.arange(p.N) < p.Ne, 0, 1)
    return PLASTIC_SOURCES, group


def _trial_rng(p: BalancedParams, stream: int, index: int, condition: str) -> np.random.Generator:
    return np.random.default_rng([p.seed, stream, index, CONDITIONS.index(condition)])


def run_trial(net: BalancedNetwork, condition: str = "right", rls: BatchRLS | SharedInputRLS | None = None, *,
              loop: int | None = None, rng: np.random.Generator | None = None,
              keep_run: bool = True, record=None, spikes_only: bool = False, split_inputs: bool = False,
              perturbations=None, replay: Replay | None = None) -> Trial:
    """Simulate one trial of ``condition`` from a reset state; with ``rls``, train ``net.w`` in place.

    The initial voltages (Uniform(0, 1)) and the Poisson feedforward spikes
    come from ``rng``; by default from a stream fixed by ``params.seed``,
    ``loop`` and the condition (one family for training loops, another for
    tests), so the same network, seed and loop give the same spikes.

    Parameters
    ----------
    record : None, str or array_like of int
        Whose voltages and inputs ``trial.run`` records (every ``params.record_every`` ms): None the
        trained neurons and ``net.examples`` (``net.recorded``); a population name of
        :func:`~tutorial_lib.balanced.populations` (``"all"``, ``"E"``, ``"I"``, ``"trained"``,
        ``"untrained E"``); or neuron indices. Trained neurons not asked for are appended (the score
        needs their input); ``trial.recorded`` lists the columns. Recording ``"all"`` at full scale
        takes 3000 steps x 5000 neurons x 5 arrays (``v``, three currents, ``external``) x 8 bytes
        = 0.6 GB per trial (1 GB with ``split_inputs``).
    keep_run : bool
        Keep the record in ``trial.run`` (False: ``trial.run`` None, and the engine records only the
        trained neurons' total input, for the score).
    spikes_only : bool
        Keep spikes only (``trial.run`` None, ``record`` must be None): the engine records just the
        trained neurons' total input for the score and drops it after binning. For many test trials.
    split_inputs : bool
        Also record the plastic input split by source (:meth:`Trial.inputs_by_source`); costs a pass
        over the recorded neurons' plastic inputs per recorded step, so it is off by default.
    perturbations : a :class:`~tutorial_lib.engine.lif_data.Perturbation` or a list of them
        Currents added in their windows (neurons by index or population name), also while learning
        (RLS then sees them as part of the total input).
    replay : a :class:`~tutorial_lib.engine.lif_data.Replay`
        Spikes delivered to the synapses it names (``"excitatory"``, ``"inhibitory"``, ``"plastic"``)
        instead of the network's own (:func:`~tutorial_lib.balanced.spike_timing_test`). Run with the
        same ``loop`` as the trial whose spikes it replays, the noise, initial voltages and
        feed-forward spikes are those of that trial.

    Raises
    ------
    TypeError
        Arguments of the wrong class.
    ValueError
        Naming the argument or field (unknown condition or population, indices out of range or not
        whole numbers, a perturbation off the dt grid, a replay that does not fit the network,
        ``split_inputs`` with ``spikes_only``), before the feed-forward spikes are drawn and the run.
    DivergenceError
        If the activity blows up (with :func:`~tutorial_lib.balanced.advice`).
    """
    loop, rec, perturbations = _check_trial_args(net, condition, rls, rng, replay, loop, record,
                                                 perturbations, keep_run=keep_run,
                                                 spikes_only=spikes_only, split_inputs=split_inputs)
    if rng is None:
        stream = TRAIN if rls is not None else TEST
        rng = _trial_rng(net.params, stream, 0 if loop is None else loop, condition)
    kept = keep_run and not spikes_only  # else only the score's input: the trained neurons' total
    run = _simulate_trial(net, condition, rls, rng, loop, rec, kept, split_inputs, perturbations, replay)
    return _trial_of(net, condition, run, rec, kept, perturbations)


def _check_trial_args(net, condition, rls, rng, replay, loop, record, perturbations, *, keep_run: bool,
                      spikes_only: bool, split_inputs: bool) -> tuple:
    """:func:`run_trial`'s arguments checked, before anything is drawn: ``(loop, rec, perturbations)``
    (the loop as an int or None, the neurons to record, the perturbations with indices only)."""
    check_type("net", net, BalancedNetwork)
    check_type("rls", rls, (BatchRLS, SharedInputRLS), allow_none=True)
    check_type("rng", rng, np.random.Generator, allow_none=True)
    check_type("replay", replay, Replay, allow_none=True)
    _check_flags(keep_run=keep_run, spikes_only=spikes_only, split_inputs=split_inputs)
    if loop is not None:
        loop = check_int("loop", loop, lo=0)
    p = net.params
    if not isinstance(condition, str) or condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS} (got {condition!r})")
    if split_inputs and spikes_only:
        raise ValueError("split_inputs needs a record of the inputs: it cannot go with spikes_only=True")
    rec = _record_index(net, record, spikes_only)
    perturbations = resolve_perturbations(net, perturbations)
    if replay is not None:  # its neurons and channels, before the feed-forward spikes are drawn
        check_replay(replay, ("excitatory", "inhibitory", "plastic"), p.N, p.dt)
    return loop, rec, perturbations


def _simulate_trial(net: BalancedNetwork, condition: str, rls, rng: np.random.Generator, loop,
                    rec: np.ndarray, kept: bool, split_inputs: bool, perturbations: list, replay) -> Run:
    """The engine's run of one trial: the feed-forward spikes drawn from ``rng``, then the simulation (with
    RLS if ``rls``; ``net.w`` then holds what was learned, even if the run stopped). ``kept``: record
    ``rec`` in full, else only the trained neurons' total input. A DivergenceError gets its phase, loop,
    condition and :func:`advice`."""
    p = net.params
    external = net.ffwd_spikes(condition, rng)
    lif = net.lif()
    w_min, w_max = sign_bounds(p) if p.sign_constrained else (None, None)  # clipping: not exact RLS
    learning = None if rls is None else Learning(rls, p.learn_times, net.targets[condition], w_min=w_min,
                                                 w_max=w_max)
    try:
        return simulate(lif, p.t_end, rng=rng, stimulus=net.stimulus[condition],
                        stim_window=(p.stim_on, p.stim_off), record=rec if kept else net.trained,
                        record_every=p.record_every, learning=learning, external=external,
                        max_rate=p.max_rate, perturbations=perturbations,
                        plastic_groups=_plastic_groups(net) if split_inputs and kept else None, replay=replay,
                        total_only=not kept)
    except DivergenceError as err:
        # without RLS: a test trial of a trained network, or a run of the untrained one
        phase = "learning" if rls is not None else ("test" if np.any(net.w != net.w0) else "untrained")
        err.annotate(phase=phase, loop=loop if rls is not None else None, condition=condition, params=p)
        raise err.annotate(advice=advice(err))
    finally:
        if rls is not None:  # keep what was learned, even if the run stopped
            net.w[...] = lif.plastic.w


def _trial_of(net: BalancedNetwork, condition: str, run: Run, rec: np.ndarray, kept: bool,
              perturbations: list) -> Trial:
    """The :class:`Trial` of a run: the trained neurons' total input windowed on the learning grid, its
    correlation with the targets (the score), the spikes and, if ``kept``, the run itself."""
    p = net.params
    cols = _columns(run.recorded, net.trained)  # the trained neurons, in their order (first, as a rule)
    total_input = run.total_input[:, :cols.size] if np.array_equal(cols, np.arange(cols.size)) else \
        run.total_input[:, cols]
    binned = window_average(run.t, total_input, p.learn_times, p.score_window, p.stim_off, p.t_end)
    target = net.targets[condition]
    corr = score_correlation(binned, target)
    return Trial(condition, p.learn_times, binned, target, corr, run.spike_times, run.spike_neurons,
                 rec, run.errors, run if kept else None, p.N, p.t_end, tuple(perturbations))


def _columns(rec: np.ndarray, neurons: np.ndarray) -> np.ndarray:
    """The column of each of ``neurons`` in ``rec`` (its first occurrence); all must be there."""
    col = np.full(int(max(rec.max(), neurons.max())) + 1, -1, dtype=np.int64)
    col[rec[::-1]] = np.arange(rec.shape[0] - 1, -1, -1)
    return col[neurons]


@dataclass
class TestResult:
    """Test trials without learning, and their scores.

    ``binned`` (trials, bins, trained neurons) the windowed inputs of each
    trial; ``corr`` (trials, neurons) their correlations with ``target``;
    ``corr_avg`` (neurons,) the correlation of the trial-averaged input.
    ``trials`` keeps the first ``keep_runs`` trials with their full records, or, from
    ``evaluate(spikes_only=True)``, every trial with its spikes only (``run`` None).
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
             keep_runs: int = 1, progress: bool = False, *, record=None, spikes_only: bool = False,
             split_inputs: bool = False, perturbations=None, replay=None) -> TestResult:
    """Run ``n_trials`` trials of ``condition`` without learning (test trial ``k`` always uses the same
    random stream, so repeated tests differ only through the weights); ``progress``: a progress bar.

    ``record``, ``split_inputs`` and ``perturbations`` are passed to every :func:`run_trial` (the same
    perturbations in every trial); ``replay``, if given, is a sequence of one
    :class:`~tutorial_lib.engine.lif_data.Replay` (or None) per trial. ``spikes_only``: keep every trial, spikes only (``keep_runs`` is
    then ignored): at most about 4 MB per trial at full scale (5000 neurons at the balance rates,
    7.5 and 13.5 Hz, for 3 s: 2.5 MB at 16 bytes a spike; plus 1.5 MB of binned inputs of the 1824
    trained neurons), so 20 test trials take under 0.1 GB. While a trial runs, the engine records
    the trained neurons' total input for the score (44 MB at full scale), dropped after binning.

    Raises TypeError or ValueError, naming the argument, for bad arguments (before the first trial;
    each replay is checked against the network then too)."""
    check_type("net", net, BalancedNetwork)
    n_trials = check_int("n_trials", n_trials, lo=1, hi=1000, what="test trials")
    keep_runs = check_int("keep_runs", keep_runs, lo=0, what="test trials whose full record is kept")
    _check_flags(progress=progress, spikes_only=spikes_only, split_inputs=split_inputs)
    if not isinstance(condition, str) or condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS} (got {condition!r})")
    if split_inputs and spikes_only:
        raise ValueError("split_inputs needs a record of the inputs: it cannot go with spikes_only=True")
    _record_index(net, record, spikes_only)  # checked once, before any trial
    perturbations = resolve_perturbations(net, perturbations)
    if replay is None:
        replay = [None] * n_trials
    elif isinstance(replay, (Replay, str)) or not hasattr(replay, "__len__") or len(replay) != n_trials:
        raise ValueError(f"replay must be None or a sequence of {n_trials} Replay objects (one per trial)")
    for k, rp in enumerate(replay):
        if rp is not None:
            try:
                check_replay(rp, ("excitatory", "inhibitory", "plastic"), net.params.N, net.params.dt)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"replay[{k}]: {exc}") from None
    trial_ids = range(n_trials)
    if progress:
        trial_ids = tqdm(trial_ids, desc=f"test trials (lick {condition})", unit="trial")
    trials = [run_trial(net, condition, loop=k, keep_run=k < keep_runs, record=record, spikes_only=spikes_only,
                        split_inputs=split_inputs, perturbations=perturbations, replay=replay[k]) for k in trial_ids]
    binned = np.stack([tr.binned for tr in trials])
    target = trials[0].target
    corr = np.stack([tr.corr for tr in trials])
    corr_avg = score_correlation(binned.mean(axis=0), target)
    kept = trials if spikes_only else [tr for tr in trials if tr.run is not None]
    return TestResult(condition, trials[0].bin_t, binned, target, corr, corr_avg, kept)
