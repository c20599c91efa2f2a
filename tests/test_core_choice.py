"""Part 5, the plain formulas (tutorial_lib.core.choice): the choice mode, the separatrix estimate, and the
fixed points of a two-attractor rate model, each against a known answer."""

import numpy as np
import pytest

from tutorial_lib.core import choice as ch
from tutorial_lib.core.fixed_points import find_fixed_points


# ---------------------------------------------------------------------------
# The choice mode


def two_conditions(n_trials=40, n_time=30, n_neurons=8, seed=0, noise=1.0):
    """Trials whose condition-a mean differs from b's along a known unit vector, from bin 10 on."""
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=n_neurons)
    direction /= np.linalg.norm(direction)
    ramp = np.clip((np.arange(n_time) - 10) / 10.0, 0.0, 1.0)[None, :, None]
    base = 5.0 + rng.normal(size=(1, n_time, n_neurons))
    a = base + 3.0 * ramp * direction + noise * rng.normal(size=(n_trials, n_time, n_neurons))
    b = base - 3.0 * ramp * direction + noise * rng.normal(size=(n_trials, n_time, n_neurons))
    return a, b, np.arange(n_time) * 20.0, direction


def test_choice_mode_is_the_normalised_mean_difference():
    a, b, t, _ = two_conditions()
    m = ch.choice_mode(a, b, t, (200.0, 580.0))
    sel = (t >= 200.0) & (t <= 580.0)
    d = a[:, sel].mean(axis=(0, 1)) - b[:, sel].mean(axis=(0, 1))
    np.testing.assert_allclose(m, d / np.linalg.norm(d), rtol=1e-12)
    assert np.linalg.norm(m) == pytest.approx(1.0, abs=1e-12)


def test_choice_mode_finds_the_planted_direction_and_points_from_b_to_a():
    a, b, t, direction = two_conditions(n_trials=200, noise=0.5)
    m = ch.choice_mode(a, b, t, (400.0, 580.0))
    assert float(m @ direction) > 0.99
    m_swapped = ch.choice_mode(b, a, t, (400.0, 580.0))
    np.testing.assert_allclose(m_swapped, -m, atol=1e-12)


def test_held_out_trials_are_read_out_by_condition():
    a, b, t, _ = two_conditions(n_trials=60, noise=1.0)
    train, test = slice(0, 30), slice(30, 60)
    m = ch.choice_mode(a[train], b[train], t, (400.0, 580.0))
    mid = ch.choice_midpoint(ch.project(a[train], m), ch.project(b[train], m), t, (540.0, 580.0))
    assert np.all(ch.read_choice(ch.project(a[test], m), t, (540.0, 580.0), mid) == 1)
    assert np.all(ch.read_choice(ch.project(b[test], m), t, (540.0, 580.0), mid) == -1)
    # before the conditions part (bins < 10) the projections of the two overlap: no read-out there
    early = ch.window_mean(ch.project(a[test], m), t, (0.0, 100.0)) - \
        ch.window_mean(ch.project(b[test], m), t, (0.0, 100.0))
    assert abs(early.mean()) < 1.0


def test_choice_mode_refuses_what_does_not_fit():
    a, b, t, _ = two_conditions()
    with pytest.raises(ValueError, match=r"^a must be a \(trials, time, neurons\)"):
        ch.choice_mode(a[0], b, t, (0.0, 100.0))
    with pytest.raises(ValueError, match="must fit"):
        ch.choice_mode(a, b[:, :, :3], t, (0.0, 100.0))
    with pytest.raises(ValueError, match=r"window must hold at least one time of t, from 0 to 580"):
        ch.choice_mode(a, b, t, (1000.0, 2000.0))
    with pytest.raises(ValueError, match="no choice mode"):
        ch.choice_mode(a, a, t, (0.0, 100.0))
    with pytest.raises(ValueError, match=r"mode must be \(neurons,\)"):
        ch.project(a, np.ones(3))


# ---------------------------------------------------------------------------
# Wilson intervals


def test_wilson_interval_known_values():
    # Wilson (1927) by hand for 8 of 10 at 95 %: z = 1.959964
    p, lo, hi = ch.wilson_interval(8, 10)
    z = 1.959963984540054
    centre = (0.8 + z * z / 20) / (1 + z * z / 10)
    half = z * np.sqrt(0.8 * 0.2 / 10 + z * z / 400) / (1 + z * z / 10)
    assert (float(p), float(lo), float(hi)) == pytest.approx((0.8, centre - half, centre + half), rel=1e-12)
    assert float(lo) == pytest.approx(0.4902, abs=1e-4) and float(hi) == pytest.approx(0.9433, abs=1e-4)
    p, lo, hi = ch.wilson_interval(np.array([0, 10]), np.array([10, 10]))
    assert lo[0] == 0.0 and hi[1] == 1.0 and 0.0 < hi[0] < 0.3 and 0.7 < lo[1] < 1.0


def test_wilson_interval_covers_at_its_level():
    rng = np.random.default_rng(1)
    n, p_true = 40, 0.3
    k = rng.binomial(n, p_true, size=4000)
    _, lo, hi = ch.wilson_interval(k, n)
    assert 0.93 < np.mean((lo <= p_true) & (p_true <= hi)) < 0.97


def test_wilson_interval_refuses_impossible_counts():
    with pytest.raises(ValueError, match="k within"):
        ch.wilson_interval(11, 10)
    with pytest.raises(ValueError, match="n must be >= 1"):
        ch.wilson_interval(0, 0)


# ---------------------------------------------------------------------------
# The separatrix of a noisy bistable system, x' = x - x^3 + sigma xi, kicked from x = -1


def kicked_bistable(amplitudes, n_per, sigma, dt=0.01, t_kick=5.0, t_end=15.0, seed=0):
    """Euler-Maruyama of x' = x - x^3 + sigma xi from x = -1; at t_kick every trial's x jumps by its
    amplitude; switched: x > 0 at t_end (the other attractor). Returns (amplitude, switched, x at t_end)."""
    rng = np.random.default_rng(seed)
    a = np.repeat(np.asarray(amplitudes, dtype=float), n_per)
    x = np.full(a.size, -1.0)
    k_kick = int(round(t_kick / dt))
    for n in range(int(round(t_end / dt))):
        if n == k_kick:
            x = x + a
        x = x + dt * (x - x ** 3) + sigma * np.sqrt(dt) * rng.standard_normal(a.size)
    return a, x > 0.0, x


def boundary(sigma):
    """The kick that switches half of the trials.

    Without noise: the unstable point x = 0 lies 1 from the attractor -1, and a kick that lands
    exactly on it stays there; the system is symmetric under x -> -x, so from x = 0 half of the noisy
    trials end on each side. With noise the state at the kick is -1 + y, y the fluctuation in the left
    well: f(-1 + y) = -2 y + 3 y^2 - y^3, so in the stationary state 0 = -2 <y> + 3 <y^2> and
    <y> = 3 var / 2 with var = sigma^2 / 4 (the Ornstein-Uhlenbeck variance sigma^2 / (2 * 2)). The
    kick then needs to cover 1 - <y> = 1 - 3 sigma^2 / 8 on average. The kick is instantaneous (a jump
    at one step), so no relaxation during it moves the boundary.
    """
    return 1.0 - 3.0 * sigma ** 2 / 8.0


@pytest.mark.parametrize("sigma", [0.1, 0.3])
def test_separatrix_estimate_contains_the_analytic_boundary(sigma):
    amps = np.linspace(0.8, 1.2, 21)
    a, switched, _ = kicked_bistable(amps, 100, sigma, seed=int(10 * sigma))
    fit = ch.switch_threshold(a, switched)
    assert fit.bounded
    assert fit.low <= boundary(sigma) <= fit.high, (fit, boundary(sigma))
    assert fit.high - fit.low < 0.05  # an estimate, not a shrug


def test_separatrix_estimate_sees_the_noise_shift():
    """With sigma = 0.3 the shift 3 sigma^2 / 8 = 0.034 is outside the interval: the estimate can tell the
    noisy boundary from the noise-free one (a wrong derivation would fail the test above)."""
    a, switched, _ = kicked_bistable(np.linspace(0.8, 1.2, 21), 100, 0.3, seed=3)
    fit = ch.switch_threshold(a, switched)
    assert not fit.low <= 1.0 <= fit.high


def test_switched_fraction_grows_with_strength():
    amps = np.array([0.0, 0.5, 0.9, 1.0, 1.1, 1.5, 2.0])
    a, switched, _ = kicked_bistable(amps, 60, 0.2, seed=5)
    levels, n, k, frac, lo, hi = ch.switch_fractions(a, switched)
    np.testing.assert_array_equal(levels, amps)
    assert np.all(n == 60)
    assert frac[0] == 0.0 and frac[-1] == 1.0
    assert np.all(np.diff(frac) >= -0.1)  # sampling noise aside, never falls
    assert frac[1] < frac[3] < frac[5]
    assert np.all((lo <= frac) & (frac <= hi))


def test_a_kick_of_zero_changes_no_outcome_bit_for_bit():
    amps = np.zeros(1)
    _, sw_kicked, x_kicked = kicked_bistable(amps, 200, 0.5, seed=7)
    # the same noise, no kick at all (t_kick past the end)
    _, sw_none, x_none = kicked_bistable(amps, 200, 0.5, seed=7, t_kick=1e9)
    np.testing.assert_array_equal(sw_kicked, sw_none)
    assert np.array_equal(x_kicked, x_none)  # bit for bit


def test_switch_threshold_with_a_step_gives_the_gap():
    a = np.repeat(np.arange(6, dtype=float), 10)
    fit = ch.switch_threshold(a, a >= 3.0)  # every trial from 3 on switches, none below
    assert 2.0 - 0.02 <= fit.low and fit.high <= 3.0 + 0.02 and 2.0 < fit.a50 < 3.0
    assert fit.scale == pytest.approx(0.0, abs=0.01)


def test_switch_threshold_not_pinned_down_says_so():
    a = np.repeat(np.arange(5, dtype=float), 10)
    fit = ch.switch_threshold(a, np.zeros(a.size, bool))  # nothing ever switches
    assert not fit.bounded


def test_switch_threshold_refuses_bad_outcomes():
    with pytest.raises(ValueError, match="two distinct values"):
        ch.switch_threshold(np.ones(5), np.ones(5, bool))
    with pytest.raises(ValueError, match="same, non-zero length"):
        ch.switch_threshold(np.arange(5.0), np.ones(4, bool))
    with pytest.raises(ValueError, match="switched must hold True/False"):
        ch.switch_threshold(np.arange(3.0), np.array([0, 2, 1]))


# ---------------------------------------------------------------------------
# Fixed points of two-attractor rate models, against their analytic values


def test_fixed_points_of_the_relu_two_attractor_model():
    W, b, points = ch.two_attractor_relu(w_self=0.5, w_cross=2.0, drive=1.0)
    x0 = np.random.default_rng(0).uniform(-5.0, 5.0, size=(60, 2))
    found = find_fixed_points(W, b, x0, phi=ch.relu, dphi=ch.drelu)
    assert len(found) == 3
    for x, kind in points:
        k = int(np.argmin(np.linalg.norm(found.x - x, axis=1)))
        np.testing.assert_allclose(found.x[k], x, atol=1e-6)
        assert found.kind[k] == kind
    assert sorted(found.kind) == ["saddle", "stable", "stable"]


@pytest.mark.parametrize("w_self, w_cross, drive", [(0.0, 1.5, 0.5), (0.8, 0.5, 2.0)])
def test_two_attractor_relu_values_are_fixed_points(w_self, w_cross, drive):
    W, b, points = ch.two_attractor_relu(w_self, w_cross, drive)
    for x, kind in points:
        np.testing.assert_allclose(-x + W @ ch.relu(x) + b, 0.0, atol=1e-12)
        eig = np.linalg.eigvals(-np.eye(2) + W * ch.drelu(x)[None, :])
        assert (np.all(eig.real < 0) if kind == "stable" else np.prod(np.sign(eig.real)) < 0)


def test_fixed_points_of_the_tanh_two_attractor_model():
    """x' = -x + W tanh(x), W = [[1, -1], [-1, 1]]: x1 + x2 decays to 0, and on x1 = -x2 = u the flow is
    -u + 2 tanh(u): the origin (a saddle: eigenvalues -1 along (1, 1), +1 along (1, -1)) and
    u* = 2 tanh(u*) = 1.9150 (stable: eigenvalues -1 and -1 + 2 sech^2(u*) < 0)."""
    from scipy.optimize import brentq  # a test-only helper

    u_star = brentq(lambda u: u - 2.0 * np.tanh(u), 1.0, 3.0)
    W = np.array([[1.0, -1.0], [-1.0, 1.0]])
    x0 = np.random.default_rng(1).uniform(-3.0, 3.0, size=(60, 2))
    found = find_fixed_points(W, np.zeros(2), x0, phi=np.tanh, dphi=lambda x: 1.0 - np.tanh(x) ** 2)
    expected = [(np.array([u_star, -u_star]), "stable"), (np.array([-u_star, u_star]), "stable"),
                (np.zeros(2), "saddle")]
    assert len(found) == 3
    for x, kind in expected:
        k = int(np.argmin(np.linalg.norm(found.x - x, axis=1)))
        np.testing.assert_allclose(found.x[k], x, atol=1e-5)
        assert found.kind[k] == kind
    saddle = found.x[list(found.kind).index("saddle")]
    eig = np.sort(found.eigenvalues[list(found.kind).index("saddle")].real)
    np.testing.assert_allclose(eig, [-1.0, 1.0], atol=1e-6)
    assert np.linalg.norm(saddle) < 1e-5


def test_two_attractor_relu_refuses_parameters_without_two_attractors():
    with pytest.raises(ValueError, match=r"w_self must be in \[0, 1\)"):
        ch.two_attractor_relu(w_self=1.0)
    with pytest.raises(ValueError, match=r"w_cross must be > 1 - w_self = 0.5"):
        ch.two_attractor_relu(w_self=0.5, w_cross=0.4)
    with pytest.raises(ValueError, match="drive must be > 0"):
        ch.two_attractor_relu(drive=0.0)


def test_the_threshold_of_nonnegative_amplitudes_is_never_negative():
    """Kicks are sizes: when most trials switch at the smallest kick tried, the interval stops at 0 (and
    says it is not bounded there) instead of reaching below it."""
    amp = np.repeat([0.5, 1.0, 2.0, 4.0], 12)
    switched = np.concatenate([np.arange(12) < 5, np.arange(12) < 7, np.arange(12) < 10, np.ones(12, bool)])
    fit = ch.switch_threshold(amp, switched)
    assert fit.low == 0.0 <= fit.a50 < 1.5 and not fit.bounded
    signed = ch.switch_threshold(amp - 1.0, switched)  # the same outcomes on a signed axis
    assert signed.low < -0.5


@pytest.mark.parametrize("level", [0.0, 1.0, 2.0, -0.5, np.nan, np.inf, True, "0.95"])
def test_every_confidence_level_is_checked_by_name(level):
    """A level outside (0, 1) gave NaN intervals (wilson_interval) or an unrelated numpy error
    (switch_threshold: 'zero-size array to reduction operation'); now each names it."""
    amp, switched = np.repeat([0.0, 1.0, 2.0], 4), np.tile([False, False, True, True], 3)
    for call in (lambda: ch.wilson_interval(1, 4, level), lambda: ch.switch_fractions(amp, switched, level),
                 lambda: ch.switch_threshold(amp, switched, level)):
        with pytest.raises(ValueError, match=r"level \(confidence level of the interval, e.g. 0.95\) must be"):
            call()


@pytest.mark.parametrize("kw, match", [
    ({"n_grid": 1}, r"n_grid \(.*\) must be in \[3, 100000\]"), ({"n_grid": 2.5}, r"n_grid .* whole number"),
    ({"amplitude": [0.0, np.inf, 1.0]}, r"amplitude must be finite \(got inf\)"),
    ({"amplitude": [0.0, np.nan, 1.0]}, r"amplitude must be finite \(got nan\)"),
])
def test_switch_threshold_refuses_a_grid_or_amplitudes_it_cannot_use(kw, match):
    args = {"amplitude": [0.0, 1.0, 2.0], "switched": [False, True, True], **kw}
    with pytest.raises(ValueError, match=match):
        ch.switch_threshold(**args)
