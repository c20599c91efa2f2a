"""The core's plain RLS equations against the engine's forms, and against the closed-form ridge solution.

Every engine form of the RLS step (:mod:`tutorial_lib.engine`) names a twin in
:mod:`tutorial_lib.core.rls`; here each pair runs the same steps from the same state and must give
the same errors, weights and ``P`` (to round-off: the compiled loops sum in their own fixed order).
Then the core itself: after any number of steps its weights are the ridge-regression solution
(the SPEC's claim), and :func:`~tutorial_lib.core.rls.ridge_solution` equals an independent
least-squares oracle (``numpy.linalg.lstsq`` on the augmented system).
"""

import numpy as np
import pytest

from tutorial_lib.core.rls import ridge_solution, rls_pooled_update, rls_update, rls_update_batch
from tutorial_lib.engine.rls_pooled import PooledInputRLS
from tutorial_lib.engine.rls_shared import SharedInputRLS, SharedPoolRLS
from tutorial_lib.engine.rls_state import BatchRLS, rls_step

SIZES = [1, 4, 9]
LAMS = [0.05, 0.5, 5.0]
TIGHT = dict(rtol=1e-10, atol=1e-12)


def _close(a, b, scale=1.0):
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11 * scale)


# ---- engine forms against their core twins ----

@pytest.mark.parametrize("lam", LAMS)
@pytest.mark.parametrize("m", SIZES)
def test_compiled_one_neuron_step_equals_core_rls_update(m, lam):
    rng = np.random.default_rng(m)
    P_core, w_core = np.eye(m) / lam, rng.normal(size=m)
    P_eng, w_eng, k = P_core.copy(), w_core.copy(), np.zeros(m)
    for _ in range(30):
        x, f, o = rng.random(m), rng.normal(), rng.normal()
        e_core = rls_update(P_core, w_core, x, f, o)
        e_eng = rls_step(P_eng, w_eng, x, f, o, k)
        np.testing.assert_allclose(e_eng, e_core, **TIGHT)
    _close(w_eng, w_core)
    _close(P_eng, P_core, 1 / lam)


@pytest.mark.parametrize("lam", LAMS)
@pytest.mark.parametrize("m", SIZES)
def test_batch_rls_equals_core_rls_update_batch(m, lam):
    rng = np.random.default_rng(10 + m)
    n, n_act = 5, m + 6
    presyn = np.array([rng.choice(n_act, m, replace=False) for _ in range(n)])
    w0 = rng.normal(size=(n, m))
    rls = BatchRLS(presyn, lam, w0=w0)
    P, w = np.tile(np.eye(m) / lam, (n, 1, 1)), w0.copy()
    for _ in range(30):
        a, f, o = rng.random(n_act), rng.normal(size=n), rng.normal(size=n)
        np.testing.assert_allclose(rls.update(a, f, o), rls_update_batch(P, w, a[presyn], f, o), **TIGHT)
    _close(rls.w, w)
    _close(rls.P, P, 1 / lam)


@pytest.mark.parametrize("lam", LAMS)
@pytest.mark.parametrize("S", [3, 8])
def test_shared_pool_rls_equals_core_batch_over_everyone_else(S, lam):
    rng = np.random.default_rng(20 + S)
    rows = np.array([0, S - 1]) if S > 2 else np.array([0])
    presyn = np.array([np.delete(np.arange(S), i) for i in rows])
    w0 = rng.normal(size=presyn.shape)
    rls = SharedPoolRLS(S, rows, lam, w0=w0)
    P, w = np.tile(np.eye(S - 1) / lam, (rows.size, 1, 1)), w0.copy()
    for _ in range(30):
        a, f, o = rng.random(S), rng.normal(size=rows.size), rng.normal(size=rows.size)
        np.testing.assert_allclose(rls.update(a, f, o), rls_update_batch(P, w, a[presyn], f, o), **TIGHT)
    _close(rls.w, w)
    for k in range(rows.size):
        _close(rls.P_of(k), P[k], 1 / lam)


def _shared_problem(rng, n=5, S=12, mp=3, nf=4):
    private = np.array([rng.choice(S, mp, replace=False) for _ in range(n)])
    shared = S + np.arange(nf)
    return private, shared, rng.normal(size=(n, mp + nf))


def _block_P(n, mp, nf, lam_r, lam_f):
    P = np.zeros((n, mp + nf, mp + nf))
    P[:, :mp, :mp] = np.eye(mp) / lam_r
    P[:, mp:, mp:] = np.eye(nf) / lam_f
    return P


@pytest.mark.parametrize("form", [SharedInputRLS, PooledInputRLS], ids=["block", "pooled"])
@pytest.mark.parametrize("lam_r,lam_f", [(0.05, 1.0), (0.5, 0.5), (5.0, 0.1)])
def test_shared_input_forms_equal_core_batch_over_private_and_shared_inputs(form, lam_r, lam_f):
    rng = np.random.default_rng(30)
    private, shared, w0 = _shared_problem(rng)
    n, mp, nf = private.shape[0], private.shape[1], shared.size
    rls = form(private, shared, lam_r, lam_f, w0=w0)
    presyn = np.hstack([private, np.broadcast_to(shared, (n, nf))])
    P, w = _block_P(n, mp, nf, lam_r, lam_f), w0.copy()
    for _ in range(30):
        a, f, o = rng.random(shared[-1] + 1), rng.normal(size=n), rng.normal(size=n)
        np.testing.assert_allclose(rls.update(a, f, o), rls_update_batch(P, w, a[presyn], f, o), **TIGHT)
    _close(rls.w, w)
    for k in range(n):
        _close(rls.P_of(k), P[k], 1 / min(lam_r, lam_f))


@pytest.mark.parametrize("lam_r,lam_f", [(0.05, 1.0), (0.5, 0.5), (5.0, 0.1)])
def test_pooled_plain_packed_and_deferred_steps_agree(lam_r, lam_f):
    # the core's plain pooled step, the engine's packed eager step and its deferred steps (shared weights
    # in orthogonal form, written back when the context ends): the same errors, weights and state
    rng = np.random.default_rng(40)
    private, shared, w0 = _shared_problem(rng, n=40, S=30, mp=5, nf=6)  # two groups of packed lanes
    n, mp = private.shape
    eager = PooledInputRLS(private, shared, lam_r, lam_f, w0=w0)
    deferred = PooledInputRLS(private, shared, lam_r, lam_f, w0=w0)
    Pr, H, Q, w = eager.Pr.copy(), eager.H.copy(), eager.Q.copy(), eager.w.copy()
    u = np.zeros(n)
    with deferred.deferred():
        for _ in range(25):
            a, f, o = rng.random(shared[-1] + 1), rng.normal(size=n), rng.normal(size=n)
            e_plain = rls_pooled_update(Pr, H, Q, w, eager.idx, a[eager.pool], a[shared], f, o)
            np.testing.assert_allclose(eager.update(a, f, o), e_plain, **TIGHT)
            deferred.step_deferred(a, f, o, rng.choice(shared[-1] + 1, 6), u)
            np.testing.assert_allclose(deferred.err, e_plain, **TIGHT)
            np.testing.assert_allclose(u, np.einsum("nm,nm->n", w, a[eager.presyn]), **TIGHT)
    for form in (eager, deferred):
        _close(form.w, w)
        _close(form.Pr, Pr, 1 / lam_r)
        _close(form.H, H)
        _close(form.Q, Q, 1 / lam_f)


# ---- the core against the closed form ----

@pytest.mark.parametrize("T", [1, 7, 40])
@pytest.mark.parametrize("lam", LAMS)
@pytest.mark.parametrize("m", SIZES)
def test_core_rls_update_after_T_steps_is_the_ridge_solution(m, lam, T):
    rng = np.random.default_rng(100 * m + T)
    X, y, other, w0 = rng.normal(size=(T, m)), rng.normal(size=T), rng.normal(size=T), rng.normal(size=m)
    P, w = np.eye(m) / lam, w0.copy()
    for x, f, o in zip(X, y, other):
        rls_update(P, w, x, f, o)
    _close(w, ridge_solution(X, y - other, lam, w0), 10.0)
    _close(P, np.linalg.inv(X.T @ X + lam * np.eye(m)), 1 / lam)


@pytest.mark.parametrize("lam", LAMS)
@pytest.mark.parametrize("m", SIZES)
def test_core_batch_after_T_steps_is_each_neurons_ridge_solution(m, lam):
    rng = np.random.default_rng(200 + m)
    n, T = 4, 25
    X, F = rng.normal(size=(T, n, m)), rng.normal(size=(T, n))
    P, w = np.tile(np.eye(m) / lam, (n, 1, 1)), np.zeros((n, m))
    for x, f in zip(X, F):
        rls_update_batch(P, w, x, f)
    for i in range(n):
        _close(w[i], ridge_solution(X[:, i], F[:, i], lam), 10.0)


@pytest.mark.parametrize("lam_r,lam_f", [(0.05, 1.0), (0.5, 0.5), (5.0, 0.1)])
def test_core_pooled_after_T_steps_is_each_neurons_ridge_solution_with_a_block_penalty(lam_r, lam_f):
    rng = np.random.default_rng(300)
    n, S, mp, nf, T = 4, 9, 3, 2, 30
    idx = np.array([rng.choice(S, mp, replace=False) for _ in range(n)])
    Pr, H, Q = np.tile(np.eye(mp) / lam_r, (n, 1, 1)), np.zeros((S, nf)), np.eye(nf) / lam_f
    w0 = rng.normal(size=(n, mp + nf))
    w = w0.copy()
    pp, ff, F = rng.random((T, S)), rng.random((T, nf)), rng.normal(size=(T, n))
    for p, f, target in zip(pp, ff, F):
        rls_pooled_update(Pr, H, Q, w, idx, p, f, target)
    penalty = np.diag(np.r_[np.full(mp, lam_r), np.full(nf, lam_f)])
    for i in range(n):
        X = np.hstack([pp[:, idx[i]], ff])
        _close(w[i], ridge_solution(X, F[:, i], penalty, w0[i]), 10.0)


@pytest.mark.parametrize("lam", LAMS)
@pytest.mark.parametrize("T,m", [(3, 5), (20, 1), (20, 6)])
def test_ridge_solution_equals_least_squares_on_the_augmented_system(T, m, lam):
    # an independent oracle: min |X w - y|^2 + lam |w - w0|^2 is the least-squares problem
    # [X; sqrt(lam) I] w = [y; sqrt(lam) w0], solved by SVD
    rng = np.random.default_rng(T * 10 + m)
    X, y, w0 = rng.normal(size=(T, m)), rng.normal(size=T), rng.normal(size=m)
    A = np.vstack([X, np.sqrt(lam) * np.eye(m)])
    b = np.r_[y, np.sqrt(lam) * w0]
    oracle = np.linalg.lstsq(A, b, rcond=None)[0]
    np.testing.assert_allclose(ridge_solution(X, y, lam, w0), oracle, rtol=1e-9, atol=1e-12)
