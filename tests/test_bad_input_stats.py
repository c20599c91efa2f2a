"""Hostile input to the statistics modules (tutorial_lib.stats, .nwb, .analysis): a correct result or a named error.

Every public function of the three modules gets a table of wrong values for each of its arguments (NaN,
+-inf, 1e308, strings, None, bools, huge ints, np.uint64 2**64 - 1 that would wrap to -1, fractions,
wrong shapes, empty arrays, reversed windows). The answer must be a ValueError / TypeError whose
message names the argument and says what is allowed, raised before anything large is allocated (the
memory estimates are tested against a small limit), or a correct result (checked against a value
computed by hand). Beside the tables: the window edges are exact to a few ulps for windows of 1e-3 to
1e10 ms (no tolerance that grows with the width), neuron ids as large as 10**12 cost nothing, and NaN or
infinite spike times in an NWB file are counted and reported, per unit, never turned into a 0 Hz unit.
"""

from __future__ import annotations

import math
import re
import warnings
from datetime import datetime, timezone

import numpy as np
import pytest

from tutorial_lib import analysis, nwb, stats
from tutorial_lib.balanced import Trial
from tutorial_lib.checks import MemoryEstimateError

U64_MAX = np.array([2**64 - 1], dtype=np.uint64)  # as int64: -1


@pytest.fixture(autouse=True)
def fixed_memory_limit(monkeypatch):
    """The memory estimates against a fixed 16 GiB, not against what the machine has free right now."""
    monkeypatch.setenv("TUTORIAL_MEMORY_GB", "16")


def _refused(call, name: str):
    """``call()`` raises a ValueError/TypeError, on one line, naming ``name`` and saying what is allowed."""
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    msg = str(info.value)
    assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w])", msg), f"does not name {name!r}: {msg}"
    assert "must" in msg or re.search(r"\bLower\b", msg), f"says not what is allowed: {msg}"
    assert "\n" not in msg
    return info.value


def _trial(spike_times, spike_neurons, N=3, duration=1000.0):
    e = np.zeros(0)
    return Trial("right", e, e, e, e, np.asarray(spike_times, float), np.asarray(spike_neurons), np.arange(N),
                 None, None, N, duration)


# ---------------------------------------------------------------------------------------------- tables

T, N, IDX, W = [1.0, 2.0], [0, 1], [0, 1], [(0.0, 5.0)]  # valid spikes, neurons, windows
C = np.array([[1.0, 2.0], [3.0, 0.0], [2.0, 1.0]])  # 3 trials x 2 neurons
A4 = np.arange(8.0).reshape(4, 2)

BAD_TIMES = {"nan": [math.nan, 1.0], "inf": [1.0, math.inf], "-inf": [-math.inf, 1.0], "1e308": [1e308, 1.0],
             "str": ["a", "b"], "None": [None, 1.0], "bool": [True, False], "bigint": [10**400, 1.0]}
BAD_INDICES = {"fraction": [0.5, 1.0], "whole float": [0.0, 1.0], "bool": [True, False], "negative": [-1, 0],
               "uint64 max": np.array([2**64 - 1, 0], dtype=np.uint64), "huge int": [10**30, 0],
               "str": ["a", "b"], "None": [None, 0]}
BAD_WINDOWS = {"nan": [(math.nan, 1.0)], "inf": [(0.0, math.inf)], "reversed": [(5.0, 0.0)], "empty": [(1.0, 1.0)],
               "1e308": [(0.0, 1e308)], "shape": [0.0, 1.0, 2.0], "str": "ab", "None": None, "bool": [(False, True)]}

CASES = []
for label, bad in BAD_TIMES.items():
    CASES += [(f"spike_counts spike_times {label}", lambda b=bad: stats.spike_counts(b, N, IDX, W), "spike_times"),
              (f"trial_counts spike_times {label}", lambda b=bad: stats.trial_counts([(T, N), (b, N)], IDX, W),
               "spike_times"),
              (f"isi_cv spike_times {label}", lambda b=bad: stats.isi_cv(b, N, IDX), "spike_times"),
              (f"trial_averaged_rate spike_times {label}", lambda b=bad: nwb.trial_averaged_rate(b, [1.0], [0.0]),
               "spike_times"),
              (f"trial_averaged_rate event_times {label}", lambda b=bad: nwb.trial_averaged_rate(T, b, [0.0]),
               "event_times"),
              (f"trial_averaged_rate t {label}", lambda b=bad: nwb.trial_averaged_rate(T, [1.0], b), "t"),
              (f"first_event_in_trials start_times {label}",
               lambda b=bad: nwb.first_event_in_trials(b, [5.0, 6.0], [0.5]), "start_times"),
              (f"first_event_in_trials event_times {label}",
               lambda b=bad: nwb.first_event_in_trials([0.0], [1.0], b), "event_times")]
for label, bad in BAD_INDICES.items():
    CASES += [(f"spike_counts spike_neurons {label}", lambda b=bad: stats.spike_counts(T, b, IDX, W),
               "spike_neurons"),
              (f"spike_counts neurons {label}", lambda b=bad: stats.spike_counts(T, N, b, W), "neurons"),
              (f"isi_cv neurons {label}", lambda b=bad: stats.isi_cv(T, N, b), "neurons"),
              (f"isi_cv_pooled spike_neurons {label}", lambda b=bad: stats.isi_cv_pooled([(T, b)], IDX),
               "spike_neurons")]
for label, bad in BAD_WINDOWS.items():
    CASES += [(f"spike_counts windows {label}", lambda b=bad: stats.spike_counts(T, N, IDX, b), "windows")]

for label, bad in {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "1e308": 1e308, "str": "x", "None": None,
                   "bool": True}.items():
    CASES += [(f"tile_windows start {label}", lambda b=bad: stats.tile_windows(b, 1000.0, 10.0), "start"),
              (f"tile_windows stop {label}", lambda b=bad: stats.tile_windows(0.0, b, 10.0), "stop"),
              (f"tile_windows width {label}", lambda b=bad: stats.tile_windows(0.0, 1000.0, b), "width"),
              (f"selectivity_test alpha {label}", lambda b=bad: stats.selectivity_test(A4, A4, alpha=b), "alpha"),
              (f"isi_cv t_range {label}", lambda b=bad: stats.isi_cv(T, N, IDX, t_range=(0.0, b)), "t_range"),
              (f"trial_averaged_rate smooth_ms {label}",
               lambda b=bad: nwb.trial_averaged_rate(T, [1.0], [0.0], smooth_ms=b), "smooth_ms"),
              (f"load_nwb min_rate {label}", lambda b=bad: nwb.load_nwb("never-opened.nwb", condition_column="c",
                                                                        align_to="go", min_rate=b), "min_rate"),
              (f"load_nwb smooth_ms {label}", lambda b=bad: nwb.load_nwb("never-opened.nwb", condition_column="c",
                                                                         align_to="go", smooth_ms=b), "smooth_ms"),
              (f"window_average half_width {label}",
               lambda b=bad: analysis.window_average(np.arange(10.0), np.ones((10, 1)), [5.0], b, 0.0, 10.0),
               "half_width"),
              (f"window_average lo {label}",
               lambda b=bad: analysis.window_average(np.arange(10.0), np.ones((10, 1)), [5.0], 2.0, b, 10.0), "lo")]

WHOLE = {"fraction": 1.5, "nan": math.nan, "inf": math.inf, "str": "x", "None": None, "bool": True}
for label, bad in WHOLE.items():
    CASES += [(f"fano_factor axis {label}", lambda b=bad: stats.fano_factor(C, axis=b), "axis"),
              (f"fano_factor ddof {label}", lambda b=bad: stats.fano_factor(C, ddof=b), "ddof"),
              (f"dprime ddof {label}", lambda b=bad: stats.dprime(A4, A4, ddof=b), "ddof"),
              (f"isi_cv min_spikes {label}", lambda b=bad: stats.isi_cv(T, N, IDX, min_spikes=b), "min_spikes"),
              (f"isi_cv_pooled ddof {label}", lambda b=bad: stats.isi_cv_pooled([(T, N)], IDX, ddof=b), "ddof"),
              (f"split_half_agreement n_repeats {label}",
               lambda b=bad: stats.split_half_agreement(A4, A4, rng=0, n_repeats=b), "n_repeats"),
              (f"moving_average half {label}", lambda b=bad: analysis.moving_average(A4, b), "half")]
    if label != "None":  # None: all components
        CASES += [(f"pca n_components {label}", lambda b=bad: analysis.pca(A4, n_components=b), "n_components")]

for label, bad in {"nan": [[math.nan, 1.0]], "inf": [[math.inf, 1.0]], "1e308": [[1e308, 1.0]], "str": [["a", "b"]],
                   "None": [[None, 1.0]], "bool": [[True, False]]}.items():
    arr = lambda b=bad: np.vstack([np.array(b, dtype=object), A4[:3].astype(object)])  # noqa: E731
    CASES += [(f"fano_factor counts {label}", lambda a=arr: stats.fano_factor(a()), "counts"),
              (f"dprime a {label}", lambda a=arr: stats.dprime(a(), A4), "a"),
              (f"selectivity_test b {label}", lambda a=arr: stats.selectivity_test(A4, a()), "b"),
              (f"split_half_agreement a {label}", lambda a=arr: stats.split_half_agreement(a(), A4, rng=0), "a"),
              (f"pca X {label}", lambda a=arr: analysis.pca(a()), "X"),
              (f"explained_by targets {label}", lambda a=arr: analysis.explained_by(A4, a()), "targets"),
              (f"align_signs reference {label}", lambda a=arr: analysis.align_signs(A4, a()), "reference"),
              (f"moving_average x {label}", lambda a=arr: analysis.moving_average(a(), 1), "x"),
              (f"project X {label}", lambda a=arr: analysis.project(a(), analysis.pca(A4)), "X"),
              (f"window_average x {label}",
               lambda a=arr: analysis.window_average(np.arange(4.0), a(), [1.0], 1.0, 0.0, 4.0), "x")]

BIG = np.uint64(2**64 - 1)  # -1 if it wrapped
CASES += [
    ("fano_factor axis uint64 max", lambda: stats.fano_factor(C, axis=BIG), "axis"),
    ("fano_factor ddof uint64 max", lambda: stats.fano_factor(C, ddof=BIG), "ddof"),
    ("dprime ddof uint64 max", lambda: stats.dprime(A4, A4, ddof=BIG), "ddof"),
    ("dprime ddof beyond the trials", lambda: stats.dprime(A4, A4, ddof=4), "ddof"),
    ("pca n_components uint64 max", lambda: analysis.pca(A4, n_components=BIG), "n_components"),
    ("split_half_agreement n_repeats uint64 max",
     lambda: stats.split_half_agreement(A4, A4, rng=0, n_repeats=BIG), "n_repeats"),
    # scalars and shapes beyond the tables above
    ("tile_windows reversed", lambda: stats.tile_windows(10.0, 0.0, 1.0), "stop"),
    ("tile_windows negative width", lambda: stats.tile_windows(0.0, 10.0, -1.0), "width"),
    ("tile_windows width beyond the span", lambda: stats.tile_windows(0.0, 10.0, 11.0), "width"),
    ("tile_windows 1e12 windows", lambda: stats.tile_windows(0, 1000, 1e-9), "width"),
    ("tile_windows denormal width", lambda: stats.tile_windows(0, 1e15, 5e-324), "width"),
    ("fano_factor axis out of range", lambda: stats.fano_factor(C, axis=2), "axis"),
    ("fano_factor axis huge", lambda: stats.fano_factor(C, axis=10**30), "axis"),
    ("fano_factor negative counts", lambda: stats.fano_factor([[1.0], [-1.0]]), "counts"),
    ("fano_factor scalar", lambda: stats.fano_factor(3.0), "counts"),
    ("fano_factor ddof negative", lambda: stats.fano_factor(C, ddof=-1), "ddof"),
    ("isi_cv t_range reversed", lambda: stats.isi_cv(T, N, IDX, t_range=(5.0, 1.0)), "t_range"),
    ("isi_cv t_range scalar", lambda: stats.isi_cv(T, N, IDX, t_range=5.0), "t_range"),
    ("isi_cv t_range strings", lambda: stats.isi_cv(T, N, IDX, t_range=("0", "5")), "t_range"),
    ("isi_cv t_range bools", lambda: stats.isi_cv(T, N, IDX, t_range=(False, True)), "t_range"),
    ("isi_cv min_spikes 1", lambda: stats.isi_cv(T, N, IDX, min_spikes=1), "min_spikes"),
    ("isi_cv_pooled trials None", lambda: stats.isi_cv_pooled(None, IDX), "trials"),
    ("isi_cv_pooled trials str", lambda: stats.isi_cv_pooled("ab", IDX), "trials"),
    ("trial_counts trial not a pair", lambda: stats.trial_counts([3], IDX, W), "trials[0]"),
    ("trial_counts trials empty", lambda: stats.trial_counts([], IDX, W), "trials"),
    ("spike_counts lengths differ", lambda: stats.spike_counts([1.0], [0, 1], IDX, W), "spike_neurons"),
    ("spike_counts 2-D neurons", lambda: stats.spike_counts(T, N, [[0, 1]], W), "neurons"),
    ("spike_counts repeated neurons", lambda: stats.spike_counts(T, N, [0, 0], W), "neurons"),
    ("dprime shapes", lambda: stats.dprime(np.zeros((3, 2)), np.zeros((3, 3))), "b"),
    ("dprime 3-D", lambda: stats.dprime(np.zeros((3, 2, 1)), np.zeros((3, 2, 1))), "a"),
    ("selectivity_test alpha 0", lambda: stats.selectivity_test(A4, A4, alpha=0.0), "alpha"),
    ("selectivity_test alpha 1", lambda: stats.selectivity_test(A4, A4, alpha=1), "alpha"),
    ("selectivity_test alpha -0.0", lambda: stats.selectivity_test(A4, A4, alpha=-0.0), "alpha"),
    ("fraction_selective floats", lambda: stats.fraction_selective([0.2, 0.9]), "selective"),
    ("fraction_selective scalar", lambda: stats.fraction_selective(True), "selective"),
    ("fraction_selective None", lambda: stats.fraction_selective(None), "selective"),
    ("split_half_agreement rng None", lambda: stats.split_half_agreement(A4, A4, rng=None), "rng"),
    ("split_half_agreement rng negative", lambda: stats.split_half_agreement(A4, A4, rng=-1), "rng"),
    ("split_half_agreement rng float", lambda: stats.split_half_agreement(A4, A4, rng=1.5), "rng"),
    ("split_half_agreement rng bool", lambda: stats.split_half_agreement(A4, A4, rng=True), "rng"),
    ("split_half_agreement n_repeats huge", lambda: stats.split_half_agreement(A4, A4, rng=0, n_repeats=10**9),
     "n_repeats"),
    ("split_half_agreement 3 trials", lambda: stats.split_half_agreement(A4[:3], A4, rng=0), "a"),
    # nwb
    ("trial_averaged_rate no events", lambda: nwb.trial_averaged_rate(T, [], [0.0]), "event_times"),
    ("trial_averaged_rate t scalar", lambda: nwb.trial_averaged_rate(T, [1.0], 0.0), "t"),
    ("trial_averaged_rate t 1e308", lambda: nwb.trial_averaged_rate(T, [1.0], [1e308]), "t"),
    ("trial_averaged_rate smoothing unknown", lambda: nwb.trial_averaged_rate(T, [1.0], [0.0], smoothing="box"),
     "smoothing"),
    ("trial_averaged_rate smoothing None", lambda: nwb.trial_averaged_rate(T, [1.0], [0.0], smoothing=None),
     "smoothing"),
    ("trial_averaged_rate smoothing array",
     lambda: nwb.trial_averaged_rate(T, [1.0], [0.0], smoothing=np.array(["boxcar"])), "smoothing"),
    ("trial_averaged_rate smooth_ms 0", lambda: nwb.trial_averaged_rate(T, [1.0], [0.0], smooth_ms=0.0),
     "smooth_ms"),
    ("trial_averaged_rate smooth_ms negative", lambda: nwb.trial_averaged_rate(T, [1.0], [0.0], smooth_ms=-300.0),
     "smooth_ms"),
    ("trial_averaged_rate smooth_ms 1e-300", lambda: nwb.trial_averaged_rate(T, [1.0], [0.0], smooth_ms=1e-300),
     "smooth_ms"),
    ("trial_averaged_rate gaussian work",
     lambda: nwb.trial_averaged_rate(np.arange(0.0, 100.0, 0.01), np.arange(0.0, 50.0, 0.01),
                                     np.arange(-1e5, 1e5, 20.0), smoothing="gaussian", smooth_ms=1e5), "smooth_ms"),
    ("first_event_in_trials stop before start", lambda: nwb.first_event_in_trials([1.0], [0.0], [0.5]),
     "stop_times"),
    ("first_event_in_trials lengths", lambda: nwb.first_event_in_trials([0.0, 1.0], [2.0], [0.5]), "stop_times"),
    ("load_nwb align_to infinite", lambda: nwb.load_nwb("never-opened.nwb", condition_column="c",
                                                        align_to=[1.0, math.inf]), "align_to"),
    ("load_nwb align_to 1e308", lambda: nwb.load_nwb("never-opened.nwb", condition_column="c",
                                                     align_to=[1.0, 1e308]), "align_to"),
    ("load_nwb align_to bools", lambda: nwb.load_nwb("never-opened.nwb", condition_column="c",
                                                     align_to=[True, False]), "align_to"),
    ("load_nwb min_rate 1e5", lambda: nwb.load_nwb("never-opened.nwb", condition_column="c", align_to="go",
                                                   min_rate=1e5), "min_rate"),
    ("load_nwb window off the grid by 1e-6 ms", lambda: nwb.load_nwb("never-opened.nwb", condition_column="c",
                                                                      align_to="go", window=(-2000.0, 1e-6)),
     "window"),
    ("load_nwb smoothing list", lambda: nwb.load_nwb("never-opened.nwb", condition_column="c", align_to="go",
                                                     smoothing=["boxcar"]), "smoothing"),
    # analysis
    ("pca 1 sample", lambda: analysis.pca(np.ones((1, 3))), "X"),
    ("pca 1-D", lambda: analysis.pca(np.ones(5)), "X"),
    ("pca n_components 0", lambda: analysis.pca(A4, n_components=0), "n_components"),
    ("pca n_components too many", lambda: analysis.pca(A4, n_components=3), "n_components"),
    ("pca n_components huge", lambda: analysis.pca(A4, n_components=10**30), "n_components"),
    ("project fit None", lambda: analysis.project(A4, None), "fit"),
    ("project features", lambda: analysis.project(A4[:, :1], analysis.pca(A4)), "X"),
    ("align_signs rows", lambda: analysis.align_signs(A4, A4[:3]), "reference"),
    ("align_signs 1-D", lambda: analysis.align_signs(np.ones(4), A4), "scores"),
    ("explained_by samples", lambda: analysis.explained_by(A4, A4[:3]), "targets"),
    ("explained_by one sample", lambda: analysis.explained_by(A4[:1], A4[:1]), "targets"),
    ("explained_by 3-D", lambda: analysis.explained_by(np.ones((4, 2, 1)), A4), "predictors"),
    ("moving_average half negative", lambda: analysis.moving_average(A4, -1), "half"),
    ("moving_average scalar", lambda: analysis.moving_average(3.0, 1), "x"),
    ("window_average t not increasing",
     lambda: analysis.window_average(np.array([0.0, 2.0, 1.0, 3.0]), np.ones((4, 1)), [1.0], 1.0, 0.0, 4.0), "t"),
    ("window_average t NaN",
     lambda: analysis.window_average(np.array([0.0, np.nan, 2.0, 3.0]), np.ones((4, 1)), [1.0], 1.0, 0.0, 4.0), "t"),
    ("window_average rows", lambda: analysis.window_average(np.arange(4.0), np.ones((3, 1)), [1.0], 1.0, 0.0, 4.0),
     "x"),
    ("window_average NaN in an ndarray x",
     lambda: analysis.window_average(np.arange(4.0), np.array([[1.0], [np.nan], [1.0], [1.0]]), [1.0], 1.0, 0.0,
                                     4.0), "x"),
    ("window_average 1e308 sums",
     lambda: analysis.window_average(np.arange(4.0), np.full((4, 1), 1e308), [2.0], 2.0, 0.0, 4.0), "x"),
    ("window_average centres inf",
     lambda: analysis.window_average(np.arange(4.0), np.ones((4, 1)), [math.inf], 1.0, 0.0, 4.0), "centres"),
    ("window_average lo > hi", lambda: analysis.window_average(np.arange(4.0), np.ones((4, 1)), [1.0], 1.0, 4.0, 0.0),
     "hi"),
    ("population_psth trials None", lambda: analysis.population_psth(None, [0]), "trials"),
    ("population_psth not trials", lambda: analysis.population_psth([3], [0]), "trials[0]"),
    ("population_psth neuron beyond N", lambda: analysis.population_psth([_trial([5.0], [0])], [3]), "neurons"),
    ("population_psth negative neuron", lambda: analysis.population_psth([_trial([5.0], [0])], [-1]), "neurons"),
    ("population_psth repeated neuron", lambda: analysis.population_psth([_trial([5.0], [0])], [0, 0]), "neurons"),
    ("population_psth float neuron", lambda: analysis.population_psth([_trial([5.0], [0])], [0.5]), "neurons"),
    ("population_psth bin_ms nan", lambda: analysis.population_psth([_trial([5.0], [0])], [0], bin_ms=math.nan),
     "bin_ms"),
]


@pytest.mark.parametrize("call, name", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_by_name(call, name):
    _refused(call, name)


# ---------------------------------------------------------------------------------------------- values that are fine

def test_whole_floats_are_whole_numbers_for_scalars_but_index_arrays_must_be_integers():
    # the project's rule for scalars (check_int): 1.0 is 1; an axis of 1.0 gave a raw TypeError before
    np.testing.assert_array_equal(stats.fano_factor(C.T, axis=1.0), stats.fano_factor(C.T, axis=1))
    np.testing.assert_array_equal(stats.isi_cv(T, N, IDX, min_spikes=2.0), stats.isi_cv(T, N, IDX, min_spikes=2))
    np.testing.assert_array_equal(analysis.pca(A4, n_components=np.int64(1)).scores, analysis.pca(A4, 1).scores)
    # an unsigned index in range is the same neuron; the largest int64 is a valid id
    u = np.array([0, 1], dtype=np.uint64)
    np.testing.assert_array_equal(stats.spike_counts(T, u, u, W), [[1, 1]])
    big = 2**63 - 1
    np.testing.assert_array_equal(stats.spike_counts(T, [big, 0], [big], W), [[1]])


def test_negative_zero_and_empty_arrays_give_plain_results():
    np.testing.assert_array_equal(stats.spike_counts([], [], IDX, W), [[0, 0]])
    np.testing.assert_array_equal(stats.spike_counts(T, N, [], W), np.zeros((1, 0)))
    # (-0.0, 1]: a spike at 0.0 is on the open left edge
    np.testing.assert_array_equal(stats.spike_counts([0.0, 1.0], [0, 0], [0], [(-0.0, 1.0)]), [[1]])
    assert stats.isi_cv([], [], []).shape == (0,)
    assert stats.selectivity_test(np.zeros((3, 0)), np.zeros((3, 0))).pvalue.shape == (0,)
    assert math.isnan(stats.fraction_selective(np.zeros(0, dtype=bool)))
    np.testing.assert_array_equal(nwb.trial_averaged_rate([], [1.0], [0.0, 20.0]), [0.0, 0.0])
    np.testing.assert_array_equal(nwb.first_event_in_trials([0.0], [1.0], []), [np.nan])


@pytest.mark.parametrize("window", [(-2000.0, 0.0), (-1999.98, 0.02), (1e4 + 0.1, 1e4 + 20.1), (-99999.9, 0.1)])
def test_windows_on_the_grid_up_to_rounding_are_accepted(tmp_path, window):
    # the arguments pass (the file is looked for next); the grid check allows the rounding of t1 - t0 only
    with pytest.raises(FileNotFoundError):
        nwb.load_nwb(tmp_path / "never-opened.nwb", condition_column="c", align_to="go", window=window)


def test_a_huge_half_width_is_the_whole_signal():
    x = np.arange(12.0).reshape(6, 2)
    # np.arange(n) - 10**30 raised OverflowError before; beyond int64 it is refused by name, below it is the
    # whole signal
    np.testing.assert_array_equal(analysis.moving_average(x, 2**62), analysis.moving_average(x, 6))
    np.testing.assert_allclose(analysis.moving_average(x, 2**62), np.broadcast_to(x.mean(axis=0), x.shape))
    with pytest.raises(ValueError, match=r"^half \(half-width, samples\) must be in \[0, "):
        analysis.moving_average(x, 10**30)


# ---------------------------------------------------------------------------------------------- window edges

WIDTHS = [1e-3, 1e-1, 1.0, 7.0, 1e3, 1e6, 1e10]


@pytest.mark.parametrize("start", [0.0, 1000.0, -2.5e3])
@pytest.mark.parametrize("width", WIDTHS)
def test_edges_are_exact_for_every_window_width(width, start):
    a, b = start, start + width
    ulp = np.spacing(max(abs(a), abs(b)))
    d = max(width * 1e-11, 1e4 * ulp)  # far above rounding, far below the old 1e-9 x width
    inside = [a + width / 2, a + d, b - d, b, np.nextafter(b, np.inf)]  # on the right edge counts, by rounding
    outside = [a, np.nextafter(a, np.inf), a - d, b + d, b + 100 * np.spacing(abs(b))]  # the left edge is open
    times = np.array(inside + outside)
    got = stats.spike_counts(times, np.zeros(times.size, int), [0], [(a, b)])
    assert got[0, 0] == len(inside), (width, start, got)
    # each spike alone: the same verdict
    for s, want in [(s, 1) for s in inside] + [(s, 0) for s in outside]:
        assert stats.spike_counts([s], [0], [0], [(a, b)])[0, 0] == want, (width, start, s)
    # isi_cv's t_range uses the same rule: a - d and b + d out, a + d and b - d in: one interval, CV 0
    cv = stats.isi_cv([a - d, a + d, b - d, b + d], [0] * 4, [0], t_range=(a, b), min_spikes=2, ddof=0)
    assert cv[0] == 0.0, (width, start, cv)


def test_the_reported_case_counts_the_spike():
    assert stats.spike_counts([1.0], [0], [0], [(0, 1e10)])[0, 0] == 1  # 0 before: a 10 ms tolerance


@pytest.mark.parametrize("start, stop, width, n", [(0.0, 0.3, 0.1, 3), (0.0, 1.0, 0.1, 10), (1500, 3000, 500, 3),
                                                   (-1.0, 1.0, 0.7, 2), (0.0, 1e10, 1e4, 10**6)])
def test_tiled_windows_share_their_edges(start, stop, width, n):
    w = stats.tile_windows(start, stop, width)
    assert w.shape == (n, 2)
    assert np.array_equal(w[1:, 0], w[:-1, 1])  # one float per edge: no spike counted twice or lost
    assert w[0, 0] == start and abs(w[-1, 1] - (start + n * width)) <= 4 * np.spacing(abs(w[-1, 1]))


def test_counts_in_tiled_windows_equal_numpy_histogram_for_every_width():
    rng = np.random.default_rng(3)
    for width in WIDTHS[:-2]:
        t = rng.uniform(0.0, 50 * width, 2000)
        n = rng.integers(0, 3, t.size)
        w = stats.tile_windows(0.0, 50 * width, width)
        edges = np.append(w[:, 0], w[-1, 1])
        want = np.stack([np.histogram(t[n == j], bins=edges)[0] for j in range(3)], axis=1)
        np.testing.assert_array_equal(stats.spike_counts(t, n, [0, 1, 2], w), want)


# ---------------------------------------------------------------------------------------------- sizes

@pytest.mark.parametrize("ids", [[0, 10**12], [10**12, 5 * 10**17], [2**63 - 1, 0]])
def test_neuron_ids_as_large_as_you_like_cost_nothing(ids):
    # MemoryError (7.3 TiB) before: an array of the largest id + 1
    times = [1.0, 1.5, 2.0, 2.5, 4.0]
    who = [ids[0], ids[1], ids[1], ids[0], ids[1]]
    np.testing.assert_array_equal(stats.spike_counts(times, who, [ids[1], ids[0]], [(0, 2), (2, 5)]),
                                  [[2, 1], [1, 1]])
    np.testing.assert_array_equal(stats.spike_counts(times, who, [ids[0]], [(0, 2)]), [[1]])
    np.testing.assert_allclose(stats.isi_cv(times, who, [ids[1]], min_spikes=2, ddof=0),
                               stats.isi_cv([1.5, 2.0, 4.0], [0, 0, 0], [0], min_spikes=2, ddof=0))
    pooled = stats.isi_cv_pooled([(times, who), (times, who)], [ids[1]], min_spikes=2)
    assert pooled.shape == (1,) and np.isfinite(pooled[0])


@pytest.mark.parametrize("call, name", [
    (lambda: stats.spike_counts(T, N, np.arange(10**4), stats.tile_windows(0, 1e4, 1.0)), "windows"),
    (lambda: stats.trial_counts([(T, N)] * 100, np.arange(1000), stats.tile_windows(0, 1e3, 1.0)), "windows"),
    (lambda: nwb.trial_averaged_rate(T, np.arange(1000.0), np.arange(1000.0)), "event_times"),
], ids=["spike_counts", "trial_counts", "trial_averaged_rate"])
def test_results_larger_than_memory_are_refused_before_allocating(monkeypatch, call, name):
    monkeypatch.setenv("TUTORIAL_MEMORY_GB", "0.001")  # 1 MiB
    err = _refused(call, name)
    assert isinstance(err, MemoryEstimateError) and err.needed > err.available


def test_many_windows_count_as_fast_as_many_neurons():
    # windows > neurons goes neuron by neuron: the same counts as window by window
    rng = np.random.default_rng(4)
    t = rng.uniform(0.0, 1000.0, 3000)
    n = rng.integers(0, 4, t.size)
    w = stats.tile_windows(0.0, 1000.0, 0.5)          # 2000 windows, 4 neurons
    want = np.stack([np.histogram(t[n == j], bins=np.append(w[:, 0], w[-1, 1]))[0] for j in range(4)], axis=1)
    np.testing.assert_array_equal(stats.spike_counts(t, n, [0, 1, 2, 3], w), want)


# ---------------------------------------------------------------------------------------------- NaN spike times

def test_trial_averaged_rate_refuses_non_finite_spikes_and_says_how_many():
    # 3.33 Hz from the finite spike, the NaN dropped without a word, before
    err = _refused(lambda: nwb.trial_averaged_rate([math.nan, 1.0, math.inf], [1.0], [0.0]), "spike_times")
    assert "2 of 3" in str(err)
    assert nwb.trial_averaged_rate([1.0], [1.0], [0.0])[0] == pytest.approx(1 / 0.3)


def _nwb_file(path, unit_spikes, go=None):
    pynwb = pytest.importorskip("pynwb")
    f = pynwb.NWBFile("d", "id1", datetime(2020, 1, 1, tzinfo=timezone.utc))
    f.add_trial_column("cond", "condition")
    f.add_trial_column("go", "go cue, s")
    go = [10.0 * i + 3.0 for i in range(8)] if go is None else go
    for i in range(8):
        f.add_trial(start_time=10.0 * i, stop_time=10.0 * i + 5.0, cond=("right", "left")[i % 2], go=go[i])
    for uid, s in unit_spikes.items():
        f.add_unit(id=uid, spike_times=np.asarray(s, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pynwb.NWBHDF5IO(str(path), "w") as io:
            io.write(f)
    return path


def _regular(rate_hz=20.0, t_end=80.0):
    return np.arange(0.0, t_end, 1.0 / rate_hz)


def _load(path, **kw):
    return nwb.load_nwb(path, condition_column="cond", align_to="go", window=(-1000.0, 0.0), min_rate=0.0, **kw)


def test_nwb_non_finite_spike_times_are_left_out_with_a_warning_per_unit(tmp_path):
    good = _regular()
    some = np.concatenate([_regular(10.0), [math.nan, math.inf, -math.inf]])
    path = _nwb_file(tmp_path / "nan.nwb", {7: good, 8: some, 9: [math.nan, math.nan, math.inf]})
    with pytest.warns(UserWarning) as record:
        data = _load(path)
    msg = " ".join(str(w.message) for w in record)
    assert "unit 8 (3 of 803)" in msg and "unit 9 (3 of 3)" in msg and "1 of them have no finite spike" in msg
    # unit 9 has no finite spike: dropped and counted, not a 0 Hz unit
    assert list(data.neuron_ids) == [7, 8]
    assert data.dropped["with only NaN or infinite spike times"] == 1
    assert "1 with only NaN or infinite spike times" in data.description
    # unit 8's rates are those of its finite spikes
    ev = {"right": 10.0 * np.arange(0, 8, 2) + 3.0, "left": 10.0 * np.arange(1, 8, 2) + 3.0}
    samples = -1000.0 + 20.0 * np.arange(51)
    for c in ("right", "left"):
        np.testing.assert_allclose(data.rates[c][:, 1], nwb.trial_averaged_rate(_regular(10.0), ev[c], samples))
        assert np.all(data.rates[c][:, 1] > 5.0)


def test_nwb_a_file_whose_spike_times_are_all_non_finite_is_refused_by_reason(tmp_path):
    path = _nwb_file(tmp_path / "allnan.nwb", {1: [math.nan], 2: [math.inf, math.nan]})
    with pytest.warns(UserWarning, match="NaN or infinite"):
        with pytest.raises(nwb.NWBSelectionError, match="2 have only NaN or infinite times") as err:
            _load(path)
    assert err.value.counts["with only NaN or infinite spike times"] == 2


def test_nwb_infinite_event_times_in_the_column_are_left_out_with_a_warning(tmp_path):
    go = [10.0 * i + 3.0 for i in range(8)]
    go[2] = math.inf
    path = _nwb_file(tmp_path / "inf.nwb", {1: _regular()}, go=go)
    with pytest.warns(UserWarning, match="1 of the 8 event times in 'go' .*infinite"):
        data = _load(path)
    assert data.n_trials == {"right": 3, "left": 4}


def test_nwb_valid_files_load_without_a_warning(tmp_path):
    path = _nwb_file(tmp_path / "ok.nwb", {1: _regular(), 2: _regular(5.0)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = _load(path)
    assert list(data.neuron_ids) == [1, 2] and "with only NaN" not in " ".join(data.dropped)
    # subset: the units by column index, checked like every index
    assert list(data.subset([1]).neuron_ids) == [2] and data.subset([1]).window == data.window
    for bad in ([2], [-1], [True, False], [0.0], U64_MAX, [10**30], ["a"], [[0]]):
        _refused(lambda b=bad: data.subset(b), "neurons")
