"""The Part 3 dashboard, driven headless through its widget objects (a tiny network: a loop in 0.1 s)."""

import threading

import numpy as np
import pytest

from tutorial_lib import BalancedParams
from tutorial_lib.dashboard import balanced_dashboard
from tutorial_lib.data import load_alm

# 400 neurons (200 E), 30 trained ALM neurons, 0.6 s trials, a test after every loop
SMALL = BalancedParams.lecture(N=400, K=40, n_trained=30, L=5, n_ffwd=20, stim_on=100.0, stim_off=200.0,
                               train_duration=400.0, n_loops=2, score_every=1, n_test_trials=2)


@pytest.fixture(scope="module")
def data():
    return load_alm(fallback="synthetic")  # the real recordings if TUTORIAL_ALM_DATA or the cache has them


def test_initial_view_shows_the_targets_of_both_licks_before_any_simulation(data):
    dash = balanced_dashboard(SMALL, data=data)
    assert dash.image.value[:4] == b"\x89PNG"
    assert "press Train" in dash.status.value
    status = dash.status.value
    assert f"30 of {data.n_neurons} {data.label} neurons trained = 15.0 % of the Ne = 200 E neurons" in status
    assert "it builds the network first" in dash.status.value
    assert dash.result is None and dash.build_seconds is None  # nothing built yet
    fig = dash.figure
    assert {c for _, c in fig.lines} == {"right", "left"} and len(fig.lines) == 2 * 3
    assert all(np.isnan(line.get_ydata()).all() for line in fig.lines.values())  # no input yet: targets only
    assert dash.controls["g"].widget.description == "g"  # the field's name (sigma is a weight std in parts 1, 2)
    assert dash.controls["K"].widget.max == 199  # Ne (N - 1) / N: each neuron projects to N K / Ne <= N - 1


def test_lecture_defaults(data):
    dash = balanced_dashboard(data=data)
    p = dash.params()
    assert p == BalancedParams.lecture()
    assert (p.N, p.K, p.n_trained, p.n_loops) == (2000, 200, 100, 30)
    assert "100 of" in dash.status.value and "10.0 % of the Ne = 1000" in dash.status.value


def _set(dash, name, value):
    w = dash.controls[name].widget
    w.max = max(w.max, value)  # the sliders' own bounds are the valid ones: open them to reach bad values
    w.value = value


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("K", 300, "K (excitatory inputs per neuron) must be in [1, 199]"),
        ("L", 30, "n_trained (ALM neurons trained) must be in [L + 1, Ne] = [31, 200]"),
        ("n_trained", 250, "n_trained (ALM neurons trained) must be in [L + 1, Ne] = [6, 200]"),
    ],
)
def test_invalid_combination_is_named_in_the_status_and_nothing_trains(data, name, value, message):
    dash = balanced_dashboard(SMALL, data=data)
    draws = dash.n_draws
    _set(dash, name, value)
    assert "Cannot train" in dash.status.value and message in dash.status.value
    assert "Traceback" not in dash.status.value
    dash.train_button.click()
    assert dash.wait(timeout=5)
    assert dash.result is None and dash.n_draws == draws and not dash.train_button.disabled
    dash.controls[name].widget.value = getattr(SMALL, name)  # and the dashboard recovers
    assert "press Train" in dash.status.value


def test_more_trained_neurons_than_the_data_hold_is_named(data):
    few = data.subset(np.arange(40))  # 40 ALM neurons, 200 E neurons
    dash = balanced_dashboard(SMALL, data=few)
    assert dash.controls["n_trained"].widget.max == 40
    _set(dash, "n_trained", 60)
    message = "n_trained (ALM neurons trained) must be in [L + 1, 40]: the data hold 40 neurons"
    assert message in dash.status.value
    dash.train_button.click()
    assert dash.wait(timeout=5) and dash.result is None


def test_lambda_must_be_positive(data):
    dash = balanced_dashboard(SMALL, data=data)
    control = dash.controls["lam_rec"]
    control.to_param = lambda v: v - 1.0  # the log slider cannot reach 0: shift its values instead
    control.widget.value = 0.5
    assert "lam_rec (RLS penalty) must be &gt; 0" in dash.status.value
    dash.train_button.click()
    assert dash.wait(timeout=5) and dash.result is None


def test_train_builds_the_network_updates_the_figure_and_reuses_the_network(data):
    dash = balanced_dashboard(SMALL, data=data)
    before = dash.image.value
    dash.train_button.click()
    assert dash.wait(timeout=60)
    res = dash.result
    assert "Done after 2 loop(s)" in dash.status.value and "Test after loop 2" in dash.status.value
    assert len(res.scores) == 2 and np.isfinite(res.scores).all()
    assert dash.progress.value == 2 and dash.build_seconds is not None
    assert dash.image.value != before
    assert dash.n_draws >= 1 + 1 + 2  # the targets, the built network, one redraw per loop
    fig = dash.figure
    # the figure shows the last loop: the windowed input of the example neurons in both conditions
    cols = fig.columns
    assert set(res.network.trained[cols]) <= set(res.network.trained)
    for (row, c), line in fig.lines.items():
        np.testing.assert_array_equal(line.get_ydata(), res.last.trials[c].binned[:, cols[row]])
        np.testing.assert_array_equal(line.axes.lines[0].get_ydata(), res.last.trials[c].target[:, cols[row]])
    assert fig.score_line.get_xdata().tolist() == [0, 1, 2]  # loop 0: the untrained network
    np.testing.assert_allclose(fig.test_avg_line.get_ydata(), res.test_scores_avg)
    assert not dash.train_button.disabled and dash.stop_button.disabled

    # lambda and loops change RLS only: the same network is trained again, from its initial weights
    dash.controls["lam_rec"].widget.value = 0.1
    dash.controls["n_loops"].widget.value = 1
    assert "the network is built: training starts at once" in dash.status.value
    static = res.network.static
    dash.train_button.click()
    assert dash.wait(timeout=60)
    again = dash.result
    assert again.network.static is static and again.params.lam_rec == pytest.approx(0.1)
    assert len(again.scores) == 1 and "Done after 1 loop(s)" in dash.status.value
    np.testing.assert_array_equal(again.network.w0, res.network.w0)
    # any other knob builds a new network
    dash.controls["seed"].widget.value = 1
    assert "it builds the network first" in dash.status.value
    dash.train_button.click()
    assert dash.wait(timeout=60)
    assert dash.result.network.static is not static and dash.result.params.seed == 1


def test_stop_button_stops_training_within_a_loop(data):
    dash = balanced_dashboard(SMALL, data=data)
    dash.controls["n_loops"].widget.value = 100
    entered, release = threading.Event(), threading.Event()
    original = dash.figure.update

    def slow_update(loop, record, scores):  # hold the first loop until Stop has been pressed
        original(loop, record, scores)
        entered.set()
        release.wait(10)

    dash.figure.update = slow_update
    dash.train_button.click()
    assert dash.running
    assert entered.wait(60)
    dash.stop_button.click()
    release.set()
    assert dash.wait(timeout=30)
    assert dash.result.stopped and len(dash.result.scores) == 1
    assert dash.progress.value == 1 and "Stopped after 1 loop(s)" in dash.status.value


@pytest.mark.parametrize(
    "g, kind, says",
    [
        (3.0, "runaway", ["Cannot train", "ran away", "lower g (now 3, far above 1)", "On this dashboard: lower g"]),
        (0.1, "silent",
         ["Cannot train", "No I neuron fired", "raise g (now 0.1, far below 1)", "On this dashboard: raise g"]),
    ],
)
def test_a_network_that_fails_is_reported_with_advice_and_the_dashboard_survives(data, g, kind, says):
    dash = balanced_dashboard(SMALL, data=data)
    dash.controls["g"].widget.value = g
    dash.train_button.click()
    assert dash.wait(timeout=60)
    for text in says:
        assert text in dash.status.value
    assert "You just moved g (from 1 to" in dash.status.value
    assert dash.failure.kind == kind and dash.advice.knobs[0] == "g"
    assert dash.result is None and "Traceback" not in dash.status.value
    dash.controls["g"].widget.value = SMALL.g
    dash.controls["n_loops"].widget.value = 1
    dash.train_button.click()
    assert dash.wait(timeout=60)
    assert dash.result is not None and "Done after 1 loop(s)" in dash.status.value
