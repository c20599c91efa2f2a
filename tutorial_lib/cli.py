r"""Command line: ``rls-tutorial <part> [--param value ...]`` (also ``python -m tutorial_lib``).

Why one module of about 850 lines: one entry point whose flags are generated from the parameters'
metadata; most of its length is Part 3's run with checkpoints, resume, signals and atomic saves,
written as named stages of one class, which must agree with each other line by line.

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
import json
import math
import os
import re
import shlex
import signal
import sys
import threading
import time
import typing
from dataclasses import fields, replace
from pathlib import Path

from .interrupts import swallowed
from .params import CHOICES, BalancedParams, RateParams, SpikingParams
from .checks import check_memory
from .errors import DivergenceError

PARTS = {"part1": RateParams, "part2": SpikingParams, "part3": BalancedParams}

# Words that mean ``None`` for the optional fields (besides "none"), and what None means.
NONE_WORDS = {
    "K": ("all",),                    # parts 1 and 2: all-to-all
    "n_trained": ("all",),            # part 3: every ALM neuron
    "inh_weight_ratio": ("measured",),  # part 3: measured from the static run
}
MAX_CONFIG_BYTES = 2**20  # a --config file of parameter values is a few kB; /dev/zero is not one

EXIT_USAGE = 2
EXIT_SIGINT = 128 + signal.SIGINT    # 130
EXIT_SIGTERM = 128 + signal.SIGTERM  # 143


# ---------------------------------------------------------------------------
# Flags from the parameter dataclasses


def field_help(f) -> str:
    """The ``--help`` text of a parameter field, from its metadata: help, unit, valid range, what None means.

    E.g. ``inputs per neuron; >= 1 ('all': all-to-all)``. The range is the field's own
    (:func:`~tutorial_lib.params.param`); ranges that depend on other fields are checked
    when the parameters are built, and named in the error."""
    m = f.metadata
    text = m["help"] + (f", {m['unit']}" if m["unit"] else "")
    lo, hi = m["lo"], m["hi"]
    if lo is not None and hi is not None:
        text += "; in " + ("(" if m["lo_open"] else "[") + f"{lo:g}, {hi:g}" + (")" if m["hi_open"] else "]")
    elif lo is not None:
        text += f"; {'>' if m['lo_open'] else '>='} {lo:g}"
    elif hi is not None:
        text += f"; {'<' if m['hi_open'] else '<='} {hi:g}"
    if m["none"]:
        text += f" ('{NONE_WORDS.get(f.name, ('none',))[0]}': {m['none']})"
    return text


def _base_type(hint):
    """``(type, optional)`` for a field annotation such as ``int``, ``int | None``, ``bool``."""
    args = typing.get_args(hint)
    if args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:  # pragma: no cover - no such field
            raise TypeError(f"unsupported annotation {hint!r}")
        return rest[0], type(None) in args
    return hint, False


#: whole numbers beyond this are refused while parsing (no parameter comes near; the message would
#: otherwise print hundreds of digits of 1e308)
MAX_WHOLE = 10**18


def _parse_int(text: str) -> int:
    """A whole number, also written as a float (``2000.0``) or in exponent form (``1e3``, ``-5e0``)."""
    try:
        value = int(text)
    except ValueError:
        x = float(text)  # 1e3, 2000.0
        if not (math.isfinite(x) and x.is_integer()):
            raise
        value = int(x)
    if abs(value) > MAX_WHOLE:
        raise ValueError(text)
    return value


def _range_text(m) -> str:
    """A field's own range from its metadata, as ``in [2, 5000]`` or ``>= 1`` ('' if it has none)."""
    lo, hi = m.get("lo"), m.get("hi")
    if lo is not None and hi is not None:
        return "in " + ("(" if m["lo_open"] else "[") + f"{lo:g}, {hi:g}" + (")" if m["hi_open"] else "]")
    if lo is not None:
        return f"{'>' if m['lo_open'] else '>='} {lo:g}"
    if hi is not None:
        return f"{'<' if m['hi_open'] else '<='} {hi:g}"
    return ""


def _parse_bool(text: str) -> bool:
    t = text.strip().lower()
    if t in ("true", "yes", "on", "1"):
        return True
    if t in ("false", "no", "off", "0"):
        return False
    raise ValueError(text)


def _converter(name: str, kind: type, optional: bool, limits: str = ""):
    """A function ``str -> value`` for the field (argparse ``type=``; also used for config strings).

    ``limits``: the field's range (``in [2, 5000]``), named when a value cannot be read."""
    words = ("none",) + NONE_WORDS.get(name, ())
    parse = {int: _parse_int, float: float, bool: _parse_bool, str: str}[kind]
    what = {int: "a whole number", float: "a number", bool: "true or false", str: "a string"}[kind]
    if optional:
        what += " or " + " / ".join(repr(w) for w in words)
    limits = f"{limits}; " if limits and kind in (int, float) else ""

    def convert(text: str):
        t = str(text).strip()
        if optional and t.lower() in words:
            return None
        try:
            return parse(t)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {what} ({limits}got {_shown(text)})") from None

    convert.__name__ = name  # argparse names the type in some messages
    return convert


def _shown(text, limit: int = 60) -> str:
    """``repr(text)``, cut to ``limit`` characters (a 10,000-character value in one line of error)."""
    r = repr(text)
    return r if len(r) <= limit else r[: limit - 5] + "...'" + f" ({len(str(text)):,} characters)"


def _count_flag(flag: str, lo: int):
    """argparse ``type=`` for a running flag that is a whole number (``--report-every``, ``--jobs``)."""

    def convert(text: str) -> int:
        try:
            return _parse_int(str(text).strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} must be a whole number >= {lo} "
                                             f"(got {_shown(text)})") from None

    convert.__name__ = flag
    return convert


def _field_specs(cls) -> dict:
    """``name -> (kind, optional, converter)`` for every field of ``cls``."""
    hints = typing.get_type_hints(cls)
    specs = {}
    for f in fields(cls):
        kind, optional = _base_type(hints[f.name])
        specs[f.name] = (kind, optional, _converter(f.name, kind, optional, _range_text(f.metadata)))
    return specs


def _add_param_flags(parser: argparse.ArgumentParser, cls) -> None:
    group = parser.add_argument_group(f"{cls.__name__} fields (defaults: the SPEC's)")
    defaults = cls()
    meta = {f.name: f for f in fields(cls)}
    for name, (kind, optional, convert) in _field_specs(cls).items():
        default = getattr(defaults, name)
        flag = f"--{name.replace('_', '-')}"
        doc = field_help(meta[name])
        shown = f"{default:.6g}" if isinstance(default, float) else default
        if default is None:
            shown = NONE_WORDS.get(name, ("none",))[0]
        help_text = f"{doc} [default: {shown}]".strip().replace("%", "%%")
        if kind is bool:
            group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS,
                               help=help_text)
        elif name in CHOICES:
            group.add_argument(flag, dest=name, choices=CHOICES[name], default=argparse.SUPPRESS,
                               help=help_text)
        else:
            metavar = {int: "INT", float: "X"}.get(kind, "TEXT")
            if optional:
                metavar += "|" + NONE_WORDS.get(name, ("none",))[0]
            group.add_argument(flag, dest=name, type=convert, default=argparse.SUPPRESS, metavar=metavar,
                               help=help_text)


def _read_config(path: str, cls) -> dict:
    """Field values from a JSON file; raises ValueError with a message naming the file and field.

    The file holds an object of field values (``{"N": 2000, "n_trained": "all"}``),
    or the ``{"class": ..., "values": {...}}`` form that ``--scores-json`` stores
    under ``"params"`` (so a scores file can be passed as ``--config``).
    """
    try:
        with _expand(f"--config {path}", path).open("rb") as f:  # a pipe works too: <(...)
            raw = f.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ValueError(f"--config {path} is larger than {MAX_CONFIG_BYTES // 2**20} MiB: not a file of "
                             "parameter values")
        d = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read --config {_shown(path, 120)}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"--config {path} is not a text (UTF-8) file") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"--config {path} is not valid JSON: {exc}") from None
    if isinstance(d, dict) and isinstance(d.get("params"), dict) and "values" in d["params"]:
        d = d["params"]
    if isinstance(d, dict) and "values" in d and "class" in d:
        if d["class"] != cls.__name__:
            raise ValueError(f"--config {path} holds {d['class']} parameters, not {cls.__name__}")
        d = d["values"]
    if not isinstance(d, dict):
        raise ValueError(f"--config {path} must hold a JSON object of {cls.__name__} field values")
    specs = _field_specs(cls)
    values = {}
    for key, value in d.items():
        name = str(key).replace("-", "_")
        if name not in specs:
            raise ValueError(f"--config {path}: {key!r} is not a {cls.__name__} field "
                             f"(fields: {', '.join(specs)})")
        kind, _, convert = specs[name]
        if isinstance(value, str) and kind is not str:
            try:
                value = convert(value)
            except argparse.ArgumentTypeError as exc:
                raise ValueError(f"--config {path}: {exc}") from None
        values[name] = value
    return values


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
    for name, cls in PARTS.items():
        sp = sub.add_parser(name, help=cls.__doc__.splitlines()[0], description=cls.__doc__.splitlines()[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog=_PART3_EPILOG if name == "part3" else None)
        run = sp.add_argument_group("running")
        run.add_argument("--config", metavar="FILE",
                         help="JSON file of field values (a --scores-json file works too); flags override it")
        if name == "part3":
            run.add_argument("--lecture", action="store_true",
                             help="start from BalancedParams.lecture() (N=2000, K=200, 100 trained neurons, "
                                  "30 loops); --config and flags override it")
            run.add_argument("--data", metavar="DIR",
                             help="folder of the four ALM .jld files (sets $TUTORIAL_ALM_DATA; default: that "
                                  "variable, else the downloaded copy in the user's cache)")
            run.add_argument("--synthetic", action="store_true",
                             help="train on the synthetic stand-in for the ALM data (not a recording)")
        run.add_argument("--report-every", type=_count_flag("--report-every", 0), default=10, metavar="N",
                         help="print the training score every N loops (0: never) [default: 10]")
        run.add_argument("--scores-json", metavar="PATH",
                         help="write the score history and parameters as JSON")
        if name == "part3":
            run.add_argument("--out", metavar="PATH", help="save the trained network here (.npz)")
            run.add_argument("--save-rls", action="store_true",
                             help="include the RLS state in --out (to train it further; a larger file)")
            run.add_argument("--checkpoint", metavar="PATH",
                             help="save network, RLS state and history here every --checkpoint-every loops "
                                  "and when interrupted (.npz)")
            run.add_argument("--checkpoint-every", type=_count_flag("--checkpoint-every", 1), default=10,
                             metavar="N",
                             help="loops between checkpoints [default: 10]")
            run.add_argument("--resume", action="store_true",
                             help="continue from --checkpoint (same parameters; --n-loops may be larger) up "
                                  "to n_loops loops in total; starts afresh if the checkpoint does not exist "
                                  "yet")
        _add_param_flags(sp, cls)
        subs[name] = sp
    from .sweep import add_cli_parser

    add_cli_parser(sub)  # rls-tutorial sweep PART ...: not in subs, which maps the parts' own parsers
    return ap, subs


_PART3_EPILOG = """\
examples:
  rls-tutorial part3 --lecture --data DIR --out lecture.npz
  rls-tutorial part3 --data DIR --checkpoint spec.ckpt.npz --out spec.npz --scores-json spec.json
  (interrupted? run the same command with --resume)
  rls-tutorial part3 --data DIR --n-trained 200 --inh-weight-ratio measured --no-ffwd --n-loops 50
"""


def _make_params(sp: argparse.ArgumentParser, args, cls):
    """The parameters from preset < config file < flags; a bad value ends with ``sp.error`` (exit 2)."""
    values = {}
    try:
        if args.config is not None:  # "--config ''" is a mistake, not "no config"
            check_input_path("--config", args.config)
            values.update(_read_config(args.config, cls))
        # flags were given only if present (SUPPRESS default), so "--n-trained all" (None) counts
        values.update({f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})
        if getattr(args, "lecture", False):
            return cls.lecture(**values)
        return cls(**values)
    except (ValueError, TypeError) as exc:  # params' checks (a config file's {"N": "x"}: TypeError too)
        sp.error(_one_line(exc))
    except ArithmeticError as exc:  # a check that overflowed on a value far out of range (1e308)
        given = ", ".join(f"{k}={v!r}" for k, v in values.items())
        sp.error(f"a parameter value is far out of range ({type(exc).__name__}: {_one_line(exc)}; "
                 f"values given: {_shown(given, 200)[1:-1]})")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _error(msg: str, code: int = 1) -> int:
    print(f"rls-tutorial: error: {msg}", file=sys.stderr)
    return code


def _jsonable(x):
    """Lists of floats with NaN/inf as None (strict JSON)."""
    import numpy as np

    a = np.asarray(x, dtype=float)
    return [float(v) if math.isfinite(v) else None for v in a.ravel()]


def _write_json(path, data: dict) -> None:
    from .storage import atomic_write

    text = json.dumps(data, indent=1, allow_nan=False)
    atomic_write(path, lambda f: f.write(text.encode()))


# What storage.atomic_write adds to a file's name for its temporary file: ".<name>.<pid>-<8 hex>.tmp"
_TEMP_EXTRA = len("..") + 10 + len("-12345678.tmp")


def check_output_path(label: str, path) -> Path:
    """``path`` as a Path, if a file can be written there at the end of a run; else an error naming ``label``.

    Checked before any training (a run of hours must not fail when it saves): ``path`` is a
    ``str`` or ``os.PathLike`` (TypeError otherwise), not empty or blank, its name is not too long
    for the file system (also the temporary file's longer name, see
    :func:`~tutorial_lib.storage.atomic_write`), it is not a folder (nor anything else but a
    regular file, which the atomic rename would replace), and its folder exists, is a folder and
    can be written (tried: ``os.access`` says yes to root also in ``/proc`` or on a read-only
    mount). Raises ValueError otherwise, e.g. ``--out  is empty: give the path of a file``.
    """
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{label} must be a file path (a str or os.PathLike; got {type(path).__name__}: "
                        f"{_shown(path, 80)})")
    text = os.fspath(path)
    if not isinstance(text, str):
        text = os.fsdecode(text)
    if not text.strip():
        raise ValueError(f"{label} is empty ({text!r}): give the path of a file to write")
    if "\0" in text:
        raise ValueError(f"{label} {_shown(text)}: a path cannot hold a NUL character")
    shown = f"{label} {text if len(text) <= 120 else text[:100] + '...'}"
    target = _expand(shown, text)
    folder = target.parent
    try:
        if not folder.exists():
            raise ValueError(f"{shown}: the folder {folder} does not exist")
        if not folder.is_dir():
            raise ValueError(f"{shown}: {folder} is not a folder")
        try:
            name_max = os.pathconf(folder, "PC_NAME_MAX")
        except (OSError, ValueError):
            name_max = 255
        n = len(os.fsencode(target.name))
        if n + _TEMP_EXTRA > name_max:
            raise ValueError(f"{shown}: the file name is too long ({n} bytes; at most "
                             f"{name_max - _TEMP_EXTRA} in {folder})")
        if target.is_dir():
            raise ValueError(f"{shown} is a folder: give the path of a file to write")
        if target.exists() and not target.is_file():
            raise ValueError(f"{shown} exists and is not a regular file")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ValueError(f"{shown}: the folder {folder} is not writable")
    except OSError as exc:  # e.g. a folder's name too long: ENAMETOOLONG from stat
        raise ValueError(f"{shown}: cannot be used ({exc.strerror or _one_line(exc)})") from None
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ValueError(f"{shown}: the folder {folder} cannot be written "
                         f"({exc.strerror or _one_line(exc)})") from None
    return target


def _expand(shown: str, text: str) -> Path:
    """``Path(text).expanduser()``; ValueError (not RuntimeError) for ``~nosuchuser/...``."""
    try:
        return Path(text).expanduser()
    except RuntimeError as exc:
        raise ValueError(f"{shown}: {exc} (~ of a user that does not exist?)") from None


def _is_dir(path) -> bool:
    """``Path(path).is_dir()``, False also for a name the system cannot stat (too long, ``~nosuchuser``)."""
    try:
        return Path(path).expanduser().is_dir()
    except (OSError, RuntimeError, ValueError):
        return False


def check_input_path(label: str, path) -> str:
    """``path`` unless it is empty or blank (an input path given as ``''`` must not mean "not given")."""
    if path is not None and not str(path).strip():
        raise ValueError(f"{label} is empty ({path!r}): give a path, or leave the flag out")
    return path


def _check_folder(sp, flag: str, path) -> None:
    """Refuse (``sp.error``, exit 2) an output path that could not be written at the end of a run
    (:func:`check_output_path`); None (not given) passes."""
    if path is None:
        return
    try:
        check_output_path(flag, path)
    except (ValueError, TypeError) as exc:
        sp.error(str(exc))


class _Raise:
    """SIGINT and SIGTERM raise KeyboardInterrupt (in the main thread) for the whole command.

    SIGTERM's default would end the process at once, without a message and with
    a file half written; ``signum`` keeps the last signal, for the exit code.
    Part 3 installs :class:`_Interrupts` over it while it trains and saves.
    """

    def __init__(self):
        self.signum = None
        self.final = False  # the process ends after this: a late signal is ignored, not a traceback
        self.done = False   # the command has its exit code: a signal now changes nothing
        self._old = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, signal.SIG_IGN if self.final else h)
        self._old = {}
        return False

    def _handle(self, signum, frame):
        # nothing is imported here: a handler runs wherever the main thread is, also halfway through an
        # import, whose partly initialised modules an import in the handler would meet
        if self.done or swallowed(signum, frame):  # in a callback from C: it comes again
            return
        self.signum = signum
        raise KeyboardInterrupt

    @property
    def exit_code(self) -> int:
        return EXIT_SIGTERM if self.signum == signal.SIGTERM else EXIT_SIGINT


_RAISE = _Raise()


def _write(message: str) -> None:
    """A line to stdout, through tqdm's ``write`` (above a progress bar) if tqdm is loaded; never imports."""
    tq = sys.modules.get("tqdm.auto")
    write = getattr(getattr(tq, "tqdm", None), "write", None)
    if write is not None:
        write(message)
    else:
        print(message, flush=True)


def _signal_name(code: int) -> str:
    return "SIGTERM" if code == EXIT_SIGTERM else "SIGINT"


def main(argv=None) -> int:
    """Run the command line; returns the exit code (see the module's docstring)."""
    _RAISE.final = argv is None  # the program itself (rls-tutorial, python -m tutorial_lib)
    _RAISE.signum, _RAISE.done = None, False
    with _RAISE:
        try:
            code = _main(argv)
        except BaseException as exc:
            # A signal raises KeyboardInterrupt wherever the main thread is, also inside an import,
            # which may turn it into another exception (NumPy's "bad install" ImportError): whatever
            # comes out after a signal is the interruption, said in one line.
            if not isinstance(exc, KeyboardInterrupt) and _RAISE.signum is None:
                raise
            code = _RAISE.exit_code
            print(f"rls-tutorial: interrupted ({_signal_name(code)})", file=sys.stderr)
        _RAISE.done = True
    return code


def _main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    ap, subs = build_parser()
    args = ap.parse_args(argv)
    if args.part == "sweep":
        from .sweep import cli_main

        return cli_main(args, argv)
    sp = subs[args.part]
    cls = PARTS[args.part]
    params = _make_params(sp, args, cls)
    try:  # sizes that would not fit in memory: refused by name now, not after minutes of building
        check_memory(params)
    except (ValueError, TypeError) as exc:
        sp.error(_one_line(exc))
    if args.report_every < 0:
        sp.error(f"--report-every must be >= 0 (got {args.report_every})")
    # every output path before anything runs (a run of hours must not fail when it saves)
    for flag in ("--scores-json", "--out", "--checkpoint"):
        _check_folder(sp, flag, getattr(args, flag[2:].replace("-", "_"), None))
    if args.part == "part3":
        return _part3(sp, args, params, argv)
    return _rows(args, params, argv)


# ---------------------------------------------------------------------------
# Parts 1 and 2


def _rows(args, params, argv) -> int:
    from tqdm.auto import tqdm

    if args.part == "part1":
        from .rate import train
    else:
        from .spiking_net import train

    def report(loop, trial, scores):
        if args.report_every and ((loop + 1) % args.report_every == 0 or loop + 1 == params.n_loops):
            tqdm.write(f"loop {loop + 1:4d}  score {scores[-1]:.4f}")

    try:
        result = train(params, callback=report)
        test = result.test().score
        print(f"test trial (no learning): score {test:.4f}")
    except DivergenceError as exc:
        return _error(_one_line(exc))
    except ValueError as exc:
        return _error(_one_line(exc), EXIT_USAGE)
    if args.scores_json:
        from . import __version__
        from .storage import params_to_dict

        _write_json(args.scores_json, {
            "part": int(args.part[-1]), "command": "rls-tutorial " + shlex.join(argv),
            "loops": list(range(1, len(result.scores) + 1)), "training_scores": _jsonable(result.scores),
            "n_loops_done": len(result.scores), "complete": not result.stopped,
            "final_test": {"n_trials": 1, "score": _jsonable([test])[0]},
            "params": params_to_dict(params), "tutorial_lib_version": __version__,
        })
    if result.stopped:
        code = _RAISE.exit_code
        print(f"rls-tutorial: interrupted ({_signal_name(code)}) after {len(result.scores)} loop(s)",
              file=sys.stderr)
        return code
    return 0


# ---------------------------------------------------------------------------
# Part 3


class _Interrupts:
    """SIGINT / SIGTERM while training Part 3.

    The first Ctrl-C sets ``stop``: training ends after the current loop (at a
    loop boundary, so the state can be saved and resumed exactly). A second
    Ctrl-C, or SIGTERM, also sets ``abandon`` and, while ``armed`` (inside
    training), raises KeyboardInterrupt: the current loop is abandoned and its
    half-trained state discarded. Outside training (e.g. while a checkpoint is
    written) the signal only sets the flags, so a file is never left half done.
    With ``eager`` (building the network, the final test: nothing to finish)
    the first Ctrl-C already abandons. Entering it again while it is active
    does nothing (it stays installed until the outermost exit).
    """

    def __init__(self):
        self.stop = threading.Event()
        self.abandon = False
        self.signum = None
        self.armed = False
        self.eager = False
        self._old = {}
        self._depth = 0

    def __enter__(self):
        self._depth += 1
        if self._depth == 1 and threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc):
        self._depth -= 1
        if self._depth == 0:
            for s, h in self._old.items():
                signal.signal(s, h)
            self._old = {}
        return False

    def _handle(self, signum, frame):
        # Nothing is imported here (tqdm was, and asyncio with it): a handler runs wherever the main thread
        # is, also halfway through an import (subprocess while numba loads), whose partly initialised
        # modules an import in the handler met: an AttributeError and a traceback instead of exit 143.
        if self.armed and swallowed(signum, frame):  # in a callback from C: it comes again
            return
        if self.signum is None or signum == signal.SIGTERM:
            self.signum = signum
        _RAISE.signum = self.signum  # for main(): whatever comes out of the run now is the interruption
        if signum == signal.SIGINT and not self.stop.is_set() and not self.eager:
            self.stop.set()
            _write("Ctrl-C: stopping after the current loop (Ctrl-C again abandons it) ...")
            return
        self.stop.set()
        self.abandon = True
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt

    @property
    def exit_code(self) -> int:
        return EXIT_SIGTERM if self.signum == signal.SIGTERM else EXIT_SIGINT


def _params_diff(saved: BalancedParams, wanted: BalancedParams) -> list[str]:
    """The fields (other than n_loops) in which two parameter sets differ, as ``name: a (saved) vs b``."""
    out = []
    for f in fields(BalancedParams):
        if f.name == "n_loops":
            continue
        a, b = getattr(saved, f.name), getattr(wanted, f.name)
        if a != b:
            out.append(f"{f.name} = {a!r} in the checkpoint, {b!r} requested")
    return out


def _npz(path):
    """``path`` as the .npz path that balanced.save writes (None stays None)."""
    from .storage import _npz_path

    return None if path is None else _npz_path(path)


def _scores_doc(result, argv, final=None, wall_seconds=None) -> dict:
    from . import __version__
    from .storage import params_to_dict

    n = result.n_loops
    net = result.network
    return {
        "part": 3,
        "command": "rls-tutorial " + shlex.join(argv),
        "n_loops": result.params.n_loops,
        "n_loops_done": n,
        "complete": n >= result.params.n_loops and final is not None,
        "loops": list(range(1, n + 1)),
        "training_scores": _jsonable(result.scores),
        "test_loops": [int(k) for k in result.test_loops],
        "test_scores": _jsonable(result.test_scores),
        "test_scores_avg": _jsonable(result.test_scores_avg),
        "seconds_per_loop": _jsonable(result.loop_seconds),
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


def _load_alm(args):
    from .data import load_alm, synthetic_alm

    if args.synthetic:
        print("Using the SYNTHETIC stand-in for the ALM data (not a recording).")
        return synthetic_alm()
    data = load_alm(fallback=None)
    print(f"Data: {data.source}")
    return data


def _part3(sp, args, params: BalancedParams, argv) -> int:
    intr = _Interrupts()
    with intr:  # from the checks to the last file written: a signal never leaves a file half done
        return _part3_run(sp, args, params, argv, intr)


def _part3_run(sp, args, params: BalancedParams, argv, intr: _Interrupts) -> int:
    """Part 3 in its stages: check the flags, resume, train (with checkpoints), test, save."""
    run = _Part3Run(sp, args, params, argv, intr)
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


class _Part3Run:
    """The state of one ``rls-tutorial part3`` run, shared by its stages (see :func:`_part3_run`)."""

    def __init__(self, sp, args, params: BalancedParams, argv, intr: _Interrupts):
        self.sp, self.args, self.params, self.argv, self.intr = sp, args, params, argv, intr
        self.out, self.ck = _npz(args.out), _npz(args.checkpoint)
        self.total = params.n_loops
        self.result = None
        self.saved_loops = None  # loops held by the checkpoint file
        self.abandoned = False   # a loop in progress was given up (Ctrl-C twice, SIGTERM)
        self.bar = None
        self.t_start = None
        self.resume_cmd = "rls-tutorial " + shlex.join(argv + ([] if args.resume else ["--resume"]))

    def check_flags(self) -> None:
        """Refuse (``sp.error``, exit 2) running flags that could not work, before anything is built."""
        from .data import ENV_VAR

        sp, args, out, ck = self.sp, self.args, self.out, self.ck
        for flag, given, path in (("--out", args.out, out), ("--checkpoint", args.checkpoint, ck)):
            _check_folder(sp, flag, given)  # "--out runs" where runs is a folder: refused, not runs.npz
            _check_folder(sp, flag, path)
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
            if not _is_dir(args.data):
                sp.error(f"--data {_shown(args.data, 120)}: not a folder")
            folder = Path(args.data).expanduser()
            os.environ[ENV_VAR] = str(folder)
        if args.synthetic and args.data is not None:
            sp.error("--synthetic and --data exclude each other")

    def resume(self) -> int | None:
        """With --resume and an existing checkpoint, load it (``self.result``); an exit code if it cannot."""
        from . import balanced
        from .storage import FormatError

        args, ck, total = self.args, self.ck, self.total
        if args.resume and ck.exists():
            try:
                result = balanced.load(ck)
            except (FormatError, OSError) as exc:
                return _error(f"cannot resume from {ck}: {_one_line(exc)}")
            diff = _params_diff(result.params, self.params)
            if diff:
                return _error(f"cannot resume from {ck}: it was trained with other parameters "
                              f"({'; '.join(diff)}). Give the same flags (or --config) as the original run, "
                              "or another --checkpoint.", EXIT_USAGE)
            if result.n_loops > total:
                return _error(f"cannot resume from {ck}: it holds {result.n_loops} loops, more than "
                              f"n_loops = {total}; ask for --n-loops {result.n_loops} or more", EXIT_USAGE)
            if result.n_loops > 0 and result.rls is None:
                return _error(f"cannot resume from {ck}: it holds no RLS state (saved without P)")
            if result.params.n_loops != total:  # only the requested total changes
                result.network.params = replace(result.params, n_loops=total)
            print(f"Resuming from {ck}: {result.n_loops} of {total} loops done.")
            self.result, self.saved_loops = result, result.n_loops
        elif args.resume:
            print(f"No checkpoint at {ck} yet: starting from loop 1.")
        return None

    def save_checkpoint(self, res) -> None:
        from . import balanced

        balanced.save(res, self.ck)
        self.saved_loops = res.n_loops
        if self.args.scores_json:
            _write_json(self.args.scores_json, _scores_doc(res, self.argv))

    def callback(self, k, record, scores):
        from tqdm.auto import tqdm

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
        from .data import DataError
        from .storage import FormatError

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
            return _error(_one_line(exc) + extra)
        except ValueError as exc:
            return _error(_one_line(exc), EXIT_USAGE)
        except DataError as exc:
            hint = ("" if self.args.data
                    else " (or pass --data DIR; --synthetic trains on a synthetic stand-in)")
            return _error(_one_line(exc) + hint)
        except (OSError, FormatError) as exc:
            return _error(_one_line(exc))
        return None

    def _train_loops(self) -> None:
        from tqdm.auto import tqdm

        from . import balanced

        intr, ck, args, total = self.intr, self.ck, self.args, self.total
        result, net = self.result, None
        try:
            if result is None:
                intr.armed = intr.eager = True
                try:
                    net = balanced.build_network(self.params, _load_alm(args), progress=True)
                finally:
                    intr.armed = intr.eager = False
            done = 0 if result is None else result.n_loops
            self.bar = tqdm(total=total, initial=done, desc="Part 3 training", unit="loop",
                            dynamic_ncols=True)
            while done < total and not intr.stop.is_set():
                k = total - done if ck is None else min(args.checkpoint_every - done % args.checkpoint_every,
                                                        total - done)
                new = None
                intr.armed = True
                try:
                    new = balanced.train(result if result is not None else net, n_loops=k, progress=False,
                                         callback=self.callback, stop=intr.stop)
                except KeyboardInterrupt:
                    intr.abandon = True
                finally:
                    intr.armed = False
                if intr.abandon:
                    self.abandoned = True
                    break  # ``new`` may hold a half-trained loop: discard it
                result, net = new, None
                self.result = result
                done = result.n_loops
                if ck is not None and (result.n_loops != self.saved_loops):
                    self.save_checkpoint(result)
        finally:  # the bar ends before any message about how the run ended
            if self.bar is not None:
                self.bar.close()

    def report_stop(self) -> int:
        """After Ctrl-C or SIGTERM: say what was kept (saving the loops done if there is no checkpoint)."""
        from . import balanced

        result, out = self.result, self.out
        if self.abandoned:
            print(f"Interrupted: the loop in progress was abandoned; {self.where_saved()}", file=sys.stderr)
        else:
            n = result.n_loops if result is not None else 0
            if self.ck is None and out is not None and result is not None:
                balanced.save(result, out, include_rls=True)
                print(f"Stopped after {n} loops; saved them (with the RLS state) to {out}.", file=sys.stderr)
                if self.args.scores_json:
                    _write_json(self.args.scores_json, _scores_doc(result, self.argv))
            else:
                print(f"Stopped after {n} loops; {self.where_saved()}", file=sys.stderr)
        return self.intr.exit_code

    def finish(self) -> int:
        """The final test without learning, then --out and --scores-json."""
        from . import balanced

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
            return _error(_one_line(exc))
        finally:
            intr.armed = intr.eager = False
        print(f"final test ({params.n_test_trials} trials, no learning): single-trial score "
              f"{tested.score:.4f}, trial-averaged score {tested.score_avg:.4f}")
        wall = round(time.perf_counter() - self.t_start, 1)
        final = {"n_trials": int(params.n_test_trials), "score": _jsonable([tested.score])[0],
                 "score_avg": _jsonable([tested.score_avg])[0], "scores": _jsonable(tested.scores)}
        try:
            if out is not None:
                path = balanced.save(result, out, include_rls=args.save_rls)
                print(f"Saved the trained network to {path}"
                      + (" (with the RLS state)." if args.save_rls else "."))
            if args.scores_json:
                _write_json(args.scores_json, _scores_doc(result, self.argv, final, wall_seconds=wall))
                print(f"Wrote the score history to {args.scores_json}.")
        except OSError as exc:
            return _error(_one_line(exc))
        if intr.signum is not None:  # it came while the files were written: they were finished first
            print(f"Interrupted ({_signal_name(intr.exit_code)}) while saving; the training and the files "
                  "written are complete.", file=sys.stderr)
            return intr.exit_code
        return 0


if __name__ == "__main__":
    sys.exit(main())
