"""What the browser tests do with a training dashboard on a page (JupyterLab or Voila).

A dashboard is found by the CSS class ``rls-dashboard`` on its root widget if
the library sets one, else as the horizontal box that holds both a "Train"
button and an image (the live figure); its status line by the class
``rls-status``, else as its last HTML widget. Every dashboard of every notebook and
lecture page is found this way, so new parts are covered without new tests.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported lazily: without playwright the tests skip instead of failing to import
    from playwright.sync_api import Locator, Page

# The stated times (seconds) of the checks, with the loops slider set to LOOPS. Measured on a
# 2-core machine for parts 1 and 2: the figure changes after 1-2 s, LOOPS loops end after 2-4 s,
# Stop takes effect within 1.5 s.
FIGURE_CHANGE_TIMEOUT = 30  # after pressing Train, the live figure changes within this time
TRAIN_TIMEOUT = 90          # a LOOPS-loop training finishes (status "Done", Train enabled again)
STOP_TIMEOUT = 30           # after pressing Stop: status "Stopped", Train enabled again
STOP_PROMPT_S = 2.0         # a stop this soon after the click is prompt, however many loops ran
LOOPS = 3

# Dashboards that need other stated times, by a CSS class the library puts on their root widget.
# Part 3 (class rls-balanced, lecture scale) first builds its network (static simulation and
# rate matching: 1-2 s, up to 10 s on a busy 2-core machine), then a loop takes about 1.3 s
# (every 10th also tests: about 4 s). Measured on a busy 2-core machine (load 4 to 9), JupyterLab
# and Voila: figure changed after 3.6-5.6 s, 3 loops done after 11-16 s, stopped 2.5-4.3 s after Stop.
TIMEOUTS = {
    "rls-balanced": {"figure_change": 60, "train": 150, "stop": 30},
}

DASHBOARD_CLASS = "rls-dashboard"  # on the dashboard's root widget, when the library sets it
STATUS_CLASS = "rls-status"        # on its status line, likewise

# A hash of the image bytes the <img> shows (its src is a blob: URL made by ipywidgets).
_IMAGE_HASH = """async (img) => {
    if (!img.src) return null;
    const buf = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
    let h = 2166136261;
    for (const x of buf) { h = Math.imul(h ^ x, 16777619) >>> 0; }
    return buf.length + ":" + h;
}"""


def find_dashboards(scope: Locator | Page) -> Locator:
    """All dashboards inside ``scope``."""
    tagged = scope.locator(f".{DASHBOARD_CLASS}")
    if tagged.count():
        return tagged
    page = getattr(scope, "page", scope)  # a Locator has .page, a Page is one
    return (scope.locator(".widget-hbox")
            .filter(has=page.locator("button", has_text=re.compile(r"^\s*Train\s*$")))
            .filter(has=page.locator("img")))


class Dashboard:
    """One dashboard on the page, driven like a person would: keyboard on sliders, clicks on buttons."""

    def __init__(self, root: Locator):
        self.root = root
        classes = (root.get_attribute("class") or "").split()
        self.timeouts = {"figure_change": FIGURE_CHANGE_TIMEOUT, "train": TRAIN_TIMEOUT, "stop": STOP_TIMEOUT}
        for cls, times in TIMEOUTS.items():
            if cls in classes:
                self.timeouts.update(times)
        self.train_button = root.locator("button", has_text=re.compile(r"^\s*Train\s*$"))
        self.stop_button = root.locator("button", has_text=re.compile(r"^\s*Stop\s*$"))
        self.image = root.locator("img").first
        self.sliders = root.locator(".widget-slider")

    # -- reading -------------------------------------------------------------
    def status(self) -> str:
        """The status line: the widget with class ``rls-status``, else the dashboard's last HTML widget."""
        tagged = self.root.locator(f".{STATUS_CLASS}")
        return (tagged.first if tagged.count() else self.root.locator(".widget-html").last).inner_text()

    def image_hash(self) -> str | None:
        return self.image.evaluate(_IMAGE_HASH)

    def slider(self, label: str) -> Locator | None:
        found = self.sliders.filter(has=self.root.page.locator(".widget-label", has_text=re.compile(label)))
        return found.first if found.count() else None

    @staticmethod
    def readout(slider: Locator) -> str:
        return slider.locator(".widget-readout").inner_text().strip()

    # -- acting --------------------------------------------------------------
    @staticmethod
    def press(slider: Locator, *keys: str) -> None:
        handle = slider.locator(".noUi-handle").first
        handle.scroll_into_view_if_needed()
        handle.focus()
        for key in keys:
            handle.press(key)

    def wait_until(self, what: str, condition, timeout: float, poll: float = 0.2):
        """Poll ``condition()`` until it returns something true; fail with ``what`` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if "Cannot train" in status:  # the dashboard reports an error: no use waiting
                raise AssertionError(f"{what}: the dashboard reports an error: {status!r}")
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout} s (status: {self.status()!r})")
            time.sleep(poll)

    def idle(self) -> bool:
        return self.train_button.is_enabled() and self.stop_button.is_disabled()

    # -- the checks ----------------------------------------------------------
    def check_slider_train_and_figure(self, screenshot: Path) -> dict:
        """Move the first slider one step, train LOOPS loops; the figure changes and training ends.

        Returns timings (s) and the slider's readouts. The screenshot of the
        dashboard is taken once training has finished, after the slider change.
        """
        first = self.sliders.first
        before_readout = self.readout(first)
        self.press(first, "ArrowRight")
        self.wait_until("the first slider's readout changes after ArrowRight",
                        lambda: self.readout(first) != before_readout, 10)
        loops = self.slider(r"^\s*loops\s*$")
        n_loops = None
        if loops is not None:  # Home: the slider's minimum, then up to LOOPS
            self.press(loops, "Home")
            for _ in range(LOOPS):
                if int(self.readout(loops)) >= LOOPS:
                    break
                self.press(loops, "ArrowRight")
            n_loops = int(self.readout(loops))
        # No wait is needed here: the widgets' messages reach the kernel in order, the
        # slider values before the click on Train ("Done after n loop(s)" checks it).
        before = self.image_hash()
        assert before, "the live figure shows no image before training"
        t0 = time.monotonic()
        self.train_button.click()
        self.wait_until("the live figure changes after Train",
                        lambda: self.image_hash() != before, self.timeouts["figure_change"])
        t_change = time.monotonic() - t0
        self.wait_until("training ends (Done, Train enabled again)",
                        lambda: "Done after" in self.status() and self.idle(), self.timeouts["train"])
        t_done = time.monotonic() - t0
        status = self.status()
        if n_loops is not None:
            assert f"Done after {n_loops} loop(s)" in status, status
        assert "Cannot train" not in status, status
        after = self.image_hash()
        assert after != before, "the figure after training is the one before"
        time.sleep(0.3)  # let the last frame paint before the screenshot
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        self.root.scroll_into_view_if_needed()
        self.root.screenshot(path=str(screenshot))
        return {"slider": f"{before_readout} -> {self.readout(first)}",
                "figure_changed_s": round(t_change, 2),
                "trained_s": round(t_done, 2), "train_status": status}

    def check_stop(self) -> dict:
        """Loops at their maximum, Train, Stop after the first loop: "Stopped", and Train works again."""
        loops = self.slider(r"^\s*loops\s*$")
        if loops is not None:
            self.press(loops, "End")
            top = self.readout(loops)
        self.train_button.click()
        running = self.wait_until("training starts its loops",
                                  lambda: re.search(r"Training\.\.\. loop (\d+)", self.status()),
                                  self.timeouts["figure_change"])
        t0 = time.monotonic()
        self.stop_button.click()
        self.wait_until("Stop stops training (status Stopped, Train enabled again)",
                        lambda: "Stopped" in self.status() and self.idle(), self.timeouts["stop"])
        t_stop = time.monotonic() - t0
        status = self.status()
        m = re.search(r"Stopped after (\d+) loop", status)
        assert m, status
        if loops is not None:
            assert int(m.group(1)) < int(top), status
        # within about one loop: the loop running at the click ends, then training stops (one more
        # loop allowed for a status line that was one message behind when it was read). Fast
        # dashboards (Part 1: a few ms per loop) run several loops between reading the status and
        # the click's arrival; for them a stop within STOP_PROMPT_S seconds counts as prompt.
        seen = int(running.group(1))
        assert int(m.group(1)) <= seen + 2 or t_stop <= STOP_PROMPT_S, \
            f"Stop pressed after loop {seen}, but after {t_stop:.1f} s: {status}"
        return {"stopped_s": round(t_stop, 2), "stop_status": status}
