"""Docstrings read as written: no control characters, LaTeX only in raw strings.

In a plain string ``"\\frac"`` becomes a form feed and ``"\\top"`` a tab, so a
derivation silently loses its symbols. This checks every string literal of the
library, benchmarks and tests, not only the docstrings that exist today.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for d in ("tutorial_lib", "benchmarks", "tests", "figures") for p in (ROOT / d).rglob("*.py"))
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")  # anything but tab-free text, newlines allowed


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_control_characters_in_source(path):
    text = path.read_text(encoding="utf-8")
    bad = [(i + 1, repr(m.group())) for i, line in enumerate(text.splitlines()) for m in CONTROL.finditer(line)]
    assert not bad, f"{path.name}: control characters at (line, char) {bad}"
    assert "\t" not in text, f"{path.name}: a tab character (a '\\t' meant as LaTeX's \\top?)"


def _docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                yield body[0].value


@pytest.mark.parametrize("path", [p for p in SOURCES if "tutorial_lib" in p.parts],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_docstrings_with_backslashes_are_raw(path):
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    bad = []
    for const in _docstrings(ast.parse(text)):
        start = lines[const.lineno - 1][const.col_offset:]
        if "\\" in const.value and not start[:1].lower() == "r":
            bad.append(const.lineno)
    assert not bad, f"{path.name}: docstrings with backslashes that are not raw strings, at lines {bad}"
