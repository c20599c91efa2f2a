"""Regenerate the README figures.

Usage::

    python figures/make_figures.py            # every figure
    python figures/make_figures.py part1      # only the named ones
    python figures/make_figures.py --list     # what there is

Each figure is one function in ``FIGURES`` (name -> function); a function
takes the output directory and returns the path it wrote. Later parts add one
function each. Everything is seeded, so the figures are reproducible.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent


def part1_training(outdir: Path) -> Path:
    """Part 1: recurrent input against target for three neurons after training, and the learning curve."""
    from tutorial_lib import RateParams, plotting, rate

    p = RateParams()
    res = rate.train(p, progress=False)
    test = res.test()
    with plotting.style():
        fig = plt.figure(figsize=(9.0, 4.2))
        plotting.plot_training_summary(
            test, res.scores, neurons=(0, 1, 2), fig=fig, params=p,
            title=f"Part 1: rate RNN (N = {p.N}) trained with RLS, {p.n_loops} loops; "
                  f"test score {test.score:.3f}",
        )
        path = outdir / "part1_training.png"
        fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def part2_training(outdir: Path) -> Path:
    """Part 2: total input against target for three trained LIF neurons, the raster, the learning curve."""
    from tutorial_lib import SpikingParams, plotting, spiking_net

    p = SpikingParams()
    res = spiking_net.train(p, progress=False)
    test = res.test()
    with plotting.style():
        fig = plt.figure(figsize=(9.5, 5.2))
        plotting.plot_spiking_summary(
            test, res.scores, neurons=(0, 1, 2), fig=fig, params=p,
            title=f"Part 2: spiking network (N = {p.N} LIF neurons) trained with RLS, {p.n_loops} loops; "
                  f"test score {test.score:.3f}",
        )
        path = outdir / "part2_training.png"
        fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


#: name -> function(outdir) -> path; later parts add theirs here.
FIGURES = {
    "part1": part1_training,
    "part2": part2_training,
}


def main(argv=None) -> int:
    """Make the figures named on the command line (default: all)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="name", help=f"figures to make: {', '.join(FIGURES)} (default: all)")
    parser.add_argument("--outdir", type=Path, default=HERE, help="where to write the PNG files (default: figures/)")
    parser.add_argument("--list", action="store_true", help="list the figures and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, fn in FIGURES.items():
            print(f"{name:10s} {fn.__doc__.splitlines()[0]}")
        return 0
    unknown = [n for n in args.names if n not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; choose from {', '.join(FIGURES)}")
    args.outdir.mkdir(parents=True, exist_ok=True)
    for name in args.names or list(FIGURES):
        path = FIGURES[name](args.outdir)
        print(f"{name}: wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
