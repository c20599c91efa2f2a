"""Windows and macOS: the POSIX-only parts of the library say so and step aside (issue #25 item 10).

Windows cannot be run here, so each path a Windows (or any non-POSIX) system takes is forced by
monkeypatching what the code looks at: a ``signal`` module without SIGTERM (or without
``pthread_sigmask``), ``os.name`` other than ``"posix"``, no ``os.getloadavg``. Where a module reads
the platform at import, it is imported in a fresh interpreter with the attribute removed first.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

from benchmarks import machine
from tutorial_lib import interrupts, storage

ROOT = Path(__file__).resolve().parents[1]

# A system without SIGTERM: the package imports, the handlers cover SIGINT alone, and Ctrl-C keeps
# its meaning everywhere (a command's KeyboardInterrupt and exit code 130, a loop's stop then
# abandon, a critical section's deferral).
WITHOUT_SIGTERM = textwrap.dedent("""
    import signal, time
    del signal.SIGTERM
    from tutorial_lib import interrupts as i
    import tutorial_lib  # the package (the notebooks' import); not the sweep: the standard library's
    # multiprocessing needs SIGTERM itself, as every real system has it (Windows too, never delivered)

    def ctrl_c():
        signal.raise_signal(signal.SIGINT)
        time.sleep(0.05)  # the handler runs at the next bytecode of the main thread

    assert i.EXIT_SIGINT == 130 and i.EXIT_SIGTERM == 143
    assert i.exit_code(signal.SIGINT) == 130 and i.exit_code(None) == 130 and i.signal_name(130) == "SIGINT"

    command = i.CommandSignals()
    with command:
        assert signal.getsignal(signal.SIGINT) == command._handle
        try:
            ctrl_c()
            raise AssertionError("Ctrl-C did not interrupt the command")
        except KeyboardInterrupt:
            pass
    assert command.exit_code == 130 and signal.getsignal(signal.SIGINT) is signal.default_int_handler

    loop = i.LoopSignals(i.CommandSignals())
    with loop:
        loop.armed = True
        ctrl_c()
        assert loop.stop.is_set() and not loop.abandon, "the first Ctrl-C stops after the loop"
        try:
            ctrl_c()
            raise AssertionError("the second Ctrl-C did not abandon the loop")
        except KeyboardInterrupt:
            assert loop.abandon and loop.raised and loop.exit_code == 130

    finished = False
    try:
        with i.guard(), i.held():
            ctrl_c()
            finished = True
        raise AssertionError("the Ctrl-C held back in the section was lost")
    except KeyboardInterrupt:
        assert finished, "the section was interrupted in its middle"
    print("ok")
""")


def test_without_sigterm_the_library_imports_and_ctrl_c_keeps_its_meaning():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", WITHOUT_SIGTERM], cwd=ROOT, env=env, capture_output=True,
                          check=False, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.splitlines()[-1:] == ["ok"], done.stdout + done.stderr
    assert "Ctrl-C: stopping after the current loop" in done.stdout  # the first Ctrl-C said so


def test_sigint_is_not_blocked_where_there_is_no_pthread_sigmask(monkeypatch):
    """Windows has no ``pthread_sigmask``: the workers' start is not shielded, nothing fails."""
    monkeypatch.delattr(signal, "pthread_sigmask")
    calls = []
    with interrupts.sigint_blocked(before=lambda: calls.append("before")):
        calls.append("body")
    assert calls == ["body"]  # the helper processes start when first needed instead


class _WindowsOs(types.ModuleType):
    """``os`` as a module on Windows would see it: ``name == "nt"``, and ``kill`` must not be called
    (``os.kill(pid, 0)`` sends CTRL_C_EVENT there). Set on the module under test only, so pathlib and
    everything else keep the real ``os``."""

    name = "nt"

    def __init__(self):
        super().__init__("os")

    def __getattr__(self, attr):
        return getattr(os, attr)

    @staticmethod
    def kill(*args):
        raise AssertionError(f"os.kill{args} called on Windows")


def test_off_posix_a_writers_process_id_is_not_probed_and_its_temporary_file_ages_out(tmp_path, monkeypatch):
    """A write killed outright leaves ``.<name>.<pid>-<random>.tmp``. On POSIX the next write removes
    it as soon as that process is gone; on Windows it is not probed (the writer counts as alive) and
    the file is removed once it is older than ``storage.STALE_AFTER``."""
    dead = 2**22 + 12345  # above Linux's pid_max: no such process
    fresh, old = (tmp_path / f".net.npz.{dead}-{tag}.tmp" for tag in ("aaaa", "bbbb"))
    for f in (fresh, old):
        f.write_bytes(b"half a file")
    then = time.time() - storage.STALE_AFTER - 60
    os.utime(old, (then, then))

    monkeypatch.setattr(storage, "os", _WindowsOs())
    assert storage._pid_alive(dead) is True
    assert storage._remove_stale_temporaries(tmp_path, "net.npz") == [old]
    assert fresh.exists() and not old.exists()
    monkeypatch.undo()
    if os.name == "posix":  # and on POSIX the dead writer's file goes at once
        assert storage._pid_alive(dead) is False
        assert storage._remove_stale_temporaries(tmp_path, "net.npz") == [fresh]


def test_the_benchmarks_say_the_load_is_unknown_where_there_is_no_load_average(monkeypatch):
    monkeypatch.delattr(os, "getloadavg")
    where = machine.describe()
    assert where["load_1min"] is None and where["cores"] >= 1 and where["cpu"]
    assert "load (1 min) unknown" in machine.summary(where)
    assert machine.summary(where, 1.5).endswith("load (1 min) unknown at the start, 1.5 at the end")


def test_the_machine_is_described_without_proc(monkeypatch):
    """macOS and Windows have no /proc: the CPU model comes from sysctl or ``platform``."""
    real_is_file = Path.is_file
    monkeypatch.setattr(Path, "is_file", lambda self: not str(self).startswith("/proc/") and real_is_file(self))
    where = machine.describe()
    assert isinstance(where["cpu"], str) and where["cpu"]
    assert where["memory_gib"] is None or where["memory_gib"] > 0
