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

Parameters travel as JSON through :func:`params_to_dict` and
:func:`params_from_dict`: a frozen parameter dataclass becomes a plain dict,
and the dict is validated again on the way back (an edited file with a bad
value fails like a bad argument would).

Getting started::

    >>> import numpy as np, tempfile, os
    >>> from tutorial_lib.storage import save_arrays, load_arrays
    >>> path = os.path.join(tempfile.mkdtemp(), "demo.npz")
    >>> save_arrays(path, {"w": np.arange(3.0)}, kind="demo", version=1, meta={"note": "hi"})
    >>> arrays, meta = load_arrays(path, kind="demo", versions=(1,))
    >>> arrays["w"].tolist(), meta["note"]
    ([0.0, 1.0, 2.0], 'hi')
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import time
import zipfile
from pathlib import Path

import numpy as np

__all__ = [
    "FormatError",
    "atomic_write",
    "save_arrays",
    "load_arrays",
    "params_to_dict",
    "params_from_dict",
]

_KIND, _VERSION, _META = "__kind__", "__format_version__", "__meta__"
_RESERVED = (_KIND, _VERSION, _META)


class FormatError(ValueError):
    """A file is not what the reader expects: wrong kind, unknown version, damaged or incomplete."""


def _npz_path(path) -> Path:
    """``path`` as a Path, with ``.npz`` appended when it has no suffix."""
    path = Path(os.fspath(path)).expanduser()
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
    from ._signals import held

    path = Path(os.fspath(path)).expanduser()
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot save to {path}: the folder {folder} does not exist")
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
    """
    out = {}
    for name, a in arrays.items():
        if name in _RESERVED:
            raise ValueError(f"array name {name!r} is reserved")
        a = np.asarray(a)
        if a.dtype == object:
            raise ValueError(f"array {name!r} has dtype object, which cannot be stored without pickle")
        out[name] = a
    out[_KIND] = np.array(kind)
    out[_VERSION] = np.array(int(version))
    out[_META] = np.array(json.dumps({} if meta is None else meta, allow_nan=False))
    saver = np.savez_compressed if compress else np.savez
    return atomic_write(_npz_path(path), lambda f: saver(f, **out))


def load_arrays(path, *, kind: str, versions) -> tuple[dict, dict]:
    """Read a file written by :func:`save_arrays`; return ``(arrays, meta)``.

    Raises :class:`FormatError` if the file is not an archive of this module,
    holds another ``kind``, or has a format version not in ``versions``, and
    FileNotFoundError if it does not exist.
    """
    path = _npz_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    versions = tuple(int(v) for v in versions)
    try:
        with np.load(path, allow_pickle=False) as z:
            names = set(z.files)
            if not {_KIND, _VERSION, _META} <= names:
                raise FormatError(f"{path} is not a tutorial_lib file: it has no kind and format version")
            found_kind = str(z[_KIND])
            if found_kind != kind:
                raise FormatError(f"{path} holds a {found_kind!r}, not a {kind!r}")
            found = int(z[_VERSION])
            if found not in versions:
                readable = ", ".join(map(str, versions))
                raise FormatError(
                    f"{path} has format version {found}; this version of tutorial_lib reads version(s) "
                    f"{readable}. " + ("Update tutorial_lib to read it." if found > max(versions) else
                                       "Re-create the file with this version of tutorial_lib."))
            meta = json.loads(str(z[_META]))
            arrays = {name: z[name] for name in names if name not in _RESERVED}
    except FormatError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, json.JSONDecodeError) as exc:
        raise FormatError(f"{path} could not be read ({type(exc).__name__}: {exc}); "
                          "the file is damaged or not a tutorial_lib file") from exc
    return arrays, meta


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


def params_from_dict(cls, d: dict):
    """Rebuild (and re-validate) ``cls`` from :func:`params_to_dict`'s output.

    Unknown fields are an error (a file from a newer version with new
    parameters must not be read as if they did not matter); missing fields
    take their defaults.
    """
    if d.get("class") != cls.__name__:
        raise FormatError(f"the parameters are a {d.get('class')!r}, not a {cls.__name__!r}")
    values = dict(d.get("values", {}))
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise FormatError(f"unknown {cls.__name__} field(s) {', '.join(unknown)}: the file was written by a "
                          "newer tutorial_lib")
    return cls(**values)
