"""Every dashboard in JupyterLab with the file browser open, at each screen size of screen_checks.SIZES
(1024 x 768, 1280 x 720, 1366 x 768, 1920 x 1080; one page load, resized), and its log slider.

1. With the dashboard scrolled to the top of the notebook, its whole live figure and Train and Stop are
   in view together (no scrolling while training), the widgets' text is at least 12 px and the
   figure's smallest text as displayed at least 12 px (9 pt): on a narrow output the sliders go into
   columns above the figure instead of the text shrinking. Screenshots:
   test-artifacts/browser/jupyterlab-<width>x<height>-<dashboard>.png; the sizes measured are in the
   timings table (and printed with -s).
2. A log slider (lambda, Part 1) shows its decades under its track, each within a few px of where the
   slider puts that value, and a 40 px drag moves lambda by at most a decade, its readout following
   the drag before the mouse is released.
"""

from __future__ import annotations

import math
import time

import pytest
from browser_env import ARTIFACTS, DASHBOARDS_NOTEBOOK, browser_page
from dashboard_checks import find_dashboards
from screen_checks import SIZES, measure_dashboards

from tutorial_lib import lecture

MIN_TEXT_PX = 12.0  # 9 pt
RUN_TIMEOUT = 180  # s: a fresh kernel, every dashboard's first simulation (parts 1 and 2) and Part 3's targets

_KERNEL_STATUS = """() => {
    const w = [...window.jupyterapp.shell.widgets('main')].find(w => w.sessionContext);
    const k = w && w.sessionContext.session && w.sessionContext.session.kernel;
    return k ? k.status : 'none';
}"""
_SHUTDOWN = """async () => {
    for (const w of window.jupyterapp.shell.widgets('main')) {
        if (w.sessionContext) { await w.sessionContext.shutdown(); }
    }
}"""


def _open_and_run(page, base, token) -> None:
    page.goto(f"{base}/lab/tree/{DASHBOARDS_NOTEBOOK}?reset&token={token}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands"
                           ".hasCommand('notebook:run-all-cells')", timeout=90_000)
    deadline = time.monotonic() + 90
    while page.evaluate(_KERNEL_STATUS) != "idle" and time.monotonic() < deadline:
        time.sleep(0.5)
    page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate')")  # the file browser open
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    expected = len(lecture.PAGES)
    page.wait_for_function(
        f"() => {{ const i = [...document.querySelectorAll('.rls-dashboard img')]; "
        f"return i.length >= {expected} && i.every(x => x.naturalWidth > 0); }}", timeout=RUN_TIMEOUT * 1000)
    time.sleep(1.0)  # the last layout


def _check_sizes(page, dashboards) -> tuple[dict, list]:
    measured, problems = {}, []
    for w, h in SIZES:
        page.set_viewport_size({"width": w, "height": h})
        time.sleep(0.8)  # the new layout
        for p, dash, m, text, found in measure_dashboards(dashboards, f"at {w}x{h}", MIN_TEXT_PX):
            problems += found
            where = f"{p.dashboard} at {w}x{h}"
            if m["widget_text_px"] < MIN_TEXT_PX:
                problems.append(f"{where}: widget text {m['widget_text_px']} px ({m['widget_text']!r})")
            measured[f"{w}x{h} {p.dashboard}"] = {
                "figure_text_min_px": round(text, 1), "widget_text_min_px": m["widget_text_px"],
                "figure_shown_px": f"{m['figure'][2] - m['figure'][0]} x {m['figure'][3] - m['figure'][1]}"}
            dash.screenshot(path=str(ARTIFACTS / f"jupyterlab-{w}x{h}-{p.dashboard}.png"))
        page.screenshot(path=str(ARTIFACTS / f"jupyterlab-{w}x{h}.png"))
    return measured, problems


# The log slider's handle (its centre) and readout, and where its decade labels are (their centres).
_LOG_SLIDER = """(box) => {
    const handle = box.querySelector('.noUi-handle').getBoundingClientRect();
    const labels = [...box.querySelectorAll('.rls-logscale > span')].map(s => {
        const b = s.getBoundingClientRect(); return [s.textContent, (b.left + b.right) / 2]; });
    return {handle: [(handle.left + handle.right) / 2,
            (handle.top + handle.bottom) / 2], readout: box.querySelector('.widget-readout').textContent,
            labels: labels};
}"""
_SUPERSCRIPT = str.maketrans("\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079", "-0123456789")


def _decade(label: str) -> float:
    """log10 of a decade label: "0.01" or "10\u207b\u00b3"."""
    label = label.translate(_SUPERSCRIPT)
    return float(label[2:]) if label.startswith("10") and len(label) > 2 and label[2] == "-" else \
        math.log10(float(label))


def _check_log_slider(page, dash) -> dict:
    """The decades under the lambda slider are where the slider puts them; a 40 px drag moves at most a
    decade and the readout follows it before the release."""
    box = dash.locator(".rls-logslider").first
    box.scroll_into_view_if_needed()
    handle = box.locator(".noUi-handle").first
    handle.focus()
    handle.press("Home")  # the handle at the slider's minimum, then at its maximum
    time.sleep(0.2)
    m = box.evaluate(_LOG_SLIDER)
    left, lo = m["handle"][0], math.log10(float(m["readout"]))
    handle.press("End")
    time.sleep(0.2)
    m = box.evaluate(_LOG_SLIDER)
    right, hi = m["handle"][0], math.log10(float(m["readout"]))
    labels = m["labels"]
    assert len(labels) >= 3, f"the log slider shows {len(labels)} decade labels"

    def where(text):  # where the handle's centre is when the slider has that value
        return left + (right - left) * (_decade(text) - lo) / (hi - lo)

    misplaced = [(text, round(x), round(where(text))) for text, x in labels if abs(x - where(text)) > 6]
    assert not misplaced, f"decade labels (text, x, where the slider puts it): {misplaced}"
    before = float(m["readout"])
    x, y = m["handle"]
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 40, y, steps=8)
    during = box.evaluate("(b) => b.querySelector('.widget-readout').textContent")
    page.mouse.up()
    after = float(box.evaluate("(b) => b.querySelector('.widget-readout').textContent"))
    decades = abs(math.log10(after) - math.log10(before))
    assert float(during) != before, "the readout does not follow the drag"
    assert 0 < decades <= 1.0, f"a 40 px drag moved lambda {before} -> {after} ({decades:.2f} decades)"
    return {"track_px": round(right - left), "px_per_decade": round((right - left) / (hi - lo)),
            "decades_per_40px": round(decades, 2),
            "readout": f"{before} -> {during} (dragging) -> {after}"}


@pytest.mark.browser
def test_every_dashboard_is_in_view_and_readable_in_jupyterlab_with_the_file_browser(jupyter_lab, browser):
    base, token = jupyter_lab
    t0 = time.monotonic()
    with browser_page(browser, "jupyterlab screens", "jupyterlab-screens", {"width": 1366, "height": 768},
                      on_close=lambda page: page.evaluate(_SHUTDOWN)) as (page, timings):
        _open_and_run(page, base, token)
        timings["dashboards_shown_s"] = round(time.monotonic() - t0, 1)
        dashboards = find_dashboards(page)
        assert dashboards.count() == len(lecture.PAGES)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        measured, problems = _check_sizes(page, dashboards)
        timings.update(measured)
        print("\n".join(f"{k}: {v}" for k, v in measured.items()))
        page.set_viewport_size({"width": 1366, "height": 768})
        time.sleep(0.5)
        rate = next(k for k, p in enumerate(lecture.PAGES) if p.dashboard == "rate_dashboard")
        timings["log_slider"] = _check_log_slider(page, dashboards.nth(rate))
        print(f"log slider: {timings['log_slider']}")
        assert not problems, "; ".join(problems)
        timings["total_s"] = round(time.monotonic() - t0, 1)
