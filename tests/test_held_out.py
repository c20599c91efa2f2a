"""Held-out neurons (issue #26 item 4): ridge cross-validated over blocks of time, and the split.

Known answers for the formula (:mod:`tutorial_lib.core.held_out`): a linear map of low-dimensional
activity is recovered (R^2 about 1), independent noise is not (R^2 about 0 or below), and the dual form
is the primal ridge of :func:`tutorial_lib.core.rls.ridge_solution`. For the model layer
(:mod:`tutorial_lib.held_out`): the split is a seeded partition of the selected ALM neurons, none of the
held-out half reaches the network, and bad arguments are refused by name. Networks of 300 neurons.
"""

from dataclasses import replace

import numpy as np
import pytest

from tutorial_lib import held_out
from tutorial_lib.balanced import select_alm, window_targets
from tutorial_lib.core.held_out import cv_r2, cv_ridge, ridge_predict, time_blocks
from tutorial_lib.core.rls import ridge_solution
from tutorial_lib.data import synthetic_alm
from tutorial_lib.params import BalancedParams

TINY = BalancedParams(N=300, K=30, L=5, n_trained=20, stim_on=100.0, stim_off=200.0, train_duration=400.0,
                      n_loops=1, score_every=0, n_test_trials=1, n_ffwd=10, seed=4)
LAMS = 300 * held_out.ALPHAS


def smooth(rng, shape, width=8):
    """Independent smooth time series along axis 0 (a moving average of white noise)."""
    x = rng.standard_normal((shape[0] + width,) + shape[1:])
    c = np.cumsum(x, axis=0)
    return (c[width:] - c[:-width]) / np.sqrt(width)


def two_conditions(rng, n_time=100, n_features=300, rank=5, noise=0.05):
    """Activity of two conditions stacked as samples: low-rank smooth latents seen by many features."""
    latent = smooth(rng, (2 * n_time, rank))
    X = latent @ rng.standard_normal((rank, n_features)) + noise * rng.standard_normal((2 * n_time, n_features))
    return latent, X, np.tile(time_blocks(n_time, 5), 2)


@pytest.mark.parametrize("seed", range(3))
def test_a_known_linear_map_is_recovered(seed):
    rng = np.random.default_rng(seed)
    latent, X, folds = two_conditions(rng)
    Y = latent @ rng.standard_normal((5, 8))  # 8 "held-out neurons", linear in the same latents
    r2 = cv_r2(Y, cv_ridge(X, Y, folds, LAMS))
    assert r2.min() > 0.95


@pytest.mark.parametrize("seed", range(3))
def test_independent_noise_is_not_predicted(seed):
    """White noise and smooth noise independent of X: R^2 about 0 or below (it would be near 1 if the
    predictions were made from the neighbouring bins of the held-out block, or in sample)."""
    rng = np.random.default_rng(seed)
    _, X, folds = two_conditions(rng)
    for Y in (rng.standard_normal((200, 20)), smooth(rng, (200, 20))):
        r2 = cv_r2(Y, cv_ridge(X, Y, folds, LAMS))
        assert np.median(r2) < 0.05 and r2.max() < 0.3


def test_the_dual_form_is_the_primal_ridge():
    rng = np.random.default_rng(1)
    X, Y, Xt = rng.standard_normal((30, 8)), rng.standard_normal((30, 2)), rng.standard_normal((4, 8))
    got = ridge_predict(X, Y, Xt, [0.5, 20.0])
    mx, sx = X.mean(0), X.std(0)
    Z, Zt = (X - mx) / sx, (Xt - mx) / sx
    for i, lam in enumerate((0.5, 20.0)):
        for j in range(2):
            w = ridge_solution(Z, Y[:, j] - Y[:, j].mean(), lam)
            np.testing.assert_allclose(got[i, :, j], Y[:, j].mean() + Zt @ w, rtol=1e-9, atol=1e-12)


def test_the_blocks_are_contiguous_and_nearly_equal():
    b = time_blocks(101, 5)
    assert np.all(np.diff(b) >= 0) and set(b) == set(range(5))
    assert np.ptp(np.bincount(b)) <= 1


@pytest.mark.parametrize("call, match", [
    (lambda: time_blocks(10, 1), r"k \(folds, at most n_time = 10\) must be in \[2, 10\] \(got 1\)"),
    (lambda: time_blocks(10, 11), r"k \(folds, at most n_time = 10\) must be in \[2, 10\]"),
    # a count that is no whole number was used as one (2.5 folds gave float labels, 10.5 bins gave 11)
    (lambda: time_blocks(10, 2.5), r"k \(folds.*\) must be a whole number \(got 2.5\)"),
    (lambda: time_blocks(10, True), r"k \(folds.*\) must be a whole number, not a bool"),
    (lambda: time_blocks(10.5, 3), r"n_time \(time bins\) must be a whole number"),
    (lambda: cv_ridge(np.ones((9, 2)), np.ones((9, 1)), time_blocks(9, 3), []), r"lams \(ridge penalties\) must be a non"),
    (lambda: cv_ridge(np.ones((9, 2)), np.ones((9, 1)), time_blocks(9, 3), [1.0, 0.0]), r"lams\[1\] .* must be > 0"),
    (lambda: cv_ridge(np.ones((9, 2)), np.ones((9, 1)), time_blocks(9, 3), [np.nan]), r"lams\[0\] .* must be finite"),
    (lambda: cv_ridge(np.ones((6, 2)), np.ones((6, 1)), [0, 0, 0, 1, 1, 1], [1.0]), "at least 3 folds"),
    (lambda: cv_ridge(np.ones((6, 2)), np.ones((5, 1)), np.zeros(6), [1.0]), "must agree in samples"),
])
def test_the_formulas_refuse_bad_input_by_name(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_a_flat_target_has_no_r2():
    assert np.isnan(cv_r2(np.ones((5, 1)), np.zeros((5, 1)))[0])


# --------------------------------------------------------------------------------------------------
# the model layer

@pytest.fixture(scope="module")
def data():
    return synthetic_alm(n_neurons=60, seed=1)


def test_the_split_is_a_seeded_partition_of_the_selected_neurons(data):
    split = held_out.split_neurons(TINY, data)
    np.testing.assert_array_equal(split.selected, select_alm(TINY, data, window_targets(TINY, data)))
    assert np.intersect1d(split.trained, split.held).size == 0
    np.testing.assert_array_equal(np.union1d(split.trained, split.held), split.selected)
    assert (split.trained.size, split.held.size) == (10, 10)
    again = held_out.split_neurons(TINY, data)
    np.testing.assert_array_equal(again.trained, split.trained)
    other = held_out.split_neurons(replace(TINY, seed=5), data)
    assert not np.array_equal(other.trained, split.trained)
    odd = held_out.split_neurons(replace(TINY, n_trained=21), data)
    assert (odd.trained.size, odd.held.size) == (11, 10)


def test_a_selection_too_small_to_halve_is_refused_by_name(data):
    with pytest.raises(ValueError, match=r"n_trained .* must be >= 2 L \+ 1 = 11: .*\(got 10\)"):
        held_out.split_neurons(replace(TINY, n_trained=10), data)


@pytest.fixture(scope="module")
def outcome(data):
    split = held_out.split_neurons(TINY, data)
    result = held_out.train_half(TINY, data, split)
    return split, result, held_out.held_out_r2(result, data, split, n_trials=2, k=4)


def test_only_the_trained_half_reaches_the_network(outcome):
    split, result, out = outcome
    assert result.network.n_trained == split.trained.size
    np.testing.assert_array_equal(np.sort(result.network.alm.neuron_ids), split.trained)
    assert np.intersect1d(result.network.alm.neuron_ids, out.held_ids).size == 0


def test_the_result_is_tidy(outcome):
    split, result, out = outcome
    assert out.result is result and out.split is split and (out.k, out.n_trials) == (4, 2)
    n_held, n_bins = split.held.size, out.t.size
    assert out.t.min() > TINY.stim_off and out.t.max() < TINY.t_end and n_bins == 20  # 20 ms bins of 400 ms
    assert out.target.shape == (2, n_bins, n_held) and out.n_model == TINY.N - split.trained.size
    assert set(out.r2) == {"model", "untrained", "shuffled"}
    for a in out.r2:
        assert out.r2[a].shape == (n_held,) and out.prediction[a].shape == out.target.shape
        assert np.all(out.r2[a][np.isfinite(out.r2[a])] <= 1.0)
        assert out.median[a] == pytest.approx(np.nanmedian(out.r2[a]))
    tab = out.table()
    assert len(tab["neuron"]) == len(tab["activity"]) == len(tab["r2"]) == 3 * n_held
    assert not np.allclose(out.prediction["model"], out.prediction["untrained"])


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_trials=0), r"n_trials \(test trials per condition\) must be in \[1, 500\]"),
    (dict(k=2), r"k \(blocks of time \(folds\)\) must be in \[3, 20\] \(got 2\)"),
    (dict(alphas=[1.0, -1.0]), r"alphas\[1\] \(ridge penalty per feature\) must be > 0"),
])
def test_held_out_r2_refuses_bad_arguments_by_name(outcome, data, kwargs, match):
    split, result, _ = outcome
    with pytest.raises(ValueError, match=match):
        held_out.held_out_r2(result, data, split, **{"n_trials": 1, **kwargs})


def test_a_split_of_another_network_is_refused(outcome, data):
    _, result, _ = outcome
    other = held_out.split_neurons(replace(TINY, seed=5), data)
    with pytest.raises(ValueError, match="split must be the one result was trained on"):
        held_out.held_out_r2(result, data, other, n_trials=1)



@pytest.mark.parametrize("kwargs, match", [
    (dict(k=21), r"k \(blocks of time \(folds\)\) must be in \[3, 20\] \(got 21\)"),
    (dict(k=2), r"k \(blocks of time \(folds\)\) must be in \[3, 20\]"),
    (dict(bin_ms=200.0), r"bin_ms \(200 ms\) must leave at least 3 bins in the delay"),
    (dict(bin_ms=np.nan), r"bin_ms \(bin width of the rates, ms.*\) must be finite"),
    (dict(smooth_ms=-1.0), r"smooth_ms .* must be >= 0"),
    (dict(alphas=["a"]), r"alphas\[0\] \(ridge penalty per feature\) must be a real number"),
    (dict(alphas=[1.0, True]), r"alphas\[1\] .* must be a real number \(got True\)"),
    (dict(alphas=[1.0, np.inf]), r"alphas\[1\] .* must be finite"),
    (dict(alphas=[[1.0, 2.0]]), r"alphas \(ridge penalties per feature\) must be a non-empty 1-D list"),
])
def test_held_out_r2_refuses_before_any_trial(outcome, data, monkeypatch, kwargs, match):
    """k, the bins and the penalties are checked before the 4 n_trials test trials (k was checked after them,
    a string penalty gave numpy's unnamed 'could not convert string to float')."""
    split, result, _ = outcome

    def no_trial(*args, **kw):
        raise AssertionError("a trial ran before the arguments were checked")

    monkeypatch.setattr(held_out, "run_trial", no_trial)
    with pytest.raises(ValueError, match=match):
        held_out.held_out_r2(result, data, split, **{"n_trials": 1, **kwargs})
