r"""Part 3, stage 3: the plastic synapses, their initial weights, the RLS penalty, the feed-forward inputs.

Each trained neuron gets ``L`` excitatory plastic inputs from other trained neurons and ``L``
inhibitory ones from the I population (:func:`choose_plastic_inputs`), with initial weights of
the SPEC (:func:`initial_plastic_weights`), and optionally ``n_ffwd`` feed-forward Poisson inputs
whose rates are slow random processes (:func:`ffwd_rate_process`). RLS starts from the inverse of
:func:`penalty_matrix` (an L2 penalty plus one on the summed E and on the summed I weights, which
keeps the strong mean coupling); :func:`make_rls` picks its exact block form when the
feed-forward inputs are shared.

References
----------
* Kim CM, Chow CC (2021) Training spiking neural networks in the strong coupling regime. Neural
  Comput 33:1199-1233. doi:10.1162/neco_a_01379 (the row-sum penalty)
* Kim CM, Finkelstein A, Chow CC, Svoboda K, Darshan R (2023) Nat Commun 14:2851.
  doi:10.1038/s41467-023-38529-y
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..analysis import moving_average
from ..data import CONDITIONS
from ..params import RATIO_MAX, BalancedParams
from ..core.rls import penalty_matrix as core_penalty_matrix
from ..core.rls_checks import check_lam, penalty_range, state_dtype
from ..engine.rls_pooled import PooledInputRLS
from ..engine.rls_shared import SharedInputRLS
from ..engine.rls_state import BatchRLS
from ..errors import DivergenceError
from .advice import advice
from .static import SETTLE_MS

__all__ = [
    "FFWD_GRID_MS",
    "choose_plastic_inputs",
    "initial_plastic_weights",
    "plastic_weight_ratio",
    "penalty_matrix",
    "make_rls",
    "ffwd_rate_process",
    "condition_ffwd_rates",
]


FFWD_GRID_MS = 1.0  # sampling interval of the feedforward rate process


def choose_plastic_inputs(rng: np.random.Generator, trained: np.ndarray, Ne: int, Ni: int,
                          L: int) -> np.ndarray:
    """(R, 2L) plastic presynaptic neurons: ``L`` other trained neurons, then ``L`` I neurons, each sorted."""
    trained = np.asarray(trained, dtype=np.int64)
    R = trained.shape[0]
    if L > R - 1:
        raise ValueError(f"L must be <= {R - 1}, the number of other trained neurons (got {L})")
    if L > Ni:
        raise ValueError(f"L must be <= Ni = {Ni} (got {L})")
    presyn = np.empty((R, 2 * L), dtype=np.int64)
    for k in range(R):
        pick = rng.choice(R - 1, size=L, replace=False)
        pick[pick >= k] += 1  # any trained neuron but itself
        presyn[k, :L] = np.sort(trained[pick])
        presyn[k, L:] = Ne + np.sort(rng.choice(Ni, size=L, replace=False))
    return presyn


def initial_plastic_weights(params: BalancedParams, n_rows: int, ratio: float | None = None) -> np.ndarray:
    """(n_rows, m): ``wp_exc`` on the E inputs, ``wp_inh(ratio)`` on the I inputs, 0 on the feedforward ones.

    ``ratio`` (default ``params.inh_weight_ratio``) scales the I weights:
    ``je sqrt(K) / wpscale`` and ``-ji sqrt(K) / wpscale * ratio`` give no net
    plastic input when the E inputs fire at ``ratio`` times the rate of the I inputs.
    """
    p = params
    w = np.zeros((n_rows, p.n_plastic))
    w[:, : p.L] = p.wp_exc
    w[:, p.L: 2 * p.L] = p.wp_inh(ratio)
    return w


def plastic_weight_ratio(params: BalancedParams, static_rates: np.ndarray, trained: np.ndarray) -> float:
    """The ratio of the initial I to E plastic weights: ``params.inh_weight_ratio``, or, if it is None,
    the mean static rate of the ``trained`` neurons over the mean rate of the I population.

    Raises :class:`~tutorial_lib.training.DivergenceError` (``kind="silent"``, ``phase="static"``,
    with :func:`~tutorial_lib.balanced.advice`) if it must be measured and no I neuron fired (or so few
    that the ratio exceeds the bound of ``inh_weight_ratio``, :data:`~tutorial_lib.params.RATIO_MAX`)."""
    if params.inh_weight_ratio is not None:
        return params.inh_weight_ratio
    r_i = float(np.mean(static_rates[params.Ne:]))
    r_trained = float(np.mean(static_rates[trained]))
    if r_i <= 0 or not r_trained <= RATIO_MAX * r_i:
        what = "No I neuron fired" if r_i <= 0 else (
            f"The I neurons fired at {r_i:.3g} Hz, more than {RATIO_MAX:g} times less than the trained ones")
        err = DivergenceError(
            f"{what} in the static run ({params.t_end - SETTLE_MS:g} ms counted; "
            f"g = {params.g:g}, K = {params.K}), and inh_weight_ratio=None needs a firing I population "
            "to measure the ratio.",
            phase="static", kind="silent", t_ms=params.t_end, neuron=None, params=params)
        raise err.annotate(advice=advice(err))
    return r_trained / r_i


def penalty_matrix(params: BalancedParams) -> np.ndarray:
    """The RLS penalty (``P`` starts as its inverse), in the plastic inputs' order [E, I, ffwd].

    ``lam_rec I + mu_rs (1_E 1_E^T + 1_I 1_I^T)`` on the recurrent block: an L2
    penalty plus one on the sum of the E and on the sum of the I weights;
    ``lam_ff I`` on the feedforward block: :func:`tutorial_lib.core.rls.penalty_matrix` of ``params``.
    """
    p = params
    return core_penalty_matrix(p.L, p.lam_rec, p.mu_rs, p.n_ffwd if p.ffwd else 0, p.lam_ff)


#: The RLS form :func:`make_rls` uses with feedforward inputs when ``form`` is not given:
#: ``"pooled"`` (:class:`~tutorial_lib.engine.rls_pooled.PooledInputRLS`, the default: a sixth of the state, and a
#: full-scale training trial about 1.5 times faster than with the block form, ``python -m benchmarks
#: part3-forms``) or ``"block"`` (:class:`~tutorial_lib.engine.rls_shared.SharedInputRLS`): the same weights to
#: round-off. Set it to train with the block form through :func:`~tutorial_lib.balanced.train`.
RLS_FORM = "pooled"

RLS_FORMS = ("block", "pooled")

#: Below these penalties a float32 RLS state (``rls_precision="float32"``) is not trusted to give the
#: float64 weights to 1e-6 of their change: :func:`make_rls` warns. Measured at full scale, replaying
#: the activity of 4 training trials (400 updates) into float32 and float64 states: 7.7e-7 of the
#: change at the defaults (lam_rec 0.04, lam_ff 1), 8.4e-7 at lam_rec 1e-3 and lam_ff 1e-2, 2.2e-6 at
#: 1e-4 and 1e-3 (and it grows with the number of updates).
FLOAT32_MIN_LAM_REC = 1e-3
FLOAT32_MIN_LAM_FF = 1e-2


def make_rls(net, dtype=None, form: str | None = None) -> BatchRLS | SharedInputRLS:
    """A fresh RLS state for ``net``, starting from its current weights.

    ``net``: a :class:`~tutorial_lib.balanced.BalancedNetwork` (its ``params``, ``presyn`` and ``w``
    are read; the class is defined in :mod:`.network`, which builds on this module).

    With feedforward inputs, :class:`~tutorial_lib.engine.rls_pooled.PooledInputRLS` (or, with
    ``form="block"``, :class:`~tutorial_lib.engine.rls_shared.SharedInputRLS`): every
    trained neuron reads the same ``n_ffwd`` inputs with the same penalty
    ``lam_ff I``, so that block of the RLS matrices is held once, and the
    per-neuron state shrinks from ``(2L + n_ffwd)^2`` to ``2L (2L + n_ffwd)``
    numbers, ``(2L)^2`` in the pooled form (exactly the same weights as one ``P`` per neuron). Without them,
    :class:`~tutorial_lib.engine.rls_state.BatchRLS` with the penalty of :func:`penalty_matrix`.
    ``dtype`` (default ``params.rls_precision``): the precision of the stored state; float32 with
    ``lam_rec`` below :data:`FLOAT32_MIN_LAM_REC` or ``lam_ff`` below :data:`FLOAT32_MIN_LAM_FF`
    gives a RuntimeWarning (weights further than 1e-6 of their change from float64's).
    ``form`` (default :data:`RLS_FORM`, ``"pooled"``): ``"pooled"`` for
    :class:`~tutorial_lib.engine.rls_pooled.PooledInputRLS` with feedforward inputs (the regression block held
    once for all plastic recurrent inputs: ``2L`` squared numbers per neuron), ``"block"`` for
    :class:`~tutorial_lib.engine.rls_shared.SharedInputRLS`; no effect without them. Raises ValueError for
    another ``form``, a ``dtype`` other than float32 or float64, and, naming the parameter, for
    ``lam_rec`` or ``lam_ff`` outside :func:`~tutorial_lib.core.rls_checks.penalty_range` of the state's dtype
    or ``lam_rec + mu_rs`` above it (the penalty's diagonal), before the penalty is built.
    """
    form = RLS_FORM if form is None else form
    if form not in RLS_FORMS:
        raise ValueError(f"form (the RLS form) must be one of {RLS_FORMS} (got {form!r})")
    p = net.params
    dtype = state_dtype(p.rls_precision if dtype is None else dtype)
    # the penalty of penalty_matrix by the parameters that make it: lam_rec and lam_ff are its
    # smallest eigenvalues, lam_rec + mu_rs the largest diagonal entry of its recurrent block
    check_lam("lam_rec", p.lam_rec, dtype, "RLS penalty")
    if p.ffwd:
        check_lam("lam_ff", p.lam_ff, dtype, "RLS penalty")
    hi = penalty_range(dtype)[1]
    if p.lam_rec + p.mu_rs > hi:
        raise ValueError(f"mu_rs (row-sum penalty) must be <= {hi:.3g} - lam_rec for a {dtype.name} RLS "
                         f"state: lam_rec + mu_rs is the penalty's diagonal (see core.rls_checks.penalty_range; "
                         f"got {p.mu_rs!r})")
    pen = penalty_matrix(p)
    if dtype == np.float32 and (p.lam_rec < FLOAT32_MIN_LAM_REC or (p.ffwd and p.lam_ff < FLOAT32_MIN_LAM_FF)):
        warnings.warn(f"a float32 RLS state with lam_rec={p.lam_rec:g}, lam_ff={p.lam_ff:g}: below lam_rec "
                      f"{FLOAT32_MIN_LAM_REC:g} or lam_ff {FLOAT32_MIN_LAM_FF:g} its weights drift from the "
                      "float64 ones by more than 1e-6 of their change (measured 2.2e-6 at 1e-4 and 1e-3 after "
                      "400 updates, growing with training); use rls_precision='float64'",
                      RuntimeWarning, stacklevel=2)
    if not p.ffwd:
        return BatchRLS(net.presyn, pen, w0=net.w, dtype=dtype)
    m = 2 * p.L
    cls = PooledInputRLS if form == "pooled" else SharedInputRLS
    return cls(net.presyn, p.N + np.arange(p.n_ffwd), pen[:m, :m], p.lam_ff, w0=net.w, dtype=dtype)


def ffwd_rate_process(params: BalancedParams, rng: np.random.Generator) -> np.ndarray:
    """Rates (Hz) of the feedforward Poisson neurons over the training window, (time, n_ffwd), every 1 ms.

    An Ornstein-Uhlenbeck process ``dr = (rate - r) dt / tau + noise dW`` (Hz;
    ``noise`` per sqrt(ms)) started at its mean, smoothed with a moving average of
    half-width ``ffwd_smooth`` (:func:`moving_average`: near the ends of the window
    it averages only the samples that exist, so a constant stays constant) and
    rectified.
    """
    p = params
    n = int(math.ceil(p.train_duration / FFWD_GRID_MS - 1e-9))
    h = FFWD_GRID_MS
    r = np.empty((n, p.n_ffwd))
    r[0] = p.ffwd_rate
    kicks = p.ffwd_noise * math.sqrt(h) * rng.standard_normal((n - 1, p.n_ffwd))
    for k in range(n - 1):
        r[k + 1] = r[k] + (p.ffwd_rate - r[k]) * (h / p.ffwd_tau) + kicks[k]
    r = moving_average(r, int(round(p.ffwd_smooth / h)))
    return np.maximum(r, 0.0)


def condition_ffwd_rates(params: BalancedParams, rng: np.random.Generator) -> dict:
    """The feedforward rates of each condition, ``{condition: (time, n_ffwd)}`` (Hz, every 1 ms of the
    training window), as ``params.ffwd_condition`` says.

    One realisation of :func:`ffwd_rate_process` per condition is drawn from ``rng``, in the order of
    :data:`~tutorial_lib.data.CONDITIONS`, whatever the setting (so the draws after them, and the rest
    of the network, are the same). ``"trial"``: each condition keeps its own; ``"none"``: every
    condition gets the first condition's (a copy each), so the rates carry no condition at any time
    and have the mean rate of the same process.
    """
    rates = {c: ffwd_rate_process(params, rng) for c in CONDITIONS}
    if params.ffwd_condition == "none":
        rates = {c: rates[CONDITIONS[0]].copy() for c in CONDITIONS}
    return rates
