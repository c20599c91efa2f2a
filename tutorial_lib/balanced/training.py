r"""Part 3, stage 6: training loop by loop, with tests every ``score_every`` loops (:func:`train`).

:func:`train` is the one driver of Part 3's training: the notebooks, the dashboards, the command
line (with a checkpoint every ``--checkpoint-every`` loops and resume) and the sweep call it, each
with its callbacks (after every loop: progress, stop, checkpoint).
"""

from __future__ import annotations

import copy as _copy
import time

import numpy as np
from tqdm.auto import tqdm

from ..checks import check_int, check_memory, check_train_args, check_type
from ..data import CONDITIONS, ALMData
from ..params import BalancedParams
from ..training import run_loops
from .network import BalancedNetwork, build_network, resolve_perturbations
from ..engine.lif_inputs import perturbation_list
from .plastic import make_rls
from .results import LoopRecord, TrainResult
from .trials import evaluate, run_trial
from ..messages import say

__all__ = ["train", "POPULATION_NAMES"]


def train(params: BalancedParams | BalancedNetwork | TrainResult | None = None, *,
          data: ALMData | None = None, n_loops: int | None = None, callback=None, progress: bool = True,
          stop=None, perturbations=None, checkpoint=None, checkpoint_every: int | None = None) -> TrainResult:
    """Train the balanced network on the ALM targets for ``n_loops`` loops (default ``params.n_loops``).

    Parameters
    ----------
    params : BalancedParams (a new network is built: static run, matching,
        plastic synapses), a BalancedNetwork (trained from a fresh RLS state), or
        a TrainResult (training continues with its RLS state and history).
    data : the ALM recordings, for a new network (default :func:`~tutorial_lib.data.load_alm`
        with the synthetic fallback).
    callback : called as ``callback(loop, record, scores)`` after every loop
        (``record`` a :class:`LoopRecord`); return ``False`` to stop early. Only the trials of the
        last loop asked for keep their record of inputs and voltages (``trial.run``); those of the
        other loops keep spikes, windowed inputs and scores (``run`` None), which the engine then
        records alone.
    progress : show a progress bar (tqdm) and what is being built.
    stop : an object with ``is_set()`` (a ``threading.Event``); training stops
        after the current loop once it is set.
    checkpoint : called as ``checkpoint(result)`` after every loop whose number, counted from 1 over
        all the trainings of this network (a continued training goes on counting), is a multiple of
        ``checkpoint_every``, with the result so far (a :class:`TrainResult` that shares this
        training's network and RLS state: save it there, do not keep it). The command line saves
        its checkpoint files so, to resume a run exactly.
    perturbations : a :class:`~tutorial_lib.engine.lif_data.Perturbation` or a list of them (neurons by index
        or population name), applied in every training trial and in the test trials run during
        training: RLS then learns with the perturbation as part of the input (Part 4: does a network
        trained while some cells are silenced still need them?). Not stored in saved files.

    Raises :class:`~tutorial_lib.training.DivergenceError` (its cause as data, and :func:`advice`) if the
    activity blows up or the static network is silent;
    TypeError or ValueError, naming the argument, for bad arguments (before any simulation).
    """
    previous = params if isinstance(params, TrainResult) else None
    perturbations = perturbation_list(perturbations)  # read once: a generator reaches the run whole
    n_loops = _check_args(params, data, n_loops, callback, stop, perturbations, checkpoint, checkpoint_every)
    if previous is not None:
        net = previous.network.copy()
        rls = None if previous.rls is None else _copy.deepcopy(previous.rls)
    elif isinstance(params, BalancedNetwork):
        net, rls = params.copy(), None
    else:
        net, rls = build_network(params, data, progress=progress), None
    perturbations = resolve_perturbations(net, perturbations)
    if rls is None:
        rls = make_rls(net)
    else:
        rls.w[...] = net.w
    run = _Training(net, rls, previous, perturbations, net.params.n_loops if n_loops is None else n_loops, progress)
    after = run.after_loop(callback, checkpoint, checkpoint_every)
    outcome = run_loops(run.n, run.one_loop, callback=after, progress=progress, stop=stop, desc="Part 3 training")
    net.w[...] = rls.w  # an interrupt may come between an RLS update and the copy at the end of a trial
    return run.result(outcome.scores, outcome.last, outcome.stopped, outcome.partial)


def _check_args(params, data, n_loops, callback, stop, perturbations, checkpoint, checkpoint_every):
    """:func:`train`'s arguments, before anything is built or run; ``n_loops`` checked. TypeError / ValueError."""
    check_type("params", params, (BalancedParams, BalancedNetwork, TrainResult), allow_none=True)
    check_type("data", data, ALMData, allow_none=True)
    n_loops = check_train_args(n_loops, callback, stop)
    if checkpoint is not None:
        if not callable(checkpoint):
            raise TypeError(f"checkpoint must be callable (got {type(checkpoint).__name__})")
        check_int("checkpoint_every", checkpoint_every, lo=1, what="loops between checkpoints")
    if isinstance(params, (BalancedNetwork, TrainResult)):  # checked now; for new parameters after the build
        resolve_perturbations(params.network if isinstance(params, TrainResult) else params, perturbations)
    else:
        _check_population_names(perturbations)
    if isinstance(params, (BalancedNetwork, TrainResult)):
        check_memory(params.params, n_trained=params.network.n_trained if isinstance(params, TrainResult)
                     else params.n_trained)
    return n_loops


class _Training:
    """One call of :func:`train`: its loops (``one_loop``), what runs after each, and the result."""

    def __init__(self, net, rls, previous, perturbations, n: int, progress: bool):
        self.net, self.rls, self.previous, self.perturbations = net, rls, previous, perturbations
        self.n, self.progress = n, progress
        self.start = 0 if previous is None else previous.n_loops
        self.tests: list[tuple[int, float, float]] = []
        self.seconds: list[float] = []

    def one_loop(self, k: int) -> LoopRecord:
        net, p, loop = self.net, self.net.params, self.start + k
        t0 = time.perf_counter()
        keep = k == self.n - 1  # the full record (trial.run) of the last loop only; the others keep the score
        trials = {c: run_trial(net, c, self.rls, loop=loop, keep_run=keep, perturbations=self.perturbations)
                  for c in CONDITIONS}
        tested = None
        if p.score_every and (loop + 1) % p.score_every == 0:
            tested = evaluate(net, p.n_test_trials, "right", keep_runs=1, perturbations=self.perturbations)
            self.tests.append((loop + 1, tested.score, tested.score_avg))
            if self.progress:
                avg = ""
                if p.n_test_trials > 1:
                    avg = f", trial-averaged ({p.n_test_trials} trials) {tested.score_avg:.3f}"
                say(f"loop {loop + 1}: test score {tested.score:.3f}{avg}", write=tqdm.write)
        self.seconds.append(time.perf_counter() - t0)
        return LoopRecord(loop, trials, tested, self.seconds[-1])

    def after_loop(self, callback, checkpoint, every):
        """The callback for :func:`~tutorial_lib.training.run_loops`: ``callback``, then ``checkpoint``."""
        if checkpoint is None:
            return callback

        def after(k, record, scores):
            go = None if callback is None else callback(k, record, scores)
            if (self.start + k + 1) % every == 0:
                self.net.w[...] = self.rls.w
                checkpoint(self.result(scores, record, False, False))
            return go

        return after

    def result(self, scores: np.ndarray, last, stopped: bool, partial: bool) -> TrainResult:
        """The result after the whole loops ``scores`` of this call (what an interrupted loop recorded dropped)."""
        done = scores.shape[0]
        seconds = self.seconds[:done]
        tests = [t for t in self.tests if t[0] <= self.start + done]
        prev = self.previous
        if prev is None:
            old = (np.zeros(0), np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0))
        else:
            old = (prev.scores, prev.test_loops, prev.test_scores, prev.test_scores_avg, prev.loop_seconds)
        new_tests = np.array(tests, dtype=np.float64).reshape(-1, 3)
        return TrainResult(
            network=self.net,
            scores=np.concatenate([old[0], scores]),
            test_loops=np.concatenate([old[1], new_tests[:, 0].astype(np.int64)]),
            test_scores=np.concatenate([old[2], new_tests[:, 1]]),
            test_scores_avg=np.concatenate([old[3], new_tests[:, 2]]),
            loop_seconds=np.concatenate([old[4], np.array(seconds)]),
            last=last,
            rls=self.rls,
            stopped=stopped,
            partial=partial,
        )


POPULATION_NAMES = ("all", "E", "I", "trained", "untrained E")  # those of populations() for a trained network


def _check_population_names(perturbations: list) -> None:
    """Before a network is built: each perturbation's population name (if any) is one that
    every trained network has. Raises TypeError / ValueError naming the entry."""
    for k, pert in enumerate(perturbations):
        if isinstance(pert.neurons, str) and pert.neurons not in POPULATION_NAMES:
            raise ValueError(f"perturbations[{k}].neurons must be a neuron index array or one of the populations "
                             f"{sorted(POPULATION_NAMES)} (got {pert.neurons!r})")
