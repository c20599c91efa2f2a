"""``rls-tutorial part5``: the files hold what tutorial_lib.attractors computes, bad flags are refused by name
before any training, nothing is overwritten without --force, and Ctrl-C / SIGTERM leave valid files."""

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tutorial_lib import attractors, balanced
from tutorial_lib.cli import main
from tutorial_lib.cli.part5 import COLUMNS, FILES, READOUT_MS, check_grid, default_grid
from tutorial_lib.data import synthetic_alm
from tutorial_lib.params import BalancedParams

ROOT = Path(__file__).resolve().parents[1]
# a tiny Part 3 (400 neurons, 20 trained, 1.4 s trials: the delay from 400 ms to the read-out at 1300 ms)
FLAGS = ["--N", "400", "--K", "40", "--L", "5", "--n-trained", "20", "--n-ffwd", "20", "--stim-on", "300",
         "--stim-off", "400", "--train-duration", "1000", "--score-every", "0", "--n-test-trials", "1",
         "--n-loops", "2", "--report-every", "0"]
TINY = BalancedParams(N=400, K=40, L=5, n_trained=20, n_ffwd=20, stim_on=300.0, stim_off=400.0,
                      train_duration=1000.0, score_every=0, n_test_trials=1, n_loops=2)
READOUT = ["--n-train", "3", "--n-test", "2"]
GRID = ["--starts", "500,900", "--durations", "200", "--times", "600", "--amplitudes", "0,100",
        "--kick-times", "1000", "--kick-duration", "100"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny network trained on the synthetic stand-in and saved as ``rls-tutorial part3 --out`` saves it."""
    path = tmp_path_factory.mktemp("net") / "net.npz"
    result = balanced.train(balanced.build_network(TINY, synthetic_alm(), progress=False), progress=False)
    balanced.save(result, path, include_rls=False)
    return path


def read_trials(folder):
    with open(folder / FILES["trials"], newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == COLUMNS
    return rows[1:]


def read_summary(folder):
    return json.loads((folder / FILES["summary"]).read_text())


def expected_rows(result, network="trained", experiments=("photoinhibition", "distractor", "kick")):
    """The rows of the same experiments called directly, and their Outcomes."""
    readout = attractors.fit_choice(result, 3, 2, readout_ms=READOUT_MS)
    calls = {"photoinhibition": lambda: attractors.photoinhibition(result, readout, [500.0, 900.0], [200.0], 1.0),
             "distractor": lambda: attractors.distractors(result, readout, [600.0], 1.0),
             "kick": lambda: attractors.kicks(result, readout, [0.0, 100.0], [1000.0], 100.0)}
    rows, outs = [], {}
    for exp in experiments:
        out = outs[exp] = calls[exp]()
        for i in range(len(out)):
            rows.append([exp, network, out.condition[i], str(out.trial[i]), repr(float(out.start[i])),
                         repr(float(out.duration[i])), repr(float(out.strength[i])), str(out.baseline[i]),
                         str(out.choice[i]), str(int(out.switched[i])), repr(float(out.end[i]))])
    return rows, outs, readout


# ---------------------------------------------------------------------------
# The files hold what tutorial_lib.attractors computes


def test_the_files_of_a_saved_network_are_the_experiments_called_directly(saved, tmp_path, capsys):
    out = tmp_path / "p5"
    assert main(["part5", "--from", str(saved), *READOUT, *GRID, "--jobs", "2", "--out", str(out)]) == 0
    rows, outs, readout = expected_rows(balanced.load(saved))
    assert read_trials(out) == rows
    doc = read_summary(out)
    assert doc["complete"] and not doc["stopped"] and doc["n_trials"] == len(rows)
    net = doc["networks"]["trained"]
    assert net["readout"]["accuracy"] == readout.accuracy
    for exp, o in outs.items():
        got = net["experiments"][exp]
        s = o.summary()
        assert [r["switched"] for r in got["settings"]] == s["switched"].tolist()
        assert [r["low"] for r in got["settings"]] == s["low"].tolist()
        assert [r["n"] for r in got["settings"]] == s["n"].tolist()
    th = outs["kick"].thresholds()
    assert [r["start"] for r in net["experiments"]["kick"]["thresholds"]] == th["start"].tolist()
    assert doc["params"]["values"]["N"] == 400 and doc["versions"]["tutorial_lib"]
    assert doc["grid"]["kick"] == {"amplitudes": [0.0, 100.0], "times": [1000.0], "duration": 100.0}
    assert not list(out.glob(".*.tmp")) and not (out / FILES["trained"]).exists()  # loaded: nothing to save


def test_it_trains_as_part3_does_and_saves_the_network(tmp_path):
    out = tmp_path / "p5"
    argv = ["part5", "--synthetic", *FLAGS, *READOUT, *GRID, "--experiment", "kick", "--out", str(out)]
    assert main(argv) == 0
    direct = balanced.train(balanced.build_network(TINY, synthetic_alm(), progress=False), progress=False)
    mine = balanced.load(out / FILES["trained"])
    np.testing.assert_array_equal(mine.network.w, direct.network.w)  # the same training, bit for bit
    assert read_trials(out) == expected_rows(direct, experiments=("kick",))[0]
    assert list(read_summary(out)["networks"]["trained"]["experiments"]) == ["kick"]


def test_zero_strength_switches_nothing(saved, tmp_path):
    out = tmp_path / "p5"
    assert main(["part5", "--from", str(saved), *READOUT, *GRID, "--strength", "0", "--distractor-strength", "0",
                 "--amplitudes", "0", "--out", str(out)]) == 0
    rows = read_trials(out)
    assert len(rows) == 4 * (2 + 1 + 1)  # 4 held-out trials x settings
    assert all(r[COLUMNS.index("choice")] == r[COLUMNS.index("baseline")] for r in rows)
    assert {r[COLUMNS.index("switched")] for r in rows} == {"0"}
    for doc in read_summary(out)["networks"]["trained"]["experiments"].values():
        assert all(s["switched"] == 0.0 for s in doc["settings"])


def test_the_control_is_trained_and_perturbed_the_same_way(saved, tmp_path):
    out = tmp_path / "p5"
    assert main(["part5", "--from", str(saved), *READOUT, *GRID, "--experiment", "distractor", "--control",
                 "--out", str(out)]) == 0
    control = balanced.load(out / FILES["control"])
    direct = balanced.train(attractors.without_condition_ffwd(balanced.load(saved)), n_loops=TINY.n_loops,
                            progress=False)
    np.testing.assert_array_equal(control.network.w, direct.network.w)
    rows = read_trials(out)
    want = expected_rows(direct, "control", ("distractor",))[0]
    assert [r for r in rows if r[1] == "control"] == want
    assert set(read_summary(out)["networks"]) == {"trained", "control"}


def test_default_grids_lie_in_the_delay_of_every_preset():
    for p in (TINY, BalancedParams(), BalancedParams.lecture(), BalancedParams.lecture(train_duration=300.0)):
        g = default_grid(p)
        check_grid(refuse, g, p)
        assert g.starts[0] == g.times[0] == g.kick_times[0] == p.stim_off and g.amplitudes[0] == 0.0
        assert max(g.kick_times) + g.kick_duration <= p.t_end - READOUT_MS


# ---------------------------------------------------------------------------
# Bad flags: one line naming the flag and its range, before any training


@pytest.fixture
def no_training(monkeypatch):
    def trained(*a, **kw):
        raise AssertionError("training started")

    monkeypatch.setattr(balanced, "build_network", trained)
    monkeypatch.setattr(balanced, "train", trained)


BAD = [
    (["--starts", "100"], "--starts must be in [400, 1299.9]"),
    (["--starts", "500.05"], "--starts must be on the dt = 0.1 ms grid"),
    (["--starts", "1000,1200", "--durations", "200"], "--starts + --durations must end by the read-out window at 1300"),
    (["--durations", "0"], "--durations must be in [0.1,"),
    (["--times", "1250"], "--times must be in [400, 1200]"),
    (["--times", "x,1"], "--times must be numbers separated by commas"),
    (["--amplitudes", "-1"], "--amplitudes must be in [0, 1000]"),
    (["--amplitudes", "5,5"], "--amplitudes holds a value twice"),
    (["--kick-times", "1290"], "--kick-times must be in [400, 1250]"),
    (["--kick-duration", "2000"], "--kick-duration must be in [0.1, 900]"),
    (["--strength", "nan"], "--strength must be in [0, 100]"),
    (["--distractor-strength", "11"], "--distractor-strength must be in [0, 10]"),
    (["--n-test", "0"], "--n-test must be in [1, 500]"),
    (["--n-train", "501"], "--n-train must be in [1, 500]"),
    (["--jobs", "0"], "--jobs must be in [1, 256]"),
    (["--experiment", "kicks"], "--experiment must be 'all' or names of photoinhibition, distractor, kick"),
    (["--control", "--no-ffwd"], "--control needs feed-forward inputs"),
    (["--N", "400", "--K", "300"], "K (excitatory inputs per neuron) must be in [1, 199]"),
]


@pytest.mark.parametrize("extra, words", BAD, ids=[" ".join(a)[:30] for a, _ in BAD])
def test_a_bad_flag_is_refused_by_name_before_training(tmp_path, capsys, no_training, extra, words):
    t0 = time.perf_counter()
    with pytest.raises(SystemExit) as info:
        main(["part5", "--synthetic", *FLAGS, *extra, "--out", str(tmp_path / "p5")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert time.perf_counter() - t0 < 5.0  # no training happened (it is stubbed out, too)
    assert not list((tmp_path / "p5").glob("*")) if (tmp_path / "p5").exists() else True


@pytest.mark.parametrize("extra, words", [
    (["--times", "1250"], "--times must be in [400, 1200]"),
    (["--N", "1000"], "--from uses the saved network's own parameters and data: leave out --N"),
    (["--synthetic"], "leave out --synthetic"),
])
def test_bad_flags_with_a_saved_network_use_its_delay(saved, tmp_path, capsys, no_training, extra, words):
    with pytest.raises(SystemExit) as info:
        main(["part5", "--from", str(saved), *extra, "--out", str(tmp_path / "p5")])
    assert info.value.code == 2 and words in capsys.readouterr().err


@pytest.mark.parametrize("call, flag, bad, good", [
    (lambda r, ro, x: attractors.photoinhibition(r, ro, [x], [100.0], stop=DONE), "--starts", 399.9, 400.0),
    (lambda r, ro, x: attractors.photoinhibition(r, ro, [1000.0], [x], stop=DONE), "--durations", 300.1, 300.0),
    (lambda r, ro, x: attractors.distractors(r, ro, [x], stop=DONE), "--times", 1200.1, 1200.0),
    (lambda r, ro, x: attractors.kicks(r, ro, [0.0], [x], 50.0, stop=DONE), "--kick-times", 1250.1, 1250.0),
    (lambda r, ro, x: attractors.kicks(r, ro, [x], [1000.0], 50.0, stop=DONE), "--amplitudes",
     attractors.MAX_STRENGTH["kick"] + 0.1, attractors.MAX_STRENGTH["kick"]),
    # the strengths' maxima are attractors.MAX_STRENGTH, written again in the command line's checks
    (lambda r, ro, x: attractors.photoinhibition(r, ro, [1000.0], [100.0], x, stop=DONE), "--strength",
     attractors.MAX_STRENGTH["photoinhibition"] + 0.1, attractors.MAX_STRENGTH["photoinhibition"]),
    (lambda r, ro, x: attractors.distractors(r, ro, [600.0], x, stop=DONE), "--distractor-strength",
     attractors.MAX_STRENGTH["distractor"] + 0.1, attractors.MAX_STRENGTH["distractor"]),
], ids=["starts", "durations", "times", "kick-times", "amplitudes", "strength", "distractor-strength"])
def test_the_checks_refuse_what_the_experiments_refuse(saved, tmp_path, capsys, call, flag, bad, good):
    """At the edge of each range: the command line refuses a value exactly when the library does."""
    result = balanced.load(saved)
    readout = attractors.fit_choice(result, 1, 1, readout_ms=READOUT_MS)
    with pytest.raises(ValueError):
        call(result, readout, bad)
    call(result, readout, good)  # accepted (no trial runs: stop is set)
    fixed = ["--starts", "1000"] if flag == "--durations" else ["--durations", "100"]
    with pytest.raises(SystemExit) as info:
        main(["part5", "--from", str(saved), *fixed, flag, f"{bad:g}", "--out", str(tmp_path / "p5")])
    assert info.value.code == 2 and flag in capsys.readouterr().err
    for value, ok in ((bad, False), (good, True)):  # the command line's check alone
        g = default_grid(result.params)
        g.starts, g.durations = ([1000.0], [100.0]) if flag == "--durations" else (g.starts, [100.0])
        name = flag[2:].replace("-", "_")
        setattr(g, name, value if name.endswith("strength") else [value])
        try:
            check_grid(refuse, g, result.params)
        except AssertionError as exc:
            assert not ok and flag in str(exc)
        else:
            assert ok


def refuse(message):
    """check_grid's ``error``: raises AssertionError."""
    raise AssertionError(message)


DONE = threading.Event()
DONE.set()


# ---------------------------------------------------------------------------
# Files: nothing overwritten, a corrupt input refused


def test_an_existing_output_is_not_overwritten_without_force(saved, tmp_path, capsys):
    out = tmp_path / "p5"
    out.mkdir()
    (out / FILES["summary"]).write_text("earlier")
    argv = ["part5", "--from", str(saved), *READOUT, *GRID, "--experiment", "distractor", "--out", str(out)]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2 and "--force" in capsys.readouterr().err
    assert (out / FILES["summary"]).read_text() == "earlier" and not (out / FILES["trials"]).exists()
    assert main(argv + ["--force"]) == 0
    assert read_summary(out)["complete"]


def test_one_kick_amplitude_says_there_is_no_threshold(saved, tmp_path, capsys):
    """One amplitude has no a50 to fit: the report said 'a50 none [none, none] (not bounded by the amplitudes
    tried)', as if a fit had run off the range; the summary holds None (JSON null)."""
    out = tmp_path / "p5"
    argv = ["part5", "--from", str(saved), *READOUT, "--experiment", "kick", "--amplitudes", "50",
            "--kick-times", "800,1000", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "kick at 800 ms: no a50 (it needs trials at two amplitudes or more)" in text
    assert "kick at 1000 ms: no a50" in text and "none" not in text
    th = read_summary(out)["networks"]["trained"]["experiments"]["kick"]["thresholds"]
    assert [t["a50"] for t in th] == [None, None] and not any(t["bounded"] for t in th)


def test_a_corrupt_or_missing_network_file_is_one_line_and_nothing_is_written(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a network")
    for path in (bad, tmp_path / "missing.npz"):
        out = tmp_path / f"p5-{path.stem}"
        assert main(["part5", "--from", str(path), "--out", str(out)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("rls-tutorial: error: cannot load --from") and len(err.strip().splitlines()) == 1
        assert list(out.iterdir()) == []


# ---------------------------------------------------------------------------
# Ctrl-C and SIGTERM during the experiments


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_the_experiments_writes_the_trials_done(saved, tmp_path, signum):
    out = tmp_path / "p5"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
    proc = subprocess.Popen([sys.executable, "-m", "tutorial_lib", "part5", "--from", str(saved), "--n-train", "2",
                             "--n-test", "20", "--experiment", "kick", "--amplitudes", "0,10,20,50,100", "--jobs",
                             "1", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    for line in proc.stdout:
        if line.startswith(b"trained: read-out accuracy"):  # the experiments start now
            break
    time.sleep(1.0)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == (130 if signum == signal.SIGINT else 143), err.decode()
    assert "Traceback" not in err.decode()
    doc = read_summary(out)
    rows = read_trials(out)
    assert doc["stopped"] and not doc["complete"] and doc["n_trials"] == len(rows)
    assert 0 < len(rows) < 2 * 20 * 5 * 3
    assert doc["networks"]["trained"]["experiments"]["kick"]["stopped"]
    assert not list(out.glob(".*.tmp"))


HOSTILE = ["", " ", "nan", "inf", "-inf", "1e400", "x" * 10_000, ",", "1,,2", "٣", "--"]


@pytest.mark.parametrize("value", HOSTILE, ids=[repr(v)[:10] for v in HOSTILE])
@pytest.mark.parametrize("flag", ["--starts", "--durations", "--times", "--amplitudes", "--kick-times", "--strength",
                                  "--distractor-strength", "--kick-duration", "--n-test", "--jobs", "--out",
                                  "--from", "--experiment"])
def test_hostile_values_are_one_named_line(tmp_path, capsys, monkeypatch, no_training, flag, value):
    """Accepted (the training stub is reached) or refused in one line naming the flag (exit 2)."""
    monkeypatch.chdir(tmp_path)  # "--out nan" makes a folder here
    out = [] if flag == "--out" else ["--out", str(tmp_path / "p5")]
    try:
        main(["part5", "--synthetic", *FLAGS, f"{flag}={value}", *out])
    except AssertionError as exc:
        assert str(exc) == "training started" and flag != "--from"  # e.g. --n-test=\u0663 is 3
        return
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert flag in lines[0] or (flag == "--from" and "leave out" in lines[0]), lines[0]
    assert len(lines[0]) < 600


# ---------------------------------------------------------------------------
# The sweep: Part 5's columns per run


def test_a_sweep_with_part5_adds_the_columns_of_each_trained_network(tmp_path):
    import pandas as pd

    from tutorial_lib.sweep.part5 import part5_columns

    table = tmp_path / "t.csv"
    sweep_flags = ["sweep", "part3", "--synthetic", *FLAGS[:-2],  # all but --report-every
                   "--out", str(table)]
    assert main(sweep_flags) == 0
    first = pd.read_csv(table)
    assert len(first) == 1 and not [c for c in first.columns if c.startswith("p5_")]
    assert main(sweep_flags + ["--part5"]) == 0  # not skipped: Part 5's options are part of the run's id
    rows = pd.read_csv(table)
    assert len(rows) == 2 and set(rows.status) == {"ok"}
    row = rows[rows["p5_accuracy"].notna()].iloc[0]
    direct = balanced.train(balanced.build_network(TINY, synthetic_alm(), progress=False), progress=False)
    want = part5_columns(direct, {"n_train": 10, "n_test": 10})
    g = default_grid(TINY)
    assert {f"p5_kick_a50_{t:g}" for t in g.kick_times} <= set(want)
    assert {f"p5_distractor_switched_{t:g}" for t in g.times} <= set(want)
    for name, value in want.items():
        assert row[name] == pytest.approx(value, rel=1e-12, nan_ok=True), name


@pytest.mark.parametrize("part, base, part5, words", [
    ("part1", {}, True, "part5 runs on Part 3's trained network"),
    ("part3", {}, {"n_test": 0}, "part5 n_test"),
    ("part3", {}, {"n_tests": 3}, "part5 must be True or a dict"),
    ("part3", {"train_duration": 150.0}, True, "part5: the default grid does not fit this run's delay"),
])
def test_a_sweep_refuses_part5_options_by_name_before_any_run(no_training, part, base, part5, words):
    from tutorial_lib.sweep import sweep

    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        sweep(part, base=dict(base, n_loops=1), data="synthetic" if part == "part3" else None, part5=part5,
              progress=False, warm=False)
