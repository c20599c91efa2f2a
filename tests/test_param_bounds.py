"""Every number of the parameter classes has a physical range, checked by its name before anything is built.

Issue 22: hostile values (1e308, 1e-320, ...) were accepted and failed later, blaming another parameter
("weights w must be finite" for sigma, "penalty must be positive definite" for lam_rec after the network
was built, a divergence with advice about g for a subnormal lam_ff), or ended in a traceback (dt = 1e-308,
learn_every = 1e308). The table below runs hostile values through every field of every parameter class:
each must be refused by the field's name with its range, or accepted and then train (a tiny run) to
finite scores, or diverge with advice that names the field, or be refused by a cross-field rule that
names it. The values at the ends of each field's range must give one of the same answers.
"""

from __future__ import annotations

import math
import re
from dataclasses import fields, replace

import numpy as np
import pytest

from tutorial_lib import BalancedParams, DivergenceError, RateParams, SpikingParams, balanced, rate, spiking_net
from tutorial_lib.cli import main
from tutorial_lib.data import synthetic_alm
from tutorial_lib.params import LAM_REC_PER_MU_RS, PENALTY_MAX, PENALTY_MIN, WEIGHT_SCALE_MAX, field_kind
from tutorial_lib.checks import check_grid, check_int, check_real
from tutorial_lib.engine.rls_shared import SharedPoolRLS
from tutorial_lib.engine.rls_state import BatchRLS
from tutorial_lib.training import advise

CLASSES = (RateParams, SpikingParams, BalancedParams)
PART = {RateParams: rate, SpikingParams: spiking_net, BalancedParams: balanced}
SYN = synthetic_alm(60)
TINY = {
    RateParams: RateParams(N=10, stim_on=10.0, stim_off=20.0, train_duration=40.0, learn_every=1.0, n_loops=1),
    SpikingParams: SpikingParams(N=10, stim_on=10.0, stim_off=20.0, train_duration=40.0, learn_every=2.0,
                                 tau_s=20.0, n_loops=1),
    BalancedParams: BalancedParams.lecture(N=400, K=40, n_trained=12, L=3, n_ffwd=10, stim_on=100.0,
                                           stim_off=200.0, train_duration=400.0, n_loops=1, score_every=1,
                                           n_test_trials=1),
}
HOSTILE = {"1e308": 1e308, "-1e308": -1e308, "1e-308": 1e-308, "1e-320": 1e-320, "nan": math.nan,
           "inf": math.inf, "-inf": -math.inf, "0": 0, "-0.0": -0.0, "2**64": 2**64, "10**400": 10**400,
           "-10**400": -(10**400)}
NUMERIC = [(cls, f) for cls in CLASSES for f in fields(cls) if field_kind(f)[0] in ("int", "float")]


@pytest.fixture(autouse=True)
def fixed_memory_limit(monkeypatch):
    monkeypatch.setenv("TUTORIAL_MEMORY_GB", "16")


def _names(message: str, name: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w])", message) is not None


def _inside(f, value) -> bool:
    """Whether ``value`` lies in the field's own range (its metadata), as a number of its kind."""
    m = f.metadata
    kind, _ = field_kind(f)
    try:
        v = float(value)
    except OverflowError:
        return False
    if not math.isfinite(v) or (kind == "int" and not v.is_integer()):
        return False
    lo, hi = m["lo"], m["hi"]
    return ((lo is None or (v > lo if m["lo_open"] else v >= lo))
            and (hi is None or (v < hi if m["hi_open"] else v <= hi)))


def _tiny_run(cls, p, name):
    """A tiny training loop: finite scores, a DivergenceError whose advice names ``name``, or a refusal by name."""
    try:
        if cls is BalancedParams:
            result = balanced.train(p, data=SYN, n_loops=1, progress=False)
        else:
            result = PART[cls].train(p, n_loops=1, progress=False)
    except DivergenceError as exc:
        assert exc.advice is not None and name in exc.advice.knobs[:3], (name, str(exc))
        return "diverged"
    except (ValueError, TypeError) as exc:
        assert _names(str(exc), name), f"{type(exc).__name__} does not name {name!r}: {exc}"
        return "refused"
    scores = np.asarray(result.scores)
    assert np.all(np.isfinite(scores)) and np.all(np.abs(scores) <= 1 + 1e-9), scores
    return "ok"


@pytest.mark.parametrize("cls, f, label", [pytest.param(cls, f, label, id=f"{cls.__name__}-{f.name}-{label}")
                                           for cls, f in NUMERIC for label in HOSTILE])
def test_a_hostile_value_is_refused_by_name_up_front_or_trains(cls, f, label):
    value = HOSTILE[label]
    try:
        p = cls(**{f.name: value})
    except (ValueError, TypeError) as exc:  # nothing else: no OverflowError, no NumPy message
        msg = str(exc)
        if not _inside(f, value):  # outside the field's own range: refused by the field itself, with its range
            assert msg.startswith(f.name) and "must" in msg, msg
        else:  # a cross-field rule: it names this field (and the other)
            assert _names(msg, f.name), msg
        assert len(msg) < 400 and "\n" not in msg, msg  # a huge int is not printed digit by digit
        return
    assert _inside(f, value) or (value in (0, -0.0) and f.metadata["lo"] == 0), (f.name, value)
    try:
        q = replace(TINY[cls], **{f.name: value})
    except ValueError as exc:  # e.g. an interval longer than the tiny training window
        assert _names(str(exc), f.name), str(exc)
        return
    _tiny_run(cls, q, f.name)


BOUNDS = [pytest.param(cls, f, end, id=f"{cls.__name__}-{f.name}-{end}") for cls, f in NUMERIC
          for end in ("lo", "hi") if f.metadata[end] is not None and not f.metadata[f"{end}_open"]
          and f.name not in ("n_loops", "seed", "N", "n_ffwd", "n_test_trials")]  # counts: test_bad_input


@pytest.mark.parametrize("cls, f, end", BOUNDS)
def test_the_ends_of_every_range_train_or_diverge_with_advice_naming_the_field(cls, f, end):
    value = f.metadata[end]
    try:
        q = replace(TINY[cls], **{f.name: value})
    except ValueError as exc:  # a cross-field rule of the tiny configuration (a window, dt <= tau / 5, ...)
        assert _names(str(exc), f.name), str(exc)
        return
    _tiny_run(cls, q, f.name)


def test_every_number_has_an_upper_bound_of_its_own_or_a_named_cross_field_one():
    # counts bounded by other fields (K <= N - 1, L, n_trained <= Ne) and ffwd_smooth <= train_duration
    cross = {"K", "L", "n_trained", "ffwd_smooth"}
    missing = [(cls.__name__, f.name) for cls, f in NUMERIC if f.metadata["hi"] is None and f.name not in cross]
    assert missing == []
    for cls in CLASSES:  # and the cross-field ones do bound them
        p = TINY[cls]
        for name in cross & {f.name for f in fields(cls)}:
            with pytest.raises(ValueError, match=rf"\b{name}\b"):
                replace(p, **{name: 10**30})


# The faults a hostile tester reported (issue 22), through the command line and the classes -------------------

REPORTED = [
    ("part1", "--target-period", "1e308", "target_period"),   # was blamed on g (sin of an infinite phase)
    ("part2", "--sigma", "1e308", "sigma"),                   # was "weights w must be finite"
    ("part3", "--g", "1e308", "g"),                           # likewise
    ("part3", "--lam-rec", "1e-308", "lam_rec"),              # was "penalty must be positive definite", late
    ("part3", "--lam-ff", "1e-320", "lam_ff"),                # was a divergence with advice about g
    ("part2", "--error-noise", "1e308", "error_noise"),       # likewise, about sigma
    ("part1", "--dt", "1e-308", "dt"),                        # was a traceback (an OverflowError)
    ("part2", "--dt", "1e-308", "dt"),
    ("part1", "--learn-every", "1e308", "learn_every"),       # likewise
    ("part3", "--score-window", "1e308", "score_window"),     # trained, and every score was about 0
    ("part3", "--score-window", "1500", "score_window"),      # longer than half the 2000 ms training window
    ("part3", "--mu-rs", "1e12", "mu_rs"),                    # with --lam-rec 1e-3: not positive definite
    ("part3", "--stim-amplitude", "1e308", "stim_amplitude"),  # was NumPy's "high - low range exceeds"
    ("part2", "--lam", "1e-20", "lam"),                       # was a ZeroDivisionError in the RLS update
    ("part3", "--ffwd-tau", "0.5", "ffwd_tau"),               # an unstable Euler step of the rate process
    ("part1", "--tau", "1e308", "tau"),                       # trained to a score of 0
]


@pytest.mark.parametrize("part, flag, value, name", REPORTED, ids=[f"{r[0]}{r[1]}={r[2]}" for r in REPORTED])
def test_the_reported_values_are_refused_by_the_command_line_naming_the_parameter(capsys, part, flag, value,
                                                                                 name):
    extra = ["--lam-rec", "1e-3"] if flag == "--mu-rs" else []
    with pytest.raises(SystemExit) as info:
        main([part, flag, value, "--n-loops", "1"] + extra)
    assert info.value.code == 2
    err = capsys.readouterr().err
    message = err.split("error: ", 1)[1]
    first = "lam_rec" if extra else name  # a cross-field rule: it names both, the one it bounds first
    assert message.startswith(first) and _names(message, name) and "must be" in message, err
    assert "\n" not in message.strip()


@pytest.mark.parametrize("cls, changes, pattern", [
    (RateParams, dict(dt=1e-308), r"^dt must be >= 0.0001; it must be in \[0.0001, 10\]"),
    (RateParams, dict(lam=1e-320),
     r"^lam \(RLS regulariser lambda\) must be >= 1e-14; it must be in \[1e-14, 1e\+14\]"),
    (RateParams, dict(sigma=0.0), r"^sigma \(weight scale\) must be > 0; it must be in \(0, 1e\+06\]"),
    (SpikingParams, dict(max_rate=1e308), r"^max_rate must be in \(0, 1e\+09\] \(got 1e\+308\)"),
    (BalancedParams, dict(lam_rec=0.0), r"^lam_rec \(RLS penalty\) must be > 0; it must be in \[1e-14, 1e\+14\]"),
    (BalancedParams, dict(score_window=1500.0), r"^score_window .* must be <= train_duration / 2 = 1000 ms"),
    (BalancedParams, dict(mu_rs=1e12, lam_rec=1e-3), r"^lam_rec \(RLS penalty\) must be >= 1e-14 mu_rs = 0\.01 "
                                                     r"with mu_rs = 1e\+12.*raise lam_rec or lower mu_rs"),
    (BalancedParams, dict(K=10**400),
     r"^K \(excitatory inputs per neuron\) must be in \[1, 9223372036854775807\] \(got 1e\+400 \(an int\)\)"),
    (BalancedParams, dict(g=10**400), r"^g must be finite \(got 1e\+400 \(an int\)\)"),
    (RateParams, dict(tau=1e-4), r"^dt must be <= tau / 5 = 2e-05 ms .*: lower dt or raise tau = 0.0001 ms"),
])
def test_the_messages_name_the_parameter_and_its_range(cls, changes, pattern):
    with pytest.raises(ValueError, match=pattern):
        cls(**changes)


# The bounds are where they are for a reason -----------------------------------------------------------------

@pytest.mark.parametrize("lam", [PENALTY_MIN, PENALTY_MAX])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_rls_update_stays_finite_at_both_ends_of_the_penalty_range(lam, dtype):
    rng = np.random.default_rng(0)
    n = 30
    shared = SharedPoolRLS(n, np.arange(n), lam, w0=np.zeros((n, n - 1)), dtype=dtype)
    batch = BatchRLS(np.array([np.delete(np.arange(n), i) for i in range(n)]), lam, dtype=dtype)
    for _ in range(200):  # regressors of a few units, |r|^2 of about 100: what a 1e-20 penalty divided by 0 with
        r = rng.uniform(0.0, 3.0, n).astype(dtype)
        f = rng.normal(size=n)
        for rls in (shared, batch):
            rls.step(r, f, np.zeros(n))
    for rls in (shared, batch):
        assert np.all(np.isfinite(rls.w)) and np.all(np.isfinite(rls.P))


def test_the_recurrent_penalty_is_positive_definite_down_to_its_bound():
    p = BalancedParams(L=20, n_ffwd=5, mu_rs=1e12, lam_rec=LAM_REC_PER_MU_RS * 1e12)
    np.linalg.cholesky(balanced.plastic.penalty_matrix(p))  # no LinAlgError
    with pytest.raises(ValueError, match=r"^lam_rec .*mu_rs"):
        replace(p, lam_rec=LAM_REC_PER_MU_RS * 1e12 / 2)


def test_the_weight_scale_bound_keeps_the_largest_weights_finite():
    p = BalancedParams(g=WEIGHT_SCALE_MAX, tau_m=1e9, wpscale_factor=1e-6, inh_weight_ratio=1e6, K=1, dt=10.0,
                       tau_syn=10.0, tau_plastic=10.0, stim_on=0.0, stim_off=100.0, train_duration=1000.0,
                       learn_every=20.0, record_every=10.0, score_window=50.0)
    w = balanced.plastic.initial_plastic_weights(p, 2, p.inh_weight_ratio)
    assert np.all(np.isfinite(w)) and np.max(np.abs(w)) < 1e30
    assert math.isfinite(p.jx * p.je * p.N * 1e4)  # the largest input of a step, times a trace


def test_check_real_takes_a_huge_int_and_minus_zero():
    with pytest.raises(ValueError, match=r"^x must be finite \(got 1e\+400 \(an int\)\)"):
        check_real("x", 10**400)
    v = check_real("x", -0.0, lo=0)
    assert v == 0.0 and math.copysign(1.0, v) == 1.0  # NumPy refused uniform(0, -0.0)
    with pytest.raises(ValueError, match=r"^learn_every must be a positive whole multiple of dt"):
        check_grid("learn_every", 1e308, 1e-4)
    with pytest.raises(ValueError, match=r"^n must be in \[0, 9223372036854775807\]"):
        check_int("n", 2**64, lo=0)


# Advice names the knob that was moved, also for a signed one moved far below 0 ---------------------------------

def _err(kind, phase, params, loop=None, t_ms=None):
    t = params.stim_off + 10.0 if t_ms is None else t_ms
    return DivergenceError("x", phase=phase, kind=kind, t_ms=t, loop=loop, params=params)


@pytest.mark.parametrize("module, params, name", [
    (spiking_net, SpikingParams(target_amplitude=-1e6), "target_amplitude"),
    (spiking_net, SpikingParams(target_amplitude=1e6), "target_amplitude"),
    (rate, RateParams(target_amplitude=-900.0, target_offset=0.0), "target_amplitude"),
    (rate, RateParams(N=5000), "N"),
    (spiking_net, SpikingParams(N=5000), "N"),
    (spiking_net, SpikingParams(error_noise=1e6), "error_noise"),
    (balanced, BalancedParams(lam_ff=1e-14), "lam_ff"),
    (balanced, BalancedParams(inh_weight_ratio=1e6), "inh_weight_ratio"),
    (balanced, BalancedParams(wpscale_factor=1e-6), "wpscale_factor"),
])
def test_the_advice_names_the_parameter_moved_away_from_its_default(module, params, name):
    for phase, loop in (("learning", 1), ("untrained", None)):
        advice = module.advice(_err("runaway", phase, params, loop=loop))
        if name in advice.moved:
            break
    assert advice.knobs[0] == name and name in advice.text, advice.text


def test_shrink_is_the_advice_for_a_signed_value_far_from_its_default_in_size():
    p = SpikingParams(target_amplitude=-1e6)
    said = advise(p, (("target_amplitude", "shrink", False, None), ("lam", "raise", True, "lambda")))
    assert said.changes[0] == ("target_amplitude", "shrink")
    assert "shrink target_amplitude towards 0 (now -1e+06, far from 0.5 in size)" in said.text
    assert advise(SpikingParams(target_amplitude=0.6), (("target_amplitude", "shrink", False, None),)).moved == ()
