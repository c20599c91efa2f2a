"""The engine: compiled kernels and fast forms, each with the same arguments and meaning as its twin in
:mod:`tutorial_lib.core`. It imports the core and the base modules only."""
