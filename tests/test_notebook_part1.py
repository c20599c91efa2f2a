"""The lessons of notebook 01 hold in its committed outputs, and its cells are shaped for a student.

The notebook's cells print what they show; these tests read those printed lines (the committed run) and
check the claims its text makes: training reaches a score of 0.99 and the trained network keeps it
without learning, learning is visible over several loops at lambda = 100, RLS equals ridge regression,
training builds the eigenvalues of an oscillator, the untrained network turns from decay to growth
between g = 1.3 and 1.4, and sparse networks need about 10 inputs. They also hold the shape of issue
#24: a header with the time estimate, time markers per section, no test code in the student's cells,
at most three Think! boxes, printed lines that fit the page, and at most 2,500 words of prose.
"""

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

NB = Path(__file__).resolve().parents[1] / "notebooks" / "01_rate_rnn.ipynb"
CELLS = nbformat.read(NB, as_version=4).cells


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def _output(marker: str) -> str:
    """The printed output of the one code cell whose source contains ``marker``."""
    found = [c for c in CELLS if c.cell_type == "code" and marker in c.source]
    assert len(found) == 1, f"{len(found)} code cells contain {marker!r}"
    out = _text(found[0])
    assert out, f"the cell with {marker!r} has no committed output: run the notebook"
    return out


def _numbers(line: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d+\.\d+|[-+]?\d+(?![\d.])", line)]


def _prose(source: str) -> str:
    source = re.sub(r"<details>.*?</details>", " ", source, flags=re.S)
    source = re.sub(r"```.*?```", " ", source, flags=re.S)
    return re.sub(r"\$\$.*?\$\$", " ", source, flags=re.S)


# ---- the lessons, from the committed outputs

def test_training_reaches_099_and_the_trained_network_keeps_it_without_learning():
    out = _output("after = res.test()")
    last, test = _numbers(out.splitlines()[-1])[-2:]
    assert last >= 0.99 and test >= 0.98, out


def test_learning_is_visible_over_several_loops_at_lambda_100():
    out = _output("lam=100.0")
    scores = np.array([float(x) for x in re.findall(r"\d\.\d+", " ".join(out.splitlines()[1:3]))])
    assert len(scores) == 20
    assert scores[0] < scores[-1] - 0.2, "the first loop should be clearly below the end score"
    assert np.all(np.diff(scores[:4]) > 0), "the score should rise over the first loops"
    assert scores[-1] >= 0.99


def test_the_untrained_network_does_not_follow_its_targets():
    out = _output("before = rate.run_trial(net)")
    assert abs(_numbers(out.splitlines()[0])[-1]) < 0.2


def test_rls_equals_ridge_regression_on_the_toy_data():
    assert _output("ridge_solution(X, y, lam)").strip().endswith("True")


def test_training_builds_the_eigenvalues_of_an_oscillator():
    out = _output("predicted = np.array")
    frac = _numbers(out.splitlines()[0])[-1]
    assert frac > 0.99, "the test trial is linear only if all rates stay above 0"
    ev = out.splitlines()[1].split(":", 1)[1]
    values = np.array([complex(v.replace(" ", "")) for v in re.findall(r"[-\d. ]+[+-][\d. ]+j", ev)])
    omega_tau = 2 * np.pi * 5.0 / 100.0
    by_imag = sorted(values, key=lambda z: z.imag)
    assert np.allclose(by_imag, [1 - 1j * omega_tau, 1, 1 + 1j * omega_tau], atol=5e-3), ev


def test_the_untrained_network_turns_from_decay_to_growth_between_g_13_and_14():
    lines = _output("for sigma in [0.10").splitlines()
    growth = {float(re.match(r"g = ([\d.]+)", ln).group(1)): ln for ln in lines if ln.startswith("g = ")}
    rate_of = lambda g: float(re.search(r"growth rate ([-+][\d.]+)", growth[g]).group(1))  # noqa: E731
    assert rate_of(1.3) < 0 < rate_of(1.4)
    assert "ran away" in growth[2.0] and "ran away" not in growth[1.3]
    assert float(re.search(r"score in loop 10 ([\d.]+)", lines[-1]).group(1)) > 0.99, "training tames g = 1.5"


def test_half_trained_network_untrained_neurons_ignore_their_targets():
    trained, untrained = _numbers(_output("train_fraction=0.5").splitlines()[0])
    assert trained > 0.99 and abs(untrained) < 0.3


def test_three_rates_fit_a_target_and_sparse_training_needs_about_ten():
    lines = _output("for K in [1, 2, 3, 4]").splitlines()
    fit = {int(_numbers(ln)[0]): _numbers(ln)[-1] for ln in lines if ln.startswith("fit from")}
    assert fit[2] < 0.9 < fit[3]
    score = {int(_numbers(ln)[0]): _numbers(ln)[-1] for ln in lines if ln.startswith("K =")}
    assert score[2] < 0.5 and score[10] > 0.99 and score[30] > 0.99


def test_lambda_trades_speed_for_weight_change():
    lines = [ln for ln in _output("for lam_a in").splitlines() if ln.startswith("lambda")]
    loop1 = [float(re.search(r"loop 1 ([\d.]+)", ln).group(1)) for ln in lines]
    dw = [float(re.search(r"max \|dW\| = ([\d.]+)", ln).group(1)) for ln in lines]
    assert dw[0] > dw[1] > dw[2] and loop1[2] < loop1[0]


# ---- the shape of a notebook for a student (issue #24)

def test_header_names_the_core_path_and_the_minutes():
    head = CELLS[1].source
    assert head.startswith("# Part 1: ")
    assert re.search(r"^\*\*Core path, part 1 of 3 · about \d+ minutes\*\*$", head, re.M)


def test_each_numbered_section_says_the_time_to_here_and_time_grows():
    minutes = []
    for c in CELLS:
        if c.cell_type == "markdown" and re.search(r"^## \d+\. ", c.source, re.M):
            lines = c.source.split("\n")
            at = next(i for i, ln in enumerate(lines) if re.match(r"## \d+\. ", ln))
            marker = re.fullmatch(r"\*Time to here: about (\d+) min\*", lines[at + 2].strip())
            assert lines[at + 1].strip() == "" and marker, lines[at:at + 3]
            minutes.append(int(marker.group(1)))
    assert len(minutes) >= 6 and minutes == sorted(minutes)


def test_student_cells_hold_no_test_code_and_no_engine_import():
    for c in CELLS:
        if c.cell_type != "code":
            continue
        assert not re.search(r"^\s*assert\b", c.source, re.M), c.source
        assert "NBVAL" not in c.source and "inspect.getsource" not in c.source
        assert "tutorial_lib.engine" not in c.source, "equations come from tutorial_lib.core"


def test_at_most_three_think_boxes_each_with_a_folded_answer():
    thinks = [c.source for c in CELLS if c.cell_type == "markdown" and "### Think!" in c.source]
    assert 1 <= len(thinks) <= 3
    assert all(re.search(r"### Think! \d+\.\d+.*<details>", s, re.S) for s in thinks)


def test_every_stub_raises_and_is_followed_by_its_solution_with_expected_output():
    for i, c in enumerate(CELLS):
        if c.cell_type == "code" and "raises-exception" in c.metadata.get("tags", []):
            last = c.source.strip().splitlines()[-1]
            assert re.fullmatch(r"check_\w+\(my_\w+(, my_\w+)?\)", last), last
            md = CELLS[i + 1]
            assert md.cell_type == "markdown" and md.source.startswith("<details>\n<summary>Solution</summary>")
            assert last in md.source and "Expected output:" in md.source


def test_printed_lines_fit_the_page():
    for c in CELLS:
        if c.cell_type == "code" and "raises-exception" not in c.metadata.get("tags", []):
            for line in _text(c).splitlines():
                assert len(line) <= 90, line


def test_figures_are_at_most_8_inches_wide():
    for c in CELLS:
        if c.cell_type == "code":
            for w in re.findall(r"figsize=\(([\d.]+),", c.source):
                assert float(w) <= 8, c.source


def test_prose_is_at_most_2500_words():
    words = sum(len(_prose(c.source).split()) for c in CELLS if c.cell_type == "markdown")
    assert words <= 2500, words


@pytest.mark.parametrize("words", ["backpropagation through time", "Your turn: the Euler step",
                                   "Your turn: one RLS step", "Your turn: one training trial"])
def test_the_notebook_keeps_the_steps_of_the_original(words):
    assert any(words in c.source for c in CELLS if c.cell_type == "markdown")
