"""Part 4, weights and populations (tutorial_lib.balanced.weights, issue #13 item 1): Dale's law summaries,
effective (static + plastic) weights, named populations, and sign-constrained training."""

from dataclasses import replace

import numpy as np
import pytest

from tutorial_lib import BalancedParams, balanced
from tutorial_lib.data import CONDITIONS, synthetic_alm
from tutorial_lib.engine.rls_state import BatchRLS
from tutorial_lib.engine.lif_data import Learning, Synapses

# the pinned Part 3 configuration: 300 neurons, 20 trained with 5 + 5 recurrent and 10 feed-forward inputs
TINY = BalancedParams(N=300, K=30, L=5, n_trained=20, stim_on=100.0, stim_off=200.0, train_duration=400.0,
                      n_loops=2, score_every=0, n_ffwd=10, seed=4)


@pytest.fixture(scope="module")
def data():
    return synthetic_alm(n_neurons=60, seed=1)


@pytest.fixture(scope="module")
def net(data):
    return balanced.build_network(TINY, data)


@pytest.fixture(scope="module")
def runs(data):
    """Two loops unconstrained and two sign-constrained, from the same network."""
    return {flag: balanced.train(replace(TINY, sign_constrained=flag), data=data, progress=False)
            for flag in (False, True)}


# ---------------------------------------------------------------------------
# A hand-built network with known signs


def hand_built():
    """N = 10 (E 0-4, I 5-9), trained E neurons 0, 1, 2 with L = 2 plastic E and I inputs each, no ffwd.

    Static synapses: 1 -> 0 (E, +0.5), 6 -> 0 (I, -0.5), 0 -> 2 (E, +3.0), and 7 -> 2 twice (I, +1 and +1:
    a hand-built channel may repeat a pair; they add up).
    """
    p = BalancedParams(N=10, K=2, L=2, n_trained=3, ffwd=False)
    exc = Synapses.from_pairs([1, 0], [0, 2], [0.5, 3.0], 10, p.tau_syn, name="excitatory")
    inh = Synapses.from_pairs([6, 7, 7], [0, 2, 2], [-0.5, 1.0, 1.0], 10, p.tau_syn, name="inhibitory")
    static = balanced.StaticNetwork(p, exc, inh, np.ones(10))
    trained = np.array([0, 1, 2])
    presyn = np.array([[1, 2, 5, 6],
                       [0, 2, 6, 7],
                       [0, 1, 7, 8]])
    w0 = np.tile([1.0, 1.0, -1.0, -1.0], (3, 1))
    w = np.array([[0.5, -0.2, -1.0, -0.1],     # E: 0.5 kept, -0.2 flipped; I: both kept
                  [0.0, 2.0, 0.3, -2.0],       # E: 0 (zero), 2 kept; I: 0.3 flipped, -2 kept
                  [-1.0, 1.0, -0.5, 0.0]])     # E: -1 flipped (static +3 -> effective +2), 1 kept;
    n_t = p.learn_times.size                    # I: -0.5 kept (static +2 -> effective +1.5), 0 zero
    targets = {"right": np.tile([1.0, 0.0, 0.5], (n_t, 1)), "left": np.tile([0.0, 1.0, 0.5], (n_t, 1))}
    return balanced.BalancedNetwork(p, static, np.zeros(10), None, targets, trained, presyn, w, w0,
                                    {c: np.zeros(10) for c in CONDITIONS}, None, np.array([3, 9]))


def test_dale_summary_counts_the_signs_of_a_hand_built_network():
    s = balanced.dale_summary(hand_built())
    e, i = s["E"], s["I"]
    assert (e["n"], i["n"], e["n_static"], i["n_static"]) == (6, 6, 2, 2)
    assert e["plastic_before"] == 1.0 and i["plastic_before"] == 1.0
    assert e["plastic_after"] == pytest.approx(3 / 6) and i["plastic_after"] == pytest.approx(4 / 6)
    assert e["zero_after"] == pytest.approx(1 / 6) and i["zero_after"] == pytest.approx(1 / 6)
    assert e["flipped_after"] == pytest.approx(2 / 6) and i["flipped_after"] == pytest.approx(1 / 6)
    # effective: E 1->0 gets +0.5 (0.5 -> 1.0, kept), 0->2 gets +3 (-1 -> 2, now kept): 4 of 6
    assert e["effective_after"] == pytest.approx(4 / 6)
    # I 6->0 gets -0.5 (-0.1 -> -0.6, kept), 7->2 gets +2 (-0.5 -> 1.5, now flipped): 3 of 6
    assert i["effective_after"] == pytest.approx(3 / 6)
    # before: E 1 + 0.5, 1 + 3 kept; I -1 - 0.5 kept, -1 + 2 = +1 flipped
    assert e["effective_before"] == 1.0 and i["effective_before"] == pytest.approx(5 / 6)
    assert e["mean_after"] == pytest.approx(np.mean([0.5, -0.2, 0.0, 2.0, -1.0, 1.0]))
    assert i["mean_before"] == -1.0


def test_static_pair_weights_find_the_pairs_and_add_repeated_synapses():
    S = balanced.static_pair_weights(hand_built())
    expect = np.zeros((3, 4))
    expect[0, 0], expect[0, 3], expect[2, 0], expect[2, 2] = 0.5, -0.5, 3.0, 2.0
    np.testing.assert_array_equal(S, expect)


def test_effective_weights_equal_a_dense_reconstruction(net):
    net = net.copy()
    net.w[...] = np.random.default_rng(0).normal(size=net.w.shape)
    dense = net.static.exc.dense() + net.static.inh.dense()  # W[i, j] from j to i
    expect = net.w[:, : 2 * TINY.L] + dense[net.trained[:, None], net.presyn]
    np.testing.assert_allclose(balanced.effective_weights(net), expect, rtol=0, atol=1e-12)
    np.testing.assert_allclose(balanced.effective_weights(net, net.w0),
                               net.w0[:, : 2 * TINY.L] + dense[net.trained[:, None], net.presyn], atol=1e-12)
    assert np.count_nonzero(balanced.static_pair_weights(net)) > 0  # some plastic pairs have a static one too
    with pytest.raises(ValueError, match="^w must have shape"):
        balanced.effective_weights(net, net.w[:, :3])


def test_functions_take_a_train_result_and_refuse_other_objects(runs):
    res = runs[False]
    assert balanced.dale_summary(res) == balanced.dale_summary(res.network)
    with pytest.raises(TypeError, match="net"):
        balanced.dale_summary(TINY)
    with pytest.raises(TypeError, match="net"):
        balanced.named_populations("network")


# ---------------------------------------------------------------------------
# Populations


def test_named_populations_partition_e_and_i(net):
    pops = balanced.named_populations(net)
    N, Ne = TINY.N, TINY.Ne
    np.testing.assert_array_equal(pops["all"], np.arange(N))
    np.testing.assert_array_equal(np.union1d(pops["E"], pops["I"]), pops["all"])
    assert np.intersect1d(pops["E"], pops["I"]).size == 0 and pops["E"].max() < Ne <= pops["I"].min()
    np.testing.assert_array_equal(pops["trained E"], net.trained)
    np.testing.assert_array_equal(np.union1d(pops["trained E"], pops["untrained E"]), pops["E"])
    assert np.intersect1d(pops["trained E"], pops["untrained E"]).size == 0
    right, left = pops["prefers right"], pops["prefers left"]
    assert np.intersect1d(right, left).size == 0 and set(right) | set(left) <= set(net.trained)


def test_preferences_follow_the_mean_target_right_minus_left(net):
    pref = balanced.target_preference(net)
    expect = net.targets["right"].mean(axis=0) - net.targets["left"].mean(axis=0)
    np.testing.assert_allclose(pref, expect, rtol=1e-12)
    pops = balanced.named_populations(net)
    np.testing.assert_array_equal(pops["prefers right"], net.trained[expect > 0])
    np.testing.assert_array_equal(pops["prefers left"], net.trained[expect < 0])
    assert pops["prefers right"].size and pops["prefers left"].size  # both occur: the test can fail


def test_preference_window_and_the_hand_built_preferences():
    net = hand_built()
    pops = balanced.named_populations(net)
    np.testing.assert_array_equal(pops["prefers right"], [0])
    np.testing.assert_array_equal(pops["prefers left"], [1])  # neuron 2: equal means, neither
    t = net.params.learn_times
    net.targets["right"][t >= 2000.0, 0] = -10.0  # prefers left late in the trial
    assert balanced.target_preference(net, (2000.0, 3000.0))[0] == -10.0
    assert balanced.target_preference(net, (1000.0, 2000.0))[0] == 1.0
    with pytest.raises(ValueError, match="^window"):
        balanced.target_preference(net, (0.0, 500.0))


def test_synapse_table_lists_every_plastic_i_synapse(runs):
    net = runs[False].network
    tab = balanced.synapse_table(net, "I")
    L, R = TINY.L, net.n_trained
    assert all(a.shape == (R * L,) for a in tab.values())
    k = 7 * L + 3  # row 7, fourth I input
    assert tab["row"][k] == 7 and tab["post"][k] == net.trained[7] and tab["pre"][k] == net.presyn[7, L + 3]
    assert tab["w"][k] == net.w[7, L + 3] and tab["w0"][k] == net.w0[7, L + 3]
    np.testing.assert_array_equal(tab["dw"], tab["w"] - tab["w0"])
    assert np.all(tab["pre"] >= TINY.Ne) and np.any(tab["dw"] != 0)
    assert np.all(balanced.synapse_table(net, "E")["pre"] < TINY.Ne)
    with pytest.raises(ValueError, match="^kind"):
        balanced.synapse_table(net, "ffwd")


# ---------------------------------------------------------------------------
# Sign-constrained training


def test_sign_constrained_training_keeps_every_sign_and_the_unconstrained_one_does_not(runs):
    L = TINY.L
    free, clipped = runs[False].network.w, runs[True].network.w
    assert np.all(clipped[:, :L] >= 0) and np.all(clipped[:, L: 2 * L] <= 0)
    assert np.any(clipped[:, :2 * L] == 0)  # the clip acted
    np.testing.assert_array_equal(runs[True].rls.w, clipped)  # the RLS state holds the clipped weights
    assert np.any(free[:, :L] < 0) or np.any(free[:, L: 2 * L] > 0)  # at this size RLS flips some
    assert np.any(clipped[:, 2 * L:] < 0) and np.any(clipped[:, 2 * L:] > 0)  # feed-forward weights are free
    assert balanced.dale_summary(runs[True])["I"]["flipped_after"] == 0.0
    assert balanced.dale_summary(runs[False])["I"]["flipped_after"] > 0.0


def test_sign_constraint_is_off_by_default_and_named_in_its_bounds():
    assert BalancedParams().sign_constrained is False and BalancedParams.lecture().sign_constrained is False
    w_min, w_max = balanced.sign_bounds(TINY)
    L = TINY.L
    assert w_min.shape == w_max.shape == (TINY.n_plastic,)
    assert np.all(w_min[:L] == 0) and np.all(np.isinf(w_max[:L]))
    assert np.all(np.isinf(w_min[L: 2 * L])) and np.all(w_max[L: 2 * L] == 0)
    assert np.all(np.isinf(w_min[2 * L:])) and np.all(np.isinf(w_max[2 * L:]))
    with pytest.raises(ValueError, match="sign_constrained"):
        BalancedParams(sign_constrained=1)


def test_learning_checks_its_clip_bounds():
    rls = BatchRLS(np.array([[0, 1, 2], [1, 2, 3]]), 1.0)
    assert Learning(rls, np.array([1.0]), np.zeros((1, 2))).w_min is None
    with pytest.raises(ValueError, match="w_min must broadcast"):
        Learning(rls, np.array([1.0]), np.zeros((1, 2)), w_min=np.zeros(4))
    with pytest.raises(ValueError, match="w_max must not hold NaN"):
        Learning(rls, np.array([1.0]), np.zeros((1, 2)), w_max=np.array([np.nan, 0, 0]))
    with pytest.raises(ValueError, match="w_min must be <= "):
        Learning(rls, np.array([1.0]), np.zeros((1, 2)), w_min=np.ones(3), w_max=np.zeros(3))
    lrn = Learning(rls, np.array([1.0]), np.zeros((1, 2)), w_min=np.array([0.0, -np.inf, -1.0]))
    w = np.array([[-1.0, -1.0, -2.0], [2.0, -3.0, 0.5]])
    lrn.clip(w)
    np.testing.assert_array_equal(w, [[0.0, -1.0, -1.0], [2.0, -3.0, 0.5]])


def test_sign_constraint_survives_saving_and_continued_training(runs, tmp_path):
    path = runs[True].save(tmp_path / "clipped.npz")
    again = balanced.load(path)
    assert again.params.sign_constrained is True
    more = balanced.train(again, n_loops=1, progress=False)
    L = TINY.L
    assert np.all(more.network.w[:, :L] >= 0) and np.all(more.network.w[:, L: 2 * L] <= 0)
    assert np.any(more.network.w != runs[True].network.w)  # it did train
