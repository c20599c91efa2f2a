"""The Part 1 dashboard, driven headless through its widget objects."""

import threading
from dataclasses import replace

import numpy as np
import pytest

from tutorial_lib import RateParams
from tutorial_lib.dashboard import rate_dashboard

SMALL = RateParams(N=30, train_duration=100.0, n_loops=3)


def test_initial_view_shows_the_untrained_network():
    dash = rate_dashboard(SMALL)
    assert dash.image.value[:4] == b"\x89PNG"
    assert "press Train" in dash.status.value
    assert dash.result is None


def test_slider_change_then_train_changes_the_figure_and_the_result():
    dash = rate_dashboard(SMALL)
    before = dash.image.value
    dash.controls["sigma"].widget.value = 0.25
    dash.controls["n_loops"].widget.value = 4
    dash.controls["train_fraction"].widget.value = 0.5
    assert "g = sigma" in dash.status.value and "1.37" in dash.status.value
    dash.train_button.click()
    assert dash.wait(timeout=120)
    res = dash.result
    assert res.params.sigma == 0.25 and res.params.n_trained == 15
    assert len(res.scores) == 4
    assert dash.progress.value == 4
    assert dash.image.value != before
    assert dash.n_draws >= 1 + 4  # the preview, then one redraw per loop
    assert "Done after 4 loop(s)" in dash.status.value
    assert not dash.train_button.disabled and dash.stop_button.disabled


def test_stop_button_stops_training_early():
    dash = rate_dashboard(SMALL)
    dash.controls["n_loops"].widget.value = 200
    release = threading.Event()
    original = dash.figure.update

    def slow_update(loop, trial, scores):  # hold the first loop until Stop has been pressed
        original(loop, trial, scores)
        release.wait(10)

    dash.figure.update = slow_update
    dash.train_button.click()
    assert dash.running
    dash.stop_button.click()
    release.set()
    assert dash.wait(timeout=60)
    assert dash.result.stopped
    assert len(dash.result.scores) < 200
    assert "Stopped" in dash.status.value


def test_invalid_value_is_shown_and_nothing_trains():
    dash = rate_dashboard(SMALL)
    sigma = dash.controls["sigma"].widget
    sigma.min = -1.0
    sigma.value = -0.5
    assert "sigma (weight scale) must be &gt; 0" in dash.status.value
    dash.train_button.click()
    assert dash.wait(timeout=5)
    assert dash.result is None
    sigma.value = 0.1  # and the dashboard recovers
    assert "press Train" in dash.status.value


def test_diverging_network_is_reported_with_advice_and_the_dashboard_survives():
    dash = rate_dashboard(replace(SMALL, N=100))
    dash.controls["sigma"].widget.value = 1.0  # g = 10: the rates blow up during the stimulus
    dash.train_button.click()
    assert dash.wait(timeout=60)
    assert "Cannot train" in dash.status.value and "lower sigma" in dash.status.value
    assert "before the training window" in dash.status.value
    err = dash.failure  # the cause as data: a runaway in loop 1, before RLS could act
    assert (err.kind, err.phase, err.loop) == ("runaway", "learning", 0) and err.t_ms < err.params.stim_off
    assert dash.advice.knobs[0] == "sigma" and "You just moved sigma (weights)" in dash.status.value
    assert dash.figure.failed_note.startswith("this run failed")  # its preview was drawn, then it failed
    dash.controls["sigma"].widget.value = 0.1
    dash.train_button.click()
    assert dash.wait(timeout=60)
    assert dash.result is not None and np.isfinite(dash.result.scores).all()


@pytest.mark.parametrize("K", [5, 29])
def test_K_slider_maps_its_maximum_to_all_to_all(K):
    dash = rate_dashboard(SMALL)
    dash.controls["K"].widget.value = K
    p = dash.params()
    assert p.n_inputs == K
    assert (p.K is None) == (K == SMALL.N - 1)
