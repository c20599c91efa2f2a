r"""``rls-tutorial part5``: Part 5's perturbation experiments on a trained balanced network, at any scale.

The network is trained exactly as ``rls-tutorial part3`` trains it (the same flags, :class:`Part3Run`
from :mod:`tutorial_lib.cli.part3`: ``--lecture``, ``--data``/``--synthetic``, ``--checkpoint`` and
``--resume``) or loaded from a file that ``rls-tutorial part3 --out`` saved (``--from PATH``). Then the
choice mode is fitted (:func:`tutorial_lib.attractors.fit_choice`, ``--n-train``/``--n-test`` test
trials per condition) and the experiments run (``--experiment``, default all three):
photoinhibition-like windows (``--starts``, ``--durations``, ``--strength``), distractors (``--times``,
``--distractor-strength``) and kicks along the choice mode (``--amplitudes``, ``--kick-times``,
``--kick-duration``); ``--control`` also trains and perturbs the control without condition-carrying
feed-forward input (:func:`~tutorial_lib.attractors.without_condition_ffwd`). Times in ms of the trial,
strengths in threshold units, as in :mod:`tutorial_lib.attractors`. Without a grid flag the grid spreads
over the delay of the network's parameters (:func:`default_grid`); examples: ``rls-tutorial part5 --help``.

``--out DIR`` receives ``part5_trials.csv`` (one row per perturbed trial: ``experiment``, ``network``
(``trained`` or ``control``), ``condition``, ``trial``, ``start``, ``duration``, ``strength``,
``baseline``, ``choice``, ``switched``, ``end``), ``part5_summary.json`` (per network: the read-out's
accuracy; per experiment and setting the switched and recovered fractions with the Wilson interval of
the switched one; for kicks the amplitude ``a50`` that switches half of the trials at each time, with
its interval; the grid, the parameters, the data and the versions), and the networks trained here
(``part5_network.npz``, ``part5_control.npz``: ``--from`` takes them). Every file is written atomically
(a temporary file in DIR, then ``os.replace``), the two tables after every experiment (``complete``
false until the last); an existing file is never overwritten without ``--force``.

Every flag is checked before any training (a value out of range: one line naming the flag and the range
from the parameters' delay, exit code 2). Ctrl-C or SIGTERM during the experiments: the trials in flight
finish, the trials done are written (``"stopped": true``), exit code 130 (143 for SIGTERM); during
training, as ``rls-tutorial part3``. No temporary file is left, no trial thread keeps running.
"""

# Imported on first use (importlib, as the parts' models in tutorial_lib.parts): tutorial_lib.attractors and,
# through it, the compiled engine (numba), so that the command line starts (--help, a bad flag) without them.

from __future__ import annotations

import argparse
import csv
import importlib
import importlib.metadata
import io
import platform
import shlex
import sys
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import __version__
from ..checks import check_memory
from ..cli_args import (add_param_flags, check_folder, check_input_path, count_flag, error_line,
                        is_dir, make_params, one_line, short_repr, write_json)
from ..errors import DivergenceError
from ..interrupts import LoopSignals, signal_name
from ..params import BalancedParams
from ..parts import PARTS
from ..storage import FormatError, atomic_write, params_to_dict
from ..sweep.part5 import EXPERIMENTS, READOUT_MS, Grid, check_grid, default_grid, in_range, records
from .part3 import Part3Run

__all__ = ["EXPERIMENTS", "FILES", "READOUT_MS", "COLUMNS", "Grid", "add_part5_parser", "default_grid",
           "check_grid", "run_part5"]

#: what ``--out DIR`` receives
FILES = {"trials": "part5_trials.csv", "summary": "part5_summary.json", "trained": "part5_network.npz",
         "control": "part5_control.npz"}
#: the columns of ``part5_trials.csv``
COLUMNS = ("experiment", "network", "condition", "trial", "start", "duration", "strength", "baseline", "choice",
           "switched", "end")


# ---------------------------------------------------------------------------
# Flags


def _numbers(flag: str):
    """argparse ``type=`` for a comma-separated list of numbers (``--starts 1200,1800``)."""

    def convert(text: str) -> list:
        items = [t.strip() for t in str(text).split(",")]
        try:
            if not all(items):
                raise ValueError
            return [float(t) for t in items]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} must be numbers separated by commas, e.g. 1200,1800 "
                                             f"(got {short_repr(text)})") from None

    convert.__name__ = flag
    return convert


def _number(flag: str):
    convert = _numbers(flag)

    def one(text: str) -> float:
        values = convert(text)
        if len(values) != 1:
            raise argparse.ArgumentTypeError(f"{flag} takes one number (got {short_repr(text)})")
        return values[0]

    one.__name__ = flag
    return one


def add_part5_parser(sub) -> argparse.ArgumentParser:
    """Add ``rls-tutorial part5 ...`` to the command line's subparsers ``sub``; returns its parser."""
    sp = sub.add_parser("part5", help="perturb a trained Part 3 network as ALM was perturbed (Part 5)",
                        description=__doc__.splitlines()[0].replace("``", ""),
                        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG)
    sp.set_defaults(_part5_parser=sp)
    net = sp.add_argument_group("the network (trained as rls-tutorial part3 trains it, or loaded)")
    net.add_argument("--from", dest="from_path", metavar="PATH",
                     help="a network saved by rls-tutorial part3 --out (or part5's part5_network.npz) instead "
                          "of training one; excludes the parameter flags")
    net.add_argument("--config", metavar="FILE", help="JSON file of field values; flags override it")
    net.add_argument("--lecture", action="store_true", help="start from BalancedParams.lecture()")
    net.add_argument("--data", metavar="DIR", help="folder of the four ALM .jld files")
    net.add_argument("--synthetic", action="store_true",
                     help="train on the synthetic stand-in for the ALM data (not a recording)")
    net.add_argument("--report-every", type=count_flag("--report-every", 0), default=10, metavar="N",
                     help="print the training score every N loops (0: never) [default: 10]")
    net.add_argument("--checkpoint", metavar="PATH", help="as rls-tutorial part3 --checkpoint (.npz)")
    net.add_argument("--checkpoint-every", type=count_flag("--checkpoint-every", 1), default=10, metavar="N",
                     help="loops between checkpoints [default: 10]")
    net.add_argument("--resume", action="store_true", help="continue the training from --checkpoint")
    ex = sp.add_argument_group("the experiments (times in ms of the trial; strengths in threshold units)")
    ex.add_argument("--out", metavar="DIR", required=True, help="folder of the results (made if missing)")
    ex.add_argument("--force", action="store_true", help="overwrite the files of an earlier run in --out")
    ex.add_argument("--experiment", default="all", metavar="NAMES",
                    help=f"comma-separated, of {', '.join(EXPERIMENTS)} [default: all]")
    ex.add_argument("--n-train", type=count_flag("--n-train", 1), default=10, metavar="N",
                    help="test trials per condition that fit the choice mode; in [1, 500] [default: 10]")
    ex.add_argument("--n-test", type=count_flag("--n-test", 1), default=10, metavar="N",
                    help="held-out trials per condition, perturbed; in [1, 500] [default: 10]")
    for flag, what in (("--starts", "photoinhibition window starts"), ("--durations", "their lengths"),
                       ("--times", "distractor onsets"), ("--amplitudes", "kick amplitudes, in [0, 1000]"),
                       ("--kick-times", "kick onsets")):
        ex.add_argument(flag, type=_numbers(flag), metavar="X,Y,...", help=f"{what} [default: over the delay]")
    ex.add_argument("--strength", type=_number("--strength"), default=1.0, metavar="X",
                    help="photoinhibition: current to each I cell; in [0, 100] [default: 1]")
    ex.add_argument("--distractor-strength", type=_number("--distractor-strength"), default=1.0, metavar="X",
                    help="scale of the other condition's stimulus; in [0, 10] [default: 1]")
    ex.add_argument("--kick-duration", type=_number("--kick-duration"), metavar="MS",
                    help="length of a kick, ms [default: 50]")
    ex.add_argument("--control", action="store_true",
                    help="also train and perturb the control without condition-carrying feed-forward input")
    ex.add_argument("--jobs", type=count_flag("--jobs", 1), metavar="N",
                    help="threads running trials; in [1, 256] [default: all cores]")
    add_param_flags(sp, BalancedParams)
    return sp


_EPILOG = """\
examples:
  rls-tutorial part5 --lecture --data DIR --out p5
  rls-tutorial part5 --from spec.npz --out p5-spec --control --jobs 8
  rls-tutorial part5 --synthetic --N 400 --K 40 --n-trained 20 --experiment kick --amplitudes 0,50 --out p5
"""


# ---------------------------------------------------------------------------
# The grid: defaults over the delay, checks naming the flag (tutorial_lib.sweep.part5, shared with the sweep)


def _experiments(sp, text: str) -> tuple:
    names = [t.strip() for t in text.split(",")]
    if names == ["all"]:
        return EXPERIMENTS
    bad = [n for n in names if n not in EXPERIMENTS]
    if bad or len(set(names)) != len(names):
        sp.error(f"--experiment must be 'all' or names of {', '.join(EXPERIMENTS)}, each once "
                 f"(got {short_repr(text)})")
    return tuple(n for n in EXPERIMENTS if n in names)


def _grid(sp, args, p: BalancedParams) -> Grid:
    """The grid of the flags (defaults over the delay of ``p`` for the flags not given), checked."""
    if args.kick_duration is not None:  # before the default onsets are spread over what is left of the delay
        in_range(sp.error, "--kick-duration", [args.kick_duration], p.dt, p.t_end - READOUT_MS - p.stim_off,
                 "kick length, ms", p.dt)
    g = default_grid(p, _experiments(sp, args.experiment), args.kick_duration)
    for name in ("starts", "durations", "times", "amplitudes", "kick_times"):
        if getattr(args, name) is not None:
            setattr(g, name, getattr(args, name))
    g.strength, g.distractor_strength = args.strength, args.distractor_strength
    check_grid(sp.error, g, p)
    return g


# ---------------------------------------------------------------------------
# The run


def run_part5(args, argv) -> int:
    """``rls-tutorial part5 ...`` after its flags are parsed; the exit code (see the module's header)."""
    intr = LoopSignals()
    with intr:  # from the checks to the last file written: a signal never leaves a file half done
        return Part5Run(args._part5_parser, args, argv, intr).run()


def _versions() -> dict:
    out = {"tutorial_lib": __version__, "python": platform.python_version(), "numpy": np.__version__}
    try:
        out["numba"] = importlib.metadata.version("numba")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - numba is a dependency
        out["numba"] = None
    return out


class Part5Run:
    """The state of one ``rls-tutorial part5`` run: check the flags, get the network, run the experiments,
    write the tables (:meth:`run`)."""

    def __init__(self, sp, args, argv, intr: LoopSignals):
        self.sp, self.args, self.argv, self.intr = sp, args, argv, intr
        self.out = None  # --out as a Path, once checked
        self.model = PARTS["part3"].model  # tutorial_lib.balanced, imported on first use
        self.params = self.loaded = self.grid = None
        self.rows, self.networks = [], {}
        self.stopped, self.failure, self.t0 = False, None, time.perf_counter()

    def run(self) -> int:
        """The stages in order; the exit code."""
        code = self.check_flags()
        if code is not None:
            return code
        result = self.loaded
        if result is None:
            result, code = self.train()
            if code is not None:
                return code
        return self.experiments(result)

    # -- checks ---------------------------------------------------------------

    def check_flags(self) -> int | None:
        """Refuse (``sp.error``, exit 2) flags that could not work, before any training; load ``--from``
        (exit 1 if it cannot be read: nothing is written then)."""
        sp, args = self.sp, self.args
        for dest, value in vars(args).items():  # "--flag=--": argparse drops the "--", leaves an empty list
            if isinstance(value, list) and not value:
                sp.error(f"--{'from' if dest == 'from_path' else dest.replace('_', '-')} needs a value")
        for flag, value, hi in (("--n-train", args.n_train, 500), ("--n-test", args.n_test, 500),
                                ("--jobs", args.jobs, 256)):
            if value is not None and not 1 <= value <= hi:
                sp.error(f"{flag} must be in [1, {hi}] (got {value})")
        self._check_out()
        if args.from_path is not None:
            code = self._load()
            if code is not None:
                return code
            self.params = self.loaded.params
        else:
            self.params = make_params(sp, args, BalancedParams)
            try:  # sizes that would not fit in memory: refused by name now, not after minutes of building
                check_memory(self.params)
            except (ValueError, TypeError) as exc:
                sp.error(one_line(exc))
            self.part3 = Part3Run(sp, self._part3_args(), PARTS["part3"], self.params, self.argv, self.intr)
            self.part3.check_flags()
        if args.control and not self.params.ffwd:
            sp.error("--control needs feed-forward inputs (the network's params.ffwd is False): there is no "
                     "condition to remove")
        self.grid = _grid(sp, args, self.params)
        return None

    def _part3_args(self) -> argparse.Namespace:
        """The flags as ``rls-tutorial part3`` would have them: no --out or --scores-json (part5 writes its own)."""
        ns = argparse.Namespace(**vars(self.args))
        ns.out, ns.scores_json, ns.save_rls = None, None, False
        return ns

    def _check_out(self) -> None:
        """--out: a folder (made if missing, in a folder that exists) that can be written, holding no file of an
        earlier run unless --force."""
        sp, args = self.sp, self.args
        try:
            check_input_path("--out", args.out)
            out = self.out = Path(args.out).expanduser()
        except (ValueError, RuntimeError) as exc:  # RuntimeError: ~ of a user that does not exist
            sp.error(f"--out {short_repr(args.out, 120)}: {one_line(exc)}")
        try:
            if out.exists() and not is_dir(out):
                sp.error(f"--out {short_repr(args.out, 120)} is a file, not a folder: give a folder for the results")
            if not out.exists():
                if not is_dir(out.parent):
                    sp.error(f"--out {short_repr(args.out, 120)}: the folder {out.parent} does not exist")
                out.mkdir()
        except OSError as exc:  # a name too long, no permission
            sp.error(f"--out {short_repr(args.out, 120)}: cannot be used as a folder ({exc.strerror or exc})")
        mine = ["trials", "summary"] + (["trained"] if args.from_path is None else []) + (
            ["control"] if args.control else [])
        for key in mine:
            check_folder(sp, "--out", str(out / FILES[key]))
            if (out / FILES[key]).exists() and not args.force:
                sp.error(f"--out {out} already holds {FILES[key]} (of an earlier run): add --force to overwrite "
                         "it, or choose another --out")
        if args.from_path is not None:
            named = [f"--{f.name.replace('_', '-')}" for f in fields(BalancedParams) if hasattr(args, f.name)]
            named += [flag for flag, on in (("--config", args.config), ("--lecture", args.lecture),
                                            ("--data", args.data), ("--synthetic", args.synthetic),
                                            ("--checkpoint", args.checkpoint), ("--resume", args.resume)) if on]
            if named:
                sp.error(f"--from uses the saved network's own parameters and data: leave out {', '.join(named)}")

    def _load(self) -> int | None:
        """The network of --from (a TrainResult), or exit code 1 with one line saying why it cannot be read."""
        path = self.args.from_path
        try:
            check_input_path("--from", path)
        except ValueError as exc:
            self.sp.error(str(exc))
        try:
            self.loaded = self.model().load(path)
        except (FormatError, OSError, ValueError, TypeError) as exc:
            return error_line(f"cannot load --from {short_repr(path, 120)}: {one_line(exc)}")
        print(f"Loaded {path}: {self.loaded.n_loops} training loop(s), N = {self.loaded.params.N}.")
        return None

    # -- the network ----------------------------------------------------------

    def train(self):
        """Train as ``rls-tutorial part3`` does (checkpoints, resume, signals) and save the network to --out:
        ``(result, None)``, or ``(None, exit code)`` if it ended otherwise."""
        run = self.part3
        code = run.resume()
        if code is None:
            code = run.train()
        if code is None and self.intr.stop.is_set():
            code = run.report_stop()
        if code is None:
            code = run.finish() or None
        if code is not None:
            return None, code
        path = self._save_network(run.result, "trained")
        if path is not None:
            print(f"Saved the trained network to {path} (--from takes it).")
        if self.intr.stop.is_set():
            print(f"Interrupted ({signal_name(self.intr.exit_code)}) before the experiments; the trained "
                  f"network is in {path}.", file=sys.stderr)
            return None, self.intr.exit_code
        return run.result, None

    def _save_network(self, result, key: str):
        try:
            return self.model().save(result, self.out / FILES[key], include_rls=False)
        except OSError as exc:
            error_line(f"cannot save {self.out / FILES[key]}: {one_line(exc)}")
            return None

    def train_control(self, att, result):
        """The control (:func:`~tutorial_lib.attractors.without_condition_ffwd`) trained as ``result`` was;
        None if stopped (the loop in progress finishes, or is abandoned at a second signal) or diverged."""
        intr, n_loops = self.intr, result.n_loops or self.params.n_loops  # the loops the network had
        bar = tqdm(total=n_loops, desc="control training", unit="loop", dynamic_ncols=True)
        new = None
        try:
            intr.armed = True
            new = self.model().train(att.without_condition_ffwd(result), n_loops=n_loops, progress=False,
                                     stop=intr.stop, callback=lambda *a: bar.update(1))
        except KeyboardInterrupt:
            pass
        except DivergenceError as exc:
            self.failure = f"the control diverged: {one_line(exc)}"
            self.networks["control"] = {"error": self.failure}
        finally:
            intr.armed = False
            bar.close()
        if new is None or intr.stop.is_set() or intr.raised:
            self.stopped = self.stopped or intr.stop.is_set()
            return None
        self._save_network(new, "control")
        return new

    # -- the experiments ------------------------------------------------------

    def experiments(self, result) -> int:
        """The read-out and the experiments on the trained network (and the control), the tables written after
        each; the exit code."""
        att = importlib.import_module("tutorial_lib.attractors")
        g = self.grid
        print(f"Experiments: {', '.join(g.experiments)}; read-out on {self.args.n_train} + {self.args.n_test} "
              f"test trials per condition; tables in {self.out}", flush=True)
        self.data = {"source": result.network.alm.source, "synthetic": bool(result.network.alm.synthetic)}
        try:
            self.perturb(att, "trained", result)
            if self.args.control and not self.stopped and not self.intr.stop.is_set():
                control = self.train_control(att, result)
                if control is not None:
                    self.perturb(att, "control", control)
        except (ValueError, TypeError) as exc:  # a setting the checks above let through: one line
            self.failure = one_line(exc)
        self.stopped = self.stopped or self.intr.stop.is_set()
        self.save(complete=not self.stopped and self.failure is None)
        self.report()
        if self.failure is not None:
            return error_line(self.failure)
        if self.intr.signum is not None:
            print(f"Interrupted ({signal_name(self.intr.exit_code)}): {len(self.rows)} trial(s) written to "
                  f"{self.out / FILES['trials']} (stopped: {str(self.stopped).lower()}).", file=sys.stderr)
            return self.intr.exit_code
        return 0

    def perturb(self, att, name: str, result) -> None:
        """Fit the choice mode of ``result`` and run every experiment on it; rows and summary of ``name``."""
        intr, args = self.intr, self.args
        try:
            intr.armed = intr.eager = True  # nothing to finish: a signal abandons the read-out's trials
            readout = att.fit_choice(result, args.n_train, args.n_test, readout_ms=READOUT_MS, progress=True,
                                     n_jobs=args.jobs)
        except KeyboardInterrupt:
            self.stopped = True
            return
        finally:
            intr.armed = intr.eager = False
        entry = {"readout": {"accuracy": readout.accuracy, "n_train": args.n_train, "n_test": args.n_test,
                             "midpoint_hz": float(readout.midpoint), "mode_window_ms": list(readout.mode_window),
                             "readout_window_ms": list(readout.readout_window), "neurons": int(readout.neurons.size)},
                 "experiments": {}}
        self.networks[name] = entry
        print(f"{name}: read-out accuracy {readout.accuracy:.3f} on the held-out trials", flush=True)
        for exp in self.grid.experiments:
            if intr.stop.is_set():
                self.stopped = True
                return
            out = self.run_one(att, exp, result, readout)
            self.add(name, out)
            self.save(complete=False)
            if out.stopped:
                self.stopped = True
                return

    def run_one(self, att, exp: str, result, readout):
        """One experiment (its trials on --jobs threads; ``stop`` ends it after the trials in flight)."""
        g, kw = self.grid, {"progress": True, "stop": self.intr.stop, "n_jobs": self.args.jobs}
        if exp == "photoinhibition":
            return att.photoinhibition(result, readout, g.starts, g.durations, g.strength, **kw)
        if exp == "distractor":
            return att.distractors(result, readout, g.times, g.distractor_strength, **kw)
        return att.kicks(result, readout, g.amplitudes, g.kick_times, g.kick_duration, **kw)

    def add(self, name: str, out) -> None:
        """The rows and the summary of one experiment's :class:`~tutorial_lib.attractors.Outcomes`."""
        for i in range(len(out)):
            self.rows.append([out.experiment, name, out.condition[i], int(out.trial[i]), repr(float(out.start[i])),
                              repr(float(out.duration[i])), repr(float(out.strength[i])), int(out.baseline[i]),
                              int(out.choice[i]), int(bool(out.switched[i])), repr(float(out.end[i]))])
        doc = {"stopped": bool(out.stopped), "n_trials": len(out), "settings": records(out.summary())}
        if out.experiment == "kick":  # a50 None at a time with fewer than two amplitudes (one asked, or stopped)
            doc["thresholds"] = records(out.thresholds())
        self.networks[name]["experiments"][out.experiment] = doc

    # -- the files ------------------------------------------------------------

    def save(self, complete: bool) -> None:
        """Write both tables, each atomically (a signal meanwhile waits until they are written)."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(self.rows)
        data = text.getvalue().encode()
        atomic_write(self.out / FILES["trials"], lambda f: f.write(data))
        write_json(self.out / FILES["summary"], self.summary(complete))

    def summary(self, complete: bool) -> dict:
        """The ``part5_summary.json`` document."""
        g = self.grid
        return {
            "part": 5, "command": "rls-tutorial " + shlex.join(self.argv), "complete": complete,
            "stopped": bool(self.stopped), "error": self.failure, "n_trials": len(self.rows),
            "network": str(self.args.from_path) if self.args.from_path is not None else FILES["trained"],
            "networks": self.networks,
            "grid": {"experiments": list(g.experiments),
                     "photoinhibition": {"starts": g.starts, "durations": g.durations, "strength": g.strength},
                     "distractor": {"times": g.times, "strength": g.distractor_strength},
                     "kick": {"amplitudes": g.amplitudes, "times": g.kick_times, "duration": g.kick_duration}},
            "params": params_to_dict(self.params), "data": self.data, "versions": _versions(),
            "wall_seconds": round(time.perf_counter() - self.t0, 1),
            "notes": "times in ms of the trial, strengths in threshold units; per setting: n trials, the switched "
                     "fraction with its Wilson 95% interval (low, high) and the recovered fraction; kick "
                     "thresholds: the amplitude a50 that switches half of the trials at each start time, with "
                     "its interval (bounded false: outside the amplitudes tried); part5_trials.csv: switched "
                     "1/0, baseline and choice +1 right, -1 left, 0 undecided, end the mean projection (Hz) in "
                     "the read-out window.",
        }

    def report(self) -> None:
        """The summary in a few lines on stdout."""
        for name, entry in self.networks.items():
            for exp, doc in entry.get("experiments", {}).items():
                print(f"{name} {exp}: {doc['n_trials']} trials" + (" (stopped)" if doc["stopped"] else ""))
                for s in doc["settings"]:
                    print(f"  start {s['start']:g} ms, {s['duration']:g} ms, strength {s['strength']:g}: switched "
                          f"{s['switched']:.2f} [{s['low']:.2f}, {s['high']:.2f}] of {s['n']}")
                for t in doc.get("thresholds") or []:
                    if t["a50"] is None:  # one amplitude asked, or stopped before a second: nothing to fit
                        print(f"  kick at {t['start']:g} ms: no a50 (it needs trials at two amplitudes or more)")
                        continue
                    a50, lo, hi = (f"{t[k]:.3g}" for k in ("a50", "low", "high"))
                    print(f"  kick at {t['start']:g} ms: a50 {a50} [{lo}, {hi}]"
                          + ("" if t["bounded"] else " (not bounded by the amplitudes tried)"))
        print(f"Wrote {self.out / FILES['trials']} ({len(self.rows)} trials) and {self.out / FILES['summary']}.")
