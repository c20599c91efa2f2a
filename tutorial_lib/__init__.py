"""Helper library for the RLS / FORCE training tutorial (rate and spiking networks).

Layers, each importing only from the ones below it (pyproject.toml's import contracts;
tests/test_architecture.py runs them):

- faces: :mod:`~tutorial_lib.cli`, :mod:`~tutorial_lib.sweep`, :mod:`~tutorial_lib.dashboard`,
  :mod:`~tutorial_lib.lecture`, :mod:`~tutorial_lib.plotting` (what a user touches)
- :mod:`~tutorial_lib.parts`: the registry of parts (name -> parameters, model, dashboard, page)
- models: :mod:`~tutorial_lib.rate` (Part 1), :mod:`~tutorial_lib.spiking_net` (Part 2),
  :mod:`~tutorial_lib.balanced` (Parts 3-4), :mod:`~tutorial_lib.training` (what they share)
- inputs: :mod:`~tutorial_lib.params`, :mod:`~tutorial_lib.data` (ALM), :mod:`~tutorial_lib.nwb`,
  :mod:`~tutorial_lib.storage`, :mod:`~tutorial_lib.stats`, :mod:`~tutorial_lib.analysis`
- :mod:`~tutorial_lib.engine`: compiled kernels and fast RLS forms, each equal to a core twin
- :mod:`~tutorial_lib.core`: the tutorial's equations as short plain NumPy / SciPy functions
  (rate and LIF steps, RLS and ridge regression, balance, Siegert, fixed points, statistics, PCA)
- base: :mod:`~tutorial_lib.checks`, :mod:`~tutorial_lib.errors`, :mod:`~tutorial_lib.interrupts`
"""

from .params import BalancedParams, RateParams, SpikingParams
from .errors import DivergenceError

__version__ = "0.1.0"
__all__ = ["RateParams", "SpikingParams", "BalancedParams", "DivergenceError", "__version__"]
