r"""Part 4: the trained network's weights and populations (is it still cortex?).

*Dale's law.* In cortex a neuron's outgoing synapses all have one sign: excitatory cells
excite, inhibitory cells inhibit. RLS does not know this: it moves each plastic weight
wherever the regression wants. Kim and Chow (2021) found that when training keeps the strong
mean coupling of the balanced network (here the row-sum penalty ``mu_rs``), most trained
synapses keep the sign of their presynaptic type anyway. :func:`dale_summary` measures it:
the fraction of plastic E weights :math:`> 0` and I weights :math:`< 0`, before (``w0``) and
after (``w``) training, and the same for the *effective* pair weights
(:func:`effective_weights`): plastic plus static weight of the same pair ``j -> i`` where a
static synapse exists. :func:`sign_bounds` gives the clip bounds of the sign-constrained
variant (``BalancedParams.sign_constrained``), which is *not* exact RLS (see below).

*Populations.* :func:`named_populations` names the index sets a Part 4 analysis needs:
all, E, I, trained E, untrained E, and the trained E neurons preferring lick right or left
(:func:`target_preference`). :func:`synapse_table` lists every plastic synapse of one type
with its presynaptic and postsynaptic neuron and its weight before and after, for the
push-pull analysis (the change of each plastic I weight against the presynaptic cell's
selectivity; Zhu et al.).

Sign-constrained training, and why it is not RLS
------------------------------------------------
With ``sign_constrained=True`` every RLS update is followed by a clip: plastic E weights
below 0 are set to 0, I weights above 0 to 0 (feed-forward weights are left free). RLS's
weights after step ``n`` are the exact minimiser of the penalised squared error over all
steps so far, and ``P`` is the inverse of that problem's matrix. After a clip the weights
are no longer that minimiser, while ``P`` and the next updates carry on as if they were: the
method becomes projected RLS, a heuristic without RLS's optimality (nor its convergence
guarantees). Compare it with the unconstrained run, not as the same algorithm.

Measured (:meth:`BalancedParams.lecture`, ALM data, seed 0, 10 loops): unconstrained, 66 % of
the plastic E weights stay > 0 and 72 % of the I weights < 0 (67 % and 76 % of the effective
pair weights; all 100 % before training), falling loop by loop, while the mean E and I weights
stay at their initial 0.94 and -0.95 (the row-sum penalty); ``lam_rec = 0.4`` keeps 96 % and
97 % (but tests worse after 10 loops), ``mu_rs = 0`` only 54 % and 68 %, and the mean E weight
falls to 0.30. Sign-constrained, 98 % stay strictly signed (the rest are clipped to 0), but each
clip adds to the weights what the row-sum penalty had balanced: the mean E weight climbed from
0.94 to 2.8 in 8 loops and the activity ran away in loop 9.

References
----------
* Kim CM, Chow CC (2021) Training spiking neural networks in the strong coupling regime. Neural
  Comput 33:1199-1233. doi:10.1162/neco_a_01379
* Zhu, Smith, Jabri, Tang, Scherr, MacLean: Task success in trained spiking neural network models
  coincides with emergence of cross-stimulus-modulated inhibition.

Getting started::

    >>> from tutorial_lib import BalancedParams, balanced
    >>> result = balanced.train(BalancedParams.lecture(n_loops=10))     # doctest: +SKIP
    >>> s = balanced.dale_summary(result)                               # doctest: +SKIP
    >>> s["E"]["plastic_after"], s["I"]["effective_after"]              # doctest: +SKIP
    >>> pops = balanced.named_populations(result)                       # doctest: +SKIP
    >>> pops["prefers right"].size + pops["prefers left"].size          # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from ..data import CONDITIONS
from ..params import BalancedParams
from ..checks import check_type
from .network import network_of

__all__ = [
    "TYPES",
    "sign_bounds",
    "static_pair_weights",
    "effective_weights",
    "dale_summary",
    "target_preference",
    "named_populations",
    "synapse_table",
]


TYPES = ("E", "I")  # presynaptic types of the recurrent plastic synapses, in the columns' order


def sign_bounds(params: BalancedParams) -> tuple[np.ndarray, np.ndarray]:
    """Per-column clip bounds ``(w_min, w_max)``, each of shape (n_plastic,), of sign-constrained training.

    Columns in the plastic inputs' order: ``L`` E inputs ``[0, inf)``, ``L`` I
    inputs ``(-inf, 0]``, the feed-forward ones ``(-inf, inf)``. Used by
    :func:`~tutorial_lib.balanced.run_trial` (through
    :class:`~tutorial_lib.engine.lif_data.Learning`) when ``params.sign_constrained``;
    clipping departs from exact RLS (see the module's docstring).
    """
    check_type("params", params, BalancedParams)
    L, m = params.L, params.n_plastic
    w_min, w_max = np.full(m, -np.inf), np.full(m, np.inf)
    w_min[:L] = 0.0
    w_max[L: 2 * L] = 0.0
    return w_min, w_max


def _pair_keys(pre: np.ndarray, post: np.ndarray, N: int) -> np.ndarray:
    return pre.astype(np.int64) * N + post.astype(np.int64)


def static_pair_weights(net) -> np.ndarray:
    """(R, 2L) the static weight of each recurrent plastic pair ``presyn[k, a] -> trained[k]``; 0 if there
    is no static synapse between them.

    The static channels (``net.static.exc`` and ``.inh``, CSR by presynaptic
    neuron) are searched for the pairs, vectorised: the static synapses onto
    trained neurons are keyed ``pre N + post``, sorted, and the plastic pairs
    looked up with ``searchsorted``. Several static synapses of one pair (not
    drawn by :func:`~tutorial_lib.balanced.static_network`, but possible in a
    hand-built network) add up, as in :meth:`~tutorial_lib.engine.lif_data.Synapses.dense`.
    ``net``: a BalancedNetwork or a TrainResult (TypeError otherwise).
    """
    net = network_of(net)
    N = net.params.N
    is_trained = np.zeros(N, dtype=bool)
    is_trained[net.trained] = True
    keys, weights = [], []
    for ch in (net.static.exc, net.static.inh):
        pre = np.repeat(np.arange(ch.N, dtype=np.int64), np.diff(ch.ptr))
        onto = is_trained[ch.post]
        keys.append(_pair_keys(pre[onto], ch.post[onto], N))
        weights.append(np.asarray(ch.w, dtype=np.float64)[onto])
    keys, weights = np.concatenate(keys), np.concatenate(weights)
    uniq, inverse = np.unique(keys, return_inverse=True)
    summed = np.bincount(inverse, weights=weights, minlength=uniq.size)
    query = _pair_keys(net.presyn, np.broadcast_to(net.trained[:, None], net.presyn.shape), N)
    pos = np.minimum(np.searchsorted(uniq, query), max(uniq.size - 1, 0))
    found = uniq[pos] == query if uniq.size else np.zeros(query.shape, dtype=bool)
    return np.where(found, summed[pos] if uniq.size else 0.0, 0.0)


def effective_weights(net, w: np.ndarray | None = None) -> np.ndarray:
    r"""(R, 2L) effective weight of every recurrent plastic pair: plastic plus static weight of ``j -> i``.

    :math:`W^{\rm eff}_{ka} = w_{ka} + J_{i j}` with ``i = trained[k]``, ``j =
    presyn[k, a]`` and :math:`J` the static weights of both channels (0 where
    the pair has no static synapse: :func:`static_pair_weights`). Columns: the
    ``L`` E inputs, then the ``L`` I inputs (the feed-forward inputs have no
    static counterpart and are left out). ``w``: the plastic weights to use,
    (R, n_plastic) or (R, 2L) (default ``net.w``, the current ones; ``net.w0``
    for the initial ones). Raises ValueError for a ``w`` of another shape.
    """
    net = network_of(net)
    L2 = 2 * net.params.L
    w = net.w if w is None else np.asarray(w, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != net.n_trained or w.shape[1] not in (L2, net.w.shape[1]):
        raise ValueError(f"w must have shape ({net.n_trained}, {net.w.shape[1]}) or ({net.n_trained}, {L2}) "
                         f"(got {w.shape})")
    return w[:, :L2] + static_pair_weights(net)


def _kept(w: np.ndarray, sign: int) -> float:
    return float(np.mean(sign * w > 0)) if w.size else float("nan")


def dale_summary(net) -> dict:
    """How many plastic and effective weights keep the sign of their presynaptic type (Dale's law).

    ``net``: a BalancedNetwork or a TrainResult (TypeError otherwise). Returns
    ``{"E": {...}, "I": {...}}``, one dict per presynaptic type of the recurrent
    plastic synapses (E inputs: other trained E neurons; I inputs: I neurons),
    with the keys

    * ``n``: number of plastic synapses of this type (``n_trained L``);
    * ``n_static``: of them, the pairs that also have a static synapse ``j -> i``;
    * ``plastic_before``, ``plastic_after``: fraction of the plastic weights
      ``w0`` and ``w`` with the type's sign, strictly (E: ``> 0``, I: ``< 0``);
    * ``effective_before``, ``effective_after``: the same for the effective
      pair weights (:func:`effective_weights` of ``w0`` and ``w``), over all
      ``n`` pairs;
    * ``zero_after``: fraction of plastic weights exactly 0 (with
      ``sign_constrained``, the clipped ones); ``flipped_after``: fraction with
      the opposite sign (``1 - plastic_after - zero_after``);
    * ``mean_before``, ``mean_after``: mean plastic weight (the strong mean
      coupling that the row-sum penalty keeps).

    The feed-forward weights have no presynaptic type and are not counted.
    """
    net = network_of(net)
    L = net.params.L
    static = static_pair_weights(net)
    out = {}
    for t, (name, sign) in enumerate(zip(TYPES, (1, -1))):
        cols = slice(t * L, (t + 1) * L)
        w0, w, s = net.w0[:, cols], net.w[:, cols], static[:, cols]
        kept = _kept(w, sign)
        zero = float(np.mean(w == 0)) if w.size else float("nan")
        out[name] = {
            "n": int(w.size),
            "n_static": int(np.count_nonzero(s)),
            "plastic_before": _kept(w0, sign),
            "plastic_after": kept,
            "effective_before": _kept(w0 + s, sign),
            "effective_after": _kept(w + s, sign),
            "zero_after": zero,
            "flipped_after": float(np.mean(sign * w < 0)) if w.size else float("nan"),
            "mean_before": float(w0.mean()) if w.size else float("nan"),
            "mean_after": float(w.mean()) if w.size else float("nan"),
        }
    return out


def target_preference(net, window: tuple[float, float] | None = None) -> np.ndarray:
    """(R,) each trained neuron's preference: its mean target input in ``window``, lick right minus left.

    The targets are ``net.targets`` (the target input at the learning times
    ``params.learn_times``, ms of model time); ``window = (t0, t1)`` keeps the
    learning times ``t0 <= t < t1`` (default: all of them, the whole training
    window ``stim_off .. t_end``). Positive: the neuron's target is larger in
    lick-right trials; in the order of ``net.trained``. Raises ValueError if the
    window holds no learning time, TypeError for a ``net`` of the wrong class.
    """
    net = network_of(net)
    t = net.params.learn_times
    if window is None:
        sel = np.ones(t.shape[0], dtype=bool)
    else:
        t0, t1 = (float(x) for x in window)
        sel = (t >= t0) & (t < t1)
        if not sel.any():
            raise ValueError(f"window must contain at least one learning time in [{t[0]:g}, {t[-1]:g}] ms "
                             f"(got {window!r})")
    right, left = (np.asarray(net.targets[c])[sel].mean(axis=0) for c in CONDITIONS)
    return right - left


def named_populations(net, window: tuple[float, float] | None = None) -> dict:
    """Index arrays (model neuron ids) of the populations a Part 4 analysis compares.

    ``net``: a BalancedNetwork or a TrainResult. Keys:

    * ``"all"``: ``0 .. N-1``; ``"E"``: ``0 .. Ne-1``; ``"I"``: ``Ne .. N-1``;
    * ``"trained E"``: ``net.trained``, in the training order (column ``k`` of
      the targets and of ``net.w``); ``"untrained E"``: the other E neurons,
      ascending. ``"trained E"`` and ``"untrained E"`` partition ``"E"``;
    * ``"prefers right"`` / ``"prefers left"``: the trained E neurons whose
      :func:`target_preference` (mean ALM target input in ``window``, right minus
      left; default the whole training window) is ``> 0`` / ``< 0``, in the
      training order. A neuron with exactly equal means is in neither.
    """
    net = network_of(net)
    p = net.params
    pref = target_preference(net, window)
    trained = np.asarray(net.trained, dtype=np.int64)
    return {
        "all": np.arange(p.N),
        "E": np.arange(p.Ne),
        "I": np.arange(p.Ne, p.N),
        "trained E": trained.copy(),
        "untrained E": np.setdiff1d(np.arange(p.Ne), trained),
        "prefers right": trained[pref > 0],
        "prefers left": trained[pref < 0],
    }


def synapse_table(net, kind: str = "I") -> dict:
    """Every recurrent plastic synapse of presynaptic type ``kind`` (``"E"`` or ``"I"``), one entry each.

    Returns a dict of equal-length 1-D arrays (``n_trained L`` entries, row by
    row): ``row`` (the trained neuron's row ``k``), ``pre`` (presynaptic
    neuron), ``post`` (postsynaptic trained neuron ``trained[k]``), ``w0``,
    ``w``, ``dw = w - w0``, ``static`` (static weight of the same pair, 0 if
    none) and ``post_preference`` (the postsynaptic neuron's
    :func:`target_preference`). For the push-pull analysis, plot ``dw`` against
    the selectivity of ``pre`` (e.g. its rate in lick right minus left).
    Raises ValueError for another ``kind``.
    """
    net = network_of(net)
    if kind not in TYPES:
        raise ValueError(f"kind must be one of {TYPES} (got {kind!r})")
    L = net.params.L
    cols = slice(0, L) if kind == "E" else slice(L, 2 * L)
    R = net.n_trained
    rows = np.repeat(np.arange(R), L)
    pref = target_preference(net)
    return {
        "row": rows,
        "pre": net.presyn[:, cols].ravel().copy(),
        "post": net.trained[rows],
        "w0": net.w0[:, cols].ravel().copy(),
        "w": net.w[:, cols].ravel().copy(),
        "dw": (net.w - net.w0)[:, cols].ravel(),
        "static": static_pair_weights(net)[:, cols].ravel(),
        "post_preference": pref[rows],
    }
