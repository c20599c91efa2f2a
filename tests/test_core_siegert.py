"""The Siegert rate: the core's quadrature and root finding against the engine's log-space forms.

The core (:mod:`tutorial_lib.core.siegert`) computes the integral as written, one value at a time;
the engine (:mod:`tutorial_lib.engine.siegert`) the same in log space on arrays. They must agree over
the whole domain: from deep below threshold (where the rate underflows) to far above it, from tiny
to large noise, with and without a refractory period.
"""

import math

import numpy as np
import pytest
from scipy.integrate import quad

from tutorial_lib.core import siegert as core
from tutorial_lib.engine import siegert as engine

MU = np.concatenate([np.linspace(-6.0, -1.0, 6), np.linspace(-0.5, 2.5, 13), [4.0, 10.0, 100.0, 1e4]])
SIGMA = [0.003, 0.03, 0.1, engine.ALM_SIGMA, 1.0, 5.0, 30.0]


@pytest.mark.parametrize("tau_ref", [0.0, 2.0])
@pytest.mark.parametrize("sigma", SIGMA)
def test_engine_rate_equals_core_quadrature_over_the_domain(sigma, tau_ref):
    fast = engine.siegert_rate(MU, sigma, tau_ref=tau_ref)
    plain = np.array([core.siegert_rate(mu, sigma, tau_ref=tau_ref) for mu in MU])
    alive = fast > 1e-300
    np.testing.assert_allclose(plain[alive], fast[alive], rtol=1e-6)
    assert np.all(plain[~alive] < 1e-290)  # where the engine underflows, the core's rate is ~0 too
    assert alive.sum() >= len(MU) // 3  # the comparison covers a good part of the grid


@pytest.mark.parametrize("theta,v_reset,tau", [(1.0, 0.0, 10.0), (20.0, 10.0, 20.0), (-50.0, -65.0, 15.0)])
def test_engine_rate_equals_core_for_other_models(theta, v_reset, tau):
    span = theta - v_reset
    mu = v_reset + span * np.array([-1.0, 0.3, 0.9, 1.0, 1.2, 3.0])
    for sigma in (0.1 * span, span):
        fast = engine.siegert_rate(mu, sigma, tau=tau, theta=theta, v_reset=v_reset)
        plain = [core.siegert_rate(m, sigma, tau=tau, theta=theta, v_reset=v_reset) for m in mu]
        np.testing.assert_allclose(plain, fast, rtol=1e-6)


@pytest.mark.parametrize("sigma", [0.01, 0.1, engine.ALM_SIGMA, 3.0])
@pytest.mark.parametrize("rate_hz", [1e-200, 1e-6, 0.1, 5.0, 45.0, 300.0, 5e4])
def test_inverse_round_trip_and_engine_equals_core(rate_hz, sigma):
    mu_core = core.siegert_inverse(rate_hz, sigma)
    mu_fast = engine.siegert_inverse(rate_hz, sigma)
    assert core.siegert_rate(mu_core, sigma) == pytest.approx(rate_hz, rel=1e-6)
    assert mu_core == pytest.approx(mu_fast, rel=1e-8, abs=1e-9 * sigma)


def test_inverse_with_a_refractory_period_near_its_ceiling():
    for rate_hz in (10.0, 400.0, 490.0):  # the ceiling is 1000 / tau_ref = 500 Hz
        mu = core.siegert_inverse(rate_hz, 0.5, tau_ref=2.0)
        assert mu == pytest.approx(engine.siegert_inverse(rate_hz, 0.5, tau_ref=2.0), rel=1e-8)
    with pytest.raises(ValueError, match="rate_hz"):
        core.siegert_inverse(500.0, 0.5, tau_ref=2.0)


def test_the_integrand_is_the_formula_where_the_formula_can_be_evaluated():
    for u in (-3.0, -0.5, 0.0, 0.7, 4.0, 20.0):
        assert core.siegert_integrand(u) == pytest.approx(math.exp(u * u) * (1 + math.erf(u)), rel=1e-9)


def test_core_rate_is_an_independent_quadrature_of_the_first_passage_time():
    """An oracle: the formula as printed, exp(u^2) (1 + erf(u)) with math.erf, integrated directly where it
    does not overflow (the core integrates erfcx(-u) instead)."""
    mu, sigma, tau = 0.9, 0.4, 10.0
    a, b = (0.0 - mu) / sigma, (1.0 - mu) / sigma
    T, _ = quad(lambda u: math.exp(u * u) * (1 + math.erf(u)), a, b, epsabs=0.0, epsrel=1e-12)
    assert core.siegert_rate(mu, sigma, tau) == pytest.approx(1000.0 / (tau * math.sqrt(math.pi) * T), rel=1e-10)


def test_low_noise_tends_to_the_deterministic_lif_rate():
    mu, tau = 1.5, 10.0
    lif = 1000.0 / (tau * math.log(mu / (mu - 1.0)))
    assert core.siegert_rate(mu, 1e-3, tau) == pytest.approx(lif, rel=1e-3)


@pytest.mark.parametrize("kwargs,name", [(dict(mu=1.0, sigma=0.0), "sigma"), (dict(mu=float("nan"), sigma=0.3), "mu"),
                                         (dict(mu=1.0, sigma=0.3, v_reset=1.0), "v_reset"),
                                         (dict(mu=1.0, sigma=0.3, tau=-1.0), "tau")])
def test_core_rate_refuses_bad_arguments_by_name(kwargs, name):
    with pytest.raises(ValueError, match=name):
        core.siegert_rate(**kwargs)
