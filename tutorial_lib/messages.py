"""Lines the library prints, wrapped to fit a notebook column on a 1366 px laptop (issue #25 item 7).

Every message the library prints into a notebook (a notice, a progress line, a summary) goes through
:func:`say` or :func:`wrap_line`: wrapped at spaces into lines of at most :data:`PRINT_WIDTH`
characters, never inside a number or a path.
"""

from __future__ import annotations

import textwrap

__all__ = ["PRINT_WIDTH", "say", "wrap_line"]

#: The characters of a printed line that fit a notebook column on a 1366 px laptop with the file browser open.
PRINT_WIDTH = 88


def wrap_line(text: str, width: int = PRINT_WIDTH) -> str:
    """``text`` wrapped at spaces into lines of at most ``width`` characters (a word longer than that,
    e.g. a path, stays whole on its own line); lines already short enough are kept.

    >>> print(wrap_line("loop 10: test score 0.412, trial-averaged (5 trials) 0.430", width=40))
    loop 10: test score 0.412,
    trial-averaged (5 trials) 0.430
    """
    out = []
    for line in text.splitlines() or [""]:
        indent = line[: len(line) - len(line.lstrip())]
        out += textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False,
                             subsequent_indent=indent) or [""]
    return "\n".join(out)


def say(text: str, write=print, **kwargs) -> None:
    """Print ``text`` wrapped by :func:`wrap_line` (``write``: ``print`` or e.g. ``tqdm.write``)."""
    write(wrap_line(text), **kwargs)
