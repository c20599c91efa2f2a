"""Helper library for the RLS / FORCE training tutorial (rate and spiking networks).

Modules, one per topic:

- :mod:`tutorial_lib.params`   parameters (frozen dataclasses, validated in one place)
- :mod:`tutorial_lib.rls`      recursive least squares for a batch of neurons
- :mod:`tutorial_lib.training` the loop driver and the score shared by all parts
- :mod:`tutorial_lib.rate`     Part 1: the rate RNN
- :mod:`tutorial_lib.plotting` figures used by the notebooks
- :mod:`tutorial_lib.dashboard` interactive training dashboards (ipywidgets)
"""

from .params import RateParams
from .training import DivergenceError

__version__ = "0.1.0"
__all__ = ["RateParams", "DivergenceError", "__version__"]
