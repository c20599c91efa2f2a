"""Spike-train statistics (tutorial_lib.stats) against known answers and independent oracles.

Known answers: a Poisson process has Fano factor 1 and ISI CV 1, a regular train 0 and 0; d' of two
Gaussians is their shift over their sd; a test at level alpha rejects a fraction alpha of null
neurons. Tolerances are 5 standard errors of the known sampling distribution (stated at each test).
Oracles: numpy.histogram for counts, Trial.psth for the bin rule, and Elephant (test-only) for
counts, Fano factors and CVs.
"""

import math

import numpy as np
import pytest

from tutorial_lib import stats


def poisson_trials(rng, n_trials, n_neurons, rate_hz, duration_ms):
    """Independent Poisson trains: per trial a (spike_times, spike_neurons) pair, times unsorted."""
    out = []
    for _ in range(n_trials):
        n = rng.poisson(rate_hz * duration_ms / 1000.0, size=n_neurons)
        out.append((rng.uniform(0.0, duration_ms, n.sum()), np.repeat(np.arange(n_neurons), n)))
    return out


# ---------------------------------------------------------------------------------------------- counts

def test_counts_equal_numpy_histogram_on_the_same_edges():
    rng = np.random.default_rng(0)
    t, n = poisson_trials(rng, 1, 30, 40.0, 1000.0)[0]
    neurons = rng.permutation(35)[:25]          # some silent, in a scrambled order
    for width in (7.0, 100.0, 333.0):
        w = stats.tile_windows(0.0, 1000.0, width)
        edges = np.append(w[:, 0], w[-1, 1])
        got = stats.spike_counts(t, n, neurons, w)
        want = np.stack([np.histogram(t[n == j], bins=edges)[0] for j in neurons], axis=1)
        np.testing.assert_array_equal(got, want)


def test_windows_are_closed_on_the_right_like_the_engine_labels_spikes():
    dt = 0.1
    # a spike in step (t - dt, t] is labelled t = k dt, computed with rounding: 3 * 0.1 != 0.3
    times = np.array([0.0, 3 * dt, 0.3, 0.30000001, 0.6, np.nextafter(0.6, 1.0)])
    counts = stats.spike_counts(times, np.zeros(6, int), [0], [(0.0, 0.3), (0.3, 0.6)])
    # 0.0 is on the first window's open left edge; 3*dt and 0.3 end window 1; 0.6 plus one ulp is "on" 0.6
    # (an edge is a few ulps wide, never a fraction of the window: issue 22)
    np.testing.assert_array_equal(counts[:, 0], [2, 3])


def test_counts_match_trial_psth_bins():
    from tutorial_lib.balanced import Trial

    rng = np.random.default_rng(1)
    t, n = poisson_trials(rng, 1, 12, 200.0, 1000.0)[0]
    t = np.ceil(t / 0.1) * 0.1                  # labelled k dt as by the engine: about 1 in 100 on an edge
    trial = Trial("right", None, None, None, None, t, n, None, None, None, 12, 1000.0)
    neurons = np.array([3, 0, 7])
    for bin_ms in (10.0, 100.0, 300.0):
        _, rate = trial.psth(neurons, bin_ms=bin_ms, smooth_ms=0.0)
        got = stats.spike_counts(t, n, neurons, stats.tile_windows(0.0, 1000.0, bin_ms))
        np.testing.assert_allclose(got, rate * bin_ms / 1000.0, atol=1e-9)
    # and trial_counts takes Trial objects directly
    np.testing.assert_array_equal(stats.trial_counts([trial, (t, n)], neurons, [(0, 500)])[0],
                                  stats.trial_counts([trial], neurons, [(0, 500)])[0])


def test_trial_counts_stack_single_trials_and_overlapping_windows():
    rng = np.random.default_rng(2)
    trials = poisson_trials(rng, 4, 5, 20.0, 500.0)
    w = np.array([(0, 250), (100, 350), (250, 500)], dtype=float)
    c = stats.trial_counts(trials, np.arange(5), w)
    assert c.shape == (4, 3, 5)
    for k, (t, n) in enumerate(trials):
        np.testing.assert_array_equal(c[k], stats.spike_counts(t, n, np.arange(5), w))
    whole = stats.trial_counts(trials, np.arange(5), [(0, 500)])[:, 0]
    np.testing.assert_array_equal(c[:, 0] + c[:, 2], whole)


# ---------------------------------------------------------------------------------------------- variability

def test_poisson_fano_factor_is_one_and_regular_is_zero():
    rng = np.random.default_rng(3)
    n_trials, n_neurons = 100, 40
    trials = poisson_trials(rng, n_trials, n_neurons, 20.0, 1000.0)
    for width in (100.0, 500.0):                # the notebook's windows (2 and 10 spikes expected)
        windows = stats.tile_windows(0, 1000, width)
        F = stats.fano_factor(stats.trial_counts(trials, np.arange(n_neurons), windows))
        # ddof=1: the standard error of one Fano factor of Poisson counts is sqrt(2 / (n - 1))
        # (delta method), and disjoint windows and neurons are independent
        se = math.sqrt(2.0 / (n_trials - 1) / F.size)
        assert abs(F.mean() - 1.0) < 5 * se, (width, F.mean(), se)
    regular = [(np.arange(5.0, 1000.0, 10.0), np.zeros(100, int))] * 20
    F = stats.fano_factor(stats.trial_counts(regular, [0], stats.tile_windows(0, 1000, 100)))
    np.testing.assert_array_equal(F, 0.0)


def test_fano_factor_conventions():
    c = np.array([[0, 1, 3], [0, 3, 3], [0, 2, 3]])
    F = stats.fano_factor(c)
    assert np.isnan(F[0]) and F[2] == 0.0
    assert F[1] == pytest.approx(np.var([1, 3, 2], ddof=1) / 2.0)
    assert stats.fano_factor(c, ddof=0)[1] == pytest.approx(np.var([1, 3, 2]) / 2.0)
    np.testing.assert_array_equal(stats.fano_factor(c.T, axis=1), F)
    with pytest.raises(ValueError, match="at least ddof"):
        stats.fano_factor(c[:1])
    with pytest.raises(ValueError, match="counts"):
        stats.fano_factor([[-1], [2]])
    with pytest.raises(ValueError, match="axis"):
        stats.fano_factor(c, axis=2)


def test_poisson_isi_cv_is_one_and_regular_is_zero():
    rng = np.random.default_rng(4)
    n_neurons = 20
    t, n = poisson_trials(rng, 1, n_neurons, 10.0, 1000e3)[0]      # 1000 s: about 10^4 ISIs each
    cv = stats.isi_cv(t, n, np.arange(n_neurons))
    m = np.bincount(n).min() - 1
    # exponential ISIs: the CV's standard error is 1 / sqrt(m) (delta method with skewness 2, kurtosis 9)
    assert abs(cv.mean() - 1.0) < 5 / math.sqrt(m * n_neurons), cv.mean()
    reg = np.arange(0.0, 1000.0, 12.5)
    assert stats.isi_cv(reg, np.zeros(reg.size, int), [0])[0] == pytest.approx(0.0, abs=1e-12)


def test_pooled_isi_cv_pools_intervals_within_trials():
    rng = np.random.default_rng(5)
    trials = poisson_trials(rng, 6, 4, 15.0, 2000.0)
    window = (300.0, 1700.0)
    got = stats.isi_cv_pooled(trials, [2, 0], t_range=window)
    for k, j in enumerate([2, 0]):              # independent: np.diff per trial, then concatenate
        isis = np.concatenate([np.diff(np.sort(t[(n == j) & (t > window[0]) & (t <= window[1])]))
                               for t, n in trials])
        assert got[k] == pytest.approx(isis.std(ddof=1) / isis.mean(), rel=1e-12)
    # many long Poisson trials pooled: CV 1 (window bias about 1/spikes per trial, far below the tolerance)
    trials = poisson_trials(rng, 50, 10, 20.0, 20e3)
    cv = stats.isi_cv_pooled(trials, np.arange(10))
    m = sum(np.bincount(n, minlength=10).min() - 1 for _, n in trials)
    assert abs(cv.mean() - 1.0) < 5 / math.sqrt(m * 10), cv.mean()


def test_isi_cv_needs_min_spikes():
    t = np.array([1.0, 2.0, 4.0, 10.0, 20.0])
    n = np.array([0, 0, 0, 1, 1])
    cv = stats.isi_cv(t, n, [0, 1, 2])
    assert np.isfinite(cv[0]) and np.isnan(cv[1]) and np.isnan(cv[2])
    assert np.isfinite(stats.isi_cv(t, n, [1], min_spikes=2, ddof=0)[0])
    assert np.isnan(stats.isi_cv(t, n, [0], t_range=(1.0, 4.0))[0])      # (1, 4]: two spikes only
    with pytest.raises(ValueError, match="min_spikes"):
        stats.isi_cv(t, n, [0], min_spikes=1)
    with pytest.raises(ValueError, match="t_range"):
        stats.isi_cv(t, n, [0], t_range=(5.0, 1.0))


# ---------------------------------------------------------------------------------------------- selectivity

def test_dprime_of_identical_and_shifted_gaussians():
    rng = np.random.default_rng(6)
    n, M = 200, 200
    a, b = rng.normal(3.0, 2.0, (n, M)), rng.normal(3.0, 2.0, (n, M))
    # standard error of d' for two groups of n (Hedges and Olkin): sqrt(2 / n + d^2 / (4 n))
    assert abs(stats.dprime(a, b).mean()) < 5 * math.sqrt(2 / n / M)
    d = 0.75
    a = rng.normal(3.0 + 2.0 * d, 2.0, (n, M))
    assert abs(stats.dprime(a, b).mean() - d) < 5 * math.sqrt((2 / n + d * d / (4 * n)) / M)
    assert np.all(stats.dprime(b, a) == -stats.dprime(a, b))


def test_dprime_is_nan_without_variance():
    a = np.array([[0, 2, 1], [0, 2, 3]])
    b = np.array([[0, 1, 1], [0, 1, 1]])
    d = stats.dprime(a, b)
    assert np.isnan(d[0]) and np.isnan(d[1]) and d[2] == pytest.approx(1.0 / math.sqrt(1.0))
    with pytest.raises(ValueError, match="same neurons"):
        stats.dprime(np.zeros((3, 2)), np.zeros((3, 3)))


def test_mann_whitney_false_positive_rate_is_alpha():
    rng = np.random.default_rng(7)
    M, alpha = 4000, 0.05
    a, b = rng.poisson(10.0, (20, M)), rng.poisson(10.0, (20, M))
    test = stats.selectivity_test(a, b, alpha=alpha)
    # binomial: the fraction of M null neurons has sd sqrt(alpha (1 - alpha) / M)
    assert abs(stats.fraction_selective(test) - alpha) < 5 * math.sqrt(alpha * (1 - alpha) / M)
    # strongly selective neurons are all found
    assert stats.selectivity_test(a[:, :50] + 15, b[:, :50]).selective.all()


def test_a_neurons_p_value_depends_only_on_its_own_counts():
    from scipy.stats import mannwhitneyu

    rng = np.random.default_rng(8)
    a = np.column_stack([rng.normal(1, 1, 6), rng.poisson(2, 6)])     # no ties / ties
    b = np.column_stack([rng.normal(0, 1, 6), rng.poisson(2, 6)])
    p = stats.selectivity_test(a, b).pvalue
    for j in range(2):
        assert p[j] == stats.selectivity_test(a[:, j], b[:, j]).pvalue[0]
    assert p[0] == mannwhitneyu(a[:, 0], b[:, 0], alternative="two-sided", method="exact").pvalue
    silent = stats.selectivity_test(np.zeros((5, 1)), np.zeros((5, 1)))
    assert silent.pvalue[0] == 1.0 and not silent.selective[0]


def test_split_half_agreement_strong_and_null():
    rng = np.random.default_rng(9)
    M, n = 1000, 20
    null = stats.split_half_agreement(rng.poisson(5.0, (n, M)), rng.poisson(5.0, (n, M)), rng=1, n_repeats=20)
    # each repeat's r has sd about 1 / sqrt(M) under the null; the mean over repeats no more
    assert abs(null) < 5 / math.sqrt(M)
    shift = rng.normal(0.0, 2.0, M)
    a, b = rng.normal(shift, 1.0, (n, M)), rng.normal(0.0, 1.0, (n, M))
    strong = stats.split_half_agreement(a, b, rng=np.random.default_rng(1), n_repeats=20)
    assert strong > 0.9
    assert strong == stats.split_half_agreement(a, b, rng=1, n_repeats=20)       # same seed, same result
    with pytest.raises(TypeError, match="rng"):
        stats.split_half_agreement(a, b, rng=None)
    with pytest.raises(ValueError, match="at least 4 trials"):
        stats.split_half_agreement(a[:3], b, rng=1)


# ---------------------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("call, match", [
    (lambda: stats.spike_counts([1.0], [0, 1], [0], [(0, 1)]), "one length"),
    (lambda: stats.spike_counts([np.nan], [0], [0], [(0, 1)]), "finite"),
    (lambda: stats.spike_counts([1.0], [0], [0, 0], [(0, 1)]), "repeat"),
    (lambda: stats.spike_counts([1.0], [0], [0], [(1, 0)]), "start < end"),
    (lambda: stats.spike_counts([1.0], [0], [0], [0, 1, 2]), "windows"),
    (lambda: stats.tile_windows(0, 100, 0), "width"),
    (lambda: stats.trial_counts([], [0], [(0, 1)]), "at least one trial"),
    (lambda: stats.selectivity_test([[1]], [[2]], alpha=1.0), "alpha"),
    (lambda: stats.split_half_agreement(np.zeros((4, 2)), np.zeros((4, 2)), rng=1, n_repeats=0), "n_repeats"),
    (lambda: stats.fraction_selective([0.2, 0.9]), "booleans"),
])
def test_bad_input_is_refused_by_name(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_float_neuron_indices_are_a_type_error():
    with pytest.raises(TypeError, match="spike_neurons"):
        stats.spike_counts([1.0], [0.0], [0], [(0, 2)])
    with pytest.raises(TypeError, match="trial"):
        stats.trial_counts([3], [0], [(0, 2)])


# ------------------------------------------------------------------------------------------ Elephant oracle

def _elephant():
    try:
        import elephant.conversion  # noqa: F401
        import elephant.statistics  # noqa: F401
        import neo
        import quantities as pq
    except ImportError as err:
        pytest.skip(f"elephant (test extra) is not importable: {err}")
    import elephant

    return elephant, neo, pq


@pytest.mark.filterwarnings("ignore::DeprecationWarning")     # quantities' own, inside elephant
def test_counts_agree_with_elephant_binned_spike_train():
    elephant, neo, pq = _elephant()
    rng = np.random.default_rng(10)
    t, n = poisson_trials(rng, 1, 15, 25.0, 2000.0)[0]
    trains = [neo.SpikeTrain(np.sort(t[n == j]) * pq.ms, t_start=0 * pq.ms, t_stop=2000 * pq.ms)
              for j in range(15)]
    for width in (20.0, 100.0, 500.0):
        bst = elephant.conversion.BinnedSpikeTrain(trains, bin_size=width * pq.ms, t_start=0 * pq.ms,
                                                   t_stop=2000 * pq.ms)
        ours = stats.spike_counts(t, n, np.arange(15), stats.tile_windows(0, 2000, width))
        np.testing.assert_array_equal(ours.T, bst.to_array())


def test_fano_factor_agrees_with_elephant():
    elephant, neo, pq = _elephant()
    rng = np.random.default_rng(11)
    trials = []
    for _ in range(30):                          # over-dispersed: a rate that varies between trials
        n = rng.poisson(rng.gamma(4.0, 2.5, size=10))
        trials.append((rng.uniform(0.0, 500.0, n.sum()), np.repeat(np.arange(10), n)))
    ours = stats.fano_factor(stats.trial_counts(trials, np.arange(10), [(0.0, 500.0)]), ddof=0)[0]
    theirs = [elephant.statistics.fanofactor([neo.SpikeTrain(t[n == j] * pq.ms, t_stop=500 * pq.ms)
                                              for t, n in trials]) for j in range(10)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert ours.max() > 1.5                      # the data are not Poisson: the comparison is not trivial


def test_isi_cv_agrees_with_elephant():
    elephant, neo, pq = _elephant()
    rng = np.random.default_rng(12)
    t, n = poisson_trials(rng, 1, 10, 15.0, 3000.0)[0]      # neurons 0-9 Poisson, 10-19 nearly regular
    reg = np.arange(25.0, 3000.0, 50.0)
    t = np.concatenate([t, (reg[None, :] + rng.normal(0.0, 5.0, (10, reg.size))).ravel()])
    n = np.concatenate([n, np.repeat(np.arange(10, 20), reg.size)])
    ours = stats.isi_cv(t, n, np.arange(20), ddof=0)
    theirs = [elephant.statistics.cv(elephant.statistics.isi(np.sort(t[n == j]))) for j in range(20)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert ours[10:].max() < 0.3 < 0.6 < ours[:10].min()      # both kinds of train, not one trivial case
