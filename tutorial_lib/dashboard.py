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
from dataclasses import dataclass, field, replace
from typing import Callable

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, MaxNLocator

from .params import BalancedParams, RateParams, SpikingParams, check_int, check_type
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
    """

    def __init__(self, figsize=(9.0, 5.0), dpi: int = 80):
        self.fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(self.fig)  # attaches itself as fig.canvas
        self._layout_done = False

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
        self.fig.canvas.print_png(buf)
        if not self._layout_done:  # the first draw placed the axes: keep them there
            self.fig.set_layout_engine("none")
            self._layout_done = True
        return buf.getvalue()


@dataclass
class Control:
    """A slider (or other value widget) bound to one parameter field."""

    field: str
    widget: widgets.ValueWidget
    to_param: Callable = field(default=lambda v: v)


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
    """

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
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="900px"))
        self.train_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        for c in controls:
            c.widget.observe(self._on_change, names="value")

        box = widgets.VBox(
            [widgets.HTML(f"<b>{html.escape(title)}</b>")]
            + [c.widget for c in controls]
            + [widgets.HBox([self.train_button, self.stop_button]), self.progress, self.status],
            layout=widgets.Layout(min_width="320px", max_width="380px"),
        )
        self.widget = widgets.HBox([box, self.image], layout=widgets.Layout(align_items="flex-start"))
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
        if p is not None and not self.running:
            self.error = None
            self.status.value = self._describe(p)

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
    """A slider of the dashboards' look that reports its value only when released."""
    return cls(description=description, style=_STYLE, layout=widgets.Layout(width="100%"),
               continuous_update=False, tooltip=tooltip, **kw)


def _network_controls(p, sigma_max: float) -> list:
    """The sliders every recurrent network has: sigma, K (N-1 = all-to-all) and lambda."""
    return [
        Control("sigma", _slider(widgets.FloatSlider, "sigma (weights)", "std of the initial weights",
                                 value=p.sigma, min=0.01, max=sigma_max, step=0.01, readout_format=".2f")),
        Control("K", _slider(widgets.IntSlider, "K (inputs)", "inputs per neuron; N-1 = all-to-all",
                             value=p.n_inputs, min=1, max=p.N - 1),
                to_param=lambda v, N=p.N: None if v == N - 1 else v),
        Control("lam", _slider(widgets.FloatLogSlider, "lambda (RLS)", "RLS regulariser",
                               value=p.lam, base=10, min=-3, max=2, step=0.1, readout_format=".3g")),
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
            ax.set_ylabel(f"neuron {i}", fontsize=9)
            if row == 0:
                ax.set_title("before training (untrained network); input in a.u.", fontsize=10, loc="left")
                ax.legend(loc="upper left", fontsize=8, ncol=2, frameon=False)
                self.title = ax
            if row < self.n_show - 1:
                ax.tick_params(labelbottom=False)
        ax.set_xlabel("time (ms)")
        self.score_ax = fig.add_subplot(gs[:, 1])
        # RLS gets the score close to 1 within a loop or two; the distance from 1, on a
        # logarithmic axis, shows how the fit keeps improving after that
        self.score_ax.set_xlabel("training loop")
        self.score_ax.set_ylabel("1 - score (score: mean correlation of u and f)")
        self.score_ax.set_xlim(0.5, max(params.n_loops, 2) + 0.5)
        self.score_ax.set_yscale("log")
        self.score_ax.set_ylim(self.FLOOR, 2.0)
        self.score_ax.grid(alpha=0.3, which="both")
        (self.score_line,) = self.score_ax.plot([], [], "o-", ms=3, color="k")
        for ax in fig.axes[: self.n_show]:
            lo = min(np.nanmin(preview.u[:, neurons]), -0.2)
            hi = max(np.nanmax(preview.u[:, neurons]), preview.target[:, neurons].max()) + 0.3
            ax.set_ylim(max(lo, -3), min(hi, 6))

    def update(self, loop, trial, scores):
        for line, i in zip(self.lines, self.neurons):
            line.set_ydata(trial.u[:, i])
        self.title.set_title(f"loop {loop + 1} (learning on); input in a.u.", fontsize=10, loc="left")
        self.score_line.set_data(np.arange(1, len(scores) + 1), np.clip(1.0 - scores, self.FLOOR, 2.0))


def _rate_describe(p: RateParams) -> str:
    k = "all-to-all" if p.K is None or p.K == p.N - 1 else f"K = {p.K} inputs"
    return (
        f"N = {p.N}, {k}, gain g = sigma&radic;K = {p.g:.2f}"
        f"{' (chaotic before training)' if p.g > 1 else ''}; "
        f"{p.n_trained} trained neuron(s); press Train."
    )


def rate_dashboard(params: RateParams | None = None, n_show: int = 3, dpi: int = 80) -> TrainingDashboard:
    """The Part 1 dashboard: sliders for sigma, K, lambda, training fraction, loops and seed."""
    from . import rate

    p = RateParams() if check_type("params", params, RateParams, allow_none=True) is None else params
    n_show, dpi = _check_view(n_show, dpi)
    controls = [
        *_network_controls(p, sigma_max=1.0),
        Control("train_fraction", _slider(widgets.FloatSlider, "fraction trained", "fraction of neurons trained",
                                         value=p.train_fraction, min=0.05, max=1.0, step=0.05)),
        Control("n_loops", _slider(widgets.IntSlider, "loops", "training loops", value=p.n_loops, min=1, max=200)),
        Control("seed", widgets.BoundedIntText(description="seed", value=p.seed, min=0, max=2**31 - 1,
                                               style=_STYLE, layout=widgets.Layout(width="100%"))),
    ]
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
            ax.set_ylabel(f"neuron {i}", fontsize=9)
            ax.tick_params(labelbottom=False)
            if row == 0:
                ax.set_title("before training (untrained network); input in units of threshold",
                             fontsize=10, loc="left")
                ax.legend(loc="upper right", fontsize=8, ncol=2, frameon=False)
                self.title = ax
        self.raster_ax = ax = fig.add_subplot(gs[n, 0], sharex=first)
        ax.axvspan(params.stim_on, params.stim_off, color=COLORS["stimulus"], alpha=0.3, lw=0)
        self.raster = ax.scatter(preview.spike_times, preview.spike_neurons, s=2.0, c="k", marker="|",
                                 linewidths=0.6)
        ax.set_ylim(-1, params.N)
        ax.set_xlim(0, params.t_end)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("neuron")
        ax.set_title(self._raster_title(preview, params.t_end), fontsize=9, loc="left")
        self.t_end = params.t_end
        self.score_ax = fig.add_subplot(gs[:, 1])
        self.score_ax.set_xlabel("training loop")
        self.score_ax.set_ylabel("score (mean correlation of input and target)")
        self.score_ax.set_xlim(0.5, max(params.n_loops, 2) + 0.5)
        self.score_ax.set_ylim(0, 1.02)
        self.score_ax.grid(alpha=0.3)
        (self.score_line,) = self.score_ax.plot([], [], "o-", ms=3, color="k")

    @staticmethod
    def _raster_title(trial, t_end, what="spikes"):
        rate = trial.spike_times.size / trial.total_input.shape[1] / (t_end / 1000.0)
        return f"{what}: mean rate {rate:.1f} Hz"

    def update(self, loop, trial, scores):
        for line, i in zip(self.lines, self.neurons):
            line.set_ydata(trial.total_input[:, i])
        self.title.set_title(f"loop {loop + 1} (learning on); input in units of threshold",
                             fontsize=10, loc="left")
        self.raster.set_offsets(np.column_stack([trial.spike_times, trial.spike_neurons]))
        self.raster_ax.set_title(self._raster_title(trial, self.t_end, f"spikes in loop {loop + 1}"),
                                 fontsize=9, loc="left")
        self.score_line.set_data(np.arange(1, len(scores) + 1), scores)
        lo = float(np.min(scores))
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
    controls = [
        *_network_controls(p, sigma_max=5.0),
        Control("tau_s", _slider(widgets.FloatLogSlider, "tau_s (ms)", "synaptic time constant, ms",
                                value=p.tau_s, base=10, min=0, max=3, step=0.05, readout_format=".3g")),
        Control("train_fraction", _slider(widgets.FloatSlider, "fraction trained",
                                         "fraction of neurons trained",
                                         value=p.train_fraction, min=0.05, max=1.0, step=0.05)),
        Control("n_loops", _slider(widgets.IntSlider, "loops", "training loops",
                                  value=p.n_loops, min=1, max=100)),
        Control("seed", widgets.BoundedIntText(description="seed", value=p.seed, min=0, max=2**31 - 1,
                                               style=_STYLE, layout=widgets.Layout(width="100%"))),
    ]

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
    (``Trial.binned``), against its ALM target (``Trial.target``).
    """

    CONDITIONS = (("right", "lick right", "C0"), ("left", "lick left", "C3"))

    def __init__(self, dpi: int = 80):
        super().__init__(figsize=(10.0, 5.6), dpi=dpi)

    def reset(self, params, view: BalancedView):
        fig = self.new_layout()
        n = len(view.alm_ids)  # rows: the example neurons of the view
        self.columns = view.columns
        gs = fig.add_gridspec(n, 3, width_ratios=[1.0, 1.0, 1.05])
        t = view.bin_t
        self.lines, self.axes, self.heads = {}, [], {}
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
                ax.tick_params(labelsize=8)
                # tick labels of one width whatever the limits: the layout is computed once per run
                ax.yaxis.set_major_locator(MaxNLocator(4, steps=[1, 2, 5, 10]))
                ax.yaxis.set_major_formatter(FormatStrFormatter("%.1f"))
                if row == 0:
                    ax.set_title(label, fontsize=10, loc="left", color=color, fontweight="bold")
                    self.heads[c] = ax
                if row < n - 1:
                    ax.tick_params(labelbottom=False)
                else:
                    ax.set_xlabel("time in trial (ms)", fontsize=9)
                if col == 0:
                    who = f"{view.label} {view.alm_ids[row]}"
                    if view.model_ids is not None:
                        who += f"\n(model E {view.model_ids[row]})"
                    ax.set_ylabel(who, fontsize=8)
                    ax.yaxis.set_label_coords(-0.2, 0.5)  # clear of tick labels up to "-0.5" wide
                else:
                    ax.tick_params(labelleft=False)
                row_axes.append(ax)
            self.axes.append(row_axes)
            both = np.concatenate([view.target[c][:, row] for c, _, _ in self.CONDITIONS])
            self._target_span[row] = (float(both.min()), float(both.max()))
            row_axes[0].set_ylim(*self._ylim(row))
        self.axes[0][1].legend(loc="upper right", fontsize=7, frameon=False, ncol=1)
        self.score_ax = ax = fig.add_subplot(gs[:, 2])
        ax.set_xlabel("training loop")
        ax.set_ylabel("score (mean correlation of input and target)", fontsize=9)
        ax.set_xlim(0.5, max(params.n_loops, 2) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        ax.set_ylim(-0.1, 0.8)
        ax.grid(alpha=0.3)
        ax.axhline(0, color="0.6", lw=0.8)
        (self.score_line,) = ax.plot([], [], "o-", ms=3, color="k", lw=1.2,
                                     label="training trial (lick right, learning)")
        (self.test_line,) = ax.plot([], [], "s--", ms=5, color="C1", lw=1.0,
                                    label="test, single trial (no learning)")
        avg = f"test, {params.n_test_trials}-trial average" if params.n_test_trials > 1 else "test"
        (self.test_avg_line,) = ax.plot([], [], "D-", ms=5, color="C2", lw=1.2, label=avg)
        ax.legend(loc="upper left", fontsize=7, frameon=False)
        if params.score_every:
            ax.set_title(f"tests every {params.score_every} loops", fontsize=9, loc="left")
        self.tests: list[tuple[int, float, float]] = []
        self.suptitle = fig.suptitle(view.title, fontsize=10, x=0.01, ha="left")

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

    def update(self, loop, record, scores):
        cols = self.columns
        for row in range(len(self.axes)):
            drawn = []
            for c, _, _ in self.CONDITIONS:
                y = record.trials[c].binned[:, cols[row]]
                self.lines[row, c].set_ydata(y)
                drawn.append(y)
            self.axes[row][0].set_ylim(*self._ylim(row, np.concatenate(drawn)))
        for c, label, color in self.CONDITIONS:
            self.heads[c].set_title(f"{label}: score {record.trials[c].score:.2f}", fontsize=10, loc="left",
                                    color=color, fontweight="bold")
        self.suptitle.set_text(f"loop {loop + 1} (learning on): total input of trained neurons "
                               f"(mean over \u00b1{self.window:g} ms) and their {self.label} targets")
        x = np.arange(1, len(scores) + 1)
        self.score_line.set_data(x, scores)
        if record.test is not None:
            self.tests.append((loop + 1, record.test.score, record.test.score_avg))
        tests = np.array(self.tests).reshape(-1, 3)
        if record.test is not None:
            self.test_line.set_data(tests[:, 0], tests[:, 1])
            self.test_avg_line.set_data(tests[:, 0], tests[:, 2])
        shown = np.concatenate([scores, tests[:, 1:].ravel()])
        shown = shown[np.isfinite(shown)]
        if shown.size:
            self.score_ax.set_ylim(min(-0.1, shown.min() - 0.05), min(1.02, max(0.8, shown.max() + 0.1)))


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
        self.status.value = "Training... (the first loop is running)"
        return self._balanced.train(net, n_loops=p.n_loops, callback=self._after_loop, stop=self._stop,
                                    progress=False)

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

    Knobs: sigma (the coupling strength ``g`` that scales the static weights,
    ``~ g / sqrt(K)``, and the external input, ``~ g sqrt(K)``; the SPEC's g = 1),
    K (excitatory inputs per neuron), lambda (``lam_rec``, the RLS penalty on the
    recurrent plastic weights), the number of ALM neurons trained (``n_trained``;
    the status shows it as a fraction of the E population), L (plastic E and I
    inputs per trained neuron), feedforward inputs on/off, loops and seed.
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
    k_max = (p.Ne * (p.N - 1)) // p.N
    controls = [
        Control("g", _slider(widgets.FloatSlider, "sigma (g)",
                             "coupling strength g: static weights ~ g/sqrt(K), external input ~ g sqrt(K); "
                             "SPEC: 1",
                             value=p.g, min=0.1, max=3.0, step=0.05, readout_format=".2f")),
        Control("K", _slider(widgets.IntSlider, "K (inputs)",
                             "excitatory inputs per neuron (as many inhibitory)", value=p.K, min=min(10, p.K),
                             max=max(k_max, p.K), step=10 if p.K % 10 == 0 else 1)),
        Control("lam_rec", _slider(widgets.FloatLogSlider, "lambda (RLS)",
                                   "RLS penalty on the recurrent plastic weights (lam_rec)",
                                   value=p.lam_rec, base=10, min=-4, max=1, step=0.1, readout_format=".3g")),
        Control("n_trained", _slider(widgets.IntSlider, f"trained ({'synth.' if data.synthetic else 'ALM'})",
                                     f"{data.label} neurons trained, each on its own E neuron "
                                     "(a fraction of Ne)",
                                     value=n_trained, min=2, max=max(n_alm, n_trained), step=1)),
        Control("L", _slider(widgets.IntSlider, "L (plastic)",
                             "plastic E and plastic I inputs per trained neuron",
                             value=p.L, min=1, max=100)),
        Control("ffwd", widgets.Checkbox(value=p.ffwd, description=f"feedforward inputs ({p.n_ffwd} Poisson)",
                                         indent=False, layout=widgets.Layout(width="100%"))),
        Control("n_loops", _slider(widgets.IntSlider, "loops", "training loops (each: lick right, then left)",
                                   value=p.n_loops, min=1, max=200)),
        Control("seed", widgets.BoundedIntText(description="seed", value=p.seed, min=0, max=2**31 - 1,
                                               style=_STYLE, layout=widgets.Layout(width="100%"))),
    ]
    title = ("Part 3: train a balanced network on a SYNTHETIC stand-in for the ALM recordings with RLS"
             if data.synthetic else "Part 3: train a balanced network on ALM recordings with RLS")
    return BalancedDashboard(title, controls, p,
                             BalancedLiveFigure(dpi), data, n_show)
