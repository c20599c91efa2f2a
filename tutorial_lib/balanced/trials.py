r"""Part 3, stage 5: one trial (with or without learning), test trials, and the score.

:func:`run_trial` simulates one condition from a reset state, running RLS at the learning times
when given an RLS state; :func:`evaluate` runs test trials without learning. The score (the
original's) correlates each trained neuron's total input, averaged over +-50 ms windows on the
learning grid, with its target; the trial-averaged score does the same for the input averaged
over test trials.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..analysis import moving_average, window_average
from ..data import CONDITIONS
from ..params import BalancedParams, check_int, check_real, check_type
from ..rls import BatchRLS, SharedInputRLS
from ..spiking import Learning, Run, simulate
from ..training import DivergenceError, score_correlation
from .advice import advice
from .network import BalancedNetwork
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
    TypeError for arguments of the wrong class, and
    :class:`~tutorial_lib.training.DivergenceError` (with :func:`~tutorial_lib.balanced.advice`)
    if the activity blows up.
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
        rng = _trial_rng(p, TRAIN if rls is not None else TEST, 0 if loop is None else loop, condition)
    external = net.ffwd_spikes(condition, rng)
    lif = net.lif()
    w_min, w_max = sign_bounds(p) if p.sign_constrained else (None, None)  # clipping: not exact RLS
    learning = None if rls is None else Learning(rls, p.learn_times, net.targets[condition], w_min=w_min,
                                                 w_max=w_max)
    try:
        run = simulate(lif, p.t_end, rng=rng, stimulus=net.stimulus[condition],
                       stim_window=(p.stim_on, p.stim_off), record=net.recorded, record_every=p.record_every,
                       learning=learning, external=external, max_rate=p.max_rate)
    except DivergenceError as err:
        # without RLS: a test trial of a trained network, or a run of the untrained one
        phase = "learning" if rls is not None else ("test" if np.any(net.w != net.w0) else "untrained")
        err.annotate(phase=phase, loop=loop if rls is not None else None, condition=condition, params=p)
        raise err.annotate(advice=advice(err))
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
