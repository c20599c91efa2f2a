"""Each field's range, unit and help live in its metadata (params.param); validation, the command line's
--help and the dashboards' sliders all read them (issue #11 item 6, issue #12 items 4 and 9)."""

from __future__ import annotations

import random
import re
from dataclasses import fields, replace

import ipywidgets as widgets
import pytest

from tutorial_lib import BalancedParams, RateParams, SpikingParams, cli, dashboard
from tutorial_lib.data import synthetic_alm
from tutorial_lib.params import field_kind

CLASSES = (RateParams, SpikingParams, BalancedParams)
FIELDS = [pytest.param(cls, f, id=f"{cls.__name__}-{f.name}") for cls in CLASSES for f in fields(cls)]
SYN = synthetic_alm(60)


def _help_of(cls):
    ap, subs = cli.build_parser()
    sp = subs[{RateParams: "part1", SpikingParams: "part2", BalancedParams: "part3"}[cls]]
    return {a.dest: a.help for a in sp._actions if a.option_strings}


@pytest.mark.parametrize("cls, f", FIELDS)
def test_every_field_has_help_and_the_cli_shows_its_range(cls, f):
    m = f.metadata
    assert m["help"] and "\n" not in m["help"]
    text = _help_of(cls)[f.name].replace("%%", "%")
    assert text.startswith(m["help"])
    if m["unit"]:
        assert f", {m['unit']}" in text
    lo, hi = m["lo"], m["hi"]
    if lo is not None and hi is not None:
        assert f"{lo:g}, {hi:g}" in text
    elif lo is not None:
        assert f"{'>' if m['lo_open'] else '>='} {lo:g}" in text
    if m["none"]:
        assert m["none"] in text


@pytest.mark.parametrize("cls, f", FIELDS)
def test_validation_enforces_exactly_the_metadata_range(cls, f):
    m = f.metadata
    kind, _ = field_kind(f)
    if kind not in ("int", "float"):
        return
    for bound, is_lo in ((m["lo"], True), (m["hi"], False)):
        if bound is None:
            continue
        opened = m["lo_open"] if is_lo else m["hi_open"]
        step = (1 if kind == "int" else 1e-6 * max(1.0, abs(bound))) * (-1 if is_lo else 1)
        outside = bound if opened else bound + step
        with pytest.raises(ValueError, match=rf"^{f.name}\b.* must (be in|be [<>])"):
            cls(**{f.name: int(outside) if kind == "int" else float(outside)})


SLIDER_CASES = [(RateParams, dashboard.rate_dashboard, {}), (SpikingParams, dashboard.spiking_dashboard, {}),
                (BalancedParams, dashboard.balanced_dashboard, {"data": SYN})]
SMALL3 = BalancedParams.lecture(N=400, K=40, n_trained=30, L=5, n_ffwd=20, stim_on=100.0, stim_off=200.0,
                                train_duration=400.0, n_loops=2, score_every=1, n_test_trials=2)
SMALL = {RateParams: RateParams(N=20), SpikingParams: SpikingParams(N=20, train_duration=200.0,
                                                                    stim_off=100.0,
                                                                   stim_on=50.0, tau_s=50.0),
         BalancedParams: SMALL3}
_DASH = {}


def _dash(cls):
    if cls not in _DASH:
        _, make, kw = next(c for c in SLIDER_CASES if c[0] is cls)
        _DASH[cls] = make(SMALL[cls], **kw)
    return _DASH[cls]


def _wbounds(w):
    if isinstance(w, widgets.FloatLogSlider):
        return 10.0 ** w.min, 10.0 ** w.max
    return w.min, w.max


@pytest.mark.parametrize("cls", CLASSES)
def test_every_slider_takes_description_tooltip_and_bounds_from_the_metadata(cls):
    dash = _dash(cls)
    p = dash.params()
    meta = {f.name: f.metadata for f in fields(cls)}
    sliders = [c for c in dash.controls.values() if c.bounds is not None]
    assert len(sliders) >= 5
    for c in sliders:
        m, spec = meta[c.field], meta[c.field]["slider"]
        assert c.widget.tooltip.startswith(m["help"])
        if c.field != "n_trained":
            assert c.widget.description == spec.get("label", c.field)
        lo, hi = _wbounds(c.widget)
        vlo, vhi = p.field_range(c.field)
        # inside the field's valid range (what validation checks) and the slider's own range
        assert (vlo is None or lo >= vlo - 1e-9) and (vhi is None or hi <= vhi + 1e-9), (c.field, lo, hi,
                                                                                         vlo, vhi)
        assert lo >= spec["min"] - 1e-9 * abs(spec["min"])
        assert "max" not in spec or hi <= spec["max"] * (1 + 1e-9)
        for end in (lo, hi):  # both ends are valid parameter values
            replace(p, **{c.field: c.to_param(int(end) if isinstance(c.widget.value, int) else end)})


def test_the_g_slider_is_named_after_its_field_and_tau_s_reads_without_exponent():
    assert _dash(BalancedParams).controls["g"].widget.description == "g"
    assert "sigma" not in _dash(BalancedParams).controls["g"].widget.description
    w = _dash(SpikingParams).controls["tau_s"].widget
    assert w.readout_format == ".4r"  # d3: decimal notation, 4 significant digits: 1000 reads "1000"
    for dash in (_dash(c) for c in CLASSES):
        for c in dash.controls.values():
            fmt = getattr(c.widget, "readout_format", "")
            if fmt.endswith("g"):  # d3's "g" switches to e-notation from 10^precision on (1000 -> "1.00e+3")
                hi = _wbounds(c.widget)[1]
                assert hi < 10 ** int(fmt[1:-1]), (c.field, fmt, hi)
            assert not fmt.endswith("e"), (c.field, fmt)


def test_moving_n_trained_down_moves_L_s_maximum_and_back():
    dash = _dash(BalancedParams)
    nt, L = dash.controls["n_trained"].widget, dash.controls["L"].widget
    start = (nt.value, L.value)
    try:
        nt.value = 12
        assert L.max == 11 and dash.error is None
        L.value = 11
        assert nt.min == 12
        L.value = 3
        nt.value = 40
        assert L.max == min(39, 100) and nt.min == 4
    finally:
        L.value = min(start[1], L.max)
        nt.value, L.value = start


@pytest.mark.parametrize("cls", CLASSES)
def test_no_invalid_combination_is_reachable_by_moving_sliders_in_any_order(cls):
    dash = _dash(cls)
    rng = random.Random(11)
    sliders = [c for c in dash.controls.values() if c.bounds is not None]
    start = {c.field: c.widget.value for c in sliders}
    try:
        for _ in range(150):
            c = rng.choice(sliders)
            w = c.widget
            if isinstance(w, widgets.FloatLogSlider):
                w.value = 10.0 ** rng.uniform(w.min, w.max)
            elif isinstance(w, widgets.IntSlider):
                w.value = rng.choice([w.min, w.max, rng.randint(w.min, w.max)])
            else:
                w.value = rng.choice([w.min, w.max, rng.uniform(w.min, w.max)])
            assert dash.params() is not None and dash.error is None, dash.status.value
    finally:
        for f, v in start.items():  # back to the start, in an order the bounds allow
            w = dash.controls[f].widget
            w.min, w.max = min(w.min, v), max(w.max, v)
        for f, v in start.items():
            dash.controls[f].widget.value = v


@pytest.mark.parametrize("cls", CLASSES)
def test_validation_refuses_just_outside_every_dependent_bound_naming_the_field(cls):
    # the cross-field constraints the dashboards follow are the ones validation checks
    p = SMALL[cls]
    bounds = p._dependent_bounds()
    assert bounds
    for name, (lo, hi) in bounds.items():
        kind, _ = field_kind(next(f for f in fields(cls) if f.name == name))
        for value in ([hi + 1] if hi is not None else []) + ([lo - 1 if kind == "int" else lo / 2]
                                                             if lo is not None else []):
            value = int(value) if kind == "int" else float(value)
            with pytest.raises(ValueError) as info:
                replace(p, **{name: value})
            assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w])", str(info.value)), \
                (name, value, str(info.value))
        a, b = p.field_range(name)  # and the field's current value lies inside
        v = getattr(p, name) if getattr(p, name) is not None else (a if a is not None else b)
        assert (a is None or v >= a) and (b is None or v <= b), (name, v, a, b)


@pytest.mark.parametrize("cls", CLASSES)
def test_every_slider_value_can_be_typed_into_its_readout(cls):
    # ipywidgets 8: a slider's readout is editable (Enter or leaving it sets the value), so a value can be
    # typed where arrow keys on a focused slider move the notebook's cell selection instead (Notebook 7)
    for c in _dash(cls).controls.values():
        w = c.widget
        if isinstance(w, (widgets.IntSlider, widgets.FloatSlider,
                          widgets.FloatLogSlider)):
            assert w.readout and not w.disabled, c.field
        else:  # the seed: a text box; the feedforward switch: a checkbox
            assert isinstance(w, (widgets.BoundedIntText, widgets.Checkbox)), c.field
