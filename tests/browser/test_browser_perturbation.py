"""The Part 4 perturbation dashboard in a real browser: its lecture page (Voila, online and offline)
and a notebook cell in JupyterLab. Run perturbs the network and the figure changes; in JupyterLab,
Train and Stop pass the checks every training dashboard passes (dashboard_checks).

Screenshots: test-artifacts/browser/lecture-part4-run.png (the page after Run, 1920 x 1080),
lecture-offline-part4-run.png and jupyterlab-perturbation-*.png.
"""

from __future__ import annotations

import re
import time

import pytest
from browser_env import ARTIFACTS, browser_page
from dashboard_checks import Dashboard
from run_dashboards import lab_with_a_dashboard, open_lecture_page, run_to_the_dashboard

PAGE = "part4_perturbation"
RUN_TIMEOUT = 90  # s: the first Run builds the lecture network (a few s), then runs two 3 s trials


def _press_run(dash: Dashboard, what: str) -> dict:
    """Press Run; the figure changes and the status says what the run measured. Returns timings."""
    run = dash.root.locator("button", has_text=re.compile(r"^\s*Run\s*$"))
    assert run.count() == 1 and run.is_enabled()
    before = dash.image_hash()
    assert before, "the figure shows no image before Run"
    t0 = time.monotonic()
    run.click()
    done = "Done: ran the perturbation"
    dash.wait_until(f"{what}: Run ends (Done, buttons enabled again)",
                    lambda: done in dash.status() and run.is_enabled() and dash.idle(), RUN_TIMEOUT)
    status = dash.status()
    assert "In the window: E" in status and "predicted change" in status, status
    dash.wait_until(f"{what}: the figure changes after Run", lambda: dash.image_hash() != before, 10)
    return {"run_s": round(time.monotonic() - t0, 1), "run_status": status}


@pytest.mark.browser
def test_lecture_page_runs_a_perturbation_and_runs_again_after_a_slider_moves(voila_lecture, browser):
    t0 = time.monotonic()
    with browser_page(browser, f"voila {PAGE} run", f"lecture-{PAGE}-run",
                      {"width": 1920, "height": 1080}) as (page, timings):
        dash = open_lecture_page(page, voila_lecture, PAGE)
        timings["page_loaded_s"] = round(time.monotonic() - t0, 1)
        assert "Part 4" in page.locator(".rls-lecture-title").inner_text()
        timings["first"] = _press_run(dash, "first Run (builds the network)")
        current = dash.slider(r"^\s*current\s*$")
        assert current is not None
        before = dash.readout(current)
        dash.press(current, "ArrowRight")
        dash.wait_until("the current's readout changes", lambda: dash.readout(current) != before, 10)
        timings["second"] = _press_run(dash, "second Run (the control trial is reused)")
        page.evaluate("() => window.scrollTo(0, 0)")
        time.sleep(0.3)
        page.screenshot(path=str(ARTIFACTS / "lecture-part4-run.png"))
        timings["total_s"] = round(time.monotonic() - t0, 1)


@pytest.mark.browser
def test_lecture_page_offline_names_its_synthetic_data_and_runs(voila_lecture_offline, browser):
    t0 = time.monotonic()
    with browser_page(browser, f"voila offline {PAGE} run", f"lecture-offline-{PAGE}-run",
                      {"width": 1920, "height": 1080}) as (page, timings):
        dash = open_lecture_page(page, voila_lecture_offline, PAGE)
        timings["page_loaded_s"] = round(time.monotonic() - t0, 1)
        assert page.get_by_text("ConnectionError").count() == 0, "the page shows the download error"
        assert page.locator(".jp-OutputArea-output pre").count() == 0, "the page shows printed text"
        assert "SYNTHETIC" in page.locator(".rls-lecture-title").inner_text()
        status = page.locator(".rls-lecture-status")
        assert status.count() == 1 and "synthetic" in status.inner_text().lower()
        timings["run"] = _press_run(dash, "Run on the synthetic stand-in")
        page.screenshot(path=str(ARTIFACTS / "lecture-offline-part4-run.png"))


@pytest.fixture(scope="module")
def lab_with_the_dashboard(tmp_path_factory):
    """JupyterLab on a folder with one notebook whose cell shows the perturbation_dashboard."""
    yield from lab_with_a_dashboard(tmp_path_factory, "perturbation_dashboard", "perturbation")


@pytest.mark.browser
def test_the_dashboard_in_jupyterlab_runs_trains_and_stops(lab_with_the_dashboard, browser):
    from test_browser_notebooks import _SHUTDOWN

    base, token = lab_with_the_dashboard
    name = "perturbation.ipynb"
    t0 = time.monotonic()
    with browser_page(browser, "jupyterlab perturbation", "jupyterlab-perturbation",
                      {"width": 1600, "height": 1000},
                      on_close=lambda page: page.evaluate(_SHUTDOWN, name)) as (page, timings):
        dash = run_to_the_dashboard(page, base, token, name)
        timings["run"] = _press_run(dash, "Run in JupyterLab")
        timings.update(dash.check_slider_train_and_figure(ARTIFACTS / "jupyterlab-perturbation-trained.png"))
        assert "In the window" in dash.status()  # Train ends with a run of the trained network
        timings.update(dash.check_stop())
        timings["total_s"] = round(time.monotonic() - t0, 1)
