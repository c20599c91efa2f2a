"""Sweeps, NWB targets, spike replay and the perturbation dashboard driven the way a hostile student,
lecturer or researcher would (all tiny and fast).

Each test names the fault it caught: a bad input that ran a long computation first, hung, wrote the
wrong file, or failed with a message that did not say what was wrong.
"""

import math
import socket
import threading
import time
import warnings
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from tutorial_lib import sweep as sweep_mod
from tutorial_lib.cli import main
from tutorial_lib.engine.lif_data import Replay
from tutorial_lib.sweep import load_table, sweep

P1 = ["--N", "20", "--n-loops", "1", "--train-duration", "100"]


@pytest.fixture
def no_runs(monkeypatch):
    """Fail if a run (or numba's warm-up) is reached: the refusal must come first."""
    def trap(*args, **kwargs):
        raise AssertionError("a run was started before the bad input was refused")

    monkeypatch.setattr(sweep_mod, "run_one", trap)
    monkeypatch.setattr(sweep_mod, "warm_cache", trap)


# ---------------------------------------------------------------------------
# sweep: grid and seeds syntax


@pytest.mark.parametrize("flag,value", [("--grid", "N=20,,30"), ("--grid", "N=20,"), ("--seeds", "0,,3"),
                                        ("--seeds", "3,")])
def test_cli_an_empty_value_in_a_list_is_refused_not_dropped(tmp_path, capsys, no_runs, flag, value):
    # "--grid N=20,,30" ran N=20 and N=30 and "--seeds 3," ran seed 3 only (not 3 seeds)
    with pytest.raises(SystemExit) as exc:
        main(["sweep", "part1", *P1, flag, value, "--out", str(tmp_path / "s.csv")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "empty" in err and flag in err


def test_cli_summary_keeps_a_grid_value_that_is_none(tmp_path, capsys):
    # --grid K=all,10: K=None ("all") rows were dropped by the summary's groupby (an empty table printed)
    assert main(["sweep", "part1", *P1, "--grid", "K=all,10", "--out", str(tmp_path / "s.csv")]) == 0
    out = capsys.readouterr().out
    summary = out.split("over seeds:", 1)[1]
    assert "Empty DataFrame" not in summary
    rows = [line.split()[0] for line in summary.splitlines()[3:] if line.strip()]
    assert rows == ["10.0", "NaN"]  # K=10 and K=all (None, NaN in the table)


# ---------------------------------------------------------------------------
# sweep: the out path


@pytest.mark.parametrize("name", ["s.xlsx", "s.txt", "table", "s.json"])
def test_an_out_path_of_another_format_is_refused_before_any_run(tmp_path, no_runs, name):
    # a .xlsx path got a CSV file under that name
    with pytest.raises(ValueError, match=r"\.csv or \.parquet"):
        sweep("part1", {"N": [20]}, out=tmp_path / name, progress=False)
    assert not (tmp_path / name).exists()


def test_an_out_folder_that_cannot_be_written_is_refused_before_any_run(no_runs):
    # /proc passes os.access for root: the first run trained, then the write failed with a raw OSError
    with pytest.raises(ValueError, match="cannot be written|not writable"):
        sweep("part1", {"N": [20]}, out="/proc/s.csv", progress=False)


def test_a_hand_edited_table_without_test_score_is_refused_clearly(tmp_path, capsys):
    path = tmp_path / "s.csv"
    assert main(["sweep", "part1", *P1, "--grid", "N=20,30", "--out", str(path)]) == 0
    df = pd.read_csv(path).drop(columns=["test_score"])
    df.to_csv(path, index=False)
    # a KeyError traceback from the summary before
    with pytest.raises(ValueError, match="test_score"):
        load_table(path)
    assert main(["sweep", "part1", *P1, "--grid", "N=20,30", "--out", str(path)]) == 2
    assert "test_score" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# sweep: a scheduler that cannot be used fails fast, before the warm-up


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_fails_fast_and_before_the_warm_up(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    warmed = []
    monkeypatch.setattr(sweep_mod, "warm_cache", lambda *a: warmed.append(1) or 0.0)
    t0 = time.perf_counter()
    with pytest.raises(OSError, match="cannot connect to the Dask scheduler"):
        sweep("part1", {"N": [20]}, scheduler=f"tcp://127.0.0.1:{_free_port()}", progress=False)
    assert time.perf_counter() - t0 < 5  # refused: 20 s of retries before
    assert not warmed


@pytest.fixture
def http_server():
    """A server that answers like a web server (e.g. the Dask dashboard's port given by mistake)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    stop = threading.Event()

    def serve():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)
                time.sleep(0.5)

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    yield srv.getsockname()[1]
    stop.set()
    th.join()
    srv.close()


def test_an_address_that_is_not_a_dask_scheduler_is_said_so(http_server):
    pytest.importorskip("distributed")
    # "Unable to allocate 3.07 EiB" (a MemoryError) before: the HTTP reply read as a frame length
    t0 = time.perf_counter()
    with pytest.raises(OSError, match="cannot connect to the Dask scheduler"):
        sweep("part1", {"N": [20]}, scheduler=f"tcp://127.0.0.1:{http_server}", progress=False, warm=False)
    assert time.perf_counter() - t0 < 25


# ---------------------------------------------------------------------------
# sweep: Part 3 data announced once, and the way out said


def test_cli_part3_sweep_says_once_which_data_it_trains_on(tmp_path, capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(sweep_mod, "sweep", lambda *a, **k: calls.append(k) or pd.DataFrame(
        {"status": ["ok"], "test_score": [0.5]}))
    args = ["sweep", "part3", "--lecture", "--N", "300", "--K", "30", "--L", "5", "--n-trained", "20",
            "--synthetic", "--grid", "seed=1,2", "--out", str(tmp_path / "s.csv")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.count("SYNTHETIC") == 1


def test_cli_part3_sweep_without_data_says_how_to_go_on(tmp_path, capsys, monkeypatch, no_runs):
    monkeypatch.delenv("TUTORIAL_ALM_DATA", raising=False)
    monkeypatch.setenv("TUTORIAL_ALM_DOWNLOAD", "0")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code = main(["sweep", "part3", "--lecture", "--grid", "seed=1,2", "--out", str(tmp_path / "s.csv")])
    assert code != 0
    captured = capsys.readouterr()
    assert "--synthetic" in captured.err
    assert "Sweep of part3" not in captured.out  # refused before the plan is announced


# ---------------------------------------------------------------------------
# NWB


def _nwb(path, conds, *, n=12, spikes=None):
    from pynwb import NWBHDF5IO, NWBFile

    f = NWBFile("d", "id1", datetime(2020, 1, 1, tzinfo=timezone.utc))
    f.add_trial_column("cond", "condition")
    f.add_trial_column("go", "go cue, s")
    for i in range(n):
        f.add_trial(start_time=10.0 * i, stop_time=10.0 * i + 5.0, cond=conds[i % len(conds)],
                    go=10.0 * i + 3.0)
    rng = np.random.default_rng(0)
    for s in (spikes or [np.sort(rng.uniform(0, 10.0 * n, 40 * n)) for _ in range(2)]):
        f.add_unit(spike_times=s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "w") as io:
            io.write(f)
    return path


def test_nwb_nan_conditions_are_counted_as_one_value_and_can_be_chosen(tmp_path):
    pytest.importorskip("pynwb")
    from tutorial_lib.nwb import NWBSelectionError, load_nwb

    path = _nwb(tmp_path / "nan.nwb", [1.0, math.nan, 2.0])
    # before: "nan (1), nan (1), nan (1), nan (1)" and no way to select the NaN trials
    with pytest.raises(NWBSelectionError, match=r"nan \(4\)") as exc:
        load_nwb(path, condition_column="cond", align_to="go", min_rate=0.0)
    assert "nan (1)" not in str(exc.value)
    data = load_nwb(path, condition_column="cond", align_to="go", min_rate=0.0,
                    conditions={"right": math.nan, "left": 2.0})
    assert data.n_trials == {"right": 4, "left": 4}


@pytest.mark.parametrize("kw", [{"window": ("-2000", "0")}, {"align_to": ["3.0"] * 12}])
def test_nwb_strings_where_numbers_are_expected_are_refused(tmp_path, kw):
    pytest.importorskip("pynwb")
    from tutorial_lib.nwb import load_nwb

    with pytest.raises(TypeError, match=next(iter(kw))):
        load_nwb(tmp_path / "never-opened.nwb", condition_column="cond", **{"align_to": "go", **kw})


@pytest.mark.parametrize("window", [(-1e300, 1e300), (-2e8, 0.0)])
def test_nwb_a_huge_window_is_refused_before_the_file_is_opened(tmp_path, window):
    pytest.importorskip("pynwb")
    from tutorial_lib.nwb import load_nwb

    # "Maximum allowed size exceeded", or minutes of work and GBs for 10 million samples, before
    with pytest.raises(ValueError, match="window"):
        load_nwb(tmp_path / "never-opened.nwb", condition_column="cond", align_to="go", window=window)


def test_nwb_a_window_reaching_outside_the_trials_is_warned_about(tmp_path):
    pytest.importorskip("pynwb")
    from tutorial_lib.nwb import load_nwb

    path = _nwb(tmp_path / "ok.nwb", ["right", "left"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_nwb(path, condition_column="cond", align_to="go", window=(-2000.0, 0.0), min_rate=0.0)
    for kw in ({"window": (-6000.0, 6000.0)}, {"align_to": np.full(12, 1e4)}):
        with pytest.warns(UserWarning, match="outside"):
            load_nwb(path, condition_column="cond", min_rate=0.0, **{"align_to": "go", **kw})


# ---------------------------------------------------------------------------
# Replay, spike_timing_test


def test_replay_jittered_with_a_huge_jitter_drops_spikes_without_overflow():
    r = Replay(np.arange(1, 201) * 0.1, np.zeros(200, dtype=int))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "invalid value encountered in cast": int64 overflow before
        out = r.jittered(1e300, np.random.default_rng(0), 0.1, 20.0)
        assert out.times.size == 0
        out = r.jittered(1e17, np.random.default_rng(0), 0.1, 20.0)
        assert out.times.size == 0 or (out.times.min() > 0 and out.times.max() <= 20.0)
    same = r.jittered(2.0, np.random.default_rng(3), 0.1, 20.0)  # the usual case is unchanged
    z = np.random.default_rng(3).standard_normal(200)
    steps = np.rint(r.times / 0.1).astype(np.int64) + np.rint(2.0 * z / 0.1).astype(np.int64)
    assert np.array_equal(np.sort(same.times), np.sort(steps[(steps >= 1) & (steps <= 200)] * 0.1))


@pytest.mark.parametrize("kw,name", [({"dt": 0.0}, "dt"), ({"T": math.nan}, "T"), ({"rng": None}, "rng"),
                                     ({"dt": -0.1}, "dt")])
def test_replay_jittered_names_its_bad_argument(kw, name):
    args = {"jitter": 1.0, "rng": np.random.default_rng(0), "dt": 0.1, "T": 10.0, **kw}
    with pytest.raises((ValueError, TypeError), match=name):
        Replay([1.0], [0]).jittered(**args)


@pytest.mark.parametrize("kw,name", [({"times": ["1.0"], "neurons": [0]}, "times"),
                                     ({"times": [1.0], "neurons": [0], "channels": None}, "channels"),
                                     ({"times": [1.0], "neurons": [0], "channels": ("",)}, "channels")])
def test_replay_refuses_odd_fields_by_name(kw, name):
    with pytest.raises((ValueError, TypeError), match=name):
        Replay(**kw)


def test_spike_timing_test_names_jitters_given_as_text():
    from tutorial_lib import BalancedParams, balanced
    from tutorial_lib.data import synthetic_alm

    p = BalancedParams.lecture(N=400, K=40, n_trained=12, L=3, n_ffwd=10, stim_on=100.0, stim_off=200.0,
                               train_duration=400.0, n_loops=1, score_every=1, n_test_trials=1)
    net = balanced.build_network(p, synthetic_alm(60))
    # "could not convert string to float: '1,2'" before (no parameter named)
    for bad in ("1,2", ["1", "2"], [[1.0, 2.0]]):
        with pytest.raises((ValueError, TypeError), match="jitters"):
            balanced.spike_timing_test(net, jitters=bad)


# ---------------------------------------------------------------------------
# Perturbation dashboard


@pytest.fixture(scope="module")
def small_net():
    from tutorial_lib import BalancedParams, balanced
    from tutorial_lib.data import synthetic_alm

    p = BalancedParams.lecture(N=400, K=40, n_trained=30, L=5, n_ffwd=20, stim_on=100.0, stim_off=200.0,
                               train_duration=400.0, n_loops=1, score_every=1, n_test_trials=1)
    return balanced.build_network(p, synthetic_alm(60))


def test_a_window_shorter_than_a_psth_bin_has_numbers_not_nan(small_net):
    from tutorial_lib.dashboard import perturbation_dashboard, run_perturbation

    # the sliders allow 10 ms windows; no 20 ms bin centre inside them gave "E nan -> nan Hz"
    for start, stop in ((590.0, 600.0), (0.0, 10.0), (300.0, 310.0)):
        o = run_perturbation(small_net, "I", 2.0, start, stop)
        assert np.all(np.isfinite(o.baseline)) and np.all(np.isfinite(o.measured)), (start, stop)
        assert np.all(np.isfinite(o.change))
    o = run_perturbation(small_net, "I", 2.0, 300.0, 400.0)  # bin centres inside: their mean, as before
    inside = (o.t > 300.0) & (o.t < 400.0)
    assert o.measured[1] == pytest.approx(o.rates["I"][0][inside].mean())
    dash = perturbation_dashboard(small_net)
    dash.controls["stop"].widget.value = 600.0
    dash.controls["start"].widget.value = 590.0
    dash.run(block=True)
    assert dash.error is None and "nan" not in dash.status.value, dash.status.value


# ---------------------------------------------------------------------------
# balance_response, rate_matched_poisson


@pytest.mark.parametrize("args,exc,name", [((None, 1.0, 0.0), TypeError, "params"),
                                           (("P", "1", 0.0), TypeError, "delta_e"),
                                           (("P", 0.0, [1.0, 2.0]), TypeError, "delta_i"),
                                           (("P", True, 0.0), TypeError, "delta_e")])
def test_balance_response_names_arguments_of_the_wrong_kind(args, exc, name):
    from tutorial_lib import BalancedParams, balanced

    # "1" was read as 1.0; None an AttributeError; a list "float() argument must be ..."
    args = tuple(BalancedParams() if a == "P" else a for a in args)
    with pytest.raises(exc, match=name):
        balanced.balance_response(*args)


def test_rate_matched_poisson_names_a_single_trial_given_for_a_sequence(small_net):
    from tutorial_lib import balanced

    trial = balanced.run_trial(small_net, "right", loop=0)
    for bad in (trial, None):  # "'Trial' object is not iterable" before
        with pytest.raises(TypeError, match="trials"):
            balanced.rate_matched_poisson(bad, np.random.default_rng(0), small_net.params.dt)


def test_a_huge_grid_is_refused_at_once_by_its_size():
    from tutorial_lib.sweep import plan

    grid = {"N": list(range(20, 120)), "lam": [0.1 * (i + 1) for i in range(100)],
            "tau": [1.0 + i for i in range(100)]}
    t0 = time.perf_counter()
    # 1e6 settings were built and checked one by one before (about 2 minutes), 1e8 exhausted the memory
    with pytest.raises(ValueError, match="1,000,000 runs"):
        plan("part1", grid)
    with pytest.raises(ValueError, match="3,000,000 runs"):
        plan("part1", grid, seeds=3)
    with pytest.raises(ValueError, match="1,000,000,000,000 runs"):  # a list of 1e12 seeds before
        plan("part1", seeds=10**12)
    with pytest.raises(ValueError, match="200,000 runs"):
        plan("part1", settings=[{"N": 20}, {"N": 30}], seeds=100_000)
    assert time.perf_counter() - t0 < 2


@pytest.mark.parametrize("seeds", [2.0, np.float64(2.0), "2"])
def test_seeds_as_a_float_or_text_is_refused_not_read_as_one_seed(seeds):
    from tutorial_lib.sweep import plan

    # seeds=2 ran seeds 0 and 1 but seeds=2.0 ran seed 2 only
    with pytest.raises(TypeError, match="seeds"):
        plan("part1", seeds=seeds)


@pytest.mark.parametrize("replay", [3, 2.5, object()])
def test_a_test_replay_that_is_not_a_sequence_is_named(small_net, replay):
    from tutorial_lib import balanced

    # "object of type 'int' has no len()" before
    with pytest.raises(ValueError, match="replay must be None or a sequence of 1 Replay"):
        balanced.evaluate(small_net, n_trials=1, replay=replay)


def test_trial_averaged_rate_refuses_an_event_that_is_not_a_time():
    from tutorial_lib.nwb import trial_averaged_rate

    spikes = np.arange(0.0, 10.0, 0.1)  # 10 Hz
    assert trial_averaged_rate(spikes, [2.02, 5.02], [0.0])[0] == pytest.approx(10.0)
    # a NaN event counted as a trial with no spikes: 5 Hz, silently, before
    for events in ([2.02, math.nan], [math.inf]):
        with pytest.raises(ValueError, match="event_times"):
            trial_averaged_rate(spikes, events, [0.0])


def test_a_row_duplicated_by_hand_counts_once(tmp_path, capsys):
    path = tmp_path / "s.csv"
    args = ["sweep", "part1", *P1, "--grid", "N=20,30", "--seeds", "2", "--out", str(path)]
    assert main(args) == 0
    df = pd.read_csv(path)
    pd.concat([df, df.iloc[[0]]], ignore_index=True).to_csv(path, index=False)  # a row pasted twice
    capsys.readouterr()
    assert main(args) == 0
    out = capsys.readouterr().out
    # "20 ... 3" before: one run counted twice in the mean, std and count
    counts = [line.split()[-1] for line in out.split("over seeds:", 1)[1].splitlines()[3:] if line.strip()]
    assert counts == ["2", "2"], out
    assert len(sweep("part1", {"N": [20, 30]}, seeds=2, base={"N": 20, "n_loops": 1, "train_duration": 100.0},
                     out=path, progress=False)) == 4


@pytest.mark.parametrize("extra,message", [(["--jobs", "0"], "--jobs"), (["--jobs", "-2"], "--jobs"),
                                           (["--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"], "--jobs")])
def test_cli_bad_jobs_are_named_as_flags_before_the_plan_is_announced(tmp_path, capsys, no_runs, extra,
                                                                      message):
    # "Sweep of part1: 2 run(s) on 0 local processes", then an error about n_jobs, before
    with pytest.raises(SystemExit) as exc:
        main(["sweep", "part1", *P1, "--grid", "N=20,30", "--out", str(tmp_path / "s.csv"), *extra])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Sweep of" not in captured.out
