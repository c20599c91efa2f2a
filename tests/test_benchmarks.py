"""The benchmark command runs and prints its figures as `name value unit` lines (no speed is asserted)."""

import json
import os
import re

import numpy as np
import pytest

from benchmarks.__main__ import main


def test_rls_benchmark_prints_figures_and_writes_json(tmp_path, capsys):
    out_json = tmp_path / "results.json"
    assert main(["rls", "--json", str(out_json)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    figures = [ln for ln in lines if re.fullmatch(r"[a-z0-9_]+ [-+0-9.e]+ \S*", ln.strip())]
    names = {ln.split()[0] for ln in figures}
    assert {"rls_update_numpy", "rls_update_shared_pool", "rls_shared_speedup_vs_batch"} <= names
    saved = json.loads(out_json.read_text())["figures"]
    assert saved["rls_update_numpy"]["unit"] == "ms" and saved["rls_update_numpy"]["value"] > 0
    # where it was measured, with every figure (the file merges runs) and printed at the end (#25)
    on = saved["rls_update_numpy"]["measured_on"]
    assert f"{os.cpu_count()} cores" in on and "load (1 min)" in on and saved["rls_update_numpy"]["date"]
    assert lines[-1] == f"measured on: {on}"


def test_brian2_comparison_at_a_tiny_size_agrees_with_our_engine():
    """A cross-check against an independent simulator: Brian2 (runtime mode) on the same static network.

    Same connectivity, initial voltages and Euler scheme (see benchmarks/brian2_static.py): the rates
    must agree, and the spike trains should be identical for a while (chaos amplifies round-off later).
    NumPy target: no C compiler or Cython build needed for the test.
    """
    import importlib.util

    import pytest

    if importlib.util.find_spec("brian2") is None:
        pytest.skip("Brian2 is not installed (pip install -e .[bench])")
    from benchmarks import brian2_static

    out = brian2_static.compare(N=400, K=80, T=500.0, modes=("runtime",), target="numpy", rounds=2,
                                log=lambda m: None)
    if "runtime" not in out["results"]:
        pytest.skip("Brian2 does not run here")
    ours, b2 = out["results"]["ours"], out["results"]["runtime"]
    assert ours["n_spikes"] > 100  # the network is active at this size (mu_I > 1 needs K > 70)
    for key in ("rate_e", "rate_i"):
        assert abs(b2[key] - ours[key]) <= 0.1 * ours[key], (key, b2[key], ours[key])
    assert out["agree"]["runtime"]
    assert b2["identical_until_ms"] >= 100.0
    assert len(b2["times"]) == len(ours["times"]) == 2  # two alternated rounds, timed
    assert b2["over_ours"]["min"] <= b2["over_ours"]["median"] <= b2["over_ours"]["max"]
    rows = brian2_static._rows(out)
    assert {r[0] for r in rows} >= {"brian2cmp_ours_seconds", "brian2cmp_runtime_seconds",
                                    "brian2cmp_runtime_over_ours", "brian2cmp_runtime_over_ours_min",
                                    "brian2cmp_runtime_over_ours_max", "brian2cmp_balance_rate_e"}


def test_simulation_benchmark_names_its_figures_apart_and_warns_when_not_at_full_scale(capsys):
    from benchmarks import part3
    from tutorial_lib import BalancedParams

    tiny = BalancedParams(N=400, K=40, L=5, n_trained=20, n_ffwd=20, n_loops=1, score_every=0,
                          train_duration=200.0)
    rows = part3.bench_part3_simulation(rounds=2, params=tiny)
    assert "NOT FULL SCALE" in capsys.readouterr().err
    figures = {name: value for name, value, _, _ in rows}
    for kind in ("train", "test", "static"):
        assert figures[f"part3_sim_small_{kind}_cpu_seconds"] > 0
        assert figures[f"part3_sim_small_{kind}_wall_seconds"] > 0
    for kind in ("train", "test"):
        assert figures[f"part3_sim_small_{kind}_over_static_cpu"] > 0
    assert not any(name.startswith("part3_sim_train") for name in figures)  # never named as full scale


def test_form_benchmark_names_its_figures_apart_and_times_every_form(capsys):
    from benchmarks import part3
    from tutorial_lib import BalancedParams

    tiny = BalancedParams(N=400, K=40, L=5, n_trained=20, n_ffwd=20, n_loops=1, score_every=0,
                          train_duration=200.0)
    rows = part3.bench_part3_forms(rounds=2, params=tiny)
    assert "NOT FULL SCALE" in capsys.readouterr().err
    figures = {name: value for name, value, _, _ in rows}
    assert figures["part3_forms_small_static_wall_seconds"] > 0
    for form in ("block", "pooled", "pooled32"):
        trial, rls, sim = (figures[f"part3_forms_small_{form}_{k}_wall_seconds"] for k in ("trial", "rls", "sim"))
        assert trial > rls > 0 and sim > 0  # every form's RLS time is found (the deferred steps too)
        assert sim == pytest.approx(trial - rls, rel=0.5)  # medians of differences: close, not equal
        assert figures[f"part3_forms_small_{form}_trial_over_static_wall"] > 0
        assert figures[f"part3_forms_small_{form}_trial_over_static_cpu"] > 0
    assert figures["part3_forms_small_block_over_pooled_trial_wall"] > 0
    assert not any(name.startswith("part3_forms_static") for name in figures)  # never named as full scale


def test_loop_benchmark_times_a_loop_against_the_static_run_and_names_a_small_one_apart(capsys):
    from benchmarks import part3
    from tutorial_lib import BalancedParams

    tiny = BalancedParams(N=400, K=40, L=5, n_trained=20, n_ffwd=20, n_loops=1, score_every=0,
                          train_duration=200.0)
    rows = part3._loop_rows(params=tiny, n_loops=2)
    assert "NOT FULL SCALE" in capsys.readouterr().err  # with or without the recordings
    figures = {name: value for name, value, _, _ in rows}
    assert not any(name.startswith("part3_seconds") for name in figures)  # never named as full scale
    loop, static = figures["part3_small_seconds_per_loop"], figures["part3_small_static_seconds_per_loop"]
    assert loop > 0 and static > 0 and figures["part3_small_loop_over_static"] > 0
    assert 0 < figures["part3_small_rls_seconds_per_loop"] < loop
    assert figures["part3_small_rls_ms_per_update"] > 0  # the deferred steps are counted as updates


def test_float32_drift_benchmark_measures_a_small_nonzero_drift_named_apart(capsys):
    from benchmarks import part3
    from tutorial_lib import BalancedParams

    tiny = BalancedParams(N=400, K=40, L=5, n_trained=20, n_ffwd=20, n_loops=1, score_every=0,
                          train_duration=200.0)
    rows = part3.bench_part3_float32(n_trials=2, params=tiny, penalties=((None, None), (1e-4, 1e-3)))
    assert "NOT FULL SCALE" in capsys.readouterr().err
    figures = {name: value for name, value, _, _ in rows}
    assert set(figures) == {"part3_float32_small_drift_lam_rec_0.04_lam_ff_1",
                            "part3_float32_small_drift_lam_rec_0.0001_lam_ff_0.001"}
    assert all(0 < v < 1e-3 for v in figures.values())  # float32 rounding, not a different result


def _tiny_balanced(**changes):
    from tutorial_lib import BalancedParams

    base = dict(N=400, K=80, L=5, n_trained=20, n_ffwd=20, train_duration=200.0)
    base.update(changes)
    return BalancedParams(**base)


def test_scaling_rule_keeps_the_connection_probability_and_the_trained_fraction():
    from benchmarks.scaling import scaled_params
    from tutorial_lib import BalancedParams

    spec = BalancedParams()
    assert scaled_params(5000) == BalancedParams(n_trained=1824, n_loops=1, score_every=0)
    p = scaled_params(20000)
    assert (p.K, p.n_trained, p.L, p.n_ffwd) == (2000, 7296, spec.L, spec.n_ffwd)
    assert p.K / p.Ne == spec.K / spec.Ne


def test_growth_exponent_is_recovered_from_a_power_law_and_nan_without_two_sizes():
    import math

    from benchmarks.scaling import fit_exponent

    b, c = fit_exponent([2500, 5000, 10000], [3.0 * n ** 1.7 for n in (2500, 5000, 10000)])
    assert abs(b - 1.7) < 1e-9 and abs(c - math.log(3.0)) < 1e-6
    assert math.isnan(fit_exponent([5000, 5000], [1.0, 2.0])[0])


def test_recorded_run_splits_its_seconds_into_loops_and_test_trials(tmp_path):
    from benchmarks.scaling import FULL_RUN, recorded_run

    doc = {"loops": [1, 2, 3, 4], "test_loops": [2, 4], "seconds_per_loop": [8.0, 18.0, 8.0, 18.0],
           "params": {"values": {"n_test_trials": 5}}}
    path = tmp_path / "run.json"
    path.write_text(json.dumps(doc))
    rec = recorded_run(path)
    assert (rec["loops_seconds"], rec["loop"], rec["test_trial"], rec["n_tests"]) == (52.0, 8.0, 2.0, 2)
    assert rec["wall"] is None
    assert recorded_run(tmp_path / "missing.json") is None
    assert recorded_run(FULL_RUN)["n_loops"] == 200  # the committed run is readable


def test_scaling_benchmark_names_its_rows_per_size_with_finite_exponents():
    """Plumbing only, at toy sizes (each in its own process): rows per size, exponents fitted."""
    import math

    from benchmarks import scaling

    rows = scaling.bench_scaling(sizes=(300, 400), base=_tiny_balanced())
    by_name = {r[0]: r[1] for r in rows}
    for N in (300, 400):
        for _, name, _, _ in scaling.GROWTH:
            assert by_name[f"scaling_small_n{N}_{name}"] > 0, (N, name)
    assert not any(n.startswith("scaling_n") for n in by_name)  # not the SPEC's sizes: named apart
    for _, name, _, _ in scaling.GROWTH:
        assert math.isfinite(by_name[f"scaling_small_exponent_{name}"]), name
    assert 1.5 < by_name["scaling_small_exponent_static_synapses_gb"] < 2.5  # K grows with N: synapses ~ N^2


def test_whole_run_estimate_warns_and_names_its_figures_apart_when_not_at_full_scale(capsys):
    from benchmarks import scaling

    p = _tiny_balanced(n_loops=4, score_every=2, n_test_trials=2)
    rows = scaling.bench_scaling_run(n_loops=1, n_test=1, params=p)
    assert "NOT FULL SCALE" in capsys.readouterr().err
    by_name = {r[0]: r[1] for r in rows}
    assert all(n.startswith(("scaling_run_small_", "scaling_recorded_")) for n in by_name)
    loop = by_name["scaling_run_small_seconds_per_loop"]
    test = by_name["scaling_run_small_test_trial_seconds"]
    expect = (4 * loop + 2 * 2 * test) / 60  # 4 loops, a test of 2 trials after loops 2 and 4
    assert abs(by_name["scaling_run_small_estimate_loops_minutes"] - expect) <= 1e-12
    whole = expect + (by_name["scaling_run_small_build_seconds"] + 2 * test) / 60
    assert abs(by_name["scaling_run_small_estimate_minutes"] - whole) <= 1e-12
    assert 0 < by_name["scaling_run_small_estimate_minutes_fastest"] <= whole + 1e-12
    assert by_name["scaling_recorded_loops_minutes"] > 0


def test_memory_limit_is_where_the_fitted_quadratic_reaches_it():
    from benchmarks.scaling import _n_at_quadratic

    sizes = [2500, 5000, 10000, 20000]
    peak = [0.3e9 + 2e4 * n + 10.0 * n * n for n in sizes]  # a baseline, the RLS state ~ N, synapses ~ N^2
    n = _n_at_quadratic(sizes, peak, 24e9)
    assert abs(0.3e9 + 2e4 * n + 10.0 * n * n - 24e9) < 1e-3 * 24e9
    assert _n_at_quadratic(sizes, [1e9] * 4, 24e9) > 1e9  # a flat peak (almost) never reaches the limit


def test_peak_memory_is_this_process_own_not_carried_over_from_its_parent():
    """ru_maxrss survives exec on Linux: a child of a big process would report the parent's memory."""
    import subprocess
    import sys

    import numpy as np

    from benchmarks.scaling import _peak_bytes

    big = np.ones(50_000_000)  # 400 MB resident in this process
    code = "from benchmarks.scaling import _peak_bytes; print(_peak_bytes())"
    child = int(subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.PIPE,
                               text=True).stdout)
    assert _peak_bytes() >= big.nbytes
    assert child < big.nbytes


def test_sweep_benchmark_times_every_backend_and_finds_the_same_scores():
    from benchmarks.sweep import bench_sweep

    rows = bench_sweep(rounds=1, grid={"N": [20], "tau_s": [20, 50]}, seeds=1, base={"n_loops": 1})
    figures = {name: value for name, value, _, _ in rows}
    assert set(figures) == {"sweep_one_process_seconds", "sweep_2_joblib_workers_seconds",
                            "sweep_localcluster_seconds", "sweep_speedup_2_joblib_workers",
                            "sweep_speedup_localcluster"}
    assert all(np.isfinite(v) and v > 0 for v in figures.values())


def test_lecture_benchmark_trains_the_page_headless_and_names_other_parameters_apart(monkeypatch, capsys):
    """`python -m benchmarks lecture-part3` builds the Part 3 lecture page and presses Train; here on a
    tiny network and the synthetic stand-in, so its figures must carry both in their names."""
    from benchmarks import lecture
    from tutorial_lib import BalancedParams

    monkeypatch.delenv("TUTORIAL_ALM_DATA", raising=False)
    monkeypatch.setenv("TUTORIAL_ALM_DOWNLOAD", "0")
    monkeypatch.delenv("TUTORIAL_SMOKE_TEST", raising=False)
    tiny = BalancedParams.lecture(N=400, K=40, L=5, n_trained=20, n_ffwd=20, n_loops=2, score_every=2,
                                  n_test_trials=2, train_duration=400.0)
    rows = lecture.bench_lecture_part3(params=tiny)
    assert "synthetic stand-in" in capsys.readouterr().err
    figures = {name: value for name, value, _, _ in rows}
    prefix = "lecture_part3_custom_synthetic"
    assert all(name.startswith(prefix) for name in figures), sorted(figures)
    train = figures[f"{prefix}_train_seconds"]
    assert train > figures[f"{prefix}_build_seconds"] > 0 and figures[f"{prefix}_loop0_seconds"] > 0
    assert figures[f"{prefix}_seconds_per_loop"] > 0 and -1 <= figures[f"{prefix}_test_score_avg"] <= 1
    assert "2 loops" in next(note for name, _, _, note in rows if name.endswith("_train_seconds"))


def test_lecture_benchmark_refuses_the_smoke_test_setting(monkeypatch):
    from benchmarks import lecture

    monkeypatch.setenv("TUTORIAL_SMOKE_TEST", "1")
    with pytest.raises(SystemExit, match="TUTORIAL_SMOKE_TEST"):
        lecture.bench_lecture_part3()
