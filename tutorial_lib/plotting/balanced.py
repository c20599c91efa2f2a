"""Part 3's figures: the balanced network trained on ALM recordings.

Inputs are in units of the threshold, as in Part 2; rates in Hz, times in ms.
Colours: excitatory red, inhibitory blue; lick-right purple, lick-left green.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..core.siegert import ALM_SIGMA
from ..engine.siegert import siegert_inverse, siegert_rate
from .common import COLORS, axes_or_new, legend_on_top

__all__ = ["CONDITION_STYLE", "CONDITION_LABEL", "INPUT_LABEL", "plot_balance_inputs",
           "plot_rate_distribution", "plot_transfer_check", "plot_alm_targets", "plot_rate_matching",
           "plot_trained_inputs", "plot_pca"]

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
    ax = axes_or_new(ax, figsize=(4.8, 3.2))
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
    ax = axes_or_new(ax, figsize=(4.0, 3.4))
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
    legend_on_top(axes[0], ncol=2)
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
