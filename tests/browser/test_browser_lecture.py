"""Lecture mode (`./run lecture`): each page of tutorial_lib.lecture.PAGES, served by Voila, in Chromium.

Each page shows its dashboard and no code, in large type; a slider moves, Train
trains and the figure changes, Stop stops. Screenshots (1920x1080, a
projector's size) go to test-artifacts/browser/lecture-<page>.png.
"""

from __future__ import annotations

import time

import pytest
from browser_env import ARTIFACTS, ROOT, record
from dashboard_checks import Dashboard, find_dashboards

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
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.set_default_timeout(30_000)
    timings: dict[str, object] = {}
    try:
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
        page.screenshot(path=str(ARTIFACTS / f"lecture-{page_info.name}-page.png"))
        timings["total_s"] = round(time.monotonic() - t0, 1)
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"lecture-{page_info.name}-FAILED.png"), full_page=True)
        raise
    finally:
        record(f"voila {page_info.name}", timings)
        context.close()
