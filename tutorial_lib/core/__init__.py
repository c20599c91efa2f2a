"""The teaching core: the equations of the tutorial as short plain NumPy / SciPy functions (no numba, no
threads, no files). It imports nothing from the package but the base modules."""
