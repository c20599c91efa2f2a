"""The notebooks as a student meets them (issue #24): a course that can be finished, cells without test
markers, figures and printed lines that fit a laptop, and every number in the text printed by the run.

The budgets are measured by ``python -m benchmarks.course`` (the same functions); numbers in the text
are checked against the committed outputs (run with the ALM recordings).
"""

from __future__ import annotations

import ast
import base64
import json
import re
import struct
from pathlib import Path

import pytest

from benchmarks.course import EXERCISE_HEADING, TIME_TO_HERE, measure, prose

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CORE_PATH = [p for p in NOTEBOOKS if p.name[:2] in ("01", "02", "03")]
IDS = [p.name for p in NOTEBOOKS]

MAX_WORDS = 2500          # prose per notebook
MAX_MEAN_SENTENCE = 17.0  # words
MAX_LONG_SENTENCES = 2    # over 35 words
CORE_READING_MIN = 90     # the core path's reading time, minutes
CORE_TOTAL_MIN = 200      # the core path with Run All and the exercises: about three hours
MAX_LINE = 90             # characters of a printed line in a 1366 px notebook column
# The smallest figure text is 10 pt at 110 dpi (plotting.STYLE), 15.3 px in the PNG. A 1366 px laptop with
# JupyterLab's file browser open leaves a notebook column of about 880 px: a PNG up to 1100 px wide is
# shrunk by at most 0.8 there, to 12.2 px, still 9 pt.
MAX_FIGURE_PX = 1100


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _src(cell) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def _tags(cell) -> list:
    return cell.get("metadata", {}).get("tags", [])


# ---------------------------------------------------------------------------
# A course that can be finished


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_prose_is_short_in_short_sentences(path):
    c = measure(path)
    assert c.words <= MAX_WORDS, f"{c.words} words of prose (at most {MAX_WORDS})"
    assert c.mean_sentence <= MAX_MEAN_SENTENCE, f"{c.mean_sentence} words per sentence on average"
    assert c.long_sentences <= MAX_LONG_SENTENCES, f"{c.long_sentences} sentences over 35 words"


def test_the_core_path_is_parts_1_to_3_and_takes_about_three_hours():
    rows = [measure(p) for p in NOTEBOOKS]
    assert [r.notebook for r in rows if r.core] == [p.name for p in CORE_PATH]
    core = [r for r in rows if r.core]
    assert sum(r.words for r in core) / 150 < CORE_READING_MIN
    assert sum(r.minutes for r in core) <= CORE_TOTAL_MIN, [r.minutes for r in core]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_header_says_where_the_part_stands_and_sections_say_the_time(path):
    cells = _cells(path)
    header = next(_src(c) for c in cells if c["cell_type"] == "markdown")
    core = path in CORE_PATH
    expected = (rf"\*\*Core path, part {int(path.name[:2])} of 3 · about \d+ minutes\*\*" if core
                else r"\*\*Extension \(after the core path\) · about \d+ minutes\*\*")
    assert re.search(expected, header), f"the header should say: {expected}"
    sections = [_src(c) for c in cells
                if c["cell_type"] == "markdown" and re.search(r"^##\s*\d+\.", _src(c), re.M)]
    assert sections, "no numbered sections (## 1. ...)"
    marks = []
    for s in sections:
        m = TIME_TO_HERE.search(s)
        assert m, f"section without '*Time to here: about N min*': {s.strip().splitlines()[0:2]}"
        marks.append(int(m.group(1)))
    assert marks == sorted(marks), f"time markers go back: {marks}"
    stated = int(re.search(r"about (\d+) minutes", header).group(1))
    assert marks[-1] < stated, f"the last section starts at {marks[-1]} min, the header says {stated} in all"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_at_least_three_coding_exercises_each_with_its_time_and_a_check(path):
    cells = _cells(path)
    stubs = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and "raises-exception" in _tags(c)]
    assert len(stubs) >= 3, f"{len(stubs)} coding exercises (at least 3)"
    for i in stubs:
        heading = next(_src(c) for c in reversed(cells[:i]) if c["cell_type"] == "markdown")
        assert EXERCISE_HEADING.search(heading), \
            f"cell {i}: the markdown before a stub needs '### Exercise ... (about N min)' or '### Your turn ...'"
        checks = re.findall(r"\b(check_\w+)\(", _src(cells[i]))
        assert checks, f"cell {i}: the stub calls no check_... function"
        assert "NotImplementedError" in _src(cells[i]), f"cell {i}: the stub should raise NotImplementedError"
        solution = next(_src(c) for c in cells[i + 1:] if c["cell_type"] == "markdown" and "<details>" in _src(c))
        code = re.search(r"```python\n(.*?)```", solution, re.S)
        assert code and checks[-1] + "(" in code.group(1), f"cell {i}: the solution does not call {checks[-1]}"
        assert "Expected output" in solution, f"cell {i}: the solution shows no expected output"


# ---------------------------------------------------------------------------
# Cells for a student


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_test_markers_or_asserts_in_the_students_cells_and_no_engine_imports(path):
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code":
            continue
        src = _src(cell)
        assert "NBVAL" not in src, f"cell {i}: nbval markers belong in the cell's tags"
        python = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in src.splitlines())
        tree = ast.parse(python)
        asserts = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Assert)]
        assert not asserts, f"cell {i}: assert on line(s) {asserts}; lesson checks belong in tests/"
        engine = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
                  and ".engine" in n.module]
        assert not engine, f"cell {i}: imports {engine}; the notebooks read the equations from tutorial_lib.core"


def _png_width(data: str) -> int:
    raw = base64.b64decode(data[:64])
    return struct.unpack(">I", raw[16:20])[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_figures_and_printed_lines_fit_a_laptop_column(path):
    from tutorial_lib.plotting.common import STYLE

    smallest = min(STYLE[k] for k in ("font.size", "axes.labelsize", "xtick.labelsize", "legend.fontsize"))
    assert smallest * STYLE["figure.dpi"] / 72 * 880 / MAX_FIGURE_PX >= 12.0
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code" or "raises-exception" in _tags(cell):
            continue
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png:
                assert _png_width(png) <= MAX_FIGURE_PX, f"cell {i}: a figure {_png_width(png)} px wide"
            data = out.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data:
                continue  # a widget: its text/plain is a repr no one sees
            texts = [out.get("text", "")] if out.get("output_type") == "stream" and out.get("name") == "stdout" \
                else [data.get("text/plain", "")]
            for text in texts:
                text = text if isinstance(text, str) else "".join(text)
                for line in text.replace("\r", "\n").splitlines():
                    assert len(line) <= MAX_LINE, f"cell {i}: a printed line of {len(line)} characters: {line}"


# ---------------------------------------------------------------------------
# Every number in the text comes from the run

DECIMAL_OR_PERCENT = re.compile(r"(?<![\w.])(\d+\.\d+|\d+(?:\.\d+)?)(\s?%)?(?![\w.]*\d)")
NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def quoted_numbers(markdown: str) -> list[tuple[str, float, int, bool]]:
    """(as written, value, decimals, is a percentage) for every decimal or percentage in the prose."""
    text = prose(markdown)
    text = re.sub(r"\$[^$]*\$", " ", text)                  # inline math: equations and symbols
    text = re.sub(r"`[^`]*`", " ", text)                    # code
    text = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))  # headings
    text = re.sub(r"doi:\S+|\b10\.\d{4,}/\S+", " ", text)  # DOIs
    text = re.sub(r"(Think!|[Ss]ection|§|Exercise|[Ff]igure|Fig\.|[Ee]q\.)\s*\(?\d+(\.\d+)*", " ", text)  # numbering
    found = []
    for m in DECIMAL_OR_PERCENT.finditer(text):
        number, percent = m.group(1), bool(m.group(2))
        if "." not in number and not percent:
            continue  # integers are checked by reading
        decimals = len(number.split(".")[1]) if "." in number else 0
        found.append((m.group(0).strip(), float(number), decimals, percent))
    return found


def _printed(cell) -> str:
    parts = [_src(cell)]
    for out in cell.get("outputs", []):
        t = out.get("text") or out.get("data", {}).get("text/plain", "")
        parts.append(t if isinstance(t, str) else "".join(t))
    return "\n".join(parts)


def shown_by(value: float, decimals: int, percent: bool, printed: str) -> bool:
    """Whether a number printed (or set in code) rounds to ``value`` at ``decimals`` places."""
    tol = 0.5 * 10.0 ** -decimals + 1e-9
    for m in NUMBER.finditer(printed):
        v = float(m.group(0))
        if abs(v - value) <= tol or (percent and abs(100 * v - value) <= tol):
            return True
    return False


def unprinted_numbers(cells) -> list[str]:
    """Every quoted number that no code cell above its Markdown cell prints or sets."""
    missing, above = [], []
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            above.append(_printed(cell))
            continue
        printed = "\n".join(above)
        for written, value, decimals, percent in quoted_numbers(_src(cell)):
            if not shown_by(value, decimals, percent, printed):
                missing.append(f"cell {i}: '{written}'")
    return missing


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_number_in_the_text_is_printed_by_a_cell_above_it(path):
    missing = unprinted_numbers(_cells(path))
    assert not missing, "numbers in the text that no cell above prints: " + "; ".join(missing)


def test_the_number_check_finds_what_it_should():
    md = {"cell_type": "markdown", "source": "The score is 0.48 after 12 loops, $\\tau = 0.5$, about 48 %, `x=0.3`."}
    code = {"cell_type": "code", "source": "res = run()", "outputs": [{"output_type": "stream", "text": "0.4812\n"}]}
    assert unprinted_numbers([code, md]) == []
    assert unprinted_numbers([md, code]) == ["cell 0: '0.48'", "cell 0: '48 %'"]  # printed below, not above
    wrong = dict(code, outputs=[{"output_type": "stream", "text": "0.4712\n"}])
    assert unprinted_numbers([wrong, md]) == ["cell 1: '0.48'", "cell 1: '48 %'"]
    refs = {"cell_type": "markdown", "source": "Text.\n\n## References\n\nSmith (2001), *J* 1.5, [doi:10.1/x](u)"}
    assert quoted_numbers(refs["source"]) == []
    assert quoted_numbers("As Think! 3.1 and Section 2.4 said, the rate is 2.5 Hz.") == [("2.5", 2.5, 1, False)]


def test_the_course_counts_prose_sentences_and_the_students_lines():
    from benchmarks.course import _words, sentences, student_lines

    md = ("# Title\n\nOne two three. Four five six!\n\n- item one\n<details>hidden words</details>\n"
          "```python\ncode here\n```\n$$x = 1$$\n\n## References\n\nA B C.")
    text = prose(md)
    assert len(_words(text)) == 9
    assert [len(s) for s in sentences(text)] == [1, 3, 3, 2]  # "Title", two sentences, "item one"
    stub = {"cell_type": "code", "metadata": {"tags": ["raises-exception"]},
            "source": "def f(x):\n    # double it\n    ...\n    raise NotImplementedError\ncheck_f(f)\n"}
    solution = {"cell_type": "markdown", "source": "<details>\n\n```python\ndef f(x):\n    return 2 * x\n\ncheck_f(f)\n```\n"
                "</details>"}
    assert student_lines([stub, solution]) == (1, 1)
