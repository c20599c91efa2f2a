"""The Part 5 attractor dashboard in a real browser: its lecture page (Voila, online and offline) and a
notebook cell in JupyterLab. The first Run trains the lecture network (2 loops: the servers run with
TUTORIAL_SMOKE_TEST=1), fits the choice mode and runs 20 held-out trials in parallel, drawn as they finish;
the status counts the switched trials. A second Run after a slider moves reuses the network and the choice
mode. In JupyterLab, Train and Stop pass the checks every training dashboard passes (dashboard_checks).

Screenshots: test-artifacts/browser/lecture-part5-run.png (the page after Run, 1920 x 1080),
lecture-offline-part5-run.png and jupyterlab-attractors-*.png.
"""

from __future__ import annotations

import re
import time

import pytest
from browser_env import ARTIFACTS, browser_page
from dashboard_checks import Dashboard
from run_dashboards import lab_with_a_dashboard, open_lecture_page, run_to_the_dashboard

PAGE = "part5_attractors"
# s: the first Run builds and trains the lecture network (2 loops, about 10 s), fits the choice mode on
# 40 trials (25 s on a busy 2-core machine) and runs 20 (10 s); up to three times that under load
RUN_TIMEOUT = 300
SWITCHED = re.compile(r"switched (\d+) of (\d+) \(\d\.\d\d, 95 % Wilson interval \d\.\d\d-\d\.\d\d\)")


def _press_run(dash: Dashboard, what: str, timeout: float = RUN_TIMEOUT) -> dict:
    """Press Run; the figure changes while the trials finish, and the status counts the switched ones."""
    run = dash.root.locator("button", has_text=re.compile(r"^\s*Run\s*$"))
    assert run.count() == 1 and run.is_enabled()
    before = dash.image_hash()
    assert before, "the figure shows no image before Run"
    t0 = time.monotonic()
    run.click()
    frames = {before}

    def done():
        frames.add(dash.image_hash())  # the live frames seen while the trials finish
        return "Done:" in dash.status() and run.is_enabled() and dash.idle()

    dash.wait_until(f"{what}: Run ends (Done, buttons enabled again)", done, timeout, poll=0.5)
    status = dash.status()
    m = SWITCHED.search(status)
    assert m and m.group(2) == "20", status
    dash.wait_until(f"{what}: the figure changes after Run", lambda: dash.image_hash() != before, 10)
    return {"run_s": round(time.monotonic() - t0, 1), "frames_seen": len(frames), "run_status": status}


@pytest.mark.browser
def test_lecture_page_runs_an_experiment_and_runs_again_after_a_slider_moves(voila_lecture, browser):
    t0 = time.monotonic()
    with browser_page(browser, f"voila {PAGE} run", f"lecture-{PAGE}-run",
                      {"width": 1920, "height": 1080}) as (page, timings):
        dash = open_lecture_page(page, voila_lecture, PAGE)
        timings["page_loaded_s"] = round(time.monotonic() - t0, 1)
        assert "Part 5" in page.locator(".rls-lecture-title").inner_text()
        timings["first"] = _press_run(dash, "first Run (trains, fits the choice mode, runs 20 trials)")
        assert "trained 2 loop(s)" in timings["first"]["run_status"]
        start = dash.slider(r"^\s*time \(ms\)\s*$")
        assert start is not None
        before = dash.readout(start)
        dash.press(start, "ArrowRight")
        dash.wait_until("the time's readout changes", lambda: dash.readout(start) != before, 10)
        timings["second"] = _press_run(dash, "second Run (the network and choice mode reused)", 120)
        assert "trained" not in timings["second"]["run_status"]
        page.evaluate("() => window.scrollTo(0, 0)")
        time.sleep(0.3)
        page.screenshot(path=str(ARTIFACTS / "lecture-part5-run.png"))
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
        page.screenshot(path=str(ARTIFACTS / "lecture-offline-part5-run.png"))


@pytest.fixture(scope="module")
def lab_with_the_dashboard(tmp_path_factory):
    """JupyterLab on a folder with one notebook whose cell shows the attractor_dashboard."""
    yield from lab_with_a_dashboard(tmp_path_factory, "attractor_dashboard", "attractors")


@pytest.mark.browser
def test_the_dashboard_in_jupyterlab_runs_trains_and_stops(lab_with_the_dashboard, browser):
    from test_browser_notebooks import _SHUTDOWN

    base, token = lab_with_the_dashboard
    name = "attractors.ipynb"
    t0 = time.monotonic()
    with browser_page(browser, "jupyterlab attractors", "jupyterlab-attractors",
                      {"width": 1600, "height": 1000},
                      on_close=lambda page: page.evaluate(_SHUTDOWN, name)) as (page, timings):
        dash = run_to_the_dashboard(page, base, token, name)
        timings["run"] = _press_run(dash, "Run in JupyterLab")
        timings.update(dash.check_slider_train_and_figure(ARTIFACTS / "jupyterlab-attractors-trained.png"))
        assert "Choice mode fitted" in dash.status()  # Train ends with the choice mode fitted again
        timings.update(dash.check_stop())
        timings["total_s"] = round(time.monotonic() - t0, 1)
