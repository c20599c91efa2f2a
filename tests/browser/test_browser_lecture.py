"""Lecture mode (`./run lecture`): each page of tutorial_lib.lecture.PAGES, served by Voila, in Chromium.

Each page shows its dashboard and no code, in large type; a slider moves, Train
trains and the figure changes, Stop stops. Screenshots (1920x1080, a
projector's size) go to test-artifacts/browser/lecture-<page>.png.

Then the same page (one load) at each screen size of screen_checks.SIZES (1024 x 768 and 1280 x 720
projectors, a 1366 x 768 laptop, 1920 x 1080): without scrolling, the whole figure and Train and Stop
are in the window, the page's text is at least LECTURE_SMALL_FONT_PX (20 px) and the figure's smallest
text as displayed at least LECTURE_FIGURE_MIN_TEXT_PX (16 px); screenshots
lecture-<page>-<width>x<height>.png, the sizes measured in the timings table.
"""

from __future__ import annotations

import time

import pytest
from browser_env import ARTIFACTS, ROOT, browser_page
from dashboard_checks import Dashboard, find_dashboards
from screen_checks import MEASURE, SIZES, in_view_problems

from tutorial_lib import lecture

PAGE_LOAD_TIMEOUT = 120  # s: Voila runs the page's notebook (a fresh kernel, the first simulation)


def test_lecture_pages_are_written_from_the_list(tmp_path):
    """lecture/ holds exactly the pages of PAGES, as `python -m tutorial_lib.lecture --write` writes them."""
    fresh = lecture.write_pages(tmp_path)
    committed = sorted((ROOT / "lecture").glob("*.ipynb"))
    assert [p.name for p in committed] == sorted(p.name for p in fresh), \
        "lecture/ does not match tutorial_lib.lecture.PAGES: run `python -m tutorial_lib.lecture --write`"
    for p in fresh:
        assert (ROOT / "lecture" / p.name).read_text() == p.read_text(), \
            f"lecture/{p.name} is out of date: run `python -m tutorial_lib.lecture --write`"


def test_every_listed_dashboard_exists():
    from tutorial_lib import dashboard

    missing = [p.dashboard for p in lecture.PAGES if not callable(getattr(dashboard, p.dashboard, None))]
    assert not missing, f"tutorial_lib.lecture.PAGES names dashboards that do not exist: {missing}"


@pytest.mark.browser
@pytest.mark.parametrize("page_info", lecture.PAGES, ids=lambda p: p.name)
def test_lecture_page_shows_a_working_dashboard_in_large_type(page_info, voila_lecture, browser):
    t0 = time.monotonic()
    with browser_page(browser, f"voila {page_info.name}", f"lecture-{page_info.name}",
                      {"width": 1920, "height": 1080}) as (page, timings):
        page.goto(f"{voila_lecture}/voila/render/{page_info.name}.ipynb", timeout=PAGE_LOAD_TIMEOUT * 1000)
        dashboards = find_dashboards(page)
        dashboards.first.wait_for(timeout=PAGE_LOAD_TIMEOUT * 1000)
        timings["page_loaded_s"] = round(time.monotonic() - t0, 1)
        assert dashboards.count() == 1
        assert page.locator(".jp-InputArea, .jp-InputPrompt").count() == 0, "the page shows code"
        assert page.get_by_text("Traceback").count() == 0, "the page shows an error"
        assert page.locator("[data-mime-type='application/vnd.jupyter.error']").count() == 0
        dash = Dashboard(dashboards.first)
        label = dash.sliders.first.locator(".widget-label").first
        size = float(label.evaluate("(e) => parseFloat(getComputedStyle(e).fontSize)"))
        assert size >= 20, f"slider labels are {size}px: too small for a projector"
        timings.update(dash.check_slider_train_and_figure(ARTIFACTS / f"lecture-{page_info.name}.png"))
        timings.update(dash.check_stop())
        assert page.get_by_text("Traceback").count() == 0, "the page shows an error after training"
        page.evaluate("() => window.scrollTo(0, 0)")
        timings.update(_check_projector_layout(page, dash))
        page.screenshot(path=str(ARTIFACTS / f"lecture-{page_info.name}-page.png"))
        timings["screens"] = _check_every_screen(page, dash, page_info.name)
        timings["total_s"] = round(time.monotonic() - t0, 1)


def _check_every_screen(page, dash, name: str) -> dict:
    """At each of SIZES (the same page, resized): figure and Train/Stop in the window without scrolling,
    the page's text >= LECTURE_SMALL_FONT_PX, the figure's text as shown >= LECTURE_FIGURE_MIN_TEXT_PX."""
    measured, problems = {}, []
    for w, h in SIZES:
        page.set_viewport_size({"width": w, "height": h})
        time.sleep(0.5)  # the new layout
        page.evaluate("() => window.scrollTo(0, 0)")
        m = dash.root.evaluate(MEASURE)
        figure_text = lecture.LECTURE_FIGURE_FONT_PX * m["shown_width"] / m["natural_width"]
        where = f"{name} at {w}x{h}"
        problems += in_view_problems(m, where)
        if m["widget_text_px"] < lecture.LECTURE_SMALL_FONT_PX:
            problems.append(f"{where}: page text {m['widget_text_px']} px ({m['widget_text']!r})")
        if figure_text < lecture.LECTURE_FIGURE_MIN_TEXT_PX:
            problems.append(f"{where}: figure text shown at {figure_text:.1f} px")
        measured[f"{w}x{h}"] = {"page_text_min_px": m["widget_text_px"], "figure_text_min_px": round(figure_text, 1),
                                "figure_shown_px": f"{m['figure'][2] - m['figure'][0]} x "
                                                   f"{m['figure'][3] - m['figure'][1]}",
                                "buttons_bottom_px": max(b[3] for b in m["buttons"]) if m["buttons"] else None}
        page.screenshot(path=str(ARTIFACTS / f"lecture-{name}-{w}x{h}.png"))
    print(f"lecture {name}: {measured}")
    assert not problems, "; ".join(problems)
    return measured


# The figure's box, its PNG's width, and whether anything of the page sticks out of the 1920 x 1080 window.
_LAYOUT = """(dash) => {
    const img = dash.querySelector('img'), r = img.getBoundingClientRect();
    const clipped = [];
    for (const e of dash.querySelectorAll('input, button, img, .widget-readout')) {
        const b = e.getBoundingClientRect();
        if (b.width && b.right > window.innerWidth + 1) clipped.push(e.tagName + ' ' + e.className);
    }
    const controls = dash.firstElementChild.getBoundingClientRect();
    for (const e of dash.firstElementChild.querySelectorAll('input')) {
        const b = e.getBoundingClientRect();
        if (b.width && b.right > controls.right + 1) clipped.push('controls: ' + e.type);
    }
    const doc = document.scrollingElement || document.documentElement;
    return {img_left: r.left, img_right: r.right, img_top: r.top, img_bottom: r.bottom, img_width: r.width,
            img_height: r.height, natural_width: img.naturalWidth, clipped: clipped,
            page_scrolls_sideways: doc.scrollWidth > doc.clientWidth};
}"""


def _check_projector_layout(page, dash) -> dict:
    """At 1920 x 1080: the figure fills the room beside the controls, nothing sticks out, and the
    figure's text is shown at least as large as the widgets' (its PNG is not scaled down beyond
    LECTURE_FIGURE_FONT_PX / LECTURE_FONT_PX)."""
    m = dash.root.evaluate(_LAYOUT)
    assert not m["clipped"], f"clipped on the page: {m['clipped']}"
    assert not m["page_scrolls_sideways"]
    assert m["img_right"] <= 1920 and m["img_bottom"] <= 1080, f"the figure is cut off: {m}"
    # the figure fills the room beside the controls in one direction (its aspect ratio decides which; the
    # offline pages' data notice takes a line more above it) and most of the screen in both
    fills = m["img_height"] >= 0.95 * (1080 - m["img_top"]) or m["img_width"] >= 0.95 * (1920 - m["img_left"])
    assert fills and m["img_width"] >= 0.58 * 1920 and m["img_height"] >= 0.75 * 1080, \
        f"the figure does not fill the page: {m}"
    shown = m["img_width"] / m["natural_width"]
    smallest = lecture.LECTURE_FIGURE_FONT_PX * shown
    assert smallest >= lecture.LECTURE_FONT_PX, f"figure text shown at {smallest:.1f} px"
    return {"figure_px": f"{m['img_width']:.0f} x {m['img_height']:.0f}",
            "figure_text_min_px": round(smallest, 1)}


@pytest.mark.browser
@pytest.mark.parametrize("page_info", lecture.PAGES, ids=lambda p: p.name)
def test_lecture_page_offline_shows_no_traceback_and_names_its_data(page_info, voila_lecture_offline, browser):
    """Without the recordings and without network: every page opens, with no traceback and no error
    output; the Part 3 page says, in one status line and its heading, that the data are synthetic."""
    t0 = time.monotonic()
    with browser_page(browser, f"voila offline {page_info.name}", f"lecture-offline-{page_info.name}",
                      {"width": 1920, "height": 1080}) as (page, timings):
        page.goto(f"{voila_lecture_offline}/voila/render/{page_info.name}.ipynb",
                  timeout=PAGE_LOAD_TIMEOUT * 1000)
        find_dashboards(page).first.wait_for(timeout=PAGE_LOAD_TIMEOUT * 1000)
        timings["page_loaded_s"] = round(time.monotonic() - t0, 1)
        assert page.get_by_text("Traceback").count() == 0, "the page shows a traceback"
        assert page.get_by_text("ConnectionError").count() == 0, "the page shows the download error"
        assert page.locator("[data-mime-type='application/vnd.jupyter.error']").count() == 0
        assert page.locator(".jp-OutputArea-output pre").count() == 0, "the page shows printed text"
        if "balanced" in page_info.dashboard:
            status = page.locator(".rls-lecture-status")
            assert status.count() == 1 and "synthetic" in status.inner_text().lower(), \
                "the Part 3 page must say in one line that it uses synthetic data"
            assert "SYNTHETIC" in page.locator(".rls-lecture-title").inner_text()
        page.screenshot(path=str(ARTIFACTS / f"lecture-offline-{page_info.name}.png"))
