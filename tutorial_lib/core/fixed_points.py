r"""Fixed points and slow points of a rate network, found by minimising its speed.

The network

.. math:: \frac{dx}{dt} = F(x) = -x + W \phi(x) + b

(time in units of :math:`\tau`) is at rest where :math:`F(x) = 0`. Sussillo & Barak (2013) find
those points, and the *slow points* where the flow almost stops, by minimising the kinetic energy

.. math:: q(x) = \tfrac12 \lVert F(x) \rVert^2, \qquad \nabla q = J(x)^\top F(x), \qquad
          J(x) = -I + W \operatorname{diag}\big(\phi'(x)\big),

from many initial states (for example states the trained network visits). Minima with
:math:`q \approx 0` are fixed points; local minima with small :math:`q > 0` are slow points. The
eigenvalues of :math:`J` classify a point: all real parts negative, stable (an attractor); all
positive, unstable; both, a saddle. Part 1's network in rate form,
:math:`dr/dt = -r + \phi(W r + b)`, rests at :math:`r^* = \phi(x^*)` with :math:`x^* = W r^* + b` a
rest point of :math:`F` above (same ``W``, ``b``).

>>> W = np.diag([2.0, 2.0])  # two self-exciting units, no coupling: four attractors
>>> x0 = np.random.default_rng(0).normal(0.0, 2.0, size=(40, 2))
>>> points = find_fixed_points(W, np.zeros(2), x0)
>>> list(points.kind).count("stable")
4

References
----------
* Sussillo D, Barak O (2013) Opening the black box: low-dimensional dynamics in high-dimensional
  recurrent neural networks. Neural Comput 25:626-649. doi:10.1162/NECO_a_00409
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

__all__ = ["velocity", "jacobian", "speed", "classify", "FixedPoints", "find_fixed_points"]


def _dtanh(x):
    return 1.0 - np.tanh(x) ** 2


def velocity(x, W, b, phi=np.tanh):
    r"""The flow :math:`F(x) = -x + W \phi(x) + b`: ``x`` (N,) state, ``W`` (N, N), ``b`` (N,) input.

    Returns (N,), in units of ``x`` per ``tau``. Source: Sussillo & Barak (2013) doi:10.1162/NECO_a_00409.

    >>> velocity(np.array([1.0]), np.zeros((1, 1)), np.array([1.0])).tolist()  # W = 0: rest at x = b
    [0.0]
    """
    return -x + W @ phi(x) + b


def jacobian(x, W, dphi=_dtanh):
    r"""The Jacobian :math:`J = \partial F / \partial x = -I + W \operatorname{diag}(\phi'(x))`, (N, N).

    ``dphi`` is the derivative of the activation (default that of tanh). Source: Sussillo & Barak (2013) doi:10.1162/NECO_a_00409.

    >>> jacobian(np.zeros(2), 2.0 * np.eye(2)).tolist()  # at the origin, tanh'(0) = 1
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return -np.eye(len(x)) + W * dphi(x)[None, :]


def speed(x, W, b, phi=np.tanh, dphi=_dtanh):
    r"""The kinetic energy :math:`q = \lVert F(x) \rVert^2 / 2` and its gradient :math:`J^\top F`.

    Returns ``(q, grad)``: a float and an (N,) array (what :func:`scipy.optimize.minimize` takes with
    ``jac=True``). Source: Sussillo & Barak (2013) doi:10.1162/NECO_a_00409.

    >>> q, grad = speed(np.array([0.0]), np.zeros((1, 1)), np.array([2.0]))
    >>> q, grad.tolist()
    (2.0, [-2.0])
    """
    F = velocity(x, W, b, phi)
    return 0.5 * float(F @ F), jacobian(x, W, dphi).T @ F


def classify(eigenvalues, tol=1e-9) -> str:
    r"""``"stable"``, ``"unstable"``, ``"saddle"`` or ``"marginal"`` from the Jacobian's eigenvalues.

    Stable: every real part below ``-tol``; unstable: every one above ``tol``; saddle: some of each;
    marginal: otherwise (a real part within ``tol`` of 0 and no sign of the other kind).
    Source: linear stability (Strogatz, Nonlinear Dynamics and Chaos, ch. 6); Sussillo & Barak (2013)
    doi:10.1162/NECO_a_00409.

    >>> classify(np.array([-1.0, -0.5])), classify(np.array([-1.0, 0.5])), classify(np.array([2.0, 1.0]))
    ('stable', 'saddle', 'unstable')
    """
    re = np.real(eigenvalues)
    n_pos, n_neg = int(np.sum(re > tol)), int(np.sum(re < -tol))
    if n_pos and n_neg:
        return "saddle"
    if n_neg == len(re):
        return "stable"
    if n_pos == len(re):
        return "unstable"
    return "marginal"


@dataclass
class FixedPoints:
    r"""What :func:`find_fixed_points` found, sorted by ``q`` (fastest last): ``x`` (n, N) the points,
    ``q`` (n,) their kinetic energy, ``eigenvalues`` (n, N) of their Jacobians (complex), ``kind`` (n,)
    their class (:func:`classify`)."""

    x: np.ndarray
    q: np.ndarray
    eigenvalues: np.ndarray
    kind: np.ndarray

    def __len__(self) -> int:
        return len(self.q)


def find_fixed_points(W, b, x0, phi=np.tanh, dphi=_dtanh, q_max=1e-12, distinct=1e-4, gtol=1e-12,
                      max_iter=2000) -> FixedPoints:
    r"""Fixed points (or, with a larger ``q_max``, slow points) of :math:`dx/dt = -x + W\phi(x) + b`.

    Minimises :math:`q(x)` (:func:`speed`, analytic gradient, BFGS) from every row of ``x0``
    (n_init, N); keeps the minima with ``q <= q_max``; merges minima closer than ``distinct`` (in the
    norm of ``x``, relative to ``1 + |x|``), keeping the one with the smaller ``q``; classifies each by
    the eigenvalues of its :func:`jacobian`. ``phi`` and ``dphi``: the activation and its derivative
    (default tanh). Raises ValueError if the shapes of ``W`` (N, N), ``b`` (N,) and ``x0`` (n_init, N)
    do not fit. Source: Sussillo & Barak (2013) doi:10.1162/NECO_a_00409.

    >>> points = find_fixed_points(np.zeros((2, 2)), np.array([0.5, -1.0]), np.ones((3, 2)))
    >>> points.x.round(6).tolist(), points.kind.tolist()  # W = 0: one stable point, x = b
    ([[0.5, -1.0]], ['stable'])
    """
    W, b, x0 = np.asarray(W, float), np.asarray(b, float), np.atleast_2d(np.asarray(x0, float))
    N = W.shape[0]
    if W.shape != (N, N) or b.shape != (N,) or x0.shape[1] != N:
        raise ValueError(f"W must be (N, N), b (N,) and x0 (n_init, N) (got {W.shape}, {b.shape}, {x0.shape})")
    found = []
    for start in x0:
        res = minimize(speed, start, args=(W, b, phi, dphi), jac=True, method="BFGS",
                       options=dict(gtol=gtol, maxiter=max_iter))
        if res.fun <= q_max:
            found.append((float(res.fun), res.x))
    kept = []
    for q, x in sorted(found, key=lambda item: item[0]):
        if all(np.linalg.norm(x - y) > distinct * (1.0 + np.linalg.norm(y)) for _, y in kept):
            kept.append((q, x))
    xs = np.array([x for _, x in kept]).reshape(-1, N)
    eig = np.array([np.linalg.eigvals(jacobian(x, W, dphi)) for x in xs]).reshape(-1, N)
    return FixedPoints(xs, np.array([q for q, _ in kept]), eig, np.array([classify(e) for e in eig], dtype=object))
