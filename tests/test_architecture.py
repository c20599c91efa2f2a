"""The shape of the package (issue 23, README "What is where") as tests: import contracts and size rules.

1. ``lint-imports`` passes: the contracts in pyproject.toml ``[tool.importlinter]`` (the layers
   faces > parts > models > inputs > engine > core > base, every module in a layer; no import cycle
   between the modules of any package). Imports that today's tree still has against them are listed
   there as ``ignore_imports``, each with a "debt #23" comment.
2. The contracts can fail: a back-import injected into a copy of the package breaks the contract named,
   and so does a debt line left in the contracts after its import is gone.
3. Scans of the source (``ast``, nothing imported or compiled):
   (a) no import inside a function, except the optional heavy dependencies (:data:`HEAVY`), and those
       only when the module names them in its header (docstring or comments above the first import);
   (b) no private name (``_x``) imported from, or read as an attribute of, another module of the package;
   (c) no module over 600 lines;
   (d) no function over 60 lines (def line to last line, docstring included), except numba kernels
       (``@njit``/``@jit``) with a one-line comment directly above the decorator saying why;
   (e) no ``fastmath=`` anywhere.
4. The teaching core (``tutorial_lib/core``) stays within 2,500 lines (printed: ``pytest -s``),
   imports only NumPy, SciPy, plain standard modules and the base layer, opens no files, and gives
   each public function a raw docstring with an example; each public compiled kernel of the engine
   (``tutorial_lib/engine``) names its core twin and its test. (Skipped while they do not exist.)

Known violations of today's tree are listed in ``tests/architecture_debt.txt``, one per line, keyed
by module and function (never by line number, so a move inside a file does not matter). A finding not
listed fails ("new violation"); a listed entry that no longer occurs fails too ("debt paid: delete
the line"), so the file always tells the truth. After paying debt, or to see the list afresh::

    python tests/test_architecture.py --write-debt     # rewrites the file from the tree; review the diff
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tutorial_lib"
DEBT_FILE = Path(__file__).with_name("architecture_debt.txt")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60
CORE_BUDGET = 2500
# optional or heavy dependencies: the only imports allowed inside a function, each listed in a
# comment at the top of its module. pandas (about a second) stays out of the CLI's start; pyarrow (Parquet
# tables) and nbformat (lecture pages, the lab extra) are optional.
HEAVY = {"pynwb", "dask", "distributed", "brian2", "joblib", "ipywidgets", "IPython", "matplotlib", "pandas",
         "pyarrow", "nbformat"}
KERNEL_DECORATORS = {"njit", "jit"}
# what the core may import besides itself and the base layer: numerics, no threads, no files
CORE_EXTERNAL = {"__future__", "math", "cmath", "dataclasses", "typing", "collections", "functools",
                 "itertools", "numbers", "operator", "enum", "abc", "types", "warnings", "numpy", "scipy"}
BASE = {"tutorial_lib.checks", "tutorial_lib.errors", "tutorial_lib.interrupts"}
KINDS = ("inner-import", "heavy-import-unlisted", "private-import", "long-module", "long-function", "fastmath")


# ---------------------------------------------------------------------------------------------
# the scans


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(root: Path = PACKAGE) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def resolve_from(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    """The absolute module of ``from ... import`` in module ``name``."""
    if not node.level:
        return node.module or ""
    base = name.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def is_private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def is_kernel(fn: ast.FunctionDef) -> bool:
    for dec in fn.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        if (isinstance(target, ast.Name) and target.id in KERNEL_DECORATORS) or (
                isinstance(target, ast.Attribute) and target.attr in KERNEL_DECORATORS):
            return True
    return False


def header(text: str, tree: ast.Module) -> str:
    """The module's header: everything above its first import (the docstring and the comments)."""
    first = min((n.lineno for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))), default=None)
    lines = text.splitlines()
    return "\n".join(lines if first is None else lines[: first - 1])


class Scanner(ast.NodeVisitor):
    """Collect the findings of one module as strings ``KIND MODULE[:FUNCTION] DETAIL``."""

    def __init__(self, name: str, path: Path, modules: set[str]):
        self.name, self.modules = name, modules
        self.is_package = path.name == "__init__.py"
        self.text = path.read_text(encoding="utf-8")
        self.lines = self.text.splitlines()
        self.tree = ast.parse(self.text, filename=str(path))
        self.head = header(self.text, self.tree)
        self.stack: list[str] = []
        self.functions = 0  # depth of function nesting
        self.module_aliases: dict[str, str] = {}  # local name -> a module of the package
        self.findings: set[str] = set()

    def run(self) -> set[str]:
        if len(self.lines) > MAX_MODULE_LINES:
            self.findings.add(f"long-module {self.name}")
        self.visit(self.tree)
        return self.findings

    def where(self) -> str:
        return f"{self.name}:{'.'.join(self.stack)}" if self.stack else self.name

    def add(self, kind: str, detail: str = "", at_function: bool = True) -> None:
        place = self.where() if at_function else self.name
        self.findings.add(f"{kind} {place} {detail}".strip())

    # scopes
    def visit_ClassDef(self, node):
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    def visit_FunctionDef(self, node):
        self.stack.append(node.name)
        length = node.end_lineno - node.lineno + 1
        if length > MAX_FUNCTION_LINES:
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            reason = first >= 2 and self.lines[first - 2].strip().startswith("#")
            if not (is_kernel(node) and reason):
                self.add("long-function")
        self.functions += 1
        self.generic_visit(node)
        self.functions -= 1
        self.stack.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    # imports
    def imported(self, node) -> list[tuple[str, str | None]]:
        """(module, imported name or None) for each name an import statement binds."""
        if isinstance(node, ast.Import):
            return [(a.name, None) for a in node.names]
        base = resolve_from(node, self.name, self.is_package)
        return [(base, a.name) for a in node.names]

    def visit_Import(self, node):
        self.check_import(node)

    def visit_ImportFrom(self, node):
        self.check_import(node)

    def check_import(self, node) -> None:
        for module, name in self.imported(node):
            full = f"{module}.{name}" if name and f"{module}.{name}" in self.modules else module
            ours = module.split(".")[0] == "tutorial_lib"
            if ours and full in self.modules:  # remember the module aliases (for `module._private`)
                alias = next(a for a in node.names if (a.name == name if name else True))
                local = alias.asname or (name if name else alias.name.split(".")[0])
                if name or alias.asname:
                    self.module_aliases[local] = full
            if ours and full != self.name:
                parts = full.split(".") + ([name] if name and full == module else [])
                if any(is_private(p) for p in parts):
                    self.add("private-import", ".".join(parts), at_function=False)
            if self.functions:
                top = full.split(".")[0]
                if top in HEAVY:
                    if not re.search(rf"\b{re.escape(top)}\b", self.head):
                        self.add("heavy-import-unlisted", top, at_function=False)
                else:
                    self.add("inner-import", full)

    def visit_Attribute(self, node):
        if isinstance(node.value, ast.Name) and node.value.id in self.module_aliases and is_private(node.attr):
            self.add("private-import", f"{self.module_aliases[node.value.id]}.{node.attr}", at_function=False)
        self.generic_visit(node)

    # fastmath
    def visit_keyword(self, node):
        if node.arg == "fastmath":
            self.add("fastmath")
        self.generic_visit(node)

    def visit_Dict(self, node):
        if any(isinstance(k, ast.Constant) and k.value == "fastmath" for k in node.keys):
            self.add("fastmath")
        self.generic_visit(node)


def scan(root: Path = PACKAGE) -> set[str]:
    """Every finding of the package under ``root``."""
    files = source_files(root)
    modules = {module_name(p, root) for p in files}
    found: set[str] = set()
    for path in files:
        found |= Scanner(module_name(path, root), path, modules).run()
    return found


def read_debt(path: Path = DEBT_FILE) -> set[str]:
    if not path.exists():
        return set()
    lines = (ln.split("#", 1)[0].strip() for ln in path.read_text(encoding="utf-8").splitlines())
    return {" ".join(ln.split()) for ln in lines if ln}


DEBT_HEADER = """\
# Known violations of the architecture rules of issue 23 in today's tree (tests/test_architecture.py).
# One per line: KIND MODULE[:FUNCTION] DETAIL. A finding not listed here fails the test ("new violation");
# a line here that no longer occurs fails it too ("debt paid: delete the line"). Pay debt, do not add it.
# Regenerate: python tests/test_architecture.py --write-debt (then review the diff).
#   inner-import           an import inside a function (DETAIL: the module imported)
#   heavy-import-unlisted  an optional heavy dependency imported in a function but not named in the header
#   private-import         a private name (_x) of another module of the package, imported or read
#   long-module            a module over 600 lines
#   long-function          a function over 60 lines (a numba kernel is exempt with a reason comment above it)
#   fastmath               a fastmath= option
"""


def write_debt(path: Path = DEBT_FILE) -> int:
    found = scan()
    out = [DEBT_HEADER]
    for kind in KINDS:
        entries = sorted(f for f in found if f.split()[0] == kind)
        if entries:
            out.append(f"\n# {kind}: {len(entries)}\n" + "".join(e + "\n" for e in entries))
    path.write_text("".join(out), encoding="utf-8")
    return len(found)


# ---------------------------------------------------------------------------------------------
# 1-2: import-linter


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.fail(f"{exe} not found: import-linter is in the test extra (pip install -e '.[test]')")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(exe), "--no-cache", "--no-logo", str(root / "pyproject.toml")], cwd=root,
                          env=env, capture_output=True, text=True, timeout=300)


def test_import_contracts_are_kept():
    """The layers and no-cycle contracts hold on the tree (known debt is ignored by name in pyproject)."""
    run = lint_imports(ROOT)
    assert run.returncode == 0, f"lint-imports failed:\n{run.stdout}\n{run.stderr}"
    assert "0 broken" in run.stdout


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "tutorial_lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path / "tutorial_lib"


def _inject(package: Path, module: str, line: str) -> None:
    """Add an import line to ``module`` (a path relative to the package), making it if missing."""
    path = package / module
    if path.name == "__init__.py":
        path.parent.mkdir(exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else '"""Injected by a test."""\n'
    path.write_text(text + f"\n{line}\n", encoding="utf-8")


BREAKS = {
    # name: (what to inject, the contract that must fail, a phrase of the report)
    "core imports engine": (
        [("engine/__init__.py", ""), ("core/__init__.py", "from .. import engine")],
        "Layers of issue 23", "tutorial_lib.core -> tutorial_lib.engine"),
    "engine imports a model": (
        [("engine/__init__.py", "from .. import rate")],
        "Layers of issue 23", "tutorial_lib.engine -> tutorial_lib.rate"),
    "base imports params": (
        [("checks.py", "from . import params")],
        "Layers of issue 23", "tutorial_lib.checks -> tutorial_lib.params"),
    "a cycle in balanced": (
        [("balanced/advice.py", "from . import trials")],
        "No import cycles", "tutorial_lib.balanced"),
    "a module in no layer": (
        [("stray.py", "")],
        "Layers of issue 23", "tutorial_lib.stray"),
}


@pytest.mark.parametrize("case", list(BREAKS))
def test_an_injected_violation_breaks_its_contract(tmp_path, case):
    """A back-import (or a cycle, or a module outside the layers) in a copy of the package is caught."""
    injections, contract, phrase = BREAKS[case]
    package = _copy(tmp_path)
    for module, line in injections:
        _inject(package, module, line)
    run = lint_imports(tmp_path)
    report = run.stdout + run.stderr
    assert run.returncode != 0, f"lint-imports missed {case}:\n{report}"
    assert f"{contract}" in report and "BROKEN" in report, report
    assert phrase in report, f"the report does not name {phrase!r}:\n{report}"


def test_a_paid_debt_left_in_the_contracts_fails(tmp_path):
    """An ignore_imports line whose import is gone breaks the check: the contracts list only real debt."""
    _copy(tmp_path)
    config = tmp_path / "pyproject.toml"
    text = config.read_text(encoding="utf-8")
    if "ignore_imports = [" not in text:
        pytest.skip("no contract lists debt any more")
    stale = 'ignore_imports = [\n    "tutorial_lib.checks -> tutorial_lib.cli",  # an import that does not exist'
    config.write_text(text.replace("ignore_imports = [", stale, 1), encoding="utf-8")
    run = lint_imports(tmp_path)
    assert run.returncode != 0 and "No matches for ignored import" in run.stdout + run.stderr, run.stdout


# ---------------------------------------------------------------------------------------------
# 3: the scans against the debt file


@pytest.fixture(scope="module")
def findings() -> set[str]:
    return scan()


@pytest.mark.parametrize("kind", KINDS)
def test_no_new_violation_and_no_stale_debt(findings, kind):
    found = {f for f in findings if f.split()[0] == kind}
    debt = {d for d in read_debt() if d.split()[0] == kind}
    new, paid = sorted(found - debt), sorted(debt - found)
    msg = []
    if new:
        msg.append(f"new violation ({kind}), fix it (see tests/test_architecture.py for the rule):\n  "
                   + "\n  ".join(new))
    if paid:
        msg.append(f"debt paid: delete the line from {DEBT_FILE.name}:\n  " + "\n  ".join(paid))
    assert not msg, "\n".join(msg)


def test_debt_file_has_known_kinds_only():
    bad = sorted(d for d in read_debt() if d.split()[0] not in KINDS)
    assert not bad, f"unknown kinds in {DEBT_FILE.name}: {bad}"


SAMPLE = '''\
"""A module that names ipywidgets in its header."""
import numpy as np
from numba import njit
from .other import _hidden, shown
from . import other


def long_one():
''' + "    x = 1\n" * 60 + '''

# compiled: a kernel, long because the loop is unrolled by hand
@njit(cache=True)
def kernel():
''' + "    x = 1\n" * 60 + '''

@njit(cache=True, fastmath=True)
def kernel_without_reason():
''' + "    x = 1\n" * 60 + '''

def lazy():
    import ipywidgets
    import pynwb
    from .other import shown
    return other._secret, other.public


class Box:
    def method(self):
        import json
'''


def test_the_scans_find_what_they_should(tmp_path):
    """Each scan on a small module written for it (a check that the rules are read as meant)."""
    pkg = tmp_path / "tutorial_lib"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "other.py").write_text("_hidden = _secret = shown = public = 1\n")
    (pkg / "sample.py").write_text(SAMPLE)
    found = scan(pkg)
    assert found == {
        "private-import tutorial_lib.sample tutorial_lib.other._hidden",
        "private-import tutorial_lib.sample tutorial_lib.other._secret",
        "long-function tutorial_lib.sample:long_one",
        "long-function tutorial_lib.sample:kernel_without_reason",
        "fastmath tutorial_lib.sample:kernel_without_reason",
        "heavy-import-unlisted tutorial_lib.sample pynwb",
        "inner-import tutorial_lib.sample:lazy tutorial_lib.other",
        "inner-import tutorial_lib.sample:Box.method json",
    }, sorted(found)


# ---------------------------------------------------------------------------------------------
# 4: the teaching core


CORE = PACKAGE / "core"


@pytest.mark.skipif(not CORE.is_dir(), reason="tutorial_lib/core does not exist yet")
def test_core_line_count_within_budget():
    counts = {str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines())
              for p in source_files(CORE)}
    total = sum(counts.values())
    table = "\n".join(f"  {name:<40} {n:>5}" for name, n in sorted(counts.items()))
    print(f"\ntutorial_lib/core: {total} lines (budget {CORE_BUDGET})\n{table}")
    assert total <= CORE_BUDGET, f"tutorial_lib/core has {total} lines, over the budget of {CORE_BUDGET}:\n{table}"


@pytest.mark.skipif(not CORE.is_dir(), reason="tutorial_lib/core does not exist yet")
def test_core_is_plain_numpy_and_scipy():
    """The core imports NumPy, SciPy, plain standard modules and the base layer only; it opens no file."""
    bad = []
    modules = {module_name(p) for p in source_files()}
    for path in source_files(CORE):
        name = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                else:
                    base = resolve_from(node, name, path.name == "__init__.py")
                    mods = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
                for mod in mods:
                    ok = (mod.split(".")[0] in CORE_EXTERNAL or mod in BASE
                          or mod == "tutorial_lib.core" or mod.startswith("tutorial_lib.core."))
                    if not ok:
                        bad.append(f"{name} imports {mod}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open":
                bad.append(f"{name} opens a file (line {node.lineno})")
    assert not bad, "\n".join(bad)


def _documented(path: Path):
    """(name, node, docstring, its source) for each public top-level function of a module."""
    text = path.read_text(encoding="utf-8")
    for node in ast.parse(text).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            doc = ast.get_docstring(node, clean=False)
            source = ast.get_source_segment(text, node.body[0]) if doc is not None else ""
            yield f"{module_name(path)}.{node.name}", node, doc, source


@pytest.mark.skipif(not CORE.is_dir(), reason="tutorial_lib/core does not exist yet")
def test_core_functions_have_raw_docstrings_with_examples():
    """Each public function of the core: a raw docstring (r\"\"\"...) with a doctest example.

    The argument checks (modules named ``*_checks.py``) are not equations: they need a docstring only."""
    bad = []
    for path in source_files(CORE):
        if path.stem.endswith("_checks"):
            continue
        for name, _, doc, source in _documented(path):
            if doc is None:
                bad.append(f"{name}: no docstring")
                continue
            if not source.lstrip().lower().startswith("r"):
                bad.append(f"{name}: the docstring is not a raw string")
            if ">>>" not in doc:
                bad.append(f"{name}: no example (>>>) in the docstring")
    assert not bad, "\n".join(bad)


ENGINE = PACKAGE / "engine"


@pytest.mark.skipif(not ENGINE.is_dir(), reason="tutorial_lib/engine does not exist yet")
def test_engine_kernels_name_their_core_twin_and_test():
    """Each public compiled kernel of the engine names its core twin and the test proving them equal."""
    bad = []
    for path in source_files(ENGINE):
        for name, node, doc, _ in _documented(path):
            if not is_kernel(node):
                continue
            if not doc or "core." not in doc or "test_" not in doc:
                bad.append(f"{name}: its docstring must name its twin (core.NAME) and the test (test_...)")
    assert not bad, "\n".join(bad)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-debt"]:
        print(f"{write_debt()} entries written to {DEBT_FILE}")
    else:
        sys.exit(f"usage: python {Path(__file__).relative_to(ROOT)} --write-debt")
