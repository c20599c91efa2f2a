"""The benchmark command runs and prints its figures as `name value unit` lines (no speed is asserted)."""

import json
import re

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
    assert figures["part3_forms_small_static_cpu_seconds"] > 0
    for form in ("block", "pooled", "pooled32"):
        assert figures[f"part3_forms_small_{form}_trial_cpu_seconds"] > figures[f"part3_forms_small_{form}_rls_cpu_seconds"] > 0
        assert figures[f"part3_forms_small_{form}_trial_over_static_cpu"] > 0
    assert figures["part3_forms_small_block_over_pooled_trial_cpu"] > 0
    assert not any(name.startswith("part3_forms_static") for name in figures)  # never named as full scale


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
