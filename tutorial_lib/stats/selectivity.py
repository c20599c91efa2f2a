r"""Choice selectivity between two conditions: d', a Mann-Whitney test per neuron, split halves.

Arguments are checked by name here; the d' formula is :func:`tutorial_lib.core.stats.dprime`.
Values are (trials, neurons) arrays of spike counts or rates in a window.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.stats import mannwhitneyu

from ..checks import check_int, check_real, real_array
from ..core import stats as core_stats
from .spikes import MAX_VALUE

__all__ = ["dprime", "SelectivityTest", "selectivity_test", "fraction_selective", "split_half_agreement"]


# ---------------------------------------------------------------------------------------------- selectivity

def _conditions(a, b, least=1):
    a = real_array("a", a, bound=MAX_VALUE, unit="one value per trial and neuron")
    b = real_array("b", b, bound=MAX_VALUE, unit="one value per trial and neuron")
    if a.ndim == 1:
        a = a[:, None]
    if b.ndim == 1:
        b = b[:, None]
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must be (trials, neurons) arrays with the same neurons "
                         f"(got shapes {a.shape} and {b.shape})")
    if min(a.shape[0], b.shape[0]) < least:
        raise ValueError(f"a and b must have at least {least} trials each (got {a.shape[0]} and "
                         f"{b.shape[0]})")
    return a, b


def dprime(a, b, ddof: int = 1) -> np.ndarray:
    r"""Selectivity index d' of each neuron between two conditions.

    .. math::

        d' = \frac{\bar a - \bar b}{\sqrt{(s_a^2 + s_b^2) / 2}}

    with ``s^2`` the sample variances over trials (``ddof=1`` by default).
    Positive where the neuron responds more in condition ``a``. For two
    Gaussians of equal sd ``sigma`` whose means differ by ``delta`` it
    estimates ``delta / sigma``; for identical distributions it scatters
    around 0 with standard error about ``sqrt(1/n_a + 1/n_b)``. NaN where
    both variances are 0 (a neuron silent in both conditions, or with one
    fixed count in each): undefined, not 0 and not infinite.

    Parameters
    ----------
    a, b : array_like, shape (trials_a, neurons) and (trials_b, neurons)
        One value per trial and neuron (spike counts or rates in a window),
        finite, within ``+-1e15`` (:data:`MAX_VALUE`); 1-D arrays count as one neuron.
    ddof : int
        Delta degrees of freedom of the variances (a whole number >= 0). Default 1.

    Returns
    -------
    ndarray of float64, shape (neurons,)

    Raises
    ------
    ValueError
        Arrays of different neurons, values that are NaN, infinite or beyond ``+-1e15``,
        fewer than ``ddof + 1`` trials, a bad ``ddof``.
    TypeError
        Values that are not numbers (strings, None, bools).

    References
    ----------
    Green DM, Swets JA (1966) Signal Detection Theory and Psychophysics. Wiley.

    Examples
    --------
    >>> dprime([[1, 0], [3, 0]], [[0, 0], [2, 0]])
    array([0.70710678,        nan])
    """
    ddof = check_int("ddof", ddof, lo=0, what="delta degrees of freedom")
    a, b = _conditions(a, b)
    if min(a.shape[0], b.shape[0]) < ddof + 1:
        raise ValueError(f"ddof must be <= the number of trials - 1 (dprime needs at least ddof + 1 = {ddof + 1} "
                         f"trials in a and in b; got {a.shape[0]} and {b.shape[0]})")
    return core_stats.dprime(a, b, ddof=ddof)


class SelectivityTest(NamedTuple):
    """What :func:`selectivity_test` found: ``pvalue`` (neurons,) and ``selective`` (neurons,) bool."""

    pvalue: np.ndarray
    selective: np.ndarray
    alpha: float


def selectivity_test(a, b, alpha: float = 0.05) -> SelectivityTest:
    r"""Two-sided Mann-Whitney U test per neuron: does its response differ between conditions a and b?

    For each neuron the statistic :math:`U = \sum_{i, k} [\mathbb{1}(a_i > b_k) + \frac12 \mathbb{1}(a_i = b_k)]`
    counts the pairs of trials where ``a`` exceeds ``b`` (ties count one half); ``pvalue`` is
    :func:`scipy.stats.mannwhitneyu` (two-sided; for a neuron without ties scipy's ``"auto"``
    method, exact for small samples; with ties the normal approximation with tie and continuity
    corrections, chosen neuron by neuron so that a p-value depends only on that neuron's counts).
    A neuron is ``selective`` where ``pvalue < alpha``. Without any true difference a fraction of
    about ``alpha`` is selective by chance (less for small samples with many ties: the test is then
    conservative). A neuron with one value in every trial of both conditions has ``pvalue = 1``. No
    correction for multiple comparisons: the chance level of the fraction is ``alpha``.

    Parameters
    ----------
    a, b : array_like, shape (trials_a, neurons) and (trials_b, neurons)
        Spike counts (or rates) per trial; 1-D arrays count as one neuron.
    alpha : float
        Significance level, ``0 < alpha < 1``. Default 0.05.

    Returns
    -------
    SelectivityTest
        ``pvalue`` (neurons,) float64, ``selective`` (neurons,) bool, and ``alpha``.

    Raises
    ------
    ValueError
        As :func:`dprime`, or ``alpha`` not a real number in (0, 1).
    TypeError
        As :func:`dprime`.

    References
    ----------
    Mann HB, Whitney DR (1947) On a test of whether one of two random variables is stochastically larger
    than the other. Ann Math Stat 18:50, doi:10.1214/aoms/1177730491.

    Examples
    --------
    >>> a = [[5, 1], [6, 2], [7, 1], [8, 2], [9, 1]]
    >>> b = [[0, 1], [1, 2], [2, 1], [3, 2], [4, 1]]
    >>> test = selectivity_test(a, b)
    >>> test.selective
    array([ True, False])
    >>> round(float(test.pvalue[0]), 4)
    0.0079
    """
    alpha = check_real("alpha", alpha, lo=0.0, hi=1.0, lo_open=True, hi_open=True, what="significance level")
    a, b = _conditions(a, b)
    # scipy's "auto" picks one method for the whole array (asymptotic if any column has ties), so a
    # neuron's p-value would depend on the other neurons: choose per neuron, in two calls
    both = np.sort(np.vstack([a, b]), axis=0)
    tied = np.any(both[1:] == both[:-1], axis=0)
    p = np.ones(a.shape[1])
    for cols, method in ((~tied, "auto"), (tied, "asymptotic")):
        if cols.any():
            res = mannwhitneyu(a[:, cols], b[:, cols], alternative="two-sided", axis=0, method=method)
            p[cols] = np.asarray(res.pvalue, dtype=np.float64).reshape(-1)
    p = np.where(np.isnan(p), 1.0, p)  # all values tied: no evidence of a difference
    return SelectivityTest(p, p < alpha, alpha)


def fraction_selective(selective) -> float:
    r"""Fraction of neurons marked selective: ``k / n``, NaN for no neurons.

    Parameters
    ----------
    selective : array_like of bool, shape (neurons,), or SelectivityTest
        ``selective`` of :func:`selectivity_test` (or the test itself).

    Returns
    -------
    float
        Compare with the test's ``alpha``, the fraction expected by chance; with
        ``n`` neurons its chance spread is ``sqrt(alpha (1 - alpha) / n)``.

    Raises
    ------
    ValueError
        Values that are not booleans, or not a 1-D array.

    Examples
    --------
    >>> fraction_selective([True, False, False, False])
    0.25
    """
    if isinstance(selective, SelectivityTest):
        selective = selective.selective
    s = np.asarray(selective)
    if s.ndim != 1:
        raise ValueError(f"selective must be a 1-D array of booleans, one per neuron (got shape {s.shape})")
    if s.size and s.dtype != np.bool_:
        raise ValueError(f"selective must be an array of booleans (got dtype {s.dtype})")
    return float(s.mean()) if s.size else float("nan")


def _generator(rng) -> np.random.Generator:
    """``rng`` as a Generator: a Generator as it is, an int >= 0 as the seed of a new one."""
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        if int(rng) < 0:
            raise ValueError(f"rng must be a numpy.random.Generator or an int seed >= 0 (got {int(rng)})")
        rng = np.random.default_rng(int(rng))
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or an int seed (got {type(rng).__name__})")
    return rng


def split_half_agreement(a, b, rng, n_repeats: int = 100) -> float:
    r"""How reproducible the pattern of selectivity is: the correlation of d' between halves of the trials.

    Each repeat shuffles the trials of each condition, splits them into two
    halves of ``floor(n / 2)`` trials (an odd one out is left out), computes
    :func:`dprime` of every neuron in each half, and takes Pearson's
    correlation :math:`r` of the two halves' d' over the neurons whose d' is finite in both.
    The result is the mean of ``r`` over the repeats: near 1 when neurons keep
    their preference and its strength, near 0 when the pattern is noise (its
    chance spread is about ``1 / sqrt(neurons)``). A repeat where fewer than 3
    neurons are finite in both halves, or one half's d' is constant, is
    skipped; NaN if every repeat is.

    Parameters
    ----------
    a, b : array_like, shape (trials_a, neurons) and (trials_b, neurons)
        Spike counts per trial in the two conditions, at least 4 trials each.
    rng : numpy.random.Generator or int
        The random stream (an int >= 0 seeds a new one): same seed, same result.
    n_repeats : int
        Random splits to average, a whole number in ``[1, 1e5]``. Default 100.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        As :func:`dprime`, fewer than 4 trials in a condition, ``n_repeats`` outside
        ``[1, 1e5]``, a negative seed.
    TypeError
        ``rng`` neither a Generator nor an int; as :func:`dprime`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> shift = rng.normal(0, 2, 100)                     # each neuron's own preference
    >>> a = rng.normal(shift, 1, (40, 100)); b = rng.normal(0, 1, (40, 100))
    >>> bool(split_half_agreement(a, b, rng=1) > 0.9)
    True
    """
    rng = _generator(rng)
    n_repeats = check_int("n_repeats", n_repeats, lo=1, hi=100_000, what="random splits")
    a, b = _conditions(a, b, least=4)
    ha, hb = a.shape[0] // 2, b.shape[0] // 2
    rs = []
    for _ in range(int(n_repeats)):
        pa, pb = rng.permutation(a.shape[0]), rng.permutation(b.shape[0])
        d1 = dprime(a[pa[:ha]], b[pb[:hb]])
        d2 = dprime(a[pa[ha:2 * ha]], b[pb[hb:2 * hb]])
        ok = np.isfinite(d1) & np.isfinite(d2)
        if ok.sum() < 3:
            continue
        x, y = d1[ok] - d1[ok].mean(), d2[ok] - d2[ok].mean()
        den = math.sqrt(float(x @ x) * float(y @ y))
        if den > 0:
            rs.append(float(x @ y) / den)
    return float(np.mean(rs)) if rs else float("nan")
