"""Part 5 on the trained balanced network (tutorial_lib.attractors): the choice read-out, perturbation
experiments and the control without condition-carrying feed-forward input, on a tiny network (seconds)."""

import threading
from dataclasses import fields, replace

import numpy as np
import pytest

from tutorial_lib import BalancedParams, attractors, balanced
from tutorial_lib.core import choice as core_choice
from tutorial_lib.data import CONDITIONS

from test_balanced import ramp_data

# 400 neurons, 20 trained with 10 + 10 recurrent and 30 feed-forward plastic inputs, 1.4 s trials, 2 loops
TINY = BalancedParams(N=400, K=40, L=10, n_trained=20, stim_on=300.0, stim_off=400.0, train_duration=1000.0,
                      n_loops=2, ffwd=True, n_ffwd=30, inh_weight_ratio=None, score_every=0, n_test_trials=2,
                      seed=0)


@pytest.fixture(scope="module")
def result():
    return balanced.train(balanced.build_network(TINY, ramp_data()), progress=False)


@pytest.fixture(scope="module")
def readout(result):
    return attractors.fit_choice(result, n_train=4, n_test=3)


def baseline_projection(readout):
    return np.concatenate([readout.projection[c] for c in CONDITIONS])


# ---------------------------------------------------------------------------
# The choice read-out


def test_fit_choice_holds_out_its_test_trials(result, readout):
    assert set(readout.train_loops).isdisjoint(readout.test_loops)
    np.testing.assert_array_equal(readout.neurons, result.network.trained)
    assert readout.mode.shape == (TINY.n_trained,)
    assert np.linalg.norm(readout.mode) == pytest.approx(1.0, abs=1e-12)
    for c in CONDITIONS:
        assert readout.projection[c].shape == (3, readout.t.size)
        assert set(np.unique(readout.choice[c])) <= {-1, 0, 1}
    assert readout.readout_window == (TINY.t_end - 100.0, TINY.t_end)
    assert readout.mode_window == (0.5 * (TINY.stim_off + TINY.t_end), TINY.t_end)


def test_fit_choice_is_the_core_formula_on_the_trials_rates(result, readout):
    """The mode is core.choice_mode of the training trials' rates, and the held-out choices are read out from
    the held-out trials' rates: recomputed here from trial_rates."""
    rates = {c: np.stack([attractors.trial_rates(result, c, k, readout.neurons)[1] for k in readout.train_loops])
             for c in CONDITIONS}
    mode = core_choice.choice_mode(rates["right"], rates["left"], readout.t, readout.mode_window)
    np.testing.assert_array_equal(mode, readout.mode)
    held = np.stack([attractors.trial_rates(result, "left", k, readout.neurons)[1] for k in readout.test_loops])
    np.testing.assert_array_equal(readout.project(held), readout.projection["left"])
    np.testing.assert_array_equal(readout.choose(readout.project(held)), readout.choice["left"])


def test_fit_choice_again_gives_the_same_bits(result, readout):
    again = attractors.fit_choice(result, n_train=4, n_test=3)
    np.testing.assert_array_equal(again.mode, readout.mode)
    assert again.midpoint == readout.midpoint


# ---------------------------------------------------------------------------
# Perturbations of zero strength change nothing, bit for bit


def check_unchanged(out, readout, n_settings):
    assert len(out) == 2 * 3 * n_settings
    np.testing.assert_array_equal(out.choice, out.baseline)
    assert not out.switched.any() and out.recovered[out.baseline != 0].all()
    base = baseline_projection(readout)
    for k in range(n_settings):  # rows: condition, trial, setting
        assert np.array_equal(out.projection[k::n_settings], base)


def test_zero_photoinhibition_changes_no_choice(result, readout):
    out = attractors.photoinhibition(result, readout, starts=[500.0, 900.0], durations=[200.0], strength=0.0)
    check_unchanged(out, readout, 2)
    assert out.experiment == "photoinhibition"
    np.testing.assert_array_equal(out.start, np.tile([500.0, 900.0], 6))


def test_zero_distractor_changes_no_choice(result, readout):
    check_unchanged(attractors.distractors(result, readout, times=[600.0], strength=0.0), readout, 1)


def test_zero_kick_changes_no_choice(result, readout):
    out = attractors.kicks(result, readout, amplitudes=[0.0], times=[800.0, 1000.0])
    check_unchanged(out, readout, 2)


# ---------------------------------------------------------------------------
# Perturbations that act


def test_photoinhibition_drives_the_i_cells_and_moves_the_projection(result, readout):
    out = attractors.photoinhibition(result, readout, starts=[600.0], durations=[300.0], strength=5.0)
    inside = (out.t > 650.0) & (out.t < 850.0)
    moved = np.abs(out.projection[:, inside] - baseline_projection(readout)[:, inside]).mean()
    assert moved > 0.5  # Hz along the mode
    s = out.summary()
    assert s["n"].tolist() == [6] and 0.0 <= s["low"][0] <= s["switched"][0] <= s["high"][0] <= 1.0
    assert s["switched"][0] + s["recovered"][0] <= 1.0


def test_a_stimulus_given_as_a_perturbation_is_the_stimulus(result):
    """What distractors() relies on: the stimulus is a current per neuron in its window, so a Perturbation on
    "all" carrying it acts exactly as it does. A trial whose own stimulus is cancelled by one perturbation
    and given again by another has the trial's spikes, bit for bit."""
    net = result.network
    p = net.params
    plain = balanced.run_trial(net, "left", loop=0, spikes_only=True)
    cancel = balanced.Perturbation("all", -net.stimulus["left"], p.stim_on, p.stim_off)
    again = balanced.Perturbation("all", net.stimulus["left"], p.stim_on, p.stim_off)
    both = balanced.run_trial(net, "left", loop=0, spikes_only=True, perturbations=[cancel, again])
    np.testing.assert_array_equal(plain.spike_neurons, both.spike_neurons)
    np.testing.assert_array_equal(plain.spike_times, both.spike_times)
    # and cancelled only, the stimulus is gone: the spikes differ
    none = balanced.run_trial(net, "left", loop=0, spikes_only=True, perturbations=[cancel])
    assert not np.array_equal(plain.spike_neurons, none.spike_neurons)


def test_distractor_of_strength_one_moves_the_projection(result, readout):
    out = attractors.distractors(result, readout, times=[600.0], strength=1.0)
    inside = (out.t > 620.0) & (out.t < 800.0)
    assert np.abs(out.projection[:, inside] - baseline_projection(readout)[:, inside]).mean() > 0.1


def test_kicks_push_towards_the_other_choice(result, readout):
    out = attractors.kicks(result, readout, amplitudes=[0.0, 100.0], times=[1000.0], duration=100.0)
    inside = (out.t > 1020.0) & (out.t < 1100.0)
    decided = out.baseline != 0
    strong = (out.strength == 100.0) & decided
    weak = (out.strength == 0.0) & decided
    shift = (out.projection[strong][:, inside] - out.projection[weak][:, inside]).mean(axis=1)
    # along the mode, towards the other side: the sign opposite to the baseline choice
    assert np.all(np.sign(shift) == -out.baseline[strong])
    th = out.thresholds()
    assert th["start"].tolist() == [1000.0] and th["a50"].shape == (1,)


class StopAfter:
    """A stop flag that is set after ``n`` checks (as a dashboard's Stop button would be, mid-run)."""

    def __init__(self, n):
        self.n = n

    def is_set(self):
        self.n -= 1
        return self.n < 0


def test_stop_returns_the_trials_run_so_far(result, readout):
    out = attractors.kicks(result, readout, amplitudes=[0.0], times=[800.0], stop=StopAfter(2))
    assert out.stopped and len(out) == 2 and out.projection.shape == (2, readout.t.size)
    none = attractors.kicks(result, readout, amplitudes=[0.0], times=[800.0], stop=StopAfter(0))
    assert none.stopped and len(none) == 0 and none.summary()["n"].size == 0
    full = attractors.kicks(result, readout, amplitudes=[0.0], times=[800.0], stop=StopAfter(100))
    assert not full.stopped and len(full) == 6
    with pytest.raises(TypeError, match="stop must be None or an object with is_set()"):
        attractors.kicks(result, readout, amplitudes=[0.0], times=[800.0], stop=True)


@pytest.mark.parametrize("experiment", ["photoinhibition", "distractors", "kicks"])
def test_threads_do_not_change_a_bit(result, readout, experiment):
    """The trials run on n_jobs threads, each with its own random stream: 1, 2 and 3 threads, same bits."""
    call = {"photoinhibition": lambda **kw: attractors.photoinhibition(result, readout, starts=[600.0],
                                                                        durations=[200.0], **kw),
            "distractors": lambda **kw: attractors.distractors(result, readout, times=[600.0], **kw),
            "kicks": lambda **kw: attractors.kicks(result, readout, amplitudes=[0.0, 3.0], times=[800.0], **kw)}
    runs = [call[experiment](n_jobs=n) for n in (1, 2, 3)]
    for out in runs[1:]:
        for field in ("condition", "trial", "strength", "choice", "end", "projection"):
            np.testing.assert_array_equal(getattr(out, field), getattr(runs[0], field), err_msg=field)


def test_fit_choice_on_threads_gives_the_same_bits(result, readout):
    again = attractors.fit_choice(result, n_train=4, n_test=3, n_jobs=2)
    np.testing.assert_array_equal(again.mode, readout.mode)
    np.testing.assert_array_equal(baseline_projection(again), baseline_projection(readout))


def trial_threads():
    return [t for t in threading.enumerate() if t.name.startswith("trial")]


def test_on_trial_sees_every_row_and_stop_leaves_no_thread(result, readout):
    rows, stop = [], threading.Event()

    def on_trial(row):
        rows.append(row)
        if len(rows) == 3:
            stop.set()

    out = attractors.kicks(result, readout, amplitudes=[0.0, 1.0], times=[800.0], n_jobs=2, stop=stop,
                           on_trial=on_trial)
    assert out.stopped and 3 <= len(out) <= 4 and len(rows) == len(out)
    assert not trial_threads()
    assert set(attractors.ROW) | {"projection", "index", "total"} == set(rows[0])
    assert all(r["total"] == 12 for r in rows)
    by_index = sorted(rows, key=lambda r: r["index"])
    np.testing.assert_array_equal(np.stack([r["projection"] for r in by_index]), out.projection)


def test_an_error_in_on_trial_stops_the_experiment_and_leaves_no_thread(result, readout):
    def on_trial(row):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        attractors.kicks(result, readout, amplitudes=[0.0], times=[800.0], n_jobs=2, on_trial=on_trial)
    assert not trial_threads()


@pytest.mark.parametrize("n_jobs, match", [(0, r"n_jobs \(threads running trials\) must be"),
                                           (1.5, r"n_jobs .*whole number"), ("2", r"n_jobs")])
def test_bad_n_jobs_is_named(result, readout, n_jobs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        attractors.kicks(result, readout, amplitudes=[0.0], times=[800.0], n_jobs=n_jobs)
    with pytest.raises(TypeError, match="on_trial must be None or a function"):
        attractors.kicks(result, readout, amplitudes=[0.0], times=[800.0], on_trial="print")


# ---------------------------------------------------------------------------
# Outcomes: the tidy table and its fractions


def synthetic_outcomes():
    """Known counts: at strength 1, 1 of 4 trials switched; at 2, 3 of 4."""
    strength = np.repeat([1.0, 2.0], 4)
    switched = np.array([1, 0, 0, 0, 1, 1, 1, 0], bool)
    n = strength.size
    base = np.ones(n, np.int64)
    return attractors.Outcomes("kick", np.array(["right"] * n, dtype=object), np.arange(n), np.full(n, 800.0),
                               np.full(n, 50.0), strength, base, np.where(switched, -1, 1), switched, ~switched,
                               np.zeros(n), np.zeros((n, 3)), np.arange(3.0))


def test_outcomes_summary_counts():
    s = synthetic_outcomes().summary()
    assert s["strength"].tolist() == [1.0, 2.0] and s["n"].tolist() == [4, 4]
    np.testing.assert_allclose(s["switched"], [0.25, 0.75])
    np.testing.assert_allclose(s["recovered"], [0.75, 0.25])
    _, lo, hi = core_choice.wilson_interval(np.array([1, 3]), 4)
    np.testing.assert_allclose(s["low"], lo)
    np.testing.assert_allclose(s["high"], hi)


def test_outcomes_thresholds_between_the_amplitudes():
    th = synthetic_outcomes().thresholds()
    assert 1.0 < th["a50"][0] < 2.0 and th["low"][0] < 1.5 < th["high"][0]


def test_outcomes_thresholds_are_nan_where_one_amplitude_was_run():
    """A stopped kick run, or one amplitude at a time, has no threshold to fit: NaN, not an error."""
    out = synthetic_outcomes()
    one = attractors.Outcomes(*[getattr(out, f.name)[:4] if isinstance(getattr(out, f.name), np.ndarray)
                                and getattr(out, f.name).shape[:1] == (8,) else getattr(out, f.name)
                                for f in fields(out)])
    th = one.thresholds()
    assert th["start"].tolist() == [800.0] and np.isnan(th["a50"][0]) and not th["bounded"][0]


# ---------------------------------------------------------------------------
# The control without condition-carrying feed-forward input


def test_without_condition_ffwd(result):
    net = result.network
    control = attractors.without_condition_ffwd(result)
    np.testing.assert_array_equal(control.ffwd_rates["right"], control.ffwd_rates["left"])
    np.testing.assert_array_equal(control.ffwd_rates["left"], net.ffwd_rates["right"])
    np.testing.assert_array_equal(control.w, net.w0)
    assert not np.array_equal(net.w, net.w0)  # the original keeps its training
    assert not np.array_equal(net.ffwd_rates["right"], net.ffwd_rates["left"])
    # the same random stream gives the same feed-forward spikes in both conditions
    a = control.ffwd_spikes("right", np.random.default_rng(1))
    b = control.ffwd_spikes("left", np.random.default_rng(1))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert control.params.ffwd_condition == "none" and net.params.ffwd_condition == "trial"
    # the control is the network ffwd_condition="none" builds, untrained
    built = balanced.build_network(control.params, ramp_data())
    for c in CONDITIONS:
        np.testing.assert_array_equal(built.ffwd_rates[c], control.ffwd_rates[c])
    np.testing.assert_array_equal(built.w0, control.w)


def test_without_condition_ffwd_refuses():
    with pytest.raises(ValueError, match="no feed-forward inputs"):
        attractors.without_condition_ffwd(balanced.build_network(replace(TINY, ffwd=False), ramp_data()))
    with pytest.raises(TypeError, match="net must be BalancedNetwork"):
        attractors.without_condition_ffwd("net")


# ---------------------------------------------------------------------------
# Input validation names the parameter and its range


@pytest.mark.parametrize("call, match", [
    (lambda r, ro: attractors.photoinhibition(r, ro, starts=[100.0], durations=[100.0]),
     r"starts\[0\] \(window starts in the delay, ms\) must be >= 400; it must be in \[400, 1299.9\]"),
    (lambda r, ro: attractors.photoinhibition(r, ro, starts=[600.0, 1200.0], durations=[200.0]),
     r"starts \+ durations must end by the read-out window at 1300 ms"),
    (lambda r, ro: attractors.photoinhibition(r, ro, starts=[600.05], durations=[100.0]),
     r"starts must be on the dt = 0.1 ms grid"),
    (lambda r, ro: attractors.photoinhibition(r, ro, starts=[600.0], durations=[0.0]),
     r"durations\[0\] \(window lengths, ms\) must be > 0; it must be in \[0.1, 700\]"),
    (lambda r, ro: attractors.photoinhibition(r, ro, starts=[600.0], durations=[100.0], strength=-1.0),
     r"strength \(current to each I cell, threshold units\) must be >= 0; it must be in \[0, 100\]"),
    (lambda r, ro: attractors.photoinhibition(r, ro, starts=[600.0], durations=[100.0], strength=np.nan),
     r"strength .* must be finite"),
    (lambda r, ro: attractors.photoinhibition(r, ro, starts=[], durations=[100.0]),
     r"starts must be a number or a non-empty 1-D sequence"),
    (lambda r, ro: attractors.distractors(r, ro, times=[1250.0]),
     r"times\[0\] \(distractor onsets, .*\) must be in \[400, 1200\]"),
    (lambda r, ro: attractors.distractors(r, ro, times=[600.0], strength=11.0),
     r"strength \(scale of the other condition's stimulus\) must be in \[0, 10\]"),
    (lambda r, ro: attractors.kicks(r, ro, amplitudes=[-1.0], times=[800.0]),
     r"amplitudes\[0\] \(norm of the kick's current vector, threshold units\) must be >= 0; it must be in \[0, 1000\]"),
    (lambda r, ro: attractors.kicks(r, ro, amplitudes=[1.0], times=[1280.0]),
     r"times\[0\] \(kick onsets, .*\) must be in \[400, 1250\]"),
    (lambda r, ro: attractors.kicks(r, ro, amplitudes=[1.0], times=[800.0], duration=0.0),
     r"duration \(kick length, ms\) must be > 0; it must be in \[0.1, 900\]"),
    (lambda r, ro: attractors.kicks(r, ro, amplitudes=[], times=[800.0]),
     r"amplitudes must be a number or a non-empty 1-D sequence"),
    (lambda r, ro: attractors.kicks(r, "readout", amplitudes=[1.0], times=[800.0]),
     r"readout must be ChoiceReadout"),
    (lambda r, ro: attractors.fit_choice(r, n_train=0), r"n_train \(.*\) must be"),
    (lambda r, ro: attractors.fit_choice(r, n_test=501), r"n_test \(.*\) must be"),
    (lambda r, ro: attractors.fit_choice(r, neurons="X"), r"neurons must be one of the populations"),
    (lambda r, ro: attractors.fit_choice(r, neurons=[1]), r"neurons must be a 1-D array of at least 2"),
    (lambda r, ro: attractors.fit_choice(r, readout_ms=0.0), r"readout_ms \(.*\) must be > 0; it must be in \(0, 1000\]"),
    (lambda r, ro: attractors.fit_choice(r, mode_window=(900.0, 800.0)), r"mode_window\[1\] \(ms, after 900\)"),
    (lambda r, ro: attractors.fit_choice("net"), r"net must be BalancedNetwork"),
    # a setting given twice would run the same trials twice and narrow the interval falsely (the CLI refused it)
    (lambda r, ro: attractors.photoinhibition(r, ro, starts=[600.0, 600.0], durations=[100.0]),
     r"starts must hold each value once \(got 600 twice"),
    (lambda r, ro: attractors.photoinhibition(r, ro, starts=[600.0], durations=[100.0, 1e2]),
     r"durations must hold each value once"),
    (lambda r, ro: attractors.distractors(r, ro, times=[600.0, 500.0, 600.0]), r"times must hold each value once"),
    (lambda r, ro: attractors.kicks(r, ro, amplitudes=[1.0, np.float64(1.0)], times=[800.0]),
     r"amplitudes must hold each value once"),
    (lambda r, ro: attractors.kicks(r, ro, amplitudes=[1.0], times=[800.0, 800.0]), r"times must hold each value once"),
    # a list where one number belongs is not cut to its first value, nor a table flattened
    (lambda r, ro: attractors.kicks(r, ro, amplitudes=[1.0], times=[800.0], duration=[50.0, 100.0]),
     r"duration \(kick length, ms\) must be a real number"),
    (lambda r, ro: attractors.kicks(r, ro, amplitudes=[[1.0, 2.0]], times=[800.0]),
     r"amplitudes must be a number or a non-empty 1-D sequence"),
    (lambda r, ro: attractors.kicks(r, ro, amplitudes=[1.0], times=[800.0], duration=50.05),
     r"duration must be on the dt = 0.1 ms grid"),
    (lambda r, ro: attractors.fit_choice(r, neurons=[1, 2, 1]), r"neurons must name each neuron once .*got 1 twice"),
])
def test_bad_input_names_the_parameter_and_range(result, readout, call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(result, readout)


@pytest.mark.parametrize("kw, match", [
    # windows that hold no bin centre of the rates: said before any trial runs, naming the parameter
    ({"readout_ms": 1.0}, r"readout_ms must hold the centre of at least one 20 ms bin .*\(1399, 1400\)"),
    ({"mode_window": (800.0, 801.0)}, r"mode_window must hold the centre of at least one 20 ms bin"),
    ({"bin_ms": 50.0, "readout_ms": 20.0}, r"readout_ms must hold the centre of at least one 50 ms bin"),
    ({"bin_ms": np.nan}, r"bin_ms \(bin width of the rates, ms.*\) must be finite"),
    ({"bin_ms": 2000.0}, r"bin_ms .* must be in \(1.4e-05, 1400\]"),
    ({"smooth_ms": -1.0}, r"smooth_ms .* must be >= 0"),
    ({"mode_window": "ab"}, r"mode_window must be a pair"),
])
def test_fit_choice_refuses_before_any_trial(result, kw, match):
    calls = []
    with pytest.raises(ValueError, match=match):
        attractors.fit_choice(result, n_train=1, n_test=1, on_trial=calls.append, **kw)
    assert calls == []


def test_a_readout_of_another_network_is_refused(result, readout):
    """A read-out's baseline choices are its network's: applied to another network (the control, a network
    trained further) a perturbation of strength 0 would show switches. Copies are the same network."""
    experiments = [lambda net: attractors.kicks(net, readout, amplitudes=[0.0], times=[800.0]),
                   lambda net: attractors.photoinhibition(net, readout, starts=[600.0], durations=[100.0]),
                   lambda net: attractors.distractors(net, readout, times=[600.0])]
    control = attractors.without_condition_ffwd(result)  # same sizes and times: the old check let it through
    trained_more = result.network.copy()
    trained_more.w = trained_more.w + 1e-9
    for other in (control, trained_more):
        for run in experiments:
            with pytest.raises(ValueError, match="readout must come from fit_choice on this network"):
                run(other)
    assert attractors.fingerprint(result.network.copy()) == readout.network == attractors.fingerprint(result)
    assert len(attractors.kicks(result.network.copy(), readout, amplitudes=[0.0], times=[800.0], stop=StopAfter(1))) == 1


class StopRaises:
    """A stop whose is_set() raises on its third call (a broken Event-like object)."""

    def __init__(self):
        self.n = 0

    def is_set(self):
        self.n += 1
        if self.n >= 3:
            raise RuntimeError("stop broke")
        return False


def test_a_stop_that_raises_carries_its_error_and_leaves_no_thread(result, readout):
    with pytest.raises(RuntimeError, match="stop broke"):
        attractors.kicks(result, readout, amplitudes=[0.0, 1.0], times=[800.0], n_jobs=2, stop=StopRaises())
    assert not trial_threads()
    with pytest.raises(RuntimeError, match="stop broke"):
        attractors.fit_choice(result, n_train=2, n_test=1, n_jobs=2, stop=StopRaises())
    assert not trial_threads()
