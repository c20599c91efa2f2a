"""RLS must equal closed-form ridge regression, for every neuron of a batch."""

import numpy as np
import pytest

from tutorial_lib.core.rls import ridge_solution, rls_update, rls_update_batch
from tutorial_lib.engine.rls_shared import SharedInputRLS, SharedPoolRLS, make_rls
from tutorial_lib.engine.rls_state import BatchRLS, rls_batch_step, rls_step


def _random_spd(rng, m):
    A = rng.normal(size=(m, m))
    return A @ A.T / m + 0.3 * np.eye(m)


def _run(rls, X, F, O):
    for t in range(X.shape[0]):
        rls.update(X[t], F[t], O[t])


def test_rls_equals_ridge_for_neurons_with_different_presynaptic_sets():
    rng = np.random.default_rng(1)
    n_pre, n, m, T, lam = 30, 6, 8, 200, 0.7
    presyn = np.array([rng.choice(n_pre, m, replace=False) for _ in range(n)])
    w0 = rng.normal(size=(n, m))
    X = rng.normal(size=(T, n_pre))
    F = rng.normal(size=(T, n))
    O = rng.normal(size=(T, n))  # non-plastic input: the regression target is F - O
    rls = BatchRLS(presyn, lam, w0=w0)
    _run(rls, X, F, O)
    for i in range(n):
        expected = ridge_solution(X[:, presyn[i]], F[:, i] - O[:, i], lam, w0[i])
        np.testing.assert_allclose(rls.w[i], expected, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("T", [1, 5, 60])
def test_rls_equals_ridge_with_a_non_diagonal_penalty(T):
    rng = np.random.default_rng(T)
    n, m = 4, 7
    presyn = np.tile(np.arange(m), (n, 1))
    penalty = _random_spd(rng, m)
    X = rng.normal(size=(T, m))
    F = rng.normal(size=(T, n))
    rls = BatchRLS(presyn, penalty)
    _run(rls, X, F, np.zeros((T, n)))
    for i in range(n):
        np.testing.assert_allclose(rls.w[i], ridge_solution(X, F[:, i], penalty), rtol=1e-8, atol=1e-12)


def test_P_stays_symmetric_and_equals_the_inverse_correlation_matrix():
    rng = np.random.default_rng(3)
    n, m, T = 3, 10, 300
    presyn = np.tile(np.arange(m), (n, 1))
    penalty = _random_spd(rng, m)
    X = rng.normal(size=(T, m))
    rls = BatchRLS(presyn, penalty)
    _run(rls, X, np.zeros((T, n)), np.zeros((T, n)))
    expected = np.linalg.inv(X.T @ X + penalty)
    for i in range(n):
        P = rls.P[i]
        assert np.max(np.abs(P - P.T)) <= 1e-12 * np.max(np.abs(P))
        np.testing.assert_allclose(P, expected, rtol=1e-7, atol=1e-12 * np.abs(expected).max())


def test_update_returns_the_error_before_the_update():
    presyn = np.array([[0, 1]])
    rls = BatchRLS(presyn, 1.0, w0=np.array([[2.0, -1.0]]))
    err = rls.update(np.array([1.0, 3.0]), np.array([0.5]), np.array([0.25]))
    # w . x + other - f = (2 - 3) + 0.25 - 0.5
    assert err[0] == pytest.approx(-1.25)
    assert not np.allclose(rls.w, [[2.0, -1.0]])


def test_output_is_the_plastic_input():
    rng = np.random.default_rng(0)
    presyn = np.array([[0, 2], [1, 2]])
    rls = BatchRLS(presyn, 0.5, w0=rng.normal(size=(2, 2)))
    x = rng.normal(size=3)
    np.testing.assert_allclose(rls.output(x), [rls.w[0] @ x[[0, 2]], rls.w[1] @ x[[1, 2]]])


@pytest.mark.parametrize(
    "penalty, message",
    [
        (0.0, "penalty"),
        (-1.0, "penalty"),
        (np.array([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
        (np.array([[1.0, 2.0], [2.0, 1.0]]), "positive definite"),
        (np.eye(3), "shape"),
    ],
)
def test_bad_penalty_is_refused(penalty, message):
    with pytest.raises(ValueError, match=message):
        BatchRLS(np.array([[0, 1]]), penalty)


def test_activity_too_short_is_refused():
    rls = BatchRLS(np.array([[0, 5]]), 1.0)
    with pytest.raises(ValueError, match="index 5"):
        rls.update(np.zeros(3), np.zeros(1))


def _all_to_all(S, rows):
    return np.array([np.delete(np.arange(S), i) for i in rows])


def test_shared_pool_rls_equals_the_batch_for_all_to_all_neurons():
    rng = np.random.default_rng(7)
    S, T, lam = 15, 120, 0.4
    rows = np.array([0, 3, 4, 9, 14])
    presyn = _all_to_all(S, rows)
    w0 = rng.normal(size=presyn.shape)
    shared = SharedPoolRLS(S, rows, lam, w0=w0)
    batch = BatchRLS(presyn, lam, w0=w0)
    for _ in range(T):
        x, f, o = rng.random(S), rng.normal(size=len(rows)), rng.normal(size=len(rows))
        np.testing.assert_allclose(shared.update(x, f, o), batch.update(x, f, o), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(shared.w, batch.w, rtol=1e-8, atol=1e-12)
    for k in range(len(rows)):
        np.testing.assert_allclose(shared.P_of(k), batch.P[k], rtol=1e-8, atol=1e-14)


def test_shared_pool_rls_equals_ridge():
    rng = np.random.default_rng(8)
    S, T, lam = 9, 40, 1.3
    rows = np.arange(S)
    shared = SharedPoolRLS(S, rows, lam)
    X, F = rng.normal(size=(T, S)), rng.normal(size=(T, S))
    for t in range(T):
        shared.update(X[t], F[t])
    for k, i in enumerate(rows):
        pre = shared.presyn[k]
        np.testing.assert_allclose(shared.w[k], ridge_solution(X[:, pre], F[:, i], lam), rtol=1e-8, atol=1e-12)


def test_make_rls_picks_the_shared_pool_only_where_it_is_exact():
    rows = np.array([1, 2])
    assert isinstance(make_rls(_all_to_all(5, rows), 0.5, rows=rows, n_pool=5), SharedPoolRLS)
    sparse = np.array([[0, 2], [1, 3]])
    assert isinstance(make_rls(sparse, 0.5, rows=rows, n_pool=5), BatchRLS)
    assert isinstance(make_rls(_all_to_all(5, rows), np.eye(4), rows=rows, n_pool=5), BatchRLS)
    assert isinstance(make_rls(_all_to_all(5, rows), 0.5), BatchRLS)


def _block_problem(rng, n=6, S=40, mp=5, nf=8):
    private = np.array([rng.choice(S, mp, replace=False) for _ in range(n)])
    shared = S + np.arange(nf)
    pen_r = 0.05 * np.eye(mp)
    pen_r[:2, :2] += 3.0  # a row-sum penalty, like Part 3's
    pen_r[2:, 2:] += 3.0
    pen_f = _random_spd(rng, nf)
    full = np.zeros((mp + nf, mp + nf))
    full[:mp, :mp], full[mp:, mp:] = pen_r, pen_f
    return private, shared, pen_r, pen_f, full


@pytest.mark.parametrize("threads", [1, 2])
def test_the_shared_input_block_form_equals_one_P_per_neuron_and_ridge(threads):
    rng = np.random.default_rng(11)
    private, shared, pen_r, pen_f, full = _block_problem(rng)
    n, mp = private.shape
    w0 = rng.normal(size=(n, mp + shared.size))
    block = SharedInputRLS(private, shared, pen_r, pen_f, w0=w0, threads=threads)
    block._chunks = [slice(0, 3), slice(3, n)] if threads == 2 else block._chunks  # force the split
    block.threads = threads
    plain = BatchRLS(block.presyn, full, w0=w0)
    T = 150
    X = rng.random(size=(T, 40 + shared.size))
    F, O = rng.normal(size=(T, n)), rng.normal(size=(T, n))
    for t in range(T):
        np.testing.assert_allclose(block.update(X[t], F[t], O[t]), plain.update(X[t], F[t], O[t]),
                                   rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(block.w, plain.w, rtol=1e-9, atol=1e-10)
    for k in range(n):
        np.testing.assert_allclose(block.P_of(k), plain.P[k], rtol=1e-8, atol=1e-10)
        expected = ridge_solution(X[:, block.presyn[k]], F[:, k] - O[:, k], full, w0[k])
        np.testing.assert_allclose(block.w[k], expected, rtol=1e-7, atol=1e-9)


def test_the_shared_input_block_form_checks_its_arguments():
    with pytest.raises(ValueError, match="presyn"):
        SharedInputRLS(np.arange(3), np.arange(3, 5), 1.0, 1.0)
    with pytest.raises(ValueError, match="penalty"):
        SharedInputRLS(np.array([[0, 1, 2], [0, 1, 2]]), np.arange(3, 5), -1.0, 1.0)
    rls = SharedInputRLS(np.array([[0, 1, 2], [0, 1, 2]]), np.arange(3, 5), 1.0, 1.0)
    with pytest.raises(ValueError, match="activity"):
        rls.update(np.zeros(4), 0.0)
    with pytest.raises(ValueError, match="Gt"):
        rls.set_state({"Pr": rls.Pr, "Gt": np.zeros((1, 1)), "Q": rls.Q})


def test_plain_numpy_step_equals_ridge_regression_with_other_input():
    rng = np.random.default_rng(5)
    m, T, lam = 6, 40, 0.3
    X, F, O = rng.normal(size=(T, m)), rng.normal(size=T), rng.normal(size=T)
    w0 = rng.normal(size=m)
    P, w = np.eye(m) / lam, w0.copy()
    for t in range(T):
        rls_update(P, w, X[t], F[t], O[t])
    np.testing.assert_allclose(w, ridge_solution(X, F - O, lam, w0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(P, np.linalg.inv(X.T @ X + lam * np.eye(m)), rtol=1e-9, atol=1e-12)


def test_compiled_step_equals_the_plain_numpy_step():
    rng = np.random.default_rng(6)
    m = 9
    P0 = np.linalg.inv(_random_spd(rng, m))
    w0, x, f, other = rng.normal(size=m), rng.normal(size=m), 0.4, -0.2
    P1, w1 = P0.copy(), w0.copy()
    e1 = rls_update(P1, w1, x, f, other)
    P2, w2 = P0.copy(), w0.copy()
    e2 = rls_step(P2, w2, x, f, other, np.empty(m))
    assert e1 == pytest.approx(e2, rel=1e-12)
    np.testing.assert_allclose(P2, P1, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(w2, w1, rtol=1e-12, atol=1e-14)


def test_compiled_batch_equals_the_plain_numpy_batch():
    rng = np.random.default_rng(7)
    n, m, n_pre = 5, 4, 12
    presyn = np.array([rng.choice(n_pre, m, replace=False) for _ in range(n)])
    P0 = np.stack([np.linalg.inv(_random_spd(rng, m)) for _ in range(n)])
    w0 = rng.normal(size=(n, m))
    a, f, other = rng.normal(size=n_pre), rng.normal(size=n), rng.normal(size=n)
    P1, w1 = P0.copy(), w0.copy()
    e1 = rls_update_batch(P1, w1, a[presyn], f, other)
    P2, w2, e2 = P0.copy(), w0.copy(), np.empty(n)
    rls_batch_step(P2, w2, presyn, a, f, other, e2, np.empty((n, 2, m)))
    np.testing.assert_allclose(e2, e1, rtol=1e-12)
    np.testing.assert_allclose(P2, P1, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(w2, w1, rtol=1e-12, atol=1e-14)
    for i in range(n):  # and the batch is the one-neuron step, neuron by neuron
        P3, w3 = P0[i].copy(), w0[i].copy()
        rls_update(P3, w3, a[presyn[i]], f[i], other[i])
        np.testing.assert_allclose(P1[i], P3, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(w1[i], w3, rtol=1e-12, atol=1e-14)
