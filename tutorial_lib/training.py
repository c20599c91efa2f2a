"""What every part's training shares: the loop driver, the score, the errors.

:func:`run_loops` runs ``one_loop(loop)`` repeatedly with a progress bar, calls a
callback after each loop (live plots use it), and stops early when asked
(a Stop button sets an event; a callback returns ``False``; Ctrl-C / the
notebook's interrupt). Stopping early is not an error: the result says
``stopped=True`` and keeps what was learned so far.

However training stops, the returned result is in one consistent state: no
RLS worker thread runs after the return (an RLS update is all-or-nothing with
respect to interruption, see :mod:`tutorial_lib._signals`), and the network's
trained weights are exactly the RLS weights. A Stop button or a callback stops
between loops; an interrupt may stop inside a loop. Then the weights keep the
learning steps of that unfinished loop, which has no score: the result says
``partial=True`` (its ``scores`` and histories hold the whole loops only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DivergenceError", "LoopOutcome", "TrainResultBase", "run_loops", "score_correlation", "train_rows"]


class DivergenceError(RuntimeError):
    """The network's activity blew up; the message says why and what to change.

    ``trial`` holds what was recorded up to the blow-up (NaN after it), if known.
    """

    def __init__(self, message: str, trial=None):
        super().__init__(message)
        self.trial = trial


def score_correlation(u: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of ``u`` with the same column of ``f``.

    Arrays are (time, neuron). A constant column (no variance) scores 0.
    """
    u = u - u.mean(axis=0)
    f = f - f.mean(axis=0)
    num = np.sum(u * f, axis=0)
    den = np.sqrt(np.sum(u * u, axis=0) * np.sum(f * f, axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return c


@dataclass
class TrainResultBase:
    """What training a network's weight matrix ``W`` returns (parts 1 and 2 subclass it).

    ``network`` holds the trained weights, ``W0`` the initial ones; ``scores``
    the score of each loop (measured while learning); ``last`` the last loop's
    trial; ``rls`` the RLS state (to continue training); ``stopped`` whether
    training ended early; ``partial`` whether it was interrupted inside a loop
    (the weights then include that loop's learning steps so far; ``scores``
    counts whole loops only). The trained rows of ``network.W`` always equal ``rls.w``.
    """

    network: object
    W0: np.ndarray
    scores: np.ndarray
    last: object
    rls: object
    stopped: bool = False
    partial: bool = False

    @property
    def params(self):
        return self.network.params

    @property
    def dW(self) -> np.ndarray:
        """The weight change W - W0."""
        return self.network.W - self.W0


@dataclass
class LoopOutcome:
    """``scores`` of the whole loops, the ``last`` loop's trial; ``partial``: interrupted inside a loop."""

    scores: np.ndarray
    last: object
    stopped: bool
    partial: bool = False


def run_loops(n_loops: int, one_loop, *, callback=None, progress=True, stop=None, desc="training") -> LoopOutcome:
    """Call ``one_loop(loop)`` for ``loop = 0 .. n_loops-1``; each returns an object with ``.score``.

    ``callback(loop, trial, scores)`` runs after every loop; returning ``False``
    stops. ``stop.is_set()`` (a threading.Event) is checked before each loop.
    KeyboardInterrupt (the notebook's stop button) ends training cleanly; if it
    came inside a loop (after ``one_loop`` started, before its score was counted),
    the outcome says ``partial=True``. It never splits an RLS update (see
    :mod:`tutorial_lib._signals`; the guard installed here makes holding signals cheap).
    """
    from tqdm.auto import tqdm

    import time

    from ._signals import guard

    scores: list[float] = []
    last = None
    stopped = False
    inside = False  # from the start of one_loop until its score is counted
    t0 = time.perf_counter()
    bar = tqdm(total=n_loops, desc=desc, disable=not progress, leave=True)
    try:
        with guard():
            for loop in range(n_loops):
                if stop is not None and stop.is_set():
                    stopped = True
                    break
                inside = True
                trial = one_loop(loop)
                scores.append(trial.score)
                last, inside = trial, False
                bar.update(1)
                bar.set_postfix(score=f"{last.score:.3f}")
                if callback is not None and callback(loop, last, np.array(scores)) is False:
                    stopped = loop + 1 < n_loops
                    break
    except KeyboardInterrupt:
        stopped = True
        print(f"Training interrupted after {len(scores)} loop(s); the result keeps what was learned"
              + (" (and the unfinished loop's learning so far)." if inside else "."))
    finally:
        bar.close()
    if progress and scores:
        # a plain line too: a saved notebook shows it where a progress widget cannot be rendered
        print(f"{desc}: {len(scores)} loop(s) in {time.perf_counter() - t0:.1f} s; "
              f"score {scores[0]:.3f} in loop 1, {scores[-1]:.3f} in loop {len(scores)}")
    return LoopOutcome(np.array(scores), last, stopped, inside)


def train_rows(net, run_trial, result_cls, *, n_loops=None, callback=None, progress=True, stop=None,
               desc="training"):
    """Train the incoming weights of ``net.trained`` (rows of ``net.W``) with RLS, loop by loop.

    What parts 1 and 2 share: every existing synapse onto a trained neuron is
    plastic, RLS starts from the current weights (the penalty acts on
    ``w - w0``), and ``run_trial(net, rls, loop)`` runs one learning trial.
    All-to-all networks get the exact shared-P RLS (:func:`~tutorial_lib.rls.make_rls`).
    Returns ``result_cls(net, W0, scores, last, rls, stopped, partial)``; the trained
    rows of ``net.W`` are then exactly ``rls.w``, however training stopped.
    """
    from .rls import make_rls

    p = net.params
    W0 = net.W.copy()
    presyn = net.presyn[net.trained]
    rls = make_rls(presyn, p.lam, w0=net.W[net.trained[:, None], presyn], rows=net.trained, n_pool=p.N)
    outcome = run_loops(p.n_loops if n_loops is None else n_loops, lambda loop: run_trial(net, rls, loop),
                        callback=callback, progress=progress, stop=stop, desc=desc)
    # a trial copies rls.w into W after each update; an interrupt may come in between
    net.W[net.trained[:, None], rls.presyn] = rls.w
    return result_cls(net, W0, outcome.scores, outcome.last, rls, outcome.stopped, outcome.partial)
