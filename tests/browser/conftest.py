"""Servers and a browser for the browser tests: JupyterLab, Voila (lecture mode), headless Chromium.

Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM), driven by the Python
package playwright; ``./run test`` installs it when it can. Without it, or
without playwright, these tests are skipped with the reason, never silently.
Each server runs on 127.0.0.1 with its Jupyter config, data and runtime
folders in a temporary folder, and is stopped by its PID at the end.
Screenshots and server logs go to test-artifacts/browser/ (or $BROWSER_ARTIFACTS).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser_env import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, DASHBOARDS_NOTEBOOK, ROOT, TIMINGS, WORKER, record

SERVER_START_TIMEOUT = 60  # s


def _skip_reason() -> str | None:
    if not os.access(CHROMIUM, os.X_OK):
        return (f"browser tests skipped: no Chromium at {CHROMIUM} (Debian: apt-get install chromium; "
                "./run test installs it as root or with passwordless sudo)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests skipped: the Python package playwright is missing (pip install -e '.[test]')"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    if reason:
        for item in items:
            if item.get_closest_marker("browser"):
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: needs headless Chromium and playwright (tests/browser)")


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.write_sep("-", f"browser test timings (s); screenshots in {ARTIFACTS}")
        for name, value in TIMINGS.items():
            terminalreporter.write_line(f"{name}: {value}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _jupyter_env(tmp: Path) -> dict:
    env = dict(os.environ)
    for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")]:
        (tmp / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(tmp / sub)
    env.pop("JUPYTERLAB_SETTINGS_DIR", None)
    env.pop("JUPYTERLAB_WORKSPACES_DIR", None)
    env["PYTHONUNBUFFERED"] = "1"
    # a reduced workload in every kernel these servers start (notebook 03 trains 2 loops, not 30):
    # this suite checks that cells and widgets work in a browser; nbval runs the real defaults
    env["TUTORIAL_SMOKE_TEST"] = "1"
    return env


def _stop(proc: subprocess.Popen) -> None:
    """Stop a server we started, by its PID: SIGTERM (it shuts its kernels down), then SIGKILL."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _wait_for(what: str, ok, proc: subprocess.Popen, log_path: Path, timeout=SERVER_START_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}; log: {log_path}\n"
                               + log_path.read_text()[-3000:])
        try:
            if ok():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {timeout} s; log: {log_path}")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _write_dashboards_notebook(root: Path) -> None:
    """``root/dashboards.ipynb``: one cell per dashboard of tutorial_lib.lecture.PAGES, in their order."""
    import nbformat

    from tutorial_lib import lecture

    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                  "name": "python3"}}
    nb.cells = [nbformat.v4.new_code_cell(
        f"from tutorial_lib.dashboard import {p.dashboard}\n{p.dashboard}()") for p in lecture.PAGES]
    nbformat.write(nb, root / DASHBOARDS_NOTEBOOK)


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory):
    """JupyterLab on a copy of notebooks/ (outputs cleared) and DASHBOARDS_NOTEBOOK, with a token;
    yields (base URL, token)."""
    import nbformat

    t0 = time.monotonic()
    tmp = tmp_path_factory.mktemp("jupyterlab")
    root = tmp / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for path in root.glob("*.ipynb"):  # start from no outputs, so every output seen is from this run
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nb.metadata.pop("widgets", None)
        nbformat.write(nb, path)
    _write_dashboards_notebook(root)
    yield from _jupyter_server("JupyterLab", "jupyterlab", "jupyterlab", root, tmp, t0,
                               "--LabApp.expose_app_in_browser=True")


@pytest.fixture(scope="module")
def voila_lecture(tmp_path_factory):
    """Lecture mode as `./run lecture` starts it (Voila on a copy of lecture/); yields the base URL."""
    yield from _voila(tmp_path_factory, offline=False)


@pytest.fixture(scope="module")
def voila_lecture_offline(tmp_path_factory):
    """The same, for a student without the recordings and without network: no data folder, downloads
    forbidden (``TUTORIAL_ALM_DOWNLOAD=0``) and an empty user cache."""
    yield from _voila(tmp_path_factory, offline=True)


def _voila(tmp_path_factory, offline: bool):
    t0 = time.monotonic()
    tmp = tmp_path_factory.mktemp("voila")
    pages = tmp / "lecture"
    shutil.copytree(ROOT / "lecture", pages)
    env = _jupyter_env(tmp)
    name = "voila-offline" if offline else "voila"
    if offline:
        env.pop("TUTORIAL_ALM_DATA", None)
        env["TUTORIAL_ALM_DOWNLOAD"] = "0"
        env["XDG_CACHE_HOME"] = str(tmp / "empty-cache")  # where pooch looks for a cached copy
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / f"{name}{WORKER}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tutorial_lib.lecture", "--no-browser", f"--port={port}",
             f"--dir={pages}"],
            cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)

        def up():  # a connection only: a page request would run a notebook
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True

        try:
            _wait_for("Voila", up, proc, log_path)
            record(f"{name}_start", round(time.monotonic() - t0, 1))
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(proc)
            record(f"{name}_module_total", round(time.monotonic() - t0, 1))


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory):
    """Jupyter Notebook 7 on a folder with one notebook that shows every dashboard; yields (base URL, token).

    Notebook 7 caps its output column (1108 px at any window width): the dashboards must fit it.
    """
    t0 = time.monotonic()
    tmp = tmp_path_factory.mktemp("notebook7")
    root = tmp / "notebooks"
    root.mkdir()
    _write_dashboards_notebook(root)
    yield from _jupyter_server("Notebook 7", "notebook", "notebook7", root, tmp, t0,
                               "--JupyterNotebookApp.expose_app_in_browser=True")


def _jupyter_server(what: str, module: str, name: str, root: Path, tmp: Path, t0: float, expose: str):
    """Start ``python -m <module>`` (JupyterLab or Notebook 7) on ``root`` with a token, no news pop-up and
    every cell attached to the page; yield ``(base URL, token)`` once it answers; stop it by its PID."""
    env = _jupyter_env(tmp)
    config = Path(env["JUPYTER_CONFIG_DIR"])
    (config / "labconfig").mkdir()
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    settings = config / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)  # every cell attached to the page, so every output is there to check
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    token = secrets.token_hex(16)
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / f"{name}{WORKER}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--no-browser", "--allow-root",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", expose],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy

        def up():
            with direct.open(f"{base}/api/status?token={token}", timeout=2) as r:
                return r.status == 200

        try:
            _wait_for(what, up, proc, log_path)
            record(f"{name}_start", round(time.monotonic() - t0, 1))
            yield base, token
        finally:
            _stop(proc)
            record(f"{name}_module_total", round(time.monotonic() - t0, 1))
