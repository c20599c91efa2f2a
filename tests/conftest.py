import os
import signal

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

# A run started in the background by a non-interactive shell (`cmd &`, nohup in a script, some batch
# systems) inherits SIGINT ignored, and Python then leaves it ignored: the interrupt tests, which send
# themselves SIGINT as a user's Ctrl-C, would see nothing. Give SIGINT its usual meaning here.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _no_critical_section_left_open():
    """After every test: no :func:`tutorial_lib.interrupts.held` section may be left open. One left open
    would hold back every later Ctrl-C for good (the tests of interrupts would then fail far from the
    cause); the test that left it fails here instead, and the state is reset for the next."""
    yield
    from tutorial_lib import interrupts

    depth = interrupts._depth
    if depth:
        interrupts._depth = 0
        interrupts._held.clear()
        interrupts._uninstall()
        pytest.fail(f"a critical section (tutorial_lib.interrupts.held) was left open (depth {depth})")
