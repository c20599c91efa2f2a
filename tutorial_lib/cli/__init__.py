r"""Command line: ``rls-tutorial <part> [--param value ...]`` (also ``python -m tutorial_lib``).

The parts come from the registry (:mod:`tutorial_lib.parts`); their flags from the parameters'
metadata (:mod:`tutorial_lib.cli_args`); Part 3's run with checkpoints and resume is
:mod:`tutorial_lib.cli.part3`, Part 5's experiments on a trained Part 3 network :mod:`tutorial_lib.cli.part5`,
the sweep's subcommand :mod:`tutorial_lib.sweep`.

Every field of a part's parameter dataclass is a flag (``--n-trained``,
``--inh-weight-ratio``, ``--ffwd/--no-ffwd``, ...); ``--config FILE`` reads
field values from a JSON file and flags override it::

    rls-tutorial part1 --sigma 0.15 --lam 1.0 --n-loops 100 --seed 3
    rls-tutorial part2 --N 200 --n-loops 30
    rls-tutorial part3 --lecture --data /path/to/alm --out lecture.npz

Parts 1 and 2 train with a progress bar, print the score every
``--report-every`` loops and the score of a test trial without learning at the end.

Part 3 (the balanced network trained on ALM recordings) runs for minutes at the SPEC size and hours at larger ones, so
it trains in chunks and saves a checkpoint (network, RLS state, score history)
every ``--checkpoint-every`` loops; a run stopped by Ctrl-C, ``kill`` or a
crash continues with ``--resume`` to exactly the result of an uninterrupted
run. The full SPEC configuration, 200 loops::

    rls-tutorial part3 --data /path/to/alm --checkpoint spec.ckpt.npz \
        --out spec.npz --scores-json spec.json
    # after an interruption: the same command with --resume

Ctrl-C once: the current loop finishes, the checkpoint is saved, and the
command to resume is printed (exit code 130). Ctrl-C twice, or SIGTERM: the
current loop is abandoned and the run resumes from the last checkpoint (exit
code 130, 143 for SIGTERM). A file being written when a signal comes (a
checkpoint, ``--out``) is finished first, never left half done. Whenever a
run is interrupted it ends with one line on stderr and exit code 130 (SIGINT)
or 143 (SIGTERM), from the command's first moment on: the ``rls-tutorial``
script's entry (:mod:`tutorial_lib_entry`) installs handlers before NumPy and
this package are imported. Diverging networks and bad parameters end with a
one-line error (exit code 1; 2 for bad parameters and flags).

Numbers are read in every form Python reads (``--mu -5e-1``, ``--n-loops 1e3``,
``--N 2000.0``); whole-number fields take a float form only if it is whole.
Every output path (``--out``, ``--checkpoint``, ``--scores-json``) is checked
before anything runs: not empty, a name the file system takes, not a folder,
in a folder that exists and can be written.

``--scores-json PATH`` (every part) writes the score history as JSON; for
Part 3: ``loops`` (1, 2, ...), ``training_scores`` (the lick-right training
trial of each loop, measured while learning), ``test_loops``, ``test_scores``
(single trial, the original's score) and ``test_scores_avg`` (trial-averaged),
``seconds_per_loop``, ``final_test``, ``wall_seconds`` (the whole command, build to final test)
and ``params`` (usable as ``--config``).
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys

from tqdm.auto import tqdm

from .. import __version__
from ..checks import check_memory
from ..cli_args import (EXIT_USAGE, NONE_WORDS, add_param_flags, check_folder, count_flag, error_line, jsonable,
                       make_params, one_line, signal_name, write_json)
from ..errors import DivergenceError
from ..interrupts import COMMAND
from ..parts import CLI_PARTS as PARTS
from ..storage import params_to_dict
from ..sweep import add_cli_parser, cli_main as sweep_main
from .part3 import run_part3
from .part5 import add_part5_parser, run_part5

__all__ = ["main", "build_parser", "PARTS", "NONE_WORDS"]


# ---------------------------------------------------------------------------
# Parser


class _Parser(argparse.ArgumentParser):
    """Errors in one line (and exit code 2), without the long usage block."""

    # argparse takes an argument that starts with "-" for a flag unless it looks like -1 or -0.5, so
    # "--mu -5e-1" was "expected one argument": anything that starts like a number (-5e-1, -1_000,
    # -0x10, -.5) or is -inf / -nan is a value; the flag's converter then accepts or names it.
    _NEGATIVE = re.compile(r"^-(?:\.?\d|(?:inf|infinity|nan)$)", re.IGNORECASE)

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._negative_number_matcher = self._NEGATIVE

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    """The parser and its subparsers by part name."""
    ap = _Parser(prog="rls-tutorial", description=__doc__.splitlines()[0],
                 epilog="rls-tutorial PART --help lists every flag of a part.")
    sub = ap.add_subparsers(dest="part", required=True, metavar="PART")
    subs = {}
    for name, part in PARTS.items():
        cls = part.params
        sp = sub.add_parser(name, help=cls.__doc__.splitlines()[0], description=cls.__doc__.splitlines()[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog=_RECORDINGS_EPILOG.format(name=name) if part.recordings else None)
        _add_running_flags(sp, part)
        add_param_flags(sp, cls)
        subs[name] = sp
    add_part5_parser(sub)  # rls-tutorial part5 ...: experiments on a Part 3 network (not a part that trains)
    add_cli_parser(sub)  # rls-tutorial sweep PART ...: not in subs, which maps the parts' own parsers
    return ap, subs


def _add_running_flags(sp, part) -> None:
    """The flags of a part's run that are not parameters (Part 3's data, output and checkpoints too)."""
    run = sp.add_argument_group("running")
    run.add_argument("--config", metavar="FILE",
                     help="JSON file of field values (a --scores-json file works too); flags override it")
    if part.recordings:
        run.add_argument("--lecture", action="store_true",
                         help="start from BalancedParams.lecture() (N=2000, K=200, 100 trained neurons, "
                              "30 loops); --config and flags override it")
        run.add_argument("--data", metavar="DIR",
                         help="folder of the four ALM .jld files (sets $TUTORIAL_ALM_DATA; default: that "
                              "variable, else the downloaded copy in the user's cache)")
        run.add_argument("--synthetic", action="store_true",
                         help="train on the synthetic stand-in for the ALM data (not a recording)")
    run.add_argument("--report-every", type=count_flag("--report-every", 0), default=10, metavar="N",
                     help="print the training score every N loops (0: never) [default: 10]")
    run.add_argument("--scores-json", metavar="PATH",
                     help="write the score history and parameters as JSON")
    if part.recordings:
        run.add_argument("--out", metavar="PATH", help="save the trained network here (.npz)")
        run.add_argument("--save-rls", action="store_true",
                         help="include the RLS state in --out (to train it further; a larger file)")
        run.add_argument("--checkpoint", metavar="PATH",
                         help="save network, RLS state and history here every --checkpoint-every loops "
                              "and when interrupted (.npz)")
        run.add_argument("--checkpoint-every", type=count_flag("--checkpoint-every", 1), default=10,
                         metavar="N",
                         help="loops between checkpoints [default: 10]")
        run.add_argument("--resume", action="store_true",
                         help="continue from --checkpoint (same parameters; --n-loops may be larger) up "
                              "to n_loops loops in total; starts afresh if the checkpoint does not exist "
                              "yet")


_RECORDINGS_EPILOG = """\
examples:
  rls-tutorial {name} --lecture --data DIR --out lecture.npz
  rls-tutorial {name} --data DIR --checkpoint spec.ckpt.npz --out spec.npz --scores-json spec.json
  (interrupted? run the same command with --resume)
  rls-tutorial {name} --data DIR --n-trained 200 --inh-weight-ratio measured --no-ffwd --n-loops 50
"""


def main(argv=None) -> int:
    """Run the command line; returns the exit code (see the module's docstring)."""
    COMMAND.final = argv is None  # the program itself (rls-tutorial, python -m tutorial_lib)
    COMMAND.signum, COMMAND.done = None, False
    with COMMAND:
        try:
            code = _main(argv)
        except BaseException as exc:
            # A signal raises KeyboardInterrupt wherever the main thread is, also inside an import,
            # which may turn it into another exception (NumPy's "bad install" ImportError): whatever
            # comes out after a signal is the interruption, said in one line.
            if not isinstance(exc, KeyboardInterrupt) and COMMAND.signum is None:
                raise
            code = COMMAND.exit_code
            print(f"rls-tutorial: interrupted ({signal_name(code)})", file=sys.stderr)
        COMMAND.done = True
    return code


#: the subcommands beside the parts' own: ``rls-tutorial sweep PART ...`` and ``rls-tutorial part5 ...``
#: (experiments on a trained Part 3 network), each ``function(args, argv) -> exit code``
COMMANDS = {"sweep": sweep_main, "part5": run_part5}


def _main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    ap, subs = build_parser()
    args = ap.parse_args(argv)
    if args.part in COMMANDS:  # the subcommands that are not a part's training
        return COMMANDS[args.part](args, argv)
    sp = subs[args.part]
    part = PARTS[args.part]
    params = make_params(sp, args, part.params)
    try:  # sizes that would not fit in memory: refused by name now, not after minutes of building
        check_memory(params)
    except (ValueError, TypeError) as exc:
        sp.error(one_line(exc))
    if args.report_every < 0:
        sp.error(f"--report-every must be >= 0 (got {args.report_every})")
    # every output path before anything runs (a run of hours must not fail when it saves)
    for flag in ("--scores-json", "--out", "--checkpoint"):
        check_folder(sp, flag, getattr(args, flag[2:].replace("-", "_"), None))
    if part.recordings:  # trained in chunks, with checkpoints and resume
        return run_part3(sp, args, part, params, argv)
    return _run(args, part, params, argv)


# ---------------------------------------------------------------------------
# Parts 1 and 2


def _run(args, part, params, argv) -> int:
    """Train and test a part in one go (Parts 1 and 2): the score every --report-every loops; the exit code."""

    def report(loop, trial, scores):
        if args.report_every and ((loop + 1) % args.report_every == 0 or loop + 1 == params.n_loops):
            tqdm.write(f"loop {loop + 1:4d}  score {scores[-1]:.4f}")

    try:
        result = part.train(params, callback=report)
        test = result.test().score
        print(f"test trial (no learning): score {test:.4f}")
    except DivergenceError as exc:
        return error_line(one_line(exc))
    except ValueError as exc:
        return error_line(one_line(exc), EXIT_USAGE)
    if args.scores_json:
        write_json(args.scores_json, {
            "part": part.number, "command": "rls-tutorial " + shlex.join(argv),
            "loops": list(range(1, len(result.scores) + 1)), "training_scores": jsonable(result.scores),
            "n_loops_done": len(result.scores), "complete": not result.stopped,
            "final_test": {"n_trials": 1, "score": jsonable([test])[0]},
            "params": params_to_dict(params), "tutorial_lib_version": __version__,
        })
    if result.stopped:
        code = COMMAND.exit_code
        print(f"rls-tutorial: interrupted ({signal_name(code)}) after {len(result.scores)} loop(s)",
              file=sys.stderr)
        return code
    return 0

