"""Part 4: spike timing or rate? Replays of a trial's spikes (jittered) and rate-matched Poisson spikes."""

import numpy as np
import pytest

from tutorial_lib import BalancedParams, balanced
from tutorial_lib.balanced import Replay, rate_matched_poisson, spike_timing_test
from tutorial_lib.data import synthetic_alm

SMALL = BalancedParams(N=400, K=40, L=5, n_trained=20, stim_on=100.0, stim_off=200.0, train_duration=600.0,
                       n_loops=1, ffwd=True, n_ffwd=10, inh_weight_ratio=None, score_every=0, n_test_trials=2,
                       seed=2)


@pytest.fixture(scope="module")
def net():
    net = balanced.build_network(SMALL, synthetic_alm(n_neurons=60, seed=1))
    balanced.run_trial(net, "right", balanced.make_rls(net), loop=0)
    return net


def test_replaying_a_trial_into_every_channel_gives_the_trial_again(net):
    base = balanced.run_trial(net, "left", loop=1)
    replay = Replay(base.spike_times, base.spike_neurons, ("excitatory", "inhibitory", "plastic"))
    again = balanced.run_trial(net, "left", loop=1, replay=replay)
    np.testing.assert_array_equal(again.spike_times, base.spike_times)
    np.testing.assert_array_equal(again.spike_neurons, base.spike_neurons)
    np.testing.assert_array_equal(again.binned, base.binned)
    np.testing.assert_array_equal(again.run.currents, base.run.currents)


def test_a_jittered_replay_into_the_plastic_synapses_changes_their_input(net):
    base = balanced.run_trial(net, "right", loop=1)
    rep = Replay(base.spike_times, base.spike_neurons).jittered(50.0, np.random.default_rng(0), SMALL.dt,
                                                                  SMALL.t_end)
    tr = balanced.run_trial(net, "right", loop=1, replay=rep)
    plastic = list(tr.run.channels).index("plastic")
    assert not np.array_equal(tr.run.currents[:, plastic], base.run.currents[:, plastic])


def test_spike_timing_test_at_jitter_zero_into_every_channel_equals_the_baseline(net):
    res = spike_timing_test(net, jitters=(0.0,), n_trials=1, channels=("static", "plastic"), conditions="right")
    assert res.channels == ("excitatory", "inhibitory", "plastic")
    assert res.scores[0] == res.baseline and res.scores_avg[0] == res.baseline_avg
    assert np.isfinite(res.poisson)
    assert "rate-matched Poisson" in res.table() and "jitter 0 ms" in res.table()


def test_spike_timing_test_is_reproducible_and_checks_its_arguments(net):
    a = spike_timing_test(net, jitters=(5.0,), n_trials=1, conditions="left", seed=3)
    b = spike_timing_test(net, jitters=(5.0,), n_trials=1, conditions="left", seed=3)
    assert a.scores[0] == b.scores[0] and a.poisson == b.poisson
    for kwargs, match in [(dict(jitters=(-1.0,)), "jitters"), (dict(jitters=()), "jitters"),
                          (dict(n_trials=0), "n_trials"), (dict(channels=("dendritic",)), "channels"),
                          (dict(conditions=("up",)), "conditions"), (dict(seed=-1), "seed")]:
        with pytest.raises(ValueError, match=match):
            spike_timing_test(net, **kwargs)
    with pytest.raises(TypeError, match="net must be"):
        spike_timing_test(object())


def test_rate_matched_poisson_keeps_each_neurons_count_on_average(net):
    """Expected counts equal the trials' mean counts; over 200 draws the mean count of each neuron is
    within 4 standard errors of the recorded mean (Poisson: variance = mean)."""
    trials = [balanced.run_trial(net, "right", loop=k, spikes_only=True) for k in range(2)]
    N = SMALL.N
    recorded = np.mean([np.bincount(t.spike_neurons, minlength=N) for t in trials], axis=0)
    rng = np.random.default_rng(5)
    draws = np.array([np.bincount(rate_matched_poisson(trials, rng, SMALL.dt, smooth_ms=0.0).neurons,
                                  minlength=N) for _ in range(200)])
    se = np.sqrt(np.maximum(recorded, 0.5) / 200)
    assert np.all(np.abs(draws.mean(axis=0) - recorded) < 4.5 * se)
    rep = rate_matched_poisson(trials, rng, SMALL.dt)
    assert rep.channels == ("plastic",)
    steps = rep.times / SMALL.dt
    np.testing.assert_allclose(steps, np.rint(steps), atol=1e-9)  # on the grid
    assert rep.times.min() > 0 and rep.times.max() <= SMALL.t_end
    with pytest.raises(ValueError, match="dt"):
        rate_matched_poisson(trials, rng, 0.3)
    with pytest.raises(ValueError, match="trials"):
        rate_matched_poisson([], rng, SMALL.dt)


def test_evaluate_takes_one_replay_per_trial(net):
    base = balanced.evaluate(net, n_trials=2, condition="left", spikes_only=True)
    reps = [Replay(t.spike_times, t.spike_neurons, ("excitatory", "inhibitory", "plastic")) for t in base.trials]
    again = balanced.evaluate(net, n_trials=2, condition="left", spikes_only=True, replay=reps)
    np.testing.assert_array_equal(again.corr, base.corr)
    with pytest.raises(ValueError, match="one per trial"):
        balanced.evaluate(net, n_trials=2, condition="left", replay=reps[:1])


def test_a_replay_that_runs_away_is_a_result_not_a_crash(net, monkeypatch):
    """A replay into the static synapses can break the balance: the run's DivergenceError becomes NaN
    scores and a line in ``failures`` and in the table; the network running away without a replay
    still raises."""
    from tutorial_lib.balanced import timing
    from tutorial_lib.errors import DivergenceError

    real = timing.run_trial

    def jitter_breaks_it(net_, c, replay=None, **kw):
        if replay is not None and replay.times.size and not np.isin(replay.times, base_times).all():
            raise DivergenceError("activity ran away at t = 1877 ms", kind="runaway", phase="test", t_ms=1877.0)
        return real(net_, c, replay=replay, **kw)

    base_times = balanced.run_trial(net, "right", loop=0, spikes_only=True).spike_times
    monkeypatch.setattr(timing, "run_trial", jitter_breaks_it)
    res = spike_timing_test(net, jitters=(0.0, 30.0), n_trials=1, conditions="right")
    assert np.isfinite(res.scores[0]) and np.isnan(res.scores[1]) and np.isnan(res.poisson)
    assert set(res.failures) == {"jitter 30 ms", "Poisson"}
    assert "jitter 30 ms: ran away (activity ran away at t = 1877 ms" in res.table()

    def always(*args, **kw):
        raise DivergenceError("the network itself ran away", kind="runaway", phase="test", t_ms=10.0)

    monkeypatch.setattr(timing, "run_trial", always)
    with pytest.raises(DivergenceError, match="itself"):
        spike_timing_test(net, jitters=(0.0,), n_trials=1, conditions="right")
