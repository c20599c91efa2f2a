"""environment.yml and pyproject.toml must list the same dependencies."""

import re
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {"playwright-python": "playwright"}


def _split(spec: str) -> tuple[str, str]:
    m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", spec)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # dependencies for old Pythons only (with a marker) are not for conda's new Python
    specs = [s for s in project["dependencies"] if ";" not in s]
    for extra in project["optional-dependencies"].values():
        specs += [s for s in extra if ";" not in s]
    wanted = dict(_split(s) for s in specs)
    conda = {}
    in_deps = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        m = re.match(r"  - ([^\s].*)$", line)
        if in_deps and m and not m.group(1).startswith("pip:"):
            name, version = _split(m.group(1))
            if name not in ("python", "pip"):
                conda[CONDA_TO_PYPI.get(name, name)] = version
    assert conda == wanted


def test_environment_yml_installs_the_package_itself():
    assert "- -e ." in (ROOT / "environment.yml").read_text()


def test_test_extra_holds_the_lab_extra():
    """`./run lab` after `./run test` installs nothing more (the run script relies on it)."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras["lab"]) <= set(extras["test"]), set(extras["lab"]) - set(extras["test"])
