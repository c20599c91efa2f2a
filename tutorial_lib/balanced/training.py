r"""Part 3, stage 6: training loop by loop, with tests every ``score_every`` loops (:func:`train`)."""

from __future__ import annotations

import copy as _copy
import time
from dataclasses import dataclass

import numpy as np

from ..data import CONDITIONS, ALMData
from ..params import BalancedParams
from ..checks import check_memory, check_train_args, check_type
from ..engine.rls_shared import SharedInputRLS
from ..engine.rls_state import BatchRLS
from ..training import run_loops
from .network import BalancedNetwork, build_network, resolve_perturbations
from .perturbation import Perturbation
from .plastic import make_rls
from .trials import TestResult, evaluate, run_trial

__all__ = [
    "LoopRecord",
    "TrainResult",
    "train",
]


@dataclass
class LoopRecord:
    """One training loop: its two trials (with learning), its score and, every ``score_every`` loops, a test.

    ``score`` is the lick-right training trial's score (measured while learning).
    """

    loop: int
    trials: dict
    test: TestResult | None
    seconds: float

    @property
    def score(self) -> float:
        return self.trials["right"].score


@dataclass
class TrainResult:
    """What :func:`train` returns.

    ``scores`` the lick-right training trial's score of each loop (measured while
    learning); ``test_loops`` the loops (counted from 1) after which the
    network was tested without learning, with ``test_scores`` (the original's
    single-trial score) and ``test_scores_avg`` (trial-averaged over
    ``n_test_trials``); ``loop_seconds`` the wall time of each loop (tests
    included); ``last`` the last loop's record (its trials keep their ``run`` only if it was the
    last loop asked for, not after an early stop); ``rls`` the RLS state (to
    continue training: ``train(result)``). ``stopped``: training ended early;
    ``partial``: it was interrupted inside a loop, whose learning steps so far
    are in the weights (and the RLS state) but in none of the histories, which
    hold whole loops only. ``network.w`` always equals ``rls.w``.
    """

    network: BalancedNetwork
    scores: np.ndarray
    test_loops: np.ndarray
    test_scores: np.ndarray
    test_scores_avg: np.ndarray
    loop_seconds: np.ndarray
    last: LoopRecord | None
    rls: BatchRLS | SharedInputRLS | None
    stopped: bool = False
    partial: bool = False

    @property
    def params(self) -> BalancedParams:
        return self.network.params

    @property
    def n_loops(self) -> int:
        return self.scores.shape[0]

    def test(self, n_trials: int = 5, condition: str = "right", keep_runs: int = 1,
             progress: bool = False, **options) -> TestResult:
        """Test trials of the trained network without learning; see :func:`evaluate`, which also takes
        the ``options`` (``record``, ``spikes_only``, ``split_inputs``, ``perturbations``)."""
        return evaluate(self.network, n_trials=n_trials, condition=condition, keep_runs=keep_runs,
                        progress=progress, **options)

    def save(self, path, include_rls: bool = True):
        """Save to ``path`` (see :func:`~tutorial_lib.balanced.save`)."""
        from .saving import save  # saving builds on this module

        return save(self, path, include_rls=include_rls)


def train(params: BalancedParams | BalancedNetwork | TrainResult | None = None, *,
          data: ALMData | None = None, n_loops: int | None = None, callback=None, progress: bool = True,
          stop=None, perturbations=None) -> TrainResult:
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
    perturbations : a :class:`~tutorial_lib.spiking.Perturbation` or a list of them (neurons by index
        or population name), applied in every training trial and in the test trials run during
        training: RLS then learns with the perturbation as part of the input (Part 4: does a network
        trained while some cells are silenced still need them?). Not stored in saved files.

    Raises :class:`~tutorial_lib.training.DivergenceError` (its cause as data, and :func:`advice`) if the
    activity blows up or the static network is silent;
    TypeError or ValueError, naming the argument, for bad arguments (before any simulation).
    """
    check_type("params", params, (BalancedParams, BalancedNetwork, TrainResult), allow_none=True)
    check_type("data", data, ALMData, allow_none=True)
    n_loops = check_train_args(n_loops, callback, stop)
    if isinstance(params, (BalancedNetwork, TrainResult)):  # checked now; for new parameters after the build
        resolve_perturbations(params.network if isinstance(params, TrainResult) else params, perturbations)
    else:
        _check_population_names(perturbations)
    if isinstance(params, (BalancedNetwork, TrainResult)):
        check_memory(params.params, n_trained=params.network.n_trained if isinstance(params, TrainResult)
                     else params.n_trained)
    previous = params if isinstance(params, TrainResult) else None
    if previous is not None:
        net = previous.network.copy()
        rls = None if previous.rls is None else _copy.deepcopy(previous.rls)
    elif isinstance(params, BalancedNetwork):
        net, rls = params.copy(), None
    else:
        net, rls = build_network(params, data, progress=progress), None
    p = net.params
    perturbations = resolve_perturbations(net, perturbations)
    if rls is None:
        rls = make_rls(net)
    else:
        rls.w[...] = net.w
    start = 0 if previous is None else previous.n_loops
    n = p.n_loops if n_loops is None else n_loops
    tests: list[tuple[int, float, float]] = []
    seconds: list[float] = []

    def one_loop(k: int) -> LoopRecord:
        loop = start + k
        t0 = time.perf_counter()
        keep = k == n - 1  # the full record (trial.run) of the last loop only; the others keep the score
        trials = {c: run_trial(net, c, rls, loop=loop, keep_run=keep, perturbations=perturbations)
                  for c in CONDITIONS}
        tested = None
        if p.score_every and (loop + 1) % p.score_every == 0:
            tested = evaluate(net, p.n_test_trials, "right", keep_runs=1, perturbations=perturbations)
            tests.append((loop + 1, tested.score, tested.score_avg))
            if progress:
                from tqdm.auto import tqdm

                avg = ""
                if p.n_test_trials > 1:
                    avg = f", trial-averaged ({p.n_test_trials} trials) {tested.score_avg:.3f}"
                tqdm.write(f"loop {loop + 1}: test score {tested.score:.3f}{avg}")
        seconds.append(time.perf_counter() - t0)
        return LoopRecord(loop, trials, tested, seconds[-1])

    outcome = run_loops(n, one_loop, callback=callback, progress=progress, stop=stop, desc="Part 3 training")
    net.w[...] = rls.w  # an interrupt may come between an RLS update and the copy at the end of a trial
    done = outcome.scores.shape[0]  # whole loops: drop what an interrupted loop recorded
    del seconds[done:]
    tests = [t for t in tests if t[0] <= start + done]
    if previous is None:
        old = (np.zeros(0), np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0))
    else:
        old = (previous.scores, previous.test_loops, previous.test_scores, previous.test_scores_avg,
               previous.loop_seconds)
    new_tests = np.array(tests, dtype=np.float64).reshape(-1, 3)
    return TrainResult(
        network=net,
        scores=np.concatenate([old[0], outcome.scores]),
        test_loops=np.concatenate([old[1], new_tests[:, 0].astype(np.int64)]),
        test_scores=np.concatenate([old[2], new_tests[:, 1]]),
        test_scores_avg=np.concatenate([old[3], new_tests[:, 2]]),
        loop_seconds=np.concatenate([old[4], np.array(seconds)]),
        last=outcome.last,
        rls=rls,
        stopped=outcome.stopped,
        partial=outcome.partial,
    )


POPULATION_NAMES = ("all", "E", "I", "trained", "untrained E")  # those of populations() for a trained network


def _check_population_names(perturbations) -> None:
    """Before a network is built: each perturbation is a Perturbation whose population name (if any)
    every trained network has. Raises TypeError / ValueError naming the entry."""
    if perturbations is None:
        return
    if isinstance(perturbations, Perturbation):
        perturbations = [perturbations]
    for k, pert in enumerate(perturbations):
        if not isinstance(pert, Perturbation):
            raise TypeError(f"perturbations[{k}] must be a Perturbation (got {type(pert).__name__})")
        if isinstance(pert.neurons, str) and pert.neurons not in POPULATION_NAMES:
            raise ValueError(f"perturbations[{k}].neurons must be a neuron index array or one of the populations "
                             f"{sorted(POPULATION_NAMES)} (got {pert.neurons!r})")
