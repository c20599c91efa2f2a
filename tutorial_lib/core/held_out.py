r"""Ridge regression cross-validated over blocks of time, the plain formulas (Kim et al. 2023's test).

Each column of ``Y`` (samples, targets) is predicted from ``X`` (samples, features) by ridge regression,
:math:`\hat y = \bar y + Z w`, :math:`w = \arg\min \lVert Z w - (y - \bar y)\rVert^2 + \lambda \lVert
w\rVert^2`, with :math:`Z` the features standardised on the training samples, solved in the dual form
:math:`Z w = K (K + \lambda I)^{-1} (y - \bar y)`, :math:`K = Z Z^\top` (few samples, many features).
Samples are time bins (of one or several conditions); the folds are contiguous blocks of time, so a
prediction is never made from the neighbouring, correlated bins. The penalty is chosen per target by an
inner cross-validation over the other blocks. The score is the cross-validated :math:`R^2 = 1 -
\sum (y - \hat y)^2 / \sum (y - \bar y)^2` of the out-of-fold predictions: 1 is perfect, 0 is no better
than the mean, below 0 worse.

>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(60, 5)); Y = X @ rng.normal(size=(5, 2))   # a linear map, no noise
>>> folds = time_blocks(60, 5)
>>> bool(np.all(cv_r2(Y, cv_ridge(X, Y, folds, [1e-3, 1.0])) > 0.99))
True

Reference: Kim CM, Finkelstein A, Chow CC, Svoboda K, Darshan R (2023) Distributing task-related neural
activity across a cortical network through task-independent connections. Nat Commun 14:2851.
doi:10.1038/s41467-023-38529-y
"""

from __future__ import annotations

import numpy as np

from ..checks import check_int, check_real

__all__ = ["time_blocks", "ridge_predict", "cv_ridge", "cv_r2"]


def time_blocks(n_time: int, k: int) -> np.ndarray:
    r"""The fold (0 .. k-1) of each of ``n_time`` bins: ``k`` contiguous blocks, sizes differing by at most 1.

    ``n_time`` >= 2 and ``k`` in [2, n_time], whole numbers (ValueError naming them: 2.5 folds is no count).

    >>> time_blocks(7, 3).tolist()
    [0, 0, 0, 1, 1, 2, 2]
    """
    n_time = check_int("n_time", n_time, lo=2, what="time bins")
    k = check_int("k", k, lo=2, hi=n_time, what=f"folds, at most n_time = {n_time}")
    return np.arange(n_time) * k // n_time


def ridge_predict(X_train, Y_train, X_test, lams) -> np.ndarray:
    r"""Predictions (len(lams), test samples, targets) of ridge fits on the training samples, one per penalty.

    The features are centred and scaled by their training mean and standard deviation (a constant
    feature is left at 0), the targets centred by their training mean; the dual form
    :math:`K (K + \lambda I)^{-1}` through one eigendecomposition of :math:`K`.

    >>> X = np.array([[0.0], [1.0], [2.0]]); Y = np.array([[1.0], [3.0], [5.0]])
    >>> np.round(ridge_predict(X, Y, np.array([[3.0]]), [1e-9])[0], 6).tolist()
    [[7.0]]
    """
    mx, sx = X_train.mean(axis=0), X_train.std(axis=0)
    sx = np.where(sx > 0, sx, 1.0)
    A, B = (X_train - mx) / sx, (X_test - mx) / sx
    my = Y_train.mean(axis=0)
    s, U = np.linalg.eigh(A @ A.T)
    s = np.clip(s, 0.0, None)
    UtY, BU = U.T @ (Y_train - my), (B @ A.T) @ U
    return np.stack([my + BU @ (UtY / (s + lam)[:, None]) for lam in lams])


def cv_ridge(X, Y, folds, lams) -> np.ndarray:
    r"""Out-of-fold predictions of ``Y`` (samples, targets) from ``X`` (samples, features), same shape as Y.

    For each fold ``f`` of ``folds`` (one label per sample), ridge is fitted on the other folds with,
    per target, the penalty of ``lams`` that predicts best in an inner cross-validation over those
    folds (leave one fold out), and predicts fold ``f``. Needs at least 3 folds and at least one penalty,
    each finite and > 0 (ValueError naming them).

    >>> X = np.arange(12.0)[:, None]; Y = 2 * X + 1
    >>> np.round(cv_ridge(X, Y, time_blocks(12, 3), [1e-9, 1e3])[:3, 0], 6).tolist()
    [1.0, 3.0, 5.0]
    """
    X, Y, folds = np.asarray(X, float), np.asarray(Y, float), np.asarray(folds)
    if X.ndim != 2 or Y.ndim != 2 or not X.shape[0] == Y.shape[0] == folds.shape[0]:
        raise ValueError(f"X (samples, features), Y (samples, targets) and folds (samples,) must agree in "
                         f"samples (got shapes {X.shape}, {Y.shape}, {folds.shape})")
    lams = np.atleast_1d(np.asarray(lams, dtype=object))
    if lams.ndim != 1 or lams.size == 0:
        raise ValueError(f"lams (ridge penalties) must be a non-empty 1-D sequence of numbers > 0 (got {lams!r:.80})")
    lams = [check_real(f"lams[{j}]", v, lo=0.0, lo_open=True, what="ridge penalty") for j, v in enumerate(lams)]
    labels = np.unique(folds)
    if labels.size < 3:
        raise ValueError(f"folds must hold at least 3 folds, for the inner choice of the penalty (got {labels.size})")
    cols, pred = np.arange(Y.shape[1]), np.empty_like(Y)
    for f in labels:
        train, inner = folds != f, folds[folds != f]
        Xt, Yt = X[train], Y[train]
        sse = np.zeros((len(lams), Y.shape[1]))
        for g in np.unique(inner):
            fit = inner != g
            sse += ((ridge_predict(Xt[fit], Yt[fit], Xt[~fit], lams) - Yt[~fit]) ** 2).sum(axis=1)
        best = sse.argmin(axis=0)
        pred[~train] = ridge_predict(Xt, Yt, X[~train], lams)[best, :, cols].T
    return pred


def cv_r2(Y, pred) -> np.ndarray:
    r"""Per column of ``Y``: :math:`1 - \sum (y - \hat y)^2 / \sum (y - \bar y)^2` (NaN for a constant column).

    >>> cv_r2(np.array([[1.0], [2.0], [3.0]]), np.array([[2.0], [2.0], [2.0]])).tolist()
    [0.0]
    """
    Y, pred = np.asarray(Y, float), np.asarray(pred, float)
    ss = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ss > 0, 1.0 - ((Y - pred) ** 2).sum(axis=0) / ss, np.nan)
