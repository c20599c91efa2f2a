"""Sweeps: one row per run, the same rows on every backend, failures as rows, resumable, stoppable.

Tiny Part 2 networks (20-40 neurons, 0.6 s trials, 2 loops) keep the whole file well under a minute.
"""

import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tutorial_lib import SpikingParams, spiking_net
from tutorial_lib import sweep as sweep_mod
from tutorial_lib.cli import main
from tutorial_lib.sweep import load_table, plan, sweep

ROOT = Path(__file__).resolve().parents[1]
TINY = {"n_loops": 2, "stim_on": 100.0, "stim_off": 200.0, "train_duration": 400.0}
TINY_FLAGS = ["--n-loops", "2", "--stim-on", "100", "--stim-off", "200", "--train-duration", "400"]
GRID = {"N": [20, 30], "tau_s": [20.0, 200.0]}


def _results(df: pd.DataFrame) -> pd.DataFrame:
    """Everything a run computed (not its wall time), in a comparable form."""
    return df.drop(columns=["seconds"]).reset_index(drop=True)


@pytest.fixture
def count_runs(monkeypatch):
    """Count the runs made in this process (n_jobs=1 runs here)."""
    calls = []
    original = sweep_mod.run_one

    def counted(task):
        calls.append(task["params"])
        return original(task)

    monkeypatch.setattr(sweep_mod, "run_one", counted)
    return calls


@pytest.fixture(scope="module")
def cluster():
    """A real Dask cluster of 2 single-thread worker processes (the parent's numba cache is warm)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c:
        yield c


# ---------------------------------------------------------------------------
# Backends give the same rows


def test_local_processes_and_a_dask_cluster_give_the_same_table(tmp_path, cluster):
    local = sweep("part2", GRID, seeds=2, base=TINY, n_jobs=2, out=tmp_path / "local.csv", progress=False)
    remote = sweep("part2", GRID, seeds=2, base=TINY, scheduler=cluster, out=tmp_path / "dask.csv",
                   progress=False)
    assert len(local) == 8 and set(local.status) == {"ok"}
    assert list(local[["N", "tau_s", "seed"]].itertuples(index=False)) == \
        [(n, t, s) for n in (20, 30) for t in (20.0, 200.0) for s in (0, 1)]
    pd.testing.assert_frame_equal(_results(local), _results(remote))
    # the files hold the same rows, and each row is what training that setting gives
    pd.testing.assert_frame_equal(_results(load_table(tmp_path / "local.csv")),
                                  _results(load_table(tmp_path / "dask.csv")))
    row = local.iloc[5]
    res = spiking_net.train(SpikingParams(**TINY, N=int(row.N), tau_s=float(row.tau_s), seed=int(row.seed)),
                            progress=False)
    assert [row.score_loop_1, row.score_loop_2] == list(res.scores)
    assert row.test_score == res.test().score
    assert (local.seconds > 0).all() and (local.loops_done == 2).all()


def test_a_run_in_this_process_equals_the_same_run_in_a_worker(tmp_path):
    here = sweep("part2", {"N": [20, 30]}, base=TINY, progress=False)
    there = sweep("part2", {"N": [20, 30]}, base=TINY, n_jobs=2, progress=False)
    pd.testing.assert_frame_equal(_results(here), _results(there))


# ---------------------------------------------------------------------------
# A failed run is a row


def test_a_diverging_setting_is_a_row_with_its_reason_and_the_scores_before_it():
    table = sweep("part2", settings=[{"lam": 1e-9, "error_noise": 5.0}, {}, {"mu": 20.0}],
                  base={**TINY, "N": 20}, progress=False)
    assert list(table.status) == ["diverged", "ok", "diverged"]
    rls, ok, drive = table.iloc[0], table.iloc[1], table.iloc[2]
    # RLS blew up in loop 2: loop 1's score is kept, the advice says to raise lambda
    assert rls.failure == "runaway" and "ran away" in rls.reason and "training loop 2" in rls.reason
    assert "raise lambda" in rls.reason and rls.loops_done == 1
    assert math.isfinite(rls.score_loop_1) and math.isnan(rls.score_loop_2) and math.isnan(rls.test_score)
    # the untrained network ran away: no loop at all
    assert drive.failure == "runaway" and "untrained" in drive.reason and drive.loops_done == 0
    assert ok.failure is None or pd.isna(ok.failure)
    assert math.isfinite(ok.test_score)


def test_part1_diverging_in_the_test_trial_is_a_row():
    table = sweep("part1", {"sigma": [0.1, 1.0]}, base={"N": 20, "n_loops": 1, "train_duration": 50.0},
                  progress=False)
    assert list(table.status) == ["ok", "diverged"]
    bad = table.iloc[1]
    assert "test trial" in bad.reason and "lower sigma" in bad.reason and bad.loops_done == 1


# ---------------------------------------------------------------------------
# Resuming


def test_a_resumed_sweep_runs_only_what_is_missing(tmp_path, count_runs):
    out = tmp_path / "t.csv"
    base = {**TINY, "N": 20}
    first = sweep("part2", {"tau_s": [20.0, 200.0]}, seeds=2, base=base, out=out, progress=False)
    assert len(count_runs) == 4 and len(load_table(out)) == 4
    # a larger grid: only the new settings run; the table keeps the old rows as they were
    count_runs.clear()
    second = sweep("part2", {"tau_s": [20.0, 50.0, 200.0]}, seeds=2, base=base, out=out, progress=False)
    assert [p.tau_s for p in count_runs] == [50.0, 50.0]
    assert len(second) == 6 and len(load_table(out)) == 6
    pd.testing.assert_frame_equal(first, second[second.tau_s != 50.0].reset_index(drop=True))
    # the same sweep again: nothing runs
    count_runs.clear()
    again = sweep("part2", {"tau_s": [20.0, 50.0, 200.0]}, seeds=2, base=base, out=out, progress=False)
    assert count_runs == []
    pd.testing.assert_frame_equal(again, second)
    # a row lost (a killed sweep) and a row that failed with an error: exactly those two run again
    table = load_table(out)
    table = table.drop(index=1)
    table["failure"] = table["failure"].astype(object)
    table.loc[table.index[2], ["status", "failure"]] = ["error", "WorkerDied"]
    table.to_csv(out, index=False)
    count_runs.clear()
    mended = sweep("part2", {"tau_s": [20.0, 50.0, 200.0]}, seeds=2, base=base, out=out, progress=False)
    assert len(count_runs) == 2
    pd.testing.assert_frame_equal(_results(mended), _results(second))
    # another sweep's rows stay in the file; other fixed values are other settings
    count_runs.clear()
    sweep("part2", {"tau_s": [20.0]}, base={**base, "n_loops": 1}, out=out, progress=False)
    assert len(count_runs) == 1 and len(load_table(out)) == 7


# ---------------------------------------------------------------------------
# Validation, before anything runs


@pytest.mark.parametrize("kwargs, message", [
    (dict(grid={"Nx": [20]}), r"'Nx' is not a part2 parameter"),
    (dict(grid={"N": [20, 1]}), r"grid N: N \(number of neurons\) must be in \[2, 5000\] \(got 1\)"),
    (dict(grid={"N": ["abc"]}), r"N must be a whole number"),
    (dict(grid={"tau_s": [20.0, -1.0]}), r"tau_s \(synaptic time constant.*\) must be > 0"),
    (dict(grid={"N": [20, 40], "K": [30]}), r"setting N=20, K=30: K .*must be in .*\[1, 19\] \(got 30\)"),
    (dict(grid={"N": [20]}, seeds=0), r"seeds must be >= 1"),
    (dict(seeds=[0, -1]), r"seeds: seed \(random seed\) must be in \[0, 4294967295\]"),
    (dict(grid={"seed": [1]}, seeds=2), r"not both"),
    (dict(grid={"N": []}), r"grid N: no values"),
    (dict(settings=[{"N": 20}, {"lam": 0}]), r"settings\[1\] lam: lam \(RLS regulariser lambda\) must be > "),
    (dict(base={"n_loop": 2}), r"'n_loop' is not a part2 parameter"),
    (dict(n_jobs=0), r"n_jobs"),
    (dict(scheduler="localhost:8786"), r"scheduler must be an address"),
    (dict(out="/nonexistent-folder/t.csv"), r"does not exist"),
    (dict(data="synthetic"), r"data is for part3"),
])
def test_bad_settings_are_refused_by_name_before_any_run(kwargs, message, count_runs, tmp_path):
    with pytest.raises(ValueError, match=message):
        sweep("part2", **{"base": TINY, **kwargs}, progress=False)
    assert count_runs == []


def test_other_refusals(tmp_path, count_runs):
    with pytest.raises(ValueError, match="part must be one of"):
        plan("part4")
    with pytest.raises(TypeError, match="scheduler must be"):
        sweep("part2", base=TINY, scheduler=42, progress=False)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="needs pyarrow"):
            sweep("part2", base=TINY, out=tmp_path / "t.parquet", progress=False)
    other = tmp_path / "p1.csv"
    sweep("part1", base={"N": 20, "n_loops": 1, "train_duration": 50.0}, out=other, progress=False)
    count_runs.clear()
    with pytest.raises(ValueError, match="holds runs of part1, not part2"):
        sweep("part2", base=TINY, out=other, progress=False)
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="is not a sweep table"):
        sweep("part2", base=TINY, out=tmp_path / "x.csv", progress=False)
    assert count_runs == []


# ---------------------------------------------------------------------------
# Command line


def test_cli_sweep_end_to_end(tmp_path, capsys):
    out = tmp_path / "s.csv"
    argv = ["sweep", "part2", *TINY_FLAGS, "--grid", "N=20,30", "--grid", "tau_s=20,200", "--seeds", "2",
            "--out", str(out), "--jobs", "2"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "8 run(s), 8 ok, 0 diverged, 0 error" in text and "test score (no learning) over seeds" in text
    table = load_table(out)
    assert len(table) == 8 and set(table.status) == {"ok"} and (table.n_loops == 2).all()
    expected = sweep("part2", GRID, seeds=2, base=TINY, progress=False)
    pd.testing.assert_frame_equal(_results(table), _results(expected), check_dtype=False)
    assert main(argv) == 0  # resumed: nothing left to run
    assert len(load_table(out)) == 8


@pytest.mark.parametrize("extra, message", [
    (["--grid", "N=20,1"], r"N \(number of neurons\) must be in \[2, 5000\] \(got 1\)"),
    (["--grid", "Nx=20"], r"'Nx' is not a part2 parameter"),
    (["--grid", "N"], r"give NAME=V1,V2"),
    (["--grid", "K=all,5", "--grid", "N=4"], r"K .*must be in .*\[1, 3\]"),
    (["--grid", "N=20", "--grid", "N=30"], r"given twice"),
    (["--seeds", "two"], r"--seeds must be"),
    (["--sigma", "-1"], r"sigma \(weight scale\) must be > 0"),
])
def test_cli_bad_grid_exits_2_naming_the_parameter(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as info:
        main(["sweep", "part2", "--out", str(tmp_path / "s.csv"), *extra])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and "Traceback" not in err
    assert not (tmp_path / "s.csv").exists()


def test_cli_needs_out(capsys):
    with pytest.raises(SystemExit) as info:
        main(["sweep", "part2", "--grid", "N=20"])
    assert info.value.code == 2 and "--out" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# Stopped or killed


def _children(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _cmdline(process) -> str:
    """A process's command line, or "" once it has exited (a zombie or gone) or cannot be read.

    A child can exit between the listing and the read (loky starts short-lived helpers), so every
    read of another process's details goes through here or ``_alive``.
    """
    import psutil

    try:
        return " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):  # ZombieProcess is a NoSuchProcess
        return ""


def _alive(process) -> bool:
    """True while ``process`` runs (a zombie has exited: only its parent has not read its status)."""
    import psutil

    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _rows_in(path: Path) -> int:
    try:
        return len(load_table(path))
    except (ValueError, OSError):
        return 0


def test_the_process_probes_read_an_exited_child_as_gone():
    """A child that exits while a test watches it (a zombie until reaped, then gone) reads as gone."""
    import psutil

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    process = psutil.Process(child.pid)
    deadline = time.monotonic() + 30
    while process.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.status() == psutil.STATUS_ZOMBIE  # exited, not yet reaped
    assert _cmdline(process) == "" and not _alive(process)
    child.wait()  # reaped: the process is gone
    assert _cmdline(process) == "" and not _alive(process)
    assert _cmdline(psutil.Process()) and _alive(psutil.Process())  # a running one reads as running


# 12 runs of about 0.4 s each
SLOW_BASE = {"N": 40, "n_loops": 6, "stim_on": 100.0, "stim_off": 200.0, "train_duration": 3000.0}
SLOW_GRID = {"tau_s": [20.0, 50.0, 100.0, 200.0]}
SLOW = ["--N", "40", "--n-loops", "6", "--stim-on", "100", "--stim-off", "200", "--train-duration", "3000",
        "--grid", "tau_s=20,50,100,200", "--seeds", "3"]


@pytest.mark.parametrize("when", ["workers starting", "after a row"])
def test_ctrl_c_during_a_two_worker_sweep_keeps_whole_rows_and_leaves_no_process(tmp_path, when):
    """Ctrl-C in a terminal: SIGINT to the whole process group, the workers included."""
    out = tmp_path / "s.csv"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
    argv = [sys.executable, "-m", "tutorial_lib", "sweep", "part2", *SLOW, "--out", str(out), "--jobs", "2"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    workers = []
    while time.monotonic() < deadline and proc.poll() is None:
        workers = _children(proc.pid)
        started = sum("LokyProcess" in _cmdline(w) for w in workers) == 2
        if started and (when == "workers starting" or _rows_in(out) >= 1):
            break
        time.sleep(0.01)
    assert len(workers) >= 2, "the sweep did not start its worker processes"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    lines = [p for p in err.decode().replace("\r", "\n").splitlines() if p.strip() and "sweep part2" not in p]
    assert len(lines) == 1 and "interrupted (SIGINT)" in lines[0] and "resume" in lines[0], lines
    gone_by = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < gone_by:
        time.sleep(0.1)
    assert not [w.pid for w in workers if _alive(w)]
    assert not list(tmp_path.glob(".*.tmp"))
    if when == "workers starting":
        return
    table = load_table(out)
    assert 1 <= len(table) < 12 and set(table.status) == {"ok"}
    assert (table.loops_done == 6).all()
    assert table[["score_loop_1", "score_loop_6", "test_score"]].notna().all().all()
    assert f"{len(table)} of 12 runs are in" in lines[0]
    # resumed (here, in this process): only the rest runs, the rows kept stay as they were
    final = sweep("part2", SLOW_GRID, seeds=3, base=SLOW_BASE, out=out, progress=False)
    assert len(final) == 12 and set(final.status) == {"ok"}
    kept = final.set_index("run_id").loc[table.run_id]
    assert np.array_equal(kept.test_score.to_numpy(), table.test_score.to_numpy())


def test_a_joblib_worker_killed_mid_sweep_loses_no_run(tmp_path):
    """kill -9 of a joblib worker: the runs in flight start again; every setting ends with its row."""
    out, killed = tmp_path / "s.csv", []
    thread = _kill_a_worker_after_the_first_row(out, "LokyProcess", killed)  # a worker, not loky's tracker
    table = sweep("part2", SLOW_GRID, seeds=3, base=SLOW_BASE, n_jobs=2, out=out, progress=False)
    thread.join()
    assert killed, "no worker was killed"
    assert len(table) == 12 and set(table.status) == {"ok"}
    pd.testing.assert_frame_equal(_results(load_table(out)), _results(table), check_dtype=False)


def _kill_a_worker_after_the_first_row(out: Path, mark: str, killed: list) -> threading.Thread:
    """A thread that SIGKILLs one worker process (its command line holds ``mark``) once ``out`` has a row."""
    import psutil

    def kill():
        deadline = time.monotonic() + 60
        while _rows_in(out) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        for child in psutil.Process().children(recursive=True):
            if mark in _cmdline(child):
                child.kill()
                killed.append(child.pid)
                return

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def test_a_dask_worker_killed_mid_sweep_loses_no_run(tmp_path, cluster):
    """kill -9 of a Dask worker: its nanny starts a new one, the scheduler runs its task again."""
    out, killed = tmp_path / "s.csv", []
    thread = _kill_a_worker_after_the_first_row(out, "spawn_main", killed)  # a worker, not the tracker
    address = cluster.scheduler_address  # "tcp://127.0.0.1:port", as --scheduler gives it
    assert address.startswith("tcp://")
    table = sweep("part2", SLOW_GRID, seeds=3, base=SLOW_BASE, scheduler=address, out=out, progress=False)
    thread.join()
    assert killed, "no worker was killed"
    assert len(table) == 12 and set(table.status) == {"ok"}
    expected = sweep("part2", SLOW_GRID, seeds=3, base=SLOW_BASE, progress=False)
    pd.testing.assert_frame_equal(_results(table), _results(expected))


# ---------------------------------------------------------------------------
# Part 3


def test_part3_rows_hold_both_test_scores_and_the_data_they_trained_on(tmp_path, count_runs):
    from tutorial_lib import BalancedParams, balanced
    from tutorial_lib.data import synthetic_alm

    base = BalancedParams(N=300, K=30, L=5, n_trained=20, stim_on=100.0, stim_off=200.0, train_duration=400.0,
                          n_loops=2, score_every=1, n_test_trials=2, n_ffwd=10, seed=4)
    data = synthetic_alm(n_neurons=60, seed=1)
    out = tmp_path / "p3.csv"
    table = sweep("part3", {"n_trained": [10, 20]}, base=base, data=data, out=out, progress=False)
    assert list(table.status) == ["ok", "ok"] and list(table.n_trained) == [10, 20]
    row = table.iloc[1]
    res = balanced.train(base, data=data, progress=False)
    tested = res.test(n_trials=2)
    assert [row.score_loop_1, row.score_loop_2] == list(res.scores)
    assert [row.test_score_loop_1, row.test_score_loop_2] == list(res.test_scores)
    assert (row.test_score, row.test_score_avg) == (tested.score, tested.score_avg)
    assert row.data == data.source and len(row.data_digest) == 16
    # other data: other runs (the same settings are not taken for done)
    count_runs.clear()
    sweep("part3", {"n_trained": [10]}, base=base, data=synthetic_alm(n_neurons=60, seed=2), out=out,
          progress=False)
    assert len(count_runs) == 1 and len(load_table(out)) == 3
    # settings the data cannot have are refused by name before any run
    count_runs.clear()
    with pytest.raises(ValueError, match=r"setting n_trained=80: n_trained \(ALM neurons trained\) must be "
                                         r"in \[L \+ 1, 60\]"):
        sweep("part3", {"n_trained": [10, 80]}, base=base, data=data, progress=False)
    with pytest.raises(ValueError, match=r"settings\[1\] L: L .* must be"):
        sweep("part3", settings=[{"L": 5}, {"L": 0}], base=base, data=data, progress=False)
    assert count_runs == []
