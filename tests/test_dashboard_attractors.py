"""The Part 5 dashboard (tutorial_lib.dashboard.attractors), driven headless through its widget objects on
the tiny network of test_attractors.py (seconds): Run draws every held-out trial in the colour of its outcome,
Stop leaves no trial thread and a figure of the trials done, the sliders' bounds follow each other, a
perturbation of strength zero switches no trial, and bad settings are named in the status."""

import html
import threading

import numpy as np
import pytest
from test_attractors import TINY
from test_balanced import ramp_data

from tutorial_lib import attractors, balanced
from tutorial_lib.core import choice as core_choice
from tutorial_lib.dashboard import attractor_dashboard
from tutorial_lib.dashboard.attractors import (
    EXPERIMENTS,
    FIT_TRIALS,
    READOUT_MS,
    RECOVERED,
    STRENGTH,
    SWITCHED,
    make_experiment,
)
from tutorial_lib.data import CONDITIONS

END = TINY.t_end - READOUT_MS  # the read-out window starts here: 1300 ms
STIM = TINY.stim_off - TINY.stim_on  # 100 ms


@pytest.fixture(scope="module")
def result():
    return balanced.train(balanced.build_network(TINY, ramp_data()), progress=False)


def _dash(result, trials=3, **settings):
    dash = attractor_dashboard(result)
    dash.controls["trials"].widget.value = trials
    for name, value in settings.items():
        dash.controls[name].widget.value = value
    return dash


def _trial_threads():
    return [t for t in threading.enumerate() if t.name.startswith("trial")]


def _colours(dash):
    """The drawn trials' colours, in the order of their index (the order of the Outcomes' rows)."""
    return [line.get_color() for _, (line, _) in sorted(dash.figure.trials.items())]


def test_run_draws_every_trial_in_the_colour_of_its_outcome(result):
    dash = _dash(result, time=600.0, length=300.0, strength=5.0)
    before = dash.image.value
    dash.run(block=True)
    out = dash.outcomes
    assert dash.error is None, dash.status.value
    assert len(out) == 6 and not out.stopped and len(dash.figure.trials) == 6 and dash.image.value != before
    assert _colours(dash) == [SWITCHED if s else RECOVERED for s in out.switched]
    assert out.switched.any() and out.recovered.any()  # both colours are tested (5 into every I cell)
    # the same experiment without the dashboard: the same trials, bit for bit
    readout = attractors.fit_choice(result, n_train=FIT_TRIALS, n_test=3, readout_ms=READOUT_MS)
    again = attractors.photoinhibition(result, readout, starts=[600.0], durations=[300.0], strength=5.0)
    np.testing.assert_array_equal(again.projection, out.projection)
    np.testing.assert_array_equal(again.switched, out.switched)
    for (_, (line, _)), proj in zip(sorted(dash.figure.trials.items()), out.projection):
        np.testing.assert_array_equal(line.get_ydata(), proj)
    # the status: switched k of n with the Wilson interval of core.choice
    k = int(out.switched.sum())
    frac, low, high = core_choice.wilson_interval(np.array([k]), np.array([6]))
    status = html.unescape(dash.status.value)
    assert f"switched {k} of 6 ({frac[0]:.2f}, 95 % Wilson interval {low[0]:.2f}-{high[0]:.2f})" in status
    assert status.startswith("Done: ran 6 of 6 trials")
    assert f"switched {k} of 6" in dash.figure.title.get_text()
    # the window shaded where the experiment was, the baseline means in grey
    span = dash.figure.window
    assert (span.get_x(), span.get_x() + span.get_width()) == (600.0, 900.0) and span.axes is dash.figure.ax
    grey = [line for line in dash.figure.ax.lines if line.get_color() == "0.45"]
    assert len(grey) == 2
    np.testing.assert_allclose(grey[1].get_ydata(), readout.projection["left"].mean(axis=0))
    assert not _trial_threads() and not dash.run_button.disabled and dash.stop_button.disabled


def test_stop_mid_run_leaves_no_trial_thread_and_a_figure_of_the_trials_done(result):
    dash = _dash(result, trials=10, experiment="kick", time=700.0, length=50.0, strength=30.0)
    real = dash._on_trial

    def stop_after_the_first(row):  # Stop pressed when the first trial is drawn (in the worker thread)
        real(row)
        dash.stop()

    dash._on_trial = stop_after_the_first
    dash.run(block=True)
    out = dash.outcomes
    assert out.stopped and 1 <= len(out) < 20, len(out)
    assert not _trial_threads()
    assert len(dash.figure.trials) == len(out) and _colours(dash) == [SWITCHED if s else RECOVERED
                                                                       for s in out.switched]
    status = html.unescape(dash.status.value)
    assert status.startswith(f"Stopped: ran {len(out)} of 20 trials") and f"of {len(out)} (" in status
    assert f"stopped after {len(out)} of 20 trials" in dash.figure.title.get_text()
    assert dash.progress.value == len(out)
    assert not dash.run_button.disabled and not dash.train_button.disabled and dash.stop_button.disabled
    dash._on_trial = real  # and it runs again, whole
    dash.run(block=True)
    assert len(dash.outcomes) == 20 and not dash.outcomes.stopped and len(dash.figure.trials) == 20


def test_stop_while_fitting_the_choice_mode_perturbs_nothing_and_leaves_no_thread(result):
    dash = _dash(result, trials=4, experiment="kick", time=700.0, length=50.0, strength=30.0)
    real, said = dash._on_fit_trial, []

    def stop_after_the_first(row):  # Stop pressed when the fit's first trial finishes
        real(row)
        dash.stop()
        said.append(html.unescape(dash.status.value))

    dash._on_fit_trial = stop_after_the_first
    dash.run(block=True)
    # what Stop says while the fit runs: the fit stops (it said "it cannot be stopped", from before it could)
    assert said and said[0].startswith("Stopping the fit of the choice mode: the trials in flight finish")
    assert not any("cannot be stopped" in s for s in said)
    assert dash.readout is None and dash.outcomes is None and not _trial_threads()
    status = html.unescape(dash.status.value)
    assert status.startswith("Stopped while fitting the choice mode (") and "no trial was perturbed" in status
    assert 1 <= dash.progress.value < dash.progress.max == 2 * (FIT_TRIALS + 4)
    assert not dash.run_button.disabled and dash.stop_button.disabled
    dash._on_fit_trial = real  # and it runs again, whole
    dash.run(block=True)
    assert dash.readout is not None and len(dash.outcomes) == 8 and not dash.outcomes.stopped


def test_fit_choice_stopped_returns_none_after_the_trials_in_flight(result):
    stop, seen = threading.Event(), []

    def on_trial(row):
        seen.append(row)
        stop.set()

    assert attractors.fit_choice(result, n_train=4, n_test=3, n_jobs=2, stop=stop, on_trial=on_trial) is None
    assert 1 <= len(seen) <= 2 and seen[0]["total"] == 14 and not _trial_threads()


@pytest.mark.parametrize("experiment", list(EXPERIMENTS))
def test_a_zero_strength_run_switches_none(result, experiment):
    """The strength slider is logarithmic (four decades below the largest strength): strength 0 is the
    control, set here through the control's value."""
    dash = _dash(result, experiment=experiment, time=700.0)
    dash.controls["strength"].to_param = lambda v: 0.0
    dash.run(block=True)
    out = dash.outcomes
    assert len(out) == 6 and not out.switched.any() and out.recovered.all()
    assert set(_colours(dash)) == {RECOVERED}
    base = np.concatenate([dash.readout.projection[c][:3] for c in CONDITIONS])
    np.testing.assert_array_equal(out.projection, base)  # no spike changed
    assert "switched 0 of 6" in html.unescape(dash.status.value)


def test_slider_bounds_follow_the_time_the_length_and_the_experiment():
    dash = attractor_dashboard(params=TINY, data=ramp_data())
    assert dash.network is None and dash.readout is None and dash.image.value[:4] == b"\x89PNG"
    time_, length = dash.controls["time"].widget, dash.controls["length"].widget
    strength = dash.controls["strength"].widget
    assert (time_.min, time_.max) == (TINY.stim_off, END - length.value)
    assert (length.min, length.max) == (10.0, END - time_.value)
    time_.value = 1000.0
    assert length.max == 300.0  # the window ends by the read-out window
    length.value = 500.0  # clamped by its bounds
    assert length.value == 300.0 and time_.max == 1000.0
    length.value = 100.0
    assert time_.max == END - 100.0
    for name, (lo, hi, value, _) in STRENGTH.items():
        dash.controls["experiment"].widget.value = name
        assert (10 ** strength.min, 10 ** strength.max) == pytest.approx((lo, hi)) and strength.value == value
        assert dash.controls["strength"].scale.value.count("%'>") == 5  # the decades shown
        assert dash.error is None, dash.status.value
    dash.controls["experiment"].widget.value = "distractor"  # lasts as long as the stimulus
    assert length.disabled and length.value == STIM == length.min == length.max
    assert time_.max == END - STIM
    dash.controls["experiment"].widget.value = "photoinhibition"
    assert not length.disabled and (length.min, length.max) == (10.0, END - time_.value)
    time_.value = END - 10.0  # at the end of the range, then a distractor: the time moves back
    length.value = 10.0
    time_.value = END - 10.0
    dash.controls["experiment"].widget.value = "distractor"
    assert time_.value == END - STIM and dash.error is None
    assert "press Run: it trains the network first" in dash.status.value


@pytest.mark.parametrize("name, value, message", [
    ("time", 1250.0, ("time (when the perturbation starts, ms: in the delay from 400 ms, so that its 180 ms "
                      "end by the read-out window at 1300 ms) must be in [400, 1120]")),
    ("time", 300.0, "must be in [400, 1120]"),
    ("length", 1000.0, "length (ms, so that the perturbation ends by the read-out window at 1300 ms) must be in"),
])
def test_a_bad_setting_is_named_with_its_range_and_nothing_runs(result, name, value, message):
    dash = _dash(result)
    draws = dash.n_draws
    w = dash.controls[name].widget
    dash.controls[name].bounds = None  # reached by hand past the bounds
    w.min, w.max = min(w.min, value), max(w.max, value)
    w.value = value
    status = html.unescape(dash.status.value)
    assert message in status, status
    dash.run_button.click()
    assert dash.wait(timeout=5)
    assert dash.outcomes is None and dash.readout is None and dash.n_draws == draws


def test_make_experiment_names_each_setting_and_the_strengths_are_the_experiments():
    for kwargs, message in [({"name": "kicks"}, "experiment must be one of"),
                            ({"strength": -1.0}, ("strength (the current into each I cell, threshold "
                                                   "units) must be >= 0; it must be in [0, 100]")),
                            ({"trials": 0}, "trials (held-out trials per lick) must be"),
                            ({"start": float("nan")}, "time (")]:
        settings = {"name": "photoinhibition", "start": 600.0, "length": 200.0, "strength": 1.0,
                    "trials": 3} | kwargs
        with pytest.raises(ValueError) as info:
            make_experiment(TINY, **settings)
        assert message in str(info.value), str(info.value)
    assert make_experiment(TINY, "distractor", 600.0, 999.0, 1.0, 3).length == STIM  # the stimulus' length


def test_the_strength_ranges_end_where_the_experiments_validation_does(result):
    """Each slider's largest strength is accepted by tutorial_lib.attractors, and a little more refused."""
    readout = attractors.fit_choice(result, n_train=2, n_test=1)
    calls = {"photoinhibition": lambda s: attractors.photoinhibition(result, readout, [600.0], [100.0], s,
                                                                     stop=_Set()),
             "distractor": lambda s: attractors.distractors(result, readout, [600.0], s, stop=_Set()),
             "kick": lambda s: attractors.kicks(result, readout, [s], [600.0], stop=_Set())}
    for name, (_, hi, _, _) in STRENGTH.items():
        assert len(calls[name](hi)) == 0  # accepted (stopped before any trial)
        with pytest.raises(ValueError, match="must be in"):
            calls[name](hi * 1.01)


class _Set:
    @staticmethod
    def is_set():
        return True


def test_without_a_result_run_trains_fits_and_runs_then_train_continues_and_stops():
    dash = attractor_dashboard(params=TINY, data=ramp_data())
    dash.controls["trials"].widget.value = 2
    dash.run(block=True)
    status = html.unescape(dash.status.value)
    assert status.startswith(f"Done: trained {TINY.n_loops} loop(s)"), status
    assert dash.result.n_loops == TINY.n_loops and len(dash.outcomes) == 4
    readout = dash.readout
    assert readout.test_loops.tolist() == [FIT_TRIALS, FIT_TRIALS + 1]
    # more trials: fitted again (the same mode: the same trials fit it); fewer: the first of those
    dash.controls["trials"].widget.value = 3
    dash.run(block=True)
    assert dash.readout is not readout and np.array_equal(dash.readout.mode, readout.mode)
    fitted = dash.readout
    dash.controls["trials"].widget.value = 1
    dash.run(block=True)
    assert dash.readout is fitted and len(dash.outcomes) == 2
    # Train continues training; Stop after its first loop; the next Run fits the choice mode again
    dash.controls["n_loops"].widget.value = 50
    entered, release = threading.Event(), threading.Event()
    original = dash.figure.update

    def slow_update(loop, record, scores):  # hold the first loop until Stop has been pressed
        original(loop, record, scores)
        entered.set()
        release.wait(10)

    dash.figure.update = slow_update
    dash.train_button.click()
    assert entered.wait(60) and dash.run_button.disabled
    dash.stop_button.click()
    release.set()
    assert dash.wait(timeout=30)
    assert f"Stopped after 1 loop(s) ({TINY.n_loops + 1} in all)" in dash.status.value
    assert dash.readout is fitted  # not fitted again after a stopped training
    dash.figure.update = original
    dash.run(block=True)
    assert dash.readout is not fitted and "Done: ran 2 of 2 trials" in html.unescape(dash.status.value)


def test_arguments_of_the_wrong_kind_are_named(result):
    with pytest.raises(TypeError, match="result"):
        attractor_dashboard("a network")
    with pytest.raises(ValueError, match="params and data must be None"):
        attractor_dashboard(result, params=TINY)
    with pytest.raises(ValueError, match="dpi"):
        attractor_dashboard(result, dpi=5)
