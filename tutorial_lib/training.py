"""What every part's training shares: the loop driver, the score, the errors.

:func:`run_loops` runs ``one_loop(loop)`` repeatedly with a progress bar, calls a
callback after each loop (live plots use it), and stops early when asked
(a Stop button sets an event; a callback returns ``False``; Ctrl-C / the
notebook's interrupt). Stopping early is not an error: the result says
``stopped=True`` and keeps what was learned so far.

However training stops, the returned result is in one consistent state: no
RLS worker thread runs after the return (an RLS update is all-or-nothing with
respect to interruption, see :mod:`tutorial_lib.interrupts`), and the network's
trained weights are exactly the RLS weights. A Stop button or a callback stops
between loops; an interrupt may stop inside a loop. Then the weights keep the
learning steps of that unfinished loop, which has no score: the result says
``partial=True`` (its ``scores`` and histories hold the whole loops only).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from .errors import Advice, DivergenceError
from .interrupts import guard
from .engine.rls_shared import make_rls
from .messages import say

__all__ = ["Advice", "DivergenceError", "LoopOutcome", "TrainResultBase", "advise", "inputs_knob", "run_loops",
           "train_rows"]


def _value(params, name):
    """A parameter's value; ``K`` counts the inputs (``None``, all-to-all, is ``N - 1``)."""
    if name == "K" and hasattr(params, "n_inputs"):
        return params.n_inputs
    return getattr(params, name)


def _distance(value, ref, fix: str, factor: float) -> float:
    """How far ``value`` is from ``ref`` in the direction that ``fix`` would undo; 0 if not far.

    "lower" undoes a value at least ``factor`` times its reference (or above a reference of 0);
    "raise" one at most ``1 / factor`` times it (or below a reference of 0); "shrink" one whose
    magnitude is at least ``factor`` times the reference's, of either sign. The distance is
    ``|log(value / ref)|`` for values of one sign, infinite across 0.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or ref is None:
        return 0.0
    value, ref = float(value), float(ref)
    if fix == "shrink":
        value, ref, fix = abs(value), abs(ref), "lower"
    up = fix == "lower"
    if ref == 0 or value == 0 or (value > 0) != (ref > 0):
        return math.inf if (value > ref if up else value < ref) else 0.0
    far = (value - ref >= (factor - 1) * abs(ref)) if up else (ref - value >= (1 - 1 / factor) * abs(ref))
    return abs(math.log(value / ref)) if far else 0.0


def _change(fix, name, label, params, reference=None) -> str:
    """``"lower sigma (now 0.3)"``, ``"raise lambda (lam, now 0.001, far below 0.5)"`` (with a reference),
    ``"shrink target_amplitude towards 0 (now -1e+06, far from 0.5 in size)"``."""
    value = _value(params, name)
    verb = f"{fix} {name}" if label is None else f"{fix} {label}"
    if fix == "shrink":
        verb += " towards 0"
    text = f"{verb} (now {value:g}" if label is None else f"{verb} ({name}, now {value:g}"
    if reference is not None:
        where = {"lower": "above", "raise": "below", "shrink": "from"}[fix]
        text += f", far {where} {_value(reference, name):g}" + (" in size" if fix == "shrink" else "")
    return text + ")"


def advise(params, candidates, *, reference=None, why: str = "", factor: float = 1.5) -> Advice:
    """Rank ``candidates`` for ``params`` and say what to change.

    ``candidates``: ``(name, fix, usual, label)`` tuples: ``fix`` is "lower", "raise" or "shrink"
    (towards 0, for a signed value whose size matters), what would undo the failure; ``usual``
    whether to name it even if it is at its reference value (the usual suspects of this kind of
    failure; the others are named only if moved); ``label`` how to call it in the text (``"lambda"`` reads "lambda (lam, now 0.5)"), or None. ``reference``:
    parameters to compare with (default: the dataclass's defaults; a dashboard passes the values
    it started from). A candidate is *moved* if its value is ``factor`` times its reference or
    more (or ``1 / factor`` or less) in the direction that causes the failure; moved ones come
    first, the farthest first. ``why`` opens the text (the mechanism).
    """
    if reference is None:
        reference = type(params)()
    moved, usual = [], []
    for name, fix, is_usual, label in candidates:
        d = _distance(_value(params, name), _value(reference, name), fix, factor)
        if d > 0:
            moved.append((d, name, fix, label))
        elif is_usual:
            usual.append((name, fix, label))
    moved.sort(key=lambda m: -m[0])
    parts = [why] if why else []
    if moved:
        said = [_change(fix, name, label, params, reference) for _, name, fix, label in moved]
        parts.append("Most likely: " + "; ".join(said) + ".")
    if usual:
        said = [_change(fix, name, label, params) for name, fix, label in usual]
        text = "; or ".join(said) if len(said) < 3 else "; ".join(said[:-1]) + "; or " + said[-1]
        parts.append(("Otherwise " + text if moved else text[0].upper() + text[1:]) + ".")
    changes = tuple((name, fix) for _, name, fix, _ in moved) + tuple((n, f) for n, f, _ in usual)
    return Advice(changes, tuple(name for _, name, _, _ in moved), " ".join(parts))


def inputs_knob(candidates: tuple, params) -> tuple:
    """``candidates`` of :func:`advise` with the one knob that sets the inputs per neuron of parts 1 and 2:
    ``K``, or ``N`` when ``K`` is None (all-to-all, ``N - 1`` inputs: the user moved ``N``, not ``K``)."""
    drop = "K" if params.K is None else "N"
    return tuple(c for c in candidates if c[0] != drop)


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

    def _test_trial(self, run_trial, advice, **kwargs):
        """``run_trial(copy of the network, **kwargs)`` without learning, for the parts' ``test()``: a
        :class:`DivergenceError` is marked ``phase="test"`` and given the part's ``advice``."""
        try:
            return run_trial(self.network.copy(), **kwargs)
        except DivergenceError as err:
            err.annotate(phase="test")
            raise err.annotate(advice=advice(err))


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
    :mod:`tutorial_lib.interrupts`; the guard installed here makes holding signals cheap).
    """
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
        say(f"Training interrupted after {len(scores)} loop(s); the result keeps what was learned"
            + (" (and the unfinished loop's learning so far)." if inside else "."))
    finally:
        bar.close()
    if progress and scores:
        # a plain line too: a saved notebook shows it where a progress widget cannot be rendered
        say(f"{desc}: {len(scores)} loop(s) in {time.perf_counter() - t0:.1f} s; "
            f"score {scores[0]:.3f} in loop 1, {scores[-1]:.3f} in loop {len(scores)}")
    return LoopOutcome(np.array(scores), last, stopped, inside)


def train_rows(net, run_trial, result_cls, *, n_loops=None, callback=None, progress=True, stop=None,
               desc="training"):
    """Train the incoming weights of ``net.trained`` (rows of ``net.W``) with RLS, loop by loop.

    What parts 1 and 2 share: every existing synapse onto a trained neuron is
    plastic, RLS starts from the current weights (the penalty acts on
    ``w - w0``), and ``run_trial(net, rls, loop)`` runs one learning trial.
    All-to-all networks get the exact shared-P RLS (:func:`~tutorial_lib.engine.rls_shared.make_rls`).
    Returns ``result_cls(net, W0, scores, last, rls, stopped, partial)``; the trained
    rows of ``net.W`` are then exactly ``rls.w``, however training stopped.
    """
    p = net.params
    W0 = net.W.copy()
    presyn = net.presyn[net.trained]
    rls = make_rls(presyn, p.lam, w0=net.W[net.trained[:, None], presyn], rows=net.trained, n_pool=p.N)
    outcome = run_loops(p.n_loops if n_loops is None else n_loops, lambda loop: run_trial(net, rls, loop),
                        callback=callback, progress=progress, stop=stop, desc=desc)
    # a trial copies rls.w into W after each update; an interrupt may come in between
    net.W[net.trained[:, None], rls.presyn] = rls.w
    return result_cls(net, W0, outcome.scores, outcome.last, rls, outcome.stopped, outcome.partial)
