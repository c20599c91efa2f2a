"""What the browser tests measure of a dashboard on a screen: is the whole live figure in view together
with Train and Stop, and how large is the smallest text as displayed (CSS px)?

The figure is a PNG scaled by the browser, so its smallest text as displayed is its smallest text in
the PNG times (width shown / natural width); the smallest text in the PNG is the figure's minimum font,
a fixed fraction of its width (tutorial_lib.dashboard.screen.min_fontsize; tests/test_dashboard_screens.py
checks every text of every figure against it), or LECTURE_FIGURE_FONT_PX on a lecture page.
"""

from __future__ import annotations

import time

from tutorial_lib import lecture
from tutorial_lib.dashboard import screen

#: the screens of issue #25: two projectors, a 1366 x 768 laptop and a full-HD screen or projector
SIZES = [(1024, 768), (1280, 720), (1366, 768), (1920, 1080)]


def figure_text_px(shown_width: float, natural_width: float) -> float:
    """The smallest text of a dashboard's figure as displayed (CSS px) when shown ``shown_width`` wide."""
    natural_text = screen.FIGURE_MIN_TEXT_PX * 1.02 * natural_width / screen.FIGURE_MIN_SHOWN_PX
    return natural_text * shown_width / natural_width


# The dashboard's figure (as drawn: an <img> keeps its aspect), its Train and Stop buttons, the box the
# page shows it in (the notebook's scrolled panel, or the window) and the smallest text of its widgets.
MEASURE = """(dash) => {
    const img = dash.querySelector('img'), r = img.getBoundingClientRect();
    const buttons = [...dash.querySelectorAll('button')].filter(b => /^\\s*(Train|Stop)\\s*$/.test(b.textContent));
    const panel = dash.closest('.jp-WindowedPanel-outer, .jp-NotebookPanel-notebook, .jp-Notebook');
    const view = panel ? panel.getBoundingClientRect() : {top: 0, bottom: window.innerHeight, left: 0,
                                                            right: window.innerWidth};
    const box = (b) => [b.left, b.top, b.right, b.bottom].map(Math.round);
    let smallest = 1e9, smallest_text = '';
    for (const e of dash.querySelectorAll('*')) {
        const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
        const b = e.getBoundingClientRect();
        if (!own || !b.width || getComputedStyle(e).visibility === 'hidden') continue;
        const size = parseFloat(getComputedStyle(e).fontSize);
        if (size < smallest) { smallest = size; smallest_text = e.textContent.trim().slice(0, 30); }
    }
    return {figure: box(r), natural_width: img.naturalWidth, shown_width: r.width,
            buttons: buttons.map(b => box(b.getBoundingClientRect())),
            view: [Math.max(view.left, 0), Math.max(view.top, 0), Math.min(view.right, window.innerWidth),
                   Math.min(view.bottom, window.innerHeight)].map(Math.round),
            widget_text_px: smallest, widget_text: smallest_text};
}"""


def inside(box, view, slack: int = 1) -> bool:
    """Is ``box`` [left, top, right, bottom] inside ``view``?"""
    return (box[0] >= view[0] - slack and box[1] >= view[1] - slack and box[2] <= view[2] + slack
            and box[3] <= view[3] + slack)


def in_view_problems(m: dict, where: str) -> list[str]:
    """What of the figure and of Train and Stop is not in view (``m``: a MEASURE result)."""
    problems = []
    if not inside(m["figure"], m["view"]):
        problems.append(f"{where}: the figure {m['figure']} is not all in view {m['view']}")
    if len(m["buttons"]) < 2:
        problems.append(f"{where}: Train and Stop not found")
    for b in m["buttons"]:
        if not inside(b, m["view"]):
            problems.append(f"{where}: a Train/Stop button {b} is not in view {m['view']}")
    return problems


def measure_dashboards(dashboards, where: str, min_text_px: float):
    """Each dashboard of the page (one per lecture page, in order) scrolled to the top of its view and
    measured: yields (page, dashboard locator, MEASURE result, figure text px, problems), the problems
    being what is out of view and a figure text below ``min_text_px``. ``where``: e.g. "at 1024x768"."""
    for k, p in enumerate(lecture.PAGES):
        dash = dashboards.nth(k)
        dash.evaluate("(d) => d.scrollIntoView({block: 'start'})")
        time.sleep(0.2)
        m = dash.evaluate(MEASURE)
        text = figure_text_px(m["shown_width"], m["natural_width"])
        at = f"{p.dashboard} {where}"
        problems = in_view_problems(m, at)
        if text < min_text_px:
            problems.append(f"{at}: figure text shown at {text:.1f} px (figure {m['shown_width']:.0f} px wide)")
        yield p, dash, m, text, problems
