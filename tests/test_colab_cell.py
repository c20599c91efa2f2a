"""The first cell of every notebook: Colab's setup, folded, and a clear message instead of a traceback
(issue #25 item 5).

The repository's public address is set in one place, ``[tool.tutorial_lib] repository`` in
pyproject.toml; ``python tests/test_colab_cell.py --write`` copies it into every notebook's first cell.
While it is empty, the cell on Colab says that this copy cannot be installed there; elsewhere the cell
does nothing and shows one line (its title) when folded.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import nbformat
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
FOLDED = {"jupyter": {"source_hidden": True}, "cellView": "form"}  # JupyterLab/Notebook 7/VS Code, Colab
TAGS = ["colab-setup", "nbval-ignore-output"]

TEMPLATE = '''\
# @title Setup for Google Colab (elsewhere this cell does nothing)
REPO_URL = {url!r}  # set in pyproject.toml, [tool.tutorial_lib] repository
import sys

if "google.colab" in sys.modules:
    if not REPO_URL:
        print("This copy of the tutorial has no public address yet, so Colab cannot install it.\\n"
              "Open the notebooks on your own computer instead (README, 'Start here').")
    else:
        import subprocess
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                               f"tutorial_lib @ git+{{REPO_URL}}"], capture_output=True, text=True)
        if done.returncode:
            print(f"Installing the tutorial from {{REPO_URL}} failed (pip's last words below).\\n"
                  + done.stderr[-600:])
        else:
            from google.colab import output
            output.enable_custom_widget_manager()  # the dashboards' sliders and live figure
'''


def repository() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["tutorial_lib"]["repository"]


def cell_source(url: str | None = None) -> str:
    return TEMPLATE.format(url=repository() if url is None else url)


def write() -> None:
    """Put the Colab cell, folded, first in every notebook (replacing the old one)."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0]
        if "colab-setup" not in first.metadata.get("tags", []):
            first = nbformat.v4.new_code_cell()
            nb.cells.insert(0, first)
        first.source = cell_source()
        first.metadata.update(FOLDED)
        first.metadata["tags"] = TAGS
        first.outputs = []
        nbformat.write(nb, path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_starts_with_the_folded_colab_cell(path):
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "code" and first.source == cell_source(), \
        "run `python tests/test_colab_cell.py --write`"
    assert {k: first.metadata.get(k) for k in FOLDED} == FOLDED and first.metadata.get("tags") == TAGS
    assert first.source.splitlines()[0].startswith("# @title ")  # the one line shown when folded


def _run(source: str, monkeypatch, on_colab: bool, returncode: int = 0) -> list:
    calls = []
    if on_colab:
        colab = types.ModuleType("google.colab")
        colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("widgets"))
        monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
        monkeypatch.setitem(sys.modules, "google.colab", colab)
    import subprocess

    def fake_run(argv, **kwargs):
        calls.append(argv)
        return types.SimpleNamespace(returncode=returncode, stderr="ERROR: could not find a version\n")

    monkeypatch.setattr(subprocess, "run", fake_run)
    exec(compile(source, "<colab cell>", "exec"), {})
    return calls


def test_off_colab_the_cell_does_nothing(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert _run(cell_source(""), monkeypatch, on_colab=False) == []
    assert capsys.readouterr().out == ""


def test_on_colab_without_an_address_the_cell_says_so_instead_of_failing(monkeypatch, capsys):
    assert _run(cell_source(""), monkeypatch, on_colab=True) == []
    out = capsys.readouterr().out
    assert "no public address yet" in out and "README" in out


def test_on_colab_with_an_address_the_cell_installs_it_and_reports_a_failure_plainly(monkeypatch, capsys):
    url = "https://github.com/owner/name"
    calls = _run(cell_source(url), monkeypatch, on_colab=True)
    assert calls[0][-1] == f"tutorial_lib @ git+{url}" and calls[1] == "widgets"
    calls = _run(cell_source(url), monkeypatch, on_colab=True, returncode=1)
    assert calls[1:] == [] and "failed (pip's last words below)" in capsys.readouterr().out


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    else:
        sys.exit("usage: python tests/test_colab_cell.py --write")
