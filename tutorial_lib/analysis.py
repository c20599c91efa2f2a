"""Statistics of population activity: moving averages, PSTHs, principal components.

After training, the question is how the task activity of the trained E neurons
spreads to the neurons that were never trained. This module is the validated
face of :mod:`tutorial_lib.core.psth` and :mod:`tutorial_lib.core.pca` (kept as
a module of its own, not dissolved into the core, because the notebooks and the
balanced network call these names with unchecked input): each function checks
its arguments by name, then calls the core formula of the same name.

* :func:`moving_average`: a centred moving average cut at the ends (a constant
  stays constant), shared by the PSTHs and Part 3's feed-forward rates;
* :func:`window_average`: means over windows around given times (Part 3's score);
* :func:`population_psth`: the trial-averaged rates (Hz) of a population, from
  the test trials of :func:`tutorial_lib.balanced.evaluate`;
* :func:`pca`: principal components of a (time, neuron) matrix, through the SVD;
* :func:`align_signs`: flip the sign of components to match a reference
  (a component's sign is arbitrary);
* :func:`explained_by`: how much of one population's component time courses a
  linear combination of another's explains (R^2). The populations hold
  different neurons, so they are compared through time courses, not loadings.

Getting started::

    >>> import numpy as np
    >>> from tutorial_lib import analysis
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 2)) @ rng.standard_normal((2, 50))   # rank 2
    >>> fit = analysis.pca(X, n_components=3)
    >>> bool(fit.explained[:2].sum() > 0.999)
    True
"""

from __future__ import annotations

import numpy as np

from .checks import check_int, check_real, check_type, index_array, real_array
from .core import pca as core_pca
from .core import psth as core_psth
from .core.pca import PCA

__all__ = ["PCA", "pca", "project", "align_signs", "explained_by", "population_psth", "moving_average",
           "window_average"]

#: the largest ``|value|`` accepted in a matrix or signal: squares and sums of larger ones overflow, and no
#: rate, input or score comes near
MAX_VALUE = 1e15


def _values(name: str, x, what: str, ndim=(1, 2)) -> np.ndarray:
    """``x`` as a float64 array of ``ndim`` dimensions (None: any), finite, within ``+-MAX_VALUE``."""
    return real_array(name, x, bound=MAX_VALUE, unit=what, ndim=ndim)


def pca(X, n_components: int | None = None) -> PCA:
    """Principal component analysis of ``X`` (samples, features) through the SVD of the centred matrix.

    ``n_components`` (default: all, ``min(samples, features)``) keeps the leading ones.
    Each component's sign is fixed so that its largest loading is positive
    (the SVD leaves it arbitrary). Raises ValueError for fewer than two
    samples, values that are NaN, infinite or beyond ``+-1e15`` (:data:`MAX_VALUE`),
    or ``n_components`` not a whole number in ``[1, min(samples, features)]``;
    TypeError for values that are not numbers.
    """
    X = _values("X", X, "samples x features", ndim=None)
    if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"X must be a (samples, features) matrix with at least 2 samples (got shape {X.shape})")
    k_max = min(X.shape)
    k = k_max if n_components is None else check_int("n_components", n_components, lo=1, hi=k_max)
    return core_pca.pca(X, k)


def project(X, fit: PCA) -> np.ndarray:
    """(samples, k): ``X`` (same features as the fit) centred with the fit's mean, on its components.

    ``X`` is (samples, features) or one sample (features,), finite, within ``+-1e15``; ``fit`` a
    :class:`PCA`. Raises ValueError (TypeError for a ``fit`` that is not a PCA) naming the argument.
    """
    fit = check_type("fit", fit, PCA)
    X = _values("X", X, "samples x features")
    if X.shape[-1] != fit.components.shape[1]:
        raise ValueError(f"X has {X.shape[-1]} features, the PCA {fit.components.shape[1]}: X must have the "
                         "fit's features")
    return core_pca.project(X, fit)


def align_signs(scores, reference) -> np.ndarray:
    """``scores`` (samples, k) with each column's sign flipped where it correlates negatively with
    the same column of ``reference`` (samples, >= k).

    Both finite, within ``+-1e15``; a ValueError names the argument otherwise (wrong shapes included).
    """
    scores = _values("scores", scores, "samples x components", ndim=(2,))
    reference = _values("reference", reference, "samples x components", ndim=(2,))
    if reference.shape[0] != scores.shape[0] or reference.shape[1] < scores.shape[1]:
        raise ValueError(f"reference must have the samples of scores and at least its {scores.shape[1]} "
                         f"columns (got shapes {scores.shape} and {reference.shape})")
    return core_pca.align_signs(scores, reference)


def explained_by(predictors, targets) -> np.ndarray:
    """R^2 of each column of ``targets`` (samples, m) fitted by least squares on ``predictors`` (samples, k)
    plus a constant. 1: a linear combination of the predictors reproduces it; about ``k / samples``
    for unrelated noise.

    Both 1-D (one column) or 2-D, finite, within ``+-1e15``, with the same samples (at least 2); a
    ValueError (TypeError for values that are not numbers) names the argument otherwise."""
    A = _values("predictors", predictors, "samples x k")
    B = _values("targets", targets, "samples x m")
    if A.ndim == 1:
        A = A[:, None]
    squeeze = B.ndim == 1
    if squeeze:
        B = B[:, None]
    if A.shape[0] != B.shape[0]:
        raise ValueError(f"predictors and targets must have the same number of samples "
                         f"({A.shape[0]} != {B.shape[0]})")
    if A.shape[0] < 2:
        raise ValueError(f"predictors and targets must have at least 2 samples (got {A.shape[0]})")
    r2 = core_pca.explained_by(A, B)
    return r2[0] if squeeze else r2


def population_psth(trials, neurons, bin_ms: float = 20.0, smooth_ms: float = 50.0):
    """``(t, rates)``: the trial-averaged PSTH (Hz) of ``neurons`` over ``trials`` (:class:`~tutorial_lib.balanced.Trial`).

    ``rates`` is (bins, neurons); ``t`` the bin centres (ms). Each trial's rates
    are counted in bins of ``bin_ms`` and averaged over ``+-smooth_ms``
    (:meth:`Trial.psth`, which states the rule: whole bins ``(k bin_ms, (k + 1)
    bin_ms]`` inside the trial, a shorter remainder at the end dropped, the
    moving average cut at the first and last bin so that a constant rate stays
    constant). Raises ValueError for no trials, trials of different durations,
    ``neurons`` that are not distinct integers in ``[0, N - 1]`` (N: the trials' network size),
    or the invalid ``bin_ms`` / ``smooth_ms`` of :meth:`Trial.psth`; TypeError for ``trials``
    that are not a sequence of trials.
    """
    if trials is None or isinstance(trials, (str, bytes)) or not hasattr(trials, "__iter__"):
        raise TypeError(f"trials must be a sequence of Trial (got {type(trials).__name__})")
    trials = list(trials)
    if not trials:
        raise ValueError("population_psth needs at least one trial")
    for k, tr in enumerate(trials):
        if not all(hasattr(tr, a) for a in ("psth", "duration", "N")):
            raise TypeError(f"trials[{k}] must be a Trial, with psth, duration and N "
                            f"(got {type(tr).__name__})")
    neurons = index_array("neurons", neurons, unique=True)
    n_max = min(int(tr.N) for tr in trials)
    if neurons.size and neurons.max() >= n_max:
        raise ValueError(f"neurons must be in [0, N - 1] = [0, {n_max - 1}] (got {neurons.max()})")
    durations = {float(tr.duration) for tr in trials}
    if len(durations) > 1:
        raise ValueError(f"population_psth needs trials of one duration (got {sorted(durations)} ms)")
    t, first = trials[0].psth(neurons, bin_ms=bin_ms, smooth_ms=smooth_ms)
    total = first.copy()
    for tr in trials[1:]:
        total += tr.psth(neurons, bin_ms=bin_ms, smooth_ms=smooth_ms)[1]
    return t, total / len(trials)


def moving_average(x, half: int) -> np.ndarray:
    """Centred moving average along axis 0 over ``2 half + 1`` samples, truncated at the ends.

    Row ``k`` of the result is the mean of the rows ``k - half .. k + half`` of
    ``x`` that exist: near the ends the window is cut at the data and the mean
    is taken over the samples inside it (never padded with zeros), so a constant
    stays constant everywhere, edges included. The samples must be of equal
    width (a regular grid). Used by :func:`tutorial_lib.balanced.ffwd_rate_process` and
    :meth:`tutorial_lib.balanced.Trial.psth`.

    Parameters
    ----------
    x : array_like, shape (n, ...)
        Samples along axis 0, finite, within ``+-1e15`` (:data:`MAX_VALUE`).
    half : int
        Half-width in samples (a whole number >= 0; beyond ``n`` the same as ``n``);
        0 returns ``x`` unchanged (as floats).

    Returns
    -------
    ndarray, shape of ``x``, float64.

    Raises
    ------
    ValueError
        ``x`` a scalar, or with values NaN, infinite or beyond ``+-1e15``; ``half`` not a whole number >= 0.
    TypeError
        ``x`` not numbers.
    """
    x = _values("x", x, "samples along axis 0", ndim=None)
    if x.ndim == 0:
        raise ValueError("x must have a sample axis (got a scalar)")
    half = check_int("half", half, lo=0, what="half-width, samples")
    return core_psth.moving_average(x, half)


def window_average(t: np.ndarray, x: np.ndarray, centres: np.ndarray, half_width: float, lo: float,
                   hi: float) -> np.ndarray:
    """Mean of the rows of ``x`` (sampled at increasing ``t``) over ``[c - hw, c + hw)`` and ``[lo, hi)``.

    One row per centre ``c`` of ``centres``; ``hw`` is ``half_width``. The score's
    windows (``+-score_window`` around each learning time). Near ``lo`` and
    ``hi`` a window is cut there and the mean is over the samples inside it (not
    padded), so a constant input gives a constant output, edges included.
    Sample times within 1e-9 ms below a window's bound count as on it.

    Raises ValueError if a window holds no samples; if ``t`` is not 1-D, finite and increasing with one
    time per row of ``x`` (a 1-D or 2-D array); if ``centres``, ``half_width`` (> 0), ``lo`` or ``hi``
    (``lo < hi``) are not finite; or if a mean is not finite (``x`` holds NaN, infinities or values too
    large to add up).

    The window sums are differences of the cumulative sum of the rows, ``c[j] = x[0] + ... + x[j-1]``
    (``np.cumsum``'s sums). For a 2-D float array they are added up row by row here and kept only at
    the window bounds (the same numbers, without a second array of the size of ``x``: 44 MB for a
    full-scale trial).
    """
    t = _values("t", t, "sample times, ms", ndim=(1,))
    if not isinstance(x, np.ndarray):  # an array is not copied or scanned: the means are checked below
        x = _values("x", x, "samples x columns")
    if x.dtype.kind not in "iuf":
        raise TypeError(f"x must hold real numbers (got dtype {x.dtype})")
    if x.ndim not in (1, 2) or x.shape[0] != t.size:
        raise ValueError(f"x must have one row per sample time t ({t.size}; got shape {x.shape})")
    if t.size > 1 and not np.all(np.diff(t) > 0):
        raise ValueError("t must be increasing (sample times, ms)")
    centres = _values("centres", centres, "window centres, ms", ndim=(1,))
    half_width = check_real("half_width", half_width, lo=0.0, lo_open=True, hi=MAX_VALUE, what="ms")
    lo = check_real("lo", lo, lo=-MAX_VALUE, hi=MAX_VALUE, what="ms")
    hi = check_real("hi", hi, lo=-MAX_VALUE, hi=MAX_VALUE, what="ms")
    if not lo < hi:
        raise ValueError(f"hi must be > lo (got lo {lo:g}, hi {hi:g} ms)")
    a = np.searchsorted(t, np.maximum(centres - half_width, lo) - 1e-9, side="left")
    b = np.searchsorted(t, np.minimum(centres + half_width, hi) - 1e-9, side="left")
    if np.any(b <= a):
        raise ValueError("a score window holds no samples: record more often (record_every)")
    with np.errstate(over="ignore", invalid="ignore"):  # a sum that overflows is refused just below
        out = _window_sums(x, a, b)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"x must be finite: {int((~np.isfinite(out)).sum())} window means are NaN or "
                         "infinite (x holds NaN, infinities or values too large to add up)")
    return out


def _window_sums(x, a, b):
    """The means of the rows ``a[k] .. b[k] - 1`` of ``x``: :func:`tutorial_lib.core.psth.window_average`'s
    cumulative sums, for a 2-D float array kept only at the window bounds (the same numbers, tested
    equal in ``tests/test_core_stats.py``)."""
    if x.dtype != np.float64 or x.ndim != 2:
        c = np.concatenate([np.zeros((1,) + x.shape[1:]), np.cumsum(x, axis=0)])  # axis 0, 1-D x too
        return (c[b] - c[a]) / (b - a).reshape((-1,) + (1,) * (x.ndim - 1))
    bounds = np.union1d(a, b)  # the rows j of c that the windows use
    c = np.zeros((bounds.size, x.shape[1]))
    acc, done = np.zeros(x.shape[1]), 0  # acc = c[done]
    for s, j in enumerate(bounds):
        if j == 0:
            continue
        if done == 0:
            acc[:], done = x[0], 1
        for k in range(done, j):
            acc += x[k]
        c[s], done = acc, j
    ia, ib = np.searchsorted(bounds, a), np.searchsorted(bounds, b)
    return (c[ib] - c[ia]) / (b - a)[:, None]
