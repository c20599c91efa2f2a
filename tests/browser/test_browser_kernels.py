"""Lecture mode leaves no kernel behind: pages opened, reloaded and closed in Chromium, kernels counted.

Voila starts a kernel (a child process of the server, 250-550 MB) per page load. Against a server started
as `./run lecture` starts it (``python -m tutorial_lib.lecture``, i.e. ``voila_command``), three cycles of
open, reload, close on the Part 1 page (the first one left idle, but watched, for longer than the culling
allows: its kernel stays): a reload and a closed tab end the page's kernel at once (Voila's
shutdown request on ``beforeunload``); the last tab is closed without it, as a crashed tab or a killed
browser would be, and its kernel is culled. The test shortens the culling to 10 s idle, checked every 2 s
(``--MappingKernelManager.cull_idle_timeout=10 --MappingKernelManager.cull_interval=2``; the lecture's own
values are 45 s and 15 s, tests/test_lecture_command.py). Each step waits until the kernel count is as
it should be; the culler could end a reloaded page's old kernel within those waits too, so the log must
show exactly one kernel culled (the last). At the end the kernel count is back where it started and the
memory of the server with all its descendants within half a kernel of it.
The server's log (test-artifacts/browser/voila-kernels.log) must not show the warnings a lecturer would
take for errors. Measured figures go to test-artifacts/browser/timings.json ("voila kernels").
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest
from browser_env import ARTIFACTS, ROOT, WORKER, record

PAGE = "part1_rate_network.ipynb"  # the lightest page: a small rate network
CYCLES = 3
CULL_IDLE_S, CULL_INTERVAL_S = 10, 2  # this test's culling (short, so that it ends in well under 2 min)
ENDED_WITHIN_S = 15  # a reloaded or closed page's kernel is gone within this (Voila's shutdown request)
CULLED_WITHIN_S = CULL_IDLE_S + CULL_INTERVAL_S + 20  # a page closed without it: culled, then shut down
PAGE_LOAD_TIMEOUT_S = 120
START_TIMEOUT_S = 60
# Lines a lecturer would take for errors; none may appear in the server's log.
NOISE = re.compile(r"Kernel is running over TCP without encryption|websocket_ping_timeout|cannot be longer than"
                   r"|_xsrf|(^|\s)403\s|Traceback")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp) -> dict:
    """The environment of conftest's servers: Jupyter's folders in ``tmp``, the reduced workload."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", TUTORIAL_SMOKE_TEST="1")
    for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")]:
        (tmp / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(tmp / sub)
    return env


class Server:
    """The lecture server's process: its kernels (children) and its memory with all its descendants."""

    def __init__(self, proc: subprocess.Popen, url: str, log_path):
        self.proc, self.url, self.log_path = proc, url, log_path
        self.process = psutil.Process(proc.pid)

    def kernels(self) -> dict[int, int]:
        """{pid: RSS in bytes} of the server's children that are alive (an exiting one is skipped)."""
        out = {}
        for child in self.process.children():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                if child.status() != psutil.STATUS_ZOMBIE:
                    out[child.pid] = child.memory_info().rss
        return out

    def memory_mb(self) -> float:
        """RSS of the server and all its living descendants (MB)."""
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                if child.status() != psutil.STATUS_ZOMBIE:
                    total += child.memory_info().rss
        return total / 2**20

    def wait_until(self, ok, timeout_s: float, what: str):
        """Poll ``ok(kernels)`` until it holds; fail with the kernels seen after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            kernels = self.kernels()
            if ok(kernels):
                return kernels
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not within {timeout_s} s; kernels (pid: MB) "
                            f"{ {p: r >> 20 for p, r in kernels.items()} }; log {self.log_path}")
            time.sleep(0.25)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def lecture_server(tmp_path_factory):
    """`./run lecture` (python -m tutorial_lib.lecture) on a copy of lecture/, with this test's culling."""
    tmp = tmp_path_factory.mktemp("voila-kernels")
    shutil.copytree(ROOT / "lecture", tmp / "lecture")
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / f"voila-kernels{WORKER}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tutorial_lib.lecture", "--no-browser", f"--port={port}",
             f"--dir={tmp / 'lecture'}", f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_S}",
             f"--MappingKernelManager.cull_interval={CULL_INTERVAL_S}"],
            cwd=tmp, env=_env(tmp), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:  # a connection only: a page request would start a kernel
            assert proc.poll() is None, f"the lecture server exited: {log_path.read_text()[-3000:]}"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            assert time.monotonic() < deadline, f"the lecture server did not start: {log_path}"
            time.sleep(0.2)
        yield Server(proc, f"http://127.0.0.1:{port}", log_path)
    finally:
        if proc.poll() is None:  # stop it by its PID: SIGTERM (it shuts its kernels down), then SIGKILL
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _culled_first(log: str) -> list[str]:
    """Ids of the kernels the culler ended before anything else did. A page's own shutdown request and the
    culler can both reach a kernel that had been idle while watched: then it counts as ended by its page."""
    first: dict[str, str] = {}
    for line in log.splitlines():
        if m := re.search(r"Kernel shutdown: ([0-9a-f-]{36})", line):
            first.setdefault(m[1], "page")
        elif "seconds of inactivity" in line and (m := re.search(r"\(([0-9a-f-]{36})\)", line)):
            first.setdefault(m[1], "culler")
    return [kernel for kernel, by in first.items() if by == "culler"]


def _open(context, url: str):
    page = context.new_page()
    page.set_default_timeout(PAGE_LOAD_TIMEOUT_S * 1000)
    page.goto(url)
    page.locator(".rls-lecture").first.wait_for()
    return page


@pytest.mark.browser
def test_pages_opened_reloaded_and_closed_leave_no_kernel_behind(lecture_server, browser):
    server, t0 = lecture_server, time.monotonic()
    url = f"{server.url}/voila/render/{PAGE}"
    start_kernels, start_mb = len(server.kernels()), server.memory_mb()
    timings: dict[str, object] = {"start_kernels": start_kernels, "start_mb": round(start_mb)}
    kernel_mb = []
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        for cycle in range(CYCLES):
            t_step = time.monotonic()
            page = _open(context, url)
            opened = server.wait_until(lambda k: len(k) == start_kernels + 1, ENDED_WITHIN_S,
                                       f"cycle {cycle}: one kernel for the open page")
            kernel_mb += [rss / 2**20 for rss in opened.values()]
            timings[f"cycle{cycle}_open"] = {"kernels": len(opened), "mb": round(server.memory_mb()),
                                             "load_s": round(time.monotonic() - t_step, 1)}
            if cycle == 0:  # a page being watched, idle for longer than the culling allows: never culled
                time.sleep(CULL_IDLE_S + 2 * CULL_INTERVAL_S)
                assert set(server.kernels()) == set(opened), "the kernel of a page being watched was culled"
                assert not _culled_first(server.log())
            t_step = time.monotonic()
            page.reload()
            page.locator(".rls-lecture").first.wait_for()
            server.wait_until(lambda k, old=set(opened): len(k) == start_kernels + 1 and not old & set(k),
                              ENDED_WITHIN_S, f"cycle {cycle}: the reloaded page's old kernel ended")
            timings[f"cycle{cycle}_reloaded"] = {"kernels": len(server.kernels()), "mb": round(server.memory_mb()),
                                                 "load_s": round(time.monotonic() - t_step, 1)}
            last = cycle == CYCLES - 1  # closed as a crashed tab would be: no beforeunload, so culled
            t_close = time.monotonic()
            page.close(run_before_unload=not last)
            server.wait_until(lambda k: len(k) == start_kernels, CULLED_WITHIN_S if last else ENDED_WITHIN_S,
                              f"cycle {cycle}: the closed page's kernel " + ("culled" if last else "ended"))
            timings[f"cycle{cycle}_closed"] = {"kernels": len(server.kernels()), "mb": round(server.memory_mb()),
                                               "ended_after_s": round(time.monotonic() - t_close, 1)}
    finally:
        context.close()
        timings["total_s"] = round(time.monotonic() - t0, 1)
        record("voila kernels", timings)
    end_mb = server.memory_mb()
    timings.update(end_mb=round(end_mb), kernel_mb_min=round(min(kernel_mb)), total_s=round(time.monotonic() - t0, 1))
    record("voila kernels", timings)
    assert end_mb - start_mb < min(kernel_mb) / 2, \
        f"the server and its descendants hold {end_mb:.0f} MB, {start_mb:.0f} MB at the start: {timings}"
    # the culler would also end the other kernels within the waits above (10 s idle): only this shows that
    # reloaded and closed pages ended their kernels themselves
    culled = _culled_first(server.log())
    assert len(culled) == 1, \
        f"kernels ended by the culler, not by their page: {culled}; only the last page's should be"
    noise = [line for line in server.log().splitlines() if NOISE.search(line)]
    assert not noise, f"the lecture server's log shows what a lecturer would take for errors: {noise}"


@pytest.mark.browser
def test_no_trust_warning_on_a_page_load(lecture_server):
    if "Kernel started" not in lecture_server.log():  # no page loaded yet (this test alone): load one
        with contextlib.suppress(OSError):  # the request runs the notebook; its kernel is culled later
            direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            direct.open(f"{lecture_server.url}/voila/render/{PAGE}", timeout=PAGE_LOAD_TIMEOUT_S).read()
    log = lecture_server.log()
    assert "Kernel started" in log
    assert "is not trusted" not in log
