"""Part 4: perturbations of the balanced network, with neurons named by population.

A :class:`~tutorial_lib.engine.lif_data.Perturbation` adds a current to a set of neurons between two times;
here its ``neurons`` may also be a population name of :func:`~tutorial_lib.balanced.populations`
(``"E"``, ``"I"``, ``"all"``; for a trained network also ``"trained"`` and ``"untrained E"``).
:func:`~tutorial_lib.balanced.simulate_static`, :func:`~tutorial_lib.balanced.run_trial` (with or
without learning) and :func:`~tutorial_lib.balanced.evaluate` take them. This module resolves names
against a dict of populations (:func:`resolve_named`); :func:`~tutorial_lib.balanced.resolve_perturbations`
does it for a :class:`~tutorial_lib.balanced.BalancedNetwork`, whose populations it knows.

Example: excite every I cell by 0.5 between 1500 and 2500 ms (the test of an inhibition-stabilised
network), and silence the trained cells in the same window::

    >>> from tutorial_lib.balanced import Perturbation
    >>> excite_i = Perturbation("I", current=0.5, start=1500.0, stop=2500.0)
    >>> silence = Perturbation("trained", current=-100.0, start=1500.0, stop=2500.0)
"""

from __future__ import annotations

import numpy as np

from ..checks import MAX_STEPS
from ..engine.lif_data import Perturbation
from ..engine.lif_inputs import pack_perturbations, perturbation_list

__all__ = ["Perturbation", "base_populations", "resolve_named"]


def base_populations(N: int, Ne: int) -> dict:
    """The populations of any balanced network of ``N`` neurons, ``Ne`` of them excitatory: ``"all"``,
    ``"E"`` (``0 .. Ne-1``) and ``"I"`` (``Ne .. N-1``), as index arrays."""
    return {"all": np.arange(N), "E": np.arange(Ne), "I": Ne + np.arange(N - Ne)}


def resolve_named(perturbations, pops: dict, dt: float) -> list:
    """``perturbations`` (None, one :class:`Perturbation` or a sequence) as a list with indices only.

    Population names are replaced by their indices in ``pops`` (name -> index array, ``pops["all"]``
    every neuron of the network); every field is checked again (a Perturbation may have been changed
    since it was made), indices against the network (after conversion: an unsigned ``2**64 - 1`` is
    out of range, not -1), times against the ``dt`` grid (a ``stop`` past the end of any run, 1e308
    too, means "to the end"). Raises ValueError naming the field (unknown population, index out of
    range, a time off the grid) and TypeError for an entry that is not a Perturbation, before any
    simulation.
    """
    N = pops["all"].shape[0]
    out = []
    for k, pert in enumerate(perturbation_list(perturbations)):
        if isinstance(pert.neurons, str) and pert.neurons not in pops:
            raise ValueError(f"perturbations[{k}].neurons must be a neuron index array or one of the "
                             f"populations {sorted(pops)} (got {pert.neurons!r})")
        out.append(pert.resolve(pops))
    # every field again, indices against N, times on the dt grid (up to the longest possible run)
    pack_perturbations(out, N, dt, int(MAX_STEPS))
    return out
