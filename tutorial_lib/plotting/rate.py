"""Part 1's figures: the rate network's connectivity, weights, eigenvalues, activity and training.

Rates, inputs and targets of the rate model are in arbitrary units (a.u.); times are in ms.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .common import COLORS, axes_or_new, shade_periods

__all__ = ["plot_connectivity", "plot_weights_hist", "plot_eigenvalues", "plot_activation", "plot_targets",
           "plot_stimulus", "plot_activity", "plot_mean_rate", "plot_weight_change", "plot_scores",
           "plot_training_summary"]


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
    ax = axes_or_new(ax, figsize=(3.4, 3.2))
    mask = _connection_mask(W_or_presyn, N)
    ax.imshow(mask, cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
    K = mask.sum(axis=1).mean()
    ax.set_title(title if title is not None else f"{K:.0f} inputs per neuron")
    ax.set_xlabel("presynaptic neuron j")
    ax.set_ylabel("postsynaptic neuron i")
    return ax


def plot_weights_hist(W, sigma=None, ax=None, bins=40):
    """Histogram of the existing weights (``W_ij != 0``), with the Normal(0, sigma^2) density if given."""
    ax = axes_or_new(ax, figsize=(3.6, 3.0))
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
    ax = axes_or_new(ax, figsize=(3.6, 3.4))
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
    ax = axes_or_new(ax, figsize=(3.4, 3.0))
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
    ax = axes_or_new(ax)
    shade_periods(ax, params)
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
    ax = axes_or_new(ax)
    t = np.arange(0.0, p.t_end, p.dt) if t is None else np.asarray(t)
    on = (t >= p.stim_on) & (t < p.stim_off)
    neurons = range(min(p.N, 5)) if neurons is None else neurons
    shade_periods(ax, p, stimulus=False)
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
        shade_periods(ax, params)
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
    ax = axes_or_new(ax)
    shade_periods(ax, params)
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
    ax = axes_or_new(ax, figsize=(4.2, 3.4))
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
    ax = axes_or_new(ax, figsize=(4.0, 3.0))
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
