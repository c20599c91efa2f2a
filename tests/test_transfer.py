"""The noisy-LIF transfer function and its inverse: accuracy, limits, simulation, and the ALM targets."""

import math
import os
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import erfcx

from tutorial_lib.data import ENV_VAR, load_alm
from tutorial_lib.engine import siegert
from tutorial_lib.core.siegert import ALM_SIGMA
from tutorial_lib.engine.siegert import (RATE_MIN, RATE_TAU_MAX, SIGMA_RANGE, fit_sigma, siegert_inverse,
                                   siegert_rate)

_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "alm"
ALM_DIR = Path(os.environ.get(ENV_VAR) or _SHARED)
needs_alm = pytest.mark.skipif(
    not (ALM_DIR / "utarg1Hz_lickleft.jld").is_file(),
    reason=f"ALM files not found at {ALM_DIR} (set {ENV_VAR} to the folder with the four .jld files)",
)


def _reference_rate(mu, sigma, tau=10.0, theta=1.0, v_reset=0.0, tau_ref=0.0):
    """The Siegert formula by adaptive quadrature (slow, for moderate arguments only)."""
    a, b = (v_reset - mu) / sigma, (theta - mu) / sigma
    cuts = [c for c in (-1e3, -100.0, -10.0, -1.0, 0.0, 1.0) if a < c < b]
    edges = [a, *cuts, b]
    j = sum(quad(lambda x: erfcx(-x), lo, hi, epsabs=0, epsrel=1e-13, limit=400)[0]
            for lo, hi in zip(edges[:-1], edges[1:]))
    return 1000.0 / (tau_ref + tau * math.sqrt(math.pi) * j)


@pytest.mark.parametrize("sigma", [0.01, 0.1, ALM_SIGMA, 1.0, 5.0])
def test_agrees_with_quadrature(sigma):
    mu = np.array([-1.0, 0.0, 0.5, 0.9, 1.0, 1.1, 2.0, 10.0])
    ok = (1.0 - mu) / sigma < 20  # quad cannot do exp(x^2) much beyond that
    got = siegert_rate(mu[ok], sigma)
    want = np.array([_reference_rate(m, sigma) for m in mu[ok]])
    np.testing.assert_allclose(got, want, rtol=1e-10)
    with_ref = _reference_rate(1.2, sigma, tau_ref=2.0)
    assert siegert_rate(1.2, sigma, tau_ref=2.0) == pytest.approx(with_ref, rel=1e-10)


@pytest.mark.parametrize("sigma", [0.02, ALM_SIGMA, 2.0])
def test_monotone_increasing_in_mu(sigma):
    mu = np.linspace(-3.0, 6.0, 20001)
    r = siegert_rate(mu, sigma)
    assert np.all(np.isfinite(r)) and np.all(r >= 0)
    assert np.all(np.diff(r) >= 0)
    positive = r > 1e-250
    assert np.all(np.diff(r[positive]) > 0)


def test_vanishing_noise_gives_the_deterministic_lif():
    tau = 10.0
    mu = np.array([1.02, 1.1, 1.5, 2.0, 5.0, 20.0])
    deterministic = 1000.0 / (tau * np.log(mu / (mu - 1.0)))
    np.testing.assert_allclose(siegert_rate(mu, 1e-3, tau=tau), deterministic, rtol=0.01)
    np.testing.assert_allclose(siegert_rate(mu[1:], 1e-5, tau=tau), deterministic[1:], rtol=1e-4)
    below = siegert_rate(np.array([-1.0, 0.0, 0.5, 0.9, 0.98]), 1e-3)
    assert np.all(below < 1e-30)


@pytest.mark.parametrize("sigma,tau_ref", [(0.05, 0.0), (ALM_SIGMA, 0.0), (1.0, 0.0), (ALM_SIGMA, 2.0)])
def test_inverse_round_trip(sigma, tau_ref):
    mu = np.linspace(-0.5, 5.0, 2001)
    r = siegert_rate(mu, sigma, tau_ref=tau_ref)
    keep = r > 1e-200
    back = siegert_inverse(r[keep], sigma, tau_ref=tau_ref)
    assert np.max(np.abs(back - mu[keep])) < 1e-8
    # and the other way round, over rates from 0.01 Hz to 300 Hz
    rates = np.geomspace(0.01, 300.0, 500)
    np.testing.assert_allclose(siegert_rate(siegert_inverse(rates, sigma, tau_ref=tau_ref), sigma, tau_ref=tau_ref),
                               rates, rtol=1e-10)


def test_inverse_shapes_zero_rates_and_per_neuron_sigma():
    assert isinstance(siegert_inverse(5.0), float) and isinstance(siegert_rate(1.0), float)
    rates = np.array([[0.0, 1.0, 5.0], [2.0, 0.0, 40.0]])  # (time, neuron)
    u = siegert_inverse(rates)
    assert u.shape == rates.shape
    assert u[0, 0] == pytest.approx(siegert_inverse(0.1), abs=1e-12)  # zero -> the 0.1 Hz of the original
    assert u[0, 0] == pytest.approx(siegert_inverse(0.0, zero_rate=0.1), abs=1e-12)
    sig = np.array([0.2, 0.3, 0.4])  # one per neuron, broadcast along the last axis
    u2 = siegert_inverse(rates, sig)
    for j in range(3):
        np.testing.assert_allclose(u2[:, j], siegert_inverse(rates[:, j], sig[j]), atol=1e-12)
    np.testing.assert_allclose(siegert_rate(u2, sig)[rates > 0], rates[rates > 0], rtol=1e-10)
    with pytest.raises(ValueError, match="rate_hz.*zero_rate"):
        siegert_inverse(rates, zero_rate=None)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: siegert_rate(1.0, sigma=0.0), r"sigma .*must be > 0"),
        (lambda: siegert_rate(1.0, sigma=-0.1), r"sigma .*must be > 0"),
        (lambda: siegert_rate([1.0, 1.0], sigma=[0.3, -1.0]), r"sigma .*must be > 0"),
        (lambda: siegert_rate(1.0, tau=0.0), r"tau .*must be > 0"),
        (lambda: siegert_rate(1.0, tau=-5.0), r"tau .*must be > 0"),
        (lambda: siegert_rate(1.0, v_reset=1.0), r"v_reset .*must be < 1"),
        (lambda: siegert_rate(1.0, tau_ref=-1.0), r"tau_ref .*must be >= 0"),
        (lambda: siegert_rate(float("nan")), r"mu .*must be finite"),
        (lambda: siegert_rate([1.0, np.inf]), r"mu .*must be finite"),
        (lambda: siegert_inverse(-1.0), r"rate_hz .*must be >= 0"),
        (lambda: siegert_inverse([1.0, -0.5]), r"rate_hz .*must be >= 0"),
        (lambda: siegert_inverse([1.0, np.nan]), r"rate_hz .*must be finite"),
        (lambda: siegert_inverse(np.inf), r"rate_hz .*must be finite"),
        (lambda: siegert_inverse(5.0, sigma=0.0), r"sigma .*must be > 0"),
        (lambda: siegert_inverse(5.0, tau=0.0), r"tau .*must be > 0"),
        (lambda: siegert_inverse(600.0, tau_ref=2.0), r"rate_hz must be in \[2.2\d*e-308, 500\) Hz.*tau_ref = 2 ms "
                                                 r"\(got 600.0\)"),
        (lambda: siegert_inverse([5.0, 500.0], tau_ref=2.0), r"rate_hz .*500\) Hz.*got 500.0 at index \(1,\)"),
        (lambda: siegert_inverse([[5.0, 1e-310]]), r"rate_hz must be in \[2.2\d*e-308, 1e\+252\] Hz.*"
                                             r"got 1e-310 at index \(0, 1\)"),
        (lambda: siegert_inverse(2e252), r"rate_hz must be in .*1e\+252\] Hz"),
        (lambda: siegert_inverse(5.0, sigma=[0.3, 1e-4]), r"sigma must be in \[0.001, 1000\].*got 0.0001 at index \(1,\)"),
        (lambda: siegert_inverse(5.0, sigma=2e3), r"sigma must be in \[0.001, 1000\]"),
        (lambda: siegert_inverse(5.0, sigma=0.005, theta=1.0, v_reset=-9.0), r"sigma must be in \[0.01, 10000\]"),
        (lambda: siegert_inverse(0.0, tau_ref=2.0, zero_rate=600.0), r"zero_rate must be in .*500\) Hz"),
        (lambda: siegert_inverse(5.0, tol=1e-6), r"tol must be in \(0, 1e-09\]"),
        (lambda: fit_sigma([[5.0]], [[0.5]], sigma0=1e-5), r"sigma0 .*must be in \[0.001, 1000\]"),
        (lambda: siegert_inverse(5.0, zero_rate=0.0), r"zero_rate .*must be > 0"),
    ],
)
def test_bad_input_names_the_parameter_and_range(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_agrees_with_a_simulated_noisy_lif():
    numba = pytest.importorskip("numba")

    @numba.njit
    def simulate(mu, sigma, tau, dt, t_end, t_skip, n, seed):
        # Euler-Maruyama for tau dv/dt = -v + mu + sigma sqrt(tau) xi; threshold 1, reset 0
        np.random.seed(seed)
        v = np.random.random(n)
        a, b = dt / tau, sigma * np.sqrt(dt / tau)
        skip, count = int(t_skip / dt), 0
        for k in range(int(t_end / dt)):
            for i in range(n):
                v[i] += a * (mu - v[i]) + b * np.random.standard_normal()
                if v[i] >= 1.0:
                    v[i] = 0.0
                    if k >= skip:
                        count += 1
        return count / (n * (t_end - t_skip) / 1000.0)

    tau, dt = 10.0, 0.05
    for k, (mu, sigma) in enumerate([(0.7, ALM_SIGMA), (1.0, ALM_SIGMA), (1.2, 0.15)]):
        simulated = simulate(mu, sigma, tau, dt, 2100.0, 100.0, 300, 7 + k)
        # A discrete-time walk overshoots the threshold before it is detected: the Euler
        # neuron fires like a continuous one with its threshold raised by
        # -zeta(1/2)/sqrt(2 pi) = 0.5826 times the per-step noise (Siegmund's correction).
        # At dt = 0.05 ms that is 2-5 % fewer spikes; with it the agreement is ~0.5 %.
        shift = 0.5826 * sigma * math.sqrt(dt / tau)
        theory = siegert_rate(mu, sigma, tau=tau, theta=1.0 + shift)
        assert simulated == pytest.approx(theory, rel=0.03), (mu, sigma, simulated, theory)
        assert simulated == pytest.approx(siegert_rate(mu, sigma, tau=tau), rel=0.08)


@pytest.fixture(scope="module")
def alm():
    old = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = str(ALM_DIR)
    try:
        data = load_alm()
    finally:
        if old is None:
            del os.environ[ENV_VAR]
        else:
            os.environ[ENV_VAR] = old
    rates = np.stack([data.rates[c] for c in ("right", "left")])  # (2, 101, 1824)
    utarg = np.stack([data.utarg[c] for c in ("right", "left")])
    return rates, utarg


@needs_alm
def test_default_sigma_reproduces_the_alm_targets(alm):
    rates, utarg = alm
    assert (rates == 0).sum() == 1635  # inverted as 0.1 Hz, as the original did
    u = siegert_inverse(rates)  # default sigma = ALM_SIGMA, tau = 10 ms, threshold 1, reset 0, zero_rate = 0.1 Hz
    err = np.abs(u - utarg)
    # measured: correlation 0.999946, mean 0.00096, max 0.00472 (the original's per-neuron sigma)
    assert np.corrcoef(u.ravel(), utarg.ravel())[0, 1] > 0.99994
    assert err.mean() < 0.0011
    assert err.max() < 0.0050


@needs_alm
def test_per_neuron_sigma_reproduces_the_alm_targets_exactly(alm):
    rates, utarg = alm
    neurons = np.random.default_rng(0).choice(rates.shape[-1], 60, replace=False)
    r, u = rates[..., neurons], utarg[..., neurons]
    sig = fit_sigma(r, u)
    # measured over all 1824 neurons: sigma in [0.3066, 0.3111], max error 2.8e-6
    # (the size of the error of the original's rational approximation of the integral)
    assert np.all((sig > 0.306) & (sig < 0.312))
    err = np.abs(siegert_inverse(r, sig) - u)
    assert err.max() < 4e-6
    assert err[r == 0].max() < 4e-6  # zero rates: 0.1 Hz reproduces them too


# ---------------------------------------------------------------------------
# The inverse over its whole domain


def _mixed_rates(rng, n, tau_ref, tau=10.0):
    """Rates that mix ordinary values with the extremes of the domain: tiny, near the ceiling, huge."""
    top = 1000.0 / tau_ref if tau_ref else RATE_TAU_MAX * 1000.0 / tau
    ordinary = rng.uniform(0.01, min(300.0, 0.9 * top), n)
    anywhere = np.exp(rng.uniform(np.log(RATE_MIN), np.log(top), n))
    tiny = np.exp(rng.uniform(np.log(RATE_MIN), np.log(1e-3), n))
    if tau_ref:  # 1 - rate * tau_ref from 0.5 down to 1e-16
        high = np.minimum(top * (1.0 - np.exp(rng.uniform(np.log(1e-16), np.log(0.5), n))), np.nextafter(top, 0))
    else:
        high = np.exp(rng.uniform(np.log(1e6), np.log(top), n))
    edges = [RATE_MIN, np.nextafter(top, 0) if tau_ref else top, 0.1, 10.0]
    rates = np.concatenate([ordinary, anywhere, tiny, high, edges])
    rng.shuffle(rates)
    return rates


@pytest.mark.parametrize("tau_ref", [0.0, 0.5, 2.0, 5.0])
def test_every_rate_in_the_domain_inverts_alone_and_in_any_company(tau_ref):
    rng = np.random.default_rng(int(tau_ref * 10))
    lo, hi = np.log(SIGMA_RANGE[0]), np.log(SIGMA_RANGE[1])
    for sigma in [SIGMA_RANGE[0], ALM_SIGMA, SIGMA_RANGE[1], *np.exp(rng.uniform(lo, hi, 3))]:
        rates = _mixed_rates(rng, 12, tau_ref)
        mu = siegert_inverse(rates, sigma, tau_ref=tau_ref)
        assert np.all(np.isfinite(mu))
        back = siegert_rate(mu, sigma, tau_ref=tau_ref)
        np.testing.assert_allclose(back, rates, rtol=1e-9, err_msg=f"sigma {sigma}")
        # each element on its own: the same as solving it alone
        alone = np.array([siegert_inverse(r, sigma, tau_ref=tau_ref) for r in rates[:10]])
        np.testing.assert_allclose(mu[:10], alone, rtol=1e-12, atol=1e-12)
    # one sigma per element, mixed too
    rates = _mixed_rates(rng, 12, tau_ref)
    sig = np.exp(rng.uniform(lo, hi, rates.size))
    mu = siegert_inverse(rates, sig, tau_ref=tau_ref)
    np.testing.assert_allclose(siegert_rate(mu, sig, tau_ref=tau_ref), rates, rtol=1e-9)
    np.testing.assert_allclose(mu[-5:], [siegert_inverse(r, s, tau_ref=tau_ref) for r, s in zip(rates[-5:], sig[-5:])],
                               rtol=1e-12, atol=1e-12)


def test_the_issue_examples_invert():
    # were: "did not converge" at 199.8 Hz with tau_ref = 5 (ceiling 200 Hz); [10, 499.999] with tau_ref = 2
    # although each converged alone, blaming 10 Hz; [10, 1e8] without refractory period
    for rates, tau_ref in (([199.8], 5.0), ([10.0, 499.999], 2.0), ([10.0, 1e8], 0.0)):
        mu = siegert_inverse(rates, tau_ref=tau_ref)
        np.testing.assert_allclose(siegert_rate(mu, tau_ref=tau_ref), rates, rtol=1e-12)
        np.testing.assert_allclose(mu, [siegert_inverse(r, tau_ref=tau_ref) for r in rates], rtol=1e-12)
    assert siegert_inverse(10.0) == pytest.approx(siegert_inverse([10.0, 1e8])[0], rel=1e-14)


def test_a_failure_names_the_element(monkeypatch):
    # cut the iteration short: the tail rate converges within 5 steps, the two ordinary ones do not
    solve = siegert._solve
    monkeypatch.setattr(siegert, "_solve", lambda *a: solve(*a, max_iter=5))
    with pytest.raises(RuntimeError, match=r"2 value\(s\): first rate_hz 40\.0 at index \(1, 0\), sigma 0\.3 "):
        siegert_inverse([[1e-250], [40.0], [10.0]], 0.3)


def test_the_forward_function_is_accurate_far_above_threshold():
    # mu >> 1: the rate tends to the deterministic one, 1000 / (tau log(mu / (mu - 1))), ~ 100 mu Hz
    mu = np.array([1e6, 1e9, 1e12, 1e15])  # (at 1e3 the noise still adds 5e-8)
    deterministic = 1000.0 / (10.0 * -np.log1p(-1.0 / mu))
    np.testing.assert_allclose(siegert_rate(mu, ALM_SIGMA), deterministic, rtol=1e-9)
