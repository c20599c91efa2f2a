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

The command line uses the same module: :class:`CommandSignals` (:data:`COMMAND`) turns SIGINT and
SIGTERM into KeyboardInterrupt for a whole command and keeps the signal for its exit code (130 /
143); :class:`LoopSignals` lets a command that trains loop by loop stop after the current loop at
the first Ctrl-C and abandon it at the second (or at SIGTERM); :func:`sigint_blocked` keeps a
terminal's Ctrl-C away from worker processes while they start.

Windows: Python defines SIGINT and SIGTERM there, but nothing sends a process SIGTERM (``taskkill /F``
and the Task Manager end it with TerminateProcess, which no handler sees; plain ``taskkill`` asks a
console program nothing), so Ctrl-C is the signal met there: the first stops after the current loop,
the second abandons it, as on POSIX. Blocking SIGINT (:func:`sigint_blocked`) needs
``pthread_sigmask`` and is skipped where there is none: Ctrl-C then also reaches the workers, which
a sweep stops all the same. On a system without SIGTERM at all, everything here works with SIGINT
alone (``tests/test_signals_startup.py`` imports the module with SIGTERM removed).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager

__all__ = ["guard", "held", "swallowed", "CommandSignals", "COMMAND", "LoopSignals", "sigint_blocked", "exit_code",
           "signal_name", "EXIT_SIGINT", "EXIT_SIGTERM"]

# Python functions that C calls back (an exception raised in them is printed and lost)
_CALLBACK_FILES = (os.path.join("llvmlite", "binding", "executionengine.py"),)
_RESEND_AFTER = 0.02  # seconds

_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))
_SIGTERM = getattr(signal, "SIGTERM", None)  # None where the system has no SIGTERM

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


# ---------------------------------------------------------------------------
# A whole command: SIGINT / SIGTERM as KeyboardInterrupt, the exit code kept


EXIT_SIGINT = 130   # 128 + SIGINT (2), the shells' code for a command ended by Ctrl-C
EXIT_SIGTERM = 143  # 128 + SIGTERM (15); the same codes on every system, SIGTERM or not


def exit_code(signum) -> int:
    """The exit code of a command ended by ``signum``: 143 for SIGTERM, else 130 (SIGINT)."""
    return EXIT_SIGTERM if _SIGTERM is not None and signum == _SIGTERM else EXIT_SIGINT


def signal_name(code: int) -> str:
    """``"SIGTERM"`` for exit code 143, else ``"SIGINT"``."""
    return "SIGTERM" if code == EXIT_SIGTERM else "SIGINT"


class _Handlers:
    """Installs ``self._handle`` for SIGINT and SIGTERM (where there is one; main thread) and puts the old
    handlers back."""

    def _install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for s in _SIGNALS:
                self._old[s] = signal.signal(s, self._handle)

    def _restore(self, final: bool = False) -> None:
        for s, h in self._old.items():
            signal.signal(s, signal.SIG_IGN if final else h)
        self._old = {}

    @property
    def exit_code(self) -> int:
        return exit_code(self.signum)


class CommandSignals(_Handlers):
    """SIGINT and SIGTERM raise KeyboardInterrupt (in the main thread) for a whole command.

    SIGTERM's default would end the process at once, without a message and with
    a file half written; ``signum`` keeps the last signal, for the exit code.
    A command's long stage installs :class:`LoopSignals` over it.
    """

    def __init__(self):
        self.signum = None
        self.final = False  # the process ends after this: a late signal is ignored, not a traceback
        self.done = False   # the command has its exit code: a signal now changes nothing
        self._old = {}

    def __enter__(self):
        self._install()
        return self

    def __exit__(self, *exc):
        self._restore(self.final)
        return False

    def _handle(self, signum, frame):
        # nothing is imported here: a handler runs wherever the main thread is, also halfway through an
        # import, whose partly initialised modules an import in the handler would meet
        if self.done or swallowed(signum, frame):  # in a callback from C: it comes again
            return
        self.signum = signum
        raise KeyboardInterrupt


#: the command line's handlers (one per process: ``rls-tutorial`` runs one command)
COMMAND = CommandSignals()


def _write(message: str) -> None:
    """A line to stdout, through tqdm's ``write`` (above a progress bar) if tqdm is loaded; never imports."""
    tq = sys.modules.get("tqdm.auto")
    write = getattr(getattr(tq, "tqdm", None), "write", None)
    if write is not None:
        write(message)
    else:
        print(message, flush=True)


class LoopSignals(_Handlers):
    """SIGINT / SIGTERM while a command trains loop by loop (and saves).

    The first Ctrl-C sets ``stop``: training ends after the current loop (at a
    loop boundary, so the state can be saved and resumed exactly). A second
    Ctrl-C, or SIGTERM, also sets ``abandon`` and, while ``armed`` (inside
    training), raises KeyboardInterrupt: the current loop is abandoned and its
    half-trained state discarded (``raised`` says so). Outside training (e.g. while a checkpoint is
    written) the signal only sets the flags, so a file is never left half done.
    With ``eager`` (building the network, the final test: nothing to finish)
    the first Ctrl-C already abandons. Entering it again while it is active
    does nothing (it stays installed until the outermost exit). The signal is
    also noted in ``command`` (:data:`COMMAND`), for the command's exit code.
    """

    def __init__(self, command: CommandSignals = COMMAND):
        self.stop = threading.Event()
        self.abandon = False
        self.raised = False  # KeyboardInterrupt was raised (while armed): a loop in progress was abandoned
        self.signum = None
        self.armed = False
        self.eager = False
        self.command = command
        self._old = {}
        self._depth = 0

    def __enter__(self):
        self._depth += 1
        if self._depth == 1:
            self._install()
        return self

    def __exit__(self, *exc):
        self._depth -= 1
        if self._depth == 0:
            self._restore()
        return False

    def _handle(self, signum, frame):
        # Nothing is imported here (tqdm was, and asyncio with it): a handler runs wherever the main thread
        # is, also halfway through an import (subprocess while numba loads), whose partly initialised
        # modules an import in the handler met: an AttributeError and a traceback instead of exit 143.
        if self.armed and swallowed(signum, frame):  # in a callback from C: it comes again
            return
        if self.signum is None or signum == _SIGTERM:
            self.signum = signum
        self.command.signum = self.signum  # whatever comes out of the run now is the interruption
        if signum == signal.SIGINT and not self.stop.is_set() and not self.eager:
            self.stop.set()
            _write("Ctrl-C: stopping after the current loop (Ctrl-C again abandons it) ...")
            return
        self.stop.set()
        self.abandon = True
        if self.armed:
            self.armed, self.raised = False, True
            raise KeyboardInterrupt


@contextmanager
def sigint_blocked(before=None):
    """SIGINT blocked in this thread while worker processes start (and the threads that respawn them).

    A blocked signal stays blocked in a child, also after exec: Ctrl-C in a terminal, which goes to the
    whole process group, then reaches only this process, which stops the workers itself (not each
    worker with a KeyboardInterrupt traceback of its own, in the middle of its imports). A Ctrl-C in
    this window is not lost: it is delivered here when the block ends. ``before()`` runs first if the
    block applies (main thread, a system with ``pthread_sigmask``): start there the helper processes
    that must not inherit the block (a resource tracker started later would unblock SIGINT)."""
    on = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    if on and before is not None:
        before()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if on else None
    try:
        yield
    finally:
        if on:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
