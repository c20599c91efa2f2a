r"""Principal components of population activity, the plain formulas: PCA, projection, signs, R^2.

Plain NumPy on arrays that are already valid (no argument checks here; the
validated functions are in :mod:`tutorial_lib.analysis`, which calls these).
A (samples, features) matrix is typically (time, neurons).

Source: Jolliffe IT, Cadima J (2016) Principal component analysis: a review and
recent developments. Phil Trans R Soc A 374:20150202, doi:10.1098/rsta.2015.0202.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PCA", "pca", "project", "align_signs", "explained_by"]


@dataclass
class PCA:
    """Principal components of a (samples, features) matrix ``X``, e.g. (time, neurons).

    ``mean`` (features,) the column means removed before the SVD;
    ``components`` (k, features) the orthonormal principal axes, largest variance first;
    ``variance`` (k,) the variance along each (sum of squares over samples / (samples - 1));
    ``explained`` (k,) its fraction of the total variance;
    ``scores`` (samples, k) the projections of the centred ``X`` (the components' time courses).
    """

    mean: np.ndarray
    components: np.ndarray
    variance: np.ndarray
    explained: np.ndarray
    scores: np.ndarray

    @property
    def n_components(self) -> int:
        return self.components.shape[0]


def pca(X, n_components: int | None = None) -> PCA:
    r"""Principal component analysis of ``X`` through the SVD of the centred matrix.

    .. math::

        X - \mathbf{1}\mu^\top = U S V^\top, \qquad
        \mathrm{components} = V^\top, \quad \mathrm{scores} = U S, \quad
        \mathrm{variance}_i = \frac{S_i^2}{n - 1}

    Each component's sign is fixed so that its largest loading is positive (the
    SVD leaves it arbitrary).

    Parameters
    ----------
    X : ndarray of float, shape (samples, features), at least 2 samples.
    n_components : int or None, the leading components kept (None: all, ``min(samples, features)``).

    Returns
    -------
    PCA

    Examples
    --------
    >>> fit = pca(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]))
    >>> fit.components[0], fit.explained.round(9)
    (array([0.70710678, 0.70710678]), array([1., 0.]))
    """
    k = min(X.shape) if n_components is None else n_components
    mean = X.mean(axis=0)
    U, S, Vt = np.linalg.svd(X - mean, full_matrices=False)
    flip = np.sign(Vt[np.arange(Vt.shape[0]), np.argmax(np.abs(Vt), axis=1)])
    flip[flip == 0] = 1.0
    Vt = Vt * flip[:, None]
    U = U * flip[None, :]
    var = S ** 2 / (X.shape[0] - 1)
    total = var.sum()
    explained = var / total if total > 0 else np.zeros_like(var)
    return PCA(mean, Vt[:k], var[:k], explained[:k], U[:, :k] * S[:k])


def project(X, fit: PCA):
    r"""``(X - mean) V``: the samples ``X`` (same features as the fit) on the fit's components.

    Parameters
    ----------
    X : ndarray, shape (samples, features) or (features,).
    fit : PCA

    Returns
    -------
    ndarray, shape (samples, k) or (k,).

    Examples
    --------
    >>> fit = pca(np.array([[0.0, 0.0], [2.0, 2.0]]), n_components=1)
    >>> project(np.array([[2.0, 0.0], [3.0, 3.0]]), fit).round(9)
    array([[0.        ],
           [2.82842713]])
    """
    return (X - fit.mean) @ fit.components.T


def align_signs(scores, reference):
    r"""``scores`` with column ``j`` negated where it correlates negatively with ``reference[:, j]``.

    .. math:: s_j \leftarrow \operatorname{sign}\big((s_j - \bar s_j) \cdot (r_j - \bar r_j)\big)\, s_j

    (a zero correlation keeps the sign).

    Parameters
    ----------
    scores : ndarray, shape (samples, k).
    reference : ndarray, shape (samples, >= k).

    Returns
    -------
    ndarray, a new array of the shape of ``scores``.

    Examples
    --------
    >>> align_signs(np.array([[1.0], [-1.0]]), np.array([[-2.0], [2.0]]))
    array([[-1.],
           [ 1.]])
    """
    scores = scores.copy()
    for j in range(scores.shape[1]):
        a = scores[:, j] - scores[:, j].mean()
        b = reference[:, j] - reference[:, j].mean()
        if a @ b < 0:
            scores[:, j] *= -1.0
    return scores


def explained_by(predictors, targets):
    r"""R^2 of each column of ``targets`` fitted by least squares on ``predictors`` plus a constant.

    .. math::

        R^2_j = 1 - \frac{\lVert y_j - A \hat\beta_j \rVert^2}{\lVert y_j - \bar y_j \rVert^2},
        \qquad A = [\,\mathrm{predictors}\ \ \mathbf{1}\,],\ \hat\beta_j = \arg\min \lVert y_j - A\beta \rVert

    1: a linear combination of the predictors reproduces the column; about
    ``k / samples`` for unrelated noise. A constant column gives 1.

    Parameters
    ----------
    predictors : ndarray, shape (samples, k).
    targets : ndarray, shape (samples, m).

    Returns
    -------
    ndarray, shape (m,).

    Examples
    --------
    >>> A = np.arange(5.0)[:, None]
    >>> explained_by(A, np.column_stack([2 * A[:, 0] + 1, [1.0, -1.0, 1.0, -1.0, 1.0]])).round(3)
    array([1., 0.])
    """
    A1 = np.hstack([predictors, np.ones((predictors.shape[0], 1))])
    coef, *_ = np.linalg.lstsq(A1, targets, rcond=None)
    resid = ((targets - A1 @ coef) ** 2).sum(axis=0)
    total = ((targets - targets.mean(axis=0)) ** 2).sum(axis=0)
    return 1.0 - resid / np.where(total > 0, total, 1.0)
