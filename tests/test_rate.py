"""Part 1: the rate network, its compiled trial and its training."""

from dataclasses import replace

import numpy as np
import pytest

from tutorial_lib import DivergenceError, RateParams, rate
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
