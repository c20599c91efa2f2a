"""The errors a run raises, with their cause as data: :class:`DivergenceError` and its :class:`Advice`.

A kernel that detects runaway, infinite or silent activity raises :class:`DivergenceError` with
the plain fact (kind, phase, time, neuron); the part that knows the parameters attaches an
:class:`Advice` naming the knob to turn (:func:`tutorial_lib.training.advise` makes it). Every
layer may raise these, so this module imports nothing from the package.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Advice", "DivergenceError", "KINDS", "PHASES"]


PHASES = ("static", "untrained", "learning", "test")
KINDS = ("silent", "runaway", "nonfinite")


class DivergenceError(RuntimeError):
    """The network's activity failed: it ran away, became infinite or NaN, or fell silent.

    The cause is data, not text to parse:

    ``kind``
        ``"runaway"`` (rates or spike counts above the part's ``max_rate``), ``"nonfinite"`` (an
        input or rate became infinite or NaN) or ``"silent"`` (a population that must fire did not).
    ``phase``
        When: ``"static"`` (Part 3's static run, while building), ``"untrained"`` (a run without
        learning of a network not trained yet, e.g. Part 2's spontaneous run or a preview),
        ``"learning"`` (a training trial, RLS on) or ``"test"`` (a trial without learning of a
        trained network).
    ``t_ms``, ``neuron``
        The time (ms) and the neuron at which it was detected (``neuron`` None if no single one).
    ``loop``, ``condition``
        The training loop (counted from 0) and Part 3's condition, when known.
    ``params``
        The parameters of the network that failed (what the caller passed), when known.
    ``trial``
        What was recorded up to the failure (NaN after it), when known.

    ``message`` is the plain fact, without advice; the engine raises it so. Each part then attaches
    ``advice`` (an :class:`Advice`, from the part's ``advice(err, params)``: it looks at ``kind``,
    ``phase`` and the parameter values, never at message text). ``str(err)`` is the fact, where it
    happened and the advice, in one paragraph.
    """

    def __init__(self, message: str, *, phase: str, kind: str, t_ms: float, neuron=None, loop=None,
                 condition=None, params=None, trial=None):
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES} (got {phase!r})")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS} (got {kind!r})")
        super().__init__(message)
        self.message = message
        self.phase, self.kind, self.t_ms, self.neuron = phase, kind, float(t_ms), neuron
        self.loop, self.condition, self.params, self.trial = loop, condition, params, trial
        self.advice: Advice | None = None

    def annotate(self, **fields) -> "DivergenceError":
        """Set fields the raiser did not know (``phase``, ``loop``, ``condition``, ``params``, ``trial``,
        ``advice``); returns the error itself, to re-raise it: ``raise err.annotate(...)``."""
        for name, value in fields.items():
            if name not in ("phase", "loop", "condition", "params", "trial", "advice"):
                raise TypeError(f"annotate() got an unexpected field {name!r}")
            if name == "phase" and value not in PHASES:
                raise ValueError(f"phase must be one of {PHASES} (got {value!r})")
            setattr(self, name, value)
        return self

    @property
    def where(self) -> str:
        """When it happened, in words: "in training loop 2 (lick left)", "in the static run", ..."""
        if self.phase == "static":
            return "in the static run of the untrained network"
        if self.phase == "untrained":
            return "in a run of the untrained network"
        if self.phase == "test":
            return "in a test trial (no learning)" + (f" after loop {self.loop + 1}" if self.loop else "")
        text = "in a training trial" if self.loop is None else f"in training loop {self.loop + 1}"
        return text + (f" (lick {self.condition})" if self.condition else "")

    def describe(self) -> str:
        """The fact and when it happened, without advice."""
        return f"{self.message} This happened {self.where}."

    def __str__(self) -> str:
        return self.describe() + (f" {self.advice.text}" if self.advice is not None else "")

    def __reduce__(self):  # keyword-only fields: pickle them explicitly (worker processes)
        return (_rebuild_divergence, (type(self), self.message, dict(self.__dict__)))


def _rebuild_divergence(cls, message, state):
    err = cls.__new__(cls)
    RuntimeError.__init__(err, message)
    err.__dict__.update(state)
    return err


@dataclass(frozen=True)
class Advice:
    """What to change after a :class:`DivergenceError`, as data and as text.

    ``changes``: ``(parameter, "lower" | "raise" | "shrink")`` pairs ("shrink": bring a signed value's
    magnitude towards 0, e.g. a target amplitude of -1e6), the most plausible first: the
    parameters that are far from their reference value in the direction that causes this kind
    of failure (``moved``, the farthest first), then the usual suspects of this kind and phase.
    ``text``: the same in words. Made by :func:`advise`.
    """

    changes: tuple
    moved: tuple
    text: str

    @property
    def knobs(self) -> tuple:
        """The parameter names of ``changes``, most plausible first."""
        return tuple(name for name, _ in self.changes)

    def __str__(self) -> str:
        return self.text
