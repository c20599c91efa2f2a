"""Run the benchmarks: ``python -m benchmarks`` (all) or ``python -m benchmarks part1 rls``.

Each benchmark returns rows ``(name, value, unit, note)``. The output is a
human-readable table followed by one ``name value unit`` line per figure, and
the figures are also written to ``benchmarks/results.json`` (``--json PATH``), with the
machine they were measured on (cores, CPU model, memory, the load average at the start and the end:
``benchmarks/machine.py``), which is also printed first and last. A figure quoted anywhere should
say that machine and load. Compare figures measured in the same run (ratios), not across runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import brian2_static, lecture, machine, part1, part2, part3, scaling, sweep

SUITES = {
    "rls": part1.bench_rls,
    "part1": part1.bench_part1,
    "part2": part2.bench_part2,
    "part3-static": part3.bench_part3_static,
    "part3-rls": part3.bench_part3_rls,
    "part3-rls-pooled": part3.bench_part3_rls_pooled,
    "part3": part3.bench_part3_loop,
    "lecture-part3": lecture.bench_lecture_part3,  # the Part 3 lecture page: Train to Done at its defaults
    "part3-sim": part3.bench_part3_simulation,  # simulation per trial vs the static network
    "part3-forms": part3.bench_part3_forms,  # a whole training trial per RLS form vs the static network
    "part3-float32": part3.bench_part3_float32,  # a float32 RLS state's drift over a real training
    "scaling-run": scaling.bench_scaling_run,  # the whole 200-loop SPEC run, estimated from a few loops
    "scaling": scaling.bench_scaling,  # loop time and memory against N (2500 to 20000), growth exponents
    "sweep": sweep.bench_sweep,  # an 18-run sweep: one process, 2 joblib workers, a LocalCluster
    "brian2": brian2_static.bench_brian2,  # our engine vs Brian2 (extra: pip install -e .[bench])
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("suites", nargs="*", choices=[*SUITES, []], help="which benchmarks (default: all)")
    ap.add_argument("--json", default=str(Path(__file__).with_name("results.json")),
                    help="where to write the figures (default benchmarks/results.json; '' for none)")
    args = ap.parse_args(argv)
    names = args.suites or list(SUITES)
    rows = []
    where = machine.describe()
    print(f"machine: {machine.summary(where)}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(SUITES[name]())
    width = max(len(r[0]) for r in rows)
    print(f"\n{'figure':<{width}}  {'value':>12}  unit      note")
    print("-" * (width + 40))
    for name, value, unit, note in rows:
        print(f"{name:<{width}}  {value:>12.4g}  {unit:<8}  {note}")
    print()
    for name, value, unit, _ in rows:
        print(f"{name} {value:.6g} {unit}")
    where["load_1min_end"] = machine.load_average()
    print(f"\nmeasured on: {machine.summary(where, where['load_1min_end'])}")
    if args.json:
        date, on = time.strftime("%Y-%m-%d %H:%M %Z"), machine.summary(where, where["load_1min_end"])
        out = {
            "machine": where,
            "date": date,
            "seconds": round(time.perf_counter() - t0, 1),
            # each figure keeps where and when it was measured: the file merges figures of several runs
            "figures": {name: {"value": value, "unit": unit, "note": note, "date": date, "measured_on": on}
                        for name, value, unit, note in rows},
        }
        path = Path(args.json)
        old = json.loads(path.read_text()) if path.exists() else {}
        old.setdefault("figures", {}).update(out["figures"])
        old["machine"], old["date"] = out["machine"], out["date"]
        path.write_text(json.dumps(old, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
