"""Every exercise's hidden solution runs: each stub is replaced by its solution and the notebook executed.

A stub is a code cell tagged ``raises-exception``; its solution is the first
```python block inside the next markdown cell with a ``<details>`` block.
"""

import sys
from pathlib import Path

import nbformat
import pytest
from notebook_exercises import solved

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
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
