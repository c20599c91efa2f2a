r"""Part 4's dashboard: perturb the balanced network live and compare with the balance prediction.

:func:`perturbation_dashboard` adds a current to a population (``"E"``, ``"I"``, ``"all"``,
``"trained"``, ``"untrained E"``) in a time window of one trial, runs the trained (or the
untrained) network, and shows the E and I rates over time against an unperturbed trial of the
same random stream, with the rate change that the balance equations predict (:func:`~tutorial_lib.
balanced.balance_response`, :math:`\Delta r = -A^{-1}\delta`), and the perturbed population's
input split into its excitatory and inhibitory parts. :func:`run_perturbation` (:mod:`.perturb`) is the same
computation without widgets (a :class:`PerturbationOutcome`).
"""

from __future__ import annotations

import html
import time
from dataclasses import fields, replace
from types import SimpleNamespace

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import FormatStrFormatter, MaxNLocator

from ..params import BalancedParams
from ..checks import check_type
from ..plotting import COLORS, INPUT_LABEL
from ..errors import Advice
from .. import balanced
from ..data import ALMData, load_alm
from .run import RunDashboard
from .screen import call_wrapping_print
from .base import STYLE, Control, LiveFigure, check_view, field_control, slider
from .perturb import (BIN_MS, CURRENT_RANGE, POPULATIONS, SMOOTH_MS, WHOLE_POPULATIONS, PerturbationOutcome,
                      make_perturbation, run_perturbation, sample_population)

__all__ = ["PerturbationOutcome", "PerturbationFigure", "PerturbationDashboard", "run_perturbation",
           "perturbation_dashboard", "POPULATIONS", "CURRENT_RANGE"]

WINDOW_COLOR = "gold"  # the perturbation window's shading (orange shades the stimulus in the notebooks)


class PerturbationFigure(LiveFigure):
    """Top: the E and I population rates (Hz) of the perturbed trial (solid) and its control (dashed),
    the window shaded, the predicted rates in it (dotted: the control's mean in the window plus the
    change :func:`~tutorial_lib.balanced.balance_response` predicts). Bottom:
    the perturbed population's mean input, its E and I parts and their sum. While the network trains:
    the rates of each loop's training trial (no perturbation)."""

    PARTS = (("E", "external + excitatory", COLORS["exc"]), ("I", "inhibitory", COLORS["inh"]),
             ("net", "net input", COLORS["net"]))
    RATES = (("E", "E cells", COLORS["exc"]), ("I", "I cells", COLORS["inh"]))

    def __init__(self, dpi: int = 80):
        super().__init__(figsize=(9.5, 6.0), dpi=dpi)
        self.outcome: PerturbationOutcome | None = None

    def reset(self, params, outcome: PerturbationOutcome | None):
        fig = self.new_layout()
        self.outcome = outcome
        self._ne = params.Ne
        self.rate_ax, self.input_ax = fig.subplots(2, 1, sharex=True, height_ratios=[1.2, 1.0])
        ax = self.rate_ax
        self.rate_lines, self.predicted_lines, self.input_lines = {}, {}, {}
        self.span = None
        nan = np.full(2, np.nan)
        for name, label, color in self.RATES:
            self.rate_lines[name, "perturbed"], = ax.plot([0, params.t_end], nan, color=color, lw=1.8,
                                                          label=f"{label}, perturbed")
            self.rate_lines[name, "control"], = ax.plot([0, params.t_end], nan, "--", color=color, lw=1.2,
                                                        alpha=0.7, label=f"{label}, no perturbation")
        ax.set_ylabel("rate (Hz)")
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.0f"))
        ax.yaxis.set_major_locator(MaxNLocator(5, integer=True))
        ax.grid(alpha=0.25)
        ax.set_xlim(0, params.t_end)
        bottom = self.input_ax
        bottom.set_xlabel("time in trial (ms)")
        bottom.set_ylabel(INPUT_LABEL, fontsize=self.fs(9))
        bottom.yaxis.set_major_formatter(FormatStrFormatter("%.0f"))
        bottom.axhline(0.0, color="0.75", lw=0.6)
        bottom.axhline(1.0, color=COLORS["threshold"], ls=":", lw=0.8)
        bottom.grid(alpha=0.25)
        if outcome is None:  # empty axes: ranges a run will fill (otherwise every tick reads 0)
            ax.set_ylim(0.0, 15.0)
            bottom.set_ylim(-4.0, 4.0)
            self.title = fig.suptitle(self.fit("no run yet: press Run to perturb the network (Train trains it "
                                               "first)", self.fs(10), 0.98, 3), fontsize=self.fs(10), x=0.01,
                                      ha="left")
            self._legend(ax)
            return
        self._draw(params, outcome)

    def _draw(self, params, o: PerturbationOutcome):
        ax = self.rate_ax
        self.span_patches = [a.axvspan(o.start, min(o.stop, params.t_end), color=WINDOW_COLOR, alpha=0.3,
                                       lw=0, zorder=0, label=label)
                             for a, label in ((ax, "perturbation window"), (self.input_ax, None))]
        self.span = (o.start, min(o.stop, params.t_end))
        for name, _, _ in self.RATES:
            for run, k in (("perturbed", 0), ("control", 1)):
                self.rate_lines[name, run].set_data(o.t, o.rates[name][k])
        if o.population not in ("E", "I"):  # the perturbed population's own rate
            self.rate_lines[o.population, "perturbed"], = ax.plot(
                o.t, o.rates[o.population][0], color="0.2", lw=1.4, label=f"{o.population} cells, perturbed")
        if o.predicted is not None:
            for k, (name, label, color) in enumerate(self.RATES):
                level = o.baseline[k] + o.predicted[k]
                self.predicted_lines[name], = ax.plot(self.span, [level, level], ":", color=color, lw=3.0,
                                                      label=f"{label}: balance prediction")
        ax.relim()
        ax.autoscale_view(scalex=False)
        ax.set_ylim(bottom=0)
        self._legend(ax)
        who = f"{o.sampled.size} {o.population} cells" if o.population != "all" else f"{o.sampled.size} cells"
        for name, label, color in self.PARTS:
            self.input_lines[name], = self.input_ax.plot(o.input_t, o.inputs["perturbed"][name], color=color,
                                                         lw=1.2 if name != "net" else 1.6, label=label)
        self.input_lines["net", "control"], = self.input_ax.plot(o.input_t, o.inputs["control"]["net"], "--",
                                                                 color=COLORS["net"], lw=1.0, alpha=0.6,
                                                                 label="net, no perturbation")
        self._legend(self.input_ax)
        self.input_ax.set_title(self.fit(f"mean input of {who} (the perturbed population"
                                         f"{'' if o.sampled.size == o.n_population else ', a random sample'})",
                                         self.fs(9), 0.6), fontsize=self.fs(9), loc="left")
        net = ("untrained network" if o.trained_loops == 0 else "trained network" if o.trained_loops is None
               else f"network trained {o.trained_loops} loop(s)")
        pred = ("balance prediction " + ", ".join(f"{n} {d:+.1f} Hz" for n, d in zip("EI", o.predicted))
                if o.predicted is not None else "the balance prediction applies to whole populations only "
                "(E, I or all)")
        self.title = self.fig.suptitle(self.fit(
            f"{net}, lick {o.condition}: {o.current:+g} into the {o.population} cells, "
            f"{o.start:g}-{o.stop:g} ms\n"
            f"change in the window: measured E {o.change[0]:+.1f} Hz, I {o.change[1]:+.1f} Hz; {pred}",
            self.fs(10), 0.98, 3), fontsize=self.fs(10), x=0.01, ha="left")

    def _legend(self, ax):
        """The panel's legend, right of it (inside, it hid the traces)."""
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=self.fs(8), frameon=False)

    def update(self, loop, record, scores):
        """While training: the E and I rates of this loop's lick-right training trial (no perturbation)."""
        trial = record.trials["right"]
        for name, cols in (("E", np.arange(self._ne)), ("I", np.arange(self._ne, trial.N))):
            t, r = trial.psth(cols, BIN_MS, SMOOTH_MS)
            self.rate_lines[name, "control"].set_data(t, r.mean(axis=1))
        self.rate_ax.relim()
        self.rate_ax.autoscale_view(scalex=False)
        self.rate_ax.set_ylim(bottom=0)
        self.title.set_text(self.fit(f"training loop {loop + 1}: score {scores[-1]:.2f}; dashed: the rates of "
                                     "its lick-right trial (learning on, no perturbation)", self.fs(10), 0.98, 3))


_PARAM_FIELDS = frozenset(f.name for f in fields(BalancedParams))
_WINDOW_STEP = 10.0  # ms, the window sliders' step (a multiple of dt; run_trial checks the grid)


class PerturbationDashboard(RunDashboard):
    """The Part 4 dashboard: Run perturbs the network (building it first if needed); Train trains it.

    The network is built in the background the first time Run or Train is pressed (unless one was
    given). Train trains it for the loops slider's number of loops, continuing from any earlier
    training, and then runs the perturbation; Stop stops after the current loop (or between the
    two trials of a run), and the network keeps the loops that were completed. The unperturbed
    control trial is reused while the weights, condition and population stay the same, so moving
    the current or the window costs one trial per Run.

    After a run: ``outcome`` (a :class:`PerturbationOutcome`), ``network`` the network perturbed
    (trained weights), ``result`` the last :class:`~tutorial_lib.balanced.TrainResult` (None if
    not trained here and none was given).
    """

    def __init__(self, title, controls, base_params, figure, data, network=None, result=None):
        self._balanced = balanced
        self._data = data
        self.network = network
        self.outcome: PerturbationOutcome | None = None
        self._mode = "run"
        # loops trained: None for a given network trained elsewhere (how long is not known)
        self._loops = (None if network is None else result.n_loops if result is not None
                       else 0 if np.array_equal(network.w, network.w0) else None)
        self._version = 0  # counts changes of the weights: the cached control trial is of one version
        self._control_key = self._control = None
        self._loops_before = 0
        self._cut_short = False  # the last run stopped between its two trials
        self._perturbing = False  # a perturbation run is under way (its failure names the current)
        self.run_seconds: float | None = None
        super().__init__(title, controls, base_params, train=None, preview=lambda p: self.outcome,
                         figure=figure, describe=self._describe_params, advice=self._advise_run)
        self.result = result
        self._add_run_button("Run one trial with the perturbation and one without",
                             "Train the network for the loops set above (continuing), then Run")

    # -- parameters -----------------------------------------------------------
    def _value(self, name):
        return self.controls[name].to_param(self.controls[name].widget.value)

    def params(self):
        """The network's parameters (loops) from the controls, the perturbation checked; None if invalid."""
        try:
            values = {f: self._value(f) for f in self.controls}
            p = _replace(self.base_params, {f: v for f, v in values.items() if f in _PARAM_FIELDS})
            keys = ("population", "current", "start", "stop", "condition")
            self.perturbation = make_perturbation(p, *(values[k] for k in keys))
        except (ValueError, TypeError) as exc:
            self._show_error(str(exc))
            return None
        return p

    def _describe_params(self, p) -> str:
        pert = self.perturbation
        pop = pert.neurons
        if pop in WHOLE_POPULATIONS:
            dr = self._balanced.balance_response(p, *(f * pert.current for f in WHOLE_POPULATIONS[pop]))
            pred = f"the balance equations predict E {dr[0]:+.1f} Hz, I {dr[1]:+.1f} Hz"
        else:
            pred = "the balance prediction is for whole populations (E, I or all) only"
        state = ("press Run (it builds the network first: a few seconds) or Train" if self.network is None
                 else "press Run, or Train to train it further")
        return (f"{pert.current:+g} into the {html.escape(pop)} cells from {pert.start:g} to {pert.stop:g} "
                f"ms (lick {self._value('condition')}, {self._value('weights')} weights): {pred}; {state}.")

    def _advise_run(self, err, params, reference) -> Advice:
        """The balanced network's advice; for a run, the perturbation's current named first."""
        said = self._balanced.advice(err, params, reference)
        if not self._perturbing:  # training failed: the network's own advice
            return said
        c = self.perturbation.current
        fix = "lower" if c > 0 else "raise"
        text = (f"The perturbation ({c:+g} into the {self.perturbation.neurons} cells) may have pushed the "
                f"network out of balance: {fix} the current (now {c:g}) towards 0. " + said.text)
        return Advice((("current", fix),) + said.changes, ("current",) + said.moved, text)

    # -- running ----------------------------------------------------------------
    def _built(self):
        """The network: the one given or built before, else built now (in the background thread)."""
        if self.network is None:
            p = self.base_params
            self.status.value = (f"Building the network: {p.N} neurons, static simulation, rate matching of "
                                 f"{p.n_trained or self._data.n_neurons} {self._data.label} neurons (a few "
                                 "seconds)...")
            self.network = self._balanced.build_network(p, self._data)
            self._loops = 0
        return self.network

    def _train(self, params):
        self._perturbing = False
        net = self._built()
        if self._mode == "run":
            self._perturb(net)
            return self.result
        self._loops_before = 0 if self.result is None else self.result.n_loops
        self.status.value = "Training... (the first loop is running)"
        self.figure.reset(params, None)
        self._redraw()
        result = self._balanced.train(net if self.result is None else self.result, n_loops=params.n_loops,
                                      callback=self._after_loop, stop=self._stop, progress=False)
        self.result, self.network = result, result.network
        self._loops = (self._loops or 0) + len(result.scores) - self._loops_before
        self._version += 1
        if not result.stopped:
            self._perturb(self.network)
        return result

    def _perturb(self, net):
        """Run the perturbation (control trial first, unless cached); draw it; Stop between the trials."""
        pert = self.perturbation
        self._cut_short = False
        untrained = self._value("weights") == "untrained"
        if untrained:
            net = net.copy()
            net.w[...] = net.w0
        condition = self._value("condition")
        key = (self._version, untrained, condition, pert.neurons)
        control = self._control if self._control_key == key else None
        self.progress.max, self.progress.value = 2, 1 if control is not None else 0
        self.progress.description = "trial"
        self.status.value = ("Running the perturbed trial..." if control is not None
                             else "Running the unperturbed trial, then the perturbed one...")
        t0 = time.perf_counter()
        if control is None:
            control = self._balanced.run_trial(net, condition, loop=0, record=sample_population(net, pert.neurons),
                                               split_inputs=True)
            self._control_key, self._control = key, control
            self.progress.value = 1
            if self._stop.is_set():
                self._cut_short = True
                return
        self._perturbing = True  # from here a blow-up is the perturbation's doing
        self.outcome = run_perturbation(net, pert.neurons, pert.current, pert.start, pert.stop, condition,
                                        control=control, trained_loops=0 if untrained else self._loops)
        self._perturbing = False
        self.progress.value = 2
        self.run_seconds = time.perf_counter() - t0
        self.figure.reset(net.params, self.outcome)
        self._redraw()

    # -- the status after a run -------------------------------------------------
    def _done_status(self, result, seconds: float) -> str:
        if self._mode == "train":
            new = SimpleNamespace(scores=result.scores[self._loops_before:], stopped=result.stopped)
            # a continued training says the loops in all too, as the figure's title does
            return super()._done_status(new, seconds, total=self._loops if self._loops_before else None)
        if self._cut_short:
            return "Stopped before the perturbed trial; the figure shows the previous run (if any)."
        return f"Done: ran the perturbation in {self.run_seconds:.2g} s." + self._summary(result)

    def _summary(self, result) -> str:
        o = self.outcome
        if o is None or self._cut_short or getattr(result, "stopped", False):
            return ""
        text = (f" In the window: E {o.baseline[0]:.1f} -> {o.measured[0]:.1f} Hz, "
                f"I {o.baseline[1]:.1f} -> {o.measured[1]:.1f} Hz")
        if o.predicted is not None:
            text += f" (predicted change E {o.predicted[0]:+.1f}, I {o.predicted[1]:+.1f} Hz)"
        return text + "."


def _replace(p, values: dict):
    return replace(p, **values) if values else p


def _window_controls(t_end: float) -> list:
    """Start and stop sliders (ms) whose bounds follow each other: ``0 <= start < stop <= t_end``."""
    step = _WINDOW_STEP
    start0 = step * round(t_end / 2 / step)
    stop0 = step * round(5 * t_end / 6 / step)
    start = slider(widgets.FloatSlider, "start (ms)", "when the perturbation starts (ms); before stop",
                    value=start0, min=0.0, max=stop0 - step, step=step, readout_format=".0f")
    stop = slider(widgets.FloatSlider, "stop (ms)", f"when it stops (ms); after start, at most {t_end:g}",
                   value=stop0, min=start0 + step, max=t_end, step=step, readout_format=".0f")
    return [Control("start", start, float, lambda p: (0.0, stop.value - step)),
            Control("stop", stop, float, lambda p: (start.value + step, p.t_end))]


def _controls(p: BalancedParams, names: list) -> list:
    """The dashboard's controls: the population (one of ``names``), current, window, condition, weights, loops."""
    dropdown = dict(style=STYLE, layout=widgets.Layout(width="100%"))
    controls = [
        Control("population", widgets.Dropdown(options=names, value="I", description="population",
                                               tooltip="the cells that get the current", **dropdown)),
        Control("current", slider(widgets.FloatSlider, "current",
                                   "the input added to each cell of the population (units of threshold); "
                                   f"negative silences; in [{CURRENT_RANGE[0]:g}, {CURRENT_RANGE[1]:g}]",
                                   value=1.0, min=CURRENT_RANGE[0], max=CURRENT_RANGE[1], step=0.05,
                                   readout_format=".2f"), float),
        *_window_controls(p.t_end),
        Control("condition", widgets.Dropdown(options=[("lick right", "right"), ("lick left", "left")],
                                              value="right", description="condition", **dropdown)),
        Control("weights", widgets.Dropdown(
            options=[("as trained", "trained"), ("untrained (initial)", "untrained")], value="trained",
            description="weights", tooltip="the plastic weights: as trained, or their initial values",
            **dropdown)),
        field_control(p, "n_loops"),
    ]
    return controls


def perturbation_dashboard(network=None, params: BalancedParams | None = None, dpi: int = 80,
                           data=None) -> PerturbationDashboard:
    r"""The Part 4 dashboard: perturb the balanced network live and compare with the balance prediction.

    Parameters
    ----------
    network : a trained :class:`~tutorial_lib.balanced.TrainResult` or
        :class:`~tutorial_lib.balanced.BalancedNetwork`, or None: the network of ``params``
        (default :meth:`BalancedParams.lecture`) is built on the first Run or Train (a few
        seconds); Train then trains it (about 20 s for 30 loops at lecture scale).
    params : the parameters of the network to build when ``network`` is None (else its own).
    dpi : the figure's resolution.
    data : the ALM recordings for the network to build (default
        :func:`~tutorial_lib.data.load_alm` with the synthetic stand-in).

    Controls: the population (``I``, ``E``, ``all``, ``trained``, ``untrained E``), the current
    added to each of its cells (units of threshold, in ``CURRENT_RANGE``; negative silences), the
    window's start and stop (ms; their bounds follow each other, ``0 <= start < stop <= t_end``),
    the condition (lick right or left), trained or initial (untrained) plastic weights, and the
    loops Train trains. Run runs a trial with the perturbation and one without (same random
    stream); the figure shows the E and I population rates of both, the window shaded, the rate
    the balance equations predict in it (for E, I or all: :func:`~tutorial_lib.balanced.
    balance_response`, the ``K -> infinity`` limit :math:`\Delta r = -A^{-1}\delta`), and the
    perturbed population's mean input split into its excitatory and inhibitory parts.

    Raises TypeError for arguments of the wrong class and ValueError for a bad ``dpi``.
    """
    check_type("network", network, (balanced.TrainResult, balanced.BalancedNetwork), allow_none=True)
    check_type("params", params, BalancedParams, allow_none=True)
    check_type("data", data, ALMData, allow_none=True)
    _, dpi = check_view(1, dpi)
    result = network if isinstance(network, balanced.TrainResult) else None
    net = result.network if result is not None else network
    if net is not None:
        if params is not None:
            raise ValueError("params must be None when a network is given (the network has its own)")
        p, data = net.params, net.alm
    else:
        p = BalancedParams.lecture() if params is None else params
        data = call_wrapping_print(load_alm, fallback="synthetic") if data is None else data
    names = list(balanced.populations(net)) if net is not None else list(POPULATIONS)
    names = [n for n in POPULATIONS if n in names]
    controls = _controls(p, names)
    title = ("Part 4: perturb a balanced network trained on a SYNTHETIC stand-in for ALM recordings"
             if data.synthetic else "Part 4: perturb the balanced network trained on ALM recordings")
    return PerturbationDashboard(title, controls, p, PerturbationFigure(dpi), data, net, result)
