"""PCA and population activity for Part 3 (tutorial_lib.analysis)."""

import numpy as np
import pytest

from tutorial_lib import analysis
from tutorial_lib.balanced import Trial


def low_rank(rank=3, samples=120, features=40, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, rank)) @ rng.standard_normal((rank, features)) + 5.0
    return X + noise * rng.standard_normal(X.shape)


def test_pca_agrees_with_the_svd_of_the_centred_matrix():
    X = low_rank(noise=0.01)
    fit = analysis.pca(X)
    Xc = X - X.mean(axis=0)
    _, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    np.testing.assert_allclose(fit.variance, S ** 2 / (X.shape[0] - 1), rtol=1e-10)
    np.testing.assert_allclose(np.abs(fit.components @ Vt.T), np.eye(Vt.shape[0]), atol=1e-8)
    np.testing.assert_allclose(fit.scores @ fit.components, Xc, atol=1e-10)  # all components: exact
    np.testing.assert_allclose(fit.variance, np.var(fit.scores, axis=0, ddof=1), rtol=1e-10)


def test_a_rank_three_matrix_has_three_components():
    fit = analysis.pca(low_rank(rank=3), n_components=5)
    assert fit.n_components == 5
    np.testing.assert_allclose(fit.explained[:3].sum(), 1.0, atol=1e-10)
    np.testing.assert_allclose(fit.explained[3:], 0.0, atol=1e-10)
    assert np.all(np.diff(fit.variance) <= 1e-12)  # largest first


def test_component_signs_are_fixed_and_projection_reproduces_the_scores():
    X = low_rank(noise=0.1)
    a, b = analysis.pca(X, 3), analysis.pca(-X, 3)  # the same axes; the SVD alone may flip them
    np.testing.assert_allclose(a.components, b.components, atol=1e-10)
    np.testing.assert_allclose(a.scores, -b.scores, atol=1e-10)
    rows = np.arange(3)
    assert np.all(a.components[rows, np.argmax(np.abs(a.components), axis=1)] > 0)
    np.testing.assert_allclose(analysis.project(X, a), a.scores, atol=1e-10)
    with pytest.raises(ValueError, match="features"):
        analysis.project(X[:, :5], a)


def test_pca_rejects_bad_input():
    with pytest.raises(ValueError, match="2 samples"):
        analysis.pca(np.ones((1, 5)))
    with pytest.raises(ValueError, match="n_components"):
        analysis.pca(np.ones((4, 3)), n_components=4)
    with pytest.raises(ValueError, match="finite"):
        analysis.pca(np.array([[1.0, np.nan], [0.0, 1.0]]))


def test_align_signs_follows_the_reference():
    t = np.linspace(0, 1, 50)
    ref = np.stack([np.sin(6 * t), t], axis=1)
    out = analysis.align_signs(-2.0 * ref, ref)
    np.testing.assert_allclose(out, 2.0 * ref)
    mixed = np.stack([np.sin(6 * t), -t], axis=1)
    np.testing.assert_allclose(analysis.align_signs(mixed, ref), ref)


def test_explained_by_is_one_for_a_linear_mixture_and_small_for_noise():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((300, 3))
    B = A @ rng.standard_normal((3, 2)) + 4.0
    np.testing.assert_allclose(analysis.explained_by(A, B), 1.0, atol=1e-10)
    r2 = analysis.explained_by(A, rng.standard_normal(300))
    assert np.ndim(r2) == 0 and 0.0 <= r2 < 0.05


def _trial(spike_times, spike_neurons, N=3, duration=1000.0):
    e = np.zeros(0)
    return Trial("right", e, e, e, e, np.asarray(spike_times, float), np.asarray(spike_neurons), np.arange(N),
                 None, None, N, duration)


def test_population_psth_averages_the_trials_rates():
    # neuron 0 fires 10 spikes per second in trial 1 and 30 in trial 2: 20 Hz on average
    a = _trial(np.linspace(5, 995, 10), np.zeros(10, int))
    b = _trial(np.linspace(5, 995, 30), np.zeros(30, int))
    t, r = analysis.population_psth([a, b], [0, 1], bin_ms=100.0, smooth_ms=0.0)
    assert r.shape == (10, 2)
    np.testing.assert_allclose(t, np.arange(50.0, 1000.0, 100.0))
    np.testing.assert_allclose(r[:, 0].mean(), 20.0)
    np.testing.assert_allclose(r[:, 1], 0.0)
    with pytest.raises(ValueError):
        analysis.population_psth([], [0])
