r"""``rls-tutorial part3``: the balanced network trained in chunks, with checkpoints, resume, signals and atomic saves.

:class:`Part3Run` holds one run's state; its stages (check the flags, resume, train with a checkpoint
every ``--checkpoint-every`` loops, report a stop, the final test and the files) are its methods,
run in order by :func:`run_part3_stages`. Signals: :class:`~tutorial_lib.interrupts.LoopSignals`
(the first Ctrl-C stops after the current loop, a second one or SIGTERM abandons it); a file being
written is finished first. See :mod:`tutorial_lib.cli` for the flags and the exit codes.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

from tqdm.auto import tqdm

from .. import __version__
from ..cli_args import (EXIT_SIGINT, EXIT_USAGE, check_folder, check_input_path, error_line, is_dir, jsonable, one_line,
                       short_repr, write_json)
from ..data import ENV_VAR, DataError, load_alm, synthetic_alm
from ..errors import DivergenceError
from ..interrupts import LoopSignals, signal_name
from ..params import BalancedParams
from ..storage import FormatError, npz_path, params_to_dict

__all__ = ["Part3Run", "run_part3", "run_part3_stages", "params_diff", "scores_doc", "load_data"]


def params_diff(saved: BalancedParams, wanted: BalancedParams) -> list[str]:
    """The fields (other than n_loops) in which two parameter sets differ, as ``name: a (saved) vs b``."""
    out = []
    for f in fields(BalancedParams):
        if f.name == "n_loops":
            continue
        a, b = getattr(saved, f.name), getattr(wanted, f.name)
        if a != b:
            out.append(f"{f.name} = {a!r} in the checkpoint, {b!r} requested")
    return out


def npz_or_none(path):
    """``path`` as the .npz path that ``balanced.save`` writes (None stays None)."""
    return None if path is None else npz_path(path)


def scores_doc(result, argv, final=None, wall_seconds=None) -> dict:
    """The ``--scores-json`` document of a Part 3 run (see :mod:`tutorial_lib.cli`); ``final`` the final test."""
    n = result.n_loops
    net = result.network
    return {
        "part": 3,
        "command": "rls-tutorial " + shlex.join(argv),
        "n_loops": result.params.n_loops,
        "n_loops_done": n,
        "complete": n >= result.params.n_loops and final is not None,
        "loops": list(range(1, n + 1)),
        "training_scores": jsonable(result.scores),
        "test_loops": [int(k) for k in result.test_loops],
        "test_scores": jsonable(result.test_scores),
        "test_scores_avg": jsonable(result.test_scores_avg),
        "seconds_per_loop": jsonable(result.loop_seconds),
        "final_test": final,
        "wall_seconds": wall_seconds,
        "n_trained": int(net.n_trained),
        "data": {"source": net.alm.source, "synthetic": bool(net.alm.synthetic)},
        "params": params_to_dict(result.params),
        "tutorial_lib_version": __version__,
        "notes": "training_scores: the lick-right training trial of each loop, measured while learning; "
                 "test_scores: the first test trial without learning (the original's score); "
                 "test_scores_avg: correlation of the input averaged over params.n_test_trials test trials; "
                 "wall_seconds: this command from the build (or the resume) to the end of the final test "
                 "(None until then).",
    }


def load_data(args):
    """The ALM recordings for a new network (``--synthetic``: the stand-in), said in one line."""
    if args.synthetic:
        print("Using the SYNTHETIC stand-in for the ALM data (not a recording).")
        return synthetic_alm()
    data = load_alm(fallback=None)
    print(f"Data: {data.source}")
    return data


def run_part3(sp, args, part, params: BalancedParams, argv) -> int:
    """``rls-tutorial part3 ...`` after its parameters are made: ``part`` is its registry entry; the exit code."""
    intr = LoopSignals()
    with intr:  # from the checks to the last file written: a signal never leaves a file half done
        return run_part3_stages(sp, args, part, params, argv, intr)


def run_part3_stages(sp, args, part, params: BalancedParams, argv, intr: LoopSignals) -> int:
    """Part 3 in its stages: check the flags, resume, train (with checkpoints), test, save."""
    run = Part3Run(sp, args, part, params, argv, intr)
    run.check_flags()
    code = run.resume()
    if code is not None:
        return code
    code = run.train()
    if code is not None:
        return code
    if intr.stop.is_set():  # interrupted: the loop in progress was finished or abandoned
        return run.report_stop()
    return run.finish()


class Part3Run:
    """The state of one ``rls-tutorial part3`` run, shared by its stages (see :func:`run_part3_stages`)."""

    def __init__(self, sp, args, part, params: BalancedParams, argv, intr: LoopSignals):
        self.sp, self.args, self.params, self.argv, self.intr = sp, args, params, argv, intr
        self.model = part.model()  # tutorial_lib.balanced: build_network, train, save, load
        self.out, self.ck = npz_or_none(args.out), npz_or_none(args.checkpoint)
        self.total = params.n_loops
        self.result = None
        self.saved_loops = None  # loops held by the checkpoint file
        self.abandoned = False   # a loop in progress was given up (Ctrl-C twice, SIGTERM)
        self.bar = None
        self.t_start = None
        self.resume_cmd = "rls-tutorial " + shlex.join(argv + ([] if args.resume else ["--resume"]))

    def check_flags(self) -> None:
        """Refuse (``sp.error``, exit 2) running flags that could not work, before anything is built."""
        sp, args, out, ck = self.sp, self.args, self.out, self.ck
        for flag, given, path in (("--out", args.out, out), ("--checkpoint", args.checkpoint, ck)):
            check_folder(sp, flag, given)  # "--out runs" where runs is a folder: refused, not runs.npz
            check_folder(sp, flag, path)
        if args.checkpoint_every < 1:
            sp.error(f"--checkpoint-every must be >= 1 (got {args.checkpoint_every})")
        if args.resume and ck is None:
            sp.error("--resume needs --checkpoint PATH (the checkpoint to continue from)")
        if ck is not None and ck.exists() and not args.resume:
            sp.error(f"the checkpoint {ck} exists: add --resume to continue from it, or delete it or choose "
                     "another --checkpoint to start afresh")
        named = (("--out", out), ("--checkpoint", ck), ("--scores-json", args.scores_json))
        outputs = [(flag, Path(path).expanduser().resolve()) for flag, path in named if path is not None]
        for i, (flag, path) in enumerate(outputs):
            for other, other_path in outputs[i + 1:]:
                if path == other_path:
                    sp.error(f"{flag} and {other} must be different files (both are {path})")
        if args.data is not None:  # "--data ''" is a mistake, not "no folder given"
            try:
                check_input_path("--data", args.data)
            except ValueError as exc:
                sp.error(str(exc))
            if not is_dir(args.data):
                sp.error(f"--data {short_repr(args.data, 120)}: not a folder")
            folder = Path(args.data).expanduser()
            os.environ[ENV_VAR] = str(folder)
        if args.synthetic and args.data is not None:
            sp.error("--synthetic and --data exclude each other")

    def resume(self) -> int | None:
        """With --resume and an existing checkpoint, load it (``self.result``); an exit code if it cannot."""
        args, ck, total = self.args, self.ck, self.total
        if args.resume and ck.exists():
            try:
                result = self.model.load(ck)
            except (FormatError, OSError) as exc:
                return error_line(f"cannot resume from {ck}: {one_line(exc)}")
            diff = params_diff(result.params, self.params)
            if diff:
                return error_line(f"cannot resume from {ck}: it was trained with other parameters "
                              f"({'; '.join(diff)}). Give the same flags (or --config) as the original run, "
                              "or another --checkpoint.", EXIT_USAGE)
            if result.n_loops > total:
                return error_line(f"cannot resume from {ck}: it holds {result.n_loops} loops, more than "
                              f"n_loops = {total}; ask for --n-loops {result.n_loops} or more", EXIT_USAGE)
            if result.n_loops > 0 and result.rls is None:
                return error_line(f"cannot resume from {ck}: it holds no RLS state (saved without P)")
            if result.params.n_loops != total:  # only the requested total changes
                result.network.params = replace(result.params, n_loops=total)
            print(f"Resuming from {ck}: {result.n_loops} of {total} loops done.")
            self.result, self.saved_loops = result, result.n_loops
        elif args.resume:
            print(f"No checkpoint at {ck} yet: starting from loop 1.")
        return None

    def save_checkpoint(self, res) -> None:
        """Write the checkpoint file (and --scores-json) of ``res``."""
        self.model.save(res, self.ck)
        self.saved_loops = res.n_loops
        if self.args.scores_json:
            write_json(self.args.scores_json, scores_doc(res, self.argv))

    def callback(self, k, record, scores):
        """After every loop: the progress bar, and the scores every --report-every loops."""
        self.bar.update(1)
        self.bar.set_postfix(score=f"{record.score:.3f}")
        g = record.loop + 1
        if self.args.report_every and (g % self.args.report_every == 0 or g == self.total):
            tqdm.write(f"loop {g:4d}  training score {record.score:.4f} (right), "
                       f"{record.trials['left'].score:.4f} (left)")
        if record.test is not None:
            tqdm.write(f"loop {g:4d}  test score {record.test.score:.4f} (single trial), "
                       f"{record.test.score_avg:.4f} (averaged over {self.params.n_test_trials} trials)")

    def where_saved(self) -> str:
        ck = self.ck
        if ck is None:
            return "nothing was saved (use --checkpoint PATH to make a run resumable)"
        if self.saved_loops is None:
            return f"no checkpoint was saved yet; start again with: {self.resume_cmd}"
        return (f"the checkpoint {ck} holds {self.saved_loops} of {self.total} loops; "
                f"resume with: {self.resume_cmd}")

    def train(self) -> int | None:
        """Build (unless resumed), train in chunks of --checkpoint-every loops; an exit code on an error."""
        intr, ck = self.intr, self.ck
        self.t_start = time.perf_counter()
        try:
            with intr:
                self._train_loops()
        except KeyboardInterrupt:  # while building, before training
            print(f"Interrupted; {self.where_saved()}", file=sys.stderr)
            return intr.exit_code if intr.signum else EXIT_SIGINT
        except DivergenceError as exc:
            extra = ""
            if ck is not None and self.saved_loops is not None:
                extra = f" (the checkpoint {ck} holds {self.saved_loops} loops)"
            return error_line(one_line(exc) + extra)
        except ValueError as exc:
            return error_line(one_line(exc), EXIT_USAGE)
        except DataError as exc:
            hint = ("" if self.args.data
                    else " (or pass --data DIR; --synthetic trains on a synthetic stand-in)")
            return error_line(one_line(exc) + hint)
        except (OSError, FormatError) as exc:
            return error_line(one_line(exc))
        return None

    def _train_loops(self) -> None:
        """Build the network (unless resumed) and train the loops still to do, the progress bar around them."""
        intr, args, total = self.intr, self.args, self.total
        result, net = self.result, None
        try:
            if result is None:
                intr.armed = intr.eager = True
                try:
                    net = self.model.build_network(self.params, load_data(args), progress=True)
                finally:
                    intr.armed = intr.eager = False
            done = 0 if result is None else result.n_loops
            self.bar = tqdm(total=total, initial=done, desc="Part 3 training", unit="loop",
                            dynamic_ncols=True)
            if done < total:
                self._train_rest(result if result is not None else net, total - done)
        finally:  # the bar ends before any message about how the run ended
            if self.bar is not None:
                self.bar.close()

    def _train_rest(self, start, n_loops: int) -> None:
        """Train ``start`` (a network, or the result to continue) for ``n_loops`` loops in one call of the
        model's ``train``, which calls :meth:`checkpoint` every --checkpoint-every loops (with --checkpoint)."""
        intr, ck = self.intr, self.ck
        new = None
        intr.armed = True
        try:
            new = self.model.train(start, n_loops=n_loops, progress=False, callback=self.callback, stop=intr.stop,
                                   checkpoint=None if ck is None else self.checkpoint,
                                   checkpoint_every=self.args.checkpoint_every)
        except KeyboardInterrupt:
            intr.abandon = True
        finally:
            intr.armed = False
        if new is None or intr.raised:
            self.abandoned = True
            return  # ``new`` may hold a half-trained loop: discard it
        self.result = new
        if ck is not None and new.n_loops != self.saved_loops:
            self.save_checkpoint(new)

    def checkpoint(self, res) -> None:
        """Save a checkpoint while training (the loops so far, between two loops); a signal that comes
        meanwhile waits until the file is written, and then only stops the training (as between loops)."""
        intr = self.intr
        intr.armed = False
        try:
            self.save_checkpoint(res)
        finally:
            intr.armed = True

    def report_stop(self) -> int:
        """After Ctrl-C or SIGTERM: say what was kept (saving the loops done if there is no checkpoint)."""
        result, out = self.result, self.out
        if self.abandoned:
            print(f"Interrupted: the loop in progress was abandoned; {self.where_saved()}", file=sys.stderr)
        else:
            n = result.n_loops if result is not None else 0
            if self.ck is None and out is not None and result is not None:
                self.model.save(result, out, include_rls=True)
                print(f"Stopped after {n} loops; saved them (with the RLS state) to {out}.", file=sys.stderr)
                if self.args.scores_json:
                    write_json(self.args.scores_json, scores_doc(result, self.argv))
            else:
                print(f"Stopped after {n} loops; {self.where_saved()}", file=sys.stderr)
        return self.intr.exit_code

    def finish(self) -> int:
        """The final test without learning, then --out and --scores-json."""
        intr, params, result, out, args = self.intr, self.params, self.result, self.out, self.args
        elapsed = time.perf_counter() - self.t_start
        print(f"Training done: {self.total} loop(s) ({elapsed:.1f} s in this run).")
        intr.armed = intr.eager = True
        try:
            tested = result.test(n_trials=params.n_test_trials)
        except KeyboardInterrupt:
            print(f"Interrupted during the final test; {self.where_saved()}", file=sys.stderr)
            return intr.exit_code
        except DivergenceError as exc:
            return error_line(one_line(exc))
        finally:
            intr.armed = intr.eager = False
        print(f"final test ({params.n_test_trials} trials, no learning): single-trial score "
              f"{tested.score:.4f}, trial-averaged score {tested.score_avg:.4f}")
        wall = round(time.perf_counter() - self.t_start, 1)
        final = {"n_trials": int(params.n_test_trials), "score": jsonable([tested.score])[0],
                 "score_avg": jsonable([tested.score_avg])[0], "scores": jsonable(tested.scores)}
        try:
            if out is not None:
                path = self.model.save(result, out, include_rls=args.save_rls)
                print(f"Saved the trained network to {path}"
                      + (" (with the RLS state)." if args.save_rls else "."))
            if args.scores_json:
                write_json(args.scores_json, scores_doc(result, self.argv, final, wall_seconds=wall))
                print(f"Wrote the score history to {args.scores_json}.")
        except OSError as exc:
            return error_line(one_line(exc))
        if intr.signum is not None:  # it came while the files were written: they were finished first
            print(f"Interrupted ({signal_name(intr.exit_code)}) while saving; the training and the files "
                  "written are complete.", file=sys.stderr)
            return intr.exit_code
        return 0
