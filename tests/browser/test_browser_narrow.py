"""Every dashboard in Jupyter Notebook 7 at a 1000 px wide window, and at a window whose output column
is about as wide as VS Code's (about 800 px): no horizontal scroll, the figure whole.

Notebook 7 caps its output column whatever the window (1108 px); JupyterLab with a side panel open
is as narrow. Each dashboard of tutorial_lib.lecture.PAGES is shown in one notebook; for each, the
output area must not scroll sideways (scrollWidth <= clientWidth) and the figure's image must lie
entirely inside it; with the dashboard scrolled to the top, the figure and Train and Stop are in
view together, and the figure's smallest text as displayed is at least 12 px (9 pt).
Screenshots: test-artifacts/browser/notebook7-<width>px.png.
"""

from __future__ import annotations

import time

import pytest
from browser_env import ARTIFACTS, browser_page
from dashboard_checks import find_dashboards
from screen_checks import measure_dashboards

from tutorial_lib import lecture

WIDTH = 1000
VSCODE_WIDTH = 880  # a window whose output column is about 800 px, as in VS Code beside its explorer
MIN_TEXT_PX = 12.0  # 9 pt
RUN_TIMEOUT = 120  # s: a fresh kernel, the first simulations of parts 1 and 2, Part 3's targets

# For each dashboard: its output element's widths and the image's box against the output's box.
_MEASURE = """(dash) => {
    const out = dash.closest('.jp-OutputArea-output') || dash.parentElement;
    const img = dash.querySelector('img');
    const o = out.getBoundingClientRect(), i = img.getBoundingClientRect();
    const scrollers = [];
    for (let e = dash; e && e !== document.body; e = e.parentElement) {
        if (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible') {
            scrollers.push((e.className || e.tagName) + ': ' + e.scrollWidth + ' > ' + e.clientWidth);
        }
    }
    // the controls' column; above the figure (display: contents) its children are the dashboard's
    const column = getComputedStyle(dash.firstElementChild).display === 'contents' ? dash : dash.firstElementChild;
    const controls = column.getBoundingClientRect();
    for (const e of dash.firstElementChild.querySelectorAll('input')) {
        const b = e.getBoundingClientRect();
        if (b.width && (b.right > controls.right + 1 || b.right > i.left + 1 && b.top < i.bottom && b.bottom > i.top))
            scrollers.push('an input sticks out of the controls: ' + e.type);
    }
    return {out_scroll: out.scrollWidth, out_client: out.clientWidth, out_left: o.left, out_right: o.right,
            img_left: i.left, img_right: i.right, img_width: i.width, img_natural: img.naturalWidth,
            dash_width: dash.getBoundingClientRect().width, scrollers: scrollers};
}"""


@pytest.mark.browser
def test_every_dashboard_fits_a_1000px_notebook7_window(notebook7, browser):
    base, token = notebook7
    t0 = time.monotonic()
    with browser_page(browser, f"notebook7 {WIDTH}px", f"notebook7-{WIDTH}px",
                      {"width": WIDTH, "height": 900}) as (page, timings):
        page.goto(f"{base}/notebooks/dashboards.ipynb?token={token}")
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands"
                               ".hasCommand('notebook:run-all-cells')", timeout=60_000)
        page.wait_for_selector(".jp-Notebook-cell", timeout=60_000)
        time.sleep(1.0)  # the kernel is attached
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        expected = len(lecture.PAGES)
        deadline = time.monotonic() + RUN_TIMEOUT
        dashboards = find_dashboards(page)
        while time.monotonic() < deadline:
            if dashboards.count() >= expected and all(
                    dashboards.nth(k).locator("img").first.evaluate("(i) => i.naturalWidth > 0")
                    for k in range(expected)):
                break
            time.sleep(0.5)
        timings["dashboards_shown_s"] = round(time.monotonic() - t0, 1)
        assert dashboards.count() == expected, f"{dashboards.count()} dashboards shown, {expected} expected"
        assert page.get_by_text("Traceback").count() == 0
        time.sleep(0.5)  # the last layout
        problems = []
        for k, p in enumerate(lecture.PAGES):
            dash = dashboards.nth(k)
            dash.scroll_into_view_if_needed()
            m = dash.evaluate(_MEASURE)
            timings[p.dashboard] = {key: (round(v) if isinstance(v, float) else v) for key, v in m.items()}
            if m["out_scroll"] > m["out_client"]:
                problems.append(f"{p.dashboard}: output area scrolls "
                                f"({m['out_scroll']} > {m['out_client']} px)")
            if m["scrollers"]:
                problems.append(f"{p.dashboard}: scrolls sideways: {m['scrollers']}")
            if not m["out_left"] - 1 <= m["img_left"] <= m["img_right"] <= min(m["out_right"] + 1, WIDTH):
                problems.append(f"{p.dashboard}: figure not fully visible ({m})")
            if m["img_width"] < 300:
                problems.append(f"{p.dashboard}: figure only {m['img_width']:.0f} px wide")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"notebook7-{WIDTH}px.png"), full_page=True)
        for k, p in enumerate(lecture.PAGES):
            dashboards.nth(k).screenshot(path=str(ARTIFACTS / f"notebook7-{WIDTH}px-{p.dashboard}.png"))
        for width in (WIDTH, VSCODE_WIDTH):
            page.set_viewport_size({"width": width, "height": 900})
            time.sleep(0.8)  # the new layout
            for p, dash, m, text, found in measure_dashboards(dashboards, f"at a {width} px window", MIN_TEXT_PX):
                problems += found
                timings[f"{width}px {p.dashboard}"] = {
                    "output_px": round(dash.evaluate("(d) => d.getBoundingClientRect().width")),
                    "figure_text_min_px": round(text, 1), "widget_text_min_px": m["widget_text_px"]}
            page.screenshot(path=str(ARTIFACTS / f"notebook7-{width}px-top.png"))
        print({k: v for k, v in timings.items() if "px " in k})
        assert not problems, "; ".join(problems)
        timings["total_s"] = round(time.monotonic() - t0, 1)
