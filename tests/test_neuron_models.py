"""Neuron models as plug-ins (tutorial_lib.core.lif): the LIF core against the engine over both backends,
the Euler step against the analytic rate, and Part 2 trained on a model defined here (an adaptive LIF)."""

import numpy as np
import pytest

from tutorial_lib import SpikingParams, spiking_net
from tutorial_lib.core.lif import (LIF, NeuronModel, lif_euler_step, lif_model, lif_rate, lif_rate_euler,
                                   run_network)
from tutorial_lib.engine.lif_data import LIFNetwork, PlasticSynapses, Synapses
from tutorial_lib.engine.simulate import simulate


def adaptive_lif(tau_m=10.0, tau_a=100.0, jump=0.2):
    """An adaptive LIF: ``tau_m dv/dt = -v + I - a``, ``tau_a da/dt = -a``, ``a += jump`` at each spike."""
    def step(state, total_input, dt):
        v, a = state
        v, spiked = lif_euler_step(v, total_input - a, 0.0, dt / tau_m)
        return (v, a * (1.0 - dt / tau_a) + jump * spiked), spiked
    return NeuronModel("adaptive LIF", lambda v0: (np.array(v0, dtype=float), np.zeros(len(v0))), step,
                       lambda state: state[0], {"tau_m": tau_m, "tau_a": tau_a, "jump": jump})


def _net(rng, N=25):
    W = np.where(rng.random((N, N)) < 0.3, rng.normal(0.0, 2.0, (N, N)), 0.0)
    np.fill_diagonal(W, 0.0)
    rows = np.arange(0, N, 3)
    presyn = np.array([rng.choice(N, 6, replace=False) for _ in rows])
    return LIFNetwork(rng.uniform(0.7, 1.3, N), noise=1.0, static=(Synapses.from_dense(W, 4.0, "static"),),
                      plastic=PlasticSynapses(15.0, rows, presyn, rng.normal(0.0, 1.5, presyn.shape), N))


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_the_lif_core_run_and_the_engine_give_the_same_spikes(backend):
    """The core's plain loop, written out with dense weights, against simulate() on either backend."""
    net = _net(np.random.default_rng(1))
    stim = np.random.default_rng(2).normal(0.0, 0.4, net.N)
    run = simulate(net, 200.0, rng=np.random.default_rng(3), stimulus=stim, stim_window=(50.0, 90.0),
                   record_every=net.dt, backend=backend)
    rng = np.random.default_rng(3)
    v0 = rng.uniform(0.0, 1.0, net.N)
    Wp = np.zeros((net.N, net.N))
    Wp[net.plastic.rows[:, None], net.plastic.presyn] = net.plastic.w
    inputs = lambda n: net.mu + (stim if 500 <= n < 900 else 0.0)  # noqa: E731
    ref = run_network(LIF, LIF.init(v0), net.mu, np.array([net.static[0].dense()]), [4.0], Wp, 15.0, 2000,
                      net.dt, noise=net.noise, rng=rng, inputs=inputs)
    assert ref["spike_steps"].size > 100
    np.testing.assert_array_equal(run.spike_steps, ref["spike_steps"])
    np.testing.assert_array_equal(run.spike_neurons, ref["spike_neurons"])
    np.testing.assert_allclose(run.v, np.array(ref["v"]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("mu", [1.05, 1.5, 3.0])
def test_the_euler_step_at_constant_input_fires_at_the_lif_rate(mu):
    """Driven at constant input from v = 0, the step fires at lif_rate_euler exactly, near lif_rate."""
    v, dt, steps = np.zeros(1), 0.01, []
    for n in range(200_000):  # 2 s
        v, spiked = lif_euler_step(v, np.array([mu]), np.zeros(1), dt / 10.0)
        if spiked[0]:
            steps.append(n)
    rate = 1000.0 / (np.diff(steps).mean() * dt)
    assert rate == pytest.approx(lif_rate_euler(mu, dt=dt), rel=1e-9)
    assert rate == pytest.approx(lif_rate(mu), rel=0.01)


def test_a_model_without_a_kernel_asks_for_the_numpy_backend():
    net = _net(np.random.default_rng(0))
    with pytest.raises(ValueError, match="backend"):
        simulate(net, 10.0, rng=np.random.default_rng(0), model=adaptive_lif())
    with pytest.raises(ValueError, match="backend"):
        spiking_net.build_network(SpikingParams(N=20), model=adaptive_lif())
    with pytest.raises(ValueError, match="backend"):
        simulate(net, 10.0, rng=np.random.default_rng(0), backend="cuda")


def test_the_adaptive_model_adapts():
    """Its rate at constant input falls below the LIF's (the adaptation current builds up)."""
    net = LIFNetwork(mu=np.full(3, 1.5))
    lif = simulate(net, 500.0, rng=np.random.default_rng(0), v0=0.0, backend="numpy", model=lif_model())
    ada = simulate(net, 500.0, rng=np.random.default_rng(0), v0=0.0, backend="numpy", model=adaptive_lif())
    assert 0 < ada.spike_steps.size < 0.8 * lif.spike_steps.size


def test_part2_trains_an_adaptive_lif_network_on_the_numpy_backend():
    p = SpikingParams(N=30, stim_on=100.0, stim_off=200.0, train_duration=600.0, target_period=600.0,
                      n_loops=4, seed=0)
    res = spiking_net.train(p, model=adaptive_lif(), backend="numpy", progress=False)
    assert res.network.model.name == "adaptive LIF"
    untrained = spiking_net.run_trial(spiking_net.build_network(p, model=adaptive_lif(), backend="numpy"),
                                      loop=0)
    assert res.test().score > untrained.score + 0.08  # measured: 0.04 untrained, 0.15 after 4 loops
