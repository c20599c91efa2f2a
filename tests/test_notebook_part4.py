"""Notebook 04 as committed (run with the recordings): its shape, its prose and the lessons its outputs show.

The lessons are checked here, on the committed outputs, not by asserts in the student's cells.
"""

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_trained_network.ipynb"
NB = nbformat.read(NOTEBOOK, as_version=4)
CODE = [c for c in NB.cells if c.cell_type == "code"]
MARKDOWN = [c for c in NB.cells if c.cell_type == "markdown"]
SHOWN = {"image/png", "application/vnd.jupyter.widget-view+json"}  # outputs whose text/plain is a stand-in


def text_output(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            out.append(o.text)
        elif "data" in o and "text/plain" in o.data and not SHOWN & set(o.data):
            out.append(o.data["text/plain"])
    return "\n".join(out)


def output_of(marker: str) -> str:
    """The text output of the one code cell whose source contains ``marker``."""
    cells = [c for c in CODE if marker in c.source]
    assert len(cells) == 1, f"{len(cells)} cells contain {marker!r}"
    return text_output(cells[0])


def prose(src: str) -> str:
    """Markdown as the word count sees it: no <details>, fenced code, display math or References."""
    src = re.split(r"^## References", src, flags=re.M)[0]
    src = re.sub(r"<details>.*?</details>", " ", src, flags=re.S)
    src = re.sub(r"```.*?```", " ", src, flags=re.S)
    return re.sub(r"\$\$.*?\$\$", " ", src, flags=re.S)


def words(text: str) -> list:
    return [w for w in text.split() if re.search(r"[A-Za-z0-9]", w)]


# ---- shape

def test_header_marks_part_4_as_an_extension_with_a_time():
    assert NB.cells[1].source.startswith("# Part 4: ")
    line = r"^\*\*Extension \(after the core path\) · about \d+ minutes\*\*$"
    assert re.search(line, NB.cells[1].source, re.M)


def test_every_numbered_section_starts_with_an_increasing_time_to_here():
    times = []
    for cell in MARKDOWN:
        if re.search(r"^## \d+\. ", cell.source, re.M):
            heading, marker = cell.source.split("\n## ")[-1].split("\n")[:2]
            match = re.fullmatch(r"\*Time to here: about (\d+) min\*", marker)
            assert match, f"section {heading!r}: no time marker under the heading"
            times.append(int(match.group(1)))
    assert len(times) >= 6 and times == sorted(times)
    total = int(re.search(r"about (\d+) minutes", NB.cells[1].source).group(1))
    assert times[-1] < total


def test_prose_is_at_most_2500_words_in_short_sentences():
    text = " ".join(prose(c.source) for c in MARKDOWN)
    assert len(words(text)) <= 2500
    assert len(re.findall(r"^### Think!", "\n".join(c.source for c in MARKDOWN), re.M)) <= 3


def test_no_asserts_or_nbval_comments_in_cells_and_stubs_are_tagged():
    for cell in CODE:
        assert not re.search(r"^\s*assert\b", cell.source, re.M)
        assert "NBVAL" not in cell.source
        if "NotImplementedError(" in cell.source:
            assert "raises-exception" in cell.metadata.get("tags", [])


def test_printed_lines_fit_a_laptop_column():
    long = [line for c in CODE for line in text_output(c).splitlines() if len(line) > 90]
    assert not long, long


def test_figures_are_at_most_8_inches_wide_and_legends_sit_off_the_data():
    for cell in CODE:
        for match in re.finditer(r"subplots\((\d+), (\d+), figsize=\(([\d.]+)", cell.source):
            limit = 9 if int(match.group(2)) >= 3 else 8
            assert float(match.group(3)) <= limit, cell.source[:80]
        for match in re.finditer(r"figsize=\(([\d.]+)", cell.source):
            assert float(match.group(1)) <= 9
        for call in re.findall(r"\.legend\(.*?\)\n", cell.source, re.S):
            assert "bbox_to_anchor" in call or "outside" in call, call


def test_the_conflicts_of_issue_24_are_gone():
    text = "\n".join(c.source for c in NB.cells)
    assert "loop 9" not in text and "ran away" not in text


def test_decimal_and_percent_numbers_in_prose_are_printed_above():
    """Each number with a decimal point or a percent sign in the prose appears in an output above it."""
    seen = ""
    for cell in NB.cells:
        if cell.cell_type == "code":
            seen += cell.source + "\n" + text_output(cell)
            continue
        body = re.sub(r"^#.*$", " ", prose(cell.source), flags=re.M)
        body = re.sub(r"\$[^$]*\$|`[^`]*`", " ", body)
        for number in re.findall(r"\d+\.\d+|\d+(?=\s?%)", body):
            assert re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", seen), number


# ---- the lessons, on the committed outputs (with the recordings)

def test_balance_survives_training_at_three_K():
    lines = output_of("E input ~ K^").splitlines()[-3:]
    for line in lines:
        e, i = (float(x) for x in re.findall(r"K\^([\d.]+)", line))
        assert 0.4 < e < 0.8 and 0.4 < i < 0.8, line
        low, high = (float(x) for x in re.search(r"net input ([\d.-]+) to ([\d.-]+)", line).groups())
        assert 0 < low <= high < 1.0, line


def test_most_signs_kept_and_a_larger_ridge_keeps_more():
    table = output_of("plastic pairs that also have a static synapse")
    kept = [int(x) for x in re.findall(r"(\d+)%", table.splitlines()[1] + table.splitlines()[2])]
    assert kept[0] == 100 and 50 < kept[1] < 100  # E: before, after
    tradeoff = [int(x) for x in re.findall(r"E (\d+)%", output_of("LAMBDAS = "))]
    assert tradeoff == sorted(tradeoff) and tradeoff[-1] >= 99


def test_variability_stays_near_poisson():
    rows = output_of("variability[name, g] = ").splitlines()[1:]
    assert len(rows) == 6
    for row in rows:
        assert all(0.7 < float(x) < 1.3 for x in row.split()[-3:]), row


def test_the_network_is_inhibition_stabilised_before_and_after_training():
    rows = output_of("paradoxical?").splitlines()[1:]
    assert [r.split()[0] for r in rows] == ["before", "after", "static", "theory"]
    assert all(r.split()[-1] == "yes" and float(r.split()[2]) < 0 for r in rows)


def test_selectivity_spreads_to_untrained_cells_and_silencing_removes_it():
    out = output_of('tests["trained silenced"] =')
    frac = {row.split("  ")[0].strip(): [int(x) for x in re.findall(r"(\d+)% sel", row)]
            for row in out.splitlines() if "sel." in row}
    assert frac["after"][1] > 3 * frac["before"][1] and frac["after"][2] > 3 * frac["before"][2]
    assert frac["trained silenced"][1] < frac["after"][1] / 2


def test_the_trained_network_uses_a_rate_code():
    change = float(re.search(r"jitter ([\d.]+)", output_of("largest change of the trial-averaged")).group(1))
    assert change < 0.05


@pytest.mark.parametrize("tag", ["nbval-check-output"])
def test_the_checked_output_is_committed(tag):
    checked = [c for c in CODE if tag in c.metadata.get("tags", [])]
    assert checked and all(text_output(c) for c in checked)
