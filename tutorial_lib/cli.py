"""Command line: ``rls-tutorial <part> [--param value ...]`` (also ``python -m tutorial_lib``).

Every field of a part's parameter dataclass is a flag, e.g.::

    rls-tutorial part1 --sigma 0.15 --lam 1.0 --n-loops 100 --seed 3

It trains with a progress bar, prints the score every ``--report-every`` loops
and the score of a test trial without learning at the end.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields

from .params import RateParams
from .training import DivergenceError

PARTS = {"part1": RateParams}


def _add_param_flags(parser: argparse.ArgumentParser, cls) -> None:
    for f in fields(cls):
        default = getattr(cls(), f.name)
        kind = int if isinstance(default, int) and not isinstance(default, bool) else float
        if f.name == "K":
            kind = int
        parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=kind, default=None,
                            help=f"(default {default})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="rls-tutorial", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="part", required=True)
    for name, cls in PARTS.items():
        sp = sub.add_parser(name, help=cls.__doc__.splitlines()[0])
        _add_param_flags(sp, cls)
        sp.add_argument("--report-every", type=int, default=10, help="print the score every N loops")
    args = ap.parse_args(argv)
    cls = PARTS[args.part]
    given = {f.name: getattr(args, f.name) for f in fields(cls) if getattr(args, f.name) is not None}
    try:
        params = cls(**given)
    except ValueError as exc:
        ap.error(str(exc))
    from tqdm.auto import tqdm

    from . import rate

    def report(loop, trial, scores):
        if (loop + 1) % args.report_every == 0 or loop + 1 == params.n_loops:
            tqdm.write(f"loop {loop + 1:4d}  score {scores[-1]:.4f}")

    try:
        result = rate.train(params, callback=report)
        print(f"test trial (no learning): score {result.test().score:.4f}")
    except DivergenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
