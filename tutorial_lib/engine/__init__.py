"""The engine: compiled kernels and fast numerical forms, each the twin of a core function.

Every kernel has the same arguments and meaning as its :mod:`tutorial_lib.core` twin, which its
docstring names with the test that proves them equal. Imports core and the base modules only.
"""
