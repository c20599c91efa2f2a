"""What :func:`tutorial_lib.nwb.load_nwb` returns and raises: :class:`NWBData` and two errors carrying their
cause as data."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..checks import index_array
from ..data import CONDITIONS, ALMData

__all__ = ["NWBData", "NWBColumnError", "NWBSelectionError"]


class NWBColumnError(KeyError):
    """A column the call names is not in the file's table.

    ``table`` (``"trials"`` or ``"units"``), ``missing`` (the names not found) and
    ``available`` (the table's columns) are attributes, as data.
    """

    def __init__(self, message: str, *, table: str, missing, available):
        super().__init__(message)
        self.message = message
        self.table = table
        self.missing = tuple(missing)
        self.available = tuple(available)

    def __str__(self):  # KeyError would show the message in quotes
        return self.message


class NWBSelectionError(ValueError):
    """The selection leaves nothing to average: a condition without trials, or no units.

    ``counts`` holds the numbers behind the message as data (trials per
    condition and what each filter removed, or units removed per filter).
    """

    def __init__(self, message: str, *, counts: dict):
        super().__init__(message)
        self.counts = dict(counts)


@dataclass
class NWBData(ALMData):
    """:class:`~tutorial_lib.data.ALMData` built from an NWB file by :func:`load_nwb`.

    The fields of ALMData hold what Part 3 reads: ``rates[c]`` (time, unit) in Hz
    for ``c`` in ``("right", "left")``, ``t`` in ms from the start of the window
    (0, 20, ...), ``utarg`` None (Part 3 computes the target inputs with the
    inverse transfer function), ``neuron_ids`` the units' ids in the file,
    ``source`` the file and session. Beside them: ``name`` (what titles call
    the neurons, :attr:`label`), ``window`` (ms relative to the event, so row
    ``k`` is ``window[0] + 20 k`` ms from it), ``align_to`` (the event),
    ``n_trials`` (trials averaged per condition), ``dropped`` (units removed,
    by reason, in order), ``smoothing`` and ``smooth_ms``.
    """

    name: str = "NWB"
    window: tuple = (0.0, 0.0)
    align_to: str = ""
    n_trials: dict = field(default_factory=dict)
    dropped: dict = field(default_factory=dict)
    smoothing: str = "boxcar"
    smooth_ms: float = 300.0

    @property
    def label(self) -> str:
        """What the neurons are called in titles and legends (``name``, default ``"NWB"``)."""
        return self.name

    @property
    def description(self) -> str:
        """The data in one sentence: file, trials, units, window, kernel, and the units dropped."""
        trials = " and ".join(f"{self.n_trials.get(c, 0)} {c!r}" for c in CONDITIONS)
        text = (f"{self.n_neurons} units from {self.source}, averaged over {trials} trials, "
                f"{self.window[0]:g} to {self.window[1]:g} ms around {self.align_to}, "
                f"{self.smoothing} {self.smooth_ms:g} ms")
        gone = [f"{n} {why}" for why, n in self.dropped.items() if n]
        return text + (f"; units dropped: {', '.join(gone)}" if gone else "; no units dropped")

    def subset(self, neurons) -> "NWBData":
        """The same data for the chosen units (indices into the columns); keeps the NWB details.

        ``neurons``: a 1-D array of integer indices in ``[0, n_neurons - 1]`` (not bools, floats,
        negative indices that would count from the end); a ValueError or TypeError names it otherwise.
        """
        neurons = index_array("neurons", neurons)
        if neurons.size and neurons.max() >= self.n_neurons:
            raise ValueError(f"neurons must be in [0, n_neurons - 1] = [0, {self.n_neurons - 1}] "
                             f"(got {neurons.max()})")
        base = ALMData.subset(self, neurons)
        return replace(self, rates=base.rates, utarg=base.utarg, neuron_ids=base.neuron_ids)
