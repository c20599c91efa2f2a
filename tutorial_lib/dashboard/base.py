"""The generic dashboard: controls from the parameters' metadata, Train and Stop, a live figure.

Errors are shown with the part's advice. Each part's dashboard (:mod:`.rate`, :mod:`.spiking`,
:mod:`.balanced`) supplies its controls, how to train and how to draw; everything else is here.
See :mod:`tutorial_lib.dashboard` for how it stays portable and responsive.
"""

from __future__ import annotations

import html
import io
import textwrap
import threading
import time
import traceback
from dataclasses import dataclass, field, fields, replace
from typing import Callable

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from IPython.display import display
from matplotlib.figure import Figure
from matplotlib.text import Text

from ..params import BalancedParams, RateParams, SpikingParams, field_kind
from ..checks import check_int, check_type
from ..errors import Advice, DivergenceError
from . import screen


class LiveFigure:
    """Base class of a live training figure: ``reset`` for a new run, ``update`` after each loop.

    Cheap to redraw: ``update`` only changes the data of existing artists; the
    layout is computed at the first render after :meth:`new_layout` and then
    kept, and the figure keeps one Agg canvas, so its renderer and text caches
    are reused from loop to loop (about three times faster than ``savefig``).

    Every figure starts with loop 0, the untrained network with learning off:
    its traces are drawn by ``reset`` and its score at x = 0 of the score curve.

    ``min_fontsize`` (points) raises every text of the figure to at least that size; at ``dpi`` a
    text of ``s`` points is ``s * dpi / 72`` pixels high in the PNG. None: the size that is still
    9 pt (12 CSS px) when the figure is shown as narrow as a dashboard shows it
    (:func:`.screen.min_fontsize` of the figure's width), whatever ``dpi``; a lecture page sets
    its own (:func:`~tutorial_lib.lecture.lecture_page`).
    """

    def __init__(self, figsize=(9.0, 5.0), dpi: int = 80, min_fontsize: float | None = None):
        self.fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(self.fig)  # attaches itself as fig.canvas
        self._layout_done = False
        self.min_fontsize = screen.min_fontsize(figsize[0]) if min_fontsize is None else float(min_fontsize)

    def set_size(self, figsize=None, dpi=None, min_fontsize=None) -> None:
        """Change the size (inches), resolution and smallest font (points); used from the next ``reset``.

        A new width without ``min_fontsize`` keeps the smallest text the same fraction of the width."""
        if figsize is not None:
            self.fig.set_size_inches(*figsize)
            if min_fontsize is None:
                min_fontsize = screen.min_fontsize(figsize[0])
        if dpi is not None:
            self.fig.set_dpi(dpi)
        if min_fontsize is not None:
            self.min_fontsize = float(min_fontsize)

    def smallest_text_px(self) -> float:
        """The smallest text drawn (tick labels included), in pixels of the PNG (after a render)."""
        texts = [t for t in self.fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        for ax in self.fig.axes:
            texts += [t for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text().strip()]
        return min(t.get_fontsize() for t in texts) * self.fig.dpi / 72

    def fs(self, size: float) -> float:
        """A font size in points as designed, raised to ``min_fontsize`` if that is larger."""
        return max(size, self.min_fontsize)

    def _raise_fonts(self) -> None:
        """Every text of the figure at least ``min_fontsize`` (tick labels drawn later included)."""
        m = self.min_fontsize
        for ax in self.fig.axes:
            ax.tick_params(which="both", labelsize=m)
        for text in self.fig.findobj(Text):
            if text.get_fontsize() < m:
                text.set_fontsize(m)

    def fit(self, text: str, size: float, frac: float = 1.0, lines: int = 1) -> str:
        """``text`` wrapped at spaces to fit ``frac`` of the figure's width at ``size`` points (a
        character about 0.55 em wide), padded to at least ``lines`` lines: the layout is computed once
        per run, so a title keeps the room of its longest version."""
        chars = max(16, int(frac * self.fig.get_figwidth() * 72 / (0.55 * size)))
        out = [row for part in text.split("\n") for row in textwrap.wrap(part, chars, break_long_words=False)]
        return "\n".join(out + [""] * (lines - len(out)))

    def new_layout(self) -> Figure:
        """Clear the figure for a new set of axes (call at the start of ``reset``)."""
        self.fig.clear()
        self.fig.set_layout_engine("constrained")
        self._layout_done = False
        return self.fig

    def reset(self, params, preview) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def update(self, loop: int, trial, scores: np.ndarray) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def mark_failed(self, text: str) -> None:
        """Fade what is drawn and write ``text`` across the figure (the status says what failed).

        For an error: the figure then still shows an earlier run ("previous run"), or the run
        that failed up to where it failed. The next ``reset`` draws anew, without the mark.
        """
        for ax in self.fig.axes:
            for artist in [*ax.lines, *ax.collections]:
                artist.set_alpha(0.25)
        self._failed_mark = self.fig.text(
            0.5, 0.5, text, ha="center", va="center", fontsize=15, color="#b00020", zorder=10,
            bbox=dict(boxstyle="round", facecolor="white", edgecolor="#b00020", alpha=0.9))

    @property
    def failed_note(self) -> str | None:
        """The text of :meth:`mark_failed` while the figure shows it, else None."""
        mark = getattr(self, "_failed_mark", None)
        return mark.get_text() if mark is not None and mark in self.fig.texts else None

    def render(self) -> bytes:
        """The figure as PNG bytes."""
        buf = io.BytesIO()
        if not self._layout_done:
            self._raise_fonts()
        self.fig.canvas.print_png(buf)
        if not self._layout_done:  # the first draw placed the axes: keep them there
            self.fig.set_layout_engine("none")
            self._layout_done = True
        return buf.getvalue()


@dataclass
class Control:
    """A slider (or other value widget) bound to one parameter field.

    ``bounds``: optional ``bounds(params) -> (lo, hi)``, the values the field may take given the
    other fields (:meth:`~tutorial_lib.params.Validated.field_range`); after every valid change
    the dashboard moves the widget's min and max there, so no invalid combination can be set.
    ``scale``: for a logarithmic slider, the row of its decades shown under it (kept in step
    with its bounds); the dashboard shows ``view`` (the widget and its scale).
    """

    field: str
    widget: widgets.ValueWidget
    to_param: Callable = field(default=lambda v: v)
    bounds: Callable | None = None
    scale: widgets.HTML | None = None

    @property
    def view(self) -> widgets.Widget:
        """What the dashboard shows: the widget, with its row of decades under it if it has one."""
        if self.scale is None:
            return self.widget
        if getattr(self, "_view", None) is None:
            self._view = widgets.VBox([self.widget, self.scale], layout=widgets.Layout(width="100%"))
            self._view.add_class("rls-logslider")
        return self._view


def _check_dashboard_args(title, controls, base_params, figure, **functions) -> None:
    """A dashboard's arguments: TypeError naming the first of the wrong class (``functions``: callable or None)."""
    check_type("title", title, str)
    for c in controls:
        check_type("each of controls", c, Control)
    check_type("base_params", base_params, (RateParams, SpikingParams, BalancedParams))
    for name, fn in functions.items():
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be callable (got {type(fn).__name__})")
    check_type("figure", figure, LiveFigure)


class TrainingDashboard:
    """Sliders, Train/Stop buttons, a status line, a progress bar and a live figure.

    Parameters
    ----------
    title : heading shown above the controls.
    controls : the sliders, each bound to a field of the parameter dataclass.
    base_params : parameters the sliders modify (``dataclasses.replace``).
    train : ``train(params, callback=..., stop=..., progress=False)`` returning
        a result with ``.scores``; ``callback(loop, trial, scores)`` is called
        after every loop.
    preview : ``preview(params)`` returns a trial of the untrained network,
        drawn before training starts.
    figure : a :class:`LiveFigure`.
    describe : optional ``describe(params)`` -> short HTML shown as status.
    advice : the part's ``advice(err, params, reference)`` for a
        :class:`~tutorial_lib.training.DivergenceError` (an
        :class:`~tutorial_lib.training.Advice`); None: the advice the error carries.

    After a failed run, ``error`` is the message shown, ``failure`` the
    DivergenceError (None for other errors) and ``advice`` its Advice;
    ``last_moved`` is ``(field, old, new)`` of the control moved last.

    Layout: the controls column (``CONTROLS_WIDTH``) beside the figure, which
    scales with the room left (``FIGURE_MIN_WIDTH`` to ``FIGURE_MAX_WIDTH``); in a dashboard
    narrower than :data:`.screen.WIDE_LAYOUT_PX` the sliders go into columns above the figure,
    Train and Stop right above it (:data:`.screen.DASHBOARD_CSS`). No width is fixed, so a
    dashboard fits a narrow output area (Notebook 7, VS Code, a side panel open) and the
    figure's text stays readable (:func:`.screen.min_fontsize`).
    """

    CONTROLS_WIDTH = "340px"
    FIGURE_MIN_WIDTH = "700px"
    FIGURE_MAX_WIDTH = "900px"

    def __init__(self, title, controls, base_params, train, preview, figure: LiveFigure,
                 describe=None, n_loops_field="n_loops", advice=None):
        controls = list(controls)
        _check_dashboard_args(title, controls, base_params, figure, train=train, preview=preview,
                              describe=describe, advice=advice)
        self.controls = {c.field: c for c in controls}
        self.base_params = base_params
        self._train_fn = train
        self._preview = preview
        self.figure = figure
        self._describe = describe or (lambda p: "")
        self._n_loops_field = n_loops_field
        self.result = None
        self.error: str | None = None
        self.failure: DivergenceError | None = None
        self.advice: Advice | None = None
        self.last_moved: tuple | None = None
        self._advise = advice
        self._draws_at_start = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.n_draws = 0
        self.widget = self._layout(title, controls)
        self._on_change()
        params = self.params()
        if params is not None:
            try:
                note = self._draw_preview(params)
            except DivergenceError as exc:  # nothing recorded to draw: say why, keep the dashboard
                self._report(exc, params)
                note = ""
            if note:
                self.status.value += f"<br><i>Untrained network: {html.escape(note)}</i>"

    def _layout(self, title: str, controls: list):
        """The buttons, status, progress bar and image; the whole dashboard's widget (returned)."""
        self.train_button = widgets.Button(description="Train", button_style="success", icon="play",
                                           tooltip="Build a network from these settings and train it")
        self.stop_button = widgets.Button(description="Stop", button_style="danger", icon="stop",
                                          disabled=True, tooltip="Stop after the current loop")
        self.status = widgets.HTML()
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="loop 0",
                                            layout=widgets.Layout(width="100%"))
        # the figure scales with the room it has (the PNG keeps its aspect: height auto); below
        # CONTROLS_WIDTH + FIGURE_MIN_WIDTH it goes under the controls (screen.DASHBOARD_CSS)
        self.image = widgets.Image(format="png", layout=widgets.Layout(
            flex=f"1 1 {self.FIGURE_MIN_WIDTH}", width="auto", min_width="0", max_width=self.FIGURE_MAX_WIDTH,
            height="auto"))
        self.image.add_class("rls-figure")
        self.train_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        for c in controls:
            c.widget.observe(self._on_change, names="value")

        heading = widgets.HTML(f"<b>{html.escape(title)}</b>")
        buttons = widgets.HBox([self.train_button, self.stop_button])
        buttons.add_class("rls-buttons")
        box = widgets.VBox(
            [heading]
            + [c.view for c in controls]
            + [buttons, self.progress, self.status],
            layout=widgets.Layout(flex=f"0 1 {self.CONTROLS_WIDTH}", min_width="320px", max_width="100%",
                                  padding="0 12px 0 0"),  # room for the margins of a 100 % wide text box
        )
        box.add_class("rls-controls")
        for w in (heading, self.status):  # the whole width when the controls go above the figure
            w.add_class("rls-wide")
        widget = widgets.HBox([box, self.image, screen.style_widget()], layout=widgets.Layout(
            flex_flow="row wrap", align_items="flex-start", width="100%", max_width="100%"))
        widget.add_class("rls-dashboard")  # for the browser tests and lecture-mode CSS
        self.status.add_class("rls-status")
        return widget

    # -- parameters and status -------------------------------------------
    def params(self):
        """Parameters from the current slider values, or None (error shown) if invalid."""
        try:
            values = {f: c.to_param(c.widget.value) for f, c in self.controls.items()}
            return replace(self.base_params, **values)
        except (ValueError, TypeError) as exc:  # shown, never raised into a widget callback
            self._show_error(str(exc))
            return None

    def _on_change(self, change=None):
        if change is not None:
            moved = [f for f, c in self.controls.items() if c.widget is change["owner"]]
            if moved:
                self.last_moved = (moved[0], change["old"], change["new"])
        p = self.params()
        if p is not None:
            self._follow_bounds(p)
        if p is not None and not self.running:
            self.error = None
            self.status.value = self._describe(p)

    def _follow_bounds(self, p):
        """Move each control's min and max to the values its field may take given the others (valid ``p``)."""
        if getattr(self, "_moving_bounds", False):
            return
        self._moving_bounds = True
        try:
            for c in self.controls.values():
                if c.bounds is not None:
                    _set_bounds(c.widget, *c.bounds(p))
                    if c.scale is not None:
                        c.scale.value = screen.log_scale_html(c.widget.min, c.widget.max)
        finally:
            self._moving_bounds = False

    def _show_error(self, message: str, advice: str = ""):
        """The status line for an error: ``message``, then ``advice`` (plain text, lines kept)."""
        self.error = message
        advice = "<br>".join(html.escape(line) for line in advice.splitlines())
        self.status.value = (
            f"<div style='color:#b00020'><b>Cannot train:</b> {html.escape(message)}"
            f"{'<br>' + advice if advice else ''}</div>"
        )

    def _label(self, field: str) -> str:
        return self.controls[field].widget.description or field

    def _report(self, exc: DivergenceError, params, during_run: bool = False):
        """Show a DivergenceError: the fact, the part's advice, the sliders it concerns; mark the figure.

        The advice compares ``params`` with the values the dashboard started from (``base_params``),
        so a slider moved far in the harmful direction is named first. Never parses message text.
        """
        self.failure = exc
        advice = exc.advice if self._advise is None else self._advise(exc, params, self.base_params)
        self.advice = advice
        lines = [advice.text] if advice is not None else []
        knobs = advice.changes if advice is not None else ()
        here = [f"{fix} {self._label(name)}" for name, fix in knobs if name in self.controls]
        if here:
            lines.append("On this dashboard: " + "; ".join(here) + ".")
        if self.last_moved is not None and self.last_moved[0] in (advice.knobs if advice is not None else ()):
            name, old, new = self.last_moved
            lines.append(f"You just moved {self._label(name)} (from {_shown(old)} to {_shown(new)}).")
        self._show_error(exc.describe(), "\n".join(lines))
        if during_run and self.n_draws:
            stale = self.n_draws == self._draws_at_start  # nothing of this run was drawn
            self.figure.mark_failed("previous run\n(this one failed: see the status)" if stale
                                    else "this run failed:\nsee the status")
            self._redraw()

    # -- drawing -------------------------------------------------------------
    def _draw_preview(self, params):
        """Draw the untrained network; return a note if it blows up (training may still tame it)."""
        note = ""
        try:
            trial = self._preview(params)
        except DivergenceError as exc:
            if exc.trial is None:
                raise
            trial = exc.trial
            advice = exc.advice if self._advise is None else self._advise(exc, params, self.base_params)
            note = exc.describe() + ("" if advice is None else " " + advice.text)
        self.figure.reset(params, trial)
        self._redraw()
        return note

    def _redraw(self):
        self.image.value = self.figure.render()
        self.n_draws += 1

    # -- training ------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, block: bool = False):
        """Train with the current slider values (the Train button). ``block`` waits for the end."""
        with self._lock:
            if self.running:
                return
            params = self.params()
            if params is None:
                return
            self._stop.clear()
            self.error = self.failure = self.advice = None
            self._draws_at_start = self.n_draws
            self.train_button.disabled = True
            self.stop_button.disabled = False
            n = getattr(params, self._n_loops_field)
            self.progress.max = n
            self.progress.value = 0
            self.progress.description = "loop 0"
            self.status.value = "Building the network..."
            self._thread = threading.Thread(target=self._run, args=(params,), daemon=True)
            self._thread.start()
        if block:
            self.wait()

    def stop(self):
        """Ask training to stop after the current loop (the Stop button)."""
        self._stop.set()
        if self.running:
            self.status.value = "Stopping after this loop..."

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the training thread; True if it has finished."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def _run(self, params):
        t0 = time.perf_counter()
        try:
            self.result = self._train(params)
            self.status.value = self._done_status(self.result, time.perf_counter() - t0)
        except DivergenceError as exc:
            self._report(exc, params, during_run=True)
        except ValueError as exc:
            self._show_error(str(exc))
        except Exception as exc:  # keep the dashboard alive, and say what happened
            self._show_error(f"{type(exc).__name__}: {exc}", "Details: " + traceback.format_exc(limit=3))
        finally:
            self.train_button.disabled = False
            self.stop_button.disabled = True

    def _train(self, params):
        """Draw the untrained network, then train (in the background thread); return the result."""
        self._draw_preview(params)
        self.status.value = "Training..."
        return self._train_fn(params, callback=self._after_loop, stop=self._stop, progress=False)

    # hooks for a model's dashboard (a subclass) ----------------------------
    def _done_status(self, result, seconds: float, total: int | None = None) -> str:
        """The status line when a run has ended (HTML): "Done (or Stopped) after n loop(s) in t s; ...";
        ``total``: the loops the network has had in all, when this run continued an earlier one."""
        n = len(result.scores)
        last = f"{result.scores[-1]:.3f}" if n else "n/a"
        verb = "Stopped" if result.stopped else "Done"
        more = "" if total is None else f" ({total} in all)"
        return f"{verb} after {n} loop(s){more} in {seconds:.1f} s; last score {last}." + self._summary(result)

    def _summary(self, result) -> str:
        """Extra text after "Done after n loop(s) ..." (plain text)."""
        return ""

    def _loop_status(self, loop, trial, scores) -> str:
        """The status line after each loop (HTML); must start with "Training... loop n"."""
        return f"Training... loop {loop + 1}: score {scores[-1]:.3f}"

    def _after_loop(self, loop, trial, scores):
        self.progress.value = loop + 1
        self.progress.description = f"loop {loop + 1}"
        self.figure.update(loop, trial, scores)
        self._redraw()
        self.status.value = self._loop_status(loop, trial, scores)
        return not self._stop.is_set()

    def _ipython_display_(self):
        display(self.widget)


#: the look of every dashboard control: room for the description at the left
STYLE = {"description_width": "120px"}


def _shown(value) -> str:
    """A control's value in a status line."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_view(n_show, dpi) -> tuple[int, int]:
    """The figure arguments every dashboard takes: ``n_show`` example neurons, ``dpi``."""
    return (check_int("n_show", n_show, lo=1, hi=10, what="example neurons shown"),
            check_int("dpi", dpi, lo=20, hi=400, what="figure resolution"))


def slider(cls, description, tooltip, **kw):
    """A slider of the dashboards' look that reports its value only when released.

    Its value can also be typed: ipywidgets 8 sliders have an editable readout (click the
    number at the right, type, press Enter), for keyboards where arrow keys on a focused
    slider move the notebook's cell selection instead (Notebook 7)."""
    return cls(description=description, style=STYLE, layout=widgets.Layout(width="100%"),
               continuous_update=False, tooltip=tooltip, readout=True, **kw)


def _log10(x):
    return None if x is None else float(np.log10(x))


def _set_bounds(w, lo, hi):
    """Set a slider's min and max (values; exponents for a log slider) in an order ipywidgets accepts."""
    if isinstance(w, widgets.FloatLogSlider):
        lo, hi = _log10(lo), _log10(hi)
    lo = w.min if lo is None else lo
    hi = w.max if hi is None else hi
    if lo > w.max:
        w.max, w.min = hi, lo
    else:
        w.min, w.max = lo, hi


def readout_format(lo: float, hi: float, log: bool) -> str:
    """The readout of a float slider over [lo, hi]: 3 significant digits, never in e-notation
    (d3's "g" writes 1000 as "1.00e+3"; "r" is decimal notation rounded to significant digits)."""
    if not log:
        return ".2f"
    return ".3g" if hi < 1000 else ".4r"


def field_control(p, name: str, *, value=None, lo=None, hi=None, extra=None, to_param=None, label=None,
                  tooltip_extra: str = "") -> Control:
    """A slider for field ``name`` of ``p`` from the field's metadata (:func:`~tutorial_lib.params.param`).

    Its description is the metadata's slider label (else the field's name), its tooltip the
    field's help and unit. Its bounds are the metadata's slider range intersected with the
    field's valid range given the other fields (``p.field_range``), and with ``lo``/``hi`` if
    given (e.g. the neurons the data hold); ``extra(params) -> (lo, hi)`` caps them further.
    They follow the other sliders (``Control.bounds``). ``value`` defaults to ``p``'s.
    """
    f = next(f for f in fields(p) if f.name == name)
    m, spec = f.metadata, dict(f.metadata["slider"])
    kind, _ = field_kind(f)
    value = getattr(p, name) if value is None else value
    log = spec.get("scale") == "log"
    smin, smax = spec.get("min"), spec.get("max") if hi is None else min(spec.get("max", hi), hi)
    if lo is not None:
        smin = max(smin, lo)

    def bounds(q):
        a, b = q.field_range(name)
        if extra is not None:
            ea, eb = extra(q)
            a = ea if a is None else (a if ea is None else max(a, ea))
            b = eb if b is None else (b if eb is None else min(b, eb))
        a = smin if a is None else max(a, smin)
        b = smax if b is None else (b if smax is None else min(b, smax))
        return a, b

    a, b = bounds(p)
    a, b = min(a, value), max(b, value)  # an invalid value passed in is shown (and named), not changed
    tooltip = m["help"] + (f" ({m['unit']})" if m["unit"] else "") + tooltip_extra
    description = label or spec.get("label", name)
    if kind == "int":
        w = slider(widgets.IntSlider, description, tooltip, value=value, min=a, max=b,
                    step=spec.get("step", 1))
    elif log:  # its decades shown under it; one step is at most 0.1 decade
        w = slider(widgets.FloatLogSlider, description, tooltip + "; log scale", value=value,
                   base=10, min=_log10(a), max=_log10(b), step=min(spec["step"], 0.1),
                   readout_format=readout_format(a, b, True))
        return Control(name, w, to_param or (lambda v: v), bounds,
                       scale=widgets.HTML(screen.log_scale_html(w.min, w.max)))
    else:
        w = slider(widgets.FloatSlider, description, tooltip, value=value, min=a, max=b, step=spec["step"],
                    readout_format=readout_format(a, b, False))
    return Control(name, w, to_param or (lambda v: v), bounds)


def seed_control(p) -> Control:
    """A box for the seed of every random draw (``p.seed``), typed as a whole number."""
    return Control("seed", widgets.BoundedIntText(description="seed", value=p.seed, min=0, max=2**31 - 1,
                                                  style=STYLE, layout=widgets.Layout(width="100%"),
                                                  tooltip="seed of every random draw (type a whole number)"))


def network_controls(p) -> list:
    """The sliders every recurrent network has: sigma, K (N-1 = all-to-all) and lambda."""
    return [
        field_control(p, "sigma"),
        field_control(p, "K", value=p.n_inputs, to_param=lambda v, N=p.N: None if v == N - 1 else v,
                      tooltip_extra="; N-1 = all-to-all"),
        field_control(p, "lam"),
    ]
