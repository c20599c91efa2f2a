"""Interactive training dashboards: sliders, Train and Stop, a figure that updates every loop.

One call in a notebook shows a dashboard::

    from tutorial_lib.dashboard import rate_dashboard
    rate_dashboard()

How it stays portable and responsive (JupyterLab 4, Notebook 7, VS Code, Colab):

- only core ipywidgets; the live figure is drawn with matplotlib's Agg renderer
  into an ``Image`` widget, so no custom matplotlib backend is needed;
- training runs in a background thread, so the kernel keeps answering: the
  Stop button works, and a slider moved during training is simply used by the
  next run. The compiled loops release the GIL (numba ``nogil``);
- bad values and a diverging network are reported in the status line, with the
  parameter, its valid range and advice; the dashboard keeps working. A
  :class:`~tutorial_lib.training.DivergenceError` carries its cause as data; the
  part's ``advice`` function names the knobs that most plausibly caused it
  (compared with the values the dashboard started from), and the status adds
  which of them are sliders here and whether the one just moved is among them.
  The figure is then marked: faded, with "previous run" across it if it still
  shows an earlier run, "this run failed" if it shows the failed one.

:class:`TrainingDashboard` is the generic part; each model supplies its
controls, how to build parameters from them, how to train and how to draw.
"""

from __future__ import annotations

import copy
import html
import io
import threading
import time
import traceback
from dataclasses import dataclass, field, fields, replace
from typing import Callable

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, MaxNLocator

from .params import BalancedParams, RateParams, SpikingParams, check_int, check_type
from .plotting import COLORS as _COLORS
from .training import Advice, DivergenceError

__all__ = ["TrainingDashboard", "LiveFigure", "RateLiveFigure", "rate_dashboard",
           "SpikingLiveFigure", "spiking_dashboard", "BalancedView", "BalancedLiveFigure",
           "BalancedDashboard", "balanced_dashboard"]


class LiveFigure:
    """Base class of a live training figure: ``reset`` for a new run, ``update`` after each loop.

    Cheap to redraw: ``update`` only changes the data of existing artists; the
    layout is computed at the first render after :meth:`new_layout` and then
    kept, and the figure keeps one Agg canvas, so its renderer and text caches
    are reused from loop to loop (about three times faster than ``savefig``).

    Every figure starts with loop 0, the untrained network with learning off:
    its traces are drawn by ``reset`` and its score at x = 0 of the score curve.

    ``min_fontsize`` (points; None: the sizes as designed) raises every text of
    the figure to at least that size, for a projector (:func:`~tutorial_lib.lecture.lecture_page`):
    at ``dpi`` a text of ``s`` points is ``s * dpi / 72`` pixels high in the PNG.
    """

    def __init__(self, figsize=(9.0, 5.0), dpi: int = 80, min_fontsize: float | None = None):
        self.fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(self.fig)  # attaches itself as fig.canvas
        self._layout_done = False
        self.min_fontsize = min_fontsize

    def set_size(self, figsize=None, dpi=None, min_fontsize=None) -> None:
        """Change the size (inches), resolution and smallest font (points); used from the next ``reset``."""
        if figsize is not None:
            self.fig.set_size_inches(*figsize)
        if dpi is not None:
            self.fig.set_dpi(dpi)
        if min_fontsize is not None:
            self.min_fontsize = float(min_fontsize)

    def fs(self, size: float) -> float:
        """A font size in points as designed, raised to ``min_fontsize`` if that is larger."""
        return size if self.min_fontsize is None else max(size, self.min_fontsize)

    def _raise_fonts(self) -> None:
        """Every text of the figure at least ``min_fontsize`` (tick labels drawn later included)."""
        from matplotlib.text import Text

        m = self.min_fontsize
        for ax in self.fig.axes:
            ax.tick_params(which="both", labelsize=m)
        for text in self.fig.findobj(Text):
            if text.get_fontsize() < m:
                text.set_fontsize(m)

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
        if self.min_fontsize is not None and not self._layout_done:
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
    other fields (:meth:`~tutorial_lib.params._Validated.field_range`); after every valid change
    the dashboard moves the widget's min and max there, so no invalid combination can be set.
    """

    field: str
    widget: widgets.ValueWidget
    to_param: Callable = field(default=lambda v: v)
    bounds: Callable | None = None


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
    scales with the room left (at most ``FIGURE_MAX_WIDTH``); with less than
    ``FIGURE_MIN_WIDTH`` left it goes under the controls. No width is fixed,
    so a dashboard fits a narrow output area (Notebook 7, a side panel open).
    """

    CONTROLS_WIDTH = "340px"
    FIGURE_MIN_WIDTH = "480px"
    FIGURE_MAX_WIDTH = "900px"

    def __init__(self, title, controls, base_params, train, preview, figure: LiveFigure,
                 describe=None, n_loops_field="n_loops", advice=None):
        check_type("title", title, str)
        controls = list(controls)
        for c in controls:
            check_type("each of controls", c, Control)
        check_type("base_params", base_params, (RateParams, SpikingParams, BalancedParams))
        for name, fn in (("train", train), ("preview", preview), ("describe", describe), ("advice", advice)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be callable (got {type(fn).__name__})")
        check_type("figure", figure, LiveFigure)
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

        self.train_button = widgets.Button(description="Train", button_style="success", icon="play",
                                           tooltip="Build a network from these settings and train it")
        self.stop_button = widgets.Button(description="Stop", button_style="danger", icon="stop",
                                          disabled=True, tooltip="Stop after the current loop")
        self.status = widgets.HTML()
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="loop 0",
                                            layout=widgets.Layout(width="100%"))
        # the figure scales with the room it has (the PNG keeps its aspect: height auto); below
        # CONTROLS_WIDTH + FIGURE_MIN_WIDTH it wraps under the controls (flex_flow "row wrap")
        self.image = widgets.Image(format="png", layout=widgets.Layout(
            flex=f"1 1 {self.FIGURE_MIN_WIDTH}", width="auto", min_width="0", max_width=self.FIGURE_MAX_WIDTH,
            height="auto"))
        self.train_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        for c in controls:
            c.widget.observe(self._on_change, names="value")

        box = widgets.VBox(
            [widgets.HTML(f"<b>{html.escape(title)}</b>")]
            + [c.widget for c in controls]
            + [widgets.HBox([self.train_button, self.stop_button]), self.progress, self.status],
            layout=widgets.Layout(flex=f"0 1 {self.CONTROLS_WIDTH}", min_width="320px", max_width="100%",
                                  padding="0 12px 0 0"),  # room for the margins of a 100 % wide text box
        )
        self.widget = widgets.HBox([box, self.image], layout=widgets.Layout(
            flex_flow="row wrap", align_items="flex-start", width="100%", max_width="100%"))
        self.widget.add_class("rls-dashboard")  # for the browser tests and lecture-mode CSS
        self.status.add_class("rls-status")
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
            n = len(self.result.scores)
            last = f"{self.result.scores[-1]:.3f}" if n else "n/a"
            verb = "Stopped" if self.result.stopped else "Done"
            self.status.value = (
                f"{verb} after {n} loop(s) in {time.perf_counter() - t0:.1f} s; last score {last}."
                + self._summary(self.result)
            )
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
        from IPython.display import display

        display(self.widget)


_STYLE = {"description_width": "120px"}


def _shown(value) -> str:
    """A control's value in a status line."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _check_view(n_show, dpi) -> tuple[int, int]:
    """The figure arguments every dashboard takes: ``n_show`` example neurons, ``dpi``."""
    return (check_int("n_show", n_show, lo=1, hi=10, what="example neurons shown"),
            check_int("dpi", dpi, lo=20, hi=400, what="figure resolution"))


def _slider(cls, description, tooltip, **kw):
    """A slider of the dashboards' look that reports its value only when released.

    Its value can also be typed: ipywidgets 8 sliders have an editable readout (click the
    number at the right, type, press Enter), for keyboards where arrow keys on a focused
    slider move the notebook's cell selection instead (Notebook 7)."""
    return cls(description=description, style=_STYLE, layout=widgets.Layout(width="100%"),
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
    from .params import field_kind

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
        w = _slider(widgets.IntSlider, description, tooltip, value=value, min=a, max=b,
                    step=spec.get("step", 1))
    elif log:
        w = _slider(widgets.FloatLogSlider, description, tooltip, value=value, base=10, min=_log10(a),
                    max=_log10(b), step=spec["step"], readout_format=readout_format(a, b, True))
    else:
        w = _slider(widgets.FloatSlider, description, tooltip, value=value, min=a, max=b, step=spec["step"],
                    readout_format=readout_format(a, b, False))
    return Control(name, w, to_param or (lambda v: v), bounds)


def _seed_control(p) -> Control:
    return Control("seed", widgets.BoundedIntText(description="seed", value=p.seed, min=0, max=2**31 - 1,
                                                  style=_STYLE, layout=widgets.Layout(width="100%"),
                                                  tooltip="seed of every random draw (type a whole number)"))


def _network_controls(p) -> list:
    """The sliders every recurrent network has: sigma, K (N-1 = all-to-all) and lambda."""
    return [
        field_control(p, "sigma"),
        field_control(p, "K", value=p.n_inputs, to_param=lambda v, N=p.N: None if v == N - 1 else v,
                      tooltip_extra="; N-1 = all-to-all"),
        field_control(p, "lam"),
    ]


# ---------------------------------------------------------------------------
# Part 1


class RateLiveFigure(LiveFigure):
    """Target (dashed) and recurrent input u (solid) of a few trained neurons, and 1 - score per loop."""

    FLOOR = 1e-7  # smallest 1 - score drawn

    def __init__(self, n_show: int = 3, dpi: int = 80):
        super().__init__(figsize=(9.0, 5.2), dpi=dpi)
        self.n_show = n_show

    def reset(self, params, preview):
        fig = self.new_layout()
        gs = fig.add_gridspec(self.n_show, 2, width_ratios=[2.2, 1])
        neurons = preview.trained[: self.n_show]
        self.neurons = neurons
        self.lines = []
        t = preview.t
        for row, i in enumerate(neurons):
            ax = fig.add_subplot(gs[row, 0])
            ax.plot(t, preview.target[:, i], "--", color="0.4", lw=1.2, label="target f")
            (line,) = ax.plot(t, preview.u[:, i], color=f"C{row}", lw=1.4, label="network u")
            self.lines.append(line)
            ax.axvspan(params.stim_on, params.stim_off, color="orange", alpha=0.25, lw=0)
            ax.set_ylabel(f"neuron {i}", fontsize=self.fs(9))
            if row == 0:
                ax.set_title("loop 0: the untrained network (learning off); input in a.u.",
                             fontsize=self.fs(10), loc="left")
                ax.legend(loc="upper left", fontsize=self.fs(8), ncol=2, frameon=False)
                self.title = ax
            if row < self.n_show - 1:
                ax.tick_params(labelbottom=False)
        ax.set_xlabel("time (ms)")
        self.score_ax = fig.add_subplot(gs[:, 1])
        # RLS gets the score close to 1 within a loop or two; the distance from 1, on a
        # logarithmic axis, shows how the fit keeps improving after that
        self.score_ax.set_xlabel("training loop")
        self.score_ax.set_ylabel("1 - score (score: mean correlation of u and f)")
        self.score_ax.set_xlim(-0.5, max(params.n_loops, 2) + 0.5)
        self.score_ax.set_yscale("log")
        self.score_ax.set_ylim(self.FLOOR, 2.0)
        self.score_ax.grid(alpha=0.3, which="both")
        self.score0 = np.array([preview.score], dtype=float)  # loop 0 at x = 0: where training starts from
        (self.score_line,) = self.score_ax.plot([0], np.clip(1.0 - self.score0, self.FLOOR, 2.0), "o-", ms=3,
                                                color="k")
        for ax in fig.axes[: self.n_show]:
            lo = min(np.nanmin(preview.u[:, neurons]), -0.2)
            hi = max(np.nanmax(preview.u[:, neurons]), preview.target[:, neurons].max()) + 0.3
            ax.set_ylim(max(lo, -3), min(hi, 6))

    def update(self, loop, trial, scores):
        for line, i in zip(self.lines, self.neurons):
            line.set_ydata(trial.u[:, i])
        self.title.set_title(f"loop {loop + 1} (learning on); input in a.u.", fontsize=self.fs(10),
                             loc="left")
        shown = np.concatenate([self.score0, scores])
        self.score_line.set_data(np.arange(len(shown)), np.clip(1.0 - shown, self.FLOOR, 2.0))


def _rate_describe(p: RateParams) -> str:
    k = "all-to-all" if p.K is None or p.K == p.N - 1 else f"K = {p.K} inputs"
    return (
        f"N = {p.N}, {k}, gain g = sigma&radic;K = {p.g:.2f}"
        f"{' (above 1: the untrained ReLU network runs away)' if p.g > 1 else ''}; "
        f"{p.n_trained} trained neuron(s); press Train."
    )


def rate_dashboard(params: RateParams | None = None, n_show: int = 3, dpi: int = 80) -> TrainingDashboard:
    """The Part 1 dashboard: sliders for sigma, K, lambda, training fraction, loops and seed."""
    from . import rate

    p = RateParams() if check_type("params", params, RateParams, allow_none=True) is None else params
    n_show, dpi = _check_view(n_show, dpi)
    controls = [*_network_controls(p), field_control(p, "train_fraction"), field_control(p, "n_loops"),
                _seed_control(p)]
    return TrainingDashboard(
        "Part 1: train a rate RNN with RLS",
        controls,
        p,
        train=rate.train,
        preview=lambda q: rate.run_trial(rate.build_network(q)),
        figure=RateLiveFigure(n_show, dpi),
        describe=_rate_describe,
        advice=rate.advice,
    )


# ---------------------------------------------------------------------------
# Part 2


class SpikingLiveFigure(LiveFigure):
    """Target (dashed) and total input mu + u (solid) of a few trained neurons, the raster, the score per loop.

    Cheap to update: after each loop only the data of the existing artists
    change (the input lines, the raster's scatter offsets, the score line); the
    layout is computed once per run, and the figure keeps one Agg canvas, so
    its renderer and text caches are reused from loop to loop.
    """

    def __init__(self, n_show: int = 3, dpi: int = 80):
        super().__init__(figsize=(9.0, 5.6), dpi=dpi)
        self.n_show = n_show

    def reset(self, params, preview):
        from .plotting import COLORS

        fig = self.new_layout()
        neurons = preview.trained[: self.n_show]
        self.neurons = neurons
        n = len(neurons)
        gs = fig.add_gridspec(n + 1, 2, width_ratios=[2.2, 1], height_ratios=[1.0] * n + [1.6])
        t = preview.t
        win = preview.window
        self.lines = []
        first = None
        for row, i in enumerate(neurons):
            ax = fig.add_subplot(gs[row, 0], sharex=first)
            first = first or ax
            ax.axvspan(params.stim_on, params.stim_off, color=COLORS["stimulus"], alpha=0.3, lw=0)
            ax.plot(t[win], preview.target[win, i], "--", color="0.3", lw=1.2, label=r"target $f_i$")
            (line,) = ax.plot(t, preview.total_input[:, i], color=f"C{row}", lw=1.2, label=r"input $\mu + u_i$")
            self.lines.append(line)
            f = preview.target[win, i]
            ax.set_ylim(f.min() - 0.6, f.max() + 0.6)
            ax.set_ylabel(f"neuron {i}", fontsize=self.fs(9))
            ax.tick_params(labelbottom=False)
            if row == 0:
                ax.set_title("loop 0: the untrained network (learning off); input in units of threshold",
                             fontsize=self.fs(10), loc="left")
                ax.legend(loc="upper right", fontsize=self.fs(8), ncol=2, frameon=False)
                self.title = ax
        self.raster_ax = ax = fig.add_subplot(gs[n, 0], sharex=first)
        ax.axvspan(params.stim_on, params.stim_off, color=COLORS["stimulus"], alpha=0.3, lw=0)
        self.raster = ax.scatter(preview.spike_times, preview.spike_neurons, s=2.0, c="k", marker="|",
                                 linewidths=0.6)
        ax.set_ylim(-1, params.N)
        ax.set_xlim(0, params.t_end)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("neuron")
        ax.set_title(self._raster_title(preview, params.t_end, "spikes in loop 0"), fontsize=self.fs(9),
                     loc="left")
        self.t_end = params.t_end
        self.score_ax = fig.add_subplot(gs[:, 1])
        self.score_ax.set_xlabel("training loop")
        self.score_ax.set_ylabel("score (mean correlation of input and target)")
        self.score_ax.set_xlim(-0.5, max(params.n_loops, 2) + 0.5)
        self.score0 = np.array([preview.score], dtype=float)  # loop 0 at x = 0: where training starts from
        lo = float(np.nanmin(self.score0)) if np.isfinite(self.score0).any() else 0.0
        self.score_ax.set_ylim(min(0.0, lo - 0.05), 1.02)
        self.score_ax.grid(alpha=0.3)
        (self.score_line,) = self.score_ax.plot([0], self.score0, "o-", ms=3, color="k")

    @staticmethod
    def _raster_title(trial, t_end, what="spikes"):
        rate = trial.spike_times.size / trial.total_input.shape[1] / (t_end / 1000.0)
        return f"{what}: mean rate {rate:.1f} Hz"

    def update(self, loop, trial, scores):
        for line, i in zip(self.lines, self.neurons):
            line.set_ydata(trial.total_input[:, i])
        self.title.set_title(f"loop {loop + 1} (learning on); input in units of threshold",
                             fontsize=self.fs(10), loc="left")
        self.raster.set_offsets(np.column_stack([trial.spike_times, trial.spike_neurons]))
        self.raster_ax.set_title(self._raster_title(trial, self.t_end, f"spikes in loop {loop + 1}"),
                                 fontsize=self.fs(9), loc="left")
        shown = np.concatenate([self.score0, scores])
        self.score_line.set_data(np.arange(len(shown)), shown)
        lo = float(np.nanmin(shown)) if np.isfinite(shown).any() else 0.0
        self.score_ax.set_ylim(min(0.0, lo - 0.05), 1.02)


def _spiking_describe(p: SpikingParams) -> str:
    k = "all-to-all" if p.K is None or p.K == p.N - 1 else f"K = {p.K} inputs"
    return (
        f"N = {p.N} LIF neurons, {k}, weights sigma = {p.sigma:.2f}, tau_s = {p.tau_s:.3g} ms, "
        f"lambda = {p.lam:.3g}; {p.n_trained} trained neuron(s); press Train."
    )


def spiking_dashboard(params: SpikingParams | None = None, n_show: int = 3, dpi: int = 80) -> TrainingDashboard:
    """The Part 2 dashboard: sliders for sigma, K, lambda, tau_s, training fraction, loops and seed.

    Every loop redraws the input of ``n_show`` trained neurons over their
    targets, the raster of the loop and the score per loop. Other parameters
    (``N``, ``mu``, the timeline, ...) come from ``params``.
    """
    from . import spiking_net

    p = SpikingParams() if check_type("params", params, SpikingParams, allow_none=True) is None else params
    n_show, dpi = _check_view(n_show, dpi)
    controls = [*_network_controls(p), field_control(p, "tau_s"), field_control(p, "train_fraction"),
                field_control(p, "n_loops"), _seed_control(p)]

    def preview(q):
        return spiking_net.run_trial(spiking_net.build_network(q))

    return TrainingDashboard(
        "Part 2: train a spiking network with RLS",
        controls,
        p,
        train=spiking_net.train,
        preview=preview,
        figure=SpikingLiveFigure(n_show, dpi),
        describe=_spiking_describe,
        advice=spiking_net.advice,
    )


# ---------------------------------------------------------------------------
# Part 3


@dataclass
class BalancedView:
    """What the Part 3 figure shows before a loop: example trained neurons and their targets.

    ``target[c]`` (bins, n_show) are the target inputs at ``bin_t`` of the
    example neurons for condition ``c``; ``alm_ids`` their ALM neurons.
    Once the network is built, ``columns`` are their columns in the network's
    trained neurons (in ``Trial.binned``) and ``model_ids`` their model E neurons.
    ``label`` names the data in the figure (``ALMData.label``: "ALM" or "synthetic").
    """

    bin_t: np.ndarray
    target: dict
    alm_ids: np.ndarray
    title: str
    columns: np.ndarray | None = None
    model_ids: np.ndarray | None = None
    label: str = "ALM"


def _example_columns(target: dict, n_show: int) -> np.ndarray:
    """``n_show`` example neurons: the most modulated lick-right- and lick-left-preferring ones, in turn."""
    right, left = target["right"], target["left"]
    by_modulation = np.argsort(-np.concatenate([right, left]).std(axis=0), kind="stable")
    prefers_right = (right - left).mean(axis=0) >= 0
    queues = [[k for k in by_modulation if prefers_right[k]],
              [k for k in by_modulation if not prefers_right[k]]]
    picks = []
    while len(picks) < min(n_show, by_modulation.size):
        queue = queues[len(picks) % 2] or queues[(len(picks) + 1) % 2]
        picks.append(queue.pop(0))
    return np.array(picks, dtype=np.int64)


class BalancedLiveFigure(LiveFigure):
    """Part 3: target (dashed) and windowed total input (solid) of example trained neurons in both
    conditions (lick right, lick left), and the score per loop with the tests without learning.

    The input drawn is what RLS and the score see: each trained neuron's total
    input averaged over +-``score_window`` around each learning time
    (``Trial.binned``), against its ALM target (``Trial.target``). Loop 0
    (:meth:`show_loop0`) is the untrained network with learning off; after each
    test the lick-right panels also show the trial-averaged input of the test
    (single trials are noisy: the average shows what the network has learned).
    Colours: the conditions' colours of :data:`tutorial_lib.plotting.COLORS`, as in the notebook.
    """

    CONDITIONS = (("right", "lick right", _COLORS["right"]), ("left", "lick left", _COLORS["left"]))

    def __init__(self, dpi: int = 80):
        super().__init__(figsize=(10.0, 5.6), dpi=dpi)

    def reset(self, params, view: BalancedView):
        fig = self.new_layout()
        n = len(view.alm_ids)  # rows: the example neurons of the view
        self.columns = view.columns
        gs = fig.add_gridspec(n, 3, width_ratios=[1.0, 1.0, 1.05])
        t = view.bin_t
        self.lines, self.axes, self.heads, self.avg_lines = {}, [], {}, {}
        self._target_span = {}
        self.window = params.score_window
        self.label = view.label
        for row in range(n):
            row_axes = []
            for col, (c, label, color) in enumerate(self.CONDITIONS):
                ax = fig.add_subplot(gs[row, col], sharey=row_axes[0] if row_axes else None,
                                     sharex=self.axes[0][0] if self.axes else None)
                ax.plot(t, view.target[c][:, row], "--", color="0.3", lw=1.3, label=f"{view.label} target")
                (line,) = ax.plot(t, np.full(t.shape, np.nan), color=color, lw=1.5, label="network input")
                self.lines[row, c] = line
                ax.grid(alpha=0.25)
                ax.tick_params(labelsize=self.fs(8))
                # tick labels of one width whatever the limits: the layout is computed once per run
                ax.yaxis.set_major_locator(MaxNLocator(4, steps=[1, 2, 5, 10]))
                ax.yaxis.set_major_formatter(FormatStrFormatter("%.1f"))
                if c == "right":  # the trial-averaged input of the last test (no learning)
                    (self.avg_lines[row],) = ax.plot(t, np.full(t.shape, np.nan), ":", color=color, lw=2.0,
                                                     label="test, trial-averaged")
                if row == 0:
                    ax.set_title(label, fontsize=self.fs(10), loc="left", color=color, fontweight="bold")
                    self.heads[c] = ax
                if row < n - 1:
                    ax.tick_params(labelbottom=False)
                else:
                    ax.set_xlabel("time in trial (ms)", fontsize=self.fs(9))
                if col == 0:
                    who = f"{view.label} {view.alm_ids[row]}"
                    if view.model_ids is not None:
                        who += f"\n(model E {view.model_ids[row]})"
                    ax.set_ylabel(who, fontsize=self.fs(8))
                    ax.yaxis.set_label_coords(-0.2, 0.5)  # clear of tick labels up to "-0.5" wide
                else:
                    ax.tick_params(labelleft=False)
                row_axes.append(ax)
            self.axes.append(row_axes)
            both = np.concatenate([view.target[c][:, row] for c, _, _ in self.CONDITIONS])
            self._target_span[row] = (float(both.min()), float(both.max()))
            row_axes[0].set_ylim(*self._ylim(row))
        # one legend for the traces, under the figure: inside a panel it hid the data
        first = self.axes[0]
        handles = [first[0].lines[0], self.lines[0, "right"], self.lines[0, "left"], self.avg_lines[0]]
        fig.legend(handles, [f"{view.label} target", "input, lick right", "input, lick left",
                             "trial-averaged test input (right)"],
                   loc="outside lower left", ncol=4, fontsize=self.fs(8), frameon=False)
        self.score_ax = ax = fig.add_subplot(gs[:, 2])
        ax.set_xlabel("training loop")
        ax.set_ylabel("score (mean correlation of input and target)", fontsize=self.fs(9))
        ax.set_xlim(-0.5, max(params.n_loops, 2) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        ax.set_ylim(-0.1, 0.8)
        ax.grid(alpha=0.3)
        ax.axhline(0, color="0.6", lw=0.8)
        (self.score_line,) = ax.plot([], [], "o-", ms=3, color="k", lw=1.2,
                                     label="training (lick right)")
        (self.test_line,) = ax.plot([], [], "s--", ms=5, color="C1", lw=1.0,
                                    label="test, single trial (no learning)")
        avg = f"test, {params.n_test_trials}-trial average" if params.n_test_trials > 1 else "test"
        (self.test_avg_line,) = ax.plot([], [], "D-", ms=5, color="tab:brown", lw=1.2, label=avg)
        ax.legend(loc="upper left", fontsize=self.fs(7), frameon=False)
        if params.score_every:
            ax.set_title(f"tests every {params.score_every} loops", fontsize=self.fs(9), loc="left")
        self.tests: list[tuple[int, float, float]] = []
        self.score0 = np.zeros(0)  # loop 0, once show_loop0 has drawn it
        self.suptitle = fig.suptitle(view.title, fontsize=self.fs(10), x=0.01, ha="left")

    def _ylim(self, row, drawn=None):
        lo, hi = self._target_span[row]
        if hi - lo < 0.5:  # at least 0.5 (plus padding): ticks 0.1 or more apart, one decimal suffices
            mid = 0.5 * (lo + hi)
            lo, hi = mid - 0.25, mid + 0.25
        span = hi - lo
        if drawn is not None and np.isfinite(drawn).any():  # show the input, within reason
            lo = max(min(lo, float(np.nanmin(drawn))), lo - 1.5 * span)
            hi = min(max(hi, float(np.nanmax(drawn))), hi + 1.5 * span)
        pad = 0.1 * max(hi - lo, 0.5)
        return lo - pad, hi + pad

    def _draw_trials(self, trials: dict, loop: int, what: str) -> None:
        """The windowed inputs of the example neurons in ``trials`` (condition -> Trial), and the heads."""
        cols = self.columns
        for row in range(len(self.axes)):
            drawn = []
            for c, _, _ in self.CONDITIONS:
                y = trials[c].binned[:, cols[row]]
                self.lines[row, c].set_ydata(y)
                drawn.append(y)
            self.axes[row][0].set_ylim(*self._ylim(row, np.concatenate(drawn)))
        for c, label, color in self.CONDITIONS:
            self.heads[c].set_title(f"{label}: score {trials[c].score:.2f}", fontsize=self.fs(10), loc="left",
                                    color=color, fontweight="bold")
        self.suptitle.set_text(f"loop {loop} ({what}): total input of trained neurons "
                               f"(mean over \u00b1{self.window:g} ms) and their {self.label} targets")

    def show_loop0(self, trials: dict) -> None:
        """Loop 0: ``trials`` (condition -> Trial) of the untrained network without learning.

        Its lick-right score is drawn at x = 0 of the training curve and of the single-trial test
        curve (the lick-right trial of loop 0 is the first test trial of the untrained network)."""
        self._draw_trials(trials, 0, "the untrained network, learning off")
        self.score0 = np.array([trials["right"].score], dtype=float)
        self.score_line.set_data([0], self.score0)
        self.test_line.set_data([0], self.score0)
        self._score_ylim(self.score0)

    def _score_ylim(self, shown):
        shown = shown[np.isfinite(shown)]
        if shown.size:
            self.score_ax.set_ylim(min(-0.1, shown.min() - 0.05), min(1.02, max(0.8, shown.max() + 0.1)))

    def update(self, loop, record, scores):
        cols = self.columns
        self._draw_trials(record.trials, loop + 1, "learning on")
        self.score_line.set_data(np.arange(1 - len(self.score0), len(scores) + 1),
                                 np.concatenate([self.score0, scores]))
        if record.test is not None:
            self.tests.append((loop + 1, record.test.score, record.test.score_avg))
            mean = record.test.mean_input
            for row, line in self.avg_lines.items():
                line.set_ydata(mean[:, cols[row]])
                drawn = [mean[:, cols[row]]] + [record.trials[c].binned[:, cols[row]]
                                                for c, _, _ in self.CONDITIONS]
                self.axes[row][0].set_ylim(*self._ylim(row, np.concatenate(drawn)))
        tests = np.array(self.tests).reshape(-1, 3)
        if record.test is not None:
            self.test_line.set_data(np.concatenate([np.zeros(len(self.score0)), tests[:, 0]]),
                                    np.concatenate([self.score0, tests[:, 1]]))
            self.test_avg_line.set_data(tests[:, 0], tests[:, 2])
        self._score_ylim(np.concatenate([self.score0, scores, tests[:, 1:].ravel()]))


class BalancedDashboard(TrainingDashboard):
    """The Part 3 dashboard: builds the balanced network in the training thread (cached), then trains it.

    The network (static connectivity, the static simulation, the rate
    matching, the plastic synapses) depends on every knob but lambda and the
    number of loops; when only those change, Train reuses the last network.
    """

    #: fields that only RLS and the training loop use: the built network does not depend on them
    RLS_FIELDS = ("lam_rec", "mu_rs", "lam_ff", "n_loops", "score_every", "n_test_trials")

    def __init__(self, title, controls, base_params, figure, data, n_show):
        from . import balanced

        self._balanced = balanced
        self._data = data
        self._n_show = n_show
        self._cache_key = None
        self._cache_net = None
        self._targets_key = self._targets = None
        self.build_seconds: float | None = None
        self.loop0_seconds: float | None = None
        super().__init__(title, controls, base_params, train=None, preview=self._data_view, figure=figure,
                         describe=self._describe_params, advice=balanced.advice)
        self.widget.add_class("rls-balanced")  # browser tests allow for the network build (dashboard_checks)

    # -- parameters ----------------------------------------------------------
    def params(self):
        """Parameters from the sliders, checked against the data too (ALM neurons available)."""
        p = super().params()
        if p is None:
            return None
        try:
            self._selection(p)
        except ValueError as exc:
            self._show_error(str(exc))
            return None
        return p

    def _selection(self, p):
        """(targets of every ALM neuron at the learning times, the ALM neurons trained); raises ValueError.

        The targets depend only on the data and the training window, which no slider moves: they are
        computed once (the synthetic stand-in turns rates into inputs, about a second), not at every
        slider change."""
        b = self._balanced
        key = (p.stim_off, p.train_duration, p.learn_every)
        if self._targets_key != key:
            self._targets, self._targets_key = b.window_targets(p, self._data), key
        return self._targets, b.select_alm(p, self._data, self._targets)

    def _key(self, p):
        return replace(p, **{f: getattr(self.base_params, f) for f in self.RLS_FIELDS})

    def _describe_params(self, p) -> str:
        n = self._data.n_neurons if p.n_trained is None else p.n_trained
        ffwd = f" + {p.n_ffwd} feedforward" if p.ffwd else ""
        cached = self._cache_key is not None and self._cache_key == self._key(p)
        return (
            f"N = {p.N} ({p.Ne} E, {p.Ni} I), K = {p.K}, g = {p.g:.2f}; {n} of {self._data.n_neurons} "
            f"{self._data.label} neurons trained = {100 * n / p.Ne:.1f} % of the Ne = {p.Ne} E neurons; "
            f"{2 * p.L}{ffwd} plastic inputs each, lambda = {p.lam_rec:.3g}; press Train "
            + ("(the network is built: training starts at once)." if cached
               else "(it builds the network first: a few seconds).")
        )

    # -- what the figure shows ---------------------------------------------
    def _data_view(self, p) -> BalancedView:
        """The targets of example neurons, from the data alone (before the network is built)."""
        targets, alm = self._selection(p)
        sub = {c: targets[c][:, alm] for c in targets}
        cols = _example_columns(sub, self._n_show)
        ids = self._data.neuron_ids
        ids = alm[cols] if ids is None else ids[alm[cols]]
        label = self._data.label
        return BalancedView(p.learn_times, {c: sub[c][:, cols] for c in sub}, ids,
                            f"{label} targets of {len(cols)} of the {len(alm)} neurons to be trained "
                            "(press Train to build the network and train it)", label=label)

    def _network_view(self, net, seconds: float) -> BalancedView:
        p = net.params
        cols = _example_columns(net.targets, self._n_show)
        ids = net.alm.neuron_ids
        run = net.static_run
        rates = f" (static run: E {run.rate_e:.1f} Hz, I {run.rate_i:.1f} Hz)" if run is not None else ""
        return BalancedView(p.learn_times, {c: net.targets[c][:, cols] for c in net.targets},
                            np.arange(net.n_trained)[cols] if ids is None else ids[cols],
                            f"network built in {seconds:.1f} s{rates}; training loop 1...",
                            columns=cols, model_ids=net.trained[cols], label=net.alm.label)

    # -- training ------------------------------------------------------------
    def _network(self, p):
        """The network for ``p``: the cached one if only RLS-side knobs changed, else a new one."""
        key = self._key(p)
        if self._cache_key == key:  # train() copies the network: the cached one stays untrained
            net = copy.copy(self._cache_net)
            net.params = p
            return net, 0.0
        self.status.value = (f"Building the network: {p.N} neurons, static simulation, rate matching of "
                             f"{p.n_trained or self._data.n_neurons} {self._data.label} neurons "
                             "(a few seconds)...")
        t0 = time.perf_counter()
        self._cache_key = self._cache_net = None
        net = self._balanced.build_network(p, self._data)
        self.build_seconds = time.perf_counter() - t0
        self._cache_key, self._cache_net = key, net
        return net, self.build_seconds

    def _train(self, p):
        net, seconds = self._network(p)
        self.figure.reset(p, self._network_view(net, seconds))
        self._redraw()
        self.status.value = ("Loop 0: one trial of each lick with the untrained network, learning off "
                             "(a second or two)...")
        t0 = time.perf_counter()
        self.figure.show_loop0(self._loop0(net))
        self.loop0_seconds = time.perf_counter() - t0
        self._redraw()
        self.status.value = "Training... (the first loop is running)"
        return self._balanced.train(net, n_loops=p.n_loops, callback=self._after_loop, stop=self._stop,
                                    progress=False)

    def _loop0(self, net) -> dict:
        """Loop 0: a trial of each condition of the untrained ``net``, learning off (condition -> Trial).

        The lick-right trial is the first test trial (the test stream, trial 0): its score is the
        untrained network's single-trial test score. Nothing of ``net`` changes, and training
        draws from its own streams, so the training's numbers are those without loop 0."""
        b = self._balanced
        return {c: b.run_trial(net, c, loop=0, keep_run=False) for c in ("right", "left")}

    def _loop_status(self, loop, record, scores):
        text = (f"Training... loop {loop + 1}: score {scores[-1]:.3f} (lick right), "
                f"{record.trials['left'].score:.3f} (lick left); {record.seconds:.1f} s per loop")
        if record.test is not None:
            text += (f"<br>test: single trial {record.test.score:.3f}, "
                     f"trial-averaged {record.test.score_avg:.3f}")
        return text

    def _summary(self, result) -> str:
        if not len(result.test_loops):
            return ""
        return (f" Test after loop {result.test_loops[-1]}: single trial {result.test_scores[-1]:.3f}, "
                f"trial-averaged {result.test_scores_avg[-1]:.3f}.")


def balanced_dashboard(params: BalancedParams | None = None, n_show: int = 3, dpi: int = 80,
                       data=None) -> BalancedDashboard:
    """The Part 3 dashboard: train the balanced E-I network on ALM recordings, live.

    Knobs: g (the coupling strength that scales the static weights,
    ``~ g / sqrt(K)``, and the external input, ``~ g sqrt(K)``; the SPEC's g = 1),
    K (excitatory inputs per neuron), lambda (``lam_rec``, the RLS penalty on the
    recurrent plastic weights), the number of ALM neurons trained (``n_trained``;
    the status shows it as a fraction of the E population), L (plastic E and I
    inputs per trained neuron), feedforward inputs on/off, loops and seed. The
    sliders' bounds follow each other, so every combination they reach is valid:
    ``n_trained`` in ``[L + 1, min(Ne, neurons in the data)]``, ``L`` in
    ``[1, min(Ni, n_trained - 1)]``. Each slider's value can also be typed into its readout.
    Defaults: :meth:`BalancedParams.lecture` (2000 neurons, the 100 most modulated
    ALM neurons, 30 loops, about 20 s). Other fields come from ``params``.

    The live figure shows, after every loop, the windowed total input of
    ``n_show`` example trained neurons over their ALM targets in both
    conditions, and the score per loop (the lick-right training trial, and the
    tests without learning every ``score_every`` loops). ``data``: the ALM
    recordings (default :func:`~tutorial_lib.data.load_alm`, with the synthetic
    stand-in if they cannot be had).
    """
    from .data import ALMData, load_alm

    p = BalancedParams.lecture() if check_type("params", params, BalancedParams, allow_none=True) is None \
        else params
    check_type("data", data, ALMData, allow_none=True)
    n_show, dpi = _check_view(n_show, dpi)
    data = load_alm(fallback="synthetic") if data is None else data
    n_alm = data.n_neurons
    n_trained = n_alm if p.n_trained is None else p.n_trained
    controls = [
        field_control(p, "g"),
        field_control(p, "K", lo=min(10, p.K)),
        field_control(p, "lam_rec"),
        field_control(p, "n_trained", value=n_trained, hi=n_alm,
                      label=f"trained ({'synth.' if data.synthetic else 'ALM'})",
                      extra=lambda q: (None, n_alm),
                      tooltip_extra=f"; {data.label} neurons, each on its own E neuron, at most L + 1 to "
                                    f"min(Ne, {n_alm})"),
        field_control(p, "L", extra=lambda q: (None, n_alm - 1 if q.n_trained is None else None),
                      tooltip_extra="; at most n_trained - 1 and Ni"),
        Control("ffwd", widgets.Checkbox(value=p.ffwd, description=f"feedforward inputs ({p.n_ffwd} Poisson)",
                                         indent=False, layout=widgets.Layout(width="100%"))),
        field_control(p, "n_loops"),
        _seed_control(p),
    ]
    title = ("Part 3: train a balanced network on a SYNTHETIC stand-in for the ALM recordings with RLS"
             if data.synthetic else "Part 3: train a balanced network on ALM recordings with RLS")
    return BalancedDashboard(title, controls, p,
                             BalancedLiveFigure(dpi), data, n_show)
