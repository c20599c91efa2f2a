r"""Targets from an NWB file (tutorial_lib.nwb): small NWB files written here with pynwb, rates known.

Each test file holds units whose spikes are inhomogeneous Poisson with a known rate per condition
(ramps that differ between lick right and lick left), generated around a jittered go cue. The loader
must recover the rates within sampling error.

Tolerance. A 300 ms boxcar estimate at time t over n trials is N / (n w) with N ~ Poisson(n Lambda),
Lambda = the integral of the rate over the boxcar, so its mean is the boxcar-smoothed true rate
lambda_w(t) and its variance lambda_w(t) / (n w). For a Gaussian kernel of sd s the variance is
lambda(t) / (n 2 s sqrt(pi)) (the integral of the squared kernel). The tests compare the squared
errors with these variances: their mean ratio is 1 in expectation. Neighbouring samples share spikes
(a 300 ms kernel spans 15 samples), so 4 units x 2 conditions x 101 samples hold only about 55
independent windows, and the ratio has a standard deviation of about sqrt(2 / 55) = 0.19 (measured over
12 seeds: 0.61 to 1.31, mean 0.94). The bounds [0.4, 1.8] are about 3 and 4.5 of those; a misaligned
estimate is off by far more (checked below: aligning to the trial start instead of the jittered go
cue gives 3.6 to 5.9 over the same seeds).
"""

import math
import sys
from datetime import datetime, timezone

import numpy as np
import pytest

pynwb = pytest.importorskip("pynwb")

from tutorial_lib import BalancedParams, balanced  # noqa: E402
from tutorial_lib.data import ALMData  # noqa: E402
from tutorial_lib.nwb import (NWBColumnError, NWBData, NWBSelectionError, first_event_in_trials,  # noqa: E402
                              load_nwb, trial_averaged_rate)
from tutorial_lib.storage import FormatError  # noqa: E402

N_HIT = 80      # hit trials per condition
N_MISS = 15     # miss trials per condition: every unit fires at 40 Hz in them (trial_filter must drop them)
SPACING = 10.0  # s between trial starts
CUE_TO_GO = 1.0  # s: a second event column, the cue, exactly 1 s before the go cue


def _ramp(tau, a, b):
    """a Hz at 2 s before the go cue to b Hz at the go cue, constant outside; tau in s relative to go."""
    x = np.clip((tau + 2.0) / 2.0, 0.0, 1.0)
    return a + (b - a) * x


# unit: (cell_type, rate in lick-right trials, rate in lick-left trials, observed in the first half only)
UNITS = {
    10: ("Pyr", lambda s: _ramp(s, 5.0, 20.0), lambda s: _ramp(s, 20.0, 5.0), False),
    11: ("Pyr", lambda s: np.full_like(s, 8.0), lambda s: _ramp(s, 2.0, 12.0), False),
    12: ("Pyr", lambda s: 5.0 + 10.0 * np.exp(-0.5 * ((s + 1.0) / 0.3) ** 2), lambda s: np.full_like(s, 5.0),
         False),
    13: ("Pyr", lambda s: _ramp(s, 4.0, 16.0), lambda s: _ramp(s, 12.0, 6.0), True),
    14: ("FS", lambda s: np.full_like(s, 30.0), lambda s: np.full_like(s, 30.0), False),
    15: ("Pyr", lambda s: np.full_like(s, 0.4), lambda s: np.full_like(s, 0.4), False),
    16: ("Pyr", None, None, False),  # no spikes at all
}
LABELS = {"right": "lick right", "left": "lick left"}


def MISS_RATE(s):
    return np.full_like(s, 40.0)


def _poisson(rng, rate_fn, t0, t1, peak):
    """Spike times (s) in [t0, t1) of an inhomogeneous Poisson process, by thinning a rate-`peak` one."""
    n = rng.poisson(peak * (t1 - t0))
    t = np.sort(rng.uniform(t0, t1, n))
    return t[rng.uniform(0.0, peak, n) < rate_fn(t)]


def write_session(path, seed=0, units=UNITS, with_obs=True):
    """An NWB file: trials (condition, outcome, jittered go cue, cue) and units with known rates.

    Returns the trials as arrays (for the tests' own checks).
    """
    rng = np.random.default_rng(seed)
    conds = np.array(["right"] * (N_HIT + N_MISS) + ["left"] * (N_HIT + N_MISS))
    outcome = np.array((["hit"] * N_HIT + ["miss"] * N_MISS) * 2)
    order = rng.permutation(conds.size)
    conds, outcome = conds[order], outcome[order]
    start = SPACING * np.arange(conds.size)
    go = start + 4.0 + rng.uniform(-1.0, 1.0, conds.size)  # the go cue, jittered within the trial
    nwb = pynwb.NWBFile(session_description="test session", identifier="test-session",
                        session_start_time=datetime(2021, 1, 1, tzinfo=timezone.utc))
    nwb.add_trial_column("trial_instruction", "lick direction")
    nwb.add_trial_column("outcome", "hit or miss")
    nwb.add_trial_column("go_time", "go cue, s")
    nwb.add_trial_column("cue_time", "a cue 1 s before the go cue, s")
    for j in range(conds.size):
        nwb.add_trial(start_time=start[j], stop_time=start[j] + 8.0, trial_instruction=LABELS[conds[j]],
                      outcome=outcome[j], go_time=go[j], cue_time=go[j] - CUE_TO_GO)
    nwb.add_unit_column("cell_type", "cell type")
    half = start[conds.size // 2]
    for uid, (cell, fr, fl, first_half) in units.items():
        spikes = []
        if fr is not None:
            for j in range(conds.size):
                if first_half and start[j] >= half:
                    continue  # not recorded
                fn = (fr if conds[j] == "right" else fl) if outcome[j] == "hit" else MISS_RATE
                spikes.append(_poisson(rng, lambda t, fn=fn, g=go[j]: fn(t - g), go[j] - 3.5, go[j] + 1.5,
                                       45.0))
        spikes = np.concatenate(spikes) if spikes else np.zeros(0)
        kw = {"obs_intervals": [[0.0, half if first_half else start[-1] + 10.0]]} if with_obs else {}
        nwb.add_unit(id=uid, spike_times=spikes, cell_type=cell, **kw)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return {"condition": conds, "outcome": outcome, "start": start, "go": go}


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    path = tmp_path_factory.mktemp("nwb") / "session.nwb"
    return path, write_session(path)


def load(path, **kw):
    args = dict(condition_column="trial_instruction",
                conditions={"right": "lick right", "left": ["lick left"]},
                trial_filter={"outcome": "hit"}, align_to="go_time", window=(-2000.0, 0.0),
                units_filter={"cell_type": "Pyr"}, min_rate=1.0)
    args.update(kw)
    return load_nwb(path, **args)


def smoothed_truth(fn, t_ms, kernel, width_ms):
    """The expected estimate: the true rate (t in ms from the go cue) averaged through the kernel."""
    u = np.linspace(-1.0, 1.0, 2001) if kernel == "boxcar" else np.linspace(-5.0, 5.0, 2001)
    if kernel == "boxcar":
        k = np.ones_like(u)
        offs = u * width_ms / 2.0
    else:
        k = np.exp(-0.5 * u * u)
        offs = u * width_ms
    k /= k.sum()
    return np.array([(fn((t + offs) / 1000.0) * k).sum() for t in t_ms])


def error_ratio(data, kernel, width_ms, n_first_half):
    """Mean of (estimate - truth)^2 / expected variance over units, conditions, samples; and RMS errors."""
    t_ms = data.t + data.window[0]
    sq, var = [], []
    for col, uid in enumerate(data.neuron_ids):
        _, fr, fl, first_half = UNITS[int(uid)]
        for c, fn in (("right", fr), ("left", fl)):
            truth = smoothed_truth(fn, t_ms, kernel, width_ms)
            n = n_first_half[c] if first_half else N_HIT
            eff = width_ms / 1000.0 if kernel == "boxcar" else 2.0 * math.sqrt(math.pi) * width_ms / 1000.0
            sq.append((data.rates[c][:, col] - truth) ** 2)
            var.append(truth / (n * eff))
    sq, var = np.concatenate(sq), np.concatenate(var)
    return float(np.mean(sq / var)), float(np.sqrt(sq.mean())), float(np.sqrt(var.mean()))


def first_half_counts(trials):
    half = trials["start"] < trials["start"][trials["start"].size // 2]
    hit = trials["outcome"] == "hit"
    return {c: int((half & hit & (trials["condition"] == c)).sum()) for c in ("right", "left")}


# ---------------------------------------------------------------------------
# Rates


def test_the_result_is_the_structure_part3_reads(session):
    path, _ = session
    data = load(path)
    assert isinstance(data, ALMData) and isinstance(data, NWBData)
    assert data.utarg is None and not data.synthetic
    assert data.rates["right"].shape == data.rates["left"].shape == (101, 4)
    np.testing.assert_allclose(data.t, np.arange(101) * 20.0)
    np.testing.assert_array_equal(data.neuron_ids, [10, 11, 12, 13])
    assert data.n_trials == {"right": N_HIT, "left": N_HIT}
    assert data.label == "NWB" and "session.nwb" in data.source
    sub = data.subset([2, 0])  # what build_network does: the NWB details survive
    assert isinstance(sub, NWBData) and sub.label == "NWB"
    np.testing.assert_array_equal(sub.neuron_ids, [12, 10])
    np.testing.assert_array_equal(sub.rates["left"], data.rates["left"][:, [2, 0]])


@pytest.mark.parametrize("kernel, width", [("boxcar", 300.0), ("gaussian", 100.0)])
def test_rates_match_the_truth_within_sampling_error(session, kernel, width):
    path, trials = session
    data = load(path, smoothing=kernel, smooth_ms=width)
    ratio, rms, expected = error_ratio(data, kernel, width, first_half_counts(trials))
    print(f"{kernel} {width:g} ms: RMS error {rms:.3f} Hz, expected sampling sd {expected:.3f} Hz, "
          f"mean squared error / variance {ratio:.3f}")
    assert 0.4 < ratio < 1.8


def test_units_are_averaged_only_over_the_trials_they_were_recorded_in(session):
    path, trials = session
    col = 3  # unit 13, recorded in the first half of the session only
    with_obs = load(path)
    without = load(path, obs_intervals=False)
    half = first_half_counts(trials)
    for c in ("right", "left"):
        # ignoring obs_intervals averages in the unrecorded trials as silent ones: rates scale by n_seen / n
        np.testing.assert_allclose(without.rates[c][:, col], with_obs.rates[c][:, col] * half[c] / N_HIT,
                                   rtol=1e-12)
        np.testing.assert_array_equal(without.rates[c][:, :3], with_obs.rates[c][:, :3])


def test_miss_trials_are_left_out_by_the_trial_filter(session):
    path, trials = session
    everything = load(path, trial_filter=None)
    assert everything.n_trials == {"right": N_HIT + N_MISS, "left": N_HIT + N_MISS}
    # the misses fire at 40 Hz
    assert everything.rates["right"][:, 0].mean() > load(path).rates["right"][:, 0].mean() + 3.0
    by_callable = load(path, trial_filter=lambda df: (df["outcome"] == "hit").to_numpy())
    np.testing.assert_array_equal(by_callable.rates["left"], load(path).rates["left"])


def test_rates_follow_the_event_they_are_aligned_to(session):
    path, trials = session
    data = load(path)
    # the same window through another event column: the cue is exactly 1 s before the go cue
    via_cue = load(path, align_to="cue_time", window=(-1000.0, 1000.0))
    for c in ("right", "left"):
        np.testing.assert_allclose(via_cue.rates[c], data.rates[c], atol=1e-9)
    # moving the window by 200 ms moves the rates by 10 samples
    later = load(path, window=(-1800.0, 200.0))
    np.testing.assert_allclose(later.rates["right"][:-10], data.rates["right"][10:], atol=1e-9)
    # event times given as an array (one per trial) equal the column
    as_array = load(path, align_to=trials["go"])
    np.testing.assert_array_equal(as_array.rates["left"], data.rates["left"])
    # shifting every event by +300 ms shifts the rates by 15 samples
    shifted = load(path, align_to=trials["go"] + 0.3, window=(-2300.0, -300.0))
    np.testing.assert_allclose(shifted.rates["left"], data.rates["left"], atol=1e-9)
    # aligned to the trial start (the go cue jitters by +-1 s within it) the ramps are smeared: far off
    misaligned = load(path, align_to=trials["start"] + 4.0)
    ratio, _, _ = error_ratio(misaligned, "boxcar", 300.0, first_half_counts(trials))
    assert ratio > 3.0


def test_units_are_filtered_by_cell_type_rate_and_spikes_and_counted(session):
    path, _ = session
    data = load(path)
    assert data.dropped == {"without spikes": 1, "by units_filter 'cell_type'": 1,
                            "not recorded in any trial of a condition (obs_intervals)": 0,
                            "below min_rate 1 Hz": 1}
    assert "1 without spikes" in data.description and "1 below min_rate 1 Hz" in data.description
    all_types = load(path, units_filter=None, min_rate=0.0)
    np.testing.assert_array_equal(all_types.neuron_ids, [10, 11, 12, 13, 14, 15])  # 16 has no spikes at all
    assert all_types.rates["right"][:, 4].mean() == pytest.approx(30.0, rel=0.1)  # the FS unit
    assert load(path, units_filter={"cell_type": ["FS"]}).neuron_ids.tolist() == [14]
    by_callable = load(path, units_filter=lambda df: (df["cell_type"] == "Pyr").to_numpy())
    np.testing.assert_array_equal(by_callable.rates["right"], data.rates["right"])
    assert by_callable.dropped["by units_filter"] == 1
    with pytest.raises(ValueError, match="units_filter must return a boolean mask with one entry per unit"):
        load(path, units_filter=lambda df: df["cell_type"])


def test_trial_averaged_rate_counts_spikes_in_the_half_open_boxcar():
    spikes = np.array([0.9, 1.0, 1.1, 1.15, 1.3])  # s
    # window (0.85, 1.15] around t = 0 of the event at 1.0: 0.9, 1.0, 1.1, 1.15 -> 4 spikes / 0.3 s
    assert trial_averaged_rate(spikes, [1.0], [0.0]) == pytest.approx(4 / 0.3)
    assert trial_averaged_rate(spikes, [1.0, 5.0], [0.0]) == pytest.approx(2 / 0.3)  # averaged over 2 trials
    np.testing.assert_allclose(first_event_in_trials([0, 2], [2, 4], [3.5, 2.5, 1.0]), [1.0, 2.5])


# ---------------------------------------------------------------------------
# Errors


def test_a_missing_column_is_named_and_the_columns_listed(session):
    path, _ = session
    for kw, name, table in [(dict(condition_column="lick_direction"), "lick_direction", "trials"),
                            (dict(align_to="go_cue"), "go_cue", "trials"),
                            (dict(trial_filter={"result": "hit"}), "result", "trials"),
                            (dict(units_filter={"celltype": "Pyr"}), "celltype", "units")]:
        with pytest.raises(NWBColumnError) as err:
            load(path, **kw)
        assert isinstance(err.value, KeyError)
        assert repr(name) in str(err.value) and err.value.missing == (name,) and err.value.table == table
        listed = "trial_instruction" if table == "trials" else "cell_type"
        assert listed in str(err.value) and listed in err.value.available


def test_a_condition_without_trials_says_what_the_column_holds(session):
    path, _ = session
    with pytest.raises(NWBSelectionError, match=r"condition 'left'.*'lick left' \(95\)") as err:
        load(path, conditions={"right": "lick right", "left": "Left"})
    assert isinstance(err.value, ValueError) and err.value.counts["left"]["in condition"] == 0
    with pytest.raises(NWBSelectionError, match=r"95 trials have that value, 95 of them removed by"):
        load(path, trial_filter={"outcome": "correct"})
    no_events = np.full(2 * (N_HIT + N_MISS), np.nan)
    with pytest.raises(NWBSelectionError, match="80 without an event time"):
        load(path, align_to=no_events)


def test_no_units_left_says_how_many_each_filter_removed(session):
    path, _ = session
    with pytest.raises(NWBSelectionError) as err:
        load(path, min_rate=500.0)
    msg = str(err.value)
    assert "no units left of 7" in msg and "1 without spikes" in msg
    assert "1 by units_filter 'cell_type'" in msg
    assert "5 below min_rate 500 Hz" in msg and err.value.counts["below min_rate 500 Hz"] == 5


def test_a_file_whose_units_have_no_spikes_is_refused(tmp_path):
    path = tmp_path / "silent.nwb"
    write_session(path, units={1: ("Pyr", None, None, False), 2: ("Pyr", None, None, False)})
    with pytest.raises(NWBSelectionError, match="none of the 2 units has any spike"):
        load(path, units_filter=None)


def test_files_that_are_not_nwb_are_named(tmp_path, session):
    import h5py

    missing = tmp_path / "nowhere.nwb"
    with pytest.raises(FileNotFoundError, match="nowhere.nwb"):
        load(missing)
    text = tmp_path / "notes.nwb"
    text.write_text("not an NWB file")
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = [1, 2, 3]
    cut = tmp_path / "cut.nwb"
    cut.write_bytes(session[0].read_bytes()[:4000])
    for bad in (text, plain, cut):
        with pytest.raises(FormatError) as err:
            load(bad)
        assert bad.name in str(err.value) and err.value.path == bad


@pytest.mark.parametrize("kw, exc, message", [
    (dict(window=(0.0, 0.0)), ValueError, "window is empty"),
    (dict(window=(100.0, -100.0)), ValueError, "window is empty"),
    (dict(window=(-2010.0, 0.0)), ValueError, "whole number of 20 ms"),
    (dict(window=(-np.inf, 0.0)), ValueError, "window must be finite"),
    (dict(min_rate=-1.0), ValueError, "min_rate must be a finite number >= 0"),
    (dict(min_rate=float("nan")), ValueError, "min_rate"),
    (dict(smoothing="box"), ValueError, "smoothing must be one of"),
    (dict(smooth_ms=0.0), ValueError, r"smooth_ms must be a number in \(0, 1e5\]"),
    (dict(conditions={"right": "lick right"}), ValueError, "exactly the keys"),
    (dict(conditions={"right": "x", "left": ["x", "y"]}), ValueError, "for both"),
    (dict(conditions={"right": [], "left": "y"}), ValueError, "non-empty"),
    (dict(trial_filter="hit"), TypeError, "trial_filter must be None"),
    (dict(units_filter="Pyr"), TypeError, "units_filter must be None"),
    (dict(condition_column=""), TypeError, "condition_column"),
    (dict(align_to=[[1.0]]), ValueError, "align_to"),
    (dict(obs_intervals="yes"), TypeError, "obs_intervals"),
])
def test_bad_arguments_are_named_before_the_file_is_read(tmp_path, kw, exc, message):
    with pytest.raises(exc, match=message):
        load(tmp_path / "does-not-exist.nwb", **kw)  # the arguments are checked first: no FileNotFoundError


def test_event_times_of_the_wrong_length_are_refused(session):
    with pytest.raises(ValueError, match="one event time per trial: the trials table has 190 rows"):
        load(session[0], align_to=np.zeros(5))


def test_without_pynwb_the_error_says_how_to_install_it(session, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynwb", None)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[nwb\]"'):
        load(session[0])


# ---------------------------------------------------------------------------
# End to end


def test_a_tiny_network_trains_on_the_nwb_targets(session):
    path, _ = session
    data = load(path, window=(-2000.0, 0.0))
    p = BalancedParams(N=400, K=40, L=2, n_trained=None, stim_on=300.0, stim_off=400.0, train_duration=1000.0,
                       n_loops=2, ffwd=False, score_every=0, n_test_trials=1, seed=0)
    net = balanced.build_network(p, data)
    assert isinstance(net.alm, NWBData) and net.alm.label == "NWB"
    assert set(net.alm.neuron_ids.tolist()) == {10, 11, 12, 13}
    # the targets are the inverse transfer function of these rates, at the learning times
    cols = [list(data.neuron_ids).index(u) for u in net.alm.neuron_ids]
    expected = balanced.window_targets(p, data)
    for c in ("right", "left"):
        np.testing.assert_allclose(net.targets[c], expected[c][:, cols])
        np.testing.assert_array_equal(net.alm.rates[c], data.rates[c][:, cols])
    result = balanced.train(net, progress=False)
    assert result.scores.shape == (2,) and np.all(np.isfinite(result.scores))
    assert np.isfinite(result.test(n_trials=1).score)
