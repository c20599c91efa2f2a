"""Checks for the notebooks' coding exercises: each says what is wrong, not only that something is.

A notebook's exercise cell ends with a call such as ``check_euler_step(my_euler_step)``. The check runs
the student's function on small inputs, compares it with the plain function of :mod:`tutorial_lib.core`
that it should reproduce, and either prints one line starting "Correct" or raises
:class:`ExerciseError` whose message names the first place where the answer differs and by how much
("your rate at t = 120 ms, neuron 3 is 0.71; the reference is 0.41 (off by 0.3)").

One module per part (``part1`` ...) holds that part's checks; :mod:`.compare` holds what they share.
"""

from .compare import ExerciseError, check_close, correct, run_student

__all__ = ["ExerciseError", "check_close", "correct", "run_student"]
