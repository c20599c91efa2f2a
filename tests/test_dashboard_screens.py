"""The dashboards fit the screen they are shown on (issue #25, items 1, 3, 4, 7), without a browser.

What the browser tests (tests/browser/test_browser_screens.py, test_browser_lecture.py) measure on
the page rests on what is checked here: every text of every live figure, tick labels included, before
and after training, is at least the figure's minimum font, which is 12 px (9 pt) when the figure is
shown FIGURE_MIN_SHOWN_PX wide in a notebook and 16 px when a lecture figure is shown
LECTURE_FIGURE_MIN_SHOWN_PX wide; a log slider steps by at most 0.1 decade and shows its decades where
the slider puts them; what a dashboard prints, and its status lines as text, fit a 1366 px notebook
column (PRINT_WIDTH characters), wrapped at spaces, never inside a number.
"""

import html
import re
import subprocess
import sys

import ipywidgets as widgets
import pytest
from matplotlib.text import Text

from tutorial_lib import BalancedParams, RateParams, SpikingParams, lecture
from tutorial_lib.dashboard import (attractor_dashboard, balanced_dashboard, perturbation_dashboard, rate_dashboard,
                                    spiking_dashboard)
from tutorial_lib import messages
from tutorial_lib.dashboard import screen
from tutorial_lib.data import load_alm

from test_offline import offline_env

RATE = RateParams(N=30, train_duration=100.0, n_loops=2)
SPIKING = SpikingParams(N=30, stim_on=100.0, stim_off=200.0, train_duration=1000.0, target_period=1000.0,
                        n_loops=2)
BALANCED = BalancedParams.lecture(N=400, K=40, n_trained=30, L=5, n_ffwd=20, stim_on=100.0, stim_off=200.0,
                                  train_duration=400.0, n_loops=2, score_every=1, n_test_trials=2)
KINDS = ["rate", "spiking", "balanced", "perturbation", "attractors"]
NUMBER = re.compile(r"[-+]?\d[\d.,]*\d|\d")


@pytest.fixture(scope="module")
def data():
    return load_alm(fallback="synthetic")


def _make(kind, data, **kw):
    if kind == "rate":
        return rate_dashboard(RATE, **kw)
    if kind == "spiking":
        return spiking_dashboard(SPIKING, **kw)
    if kind == "balanced":
        return balanced_dashboard(BALANCED, data=data, **kw)
    if kind == "attractors":
        return attractor_dashboard(params=BALANCED, data=data, **kw)
    return perturbation_dashboard(params=BALANCED, data=data, **kw)


def _texts(fig):
    """Every visible text of a figure, the tick labels drawn included (after a render)."""
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    for ax in fig.axes:
        texts += [t for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text().strip()]
    return texts


def _smallest_shown(dash, shown_px: float) -> float:
    """The smallest text of the dashboard's figure (px), when the figure is shown ``shown_px`` wide."""
    fig = dash.figure.fig
    width_px = fig.get_figwidth() * fig.dpi
    smallest = min(t.get_fontsize() for t in _texts(fig)) * fig.dpi / 72
    assert smallest == pytest.approx(dash.figure.smallest_text_px())
    return smallest * shown_px / width_px


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dpi", [80, 150])
def test_figure_text_is_9pt_when_shown_as_narrow_as_a_dashboard_shows_it(kind, dpi, data):
    dash = _make(kind, data, dpi=dpi)
    before = _smallest_shown(dash, screen.FIGURE_MIN_SHOWN_PX)
    assert before >= screen.FIGURE_MIN_TEXT_PX, f"{kind}: {before:.2f} px before training"
    if kind != "perturbation":  # titles change with every loop: still at least the minimum
        dash.start(block=True)
        assert dash.error is None, dash.status.value
        after = _smallest_shown(dash, screen.FIGURE_MIN_SHOWN_PX)
        assert after >= screen.FIGURE_MIN_TEXT_PX, f"{kind}: {after:.2f} px after training"


def test_the_minimum_font_is_the_same_fraction_of_any_figure_width():
    # 12 px shown at 590 px wide, with 2 % to spare: 9.18 pt on a 7.5 in figure, twice that on 15 in
    assert screen.min_fontsize(7.5) == pytest.approx(12 * 1.02 * 72 * 7.5 / 590)
    assert screen.min_fontsize(15.0) == pytest.approx(2 * screen.min_fontsize(7.5))
    # the narrowest output a dashboard's figure is shown in is wider than the minimum: the wide layout
    # starts where the figure beside the controls has FIGURE_MIN_WIDTH
    assert int(rate_dashboard(RATE).FIGURE_MIN_WIDTH.rstrip("px")) + 352 == screen.WIDE_LAYOUT_PX


@pytest.mark.parametrize("name", [p.dashboard for p in lecture.PAGES])
def test_lecture_figure_text_is_16px_at_1024x768(name, data):
    kwargs = {} if name in ("rate_dashboard", "spiking_dashboard") else {"data": data}
    dash = lecture.lecture_page(name, **kwargs).dashboard
    fig = dash.figure.fig
    assert tuple(round(v) for v in fig.get_size_inches() * fig.dpi) == lecture.LECTURE_FIGURE_PX
    smallest = _smallest_shown(dash, lecture.LECTURE_FIGURE_MIN_SHOWN_PX)
    assert smallest >= lecture.LECTURE_FIGURE_MIN_TEXT_PX, f"{name}: {smallest:.1f} px at 1024 x 768"
    assert dash.figure.smallest_text_px() >= lecture.LECTURE_FIGURE_FONT_PX - 0.01


def test_lecture_css_text_is_20px_on_small_screens_and_22px_on_a_projector():
    sizes = [int(v) for v in re.findall(r"--jp-widgets-font-size:\s*(\d+)px", lecture.LECTURE_CSS)]
    assert sizes == [lecture.LECTURE_SMALL_FONT_PX, lecture.LECTURE_FONT_PX] and min(sizes) >= 20
    own = lecture.LECTURE_CSS.replace(screen.LOGSCALE_CSS, "")  # the dashboards' scale rows: set 20 px here
    every = [int(v) for v in re.findall(r"font-size:\s*(\d+)px", own)]
    assert min(every) >= 20, every
    assert "@media (min-width: 1400px) and (min-height: 900px)" in lecture.LECTURE_CSS
    assert "height: calc(100vh" in lecture.LECTURE_CSS and "max-height: 100% !important" in lecture.LECTURE_CSS


def _log_controls(dash):
    return [c for c in dash.controls.values() if isinstance(c.widget, widgets.FloatLogSlider)]


@pytest.mark.parametrize("kind", ["rate", "spiking", "balanced", "attractors"])
def test_a_log_slider_steps_by_a_tenth_of_a_decade_and_shows_its_decades(kind, data):
    dash = _make(kind, data)
    logs = _log_controls(dash)
    assert logs, f"{kind}: no log slider"
    for c in logs:
        w = c.widget
        assert w.step <= 0.1 and w.base == 10, (c.field, w.step)
        assert "log scale" in w.tooltip
        assert c.view is not c.widget and c.scale in c.view.children  # shown with its decades
        spans = re.findall(r"left: ([\d.]+)%'>([^<]+)<", c.scale.value)
        decades = list(range(int(round(w.min)), int(round(w.max)) + 1))
        assert len(spans) == len(decades), (c.field, spans)
        for (left, _), k in zip(spans, decades):
            assert float(left) == pytest.approx(100 * (k - w.min) / (w.max - w.min), abs=0.01)
        assert c.view in dash.widget.children[0].children


def test_log_scale_labels_are_short_and_follow_new_bounds():
    assert re.findall(r">([^<]+)<", screen.log_scale_html(-4, 1)) == \
        ["10\u207b\u2074", "10\u207b\u00b3", "0.01", "0.1", "1", "10"]
    # bounds between decades: the decades inside, placed by their exponent
    spans = re.findall(r"left: ([\d.]+)%'>([^<]+)<", screen.log_scale_html(-0.5, 1.5))
    assert spans == [("25.00", "1"), ("75.00", "10")]
    dash = rate_dashboard(RATE)
    lam = dash.controls["lam"]
    lam.widget.min, lam.widget.max = -2.0, 1.0
    dash._follow_bounds(dash.params())  # a valid change moves every slider's bounds, and their scales
    assert lam.scale.value == screen.log_scale_html(-3, 2)  # lam's own bounds are back, and its decades


def _plain(status_html: str) -> str:
    return html.unescape(re.sub(r"<br\s*/?>", "\n", re.sub(r"<(?!br)[^>]+>", "", status_html)))


def _check_wrapped(text: str, wrapped: str):
    lines = wrapped.splitlines()
    # a line is at most PRINT_WIDTH long, unless it is one word longer than that (a path is kept whole)
    too_long = [line for line in lines if len(line) > messages.PRINT_WIDTH and " " in line.strip()]
    assert not too_long, too_long
    assert " ".join(wrapped.split()) == " ".join(text.split())  # nothing lost, only line breaks added
    for number in NUMBER.findall(text):  # every number whole on one line
        assert any(number in line for line in lines), number


@pytest.mark.parametrize("kind", ["rate", "spiking", "balanced", "attractors"])
def test_status_lines_wrap_at_spaces_within_a_1366px_column(kind, data):
    dash = _make(kind, data)
    statuses = [dash.status.value]
    seen = []
    dash._after_loop_orig = dash._after_loop

    def record(loop, trial, scores):
        go = dash._after_loop_orig(loop, trial, scores)
        seen.append(dash.status.value)
        return go

    dash._after_loop = record
    dash.start(block=True)
    statuses += seen + [dash.status.value]
    for status in statuses:
        for paragraph in _plain(status).splitlines():
            _check_wrapped(paragraph, messages.wrap_line(paragraph))
    long = [p for s in statuses for p in _plain(s).splitlines() if len(p) > messages.PRINT_WIDTH]
    assert kind == "rate" or long, "no status line long enough to test the wrapping"


def test_wrap_line_never_splits_a_number():
    line = ("loop 10: test score 0.412, trial-averaged (5 trials) 0.430; "
            "N = 2000 (1600 E, 400 I), K = 200, g = 1.00, lambda = 0.0400")
    for width in range(20, 100, 7):
        wrapped = messages.wrap_line(line, width)
        assert all(len(row) <= width for row in wrapped.splitlines())
        for number in NUMBER.findall(line):
            assert any(number in row for row in wrapped.splitlines())
    assert messages.wrap_line("short") == "short"
    path = "/a/very/long/path/" * 10  # a word longer than the width stays whole
    assert messages.wrap_line(f"in {path} now", 40).splitlines() == ["in", path, "now"]


def test_the_offline_notice_a_dashboard_prints_fits_a_1366px_column(tmp_path):
    env = offline_env(tmp_path, downloads=False)
    code = ("from tutorial_lib import BalancedParams\n"
            "from tutorial_lib.dashboard import balanced_dashboard\n"
            "balanced_dashboard(BalancedParams.lecture(N=400, K=40, n_trained=30, L=5, n_ffwd=20))\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert any("SYNTHETIC" in line for line in lines), out.stdout
    # wrapped at spaces; only a single word longer than a line (here the cache folder's path) stays whole
    assert len(lines) >= 2 and all(len(line) <= messages.PRINT_WIDTH or " " not in line.strip()
                                   for line in lines), lines
    _check_wrapped(" ".join(lines), out.stdout.rstrip("\n"))


def test_the_librarys_printed_messages_fit_the_column(capsys, monkeypatch):
    """The notices and progress lines the library prints (not only the dashboards') are wrapped."""
    from tutorial_lib import data

    monkeypatch.setenv("TUTORIAL_ALM_DOWNLOAD", "0")
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(data, "_NOTICES", set())
    monkeypatch.setattr(data, "cache_dir", lambda: __import__("pathlib").Path("/nonexistent/" + "x" * 60))
    data.load_alm(fallback="synthetic")
    from tutorial_lib import rate

    rate.train(RateParams(N=20, n_loops=2), progress=True)
    lines = capsys.readouterr().out.splitlines()
    assert any("SYNTHETIC stand-in" in line for line in lines) and any("loop(s) in" in line for line in lines)
    assert all(len(line) <= messages.PRINT_WIDTH for line in lines), [l for l in lines if len(l) > 88]
