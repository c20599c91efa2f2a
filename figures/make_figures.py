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


#: The original's single-trial score during its 200-loop run (SPEC, Part 3): loop -> score.
ORIGINAL_SCORES = {10: 0.09, 20: 0.13, 50: 0.17, 100: 0.20, 200: 0.19}
#: The score history of the full-scale run, written by ``rls-tutorial part3 ... --scores-json``.
FULL_SCALE_SCORES = HERE.parent / "benchmarks" / "part3_full_scale.json"


def part3_full_scale(outdir: Path, scores: Path = FULL_SCALE_SCORES) -> Path:
    """Part 3 at full scale (SPEC parameters, 1824 ALM neurons): test scores every 10 loops vs the original."""
    import json

    from tutorial_lib import plotting

    d = json.loads(Path(scores).read_text())
    loops, single, avg = d["test_loops"], d["test_scores"], d["test_scores_avg"]
    with plotting.style():
        fig, ax = plt.subplots(figsize=(7.5, 4.2))
        ax.plot(d["loops"], d["training_scores"], color="0.75", lw=1, label="training trial (learning on)")
        ax.plot(loops, avg, "o-", color="C0", label=f"test, averaged over {d['params']['values']['n_test_trials']} trials")
        ax.plot(loops, single, "s-", color="C1", label="test, single trial (the original's score)")
        ax.plot(list(ORIGINAL_SCORES), list(ORIGINAL_SCORES.values()), "k^--", label="original (Julia), single trial")
        ax.set_xlabel("training loop")
        ax.set_ylabel("score (mean correlation with target input)")
        ax.set_ylim(bottom=0)
        # the whole command (build, loops, tests) as README's Performance quotes it, not the loops alone
        minutes = d["wall_seconds"] / 60
        ax.set_title(f"Part 3, full scale: {d['n_trained']} trained neurons, N = {d['params']['values']['N']}, "
                     f"{d['n_loops_done']} loops, {minutes:.0f} min in all (machine A)", fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
        path = outdir / "part3_full_scale.png"
        fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return path


#: name -> function(outdir) -> path; later parts add theirs here.
FIGURES = {
    "part1": part1_training,
    "part2": part2_training,
    "part3": part3_full_scale,  # from benchmarks/part3_full_scale.json (hours of training: not rerun here)
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
