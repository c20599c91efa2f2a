"""What the browser tests of the dashboards with a Run button share (Part 4's perturbation dashboard and
Part 5's attractor dashboard): opening a lecture page, a JupyterLab server on a one-cell notebook that
shows the dashboard, and that notebook run in JupyterLab up to the dashboard."""

from __future__ import annotations

import time

from dashboard_checks import Dashboard, find_dashboards

PAGE_LOAD_TIMEOUT = 120  # s: Voila runs the page's notebook in a fresh kernel


def open_lecture_page(page, base: str, name: str) -> Dashboard:
    """The lecture page ``name`` (``"part5_attractors"``) on the Voila server at ``base``: one dashboard,
    no code, no error."""
    page.goto(f"{base}/voila/render/{name}.ipynb", timeout=PAGE_LOAD_TIMEOUT * 1000)
    dashboards = find_dashboards(page)
    dashboards.first.wait_for(timeout=PAGE_LOAD_TIMEOUT * 1000)
    assert dashboards.count() == 1
    assert page.locator(".jp-InputArea, .jp-InputPrompt").count() == 0, "the page shows code"
    assert page.get_by_text("Traceback").count() == 0, "the page shows an error"
    assert page.locator("[data-mime-type='application/vnd.jupyter.error']").count() == 0
    return Dashboard(dashboards.first)


def lab_with_a_dashboard(tmp_path_factory, function: str, label: str):
    """(For a module fixture, ``yield from``.) JupyterLab on a folder with ``{label}.ipynb``, whose one
    cell shows ``tutorial_lib.dashboard.{function}()``; yields ``(base, token)``."""
    import nbformat
    from conftest import _jupyter_server

    t0 = time.monotonic()
    tmp = tmp_path_factory.mktemp(f"jupyterlab-{label}")
    root = tmp / "notebooks"
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                  "name": "python3"}}
    nb.cells = [nbformat.v4.new_code_cell(f"from tutorial_lib.dashboard import {function}\n{function}()")]
    nbformat.write(nb, root / f"{label}.ipynb")
    yield from _jupyter_server("JupyterLab", "jupyterlab", f"jupyterlab-{label}", root, tmp, t0,
                               "--LabApp.expose_app_in_browser=True")


def run_to_the_dashboard(page, base: str, token: str, name: str) -> Dashboard:
    """Open notebook ``name`` in JupyterLab, run all its cells without error, and return its dashboard."""
    from test_browser_notebooks import _wait_summary

    page.goto(f"{base}/lab/tree/{name}?reset&token={token}")
    state = _wait_summary(page, name, lambda s: s["status"] == "idle", "the kernel is ready", 90)
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    page.evaluate("(id) => { window.jupyterapp.shell.activateById(id); "
                  "window.jupyterapp.commands.execute('notebook:run-all-cells'); }", state["id"])
    state = _wait_summary(page, name, lambda s: s["status"] == "idle" and all(
        c["count"] is not None for c in s["cells"]), "Run All finishing", 120)
    assert not any(c["errors"] for c in state["cells"]), state["cells"]
    notebook = page.locator(f"#{state['id']} .jp-Notebook")
    find_dashboards(notebook).first.wait_for(timeout=30_000)
    return Dashboard(find_dashboards(notebook).first)
