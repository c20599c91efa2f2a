"""Binning, windowing and smoothing at the edges: PSTHs, the score's windows, the moving average.

The rule under test (Trial.psth): bins ``(k bin, (k + 1) bin]`` tile the
trial's data ``(0, duration]`` from 0; a trailing remainder shorter than a bin
is dropped; every smoothing is a moving average cut at the ends of the data
and normalised by what lies inside, so a constant rate gives a constant output
everywhere, edges included.

Tolerances. A regular train of period P holds floor(W / P) or ceil(W / P)
spikes in any window of width W, so its rate in that window is within
1000 / W Hz of the true rate (the spike-phase discretisation), and exactly the
true rate when W is a multiple of P. A Poisson train is checked against its
Poisson distribution (the central 1 - 1e-8 of it, fixed seeds).
"""

from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import poisson

from tutorial_lib import analysis, balanced
from tutorial_lib.balanced import Trial
from tutorial_lib.params import BalancedParams

BINS = [1.0, 7.0, 20.0, 70.0, 80.0, 700.0, 3000.0]
RATE = 100.0  # Hz
PERIOD = 1000.0 / RATE  # ms


def _trial(times, neurons, N, duration):
    e = np.zeros(0)
    return Trial("right", e, e, e, e, np.asarray(times, float), np.asarray(neurons, int), np.arange(N),
                 None, None, N, float(duration))


def _regular(duration, phase):
    """A regular 100 Hz train on (0, duration]: spikes at phase, phase + P, ... (0 < phase <= P)."""
    return np.arange(phase, duration + 1e-9, PERIOD)


def _hist(times, edges):
    """numpy.histogram with bins closed on the right, (e_k, e_k+1], as the trial's data are (0, duration]."""
    return np.histogram(-np.asarray(times), bins=-edges[::-1])[0][::-1]


def _window_widths(n, half, bin_ms):
    k = np.arange(n)
    return (np.minimum(k + half, n - 1) - np.maximum(k - half, 0) + 1) * bin_ms


def _check_edges(t, bin_ms, duration):
    n = int(np.floor(duration / bin_ms + 1e-9))
    assert t.shape == (n,)
    np.testing.assert_allclose(t, (np.arange(n) + 0.5) * bin_ms, rtol=1e-12)
    assert t[0] - bin_ms / 2 >= -1e-9 and t[-1] + bin_ms / 2 <= duration + 1e-9  # no bin outside the data
    assert duration - (t[-1] + bin_ms / 2) < bin_ms - 1e-9  # only a remainder shorter than a bin is dropped


@pytest.mark.parametrize("duration", [3000.0, 2999.9, 1234.5])
@pytest.mark.parametrize("phase", [0.1, 3.7, 10.0])
def test_psth_of_a_regular_train_is_constant_with_every_bin_width(duration, phase):
    times = _regular(duration, phase)
    tr = _trial(times, np.zeros(times.size), 1, duration)
    for bin_ms in BINS:
        if bin_ms > duration:
            continue
        t, raw = tr.psth([0], bin_ms=bin_ms, smooth_ms=0.0)
        _check_edges(t, bin_ms, duration)
        edges = np.append(t - bin_ms / 2, t[-1] + bin_ms / 2)
        np.testing.assert_allclose(raw[:, 0] * bin_ms / 1000.0, _hist(times, edges), rtol=1e-12, atol=1e-12)
        for smooth_ms in (0.0, 50.0, 200.0):
            t, r = tr.psth([0], bin_ms=bin_ms, smooth_ms=smooth_ms)
            width = _window_widths(t.size, int(round(smooth_ms / bin_ms)), bin_ms)
            err = np.abs(r[:, 0] - RATE)
            assert np.all(err <= 1000.0 / width * (1 + 1e-9)), (bin_ms, smooth_ms, r[[0, -1], 0])
            exact = np.isclose(width / PERIOD, np.round(width / PERIOD))
            np.testing.assert_allclose(r[exact, 0], RATE, rtol=1e-12)


def test_psth_of_the_issue_example():
    # 100 Hz over 3000 ms: 80 ms bins read 150 Hz in the last bin, 700 ms bins 128.6 Hz, 70 ms bins ran past 3000
    times = _regular(3000.0, 10.0)
    tr = _trial(times, np.zeros(times.size), 1, 3000.0)
    for bin_ms, n in ((80.0, 37), (700.0, 4), (70.0, 42)):
        t, r = tr.psth([0], bin_ms=bin_ms, smooth_ms=0.0)
        assert t.size == n and t[-1] + bin_ms / 2 <= 3000.0
        np.testing.assert_allclose(r[:, 0], RATE, rtol=1e-12)


def test_psth_of_poisson_trains_is_constant_and_counts_like_numpy_histogram():
    rng = np.random.default_rng(3)
    n_neurons, rate, duration = 200, 40.0, 3000.0
    n_spikes = rng.poisson(rate * duration / 1000.0, n_neurons)
    times = np.concatenate([rng.uniform(0.0, duration, k) for k in n_spikes])
    who = np.repeat(np.arange(n_neurons), n_spikes)
    tr = _trial(times, who, n_neurons + 1, duration)
    neurons = np.arange(n_neurons + 1)  # the last one never fires
    for bin_ms in BINS:
        t, raw = tr.psth(neurons, bin_ms=bin_ms, smooth_ms=0.0)
        _check_edges(t, bin_ms, duration)
        edges = np.append(t - bin_ms / 2, t[-1] + bin_ms / 2)
        for j in (0, 7, n_neurons - 1, n_neurons):
            got = raw[:, j] * bin_ms / 1000.0
            np.testing.assert_allclose(got, _hist(times[who == j], edges), rtol=1e-12, atol=1e-12)
        for smooth_ms in (0.0, 50.0):
            t, r = tr.psth(neurons, bin_ms=bin_ms, smooth_ms=smooth_ms)
            width = _window_widths(t.size, int(round(smooth_ms / bin_ms)), bin_ms)
            # spikes of all neurons in each output's window: Poisson(rate * n_neurons * width)
            count = np.rint(r[:, :n_neurons].sum(axis=1) * width / 1000.0)
            lo, hi = poisson.interval(1 - 1e-8, rate * n_neurons * width / 1000.0)
            assert np.all((count >= lo) & (count <= hi)), (bin_ms, smooth_ms, r[[0, -1], :n_neurons].mean(1))
            assert np.all(r[:, n_neurons] == 0)


def test_population_psth_of_constant_trains_is_constant_at_the_edges():
    trials = [_trial(_regular(3000.0, phase), np.zeros(300, int), 2, 3000.0) for phase in (2.5, 5.0, 7.5, 10.0)]
    for bin_ms in (80.0, 700.0, 70.0, 7.0):
        t, r = analysis.population_psth(trials, [0, 1], bin_ms=bin_ms, smooth_ms=50.0)
        _check_edges(t, bin_ms, 3000.0)
        width = _window_widths(t.size, int(round(50.0 / bin_ms)), bin_ms)
        # four trains a quarter period apart: the average is a 400 Hz train of 100 Hz / 4 weight
        assert np.all(np.abs(r[:, 0] - RATE) <= 1000.0 / width / 4 * (1 + 1e-9))
        np.testing.assert_array_equal(r[:, 1], 0.0)
    with pytest.raises(ValueError, match="one duration"):
        analysis.population_psth([trials[0], _trial([5.0], [0], 2, 2000.0)], [0])


@pytest.mark.parametrize("bad", [0.0, -20.0, 3000.1, float("nan")])
def test_psth_rejects_bins_outside_the_trial(bad):
    tr = _trial([5.0], [0], 1, 3000.0)
    with pytest.raises(ValueError, match="bin_ms"):
        tr.psth([0], bin_ms=bad)
    with pytest.raises(ValueError, match="smooth_ms"):
        tr.psth([0], bin_ms=20.0, smooth_ms=-1.0)


def _moving_average_reference(x, half):
    """Moving average by convolution: sums over the window divided by the number of samples inside it."""
    kernel = np.ones(2 * half + 1)
    inside = np.convolve(np.ones(x.shape[0]), kernel, mode="same")
    return np.stack([np.convolve(col, kernel, mode="same") for col in x.T], axis=1) / inside[:, None]


@pytest.mark.parametrize("n,half", [(1, 0), (1, 3), (10, 2), (101, 50), (7, 20), (3000, 50)])
def test_moving_average_keeps_constants_and_matches_a_convolution(n, half):
    rng = np.random.default_rng(n + half)
    x = rng.standard_normal((n, 3))
    got = balanced.moving_average(x, half)
    if 2 * half + 1 <= 2 * n - 1:  # np.convolve "same" keeps the kernel centred only then
        np.testing.assert_allclose(got, _moving_average_reference(x, half), rtol=1e-10, atol=1e-12)
    for c in (5.0, 1000.0 / 7.0):
        np.testing.assert_allclose(balanced.moving_average(np.full((n, 2), c), half), c, rtol=1e-12)
    with pytest.raises(ValueError, match="half"):
        balanced.moving_average(x, -1)


def test_feedforward_smoothing_keeps_a_constant_rate_at_the_window_edges():
    p = replace(BalancedParams(), N=200, K=20, ffwd=True, n_ffwd=5, train_duration=700.0, ffwd_noise=0.0)
    np.testing.assert_allclose(balanced.ffwd_rate_process(p, np.random.default_rng(0)), p.ffwd_rate, rtol=1e-12)
    # with noise: the rectified moving average (+-ffwd_smooth, cut at the ends) of the raw OU path
    p = replace(p, ffwd_noise=0.5, ffwd_rate=1.0)
    got = balanced.ffwd_rate_process(p, np.random.default_rng(1))
    rng = np.random.default_rng(1)
    n = got.shape[0]
    kicks = p.ffwd_noise * rng.standard_normal((n - 1, p.n_ffwd))
    raw = np.empty((n, p.n_ffwd))
    raw[0] = p.ffwd_rate
    for k in range(n - 1):
        raw[k + 1] = raw[k] + (p.ffwd_rate - raw[k]) / p.ffwd_tau + kicks[k]
    want = np.maximum(_moving_average_reference(raw, int(p.ffwd_smooth)), 0.0)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert (got == 0).any() and (got > 0).any()  # the rectification took effect


@pytest.mark.parametrize("every", [0.1, 1.0, 3.0, 7.0])
@pytest.mark.parametrize("half_width,lo,hi", [(50.0, 1000.0, 3000.0), (25.0, 1003.0, 2990.5), (10.0, 0.0, 70.0)])
def test_score_windows_keep_constants_and_stay_inside_the_data(every, half_width, lo, hi):
    t = np.arange(0.0, 3000.0, every)
    x = np.stack([np.full(t.size, 2.5), np.sin(t / 37.0)], axis=1)
    centres = np.arange(lo, hi, 20.0)
    avg = balanced.window_average(t, x, centres, half_width, lo, hi)
    np.testing.assert_allclose(avg[:, 0], 2.5, rtol=1e-12)
    for k, c in enumerate(centres):  # independent: the samples in [c - hw, c + hw) and [lo, hi)
        inside = (t >= max(c - half_width, lo) - 1e-9) & (t < min(c + half_width, hi) - 1e-9)
        assert inside.any() and t[inside].min() >= lo - 1e-9 and t[inside].max() < hi
        assert avg[k, 1] == pytest.approx(x[inside, 1].mean(), rel=1e-9, abs=1e-12)


def test_score_windows_of_a_real_trial_are_constant_for_a_constant_input():
    p = BalancedParams.lecture()
    t = np.arange(0.0, p.t_end, p.record_every)
    avg = balanced.window_average(t, np.full((t.size, 2), 0.3), p.learn_times, p.score_window, p.stim_off, p.t_end)
    assert avg.shape == (p.n_learn, 2)
    np.testing.assert_allclose(avg, 0.3, rtol=1e-12)
