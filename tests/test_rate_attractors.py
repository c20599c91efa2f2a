"""Part 5 on the rate side (tutorial_lib.rate_attractors): known answers on small systems first (the Euler-
Maruyama step, a two-population model with analytic fixed points and separatrix), then the trained delay
task at its defaults (seed 0): it trains, its fixed points, its empirical separatrix, and bad input."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from tutorial_lib import rate_attractors as ra
from tutorial_lib.core.choice import relu, switch_fractions, two_attractor_relu
from tutorial_lib.data import CONDITIONS, synthetic_alm


# ---------------------------------------------------------------------------------------------------------
# known answers


def test_without_coupling_or_noise_the_rates_relax_to_relu_of_the_input_exactly():
    b, dt_tau = np.array([0.5, -1.0, 2.0]), 0.1
    r = ra.simulate(np.zeros((3, 3)), b, np.zeros(3), 30, dt_tau, 0.0, None)
    k = np.arange(31)[:, None]
    np.testing.assert_allclose(r, relu(b) * (1.0 - (1.0 - dt_tau) ** k), rtol=1e-12, atol=1e-15)


def test_the_stimulus_is_on_for_its_steps_only():
    stim = np.array([1.0, 0.0])
    r = ra.simulate(np.zeros((2, 2)), np.zeros(2), np.zeros(2), 10, 0.5, 0.0, None, stim, (2, 4))
    assert np.all(r[:3] == 0.0) and r[3, 0] == 0.5 and r[4, 0] == 0.75 and r[5, 0] == 0.375
    assert np.all(r[:, 1] == 0.0)


def test_the_noise_has_its_documented_size():
    """W = 0 and b < 0: a leaky unit driven by noise alone, whose stationary variance is known exactly
    for the discrete step: sigma^2 dt_tau / (1 - (1 - dt_tau)^2) (about sigma^2 / 2)."""
    sigma, dt_tau = 0.3, 0.1
    r = ra.simulate(np.zeros((1, 1)), np.full(1, -10.0), np.zeros((4000, 1)), 200, dt_tau, sigma,
                    np.random.default_rng(1))
    expected = sigma ** 2 * dt_tau / (1.0 - (1.0 - dt_tau) ** 2)
    assert np.var(r[-1]) == pytest.approx(expected, rel=0.08)          # 4000 trials: about 2 % standard error


def two_population_task(drive=(1.0, 1.0), w_self=0.5, w_cross=2.0, n_test=4):
    """A DelayTask around core.choice.two_attractor_relu (analytic fixed points), its test trials sitting
    on the two attractors (so the choice mode is the line between them)."""
    W, b, points = two_attractor_relu(w_self, w_cross)
    b = np.asarray(drive, float)
    x = [np.linalg.solve(np.eye(2) - W * (np.arange(2) == k), b) for k in (0, 1)]  # one population active
    ends = relu(np.array(x))
    t = np.arange(0.0, 401.0)
    rates = np.broadcast_to(ends[:, None, None, :], (2, n_test, t.size, 2)).copy()
    mode = (ends[0] - ends[1]) / np.linalg.norm(ends[0] - ends[1])
    return ra.DelayTask(W, b, np.zeros((2, 2)), np.array(x), ends, t, rates, mode, 0.0,
                        np.array([[1] * (n_test // 2), [-1] * (n_test // 2)]), np.ones(2), np.ones(2), 0.0, 0.1,
                        0.0, 0), points


def test_the_two_population_model_has_its_analytic_fixed_points_at_their_positions():
    task, analytic = two_population_task()
    found = ra.delay_fixed_points(task, n_line=11, every_ms=50.0)
    assert found.counts() == {"saddle": 1, "stable": 2}
    for x, kind in analytic:
        i = np.argmin(np.linalg.norm(found.points.x - x, axis=1))
        np.testing.assert_allclose(found.points.x[i], x, atol=1e-7)
        assert found.kind[i] == kind
    # r_a = (2, 0), r_b = (0, 2), the saddle r = (0.4, 0.4): s = +1, -1 and 0 by symmetry
    np.testing.assert_allclose(found.s[found.attractors], [1.0, -1.0], atol=1e-12)
    assert found.h == pytest.approx(np.sqrt(2.0))
    assert found.s[found.saddles[0]] == pytest.approx(0.0, abs=1e-7)
    assert found.s_cross[found.saddles[0]] == pytest.approx(0.0, abs=1e-7)   # the diagonal is its stable manifold
    assert np.isnan(found.s_cross[found.attractors]).all()


def separatrix_crossing(task, points):
    """The true crossing of the separatrix with the line between the attractors, without the kicks: the
    saddle's stable manifold integrated backwards in time (rate form) until it meets that line."""
    i = points.saddles[0]
    x = points.points.x[i]
    J = -np.eye(2) + (x > 0)[:, None] * task.W
    ev, vec = np.linalg.eig(J)
    v = np.real(vec[:, np.argmin(ev.real)])
    r_a, r_b = points.r[points.attractors]
    normal = np.array([-(r_a - r_b)[1], (r_a - r_b)[0]])     # the line's normal in the plane

    def back(t, r):
        return r - relu(task.W @ r + task.b)                # dr/dt reversed

    def meets(t, r):
        return normal @ (r - r_a)

    for sign in (1.0, -1.0):
        r0 = points.r[i] + sign * 1e-6 * v
        sol = solve_ivp(back, (0.0, 50.0), r0, events=meets, rtol=1e-10, atol=1e-12)
        if sol.t_events[0].size:
            return float(points.position(sol.y_events[0][0]))
    raise AssertionError("the stable manifold does not reach the line")


@pytest.mark.parametrize("drive", [(1.0, 1.0), (1.0, 1.3)])
def test_the_kicks_find_the_analytic_separatrix_within_their_interval(drive):
    """Symmetric drive: the separatrix is the diagonal (s = 0). Asymmetric: it crosses the line at s = 0.257,
    where neither the saddle's own position (0.291) nor its stable plane (0.217) lies: the manifold bends
    once it leaves the saddle's linear region; the kicks must find the crossing itself."""
    task, _ = two_population_task(drive)
    points = ra.delay_fixed_points(task, n_line=11, every_ms=50.0)
    truth = separatrix_crossing(task, points)
    if drive[0] == drive[1]:
        assert truth == pytest.approx(0.0, abs=1e-6)        # the diagonal, by symmetry
    else:
        assert truth == pytest.approx(0.2565, abs=1e-3)     # not at the midpoint: the test can tell
    kicks = ra.kick_separatrix(task, points, np.linspace(0.5, 1.5, 21), n_trials=20, noise=0.03, seed=3)
    assert kicks.pooled.low <= truth <= kicks.pooled.high, (truth, kicks.pooled)
    assert kicks.pooled.high - kicks.pooled.low < 0.1
    for side in ra.SIGN:
        _, low, high = kicks.separatrix[side]
        assert low - 0.02 <= truth <= high + 0.02, (side, truth, kicks.separatrix[side])


# ---------------------------------------------------------------------------------------------------------
# the trained delay task at its defaults, seed 0


@pytest.fixture(scope="module")
def task():
    return ra.train_delay_task()


@pytest.fixture(scope="module")
def points(task):
    return ra.delay_fixed_points(task)


@pytest.fixture(scope="module")
def kicks(task, points):
    return ra.kick_separatrix(task, points)


def test_the_task_trains_and_holds_the_choice_without_input(task):
    assert task.rates.shape == (2, 6, 401, 100) and task.t[-1] == 400.0
    assert np.all(task.r2 > 0.99), task.r2                  # the late-delay pattern of each condition
    assert np.all(task.r2_single > 0.9), task.r2_single      # every noisy trial at every time
    np.testing.assert_array_equal(task.choices, [[1, 1, 1], [-1, -1, -1]])
    late = task.t >= task.late_delay[0]
    for c in (0, 1):                                         # and each condition is far from the other's target
        err_own = np.abs(task.rates[c][:, late].mean(axis=(0, 1)) - task.targets[c]).mean()
        err_other = np.abs(task.rates[c][:, late].mean(axis=(0, 1)) - task.targets[1 - c]).mean()
        assert err_own < 0.05 < err_other
    inputs = task.inputs(0)
    np.testing.assert_array_equal(inputs["delay"], task.b)
    np.testing.assert_array_equal(inputs["stimulus"], task.b + task.stimuli[0])


def test_an_untrained_network_does_not_hold_the_choice():
    """The control: the same draw with no learning worth the name (one loop, huge penalty)."""
    lazy = ra.train_delay_task(N=40, n_loops=1, lam=1e6, n_test=2)
    assert np.all(lazy.r2 < 0.5)


def test_two_attractors_near_the_end_states_and_a_saddle_between_them(task, points):
    assert points.counts() == {"saddle": 1, "stable": 2}
    assert np.all(points.points.q <= 1e-12)
    late = task.t >= task.late_delay[0]
    ends = task.rates[:, :, late].mean(axis=(1, 2))
    for c in (0, 1):
        # the noisy trials' mean sits a little off the attractor (the flow is not linear), 0.07 h at seed 0
        assert np.linalg.norm(points.r[points.attractors[c]] - ends[c]) < 0.1 * points.h
        assert np.abs(points.r[points.attractors[c]] - task.targets[c]).max() < 0.1
    np.testing.assert_allclose(points.s[points.attractors], [1.0, -1.0], atol=1e-12)
    saddle = points.saddles[0]
    assert -1.0 < points.s[saddle] < 1.0
    assert np.sum(points.points.eigenvalues[saddle].real > 0) == 1        # one unstable direction
    assert np.all(points.points.eigenvalues[points.attractors].real < 0)


def test_the_saddle_sits_inside_the_empirical_separatrix(points, kicks):
    """At the defaults, seed 0: the saddle's position along the choice mode, and the crossing of its stable
    plane with the kicks' line, inside the pooled interval of the kicks (both sides)."""
    saddle = points.saddles[0]
    assert kicks.pooled.bounded and kicks.pooled.high - kicks.pooled.low < 0.2
    assert kicks.pooled.low <= points.s[saddle] <= kicks.pooled.high, (points.s[saddle], kicks.pooled)
    assert kicks.pooled.low <= points.s_cross[saddle] <= kicks.pooled.high, (points.s_cross[saddle], kicks.pooled)
    for side in ra.SIGN:
        _, low, high = kicks.separatrix[side]
        assert low <= points.s_cross[saddle] <= high


def test_the_switched_fraction_grows_with_amplitude(kicks):
    for side in ra.SIGN:
        sel = kicks.side == side
        amps, _, _, frac, _, _ = switch_fractions(kicks.amplitude[sel], kicks.switched[sel])
        assert frac[amps <= 0.7].max() == 0.0 and frac[amps >= 1.3].min() == 1.0
        assert np.all(np.diff(frac) >= -0.1), frac
        assert 0.7 < kicks.thresholds[side].a50 < 1.3


def test_a_zero_kick_changes_nothing_bit_for_bit(task, points):
    """Amplitude 0 gives exactly the trials without a kick (the same noise, the same start: same bits)."""
    out = ra.kick_separatrix(task, points, [0.0, 0.9, 1.5], n_trials=4, noise=0.05, duration=40.0, seed=5)
    start = np.broadcast_to(points.r[points.attractors][:, None, :], (2, 4, task.N))
    unkicked = points.position(ra.simulate(task.W, task.b, start, 80, 0.5 / 5.0, 0.05, np.random.default_rng(5)))
    unkicked = unkicked.transpose(1, 2, 0).reshape(8, -1)     # rows (side, trial), like the kicks' rows
    zero = out.amplitude == 0.0
    np.testing.assert_array_equal(out.s[zero], unkicked)
    assert not out.switched[zero].any()
    np.testing.assert_array_equal(out.choice[zero], out.side[zero])
    assert out.switched[out.amplitude == 1.5].all()


# ---------------------------------------------------------------------------------------------------------
# bad input: a ValueError naming the parameter


@pytest.mark.parametrize("kwargs,name", [
    (dict(N=1), "N"), (dict(N=301), "N"), (dict(N=2.5), "N"), (dict(n_loops=0), "n_loops"),
    (dict(noise=-0.1), "noise"), (dict(noise=float("nan")), "noise"), (dict(noise=2.0), "noise"),
    (dict(drive=0.0), "drive"), (dict(lam=0.0), "lam"), (dict(n_test=1), "n_test"), (dict(dt=0.0), "dt"),
    (dict(dt=5.0), "dt"), (dict(seed=-1), "seed"), (dict(target_inputs=np.zeros((2, 3))), "target_inputs"),
    (dict(target_inputs=np.full((2, 100), np.inf)), "target_inputs"),
])
def test_bad_task_arguments_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name} "):
        ra.train_delay_task(**kwargs)


@pytest.mark.parametrize("kwargs,name", [
    (dict(amplitudes=[0.5]), "amplitudes"), (dict(amplitudes=[1.0, 1.0]), "amplitudes"),
    (dict(amplitudes=[-1.0, 1.0]), r"amplitudes\[0\]"), (dict(amplitudes=[0.0, 11.0]), r"amplitudes\[1\]"),
    (dict(n_trials=0), "n_trials"), (dict(noise=1.5), "noise"), (dict(dt=2.0), "dt"),
    (dict(duration=0.0), "duration"), (dict(readout=0.0), "readout"), (dict(readout=200.0), "readout"),
    (dict(seed=2**33), "seed"),
    # a repeated amplitude ran the same trials (the same noise) twice and counted them twice
    (dict(amplitudes=[0.0, 0.5, 1.0, 0.5]), r"amplitudes must hold each value once \(got 0.5 twice:"),
])
def test_bad_kick_arguments_name_themselves(kwargs, name):
    task, _ = two_population_task()
    points = ra.delay_fixed_points(task, n_line=5, every_ms=100.0)
    with pytest.raises(ValueError, match=rf"^{name} "):
        ra.kick_separatrix(task, points, **kwargs)


def test_kicks_refuse_points_of_another_task():
    task, _ = two_population_task()
    other, _ = two_population_task((1.0, 1.3))
    other.mode = -other.mode
    with pytest.raises(ValueError, match="^points "):
        ra.kick_separatrix(task, ra.delay_fixed_points(other, n_line=5, every_ms=100.0))


def test_bad_finder_arguments_and_a_network_without_two_attractors():
    task, _ = two_population_task()
    for kwargs, name in ((dict(n_line=1), "n_line"), (dict(every_ms=0.5), "every_ms")):
        with pytest.raises(ValueError, match=rf"^{name} "):
            ra.delay_fixed_points(task, **kwargs)
    with pytest.raises(TypeError, match="task"):
        ra.delay_fixed_points(object())
    task.W = np.zeros((2, 2))                                # one fixed point only: no attractors to place
    with pytest.raises(ValueError, match="stable point"):
        ra.delay_fixed_points(task)
    with pytest.raises(ValueError, match="condition"):
        task.inputs(2)


def test_dt_must_divide_a_millisecond():
    with pytest.raises(ValueError, match="^dt .*divide 1 ms"):
        ra.train_delay_task(dt=0.3)


def test_alm_patterns_are_in_range_and_the_preferred_condition_at_one():
    data = synthetic_alm(n_neurons=50, seed=1)
    x, neurons = ra.alm_target_inputs(data, n=20)
    assert x.shape == (2, 20) and neurons.shape == (20,) and len(set(neurons.tolist())) == 20
    assert np.all((x >= -1.0) & (x <= 1.0)) and np.all(x.max(axis=0) == 1.0)
    late = np.array([data.rates[c][data.t >= 1600.0].mean(axis=0) for c in CONDITIONS])
    gap = np.abs(late[0] - late[1])
    assert gap[neurons].min() >= np.delete(gap, neurons).max()      # the most selective ones
    for kwargs, name in (({"n": 1}, "n"), ({"n": 51}, "n"), ({"n": 20, "window": (2100.0, 2200.0)}, "window"),
                         ({"n": 20, "window": 5.0}, "window"), ({"n": 20, "window": "ab"}, "window"),
                         ({"n": 20, "window": (np.nan, 2000.0)}, r"window\[0\] .*finite"),
                         ({"n": 20, "window": (1600.0, "2000")}, r"window\[1\] .*real number"),
                         ({"n": 20, "window": (2000.0, 1600.0)}, r"window\[1\] .*must be >= 2000")):
        with pytest.raises(ValueError, match=rf"^{name} "):
            ra.alm_target_inputs(data, **kwargs)
