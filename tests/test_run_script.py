"""The README's real command lines: `./run lab` and `./run lecture` start a server that answers.

Each test starts the command exactly as a user would (plus ``--no-browser`` and a free
port), waits a bounded time for the server to answer over HTTP, and stops it by its
process group. As root (containers, cloud VMs, CI) `./run lab` must still start, saying
so in one line. The tests run only inside the virtual environment that `./run` manages,
where `./run lab` needs no further install.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = (ROOT / os.environ.get("VENV", ".venv")).resolve()
START_TIMEOUT = 120.0  # s; JupyterLab answers after about 3 s on an idle machine

pytestmark = pytest.mark.skipif(
    Path(sys.prefix).resolve() != VENV,
    reason=f"runs only inside the environment ./run manages ({VENV}); this is {sys.prefix}",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status < 500
    except urllib.error.HTTPError as e:  # a 403/404 is an answer too
        return e.code < 500
    except OSError:
        return False


def _serve(args: list[str], url: str, tmp_path: Path) -> str:
    """Run ``./run *args`` until ``url`` answers; return everything it printed. Always stops it."""
    env = dict(os.environ)
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime")):
        env[var] = str(tmp_path / sub)
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(ROOT / "run"), *args], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _answers(url):
                if proc.poll() is not None:
                    pytest.fail(f"./run {args[0]} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    pytest.fail(f"./run {args[0]} did not answer at {url} within {START_TIMEOUT:.0f} s:\n"
                                f"{log.read_text()[-3000:]}")
                time.sleep(0.5)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
    return log.read_text()


def test_run_lab_starts_jupyterlab(tmp_path):
    port = _free_port()
    token = "run-lab-test"
    out = _serve(["lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
                  f"--IdentityProvider.token={token}"],
                 f"http://127.0.0.1:{port}/api/status?token={token}", tmp_path)
    root_lines = [line for line in out.splitlines() if "Running as root" in line]
    if os.geteuid() == 0:
        assert root_lines == ["Running as root: JupyterLab is started with --allow-root."], root_lines
    else:
        assert root_lines == []


def test_run_lecture_starts_voila(tmp_path):
    port = _free_port()
    # the page list, not a page: Voila runs a page's notebook on every request of it
    _serve(["lecture", "--no-browser", f"--port={port}"], f"http://127.0.0.1:{port}/", tmp_path)
