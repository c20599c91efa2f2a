"""Small plotting functions shared by the notebooks and ``figures/make_figures.py``.

Every function draws one kind of figure, labels its axes with units, takes an
optional ``ax`` (single-panel plots) or ``fig`` (multi-panel plots: a Figure or
a SubFigure) to draw into, and returns what it drew on: the axes for
single-panel plots, the figure for multi-panel ones. Only matplotlib is used.

Rates, inputs and targets of the rate model are in arbitrary units (a.u.);
times are in ms.

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
                label=rf"$\mathcal{{N}}(0, \sigma^2)$" + "\n" + rf"$\sigma$ = {sigma:g}")
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
    "plot_rate_vs_input",
    "plot_drive",
    "plot_spiking_neurons",
    "plot_spiking_summary",
]

COLORS.update({
    "v": "0.25",        # membrane potential
    "spike": "C3",      # spikes drawn on a voltage trace
    "drive": "C0",      # total input mu + u (the trained quantity of Part 2)
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
    ax.plot(t, x, color=COLORS["drive"] if color is None else color, lw=1.2, label=label)
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


def _draw_drive(ax, trial, i, params=None, target=True):
    """Total input of neuron ``i`` (solid) and its target in the training window (dashed) on ``ax``."""
    _shade_periods(ax, params)
    ax.plot(trial.t, trial.drive[:, i], color=COLORS["drive"], lw=1.2, label=r"input $\mu + u_i$")
    if target:
        ax.plot(trial.t, _window_only(trial.t, trial.target[:, i], params), color=COLORS["target"],
                lw=1.2, ls="--", label=r"target $f_i$")
    ax.set_ylabel(f"neuron {i}")


def _legend_on_top(ax, ncol=2):
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.45 * (hi - lo))  # headroom for the legend
    ax.legend(loc="upper right", ncol=ncol)


def plot_drive(trial, neurons, fig=None, params=None, target=True, title=None):
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
        _draw_drive(ax, trial, i, params, target)
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
    ``t``, ``v``, ``drive``, ``target``, ``spike_times``, ``spike_neurons``;
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
        ad.plot(trial.t, trial.drive[:, i], color=COLORS["drive"], lw=1.2, label=r"input $\mu + u_i$")
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
        _draw_drive(ax, trial, i, params)
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
