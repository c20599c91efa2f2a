"""Part 4's exercise checks: the notebook's solutions pass them, and typical wrong answers fail with advice.

The solutions are read from notebook 04 (the ```python block of the <details> after each stub) and run
here with the check they end with, so the notebook's "Expected output" is the line the check prints.
"""

import re
from pathlib import Path

import numpy as np
import pytest
from notebook_exercises import exercises

from tutorial_lib.core import psth as core_psth
from tutorial_lib.core import stats as core_stats
from tutorial_lib.exercises import ExerciseError, part4

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_trained_network.ipynb"
SOLUTIONS = [(e.stub, e.solution, e.expected) for e in exercises(NOTEBOOK)]


def test_notebook_04_has_at_least_three_coding_exercises_each_ending_with_its_check():
    assert len(SOLUTIONS) >= 3
    for stub, code, _ in SOLUTIONS:
        last = stub.strip().splitlines()[-1]
        assert re.fullmatch(r"check_\w+\(.*\)", last), last
        assert code.strip().splitlines()[-1] == last, "the solution ends with the stub's check call"
        assert "NotImplementedError" in stub and "..." in stub


@pytest.mark.parametrize("index", range(len(SOLUTIONS)))
def test_each_solution_passes_its_check_and_prints_the_expected_output(index, capsys):
    _, code, expected = SOLUTIONS[index]
    namespace = {"np": np, **{name: getattr(part4, name) for name in part4.__all__}}
    exec(compile(code, f"solution {index}", "exec"), namespace)
    assert capsys.readouterr().out.strip() == expected


@pytest.mark.parametrize("index", range(len(SOLUTIONS)))
def test_each_stub_as_given_says_it_is_not_written_yet(index):
    stub, _, _ = SOLUTIONS[index]
    namespace = {"np": np, **{name: getattr(part4, name) for name in part4.__all__}}
    with pytest.raises(ExerciseError, match="not written yet"):
        exec(compile(stub, f"stub {index}", "exec"), namespace)


# ---- the Fano factor

def fano_reference(counts):
    return core_stats.fano_factor(counts)


@pytest.mark.parametrize("wrong, words", [
    (lambda c: c.var(axis=0) / c.mean(axis=0), "ddof=1"),
    (lambda c: c.std(axis=0, ddof=1) / c.mean(axis=0), "standard deviation"),
    (lambda c: c.mean(axis=0) / c.var(axis=0, ddof=1), "upside down"),
    (lambda c: np.nan_to_num(c.var(axis=0, ddof=1) / c.mean(axis=0)), "NaN there, not 0"),
    (lambda c: c.var(axis=2, ddof=1) / c.mean(axis=2), "axis=0"),
])
def test_fano_check_names_the_mistake(wrong, words):
    with np.errstate(invalid="ignore", divide="ignore"), pytest.raises(ExerciseError) as info:
        part4.check_fano_factor(wrong)
    assert words in str(info.value)


def test_fano_check_names_the_window_and_neuron_of_a_wrong_value():
    def one_off(counts):
        f = core_stats.fano_factor(counts)
        f[1, 4] += 0.3
        return f
    with pytest.raises(ExerciseError, match=r"window from t = 1600 ms, neuron = 4 is .*\(off by 0.3"):
        part4.check_fano_factor(one_off)


# ---- the perturbation experiment

def rate_change(base, pert, neurons, window):
    def mean_rate(trials):
        w = np.array([window])
        return np.mean([core_stats.spike_counts(t, n, np.asarray(neurons), w) for t, n in trials]) / (
            (window[1] - window[0]) / 1000.0)
    return mean_rate(pert) - mean_rate(base)


def paradoxical(dr_i, delta_i):
    return dr_i * delta_i < 0


def test_perturbation_check_passes_a_correct_answer(capsys):
    part4.check_perturbation(rate_change, paradoxical)
    assert capsys.readouterr().out.startswith("Correct: your rate change is")


@pytest.mark.parametrize("wrong, words", [
    (lambda *a: -rate_change(*a), "perturbed minus unperturbed"),
    (lambda *a: rate_change(*a) / 1000.0, "length in seconds"),
    (lambda b, p, n, w: rate_change(b, p, n, w) * len(n), "average over the neurons"),
    (lambda b, p, n, w: np.full(len(n), rate_change(b, p, n, w)), "one number"),
])
def test_perturbation_check_names_the_rate_mistake(wrong, words):
    with pytest.raises(ExerciseError) as info:
        part4.check_perturbation(wrong, paradoxical)
    assert words in str(info.value)


@pytest.mark.parametrize("wrong, words", [
    (lambda dr, d: dr < 0, "with a negative drive"),
    (lambda dr, d: dr * d > 0, "should say True"),
])
def test_perturbation_check_names_the_sign_mistake(wrong, words):
    with pytest.raises(ExerciseError) as info:
        part4.check_perturbation(rate_change, wrong)
    assert words in str(info.value)


# ---- d'

@pytest.mark.parametrize("wrong, words", [
    (lambda a, b: core_stats.dprime(b, a), "sign is flipped"),
    (lambda a, b: (a.mean(0) - b.mean(0)) / np.sqrt(a.var(0, ddof=1) + b.var(0, ddof=1)),
     "divide their sum by 2"),
    (lambda a, b: (a.mean(0) - b.mean(0)) / np.sqrt(0.5 * (a.var(0) + b.var(0))), "ddof=1"),
    (lambda a, b: (a.mean(0) - b.mean(0)) / (0.5 * (a.std(0, ddof=1) + b.std(0, ddof=1))),
     "then take the square"),
    (lambda a, b: np.nan_to_num(core_stats.dprime(a, b)), "NaN"),
])
def test_dprime_check_names_the_mistake(wrong, words):
    with np.errstate(invalid="ignore", divide="ignore"), pytest.raises(ExerciseError) as info:
        part4.check_dprime(wrong)
    assert words in str(info.value)


# ---- the PSTH

def psth(*args):
    return core_psth.psth(*args, smooth_ms=0.0)


@pytest.mark.parametrize("wrong, words", [
    (lambda *a: (psth(*a)[0], psth(*a)[1] * a[4] / 1000.0), "multiply by 1000 / bin_ms"),
    (lambda *a: (psth(*a)[0] - a[4] / 2, psth(*a)[1]), "left edges"),
    (lambda *a: (psth(*a)[0], psth(*a)[1].T), "transpose"),
    (lambda *a: psth(*a)[1], "two arrays"),
])
def test_psth_check_names_the_mistake(wrong, words):
    with pytest.raises(ExerciseError) as info:
        part4.check_psth(wrong)
    assert words in str(info.value)


def test_a_wrong_value_next_to_an_undefined_one_is_still_caught():
    """check_close alone lets everything pass when the reference holds a NaN; the part-4 checks do not."""
    def almost(a, b):
        d = core_stats.dprime(a, b)
        return d + 0.5 * np.isfinite(d)
    with np.errstate(invalid="ignore"), pytest.raises(ExerciseError, match="off by 0.5"):
        part4.check_dprime(almost)
