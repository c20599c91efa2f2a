"""Part 2's figures: voltages, synaptic inputs, rasters, rate versus input, trained spiking neurons.

Voltages and inputs of the LIF neurons are dimensionless, in units of the
spike threshold (threshold 1, reset 0); the synaptic input u enters the
voltage equation directly, so it has the same unit. Times are in ms, firing
rates in Hz.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .common import COLORS, axes_or_new, legend_on_top, shade_periods, window_only
from .rate import plot_scores

__all__ = ["V_LABEL", "plot_voltage", "plot_synaptic_input", "plot_raster", "plot_raster_groups",
           "plot_rate_vs_input", "plot_total_input", "plot_spiking_neurons", "plot_spiking_summary"]

#: y label of a voltage trace (units: see the module header)
V_LABEL = "voltage v\n(threshold = 1)"




def plot_voltage(t, v, spike_times=None, ax=None, threshold=1.0, spike_height=0.6, color=None,
                 label=None, params=None):
    """Membrane potential ``v`` (threshold units) against ``t`` (ms); each spike a stroke above threshold.

    ``v`` is the recorded voltage (reset to 0 after a spike, so the spike itself
    is not in the trace); ``spike_times`` (ms) adds the spikes; the dashed line is
    the threshold. Returns the axes.
    """
    ax = axes_or_new(ax, figsize=(7.0, 2.4))
    shade_periods(ax, params)
    color = COLORS["v"] if color is None else color
    ax.plot(t, v, color=color, lw=1.0, label=label)
    ax.axhline(threshold, color=COLORS["threshold"], ls="--", lw=0.8)
    if spike_times is not None and len(spike_times):
        ax.vlines(spike_times, threshold, threshold + spike_height, color=COLORS["spike"], lw=1.0)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(V_LABEL)
    ax.set_xlim(t[0], t[-1])
    if label is not None:
        ax.legend(loc="upper right")
    return ax


def plot_synaptic_input(t, x, ax=None, label=None, color=None,
                        ylabel="synaptic input $u$\n(units of threshold)", params=None):
    """A synaptic input (threshold units) against ``t`` (ms); ``x`` is (time,) or (time, k) for k traces."""
    ax = axes_or_new(ax, figsize=(7.0, 2.4))
    shade_periods(ax, params)
    ax.plot(t, x, color=COLORS["total_input"] if color is None else color, lw=1.2, label=label)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(ylabel)
    ax.set_xlim(t[0], t[-1])
    if label is not None:
        ax.legend(loc="upper right")
    return ax


def plot_raster(spike_times, spike_neurons, ax=None, neurons=None, t_range=None, params=None,
                color="k", size=2.0, title=None):
    """Spike raster: one dot per spike, time (ms) against neuron index.

    ``neurons`` restricts the plot to a subset (shown at their own indices);
    ``t_range = (t0, t1)`` to a time range; ``params`` shades the stimulus and
    the training window. The title gives the mean firing rate of the shown neurons.
    Returns the axes.
    """
    ax = axes_or_new(ax, figsize=(7.0, 3.0))
    shade_periods(ax, params)
    st = np.asarray(spike_times, dtype=float)
    sn = np.asarray(spike_neurons)
    if neurons is not None:
        keep = np.isin(sn, np.asarray(neurons))
        st, sn = st[keep], sn[keep]
        n_shown = len(neurons)
    else:
        n_shown = int(sn.max()) + 1 if sn.size else 1
    if t_range is None:
        t_range = (0.0, params.t_end if params is not None else (st.max() if st.size else 1.0))
    inside = (st >= t_range[0]) & (st <= t_range[1])
    ax.scatter(st[inside], sn[inside], s=size, c=color, marker="|", linewidths=0.8)
    ax.set_xlim(*t_range)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron index")
    duration = (t_range[1] - t_range[0]) / 1000.0
    rate = inside.sum() / max(n_shown, 1) / duration if duration > 0 else 0.0
    ax.set_title(title if title is not None else f"spikes of {n_shown} neurons, mean rate {rate:.1f} Hz")
    return ax


def plot_raster_groups(spike_times, spike_neurons, groups, ax=None, t_range=None, params=None,
                       size=2.0, title=None, separator_color="0.5"):
    """Spike raster of several groups of neurons, one block of rows per group, in the order given.

    ``groups`` is a list of ``(name, neuron indices)``; group ``g``'s neurons get the
    rows after those of the groups before it, the blocks are separated by lines and the
    y axis names each block at its centre. ``t_range``, ``params``, ``size`` and
    ``title`` as in :func:`plot_raster`. Returns the axes.
    """
    ids = [np.asarray(g, dtype=np.int64) for _, g in groups]
    sn = np.asarray(spike_neurons, dtype=np.int64)
    n_all = max([int(sn.max()) + 1 if sn.size else 0] + [int(g.max()) + 1 for g in ids if g.size])
    row = np.full(n_all, -1)
    starts = np.cumsum([0] + [g.size for g in ids])
    for g, start in zip(ids, starts):
        row[g] = start + np.arange(g.size)
    keep = row[sn] >= 0
    ax = plot_raster(np.asarray(spike_times)[keep], row[sn[keep]], ax=ax, t_range=t_range, params=params,
                     size=size, title=title)
    for b in starts[1:-1]:
        ax.axhline(b - 0.5, color=separator_color, lw=0.8)
    ax.set_ylim(-0.5, starts[-1] - 0.5)
    ax.set_yticks([(a + b - 1) / 2 for a, b in zip(starts[:-1], starts[1:])])
    ax.set_yticklabels([f"{name}\n({g.size})" for (name, _), g in zip(groups, ids)])
    ax.set_ylabel("")
    return ax


def plot_rate_vs_input(mu, rates, theory=None, ax=None, label="simulation", theory_label="theory",
                       mu_fine=None):
    """Firing rate (Hz) against constant input ``mu`` (threshold units): simulated points and a theory curve.

    ``theory`` is a function ``mu -> rate (Hz)`` (e.g. :func:`tutorial_lib.core.lif.lif_rate`),
    drawn on ``mu_fine`` (default: 400 points over the range of ``mu``).
    """
    ax = axes_or_new(ax, figsize=(4.2, 3.2))
    mu = np.asarray(mu, dtype=float)
    if theory is not None:
        x = np.linspace(mu.min(), mu.max(), 400) if mu_fine is None else np.asarray(mu_fine)
        ax.plot(x, [theory(m) for m in x], color="k", lw=1.2, label=theory_label)
    ax.plot(mu, rates, "o", ms=4, color="C3", label=label)
    ax.axvline(1.0, color=COLORS["threshold"], ls=":", lw=0.8)
    ax.set_xlabel(r"constant input $\mu$ (units of threshold)")
    ax.set_ylabel("firing rate (Hz)")
    ax.legend(loc="upper left")
    return ax


def _draw_total_input(ax, trial, i, params=None, target=True):
    """Total input of neuron ``i`` (solid) and its target in the training window (dashed) on ``ax``."""
    shade_periods(ax, params)
    ax.plot(trial.t, trial.total_input[:, i], color=COLORS["total_input"], lw=1.2, label=r"input $\mu + u_i$")
    if target:
        ax.plot(trial.t, window_only(trial.t, trial.target[:, i], params), color=COLORS["target"],
                lw=1.2, ls="--", label=r"target $f_i$")
    ax.set_ylabel(f"neuron {i}")




def plot_total_input(trial, neurons, fig=None, params=None, target=True, title=None):
    """Total input ``mu + u`` (solid) of several neurons over their targets (dashed), stacked panels.

    ``trial`` is a :class:`tutorial_lib.spiking_net.Trial`; the target is drawn in
    the training window only (it is not defined before). ``fig`` may be a Figure
    or SubFigure. Inputs are in units of the threshold, time in ms. Returns the figure.
    """
    neurons = list(neurons)
    if fig is None:
        fig = plt.figure(figsize=(7.0, 1.15 * len(neurons) + 0.8))
    axes = fig.subplots(len(neurons), 1, sharex=True, squeeze=False)[:, 0]
    for ax, i in zip(axes, neurons):
        _draw_total_input(ax, trial, i, params, target)
    fig.supylabel("input (units of threshold)", fontsize=9)
    legend_on_top(axes[0])
    axes[-1].set_xlabel("time (ms)")
    axes[-1].set_xlim(trial.t[0], trial.t[-1])
    if title:
        fig.suptitle(title)
    return fig


def plot_spiking_neurons(trial, neurons, fig=None, params=None, target=True, title=None):
    """For each neuron two panels: voltage with spikes, and total input ``mu + u`` with its target.

    Voltage and input are in units of the threshold ("thr."), time in ms.

    ``trial`` is a :class:`tutorial_lib.spiking_net.Trial` (or anything with
    ``t``, ``v``, ``total_input``, ``target``, ``spike_times``, ``spike_neurons``;
    ``target=False`` leaves the target out). Returns the figure.
    """
    neurons = list(neurons)
    if fig is None:
        fig = plt.figure(figsize=(7.5, 2.0 * len(neurons) + 0.6))
    axes = fig.subplots(2 * len(neurons), 1, sharex=True, squeeze=False,
                        gridspec_kw=dict(height_ratios=[1.0, 1.1] * len(neurons)))[:, 0]
    for q, i in enumerate(neurons):
        av, ad = axes[2 * q], axes[2 * q + 1]
        spikes = trial.spike_times[trial.spike_neurons == i]
        plot_voltage(trial.t, trial.v[:, i], spikes, ax=av, params=params)
        av.set_ylabel("$v$\n(thr. = 1)")
        av.set_xlabel("")
        av.set_ylim(-0.3, 1.8)
        duration = len(trial.t) * (trial.t[1] - trial.t[0]) / 1000.0  # s
        av.set_title(f"neuron {i}: {spikes.size} spikes, {spikes.size / duration:.1f} Hz",
                     loc="left", fontsize=9)
        shade_periods(ad, params)
        ad.plot(trial.t, trial.total_input[:, i], color=COLORS["total_input"], lw=1.2, label=r"input $\mu + u_i$")
        if target:
            ad.plot(trial.t, window_only(trial.t, trial.target[:, i], params), color=COLORS["target"],
                    lw=1.2, ls="--", label=r"target $f_i$")
        ad.axhline(1.0, color=COLORS["threshold"], ls=":", lw=0.8)
        ad.set_ylabel("input\n(thr. units)")
        if q == 0 and target:
            ad.legend(loc="lower right", ncol=2, fontsize=7)
    axes[-1].set_xlabel("time (ms)")
    axes[-1].set_xlim(trial.t[0], trial.t[-1])
    if title:
        fig.suptitle(title)
    return fig


def plot_spiking_summary(trial, scores=None, neurons=(0, 1, 2), fig=None, params=None, title=None):
    """Input over target of some neurons, the raster below, and (with ``scores``) the learning curve.

    Returns the figure.
    """
    neurons = list(neurons)
    n = len(neurons)
    if fig is None:
        fig = plt.figure(figsize=(9.5 if scores is not None else 7.0, 1.05 * n + 3.0))
    if scores is not None:
        left, right = fig.subfigures(1, 2, width_ratios=[2.0, 1.0])
    else:
        left, right = fig, None
    axes = left.subplots(n + 1, 1, sharex=True, height_ratios=[1.0] * n + [2.0])
    for ax, i in zip(axes, neurons):
        _draw_total_input(ax, trial, i, params)
    legend_on_top(axes[0])
    axes[0].set_title("total input (units of threshold) and target of trained neurons")
    plot_raster(trial.spike_times, trial.spike_neurons, ax=axes[-1], params=params, size=3.0)
    axes[-1].set_xlim(trial.t[0], trial.t[-1])
    if right is not None:
        ax = right.subplots()
        plot_scores(scores, ax=ax)
        ax.set_ylim(min(0.0, float(np.min(scores)) - 0.05), 1.02)
        ax.set_title("learning curve")
    if title:
        fig.suptitle(title)
    return fig
