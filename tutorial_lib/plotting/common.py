"""The tutorial's figure style, its palette and the helpers every plotting module shares.

:data:`STYLE` (rcParams) and :data:`COLORS` (one colour per quantity, across
the parts), :func:`use_style` / :func:`style` to apply them, and the small
drawing helpers of the single- and multi-panel plots.
"""

from __future__ import annotations

from contextlib import contextmanager

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["STYLE", "COLORS", "use_style", "style", "axes_or_new", "shade_periods", "window_only",
           "legend_on_top"]

# Sizes for a 1366 px laptop: a figure up to 8 inches wide is drawn at 880 px and shown unscaled in a
# notebook column, so its smallest text (10 pt at 110 dpi: 15 px) reads as at least 9 pt (12 px).
STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.figsize": (7.0, 3.2),
    "figure.constrained_layout.use": True,
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "image.cmap": "viridis",
    "lines.linewidth": 1.5,
}

#: Colours used consistently across the parts: recurrent input u, rate r, target f, shaded periods; Part 2's
#: voltage, spikes and total input; Part 3's populations and conditions.
COLORS = {
    "u": "C0",
    "r": "C1",
    "target": "0.2",
    "stimulus": "tab:orange",
    "window": "0.93",
    # Part 2: voltages, spikes, the total input
    "v": "0.25",        # membrane potential
    "spike": "C3",      # spikes drawn on a voltage trace
    "total_input": "C0",  # total input mu + u (the trained quantity of Part 2)
    "threshold": "0.55",
    # Part 3: excitatory red, inhibitory blue; lick-right purple, lick-left green
    "exc": "tab:red",
    "inh": "tab:blue",
    "net": "k",
    "right": "tab:purple",
    "left": "tab:green",
    "trained": "k",
}


def use_style() -> None:
    """Apply the tutorial's figure style to matplotlib globally (for notebooks)."""
    mpl.rcParams.update(STYLE)


@contextmanager
def style():
    """Apply the tutorial's figure style inside a ``with`` block only."""
    with mpl.rc_context(STYLE):
        yield


def axes_or_new(ax, figsize=None):
    """Return ``ax``, or new axes on a new figure if ``ax`` is None (every single-panel plot starts so)."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def shade_periods(ax, params, stimulus=True, window=True):
    """Shade the stimulus and the training window of a Part 1 trial."""
    if params is None:
        return
    if window:
        ax.axvspan(params.stim_off, params.t_end, color=COLORS["window"], lw=0, zorder=0)
    if stimulus:
        ax.axvspan(params.stim_on, params.stim_off, color=COLORS["stimulus"], alpha=0.3, lw=0, zorder=0)


def window_only(t, f, params):
    """``f`` with NaN before the training window (a target means nothing there)."""
    if params is None:
        return f
    f = np.array(f, dtype=float)
    f[np.asarray(t) < params.stim_off] = np.nan
    return f


def legend_on_top(ax, ncol=2):
    """A legend in ``ncol`` columns at the top right, with headroom made for it above the data."""
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.45 * (hi - lo))  # headroom for the legend
    ax.legend(loc="upper right", ncol=ncol)
