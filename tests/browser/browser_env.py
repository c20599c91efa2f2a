"""Paths, browser settings and the timings table shared by the browser tests."""

import contextlib
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS") or ROOT / "test-artifacts" / "browser")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Debian's chromium, headless; Playwright never downloads a browser here
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# under pytest-xdist each worker starts its own servers: keep their logs apart
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
DASHBOARDS_NOTEBOOK = "dashboards.ipynb"  # one cell per dashboard of tutorial_lib.lecture.PAGES (conftest.py)
TIMINGS: dict[str, object] = {}  # printed at the end of the run; also in ARTIFACTS/timings<worker>.json


def record(name: str, value) -> None:
    """Keep a timing for the end-of-run table, and in ARTIFACTS/timings<worker>.json."""
    import json

    TIMINGS[name] = value
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"timings{WORKER}.json").write_text(json.dumps(TIMINGS, indent=1))


@contextlib.contextmanager
def browser_page(browser, name: str, failed_shot: str, viewport: dict, timeout_ms: int = 30_000, on_close=None):
    """A page in a fresh browser context: yields ``(page, timings)``.

    If the body fails, a full-page screenshot goes to ``ARTIFACTS/<failed_shot>-FAILED.png`` first;
    whatever happens, ``timings`` is recorded under ``name``, ``on_close(page)`` runs (its errors
    ignored) and the context is closed.
    """
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    timings: dict[str, object] = {}
    try:
        yield page, timings
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{failed_shot}-FAILED.png"), full_page=True)
        raise
    finally:
        record(name, timings)
        if on_close is not None:
            with contextlib.suppress(Exception):
                on_close(page)
        context.close()
