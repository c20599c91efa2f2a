"""``python -m tutorial_lib``: the command line (``rls-tutorial``).

The package's ``__init__`` has run before this file (NumPy and the training code imported): a
signal in that time meets Python's defaults. The ``rls-tutorial`` script
(:mod:`tutorial_lib_entry`) handles signals from its first line.
"""

import sys

from tutorial_lib_entry import install

install()  # until the command line's own handlers: exit 130 / 143 with one line

from .cli import main  # noqa: E402 - after the handlers

sys.exit(main())
