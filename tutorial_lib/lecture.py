"""Lecture mode: the training dashboards as full-screen pages for a projector.

From the repository's root::

    ./run lecture                  # or: python -m tutorial_lib.lecture
    ./run lecture --port 9000 --no-browser

writes one small page (a notebook) per entry of :data:`PAGES` into ``lecture/``
and serves the folder with Voila: no code, large fonts, the same sliders and
buttons as in the notebooks. Each page's only cell is::

    from tutorial_lib.lecture import lecture_page
    lecture_page("rate_dashboard")

which also works in JupyterLab. The pages come from the registry of parts
(:data:`tutorial_lib.parts.PARTS`: each part's page name, heading and dashboard); to add a
part, add its entry there and run ``./run lecture`` once (or ``python -m tutorial_lib.lecture --write``),
then commit the new page; ``tests/browser/test_browser_lecture.py`` checks that the
committed pages match the list and opens each of them in a real browser.
"""

# Imported inside functions (optional): nbformat (the lab extra), only to write and sign the pages.

from __future__ import annotations

import argparse
import contextlib
import html
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as widgets

from . import dashboard as dashboards
from .dashboard import screen
from .errors import DivergenceError
from .parts import DASHBOARD_PAGES

__all__ = ["LECTURE_CSS", "LECTURE_FONT_PX", "LECTURE_SMALL_FONT_PX", "LECTURE_FIGURE_FONT_PX",
           "LECTURE_FIGURE_MIN_TEXT_PX", "LECTURE_FIGURE_MIN_SHOWN_PX", "LECTURE_FIGURE_PX", "LECTURE_DPI", "PAGES",
           "Page", "lecture_page", "main", "trust_pages", "write_pages"]


@dataclass(frozen=True)
class Page:
    """One lecture page: a file name, a heading and a dashboard function of :mod:`tutorial_lib.dashboard`.

    ``synthetic_title``: the heading when the dashboard runs on synthetic data (Part 3 without the
    ALM recordings); default ``title``.
    """

    name: str
    title: str
    dashboard: str
    synthetic_title: str | None = None


#: The lecture pages, in order: one per part of the registry (:data:`tutorial_lib.parts.PARTS`).
PAGES = [Page(part.page, part.title, part.dashboard, part.synthetic_title) for part in DASHBOARD_PAGES]

#: Font size of the widgets' text on a lecture page (px): on a projector's 1920 x 1080 (and any screen
#: at least 1400 x 900), and on smaller screens (1024 x 768, 1280 x 720, a 1366 x 768 laptop).
LECTURE_FONT_PX = 22
LECTURE_SMALL_FONT_PX = 20
#: The figure's size as drawn (px): it is shown as large as the window allows beside the controls
#: (CSS: no wider than the room left, no taller than the window), about its natural size at 1920 x 1080
#: and LECTURE_FIGURE_MIN_SHOWN_PX wide at 1024 x 768, the narrowest.
LECTURE_FIGURE_PX = (1250, 1000)
LECTURE_FIGURE_MIN_SHOWN_PX = 600
#: The figure's smallest text as drawn (px): at least LECTURE_FIGURE_MIN_TEXT_PX as shown at 1024 x 768.
LECTURE_FIGURE_MIN_TEXT_PX = 16
LECTURE_FIGURE_FONT_PX = -(-LECTURE_FIGURE_MIN_TEXT_PX * 1.03 * LECTURE_FIGURE_PX[0] // LECTURE_FIGURE_MIN_SHOWN_PX)
#: The controls column (CSS width): 330 px at 1024 x 768 up to 540 px at 1920 x 1080.
LECTURE_CONTROLS_CSS = "clamp(330px, 28vw, 540px)"
LECTURE_CONTROLS_PX = 540
LECTURE_DPI = 100
#: What a lecture page shows less of than the notebook, so its larger text fits: Part 3, two example neurons.
LECTURE_KWARGS = {"balanced_dashboard": {"n_show": 2}}

#: Projector and laptop styling: ipywidgets' own size variables, scaled up, inside the page's root box
#: only; the controls column beside the figure, the figure no wider than the room left and no taller
#: than the window, so Train, Stop and the whole figure are seen without scrolling.
LECTURE_CSS = f"""
.rls-lecture {{
  --jp-widgets-font-size: {LECTURE_SMALL_FONT_PX}px;
  --jp-widgets-inline-height: 34px;
  --jp-widgets-inline-label-width: 150px;
  --jp-widgets-inline-margin: 4px;
  --jp-widgets-slider-handle-size: 22px;
  --jp-widgets-slider-track-thickness: 7px;
  --jp-widgets-progress-thickness: 22px;
  --jp-widgets-input-padding: 4px;
  --rls-controls: {LECTURE_CONTROLS_CSS};
  --rls-label: 150px;
  --rls-title: 24px;
  font-size: {LECTURE_SMALL_FONT_PX}px;
  line-height: 1.3;
  width: 100%;
  height: calc(100vh - 32px);
}}
.rls-lecture > .rls-dashboard {{ flex: 1 1 0 !important; min-height: 0; }}
{screen.LOGSCALE_CSS}
.rls-lecture .rls-lecture-title {{ font-size: var(--rls-title); font-weight: 600; line-height: 1.2;
  margin: 0 0 4px 0; }}
.rls-lecture .rls-lecture-status {{ line-height: 1.3; color: #555; margin: 0 0 6px 0; }}
.rls-lecture .widget-html-content, .rls-lecture .widget-label, .rls-lecture .widget-readout,
.rls-lecture .jupyter-button, .rls-lecture input, .rls-lecture .rls-logscale {{ font-size: {LECTURE_SMALL_FONT_PX}px; }}
.rls-lecture .widget-html-content {{ line-height: 1.3; }}
.rls-lecture .widget-inline-hbox > .widget-label {{ width: var(--rls-label) !important; flex-shrink: 0; }}
/* below 1400 x 900 every slider's label on a line of its own: the track has the column's width */
.rls-lecture .widget-slider {{ flex-wrap: wrap; height: auto !important; }}
.rls-lecture .widget-slider > .widget-label {{ flex: 0 0 100% !important; width: auto !important;
  max-width: none !important; text-align: left !important; padding-left: 4px; height: auto;
  line-height: 1.25; }}
.rls-lecture .widget-readout {{ min-width: 4.2em; }}
.rls-lecture .rls-logslider {{ --rls-readout: 4.2em; padding-left: 1.2em; }} /* half of "0.01" at the page font */
.rls-lecture .widget-text {{ width: calc(100% - 2 * var(--jp-widgets-inline-margin)) !important; }}
.rls-lecture .widget-text input {{ min-width: 0; }}
.rls-lecture input[type="checkbox"] {{ width: 20px; height: 20px; margin-right: 10px; }}
.rls-lecture .rls-dashboard {{ flex-flow: row nowrap !important; align-items: flex-start; }}
.rls-lecture .rls-dashboard, .rls-lecture .rls-controls {{ overflow: visible !important; }}
.rls-lecture .rls-controls {{ flex: 0 0 var(--rls-controls) !important; width: var(--rls-controls) !important;
  min-width: var(--rls-controls) !important; max-width: var(--rls-controls) !important; }}
.rls-lecture .rls-figure {{ flex: 0 1 auto !important; width: auto !important; height: auto !important;
  min-width: 0 !important; max-width: calc(100vw - var(--rls-controls) - 40px) !important;
  max-height: 100% !important; }}
/* a projector's 1920 x 1080, and any screen at least 1400 x 900: larger (last: it overrides the above) */
@media (min-width: 1400px) and (min-height: 900px) {{
  .rls-lecture {{
    --jp-widgets-font-size: {LECTURE_FONT_PX}px;
    --jp-widgets-inline-height: 40px;
    --jp-widgets-inline-margin: 6px;
    --jp-widgets-slider-handle-size: 26px;
    --jp-widgets-slider-track-thickness: 8px;
    --jp-widgets-progress-thickness: 28px;
    --jp-widgets-input-padding: 6px;
    --rls-label: 210px;
    --rls-title: 34px;
    font-size: {LECTURE_FONT_PX}px;
    line-height: 1.35;
  }}
  .rls-lecture :not(.rls-logslider) > .widget-slider {{ flex-wrap: nowrap; }}
  .rls-lecture :not(.rls-logslider) > .widget-slider > .widget-label {{ flex: 0 0 var(--rls-label) !important;
    width: var(--rls-label) !important; text-align: right !important; }}
  .rls-lecture .widget-html-content, .rls-lecture .widget-label, .rls-lecture .widget-readout,
  .rls-lecture .jupyter-button, .rls-lecture input, .rls-lecture .rls-logscale {{ font-size: {LECTURE_FONT_PX}px; }}
}}
"""


def lecture_page(dashboard: str, title: str | None = None, **kwargs):
    """The dashboard ``tutorial_lib.dashboard.<dashboard>(**kwargs)`` with a heading, styled for a projector.

    Returns an ipywidgets ``VBox`` (displayed when it is the cell's last
    expression); its ``dashboard`` attribute is the
    :class:`~tutorial_lib.dashboard.TrainingDashboard` inside.

    Whatever building the dashboard prints (e.g. the notice that Part 3 runs on the synthetic
    stand-in) becomes a status line under the heading instead of text above the page; a dashboard with data names it there. The page is
    the window's height: the figure as large as the room under them and beside the controls.
    """
    kwargs.setdefault("dpi", LECTURE_DPI)
    for key, value in LECTURE_KWARGS.get(dashboard, {}).items():
        kwargs.setdefault(key, value)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        dash = getattr(dashboards, dashboard)(**kwargs)
    data = getattr(dash, "_data", None)
    synthetic = bool(getattr(data, "synthetic", False))
    if title is None:
        page = next((p for p in PAGES if p.dashboard == dashboard), None)
        title = "" if page is None else (page.synthetic_title if synthetic and page.synthetic_title
                                         else page.title)
    status = " ".join(line.strip() for line in printed.getvalue().splitlines() if line.strip())
    if not status and data is not None:
        status = f"Data: {data.description}."
    for control in dash.controls.values():  # room for the larger labels (the CSS sets it per screen)
        control.widget.style.description_width = "210px"
    controls, image = dash.widget.children[:2]
    dash.widget.children = (controls, image)  # the page's style sheet replaces the dashboard's
    if title:
        controls.children[0].layout.display = "none"  # the page's heading replaces the dashboard's
    controls.layout.flex = controls.layout.min_width = controls.layout.max_width = None
    image.layout.flex = image.layout.max_width = None
    # the figure drawn at about the size it is shown at 1920 x 1080, its smallest text LECTURE_FIGURE_FONT_PX
    dpi = kwargs["dpi"]
    dash.figure.set_size(figsize=(LECTURE_FIGURE_PX[0] / dpi, LECTURE_FIGURE_PX[1] / dpi), dpi=dpi,
                         min_fontsize=LECTURE_FIGURE_FONT_PX * 72 / dpi)
    params = dash.params()
    if params is not None:  # draw the untrained network again at this size (an error is in the status)
        with contextlib.suppress(DivergenceError):
            dash._draw_preview(params)
    page = widgets.VBox(
        [widgets.HTML(f"<style>{LECTURE_CSS}</style>", layout=widgets.Layout(display="none")),
         widgets.HTML(f"<div class='rls-lecture-title'>{html.escape(title)}</div>"),
         *([widgets.HTML(f"<div class='rls-lecture-status'>{html.escape(status)}</div>")] if status else []),
         dash.widget],
        layout=widgets.Layout(width="100%"),
    )
    page.add_class("rls-lecture")
    page.dashboard = dash
    return page


def _notebook(page: Page):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nb.cells = [nbformat.v4.new_code_cell(
        "# Lecture page, written by `python -m tutorial_lib.lecture` from tutorial_lib.lecture.PAGES\n"
        "from tutorial_lib.lecture import lecture_page\n"
        f"lecture_page(\"{page.dashboard}\")",
        id=f"lecture-{page.name}".replace("_", "-"),
    )]
    return nbformat.writes(nb) + "\n"


def write_pages(folder: str | os.PathLike = "lecture", pages=None) -> list[Path]:
    """Write one notebook per page into ``folder`` (only files whose text changed); return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for page in PAGES if pages is None else pages:
        path = folder / f"{page.name}.ipynb"
        text = _notebook(page)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        paths.append(path)
    return paths


def trust_pages(paths) -> None:
    """Sign the pages (Jupyter's own trust, as ``jupyter trust`` does), so that Voila serves them without
    "Notebook ... is not trusted" on every load. Best effort: a page that cannot be signed (no writable
    Jupyter data folder) still opens, only with that warning in the server's log."""
    import nbformat
    from nbformat.sign import NotebookNotary

    notary = NotebookNotary()
    for path in paths:
        with contextlib.suppress(OSError, ValueError):
            notary.sign(nbformat.read(path, as_version=4))


#: Voila's settings for lecture mode: kernels that end, and no warnings a lecturer would take for errors.
#: - A page's kernel ends when its tab closes or reloads: Voila's page posts /voila/api/shutdown/<kernel> on
#:   ``beforeunload``, but without the XSRF cookie Voila never sets (voila issue #1458: "403 '_xsrf' argument
#:   missing"), so ``lecture_voila/voila.json`` turns the XSRF check off: the server has no login (Voila's
#:   default), and its other non-GET requests only end a kernel named by its random id.
#: - Fallback (a crashed tab, a killed browser): a kernel with no page connected and idle for 45 s is culled,
#:   checked every 15 s, so it ends within about a minute; a page being watched (connected) is never culled,
#:   a busy kernel only once its run ends.
#: - Kernels get CurveZMQ keys from the kernel manager where the kernel supports them (no "Kernel is running
#:   over TCP without encryption" warning).
#: - ``voila.json`` also sets ``ws_ping_interval=0``: jupyter_server's keep-alive pings (30000 ms, timeout
#:   90000 ms) are read by tornado >= 6.5 as seconds, which warns that the timeout exceeds the interval; on
#:   127.0.0.1 a closed tab closes its connection anyway (served to other machines with --ip, a viewer that
#:   vanishes without closing keeps its kernel until the server stops). Lecture mode reads Voila's config
#:   files from that folder only (not the current folder's or Jupyter's).
LECTURE_VOILA_SETTINGS = (
    "--MappingKernelManager.cull_idle_timeout=45", "--MappingKernelManager.cull_interval=15",
    "--MappingKernelManager.cull_connected=False", "--MappingKernelManager.cull_busy=False",
    "--KernelManager.transport_encryption=auto",
    f"--Voila.config_file_paths={Path(__file__).with_name('lecture_voila')}",
)


def voila_command(folder, port: int = 8866, ip: str = "127.0.0.1", browser: bool = True,
                  extra=()) -> list[str]:
    """The Voila command line that serves ``folder`` for lecture mode, with :data:`LECTURE_VOILA_SETTINGS`.

    ``extra``: Voila's own options, last; a setting named there replaces the lecture's (Voila refuses a
    setting given twice), e.g. ``--MappingKernelManager.cull_idle_timeout=5``.
    """
    given = {arg.split("=", 1)[0] for arg in extra if arg.startswith("--")}
    cmd = [sys.executable, "-m", "voila", str(folder), f"--port={port}", f"--Voila.ip={ip}",
           "--theme=light", "--VoilaConfiguration.show_tracebacks=True",
           *(arg for arg in LECTURE_VOILA_SETTINGS if arg.split("=", 1)[0] not in given)]
    if not browser:
        cmd.append("--no-browser")
    return cmd + list(extra)


def main(argv=None) -> int:
    """Write the lecture pages and serve them with Voila (``./run lecture``)."""
    parser = argparse.ArgumentParser(prog="./run lecture", description=__doc__.split("\n\n")[0],
                                     epilog="Other options are passed on to voila (see voila --help-all).")
    parser.add_argument("--dir", default="lecture", help="folder of the pages (default: lecture)")
    parser.add_argument("--port", type=int, default=8866, help="port (default: 8866)")
    parser.add_argument("--ip", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument("--write", action="store_true", help="only write the pages, do not serve them")
    args, extra = parser.parse_known_args(argv)
    paths = write_pages(args.dir)
    trust_pages(paths)
    if args.write:
        print("\n".join(str(p) for p in paths))
        return 0
    print("Lecture pages (press Ctrl+C to stop):")
    for p in paths:
        print(f"  http://{args.ip}:{args.port}/voila/render/{p.name}")
    sys.stdout.flush()
    cmd = voila_command(args.dir, args.port, args.ip, not args.no_browser, extra)
    os.execv(cmd[0], cmd)  # Voila takes this process over: Ctrl+C and its PID reach Voila itself


if __name__ == "__main__":
    sys.exit(main())
