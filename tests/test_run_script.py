"""The README's real command lines: `./run lab` and `./run lecture` start a server that answers.

Each test starts the command exactly as a user would (plus ``--no-browser`` and a free
port), waits a bounded time for the server to answer over HTTP, and stops it by its
process group. As root (containers, cloud VMs, CI) `./run lab` must still start, saying
so in one line. `./run lab` must also start quietly: nothing a student would take for an error
before the URL of the notebooks, nor when a notebook is opened and a cell run (issue #25).
The tests run only inside the virtual environment that `./run` manages,
where `./run lab` needs no further install.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import tornado.websocket

ROOT = Path(__file__).resolve().parents[1]
VENV = (ROOT / os.environ.get("VENV", ".venv")).resolve()
START_TIMEOUT = 120.0  # s; JupyterLab answers after about 3 s on an idle machine

pytestmark = [
    pytest.mark.skipif(os.name != "posix", reason="./run is a POSIX sh script (Windows: see the README)"),
    pytest.mark.skipif(Path(sys.prefix).resolve() != VENV,
                       reason=f"runs only inside the environment ./run manages ({VENV}); this is {sys.prefix}"),
]


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


def _install_pending() -> bool:
    """Whether ``./run lab`` would install first (pyproject.toml newer than its stamps, as ``run``
    decides): the tests must not reinstall the package into a shared environment."""
    stamps = [VENV / f".installed-{extra}" for extra in ("test", "lab")]
    mtime = (ROOT / "pyproject.toml").stat().st_mtime
    return not any(stamp.exists() and stamp.stat().st_mtime >= mtime for stamp in stamps)


@contextlib.contextmanager
def _server(args: list[str], url: str, tmp_path: Path) -> Iterator[Path]:
    """Run ``./run *args`` until ``url`` answers; yield the file its output goes to. Always stops it.

    Jupyter's config, data and runtime folders are temporary ones (the notebooks' trust signatures
    go to the data folder), so nothing of the user's is read or written."""
    if _install_pending():
        pytest.skip("./run would install the package first (pyproject.toml is newer than the install)")
    env = dict(os.environ)
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("JUPYTER_DATA_DIR", "data")):
        env[var] = str(tmp_path / sub)
    env.pop("JUPYTER_CONFIG_PATH", None)
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
            yield log
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def _serve(args: list[str], url: str, tmp_path: Path) -> str:
    """Run ``./run *args`` until ``url`` answers, stop it; return everything it printed."""
    with _server(args, url, tmp_path) as log:
        pass
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


def test_run_lecture_starts_voila_quietly(tmp_path):
    """`./run lecture` answers, and neither its start nor a page's load (the page's kernel, its trust
    check) prints a warning; the Part 1 page, the lightest, is loaded once."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    # the page list answers first: Voila runs a page's notebook on every request of it
    with _server(["lecture", "--no-browser", f"--port={port}"], f"{base}/", tmp_path) as log:
        with urllib.request.urlopen(f"{base}/voila/render/part1_rate_network.ipynb", timeout=START_TIMEOUT) as r:
            assert r.status == 200
        time.sleep(1.0)
        out = log.read_text()
    assert "Kernel started" in out, out
    assert _alarming(out) == [], f"`./run lecture` printed, loading a page:\n{out}"


# What a student would take for an error in the terminal: warnings of any kind (Python's, Jupyter's
# [W] lines, ipykernel's WARNING), setuptools' "!!" blocks, the trust notice, tracebacks, errors.
ALARMING = re.compile(r"warn|!!|not trusted|deprecat|traceback|error|^\[[WE] ", re.IGNORECASE | re.MULTILINE)


def _alarming(text: str) -> list[str]:
    return [line for line in text.splitlines() if ALARMING.search(line)]


def _api(base: str, path: str, token: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{base}{path}", data=data, method="GET" if body is None else "POST",
                                 headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def _run_coroutine(coroutine):
    """Run ``coroutine`` to its end in a thread of its own, with a new event loop: in one pytest process an
    earlier test (Playwright's sync API in tests/browser) may leave a loop running in this thread, where
    ``asyncio.run`` refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _execute(ws_url: str, session: str, code: str, timeout: float) -> str:
    """Run ``code`` in a kernel over the server's websocket, as JupyterLab does; return its stdout."""
    ws = await tornado.websocket.websocket_connect(ws_url)
    header = {"msg_id": uuid.uuid4().hex, "username": "student", "session": session,
              "msg_type": "execute_request", "version": "5.3", "date": ""}
    await ws.write_message(json.dumps({
        "header": header, "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False}}))
    out = ""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            msg = await asyncio.wait_for(ws.read_message(), deadline - time.monotonic())
            msg = json.loads(msg) if isinstance(msg, str) else None
            if msg and msg.get("parent_header", {}).get("msg_id") == header["msg_id"]:
                if msg["msg_type"] == "stream":
                    out += msg["content"]["text"]
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    return out
        raise TimeoutError(f"no answer from the kernel within {timeout:.0f} s")
    finally:
        ws.close()


def test_run_lab_starts_quietly(tmp_path):
    """#25: `./run lab` as a student runs it (a generated token): up to the server's first URL line
    nothing that looks like an error; then a notebook opened, a kernel started for it and a cell run
    (the trust check, the kernel's transport, the websocket's pings) add no warning either."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with _server(["lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1"],
                 f"{base}/api", tmp_path) as log:
        start = log.read_text()
        url_line = next((i for i, line in enumerate(start.splitlines()) if f"{base}/lab?token=" in line), None)
        assert url_line is not None, f"no URL to open the notebooks in the output:\n{start}"
        head = "\n".join(start.splitlines()[:url_line + 1])
        assert _alarming(head) == [], f"`./run lab` printed, before its URL:\n{head}"
        token = re.search(rf"{re.escape(base)}/lab\?token=(\w+)", start).group(1)

        notebook = _api(base, "/api/contents/01_rate_rnn.ipynb", token)
        assert notebook["type"] == "notebook"
        for page in ("/lab", "/tree", "/notebooks/01_rate_rnn.ipynb"):  # JupyterLab and Notebook 7 serve
            with urllib.request.urlopen(f"{base}{page}?token={token}", timeout=60) as r:
                assert r.status == 200, page
        session = _api(base, "/api/sessions", token, {"path": "01_rate_rnn.ipynb", "type": "notebook",
                                                     "name": "01_rate_rnn.ipynb", "kernel": {"name": "python3"}})
        client = uuid.uuid4().hex
        ws_url = (f"ws://127.0.0.1:{port}/api/kernels/{session['kernel']['id']}/channels"
                  f"?session_id={client}&token={token}")
        assert _run_coroutine(_execute(ws_url, client, "print(6 * 7)", START_TIMEOUT)) == "42\n"
        time.sleep(1.0)  # let the server write what it has to say about the connection
        whole = log.read_text()
    assert _alarming(whole) == [], f"`./run lab` printed, opening a notebook and running a cell:\n{whole}"


def test_a_coroutine_runs_even_where_an_event_loop_is_already_running():
    """The case of CI's single pytest process, where the browser tests ran first."""
    async def answer():
        return 42

    async def outer():  # an event loop is running in this thread here
        return _run_coroutine(answer())

    result = []  # in a thread of its own: this test's thread may already have a running loop
    thread = threading.Thread(target=lambda: result.append(asyncio.run(outer())))
    thread.start()
    thread.join(timeout=30)
    assert result == [42]
