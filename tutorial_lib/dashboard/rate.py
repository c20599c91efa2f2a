"""Part 1's dashboard: the rate network trained live (:func:`rate_dashboard`)."""

from __future__ import annotations

import numpy as np

from .. import rate
from ..params import RateParams
from ..checks import check_type
from .base import LiveFigure, TrainingDashboard, check_view, network_controls, seed_control, field_control


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
                ax.set_title(self.fit("loop 0: the untrained network (learning off); input in a.u.",
                                      self.fs(10), 0.6, 2), fontsize=self.fs(10), loc="left")
                self.title = ax
            if row < self.n_show - 1:
                ax.tick_params(labelbottom=False)
        ax.set_xlabel("time (ms)")
        # the legend under the figure: inside a panel it hid the traces
        fig.legend(handles=[fig.axes[0].lines[0], self.lines[0]], loc="outside lower left",
                   ncol=2, fontsize=self.fs(8), frameon=False)
        self.score_ax = fig.add_subplot(gs[:, 1])
        # RLS gets the score close to 1 within a loop or two; the distance from 1, on a
        # logarithmic axis, shows how the fit keeps improving after that
        self.score_ax.set_xlabel("training loop")
        self.score_ax.set_ylabel("1 - score (correlation of u and f)")
        self.score_ax.set_xlim(-0.5, max(params.n_loops, 2) + 0.5)
        self.score_ax.set_yscale("log")
        self.score_ax.set_ylim(self.FLOOR, 2.0)
        self.score_ax.grid(alpha=0.3, which="both")
        self.score0 = np.array([preview.score], dtype=float)  # loop 0 at x = 0: where training starts from
        (self.score_line,) = self.score_ax.plot([0], np.clip(1.0 - self.score0, self.FLOOR, 2.0), "o-", ms=3,
                                                color="k")
        for ax in fig.axes[: len(neurons)]:  # the trace panels (fewer than n_show if fewer are trained)
            lo = min(np.nanmin(preview.u[:, neurons]), -0.2)
            hi = max(np.nanmax(preview.u[:, neurons]), preview.target[:, neurons].max()) + 0.3
            ax.set_ylim(max(lo, -3), min(hi, 6))

    def update(self, loop, trial, scores):
        for line, i in zip(self.lines, self.neurons):
            line.set_ydata(trial.u[:, i])
        self.title.set_title(self.fit(f"loop {loop + 1} (learning on); input in a.u.", self.fs(10), 0.6, 2),
                             fontsize=self.fs(10),
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
    p = RateParams() if check_type("params", params, RateParams, allow_none=True) is None else params
    n_show, dpi = check_view(n_show, dpi)
    controls = [*network_controls(p), field_control(p, "train_fraction"), field_control(p, "n_loops"),
                seed_control(p)]
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
