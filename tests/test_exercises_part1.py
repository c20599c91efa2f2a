"""Part 1's exercise checks pass the notebook's own solutions and name the typical wrong answers.

Each solution is read from the notebook's ``<details>`` block after its stub and run as the student
would run it (its last line calls the check); each check is then given at least two typical wrong
answers and must say what is wrong, not only that something is.
"""

from pathlib import Path

import numpy as np
import pytest
from notebook_exercises import exercises

from tutorial_lib.core.rate import euler_step, relu
from tutorial_lib.core.rls import rls_update
from tutorial_lib.exercises import ExerciseError
from tutorial_lib.exercises import part1

NB = Path(__file__).resolve().parents[1] / "notebooks" / "01_rate_rnn.ipynb"
SOLUTIONS = [(e.name, e.solution, e.expected) for e in exercises(NB)]


def _namespace():
    """What the notebook's imports give a solution cell."""
    return dict(np=np, relu=relu, euler_step=euler_step, rls_update=rls_update,
                **{name: getattr(part1, name) for name in part1.__all__})


def test_the_notebook_has_seven_exercises_in_order():
    assert [s[0] for s in SOLUTIONS] == ["my_euler_step", "my_rls_step", "my_training_trial", "my_first_update",
                                         "my_correlations", "my_growth_rate", "my_least_squares"]


@pytest.mark.parametrize("name, code, expected", SOLUTIONS, ids=[s[0] for s in SOLUTIONS])
def test_each_solution_passes_its_check_and_prints_the_expected_output(name, code, expected, capsys):
    ns = _namespace()
    if name == "my_training_trial":  # it calls the RLS step of the exercise before
        exec(dict((s[0], s[1]) for s in SOLUTIONS)["my_rls_step"], ns)
        capsys.readouterr()
    exec(code, ns)
    assert capsys.readouterr().out.strip() == expected


def _solved(name):
    ns = _namespace()
    for n, code, _ in SOLUTIONS:
        exec(code.rsplit("\n\n\n", 1)[0], ns)  # the definitions, without the check call
        if n == name:
            return ns


def _fails(check, answer, *words, **kwargs):
    with pytest.raises(ExerciseError) as info:
        check(answer, **kwargs)
    msg = str(info.value)
    for w in words:
        assert w in msg, msg
    return msg


# ---- the Euler step

@pytest.mark.parametrize("wrong, words", [
    (lambda r, u, stim, dt_tau: r + dt_tau * (u + stim - r), "the ReLU is missing"),
    (lambda r, u, stim, dt_tau: relu(u + stim), "dt / tau is missing"),
    (lambda r, u, stim, dt_tau: r - dt_tau * (relu(u + stim) - r), "the sign is wrong"),
    (lambda r, u, stim, dt_tau: r + dt_tau * (relu(u) - r), "the stimulus is missing"),
    (lambda r, u, stim, dt_tau: dt_tau * (relu(u + stim) - r), "not only the change"),
])
def test_euler_check_names_the_typical_mistakes(wrong, words):
    _fails(part1.check_euler_step, wrong, words)


def test_euler_check_says_when_and_where_a_trajectory_departs():
    def late_drift(r, u, stim, dt_tau):  # right for one step, wrong once the rates pass 2
        out = r + dt_tau * (-r + relu(u + stim))
        return np.where(out > 2.0, out * 1.01, out)

    msg = _fails(part1.check_euler_step, late_drift, "your rate at t = ", " ms, neuron = ", "the reference is")
    assert "off by" in msg


def test_an_unwritten_stub_is_named():
    def stub(r, u, stim, dt_tau):
        raise NotImplementedError("Student exercise")

    _fails(part1.check_euler_step, stub, "not written yet")


# ---- the RLS step

def _rls_wrong(kind):
    def step(P, w, r, f):
        k = P @ r
        c = 1.0 / (1.0 + r @ k)
        e = w @ r - f
        if kind == "P not in place":
            P = P - c * np.outer(k, k)
        else:
            P -= c * np.outer(k, k)
        if kind == "sign":
            w += e * c * k
        elif kind == "no c":
            w -= e * k
        else:
            w -= e * c * k
        if kind == "error after":
            return w @ r - f
        if kind == "error sign":
            return -e
        return e
    return step


@pytest.mark.parametrize("kind, words", [
    ("P not in place", "did not change P"),
    ("sign", "moved the wrong way"),
    ("no c", "the factor c is missing"),
    ("error after", "before the update"),
    ("error sign", "the error has the wrong sign"),
])
def test_rls_check_names_the_typical_mistakes(kind, words):
    _fails(part1.check_rls_step, _rls_wrong(kind), words)


def test_rls_check_compares_with_ridge_regression_after_many_steps():
    def forgetful(P, w, r, f):  # right for one step from a fresh state, but P forgets (a factor 0.99)
        e = rls_update(P, w, r, f)
        P *= 0.999
        return e

    _fails(part1.check_rls_step, forgetful, "your new P")


# ---- one training trial

def test_trial_check_names_weights_not_written_back():
    ns = _solved("my_training_trial")
    code = dict((s[0], s[1]) for s in SOLUTIONS)["my_training_trial"].rsplit("\n\n\n", 1)[0]
    exec(code.replace("W[i, presyn[i]] = w", "pass"), ns)
    _fails(part1.check_training_trial, ns["my_training_trial"], "did not change W", "write it back",
           rls_step=ns["my_rls_step"])


def test_trial_check_names_learning_one_step_late():
    ns = _solved("my_training_trial")

    def late(W, presyn, stimulus, target, trained, P, dt_tau, stim_on, stim_off, learn_every, rls_step):
        r, u_rec = np.zeros(W.shape[0]), np.empty(target.shape)
        for s in range(len(target)):
            u_rec[s] = W @ r
            if s >= stim_off and (s - stim_off) % learn_every == 0:
                for n, i in enumerate(trained):
                    w = W[i, presyn[i]]
                    rls_step(P[n], w, r[presyn[i]], target[s, i])
                    W[i, presyn[i]] = w
            r = euler_step(r, u_rec[s], stimulus if stim_on <= s < stim_off else 0.0, dt_tau)
        return u_rec

    _fails(part1.check_training_trial, late, "one step late", rls_step=ns["my_rls_step"])


def test_trial_check_says_where_u_departs_for_a_wrong_stimulus():
    ns = _solved("my_training_trial")
    code = dict((s[0], s[1]) for s in SOLUTIONS)["my_training_trial"].rsplit("\n\n\n", 1)[0]
    exec(code.replace("stim_on <= s < stim_off", "stim_on <= s <= stim_off"), ns)  # one step too long
    _fails(part1.check_training_trial, ns["my_training_trial"], "your recurrent input u at t = 11",
           "ms, neuron = ", rls_step=ns["my_rls_step"])


def test_trial_check_says_the_rls_step_is_missing_first():
    ns = _solved("my_training_trial")

    def stub(P, w, r, f):
        raise NotImplementedError

    _fails(part1.check_training_trial, ns["my_training_trial"], "RLS step (the exercise before)",
           "not written yet", rls_step=stub)


# ---- the end exercises

@pytest.mark.parametrize("wrong, words", [
    (lambda r, e, lam: -e * r / lam, "the denominator is lam + r . r"),
    (lambda r, e, lam: e * r / (lam + r @ r), "the sign is wrong"),
])
def test_first_update_check_names_the_typical_mistakes(wrong, words):
    _fails(part1.check_first_update, wrong, words)


@pytest.mark.parametrize("wrong, words", [
    (lambda u, f, window: np.array([np.corrcoef(u[:, i], f[:, i])[0, 1] for i in range(u.shape[1])]),
     "inside the window"),
    (lambda u, f, window: np.corrcoef(u[window].T, f[window].T), "has shape (10, 10)"),
    (lambda u, f, window: np.array([np.corrcoef(u[window, i], f[window, 0])[0, 1] for i in range(u.shape[1])]),
     "your correlation at neuron = "),
])
def test_correlation_check_names_the_typical_mistakes(wrong, words):
    _fails(part1.check_correlations, wrong, words)


def _fit(t, y, t0, t1):
    keep = (t >= t0) & (t < t1)
    return t[keep], y[keep]


@pytest.mark.parametrize("wrong, words", [
    (lambda t, r, t0, t1: np.polyfit(*_fit(t, np.log10(r), t0, t1), 1)[0], "natural log"),
    (lambda t, r, t0, t1: np.polyfit(*_fit(t, r, t0, t1), 1)[0], "fit the log of the rate"),
    (lambda t, r, t0, t1: np.polyfit(t, np.log(r), 1)[0], "only the times t0 <= t < t1"),
])
def test_growth_rate_check_names_the_typical_mistakes(wrong, words):
    _fails(part1.check_growth_rate, wrong, words)


@pytest.mark.parametrize("wrong, words", [
    (lambda X, f: X.T @ f, "only the right-hand side"),
    (lambda X, f: np.linalg.solve(X.T @ X + np.eye(X.shape[1]), X.T @ f), "your weight at input = "),
])
def test_least_squares_check_names_the_typical_mistakes(wrong, words):
    _fails(part1.check_least_squares, wrong, words)


def test_small_trial_inputs_are_the_network_rate_train_trains():
    from tutorial_lib import rate

    a = part1.small_trial_inputs(part1.CHECK_PARAMS)
    net = rate.build_network(part1.CHECK_PARAMS)
    assert np.array_equal(a["W"], net.W) and np.array_equal(a["trained"], net.trained)
    assert a["P"].shape == (len(net.trained), net.presyn.shape[1], net.presyn.shape[1])
    assert a["target"].shape == (int(round(part1.CHECK_PARAMS.t_end / part1.CHECK_PARAMS.dt)), net.params.N)
