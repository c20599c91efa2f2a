"""The lessons of notebook 02, checked on its committed outputs (and its shape: #24's conventions).

The student's cells hold no asserts; what the text claims about the run is checked here: learning is
visible from the first loop, the trained network follows its targets without learning, the rates
agree with the formulas, a synapse makes neuron 2 fire more, a filter keeps the mean, and a faster
synapse learns less well.
"""

from __future__ import annotations

import base64
import json
import re
import struct
from pathlib import Path

import pytest

NB = Path(__file__).resolve().parents[1] / "notebooks" / "02_spiking_network.ipynb"
CELLS = json.loads(NB.read_text())["cells"]
CODE = [c for c in CELLS if c["cell_type"] == "code"]
MARKDOWN = ["".join(c["source"]) for c in CELLS if c["cell_type"] == "markdown"]


def _text(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            out.append("".join(o["text"]))
        elif "text/plain" in o.get("data", {}):
            out.append("".join(o["data"]["text/plain"]))
    return "".join(out)


OUTPUT = "\n".join(_text(c) for c in CODE)


def _numbers(pattern: str) -> list[float]:
    m = re.search(pattern, OUTPUT, re.S)
    assert m, f"the notebook's output no longer prints {pattern!r}"
    return [float(x) for x in m.groups()]


def prose_words() -> int:
    """Words of prose: markdown without <details>, fenced code, $$...$$ and a References section."""
    n = 0
    for s in MARKDOWN:
        if s.lstrip().startswith("## References"):
            continue
        s = re.sub(r"<details>.*?</details>|```.*?```|\$\$.*?\$\$", " ", s, flags=re.S)
        n += len([w for w in s.split() if re.search(r"[A-Za-z0-9]", w)])
    return n


# ---------------------------------------------------------------------------
# lessons

def test_learning_is_visible_from_the_first_loop_and_holds_without_learning():
    line = re.search(r"score per loop: \[([^\]]*)\]", OUTPUT).group(1)
    scores = [float(x) for x in line.split()]
    assert len(scores) == 20
    assert scores[0] < 0.8, "the first loop has already solved the task: no learning curve to see"
    assert min(scores[-5:]) > 0.95
    test, lowest = _numbers(r"test trial without learning: score ([\d.]+) \(lowest neuron ([\d.]+)\)")
    assert test >= 0.9 and lowest >= 0.8


def test_rates_agree_with_the_discrete_time_formula():
    rows = re.findall(r"^\s*([\d.]+) \|\s+([\d.]+) \|\s+([\d.]+) \|\s+([\d.]+) \|\s+([\d.]+)$", OUTPUT, re.M)
    assert len(rows) == 4
    for mu, formula, euler, loop, compiled in rows:
        assert loop == euler == compiled, (mu, euler, loop, compiled)
    (worst,) = _numbers(r"largest relative difference from the continuous formula: ([\d.]+)")
    assert worst < 0.01


def test_the_synapse_makes_neuron_2_fire_more():
    _, n2, alone = _numbers(r"spikes in 1 s: neuron 1 (\d+), neuron 2 (\d+) \(without the synapse: (\d+)\)")
    assert n2 > alone


def test_a_filter_keeps_the_mean_rate():
    for tau in ("3.0", "200.0"):
        mean, rate = _numbers(rf"tau =\s+{re.escape(tau)} ms: mean of r in the window ([\d.]+) /ms; rate ([\d.]+)")
        assert mean == pytest.approx(rate, rel=0.05)


def test_training_changes_the_spike_statistics_and_a_faster_synapse_learns_less_well():
    (before,) = _numbers(r"before training\s*: median ISI CV ([\d.]+)")
    (after,) = _numbers(r"after training, test trial\s*: median ISI CV ([\d.]+)")
    assert 0.5 < before < 1.2 and after > before
    scores = {int(t): float(s) for t, s in re.findall(r"tau_s =\s*(\d+) ms: first loop [\d.]+, test score ([\d.]+)",
                                                       OUTPUT)}
    assert set(scores) == {200, 50, 20}
    assert scores[200] > scores[50] > scores[20]


# ---------------------------------------------------------------------------
# shape of the notebook (#24's conventions)

def test_header_time_markers_and_think_boxes():
    assert MARKDOWN[0].startswith("# Part 2:")
    assert "**Core path, part 2 of 3 · about 60 minutes**" in MARKDOWN[0]
    sections = [s for s in MARKDOWN if re.search(r"^## \d+\. ", s, re.M)]
    minutes = [int(re.search(r"\*Time to here: about (\d+) min\*", s).group(1)) for s in sections]
    assert len(minutes) >= 6 and minutes == sorted(minutes) and minutes[-1] <= 60
    thinks = re.findall(r"^### Think! \d+\.\d+", "\n".join(MARKDOWN), re.M)
    assert 1 <= len(thinks) <= 3


def test_prose_fits_the_budget():
    assert prose_words() <= 2500


def test_exercises_are_coding_tasks_with_stated_times():
    headings = re.findall(r"^### (Your turn|Exercise \([a-z]\)): .*\(about (\d+) min\)$", "\n".join(MARKDOWN), re.M)
    stubs = [c for c in CODE if "raises-exception" in c["metadata"].get("tags", [])]
    assert len(headings) == len(stubs) >= 3
    for c in stubs:
        last = "".join(c["source"]).strip().splitlines()[-1]
        assert re.fullmatch(r"check_\w+\(my_\w+\)", last), last


def test_no_asserts_or_test_markers_in_the_cells_and_short_printed_lines():
    for c in CODE:
        src = "".join(c["source"])
        assert not re.search(r"^\s*assert\b", src, re.M), src
        assert "NBVAL" not in src
        for o in c.get("outputs", []):
            if o.get("output_type") == "stream" and "training:" not in "".join(o["text"]):
                assert all(len(line) <= 90 for line in "".join(o["text"]).splitlines())


def test_figures_fit_a_laptop_column():
    for c in CODE:
        for o in c.get("outputs", []):
            png = o.get("data", {}).get("image/png")
            if png:
                width = struct.unpack(">I", base64.b64decode(png)[16:20])[0]
                assert width <= 8.2 * 110, f"a figure {width} px wide (more than 8 inches at 110 dpi)"


def test_the_notebook_imports_equations_from_the_core_not_the_engine():
    src = "\n".join("".join(c["source"]) for c in CODE)
    assert "tutorial_lib.engine" not in src
    assert "from tutorial_lib.core.lif import" in src
