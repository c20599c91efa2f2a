r"""Part 3: what training returns (:class:`TrainResult`, one :class:`LoopRecord` per loop) and loading it back.

A result holds the trained network, the score histories and the RLS state (to continue training).
:func:`load` reads a file written by :func:`~tutorial_lib.balanced.save` (:mod:`.saving`, which
knows the file format) back as a result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..params import BalancedParams
from ..engine.rls_shared import SharedInputRLS
from ..engine.rls_state import BatchRLS
from .network import BalancedNetwork
from .saving import read, save
from .trials import TestResult, evaluate

__all__ = ["LoopRecord", "TrainResult", "load"]


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
        return save(self, path, include_rls=include_rls)


def load(path) -> TrainResult:
    """Load a file written by :func:`~tutorial_lib.balanced.save` as a :class:`TrainResult`.

    A file saved from a bare network gives empty score histories; a file
    saved without ``P`` gives ``rls=None`` (further training starts a fresh RLS
    state). The loaded network runs exactly like the saved one: the same seed
    gives the same spikes.

    Everything is checked here, so that a damaged or edited file is refused
    now, not at its first run: the stored parameters (validated again), the
    dtype and shape of every array against them, finite weights, inputs,
    targets and RLS state, and every index in its range (synapse targets,
    trained neurons among the E neurons, plastic inputs from other trained E
    neurons and from I neurons, recorded neurons, tested loops).

    Raises
    ------
    TypeError, ValueError
        If ``path`` is not a file path: a number or None ("path must be a file path, a str or
        os.PathLike"), an empty or blank text, a NUL character.
    FileNotFoundError, IsADirectoryError
        If ``path`` (with ``.npz`` appended if it has no suffix) does not exist
        or is a folder.
    ~tutorial_lib.storage.FormatError
        For a damaged, incomplete or edited file, a file of another kind or an
        unknown format version; the message names the file and what is wrong
        (``field``: the array, metadata key or parameter). An invalid stored
        parameter carries the ValueError of its check as ``__cause__``.
    """
    return TrainResult(**read(path), last=None)
