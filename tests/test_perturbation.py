"""Part 4's engine: perturbations, recording what is asked for, and the input split by source.

(The engine against its NumPy backend with perturbations is in tests/test_spiking.py.)
"""

import numpy as np
import pytest

from tutorial_lib import BalancedParams, balanced
from tutorial_lib.balanced import Perturbation, populations
from tutorial_lib.balanced import trials as trials_module
from tutorial_lib.balanced.network import network_of
from tutorial_lib.balanced.perturbation import base_populations, resolve_named
from tutorial_lib.data import synthetic_alm
from tutorial_lib.engine.lif_inputs import perturbation_list
from tutorial_lib.engine.rls_shared import SharedInputRLS

# Small and short: 400 neurons, 20 trained with 5 + 5 recurrent and 10 feed-forward plastic inputs, 0.8 s trials.
SMALL = BalancedParams(N=400, K=40, L=5, n_trained=20, stim_on=100.0, stim_off=200.0, train_duration=600.0,
                       n_loops=1, ffwd=True, n_ffwd=10, inh_weight_ratio=None, score_every=0, n_test_trials=2,
                       seed=2)
SOURCES = ("external", "static E", "static I", "plastic E", "plastic I", "feed-forward")


@pytest.fixture(scope="module")
def net():
    net = balanced.build_network(SMALL, synthetic_alm(n_neurons=60, seed=1))
    # one training loop, so the plastic weights differ from their start and the plastic inputs carry a signal
    balanced.run_trial(net, "right", balanced.make_rls(net), loop=0)
    return net


@pytest.fixture(scope="module")
def base(net):
    return balanced.run_trial(net, "right", loop=3)


def _same_trial(a, b):
    np.testing.assert_array_equal(a.spike_times, b.spike_times)
    np.testing.assert_array_equal(a.spike_neurons, b.spike_neurons)
    np.testing.assert_array_equal(a.binned, b.binned)
    np.testing.assert_array_equal(a.run.v, b.run.v)
    np.testing.assert_array_equal(a.run.currents, b.run.currents)
    np.testing.assert_array_equal(a.run.external, b.run.external)


# ---------------------------------------------------------------------------
# Perturbations


@pytest.mark.parametrize("pert", [
    Perturbation("I", 0.0, 300.0, 500.0),  # zero current, inside the run
    Perturbation("all", 5.0, 800.0, 900.0),  # starts at the end of the run
    Perturbation("trained", -50.0, 1000.0, 2000.0),  # after the run
], ids=["zero-current", "at-the-end", "after-the-run"])
def test_a_perturbation_that_does_not_act_changes_nothing_bit_for_bit(net, base, pert):
    _same_trial(balanced.run_trial(net, "right", loop=3, perturbations=pert), base)


def test_a_current_to_the_i_cells_changes_their_external_input_by_delta_in_the_window_only(net, base):
    delta, (a, b) = 0.375, (300.0, 500.0)
    tr = balanced.run_trial(net, "right", loop=3, perturbations=[Perturbation("I", delta, a, b)])
    t = tr.run.t
    diff = tr.run.external - base.run.external  # the same columns: default recording
    is_i = tr.recorded >= SMALL.Ne
    inside = (t >= a) & (t < b)
    assert is_i.any() and (~is_i).any()
    np.testing.assert_allclose(diff[np.ix_(inside, is_i)], delta, rtol=0, atol=1e-12)  # mu + delta - mu
    assert np.all(diff[:, ~is_i] == 0.0) and np.all(diff[~inside] == 0.0)
    # nothing differs before the window; the network responds within it
    before = base.spike_times <= a
    np.testing.assert_array_equal(tr.spike_times[tr.spike_times <= a], base.spike_times[before])
    np.testing.assert_array_equal(tr.run.v[t <= a], base.run.v[t <= a])
    i_cells = populations(net)["I"]
    in_win = lambda trial: np.isin(trial.spike_neurons, i_cells) & (trial.spike_times > a) & (trial.spike_times <= b)
    assert in_win(tr).sum() != in_win(base).sum()


def test_silencing_the_trained_cells_stops_their_spikes_within_a_few_ms(net, base):
    a, b = 300.0, 600.0
    tr = balanced.run_trial(net, "right", loop=3, perturbations=Perturbation("trained", -100.0, a, b))
    trained = np.isin(tr.spike_neurons, net.trained)
    assert np.sum(np.isin(base.spike_neurons, net.trained) & (base.spike_times > a) & (base.spike_times <= b)) > 20
    assert np.sum(trained & (tr.spike_times > a + 2.0) & (tr.spike_times <= b)) == 0
    assert np.sum(trained & (tr.spike_times > b)) > 0  # they fire again afterwards
    assert np.sum(trained & (tr.spike_times <= a)) > 0


def _close(a, b, atol=1e-12):
    np.testing.assert_allclose(a, np.broadcast_to(b, a.shape), rtol=0, atol=atol)


def test_overlapping_perturbations_add(net):
    n = np.arange(0, 40, 3)
    d1, d2 = 0.25, -0.5
    tr = balanced.run_trial(net, "right", loop=3, record=n, perturbations=[
        Perturbation(n, d1, 300.0, 500.0), Perturbation(n[:5], d2, 400.0, 600.0)])
    t, ext = tr.run.t, tr.run.external
    mu = net.static.mu[tr.recorded]
    cols = np.arange(n.size)
    first = cols[:5]
    _close(ext[(t >= 400) & (t < 500)][:, first], mu[first] + d1 + d2)
    _close(ext[(t >= 300) & (t < 400)][:, cols], mu[cols] + d1)
    _close(ext[(t >= 500) & (t < 600)][:, first], mu[first] + d2)
    _close(ext[(t >= 500) & (t < 600)][:, cols[5:]], mu[cols[5:]], atol=0)
    # a perturbation during the stimulus adds to it
    tr2 = balanced.run_trial(net, "right", loop=3, record=n, perturbations=Perturbation(n, d1, 0.0, 800.0))
    on = (tr2.run.t >= SMALL.stim_on) & (tr2.run.t < SMALL.stim_off)
    stim = net.stimulus["right"][tr2.recorded]
    _close(tr2.run.external[on][:, cols], (mu + stim + d1)[cols])


def test_perturbations_act_in_the_static_run(net):
    T = 600.0
    ref = balanced.simulate_static(net.static, T)
    same = balanced.simulate_static(net.static, T, perturbations=[Perturbation("I", 0.0, 300.0, 500.0),
                                                                  Perturbation("E", 1.0, T, 700.0)])
    np.testing.assert_array_equal(same.rates, ref.rates)
    np.testing.assert_array_equal(same.run.currents, ref.run.currents)
    pert = balanced.simulate_static(net.static, T, perturbations=Perturbation("I", 0.5, 300.0, 500.0))
    t, is_i = pert.run.t, pert.recorded >= SMALL.Ne
    inside = (t >= 300) & (t < 500)
    np.testing.assert_allclose((pert.run.external - ref.run.external)[np.ix_(inside, is_i)], 0.5, atol=1e-12)
    assert not np.array_equal(pert.rates, ref.rates)
    with pytest.raises(ValueError, match="trained"):  # the static network has no trained cells
        balanced.simulate_static(net.static, T, perturbations=Perturbation("trained", 1.0, 300.0, 500.0))


def test_perturbations_act_while_learning(net):
    def learn(perts):
        n = net.copy()
        rls = balanced.make_rls(n)
        tr = balanced.run_trial(n, "left", rls, loop=1, perturbations=perts, split_inputs=True)
        return n, tr

    n0, t0 = learn(None)
    n1, t1 = learn(Perturbation("I", 0.0, 250.0, 700.0))
    np.testing.assert_array_equal(n1.w, n0.w)
    np.testing.assert_array_equal(t1.errors, t0.errors)
    np.testing.assert_array_equal(t1.spike_times, t0.spike_times)
    n2, t2 = learn(Perturbation("trained", -0.3, 250.0, 700.0))
    assert not np.array_equal(n2.w, n0.w)
    assert t2.perturbations[0].neurons.tolist() == net.trained.tolist()
    _check_split(t2)  # the split also holds at the learning steps (recorded by the driver)


def test_evaluate_takes_perturbations_and_keeps_every_trial_in_spikes_only_mode(net):
    full = balanced.evaluate(net, 3, "right", keep_runs=3)
    spikes = balanced.evaluate(net, 3, "right", spikes_only=True)
    assert len(spikes.trials) == 3 and all(tr.run is None for tr in spikes.trials)
    for a, b in zip(full.trials, spikes.trials):
        np.testing.assert_array_equal(a.spike_times, b.spike_times)
        np.testing.assert_array_equal(a.spike_neurons, b.spike_neurons)
    np.testing.assert_array_equal(spikes.binned, full.binned)
    np.testing.assert_array_equal(spikes.corr_avg, full.corr_avg)
    pert = balanced.evaluate(net, 2, "right", keep_runs=2, perturbations=Perturbation("I", 0.5, 300.0, 500.0))
    for k, tr in enumerate(pert.trials):
        inside = (tr.run.t >= 300) & (tr.run.t < 500)
        is_i = tr.recorded >= SMALL.Ne
        d = tr.run.external - full.trials[k].run.external
        np.testing.assert_allclose(d[np.ix_(inside, is_i)], 0.5, atol=1e-12)
        assert not np.array_equal(tr.spike_times, full.trials[k].spike_times)


def test_spikes_only_test_trials_are_small():
    """Bytes per kept spikes-only trial, measured here and extrapolated to the SPEC network."""
    small = balanced.build_network(SMALL, synthetic_alm(n_neurons=60, seed=1))
    res = balanced.evaluate(small, 2, "right", spikes_only=True)
    tr = res.trials[0]
    own = tr.spike_times.nbytes + tr.spike_neurons.nbytes + tr.binned.nbytes + tr.corr.nbytes
    per_spike = tr.spike_times.itemsize + tr.spike_neurons.itemsize
    assert own == tr.spike_times.size * per_spike + tr.bin_t.size * small.n_trained * 8 + small.n_trained * 8
    # the SPEC network: 5000 neurons at the balance rates (an upper bound: the finite network fires lower),
    # 3 s trials, 1824 trained neurons, 100 score bins
    p = BalancedParams()
    rate_e, rate_i = balanced.balance_rates(p)
    spikes = (p.Ne * rate_e + p.Ni * rate_i) * p.t_end / 1000.0
    full = spikes * per_spike + 100 * 1824 * 8 + 1824 * 8
    assert full < 5e6  # about 4 MB a trial
    assert 20 * full < 1e9


def test_a_spikes_only_trial_records_only_what_the_score_needs(net, monkeypatch):
    seen = {}
    real = trials_module.simulate

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(trials_module, "simulate", spy)
    balanced.run_trial(net, "right", loop=3, spikes_only=True)
    np.testing.assert_array_equal(seen["record"], net.trained)


# ---------------------------------------------------------------------------
# Recording what is asked for


@pytest.mark.parametrize("record", ["all", "I", "trained", "untrained E", "E", "array"])
def test_recording_choice_records_those_neurons_and_keeps_the_score(net, base, record):
    idx = np.array([5, 399, 250, 5]) if record == "array" else None
    tr = balanced.run_trial(net, "right", loop=3, record=idx if record == "array" else record)
    asked = idx if record == "array" else populations(net)[record]
    np.testing.assert_array_equal(tr.recorded[:asked.size], asked)
    assert set(tr.recorded[asked.size:]) == set(net.trained) - set(asked)  # trained appended for the score
    np.testing.assert_array_equal(tr.spike_times, base.spike_times)
    np.testing.assert_array_equal(tr.binned, base.binned)
    np.testing.assert_array_equal(tr.corr, base.corr)
    # the same neuron has the same record whatever else is recorded
    col_base = {int(n): q for q, n in reversed(list(enumerate(base.recorded)))}
    for q, n in enumerate(tr.recorded):
        if int(n) in col_base:
            np.testing.assert_array_equal(tr.run.v[:, q], base.run.v[:, col_base[int(n)]])
            np.testing.assert_array_equal(tr.run.currents[:, :, q], base.run.currents[:, :, col_base[int(n)]])


# ---------------------------------------------------------------------------
# Inputs split by source


def _check_split(tr):
    parts = tr.inputs_by_source()
    assert tuple(parts) == SOURCES
    total = sum(parts[k] for k in SOURCES)
    plastic = parts["plastic E"] + parts["plastic I"] + parts["feed-forward"]
    scale = np.maximum.reduce([np.abs(parts[k]) for k in SOURCES[3:]]) + 1e-300
    # the static channels and the external input are the recorded ones themselves
    np.testing.assert_array_equal(parts["static E"], tr.run.currents[:, 0])
    np.testing.assert_array_equal(parts["static I"], tr.run.currents[:, 1])
    np.testing.assert_array_equal(parts["external"], tr.run.external)
    # the plastic groups add up to the engine's plastic input, to 1e-12 of the largest group
    assert np.all(np.abs(plastic - tr.run.currents[:, 2]) <= 1e-12 * scale)
    big = np.maximum.reduce([np.abs(parts[k]) for k in SOURCES])
    assert np.all(np.abs(total - tr.run.total_input) <= 1e-12 * big)
    return parts


def test_the_input_split_adds_up_to_the_total_input(net, base):
    tr = balanced.run_trial(net, "right", loop=3, split_inputs=True)
    parts = _check_split(tr)
    _same_trial(tr, base)  # recording the split changes nothing else
    trained = np.isin(tr.recorded, net.trained)
    for k in SOURCES[3:]:
        assert np.all(parts[k][:, ~trained] == 0.0)  # untrained cells have no plastic input
    assert np.abs(parts["plastic E"][:, trained]).max() > 0.01
    assert np.abs(parts["plastic I"][:, trained]).max() > 0.01
    t = tr.run.t
    ffwd = parts["feed-forward"][:, trained]
    assert np.all(ffwd[t <= SMALL.stim_off] == 0.0) and np.abs(ffwd).max() > 0.0  # active in the training window


def test_inputs_by_source_needs_the_record_and_the_split(net, base):
    with pytest.raises(ValueError, match="split_inputs"):
        base.inputs_by_source()
    tr = balanced.run_trial(net, "right", loop=3, keep_run=False, split_inputs=True)
    with pytest.raises(ValueError, match="keep_run"):
        tr.inputs_by_source()


# ---------------------------------------------------------------------------
# Bad arguments: a ValueError naming the field, before any simulation


@pytest.mark.parametrize("kwargs, field", [
    (dict(neurons="I", current=1.0, start=500.0, stop=500.0), "stop"),
    (dict(neurons="I", current=1.0, start=500.0, stop=400.0), "stop"),
    (dict(neurons="I", current=1.0, start=-1.0, stop=400.0), "start"),
    (dict(neurons="I", current=float("nan"), start=0.0, stop=400.0), "current"),
    (dict(neurons="I", current=float("inf"), start=0.0, stop=400.0), "current"),
    (dict(neurons=[1, 2], current=[1.0, np.inf], start=0.0, stop=400.0), "current"),
    (dict(neurons=[1, 2], current=[1.0, 2.0, 3.0], start=0.0, stop=400.0), "current"),
    (dict(neurons=[-1, 2], current=1.0, start=0.0, stop=400.0), "neurons"),
    (dict(neurons=[0.5, 2], current=1.0, start=0.0, stop=400.0), "neurons"),
])
def test_a_bad_perturbation_raises_value_error_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        Perturbation(**kwargs)


@pytest.mark.parametrize("kwargs, field", [
    (dict(perturbations=Perturbation("L2/3", 1.0, 0.0, 100.0)), "neurons"),
    (dict(perturbations=Perturbation([0, 400], 1.0, 0.0, 100.0)), "neurons"),
    (dict(perturbations=Perturbation("I", 1.0, 0.05, 100.0)), "start"),
    (dict(perturbations=Perturbation("I", 1.0, 10.0, 100.03)), "stop"),
    (dict(record="L2/3"), "record"),
    (dict(record=np.array([0, 400])), "record"),
    (dict(record=np.array([0.5])), "record"),
    (dict(record="all", spikes_only=True), "record"),
    (dict(split_inputs=True, spikes_only=True), "split_inputs"),
])
def test_bad_trial_arguments_raise_before_any_simulation(net, monkeypatch, kwargs, field):
    def no_run(*args, **kw):
        raise AssertionError("simulated before checking the arguments")

    monkeypatch.setattr(trials_module, "simulate", no_run)
    monkeypatch.setattr(trials_module, "run_trial", no_run)  # evaluate checks before its first trial
    with pytest.raises(ValueError, match=field):
        balanced.evaluate(net, 2, **kwargs)
    monkeypatch.undo()
    monkeypatch.setattr(trials_module, "simulate", no_run)
    with pytest.raises(ValueError, match=field):
        balanced.run_trial(net, "right", **kwargs)


def test_a_population_name_is_resolved_by_the_balanced_package_not_the_engine(net):
    from tutorial_lib.engine.simulate import simulate

    with pytest.raises(ValueError, match="population name"):
        simulate(net.lif(), 10.0, rng=np.random.default_rng(0), perturbations=Perturbation("I", 1.0, 0.0, 5.0))
    with pytest.raises(TypeError, match="Perturbation"):
        balanced.run_trial(net, "right", perturbations=[(0, 1.0, 0.0, 5.0)])


def test_the_test_method_passes_the_options_on_to_evaluate(net):
    """``TrainResult.test(...)`` takes evaluate's options (what notebook 04 calls); a network has no test
    method (it would reach up to the trials): ``evaluate(net, ...)`` tests it."""
    pert = Perturbation("I", 0.5, 300.0, 500.0)
    want = balanced.evaluate(net, 2, "right", spikes_only=True, perturbations=pert)
    result = balanced.train(net, n_loops=0, progress=False)
    got = result.test(2, "right", spikes_only=True, perturbations=pert)
    assert len(got.trials) == 2 and all(tr.run is None for tr in got.trials)
    for a, b in zip(want.trials, got.trials):
        np.testing.assert_array_equal(a.spike_times, b.spike_times)
    np.testing.assert_array_equal(got.binned, want.binned)
    with pytest.raises(TypeError):
        result.test(2, "right", recrod="all")  # a misspelt option is not swallowed
    assert not hasattr(net, "test")


# --- the paradoxical response: balance equations against a two-population rate model --------------

def _two_population_rates(A, mu, gain, tau=(10.0, 5.0), T=3000.0, dt=0.05):
    """Steady state of ``tau_a dr_a/dt = -r_a + gain [mu_a + sum_b A_ab r_b]_+`` (r in spikes/ms),
    by Euler integration from rest: an independent check of the algebra, not a copy of it."""
    r = np.zeros(2)
    tau = np.asarray(tau)
    for _ in range(int(T / dt)):
        r = r + dt / tau * (-r + gain * np.maximum(mu + A @ r, 0.0))
    return r


def test_balance_response_is_the_strong_coupling_limit_of_a_rate_model():
    """A threshold-linear E-I rate model with the network's mean weights: adding drive to the I
    population lowers the I rate (paradoxical), and the change tends to -A^{-1} delta as K grows,
    with an error shrinking like 1/sqrt(K)."""
    from tutorial_lib.balanced import balance_matrix, balance_response

    gain = 0.05  # spikes/ms per unit input: gain * A_EE > 1 at every K here, an ISN
    errors = []
    for K in (100, 400, 1600):
        p = BalancedParams(K=K)
        A = balance_matrix(p)
        mu = np.array([p.mu_e, p.mu_i])
        assert gain * A[0, 0] > 1
        delta = 0.02 * np.sqrt(K)  # a change of order sqrt(K), like the inputs
        r0 = _two_population_rates(A, mu, gain)
        r1 = _two_population_rates(A, mu + np.array([0.0, delta]), gain)
        assert (r0 > 0).all() and (r1 > 0).all()
        dr_model = 1000.0 * (r1 - r0)
        # the model's own linear prediction (both populations above threshold)
        expected = 1000.0 * np.linalg.solve(np.eye(2) / gain - A, np.array([0.0, delta]))
        np.testing.assert_allclose(dr_model, expected, rtol=1e-6)
        assert dr_model[1] < 0, "paradoxical: more drive to I, lower I rate"
        limit = balance_response(p, delta_i=delta)
        assert (np.sign(dr_model) == np.sign(limit)).all()
        errors.append(np.max(np.abs(dr_model - limit) / np.abs(limit)))
    errors = np.array(errors)
    assert errors[-1] < 0.25
    # each 4-fold K halves the error (1/sqrt(K)), within 10 %
    np.testing.assert_allclose(errors[1:] / errors[:-1], 0.5, rtol=0.1)


def test_no_paradoxical_response_without_inhibition_stabilisation():
    """The same rate model with weak recurrent excitation (gain A_EE < 1): extra drive to the I
    population raises the I rate. The paradoxical sign is a property of the ISN, not of the algebra."""
    A = np.array([[0.5, -1.0], [1.0, -1.0]])
    mu = np.array([1.0, 0.5])
    gain = 1.0
    assert gain * A[0, 0] < 1
    r0 = _two_population_rates(A, mu, gain)
    r1 = _two_population_rates(A, mu + np.array([0.0, 0.1]), gain)
    assert (r0 > 0).all() and r1[1] > r0[1]


def test_balance_response_is_linear_and_checks_its_input():
    from tutorial_lib.balanced import balance_response

    p = BalancedParams()
    np.testing.assert_allclose(balance_response(p, 1.0, 2.0),
                               balance_response(p, delta_e=1.0) + 2 * balance_response(p, delta_i=1.0))
    np.testing.assert_array_equal(balance_response(p), [0.0, 0.0])
    with pytest.raises(ValueError, match="delta_e and delta_i"):
        balance_response(p, delta_i=float("nan"))


def test_train_applies_perturbations_to_every_training_trial():
    """Silencing the trained cells during training: train(perturbations=) equals loops of run_trial with
    the same perturbation, weights to the bit; without it (or with one that never acts) training is as before."""
    data = synthetic_alm(n_neurons=60, seed=1)
    silence = Perturbation("trained", -20.0, 300.0, 500.0)
    res = balanced.train(SMALL, data=data, n_loops=1, progress=False, perturbations=[silence])
    net = balanced.build_network(SMALL, data)
    rls = balanced.make_rls(net)
    for c in ("right", "left"):
        balanced.run_trial(net, c, rls, loop=0, perturbations=silence)
    np.testing.assert_array_equal(res.network.w, net.w)
    plain = balanced.train(SMALL, data=data, n_loops=1, progress=False)
    idle = balanced.train(SMALL, data=data, n_loops=1, progress=False,
                          perturbations=Perturbation("trained", -20.0, 900.0, 1000.0))
    np.testing.assert_array_equal(idle.network.w, plain.network.w)
    assert not np.array_equal(res.network.w, plain.network.w)


@pytest.mark.parametrize("bad, error, match", [
    (Perturbation("dendrites", 1.0, 0.0, 10.0), ValueError, "perturbations\\[0\\].neurons"),
    ("I", TypeError, "perturbations\\[0\\] must be a Perturbation"),
])
def test_train_refuses_bad_perturbations_before_building(bad, error, match, monkeypatch):
    def trap(*args, **kwargs):
        raise AssertionError("the network was built before the perturbations were checked")

    monkeypatch.setattr(balanced.training, "build_network", trap)
    with pytest.raises(error, match=match):
        balanced.train(SMALL, data=synthetic_alm(n_neurons=60, seed=1), n_loops=1, progress=False,
                       perturbations=[bad])


# --- one type per argument: names are resolved against a network's populations ---------------------------

def test_resolve_perturbations_takes_a_balanced_network_only(net):
    pert = Perturbation("trained", -1.0, 100.0, 200.0)
    (got,) = balanced.resolve_perturbations(net, pert)
    np.testing.assert_array_equal(got.neurons, net.trained)
    assert balanced.resolve_perturbations(net, None) == []
    result = balanced.train(net, n_loops=0, progress=False)
    np.testing.assert_array_equal(balanced.resolve_perturbations(result.network, pert)[0].neurons, net.trained)
    for other in (result, net.static, SMALL):  # the caller passes result.network; a static net has no "trained"
        with pytest.raises(TypeError, match="^net must be"):
            balanced.resolve_perturbations(other, pert)


def test_resolve_named_against_the_base_populations_is_what_the_static_run_uses(net):
    pops = base_populations(SMALL.N, SMALL.Ne)
    assert sorted(pops) == ["E", "I", "all"]
    assert pops["E"].size == SMALL.Ne and pops["I"][0] == SMALL.Ne and pops["I"][-1] == SMALL.N - 1
    for name in ("E", "I", "all"):  # the network's own populations agree on the names both know
        np.testing.assert_array_equal(pops[name], populations(net)[name])
    (got,) = resolve_named(Perturbation("I", 0.5, 0.0, 10.0), pops, SMALL.dt)
    np.testing.assert_array_equal(got.neurons, pops["I"])
    with pytest.raises(ValueError, match=r"perturbations\[0\]\.neurons .*'trained'"):
        resolve_named([Perturbation("trained", 0.5, 0.0, 10.0)], pops, SMALL.dt)
    with pytest.raises(ValueError, match=r"perturbations\[0\]"):  # index N is out of range
        resolve_named([Perturbation(np.array([SMALL.N]), 0.5, 0.0, 10.0)], pops, SMALL.dt)
    with pytest.raises(ValueError, match="trained"):  # the static run knows E, I and all only
        balanced.simulate_static(net.static, T=300.0, perturbations=Perturbation("trained", 0.5, 0.0, 10.0))


def test_network_of_reads_a_results_network_and_refuses_anything_else(net):
    result = balanced.train(net, n_loops=0, progress=False)
    assert network_of(net) is net and network_of(result) is result.network
    for other in (net.static, SMALL, None, "network"):
        with pytest.raises(TypeError, match="^net must be"):
            network_of(other)


# --- perturbations are read once: a generator reaches the run whole -------------------------------------------

def test_train_takes_a_generator_of_perturbations_as_it_takes_the_list():
    """train checks the perturbations before building, then runs with them: a generator read by the check
    reached the run empty (training went on unperturbed). Now every entry point reads its argument once."""
    data = synthetic_alm(n_neurons=60, seed=1)
    silence = Perturbation("trained", -20.0, 300.0, 500.0)
    listed = balanced.train(SMALL, data=data, n_loops=1, progress=False, perturbations=[silence])
    generated = balanced.train(SMALL, data=data, n_loops=1, progress=False, perturbations=(p for p in [silence]))
    np.testing.assert_array_equal(generated.network.w, listed.network.w)


@pytest.mark.parametrize("entry", ["evaluate", "run_trial", "simulate_static"])
def test_every_entry_point_takes_a_generator_of_perturbations_as_it_takes_the_list(net, entry):
    pert = Perturbation("E" if entry == "simulate_static" else "I", 0.5, 100.0, 200.0)
    calls = {
        "evaluate": lambda ps: balanced.evaluate(net, 2, "right", keep_runs=1, perturbations=ps).binned,
        "run_trial": lambda ps: balanced.run_trial(net, "right", perturbations=ps).spike_times,
        "simulate_static": lambda ps: balanced.simulate_static(net.static, 300.0, perturbations=ps).rates,
    }
    listed, generated = calls[entry]([pert]), calls[entry](p for p in [pert])
    np.testing.assert_array_equal(generated, listed)
    assert not np.array_equal(calls[entry](None), listed)  # the perturbation acts: the check can fail


@pytest.mark.parametrize("given, expected", [
    (None, 0), (Perturbation("I", 1.0, 0.0, 1.0), 1), ([Perturbation("I", 1.0, 0.0, 1.0)] * 2, 2),
    ((Perturbation("I", 1.0, 0.0, 1.0),), 1), (iter([Perturbation("E", 1.0, 0.0, 1.0)]), 1), ([], 0),
])
def test_perturbation_list_reads_any_iterable_once(given, expected):
    out = perturbation_list(given)
    assert isinstance(out, list) and len(out) == expected
    assert all(isinstance(p, Perturbation) for p in out)


@pytest.mark.parametrize("given, match", [
    ("I", r"^perturbations must be a Perturbation or a sequence"),
    (b"I", r"^perturbations must be a Perturbation or a sequence"),
    ({"I": 1.0}, r"^perturbations must be a Perturbation or a sequence"),
    (3.0, r"^perturbations must be a Perturbation or a sequence"),
    ([Perturbation("I", 1.0, 0.0, 1.0), "E"], r"^perturbations\[1\] must be a Perturbation \(got str\)"),
    ((x for x in [None]), r"^perturbations\[0\] must be a Perturbation \(got NoneType\)"),
])
def test_perturbation_list_refuses_what_is_not_perturbations_by_name(given, match):
    with pytest.raises(TypeError, match=match):
        perturbation_list(given)
