r"""Part 5's dashboard: does the trained network hold its choice? Perturb many trials and watch them live.

:func:`attractor_dashboard` runs one experiment of :mod:`tutorial_lib.attractors` on the trained balanced
network: photoinhibition of the I cells, a distractor (the other lick's stimulus) or a kick along the
choice mode, at a time of the delay, for a length and with a strength, in every held-out trial of both
licks. The trials run in parallel on the machine's cores; each trial's projection on the choice mode is
drawn as it finishes, *recovered* (its choice at the end of the delay is its unperturbed choice) in one
colour and *switched* (the other choice) in another, over the unperturbed trials' mean per lick (grey).
The status line counts the switched trials with their 95 % Wilson interval.

Without a trained network (the lecture page) Run first trains the lecture-scale network
(:meth:`~tutorial_lib.params.BalancedParams.lecture`; Train trains it further), then fits the choice mode
once (:func:`~tutorial_lib.attractors.fit_choice`, on :data:`FIT_TRIALS` test trials of each lick; the
trials slider sets how many other trials are held out and perturbed).
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, replace
from types import SimpleNamespace

import ipywidgets as widgets
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FormatStrFormatter, MaxNLocator

from .. import attractors, balanced
from ..checks import check_int, check_real, check_type
from ..data import CONDITIONS, ALMData, load_alm
from ..errors import Advice
from ..params import BalancedParams
from ..plotting import COLORS
from .base import STYLE, Control, LiveFigure, check_view, field_control, slider
from .run import RunDashboard
from .screen import call_wrapping_print, log_scale_html

__all__ = ["Experiment", "AttractorView", "AttractorFigure", "AttractorDashboard", "attractor_dashboard",
           "make_experiment", "EXPERIMENTS", "STRENGTH", "FIT_TRIALS", "READOUT_MS"]

#: the experiments, by name: what the dropdown shows
EXPERIMENTS = {"photoinhibition": "photoinhibition (I cells)", "distractor": "distractor (other lick)",
               "kick": "kick (choice mode)"}
#: per experiment: the strength slider's range (its maximum is the one :mod:`tutorial_lib.attractors`
#: accepts; four decades below it), its default and what it is (threshold units, as every input)
STRENGTH = {name: (attractors.MAX_STRENGTH[name] / 1e4, attractors.MAX_STRENGTH[name], default, what)
            for name, default, what in (
                ("photoinhibition", 2.0, "the current into each I cell, threshold units"),
                ("distractor", 1.0, "the other lick's stimulus times this (1: the stimulus itself)"),
                ("kick", 1.0, "the norm of the kick's current vector along the choice mode, threshold units"))}
#: test trials of each lick that fit the choice mode (held out from the experiments)
FIT_TRIALS = 10
#: the choice is read out in the last READOUT_MS of the trial (the model has no go cue)
READOUT_MS = 100.0
TRIALS_MAX = 50  # held-out trials per lick (the trials slider)
STEP_MS = 10.0  # the time and length sliders' step (a multiple of dt)
REDRAW_S = 0.25  # while trials finish: at most about four frames a second
RECOVERED, SWITCHED, UNDECIDED = "#0072B2", "#D55E00", "0.2"  # blue, vermillion (colour-blind safe)
STATE_COLORS = {"recovered": RECOVERED, "switched": SWITCHED, "undecided": UNDECIDED}
WINDOW_COLOR = "gold"  # the perturbation window (Part 4's), orange the stimulus (the notebooks')


@dataclass(frozen=True)
class Experiment:
    """One experiment's settings, checked (:func:`make_experiment`): its ``name`` (a key of
    :data:`EXPERIMENTS`), ``start`` and ``length`` of the perturbation (ms), its ``strength`` and the
    held-out ``trials`` per lick it perturbs."""

    name: str
    start: float
    length: float
    strength: float
    trials: int

    def run(self, net, readout, **options):
        """Run it with :mod:`tutorial_lib.attractors` (``options``: ``stop``, ``on_trial``, ``n_jobs``)."""
        if self.name == "photoinhibition":
            return attractors.photoinhibition(net, readout, starts=[self.start], durations=[self.length],
                                              strength=self.strength, **options)
        if self.name == "distractor":
            return attractors.distractors(net, readout, times=[self.start], strength=self.strength, **options)
        return attractors.kicks(net, readout, amplitudes=[self.strength], times=[self.start],
                                duration=self.length, **options)

    def describe(self) -> str:
        what = {"photoinhibition": f"{self.strength:.3g} into every I cell",
                "distractor": f"the other lick's stimulus x {self.strength:.3g}",
                "kick": f"a kick of {self.strength:.3g} towards the other choice"}[self.name]
        return f"{self.name}: {what}, {self.start:g}-{self.start + self.length:g} ms"


def make_experiment(p: BalancedParams, name, start, length, strength, trials) -> Experiment:
    """The :class:`Experiment` of these settings on a network of ``p``, checked: ValueError naming the
    setting (``experiment``, ``time``, ``length``, ``strength``, ``trials``) and its valid range.

    The perturbation lies in the delay and ends by the read-out window (the last :data:`READOUT_MS`
    ms); a distractor lasts as long as the stimulus (``length`` is ignored)."""
    if not isinstance(name, str) or name not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {list(EXPERIMENTS)} (got {name!r:.60})")
    end = p.t_end - READOUT_MS
    if name == "distractor":
        length = p.stim_off - p.stim_on
    length = check_real("length", length, lo=p.dt, hi=end - p.stim_off,
                        what=f"ms, so that the perturbation ends by the read-out window at {end:g} ms")
    start = check_real("time", start, lo=p.stim_off, hi=end - length,
                       what=f"when the perturbation starts, ms: in the delay from {p.stim_off:g} ms, so that "
                            f"its {length:g} ms end by the read-out window at {end:g} ms")
    _, hi, _, what = STRENGTH[name]
    strength = check_real("strength", strength, lo=0.0, hi=hi, what=what)
    trials = check_int("trials", trials, lo=1, hi=TRIALS_MAX, what="held-out trials per lick")
    return Experiment(name, start, length, strength, trials)


@dataclass
class AttractorView:
    """What the figure shows before trials come in: the ``readout`` (None before the choice mode is
    fitted; its held-out trials drawn as the grey means), the ``experiment`` (its window shaded) and a
    ``title``."""

    readout: attractors.ChoiceReadout | None
    experiment: Experiment | None
    title: str


def trial_state(row) -> str:
    """A finished trial's outcome from its row (``baseline``, ``choice``): as
    :class:`~tutorial_lib.attractors.Outcomes` counts it, "switched", "recovered" or "undecided"."""
    base, choice = int(row["baseline"]), int(row["choice"])
    if base != 0 and choice == -base:
        return "switched"
    return "recovered" if choice == base else "undecided"


class AttractorFigure(LiveFigure):
    """Every perturbed trial's projection on the choice mode (Hz) over the trial (ms), drawn as it finishes:
    recovered in blue, switched in vermillion; the unperturbed held-out trials' mean per lick in grey
    (solid lick right, dashed lick left), the read-out threshold (dotted), the stimulus (orange), the
    perturbation window (gold) and the read-out window (hatched). While the network trains: the title."""

    def __init__(self, dpi: int = 80):
        super().__init__(figsize=(9.5, 5.6), dpi=dpi)
        self.trials: dict[int, tuple[Line2D, str]] = {}

    def reset(self, params, view: AttractorView | None):
        fig = self.new_layout()
        self.ax = ax = fig.subplots()
        self.trials, self.counts = {}, {"recovered": 0, "switched": 0, "undecided": 0}
        self.view = view = view or AttractorView(None, None, "press Run")
        ax.set_xlim(0, params.t_end)
        ax.set_xlabel("time in trial (ms)")
        ax.set_ylabel("projection on the choice mode (Hz)")
        ax.yaxis.set_major_locator(MaxNLocator(5))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.0f"))
        ax.grid(alpha=0.25)
        ax.axvspan(params.stim_on, params.stim_off, color=COLORS["stimulus"], alpha=0.18, lw=0, zorder=0)
        ax.axvspan(params.t_end - READOUT_MS, params.t_end, facecolor="none", edgecolor="0.55", hatch="//",
                   lw=0, zorder=0)
        exp = view.experiment
        self.window = None if exp is None else ax.axvspan(exp.start, exp.start + exp.length, color=WINDOW_COLOR,
                                                          alpha=0.35, lw=0, zorder=0)
        self._baseline(view.readout)
        self._legend(ax, exp)
        self.title = fig.suptitle(self.fit(view.title, self.fs(10), 0.98, 3), fontsize=self.fs(10), x=0.01,
                                  ha="left")

    def _baseline(self, readout) -> None:
        ax = self.ax
        if readout is None:
            ax.set_ylim(-10.0, 10.0)
            return
        for c, ls in zip(CONDITIONS, ("-", "--")):
            ax.plot(readout.t, readout.projection[c].mean(axis=0), ls, color="0.45", lw=2.4, zorder=3)
        ax.axhline(readout.midpoint, color="0.3", ls=":", lw=1.2, zorder=3)
        both = np.concatenate([readout.projection[c].ravel() for c in CONDITIONS])
        lo, hi = float(both.min()), float(both.max())
        pad = 0.1 * max(hi - lo, 1.0)
        ax.set_ylim(lo - pad, hi + pad)

    def _legend(self, ax, exp) -> None:
        """One legend under the axes (inside, it hid the trials; beside them, it narrowed them), proxies for
        every kind of line, in as many columns as fit the width."""
        handles = [Line2D([], [], color=RECOVERED, lw=2, label="recovered trial"),
                   Line2D([], [], color=SWITCHED, lw=2, label="switched trial"),
                   Line2D([], [], color="0.3", ls=":", lw=1.2, label="read-out threshold"),
                   Line2D([], [], color="0.45", lw=2.4, label="unperturbed mean, lick right"),
                   Line2D([], [], color="0.45", lw=2.4, ls="--", label="unperturbed mean, lick left"),
                   Patch(facecolor=COLORS["stimulus"], alpha=0.18, label="stimulus"),
                   Patch(facecolor=WINDOW_COLOR, alpha=0.35, label="perturbation" if exp is None else exp.name),
                   Patch(facecolor="none", edgecolor="0.55", hatch="//", label="read-out window")]
        fig = self.fig
        # a column: the longest label (a character about 0.45 em) and its handle and gaps (3.6 em)
        column_px = (0.45 * max(len(h.get_label()) for h in handles) + 3.6) * self.fs(8) * fig.dpi / 72
        ncol = int(max(1, min(4, 0.98 * fig.get_figwidth() * fig.dpi // column_px)))
        fig.legend(handles=handles, loc="outside lower left", ncol=ncol, fontsize=self.fs(8), frameon=False,
                   columnspacing=1.2, handlelength=1.6)

    def add_trial(self, row) -> str:
        """Draw a finished trial (a row of :func:`~tutorial_lib.attractors.photoinhibition`'s ``on_trial``);
        its state ("recovered", "switched", "undecided") is returned."""
        state = trial_state(row)
        y = np.asarray(row["projection"], dtype=float)
        (line,) = self.ax.plot(self.view.readout.t, y, color=STATE_COLORS[state], lw=1.0, alpha=0.65, zorder=2)
        self.trials[int(row["index"])] = (line, state)
        self.counts[state] += 1
        lo, hi = self.ax.get_ylim()
        if np.isfinite(y).all() and (y.min() < lo or y.max() > hi):  # room for a trial pushed far
            pad = 0.05 * (max(hi, y.max()) - min(lo, y.min()))
            self.ax.set_ylim(min(lo, y.min() - pad), max(hi, y.max() + pad))
        return state

    def say(self, text: str) -> None:
        """Set the title (in the room of its three lines)."""
        self.title.set_text(self.fit(text, self.fs(10), 0.98, 3))

    def update(self, loop, record, scores):
        """While training: the loop and its score in the title."""
        self.say(f"training loop {loop + 1}: score {scores[-1]:.2f} (learning on); the choice mode is "
                 "fitted when training ends")


def switched_text(out: attractors.Outcomes) -> str:
    """"switched k of n (fraction, 95 % Wilson interval low-high)" of an experiment's outcomes."""
    n, k = len(out), int(np.sum(out.switched))
    if n == 0:
        return "no trial finished"
    s = out.summary()
    return (f"switched {k} of {n} ({s['switched'][0]:.2f}, 95 % Wilson interval "
            f"{s['low'][0]:.2f}-{s['high'][0]:.2f})")


def _first(readout: attractors.ChoiceReadout, n: int) -> attractors.ChoiceReadout:
    """``readout`` with only its first ``n`` held-out trials per lick (each trial has its own random
    stream, so they are those a fit with ``n_test=n`` holds out)."""
    return replace(readout, test_loops=readout.test_loops[:n], projection={c: v[:n] for c, v in
                                                                            readout.projection.items()},
                   choice={c: v[:n] for c, v in readout.choice.items()})


class AttractorDashboard(RunDashboard):
    """The Part 5 dashboard: Run runs the experiment (training the network and fitting the choice mode
    first if needed); Train trains the network (further) and fits the choice mode again.

    Stop stops training after the current loop, the fit of the choice mode (2 x (:data:`FIT_TRIALS` +
    trials) trials, about 10-25 s at lecture scale; no read-out then) or an experiment within a trial (the
    trials in flight finish; the figure and the status keep the trials done).

    After a run: ``outcomes`` (:class:`~tutorial_lib.attractors.Outcomes`), ``readout`` the choice read-out
    perturbed (:class:`~tutorial_lib.attractors.ChoiceReadout`), ``network``, ``result`` the last
    :class:`~tutorial_lib.balanced.TrainResult` (None if none was given or trained here).
    """

    def __init__(self, title, controls, base_params, figure, data, network=None, result=None):
        self._data = data
        self.network = network
        self.readout: attractors.ChoiceReadout | None = None
        self.outcomes: attractors.Outcomes | None = None
        self.experiment: Experiment | None = None  # the controls' settings (checked)
        self.ran: Experiment | None = None  # the experiment of the last run (sliders may move meanwhile)
        self._mode = "run"
        self._loops = (None if network is None else result.n_loops if result is not None
                       else 0 if np.array_equal(network.w, network.w0) else None)
        self._version = 0  # counts changes of the weights: the readout is of one version
        self._readout_version = -1
        self._loops_before = 0
        self._trained_now = None  # the training of this Run (its status), if it trained
        self._experimenting = self._ran = False
        self._phase = None  # "fit" or "experiment" while they run (what Stop says)
        self._last_draw = 0.0
        self.fit_seconds = self.run_seconds = None
        super().__init__(title, controls, base_params, train=None, preview=self._view, figure=figure,
                         describe=self._describe_params, advice=self._advise_run)
        self.result = result
        self._add_run_button("Run the experiment on the held-out trials of both licks",
                             "Train the network for the loops set above (continuing), then fit the choice mode")
        self.stop_button.tooltip = "Stop training after this loop, or the experiment within a trial"

    # -- parameters -----------------------------------------------------------
    def params(self):
        """The network's parameters (loops) from the controls, the experiment checked; None if invalid."""
        try:
            v = {f: c.to_param(c.widget.value) for f, c in self.controls.items()}
            p = replace(self.base_params, n_loops=v["n_loops"])
            self.experiment = make_experiment(p, v["experiment"], v["time"], v["length"], v["strength"],
                                              v["trials"])
        except (ValueError, TypeError) as exc:
            self._show_error(str(exc))
            return None
        return p

    def _describe_params(self, p) -> str:
        exp = self.experiment
        state = (f"press Run: it trains the network first ({p.n_loops} loops), or Train"
                 if self._untrained() else "press Run" if self.readout is not None
                 else f"press Run: it fits the choice mode first (2 x {FIT_TRIALS + exp.trials} trials)")
        return f"{html.escape(exp.describe())}; {2 * exp.trials} held-out trials; {state}."

    def _untrained(self) -> bool:
        return self.network is None or self._loops == 0

    def _view(self, p) -> AttractorView:
        readout = None if self.readout is None else _first(self.readout, self.experiment.trials)
        title = (f"no run yet: {self.experiment.describe()}; press Run" if self.outcomes is None
                 else self.figure.title.get_text())
        return AttractorView(readout, self.experiment, title)

    def _advise_run(self, err, params, reference) -> Advice:
        """The balanced network's advice; during an experiment, its strength named first."""
        said = balanced.advice(err, params, reference)
        if not self._experimenting:
            return said
        text = (f"The {self.ran.name} (strength {self.ran.strength:g}) may have pushed the "
                "network out of balance: lower the strength. " + said.text)
        return Advice((("strength", "lower"),) + said.changes, ("strength",) + said.moved, text)

    # -- running ----------------------------------------------------------------
    def stop(self):
        """Stop training after the current loop, or the experiment within a trial (the Stop button)."""
        super().stop()
        if self.running and self._phase == "fit":
            self.status.value = ("Stopping the fit of the choice mode: the trials in flight finish, no new one "
                                 "starts, nothing is perturbed...")
        elif self.running and self._phase == "experiment":
            self.status.value = "Stopping: the trials in flight finish, no new one starts..."

    def _after_run(self) -> None:
        self._experimenting, self._phase = False, None

    def _train(self, params):
        """(In the background thread.) Train if asked or untrained, fit the choice mode, run the experiment."""
        exp, self._trained_now, self._ran, self._fit_stopped = self.experiment, None, False, False
        if self.network is None:
            p = self.base_params
            self.status.value = (f"Building the network: {p.N} neurons, static simulation, rate matching of "
                                 f"{p.n_trained or self._data.n_neurons} {self._data.label} neurons (a few "
                                 "seconds)...")
            self.network, self._loops = balanced.build_network(p, self._data), 0
        if self._mode == "train" or self._untrained():
            result = self._train_loops(params)
            if result.stopped:
                return result
        readout = self._fitted(exp.trials)
        if readout is not None and self._mode == "run" and not self._stop.is_set():
            self._experiment(readout, exp)
        return self.result

    def _train_loops(self, params):
        self._loops_before = 0 if self.result is None else self.result.n_loops
        self.status.value = "Training... (the first loop is running)"
        self.figure.reset(params, AttractorView(None, None, "training: loop 1 is running"))
        self._redraw()
        result = balanced.train(self.network if self.result is None else self.result, n_loops=params.n_loops,
                                callback=self._after_loop, stop=self._stop, progress=False)
        self.result, self.network = result, result.network
        self._loops = (self._loops or 0) + len(result.scores) - self._loops_before
        self._version += 1
        self._trained_now = result
        return result

    def _fitted(self, n: int) -> attractors.ChoiceReadout | None:
        """The choice read-out with ``n`` held-out trials per lick: fitted now unless one of these weights
        holds at least ``n`` (then its first ``n``); None if Stop ended the fit."""
        if self.readout is None or self._readout_version != self._version or self.readout.test_loops.size < n:
            total = 2 * (FIT_TRIALS + n)
            self.progress.max, self.progress.value, self.progress.description = total, 0, "fit"
            self.status.value = (f"Fitting the choice mode: {FIT_TRIALS} trials of each lick fit it, {n} more "
                                 f"are held out ({total} trials without learning, on every core)...")
            self.figure.say("fitting the choice mode on trials without learning...")
            self._redraw()
            t0, self._phase = time.perf_counter(), "fit"
            readout = attractors.fit_choice(self.network, n_train=FIT_TRIALS, n_test=n, readout_ms=READOUT_MS,
                                            stop=self._stop, on_trial=self._on_fit_trial)
            self.fit_seconds, self._phase = time.perf_counter() - t0, None
            if readout is None:  # stopped: keep the read-out there was (if any); nothing to perturb now
                self._fit_stopped = True
                self.figure.say("stopped while fitting the choice mode")
                self._redraw()
                return None
            self.readout = readout
            self._readout_version = self._version
            self.progress.value = 1
            if self._mode == "train":
                self.figure.reset(self.network.params, AttractorView(_first(self.readout, n), None, (
                    f"choice mode fitted: {100 * self.readout.accuracy:.0f} % of the held-out trials read out "
                    "as their lick; press Run to perturb them")))
                self._redraw()
        return _first(self.readout, n)

    def _experiment(self, readout, exp: Experiment) -> None:
        """Run ``exp`` on the held-out trials of ``readout``, each drawn as it finishes (Stop within a trial)."""
        net = self.network
        self.outcomes, self._ran, self.ran = None, True, exp
        self.figure.reset(net.params, AttractorView(readout, exp, f"{exp.describe()}: running "
                                                                  f"{2 * exp.trials} trials..."))
        self._redraw()
        self.progress.max, self.progress.value, self.progress.description = 2 * exp.trials, 0, "trial"
        self.status.value = f"Running {2 * exp.trials} trials of {html.escape(exp.name)} on every core..."
        self._experimenting, self._last_draw, self._phase = True, time.perf_counter(), "experiment"
        t0 = time.perf_counter()
        out = exp.run(net, readout, stop=self._stop, on_trial=self._on_trial)
        self._experimenting, self._phase = False, None
        self.run_seconds = time.perf_counter() - t0
        self.outcomes = out
        more = "" if not out.stopped else f" (stopped after {len(out)} of {2 * exp.trials} trials)"
        self.figure.say(f"{exp.describe()}: {switched_text(out)}{more}")
        self._redraw()

    def _on_fit_trial(self, row) -> None:
        """A trial of the choice-mode fit finished (in this thread): move the progress bar."""
        self.progress.value += 1

    def _on_trial(self, row) -> None:
        """A trial finished (in this thread): draw it; show the figure at most every REDRAW_S seconds."""
        self.figure.add_trial(row)
        done, total = len(self.figure.trials), int(row["total"])
        self.progress.value = done
        now = time.perf_counter()
        if now - self._last_draw >= REDRAW_S or done == total:
            c = self.figure.counts
            self.figure.say(f"{self.ran.describe()}: {done} of {total} trials done, {c['switched']} "
                            "switched")
            self._redraw()
            self.status.value = (f"Running: {done} of {total} trials done, {c['switched']} switched, "
                                 f"{c['recovered']} recovered so far...")
            self._last_draw = now

    # -- the status after a run -------------------------------------------------
    def _done_status(self, result, seconds: float) -> str:
        trained = self._trained_now
        if self._mode == "train" or (trained is not None and trained.stopped):
            new = SimpleNamespace(scores=trained.scores[self._loops_before:], stopped=trained.stopped)
            return super()._done_status(new, seconds, total=self._loops if self._loops_before else None)
        out = self.outcomes
        if not self._ran or out is None:
            if self._fit_stopped:
                return (f"Stopped while fitting the choice mode ({self.progress.value} of {self.progress.max} "
                        "trials run): no trial was perturbed.")
            return "Stopped before the experiment; the figure shows the previous run (if any)."
        verb = "Stopped" if out.stopped else "Done"
        first = ("" if trained is None else f"trained {len(trained.scores)} loop(s) (score "
                 f"{trained.scores[-1]:.2f}) and fitted the choice mode, then ")
        return (f"{verb}: {first}ran {len(out)} of {2 * self.ran.trials} trials in {self.run_seconds:.1f} s; "
                f"{switched_text(out)}.")

    def _summary(self, result) -> str:
        if self._mode != "train" or getattr(result, "stopped", False) or self.readout is None:
            return ""
        return (f" Choice mode fitted in {self.fit_seconds:.0f} s: {100 * self.readout.accuracy:.0f} % of "
                "the held-out trials read out as their lick.")


def _log_range(w: widgets.FloatLogSlider, lo: float, hi: float) -> None:
    """A log slider's range set to [lo, hi] (values), in an order ipywidgets accepts."""
    a, b = float(np.log10(lo)), float(np.log10(hi))
    if a > w.max:
        w.max, w.min = b, a
    else:
        w.min, w.max = a, b


def _controls(p: BalancedParams) -> list:
    """The experiment, its time, length and strength, the held-out trials per lick and the loops Train trains.

    The time and the length bound each other (the perturbation lies in the delay and ends by the read-out
    window); a distractor lasts as long as the stimulus (the length slider shows it, disabled); the
    strength's range and default are the experiment's (:data:`STRENGTH`)."""
    end, stim = p.t_end - READOUT_MS, p.stim_off - p.stim_on
    delay = end - p.stim_off
    start0 = p.stim_off + STEP_MS * round(0.25 * delay / STEP_MS)
    length0 = max(STEP_MS, STEP_MS * round(0.2 * delay / STEP_MS))
    experiment = widgets.Dropdown(options=[(label, name) for name, label in EXPERIMENTS.items()],
                                  value="photoinhibition", description="experiment", style=STYLE,
                                  layout=widgets.Layout(width="100%"), tooltip="what perturbs the trials")
    start = slider(widgets.FloatSlider, "time (ms)", f"when the perturbation starts (ms), in the delay from "
                   f"{p.stim_off:g} ms; it ends by the read-out window at {end:g} ms", value=start0,
                   min=p.stim_off, max=end - length0, step=STEP_MS, readout_format=".0f")
    length = slider(widgets.FloatSlider, "length (ms)", "how long it lasts (ms); a distractor lasts as long "
                    f"as the stimulus ({stim:g} ms)", value=length0, min=STEP_MS, max=end - start0,
                    step=STEP_MS, readout_format=".0f")
    lo, hi, value, what = STRENGTH["photoinhibition"]
    strength = slider(widgets.FloatLogSlider, "strength", what + "; log scale", value=value, base=10,
                      min=np.log10(lo), max=np.log10(hi), step=0.05, readout_format=".3g")
    trials = slider(widgets.IntSlider, "trials / lick", f"held-out trials of each lick perturbed (the choice "
                    f"mode is fitted on {FIT_TRIALS} others)", value=10, min=1, max=TRIALS_MAX, step=1)

    def now_length():
        return stim if experiment.value == "distractor" else length.value

    def on_experiment(change):  # observed before the dashboard's own observer: the new settings valid
        name = change["new"]
        start.value = min(start.value, end - now_length())
        lo, hi, value, what = STRENGTH[name]
        _log_range(strength, lo, hi)
        strength.value, strength.tooltip = value, what + "; log scale"
        length.disabled = name == "distractor"

    experiment.observe(on_experiment, names="value")
    return [
        Control("experiment", experiment),
        Control("time", start, float, lambda q: (p.stim_off, end - now_length())),
        Control("length", length, float, lambda q: (stim, stim) if experiment.value == "distractor"
                else (STEP_MS, end - start.value)),
        Control("strength", strength, float, lambda q: STRENGTH[experiment.value][:2],
                scale=widgets.HTML(log_scale_html(strength.min, strength.max))),
        Control("trials", trials, int),
        field_control(p, "n_loops"),
    ]


def attractor_dashboard(result=None, *, data=None, params: BalancedParams | None = None,
                        dpi: int = 80) -> AttractorDashboard:
    r"""The Part 5 dashboard: perturb the trained network's held-out trials and see which hold their choice.

    Parameters
    ----------
    result : a trained :class:`~tutorial_lib.balanced.TrainResult` (or a
        :class:`~tutorial_lib.balanced.BalancedNetwork`), or None: the network of ``params`` (default
        :meth:`BalancedParams.lecture`, 30 loops, about a minute) is built and trained on the first Run.
    data : the ALM recordings for the network to build (default :func:`~tutorial_lib.data.load_alm`,
        with the synthetic stand-in if they cannot be had); None when ``result`` is given.
    params : the parameters of the network to build; None when ``result`` is given.
    dpi : the figure's resolution.

    Controls: the experiment (photoinhibition: ``strength`` into every I cell; a distractor: the other
    lick's stimulus times ``strength``; a kick of norm ``strength`` along the choice mode towards the
    other choice: :mod:`tutorial_lib.attractors`), its time and length (ms; the perturbation lies in the
    delay and ends by the read-out window, the last :data:`READOUT_MS` ms; a distractor lasts as long
    as the stimulus), its strength (threshold units, a log slider over four decades up to the
    largest the experiment accepts), the held-out trials per lick, and the loops Train trains.

    Run fits the choice mode once (:func:`~tutorial_lib.attractors.fit_choice`, :data:`FIT_TRIALS`
    trials per lick), then runs the experiment on the held-out trials of both licks in parallel on every
    core; each trial's projection on the choice mode is drawn as it finishes, recovered and switched in
    two colours; the status counts the switched trials with a 95 % Wilson interval. Stop ends training
    after the current loop, an experiment within a trial.

    Raises TypeError for arguments of the wrong class, ValueError for a bad ``dpi``, ``params`` or
    ``data`` given with a ``result``, or a delay too short for a perturbation before the read-out.
    """
    check_type("result", result, (balanced.TrainResult, balanced.BalancedNetwork), allow_none=True)
    check_type("params", params, BalancedParams, allow_none=True)
    check_type("data", data, ALMData, allow_none=True)
    _, dpi = check_view(1, dpi)
    trained = result if isinstance(result, balanced.TrainResult) else None
    net = trained.network if trained is not None else result
    if net is not None:
        if params is not None or data is not None:
            raise ValueError("params and data must be None when a result is given (its network has its own)")
        p, data = net.params, net.alm
    else:
        p = BalancedParams.lecture() if params is None else params
        data = call_wrapping_print(load_alm, fallback="synthetic") if data is None else data
    if p.t_end - READOUT_MS - p.stim_off < 2 * STEP_MS:
        raise ValueError(f"params: the delay (stim_off {p.stim_off:g} ms to the trial's end {p.t_end:g} ms) must "
                         f"be at least {READOUT_MS + 2 * STEP_MS:g} ms: a perturbation, then the "
                         f"{READOUT_MS:g} ms read-out window")
    title = ("Part 5: does a network trained on a SYNTHETIC stand-in for ALM recordings hold its choice?"
             if data.synthetic else "Part 5: does the trained network hold its choice?")
    return AttractorDashboard(title, _controls(p), p, AttractorFigure(dpi), data, net, trained)
