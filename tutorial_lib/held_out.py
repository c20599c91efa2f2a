r"""Part 5: do untrained model neurons resemble recorded neurons the network never saw? (Kim et al. 2023)

Of the ALM neurons Part 3 would train (:func:`~tutorial_lib.balanced.select_alm`: the ``n_trained``
most modulated at lecture scale), a random half, seeded (:func:`split_neurons`), is trained and the
other half is held out (:func:`train_half`: the network is trained on recordings that hold the trained
half only). Then each held-out neuron's trial-averaged PSTH (both conditions, the model's bins of the
training window) is predicted from the trial-averaged rates of the *untrained* model neurons (the E
neurons not trained and every I neuron; test trials, no learning) by ridge regression cross-validated
over ``k`` contiguous blocks of time, the penalty chosen per neuron by an inner cross-validation
(:mod:`tutorial_lib.core.held_out`): a cross-validated R^2 per held-out neuron (:func:`held_out_r2`).

Two controls, predicted the same way: the *untrained* network (weights ``w0``: the same network and
inputs before training) and *shuffled* activity (each model neuron's two condition PSTHs swapped at
random, seeded), which keeps every neuron's time course and breaks its condition preference.
Read the shuffled control with care: it is no null for a linear map of many neurons. The fit can
weight the neurons left as they were, and a swapped neuron beside an unswapped one of similar time
course gives it their difference, a regressor that changes sign with the condition; at lecture scale
(ALM data, seed 0) the shuffled activity predicted the held-out neurons better than the model's own.

Getting started::

    >>> from tutorial_lib import BalancedParams, held_out
    >>> out = held_out.held_out_test(BalancedParams.lecture(), progress=True)   # doctest: +SKIP
    >>> out.median                                 # {'model': ..., 'untrained': ..., 'shuffled': ...}  # doctest: +SKIP

or in steps: ``split = held_out.split_neurons(params, data)``, ``result = held_out.train_half(params,
data, split)``, ``out = held_out.held_out_r2(result, data, split)``.

References
----------
* Kim CM, Finkelstein A, Chow CC, Svoboda K, Darshan R (2023) Distributing task-related neural activity
  across a cortical network through task-independent connections. Nat Commun 14:2851.
  doi:10.1038/s41467-023-38529-y
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from tqdm.auto import tqdm

from .balanced import TrainResult, run_trial, select_alm, train, window_targets
from .checks import MAX_STEPS, check_int, check_real, check_type
from .core import held_out as core
from .core import psth as core_psth
from .data import CONDITIONS, ALMData, load_alm
from .params import BalancedParams

__all__ = ["Split", "HeldOutResult", "split_neurons", "train_half", "held_out_r2", "held_out_test",
           "ALPHAS", "SPLIT_STREAM"]

#: the random stream of the split, ``default_rng([params.seed, SPLIT_STREAM])`` (apart from Part 3's 0 .. 6)
SPLIT_STREAM = 50
#: the ridge penalties tried, per feature: ``lam = alpha * n_features`` (the features are standardised,
#: so ``n_features`` is the mean diagonal of ``K = Z Z^T``)
ALPHAS = np.logspace(-3, 3, 13)
ACTIVITIES = ("model", "untrained", "shuffled")


@dataclass
class Split:
    """The selected ALM neurons (columns of the data), ``trained`` (a random half) and ``held`` (the rest),
    each sorted; ``selected`` all of them, sorted."""

    selected: np.ndarray
    trained: np.ndarray
    held: np.ndarray


@dataclass
class HeldOutResult:
    r"""What :func:`held_out_r2` returns.

    ``split`` (:class:`Split`, columns of the data) and ``held_ids`` the held-out neurons' ids;
    ``t`` (bins,) the bin centres, ms of the model's trial (the training window); ``target`` (2, bins,
    held) the held-out ALM PSTHs (Hz, ``CONDITIONS`` order) at ``t``; ``prediction[a]`` the same shape,
    out of fold, and ``r2[a]`` (held,) the cross-validated R^2 per held-out neuron, for each activity ``a``
    of ``"model"`` (the trained network), ``"untrained"`` (weights w0), ``"shuffled"`` (conditions
    swapped); ``n_model`` the untrained model neurons used; ``k`` folds, ``alphas`` the penalties tried,
    ``n_trials`` test trials per condition; ``result`` the trained network's TrainResult.
    """

    split: Split
    held_ids: np.ndarray
    t: np.ndarray
    target: np.ndarray
    prediction: dict
    r2: dict
    n_model: int
    k: int
    alphas: np.ndarray
    n_trials: int
    result: TrainResult

    @property
    def median(self) -> dict:
        """The median R^2 over the held-out neurons, per activity (NaN of a flat PSTH left out)."""
        return {a: float(np.nanmedian(self.r2[a])) for a in self.r2}

    def table(self) -> dict:
        """Tidy columns, one row per held-out neuron and activity: ``neuron`` (id), ``activity``, ``r2``."""
        acts = list(self.r2)
        return {"neuron": np.tile(self.held_ids, len(acts)),
                "activity": np.repeat(np.array(acts, dtype=object), self.held_ids.size),
                "r2": np.concatenate([self.r2[a] for a in acts])}


def split_neurons(params: BalancedParams | None = None, data: ALMData | None = None) -> Split:
    """The ALM neurons ``params`` selects (``n_trained``, ``selection``), split at random (stream
    ``[params.seed, SPLIT_STREAM]``) into a trained half (the larger, if odd) and a held-out half.

    Raises ValueError naming ``n_trained`` if the trained half has fewer than ``L + 1`` neurons (each takes
    ``L`` plastic E inputs from the others) or the held-out half fewer than 1.
    """
    p = BalancedParams.lecture() if check_type("params", params, BalancedParams, allow_none=True) is None \
        else params
    data = load_alm(fallback="synthetic") if check_type("data", data, ALMData, allow_none=True) is None else data
    selected = select_alm(p, data, window_targets(p, data))
    n = selected.size
    lo = 2 * p.L + 1
    if n < lo:
        raise ValueError(f"n_trained (ALM neurons selected, then split in halves) must be >= 2 L + 1 = {lo}: "
                         f"the trained half takes L + 1 = {p.L + 1} or more, the held-out half 1 or more "
                         f"(got {n})")
    pick = np.random.default_rng([p.seed, SPLIT_STREAM]).permutation(n)
    n_train = n - n // 2
    return Split(selected, np.sort(selected[pick[:n_train]]), np.sort(selected[pick[n_train:]]))


def train_half(params: BalancedParams | None, data: ALMData, split: Split, *, progress: bool = False,
               **options) -> TrainResult:
    """Train on the trained half only: :func:`~tutorial_lib.balanced.train` with ``params`` (default
    :meth:`BalancedParams.lecture`) and ``n_trained=None`` on recordings that hold ``split.trained``
    alone (nothing of the held-out half reaches the network). ``options`` go to ``train``."""
    p = BalancedParams.lecture() if params is None else check_type("params", params, BalancedParams)
    check_type("data", data, ALMData)
    check_type("split", split, Split)
    return train(replace(p, n_trained=None), data=data.subset(split.trained), progress=progress, **options)


def _mean_psths(net, neurons, n_trials, bin_ms, smooth_ms, bar):
    """(t, rates (2, bins, neurons)): each condition's rates averaged over test trials 0 .. n_trials - 1."""
    out = []
    for c in CONDITIONS:
        acc = 0.0
        for k in range(n_trials):
            t, r = run_trial(net, c, loop=k, spikes_only=True).psth(neurons, bin_ms, smooth_ms)
            acc = acc + r
            if bar is not None:
                bar.update()
        out.append(acc / n_trials)
    return t, np.stack(out)


def _r2(X, Y, k, alphas):
    """Out-of-fold predictions and R^2 of Y (2, bins, held) from X (2, bins, features), blocks of time."""
    folds = np.tile(core.time_blocks(Y.shape[1], k), 2)
    flat = lambda a: a.reshape(-1, a.shape[-1])  # conditions stacked as samples
    pred = core.cv_ridge(flat(X), flat(Y), folds, alphas * X.shape[-1])
    return pred.reshape(Y.shape), core.cv_r2(flat(Y), pred)


def _alphas(alphas) -> np.ndarray:
    """The ridge penalties per feature, checked: a non-empty 1-D sequence of finite numbers > 0."""
    if alphas is None:
        return ALPHAS
    arr = np.atleast_1d(np.asarray(alphas, dtype=object))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"alphas (ridge penalties per feature) must be a non-empty 1-D list of numbers > 0 "
                         f"(got {alphas!r:.80})")
    return np.array([check_real(f"alphas[{j}]", a, lo=0.0, lo_open=True, what="ridge penalty per feature")
                     for j, a in enumerate(arr)])


def _bins(p: BalancedParams, k, bin_ms, smooth_ms):
    """``(t, keep, k)``: the bin centres of the test trials' rates (:meth:`~tutorial_lib.balanced.Trial.psth`'s
    bins), those of the delay (``keep``) and the folds, checked before any trial runs."""
    bin_ms = check_real("bin_ms", bin_ms, lo=p.t_end / MAX_STEPS, lo_open=True, hi=p.t_end,
                        what=f"bin width of the rates, ms, at most the trial's duration {p.t_end:g}")
    check_real("smooth_ms", smooth_ms, lo=0.0, what="half-width of the rates' moving average, ms")
    t = core_psth.psth(np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64), p.t_end, bin_ms, 0.0)[0]
    keep = (t > p.stim_off) & (t < p.t_end)
    if keep.sum() < 3:
        raise ValueError(f"bin_ms ({bin_ms:g} ms) must leave at least 3 bins in the delay, {p.stim_off:g} to "
                         f"{p.t_end:g} ms, for 3 blocks of time (got {int(keep.sum())})")
    return t, keep, check_int("k", k, lo=3, hi=int(keep.sum()), what="blocks of time (folds)")


def held_out_r2(result: TrainResult, data: ALMData, split: Split, *, n_trials: int = 10, k: int = 5,
                alphas=None, bin_ms: float = 20.0, smooth_ms: float = 50.0,
                progress: bool = False) -> HeldOutResult:
    """Cross-validated R^2 of each held-out neuron's PSTH predicted from the untrained model neurons of
    ``result`` (trained by :func:`train_half` on ``split.trained``), and of the two controls.

    ``n_trials`` test trials per condition (1 to 500) average the model rates (bins of ``bin_ms``
    smoothed over ``+-smooth_ms``, :meth:`~tutorial_lib.balanced.Trial.psth`); ``k`` blocks of time (3
    to the number of bins in the delay); ``alphas`` the penalties tried per feature (default :data:`ALPHAS`,
    each finite and > 0). Raises ValueError naming the parameter and its range, before any trial runs;
    ValueError if ``split`` does not match ``result`` (its trained neurons are not the network's recordings).
    """
    check_type("result", result, TrainResult)
    check_type("data", data, ALMData)
    check_type("split", split, Split)
    net, p = result.network, result.params
    n_trials = check_int("n_trials", n_trials, lo=1, hi=500, what="test trials per condition")
    alphas = _alphas(alphas)
    t, keep, k = _bins(p, k, bin_ms, smooth_ms)  # before any trial: a bad k said now, not after the trials
    ids = np.arange(data.n_neurons) if data.neuron_ids is None else np.asarray(data.neuron_ids)
    if not np.array_equal(np.sort(net.alm.neuron_ids), np.sort(ids[split.trained])):
        raise ValueError("split must be the one result was trained on (train_half(params, data, split))")
    model = np.setdiff1d(np.arange(p.N), net.trained)
    untrained = net.copy()
    untrained.w = net.w0.copy()
    bar = tqdm(total=4 * n_trials, desc="held-out test trials", unit="trial") if progress else None
    t, X = _mean_psths(net, model, n_trials, bin_ms, smooth_ms, bar)
    _, X0 = _mean_psths(untrained, model, n_trials, bin_ms, smooth_ms, bar)
    if bar is not None:
        bar.close()
    t, X, X0 = t[keep], X[:, keep], X0[:, keep]
    Y = np.stack([np.stack([np.interp(t - p.stim_off, data.t, data.rates[c][:, j]) for j in split.held], axis=1)
                  for c in CONDITIONS])
    swap = np.random.default_rng([p.seed, SPLIT_STREAM, 1]).random(model.size) < 0.5
    Xs = np.where(swap, X[::-1], X)
    prediction, r2 = {}, {}
    for a, act in zip(ACTIVITIES, (X, X0, Xs)):
        prediction[a], r2[a] = _r2(act, Y, k, alphas)
    return HeldOutResult(split, ids[split.held], t, Y, prediction, r2, model.size, k, alphas, n_trials, result)


def held_out_test(params: BalancedParams | None = None, data: ALMData | None = None, *, progress: bool = False,
                  **options) -> HeldOutResult:
    """:func:`split_neurons`, :func:`train_half` and :func:`held_out_r2` in one call (``params`` default
    :meth:`BalancedParams.lecture`, ``data`` default :func:`~tutorial_lib.data.load_alm` with the synthetic
    fallback); ``options`` go to :func:`held_out_r2`."""
    p = BalancedParams.lecture() if params is None else params
    data = load_alm(fallback="synthetic") if data is None else data
    split = split_neurons(p, data)
    return held_out_r2(train_half(p, data, split, progress=progress), data, split, progress=progress, **options)
