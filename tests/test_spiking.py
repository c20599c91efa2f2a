"""The LIF engine (tutorial_lib.engine: data, kernel, driver) against the core's plain run, and the Part 2
network (tutorial_lib.spiking_net)."""

from dataclasses import replace

import numpy as np
import pytest

from tutorial_lib import spiking_net
from tutorial_lib.engine.rls_shared import SharedPoolRLS
from tutorial_lib.engine.rls_state import BatchRLS
from tutorial_lib.core.lif import lif_rate, lif_rate_euler
from tutorial_lib.engine.lif_data import Learning, LIFNetwork, PlasticSynapses, Synapses
from tutorial_lib.engine.simulate import simulate
from tutorial_lib.spiking_net import simulate_pair, simulate_single
from tutorial_lib import SpikingParams
from tutorial_lib.errors import DivergenceError

# A short, small Part 2 configuration: 30 neurons, 1.2 s trials.
SMALL = SpikingParams(N=30, stim_on=100.0, stim_off=200.0, train_duration=1000.0, target_period=1000.0,
                      n_loops=3, seed=0)




def simulate_numpy(net, T, **kw):
    """The core's plain run (:func:`simulate` with ``backend="numpy"``), every neuron at every step."""
    return simulate(net, T, record_every=net.dt, backend="numpy", **kw)


# ---------------------------------------------------------------------------
# Single neuron and synapse


@pytest.mark.parametrize("mu", [1.1, 1.5, 2.0, 4.0])
def test_noiseless_neuron_fires_at_the_analytic_lif_rate(mu):
    # Euler with dt = 0.1 ms is off by ~dt/(2 tau_m) = 0.5 % plus up to one step of
    # rounding (~1 % at mu = 1.5); dt = 0.01 ms brings both well under 1 %.
    run = simulate_single(mu=mu, noise=0.0, T=1000.0, dt=0.01, record_every=1.0)
    isi = np.diff(run.spike_times)
    assert isi.size > 10
    assert 1000.0 / isi.mean() == pytest.approx(lif_rate(mu), rel=0.01)


@pytest.mark.parametrize("mu", [1.1, 1.5, 2.0, 4.0])
def test_noiseless_neuron_matches_the_discrete_time_rate_exactly(mu):
    # At the tutorial's dt = 0.1 ms every interspike interval is the same whole
    # number of steps, predicted by iterating the Euler map v -> v + dt/tau (mu - v).
    run = simulate_single(mu=mu, noise=0.0, T=1000.0, dt=0.1)
    isi_steps = np.diff(run.spike_steps)
    assert np.all(isi_steps == isi_steps[0])
    assert 1000.0 / (isi_steps[0] * 0.1) == pytest.approx(lif_rate_euler(mu, dt=0.1), rel=1e-12)


def test_subthreshold_neuron_fires_only_with_noise():
    assert simulate_single(mu=0.7, noise=0.0, T=1000.0).spike_times.size == 0
    assert simulate_single(mu=0.7, noise=2.0, T=1000.0, seed=1).spike_times.size > 0


@pytest.mark.parametrize("kind", ["static", "plastic"])
def test_a_spike_reaches_its_target_one_step_later_as_w_over_tau(kind):
    dt, tau_m, tau, w = 0.1, 10.0, 20.0, 5.0
    mu = np.array([1.5, 0.0])  # neuron 0 fires regularly; neuron 1 only listens
    if kind == "static":
        net = LIFNetwork(mu, tau_m, dt, static=(Synapses.from_dense([[0, 0], [w, 0]], tau),))
    else:
        plastic = PlasticSynapses(tau, rows=[1], presyn=[[0]], w=[[w]], n_sources=2)
        net = LIFNetwork(mu, tau_m, dt, plastic=plastic)
    run = simulate(net, 100.0, rng=np.random.default_rng(0), v0=0.0, record_every=dt)
    x = run.synaptic_input[:, 1]
    v1 = run.v[:, 1]
    first, second = run.spikes_of(0)[:2]
    n = run.spike_steps[0]  # the step in which neuron 0 crossed threshold
    assert first == pytest.approx((n + 1) * dt)
    assert np.all(x[: n + 1] == 0.0)  # nothing arrives before the step after the spike
    assert x[n + 1] == w / tau  # exactly w / tau_s at step n + 1
    assert np.all(v1[: n + 2] == 0.0)  # the voltage feels it from step n + 1 on ...
    assert v1[n + 2] == pytest.approx(dt / tau_m * w / tau, rel=1e-12)  # ... by dt/tau_m * w/tau_s
    n2 = run.spike_steps[1]  # a later spike: Euler decay of what was there, plus w / tau
    assert x[n2 + 1] - (1 - dt / tau) * x[n2] == pytest.approx(w / tau, rel=1e-12)
    assert second - first > 5.0


def test_two_neuron_demo_drives_the_second_neuron():
    quiet = simulate_pair(w21=0.0, seed=3)
    driven = simulate_pair(w21=5.0, seed=3)
    np.testing.assert_array_equal(quiet.spikes_of(0), driven.spikes_of(0))  # w12 = 0: neuron 0 unaffected
    assert driven.spikes_of(1).size > quiet.spikes_of(1).size


# ---------------------------------------------------------------------------
# The engine against a plain NumPy implementation of the same equations


def _small_engine(rng, N=12, R=5, m=4):
    """A network with noise, a stimulus, one sparse static channel and plastic synapses."""
    mu = rng.uniform(0.6, 1.1, size=N)
    Ws = np.where(rng.random((N, N)) < 0.3, rng.normal(0.0, 2.0, (N, N)), 0.0)
    np.fill_diagonal(Ws, 0.0)
    rows = np.sort(rng.choice(N, R, replace=False))
    presyn = np.array([rng.choice(N, m, replace=False) for _ in rows])
    wp = rng.normal(0.0, 2.0, (R, m))
    net = LIFNetwork(mu, tau_m=10.0, dt=0.1, noise=1.5,
                     static=(Synapses.from_dense(Ws, 5.0, "static"),),
                     plastic=PlasticSynapses(20.0, rows, presyn, wp, n_sources=N))
    return net, Ws, rows, presyn, wp


def test_engine_matches_a_numpy_implementation_spike_for_spike():
    net, Ws, rows, presyn, wp = _small_engine(np.random.default_rng(7))
    stim = np.random.default_rng(8).normal(0.0, 0.5, net.N)
    T, window = 400.0, (100.0, 150.0)
    run = simulate(net, T, rng=np.random.default_rng(11), stimulus=stim, stim_window=window, record_every=0.1)
    ref = simulate_numpy(net, T, rng=np.random.default_rng(11), stimulus=stim, stim_window=window)
    assert ref.spike_steps.size > 50
    np.testing.assert_array_equal(run.spike_steps, ref.spike_steps)
    np.testing.assert_array_equal(run.spike_neurons, ref.spike_neurons)
    np.testing.assert_allclose(run.v, ref.v, rtol=0, atol=1e-12)
    np.testing.assert_allclose(run.currents, ref.currents, rtol=0, atol=1e-12)
    np.testing.assert_allclose(run.total_input, ref.total_input, rtol=0, atol=1e-12)


def test_engine_with_learning_matches_a_numpy_implementation():
    net, Ws, rows, presyn, wp = _small_engine(np.random.default_rng(3))
    stim = np.zeros(net.N)
    T, times = 300.0, np.arange(50.0, 300.0, 20.0)
    targets = np.random.default_rng(4).normal(1.0, 0.3, (times.size, rows.size))
    rls = BatchRLS(presyn, 0.5, w0=wp)
    run = simulate(net, T, rng=np.random.default_rng(5), record_every=0.1,
                   learning=Learning(rls, times, targets, error_noise=0.7))
    rls_ref = BatchRLS(presyn, 0.5, w0=wp)
    learned = net.plastic.w.copy()
    ref = simulate_numpy(net, T, rng=np.random.default_rng(5), stimulus=stim,
                         learning=Learning(rls_ref, times, targets, error_noise=0.7))
    np.testing.assert_array_equal(run.spike_steps, ref.spike_steps)
    np.testing.assert_array_equal(run.spike_neurons, ref.spike_neurons)
    np.testing.assert_allclose(learned, rls_ref.w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(run.errors, ref.errors, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(run.total_input, ref.total_input, rtol=0, atol=1e-9)
    assert not np.allclose(learned, wp)


@pytest.mark.parametrize("odd_one_out", [False, True])
def test_static_jumps_held_by_target_neuron_give_the_same_run_to_the_bit(monkeypatch, odd_one_out):
    """Weights that depend on the channel and the target only (Part 3's) are held by target neuron
    (a fifth of the bytes per synapse); one synapse with its own weight sends the whole network back
    to jumps by synapse. Either way the run equals the one with jumps by synapse, to the bit."""
    from tutorial_lib.engine import lif_inputs as spiking

    rng = np.random.default_rng(31)
    N, dt = 60, 0.1
    by_target = [rng.normal(s, 0.3, N) for s in (1.2, -1.8)]  # the weight onto each neuron, per channel
    W = [np.where(rng.random((N, N)) < 0.25, w[:, None], 0.0) for w in by_target]
    np.fill_diagonal(W[0], 0.0)
    if odd_one_out:
        i, j = np.argwhere(W[1])[0]
        W[1][i, j] *= 1.5
    static = tuple(Synapses.from_dense(Wc, tau, f"ch{c}") for c, (Wc, tau) in enumerate(zip(W, (3.0, 5.0))))
    net = LIFNetwork(rng.uniform(0.9, 1.3, N), 10.0, dt, noise=0.5, static=static)
    packed = spiking.pack_static(net)
    assert packed[3] is (not odd_one_out)
    assert packed[2].shape == ((2, N) if not odd_one_out else (1, sum(ch.post.size for ch in static)))
    run = simulate(net, 400.0, rng=np.random.default_rng(4), record_every=dt)
    assert run.spike_times.size > 100
    monkeypatch.setattr(spiking, "jumps_by_post", lambda *args: False)  # by synapse, whatever the weights
    assert spiking.pack_static(net)[3] is False
    again = simulate(net, 400.0, rng=np.random.default_rng(4), record_every=dt)
    np.testing.assert_array_equal(run.spike_times, again.spike_times)
    np.testing.assert_array_equal(run.spike_neurons, again.spike_neurons)
    np.testing.assert_array_equal(run.currents, again.currents)


def test_engine_with_two_channels_and_a_stimulus_is_bit_identical_to_numpy():
    """The kernel's summation order, spelled out in NumPy: spikes, voltages and currents equal to the bit.

    Input ``((mu + stim) + x_0) + x_1`` (no plastic synapses: u = 0), then
    ``v + dt/tau_m (input + noise - v)``; each current decays by ``1 - dt/tau_c``
    and then takes the jumps ``w * (1/tau_c)`` of this step's spikes, one spike
    at a time in neuron order.
    """
    rng = np.random.default_rng(21)
    N, dt, tau_m, taus = 40, 0.1, 10.0, (3.0, 7.0)
    mu = rng.uniform(0.8, 1.2, N)
    W = [np.where(rng.random((N, N)) < 0.2, rng.normal(s, 1.0, (N, N)), 0.0) for s in (1.0, -1.5)]
    static = tuple(Synapses.from_dense(Wc, tau, f"ch{c}") for c, (Wc, tau) in enumerate(zip(W, taus)))
    net = LIFNetwork(mu, tau_m, dt, noise=0.8, static=static)
    stim = rng.normal(0.3, 0.2, N)
    T, window = 300.0, (50.0, 120.0)
    run = simulate(net, T, rng=np.random.default_rng(5), stimulus=stim, stim_window=window, record_every=dt)
    ref_rng = np.random.default_rng(5)
    v = ref_rng.uniform(0.0, 1.0, N)
    x = np.zeros((2, N))
    steps, neurons, v_rec, x_rec = [], [], [], []
    for n in range(int(round(T / dt))):
        v_rec.append(v.copy())
        x_rec.append(x.copy())
        drive = mu + 0.0  # mu + u, u = 0
        if window[0] <= n * dt < window[1]:
            drive = drive + stim
        drive = drive + x[0] + x[1]
        v = v + dt / tau_m * (drive + 0.8 * ref_rng.standard_normal(N) - v)
        s = np.flatnonzero(v >= 1.0)
        v[s] = 0.0
        steps += [n] * s.size
        neurons += list(s)
        for c, tau in enumerate(taus):
            x[c] = x[c] * (1.0 - dt / tau)
            for j in s:
                x[c] = x[c] + W[c][:, j] * (1.0 / tau)
    assert len(steps) > 100
    np.testing.assert_array_equal(run.spike_steps, steps)
    np.testing.assert_array_equal(run.spike_neurons, neurons)
    np.testing.assert_array_equal(run.v, np.array(v_rec))
    np.testing.assert_array_equal(run.currents[:, :2], np.array(x_rec))
    np.testing.assert_array_equal(run.currents[:, 2], 0.0)
    np.testing.assert_array_equal(run.v_end, v)


@pytest.mark.parametrize("weight", [1e308, -1e308])
def test_non_finite_input_names_the_first_neuron_and_the_step(weight):
    # Neuron 0 fires in step n (mu = 1.5, from v = 0); its jump w / tau overflows to +-inf in the
    # currents of neurons 4 and 2 (and not of 1), which the engine must report at step n + 1,
    # naming neuron 2, whether the voltage goes to +inf (a threshold crossing) or to -inf.
    mu = np.array([1.5, 0.0, 0.0, 0.0, 0.0])
    W = np.zeros((5, 5))
    W[4, 0] = W[2, 0] = weight
    W[1, 0] = 1.0
    net = LIFNetwork(mu, static=(Synapses.from_dense(W, 0.5),))
    first = simulate(LIFNetwork(mu), 30.0, rng=np.random.default_rng(0), v0=0.0).spike_steps[0]
    message = rf"neuron 2 became infinite or NaN at t = {(first + 1) * 0.1:.1f} ms"
    with pytest.raises(DivergenceError, match=message):
        simulate(net, 30.0, rng=np.random.default_rng(0), v0=0.0)


def test_targets_beyond_the_16_bit_range_are_reached():
    # Above 65536 neurons the engine stores targets as int32 instead of uint16.
    N = 70_000
    mu = np.zeros(N)
    mu[0] = 1.5
    targets = np.array([5, 65_535, 65_536, N - 1])
    syn = Synapses.from_pairs(np.zeros(4, np.int64), targets, np.array([1.0, 2.0, 3.0, 4.0]), N, 10.0)
    run = simulate(LIFNetwork(mu, static=(syn,)), 20.0, rng=np.random.default_rng(0), v0=0.0,
                   record=np.r_[targets, 7], record_every=0.1)
    n = run.spike_steps[0]
    jumps = np.array([1.0, 2.0, 3.0, 4.0]) * (1.0 / 10.0)  # w * (1/tau)
    np.testing.assert_array_equal(run.currents[n + 1, 0], np.r_[jumps, 0.0])


def test_runaway_activity_raises_divergence_error():
    net = LIFNetwork(np.full(5, 3.0), static=(Synapses.from_dense(np.full((5, 5), 50.0), 5.0),))
    with pytest.raises(DivergenceError, match="max_rate"):
        simulate(net, 500.0, rng=np.random.default_rng(0), max_rate=200.0)


# ---------------------------------------------------------------------------
# Part 2: the network, targets and training


def test_same_seed_gives_the_same_spikes():
    a, b = spiking_net.build_network(SMALL), spiking_net.build_network(SMALL)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.ubar, b.ubar)
    ta, tb = spiking_net.run_trial(a, loop=0), spiking_net.run_trial(b, loop=0)
    assert ta.spike_times.size > 0
    np.testing.assert_array_equal(ta.spike_times, tb.spike_times)
    np.testing.assert_array_equal(ta.spike_neurons, tb.spike_neurons)
    other = spiking_net.build_network(replace(SMALL, seed=1))
    assert not np.array_equal(spiking_net.run_trial(other, loop=0).spike_times, ta.spike_times)


def test_targets_are_sines_around_the_spontaneous_mean_input():
    net = spiking_net.build_network(SMALL)
    t = spiking_net.learning_times(SMALL)
    assert t.size == SMALL.n_learn == 50 and t[0] == SMALL.stim_off and t[-1] < SMALL.t_end
    f = net.targets(np.arange(SMALL.stim_off, SMALL.t_end, 1.0))  # one full period
    np.testing.assert_allclose(f.mean(axis=0), net.ubar, atol=1e-9)
    np.testing.assert_allclose(f.max(axis=0) - f.min(axis=0), 2 * SMALL.target_amplitude, rtol=1e-4)
    assert np.all(np.abs(net.ubar - SMALL.mu) < 1.0)


def test_training_raises_the_score():
    result = spiking_net.train(SMALL, progress=False)
    assert result.scores.shape == (SMALL.n_loops,)
    assert result.scores[-1] > result.scores[0] + 0.1
    assert np.any(result.dW != 0)
    assert result.last.errors.shape == (SMALL.n_learn, SMALL.N)
    test = result.test()
    assert test.errors is None and np.all(np.isfinite(test.corr))


def test_training_only_changes_the_trained_rows():
    p = replace(SMALL, train_fraction=0.5, n_loops=1)
    result = spiking_net.train(p, progress=False)
    untrained = np.setdiff1d(np.arange(p.N), result.network.trained)
    assert result.network.trained.size == 15
    assert np.all(result.dW[untrained] == 0)
    assert np.any(result.dW[result.network.trained] != 0)


def test_callback_can_stop_training():
    seen = []
    result = spiking_net.train(replace(SMALL, n_loops=5), progress=False,
                               callback=lambda loop, trial, scores: seen.append(loop) or loop < 1)
    assert seen == [0, 1] and result.stopped and result.scores.shape == (2,)


# ---------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(
    "name, value",
    [
        ("tau_s", 0.0),
        ("tau_s", -5.0),
        ("tau_s", 0.05),  # shorter than dt
        ("tau_s_spont", 0.0),
        ("learn_every", 20.05),  # not a multiple of dt
        ("learn_every", 0.0),
        ("sigma", 0.0),
        ("lam", 0.0),
        ("lam", -1.0),
        ("train_fraction", 0.0),
        ("train_fraction", 1.5),
        ("K", 0),
        ("K", 100),  # N = 100: at most N - 1
        ("mu", float("nan")),
        ("noise", float("inf")),
        ("noise", -1.0),
        ("error_noise", -0.5),
        ("dt", 3.0),
        ("N", 1),
    ],
)
def test_bad_parameters_raise_value_error_naming_them(name, value):
    with pytest.raises(ValueError, match=f"^{name}"):
        SpikingParams(**{name: value})


def test_bad_engine_input_raises_value_error_naming_it():
    with pytest.raises(ValueError, match="^tau_s"):
        simulate_pair(tau_s=0.0)
    with pytest.raises(ValueError, match="^T "):
        simulate_single(T=10.05)
    with pytest.raises(ValueError, match="^tau "):
        Synapses.from_dense(np.ones((2, 2)), tau=-1.0)
    with pytest.raises(ValueError, match="^noise"):
        LIFNetwork(np.ones(3), noise=-1.0)


def test_shared_pool_rls_gives_the_same_training_as_the_batch():
    """Part 2 trains all-to-all networks with one shared P; it must match one P per neuron."""
    p = replace(SMALL, train_fraction=0.5)
    nets = [spiking_net.build_network(p) for _ in range(2)]
    tr = nets[0].trained
    presyn = nets[0].presyn[tr]
    w0 = nets[0].W[tr[:, None], presyn]
    rls_b = BatchRLS(presyn, p.lam, w0=w0)
    rls_s = SharedPoolRLS(p.N, tr, p.lam, w0=w0)
    for loop in range(2):
        a = spiking_net.run_trial(nets[0], rls_b, loop)
        b = spiking_net.run_trial(nets[1], rls_s, loop)
        np.testing.assert_array_equal(a.spike_neurons, b.spike_neurons)
        np.testing.assert_array_equal(a.spike_times, b.spike_times)
    np.testing.assert_allclose(nets[1].W, nets[0].W, rtol=1e-8, atol=1e-12)
    assert isinstance(spiking_net.train(p, n_loops=1, progress=False).rls, SharedPoolRLS)


def test_trace_step_gives_each_spike_an_area_of_one_and_decays_with_tau():
    from tutorial_lib.core.lif import trace_step

    dt, tau = 0.1, 20.0
    x = trace_step(np.zeros(1), np.ones(1), dt, tau)  # one spike
    assert x[0] == pytest.approx(1.0 / tau)
    area = 0.0
    for _ in range(20000):  # 2 s = 100 tau
        area += x[0] * dt
        x = trace_step(x, np.zeros(1), dt, tau)
    assert area == pytest.approx(1.0, rel=1e-12)
    y = trace_step(np.ones(1), np.zeros(1), dt, tau)
    assert y[0] == pytest.approx(1.0 - dt / tau)


# ---------------------------------------------------------------------------
# Perturbations (Part 4): currents added to sets of neurons in time windows


def _perturbations(N):
    from tutorial_lib.engine.lif_data import Perturbation

    return [Perturbation(np.arange(0, N, 2), 0.8, 80.0, 200.0),  # overlaps the stimulus (100-150 ms)
            Perturbation([1, 2, 3, 3], np.array([-2.0, 0.5, 1.0, 1.0]), 120.0, 260.0),  # overlaps the first
            Perturbation(np.arange(N), 3.0, 390.0, 900.0)]  # runs past the end


def test_engine_with_perturbations_matches_a_numpy_implementation_spike_for_spike():
    net, Ws, rows, presyn, wp = _small_engine(np.random.default_rng(7))
    stim = np.random.default_rng(8).normal(0.0, 0.5, net.N)
    T, window = 400.0, (100.0, 150.0)
    perts = _perturbations(net.N)
    run = simulate(net, T, rng=np.random.default_rng(11), stimulus=stim, stim_window=window, record_every=0.1,
                   perturbations=perts)
    ref = simulate_numpy(net, T, rng=np.random.default_rng(11), stimulus=stim, stim_window=window,
                         perturbations=perts)
    plain = simulate(net, T, rng=np.random.default_rng(11), stimulus=stim, stim_window=window, record_every=0.1)
    assert ref.spike_steps.size > 50
    assert not np.array_equal(run.spike_steps, plain.spike_steps)  # the perturbations matter
    np.testing.assert_array_equal(run.spike_steps, ref.spike_steps)
    np.testing.assert_array_equal(run.spike_neurons, ref.spike_neurons)
    np.testing.assert_allclose(run.external, ref.external, rtol=0, atol=1e-12)
    np.testing.assert_allclose(run.total_input, ref.total_input, rtol=0, atol=1e-12)
    # on a coarser recording grid, with windows that start and stop between recorded steps
    coarse = [replace(pt, start=pt.start + 0.3, stop=pt.stop - 0.7) for pt in perts]
    ref2 = simulate_numpy(net, T, rng=np.random.default_rng(11), stimulus=stim, stim_window=window,
                          perturbations=coarse)
    run2 = simulate(net, T, rng=np.random.default_rng(11), stimulus=stim, stim_window=window, record_every=1.0,
                    perturbations=coarse, record=[1, 2, 3, 7])
    np.testing.assert_array_equal(run2.spike_steps, ref2.spike_steps)
    np.testing.assert_allclose(run2.external, ref2.external[::10, [1, 2, 3, 7]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(run2.total_input, ref2.total_input[::10, [1, 2, 3, 7]], rtol=0, atol=1e-12)
    # neuron 3 is listed twice: its current counts twice; neuron 2 gets 0.8 + 0.5 where they overlap
    n = np.flatnonzero((run.t >= 120.0) & (run.t < 150.0))
    np.testing.assert_allclose(run.external[n, 3], net.mu[3] + stim[3] + 2.0, atol=1e-12)
    np.testing.assert_allclose(run.external[n, 2], net.mu[2] + stim[2] + 0.8 + 0.5, atol=1e-12)


def test_engine_with_perturbations_and_learning_matches_a_numpy_implementation():
    from tutorial_lib.engine.lif_data import Perturbation

    net, Ws, rows, presyn, wp = _small_engine(np.random.default_rng(3))
    T, times = 300.0, np.arange(50.0, 300.0, 20.0)
    targets = np.random.default_rng(4).normal(1.0, 0.3, (times.size, rows.size))
    perts = [Perturbation(rows, -0.7, 85.0, 170.0), Perturbation([0, 1], 1.2, 100.0, 130.0)]  # 170: a learning step
    runs = {}
    for name, sim in (("engine", simulate), ("numpy", simulate_numpy)):
        rls = BatchRLS(presyn, 0.5, w0=wp)
        net.plastic.w[...] = wp
        kw = dict(record_every=0.1) if sim is simulate else {}
        runs[name] = (sim(net, T, rng=np.random.default_rng(5), perturbations=perts,
                          learning=Learning(rls, times, targets, error_noise=0.7), **kw), rls.w.copy())
    (run, w), (ref, w_ref) = runs["engine"], runs["numpy"]
    np.testing.assert_array_equal(run.spike_steps, ref.spike_steps)
    np.testing.assert_array_equal(run.spike_neurons, ref.spike_neurons)
    np.testing.assert_allclose(w, w_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(run.errors, ref.errors, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("learn", [False, True])
def test_a_perturbation_that_does_not_act_changes_nothing_in_the_engine(learn):
    from tutorial_lib.engine.lif_data import Perturbation

    net, Ws, rows, presyn, wp = _small_engine(np.random.default_rng(3))
    stim = np.random.default_rng(8).normal(0.0, 0.5, net.N)
    T, times = 300.0, np.arange(50.0, 300.0, 20.0)
    targets = np.random.default_rng(4).normal(1.0, 0.3, (times.size, rows.size))
    groups = (("a", "b"), np.arange(net.N) % 2)

    def run(perts, split=None):
        net.plastic.w[...] = wp
        learning = Learning(BatchRLS(presyn, 0.5, w0=wp), times, targets) if learn else None
        return simulate(net, T, rng=np.random.default_rng(5), stimulus=stim, stim_window=(60.0, 130.0),
                        record_every=0.5, learning=learning, perturbations=perts, plastic_groups=split)

    base = run(None)
    for perts, split in [([Perturbation(np.arange(5), 0.0, 55.0, 155.0)], None),
                         ([Perturbation(np.arange(5), 4.0, 300.0, 400.0)], None), ([], groups)]:
        other = run(perts, split)
        np.testing.assert_array_equal(other.spike_steps, base.spike_steps)
        np.testing.assert_array_equal(other.spike_neurons, base.spike_neurons)
        np.testing.assert_array_equal(other.v, base.v)
        np.testing.assert_array_equal(other.currents, base.currents)
        np.testing.assert_array_equal(other.external, base.external)
        if learn:
            np.testing.assert_array_equal(other.errors, base.errors)
    parts = other.inputs_by_source()
    assert list(parts) == ["external", "static", "a", "b"]
    split_sum = parts["a"] + parts["b"]
    assert np.abs(split_sum).max() > 0
    np.testing.assert_allclose(split_sum, other.currents[:, 1], rtol=0,
                               atol=1e-12 * np.maximum(np.abs(parts["a"]), np.abs(parts["b"])).max())


# ---------------------------------------------------------------------------
# Replay: recorded spikes delivered to chosen synapses instead of the network's own


def _two_channel_engine(rng, N=30):
    """Two static channels and plastic synapses from the network's neurons (no external sources)."""
    net, Ws, rows, presyn, wp = _small_engine(rng, N=N, R=8, m=5)
    W2 = np.where(rng.random((N, N)) < 0.2, rng.normal(-1.0, 1.0, (N, N)), 0.0)
    net = LIFNetwork(net.mu, tau_m=10.0, dt=0.1, noise=1.5,
                     static=net.static + (Synapses.from_dense(W2, 3.0, "second"),), plastic=net.plastic)
    return net


def test_replaying_a_run_into_every_channel_gives_the_same_run_to_the_bit():
    from tutorial_lib.engine.lif_data import Replay

    net = _two_channel_engine(np.random.default_rng(2))
    T = 300.0
    base = simulate(net, T, rng=np.random.default_rng(9), record_every=0.1)
    assert base.spike_steps.size > 100
    replay = Replay(base.spike_times, base.spike_neurons, net.channel_names)
    again = simulate(net, T, rng=np.random.default_rng(9), record_every=0.1, replay=replay)
    np.testing.assert_array_equal(again.spike_steps, base.spike_steps)
    np.testing.assert_array_equal(again.spike_neurons, base.spike_neurons)
    np.testing.assert_array_equal(again.currents, base.currents)
    np.testing.assert_array_equal(again.v, base.v)
    # jitter 0 is the same replay
    same = replay.jittered(0.0, np.random.default_rng(0), net.dt, T)
    np.testing.assert_array_equal(same.times, replay.times)
    np.testing.assert_array_equal(same.neurons, replay.neurons)


@pytest.mark.parametrize("channels", [("plastic",), ("static",), ("static", "plastic"), ("second",)])
def test_engine_with_a_replay_matches_a_numpy_implementation(channels):
    """Spikes of another run (and jittered ones, with two spikes of a neuron in one step possible)
    replayed into some channels: engine and NumPy reference give the same spikes and currents."""
    from tutorial_lib.engine.lif_data import Replay

    net = _two_channel_engine(np.random.default_rng(4))
    T = 300.0
    other = simulate(net, T, rng=np.random.default_rng(1))
    replay = Replay(other.spike_times, other.spike_neurons, channels).jittered(
        5.0, np.random.default_rng(3), net.dt, T)
    run = simulate(net, T, rng=np.random.default_rng(6), record_every=0.1, replay=replay)
    ref = simulate_numpy(net, T, rng=np.random.default_rng(6), replay=replay)
    plain = simulate(net, T, rng=np.random.default_rng(6), record_every=0.1)
    assert not np.array_equal(run.currents, plain.currents)  # the replay matters
    np.testing.assert_array_equal(run.spike_steps, ref.spike_steps)
    np.testing.assert_array_equal(run.spike_neurons, ref.spike_neurons)
    np.testing.assert_allclose(run.currents, ref.currents, rtol=0, atol=1e-12)


def test_replay_currents_follow_the_replayed_spikes_only():
    """With every synapse fed by a replay, the currents do not depend on the network's own spikes:
    two runs with different noise (different own spikes) have identical synaptic currents."""
    from tutorial_lib.engine.lif_data import Replay

    net = _two_channel_engine(np.random.default_rng(5))
    T = 200.0
    other = simulate(net, T, rng=np.random.default_rng(1))
    replay = Replay(other.spike_times, other.spike_neurons, net.channel_names)
    a = simulate(net, T, rng=np.random.default_rng(2), record_every=0.1, replay=replay)
    b = simulate(net, T, rng=np.random.default_rng(3), record_every=0.1, replay=replay)
    assert not np.array_equal(a.spike_steps, b.spike_steps)
    np.testing.assert_array_equal(a.currents, b.currents)


def test_jitter_moves_spikes_by_the_given_standard_deviation():
    from tutorial_lib.engine.lif_data import Replay

    rng = np.random.default_rng(0)
    times = np.round(rng.uniform(400.0, 600.0, 20000), 1)
    neurons = np.arange(times.size) % 7
    rep = Replay(times, neurons)
    moved = rep.jittered(20.0, np.random.default_rng(1), 0.1, 1000.0)
    assert moved.times.size == times.size  # none leaves (0, 1000]
    # the same draws in spike order: the shifts of the kept spikes
    shifts = np.rint(20.0 * np.random.default_rng(1).standard_normal(times.size) / 0.1) * 0.1
    np.testing.assert_allclose(np.sort(moved.times), np.sort(times + shifts), atol=1e-9)
    assert abs(np.std(shifts) - 20.0) < 0.5
    assert np.all(np.diff(np.rint(moved.times / 0.1)) >= 0)  # sorted by step
    # spikes pushed outside (0, T] are dropped
    edge = Replay([0.1, 999.9], [0, 1]).jittered(500.0, np.random.default_rng(2), 0.1, 1000.0)
    assert edge.times.size <= 2 and np.all((edge.times > 0) & (edge.times <= 1000.0))


@pytest.mark.parametrize("kwargs, match", [
    (dict(times=[1.0, 2.0], neurons=[0]), "same length"),
    (dict(times=[[1.0]], neurons=[0]), "1-D"),
    (dict(times=[np.nan], neurons=[0]), "finite and positive"),
    (dict(times=[0.0], neurons=[0]), "finite and positive"),
    (dict(times=[1.0], neurons=[-1]), "non-negative"),
    (dict(times=[1.0], neurons=[0.5]), "integer"),
    (dict(times=[1.0], neurons=[0], channels=()), "channels"),
    (dict(times=[1.0], neurons=[0], channels=("plastic", "plastic")), "channels"),
])
def test_bad_replay_raises_value_error_naming_the_field(kwargs, match):
    from tutorial_lib.engine.lif_data import Replay

    with pytest.raises(ValueError, match=match):
        Replay(**kwargs)


def test_replay_that_does_not_fit_the_network_is_refused_before_the_run():
    from tutorial_lib.engine.lif_data import Replay

    net = _two_channel_engine(np.random.default_rng(5))
    for replay, match in [(Replay([1.0], [net.N]), r"replay.neurons"),
                          (Replay([1.05], [0]), "multiples of dt"),
                          (Replay([1.0], [0], ("nope",)), "replay.channels"),
                          ]:
        with pytest.raises(ValueError, match=match):
            simulate(net, 100.0, rng=np.random.default_rng(0), replay=replay)
    with pytest.raises(TypeError, match="replay must be a Replay"):
        simulate(net, 100.0, rng=np.random.default_rng(0), replay=([1.0], [0]))
    with pytest.raises(ValueError, match="jitter"):
        Replay([1.0], [0]).jittered(-1.0, np.random.default_rng(0), 0.1, 100.0)


# ---------------------------------------------------------------------------
# Recording only what the caller needs


@pytest.mark.parametrize("case", ["plain", "two channels", "learning", "perturbations", "replay",
                                  "no static"])
def test_recording_the_total_input_only_gives_the_full_record_s_total_to_the_bit(case):
    """``total_only``: the engine writes the total input itself (kernel and learning steps alike)."""
    from tutorial_lib.engine.lif_data import Perturbation, Replay

    rng = np.random.default_rng(21)
    net, Ws, rows, presyn, wp = _small_engine(rng, N=30, R=8, m=5)
    if case == "two channels":
        net = _two_channel_engine(np.random.default_rng(21))
    if case == "no static":
        net = replace(net, static=())
    stim = np.random.default_rng(8).normal(0.0, 0.5, net.N)
    T, times = 300.0, np.arange(50.0, 300.0, 20.0)  # learning on the recording grid
    targets = np.random.default_rng(4).normal(1.0, 0.3, (times.size, rows.size))
    record = np.array([rows[2], 0, 7, rows[0], 7])  # any order, repeats

    def run(total_only, record_every):
        net.plastic.w[...] = wp
        kw = {}
        if case == "learning":
            kw["learning"] = Learning(BatchRLS(presyn, 0.5, w0=wp), times, targets, error_noise=0.3)
        if case == "perturbations":
            kw["perturbations"] = [Perturbation([1, 2, 3, 3], np.array([-2.0, 0.5, 1.0, 1.0]), 40.0, 120.0),
                                   Perturbation(record[:2], 0.7, 100.0, 400.0)]
            kw["learning"] = Learning(BatchRLS(presyn, 0.5, w0=wp), times, targets)
        if case == "replay":
            kw["replay"] = Replay([5.0, 5.0, 60.1, 200.0], [1, 3, 3, rows[0]], channels=("plastic",))
        return simulate(net, T, rng=np.random.default_rng(5), stimulus=stim, stim_window=(60.0, 130.0),
                        record=record, record_every=record_every, total_only=total_only, **kw)

    for record_every in (0.1, 0.5, 1.0):
        full, total = run(False, record_every), run(True, record_every)
        assert total.v is None and total.currents is None and total.external is None
        assert total.total_input.shape == full.total_input.shape
        np.testing.assert_array_equal(total.total_input, full.total_input)
        np.testing.assert_array_equal(total.spike_steps, full.spike_steps)
        np.testing.assert_array_equal(total.spike_neurons, full.spike_neurons)
        np.testing.assert_array_equal(total.t, full.t)
        if case == "learning":
            np.testing.assert_array_equal(total.errors, full.errors)


def test_total_only_refuses_the_input_split():
    net, Ws, rows, presyn, wp = _small_engine(np.random.default_rng(3))
    with pytest.raises(ValueError, match="total_only"):
        simulate(net, 10.0, rng=np.random.default_rng(0), total_only=True,
                 plastic_groups=(("a", "b"), np.arange(net.N) % 2))


def test_the_scatter_of_fixed_weights_by_source_is_the_general_scatter_to_the_bit():
    """Without learning the kernel reads the plastic weights in source order (``w_src``); with learning
    (here: a learning set-up with no learning time, so nothing changes) it reads them in ``w``."""
    from tutorial_lib.engine.lif_inputs import index_external as _index_external

    rng = np.random.default_rng(4)
    N, R, m, n_ext = 40, 10, 9, 6
    mu = rng.uniform(0.8, 1.3, N)
    Ws = np.where(rng.random((N, N)) < 0.3, rng.normal(0.0, 1.5, (N, N)), 0.0)
    rows = rng.choice(N, R, replace=False)
    presyn = np.hstack([np.array([rng.choice(N, m - n_ext, replace=False) for _ in rows]),
                        np.broadcast_to(N + np.arange(n_ext), (R, n_ext))])  # shared external sources
    wp = rng.normal(0.0, 2.0, (R, m))
    net = LIFNetwork(mu, noise=1.0, static=(Synapses.from_dense(Ws, 5.0, "static"),),
                     plastic=PlasticSynapses(20.0, rows, presyn, wp, n_sources=N + n_ext))
    T = 300.0
    steps = np.sort(rng.integers(0, int(T / 0.1), 400))
    external = ((steps + 1) * 0.1, N + rng.integers(0, n_ext, steps.size))
    assert _index_external(external, 0.1, N, N + n_ext, int(T / 0.1))[1].size == 400
    kw = dict(external=external, stimulus=rng.normal(0.0, 0.5, N), stim_window=(50.0, 120.0), record_every=0.1)
    fixed = simulate(net, T, rng=np.random.default_rng(1), **kw)
    none = Learning(BatchRLS(presyn, 1.0, w0=wp), np.zeros(0), np.zeros((0, R)))
    general = simulate(net, T, rng=np.random.default_rng(1), learning=none, **kw)
    assert fixed.spike_steps.size > 100
    np.testing.assert_array_equal(fixed.spike_steps, general.spike_steps)
    np.testing.assert_array_equal(fixed.spike_neurons, general.spike_neurons)
    np.testing.assert_array_equal(fixed.currents, general.currents)
    np.testing.assert_array_equal(fixed.v, general.v)
    np.testing.assert_array_equal(net.plastic.w, wp)


@pytest.mark.parametrize("R", [0, 1, 4, 7, 13])
def test_the_plastic_input_is_each_row_s_sum_in_input_order(R):
    """_plastic_input adds four rows at a time; each row's sum must stay the plain one, term by term."""
    from tutorial_lib.engine.lif_kernel import plastic_input as _plastic_input

    rng = np.random.default_rng(R)
    N, m = 50, 11
    rows = rng.choice(N, R, replace=False)
    presyn = rng.integers(0, N + 5, (R, m))
    w, r = rng.normal(0.0, 1e3, (R, m)), rng.random(N + 5)
    u = np.full(N, np.nan)
    _plastic_input(rows, presyn, w, r, u)
    want = np.full(N, np.nan)
    for k in range(R):
        acc = 0.0
        for a in range(m):
            acc += w[k, a] * r[presyn[k, a]]
        want[rows[k]] = acc
    np.testing.assert_array_equal(u, want)


def test_the_index_by_source_is_reused_only_for_the_same_synapses():
    rng = np.random.default_rng(0)
    presyn = rng.integers(0, 12, (5, 4))

    def index(pre, n_sources=12):
        pl = PlasticSynapses(20.0, np.arange(pre.shape[0]), pre, np.ones(pre.shape), n_sources)
        return pl.out_ptr, pl.out_row, pl.out_col

    def fresh(pre, n_sources=12):  # the index built from scratch
        order = np.argsort(pre.ravel(), kind="stable")
        ptr = np.concatenate([[0], np.cumsum(np.bincount(pre.ravel(), minlength=n_sources))])
        return ptr, order // pre.shape[1], order % pre.shape[1]

    first = index(presyn)
    assert all(a is b for a, b in zip(index(presyn.copy()), first))  # the same synapses: reused
    other = presyn.copy()
    other[2, 1] = (other[2, 1] + 1) % 12
    for pre, n in ((other, 12), (presyn, 13), (presyn.reshape(4, 5), 12), (presyn, 12)):
        for a, b in zip(index(pre, n), fresh(pre, n)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape, dtype", [((5, 4), np.int16), ((40_000, 1), np.int32), ((1, 40_000), np.int32)])
def test_the_index_by_source_holds_rows_and_columns_in_the_smallest_integers_that_fit(shape, dtype):
    # the kernel streams these for every spike; whatever their width, they are the rows and columns
    rng = np.random.default_rng(1)
    presyn = rng.integers(0, 50, shape)
    pl = PlasticSynapses(20.0, np.arange(shape[0]), presyn, np.ones(shape), 50)
    assert pl.out_row.dtype == pl.out_col.dtype == dtype
    order = np.argsort(presyn.ravel(), kind="stable")
    np.testing.assert_array_equal(pl.out_row, order // shape[1])
    np.testing.assert_array_equal(pl.out_col, order % shape[1])
    assert pl.out_row.max() == shape[0] - 1 or pl.out_col.max() == shape[1] - 1


def test_deferred_rls_steps_check_that_each_shared_input_reaches_every_row_in_order():
    from tutorial_lib.engine.rls_pooled import PooledInputRLS
    from tutorial_lib.engine.simulate import column_starts as _column_starts

    rng = np.random.default_rng(2)
    n, mp, nf, N = 6, 3, 4, 20
    private = np.array([rng.choice(N, mp, replace=False) for _ in range(n)])
    shared = N + np.arange(nf)
    presyn = np.hstack([private, np.broadcast_to(shared, (n, nf))])
    pl = PlasticSynapses(20.0, np.arange(n), presyn, np.ones(presyn.shape), N + nf)
    rls = PooledInputRLS(private, shared, 1.0, 1.0)
    np.testing.assert_array_equal(_column_starts(pl, rls), pl.out_ptr[shared])
    for i in range(n):  # the weight of row i, shared column c, sits at col_start[c] + i
        for c in range(nf):
            assert pl.out_row[pl.out_ptr[shared[c]] + i] == i and pl.out_col[pl.out_ptr[shared[c]] + i] == mp + c
    odd = presyn.copy()
    odd[4, 1] = shared[2]  # row 4 reads shared input 2 twice: it no longer has one synapse per row
    pl_odd = PlasticSynapses(20.0, np.arange(n), odd, np.ones(odd.shape), N + nf)
    with pytest.raises(ValueError, match="shared input 2 does not reach every plastic row in order"):
        _column_starts(pl_odd, rls)


def test_a_run_with_deferred_rls_steps_follows_the_eager_one_with_external_spikes_from_the_start():
    # external (shared) inputs spike before the first learning step, with non-zero weights: the kernel
    # reads their weights by source from the start, and every learning step writes the ones it needs
    from tutorial_lib.engine.rls_pooled import PooledInputRLS

    rng = np.random.default_rng(12)
    N, R, mp, nf = 60, 12, 6, 8
    mu = rng.uniform(0.8, 1.3, N)
    Ws = rng.normal(0.0, 0.5, (N, N)) * (rng.random((N, N)) < 0.2)
    rows = np.sort(rng.choice(N, R, replace=False))
    private = np.array([rng.choice(N, mp, replace=False) for _ in rows])
    shared = N + np.arange(nf)
    presyn = np.hstack([private, np.broadcast_to(shared, (R, nf))])
    wp = rng.normal(0.0, 2.0, (R, mp + nf))
    T, times = 300.0, np.arange(60.0, 300.0, 20.0)
    ext_steps = 1 + np.sort(rng.choice(int(T / 0.1) - 1, 400, replace=False))
    external = (ext_steps * 0.1, rng.integers(N, N + nf, ext_steps.size))
    targets = rng.normal(1.0, 0.3, (times.size, R))
    runs = []
    for rls in (PooledInputRLS(private, shared, 0.5, 0.5, w0=wp), BatchRLS(presyn, 0.5, w0=wp)):
        net = LIFNetwork(mu, tau_m=10.0, dt=0.1, noise=1.5, static=(Synapses.from_dense(Ws, 5.0, "static"),),
                         plastic=PlasticSynapses(20.0, rows, presyn, wp, n_sources=N + nf))
        run = simulate(net, T, rng=np.random.default_rng(5), record_every=0.1, external=external,
                       learning=Learning(rls, times, targets))
        runs.append((run, net.plastic.w.copy()))
    (deferred, w_deferred), (eager, w_eager) = runs
    assert deferred.spike_steps.size > 50
    np.testing.assert_array_equal(deferred.spike_steps, eager.spike_steps)
    np.testing.assert_array_equal(deferred.spike_neurons, eager.spike_neurons)
    np.testing.assert_allclose(deferred.total_input, eager.total_input, rtol=0, atol=1e-9)
    np.testing.assert_allclose(w_deferred, w_eager, rtol=1e-9, atol=1e-9)
    assert not np.allclose(w_deferred, wp)


@pytest.mark.parametrize("pooled", [False, True], ids=["eager", "deferred"])
def test_a_non_finite_rls_error_stops_the_run_at_that_step_naming_the_neuron(pooled):
    from tutorial_lib.engine.rls_pooled import PooledInputRLS

    rng = np.random.default_rng(15)
    N, R, mp, nf = 40, 6, 5, 4
    rows = np.sort(rng.choice(N, R, replace=False))
    private = np.array([rng.choice(N, mp, replace=False) for _ in rows])
    shared = N + np.arange(nf)
    presyn = np.hstack([private, np.broadcast_to(shared, (R, nf))])
    wp = rng.normal(0.0, 0.5, presyn.shape)
    net = LIFNetwork(rng.uniform(0.8, 1.3, N), tau_m=10.0, dt=0.1, noise=1.5,
                     plastic=PlasticSynapses(20.0, rows, presyn, wp, n_sources=N + nf))
    times = np.array([20.0, 40.0, 60.0, 80.0])
    targets = np.ones((times.size, R))
    targets[2, 4] = np.inf  # the third step's error of the fifth row
    rls = PooledInputRLS(private, shared, 0.5, 0.5, w0=wp) if pooled else BatchRLS(presyn, 0.5, w0=wp)
    ext_steps = 1 + np.arange(0, 999, 7)
    with pytest.raises(DivergenceError) as info:
        simulate(net, 100.0, rng=np.random.default_rng(5), external=(ext_steps * 0.1, N + ext_steps % nf),
                 learning=Learning(rls, times, targets))
    err = info.value
    assert (err.kind, err.neuron) == ("nonfinite", rows[4])
    assert err.t_ms == pytest.approx(60.0)
