"""Every value the notebooks' text suggests is accepted, can be set on the dashboard it names, and runs
(issue #12 item 4: Part 3 suggested 20 trained neurons, which L = 20 refuses).

Each row quotes the notebook's words (so a change of the text shows here), the parameters the
notebook starts from, and the values it suggests. ``dash``: the values are set on the notebook's
dashboard, in order, and must be accepted there; ``run``: one tiny training loop (finite scores, or a
DivergenceError with advice for a network the text expects to run away).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import ipywidgets as widgets
import pytest

from tutorial_lib import BalancedParams, DivergenceError, RateParams, SpikingParams
from tutorial_lib import balanced, dashboard, rate, spiking_net
from tutorial_lib.data import synthetic_alm
from tutorial_lib.spiking_net import simulate_pair

NB = Path(__file__).resolve().parents[1] / "notebooks"
R, S, B = RateParams(), SpikingParams(), BalancedParams.lecture()

# (notebook, words of the text, base parameters, [changes, ...], dash, run)
SUGGESTED = [
    ("01", "Make $\\lambda$ very small and very large", R, [dict(lam=1e-3), dict(lam=100.0)], True, True),
    ("01", "Raise $g$ step by step above 1", R, [dict(sigma=s) for s in (0.12, 0.14, 0.2, 0.5, 1.0)], True,
     True),
    ("01", "10 % of them are trained", R, [dict(train_fraction=0.1)], True, True),
    ("01", "Lower $K$, the number of inputs per neuron", R, [dict(K=k) for k in (30, 10, 5, 2, 1)], True,
     True),
    ("01", "At $\\lambda = 100$ the learning shows", R, [dict(lam=100.0, n_loops=20)], True, True),
    ("01", "$\\lambda = 0.01$, $0.5$ and $50$", R, [dict(lam=v, n_loops=10) for v in (0.01, 0.5, 50.0)],
     True, True),
    ("01", "With `train_fraction=0.5`", R, [dict(train_fraction=0.5, n_loops=20)], True, True),
    ("01", "$\\sigma = 0.10, 0.12, 0.13, 0.14, 0.15, 0.20$", R,
     [dict(sigma=s) for s in (0.10, 0.12, 0.13, 0.14, 0.15, 0.20)], True, True),
    ("01", "$K = 2, 5, 10, 30$", R, [dict(K=k, sigma=1 / np.sqrt(k), n_loops=20) for k in (2, 5, 10, 30)],
     False, True),
    ("02", "Lower $\\tau_s$ step by step from 200 ms", S, [dict(tau_s=v) for v in (100.0, 50.0, 20.0, 10.0,
                                                                                   3.0, 1.0)],
     True, True),
    ("02", "Make $\\lambda$ very small ($\\lambda = 0.01$) and very large ($\\lambda = 50$)", S,
     [dict(lam=0.01), dict(lam=50.0)], True, True),
    ("02", "Train only a fifth of the neurons (trained fraction $0.2$)", S, [dict(train_fraction=0.2)], True, True),
    ("02", "Lower $K$, the number of inputs per neuron", S, [dict(K=k) for k in (50, 10, 5, 1)], True, True),
    ("02", "Raise $\\sigma$", S, [dict(sigma=s) for s in (0.5, 1.0, 2.0, 5.0)], True, True),
    ("02", "The cell trains with $\\tau_s = 50$ and $20$ ms", S, [dict(tau_s=50.0), dict(tau_s=20.0)], True, True),
    ("02", "`SpikingParams(error_noise=2.0)`", S, [dict(error_noise=2.0)], False, True),
    ("03", "Train fewer neurons (30) and more (400)", B, [dict(n_trained=30), dict(n_trained=400)], True,
     False),
    ("03", "Lower $L$ first to train fewer", B, [dict(L=10), dict(L=10, n_trained=20)], True, False),
    ("03", "Switch the feedforward inputs off", B, [dict(ffwd=False)], True, False),
    ("03", "Lower $K$. At which point", B, [dict(K=k) for k in (100, 50, 20, 10)], True, False),
    ("03", "Raise the coupling $g$ (the \"g\" slider)", B, [dict(g=v) for v in (1.5, 2.0, 3.0)], True, False),
    ("03", "$N = 2000$ and $K = 50, 200, 800$", BalancedParams(), [dict(N=2000, K=k) for k in (50, 200, 800)],
     False, False),
    ("03", "Section 5 uses 10 test trials", B, [dict(n_test_trials=10)], False, False),
]
CASES = [pytest.param(*row, id=f"{row[0]}-{i}") for i, row in enumerate(SUGGESTED)]
N_VALUES = sum(len(row[3]) for row in SUGGESTED)


def _markdown(nb: str) -> str:
    path = next(NB.glob(f"{nb}_*.ipynb"))
    cells = json.loads(path.read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return re.sub(r"\s+", " ", text)


ALM = synthetic_alm(1824)  # as many neurons as the recordings (the dashboard's bounds depend on them)
_DASH: dict = {}


def _dash(nb):
    if nb not in _DASH:
        _DASH[nb] = {"01": lambda: dashboard.rate_dashboard(), "02": lambda: dashboard.spiking_dashboard(),
                     "03": lambda: dashboard.balanced_dashboard(data=ALM)}[nb]()
    return _DASH[nb]


def _tiny(nb, p):
    """One loop (Part 2 on a shorter trial: 0.6 s instead of 3 s)."""
    try:
        if nb == "01":
            res = rate.train(replace(p, n_loops=1), progress=False)
        else:
            q = replace(p, n_loops=1, stim_on=100.0, stim_off=200.0, train_duration=400.0,
                        target_period=400.0)
            res = spiking_net.train(q, progress=False)
    except DivergenceError as exc:  # a network the text expects to run away: said, with advice
        assert re.search(r"\b(lower|raise|Lower|Raise)\b", str(exc)), str(exc)
        return
    assert np.all(np.isfinite(res.scores)) and np.all(np.abs(res.scores) <= 1 + 1e-9)


@pytest.mark.parametrize("nb, words, base, values, dash, run", CASES)
def test_every_suggested_value_is_accepted_settable_and_runs(nb, words, base, values, dash, run):
    assert re.sub(r"\s+", " ", words) in _markdown(nb), f"notebook {nb} no longer says: {words}"
    for changes in values:
        p = replace(base, **changes)  # accepted by the parameters
        if dash:
            d = _dash(nb)
            start = {f: c.widget.value for f, c in d.controls.items()}
            try:
                for name, value in changes.items():
                    if name == "n_loops":
                        continue
                    c = d.controls[name]
                    shown = getattr(p, "n_inputs", value) if name == "K" else value
                    lo, hi = ((10 ** c.widget.min, 10 ** c.widget.max)
                              if isinstance(c.widget, widgets.FloatLogSlider)
                              else (getattr(c.widget, "min", shown), getattr(c.widget, "max", shown)))
                    assert lo - 1e-9 <= shown <= hi + 1e-9, \
                        f"{name} = {value}: the slider runs {lo:g} to {hi:g}"
                    c.widget.value = shown
                q = d.params()
                assert q is not None and d.error is None, d.status.value
                for name, value in changes.items():
                    if name != "n_loops":
                        assert getattr(q, name) == pytest.approx(value)
            finally:
                for f, v in start.items():
                    w = d.controls[f].widget
                    if hasattr(w, "min") and not isinstance(w, widgets.FloatLogSlider):
                        w.min, w.max = min(w.min, v), max(w.max, v)
                for f in ("L", "n_trained", *start):  # L first: n_trained's minimum follows it
                    if f in start:
                        d.controls[f].widget.value = start[f]
        if run:
            _tiny(nb, p)


def test_think_2_1_fast_synapse_runs():
    run = simulate_pair(w21=5.0, tau_s=2.0)  # Part 2, Think! 2.1
    assert run.spike_times.size > 0


def test_the_suggested_L_and_n_trained_build_a_network():
    # Part 3's "lower L first to train fewer": 20 trained neurons with L = 10 (a small network)
    p = BalancedParams.lecture(N=400, K=40, L=10, n_trained=20, n_ffwd=10, stim_on=100.0, stim_off=200.0,
                               train_duration=400.0)
    net = balanced.build_network(p, synthetic_alm(60))
    assert net.n_trained == 20


def test_a_good_number_of_suggested_values_is_covered():
    assert N_VALUES >= 60
