"""Versioned files for trained networks, written atomically.

A saved object is one ``.npz`` archive (NumPy's zip of ``.npy`` arrays, read
without pickle) that holds, besides the object's arrays:

* ``__kind__``: what the file holds (e.g. ``"balanced-network"``), so that a
  file of another kind is refused with a clear message;
* ``__format_version__``: the layout version. A reader lists the versions it
  understands and refuses any other one, saying which it found and which it
  reads: a file from a newer ``tutorial_lib`` is never misread silently;
* ``__meta__``: a JSON document (parameters, names, provenance).

Writing is atomic: the archive goes to a temporary file in the destination's
folder, is flushed to disk, and only then replaces the destination with
:func:`os.replace` (an atomic rename on POSIX and Windows). A write that fails
half-way (full disk, interrupted kernel, an array that cannot be stored)
leaves any previous file untouched and no temporary file behind. A process
killed outright (SIGKILL, power loss) cannot clean up: its temporary file is
removed by the next write of the same file (see :func:`atomic_write`). The
file gets the permissions of any new file (``0o666`` less the umask).

Reading is strict: :func:`load_arrays` reads every member in full (so that
the zip's CRC-32 checksums are verified) and turns whatever a damaged file
does (a flipped byte, a file cut short, a zip of something else, an array that
is not one) into a :class:`FormatError` that names the file. Loaders then
check what the arrays mean with :func:`check_array` (dtype, shape, finite
values, indices in range), so that a damaged or edited file is refused when
it is loaded, not at the first run.

Parameters travel as JSON through :func:`params_to_dict` and
:func:`params_from_dict`: a frozen parameter dataclass becomes a plain dict,
and the dict is validated again on the way back (an edited file with a bad
value fails like a bad argument would).

Getting started::

    >>> import numpy as np, tempfile, os
    >>> from tutorial_lib.storage import save_arrays, load_arrays
    >>> path = os.path.join(tempfile.mkdtemp(), "demo.npz")
    >>> written = save_arrays(path, {"w": np.arange(3.0)}, kind="demo", version=1, meta={"note": "hi"})
    >>> written.name
    'demo.npz'
    >>> arrays, meta = load_arrays(path, kind="demo", versions=(1,))
    >>> arrays["w"].tolist(), meta["note"]
    ([0.0, 1.0, 2.0], 'hi')
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import secrets
import struct
import time
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .checks import MemoryEstimateError, check_int, memory_limit
from .interrupts import held

__all__ = [
    "FormatError",
    "check_path",
    "npz_path",
    "atomic_write",
    "save_arrays",
    "load_arrays",
    "check_array",
    "params_to_dict",
    "params_from_dict",
]

_KIND, _VERSION, _META = "__kind__", "__format_version__", "__meta__"
_RESERVED = (_KIND, _VERSION, _META)


class FormatError(ValueError):
    """A file is not what the reader expects: wrong kind, unknown version, damaged or incomplete.

    ``path`` is the file (a Path, or None if not known) and ``field`` what in
    it is wrong (an array name, a metadata key or a parameter name), or None.
    """

    def __init__(self, message: str, *, path=None, field: str | None = None):
        super().__init__(message)
        self.path = None if path is None else Path(path)
        self.field = field


def check_path(path, name: str = "path") -> Path:
    """``path`` (a str, bytes or ``os.PathLike`` naming a file) as a Path with ``~`` expanded.

    Raises TypeError naming ``name`` for anything else (a number, None, an open file) and ValueError
    for an empty or blank path, a NUL character, or a path that names no file (``"."``, ``".."``,
    ``"folder/"``): the message says what a path must be.
    """
    if isinstance(path, (bytes, bytearray)):
        path = os.fsdecode(bytes(path))
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path, a str or os.PathLike (got {type(path).__name__}: "
                        f"{' '.join(repr(path).split())[:80]})")
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a file path, a str or os.PathLike (got {type(path).__name__})")
    if not text.strip():
        raise ValueError(f"{name} must be a non-empty file path (got {text!r})")
    if "\0" in text:
        raise ValueError(f"{name} must be a file path without NUL characters (got {text!r})")
    out = Path(text).expanduser()
    if out.name in ("", ".", "..") or text.endswith(("/", os.sep)):
        raise ValueError(f"{name} must name a file, not a folder (got {text!r}): add a file name, e.g. "
                         f"{str(Path(text) / 'network.npz')!r}")
    return out


def npz_path(path, name: str = "path") -> Path:
    """``path`` as a Path (checked by :func:`check_path`), with ``.npz`` appended when it has no suffix."""
    path = check_path(path, name)
    return path if path.suffix else path.with_suffix(".npz")


#: A temporary file whose writer cannot be identified (no process id in its name, or on Windows)
#: counts as abandoned after this many seconds without a change.
STALE_AFTER = 3600.0


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (POSIX; True if it cannot be told)."""
    if os.name != "posix":
        return True  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    return True


def _remove_stale_temporaries(folder: Path, name: str) -> list[Path]:
    """Remove the temporary files of earlier writes of ``folder / name`` whose writer is gone.

    Only files named like :func:`atomic_write`'s temporaries of this very target
    are considered, ``.<name>.<pid>-<random>.tmp``: one is removed if no process
    with that id runs on this machine (a write killed outright), or, for the older
    form ``.<name>.<random>.tmp`` without an id (and on Windows), if it has not
    changed for :data:`STALE_AFTER` seconds. A write in progress in another live
    process is left alone. (Processes on other machines writing into a shared
    folder are not seen: write a file from one machine at a time.) Returns the
    paths removed.
    """
    prefix, suffix = f".{name}.", ".tmp"
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        n = entry.name
        if not (n.startswith(prefix) and n.endswith(suffix)) or len(n) <= len(prefix) + len(suffix):
            continue
        middle = n[len(prefix):-len(suffix)]
        if "." in middle:  # belongs to a longer target name (".a.npz.x.tmp" vs target "a")
            continue
        pid, dash, _ = middle.partition("-")
        try:
            if dash and pid.isdigit() and os.name == "posix":
                stale = int(pid) != os.getpid() and not _pid_alive(int(pid))
            else:
                stale = time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER
            if stale and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:  # gone meanwhile, or not ours to remove
            continue
    return removed


def _create_temporary(folder: Path, name: str) -> tuple[int, Path]:
    """A new, empty file ``.<name>.<pid>-<random>.tmp`` in ``folder``, opened for writing.

    Created with mode ``0o666`` so that the umask applies, as to any new file
    (:func:`tempfile.mkstemp` would make it ``0o600``, private to its owner).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = folder / f".{name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file for {folder / name}")


def atomic_write(path, write) -> Path:
    """Call ``write(file)`` on a temporary binary file next to ``path``, then move it into place.

    The temporary file is in the same folder (so the final :func:`os.replace`
    is a rename, not a copy), flushed and synced before the rename. If
    ``write`` raises (KeyboardInterrupt too), the temporary file is removed,
    ``path`` is left as it was, and the exception propagates. Temporary files
    of earlier writes of ``path`` whose process is gone (killed during a write)
    are removed first (see :func:`_remove_stale_temporaries`). The file gets the
    permissions of any new file: ``0o666`` less the umask. Returns ``path``.
    """
    path = check_path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot save to {path}: the folder {folder} does not exist")
    if path.is_dir():  # os.replace would fail only after the whole file was written
        raise IsADirectoryError(f"cannot save to {path}: it is a folder (path must name a file)")
    _remove_stale_temporaries(folder, path.name)
    with held():  # no interrupt between creating the file and being ready to remove it
        fd, tmp = _create_temporary(folder, path.name)
        f = os.fdopen(fd, "wb")
        ok = False
    try:
        with f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        ok = True
    finally:
        if not ok:
            with held():  # an interrupt during the write must not also stop the clean-up
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass
    return path


def save_arrays(path, arrays: dict, *, kind: str, version: int, meta: dict | None = None,
                compress: bool = True) -> Path:
    """Write ``arrays`` (name -> array) with a kind, a format version and JSON ``meta``, atomically.

    ``path`` gets ``.npz`` appended if it has no suffix; the final path is
    returned. Arrays of dtype ``object`` are refused (they would need pickle).
    ``compress`` uses zip deflate (slower, much smaller for repetitive weights).

    Raises TypeError / ValueError naming the argument before anything is written: ``path`` not a
    file path (empty, a number: see :func:`check_path`; IsADirectoryError for a folder), array
    names that are not non-empty texts or are reserved, object arrays, ``kind`` not a non-empty
    text, ``version`` not a whole number >= 0, ``meta`` not a dict that JSON can hold (no NaN or
    infinity). A failed
    write leaves any earlier file at ``path`` as it was (:func:`atomic_write`).
    """
    given = check_path(path)
    if given.is_dir():  # "out" for the folder out/ would otherwise be saved as out.npz beside it
        raise IsADirectoryError(f"cannot save to {given}: it is a folder (path must name a file, e.g. "
                                f"{str(given / 'network.npz')!r})")
    target = npz_path(given)
    if not isinstance(arrays, dict):
        raise TypeError(f"arrays must be a dict of name -> array (got {type(arrays).__name__})")
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"kind must be a non-empty text (got {kind!r})")
    version = check_int("version", version, lo=0, what="format version")
    if meta is not None and not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict or None (got {type(meta).__name__})")
    out = {}
    for name, a in arrays.items():
        if not isinstance(name, str) or not name or "/" in name or "\0" in name:
            raise ValueError(f"array names must be non-empty texts without '/' (got {name!r})")
        if name in _RESERVED:
            raise ValueError(f"array name {name!r} is reserved")
        a = np.asarray(a)
        if a.dtype == object:
            raise ValueError(f"array {name!r} has dtype object, which cannot be stored without pickle")
        out[name] = a
    out[_KIND] = np.array(kind)
    out[_VERSION] = np.array(version)
    try:
        out[_META] = np.array(json.dumps({} if meta is None else meta, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"meta must hold only what JSON can store, finite numbers (NaN and infinity "
                         f"cannot be stored; {_short(exc)})") from None
    saver = np.savez_compressed if compress else np.savez
    return atomic_write(target, lambda f: saver(f, **out))


def _existing_file(path) -> Path:
    """The file :func:`load_arrays` reads for ``path``: FileNotFoundError / IsADirectoryError otherwise
    (TypeError / ValueError naming ``path`` if it is not a file path at all: :func:`check_path`)."""
    if isinstance(path, (str, bytes)) and os.fsdecode(path).endswith(("/", os.sep)) \
            and Path(os.fsdecode(path)).expanduser().is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a saved file: give the path of a .npz file")
    given = check_path(path)
    resolved = npz_path(given)
    if resolved.is_file():
        return resolved
    for p in (given, resolved):
        if p.is_dir():
            raise IsADirectoryError(f"{p} is a folder, not a saved file: give the path of a .npz file")
    if resolved.exists():
        raise FormatError(f"{resolved} is not a regular file", path=resolved)
    if resolved != given:
        raise FileNotFoundError(f"{resolved} does not exist (the path given, '{given}', had no suffix, "
                                "so .npz was appended)")
    raise FileNotFoundError(f"{resolved} does not exist")


#: What reading a damaged archive can raise, besides FormatError (turned into one naming the file);
#: tokenize and SyntaxError: numpy parses the header of a ``.npy`` member as Python text.
_DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError, TypeError,
           KeyError, IndexError, OverflowError, struct.error, NotImplementedError, RuntimeError, SyntaxError,
           tokenize.TokenError)
_CHUNK = 1 << 24  # bytes read at a time (an array is read into its final buffer, never held twice)


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + " ..."


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, archive_size: int) -> np.ndarray:
    """One ``.npy`` member read in full (its CRC-32 checked), without pickle; FormatError if it is damaged."""
    name = info.filename[:-4]

    def damaged(what):
        return FormatError(f"{path} is damaged: the array {name!r} {what}", path=path, field=name)

    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise damaged(f"is stored with an unknown compression method ({info.compress_type})")
    if info.header_offset + info.compress_size > archive_size:
        raise damaged("extends past the end of the file (the file is cut short)")
    if (info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size) or \
            info.file_size > 1100 * info.compress_size + 1024:  # deflate compresses at most ~1032:1
        raise damaged(f"has impossible sizes in the zip directory ({info.compress_size} bytes stored, "
                      f"{info.file_size} unpacked)")
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise damaged(f"has .npy format version {version}, which this reader does not read")
        if dtype.hasobject:
            raise damaged("holds Python objects (reading them would need pickle)")
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes != info.file_size - f.tell():
            raise damaged(f"should hold {nbytes} bytes for its shape {shape} and dtype {dtype}, but holds "
                          f"{info.file_size - f.tell()}")
        out = np.empty(math.prod(shape), dtype=dtype)
        buf = out.view(np.uint8) if nbytes else None
        done = 0
        while done < nbytes:
            data = f.read(min(_CHUNK, nbytes - done))
            if not data:
                raise damaged(f"ends after {done} of its {nbytes} bytes")
            buf[done:done + len(data)] = np.frombuffer(data, dtype=np.uint8)
            done += len(data)
        if f.read(1):  # also reaches the end of the member, where zipfile verifies its CRC-32
            raise damaged("holds more bytes than its header says")
    return out.reshape(shape[::-1]).T if fortran else out.reshape(shape)


def load_arrays(path, *, kind: str, versions) -> tuple[dict, dict]:
    """Read a file written by :func:`save_arrays`; return ``(arrays, meta)``.

    ``path`` gets ``.npz`` appended if it has no suffix (as when saving).
    Every member is read in full, so that the zip's checksums are verified.

    Raises
    ------
    TypeError, ValueError
        If ``path`` is not a file path (a number, None, an empty text: the
        message names ``path``), or ``versions`` is not a sequence of whole numbers.
    FileNotFoundError
        If the file does not exist (the message names the path given and the
        ``.npz`` path if one was appended).
    IsADirectoryError
        If the path is a folder.
    ~tutorial_lib.checks.MemoryEstimateError
        If the arrays the file declares would not fit in memory (checked before any is read).
    FormatError
        If the file is damaged (a changed byte, cut short, empty, not a zip,
        a member that is not an array or holds Python objects), is not an
        archive of this module, holds another ``kind``, or has a format
        version not in ``versions``. The message names the file.
    """
    path = _existing_file(path)
    if isinstance(versions, (str, bytes)) or not hasattr(versions, "__iter__"):
        raise TypeError(f"versions must be a sequence of format versions (got {versions!r:.60})")
    versions = tuple(check_int("versions", v, lo=0, what="format version") for v in versions)
    with open(path, "rb") as fh:  # an unreadable file (permissions) is an OSError, not damage
        try:
            size = os.fstat(fh.fileno()).st_size
            with zipfile.ZipFile(fh) as zf:
                return _read_archive(zf, path, size, kind, versions)
        except (FormatError, MemoryEstimateError):
            raise
        except _DAMAGE as exc:
            raise FormatError(f"{path} could not be read ({type(exc).__name__}: {_short(exc)}): the file is "
                              "damaged or not a tutorial_lib file", path=path) from exc


def _read_archive(zf: zipfile.ZipFile, path: Path, size: int, kind: str,
                  versions: tuple) -> tuple[dict, dict]:
    """:func:`load_arrays` once the zip is open: the reserved entries checked first, then every array."""
    infos = zf.infolist()
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        raise FormatError(f"{path} is damaged: its zip directory lists a member twice", path=path)
    for name in names:
        if not name.endswith(".npy"):
            raise FormatError(f"{path} is damaged or not a tutorial_lib file: its member {name!r} is not an "
                              "array", path=path, field=name)
    by_name = {info.filename[:-4]: info for info in infos}
    _check_unpacked_size(infos, path)
    if not set(_RESERVED) <= set(by_name):
        raise FormatError(f"{path} is not a tutorial_lib file: it has no kind and format version", path=path)

    def reserved(name, kinds, what):
        a = _read_member(zf, by_name[name], path, size)
        if a.dtype.kind not in kinds or a.ndim != 0:
            raise FormatError(f"{path} is damaged: its {name} entry is not {what} (dtype {a.dtype}, shape "
                              f"{a.shape})", path=path, field=name)
        return a[()]

    # kind and version first: a file of another kind or version is refused as such
    found_kind = str(reserved(_KIND, "U", "a text"))
    if found_kind != kind:
        raise FormatError(f"{path} holds a {found_kind!r}, not a {kind!r}", path=path, field=_KIND)
    found = int(reserved(_VERSION, "iu", "a whole number"))
    if found not in versions:
        readable = ", ".join(map(str, versions))
        raise FormatError(
            f"{path} has format version {found}; this version of tutorial_lib reads version(s) {readable}. "
            + ("Update tutorial_lib to read it." if found > max(versions) else
               "Re-create the file with this version of tutorial_lib."), path=path, field=_VERSION)
    try:
        meta = json.loads(str(reserved(_META, "U", "a text")))
    except ValueError as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"{path} is damaged: its {_META} entry is not valid JSON ({_short(exc)})",
                          path=path, field=_META) from exc
    if not isinstance(meta, dict):
        raise FormatError(f"{path} is damaged: its {_META} entry is not a JSON object", path=path,
                          field=_META)
    arrays = {name: _read_member(zf, info, path, size)
              for name, info in by_name.items() if name not in _RESERVED}
    return arrays, meta


def _check_unpacked_size(infos: list, path: Path) -> None:
    """MemoryEstimateError (naming ``path``) if the members' unpacked sizes, as the zip directory declares
    them, add up to more than :func:`~tutorial_lib.checks.memory_limit`: refused before any is read."""
    need, limit = float(sum(info.file_size for info in infos)), memory_limit()
    if need > limit:
        raise MemoryEstimateError(
            f"path too large for memory: {path} holds arrays of {need / 2**30:.3g} GiB in all, more than the "
            f"{limit / 2**30:.3g} GiB available (a damaged file may also declare sizes it does not hold)",
            need, limit, ("path",), [("the arrays of the file", need, ["path"])])


_KINDS = {"float": ("f", "a floating-point array"), "int": ("iu", "an integer array"),
          "real": ("iuf", "an array of real numbers"), "any": (None, "an array")}


def check_array(arrays: dict, name: str, path, *, kind: str, shape=None, finite: bool = False, lo=None,
                hi=None, what: str = "") -> np.ndarray:
    """``arrays[name]`` after checking it, for loaders of :func:`load_arrays`'s output.

    ``kind``: ``"float"`` (a floating-point dtype), ``"int"`` (an integer
    dtype), ``"real"`` (either) or ``"any"``; ``shape``: the expected shape,
    a tuple whose ``None`` entries match any length (None: any shape);
    ``finite``: no NaN or infinity; ``lo`` / ``hi``: the allowed range of the
    values, inclusive (for indices);
    ``what``: what the array holds, for the message.

    Raises :class:`FormatError` naming ``path`` and ``name`` (as its
    ``field``): "incomplete" if the array is missing, "damaged" if it is of
    another dtype or shape, holds NaN or infinite values, or values out of range.
    """
    about = f" ({what})" if what else ""
    if name not in arrays:
        raise FormatError(f"{path} is incomplete: the array {name!r}{about} is missing", path=path,
                          field=name)
    a = arrays[name]

    def damaged(problem):
        return FormatError(f"{path} is damaged: the array {name!r}{about} {problem}", path=path, field=name)

    kinds, described = _KINDS[kind]
    if not isinstance(a, np.ndarray) or (kinds is not None and a.dtype.kind not in kinds):
        raise damaged(f"has dtype {getattr(a, 'dtype', type(a).__name__)}, expected {described}")
    if shape is not None:
        shape = tuple(shape)
        if a.ndim != len(shape) or any(s is not None and int(s) != n for s, n in zip(shape, a.shape)):
            expected = "(" + ", ".join("any" if s is None else str(int(s)) for s in shape) + \
                       ("," if len(shape) == 1 else "") + ")"
            raise damaged(f"has shape {a.shape}, expected {expected}")
    if finite and a.dtype.kind == "f":
        bad = ~np.isfinite(a)
        if bad.any():
            at = tuple(int(i) for i in np.argwhere(bad)[0])
            raise damaged(f"holds {int(bad.sum())} NaN or infinite value(s) (the first, {a[at]}, at index "
                          f"{at if len(at) != 1 else at[0]}); it must be finite")
    out_of_range = np.zeros(a.shape, dtype=bool)
    if lo is not None:
        out_of_range |= a < lo
    if hi is not None:
        out_of_range |= a > hi
    if out_of_range.any():
        at = tuple(int(i) for i in np.argwhere(out_of_range)[0])
        allowed = f"[{lo}, {hi}]" if lo is not None and hi is not None else \
            (f">= {lo}" if lo is not None else f"<= {hi}")
        raise damaged(f"holds {a[at]} at index {at if len(at) != 1 else at[0]}, outside {allowed}")
    return a


def params_to_dict(params) -> dict:
    """A parameter dataclass as a JSON-ready dict (with its class name under ``"class"``)."""
    if not dataclasses.is_dataclass(params):
        raise TypeError(f"expected a parameter dataclass (got {type(params).__name__})")
    values = {}
    for f in dataclasses.fields(params):
        v = getattr(params, f.name)
        if isinstance(v, np.generic):
            v = v.item()
        values[f.name] = v
    return {"class": type(params).__name__, "values": values}


def params_from_dict(cls, d: dict, *, source=None):
    """Rebuild (and re-validate) ``cls`` from :func:`params_to_dict`'s output.

    Unknown fields are an error (a file from a newer version with new
    parameters must not be read as if they did not matter); missing fields
    take their defaults. ``source``: the file the dict came from, named in
    the messages.

    Raises :class:`FormatError` (a ValueError): if ``d`` is not such a dict,
    holds another class or unknown fields, or if a value is invalid; then the
    message names the parameter (also as ``field``) and the ValueError of the
    parameter check is the ``__cause__``.
    """
    where = "" if source is None else f"{source}: "
    if not isinstance(d, dict) or not isinstance(d.get("values", {}), dict):
        raise FormatError(f"{where}the stored parameters are not an object of class and values",
                          path=source, field="params")
    if d.get("class") != cls.__name__:
        raise FormatError(f"{where}the parameters are a {d.get('class')!r}, not a {cls.__name__!r}",
                          path=source, field="params")
    values = dict(d.get("values", {}))
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise FormatError(f"{where}unknown {cls.__name__} field(s) {', '.join(unknown)}: the file was "
                          "written by a newer tutorial_lib", path=source, field=unknown[0])
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        m = re.match(r"\s*(\w+)", str(exc))
        name = m.group(1) if m and m.group(1) in known else None
        which = f"stored parameter {name} is" if name else "stored parameters are"
        raise FormatError(f"{where}the {which} invalid: {_short(exc, 400)}", path=source, field=name) from exc
