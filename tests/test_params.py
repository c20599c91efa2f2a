"""Bad input gets a ValueError that names the parameter and its valid range."""

import math
from dataclasses import FrozenInstanceError, replace

import pytest

from tutorial_lib import BalancedParams, RateParams


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("sigma", 0.0, r"sigma \(weight scale\) must be > 0"),
        ("sigma", -0.1, r"sigma .* must be > 0"),
        ("lam", 0.0, r"lam \(RLS regulariser lambda\) must be > 0"),
        ("lam", -2, r"lam .* must be > 0"),
        ("train_fraction", 0.0, r"train_fraction .* must be in \(0, 1\]"),
        ("train_fraction", 1.2, r"train_fraction .* must be in \(0, 1\]"),
        ("train_fraction", 0.001, r"train_fraction must train at least one neuron"),
        ("K", 0, r"K \(inputs per neuron\) must be >= 1"),
        ("K", 100, r"K \(inputs per neuron\) must be in \[1, N-1\] = \[1, 99\]"),
        ("K", 2.5, r"K .* must be a whole number"),
        ("sigma", math.nan, r"sigma .* must be finite"),
        ("lam", math.inf, r"lam .* must be finite"),
        ("tau", -5.0, r"tau must be > 0"),
        ("N", 1, r"N \(number of neurons\) must be in \[2, 5000\]"),
        ("n_loops", 0, r"n_loops .* must be in \[1, 100000\]"),
        ("seed", -1, r"seed .* must be in"),
        ("learn_every", 0.25 + 0.01, r"learn_every must be a positive whole multiple of dt = 0.1 ms"),
        ("dt", 2.0, r"dt must be <= tau / 5"),
        ("sigma", "0.1", r"sigma .* must be a real number"),
        ("stim_off", 50.0, r"stim_off must be > stim_on"),
    ],
)
def test_bad_values_name_the_parameter_and_range(field, value, message):
    with pytest.raises(ValueError, match=message):
        RateParams(**{field: value})


def test_defaults_are_the_spec_values():
    p = RateParams()
    assert (p.N, p.tau, p.dt, p.lam, p.n_loops) == (100, 5.0, 0.1, 0.5, 50)
    assert p.g == pytest.approx(1.0)
    assert p.n_inputs == 99 and p.n_trained == 100
    assert p.t_end == 610.0


def test_params_are_frozen_and_replace_validates():
    p = RateParams()
    with pytest.raises(FrozenInstanceError):
        p.sigma = 1.0
    with pytest.raises(ValueError, match="sigma"):
        replace(p, sigma=-1.0)
    assert replace(p, K=10).g == pytest.approx(0.1 * math.sqrt(10))


def test_integral_floats_are_accepted_as_integers():
    assert RateParams(N=50.0, K=10.0).N == 50


def test_the_smoke_test_variable_shrinks_only_the_lecture_defaults(monkeypatch):
    from tutorial_lib.params import SMOKE_TEST_ENV, smoke_test

    monkeypatch.delenv(SMOKE_TEST_ENV, raising=False)
    assert not smoke_test() and BalancedParams.lecture().n_loops == 30
    monkeypatch.setenv(SMOKE_TEST_ENV, "1")
    assert smoke_test()
    p = BalancedParams.lecture()
    assert (p.n_loops, p.score_every, p.n_test_trials) == (2, 2, 2)
    assert BalancedParams.lecture(n_loops=5).n_loops == 5  # explicit values still win
    assert BalancedParams().n_loops == 200  # the SPEC defaults never change
