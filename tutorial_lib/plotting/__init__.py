"""Small plotting functions shared by the notebooks and ``figures/make_figures.py``.

Every function draws one kind of figure, labels its axes with units, takes an
optional ``ax`` (single-panel plots) or ``fig`` (multi-panel plots: a Figure or
a SubFigure) to draw into, and returns what it drew on: the axes for
single-panel plots, the figure for multi-panel ones. Only matplotlib is used.

Rates, inputs and targets of the rate model are in arbitrary units (a.u.);
times are in ms.

The figures of all parts share one style, one palette (``COLORS``) and a few
helpers (:mod:`tutorial_lib.plotting.common`); one module per part
(:mod:`~tutorial_lib.plotting.rate`, :mod:`~tutorial_lib.plotting.spiking`,
:mod:`~tutorial_lib.plotting.balanced`). ``tutorial_lib.plotting`` is their
public face: every figure and constant is imported here by name.

Getting started::

    >>> from tutorial_lib import RateParams, rate, plotting
    >>> plotting.use_style()
    >>> net = rate.build_network(RateParams())
    >>> ax = plotting.plot_connectivity(net.W)
"""

from .balanced import (CONDITION_LABEL, CONDITION_STYLE, INPUT_LABEL, plot_alm_targets, plot_balance_inputs,
                       plot_pca, plot_rate_distribution, plot_rate_matching, plot_trained_inputs,
                       plot_transfer_check)
from .common import COLORS, STYLE, style, use_style
from .rate import (plot_activation, plot_activity, plot_connectivity, plot_eigenvalues, plot_mean_rate,
                   plot_scores, plot_stimulus, plot_targets, plot_training_summary, plot_weight_change,
                   plot_weights_hist)
from .spiking import (V_LABEL, plot_raster, plot_raster_groups, plot_rate_vs_input, plot_spiking_neurons,
                      plot_spiking_summary, plot_synaptic_input, plot_total_input, plot_voltage)

__all__ = ["STYLE", "COLORS", "use_style", "style", "plot_connectivity", "plot_weights_hist", "plot_eigenvalues", "plot_activation",
           "plot_targets", "plot_stimulus", "plot_activity", "plot_mean_rate", "plot_weight_change",
           "plot_scores", "plot_training_summary", "V_LABEL", "plot_voltage", "plot_synaptic_input",
           "plot_raster", "plot_raster_groups", "plot_rate_vs_input", "plot_total_input",
           "plot_spiking_neurons", "plot_spiking_summary", "CONDITION_STYLE", "CONDITION_LABEL", "INPUT_LABEL",
           "plot_balance_inputs", "plot_rate_distribution", "plot_transfer_check", "plot_alm_targets",
           "plot_rate_matching", "plot_trained_inputs", "plot_pca"]
