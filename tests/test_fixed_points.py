"""Fixed and slow points of a rate network (core/fixed_points.py): known answers, classes, q ~ 0."""

import numpy as np
import pytest
from scipy.optimize import brentq

from tutorial_lib.core import fixed_points as fp

RNG = np.random.default_rng(7)
X_STAR = brentq(lambda x: -x + 2.0 * np.tanh(x), 1.0, 3.0)  # x = 2 tanh(x): 1.915...


@pytest.mark.parametrize("N", [1, 3, 10])
def test_without_recurrence_the_only_fixed_point_is_the_input(N):
    b = RNG.normal(size=N)
    points = fp.find_fixed_points(np.zeros((N, N)), b, RNG.normal(0.0, 3.0, size=(8, N)))
    assert len(points) == 1
    np.testing.assert_allclose(points.x[0], b, atol=1e-8)
    assert points.kind[0] == "stable"
    np.testing.assert_allclose(points.eigenvalues[0], -np.ones(N))


def test_two_self_exciting_units_have_four_attractors_four_saddles_and_one_repeller():
    points = fp.find_fixed_points(np.diag([2.0, 2.0]), np.zeros(2), RNG.normal(0.0, 2.0, size=(80, 2)))
    assert len(points) == 9
    by_kind = {k: points.x[points.kind == k] for k in ("stable", "saddle", "unstable")}
    expected = {"stable": [(s1 * X_STAR, s2 * X_STAR) for s1 in (-1, 1) for s2 in (-1, 1)],
                "saddle": [(X_STAR, 0.0), (-X_STAR, 0.0), (0.0, X_STAR), (0.0, -X_STAR)],
                "unstable": [(0.0, 0.0)]}
    for kind, where in expected.items():
        assert len(by_kind[kind]) == len(where), kind
        for x in where:
            assert np.min(np.linalg.norm(by_kind[kind] - np.array(x), axis=1)) < 1e-7, (kind, x)


def test_the_attractors_attract_a_simulation():
    """Euler steps of dx/dt = F(x) from near each stable point end on it; the saddles are left."""
    W, b = np.array([[2.0, 0.3], [-0.4, 1.8]]), np.array([0.1, -0.2])
    points = fp.find_fixed_points(W, b, RNG.normal(0.0, 2.0, size=(60, 2)))
    stable = points.x[points.kind == "stable"]
    assert len(stable) >= 2
    for x_star in stable:
        x = x_star + 0.05 * RNG.normal(size=2)
        for _ in range(4000):
            x = x + 0.01 * fp.velocity(x, W, b)
        np.testing.assert_allclose(x, x_star, atol=1e-6)


def test_q_is_about_zero_at_every_returned_point_and_the_velocity_too():
    N = 8
    W = RNG.normal(0.0, 1.5 / np.sqrt(N), size=(N, N))
    b = RNG.normal(0.0, 0.3, size=N)
    points = fp.find_fixed_points(W, b, RNG.normal(0.0, 1.0, size=(30, N)))
    assert len(points) >= 1
    for x, q in zip(points.x, points.q):
        assert q <= 1e-12 and fp.speed(x, W, b)[0] == pytest.approx(q, abs=1e-14)
        assert np.linalg.norm(fp.velocity(x, W, b)) < 2e-6


@pytest.mark.parametrize("phi,dphi", [(np.tanh, None), (lambda x: np.maximum(x, 0.0), lambda x: (x > 0) * 1.0)])
def test_the_gradient_is_the_derivative_of_q(phi, dphi):
    N = 5
    W, b, x = RNG.normal(size=(N, N)), RNG.normal(size=N), RNG.normal(size=N)
    kw = dict(phi=phi) if dphi is None else dict(phi=phi, dphi=dphi)
    _, grad = fp.speed(x, W, b, **kw)
    h = 1e-6
    numeric = [(fp.speed(x + h * e, W, b, **kw)[0] - fp.speed(x - h * e, W, b, **kw)[0]) / (2 * h)
               for e in np.eye(N)]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_a_slow_point_is_found_only_when_asked_for():
    """x = 2 tanh(x) + b past its saddle-node (b > 0.533): the left pair of fixed points is gone and
    leaves a ghost at x = -acosh(sqrt 2), where the flow slows to |F| = b - 0.533 but never stops."""
    W, b = np.array([[2.0]]), np.array([0.6])
    x0 = np.linspace(-3.0, 3.0, 13)[:, None]
    fixed = fp.find_fixed_points(W, b, x0)
    assert len(fixed) == 1 and fixed.x[0, 0] > 0 and fixed.kind[0] == "stable"
    slow = fp.find_fixed_points(W, b, x0, q_max=0.01)
    assert len(slow) == 2
    ghost = slow.x[np.argmax(slow.q), 0]
    assert ghost == pytest.approx(-np.arccosh(np.sqrt(2.0)), abs=1e-6)
    x_c = np.arccosh(np.sqrt(2.0))
    assert slow.q.max() == pytest.approx(0.5 * (0.6 - (2.0 * np.tanh(x_c) - x_c)) ** 2, rel=1e-6)


@pytest.mark.parametrize("eig,kind", [([-1.0, -2.0], "stable"), ([1.0, 0.5], "unstable"), ([-1.0, 3.0], "saddle"),
                                      ([-1.0 + 2j, -1.0 - 2j], "stable"), ([0.0, -1.0], "marginal")])
def test_classification_by_the_real_parts_of_the_eigenvalues(eig, kind):
    assert fp.classify(np.array(eig)) == kind


def test_shapes_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="x0"):
        fp.find_fixed_points(np.zeros((3, 3)), np.zeros(3), np.zeros((4, 2)))
