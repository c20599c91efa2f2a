"""Errors as data (issues #11 item 5, #12 items 5 and 6).

A :class:`DivergenceError` carries its cause (kind, phase, time, neuron, loop, condition, params);
each part's ``advice(err, params, reference)`` names the knobs that most plausibly caused it; the
dashboards show that advice, say which slider was just moved, and mark a figure that still shows
an earlier run. Nothing here matches message text to decide anything: the checks read the fields.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from tutorial_lib import BalancedParams, DivergenceError, RateParams, SpikingParams
from tutorial_lib import balanced, rate, spiking_net
from tutorial_lib.dashboard import (balanced_dashboard, perturbation_dashboard, rate_dashboard,
                                    spiking_dashboard)
from tutorial_lib.data import synthetic_alm
from tutorial_lib.errors import Advice

SYN = synthetic_alm(60)
RATE = RateParams(N=30, train_duration=100.0, n_loops=1)
SPIKING = SpikingParams(N=30, stim_on=100.0, stim_off=200.0, train_duration=400.0, target_period=400.0,
                        n_loops=1)
BALANCED = BalancedParams.lecture(N=400, K=40, n_trained=30, L=5, n_ffwd=20, stim_on=100.0, stim_off=200.0,
                                  train_duration=400.0, n_loops=1, score_every=1, n_test_trials=1)


def _raised(fn) -> DivergenceError:
    with pytest.raises(DivergenceError) as info:
        fn()
    err = info.value
    assert isinstance(err.advice, Advice) and err.advice.knobs, "every part attaches its advice"
    assert err.params is not None
    return err


# ---------------------------------------------------------------------------
# The fields, for each kind and phase of each part (tiny networks that fail on purpose)


def test_part1_fields():
    err = _raised(lambda: rate.run_trial(rate.build_network(replace(RATE, sigma=1.0))))
    assert (err.kind, err.phase, err.loop, err.condition) == ("runaway", "untrained", None, None)
    assert 0 < err.t_ms <= RATE.t_end and 0 <= err.neuron < RATE.N
    net = rate.build_network(RATE)
    net.W[3, net.presyn[3, 0]] = np.nan
    err = _raised(lambda: rate.run_trial(net))
    assert (err.kind, err.neuron) == ("nonfinite", 3)
    err = _raised(lambda: rate.train(replace(RATE, lam=1e-8, n_loops=4), progress=False))
    assert (err.kind, err.phase) == ("runaway", "learning") and err.loop is not None
    assert err.t_ms > RATE.stim_off and err.advice.knobs[0] == "lam" and err.advice.moved == ("lam",)


def test_part2_fields():
    err = _raised(lambda: spiking_net.build_network(replace(SPIKING, sigma=5.0)))  # the spontaneous run
    assert (err.kind, err.phase, err.loop) == ("runaway", "untrained", None)
    assert err.advice.knobs[0] == "sigma" and err.advice.moved == ("sigma",)
    big = replace(SPIKING, target_amplitude=1e4, n_loops=2)
    err = _raised(lambda: spiking_net.train(big, progress=False))
    assert err.phase == "learning" and err.loop is not None and err.kind in ("runaway", "nonfinite")
    assert err.t_ms > SPIKING.stim_off  # RLS acted: it changed the weights too much
    assert err.advice.knobs[0] == "target_amplitude" and "lam" in err.advice.knobs


def test_part3_fields():
    err = _raised(lambda: balanced.build_network(replace(BALANCED, g=0.2), SYN))
    assert (err.kind, err.phase, err.neuron, err.t_ms) == ("silent", "static", None, BALANCED.t_end)
    err = _raised(lambda: balanced.build_network(replace(BALANCED, max_rate=2.0), SYN))
    assert (err.kind, err.phase) == ("runaway", "static") and err.advice.knobs[0] == "max_rate"
    penalties = dict(lam_rec=1e-9, mu_rs=0.0, lam_ff=1e-9)  # no penalty: RLS's first steps are huge
    err = _raised(lambda: balanced.train(replace(BALANCED, **penalties), data=SYN, progress=False))
    assert (err.kind, err.phase, err.loop) == ("runaway", "learning", 0)
    assert err.condition in ("right", "left")
    assert set(err.advice.knobs[:3]) == set(penalties) == set(err.advice.moved)
    err = _raised(lambda: balanced.train(replace(BALANCED, stim_amplitude=50.0), data=SYN, progress=False))
    assert (err.kind, err.phase, err.loop, err.condition) == ("runaway", "test", None, "right")
    assert err.advice.knobs[0] == "stim_amplitude"


def test_the_error_pickles_with_its_fields():
    import pickle

    err = _raised(lambda: rate.run_trial(rate.build_network(replace(RATE, sigma=1.0))))
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err)
    assert (again.kind, again.phase, again.neuron) == (err.kind, err.phase, err.neuron)


# ---------------------------------------------------------------------------
# The advice names the knob that caused it (issue #12 item 5)


def _err(params, kind, phase, **fields):
    t_ms = fields.pop("t_ms", 2000.0)
    return DivergenceError("x", kind=kind, phase=phase, t_ms=t_ms, params=params, **fields)


@pytest.mark.parametrize("change, kind, phase, expected", [
    (dict(K=10), "silent", "static", {"K"}),  # was: "the static network is silent: raise sigma"
    (dict(g=0.1), "silent", "static", {"g"}),
    (dict(g=3.0), "runaway", "learning", {"g"}),  # was blamed on the RLS penalty
    (dict(K=999), "runaway", "learning", {"K"}),  # was blamed on the RLS penalty
    (dict(lam_rec=1e-6), "runaway", "learning", {"lam_rec"}),
    (dict(g=3.0), "runaway", "static", {"g"}),
])
def test_part3_advice_names_the_moved_knob_first(change, kind, phase, expected):
    lecture = BalancedParams.lecture()
    err = _err(replace(lecture, **change), kind, phase, loop=0, condition="left")
    advice = balanced.advice(err, reference=lecture)
    assert advice.knobs[0] in expected and set(advice.moved) == set(change)
    assert advice.knobs[0] != "lam_rec" or "lam_rec" in change


@pytest.mark.parametrize("part, params, change, phase, loop, expected", [
    (rate, RateParams(), dict(lam=1e-4), "learning", 2, "lam"),
    (rate, RateParams(), dict(sigma=0.5), "untrained", None, "sigma"),
    (rate, RateParams(), dict(K=20), "untrained", None, "sigma"),  # fewer inputs: not a cause of a blow-up
    (spiking_net, SpikingParams(), dict(lam=1e-4), "learning", 2, "lam"),
    (spiking_net, SpikingParams(), dict(sigma=5.0), "untrained", None, "sigma"),
    (spiking_net, SpikingParams(), dict(mu=3.0), "untrained", None, "mu"),
])
def test_parts_1_and_2_advice_names_the_moved_knob_first(part, params, change, phase, loop, expected):
    err = _err(replace(params, **change), "runaway", phase, loop=loop, t_ms=params.t_end)
    assert part.advice(err).knobs[0] == expected


# ---------------------------------------------------------------------------
# Every slider of every dashboard at both extremes: it trains, or the status names a relevant knob


DASHBOARDS = {"rate": lambda: rate_dashboard(RATE), "spiking": lambda: spiking_dashboard(SPIKING),
              "balanced": lambda: balanced_dashboard(BALANCED, data=SYN),
              "perturbation": lambda: perturbation_dashboard(params=BALANCED, data=SYN)}
_BUILT: dict = {}


def _dashboard(name):
    if name not in _BUILT:
        _BUILT[name] = DASHBOARDS[name]()
    return _BUILT[name]


def _extremes(widget):
    if hasattr(widget, "base"):  # a log slider: min and max are exponents
        return {"min": widget.base ** widget.min, "max": widget.base ** widget.max}
    if hasattr(widget, "min"):
        return {"min": widget.min, "max": widget.max}
    if hasattr(widget, "options"):  # a dropdown: its first and last choice
        values = [o[1] if isinstance(o, tuple) else o for o in widget.options]
        return {"first": values[0], "last": values[-1]}
    return {"off": False, "on": True}  # a checkbox


def _names(text, name):
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w])", text) is not None


CASES = [(name, field, which) for name in DASHBOARDS for field in _dashboard(name).controls
         for which in _extremes(_dashboard(name).controls[field].widget)]


@pytest.mark.parametrize("name, field, which", CASES, ids=[f"{n}-{f}-{w}" for n, f, w in CASES])
def test_every_slider_at_both_extremes_trains_or_names_a_relevant_knob(name, field, which):
    dash = _dashboard(name)
    widget = dash.controls[field].widget
    start = widget.value
    original = dash._after_loop
    try:
        widget.value = _extremes(widget)[which]
        if field == "n_loops":  # the longest training: two loops show it runs
            dash._after_loop = lambda loop, trial, scores: original(loop, trial, scores) and loop < 1
        dash.start(block=True)
        status = dash.status.value
        assert "Details:" not in status and "Traceback" not in status  # no unexpected exception
        if dash.result is not None and dash.error is None:
            assert np.all(np.isfinite(dash.result.scores))
            return
        assert "Cannot train" in status and dash.error
        if dash.failure is None:  # a refusal: the message names a parameter of the model
            assert _names(dash.error, field) or any(_names(dash.error, f) for f in dash.controls), dash.error
            return
        knobs = dash.advice.knobs
        assert knobs and any(_names(status, k) for k in knobs), status
        assert _names(status, field) or field in knobs or any(_names(status, k) for k in knobs)
        if field in knobs:  # the slider just moved is a plausible cause: the status says so
            assert f"You just moved {widget.description}" in status
        if dash.n_draws:
            assert dash.figure.failed_note is not None  # the figure is marked, not left as if current
    finally:
        dash._after_loop = original
        widget.value = start


# ---------------------------------------------------------------------------
# A stale figure beside an error (issue #12 item 6)


def test_a_failed_run_marks_the_figure_of_the_previous_run():
    dash = spiking_dashboard(SPIKING)
    dash.start(block=True)
    assert dash.result is not None and dash.figure.failed_note is None
    good = dash.image.value
    dash.controls["sigma"].widget.value = 5.0  # the spontaneous run runs away before anything is drawn
    dash.start(block=True)
    assert dash.failure.kind == "runaway" and dash.failure.phase == "untrained"
    assert dash.figure.failed_note.startswith("previous run")
    assert dash.image.value != good  # the mark is in the image the page shows
    assert all(line.get_alpha() == 0.25 for line in dash.figure.lines)
    dash.controls["sigma"].widget.value = SPIKING.sigma
    dash.start(block=True)
    assert dash.result is not None and dash.figure.failed_note is None  # a new run draws anew


def test_a_run_that_fails_after_drawing_is_marked_as_failed_not_previous():
    dash = rate_dashboard(RATE)
    dash.controls["lam"].widget.value = 1e-3
    p = replace(dash.params(), lam=1e-8, n_loops=5)
    dash.params = lambda: p  # a lambda below the slider's range: RLS blows up in a later loop
    dash.start(block=True)
    assert dash.failure.phase == "learning" and dash.failure.loop is not None
    assert dash.figure.failed_note.startswith("this run failed")
    assert "You just moved lambda (RLS)" in dash.status.value
