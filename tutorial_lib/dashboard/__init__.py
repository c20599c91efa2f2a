"""Interactive training dashboards: sliders, Train and Stop, a figure that updates every loop.

One call in a notebook shows a dashboard::

    from tutorial_lib.dashboard import rate_dashboard
    rate_dashboard()

How it stays portable and responsive (JupyterLab 4, Notebook 7, VS Code, Colab):

- only core ipywidgets; the live figure is drawn with matplotlib's Agg renderer
  into an ``Image`` widget, so no custom matplotlib backend is needed;
- training runs in a background thread, so the kernel keeps answering: the
  Stop button works, and a slider moved during training is simply used by the
  next run. The compiled loops release the GIL (numba ``nogil``);
- bad values and a diverging network are reported in the status line, with the
  parameter, its valid range and advice; the dashboard keeps working. A
  :class:`~tutorial_lib.training.DivergenceError` carries its cause as data; the
  part's ``advice`` function names the knobs that most plausibly caused it
  (compared with the values the dashboard started from), and the status adds
  which of them are sliders here and whether the one just moved is among them.
  The figure is then marked: faded, with "previous run" across it if it still
  shows an earlier run, "this run failed" if it shows the failed one.

:class:`TrainingDashboard` (:mod:`.base`) is the generic part; each model supplies its
controls, how to build parameters from them, how to train and how to draw: :mod:`.rate`
(Part 1), :mod:`.spiking` (Part 2), :mod:`.balanced` (Part 3), :mod:`.perturbation` (Part 4: a
current into a population of the trained network, against the balance prediction; :mod:`.perturb`
is its computation without widgets), :mod:`.attractors` (Part 5: many held-out trials perturbed in parallel,
each trial's choice-mode projection drawn as it finishes, recovered or switched). :mod:`.screen` fits a dashboard to the screen it is shown on
(its style sheet: the sliders in columns above the figure in a narrow output; the figure's smallest
text, 9 pt as shown; a log slider's decades; printed lines wrapped to a notebook column). Every
public name is importable from ``tutorial_lib.dashboard``.
"""

from __future__ import annotations

from .base import Control, LiveFigure, TrainingDashboard, field_control, readout_format
from .rate import RateLiveFigure, rate_dashboard
from .spiking import SpikingLiveFigure, spiking_dashboard
from .balanced import BalancedDashboard, BalancedLiveFigure, BalancedView, balanced_dashboard
from .perturbation import PerturbationDashboard, PerturbationFigure, perturbation_dashboard, run_perturbation
from .attractors import AttractorDashboard, AttractorFigure, attractor_dashboard

__all__ = [
    "TrainingDashboard",
    "LiveFigure",
    "RateLiveFigure",
    "rate_dashboard",
    "SpikingLiveFigure",
    "spiking_dashboard",
    "BalancedView",
    "BalancedLiveFigure",
    "BalancedDashboard",
    "balanced_dashboard",
    "PerturbationFigure",
    "PerturbationDashboard",
    "perturbation_dashboard",
    "run_perturbation",
    "AttractorFigure",
    "AttractorDashboard",
    "attractor_dashboard",
    "Control",
    "field_control",
    "readout_format",
]
