"""Part 3: the balanced E-I network and its training on (synthetic) ALM targets (tutorial_lib.balanced)."""

import ast
import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tutorial_lib import BalancedParams
from tutorial_lib import balanced
from tutorial_lib.data import ALMData, synthetic_alm
from tutorial_lib.engine.rls_shared import SharedInputRLS
from tutorial_lib.engine.rls_state import BatchRLS
from tutorial_lib.storage import FormatError, save_arrays
from tutorial_lib.engine.siegert import siegert_inverse, siegert_rate

# Small and short: 800 neurons, K = 80, 40 trained neurons with 10 + 10 recurrent and 50 feedforward
# plastic inputs, 1.4 s trials (the training window starts 400 ms in, after the plastic traces have settled).
SMALL = BalancedParams(N=800, K=80, L=10, n_trained=40, stim_on=300.0, stim_off=400.0,
                       train_duration=1000.0, n_loops=10, ffwd=True, n_ffwd=50, inh_weight_ratio=None,
                       score_every=0, n_test_trials=3, seed=0)


def ramp_data(n=120, seed=0):
    """Synthetic targets: each neuron's input ramps up or down (random sign per condition) across the window.

    Random signs make the untrained network's input uncorrelated with the targets on average, and a slow
    ramp of 0.3 to 0.5 (in units of the threshold) stands out of the balanced network's fluctuations.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(101) * 20.0
    mean = rng.uniform(0.4, 0.7, n)
    u, r = {}, {}
    for c in ("right", "left"):
        slope = rng.uniform(0.3, 0.5, n) * rng.choice([-1.0, 1.0], n)
        u[c] = mean + slope * (t[:, None] / 2000.0 - 0.5)
        r[c] = siegert_rate(u[c])
    return ALMData(r, u, t, "synthetic ramps (tests)", synthetic=True)


@pytest.fixture(scope="module")
def data():
    return ramp_data()


@pytest.fixture(scope="module")
def net(data):
    return balanced.build_network(SMALL, data)


@pytest.fixture(scope="module")
def trained(net):
    return balanced.train(net, progress=False)


# ---------------------------------------------------------------------------
# The static network


def test_balance_equations_give_the_spec_rates():
    np.testing.assert_allclose(balanced.balance_rates(BalancedParams()), [7.5, 13.5], rtol=1e-12)
    # the K -> infinity rates do not depend on K or N: weights and input scale together
    np.testing.assert_allclose(balanced.balance_rates(BalancedParams(N=1000, K=100)), [7.5, 13.5], rtol=1e-12)


def test_connectivity_has_a_fixed_out_degree_without_autapses_and_spec_weights():
    p = BalancedParams(N=600, K=60)
    static = balanced.static_network(p)
    d = p.out_degree
    assert d == 120
    w = p.weights
    for ch, pre_range, (to_e, to_i) in ((static.exc, range(0, p.Ne), (w["EE"], w["IE"])),
                                        (static.inh, range(p.Ne, p.N), (w["EI"], w["II"]))):
        counts = np.diff(ch.ptr)
        assert np.all(counts[list(pre_range)] == d)  # every neuron of this type projects to d others
        assert counts.sum() == d * len(pre_range)
        for j in pre_range:
            post = ch.post[ch.ptr[j]:ch.ptr[j + 1]]
            assert j not in post and np.unique(post).size == d  # no autapse, no double synapse
            np.testing.assert_array_equal(ch.w[ch.ptr[j]:ch.ptr[j + 1]], np.where(post < p.Ne, to_e, to_i))
    deg = static.in_degree
    assert deg.mean(axis=0) == pytest.approx([p.K, p.K])
    np.testing.assert_array_equal(static.mu, np.where(np.arange(p.N) < p.Ne, p.mu_e, p.mu_i))
    assert p.mu_e == pytest.approx(1.5 * 0.12 * np.sqrt(60)) and p.je == pytest.approx(20 / np.sqrt(60))


@pytest.fixture(scope="module")
def static_runs():
    out = {}
    for K in (100, 400):
        p = BalancedParams(N=1000 if K == 100 else 2000, K=K)
        out[K] = balanced.simulate_static(balanced.static_network(p), T=1000.0)
    return out


def test_static_rates_follow_the_balance_equations(static_runs):
    for run in static_runs.values():
        pred_e, pred_i = run.prediction
        assert run.rate_e < run.rate_i
        assert pred_e / 1.5 < run.rate_e < pred_e * 1.5
        assert pred_i / 1.5 < run.rate_i < pred_i * 1.5


def test_large_e_and_i_inputs_cancel(static_runs):
    ratio = {}
    for K, run in static_runs.items():
        for pop in ("E", "I"):
            m = run.mean_inputs(pop)
            # external and inhibitory inputs are each O(sqrt(K)); what is left is O(1), below threshold-ish
            assert abs(m["net"]) < 1.0
            assert abs(m["inh"]) > 2 * abs(m["net"]) and m["mu"] > 2 * abs(m["net"])
        m = run.mean_inputs("E")
        ratio[K] = abs(m["net"]) / abs(m["inh"])
    assert ratio[400] < 0.7 * ratio[100]  # the cancellation gets relatively better as K grows


# ---------------------------------------------------------------------------
# Matching, plastic synapses, penalty


def test_rate_matching_is_greedy_from_the_highest_rate_and_one_to_one():
    rng = np.random.default_rng(0)
    alm = rng.lognormal(1.5, 0.7, 50)
    model = rng.lognormal(1.8, 0.5, 80)
    order, matched = balanced.match_rates(alm, model)
    assert np.all(np.diff(alm[order]) <= 0)  # highest ALM rate first
    assert np.unique(matched).size == 50  # distinct model neurons
    used = set()
    for a, j in zip(order, matched):
        free = [k for k in range(80) if k not in used]
        assert abs(model[j] - alm[a]) == min(abs(model[k] - alm[a]) for k in free)
        used.add(int(j))
    with pytest.raises(ValueError, match="cannot match 3 target neurons to 2"):
        balanced.match_rates([1, 2, 3], [1, 2])


def test_every_alm_neuron_gets_a_distinct_e_neuron_of_similar_rate(net):
    p = net.params
    assert net.trained.shape == (40,) and np.unique(net.trained).size == 40
    assert net.trained.min() >= 0 and net.trained.max() < p.Ne
    alm_rate = np.mean([net.alm.rates[c].mean(axis=0) for c in ("right", "left")], axis=0)
    assert np.all(np.diff(alm_rate) <= 1e-12)  # stored in matching order
    assert np.corrcoef(alm_rate, net.static_rates[net.trained])[0, 1] > 0.8


def test_the_most_modulated_alm_neurons_are_trained(net, data):
    mod = balanced.modulation(SMALL, data)
    top = np.sort(np.argsort(-mod)[:40])
    np.testing.assert_array_equal(np.sort(net.alm.neuron_ids), top)
    other = balanced.build_network(replace(SMALL, selection="random"), data)
    assert not np.array_equal(np.sort(other.alm.neuron_ids), top)


def test_targets_of_data_without_utarg_come_from_the_lif_transfer_function():
    alm = replace(synthetic_alm(n_neurons=30), utarg=None)  # the stand-in has utarg: drop it
    u = balanced.target_inputs(alm)
    np.testing.assert_allclose(u["left"], siegert_inverse(alm.rates["left"]))
    data = ramp_data(n=30)
    np.testing.assert_array_equal(balanced.target_inputs(data)["right"], data.utarg["right"])


def test_each_trained_neuron_has_L_plastic_e_inputs_from_other_trained_neurons_and_L_i_inputs(net):
    p = net.params
    L = p.L
    trained = set(net.trained.tolist())
    assert net.presyn.shape == (40, 2 * L)
    for k, i in enumerate(net.trained):
        e, inh = net.presyn[k, :L], net.presyn[k, L:]
        assert np.unique(e).size == L and set(e.tolist()) <= trained and i not in e
        assert np.unique(inh).size == L and np.all((inh >= p.Ne) & (inh < p.N))
    assert net.full_presyn.shape == (40, 2 * L + p.n_ffwd)
    ffwd = np.broadcast_to(p.N + np.arange(p.n_ffwd), (40, 50))
    np.testing.assert_array_equal(net.full_presyn[:, 2 * L:], ffwd)


def test_initial_plastic_weights():
    p = BalancedParams(N=1000, K=100, L=4, n_ffwd=3)
    w = balanced.initial_plastic_weights(p, 2)
    np.testing.assert_allclose(w[:, :4], p.je * np.sqrt(p.K) / (1.5 * np.sqrt(p.K)))
    np.testing.assert_allclose(w[:, 4:8], -p.ji * np.sqrt(p.K) / (1.5 * np.sqrt(p.K)) * 6.5 / 12.0)
    np.testing.assert_array_equal(w[:, 8:], 0.0)
    np.testing.assert_allclose(balanced.initial_plastic_weights(p, 2, ratio=1.0)[:, 4:8], -p.ji / 1.5)


def test_measured_weight_ratio_keeps_a_high_rate_trained_cluster_from_exciting_itself(net, data):
    p = net.params
    rates = net.static_rates
    assert net.inh_weight_ratio == pytest.approx(rates[net.trained].mean() / rates[p.Ne:].mean())
    assert rates[net.trained].mean() > 1.5 * rates[: p.Ne].mean()  # the trained neurons are fast ones

    def late_rate(network):
        trial = balanced.evaluate(network, n_trials=1).trials[0]
        t, r = trial.psth(network.trained, bin_ms=200.0, smooth_ms=0.0)
        return r[-2:].mean()

    static = rates[net.trained].mean()
    assert late_rate(net) < 1.2 * static  # stays put
    spec = balanced.build_network(replace(SMALL, inh_weight_ratio=6.5 / 12.0), data)
    assert late_rate(spec) > 2.0 * static  # with 6.5 / 12 the cluster's rates run up within the trial


def test_penalty_matrix_is_the_spec_one():
    p = BalancedParams(L=3, n_ffwd=4, lam_rec=0.04, mu_rs=8.0, lam_ff=1.0)
    one_e = np.r_[np.ones(3), np.zeros(3)]
    one_i = np.r_[np.zeros(3), np.ones(3)]
    expected = np.zeros((10, 10))
    expected[:6, :6] = 0.04 * np.eye(6) + 8.0 * (np.outer(one_e, one_e) + np.outer(one_i, one_i))
    expected[6:, 6:] = np.eye(4)
    np.testing.assert_array_equal(balanced.penalty_matrix(p), expected)
    np.testing.assert_array_equal(balanced.penalty_matrix(replace(p, ffwd=False)), expected[:6, :6])


def test_rls_starts_from_the_inverse_penalty_and_the_initial_weights(net):
    result = balanced.train(net, n_loops=0, progress=False)
    rls = result.rls
    m = SMALL.n_plastic
    assert isinstance(rls, SharedInputRLS)  # feedforward inputs: their block is held once
    for k in (0, 39):
        np.testing.assert_allclose(rls.P_of(k) @ balanced.penalty_matrix(SMALL), np.eye(m), atol=1e-8)
    np.testing.assert_array_equal(rls.w, result.network.w0)
    np.testing.assert_array_equal(rls.presyn, net.full_presyn)
    assert isinstance(balanced.make_rls(balanced.build_network(replace(SMALL, ffwd=False), net.alm)),
                      BatchRLS)


def test_the_shared_feedforward_block_gives_the_weights_of_one_P_per_neuron(net):
    # the block (Schur complement) form against the plain per-neuron RLS, over two training loops
    plain, block = net.copy(), net.copy()
    rls_plain = BatchRLS(net.full_presyn, balanced.penalty_matrix(net.params), w0=net.w)
    rls_block = balanced.make_rls(block, form="block")
    for loop in range(2):
        for c in ("right", "left"):
            balanced.run_trial(plain, c, rls_plain, loop=loop, keep_run=False)
            balanced.run_trial(block, c, rls_block, loop=loop, keep_run=False)
    assert np.abs(plain.dw).max() > 1e-3  # the weights did move
    np.testing.assert_allclose(block.w, plain.w, rtol=1e-6, atol=1e-6 * np.abs(plain.w).max())
    np.testing.assert_allclose(rls_block.P_of(7), rls_plain.P[7], rtol=1e-6,
                               atol=1e-6 * np.abs(rls_plain.P[7]).max())
    # a file of format 1 (full P per neuron) converts to the same block state
    full = np.stack([rls_block.P_of(k) for k in range(net.n_trained)])
    for name, arr in balanced.block_state(full, 2 * net.params.L).items():
        np.testing.assert_allclose(arr, rls_block.state()[name], rtol=1e-6, atol=1e-9 * np.abs(full).max())


# ---------------------------------------------------------------------------
# Feedforward inputs, trials, score


def test_feedforward_rates_are_a_smooth_rectified_process_around_the_mean():
    p = replace(SMALL, ffwd=True, n_ffwd=200, train_duration=2000.0)
    r = balanced.ffwd_rate_process(p, np.random.default_rng(0))
    assert r.shape == (2000, 200) and r.min() >= 0
    assert r.mean() == pytest.approx(5.0, abs=0.5)
    assert 1.0 < r.std() < 4.0  # OU std sqrt(0.2^2 * 400 / 2) = 2.8 Hz at most
    assert np.abs(np.diff(r, axis=0)).max() < 0.5  # smoothed over +-50 ms


def test_feedforward_spikes_fall_in_the_training_window_at_their_rates(net):
    p = net.params
    times, sources = net.ffwd_spikes("right", np.random.default_rng(1))
    assert times.min() > p.stim_off and times.max() <= p.t_end
    assert sources.min() >= p.N and sources.max() < p.N + p.n_ffwd
    expected = net.ffwd_rates["right"].sum() / 1000.0  # rates (Hz) summed over 1 ms bins
    assert times.size == pytest.approx(expected, rel=0.1)


@pytest.mark.parametrize("dt", [0.1, 0.4])  # 0.4: runs of 2 and 3 steps on a grid point (no broadcast)
def test_feedforward_spikes_are_the_plain_step_by_step_draws(net, dt):
    """The same spikes as comparing every step's uniform draws with its own row of probabilities."""
    from tutorial_lib.balanced.plastic import FFWD_GRID_MS

    other = replace(net, params=replace(net.params, dt=dt, record_every=2.0)) if dt != net.params.dt else net
    p = other.params
    times, sources = other.ffwd_spikes("left", np.random.default_rng(7))
    rng = np.random.default_rng(7)
    rates = other.ffwd_rates["left"]
    n0, n1 = round(p.stim_off / p.dt), round(p.t_end / p.dt)
    want_t, want_s = [], []
    for s in range(n0, n1, 2000):  # the chunks of the draws
        steps = np.arange(s, min(s + 2000, n1))
        k = np.minimum(((steps - n0) * p.dt + 1e-9) // FFWD_GRID_MS, rates.shape[0] - 1).astype(np.int64)
        n, a = np.nonzero(rng.random((steps.size, rates.shape[1])) < rates[k] * (p.dt / 1000.0))
        want_t.append((steps[n] + 1) * p.dt)
        want_s.append(p.N + a)
    assert times.size > 50
    np.testing.assert_array_equal(times, np.concatenate(want_t))
    np.testing.assert_array_equal(sources, np.concatenate(want_s))


def test_window_average():
    t = np.arange(0.0, 100.0, 1.0)
    x = np.stack([t, np.ones_like(t)], axis=1)
    avg = balanced.window_average(t, x, np.array([10.0, 50.0, 98.0]), 5.0, 0.0, 100.0)
    np.testing.assert_allclose(avg[:, 0], [np.mean(np.arange(5, 15)), np.mean(np.arange(45, 55)),
                                           np.mean(np.arange(93, 100))])
    np.testing.assert_allclose(avg[:, 1], 1.0)


@pytest.mark.parametrize("half_width,lo,hi", [(50.0, 1000.0, 3000.0), (5.0, 0.0, 70.0), (30.0, 2.5, 2999.0)])
def test_window_average_sums_as_cumsum_does_to_the_bit(half_width, lo, hi):
    """The row-by-row sums kept at the window bounds are np.cumsum's (the score must not change)."""
    t = np.arange(0.0, 3000.0, 1.0)
    x = np.random.default_rng(1).normal(0.0, 3.0, (t.size, 9)) + 1e3
    centres = np.arange(lo, hi, 20.0)
    c = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    a = np.searchsorted(t, np.maximum(centres - half_width, lo) - 1e-9)
    b = np.searchsorted(t, np.minimum(centres + half_width, hi) - 1e-9)
    want = (c[b] - c[a]) / (b - a)[:, None]
    np.testing.assert_array_equal(balanced.window_average(t, x, centres, half_width, lo, hi), want)
    np.testing.assert_array_equal(balanced.window_average(t, x[:, ::2], centres, half_width, lo, hi), want[:, ::2])


def test_the_rls_error_is_total_input_minus_target(net):
    # other = mu + x_E + x_I (+ stimulus), plastic = recurrent + feedforward: the error is their sum minus f
    net = net.copy()
    rls = BatchRLS(net.full_presyn, balanced.penalty_matrix(net.params), w0=net.w)
    trial = balanced.run_trial(net, "left", rls, loop=0)
    run = trial.run
    rows = np.searchsorted(run.t, net.params.learn_times)
    R = net.n_trained
    total = run.external[rows, :R] + run.currents[rows, :, :R].sum(axis=1)
    np.testing.assert_allclose(trial.errors, total - net.targets["left"], atol=1e-12)
    assert run.channels == ("excitatory", "inhibitory", "plastic")
    assert np.all(run.currents[:, 2, :R][run.t > net.params.stim_off + 300] != 0)


def test_training_raises_the_score(net, trained):
    before = balanced.evaluate(net, n_trials=3)
    after = trained.test(n_trials=3)
    assert abs(before.score_avg) < 0.2  # random signs: the untrained input does not follow the ramps
    assert after.score_avg > before.score_avg + 0.25
    assert after.score_avg > 0.3
    assert np.mean(trained.scores[-3:]) > np.mean(trained.scores[:3]) + 0.1
    assert after.binned.shape == (3, SMALL.n_learn, 40) and len(after.trials) == 1
    # the trial-averaged input is the mean of the single trials
    np.testing.assert_allclose(after.mean_input, after.binned.mean(axis=0))
    assert after.score == pytest.approx(after.scores[0])


def test_training_changes_only_the_plastic_weights(net, trained):
    assert np.any(trained.network.dw != 0)
    np.testing.assert_array_equal(net.w, net.w0)  # train() worked on a copy
    assert trained.network.static is net.static


@pytest.mark.parametrize("kind", ["training", "test"])
def test_a_trial_that_keeps_no_record_is_the_same_trial_to_the_bit(net, kind):
    """Without ``keep_run`` (or with ``spikes_only``) the engine records only the total input the score
    needs: spikes, windowed inputs, scores, RLS errors and learned weights stay those of the full record."""
    got = {}
    for how in ({}, dict(keep_run=False), dict(spikes_only=True), dict(keep_run=False, record="all")):
        n = net.copy()
        rls = balanced.make_rls(n) if kind == "training" else None
        trials = [balanced.run_trial(n, c, rls, loop=1, **how) for c in ("right", "left")]
        got[str(how)] = (trials, n.w)
    (full, w_full), *others = got.values()
    assert all(tr.run is not None for tr in full)
    for trials, w in others:
        np.testing.assert_array_equal(w, w_full)
        for a, b in zip(full, trials):
            assert b.run is None
            np.testing.assert_array_equal(b.spike_times, a.spike_times)
            np.testing.assert_array_equal(b.spike_neurons, a.spike_neurons)
            np.testing.assert_array_equal(b.binned, a.binned)
            np.testing.assert_array_equal(b.corr, a.corr)
            if kind == "training":
                np.testing.assert_array_equal(b.errors, a.errors)


def test_training_keeps_the_record_of_the_last_loop_only(net):
    seen = []
    result = balanced.train(net, n_loops=3, callback=lambda loop, rec, s: seen.append(rec), progress=False)
    assert [all(tr.run is not None for tr in rec.trials.values()) for rec in seen] == [False, False, True]
    assert all(tr.run is None for rec in seen[:2] for tr in rec.trials.values())
    assert result.last is seen[-1]
    np.testing.assert_array_equal(result.last.trials["right"].recorded, net.recorded)


def test_tests_every_score_every_loops(data):
    p = replace(SMALL, score_every=2, n_test_trials=2, n_loops=4, ffwd=False)
    result = balanced.train(p, data=data, progress=False)
    np.testing.assert_array_equal(result.test_loops, [2, 4])
    assert result.test_scores.shape == result.test_scores_avg.shape == (2,)
    assert result.loop_seconds.shape == (4,) and result.scores.shape == (4,)
    more = balanced.train(result, n_loops=2, progress=False)  # continues the loop count and history
    np.testing.assert_array_equal(more.test_loops, [2, 4, 6])
    np.testing.assert_array_equal(more.scores[:4], result.scores)


def test_callback_can_stop_training(net):
    seen = []
    result = balanced.train(net, callback=lambda loop, rec, s: seen.append(rec.score) or loop < 1,
                            progress=False)
    assert result.stopped and result.scores.shape == (2,) and len(seen) == 2


def test_same_seed_gives_the_same_spikes(trained):
    a = trained.test(n_trials=1)
    b = trained.test(n_trials=1)
    np.testing.assert_array_equal(a.trials[0].spike_times, b.trials[0].spike_times)
    np.testing.assert_array_equal(a.trials[0].spike_neurons, b.trials[0].spike_neurons)


# ---------------------------------------------------------------------------
# Saving and loading


def test_save_and_load_give_identical_activity(trained, tmp_path):
    path = trained.save(tmp_path / "net")
    assert path.name == "net.npz"
    loaded = balanced.load(path)
    assert loaded.params == trained.params
    np.testing.assert_array_equal(loaded.network.w, trained.network.w)
    np.testing.assert_array_equal(loaded.scores, trained.scores)
    for name, arr in trained.rls.state().items():
        np.testing.assert_array_equal(loaded.rls.state()[name], arr)
    a, b = trained.test(n_trials=2), loaded.test(n_trials=2)
    np.testing.assert_array_equal(a.binned, b.binned)
    np.testing.assert_array_equal(a.trials[0].spike_times, b.trials[0].spike_times)
    np.testing.assert_array_equal(a.trials[0].spike_neurons, b.trials[0].spike_neurons)
    # training continues exactly as it would have without the round trip
    c, d = (balanced.train(r, n_loops=1, progress=False) for r in (trained, loaded))
    np.testing.assert_array_equal(c.network.w, d.network.w)


def test_a_network_without_training_history_can_be_saved(net, tmp_path):
    loaded = balanced.load(balanced.save(net, tmp_path / "untrained.npz"))
    assert loaded.scores.size == 0 and loaded.rls is None
    np.testing.assert_array_equal(loaded.network.static.exc.post, net.static.exc.post)
    np.testing.assert_array_equal(loaded.network.targets["left"], net.targets["left"])


def test_the_file_is_versioned_and_written_atomically(trained, tmp_path, monkeypatch):
    path = trained.save(tmp_path / "net.npz", include_rls=False)
    with np.load(path) as z:
        assert int(z["__format_version__"]) == balanced.FORMAT_VERSION
        assert not [f for f in z.files if f.startswith("rls_")]
    before = path.read_bytes()

    def broken(f, **arrays):
        f.write(b"partial")
        raise OSError("disk full")

    from tutorial_lib import storage

    monkeypatch.setattr(storage.np, "savez_compressed", broken)
    with pytest.raises(OSError, match="disk full"):
        trained.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["net.npz"]
    monkeypatch.undo()
    newer = save_arrays(tmp_path / "newer.npz", {"w": np.zeros(1)}, kind="balanced-network", version=99)
    with pytest.raises(FormatError, match="format version 99"):
        balanced.load(newer)
    other = save_arrays(tmp_path / "other.npz", {"w": np.zeros(1)}, kind="rate-network", version=1)
    with pytest.raises(FormatError, match="not a 'balanced-network'"):
        balanced.load(other)
    meta = {"params": {"class": "BalancedParams", "values": {}}}
    incomplete = save_arrays(tmp_path / "incomplete.npz", {"w": np.zeros(1)}, kind="balanced-network",
                             version=balanced.FORMAT_VERSION, meta=meta)
    with pytest.raises(FormatError, match="incomplete"):
        balanced.load(incomplete)


# ---------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("changes, message", [
    (dict(K=600), r"K \(excitatory inputs per neuron\) must be in \[1, 499\]"),
    (dict(K=0), r"K \(excitatory inputs per neuron\) must be >= 1"),
    (dict(L=600), r"L \(plastic inputs of each type\) must be in \[1, Ni = 500\]"),
    (dict(n_trained=501), r"n_trained \(ALM neurons trained\) must be in \[L \+ 1, Ne\] = \[21, 500\]"),
    (dict(n_trained=10), r"n_trained .* must be in \[L \+ 1, Ne\]"),
    (dict(lam_rec=0.0), r"lam_rec \(RLS penalty\) must be > 0"),
    (dict(lam_ff=-1.0), r"lam_ff \(RLS penalty\) must be > 0"),
    (dict(mu_rs=-8.0), r"mu_rs \(row-sum penalty\) must be >= 0"),
    (dict(frac_exc=1.0), r"frac_exc \(fraction of E neurons\) must be in \(0, 1\)"),
    (dict(frac_exc=0.9995), r"frac_exc must leave at least one E and one I neuron"),
    (dict(selection="best"), r"selection must be one of 'modulated', 'random'"),
    (dict(ffwd="yes"), r"ffwd \(feedforward inputs on/off\) must be True or False"),
    (dict(tau_syn=0.05), r"tau_syn must be >= dt"),
    (dict(learn_every=20.05), r"learn_every must be a positive whole multiple of dt"),
    (dict(stim_off=700.0), r"stim_off must be > stim_on"),
    (dict(n_test_trials=0), r"n_test_trials \(test trials\) must be in"),
    (dict(g=0.0), r"g must be > 0"),
])
def test_bad_parameters_raise_value_error_naming_them(changes, message):
    with pytest.raises(ValueError, match=message):
        BalancedParams(**dict(dict(N=1000, K=100), **changes))


def test_data_that_do_not_fit_raise_value_error_naming_the_parameter(data):
    with pytest.raises(ValueError, match=r"n_trained .* must be in \[L \+ 1, 120\]: the data hold 120"):
        balanced.build_network(replace(SMALL, n_trained=200), data)
    with pytest.raises(ValueError, match=r"n_trained \(None: all 120 ALM neurons\) must be <= Ne = 100"):
        balanced.build_network(replace(SMALL, N=200, K=50, n_trained=None), data)
    with pytest.raises(ValueError, match=r"train_duration must be <= 2020 ms"):
        balanced.build_network(replace(SMALL, train_duration=2500.0), data)
    with pytest.raises(ValueError, match="condition must be one of"):
        balanced.run_trial(balanced.build_network(SMALL, data), "up")


def test_lecture_configuration():
    p = BalancedParams.lecture()
    assert (p.N, p.K, p.L, p.n_trained, p.selection) == (2000, 200, 20, 100, "modulated")
    assert p.ffwd and p.n_ffwd == 100 and p.inh_weight_ratio is None
    assert BalancedParams.lecture(n_loops=5).n_loops == 5


def test_float32_rls_state_trains_the_same_weights_within_a_stated_tolerance(data):
    # Storing the RLS state in float32 (the arithmetic stays float64) over a 10-loop training run:
    # the trained weights stay within 1e-4 of the float64 run, relative to their largest change
    # (measured: 1.2e-6).
    p = replace(SMALL, n_loops=10)
    net = balanced.build_network(p, data)
    r64 = balanced.train(net, progress=False)
    r32 = balanced.train(balanced.BalancedNetwork(**{**net.__dict__, "params": replace(p, rls_precision="float32")}),
                         progress=False)
    assert r32.rls.Pr.dtype == np.float32 and r32.rls.H.dtype == np.float32  # the default (pooled) form
    assert r64.rls.H.nbytes == 2 * r32.rls.H.nbytes
    change = np.abs(r64.network.dw).max()
    assert change > 0.01
    assert np.abs(r32.network.w - r64.network.w).max() < 1e-4 * change
    np.testing.assert_allclose(r32.scores, r64.scores, atol=1e-4)


# --- the modules' order, as balanced/__init__ states it ------------------------------------------------



def _package_imports(path: Path) -> set:
    """Modules of the same package that ``path`` imports anywhere (top level or inside a function)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            out |= {node.module} if node.module else {a.name for a in node.names}
    return out


def test_the_modules_import_only_those_listed_before_them_in_the_package_docstring():
    """No cycle inside balanced/: the docstring's order is checked against the imports, also those inside
    functions, so that neither can drift from the other."""
    listed = re.findall(r"^\* :mod:`\.(\w+)`: (.*)$", balanced.__doc__, flags=re.M)
    order = [name for name, _ in listed]
    folder = Path(balanced.__file__).parent
    assert set(order) == {p.stem for p in folder.glob("*.py")} - {"__init__"}
    for k, (name, said) in enumerate(listed):
        imported = _package_imports(folder / f"{name}.py")
        assert imported <= set(order[:k]), f"{name} imports {sorted(imported - set(order[:k]))}, listed after it"
        named = set() if said.startswith("none") else {w.strip() for w in said.split(";")[0].split(",")}
        assert imported == named, f"{name}: the docstring says {sorted(named)}, the code imports {sorted(imported)}"

