"""Holding SIGINT and SIGTERM back while a few arrays (or a file) must change together.

An RLS update changes ``w`` and ``P`` on several threads. Ctrl-C (or the
notebook's interrupt) raises KeyboardInterrupt in the main thread wherever it
is, also while it waits for the worker threads, which then go on writing: the
weights and ``P`` end out of step and change after training has returned.

:func:`held` marks such a critical section. A signal that arrives inside it
(in the main thread; Python runs signal handlers only there) is recorded, and
its handler (the one installed when the section was entered, e.g. the default
that raises KeyboardInterrupt, or the command line's) runs when the section
ends: the update is all-or-nothing with respect to interruption.

Installing a handler costs a few microseconds, too much for every update, so
:func:`guard` installs one for a whole training run; inside it, :func:`held`
costs well under a microsecond. Without a guard, :func:`held` installs one for
its own duration. Off the main thread both do nothing (no signal handler can
raise there). Handlers that are not Python functions (``SIG_DFL`` for SIGTERM
kills the process at once, ``SIG_IGN``) are left alone.

One more place must not see a KeyboardInterrupt: Python code that C calls
back, such as llvmlite's object cache while numba loads or compiles a
function. There an exception is printed ("Exception ignored ...") and lost,
and the interrupt with it. :func:`swallowed` tells a handler so; the signal is
then sent again a moment later, when the callback has returned.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

__all__ = ["guard", "held", "swallowed"]

# Python functions that C calls back (an exception raised in them is printed and lost)
_CALLBACK_FILES = (os.path.join("llvmlite", "binding", "executionengine.py"),)
_RESEND_AFTER = 0.02  # seconds

_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))

_wrapped: dict = {}   # signal number -> the handler our handler stands in for
_held: list = []      # (signum, frame) of signals that arrived inside a critical section
_depth = 0            # nesting depth of critical sections (main thread)
_guards = 0           # nesting depth of guard()


def swallowed(signum, frame) -> bool:
    """Whether an exception raised at ``frame`` would be lost (a callback from C is running).

    If so, ``signum`` is raised again after a few milliseconds (from a helper
    thread), and the handler should return without raising.
    """
    f = frame
    while f is not None:
        if f.f_code.co_filename.endswith(_CALLBACK_FILES):
            timer = threading.Timer(_RESEND_AFTER, signal.raise_signal, (signum,))
            timer.daemon = True
            timer.start()
            return True
        f = f.f_back
    return False


def _handler(signum, frame):
    if _depth > 0:
        _held.append((signum, frame))
        return
    if swallowed(signum, frame):
        return
    h = _wrapped.get(signum)
    if callable(h):
        h(signum, frame)
    elif signum == getattr(signal, "SIGINT", None):  # uninstalled meanwhile: Python's default
        raise KeyboardInterrupt


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _install() -> None:
    for s in _SIGNALS:
        h = signal.getsignal(s)
        if callable(h) and h is not _handler:
            _wrapped[s] = h
            signal.signal(s, _handler)


def _uninstall() -> None:
    for s in list(_wrapped):
        if signal.getsignal(s) is _handler:
            signal.signal(s, _wrapped[s])
        del _wrapped[s]


class guard:
    """Context manager: for its duration, signals can be held back cheaply by :func:`held` (main thread)."""

    __slots__ = ("_on",)

    def __enter__(self):
        global _guards
        self._on = _on_main_thread()
        if self._on:
            if _guards == 0:
                _install()
            _guards += 1
        return self

    def __exit__(self, *exc):
        global _guards
        if self._on:
            _guards -= 1
            if _guards == 0 and _depth == 0:
                _uninstall()
        return False


class held:
    """Context manager: a critical section; SIGINT / SIGTERM arriving inside it take effect at its end.

    With a handler that raises (KeyboardInterrupt), the exception comes out of
    the ``with`` statement after its body has run to completion. Sections nest.
    """

    __slots__ = ("_on", "_own")

    def __enter__(self):
        global _depth
        self._on = _on_main_thread()
        if self._on:
            if _depth == 0:
                _held.clear()  # left over from a signal that raised while an earlier section ended
            self._own = _guards == 0 and _depth == 0
            # Our handler first, then the depth: a signal in between meets our handler at depth 0,
            # which passes it on (KeyboardInterrupt) before this section counts as entered. The other
            # order left the depth raised for good if the old handler raised in between (every later
            # Ctrl-C was then held back forever).
            if self._own:
                _install()
            _depth += 1
        return self

    def __exit__(self, *exc):
        global _depth
        if not self._on:
            return False
        originals = dict(_wrapped)
        try:
            if self._own:
                _uninstall()
        finally:
            _depth -= 1
        if _depth == 0 and _held:
            try:
                while _held:  # in order; the first handler that raises ends it, the rest are dropped
                    signum, _ = _held.pop(0)
                    h = originals.get(signum, signal.getsignal(signum))
                    if callable(h):
                        h(signum, sys._getframe())
            finally:
                _held.clear()
        return False
