r"""Recursive least squares (RLS): the plain equations of the tutorial's learning rule.

Each trained neuron :math:`i` owns a weight vector :math:`\mathbf w_i` over its plastic inputs and a
matrix :math:`P_i`. At a learning step, with :math:`\mathbf x` the activity of the neuron's plastic
inputs, :math:`f` its target and ``other`` any input to the neuron that is not plastic:

.. math::

    \mathbf k &= P_i \mathbf x, \qquad c = \frac{1}{1 + \mathbf x^\top \mathbf k} \\
    P_i &\leftarrow P_i - c\, \mathbf k \mathbf k^\top \\
    e &= \mathbf w_i \cdot \mathbf x + \text{other} - f \quad \text{(error before the update)} \\
    \mathbf w_i &\leftarrow \mathbf w_i - e\, c\, \mathbf k

Starting from :math:`P_i = \Lambda^{-1}` (``Lambda`` the penalty matrix, ``lam * I`` in parts 1 and
2) and :math:`\mathbf w_i = \mathbf w_0`, after any number of steps :math:`\mathbf w_i` is exactly
the minimiser of

.. math::

    \sum_t (\mathbf w \cdot \mathbf x_t + \text{other}_t - f_t)^2
    + (\mathbf w - \mathbf w_0)^\top \Lambda (\mathbf w - \mathbf w_0),

the ridge-regression solution :func:`ridge_solution` computes in closed form
(``tests/test_core_rls.py`` proves it).

Read in this order: one neuron (:func:`rls_update`), a batch of neurons (:func:`rls_update_batch`),
neurons with private inputs and a block of shared inputs, the regression on the shared block held
once for the pool of private inputs (:func:`rls_pooled_update`), and :func:`ridge_solution`. The
compiled and optimised forms of the same steps are in :mod:`tutorial_lib.engine` (``rls_state``,
``rls_shared``, ``rls_packed``, ``rls_deferred``, ``rls_pooled``); each names its twin here.

Getting started::

    >>> import numpy as np
    >>> P, w = np.eye(2) / 0.5, np.zeros(2)
    >>> e = rls_update(P, w, x=np.array([1.0, 0.5]), f=1.0)
    >>> float(e), w.round(3).tolist()
    (-1.0, [0.571, 0.286])

References
----------
* Haykin S (2002) Adaptive Filter Theory, 4th ed., ch. 9 (RLS, and its equality with the
  regularised least-squares solution).
* Sussillo D, Abbott LF (2009) Generating coherent patterns of activity from chaotic neural
  networks. Neuron 63:544-557. doi:10.1016/j.neuron.2009.07.018 (RLS inside a running network).
* Kim CM, Chow CC (2018) Learning recurrent dynamics in spiking networks. eLife 7:e37124.
  doi:10.7554/eLife.37124 (one RLS problem per neuron, with its own inputs: the batch form).
* The tutorial's own step, as the SPEC writes it: the CNS 2025 course "Training spiking neural
  networks to generate experimentally recorded neural activities" (C. Kim, R. Yovanno; Julia).
"""

from __future__ import annotations

import numpy as np

from .rls_checks import (check_finite, check_pooled_args, checked_penalty, input_arg, real_array,
                         state_arg)

__all__ = ["rls_update", "rls_update_batch", "rls_pooled_update", "ridge_solution", "penalty_matrix"]


def rls_update(P, w, x, f, other=0.0):
    r"""One RLS step for one neuron, in place, as in the SPEC; returns the error before the update.

    .. math::

        \mathbf k = P \mathbf x, \quad c = \frac{1}{1 + \mathbf x \cdot \mathbf k}, \quad
        P \leftarrow P - c\, \mathbf k \mathbf k^\top, \quad
        e = \mathbf w \cdot \mathbf x + \text{other} - f, \quad
        \mathbf w \leftarrow \mathbf w - e\, c\, \mathbf k

    Parameters
    ----------
    P : (m, m) float array, the inverse of the regularised correlation matrix; updated in place.
    w : (m,) float array, the weights of the neuron's plastic inputs; updated in place.
    x : (m,) the plastic inputs' activity now (rates, or filtered spike trains, 1/ms).
    f : float, the target of the neuron's total input now.
    other : float, the part of the total input that is not plastic (0 in Part 1).

    Raises
    ------
    ValueError or TypeError, naming the argument, before anything is changed: ``P`` or ``w`` not
    a writeable float64 or float32 NumPy array of shape (m, m) and (m,); ``x`` not (m,) real;
    ``f`` or ``other`` not a single real number; a NaN or infinity in ``w``, ``x``, ``f`` or
    ``other``. ``P`` is not scanned (a pass over it would cost as much as the step): start it
    from a finite inverse penalty, e.g. ``I / lam``.

    References
    ----------
    Haykin (2002) Adaptive Filter Theory, ch. 9; Sussillo and Abbott (2009) Neuron 63:544,
    doi:10.1016/j.neuron.2009.07.018.

    Examples
    --------
    Two steps from ``P = I / lambda`` give the ridge-regression weights of the two samples:

    >>> import numpy as np
    >>> P, w = np.eye(2) / 0.5, np.zeros(2)
    >>> X, y = np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([1.0, 2.0])
    >>> errors = [rls_update(P, w, x, f) for x, f in zip(X, y)]
    >>> bool(np.allclose(w, ridge_solution(X, y, 0.5)))
    True
    """
    m = state_arg("P", P, None, "inverse correlation matrix", square=True).shape[0]
    state_arg("w", w, (m,), "weights")
    check_finite("w", w)
    input_arg("x", x, (m,), "the plastic inputs' activity")
    input_arg("f", f, (), "target")
    input_arg("other", other, (), "non-plastic input")
    k = P @ x
    c = 1.0 / (1.0 + x @ k)
    P -= c * np.outer(k, k)
    e = w @ x + other - f
    w -= e * c * k
    return e


def rls_update_batch(P, w, x, f, other=0.0):
    r"""One RLS step for ``n`` neurons at once, in place; returns the (n,) errors before the update.

    For every neuron :math:`i`, with its own plastic inputs :math:`\mathbf x_i`, the step of
    :func:`rls_update`, vectorised with NumPy (no Python loop):

    .. math::

        \mathbf k_i = P_i \mathbf x_i, \quad c_i = \frac{1}{1 + \mathbf x_i \cdot \mathbf k_i}, \quad
        P_i \leftarrow P_i - c_i\, \mathbf k_i \mathbf k_i^\top, \quad
        e_i = \mathbf w_i \cdot \mathbf x_i + \text{other}_i - f_i, \quad
        \mathbf w_i \leftarrow \mathbf w_i - e_i c_i\, \mathbf k_i

    Parameters
    ----------
    P : (n, m, m) float array, each neuron's inverse correlation matrix; updated in place.
    w : (n, m) float array, each neuron's plastic weights; updated in place.
    x : (n, m) each neuron's plastic inputs' activity now (rates, or filtered spike trains, 1/ms).
    f, other : (n,) or scalars, the targets of the total inputs and their non-plastic parts.

    Raises
    ------
    ValueError or TypeError, naming the argument, before anything is changed, for a ``P`` or ``w``
    that is not a writeable float64 or float32 array of shape (n, m, m) or (n, m), any other shape,
    or a NaN or infinity in ``w``, ``x``, ``f`` or ``other`` (``P`` is not scanned, as in
    :func:`rls_update`).

    References
    ----------
    Kim and Chow (2018) eLife 7:e37124, doi:10.7554/eLife.37124 (one RLS problem per neuron).

    Examples
    --------
    >>> import numpy as np
    >>> P, w = np.stack([np.eye(2) / 0.5] * 2), np.zeros((2, 2))
    >>> e = rls_update_batch(P, w, x=np.array([[1.0, 0.0], [0.0, 2.0]]), f=np.array([1.0, -1.0]))
    >>> w.round(3).tolist()
    [[0.667, 0.0], [0.0, -0.444]]
    """
    n, m, _ = state_arg("P", P, None, "inverse correlation matrices", square=True, ndim=3).shape
    state_arg("w", w, (n, m), "weights")
    check_finite("w", w, rows="neuron", cols="input")
    input_arg("x", x, (n, m), "each neuron's plastic inputs' activity")
    input_arg("f", f, ((), (n,)), "targets")
    input_arg("other", other, ((), (n,)), "non-plastic inputs")
    k = np.einsum("nij,nj->ni", P, x)
    c = 1.0 / (1.0 + np.einsum("ni,ni->n", x, k))
    e = np.einsum("ni,ni->n", w, x) + other - f
    P -= (c[:, None, None] * k[:, :, None]) * k[:, None, :]
    w -= (e * c)[:, None] * k
    return e


def rls_pooled_update(Pr, H, Q, w, idx, p, f, target, other=0.0):
    r"""One RLS step for neurons with private inputs and a block of shared inputs, the regression on the
    shared block held once for the pool of private inputs, in place; returns the (n,) errors.

    .. math::

        \mathbf g = Q \mathbf f,\quad \beta = \frac{1}{1 + \mathbf f \cdot \mathbf g},\quad
        \mathbf z = \mathbf p - H \mathbf f,\quad
        \mathbf y_i = P_{r,i}\, \mathbf z_{I_i},\quad
        c_i = \frac{\beta}{1 + \beta\, \mathbf z_{I_i} \cdot \mathbf y_i},\quad
        e_i = \mathbf w_i \cdot (\mathbf p_{I_i}, \mathbf f) + \text{other}_i - \text{target}_i, \\
        \mathbf w_i \leftarrow \mathbf w_i - e_i c_i
        \begin{pmatrix} \mathbf y_i \\ \mathbf g - H_{I_i}^\top \mathbf y_i \end{pmatrix},\quad
        P_{r,i} \leftarrow P_{r,i} - c_i \mathbf y_i \mathbf y_i^\top,\quad
        H \leftarrow H + \beta\, \mathbf z \mathbf g^\top,\quad
        Q \leftarrow Q - \beta\, \mathbf g \mathbf g^\top.

    Parameters
    ----------
    Pr : (n, mp, mp) each neuron's inverse Schur complement; H : (S, nf) the regression of the
        pool's inputs on the shared ones; Q : (nf, nf) the shared block's inverse; w : (n, mp + nf)
        weights, private first. All four are float arrays, updated in place.
    idx : (n, mp) int, each neuron's private inputs as rows of ``H`` (indices into ``p``).
    p : (S,) the pool's activity now; ``f`` (nf,) the shared inputs' activity now (1/ms).
    target, other : (n,) or scalars, as for :func:`rls_update`.

    Raises ValueError or TypeError, naming the argument, before anything is changed: the state
    arrays not writeable float64 or float32 NumPy arrays of consistent shapes, ``idx`` not whole
    numbers in ``[0, S - 1]``, any other shape, a NaN or infinity in ``w``, ``p``, ``f``,
    ``target`` or ``other`` (the state is not scanned).

    References: Sherman-Morrison (Haykin 2002, ch. 9) in the blocks of each neuron's inverse by
    block inversion; the derivation is in :class:`.SharedInputRLS` and :class:`.PooledInputRLS`.

    >>> Pr, H, Q = np.ones((1, 1, 1)) / 0.5, np.zeros((2, 1)), np.eye(1) / 0.5
    >>> w, idx = np.zeros((1, 2)), np.array([[1]])
    >>> e = rls_pooled_update(Pr, H, Q, w, idx, p=np.array([0.0, 1.0]), f=np.array([0.5]), target=1.0)
    >>> P1, w1 = np.eye(2) / 0.5, np.zeros(2)  # the same step for (p[1], f) with one P
    >>> e1 = rls_update(P1, w1, np.array([1.0, 0.5]), 1.0)
    >>> bool(np.allclose(w[0], w1))
    True
    """
    idx = check_pooled_args(Pr, H, Q, w, idx, p, f, target, other)
    mp = idx.shape[1]
    g = Q @ f
    beta = 1.0 / (1.0 + f @ g)
    z = p - H @ f                                   # the pool minus its prediction from f
    zi = z[idx]                                     # (n, mp): neuron i's part of it
    y = np.einsum("npq,nq->np", Pr, zi)
    c = beta / (1.0 + beta * np.einsum("np,np->n", zi, y))
    e = np.einsum("np,np->n", w[:, :mp], p[idx]) + w[:, mp:] @ f + other - target
    Hy = np.einsum("npq,np->nq", H[idx], y)         # H_{I_i}^T y_i with the old H
    w[:, :mp] -= (e * c)[:, None] * y
    w[:, mp:] -= (e * c)[:, None] * (g - Hy)
    Pr -= c[:, None, None] * y[:, :, None] * y[:, None, :]
    H += beta * np.outer(z, g)
    Q -= beta * np.outer(g, g)
    return e


def ridge_solution(X, y, penalty, w0=None) -> np.ndarray:
    r"""The closed-form ridge-regression weights, which RLS reaches after the same samples.

    .. math::

        \mathbf w^* = \arg\min_{\mathbf w}\, \lVert X \mathbf w - \mathbf y \rVert^2
        + (\mathbf w - \mathbf w_0)^\top \Lambda (\mathbf w - \mathbf w_0)
        = (X^\top X + \Lambda)^{-1} (X^\top \mathbf y + \Lambda \mathbf w_0)

    Parameters
    ----------
    X : (T, m) the samples as rows (the plastic inputs' activity at each step, 1/ms).
    y : (T,) the targets minus any non-plastic input.
    penalty : ``lam`` for :math:`\Lambda = \lambda I`, or an (m, m) matrix; the rules of the RLS
        states' penalty (:func:`.penalty_range` in float64, symmetric positive definite).
    w0 : (m,) the weights the penalty pulls towards (zero by default).

    Raises
    ------
    ValueError or TypeError, naming the argument, for any other shape, a NaN or infinity, or such
    a penalty.

    References
    ----------
    Haykin (2002) Adaptive Filter Theory, ch. 9 (RLS equals this solution after every step).

    Examples
    --------
    >>> import numpy as np
    >>> ridge_solution(np.array([[1.0], [1.0]]), np.array([1.0, 2.0]), penalty=1.0).tolist()
    [1.0]
    """
    Xa = real_array("X", X, "samples as rows")
    if Xa.ndim != 2 or Xa.shape[1] < 1:
        raise ValueError(f"X (samples as rows) must be a 2-D array (samples, inputs) with at least one input "
                         f"(got shape {Xa.shape})")
    T, m = Xa.shape
    ya = real_array("y", y, "targets")
    if ya.shape != (T,):
        raise ValueError(f"y (targets) must have shape ({T},), one per row of X (got {ya.shape})")
    check_finite("X", Xa, rows="sample", cols="input")
    check_finite("y", ya)
    checked_penalty("penalty", penalty, None, m, np.float64)
    if w0 is not None:
        w0a = real_array("w0", w0, "initial weights")
        if w0a.shape != (m,):
            raise ValueError(f"w0 (initial weights) must have shape ({m},), one per column of X "
                             f"(got {w0a.shape})")
        check_finite("w0", w0a)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    Lam = np.eye(m) * float(penalty) if np.ndim(penalty) == 0 else np.asarray(penalty, dtype=np.float64)
    w0 = np.zeros(m) if w0 is None else np.asarray(w0, dtype=np.float64)
    # (X^T X + Lambda) w = X^T y + Lambda w0
    return np.linalg.solve(X.T @ X + Lam, X.T @ y + Lam @ w0)


def penalty_matrix(L: int, lam_rec: float, mu_rs: float, n_ffwd: int = 0, lam_ff: float = 0.0) -> np.ndarray:
    r"""Part 3's RLS penalty :math:`\Lambda` for one neuron's plastic inputs, in the order [E, I, feed-forward].

    .. math::

        \Lambda = \begin{pmatrix}
            \lambda_{\rm rec} I_{2L} + \mu_{\rm rs}
            \left(\mathbf 1_E \mathbf 1_E^\top \oplus \mathbf 1_I \mathbf 1_I^\top\right) & 0 \\
            0 & \lambda_{\rm ff} I_{n_{\rm ffwd}}
        \end{pmatrix}

    An L2 penalty on every recurrent weight, plus one on the sum of the ``L`` E weights and on the sum
    of the ``L`` I weights (it keeps each sum near its start, so the E and I inputs stay balanced and
    mostly keep their sign), and an L2 penalty on the feed-forward weights. ``P`` starts as
    :math:`\Lambda^{-1}`, so RLS minimises the squared error plus
    :math:`(\mathbf w - \mathbf w_0)^\top \Lambda (\mathbf w - \mathbf w_0)` (:func:`ridge_solution`).
    Returns an array of shape (2 L + n_ffwd, 2 L + n_ffwd). Source: Kim et al. (2023), Nat Commun 14:2851,
    doi:10.1038/s41467-023-38529-y.

    >>> penalty_matrix(2, lam_rec=1.0, mu_rs=10.0, n_ffwd=1, lam_ff=0.5)
    array([[11. , 10. ,  0. ,  0. ,  0. ],
           [10. , 11. ,  0. ,  0. ,  0. ],
           [ 0. ,  0. , 11. , 10. ,  0. ],
           [ 0. ,  0. , 10. , 11. ,  0. ],
           [ 0. ,  0. ,  0. ,  0. ,  0.5]])
    """
    m = 2 * L + n_ffwd
    pen = np.zeros((m, m))
    pen[: 2 * L, : 2 * L] = lam_rec * np.eye(2 * L)
    pen[:L, :L] += mu_rs
    pen[L: 2 * L, L: 2 * L] += mu_rs
    if n_ffwd:
        pen[2 * L:, 2 * L:] = lam_ff * np.eye(n_ffwd)
    return pen
