"""The checks of notebook 03's exercises: each passes on the notebook's own solution and fails, with a
message that names the mistake, on typical wrong answers (issue #24 items 1 and 3)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from notebook_exercises import exercises
from scipy.optimize import brentq

from tutorial_lib.core.siegert import siegert_rate
from tutorial_lib.exercises import ExerciseError
from tutorial_lib.exercises import part3

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "03_balanced_alm.ipynb"
def _solutions() -> dict:
    """The notebook's solutions, by the check their last line calls."""
    return {e.check: e.solution for e in exercises(NOTEBOOK)}


def _function(check: str, name: str):
    """The student's function as the notebook's solution defines it (only its ``def`` block is run)."""
    code = _solutions()[check]
    block = re.search(rf"(def {name}\(.*?)(?=\n\S)", code + "\nEND", re.S).group(1)
    namespace = {"np": np, "brentq": brentq, "siegert_rate": siegert_rate}
    exec(block, namespace)
    return namespace[name]


CHECKS = {"check_rate_to_input": "my_rate_to_input", "check_learning_step": "my_learning_step",
          "check_balance_rates": "my_balance_rates", "check_pca_time_courses": "my_time_courses",
          "check_match_rates": "my_match_rates"}


def test_the_notebook_has_one_solution_per_check():
    assert set(_solutions()) == set(CHECKS)


@pytest.mark.parametrize("check, name", CHECKS.items())
def test_each_check_passes_on_the_notebooks_solution(check, name, capsys):
    getattr(part3, check)(_function(check, name))
    assert capsys.readouterr().out.startswith("Correct: ")


@pytest.mark.parametrize("check", CHECKS)
def test_an_unwritten_stub_is_named_as_such(check):
    def stub(*args):
        raise NotImplementedError("Student exercise")

    with pytest.raises(ExerciseError, match="not written yet"):
        getattr(part3, check)(stub)


# --- rate to input: a rate in spikes per ms; the root of the rate alone; a narrow bracket

def test_rate_to_input_in_spikes_per_ms_is_named():
    def per_ms(rate_hz, sigma):
        return brentq(lambda mu: siegert_rate(mu, sigma) - rate_hz / 1000.0, -3.0, 3.0)

    with pytest.raises(ExerciseError, match="returns Hz"):
        part3.check_rate_to_input(per_ms)


def test_rate_to_input_with_a_bracket_that_misses_the_root_names_the_error():
    def narrow(rate_hz, sigma):
        return brentq(lambda mu: siegert_rate(mu, sigma) - rate_hz, 0.5, 3.0)

    with pytest.raises(ExerciseError, match=r"ValueError.*different signs"):
        part3.check_rate_to_input(narrow)


def test_rate_to_input_that_returns_threshold_is_told_what_to_root():
    with pytest.raises(ExerciseError, match="minus the target rate"):
        part3.check_rate_to_input(lambda rate_hz, sigma: 1.0)


def test_rate_to_input_slightly_off_names_the_rate_and_the_numbers():
    solution = _function("check_rate_to_input", "my_rate_to_input")
    with pytest.raises(ExerciseError, match=r"rate of 0.1 Hz.*reference is"):
        part3.check_rate_to_input(lambda r, s: solution(r, s) + 0.01)


# --- one learning step: sign, missing u_other, error after the update, P or w not in place, no c

def _step(sign=1.0, other=True, late=False, inplace_P=True, inplace_w=True, with_c=True):
    def step(P, w, q, u_other, u_target):
        u_plas = w @ q
        k = P @ q
        c = 1.0 / (1.0 + q @ k)
        e = sign * (u_plas + (u_other if other else 0.0) - u_target)
        if inplace_P:
            P -= c * np.outer(k, k)
        else:
            P = P - c * np.outer(k, k)
        dw = e * (c if with_c else 1.0) * k
        if late:
            w -= dw
            e = w @ q + u_other - u_target
        elif inplace_w:
            w -= dw
        else:
            w = w - dw
        return u_plas, e
    return step


@pytest.mark.parametrize("kwargs, words", [
    (dict(sign=-1.0), "wrong sign"),
    (dict(other=False), "u_other is missing"),
    (dict(late=True), "after the weight update"),
    (dict(inplace_P=False), "P did not change at step 1"),
    (dict(inplace_w=False), "w did not change at step 1"),
    (dict(with_c=False), "miss the factor c"),
])
def test_learning_step_mistakes_are_named(kwargs, words):
    with pytest.raises(ExerciseError, match=words):
        part3.check_learning_step(_step(**kwargs))


def test_learning_step_that_returns_one_number_is_told_the_shape():
    with pytest.raises(ExerciseError, match=r"two numbers, \(u_plas, e\)"):
        part3.check_learning_step(lambda P, w, q, o, t: w @ q)


# --- balance equations: spikes per ms, sign of mu, K_I taken as K

def _balance(scale=1000.0, sign=-1.0, ki_is_k=False):
    def rates(p):
        w = p.weights
        KI = p.K if ki_is_k else p.K * p.Ni / p.Ne
        A = np.array([[p.K * w["EE"], KI * w["EI"]], [p.K * w["IE"], KI * w["II"]]])
        return scale * np.linalg.solve(A, sign * np.array([p.mu_e, p.mu_i]))
    return rates


@pytest.mark.parametrize("kwargs, words", [
    (dict(scale=1.0), "spikes per ms"),
    (dict(sign=1.0), r"negative.*A r = -mu"),
    (dict(ki_is_k=True), r"80 % E neurons.*K_I = K Ni / Ne"),
])
def test_balance_mistakes_are_named(kwargs, words):
    with pytest.raises(ExerciseError, match=words):
        part3.check_balance_rates(_balance(**kwargs))


# --- PCA time courses: uncentred, loadings instead of time courses, a sign flip is fine

def test_pca_without_centring_is_named():
    def raw(X, n):
        U, S, Vt = np.linalg.svd(X, full_matrices=False)
        return X @ Vt[:n].T

    with pytest.raises(ExerciseError, match="without its mean removed"):
        part3.check_pca_time_courses(raw)


def test_pca_loadings_instead_of_time_courses_are_named():
    def loadings(X, n):
        Xc = X - X.mean(axis=0)
        return np.linalg.svd(Xc, full_matrices=False)[2][:n].T

    with pytest.raises(ExerciseError, match="one row per neuron"):
        part3.check_pca_time_courses(loadings)


def test_pca_sign_of_a_component_does_not_matter(capsys):
    solution = _function("check_pca_time_courses", "my_time_courses")
    part3.check_pca_time_courses(lambda X, n: -solution(X, n))
    assert "Correct" in capsys.readouterr().out


# --- greedy matching: a model neuron used twice, the wrong order, a different rule

def _matching(order_sign=-1.0, remove=True, nearest=True):
    def match(target_rates, model_rates):
        free = np.array(model_rates, dtype=float)
        order = np.argsort(order_sign * target_rates, kind="stable")
        matched = np.empty(order.size, dtype=int)
        for k, a in enumerate(order):
            j = int(np.argmin(np.abs(free - target_rates[a]))) if nearest else int(np.argmax(free < np.inf))
            matched[k] = j
            if remove:
                free[j] = np.inf
        return order, matched
    return match


@pytest.mark.parametrize("kwargs, words", [
    (dict(remove=False), r"matched \d+ times"),
    (dict(order_sign=1.0), "from the lowest rate up"),
    (dict(nearest=False), r"your matched\[0\].*the reference is"),
])
def test_matching_mistakes_are_named(kwargs, words):
    with pytest.raises(ExerciseError, match=words):
        part3.check_match_rates(_matching(**kwargs))
