"""How long the course takes: per notebook, the prose a student reads, the code they write, the minutes.

``python -m benchmarks.course`` prints, for every notebook in ``notebooks/``:

- words of prose (Markdown cells without solutions in ``<details>``, fenced code, display math
  ``$$...$$``, images, link targets and the References section);
- mean sentence length, and the number of sentences over 35 words (a heading, a list item or a table
  row counts as a sentence of its own);
- lines of code the student writes (per exercise stub: the solution's code lines that the stub does
  not already hold; blank lines and comments aside);
- the exercises' stated minutes (headings "### Exercise ... (about N min)" or "### Your turn ... (about N min)");
- Run All seconds: from the per-cell timing that ``jupyter nbconvert --execute`` stores in the committed
  notebook, or measured now with ``--run`` (executes a copy with nbclient);
- minutes estimated: reading at 150 words a minute, plus Run All, plus the exercises' stated minutes.

The last lines sum the core path (notebooks whose header says "Core path"). ``--json PATH`` also writes
the figures as JSON. tests/test_notebook_text.py holds the notebooks to the budgets of issue #24.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
READING_WPM = 150
LONG_SENTENCE = 35
EXERCISE_HEADING = re.compile(r"^#{2,4}\s*(Exercise|Your turn)\b.*?\(about (\d+) min\)", re.M)
TIME_TO_HERE = re.compile(r"\*Time to here: about (\d+) min\*")
SOLUTION = re.compile(r"<details>.*?```python\n(.*?)```", re.S)


@dataclass
class Course:
    """The figures of one notebook (see the module's docstring)."""

    notebook: str
    core: bool
    words: int
    sentences: int
    mean_sentence: float
    long_sentences: int
    exercises: int
    student_lines: int
    exercise_minutes: int
    run_all_s: float | None
    minutes: float
    time_markers: list


def prose(markdown: str) -> str:
    """The prose of one Markdown cell: what a student reads, without solutions, code, display math or references."""
    text = re.sub(r"<details>.*?</details>", " ", markdown, flags=re.S)
    text = re.split(r"^#{1,3}\s*References\b", text, flags=re.M)[0]
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)           # images
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)         # links: keep the words
    text = re.sub(r"<[^>]+>", " ", text)                          # HTML tags
    return text


def _words(text: str) -> list[str]:
    return [w for w in text.split() if re.search(r"[\w$]", w)]


def sentences(text: str) -> list[list[str]]:
    """Sentences as lists of words: split at . ! ? (before a space and a capital or a line end) and at lines
    that start a heading, a list item or a table row."""
    out = []
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:#|[-*+] |\d+\. |\|))", text):
        for sentence in re.split(r"(?<=[.!?])[*_)]*\s+(?=[A-Z$*(\"'`])|(?<=[.!?])\s*$", block.strip()):
            words = _words(sentence)
            if words:
                out.append(words)
    return out


def _code_lines(source: str) -> list[str]:
    return [ln.strip() for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def student_lines(cells: list[dict]) -> tuple[int, int]:
    """(number of exercise stubs, lines of code the student writes in them)."""
    n = lines = 0
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code" or "raises-exception" not in cell.get("metadata", {}).get("tags", []):
            continue
        after = [c for c in cells[i + 1:] if c["cell_type"] == "markdown" and "<details>" in _src(c)]
        match = SOLUTION.search(_src(after[0])) if after else None
        if not match:
            continue
        n += 1
        given = Counter(_code_lines(_src(cell)))
        lines += sum((Counter(_code_lines(match.group(1))) - given).values())
    return n, lines


def run_all_seconds(cells: list[dict]) -> float | None:
    """Run All seconds from the timing nbconvert stores per cell (None when a code cell has none)."""
    total = 0.0
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        ex = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" not in ex or "shell.execute_reply" not in ex:
            return None
        start, end = (datetime.fromisoformat(ex[k].replace("Z", "+00:00"))
                      for k in ("iopub.execute_input", "shell.execute_reply"))
        total += (end - start).total_seconds()
    return total


def _src(cell: dict) -> str:
    s = cell["source"]
    return s if isinstance(s, str) else "".join(s)


def measure(path: Path, run: bool = False) -> Course:
    """The figures of the notebook at ``path``; ``run``: execute a copy now for Run All seconds."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = nb["cells"]
    markdown = [_src(c) for c in cells if c["cell_type"] == "markdown"]
    text = "\n\n".join(prose(m) for m in markdown)
    sents = sentences(text)
    words = len(_words(text))
    n_ex, lines = student_lines(cells)
    minutes_ex = sum(int(m.group(2)) for md in markdown for m in EXERCISE_HEADING.finditer(md))
    seconds = _execute(path) if run else run_all_seconds(cells)
    header = next(iter(markdown), "")
    return Course(
        notebook=Path(path).name, core="core path, part" in header.lower(), words=words, sentences=len(sents),
        mean_sentence=round(words / max(len(sents), 1), 1),
        long_sentences=sum(len(s) > LONG_SENTENCE for s in sents), exercises=n_ex, student_lines=lines,
        exercise_minutes=minutes_ex, run_all_s=None if seconds is None else round(seconds, 1),
        minutes=round(words / READING_WPM + (seconds or 0.0) / 60 + minutes_ex, 1),
        time_markers=[int(m.group(1)) for md in markdown for m in TIME_TO_HERE.finditer(md)])


def _execute(path: Path) -> float:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=1800, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(Path(path).parent)}})
    client.km = client.kernel_manager_class(kernel_name="python3")
    client.km.kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def table(rows: list[Course]) -> str:
    """The figures as a text table, with the core path summed at the end."""
    head = (f"{'notebook':28s}{'words':>6s}{'mean':>6s}{'>35':>5s}{'ex.':>4s}{'lines':>6s}{'ex.min':>7s}"
            f"{'RunAll s':>9s}{'min':>6s}")
    out = [head, "-" * len(head)]
    for r in rows:
        run = "-" if r.run_all_s is None else f"{r.run_all_s:.0f}"
        out.append(f"{r.notebook[:27]:28s}{r.words:6d}{r.mean_sentence:6.1f}{r.long_sentences:5d}{r.exercises:4d}"
                   f"{r.student_lines:6d}{r.exercise_minutes:7d}{run:>9s}{r.minutes:6.0f}"
                   + ("" if r.core else "  (extension)"))
    core = [r for r in rows if r.core]
    if core:
        reading = sum(r.words for r in core) / READING_WPM
        out.append(f"core path ({len(core)} notebooks): reading {reading:.0f} min, "
                   f"estimated {sum(r.minutes for r in core):.0f} min in all")
    out.append(f"(reading at {READING_WPM} words/min; 'mean' and '>35': words per sentence; "
               "'lines': code the student writes)")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.course", description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook in notebooks/")
    ap.add_argument("--run", action="store_true", help="execute each notebook now for Run All seconds")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    rows = [measure(p, run=args.run) for p in paths]
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
