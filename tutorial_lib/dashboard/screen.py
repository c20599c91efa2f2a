"""How a dashboard fits the screen it is shown on: its style sheet, its figure's smallest text, the
scale of its logarithmic sliders and the width of the lines it prints.

The figure is a PNG that the browser scales to the room it has, so what a reader sees of its text
is ``font (px in the PNG) * width shown / width drawn``: the same fraction of the figure's width
whatever its resolution. :func:`min_fontsize` gives the smallest font, in points, for a figure of a
given width in inches that is still :data:`FIGURE_MIN_TEXT_PX` CSS px (9 pt) high when the figure
is shown :data:`FIGURE_MIN_SHOWN_PX` wide, the narrowest a dashboard shows it in the set-ups we
support (JupyterLab at 1024 x 768 with the file browser open: a 592 px output area; Notebook 7;
VS Code, about 800 px). :data:`DASHBOARD_CSS` keeps it at least that wide: from
:data:`WIDE_LAYOUT_PX` on, the controls stand beside the figure; in a narrower output the
sliders go into two or three columns above it, Train and Stop right above it, the figure at the full width
but no taller than the window leaves room for (so Train, Stop and the whole figure are seen
together), and the status line under it. The text is never shrunk to make room.
"""

from __future__ import annotations

import contextlib
import io
import math

import ipywidgets as widgets

from ..messages import wrap_line

#: the narrowest (CSS px) a dashboard's figure is shown in the set-ups we support (see the module)
FIGURE_MIN_SHOWN_PX = 590
#: the smallest text of a dashboard's figure, as shown (CSS px): 12 px = 9 pt
FIGURE_MIN_TEXT_PX = 12.0
#: the dashboard's width (CSS px) from which the controls stand beside the figure (340 + 12 + 700)
WIDE_LAYOUT_PX = 1052
# the longest line a dashboard prints: PRINT_WIDTH of tutorial_lib.messages (a 1366 px wide notebook's
# output column holds about 100 characters of JupyterLab's monospace text), wrapped by its wrap_line


def min_fontsize(width_in: float, shown_px: float = FIGURE_MIN_SHOWN_PX,
                 text_px: float = FIGURE_MIN_TEXT_PX) -> float:
    """The smallest font (points) of a figure ``width_in`` inches wide whose text must be at least
    ``text_px`` CSS px high when the figure is shown ``shown_px`` CSS px wide (any resolution)."""
    return text_px * 1.02 * 72.0 * width_in / shown_px  # 2 % to spare: a figure shown a few px narrower


#: A log slider (class ``rls-logslider``, :attr:`~.base.Control.view`): its label on a line of its own, so
#: its track has the column's whole width (a drag moves the value by decades a person can follow), and
#: under the track the decades (:func:`log_scale_html`), each where the slider puts that value: the track
#: runs from 6 px after the slider's left edge to 6 px before its readout (``--rls-readout`` wide).
LOGSCALE_CSS = """
.rls-logslider .widget-slider { flex-wrap: wrap; height: auto !important; }
.rls-logslider .widget-slider > .widget-label { flex: 0 0 100% !important; width: auto !important;
  max-width: none !important; text-align: left !important; padding-left: 4px; height: auto;
  line-height: 1.25; }
.rls-logslider { --rls-readout: 60px; padding-left: 10px; } /* room for the first decade's label */
.rls-logslider, .rls-controls { overflow: visible !important; } /* the end decades stick out of the track */
.rls-logslider .widget-readout { flex: 0 0 var(--rls-readout) !important; width: var(--rls-readout) !important;
  min-width: var(--rls-readout) !important; max-width: var(--rls-readout) !important; }
.rls-logscale { position: relative; height: 1.35em; font-size: 12px; color: #555;
  margin: -4px calc(var(--rls-readout) + 6px) 4px 6px; }
.rls-logscale > span { position: absolute; transform: translateX(-50%); white-space: nowrap; }
"""

#: The dashboards' style sheet (a container query on the dashboard's own width, so it follows the
#: output area, not the window: JupyterLab with a side panel, Notebook 7, VS Code, Colab).
DASHBOARD_CSS = f"""
.rls-dashboard {{ container-type: inline-size; }}
{LOGSCALE_CSS}
@container (max-width: {WIDE_LAYOUT_PX - 1}px) {{
  .rls-dashboard > .rls-controls {{ display: contents; }}
  .rls-dashboard .rls-controls > * {{ flex: 0 0 calc(50% - 10px) !important; width: calc(50% - 10px) !important;
    max-width: calc(50% - 10px) !important; margin: 2px 8px 2px 2px !important; }}
  .rls-dashboard .rls-controls > .rls-wide {{ flex: 0 0 calc(100% - 10px) !important;
    width: calc(100% - 10px) !important; max-width: calc(100% - 10px) !important; }}
  .rls-dashboard .rls-controls > .rls-status {{ order: 3; }}
  .rls-dashboard > .rls-figure {{ order: 2; flex: 0 0 auto !important; width: auto !important;
    max-width: 100% !important; height: auto !important; max-height: max(240px, calc(100vh - 340px)); }}
}}
@container (min-width: 780px) and (max-width: {WIDE_LAYOUT_PX - 1}px) {{
  .rls-dashboard .rls-controls > * {{ flex: 0 0 calc(33.3% - 10px) !important; width: calc(33.3% - 10px) !important;
    max-width: calc(33.3% - 10px) !important; }}
}}
@container (max-width: 560px) {{
  .rls-dashboard .rls-controls > * {{ flex: 0 0 calc(100% - 10px) !important; width: calc(100% - 10px) !important;
    max-width: calc(100% - 10px) !important; }}
}}
"""


def style_widget() -> widgets.HTML:
    """An invisible widget that carries :data:`DASHBOARD_CSS` (a style sheet applies where it is)."""
    w = widgets.HTML(f"<style>{DASHBOARD_CSS}</style>", layout=widgets.Layout(display="none"))
    w.add_class("rls-style")
    return w


_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


def log_scale_html(lo_exp: float, hi_exp: float) -> str:
    """The decades under a log slider's track from 10**lo_exp to 10**hi_exp, each placed where the track
    puts it (written 10\u207b\u00b3 beyond 0.01 and 100, to stay short), "log scale" in the tooltip."""
    spans = []
    span = max(hi_exp - lo_exp, 1e-9)
    for k in range(math.ceil(lo_exp - 1e-9), math.floor(hi_exp + 1e-9) + 1):
        text = f"{10.0 ** k:g}" if -2 <= k <= 2 else "10" + str(k).translate(_SUPERSCRIPT)
        spans.append(f"<span style='left: {100 * (k - lo_exp) / span:.2f}%'>{text}</span>")
    return f"<div class='rls-logscale' title='log scale: one step = 0.1 decade'>{''.join(spans)}</div>"


def call_wrapping_print(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, with whatever it prints printed again wrapped by :func:`wrap_line`
    (e.g. the notice of :func:`~tutorial_lib.data.load_alm` that Part 3 runs on synthetic data)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        out = fn(*args, **kwargs)
    if printed.getvalue():
        print(wrap_line(printed.getvalue().rstrip("\n")))
    return out
