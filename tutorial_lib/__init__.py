"""Helper library for the RLS / FORCE training tutorial (rate and spiking networks).

Modules, one per topic:

- :mod:`tutorial_lib.params`   parameters (frozen dataclasses, validated in one place)
- :mod:`tutorial_lib.rls`      recursive least squares for a batch of neurons
- :mod:`tutorial_lib.training` the loop driver and the score shared by all parts
- :mod:`tutorial_lib.rate`     Part 1: the rate RNN
- :mod:`tutorial_lib.spiking`  the leaky integrate-and-fire engine (parts 2 and 3)
- :mod:`tutorial_lib.spiking_net` Part 2: a generic spiking network trained with RLS
- :mod:`tutorial_lib.balanced` Part 3: a balanced E-I network trained on ALM recordings
- :mod:`tutorial_lib.storage`  versioned, atomically written files (a trained network)
- :mod:`tutorial_lib.transfer` the noisy-LIF transfer function and its inverse
- :mod:`tutorial_lib.data`     the ALM recordings (download, verify, load) or a synthetic stand-in
- :mod:`tutorial_lib.plotting` figures used by the notebooks
- :mod:`tutorial_lib.dashboard` interactive training dashboards (ipywidgets)
"""

from .params import BalancedParams, RateParams, SpikingParams
from .errors import DivergenceError

__version__ = "0.1.0"
__all__ = ["RateParams", "SpikingParams", "BalancedParams", "DivergenceError", "__version__"]
