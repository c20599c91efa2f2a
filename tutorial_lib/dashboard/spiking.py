"""Part 2's dashboard: the spiking network trained live (:func:`spiking_dashboard`)."""

from __future__ import annotations

import numpy as np

from .. import spiking_net
from ..params import SpikingParams
from ..plotting import COLORS
from ..checks import check_type
from .base import LiveFigure, TrainingDashboard, check_view, network_controls, seed_control, field_control


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
                ax.set_title(self.fit("loop 0: the untrained network (learning off); input in units of "
                                      "threshold", self.fs(10), 0.6, 2), fontsize=self.fs(10), loc="left")
                self.title = ax
        self.raster_ax = ax = fig.add_subplot(gs[n, 0], sharex=first)
        ax.axvspan(params.stim_on, params.stim_off, color=COLORS["stimulus"], alpha=0.3, lw=0)
        self.raster = ax.scatter(preview.spike_times, preview.spike_neurons, s=2.0, c="k", marker="|",
                                 linewidths=0.6)
        ax.set_ylim(-1, params.N)
        ax.set_xlim(0, params.t_end)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("neuron")
        # the legend under the figure: inside a panel it hid the traces
        fig.legend(handles=[fig.axes[0].lines[0], self.lines[0]], loc="outside lower left", ncol=2,
                   fontsize=self.fs(8), frameon=False)
        ax.set_title(self._raster_title(preview, params.t_end, "spikes in loop 0"), fontsize=self.fs(9),
                     loc="left")
        self.t_end = params.t_end
        self.score_ax = fig.add_subplot(gs[:, 1])
        self.score_ax.set_xlabel("training loop")
        self.score_ax.set_ylabel("score (correlation with target)")
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
        self.title.set_title(self.fit(f"loop {loop + 1} (learning on); input in units of threshold",
                                      self.fs(10), 0.6, 2),
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
    p = SpikingParams() if check_type("params", params, SpikingParams, allow_none=True) is None else params
    n_show, dpi = check_view(n_show, dpi)
    controls = [*network_controls(p), field_control(p, "tau_s"), field_control(p, "train_fraction"),
                field_control(p, "n_loops"), seed_control(p)]

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
