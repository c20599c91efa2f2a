"""The control of Part 5 as a parameter: ``BalancedParams.ffwd_condition`` ("trial" or "none").

"none" gives both conditions the same feed-forward rates (the first condition's realisation), at every
time and so with the same mean rate; "trial" (the default) is Part 3 as before: the pinned digests in
tests/test_pinned_results.py guard that. The setting reaches the command line, the sweep and saved files.
"""

from dataclasses import replace

import numpy as np
import pytest

from tutorial_lib import balanced
from tutorial_lib.balanced.plastic import condition_ffwd_rates
from tutorial_lib.data import CONDITIONS, synthetic_alm
from tutorial_lib.params import BalancedParams
from tutorial_lib.storage import params_from_dict, params_to_dict
from tutorial_lib.sweep.settings import plan

TINY = dict(N=300, K=30, L=5, n_trained=20, stim_on=100.0, stim_off=200.0, train_duration=400.0, n_loops=1,
            score_every=1, n_test_trials=1, n_ffwd=10, seed=4)
A, B = CONDITIONS


@pytest.fixture(scope="module")
def nets():
    data = synthetic_alm(n_neurons=60, seed=1)
    return {s: balanced.build_network(BalancedParams(ffwd_condition=s, **TINY), data) for s in ("trial", "none")}


def test_the_default_is_part3s_condition_specific_rates():
    assert BalancedParams().ffwd_condition == "trial"
    assert BalancedParams.lecture().ffwd_condition == "trial"


def test_none_gives_both_conditions_the_same_rates_at_every_time(nets):
    trial, none = nets["trial"].ffwd_rates, nets["none"].ffwd_rates
    assert not np.allclose(trial[A], trial[B])          # Part 3: each condition its own process
    np.testing.assert_array_equal(none[A], none[B])     # the control: identical everywhere
    np.testing.assert_array_equal(none[A], trial[A])    # the first condition's realisation
    assert none[A] is not none[B]                       # copies: editing one leaves the other


def test_nothing_else_of_the_network_changes(nets):
    t, n = nets["trial"], nets["none"]
    for name in ("trained", "presyn", "w0", "examples", "static_rates"):
        np.testing.assert_array_equal(getattr(t, name), getattr(n, name), err_msg=name)
    for c in CONDITIONS:
        np.testing.assert_array_equal(t.stimulus[c], n.stimulus[c])
        np.testing.assert_array_equal(t.targets[c], n.targets[c])


def test_the_mean_rate_matches_the_trials():
    """Over the trial and the feed-forward neurons, "none" has "trial"'s mean rate within 10 %
    (the OU process around 5 Hz; its time average over 100 neurons scatters by about 0.2 Hz)."""
    for seed in range(3):
        p = BalancedParams(n_ffwd=100, seed=seed)
        means = {}
        for s in ("trial", "none"):
            r = condition_ffwd_rates(replace(p, ffwd_condition=s), np.random.default_rng(seed))
            means[s] = np.mean([r[c].mean() for c in CONDITIONS])
        assert means["none"] == pytest.approx(means["trial"], rel=0.1)
        assert means["trial"] == pytest.approx(p.ffwd_rate, rel=0.1)


def test_an_unknown_value_is_refused_by_name():
    with pytest.raises(ValueError, match=r"ffwd_condition must be one of 'trial', 'none' \(got 'stimulus'\)"):
        BalancedParams(ffwd_condition="stimulus")


def test_it_is_a_command_line_flag_and_a_sweep_setting():
    from tutorial_lib.cli import PARTS, build_parser
    from tutorial_lib.cli_args import make_params

    ap, subs = build_parser()
    for argv, value in ((["part3", "--ffwd-condition", "none"], "none"), (["part3"], "trial")):
        args = ap.parse_args(argv)
        assert make_params(subs["part3"], args, PARTS["part3"].params).ffwd_condition == value
    runs = plan("part3", {"ffwd_condition": ["trial", "none"]}, base=BalancedParams.lecture())
    assert [(s, p.ffwd_condition) for s, p in runs] == [({"ffwd_condition": "trial"}, "trial"),
                                                          ({"ffwd_condition": "none"}, "none")]


def test_stored_parameters_carry_it_and_old_ones_without_it_load():
    d = params_to_dict(BalancedParams(ffwd_condition="none"))
    assert params_from_dict(BalancedParams, d).ffwd_condition == "none"
    del d["values"]["ffwd_condition"]  # a file written before the field existed
    assert params_from_dict(BalancedParams, d).ffwd_condition == "trial"


def test_a_saved_control_network_loads_with_its_setting(nets, tmp_path):
    path = balanced.save(nets["none"], tmp_path / "control.npz")
    back = balanced.load(path).network
    assert back.params.ffwd_condition == "none"
    np.testing.assert_array_equal(back.ffwd_rates[A], back.ffwd_rates[B])
