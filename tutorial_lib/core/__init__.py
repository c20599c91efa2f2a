"""The teaching core: the tutorial's equations as short plain NumPy / SciPy functions.

No numba, no threads, no files; imports nothing above :mod:`tutorial_lib.checks` and
:mod:`tutorial_lib.errors`. One module per topic (e.g. ``core.rate``, ``core.siegert``,
``core.balance``, ``core.fixed_points``); import them by name.
"""
