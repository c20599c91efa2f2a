"""Notebook 03 as committed (run with the recordings): its shape for a student and the lessons its
outputs show (issue #24 items 2, 4, 6 and 7). Reads the notebook; runs nothing heavy.

The lessons are checked here, not in the student's cells: the trial-averaged score reaches 0.5; the
lecture network's single-trial score is set against the original's 0.194; the trained activity spreads
to the untrained neurons (R^2 of the leading component above 0.85 and 0.1 above the untrained
network's); the full-scale numbers printed are those of benchmarks/part3_full_scale.json.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "03_balanced_alm.ipynb"
FULL_RUN = ROOT / "benchmarks" / "part3_full_scale.json"
NB = nbformat.read(NOTEBOOK, as_version=4)
MARKDOWN = [c.source for c in NB.cells if c.cell_type == "markdown"]
CODE = [c for c in NB.cells if c.cell_type == "code"]


def _text(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            out.append(o.text)
        elif "data" in o and "text/plain" in o.data and "image/png" not in o.data:
            out.append(o.data["text/plain"])
    return "".join(out)


OUTPUT = "\n".join(_text(c) for c in CODE)


def prose_words(source: str) -> int:
    """Words of prose in a markdown cell: <details> blocks, fenced code and $$ math removed."""
    source = re.sub(r"<details>.*?</details>", " ", source, flags=re.S)
    source = re.sub(r"```.*?```", " ", source, flags=re.S)
    source = re.sub(r"\$\$.*?\$\$", " ", source, flags=re.S)
    source = re.sub(r"!\[.*?\]\(.*?\)", " ", source)
    return len(source.split())


def _number(pattern: str) -> list[float]:
    match = re.search(pattern, OUTPUT)
    assert match, f"no output matches {pattern!r}"
    return [float(g) for g in match.groups()]


# --- shape -------------------------------------------------------------------------------------

def test_header_says_core_path_and_minutes():
    assert re.search(r"^\*\*Core path, part 3 of 3 · about \d+ minutes\*\*$", MARKDOWN[0], re.M)


def test_each_numbered_section_starts_with_its_time_to_here():
    sections = [s for s in MARKDOWN if re.match(r"## \d+\. ", s)]
    assert len(sections) >= 6
    times = []
    for s in sections:
        match = re.match(r"## \d+\. [^\n]+\n\n\*Time to here: about (\d+) min\*", s)
        assert match, s[:80]
        times.append(int(match.group(1)))
    assert times == sorted(times)


def test_prose_is_at_most_2500_words_and_no_spec_left():
    assert sum(prose_words(s) for s in MARKDOWN) <= 2500
    assert not any(re.search(r"\bSPEC\b", c.source) for c in NB.cells)


def test_at_most_three_think_boxes_each_with_a_folded_answer():
    boxes = [s for s in MARKDOWN if "### Think!" in s]
    assert 1 <= len(boxes) <= 3
    assert all("<details>" in s for s in boxes)


def test_student_cells_hold_no_asserts_nor_nbval_comments():
    for c in CODE:
        assert not re.search(r"^\s*assert\b", c.source, re.M), c.source[:80]
        assert "NBVAL" not in c.source


def test_at_least_three_coding_exercises_each_stub_tagged_and_checked():
    stubs = [c for c in CODE if "raises-exception" in c.metadata.get("tags", [])]
    assert len(stubs) >= 3
    for c in stubs:
        assert "raise NotImplementedError" in c.source
        assert re.search(r"^check_\w+\(my_\w+\)$", c.source.strip().splitlines()[-1])
    headings = re.findall(r"^### (?:Exercise \([a-z]\)|Your turn): .* \(about \d+ min\)$",
                          "\n".join(MARKDOWN), re.M)
    assert len(headings) == len(stubs)


def test_siegert_comes_from_the_core():
    imports = "\n".join(c.source for c in CODE)
    assert "from tutorial_lib.core.siegert import" in imports
    assert not re.search(r"engine\.siegert import .*siegert_(rate|inverse)", imports)


def test_printed_lines_fit_a_laptop_column():
    printed = "".join(o.text for c in CODE for o in c.get("outputs", []) if o.output_type == "stream")
    long = [line for line in printed.splitlines() if len(line) > 90 and "%|" not in line]
    assert not long, long[:3]


def test_figures_are_at_most_8_inches_wide_9_for_three_panels():
    for c in CODE:
        for w, rest in re.findall(r"figsize=\((\d+(?:\.\d+)?),([^)]*)\)", c.source):
            limit = 9.0 if re.search(r"subplots\(1, 3", c.source) else 8.0
            assert float(w) <= limit, c.source[:80]


def test_full_scale_figure_is_embedded_with_a_sentence():
    cell = next(c for c in NB.cells if c.cell_type == "markdown" and "part3_full_scale.png" in c.source)
    assert "image/png" in cell.attachments["part3_full_scale.png"]
    assert "0.217" in cell.source and "0.194" in cell.source


# --- lessons, from the committed outputs ---------------------------------------------------------

def test_the_committed_run_used_the_recordings():
    assert "ALM recordings (Finkelstein, Fontolan et al. 2021)" in OUTPUT


def test_training_reaches_a_trial_averaged_score_of_one_half_and_beats_the_original():
    single, averaged = _number(r"after \d+ loops: single-trial score ([\d.]+), trial-averaged ([\d.]+)")
    first = _number(r"loop  1: training trials R ([\d.]+)")[0]
    original = _number(r"the original, 1824 neurons after 200 loops: single-trial score ([\d.]+)")[0]
    assert averaged >= 0.5 and averaged > first
    assert original == 0.194 and single > original


def test_lick_left_scores_lower_than_lick_right_as_the_text_says():
    right = _number(r"lick right: single trials [\d.]+ to [\d.]+, 10-trial average ([\d.]+)")[0]
    left = _number(r"lick left : single trials [\d.]+ to [\d.]+, 10-trial average ([\d.]+)")[0]
    assert left < right - 0.1


def test_trained_activity_spreads_to_untrained_neurons():
    for name in ("untrained E", "untrained I"):
        row = _number(rf"  {name} +([\d.]+)  ([\d.]+)  ([\d.]+) +([\d.]+)  ([\d.]+)  ([\d.]+)")
        after, before = row[0], row[3]
        assert after > 0.85 and after > before + 0.1, (name, row)


def test_finite_network_fires_below_the_balance_values():
    e, i, pe, pi = _number(r"mean rates: E ([\d.]+) Hz, I ([\d.]+) Hz \(balance equations ([\d.]+) and ([\d.]+)")
    assert e < pe and i < pi


def test_full_scale_numbers_are_those_of_the_benchmark_file():
    run = json.loads(FULL_RUN.read_text())
    score, avg = _number(r"after 200 loops: single-trial score ([\d.]+), trial-averaged \(5 trials\) ([\d.]+)")
    assert score == pytest.approx(run["final_test"]["score"], abs=5e-4)
    assert avg == pytest.approx(run["final_test"]["score_avg"], abs=5e-4)
