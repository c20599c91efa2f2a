"""The ``rls-tutorial`` console script's entry point: signals are handled from its first line.

Why a package of its own: importing anything inside :mod:`tutorial_lib` first runs
``tutorial_lib/__init__.py``, which imports NumPy and the training code (about 0.2 s). A Ctrl-C
in that time met Python's default handler: a KeyboardInterrupt traceback from inside NumPy's
import (sometimes turned into NumPy's "bad install" ImportError), exit code 1 or -2; a SIGTERM
killed the process silently (-15). This module imports only the standard library, so
:func:`main` installs its handlers before any of that runs.

Until the command line (:func:`tutorial_lib.cli.main`) installs its own handlers, nothing has
been written, so a signal ends the process at once: one line on stderr and exit code 130
(SIGINT) or 143 (SIGTERM), the codes of the rest of the command. Only the interpreter's own
start (before this module's first line, a few tens of milliseconds) is out of reach: no code of
a package runs then.
"""

# Imported inside main(), on purpose: tutorial_lib.cli (and with it NumPy and the package), after the
# handlers are installed.

import os
import signal
import sys


def _starting(signum, frame):  # noqa: ARG001 - a signal handler's signature
    try:
        name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
        os.write(2, f"rls-tutorial: interrupted ({name}) while starting\n".encode())
    finally:
        os._exit(128 + signum)


def install() -> None:
    """Handlers for SIGINT and SIGTERM that end the process at once (exit 130 / 143, one line)."""
    signal.signal(signal.SIGINT, _starting)
    signal.signal(signal.SIGTERM, _starting)


def main() -> int:
    """``rls-tutorial ...``: the handlers first, then the imports and the command line."""
    install()
    from tutorial_lib.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":  # pragma: no cover - python -m tutorial_lib_entry
    sys.exit(main())
