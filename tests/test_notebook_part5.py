"""Notebook 05 as committed (run with the recordings): its shape, its prose and the lessons its outputs show.

The lessons are checked here, on the committed outputs, not by asserts in the student's cells.
"""

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05_attractors.ipynb"
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
    src = re.split(r"^## References", src, flags=re.MULTILINE)[0]
    src = re.sub(r"<details>.*?</details>", " ", src, flags=re.DOTALL)
    src = re.sub(r"```.*?```", " ", src, flags=re.DOTALL)
    return re.sub(r"\$\$.*?\$\$", " ", src, flags=re.DOTALL)


def words(text: str) -> list:
    return [w for w in text.split() if re.search(r"[A-Za-z0-9]", w)]


def table(marker: str, prefix: str = "") -> list:
    """Rows (start, length, strength, trials, switched, low, high) of a print_table output."""
    rows = []
    for line in output_of(marker).splitlines():
        m = re.fullmatch(r"\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+([\d.]+)\s+\[([\d.]+), ([\d.]+)\]", line)
        if m:
            rows.append(tuple(float(x) for x in m.groups()))
    assert rows, f"no table rows in the output of {marker!r}"
    return rows


# ---- shape

def test_header_marks_part_5_as_an_extension_with_a_time():
    assert NB.cells[1].source.startswith("# Part 5: Does the trained network hold its choice?")
    line = r"^\*\*Extension \(after the core path\) · about \d+ minutes\*\*$"
    assert re.search(line, NB.cells[1].source, re.MULTILINE)


def test_the_colab_cell_is_notebook_04s():
    nb04 = nbformat.read(NOTEBOOK.parent / "04_trained_network.ipynb", as_version=4)
    assert NB.cells[0].source == nb04.cells[0].source
    assert NB.cells[0].metadata["tags"] == nb04.cells[0].metadata["tags"]


def test_eight_numbered_sections_with_increasing_times_then_summary_and_references():
    times, numbers = [], []
    for cell in MARKDOWN:
        match = re.search(r"^## (\d+)\. .*\n\*Time to here: about (\d+) min\*", cell.source, re.MULTILINE)
        if re.search(r"^## \d+\. ", cell.source, re.MULTILINE):
            assert match, f"no time marker under {cell.source.splitlines()[:3]}"
            numbers.append(int(match.group(1)))
            times.append(int(match.group(2)))
    assert numbers == list(range(1, 9)) and times == sorted(times)
    total = int(re.search(r"about (\d+) minutes", NB.cells[1].source).group(1))
    assert times[-1] < total
    assert MARKDOWN[-2].source.lstrip("-\n ").startswith("## Summary")
    assert MARKDOWN[-1].source.startswith("## References")
    for doi in ("10.1038/s41586-019-0919-7", "10.1038/s41593-021-00840-6", "10.1038/s41467-023-38529-y",
                "10.1162/NECO_a_00409"):
        assert doi in MARKDOWN[-1].source


def test_prose_is_at_most_2500_words_with_at_most_three_think_boxes():
    text = " ".join(prose(c.source) for c in MARKDOWN)
    assert len(words(text)) <= 2500
    thinks = re.findall(r"^### Think! [\d.]+\n", "\n".join(c.source for c in MARKDOWN), re.MULTILINE)
    assert 1 <= len(thinks) <= 3


def test_no_asserts_or_nbval_comments_in_cells_and_stubs_are_tagged():
    for cell in CODE:
        assert not re.search(r"^\s*assert\b", cell.source, re.MULTILINE)
        assert "NBVAL" not in cell.source
        if "NotImplementedError(" in cell.source:
            assert "raises-exception" in cell.metadata.get("tags", [])


def test_printed_lines_fit_a_laptop_column():
    long = [line for c in CODE for line in text_output(c).splitlines() if len(line) > 90]
    assert not long, long


def test_figures_are_at_most_8_inches_wide_and_legends_sit_off_the_data():
    for cell in CODE:
        for match in re.finditer(r"figsize=\(([\d.]+)", cell.source):
            assert float(match.group(1)) <= 8
        for call in re.findall(r"\.legend\(.*?\)\n", cell.source, re.DOTALL):
            assert "bbox_to_anchor" in call or "outside" in call, call


def test_every_figure_of_the_trained_network_names_its_data():
    plots = [c for c in CODE if "plt.show()" in c.source and "two_attractor" not in c.source
             and "trajectory(" not in c.source and "rate_attractors." not in c.source]
    assert len(plots) >= 6
    assert all("{DATA}" in c.source for c in plots)


def test_decimal_and_percent_numbers_in_prose_are_printed_above():
    """Each number with a decimal point or a percent sign in the prose appears in an output above it."""
    seen = ""
    for cell in NB.cells:
        if cell.cell_type == "code":
            seen += cell.source + "\n" + text_output(cell)
            continue
        body = re.sub(r"^#.*$", " ", prose(cell.source), flags=re.MULTILINE)
        body = re.sub(r"\$[^$]*\$|`[^`]*`", " ", body)
        for number in re.findall(r"\d+\.\d+|\d+(?=\s?%)", body):
            assert re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", seen), number


def test_the_run_used_the_recordings():
    assert "ALM recordings" in output_of("alm = load_alm(")


# ---- the lessons, on the committed outputs (with the recordings)

def test_the_choice_mode_reads_out_held_out_trials_well_above_chance():
    out = output_of("readout = attractors.fit_choice(")
    accuracy = float(re.search(r"read out correctly: ([\d.]+)", out).group(1))
    assert accuracy >= 0.75


def test_each_experiment_table_is_complete_with_intervals_around_the_fractions():
    for marker, n_rows in (("photo = attractors.photoinhibition(", 4), ("distract = attractors.distractors(", 3),
                           ("kick = attractors.kicks(", 8)):
        rows = table(marker)
        assert len(rows) == n_rows, marker
        for *_, trials, switched, low, high in rows:
            assert trials == 12 and 0 <= low <= switched <= high <= 1, (marker, rows)


def test_no_gating_late_distractors_switch_at_least_as_often_as_early_ones():
    """The text says: no gating, late distractors switch at least as often as early ones."""
    switched = [row[4] for row in table("distract = attractors.distractors(")]
    assert switched[-1] >= switched[0]


def test_larger_kicks_switch_more_and_the_separatrix_comes_closer_late_in_the_delay():
    rows = table("kick = attractors.kicks(")
    for start in {r[0] for r in rows}:
        by_amp = sorted((r[2], r[4]) for r in rows if r[0] == start)
        assert by_amp[-1][1] > by_amp[0][1], by_amp
    a50 = {int(s): float(a) for s, a in re.findall(r"kick at (\d+) ms: A50 = ([\d.]+)",
                                                     output_of("fits = kick.thresholds()"))}
    assert a50[2200] < a50[1200]


def test_without_condition_input_the_choice_is_weaker_and_far_easier_to_switch():
    """The text says: the control reads out fewer trials correctly, its conditions end closer together, and
    kicks switch it far more easily (A50 intervals that do not overlap)."""
    control = float(re.search(r"control: held-out trials read out correctly ([\d.]+)",
                              output_of("control = balanced.train(")).group(1))
    trained = float(re.search(r"read out correctly: ([\d.]+)", output_of("readout = attractors.fit_choice(")).group(1))
    assert control < trained
    out = output_of("fit_c = kick_c.thresholds()")
    pattern = r"(trained|control): mean projection .*?lick right ([\d.-]+) Hz, lick left ([\d.-]+)"
    gap = {m[0]: abs(float(m[1]) - float(m[2])) for m in re.findall(pattern, out)}
    assert gap["control"] < 0.6 * gap["trained"]
    fit = re.search(r"trained ([\d.]+) \[([\d.]+), ([\d.]+)\], control ([\d.]+) \[([\d.]+), ([\d.]+)\]", out)
    a50_t, low_t, _, a50_c, _, high_c = (float(x) for x in fit.groups())
    assert a50_c < a50_t and high_c < low_t


def test_the_finder_finds_two_attractors_and_a_saddle():
    out = output_of("found = core_fp.find_fixed_points(")
    kinds = re.findall(r"\)\s+(stable|saddle|unstable)\s", out)
    assert sorted(kinds) == ["saddle", "stable", "stable"]
    assert "along the choice axis: 3.54" in out


def test_the_trained_rate_network_has_two_attractors_and_a_saddle_where_the_kicks_find_the_separatrix():
    """Section 7 says: two attractors (at s = +-1) and one saddle with one unstable direction; the saddle and
    the crossing of its stable plane lie inside the kicks' 95% interval for the separatrix."""
    out = output_of("fp = rate_attractors.delay_fixed_points(")
    rows = re.findall(r"^(stable|saddle|unstable)\s+([+-][\d.]+)\s+(\d+)\s+([+-][\d.]+)$", out, re.MULTILINE)
    assert sorted(r[0] for r in rows) == ["saddle", "stable", "stable"], rows
    stable = sorted(float(r[1]) for r in rows if r[0] == "stable")
    assert stable == [-1.0, 1.0]
    (saddle,) = [r for r in rows if r[0] == "saddle"]
    assert int(saddle[2]) == 1 and float(saddle[3]) > 0
    assert all(int(r[2]) == 0 and float(r[3]) < 0 for r in rows if r[0] == "stable")
    cross = float(re.search(r"stable plane crosses .* at s = ([+-][\d.]+)", out).group(1))
    kicks = output_of("rkick = rate_attractors.kick_separatrix(")
    a50, low, high = (float(x) for x in re.search(
        r"from s = ([+-][\d.]+) \(95% interval ([+-][\d.]+) to ([+-][\d.]+)\)", kicks).groups())
    assert low <= a50 <= high
    assert low <= float(saddle[1]) <= high and low <= cross <= high
    assert "[1, 1, 1], b [-1, -1, -1]" in out            # "reads out every held-out trial correctly"


def held_out_medians() -> dict:
    out = output_of("held = held_out.held_out_r2(")
    medians = {}
    for value, name in re.findall(r"^\s+([+-]?[\d.]+)\s+(trained network, conditions swapped|"
                                  r"untrained network|trained network)", out, re.MULTILINE):
        medians[name] = float(value)
    return medians


def test_held_out_neurons_are_predicted_by_the_trained_network_not_by_the_untrained_one():
    """Section 8 says: the trained network predicts the held-out neurons, the untrained one does not."""
    m = held_out_medians()
    assert m["untrained network"] < 0.1 < m["trained network"] - 0.2, m
    out = output_of("held = held_out.held_out_r2(")
    assert "50 neurons trained (30 loops" in out and "50 held out" in out   # lecture scale, as the text says
    assert "from 10 test trials" in out


def test_the_condition_swapped_control_beats_the_model_and_the_condition_difference_dominates():
    """Section 8's honest reading: the shuffled control scores higher than the model, and the condition
    difference is most of the held-out variance."""
    m = held_out_medians()
    assert m["trained network, conditions swapped"] > m["trained network"], m
    out = output_of("held = held_out.held_out_r2(")
    share = float(re.search(r"condition difference: ([\d.]+)", out).group(1))
    assert 0.5 < share <= 1.0


def test_summary_ties_each_new_finding_to_a_printed_number():
    summary = [c for c in MARKDOWN if "## Summary" in c.source][0].source
    rate = output_of("fp = rate_attractors.delay_fixed_points(") + output_of("rkick = rate_attractors.kick_separatrix(")
    held = output_of("held = held_out.held_out_r2(")
    for line, printed in (("Fixed points", rate), ("Held-out neurons", held)):
        bullet = next(b for b in summary.split("\n- ") if b.startswith(f"**{line}"))
        numbers = re.findall(r"-?\d+\.\d+", re.sub(r"\$[^$]*\$", " ", bullet))
        assert len(numbers) >= 2, bullet
        assert all(n in printed for n in numbers), (numbers, printed)


@pytest.mark.parametrize("tag", ["raises-exception"])
def test_three_stubs_are_tagged_and_show_not_written_yet(tag):
    stubs = [c for c in CODE if tag in c.metadata.get("tags", [])]
    assert len(stubs) == 3
    for cell in stubs:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert errors and "not written yet" in errors[0].evalue
