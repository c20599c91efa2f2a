"""The Part 2 dashboard, driven headless through its widget objects."""

import threading
from dataclasses import replace

import numpy as np
import pytest

from tutorial_lib import SpikingParams
from tutorial_lib.dashboard import spiking_dashboard

# 30 neurons, 1.2 s trials: a loop takes a few hundredths of a second
SMALL = SpikingParams(N=30, stim_on=100.0, stim_off=200.0, train_duration=1000.0, target_period=1000.0,
                      n_loops=3)


def test_initial_view_shows_the_untrained_network():
    dash = spiking_dashboard(SMALL)
    assert dash.image.value[:4] == b"\x89PNG"
    assert "press Train" in dash.status.value and "tau_s = 200 ms" in dash.status.value
    assert dash.result is None
    assert len(dash.figure.lines) == 3
    assert dash.figure.raster.get_offsets().shape[0] > 0  # the untrained network's spikes


def test_slider_change_then_train_changes_the_figure_and_the_result():
    dash = spiking_dashboard(SMALL)
    before = dash.image.value
    raster_before = np.array(dash.figure.raster.get_offsets())
    dash.controls["tau_s"].widget.value = 100.0
    dash.controls["sigma"].widget.value = 0.2
    dash.controls["n_loops"].widget.value = 4
    dash.controls["train_fraction"].widget.value = 0.5
    assert "tau_s = 100 ms" in dash.status.value and "15 trained" in dash.status.value
    dash.train_button.click()
    assert dash.wait(timeout=120)
    res = dash.result
    assert res.params.tau_s == pytest.approx(100.0) and res.params.sigma == 0.2
    assert res.params.n_trained == 15 and res.params.N == SMALL.N
    assert len(res.scores) == 4 and np.isfinite(res.scores).all()
    assert dash.progress.value == 4
    assert dash.image.value != before
    assert dash.n_draws >= 1 + 1 + 4  # the initial view, the new preview, one redraw per loop
    # the live figure shows the last loop: its raster and the inputs of trained neurons
    last = res.last
    np.testing.assert_array_equal(dash.figure.raster.get_offsets()[:, 0], last.spike_times)
    assert not np.array_equal(np.array(dash.figure.raster.get_offsets()), raster_before)
    assert set(dash.figure.neurons) <= set(res.network.trained)
    i = dash.figure.neurons[0]
    np.testing.assert_array_equal(dash.figure.lines[0].get_ydata(), last.total_input[:, i])
    assert dash.figure.score_line.get_xdata().tolist() == [0, 1, 2, 3, 4]  # loop 0: the untrained network
    assert "Done after 4 loop(s)" in dash.status.value
    assert not dash.train_button.disabled and dash.stop_button.disabled


def test_K_slider_maps_its_maximum_to_all_to_all():
    dash = spiking_dashboard(SMALL)
    dash.controls["K"].widget.value = 10
    assert dash.params().n_inputs == 10
    dash.controls["K"].widget.value = SMALL.N - 1
    assert dash.params().K is None


def test_stop_button_stops_training_early():
    dash = spiking_dashboard(SMALL)
    dash.controls["n_loops"].widget.value = 100
    entered, release = threading.Event(), threading.Event()
    original = dash.figure.update

    def slow_update(loop, trial, scores):  # hold the first loop until Stop has been pressed
        original(loop, trial, scores)
        entered.set()
        release.wait(10)

    dash.figure.update = slow_update
    dash.train_button.click()
    assert dash.running
    assert entered.wait(60)  # training is under way: one loop done
    dash.stop_button.click()
    release.set()
    assert dash.wait(timeout=60)
    assert dash.result.stopped
    assert len(dash.result.scores) == 1
    assert dash.progress.value == 1
    assert "Stopped" in dash.status.value


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("sigma", -0.5, "sigma (weight scale) must be &gt; 0"),
        ("tau_s", 0.05, "tau_s must be &gt;= dt = 0.1 ms"),
    ],
)
def test_invalid_value_is_shown_and_nothing_trains(name, value, message):
    dash = spiking_dashboard(SMALL)
    draws = dash.n_draws
    w = dash.controls[name].widget
    if name == "tau_s":
        w.min = -2  # a log slider: the exponent; 10^-2 ms is allowed by the widget, not by the model
    else:
        w.min = -1.0
    w.value = value
    assert message in dash.status.value
    dash.train_button.click()
    assert dash.wait(timeout=5)
    assert dash.result is None and dash.n_draws == draws
    assert not dash.train_button.disabled
    w.value = SMALL.sigma if name == "sigma" else SMALL.tau_s  # and the dashboard recovers
    assert "press Train" in dash.status.value


def test_diverging_network_is_reported_with_advice_and_the_dashboard_survives():
    dash = spiking_dashboard(SMALL)
    dash.controls["sigma"].widget.value = 5.0  # the spontaneous run (tau_s = 3 ms) runs away
    dash.train_button.click()
    assert dash.wait(timeout=60)
    assert "Cannot train" in dash.status.value and "ran away" in dash.status.value
    assert "lower sigma (now 5, far above 0.3)" in dash.status.value
    assert "You just moved sigma (weights) (from 0.3 to 5)" in dash.status.value
    assert dash.failure.kind == "runaway" and dash.failure.phase == "untrained"
    assert dash.advice.knobs[0] == "sigma"
    assert dash.result is None
    assert dash.figure.failed_note.startswith("previous run")  # not the earlier good run, unmarked
    dash.controls["sigma"].widget.value = SMALL.sigma
    dash.train_button.click()
    assert dash.wait(timeout=60)
    assert dash.result is not None and np.isfinite(dash.result.scores).all()


def test_a_network_that_diverges_from_the_start_still_gives_a_dashboard():
    dash = spiking_dashboard(replace(SMALL, sigma=5.0))
    assert dash.result is None and dash.n_draws == 0
    assert "Cannot train" in dash.status.value and "lower sigma" in dash.status.value
