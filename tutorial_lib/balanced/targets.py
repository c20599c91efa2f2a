r"""Part 3, stage 2: targets from the recordings, which ALM neurons to train, and rate matching.

Each recorded ALM neuron's trial-averaged rate becomes a target *input* through the inverse of the
Siegert rate (:func:`target_inputs`); the targets are taken at the learning times
(:func:`window_targets`); a subset of neurons may be chosen (:func:`select_alm`, by
:func:`modulation`); and every chosen ALM neuron is paired with a model E neuron of similar rate
in the static run (:func:`match_rates`, the original's greedy rule).

References
----------
* Finkelstein A, Fontolan L, Economo MN, Li N, Romani S, Svoboda K (2021) Attractor dynamics gate
  cortical information flow during decision-making. Nat Neurosci 24:843-850.
  doi:10.1038/s41593-021-00840-6 (the recordings)
* Kim CM, Finkelstein A, Chow CC, Svoboda K, Darshan R (2023) Distributing task-related neural
  activity across a cortical network through task-independent connections. Nat Commun 14:2851.
  doi:10.1038/s41467-023-38529-y
"""

from __future__ import annotations

import numpy as np

from ..data import CONDITIONS, ALMData
from ..params import BalancedParams
from ..engine.siegert import siegert_inverse
from .streams import SELECT

__all__ = [
    "target_inputs",
    "window_targets",
    "modulation",
    "modulation_of",
    "select_alm",
    "match_rates",
]


def target_inputs(data: ALMData) -> dict:
    """Target input of every ALM neuron per condition, (time, neuron): ``utarg``, or ``siegert_inverse(rates)``.

    Data without ``utarg`` (the synthetic stand-in) are turned into inputs with
    :func:`~tutorial_lib.engine.siegert.siegert_inverse` at the noise level that reproduces
    the original's targets.
    """
    if data.utarg is not None:
        return {c: np.asarray(data.utarg[c], dtype=np.float64) for c in CONDITIONS}
    return {c: siegert_inverse(data.rates[c]) for c in CONDITIONS}


def _resample(t_data: np.ndarray, u: np.ndarray, t_new: np.ndarray) -> np.ndarray:
    """Linear interpolation of each column of ``u`` (sampled at ``t_data``) at ``t_new``."""
    k = np.clip(np.searchsorted(t_data, t_new, side="right") - 1, 0, len(t_data) - 2)
    frac = ((t_new - t_data[k]) / (t_data[k + 1] - t_data[k]))[:, None]
    return (1.0 - frac) * u[k] + frac * u[k + 1]


def window_targets(p: BalancedParams, data: ALMData) -> dict:
    """Targets at the learning times (model time ``stim_off + tau`` is the recordings' time ``tau``)."""
    t_rel = p.learn_times - p.stim_off
    if t_rel[-1] > data.t[-1] + 1e-9:
        raise ValueError(f"train_duration must be <= {data.t[-1] + p.learn_every:g} ms: the recordings cover "
                         f"{data.t[-1]:g} ms (got {p.train_duration:g})")
    u = target_inputs(data)
    return {c: np.ascontiguousarray(_resample(data.t, u[c], t_rel)) for c in CONDITIONS}


def modulation(params: BalancedParams, data: ALMData) -> np.ndarray:
    """How strongly each ALM neuron's target input varies: its std over the training window, both conditions.

    The samples are the targets at the learning times (the ones RLS and the
    score use) of lick-right and lick-left together, so a neuron counts as
    modulated if its input changes in time or differs between the conditions.
    """
    return modulation_of(window_targets(params, data))


def modulation_of(targets: dict) -> np.ndarray:
    return np.concatenate([targets[c] for c in CONDITIONS], axis=0).std(axis=0)


def select_alm(p: BalancedParams, data: ALMData, targets: dict) -> np.ndarray:
    """Indices of the ALM neurons to train (all, the most modulated, or random)."""
    n_alm = data.n_neurons
    n = n_alm if p.n_trained is None else p.n_trained
    if n > n_alm:
        raise ValueError(f"n_trained (ALM neurons trained) must be in [L + 1, {n_alm}]: the data hold "
                         f"{n_alm} neurons (got {n})")
    if n > p.Ne:
        raise ValueError(f"n_trained (None: all {n_alm} ALM neurons) must be <= Ne = {p.Ne}: each ALM neuron "
                         "needs its own E neuron. Pass a smaller n_trained or a larger N.")
    if n < p.L + 1:
        raise ValueError(f"L (plastic inputs of each type) must be <= n_trained - 1 = {n - 1}: the E inputs "
                         f"come from the other trained neurons (got {p.L})")
    if n == n_alm:
        return np.arange(n_alm)
    if p.selection == "modulated":
        return np.sort(np.argsort(-modulation_of(targets), kind="stable")[:n])
    return np.sort(np.random.default_rng([p.seed, SELECT]).choice(n_alm, n, replace=False))


def match_rates(target_rates: np.ndarray, model_rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pair each target neuron with a distinct model neuron of similar rate (the original's greedy rule).

    Target neurons are taken in order of decreasing rate; each gets the
    not-yet-used model neuron whose rate is closest. Returns ``(order,
    matched)``: ``order[k]`` is the k-th target neuron and ``matched[k]`` its
    model neuron (indices into ``model_rates``).
    """
    target_rates = np.asarray(target_rates, dtype=np.float64)
    free = np.array(model_rates, dtype=np.float64)
    if target_rates.shape[0] > free.shape[0]:
        raise ValueError(f"cannot match {target_rates.shape[0]} target neurons to {free.shape[0]} "
                         "model neurons")
    order = np.argsort(-target_rates, kind="stable")
    matched = np.empty(order.shape[0], dtype=np.int64)
    for k, a in enumerate(order):
        j = int(np.argmin(np.abs(free - target_rates[a])))
        matched[k] = j
        free[j] = np.inf
    return order, matched
