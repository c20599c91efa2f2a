"""Every exercise's hidden solution runs: each stub is replaced by its solution and the notebook executed.

A stub is a code cell tagged ``raises-exception``; its solution is the first
```python block inside the next markdown cell with a ``<details>`` block.
"""

import re
import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
SOLUTION = re.compile(r"<details>.*?```python\n(.*?)```", re.S)


def solved(nb):
    """A copy of ``nb`` in which every exercise stub holds its solution; also returns the count."""
    nb = nbformat.from_dict(nb)
    n = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "raises-exception" not in cell.metadata.get("tags", []):
            continue
        following = [c for c in nb.cells[i + 1:] if c.cell_type == "markdown" and "<details>" in c.source]
        assert following, f"cell {i}: an exercise stub without a <details> solution after it"
        match = SOLUTION.search(following[0].source)
        assert match, f"cell {i}: the solution block has no ```python code"
        cell.source = match.group(1)
        cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != "raises-exception"]
        n += 1
    return nb, n


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solutions_run(path, tmp_path):
    from nbclient import NotebookClient

    nb, n = solved(nbformat.read(path, as_version=4))
    assert n >= 3, "each notebook has at least three exercises"
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.kernel_manager_class = "jupyter_client.manager.KernelManager"
    # run in this test's own Python, like nbval's --nbval-current-env
    client.km = client.kernel_manager_class(kernel_name="python3")
    client.km.kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    client.execute(cwd=str(path.parent))
