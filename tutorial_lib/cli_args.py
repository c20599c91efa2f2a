r"""What the command line and the sweep share: flags from the parameters' metadata, reading values, paths, errors.

Every field of a part's parameter dataclass becomes a flag (:func:`add_param_flags`) whose text is
read by the field's converter (:func:`field_specs`): numbers in every form Python reads, whole
numbers also as ``2000.0`` or ``1e3``, the words that mean None (:data:`NONE_WORDS`). A
``--config`` file (:func:`read_config`) and the flags make a part's parameters (:func:`make_params`).
Output paths are checked before anything runs (:func:`check_output_path`); errors end in one line
(:func:`one_line`, :func:`error_line`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import typing
from dataclasses import fields
from pathlib import Path

import numpy as np

from .interrupts import EXIT_SIGINT, EXIT_SIGTERM, signal_name
from .params import CHOICES
from .storage import atomic_write

__all__ = ["NONE_WORDS", "CHOICES", "MAX_CONFIG_BYTES", "MAX_WHOLE", "EXIT_USAGE", "EXIT_SIGINT", "EXIT_SIGTERM",
           "field_help", "parse_int", "range_text", "short_repr", "count_flag", "field_specs", "add_param_flags",
           "read_config", "make_params", "one_line", "error_line", "jsonable", "write_json", "check_output_path",
           "is_dir", "check_input_path", "check_folder", "signal_name"]

# Words that mean ``None`` for the optional fields (besides "none"), and what None means.
NONE_WORDS = {
    "K": ("all",),                    # parts 1 and 2: all-to-all
    "n_trained": ("all",),            # part 3: every ALM neuron
    "inh_weight_ratio": ("measured",),  # part 3: measured from the static run
}
MAX_CONFIG_BYTES = 2**20  # a --config file of parameter values is a few kB; /dev/zero is not one

EXIT_USAGE = 2  # bad flags or parameters (argparse's code); 130 / 143 after a signal (interrupts)


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


def parse_int(text: str) -> int:
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


def range_text(m) -> str:
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
    parse = {int: parse_int, float: float, bool: _parse_bool, str: str}[kind]
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
            raise argparse.ArgumentTypeError(f"{name} must be {what} ({limits}got {short_repr(text)})") from None

    convert.__name__ = name  # argparse names the type in some messages
    return convert


def short_repr(text, limit: int = 60) -> str:
    """``repr(text)``, cut to ``limit`` characters (a 10,000-character value in one line of error)."""
    r = repr(text)
    return r if len(r) <= limit else r[: limit - 5] + "...'" + f" ({len(str(text)):,} characters)"


def count_flag(flag: str, lo: int):
    """argparse ``type=`` for a running flag that is a whole number (``--report-every``, ``--jobs``)."""

    def convert(text: str) -> int:
        try:
            return parse_int(str(text).strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} must be a whole number >= {lo} "
                                             f"(got {short_repr(text)})") from None

    convert.__name__ = flag
    return convert


def field_specs(cls) -> dict:
    """``name -> (kind, optional, converter)`` for every field of ``cls``."""
    hints = typing.get_type_hints(cls)
    specs = {}
    for f in fields(cls):
        kind, optional = _base_type(hints[f.name])
        specs[f.name] = (kind, optional, _converter(f.name, kind, optional, range_text(f.metadata)))
    return specs


def add_param_flags(parser: argparse.ArgumentParser, cls) -> None:
    group = parser.add_argument_group(f"{cls.__name__} fields (defaults: the SPEC's)")
    defaults = cls()
    meta = {f.name: f for f in fields(cls)}
    for name, (kind, optional, convert) in field_specs(cls).items():
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


def read_config(path: str, cls) -> dict:
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
        raise ValueError(f"cannot read --config {short_repr(path, 120)}: {exc.strerror or exc}") from None
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
    specs = field_specs(cls)
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



def make_params(sp: argparse.ArgumentParser, args, cls):
    """The parameters from preset < config file < flags; a bad value ends with ``sp.error`` (exit 2)."""
    values = {}
    try:
        if args.config is not None:  # "--config ''" is a mistake, not "no config"
            check_input_path("--config", args.config)
            values.update(read_config(args.config, cls))
        # flags were given only if present (SUPPRESS default), so "--n-trained all" (None) counts
        values.update({f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})
        if getattr(args, "lecture", False):
            return cls.lecture(**values)
        return cls(**values)
    except (ValueError, TypeError) as exc:  # params' checks (a config file's {"N": "x"}: TypeError too)
        sp.error(one_line(exc))
    except ArithmeticError as exc:  # a check that overflowed on a value far out of range (1e308)
        given = ", ".join(f"{k}={v!r}" for k, v in values.items())
        sp.error(f"a parameter value is far out of range ({type(exc).__name__}: {one_line(exc)}; "
                 f"values given: {short_repr(given, 200)[1:-1]})")


def one_line(exc: BaseException) -> str:
    """An exception's message in one line (its class's name if it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def error_line(msg: str, code: int = 1) -> int:
    """Print ``rls-tutorial: error: msg`` on stderr; return ``code`` (the exit code)."""
    print(f"rls-tutorial: error: {msg}", file=sys.stderr)
    return code


def jsonable(x):
    """Lists of floats with NaN/inf as None (strict JSON)."""
    a = np.asarray(x, dtype=float)
    return [float(v) if math.isfinite(v) else None for v in a.ravel()]


def write_json(path, data: dict) -> None:
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
                        f"{short_repr(path, 80)})")
    text = os.fspath(path)
    if not isinstance(text, str):
        text = os.fsdecode(text)
    if not text.strip():
        raise ValueError(f"{label} is empty ({text!r}): give the path of a file to write")
    if "\0" in text:
        raise ValueError(f"{label} {short_repr(text)}: a path cannot hold a NUL character")
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
        raise ValueError(f"{shown}: cannot be used ({exc.strerror or one_line(exc)})") from None
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ValueError(f"{shown}: the folder {folder} cannot be written "
                         f"({exc.strerror or one_line(exc)})") from None
    return target


def _expand(shown: str, text: str) -> Path:
    """``Path(text).expanduser()``; ValueError (not RuntimeError) for ``~nosuchuser/...``."""
    try:
        return Path(text).expanduser()
    except RuntimeError as exc:
        raise ValueError(f"{shown}: {exc} (~ of a user that does not exist?)") from None


def is_dir(path) -> bool:
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


def check_folder(sp, flag: str, path) -> None:
    """Refuse (``sp.error``, exit 2) an output path that could not be written at the end of a run
    (:func:`check_output_path`); None (not given) passes."""
    if path is None:
        return
    try:
        check_output_path(flag, path)
    except (ValueError, TypeError) as exc:
        sp.error(str(exc))

