"""The core's spike statistics, PSTH and PCA formulas against independent oracles, and the validated
faces (tutorial_lib.stats, tutorial_lib.analysis, balanced.Trial.psth) against the core.

Oracles: direct Python loops over spikes, windows and trials; scipy.stats (variation, linregress);
the eigen-decomposition of the covariance matrix for PCA (no SVD, no sklearn). Where a face uses a
faster form than the core (counts, intervals, window sums), the two must agree exactly.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from scipy import stats as sps

from tutorial_lib import analysis, stats
from tutorial_lib.balanced import Trial
from tutorial_lib.core import pca as core_pca
from tutorial_lib.core import psth as core_psth
from tutorial_lib.core import stats as core_stats

SEEDS = [0, 1, 2, 3]


def _spikes(seed, n_spikes=300, n_neurons=7, duration=1000.0, dt=0.1):
    """Spike times on the engine's grid ``k dt`` (so some fall on window edges), neurons 0..n-1."""
    rng = np.random.default_rng(seed)
    t = dt * rng.integers(1, int(duration / dt) + 1, n_spikes)
    return t, rng.integers(0, n_neurons, n_spikes)


# ---------------------------------------------------------------------------------------------- counts

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("width", [20.0, 100.0, 333.3])
def test_spike_counts_match_a_loop_over_spikes(seed, width):
    t, n = _spikes(seed)
    neurons = np.array([3, 0, 6, 9])  # 9: a neuron without spikes
    windows = stats.tile_windows(0.0, 1000.0, width)
    want = np.zeros((len(windows), len(neurons)), dtype=np.int64)
    for k, (a, b) in enumerate(windows):
        for j, nj in enumerate(neurons):
            for ts, ns in zip(t, n):
                # (a, b] with the rounding of k dt: a spike within 1e-9 ms above an edge is on it
                if ns == nj and a + 1e-9 < ts <= b + 1e-9:
                    want[k, j] += 1
    got = core_stats.spike_counts(t, n, neurons, windows)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(stats.spike_counts(t, n, neurons, windows), got)  # the fast form


@pytest.mark.parametrize("seed", SEEDS)
def test_spike_counts_fast_form_over_more_windows_than_neurons(seed):
    t, n = _spikes(seed, n_neurons=3)
    windows = np.array([(a, a + 50.0) for a in np.arange(0.0, 950.0, 10.0)])  # overlapping
    np.testing.assert_array_equal(stats.spike_counts(t, n, [0, 1, 2], windows),
                                  core_stats.spike_counts(t, n, np.arange(3), windows))


# ---------------------------------------------------------------------------------------------- variability

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ddof", [0, 1])
def test_fano_factor_matches_a_loop(seed, ddof):
    counts = np.random.default_rng(seed).poisson(3.0, (12, 4, 5)).astype(float)
    counts[:, 0, 0] = 0.0  # mean 0: NaN
    got = core_stats.fano_factor(counts, axis=0, ddof=ddof)
    for w in range(4):
        for j in range(5):
            c = list(counts[:, w, j])
            m = statistics.fmean(c)
            var = sum((x - m) ** 2 for x in c) / (len(c) - ddof)
            if m == 0:
                assert math.isnan(got[w, j])
            else:
                assert got[w, j] == pytest.approx(var / m, rel=1e-12)
    np.testing.assert_array_equal(stats.fano_factor(counts, ddof=ddof), got)


@pytest.mark.parametrize("seed", SEEDS)
def test_intervals_and_isi_cv_match_scipy(seed):
    t, n = _spikes(seed, n_spikes=400, n_neurons=5)
    neurons = np.arange(5)
    isis = core_stats.interspike_intervals(t, n, neurons, t_range=(100.0, 900.0))
    for j in neurons:
        mine = np.sort([x for x, m in zip(t, n) if m == j and 100.0 < x <= 900.0])
        np.testing.assert_array_equal(isis[j], np.diff(mine))
        assert core_stats.isi_cv(isis[j], ddof=1) == pytest.approx(sps.variation(isis[j], ddof=1), rel=1e-12)
        assert core_stats.isi_cv(isis[j], ddof=0) == pytest.approx(sps.variation(isis[j], ddof=0), rel=1e-12)
    want = [core_stats.isi_cv(d) if d.size >= 2 else np.nan for d in isis]
    np.testing.assert_array_equal(stats.isi_cv(t, n, neurons, t_range=(100.0, 900.0)), want)


@pytest.mark.parametrize("intervals", [[], [5.0], [0.0, 0.0]])
def test_isi_cv_is_nan_when_undefined(intervals):
    assert math.isnan(core_stats.isi_cv(np.array(intervals), ddof=1))


@pytest.mark.parametrize("seed", SEEDS)
def test_dprime_matches_a_loop(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.poisson(4.0, (9, 6)).astype(float), rng.poisson(3.0, (7, 6)).astype(float)
    a[:, 0] = b[:, 0] = 2.0  # both variances 0: NaN
    got = core_stats.dprime(a, b)
    assert math.isnan(got[0])
    for j in range(1, 6):
        pooled = 0.5 * (statistics.variance(a[:, j]) + statistics.variance(b[:, j]))
        assert got[j] == pytest.approx((statistics.fmean(a[:, j]) - statistics.fmean(b[:, j])) / math.sqrt(pooled),
                                       rel=1e-12)
    np.testing.assert_array_equal(stats.dprime(a, b), got)


# ---------------------------------------------------------------------------------------------- PSTH

@pytest.mark.parametrize("shape", [(30,), (30, 4), (30, 2, 3)])
@pytest.mark.parametrize("half", [0, 1, 3, 50])
def test_moving_average_matches_a_loop(shape, half):
    x = np.random.default_rng(half).normal(size=shape)
    got = core_psth.moving_average(x, half)
    for k in range(shape[0]):
        rows = x[max(0, k - half):k + half + 1]
        np.testing.assert_allclose(got[k], rows.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(analysis.moving_average(x, half), got)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ndim", [1, 2])
def test_window_average_matches_a_loop_and_the_face(seed, ndim):
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 300.0, 1.0)
    x = rng.normal(size=(t.size,) if ndim == 1 else (t.size, 3))
    centres, hw, lo, hi = np.array([5.0, 100.0, 295.0]), 10.0, 2.0, 299.5
    got = core_psth.window_average(t, x, centres, hw, lo, hi)
    for k, c in enumerate(centres):
        inside = (t >= max(c - hw, lo)) & (t < min(c + hw, hi))
        np.testing.assert_allclose(got[k], x[inside].mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(analysis.window_average(t, x, centres, hw, lo, hi), got)


def _trial(t, n, N, duration):
    e = np.zeros(0)
    return Trial("right", e, e, e, e, t, n, np.arange(N), None, None, N, duration)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("bin_ms, smooth_ms", [(20.0, 50.0), (10.0, 0.0), (7.0, 30.0)])
def test_psth_matches_a_loop_and_trial_psth(seed, bin_ms, smooth_ms):
    t, n = _spikes(seed, n_neurons=6)
    neurons = np.array([5, 1, 2])
    centres, got = core_psth.psth(t, n, neurons, 1000.0, bin_ms, smooth_ms)
    n_bins = int(math.floor(1000.0 / bin_ms + 1e-9))
    counts = np.zeros((n_bins, neurons.size))
    for ts, ns in zip(t, n):
        k = math.ceil(ts / bin_ms - 1e-9) - 1  # (k bin, (k + 1) bin], the rounding of k dt on the edge
        if ns in neurons and 0 <= k < n_bins:
            counts[k, list(neurons).index(ns)] += 1
    want = core_psth.moving_average(counts * 1000.0 / bin_ms, int(round(min(smooth_ms / bin_ms, n_bins))))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
    tt, rates = _trial(t, n, 6, 1000.0).psth(neurons, bin_ms=bin_ms, smooth_ms=smooth_ms)
    np.testing.assert_array_equal(tt, centres)
    np.testing.assert_array_equal(rates, got)


@pytest.mark.parametrize("n_trials", [1, 3])
def test_population_psth_is_the_mean_of_trial_psths(n_trials):
    trials = [_spikes(s, n_neurons=4) for s in range(n_trials)]
    neurons = np.array([0, 3])
    t, got = core_psth.population_psth(trials, neurons, 1000.0)
    want = np.mean([core_psth.psth(ts, ns, neurons, 1000.0)[1] for ts, ns in trials], axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    face_t, face = analysis.population_psth([_trial(ts, ns, 4, 1000.0) for ts, ns in trials], neurons)
    np.testing.assert_array_equal(face_t, t)
    np.testing.assert_array_equal(face, got)


# ---------------------------------------------------------------------------------------------- PCA

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(50, 6), (8, 20)])
def test_pca_matches_the_eigenvectors_of_the_covariance(seed, shape):
    X = np.random.default_rng(seed).normal(size=shape) @ np.diag(np.linspace(3.0, 0.5, shape[1]))
    fit = core_pca.pca(X, 3)
    C = np.cov(X, rowvar=False)  # features x features, ddof 1
    w, V = np.linalg.eigh(C)
    order = np.argsort(w)[::-1][:3]
    np.testing.assert_allclose(fit.variance, w[order], rtol=1e-9)
    np.testing.assert_allclose(fit.explained, w[order] / w.sum(), rtol=1e-9)
    for i, k in enumerate(order):
        v = V[:, k] * np.sign(V[np.argmax(np.abs(V[:, k])), k])  # the largest loading positive
        np.testing.assert_allclose(fit.components[i], v, atol=1e-9)
    np.testing.assert_allclose(fit.scores, core_pca.project(X, fit), atol=1e-9)
    face = analysis.pca(X, n_components=3)
    for name in ("mean", "components", "variance", "explained", "scores"):
        np.testing.assert_array_equal(getattr(face, name), getattr(fit, name))


@pytest.mark.parametrize("seed", SEEDS)
def test_align_signs_matches_a_loop(seed):
    rng = np.random.default_rng(seed)
    ref = rng.normal(size=(40, 3))
    scores = ref[:, :2] * np.array([-1.0, 1.0]) + 0.1 * rng.normal(size=(40, 2))
    got = core_pca.align_signs(scores, ref)
    for j in range(2):
        r = np.corrcoef(scores[:, j], ref[:, j])[0, 1]
        np.testing.assert_array_equal(got[:, j], scores[:, j] * (-1.0 if r < 0 else 1.0))
    np.testing.assert_array_equal(analysis.align_signs(scores, ref), got)


@pytest.mark.parametrize("seed", SEEDS)
def test_explained_by_one_predictor_is_the_squared_correlation(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=60)
    Y = np.column_stack([2.0 * x + rng.normal(size=60), rng.normal(size=60)])
    got = core_pca.explained_by(x[:, None], Y)
    for j in range(2):
        assert got[j] == pytest.approx(sps.linregress(x, Y[:, j]).rvalue ** 2, rel=1e-9)
    np.testing.assert_array_equal(analysis.explained_by(x, Y), got)


def test_explained_by_matches_the_normal_equations():
    rng = np.random.default_rng(7)
    A, B = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
    A1 = np.column_stack([A, np.ones(40)])
    beta = np.linalg.solve(A1.T @ A1, A1.T @ B)
    want = 1.0 - ((B - A1 @ beta) ** 2).sum(axis=0) / ((B - B.mean(axis=0)) ** 2).sum(axis=0)
    np.testing.assert_allclose(core_pca.explained_by(A, B), want, rtol=1e-9)


def test_the_faces_accept_one_dimensional_signals():
    """moving_average and window_average of a 1-D signal (np.vstack of a 1-D cumulative sum failed)."""
    x = np.array([0.0, 0.0, 3.0, 0.0])
    np.testing.assert_array_equal(analysis.moving_average(x, 1), [0.0, 1.0, 1.0, 1.5])
    np.testing.assert_array_equal(analysis.window_average(np.arange(4.0), x, [2.0], 1.0, 0.0, 4.0), [1.5])


@pytest.mark.parametrize("seed", range(4))
def test_score_correlation_is_pearsons_r(seed):
    """The learning score against numpy.corrcoef per column; a constant column scores 0, not NaN."""
    rng = np.random.default_rng(seed)
    u, f = rng.normal(size=(80, 5)), rng.normal(size=(80, 5))
    f[:, 1] = 3.0 * u[:, 1] - 2.0
    f[:, 4] = 1.5
    expected = [np.corrcoef(u[:, j], f[:, j])[0, 1] for j in range(4)] + [0.0]
    np.testing.assert_allclose(core_stats.score_correlation(u, f), expected, atol=1e-12)
