"""One registry of parts, one interruption module, one Part 3 training driver.

The command line, the sweep and lecture mode read their parts from :mod:`tutorial_lib.parts`
(no ``if part == "part3"`` left in them); :mod:`tutorial_lib.interrupts` holds every signal
mechanism; :func:`tutorial_lib.balanced.train` saves checkpoints through a callback, and a
checkpoint taken inside one long training equals the result of a training that stopped there.
"""

import ast
import re
import signal
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import tutorial_lib
from tutorial_lib import balanced, dashboard, interrupts, parts
from tutorial_lib.cli import build_parser
from tutorial_lib.cli_args import one_line
from tutorial_lib.data import synthetic_alm
from tutorial_lib.lecture import PAGES
from tutorial_lib.params import BalancedParams

PACKAGE = Path(tutorial_lib.__file__).parent
FACES = ["cli/__init__.py", "cli_args.py", "cli/part3.py", "sweep/__init__.py", "sweep/settings.py", "sweep/runs.py",
         "sweep/table.py", "sweep/backends.py", "lecture.py", "parts.py"]


# ---------------------------------------------------------------------------
# The registry


@pytest.mark.parametrize("name", list(parts.PARTS))
def test_every_part_names_what_exists(name):
    part = parts.PARTS[name]
    assert part.name == name and name == f"part{part.number}"
    assert callable(getattr(dashboard, part.dashboard))
    model = part.model()
    assert callable(model.train) and model.__name__ == part.module
    assert part.params().__class__ is part.params  # defaults are valid parameters


def test_the_command_line_sweep_and_lecture_pages_follow_the_registry():
    ap, subs = build_parser()
    assert list(subs) == list(parts.CLI_PARTS)
    sweep_parts = ap._subparsers._group_actions[0].choices["sweep"]._subparsers._group_actions[0].choices
    assert list(sweep_parts) == list(parts.CLI_PARTS)
    assert [(p.name, p.title, p.dashboard, p.synthetic_title) for p in PAGES] == \
        [(p.page, p.title, p.dashboard, p.synthetic_title) for p in parts.PARTS.values()]
    for name, part in parts.CLI_PARTS.items():  # only a part that trains on recordings has --data
        assert ("--data" in subs[name]._option_string_actions) == part.recordings


@pytest.mark.parametrize("name", FACES)
def test_no_face_branches_on_a_part_name(name):
    text = (PACKAGE / name).read_text()
    assert not re.search(r"""part\w*\s*[!=]=\s*["']part\d""", text), name
    assert not re.search(r"""["']part\d["']\s*[!=]=""", text), name


@pytest.mark.parametrize("name", FACES + ["interrupts.py", "training.py", "balanced/training.py",
                                          "balanced/saving.py", "balanced/results.py", "dashboard/base.py",
                                          "dashboard/perturb.py", "dashboard/perturbation.py", "dashboard/rate.py",
                                          "dashboard/spiking.py", "dashboard/balanced.py"])
def test_no_private_name_is_imported_from_another_module(name):
    allowed = set()
    tree = ast.parse((PACKAGE / name).read_text())
    private = [a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               for a in node.names if a.name.startswith("_") and a.name not in allowed and a.name != "__version__"]
    assert not private, f"{name} imports {private}"


def test_the_sweep_trains_each_part_through_the_registry(monkeypatch):
    from tutorial_lib.sweep import runs as sweep_runs

    calls = []

    class Result:
        stopped = False
        test_loops, test_scores, test_scores_avg = [2], [0.25], [0.75]

        def test(self, n_trials=1):
            return SimpleNamespace(score=0.5, score_avg=0.5)

    for name, part in parts.CLI_PARTS.items():
        monkeypatch.setattr(part.model(), "train", lambda p, **kw: calls.append((p, kw)) or Result())
    for name, part in parts.CLI_PARTS.items():
        calls.clear()
        columns = sweep_runs.train_and_test(name, part.params(), "DATA", [])
        (p, kw), = calls
        assert isinstance(p, part.params) and ("data" in kw) == part.recordings
        assert columns["test_score"] == 0.5
        if part.recordings:
            assert columns["test_score_loop_2"] == 0.25 and columns["test_score_avg_loop_2"] == 0.75


# ---------------------------------------------------------------------------
# One interruption module


def test_one_line_names_the_class_when_the_message_is_empty():
    assert one_line(ValueError()) == "ValueError"
    assert one_line(ValueError("a\n  b")) == "a b"


def test_exit_codes_and_names():
    assert interrupts.exit_code(signal.SIGTERM) == 143 and interrupts.exit_code(signal.SIGINT) == 130
    assert interrupts.exit_code(None) == 130
    assert interrupts.signal_name(143) == "SIGTERM" and interrupts.signal_name(130) == "SIGINT"


def test_sigint_blocked_runs_before_then_blocks_and_delivers_after():
    if not hasattr(signal, "pthread_sigmask"):
        pytest.skip("no pthread_sigmask here")
    seen, order = [], []
    old = signal.signal(signal.SIGINT, lambda s, f: seen.append(s))
    try:
        with interrupts.sigint_blocked(lambda: order.append("before")):
            order.append("inside")
            assert signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set())
            signal.raise_signal(signal.SIGINT)
            assert seen == []  # held back while blocked
        assert seen == [signal.SIGINT] and order == ["before", "inside"]
        assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())
    finally:
        signal.signal(signal.SIGINT, old)


def test_loop_signals_stop_first_then_abandon_and_say_so():
    command = interrupts.CommandSignals()
    intr = interrupts.LoopSignals(command)
    with intr:
        intr.armed = True
        signal.raise_signal(signal.SIGINT)  # first Ctrl-C: stop after the loop
        assert intr.stop.is_set() and not intr.abandon and not intr.raised
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)  # second: abandon, raised while armed
        assert intr.abandon and intr.raised and not intr.armed
    assert intr.exit_code == 130 and command.signum == signal.SIGINT


def test_loop_signals_outside_training_only_set_the_flags():
    intr = interrupts.LoopSignals(interrupts.CommandSignals())
    with intr:
        signal.raise_signal(signal.SIGTERM)  # not armed (a file being written): no exception
        assert intr.stop.is_set() and intr.abandon and not intr.raised
    assert intr.exit_code == 143


def test_loop_signals_do_nothing_off_the_main_thread():
    intr = interrupts.LoopSignals(interrupts.CommandSignals())
    before = signal.getsignal(signal.SIGINT)
    t = threading.Thread(target=lambda: intr.__enter__() and intr.__exit__(None, None, None))
    t.start()
    t.join()
    assert signal.getsignal(signal.SIGINT) is before


# ---------------------------------------------------------------------------
# One Part 3 training driver

TINY = BalancedParams(N=300, K=30, L=5, n_trained=20, n_ffwd=10, stim_on=100.0, stim_off=200.0,
                      train_duration=400.0, n_loops=3, score_every=1, n_test_trials=1)


@pytest.fixture(scope="module")
def tiny_net():
    return balanced.build_network(TINY, synthetic_alm(n_neurons=60, seed=1), progress=False)


def _same(a, b):
    np.testing.assert_array_equal(a.network.w, b.network.w)
    for name in ("scores", "test_loops", "test_scores", "test_scores_avg"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    sa, sb = a.rls.state(), b.rls.state()
    assert sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k])


def test_a_checkpoint_inside_one_training_equals_a_training_that_stopped_there(tiny_net, tmp_path):
    saved = []

    def checkpoint(res):
        assert not res.stopped and not res.partial and res.network.w is not None
        saved.append(balanced.save(res, tmp_path / f"ck{res.n_loops}.npz"))

    full = balanced.train(tiny_net, n_loops=3, progress=False, checkpoint=checkpoint, checkpoint_every=2)
    assert [p.name for p in saved] == ["ck2.npz"]
    two = balanced.train(tiny_net, n_loops=2, progress=False)
    _same(balanced.load(saved[0]), two)
    # resumed from the checkpoint: the same as the training without one
    _same(balanced.train(balanced.load(saved[0]), n_loops=1, progress=False), full)


def test_checkpoints_count_loops_over_a_continued_training(tiny_net):
    first = balanced.train(tiny_net, n_loops=1, progress=False)
    seen = []
    balanced.train(first, n_loops=3, progress=False, checkpoint=lambda r: seen.append(r.n_loops),
                   checkpoint_every=2)
    assert seen == [2, 4]


def test_bad_checkpoint_arguments_are_refused_by_name(tiny_net):
    with pytest.raises(TypeError, match="checkpoint must be callable"):
        balanced.train(tiny_net, n_loops=1, checkpoint=3, checkpoint_every=1)
    with pytest.raises((TypeError, ValueError), match="checkpoint_every"):
        balanced.train(tiny_net, n_loops=1, checkpoint=print, checkpoint_every=0)
