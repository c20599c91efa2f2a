"""Part 3's dashboard: the balanced network trained live on the ALM data (:func:`balanced_dashboard`)."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, replace

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import FormatStrFormatter, MaxNLocator
from matplotlib.transforms import ScaledTranslation

from .. import balanced
from ..data import ALMData, load_alm
from ..params import BalancedParams
from ..checks import check_type
from ..plotting import COLORS as _COLORS
from .screen import call_wrapping_print
from .base import Control, LiveFigure, TrainingDashboard, check_view, seed_control, field_control


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
        super().__init__(figsize=(10.0, 6.2), dpi=dpi)

    def reset(self, params, view: BalancedView):
        fig = self.new_layout()
        n = len(view.alm_ids)  # rows: the example neurons of the view
        self.columns = view.columns
        gs = fig.add_gridspec(n, 3, width_ratios=[1.0, 1.0, 1.05])
        self.lines, self.axes, self.heads, self.avg_lines = {}, [], {}, {}
        self._target_span = {}
        self.window = params.score_window
        self.label = view.label
        for row in range(n):
            row_axes = []
            for col in range(len(self.CONDITIONS)):
                row_axes.append(self._trace_panel(fig, gs, view, row, col, row_axes))
            self.axes.append(row_axes)
            both = np.concatenate([view.target[c][:, row] for c, _, _ in self.CONDITIONS])
            self._target_span[row] = (float(both.min()), float(both.max()))
            row_axes[0].set_ylim(*self._ylim(row))
        self._score_panel(fig.add_subplot(gs[:, 2]), params)
        # one legend for the traces and the scores, under the figure: inside a panel it hid the data
        first = self.axes[0]
        handles = [first[0].lines[0], self.lines[0, "right"], self.lines[0, "left"], self.avg_lines[0],
                   self.score_line, self.test_line, self.test_avg_line]
        avg = f"{params.n_test_trials}-trial avg." if params.n_test_trials > 1 else "no learning"
        labels = [f"{view.label} target", "input, lick right", "input, lick left", "test input, avg. (right)",
                  "score: training", "score: test, 1 trial", f"score: test, {avg}"]
        # as many columns as fit the width (a character about 0.45 em, a column's handle and gaps 3.6 em)
        column_px = (0.45 * max(map(len, labels)) + 3.6) * self.fs(8) * fig.dpi / 72
        ncol = int(max(1, min(len(labels), 0.98 * fig.get_figwidth() * fig.dpi // column_px)))
        fig.legend(handles, labels, loc="outside lower left", ncol=ncol, fontsize=self.fs(8), frameon=False,
                   columnspacing=1.2, handlelength=1.6)
        self.tests: list[tuple[int, float, float]] = []
        self.score0 = np.zeros(0)  # loop 0, once show_loop0 has drawn it
        self.suptitle = fig.suptitle(self.fit(view.title, self.fs(10), 0.98, 2), fontsize=self.fs(10), x=0.01,
                                     ha="left")

    def _trace_panel(self, fig, gs, view: BalancedView, row: int, col: int, row_axes: list):
        """The panel of example neuron ``row`` in condition ``col``: its target and (empty) input lines."""
        c, label, color = self.CONDITIONS[col]
        n, t = len(view.alm_ids), view.bin_t
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
            ax.set_title(self._head(label), fontsize=self.fs(10), loc="left", color=color, fontweight="bold")
            self.heads[c] = ax
        if row < n - 1:
            ax.tick_params(labelbottom=False)
        else:
            ax.set_xlabel("time in trial (ms)", fontsize=self.fs(9))
        if col == 0:
            who = f"{view.label} {view.alm_ids[row]}"
            if view.model_ids is not None:
                who += f"\n(E {view.model_ids[row]})"  # its model E neuron; short: a line fits a row
            if len(who.split("\n")[0]) > 8:  # "synthetic 1564": two lines, to fit a row's height
                who = who.replace(" ", " \n", 1)
            ax.set_ylabel(who, fontsize=self.fs(8))
            # clear of tick labels up to "-0.5" wide, in points from the axis: the layout is computed once
            lines = who.count("\n") + 1
            shift = (2.4 * self.fs(8) + 8 + 0.65 * lines * self.fs(8)) / 72
            ax.yaxis.set_label_coords(0, 0.5, transform=ax.transAxes + ScaledTranslation(
                -shift, 0, fig.dpi_scale_trans))
        else:
            ax.tick_params(labelleft=False)
        return ax

    def _head(self, text: str) -> str:
        """A condition's panel heading, in two lines if the panel is too narrow for one."""
        return self.fit(text, self.fs(10), 0.28, 2)

    def _score_panel(self, ax, params) -> None:
        """The score per loop: training (lick right), tests (single trial, trial-averaged)."""
        self.score_ax = ax
        ax.set_xlabel("training loop")
        ax.set_ylabel("score (correlation with target)", fontsize=self.fs(9))
        ax.set_xlim(-0.5, max(params.n_loops, 2) + 0.5)
        # as many ticks as their labels ("200": about 2 em, and 1 em apart) fit the panel's width
        room = 0.22 * self.fig.get_figwidth() * 72 / (3 * self.fs(8))
        ax.xaxis.set_major_locator(MaxNLocator(int(min(6, max(2, room))), integer=True))
        ax.set_ylim(-0.1, 0.8)
        ax.grid(alpha=0.3)
        ax.axhline(0, color="0.6", lw=0.8)
        (self.score_line,) = ax.plot([], [], "o-", ms=3, color="k", lw=1.2,
                                     label="training (lick right)")
        (self.test_line,) = ax.plot([], [], "s--", ms=5, color="C1", lw=1.0,
                                    label="test, single trial (no learning)")
        avg = f"test, {params.n_test_trials}-trial average" if params.n_test_trials > 1 else "test"
        (self.test_avg_line,) = ax.plot([], [], "D-", ms=5, color="tab:brown", lw=1.2, label=avg)
        if params.score_every:
            ax.set_xlabel(f"training loop\n(tests every {params.score_every})")

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
            self.heads[c].set_title(self._head(f"{label}: score {trials[c].score:.2f}"), fontsize=self.fs(10), loc="left",
                                    color=color, fontweight="bold")
        self.suptitle.set_text(self.fit(f"loop {loop} ({what}): input of trained neurons "
                                        f"(\u00b1{self.window:g} ms mean), {self.label} targets",
                                        self.fs(10), 0.98, 2))

    def show_loop0(self, trials: dict) -> None:
        """Loop 0: ``trials`` (condition -> Trial) of the untrained network without learning.

        Its lick-right score is drawn at x = 0 of the training curve and of the single-trial test
        curve (the lick-right trial of loop 0 is the first test trial of the untrained network)."""
        self._draw_trials(trials, 0, "untrained, learning off")
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
                            f"{label} targets of {len(cols)} of the {len(alm)} neurons to train "
                            "(press Train)", label=label)

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
    p = BalancedParams.lecture() if check_type("params", params, BalancedParams, allow_none=True) is None \
        else params
    check_type("data", data, ALMData, allow_none=True)
    n_show, dpi = check_view(n_show, dpi)
    data = call_wrapping_print(load_alm, fallback="synthetic") if data is None else data
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
        seed_control(p),
    ]
    title = ("Part 3: train a balanced network on a SYNTHETIC stand-in for the ALM recordings with RLS"
             if data.synthetic else "Part 3: train a balanced network on ALM recordings with RLS")
    return BalancedDashboard(title, controls, p,
                             BalancedLiveFigure(dpi), data, n_show)
