"""The exercises of a notebook, read one way for every test that runs them.

An exercise is a code cell tagged ``raises-exception`` (the stub the student fills in); its solution is
the first ```python block of the next markdown cell with a ``<details>`` block, and the text after
"Expected output:" in that cell is what the solution prints. The test files of each part
(tests/test_exercises_part*.py) and tests/test_notebook_solutions.py read them through
:func:`exercises` and :func:`solved`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

SOLUTION = re.compile(r"<details>.*?```python\n(.*?)```", re.S)
EXPECTED = re.compile(r"Expected output:\s*```\n(.*?)\n?```", re.S)
DEF = re.compile(r"^def (\w+)\(", re.M)


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``cell`` the stub's index, ``stub`` its source, ``solution`` the solution's code,
    ``expected`` the expected output (stripped; None if the cell gives none), ``name`` the function the
    stub defines (None if it defines none), ``check`` the function its last line calls."""

    cell: int
    stub: str
    solution: str
    expected: str | None
    name: str | None
    check: str

    def definitions(self) -> str:
        """The solution without its last line (the check call): what defines the student's functions."""
        return self.solution.rstrip().rsplit("\n", 1)[0]


def _solution_cell(nb, i: int):
    following = [c for c in nb.cells[i + 1:] if c.cell_type == "markdown" and "<details>" in c.source]
    assert following, f"cell {i}: an exercise stub without a <details> solution after it"
    return following[0]


def exercises(notebook) -> list[Exercise]:
    """Every exercise of ``notebook`` (a path or a notebook node), in order. Fails (AssertionError) on a
    stub without a solution block."""
    nb = nbformat.read(str(notebook), as_version=4) if isinstance(notebook, (str, Path)) else notebook
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "raises-exception" not in cell.metadata.get("tags", []):
            continue
        md = _solution_cell(nb, i).source
        match = SOLUTION.search(md)
        assert match, f"cell {i}: the solution block has no ```python code"
        code = match.group(1)
        expected = EXPECTED.search(md[match.end():])
        name = DEF.search(cell.source) or DEF.search(code)
        check = code.strip().splitlines()[-1].split("(")[0].strip()
        found.append(Exercise(i, cell.source, code, expected.group(1).strip() if expected else None,
                              name.group(1) if name else None, check))
    return found


def solved(nb):
    """A copy of the notebook node ``nb`` in which every stub holds its solution (its tag removed), and
    the number of stubs replaced."""
    nb = nbformat.from_dict(nb)
    found = exercises(nb)
    for ex in found:
        cell = nb.cells[ex.cell]
        cell.source = ex.solution
        cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != "raises-exception"]
    return nb, len(found)
