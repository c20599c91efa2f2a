"""What the exercise checks share: compare an answer with its reference and say where they differ."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["ExerciseError", "check_close", "correct", "run_student"]


class ExerciseError(AssertionError):
    """A student's answer differs from the reference; the message says where and by how much.

    ``what`` (the quantity checked) and ``where`` (the place, e.g. "t = 120 ms, neuron 3", or "" when
    the whole answer is wrong, as for a shape) are kept as data.
    """

    def __init__(self, message: str, what: str = "", where: str = ""):
        super().__init__(message)
        self.what, self.where = what, where


def run_student(function: Callable, *args, what: str = "your function", **kwargs):
    """Call the student's ``function``; an unfinished stub or a crash becomes an :class:`ExerciseError`."""
    if not callable(function):
        raise ExerciseError(f"{what} should be a function (got {type(function).__name__})", what)
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise ExerciseError(f"not written yet ({what}): replace the `...` and the "
                            "`raise NotImplementedError` line with your code", what) from None
    except ExerciseError:
        raise
    except Exception as exc:
        raise ExerciseError(f"{what} stopped with {type(exc).__name__}: {exc}", what) from exc


def _place(index: tuple, where: Sequence | None) -> str:
    """Words for an array index, from ``where``: one (name, coordinates or None, unit) per axis."""
    if where is None:
        return "index " + ", ".join(str(i) for i in index) if index else ""
    parts = []
    for i, (name, coords, unit) in zip(index, where):
        value = i if coords is None else coords[i]
        number = f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)
        parts.append(f"{name} = {number}{' ' + unit if unit else ''}")
    return ", ".join(parts)


def _number(x) -> str:
    return f"{x:.4g}"


def check_close(yours, reference, *, what: str, where: Sequence | None = None, unit: str = "",
                rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Raise :class:`ExerciseError` unless ``yours`` equals ``reference`` within ``rtol``/``atol``.

    ``what``: the quantity, as the message names it ("your rate"). ``where``: one (axis name,
    coordinates or None, unit) per axis of ``reference``, to name the place of the largest difference
    ("t = 120 ms, neuron = 3"). ``unit``: the unit of the values. The message names, in this order, a
    wrong type or shape, a NaN or infinity, or the largest difference.
    """
    ref = np.asarray(reference, dtype=float)
    try:
        got = np.asarray(yours, dtype=float)
    except (TypeError, ValueError):
        raise ExerciseError(f"{what} should be numbers (got {type(yours).__name__})", what) from None
    if got.shape != ref.shape:
        raise ExerciseError(f"{what} has shape {got.shape}; it should have shape {ref.shape}", what)
    # a NaN or infinity must sit exactly where the reference has the same (an undefined value, such
    # as the Fano factor of a silent neuron, is NaN in both); elsewhere the values are compared
    same = (got == ref) | (np.isnan(got) & np.isnan(ref))
    bad = ~same & ~(np.isfinite(got) & np.isfinite(ref))
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        place = _place(index, where)
        why = (" (undefined there: the answer should be NaN)" if np.isnan(ref[index])
               else " (a number is defined there)" if np.isfinite(ref[index]) else "")
        raise ExerciseError(f"{what} at {place or 'its first element'} is {_number(got[index])}; "
                            f"the reference is {_number(ref[index])}{why}", what, place)
    both = np.isfinite(got) & np.isfinite(ref)
    with np.errstate(invalid="ignore"):  # inf - inf where both are the same infinity: not compared
        diff = np.where(both, np.abs(got - ref), 0.0)
    off = np.where(both, diff - (atol + rtol * np.abs(np.where(both, ref, 0.0))), 0.0)
    if ref.size and off.max() > 0:
        index = np.unravel_index(int(np.argmax(diff)), ref.shape)
        index = tuple(int(i) for i in index)
        place = _place(index, where)
        u = f" {unit}" if unit else ""
        at = f" at {place}" if place else ""
        n_off = int((off > 0).sum())
        raise ExerciseError(
            f"{what}{at} is {_number(got[index])}{u}; the reference is {_number(ref[index])}{u} "
            f"(off by {_number(abs(got[index] - ref[index]))}{u}; {n_off} of {ref.size} values differ)",
            what, place)


def correct(message: str) -> None:
    """Print the one line of a passed check."""
    print(f"Correct: {message}")
