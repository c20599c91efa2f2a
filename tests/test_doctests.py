"""The examples in the library's docstrings run as tests, so they cannot go stale.

(``--doctest-modules`` over the whole project would also import ``tests/conftest.py`` and
``tests/browser/conftest.py`` under one module name; running :mod:`doctest` module by module
avoids that and needs no pytest option.)
"""

import doctest
import importlib
import pkgutil

import pytest

import tutorial_lib

MODULES = sorted(m.name for m in pkgutil.walk_packages(tutorial_lib.__path__, "tutorial_lib.")
                 if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, monkeypatch):
    monkeypatch.delenv("TUTORIAL_SMOKE_TEST", raising=False)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples of {name} failed (see above)"


def test_the_model_modules_have_examples():
    """Each model module shows how to start (a Getting started example), as its docstring promises."""
    for name in ("core.rls", "rate", "core.lif", "engine.simulate", "spiking_net", "engine.siegert", "storage", "data"):
        module = importlib.import_module(f"tutorial_lib.{name}")
        assert doctest.DocTestFinder().find(module)[0].examples, f"tutorial_lib.{name} has no docstring example"
