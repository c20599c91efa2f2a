"""Small plotting functions shared by the notebooks and ``figures/make_figures.py``.

Every function draws one kind of figure, labels its axes with units, takes an
optional ``ax`` (single-panel plots) or ``fig`` (multi-panel plots: a Figure or
a SubFigure) to draw into, and returns what it drew on: the axes for
single-panel plots, the figure for multi-panel ones. Only matplotlib is used.

Rates, inputs and targets of the rate model are in arbitrary units (a.u.);
times are in ms.

Why one module of about 850 lines: the figures of all parts share one style, one palette
(``COLORS``) and a few helpers (shading of the stimulus and training window, legends), and
each function is short and on its own; the module is ordered by part.

Getting started::

    >>> from tutorial_lib import RateParams, rate, plotting
    >>> plotting.use_style()
    >>> net = rate.build_network(RateParams())
    >>> ax = plotting.plot_connectivity(net.W)
"""

from __future__ import annotations

from contextlib import contextmanager

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "STYLE",
    "COLORS",
    "use_style",
    "style",
    "plot_connectivity",
    "plot_weights_hist",
    "plot_eigenvalues",
    "plot_activation",
    "plot_targets",
    "plot_stimulus",
    "plot_activity",
    "plot_mean_rate",
    "plot_weight_change",
    "plot_scores",
    "plot_training_summary",
]

#: rcParams of the tutorial's figures: small, light, readable at dpi 80.
STYLE = {
    "figure.dpi": 80,
    "savefig.dpi": 100,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.figsize": (7.0, 3.2),
    "figure.constrained_layout.use": True,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "image.cmap": "viridis",
    "lines.linewidth": 1.5,
}

#: Colours used consistently: recurrent input u, rate r, target f, shaded periods.
COLORS = {
    "u": "C0",
    "r": "C1",
    "target": "0.2",
    "stimulus": "tab:orange",
    "window": "0.93",
}


def use_style() -> None:
    """Apply the tutorial's figure style to matplotlib globally (for notebooks)."""
    mpl.rcParams.update(STYLE)


@contextmanager
def style():
    """Apply the tutorial's figure style inside a ``with`` block only."""
    with mpl.rc_context(STYLE):
        yield


def _axes(ax, figsize=None):
    """Return ``ax``, or new axes on a new figure if ``ax`` is None."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _shade_periods(ax, params, stimulus=True, window=True):
    """Shade the stimulus and the training window of a Part 1 trial."""
    if params is None:
        return
    if window:
        ax.axvspan(params.stim_off, params.t_end, color=COLORS["window"], lw=0, zorder=0)
    if stimulus:
        ax.axvspan(params.stim_on, params.stim_off, color=COLORS["stimulus"], alpha=0.3, lw=0, zorder=0)


def _connection_mask(W_or_presyn, N=None) -> np.ndarray:
    """Boolean (N, N) matrix of existing synapses, from a weight matrix or a presyn list."""
    a = np.asarray(W_or_presyn)
    if np.issubdtype(a.dtype, np.integer):
        # (n_post, K) lists of presynaptic indices
        n_post = a.shape[0]
        N = n_post if N is None else N
        mask = np.zeros((n_post, N), dtype=bool)
        mask[np.repeat(np.arange(n_post), a.shape[1]), a.ravel()] = True
        return mask
    return a != 0


def plot_connectivity(W_or_presyn, ax=None, N=None, title=None):
    """Show which synapses exist (``W_ij != 0``, or a presyn index list) as a black-and-white matrix."""
    ax = _axes(ax, figsize=(3.4, 3.2))
    mask = _connection_mask(W_or_presyn, N)
    ax.imshow(mask, cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
    K = mask.sum(axis=1).mean()
    ax.set_title(title if title is not None else f"{K:.0f} inputs per neuron")
    ax.set_xlabel("presynaptic neuron j")
    ax.set_ylabel("postsynaptic neuron i")
    return ax


def plot_weights_hist(W, sigma=None, ax=None, bins=40):
    """Histogram of the existing weights (``W_ij != 0``), with the Normal(0, sigma^2) density if given."""
    ax = _axes(ax, figsize=(3.6, 3.0))
    w = np.asarray(W)
    w = w[w != 0]
    ax.hist(w, bins=bins, density=True, color="0.6", label="weights")
    if sigma is not None:
        x = np.linspace(-4 * sigma, 4 * sigma, 200)
        ax.plot(x, np.exp(-0.5 * (x / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi)), "k",
                label=r"$\mathcal{N}(0, \sigma^2)$" + "\n" + rf"$\sigma$ = {sigma:g}")
        ax.legend(loc="upper left")
    ax.set_xlabel(r"weight $W_{ij}$ (a.u.)")
    ax.set_ylabel("probability density")
    return ax


def plot_eigenvalues(W, ax=None, radius=None, label=None, marked=None, unit_line=True, **scatter_kw):
    """Eigenvalues of ``W`` in the complex plane, with a circle of ``radius`` and the line Re = 1.

    ``marked``: optional complex numbers to circle (e.g. predicted eigenvalues);
    ``unit_line=False`` leaves out the line Re = 1 (when overlaying a second matrix).
    """
    ax = _axes(ax, figsize=(3.6, 3.4))
    ev = np.linalg.eigvals(np.asarray(W))
    kw = dict(s=10, alpha=0.8)
    kw.update(scatter_kw)
    ax.scatter(ev.real, ev.imag, label=label, **kw)
    if radius is not None:
        th = np.linspace(0, 2 * np.pi, 200)
        ax.plot(radius * np.cos(th), radius * np.sin(th), "k--", lw=1, label=f"radius {radius:.2g}")
    if unit_line:
        ax.axvline(1.0, color="tab:red", lw=1, label="Re = 1 (instability)")
    if marked is not None:
        m = np.asarray(marked, dtype=complex)
        ax.plot(m.real, m.imag, "o", ms=10, mfc="none", mec="k", mew=1.2, label="predicted")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("real part of eigenvalue")
    ax.set_ylabel("imaginary part")
    ax.legend(loc="lower left", frameon=True, framealpha=0.9, edgecolor="none")
    return ax


def plot_activation(phi=None, ax=None, x=None, label=r"$\phi(x) = \max(x, 0)$"):
    """Plot an activation function (ReLU by default) over ``x``."""
    ax = _axes(ax, figsize=(3.4, 3.0))
    if phi is None:
        def phi(v):
            return np.maximum(v, 0.0)
    x = np.linspace(-3, 3, 301) if x is None else np.asarray(x)
    ax.axhline(0, color="0.8", lw=0.8)
    ax.axvline(0, color="0.8", lw=0.8)
    ax.plot(x, phi(x), color=COLORS["r"], label=label)
    ax.set_xlabel("total input x (a.u.)")
    ax.set_ylabel(r"rate $\phi(x)$ (a.u.)")
    ax.legend(loc="upper left")
    return ax


def plot_targets(t, f, neurons, ax=None, params=None):
    """Overlay the targets ``f[:, i]`` (time, neuron) of the listed neurons against ``t`` (ms)."""
    ax = _axes(ax)
    _shade_periods(ax, params)
    for i in neurons:
        ax.plot(t, f[:, i], label=f"neuron {i}")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(r"target $f_i(t)$ (a.u.)")
    ax.set_xlim(t[0], t[-1])
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(neurons))
    return ax


def plot_stimulus(net, neurons=None, ax=None, t=None):
    """External input ``I_ext(t)`` of some neurons of a rate network across one trial."""
    p = net.params
    ax = _axes(ax)
    t = np.arange(0.0, p.t_end, p.dt) if t is None else np.asarray(t)
    on = (t >= p.stim_on) & (t < p.stim_off)
    neurons = range(min(p.N, 5)) if neurons is None else neurons
    _shade_periods(ax, p, stimulus=False)
    for i in neurons:
        ax.plot(t, np.where(on, net.stimulus[i], 0.0), label=f"neuron {i}")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(r"external input $I_i^{\rm ext}$ (a.u.)")
    ax.set_xlim(t[0], t[-1])
    ax.legend(loc="upper right")
    return ax


def plot_activity(trial, neurons, show=("r", "u"), fig=None, params=None, target=True, title=None):
    """Activity of several neurons in stacked panels: rate r, recurrent input u, and the target.

    ``trial`` is a :class:`tutorial_lib.rate.Trial`; ``show`` picks ``"r"``, ``"u"`` or both;
    ``fig`` may be a Figure or SubFigure to draw into. Returns the figure.
    """
    neurons = list(neurons)
    if fig is None:
        fig = plt.figure(figsize=(7.0, 1.25 * len(neurons) + 0.8))
    axes = np.atleast_1d(fig.subplots(len(neurons), 1, sharex=True, squeeze=False)[:, 0])
    names = {"r": r"rate $r_i$", "u": r"recurrent input $u_i$"}
    for ax, i in zip(axes, neurons):
        _shade_periods(ax, params)
        for q in show:
            ax.plot(trial.t, getattr(trial, q)[:, i], color=COLORS[q], lw=1.6, label=names[q])
        if target:
            ax.plot(trial.t, trial.target[:, i], color=COLORS["target"], lw=1.0, ls="--", label=r"target $f_i$")
        ax.set_ylabel(f"neuron {i}\n(a.u.)")
    lo, hi = axes[0].get_ylim()
    axes[0].set_ylim(lo, hi + 0.45 * (hi - lo))  # headroom for the legend
    axes[0].legend(loc="upper right", ncol=len(show) + int(target))
    axes[-1].set_xlabel("time (ms)")
    axes[-1].set_xlim(trial.t[0], trial.t[-1])
    if title:
        fig.suptitle(title)
    return fig


def plot_mean_rate(trial, ax=None, label=None, params=None):
    """Population-averaged rate of a trial against time (ms)."""
    ax = _axes(ax)
    _shade_periods(ax, params)
    ax.plot(trial.t, trial.r.mean(axis=1), label=label)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("mean rate (a.u.)")
    ax.set_xlim(trial.t[0], trial.t[-1])
    if label is not None:
        ax.legend(loc="upper right")
    return ax


def plot_weight_change(dW, ax=None, title=r"weight change $\Delta W = W - W_0$",
                       cbar_label=r"$\Delta W_{ij}$ (a.u.)"):
    """Matrix image of a weight change (or any weight matrix), with a symmetric colour scale and a colorbar."""
    ax = _axes(ax, figsize=(4.2, 3.4))
    dW = np.asarray(dW)
    vmax = float(np.max(np.abs(dW))) or 1.0
    im = ax.imshow(dW, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
    ax.figure.colorbar(im, ax=ax, label=cbar_label, shrink=0.9)
    ax.set_xlabel("presynaptic neuron j")
    ax.set_ylabel("postsynaptic neuron i")
    ax.set_title(title)
    return ax


def plot_scores(scores, ax=None, error=False, label=None, **plot_kw):
    """Score per training loop; with ``error=True``, ``1 - score`` on a log scale."""
    ax = _axes(ax, figsize=(4.0, 3.0))
    scores = np.asarray(scores)
    loops = np.arange(1, len(scores) + 1)
    kw = dict(marker="o", ms=3)
    kw.update(plot_kw)
    if error:
        ax.semilogy(loops, np.clip(1.0 - scores, 1e-12, None), label=label, **kw)
        ax.set_ylabel("1 - score")
    else:
        ax.plot(loops, scores, label=label, **kw)
        ax.set_ylabel("score (mean correlation)")
    ax.set_xlabel("training loop")
    if label is not None:
        ax.legend()
    return ax


def plot_training_summary(trial, scores, neurons=(0, 1, 2), fig=None, params=None, title=None):
    """Two panels: a trial's recurrent input against the targets (stacked by neuron) and the score per loop.

    Returns the figure.
    """
    if fig is None:
        fig = plt.figure(figsize=(9.0, 1.1 * len(neurons) + 1.2))
    left, right = fig.subfigures(1, 2, width_ratios=[1.9, 1.0])
    plot_activity(trial, neurons, show=("u",), fig=left, params=params)
    left.suptitle("after training: recurrent input and target", fontsize=10)
    ax = right.subplots()
    plot_scores(scores, ax=ax, error=True)
    ax.set_title("learning curve")
    if title:
        fig.suptitle(title)
    return fig


# ---------------------------------------------------------------------------
# Part 2: spiking networks
#
# Voltages and inputs of the LIF neurons are dimensionless, in units of the
# spike threshold (threshold 1, reset 0); the synaptic input u enters the
# voltage equation directly, so it has the same unit. Times are in ms, firing
# rates in Hz.

__all__ += [
    "plot_voltage",
    "plot_synaptic_input",
    "plot_raster",
    "plot_raster_groups",
    "plot_rate_vs_input",
    "plot_total_input",
    "plot_spiking_neurons",
    "plot_spiking_summary",
]

COLORS.update({
    "v": "0.25",        # membrane potential
    "spike": "C3",      # spikes drawn on a voltage trace
    "total_input": "C0",  # total input mu + u (the trained quantity of Part 2)
    "threshold": "0.55",
})

#: y label of a voltage trace (units: see the comment above)
V_LABEL = "voltage v\n(threshold = 1)"


def _window_only(t, f, params):
    """``f`` with NaN before the training window (a target means nothing there)."""
    if params is None:
        return f
    f = np.array(f, dtype=float)
    f[np.asarray(t) < params.stim_off] = np.nan
    return f


def plot_voltage(t, v, spike_times=None, ax=None, threshold=1.0, spike_height=0.6, color=None,
                 label=None, params=None):
    """Membrane potential ``v`` (threshold units) against ``t`` (ms); each spike a stroke above threshold.

    ``v`` is the recorded voltage (reset to 0 after a spike, so the spike itself
    is not in the trace); ``spike_times`` (ms) adds the spikes; the dashed line is
    the threshold. Returns the axes.
    """
    ax = _axes(ax, figsize=(7.0, 2.4))
    _shade_periods(ax, params)
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
    ax = _axes(ax, figsize=(7.0, 2.4))
    _shade_periods(ax, params)
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
    ax = _axes(ax, figsize=(7.0, 3.0))
    _shade_periods(ax, params)
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

    ``theory`` is a function ``mu -> rate (Hz)`` (e.g. :func:`tutorial_lib.spiking.lif_rate`),
    drawn on ``mu_fine`` (default: 400 points over the range of ``mu``).
    """
    ax = _axes(ax, figsize=(4.2, 3.2))
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
    _shade_periods(ax, params)
    ax.plot(trial.t, trial.total_input[:, i], color=COLORS["total_input"], lw=1.2, label=r"input $\mu + u_i$")
    if target:
        ax.plot(trial.t, _window_only(trial.t, trial.target[:, i], params), color=COLORS["target"],
                lw=1.2, ls="--", label=r"target $f_i$")
    ax.set_ylabel(f"neuron {i}")


def _legend_on_top(ax, ncol=2):
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.45 * (hi - lo))  # headroom for the legend
    ax.legend(loc="upper right", ncol=ncol)


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
    _legend_on_top(axes[0])
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
        _shade_periods(ad, params)
        ad.plot(trial.t, trial.total_input[:, i], color=COLORS["total_input"], lw=1.2, label=r"input $\mu + u_i$")
        if target:
            ad.plot(trial.t, _window_only(trial.t, trial.target[:, i], params), color=COLORS["target"],
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
    _legend_on_top(axes[0])
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


# ---------------------------------------------------------------------------
# Part 3: the balanced network trained on ALM recordings
#
# Inputs are in units of the threshold, as in Part 2; rates in Hz, times in ms.
# Colours: excitatory red, inhibitory blue; lick-right purple, lick-left green.

__all__ += [
    "plot_balance_inputs",
    "plot_rate_distribution",
    "plot_transfer_check",
    "plot_alm_targets",
    "plot_rate_matching",
    "plot_trained_inputs",
    "plot_pca",
]

COLORS.update({
    "exc": "tab:red",
    "inh": "tab:blue",
    "net": "k",
    "right": "tab:purple",
    "left": "tab:green",
    "trained": "k",
})

#: Line style of each condition where colour already codes something else.
CONDITION_STYLE = {"right": "-", "left": "--"}
#: How the conditions are named in legends.
CONDITION_LABEL = {"right": "lick right", "left": "lick left"}
#: y label of an input in the balanced network
INPUT_LABEL = "input (units of threshold)"


def plot_balance_inputs(static_run, neuron=None, fig=None, t_range=(1000.0, 1300.0)):
    """The balance of a static run: one neuron's input terms over time, and the population means.

    Left: for one recorded E neuron (default the first), the external input plus
    the excitatory synaptic current (``mu + x_E``, red), the inhibitory current
    (``x_I``, blue) and their sum (black) over ``t_range`` (ms). Right: the
    time-averaged terms ``mu``, ``x_E``, ``x_I`` and their sum, averaged over the
    recorded E and I neurons (:meth:`~tutorial_lib.balanced.StaticRun.mean_inputs`).
    Returns the figure.
    """
    if fig is None:
        fig = plt.figure(figsize=(9.0, 3.0))
    ax_t, ax_b = fig.subplots(1, 2, width_ratios=[1.7, 1.0])
    run = static_run.run
    rec = np.asarray(static_run.recorded)
    ne = static_run.params.Ne
    col = 0 if neuron is None else int(np.flatnonzero(rec == neuron)[0])
    i = rec[col]
    keep = (run.t >= t_range[0]) & (run.t <= t_range[1])
    t = run.t[keep]
    exc = static_run.mu[col] + run.currents[keep, 0, col]
    inh = run.currents[keep, 1, col]
    ax_t.plot(t, exc, color=COLORS["exc"], lw=1.0, label=r"external + excitatory $\mu + x^E$")
    ax_t.plot(t, inh, color=COLORS["inh"], lw=1.0, label=r"inhibitory $x^I$")
    ax_t.plot(t, exc + inh, color=COLORS["net"], lw=1.2, label="sum")
    ax_t.axhline(0.0, color="0.75", lw=0.6)
    ax_t.axhline(1.0, color=COLORS["threshold"], ls=":", lw=0.8)
    ax_t.set_xlim(*t_range)
    ax_t.set_xlabel("time (ms)")
    ax_t.set_ylabel(INPUT_LABEL)
    ax_t.set_title(f"{'E' if i < ne else 'I'} neuron {i}", loc="left", fontsize=9)
    lo, hi = ax_t.get_ylim()
    ax_t.set_ylim(lo, hi + 0.35 * (hi - lo))
    ax_t.legend(loc="upper right", ncol=3, fontsize=7)

    terms = [("mu", r"$\mu$", "0.6"), ("exc", r"$x^E$", COLORS["exc"]), ("inh", r"$x^I$", COLORS["inh"]),
             ("net", "sum", COLORS["net"])]
    width = 0.2
    for j, pop in enumerate(("E", "I")):
        m = static_run.mean_inputs(pop)
        for q, (key, label, color) in enumerate(terms):
            ax_b.bar(j + (q - 1.5) * width, m[key], width, color=color, label=label if j == 0 else None)
    ax_b.axhline(0.0, color="0.3", lw=0.6)
    ax_b.set_xticks([0, 1], ["E neurons", "I neurons"])
    ax_b.set_ylabel(f"mean {INPUT_LABEL}")
    ax_b.set_title("time-averaged input terms", fontsize=9)
    lo, hi = ax_b.get_ylim()
    ax_b.set_ylim(lo, hi + 0.4 * (hi - lo))  # headroom for the legend
    ax_b.legend(loc="upper center", ncol=4, fontsize=7, handlelength=1.0, columnspacing=0.8)
    return fig


def plot_rate_distribution(rates_e, rates_i, prediction=None, ax=None, bins=40):
    """Histograms of the E and I firing rates (Hz), their means (solid) and the balance prediction (dotted).

    ``prediction`` is ``[r_E, r_I]`` (Hz), e.g. :func:`tutorial_lib.balanced.balance_rates`.
    """
    ax = _axes(ax, figsize=(4.8, 3.2))
    rates_e, rates_i = np.asarray(rates_e, float), np.asarray(rates_i, float)
    hi = max(float(np.percentile(np.concatenate([rates_e, rates_i]), 99.5)), 1.0)
    edges = np.linspace(0.0, hi, bins + 1)
    for r, key, name in ((rates_e, "exc", "E"), (rates_i, "inh", "I")):
        ax.hist(r, bins=edges, histtype="stepfilled", alpha=0.35, color=COLORS[key], density=True)
        ax.hist(r, bins=edges, histtype="step", color=COLORS[key], density=True)
        ax.axvline(r.mean(), color=COLORS[key], lw=1.5, label=f"{name}: mean {r.mean():.1f} Hz")
    if prediction is not None:
        for value, key, name in zip(prediction, ("exc", "inh"), ("E", "I")):
            ax.axvline(value, color=COLORS[key], lw=1.5, ls=":", label=f"{name}: balance eq. {value:.1f} Hz")
    ax.set_xlim(0.0, hi)
    ax.set_xlabel("firing rate (Hz)")
    ax.set_ylabel("fraction of neurons per Hz")
    ax.legend(loc="upper right")
    return ax


def plot_transfer_check(rates, utarg=None, sigma=None, fig=None, max_points=4000, seed=0, label="ALM"):
    """The LIF transfer function against the ALM targets, and (with ``utarg``) how well it reproduces them.

    Left: ``siegert_rate(mu, sigma)`` (Hz) with the pairs (target input, rate) of the
    data (``rates`` and ``utarg`` arrays of equal shape; at most ``max_points``
    drawn at random). Without ``utarg`` the points are ``(siegert_inverse(rate), rate)``.
    Right (only with ``utarg``): histogram of ``siegert_inverse(rates, sigma) - utarg``.
    ``label`` names the data in the legend (``ALMData.label``: "ALM" or "synthetic").
    Returns the figure.
    """
    from .engine.siegert import ALM_SIGMA, siegert_inverse, siegert_rate

    sigma = ALM_SIGMA if sigma is None else sigma
    rates = np.asarray(rates, float).ravel()
    u_model = siegert_inverse(rates, sigma)
    u_data = u_model if utarg is None else np.asarray(utarg, float).ravel()
    if fig is None:
        fig = plt.figure(figsize=(9.0 if utarg is not None else 4.6, 3.2))
    axes = np.atleast_1d(fig.subplots(1, 2 if utarg is not None else 1))
    ax = axes[0]
    pick = np.random.default_rng(seed).permutation(rates.size)[:max_points]
    lo, hi = float(u_data.min()) - 0.1, float(u_data.max()) + 0.1
    mu = np.linspace(lo, hi, 300)
    ax.plot(u_data[pick], rates[pick], ".", ms=2, color="0.55", alpha=0.5,
            label=f"{label}: (utarg, rate)" if utarg is not None else "(siegert_inverse(rate), rate)")
    ax.plot(mu, siegert_rate(mu, sigma), color=COLORS["r"], lw=1.5, label=rf"$f(\mu)$, $\sigma$ = {sigma:g}")
    ax.axvline(1.0, color=COLORS["threshold"], ls=":", lw=0.8)
    ax.set_xlabel(r"mean input $\mu$ (units of threshold)")
    ax.set_ylabel("firing rate (Hz)")
    ax.legend(loc="upper left")
    ax.set_title("LIF transfer function", fontsize=9)
    if utarg is not None:
        d = u_model - u_data
        ax = axes[1]
        ax.hist(d * 1e3, bins=60, color="0.5")
        ax.set_xlabel(r"siegert_inverse(rate) $-$ utarg ($10^{-3}$ threshold units)")
        ax.set_ylabel("number of samples")
        ax.set_title(f"max |difference| {np.abs(d).max():.1e}, mean {np.abs(d).mean():.1e}", fontsize=9)
    return fig


def plot_alm_targets(t, rates, inputs, neurons, fig=None, names=None, label="ALM"):
    """Recorded rates (top row, Hz) and target inputs (bottom row, threshold units) of some ALM neurons.

    ``rates`` and ``inputs`` are dicts ``{"right": (time, neurons), "left": ...}``;
    ``t`` their sample times (ms); ``neurons`` the columns to show, one column of
    panels each; ``names`` optional titles (default ``"<label> neuron <i>"``, with
    ``label`` the data's ``ALMData.label``: "ALM" or "synthetic"). Returns the figure.
    """
    neurons = list(neurons)
    n = len(neurons)
    if fig is None:
        fig = plt.figure(figsize=(min(2.4 * n + 0.8, 10.0), 4.2))
    axes = fig.subplots(2, n, sharex=True, squeeze=False)
    for j, i in enumerate(neurons):
        for c in ("right", "left"):
            kw = dict(color=COLORS[c], lw=1.4, label=CONDITION_LABEL[c])
            axes[0, j].plot(t, rates[c][:, i], **kw)
            axes[1, j].plot(t, inputs[c][:, i], **kw)
        axes[0, j].set_title(names[j] if names is not None else f"{label} neuron {i}", fontsize=9)
        axes[1, j].set_xlabel("time (ms)")
    axes[0, 0].set_ylabel("rate (Hz)")
    axes[1, 0].set_ylabel("target input\n(units of threshold)")
    axes[0, 0].legend(loc="upper left", fontsize=7)
    axes[0, 0].set_xlim(t[0], t[-1])
    return fig


def plot_rate_matching(target_rates, matched_rates, model_rates=None, ax=None, label="ALM"):
    """Each trained ALM neuron's mean rate against the static rate of the E neuron it was matched to (Hz).

    ``model_rates`` (all E neurons' rates) adds their distribution as a grey
    histogram along the y axis. ``label`` names the data on the x axis
    (``ALMData.label``: "ALM" or "synthetic").
    """
    ax = _axes(ax, figsize=(4.0, 3.4))
    x, y = np.asarray(target_rates, float), np.asarray(matched_rates, float)
    hi = 1.05 * max(float(x.max()), float(y.max()))
    if model_rates is not None:
        counts, edges = np.histogram(model_rates, bins=np.linspace(0, hi, 30))
        ax.barh(edges[:-1], counts / counts.max() * 0.25 * hi, height=np.diff(edges), align="edge",
                color="0.88", label="all E neurons (histogram)")
    ax.plot([0, hi], [0, hi], color="0.6", lw=0.8, ls="--", label="equal rates")
    ax.plot(x, y, "o", ms=3, color=COLORS["exc"], label="matched pairs")
    ax.set_xlim(0, hi)
    ax.set_ylim(0, hi)
    ax.set_xlabel(f"{label} neuron: mean rate (Hz)")
    ax.set_ylabel("model E neuron: static rate (Hz)")
    ax.legend(loc="upper left")
    return ax


def plot_trained_inputs(tests, neurons, fig=None, names=None, single_trial=True):
    """Trained neurons' inputs over their targets, one panel per neuron, both conditions.

    ``tests`` is ``{"right": TestResult, "left": TestResult}`` (or one
    condition) from :func:`tutorial_lib.balanced.evaluate`; ``neurons`` are
    columns of the trained neurons (0 .. R-1). Solid: the input averaged over
    the test trials (and over +-50 ms); thin: the first trial; dashed: the target.
    Returns the figure.
    """
    neurons = list(neurons)
    n = len(neurons)
    if fig is None:
        fig = plt.figure(figsize=(7.5, 1.3 * n + 0.9))
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    for ax, k, j in zip(axes, neurons, range(n)):
        for c, test in tests.items():
            color = COLORS.get(c, "C0")
            name = CONDITION_LABEL.get(c, c)
            if single_trial:
                ax.plot(test.bin_t, test.binned[0, :, k], color=color, lw=0.6, alpha=0.5)
            ax.plot(test.bin_t, test.mean_input[:, k], color=color, lw=1.5,
                    label=f"{name}: input ({test.n_trials}-trial mean)")
            ax.plot(test.bin_t, test.target[:, k], color=color, lw=1.2, ls="--", label=f"{name}: target")
        ax.set_ylabel(names[j] if names is not None else f"trained {k}", fontsize=8)
    fig.supylabel(INPUT_LABEL, fontsize=9)
    _legend_on_top(axes[0], ncol=2)
    axes[-1].set_xlabel("time (ms)")
    first = next(iter(tests.values()))
    axes[-1].set_xlim(first.bin_t[0], first.bin_t[-1])
    return fig


def plot_pca(t, scores, n_components=3, fig=None, explained=None, window=None, normalise=True):
    """Leading principal components' time courses of several populations, overlaid per component.

    ``scores`` is ``{population: {condition: (time, >= n_components) array}}``
    (projections of each population's PSTHs on its own components); ``t`` the
    times (ms). One panel per component; colour codes the population (the
    first drawn black, then ``COLORS`` of "exc"/"inh" for names containing
    "E"/"I"), line style the condition. With ``normalise`` each population's
    component is divided by its standard deviation over both conditions, so
    populations of different sizes share an axis. ``explained`` ``{population:
    fractions}`` adds the variance fractions to the legend; ``window = (t0, t1)``
    shades the interval the components were fitted on. Returns the figure.
    """
    pops = list(scores)
    if fig is None:
        fig = plt.figure(figsize=(3.0 * n_components + 0.6, 3.1))
    axes = fig.subplots(1, n_components, sharex=True, squeeze=False)[0]
    colors = {}
    for q, name in enumerate(pops):
        colors[name] = COLORS["trained"] if q == 0 else (COLORS["inh"] if " I" in f" {name}" else COLORS["exc"])
    for m, ax in enumerate(axes):
        if window is not None:
            ax.axvspan(*window, color=COLORS["window"], lw=0, zorder=0)
        for name in pops:
            conds = scores[name]
            scale = 1.0
            if normalise:
                scale = float(np.std(np.concatenate([conds[c][:, m] for c in conds]))) or 1.0
            for c, x in conds.items():
                label = None
                if c == next(iter(conds)):
                    label = name
                    if explained is not None:
                        label += f" ({100 * explained[name][m]:.0f} %)"
                ax.plot(t, x[:, m] / scale, color=colors[name], ls=CONDITION_STYLE.get(c, "-"), lw=1.3,
                        label=label)
        ax.set_title(f"PC {m + 1}", fontsize=9)
        ax.set_xlabel("time (ms)")
        ax.set_xlim(t[0], t[-1])
        ax.legend(loc="upper left", fontsize=7)
    axes[0].set_ylabel("projection (normalised)" if normalise else "projection (Hz)")
    conds = list(next(iter(scores.values())))
    if len(conds) > 1:
        fig.suptitle("solid: " + CONDITION_LABEL.get(conds[0], conds[0]) + ", dashed: "
                     + CONDITION_LABEL.get(conds[1], conds[1]), fontsize=9)
    return fig
