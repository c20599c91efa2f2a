"""However a run stops (Ctrl-C at any moment, Stop, SIGTERM, divergence), it leaves one consistent state.

Real signals at random (seeded) moments: after the return the network's weights
are the RLS weights, no RLS worker writes any more, and the RLS state is the
state after a whole number of updates (checked by replaying the logged updates
on a fresh RLS state). The command line ends with one line and exit code
130/143, leaves no temporary file, and its files load.
"""

import contextlib
import copy
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tutorial_lib import balanced, rate, spiking_net
from tutorial_lib.engine import rls_state as rls_mod
from tutorial_lib.data import synthetic_alm
from tutorial_lib.params import BalancedParams, RateParams, SpikingParams
from tutorial_lib.engine.rls_pooled import PooledInputRLS
from tutorial_lib.engine.rls_shared import SharedInputRLS, make_rls
from tutorial_lib.engine.rls_state import BatchRLS
from tutorial_lib.errors import DivergenceError

ROOT = Path(__file__).resolve().parents[1]
# Part 3, small but with RLS updates big enough to run on 2 threads (100 x 40 x 940 multiply-adds)
P3 = BalancedParams(N=400, K=40, L=20, n_trained=100, n_ffwd=300, stim_on=300.0, stim_off=400.0,
                    train_duration=1000.0, score_every=0, n_loops=2)
# Parts 1 and 2 with sparse inputs (BatchRLS, 200 x 60 x 60 multiply-adds per update: 2 threads)
P1 = RateParams(N=200, K=60, train_duration=300.0, n_loops=6)
P2 = SpikingParams(N=200, K=60, stim_on=100.0, stim_off=200.0, train_duration=1000.0, n_loops=6)


def _snapshot(r):
    return [r.w.copy()] + [a.copy() for a in r.state().values()]


def _same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture
def logged(monkeypatch):
    """Log every RLS update (its arguments, before it runs), and the start and end of the deferred
    steps of a PooledInputRLS; returns (log, the original methods, by class)."""
    log, originals = [], {}
    for cls in (BatchRLS, SharedInputRLS, PooledInputRLS):  # each defines its own step
        originals[cls] = {"step": cls.step}

        def step(self, activity, target, other, _orig=cls.step):
            log.append(("step", activity.copy(), target.copy(), other.copy()))
            _orig(self, activity, target, other)

        monkeypatch.setattr(cls, "step", step)
    originals[PooledInputRLS].update(step_deferred=PooledInputRLS.step_deferred,
                                     deferred=PooledInputRLS.deferred)

    # the steps' look-ahead (traces, soon_steps, next_soon) is used by the run and not logged: the
    # replay takes the same steps without it, which must give the same state to the bit
    def step_deferred(self, activity, target, other, soon, u, _orig=PooledInputRLS.step_deferred, **ahead):
        log.append(("step_deferred", activity.copy(), target.copy(), other.copy(), soon.copy()))
        _orig(self, activity, target, other, soon, u, **ahead)

    @contextlib.contextmanager
    def deferred(self, shared_out=None, traces=None, _orig=PooledInputRLS.deferred):
        log.append(("enter",))
        try:
            with _orig(self, shared_out, traces):
                yield self
        finally:
            log.append(("exit",))

    monkeypatch.setattr(PooledInputRLS, "step_deferred", step_deferred)
    monkeypatch.setattr(PooledInputRLS, "deferred", deferred)
    return log, originals


def _replay(fresh, log, originals, drop_last_update: bool):
    """The state of ``fresh`` after the logged events (without the last update, if asked), with the
    original methods; a deferred context left open in the log is closed (as the run's was)."""
    methods = originals[type(fresh)]
    updates = [k for k, e in enumerate(log) if e[0] in ("step", "step_deferred")]
    skip = updates[-1] if drop_last_update and updates else -1
    ctx = None
    for k, (kind, *args) in enumerate(log):
        if k == skip:
            continue
        if kind == "step":
            methods["step"](fresh, *args)
        elif kind == "step_deferred":
            methods["step_deferred"](fresh, *args, np.zeros(fresh.n_neurons))
        elif kind == "enter":
            ctx = methods["deferred"](fresh)
            ctx.__enter__()
        elif ctx is not None:
            ctx.__exit__(None, None, None)
            ctx = None
    if ctx is not None:
        ctx.__exit__(None, None, None)
    return _snapshot(fresh)


def _interrupt_at(delay: float) -> threading.Timer:
    timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def _settle(timer) -> None:
    """Make sure the timer's signal (if it fired after training returned) is spent here."""
    timer.cancel()
    try:
        timer.join()
        time.sleep(0.02)
    except KeyboardInterrupt:
        pass


def _assert_consistent(result, net_w, fresh, log, originals):
    """The invariant after a run returned: weights equal, no writer left, a whole number of updates."""
    r = result.rls
    assert np.array_equal(net_w, r.w), "the network's weights differ from the RLS weights"
    before = _snapshot(r)
    time.sleep(0.5)
    assert _same(before, _snapshot(r)), "the RLS state changed after training returned"
    for pool in rls_mod._POOLS.values():
        assert pool._work_queue.empty()
    # replay the logged updates on a fresh state: the result is after all of them or all but the last
    states = [_replay(copy.deepcopy(fresh), log, originals, drop) for drop in (True, False)]
    assert any(_same(before, s) for s in states), "the RLS state is half-way through an update"


def _tries(seed: int, n: int, lo: float, hi: float):
    return np.random.default_rng(seed).uniform(lo, hi, size=n)


@pytest.fixture(scope="module")
def net3():
    return balanced.build_network(P3, synthetic_alm())


def test_part3_rls_updates_run_on_threads(net3):
    assert balanced.make_rls(net3).threads >= 2 or rls_mod.default_threads() == 1


def test_ctrl_c_during_part3_training_leaves_one_consistent_state(net3, logged):
    log, originals = logged
    balanced.train(net3, n_loops=1, progress=False)  # compile, and measure nothing
    outcomes = []
    for delay in _tries(3, 6, 0.02, 0.6):
        log.clear()
        timer = _interrupt_at(delay)
        result = balanced.train(net3, n_loops=2, progress=False)
        _settle(timer)
        _assert_consistent(result, result.network.w, balanced.make_rls(net3), log, originals)
        assert result.stopped or result.n_loops == 2
        assert result.partial <= result.stopped
        assert result.loop_seconds.shape == result.scores.shape  # whole loops only
        outcomes.append((result.stopped, result.partial))
    assert any(stopped for stopped, _ in outcomes)  # the signals did land inside training


def _rows_case(module, params):
    net = module.build_network(params)
    presyn = net.presyn[net.trained]

    def fresh():
        return make_rls(presyn, params.lam, w0=net.W[net.trained[:, None], presyn], rows=net.trained,
                        n_pool=params.N)

    return net, fresh


@pytest.mark.parametrize("module, params, seed", [(rate, P1, 1), (spiking_net, P2, 2)],
                         ids=["part1", "part2"])
def test_ctrl_c_during_part1_and_part2_training_leaves_one_consistent_state(module, params, seed, logged):
    log, originals = logged
    net, fresh = _rows_case(module, params)
    assert fresh().threads >= 2 or rls_mod.default_threads() == 1
    module.train(net, n_loops=1, progress=False)  # compile
    t0 = time.perf_counter()
    module.train(net, n_loops=1, progress=False)
    loop = time.perf_counter() - t0
    stopped = 0
    for delay in _tries(seed, 4, 0.01, (params.n_loops - 1) * loop):
        log.clear()
        timer = _interrupt_at(delay)
        result = module.train(net, n_loops=params.n_loops, progress=False)
        _settle(timer)
        rows = result.network.W[net.trained[:, None], result.rls.presyn]
        _assert_consistent(result, rows, fresh(), log, originals)
        stopped += result.stopped
        assert result.stopped or len(result.scores) == params.n_loops
    assert stopped


def test_dashboard_stop_and_divergence_leave_no_writer(net3, logged):
    """Stop (between loops) gives the same invariant; so does a divergence inside a loop."""
    from tutorial_lib.dashboard import spiking_dashboard

    log, originals = logged
    dash = spiking_dashboard(P2)
    dash.controls["n_loops"].widget.value = 50
    dash.train_button.click()
    time.sleep(1.0)
    dash.stop_button.click()
    assert dash.wait(timeout=60)
    res = dash.result
    assert res.stopped and not res.partial
    _, fresh = _rows_case(spiking_net, res.params)
    _assert_consistent(res, res.network.W[res.network.trained[:, None], res.rls.presyn], fresh(), log,
                       originals)
    # a network whose RLS steps blow up (a tiny regulariser) inside the first loop
    log.clear()
    with pytest.raises(DivergenceError):
        _diverge(net3)
    assert log  # it diverged while learning
    pools = list(rls_mod._POOLS.values())
    time.sleep(0.2)
    assert all(p._work_queue.empty() for p in pools)


def _diverge(net):
    from dataclasses import replace

    bad = net.copy()
    bad.params = replace(net.params, lam_rec=1e-12, lam_ff=1e-12, max_rate=30.0)
    return balanced.train(bad, n_loops=2, progress=False)


def test_an_interrupt_inside_a_callback_from_c_comes_again_after_it():
    """llvmlite calls Python back from C while numba loads code; an exception there would be lost."""
    from tutorial_lib import interrupts

    fake = os.path.join(os.sep, "site", "llvmlite", "binding", "executionengine.py")
    ns = {}
    exec(compile("import sys\nframe = sys._getframe()", fake, "exec"), ns)
    assert not interrupts.swallowed(signal.SIGINT, sys._getframe())
    assert interrupts.swallowed(signal.SIGINT, ns["frame"])  # and sends SIGINT again shortly
    with pytest.raises(KeyboardInterrupt):
        time.sleep(2.0)


# ---------------------------------------------------------------------------
# The command line, with real signals


TINY = ["--N", "400", "--K", "40", "--L", "5", "--n-trained", "20", "--n-ffwd", "20", "--stim-on", "300",
        "--stim-off", "400", "--train-duration", "1000", "--score-every", "2", "--n-test-trials", "2",
        "--report-every", "1", "--synthetic"]

# the command line, optionally with every file write held open for a while (to land signals in writes)
DRIVER = r"""
import os, sys, time
from tutorial_lib import storage
slow = float(os.environ.get("SLOW_WRITE", "0"))
if slow:
    real = storage.atomic_write
    def atomic_write(path, write):
        def slow_write(f):
            write(f)
            f.flush()
            time.sleep(slow)  # written, not yet in place
        return real(path, slow_write)
    storage.atomic_write = atomic_write
sys.argv[0] = "rls-tutorial"
from tutorial_lib.cli import main
sys.exit(main())
"""


def _start(folder, extra=(), slow=0.0):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", MPLBACKEND="Agg",
               SLOW_WRITE=str(slow))
    argv = [sys.executable, "-c", DRIVER, "part3", *TINY, "--n-loops", "3", "--checkpoint-every", "1",
            "--checkpoint", str(folder / "ck.npz"), "--out", str(folder / "out.npz"),
            "--scores-json", str(folder / "scores.json"), *extra]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=folder)


# lines of the command's output, from its start (signal handlers in place) to the final save
MARKS = (b"Using the SYNTHETIC", b"Training 20 E", b"loop    1  training", b"loop    2  test",
         b"Training done", b"final test")


def _wait_for(proc, mark=MARKS[0]):
    """Read stdout up to the line starting with ``mark`` (False if the command ended first)."""
    for line in proc.stdout:
        if line.startswith(mark):
            return True
    return False


def _messages(stderr: bytes) -> list[str]:
    """stderr without the progress bar's frames."""
    parts = stderr.decode().replace("\r", "\n").splitlines()
    return [p for p in parts if p.strip() and not re.search(r"Part \d training", p)]


def _check_folder(folder):
    assert not list(folder.glob(".*.tmp")), "a temporary file was left behind"
    for name in ("ck.npz", "out.npz"):
        if (folder / name).exists():
            balanced.load(folder / name)
    if (folder / "scores.json").exists():
        json.loads((folder / "scores.json").read_text())


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_signals_at_random_moments_end_cleanly(tmp_path, signum):
    rng = np.random.default_rng(int(signum))
    codes = []
    for k in range(5):
        folder = tmp_path / f"try{k}"
        folder.mkdir()
        slow = 0.3 if k % 2 else 0.0  # every other try: writes last long enough to be hit
        proc = _start(folder, slow=slow)
        _wait_for(proc, MARKS[k % len(MARKS)])  # spread the tries over the phases of a run
        time.sleep(rng.uniform(0.0, 0.3 + slow))
        proc.send_signal(signum)
        if signum == signal.SIGINT and k % 3 == 2:
            time.sleep(rng.uniform(0.0, 0.3))
            proc.send_signal(signum)  # Ctrl-C twice
        out, err = proc.communicate(timeout=120)
        msgs = _messages(err)
        assert "Traceback" not in err.decode(), err.decode()
        expected = 130 if signum == signal.SIGINT else 143
        assert proc.returncode in (0, expected), (proc.returncode, err.decode())
        if proc.returncode:
            assert len(msgs) == 1, msgs
        else:
            assert msgs == []
        _check_folder(folder)
        codes.append(proc.returncode)
    assert any(codes)  # most signals land while it runs


def test_cli_killed_during_a_write_leaves_a_temporary_file_that_the_next_run_removes(tmp_path):
    proc = _start(tmp_path, slow=5.0)
    _wait_for(proc)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".ck.npz.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.kill()
    proc.communicate()
    assert list(tmp_path.glob(".ck.npz.*.tmp"))
    proc = _start(tmp_path, extra=["--resume"])
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    _check_folder(tmp_path)
    assert balanced.load(tmp_path / "ck.npz").n_loops == 3


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_part1_ends_with_one_line_and_the_signals_exit_code(tmp_path, signum):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
    scores = tmp_path / "scores.json"
    proc = subprocess.Popen([sys.executable, "-m", "tutorial_lib", "part1", "--N", "100", "--n-loops", "1000",
                             "--train-duration", "200", "--report-every", "1", "--scores-json", str(scores)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    assert _wait_for(proc, b"loop    3")
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err.decode()
    assert "Traceback" not in err.decode()
    assert len(_messages(err)) == 1 and "interrupted" in _messages(err)[0]
    doc = json.loads(scores.read_text())
    assert not doc["complete"] and 3 <= doc["n_loops_done"] < 1000
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_signal_while_a_critical_section_is_entered_leaves_no_section_open(monkeypatch):
    # a Ctrl-C that the old handler turns into KeyboardInterrupt while held() installs its own: the
    # section is not entered, and no depth is left behind (which would hold back every later Ctrl-C)
    from tutorial_lib import interrupts

    real = interrupts._install

    def install_then_interrupted():
        real()
        raise KeyboardInterrupt

    monkeypatch.setattr(interrupts, "_install", install_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        with interrupts.held():
            pytest.fail("the section was entered")
    monkeypatch.undo()
    assert interrupts._depth == 0
    with pytest.raises(KeyboardInterrupt):  # and a later Ctrl-C still comes through
        signal.raise_signal(signal.SIGINT)
        time.sleep(1.0)
