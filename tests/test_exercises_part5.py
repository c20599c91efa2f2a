"""Part 5's exercise checks: the notebook's solutions pass them, and typical wrong answers fail with advice.

The solutions are read from notebook 05 (the ```python block of the <details> after each stub) and run
here with the check they end with, so the notebook's "Expected output" is the line the check prints.
"""

import re
from pathlib import Path

import numpy as np
import pytest
from notebook_exercises import exercises

from tutorial_lib.core import choice as core_choice
from tutorial_lib.core import fixed_points as core_fp
from tutorial_lib.exercises import ExerciseError, part5

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05_attractors.ipynb"
SOLUTIONS = [(e.stub, e.solution, e.expected) for e in exercises(NOTEBOOK)]


def namespace():
    return {"np": np, **{name: getattr(part5, name) for name in part5.__all__}}


def test_notebook_05_has_three_coding_exercises_each_ending_with_its_check():
    assert len(SOLUTIONS) >= 3
    for stub, code, _ in SOLUTIONS:
        last = stub.strip().splitlines()[-1]
        assert re.fullmatch(r"check_\w+\(.*\)", last), last
        assert code.strip().splitlines()[-1] == last, "the solution ends with the stub's check call"
        assert "NotImplementedError" in stub and "..." in stub


@pytest.mark.parametrize("index", range(len(SOLUTIONS)))
def test_each_solution_passes_its_check_and_prints_the_expected_output(index, capsys):
    _, code, expected = SOLUTIONS[index]
    exec(compile(code, f"solution {index}", "exec"), namespace())
    assert capsys.readouterr().out.strip() == expected


@pytest.mark.parametrize("index", range(len(SOLUTIONS)))
def test_each_stub_as_given_says_it_is_not_written_yet(index):
    stub, _, _ = SOLUTIONS[index]
    with pytest.raises(ExerciseError, match="not written yet"):
        exec(compile(stub, f"stub {index}", "exec"), namespace())


def solved(name):
    """The notebook's solution function ``name`` (defined by running its solution without the check)."""
    for _, code, _ in SOLUTIONS:
        if f"def {name}(" in code:
            ns = namespace()
            exec(compile("\n".join(code.strip().splitlines()[:-1]), name, "exec"), ns)
            return ns
    raise LookupError(name)


# ---- the choice mode and the projection

def _mode(d):
    return d / np.linalg.norm(d)


def _l1(d):
    return d / np.abs(d).sum()


def _window(a, t, window, closed=True):
    inside = (t >= window[0]) & ((t <= window[1]) if closed else (t < window[1]))
    return a[:, inside].mean(axis=(0, 1))


@pytest.mark.parametrize("wrong, words", [
    (lambda a, b, t, w: _window(a, t, w) - _window(b, t, w), "unit vector"),
    (lambda a, b, t, w: _mode(_window(b, t, w) - _window(a, t, w)), "sign is flipped"),
    (lambda a, b, t, w: _mode(a.mean(axis=(0, 1)) - b.mean(axis=(0, 1))), "inside the window"),
    (lambda a, b, t, w: _mode(_window(a, t, w, False) - _window(b, t, w, False)), "closed"),
    (lambda a, b, t, w: _l1(_window(a, t, w) - _window(b, t, w)), "Euclidean"),
    (lambda a, b, t, w: _mode(a[:, (t >= w[0]) & (t <= w[1])].mean(axis=1)
                              - b[:, (t >= w[0]) & (t <= w[1])].mean(axis=1)[:1]), "trials AND"),
])
def test_choice_mode_check_names_the_mistake(wrong, words):
    with pytest.raises(ExerciseError) as info:
        part5.check_choice_mode(wrong, core_choice.project)
    assert words in str(info.value)


@pytest.mark.parametrize("wrong, words", [
    (lambda x, m: (x @ m).T, "(trials, time)"),
    (lambda x, m: x * m, "sum the products"),
    (lambda x, m: -(x @ m), "not minus it"),
    (lambda x, m: x @ m + 1.0, "your projection at trial = "),
])
def test_projection_check_names_the_mistake(wrong, words):
    with pytest.raises(ExerciseError) as info:
        part5.check_choice_mode(core_choice.choice_mode, wrong)
    assert words in str(info.value)


def test_choice_mode_check_names_neuron_and_time_where_the_answer_differs():
    def off(x, m):
        out = x @ m
        out[2, 7] += 0.5
        return out

    with pytest.raises(ExerciseError) as info:
        part5.check_choice_mode(core_choice.choice_mode, off)
    assert "trial = 2, t = 1875 ms" in str(info.value)


# ---- the separatrix estimate

def _fractions(amplitude, switched):
    amps = np.unique(amplitude)
    return amps, np.array([switched[amplitude == a].mean() for a in amps])


@pytest.mark.parametrize("wrong, words", [
    (lambda a, s: (np.unique(a), np.array([s[a == v].sum() for v in np.unique(a)]), 3.3), "counts"),
    (lambda a, s: (np.unique(a), 1 - _fractions(a, s)[1], 3.3), "recovered"),
    (lambda a, s: (np.unique(a), np.array([s[a == v].sum() for v in np.unique(a)]) / a.size, 3.3),
     "not by all"),
    (lambda a, s: (*_fractions(a, s), float(np.interp(0.5, *_fractions(a, s)))), "np.interp(0.5, fraction, amps)"),
    (lambda a, s: (*_fractions(a, s), 5.0), "outside the logistic fit"),
    (lambda a, s: (np.unique(a)[::-1], _fractions(a, s)[1][::-1], 3.3), "upwards"),
    (lambda a, s: _fractions(a, s), "three things"),
    (lambda a, s: (*_fractions(a, s), np.array([3.3, 3.4])), "one number"),
])
def test_separatrix_check_names_the_mistake(wrong, words):
    with pytest.raises(ExerciseError) as info:
        part5.check_separatrix(wrong)
    assert words in str(info.value)


def test_the_notebooks_separatrix_finds_a_known_boundary_in_a_noisy_bistable_system():
    """x' = x - x^3 + noise, started at the attractor x = -1 and kicked by A at t = 0: the kick switches
    the trial when -1 + A crosses the separatrix at x = 0 (plus noise), so A50 is close to 1; the
    notebook's interpolation and the library's logistic fit both find it, each inside the fit's interval."""
    rng = np.random.default_rng(0)
    amps = np.repeat(np.linspace(0.4, 1.6, 7), 60)
    x = -1.0 + amps + rng.normal(0.0, 0.15, amps.size)   # the state just after the kick, with noise
    dt = 0.01
    for _ in range(800):
        x = x + dt * (x - x ** 3) + np.sqrt(dt) * 0.05 * rng.normal(size=x.size)
    switched = x > 0
    _, fraction, a50 = solved("separatrix")["separatrix"](amps, switched)
    fit = core_choice.switch_threshold(amps, switched)
    assert fit.low <= 1.0 <= fit.high and fit.bounded
    assert fit.low <= a50 <= fit.high and abs(a50 - 1.0) < 0.1
    assert fraction[0] < 0.1 and fraction[-1] > 0.9


# ---- a fixed point's kind

def _kind(real):
    return "stable" if np.all(real < 0) else "unstable" if np.all(real > 0) else "saddle"


def _kind_by_imag(eig):
    """A wrong rule: the imaginary parts decide when there are any."""
    return _kind(eig.imag if np.any(eig.imag) else eig.real)


@pytest.mark.parametrize("wrong, words", [
    (lambda x, W, dphi: _kind(np.linalg.eigvals(W * dphi(x)[None, :]).real), "has -I"),
    (lambda x, W, dphi: _kind(np.abs(np.linalg.eigvals(-np.eye(len(x)) + W * dphi(x)[None, :])) - 1.0),
     "for a map"),
    (lambda x, W, dphi: _kind_by_imag(np.linalg.eigvals(-np.eye(len(x)) + W * dphi(x)[None, :])), "real parts"),
    (lambda x, W, dphi: "stable", "so it is 'saddle'"),
    (lambda x, W, dphi: np.linalg.eigvals(-np.eye(len(x)) + W * dphi(x)[None, :]), "a word"),
    (lambda x, W, dphi: {"stable": "unstable", "unstable": "stable", "saddle": "saddle"}[
        _kind(np.linalg.eigvals(-np.eye(len(x)) + W * dphi(x)[None, :]).real)], "every real part < 0"),
])
def test_stability_check_names_the_mistake(wrong, words):
    with pytest.raises(ExerciseError) as info:
        part5.check_stability(wrong)
    assert words in str(info.value)


def test_the_stability_cases_cover_every_kind_and_complex_eigenvalues():
    kinds, complex_seen = set(), False
    for _, x, W, dphi in part5._cases():
        eig = np.linalg.eigvals(core_fp.jacobian(x, W, dphi))
        kinds.add(core_fp.classify(eig))
        complex_seen |= bool(np.any(np.imag(eig)))
    assert kinds == {"stable", "saddle", "unstable"} and complex_seen


def test_the_notebooks_stability_agrees_with_the_finder_on_the_two_attractor_model():
    stability = solved("stability")["stability"]
    W, b, points = core_choice.two_attractor_relu(w_self=0.3, w_cross=1.5, drive=2.0)
    found = core_fp.find_fixed_points(W, b, np.random.default_rng(1).uniform(-6, 6, (40, 2)),
                                      phi=core_choice.relu, dphi=core_choice.drelu)
    assert len(found) == 3
    assert [stability(x, W, core_choice.drelu) for x in found.x] == list(found.kind)
    assert sorted(found.kind) == sorted(kind for _, kind in points)
