"""Part 1: the rate network, its compiled trial and its training."""

from dataclasses import replace

import numpy as np
import pytest

from tutorial_lib import DivergenceError, RateParams, rate
from tutorial_lib.core import rate as core
from tutorial_lib.engine import rate_kernel
from tutorial_lib.core.rls import ridge_solution

SMALL = RateParams(N=12, K=5, train_fraction=0.5, train_duration=60.0, n_loops=3, sigma=0.3, seed=4)


@pytest.mark.parametrize("learn", [False, True])
def test_compiled_trial_matches_numpy_reference(learn):
    net = rate.build_network(SMALL)
    W_ref, u_ref, _, _ = rate.run_trial_numpy(net, learn)
    res = rate.train(SMALL, n_loops=1, progress=False) if learn else None
    trial = res.last if learn else rate.run_trial(net)
    np.testing.assert_allclose(trial.u, u_ref, rtol=1e-9, atol=1e-12)
    if learn:
        np.testing.assert_allclose(res.network.W, W_ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("N,K,frac,sigma", [(12, 5, 0.5, 0.3), (10, None, 1.0, 0.1), (20, None, 0.35, 0.15)])
def test_backends_agree(N, K, frac, sigma):
    """The compiled kernels and the core's plain loop: same trial, same training, same test."""
    p = RateParams(N=N, K=K, train_fraction=frac, train_duration=60.0, n_loops=2, sigma=sigma, seed=3)
    net = rate.build_network(p)
    a, b = rate.run_trial(net, backend="numba"), rate.run_trial(net.copy(), backend="numpy")
    np.testing.assert_allclose(b.r, a.r, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.u, a.u, rtol=1e-9, atol=1e-12)
    ra, rb = (rate.train(p, progress=False, backend=be) for be in rate.BACKENDS)
    np.testing.assert_allclose(rb.network.W, ra.network.W, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(rb.scores, ra.scores, rtol=1e-8)
    np.testing.assert_allclose(rb.test(backend="numpy").u, ra.test().u, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("s0,s1,max_rate", [(0, 40, 1e3), (7, 33, 1e3), (0, 400, 5.0)])
def test_advance_kernel_equals_core(s0, s1, max_rate):
    """engine.rate_kernel.advance (W transposed, a work array) and core.rate.advance: same steps, records, stop."""
    rng = np.random.default_rng(1)
    N, rec = 15, 3
    W = rng.normal(0.0, 1.0, (N, N))  # g about 3.9: the rates grow, so a low max_rate stops them
    stim = rng.uniform(0.0, 1.0, N)
    r0 = rng.uniform(0.0, 1.0, N)
    out = []
    for which in ("core", "kernel"):
        r, recs = r0.copy(), (np.full((400 // rec + 1, N), -1.0), np.full((400 // rec + 1, N), -1.0))
        if which == "core":
            res = core.advance(W, r, stim, 5, 20, s0, s1, 0.1, rec, *recs, max_rate)
        else:
            res = rate_kernel.advance(np.ascontiguousarray(W.T), r, np.empty(N), stim, 5, 20, s0, s1, 0.1, rec,
                                      *recs, max_rate)
        out.append((tuple(int(x) for x in res), r, recs))
    (st_c, r_c, rec_c), (st_k, r_k, rec_k) = out
    assert st_c == st_k and (st_c[0] == 1) == (max_rate < 10)
    bad_c, bad_k = ~(r_c <= max_rate), ~(r_k <= max_rate)
    assert np.argmax(bad_c) == np.argmax(bad_k)  # the same first neuron over the limit
    if not st_c[0]:
        np.testing.assert_allclose(r_c, r_k, rtol=1e-12)
    for x, y in zip(rec_c, rec_k):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)


def test_write_rows_kernel_equals_fancy_assignment():
    rng = np.random.default_rng(2)
    W, rows, presyn = rng.normal(size=(6, 6)), np.array([1, 4]), np.array([[0, 2, 5], [1, 2, 3]])
    w = rng.normal(size=(2, 3))
    W1, WT = W.copy(), np.ascontiguousarray(W.T)
    rate_kernel.write_rows(W1, WT, rows, presyn, w)
    W2 = W.copy()
    W2[rows[:, None], presyn] = w
    np.testing.assert_array_equal(W1, W2)
    np.testing.assert_array_equal(WT, W2.T)


def test_core_trial_is_the_euler_step_repeated():
    """core.rate.run_trial against a loop of euler_step written out here."""
    rng = np.random.default_rng(3)
    W, stim = rng.normal(0.0, 0.2, (8, 8)), rng.uniform(0.0, 1.0, 8)
    r_rec, u_rec, r_end, status, step = core.run_trial(W, stim, 0.1, 30, 2, 10)
    r = np.zeros(8)
    for s in range(30):
        u = W @ r
        np.testing.assert_array_equal(u_rec[s], u)
        r = core.euler_step(r, u, stim if 2 <= s < 10 else 0.0, 0.1)
    np.testing.assert_array_equal(r_end, r)
    assert (status, step) == (0, 30)


def test_unknown_backend_is_refused_by_name():
    with pytest.raises(ValueError, match="backend"):
        rate.run_trial(rate.build_network(SMALL), backend="cuda")
    with pytest.raises(ValueError, match="backend"):
        rate.train(SMALL, backend="jax", progress=False)


def test_divergence_is_the_same_on_both_backends():
    net = rate.build_network(RateParams(sigma=0.3))
    errs = []
    for backend in rate.BACKENDS:
        with pytest.raises(DivergenceError) as info:
            rate.run_trial(net.copy(), backend=backend)
        errs.append(info.value)
    a, b = errs
    assert (a.kind, a.phase, a.t_ms, a.neuron) == (b.kind, b.phase, b.t_ms, b.neuron)
    np.testing.assert_allclose(a.trial.u, b.trial.u, rtol=1e-8, atol=1e-12)


def test_one_loop_of_training_is_ridge_regression_on_the_rates_it_saw():
    p = SMALL
    res = rate.train(p, n_loops=1, progress=False)
    _, _, X, steps = rate.run_trial_numpy(rate.build_network(p), learn=True)
    F = res.network.targets(steps * p.dt)
    for i in res.network.trained:
        pre = res.network.presyn[i]
        expected = ridge_solution(X[:, pre], F[:, i], p.lam, res.W0[i, pre])
        np.testing.assert_allclose(res.network.W[i, pre], expected, rtol=1e-7)


def test_spec_defaults_reach_the_acceptance_scores():
    res = rate.train(RateParams(), progress=False)
    assert res.scores.shape == (50,)
    assert res.scores[-1] >= 0.99
    assert res.test().score >= 0.98


def test_untrained_neurons_keep_their_weights_and_missing_synapses_stay_absent():
    res = rate.train(SMALL, progress=False)
    net = res.network
    untrained = np.setdiff1d(np.arange(SMALL.N), net.trained)
    np.testing.assert_array_equal(net.W[untrained], res.W0[untrained])
    assert not np.allclose(net.W[net.trained], res.W0[net.trained])
    mask = np.zeros((SMALL.N, SMALL.N), bool)
    mask[np.repeat(np.arange(SMALL.N), SMALL.K), net.presyn.ravel()] = True
    assert np.all(net.W[~mask] == 0)
    assert np.all(np.diag(net.W) == 0)


def test_connectivity_and_weights_follow_the_parameters():
    p = RateParams(N=400, seed=2)
    net = rate.build_network(p)
    assert net.presyn.shape == (400, 399)
    assert np.all(net.presyn != np.arange(400)[:, None])
    off_diag = net.W[~np.eye(400, dtype=bool)]
    assert off_diag.std() == pytest.approx(p.sigma, rel=0.02)
    assert abs(off_diag.mean()) < 0.01 * p.sigma * 10
    sparse = rate.build_network(replace(p, K=20))
    assert sparse.presyn.shape == (400, 20)
    assert all(len(set(row)) == 20 for row in sparse.presyn)
    assert np.count_nonzero(sparse.W, axis=1).max() == 20


def test_targets_are_zero_before_the_window_and_sines_inside():
    net = rate.build_network(RateParams(N=5))
    t = np.array([0.0, 50.0, 109.9, 110.0, 300.0])
    f = net.targets(t)
    assert np.all(f[:3] == 0)
    expected = np.sin(2 * np.pi * (300.0 - net.time_shifts) / 100.0) + 1.0
    np.testing.assert_allclose(f[4], expected)


def test_same_seed_same_result_and_other_seed_differs():
    a = rate.train(SMALL, progress=False)
    b = rate.train(SMALL, progress=False)
    c = rate.train(replace(SMALL, seed=5), progress=False)
    np.testing.assert_array_equal(a.network.W, b.network.W)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert not np.array_equal(a.scores, c.scores)


def test_divergence_is_reported_with_advice_and_the_partial_trial():
    with pytest.raises(DivergenceError, match=r"lower sigma \(now 0\.3, far above 0\.1\)") as info:
        rate.run_trial(rate.build_network(RateParams(sigma=0.3)))
    err = info.value
    assert (err.kind, err.phase, err.loop) == ("runaway", "untrained", None) and err.params.sigma == 0.3
    assert err.advice.knobs[0] == "sigma" and err.advice.moved == ("sigma",)
    trial = err.trial
    assert np.isfinite(trial.u[0]).all() and np.isnan(trial.u[-1]).all()
    assert 0 < err.t_ms < trial.t[-1] and np.nanmax(trial.r[:, err.neuron]) <= RateParams().max_rate
    with pytest.raises(DivergenceError, match="before the training window opens") as info:
        rate.train(RateParams(sigma=1.0), progress=False)
    err = info.value
    assert (err.kind, err.phase, err.loop) == ("runaway", "learning", 0) and err.t_ms < err.params.stim_off
    assert err.advice.knobs[0] == "sigma" and "lam" not in err.advice.knobs  # RLS could not act yet


def test_a_trained_network_that_blows_up_in_its_test_says_test_and_blames_lambda():
    net = rate.build_network(RateParams(N=30))
    net.W[net.trained] *= 50.0  # as if RLS had learned far too large weights
    result = rate.TrainResult(net, net.W.copy(), np.zeros(0), None, None)
    with pytest.raises(DivergenceError) as info:
        result.test()
    err = info.value
    assert err.phase == "test" and err.kind == "runaway" and "test trial" in str(err)
    assert err.advice.knobs[0] == "lam"


def test_training_tames_a_network_that_diverges_untrained():
    p = RateParams(sigma=0.3, n_loops=10)  # g = 3: the untrained rates blow up (test above)
    res = rate.train(p, progress=False)
    assert res.test().score > 0.95


def test_callback_sees_every_loop_and_can_stop_training():
    seen = []

    def cb(loop, trial, scores):
        seen.append((loop, len(scores)))
        return loop < 1  # stop after the second loop

    res = rate.train(SMALL, n_loops=5, callback=cb, progress=False)
    assert seen == [(0, 1), (1, 2)]
    assert res.stopped and len(res.scores) == 2


def test_stop_event_stops_before_the_next_loop():
    import threading

    ev = threading.Event()
    ev.set()
    res = rate.train(SMALL, stop=ev, progress=False)
    assert res.stopped and len(res.scores) == 0


def test_training_can_continue_from_a_network():
    first = rate.train(SMALL, n_loops=2, progress=False)
    more = rate.train(first.network, n_loops=1, progress=False)
    assert not np.array_equal(more.network.W, first.network.W)
    np.testing.assert_array_equal(first.network.W, rate.train(SMALL, n_loops=2, progress=False).network.W)
