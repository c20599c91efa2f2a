"""The balance equations of core/balance.py against the equations written out here."""

from dataclasses import replace

import numpy as np
import pytest

from tutorial_lib import BalancedParams, balanced
from tutorial_lib.core import balance


@pytest.mark.parametrize("p", [BalancedParams(), BalancedParams(N=1000, K=100), BalancedParams(g=1.7),
                               BalancedParams(frac_exc=0.8, N=1000, K=80)])
def test_balanced_rates_cancel_the_mean_input(p):
    """mu_a + sum_b K_b J_ab r_b = 0, written out entry by entry (r in spikes per ms)."""
    rE, rI = balance.balance_rates(p) / 1000.0
    w, KE, KI = p.weights, p.K, p.K * p.Ni / p.Ne
    assert p.mu_e + KE * w["EE"] * rE + KI * w["EI"] * rI == pytest.approx(0.0, abs=1e-9 * p.mu_e)
    assert p.mu_i + KE * w["IE"] * rE + KI * w["II"] * rI == pytest.approx(0.0, abs=1e-9 * p.mu_i)


def test_response_is_the_difference_of_two_balanced_states():
    """Adding delta to mu moves the rates by balance_response: solved with a shifted mu directly."""
    p, (de, di) = BalancedParams(), (0.3, -0.7)
    A = balance.balance_matrix(p)
    shifted = 1000.0 * np.linalg.solve(A, -np.array([p.mu_e + de, p.mu_i + di]))
    np.testing.assert_allclose(balance.balance_response(p, de, di), shifted - balance.balance_rates(p),
                               rtol=1e-9, atol=1e-9)


def test_the_balanced_package_exports_the_core_functions():
    for name in ("balance_matrix", "balance_rates", "balance_response"):
        assert getattr(balanced, name) is getattr(balance, name)


def test_rates_do_not_depend_on_K():
    p = BalancedParams()
    np.testing.assert_allclose(balance.balance_rates(replace(p, N=2000, K=50)), balance.balance_rates(p), rtol=1e-12)
