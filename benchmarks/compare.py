"""Compare two trees' benchmarks, alternated in one run: ``python -m benchmarks.compare BEFORE AFTER``.

    python -m benchmarks.compare BEFORE_DIR AFTER_DIR [SUITE ...] [--rounds 5]

BEFORE_DIR and AFTER_DIR are two checkouts of the project (for example ``git worktree add
/tmp/before COMMIT``). Each measurement is ``python -m benchmarks SUITE ... --json FILE`` in a process
of its own, run inside that tree (its ``benchmarks`` and ``tutorial_lib``, PYTHONPATH set to it). Each
tree runs the suites once first with the figures thrown away, to warm its numba cache; then ROUNDS
rounds alternate the trees (before-after, then after-before, ...) so that a machine getting busier or
quieter weighs on both alike. Printed per figure: the median value of each tree, the median of the
per-round ratios after/before, and whether that ratio is within +-5 % (``--tolerance``). The exit
status is 1 when a time (unit s, ms or min) is outside the tolerance, else 0. The default suites are
Part 1 to 3 (the figures the acceptance of issue 23 names). On a shared machine the figures are noisy:
compare on a quiet one, with enough rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_SUITES = ["part1", "part2", "part3"]
TIME_UNITS = {"s", "ms", "min"}


def run_suites(tree: Path, suites: list[str], out: Path) -> dict[str, dict]:
    """One measurement: the suites run in ``tree`` in a new process; returns ``{figure: {value, unit}}``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-m", "benchmarks", *suites, "--json", str(out)]
    done = subprocess.run(cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed in {tree} (exit {done.returncode}):\n{done.stderr[-2000:]}")
    figures = json.loads(out.read_text())["figures"]
    out.unlink()
    return figures


def measure(trees: dict[str, Path], suites: list[str], rounds: int, warm: bool) -> dict[str, list[dict]]:
    """``{side: [figures of round 1, ...]}``, the sides alternated round by round."""
    sides = list(trees)
    results: dict[str, list[dict]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        out = Path(tmp) / "figures.json"
        if warm:
            for side in sides:
                print(f"warming {side} ({trees[side]}) ...", file=sys.stderr, flush=True)
                run_suites(trees[side], suites, out)
        for r in range(rounds):
            for side in (sides if r % 2 == 0 else sides[::-1]):
                t0 = time.perf_counter()
                results[side].append(run_suites(trees[side], suites, out))
                print(f"round {r + 1}/{rounds} {side}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return results


def compare(before: list[dict], after: list[dict], tolerance: float) -> list[dict]:
    """Per figure present in both trees: medians, the median paired ratio, and the verdict."""
    rows = []
    for name in sorted(set(before[0]) & set(after[0])):
        b = [r[name]["value"] for r in before]
        a = [r[name]["value"] for r in after]
        ratios = [y / x for x, y in zip(b, a) if x]
        ratio = statistics.median(ratios) if ratios else (1.0 if a == b else float("nan"))
        unit = before[0][name]["unit"]
        rows.append({"figure": name, "unit": unit, "before": statistics.median(b), "after": statistics.median(a),
                     "ratio": ratio, "within": abs(ratio - 1.0) <= tolerance, "time": unit in TIME_UNITS})
    return rows


def report(rows: list[dict], only: set[str], tolerance: float) -> str:
    width = max([len(r["figure"]) for r in rows] + [6])
    lines = [f"{'figure':<{width}}  {'unit':<5} {'before':>11} {'after':>11} {'after/before':>12}  within +-{tolerance:.0%}",
             "-" * (width + 60)]
    for r in rows:
        if r["ratio"] != r["ratio"]:
            verdict = "n/a (before is 0)"
        else:
            verdict = "yes" if r["within"] else ("NO (slower)" if r["ratio"] > 1 else "NO (faster)")
        if not r["time"]:
            verdict += "  (not a time)"
        lines.append(f"{r['figure']:<{width}}  {r['unit']:<5} {r['before']:>11.4g} {r['after']:>11.4g} "
                     f"{r['ratio']:>12.3f}  {verdict}")
    if only:
        lines.append(f"\nfigures of one tree only: {', '.join(sorted(only))}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path, help="the tree before the change (a checkout of the project)")
    ap.add_argument("after", type=Path, help="the tree after the change")
    ap.add_argument("suites", nargs="*",
                    help=f"benchmarks to compare, as python -m benchmarks names them (default: {' '.join(DEFAULT_SUITES)})")
    ap.add_argument("--rounds", type=int, default=5, help="alternations (default 5; the median is reported)")
    ap.add_argument("--tolerance", type=float, default=0.05, help="allowed |after/before - 1| (default 0.05)")
    ap.add_argument("--no-warm", action="store_true", help="skip the warm-up run of each tree")
    ap.add_argument("--json", default="", help="also write the comparison to this file")
    args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for side, tree in trees.items():
        if not (tree / "benchmarks" / "__main__.py").is_file() or not (tree / "tutorial_lib").is_dir():
            ap.error(f"{side} {tree} is not a checkout of the project (no benchmarks/ or tutorial_lib/)")
    suites = args.suites or DEFAULT_SUITES
    results = measure(trees, suites, args.rounds, warm=not args.no_warm)
    rows = compare(results["before"], results["after"], args.tolerance)
    only = set(results["before"][0]) ^ set(results["after"][0])
    print(f"suites {' '.join(suites)}, {args.rounds} rounds alternated; before {trees['before']}, "
          f"after {trees['after']}\n")
    print(report(rows, only, args.tolerance))
    if args.json:
        Path(args.json).write_text(json.dumps({"suites": suites, "rounds": args.rounds, "trees": {
            k: str(v) for k, v in trees.items()}, "rows": rows, "raw": results}, indent=2) + "\n")
    return 1 if any(r["time"] and not r["within"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
