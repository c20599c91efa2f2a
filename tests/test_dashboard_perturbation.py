"""The Part 4 perturbation dashboard, driven headless through its widget objects (a tiny network)."""

import html
import threading
from dataclasses import replace

import numpy as np
import pytest

from tutorial_lib import BalancedParams, balanced
from tutorial_lib.dashboard import perturbation_dashboard, run_perturbation
from tutorial_lib.dashboard.perturbation import CURRENT_RANGE, POPULATIONS
from tutorial_lib.data import synthetic_alm

SYN = synthetic_alm(60)
# 400 neurons (200 E), 30 trained, 0.6 s trials: a trial in about 0.1 s
SMALL = BalancedParams.lecture(N=400, K=40, n_trained=30, L=5, n_ffwd=20, stim_on=100.0, stim_off=200.0,
                               train_duration=400.0, n_loops=2, score_every=1, n_test_trials=1)


@pytest.fixture(scope="module")
def trained():
    return balanced.train(SMALL, data=SYN, progress=False)


def _set(dash, name, value):
    w = dash.controls[name].widget
    w.min, w.max = min(w.min, value), max(w.max, value)  # open the bounds to reach a bad value
    w.value = value


def _window_means(rates, t, start, stop):
    inside = (t > start) & (t < stop)
    return rates[inside].mean()


def test_without_a_network_nothing_is_built_until_run_and_bounds_follow_each_other():
    dash = perturbation_dashboard(params=SMALL, data=SYN)
    assert dash.network is None and dash.outcome is None and dash.image.value[:4] == b"\x89PNG"
    assert list(dash.controls["population"].widget.options) == list(POPULATIONS)
    status = dash.status.value
    dr = balanced.balance_response(SMALL, 0.0, 1.0)
    assert f"+1 into the I cells from 300 to 500 ms" in status
    assert f"predict E {dr[0]:+.1f} Hz, I {dr[1]:+.1f} Hz" in status and "press Run" in status
    cur = dash.controls["current"].widget
    assert (cur.min, cur.max) == CURRENT_RANGE
    start, stop = dash.controls["start"].widget, dash.controls["stop"].widget
    assert (start.min, start.max, stop.min, stop.max) == (0.0, 490.0, 310.0, SMALL.t_end)
    stop.value = 400.0
    assert start.max == 390.0  # start stays before stop
    start.value = 100.0
    assert stop.min == 110.0
    stop.value = 50.0  # clamped by its bounds: no window with stop <= start can be set
    assert stop.value == 110.0 and dash.error is None
    dash.controls["population"].widget.value = "trained"
    assert "whole populations (E, I or all) only" in dash.status.value


@pytest.mark.parametrize("name, value, message", [
    ("current", 8.0, "current (the added input, units of threshold; negative silences) must be in [-5, 5]"),
    ("current", -6.0, "must be in [-5, 5]"),
    ("stop", 700.0, "stop (when it stops, ms, after start = 300 and at most the trial's end 600) must be in"),
    ("start", 550.0, "stop (when it stops, ms, after start = 550"),
])
def test_a_bad_value_is_named_with_its_range_and_nothing_runs(name, value, message):
    dash = perturbation_dashboard(params=SMALL, data=SYN)
    draws = dash.n_draws
    if name == "start":  # start beyond stop: the bounds forbid it; moved by hand, stop is named
        dash.controls["start"].bounds = None
    _set(dash, name, value)
    status = html.unescape(dash.status.value)
    assert "Cannot train" in status and message in status, status
    dash.run_button.click()
    assert dash.wait(timeout=5)
    assert dash.outcome is None and dash.network is None and dash.n_draws == draws
    assert not dash.run_button.disabled and not dash.train_button.disabled


def test_run_draws_what_run_trial_gives_and_the_prediction(trained):
    dash = perturbation_dashboard(trained)
    assert list(dash.controls["population"].widget.options) == [
        n for n in POPULATIONS if n in balanced.populations(trained.network)]
    before = dash.image.value
    dash.run(block=True)
    o = dash.outcome
    assert o is not None and dash.error is None and dash.image.value != before
    assert "Done: ran the perturbation" in dash.status.value
    assert (o.population, o.current, o.start, o.stop, o.trained_loops) == ("I", 1.0, 300.0, 500.0, 2)
    # the same trials, run here without the dashboard
    net = trained.network
    pert = balanced.Perturbation("I", 1.0, 300.0, 500.0)
    trial = balanced.run_trial(net, "right", loop=0, record=o.sampled, split_inputs=True, perturbations=pert)
    control = balanced.run_trial(net, "right", loop=0, record=o.sampled, split_inputs=True)
    np.testing.assert_array_equal(trial.spike_times, o.trial.spike_times)
    fig = dash.figure
    for name, cells in (("E", np.arange(SMALL.Ne)), ("I", SMALL.Ne + np.arange(SMALL.Ni))):
        t, r = trial.psth(cells)
        _, rc = control.psth(cells)
        np.testing.assert_array_equal(fig.rate_lines[name, "perturbed"].get_xdata(), t)
        np.testing.assert_allclose(fig.rate_lines[name, "perturbed"].get_ydata(), r.mean(axis=1))
        np.testing.assert_allclose(fig.rate_lines[name, "control"].get_ydata(), rc.mean(axis=1))
    assert not np.array_equal(fig.rate_lines["I", "perturbed"].get_ydata(),
                              fig.rate_lines["I", "control"].get_ydata())
    # the input split of the perturbed I cells: E part + I part = the total input
    by = trial.inputs_by_source()
    n = o.sampled.size
    assert np.all(o.sampled >= SMALL.Ne) and n == SMALL.Ni  # 200 I cells: all recorded
    total = trial.run.total_input[:, :n].mean(axis=1)
    np.testing.assert_allclose(fig.input_lines["net"].get_ydata(), o.inputs["perturbed"]["net"])
    raw = sum(by[k][:, :n] for k in by).mean(axis=1)
    np.testing.assert_allclose(raw, total, atol=1e-9)
    half = int(round(5.0 / SMALL.record_every))
    smooth = balanced.moving_average(total[:, None], half)[:, 0]
    np.testing.assert_allclose(o.inputs["perturbed"]["net"], smooth, atol=1e-9)
    inside = (trial.run.t > 300) & (trial.run.t < 500)
    assert o.inputs["perturbed"]["E"][inside].mean() > o.inputs["control"]["E"][inside].mean() + 0.5  # the +1
    # the window is shaded, the prediction drawn in it at the control's mean plus balance_response
    span = fig.span_patches[0]
    assert (span.get_x(), span.get_x() + span.get_width()) == (300.0, 500.0) and span.axes is fig.rate_ax
    dr = balanced.balance_response(SMALL, 0.0, 1.0)
    np.testing.assert_allclose(o.predicted, dr)
    for k, name in enumerate("EI"):
        line = fig.predicted_lines[name]
        assert list(line.get_xdata()) == [300.0, 500.0]
        base = _window_means(fig.rate_lines[name, "control"].get_ydata(), o.t, 300, 500)
        assert line.get_ydata()[0] == pytest.approx(base + dr[k])
    title = fig.title.get_text()
    assert "network trained 2 loop(s)" in title and "balance prediction E" in title
    # a population that is not a whole one: no prediction, and the figure says why; the control is reused
    dash.controls["population"].widget.value = "trained"
    dash.controls["current"].widget.value = -3.0
    dash.run(block=True)
    assert dash.outcome.predicted is None and not fig.predicted_lines
    assert "whole populations only" in fig.title.get_text()
    assert ("trained", "perturbed") in fig.rate_lines
    control_again = dash._control
    dash.controls["current"].widget.value = -2.0
    dash.run(block=True)
    assert dash._control is control_again and dash.outcome.control is control_again  # one trial per Run


def test_untrained_weights_and_the_paradoxical_response_at_lecture_scale():
    """Lecture scale, untrained (a few seconds): extra drive to every I cell lowers the I rate, as the
    balance equations predict for this inhibition-stabilised network; the E rate falls more."""
    p = BalancedParams.lecture()
    net = balanced.build_network(p, synthetic_alm(100))
    o = run_perturbation(net, "I", 1.0, 1500.0, 2500.0)
    assert o.predicted[1] < 0 and o.predicted[0] < o.predicted[1]
    assert o.change[1] < 0 and o.change[0] < o.change[1]
    assert o.trained_loops == 0 and o.sampled.size == 200 and o.n_population == p.Ni


def test_the_weights_dropdown_runs_the_initial_weights(trained):
    dash = perturbation_dashboard(trained)
    dash.controls["weights"].widget.value = "untrained"
    dash.run(block=True)
    o = dash.outcome
    assert o.trained_loops == 0 and "untrained network" in dash.figure.title.get_text()
    net = trained.network.copy()
    net.w[...] = net.w0
    again = balanced.run_trial(net, "right", loop=0, record=o.sampled, perturbations=balanced.Perturbation(
        "I", 1.0, 300.0, 500.0))
    np.testing.assert_array_equal(again.spike_times, o.trial.spike_times)
    assert not np.array_equal(trained.network.w, trained.network.w0)  # the trained network is untouched


def test_train_trains_continues_and_runs_then_stop_leaves_a_consistent_state():
    dash = perturbation_dashboard(params=SMALL, data=SYN)
    dash.train_button.click()
    assert dash.wait(timeout=60)
    assert "Done after 2 loop(s) in" in dash.status.value and "In the window" in dash.status.value
    assert dash.result.n_loops == 2 and dash.outcome.trained_loops == 2
    assert dash.network is dash.result.network
    # more loops continue from there; Stop after the first one
    dash.controls["n_loops"].widget.value = 50
    entered, release = threading.Event(), threading.Event()
    original = dash.figure.update

    def slow_update(loop, record, scores):  # hold the first loop until Stop has been pressed
        original(loop, record, scores)
        entered.set()
        release.wait(10)

    dash.figure.update = slow_update
    outcome = dash.outcome
    dash.train_button.click()
    assert dash.running and dash.run_button.disabled
    assert entered.wait(60)
    assert "training loop 1" in dash.figure.title.get_text()
    dash.stop_button.click()
    release.set()
    assert dash.wait(timeout=30)
    assert "Stopped after 1 loop(s) (3 in all)" in dash.status.value  # as the figure title counts them
    assert dash.result.stopped and dash.result.n_loops == 3 and dash.network is dash.result.network
    assert dash.outcome is outcome  # no run after a stopped training
    assert not dash.run_button.disabled and not dash.train_button.disabled and dash.stop_button.disabled
    np.testing.assert_array_equal(dash.network.w, dash.result.rls.w)
    dash.figure.update = original
    dash.run(block=True)
    assert dash.outcome.trained_loops == 3 and "Done: ran the perturbation" in dash.status.value


def test_stop_between_the_two_trials_of_a_run_keeps_the_previous_figure(trained):
    dash = perturbation_dashboard(trained)
    draws = dash.n_draws
    real = balanced.run_trial
    calls = []

    def run_then_stop(*args, **kwargs):
        calls.append(kwargs.get("perturbations"))
        out = real(*args, **kwargs)
        dash.stop()  # pressed while the control trial runs
        return out

    dash._balanced = type("B", (), {"run_trial": staticmethod(run_then_stop)})()
    dash.run(block=True)
    assert calls == [None]  # the perturbed trial never started
    assert dash.outcome is None and dash.n_draws == draws and "Stopped" in dash.status.value
    assert not dash.run_button.disabled and dash.stop_button.disabled


def test_a_current_that_makes_the_network_run_away_is_reported_with_advice(trained):
    net = trained.network.copy()
    net.params = replace(net.params, max_rate=15.0)  # +5 into every cell for 200 of 600 ms: 21 Hz on average
    dash = perturbation_dashboard(net)
    dash.controls["population"].widget.value = "all"
    dash.controls["current"].widget.value = 5.0
    dash.run(block=True)
    status = dash.status.value
    assert dash.failure is not None and dash.failure.kind == "runaway" and dash.outcome is None
    assert dash.advice.knobs[0] == "current" and "Traceback" not in status
    assert "Cannot train" in status and "pushed the network out of balance" in status
    assert "On this dashboard: lower current" in status
    assert "You just moved current (from 1 to 5)" in status
    dash.controls["current"].widget.value = 0.5  # and the dashboard recovers
    dash.run(block=True)
    assert dash.error is None and dash.outcome is not None


def test_run_perturbation_names_bad_arguments_before_running(trained):
    net = trained.network
    for kwargs, message in [
        (dict(population="inhibitory"), "population must be one of"),
        (dict(condition="up"), "condition must be one of"),
        (dict(current=9.0), "current (the added input"),
        (dict(start=600.0), "start (when the perturbation starts, ms, within the trial [0, 600))"),
        (dict(start=300.05, stop=500.0), "start must be a positive whole multiple of dt"),
    ]:
        with pytest.raises(ValueError) as info:
            run_perturbation(net, **kwargs)
        assert message in str(info.value), str(info.value)
    with pytest.raises(TypeError, match="network"):
        perturbation_dashboard("a network")
    with pytest.raises(ValueError, match="params must be None"):
        perturbation_dashboard(trained, params=SMALL)
