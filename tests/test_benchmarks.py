"""The benchmark command runs and prints its figures as `name value unit` lines (no speed is asserted)."""

import json
import re

from benchmarks.__main__ import main


def test_rls_benchmark_prints_figures_and_writes_json(tmp_path, capsys):
    out_json = tmp_path / "results.json"
    assert main(["rls", "--json", str(out_json)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    figures = [ln for ln in lines if re.fullmatch(r"[a-z0-9_]+ [-+0-9.e]+ \S*", ln.strip())]
    names = {ln.split()[0] for ln in figures}
    assert {"rls_update_numpy", "rls_update_shared_pool", "rls_shared_speedup_vs_batch"} <= names
    saved = json.loads(out_json.read_text())["figures"]
    assert saved["rls_update_numpy"]["unit"] == "ms" and saved["rls_update_numpy"]["value"] > 0
