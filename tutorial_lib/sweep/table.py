r"""A sweep's table: one row per run, written atomically after every run, read back (:func:`load_table`).

``.csv``, or ``.parquet`` when pyarrow is installed (optional: imported where a Parquet file is
written or read); other suffixes are refused.
"""

# Imported inside functions: pyarrow (optional, only for .parquet) and pandas (about a second; the command
# line starts without it).

from __future__ import annotations

import io
import os
from pathlib import Path


from ..cli_args import check_output_path, one_line
from ..interrupts import held
from ..storage import atomic_write

__all__ = ["out_format", "check_out", "as_read", "load_table", "ordered", "save_table"]


_FIRST = ("run_id", "part", "status", "test_score", "test_score_avg", "seconds", "loops_done", "failure",
          "reason")


def out_format(out) -> str:
    """``"csv"`` or ``"parquet"``, by the suffix of ``out``; ValueError for another suffix (or .parquet
    without pyarrow)."""
    suffix = Path(out).suffix.lower()
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError(f"out {out}: writing .parquet needs pyarrow (pip install pyarrow); "
                             "or give a .csv path") from None
        return "parquet"
    if suffix != ".csv":
        raise ValueError(f"out {out}: give a .csv or .parquet path (a sweep table is written as one of "
                         f"those; got {suffix or 'no suffix'})")
    return "csv"


def check_out(out, label: str = "out") -> Path:
    """``out`` as a Path, if the table can be written there (checked before any run); ``label`` opens the
    messages. See :func:`tutorial_lib.cli.check_output_path` (empty, too long, a folder, not writable)."""
    path = check_output_path(label, out)
    try:
        out_format(path)
    except ValueError as exc:
        raise ValueError(label + str(exc)[len("out"):]) from None
    return path


def _read_csv_options() -> dict:
    import pandas as pd

    # exact float round trip: pandas 3 reads so by default (and deprecates the option)
    return {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


def as_read(df):
    """``df`` as :func:`load_table` reads it back from a CSV file (None as NaN, the same dtypes)."""
    import pandas as pd

    return pd.read_csv(io.StringIO(df.to_csv(index=False)), **_read_csv_options())


def load_table(path):
    """Read a sweep's table (``.csv`` or ``.parquet``) as a DataFrame; ValueError if it is not one."""
    import pandas as pd

    path = Path(os.fspath(path)).expanduser()
    try:
        if out_format(path) == "parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, **_read_csv_options())
    except (OSError, ValueError) as exc:
        if isinstance(exc, ValueError) and "pyarrow" in str(exc):
            raise
        raise ValueError(f"cannot read the sweep table {path}: {one_line(exc)}") from None
    except Exception as exc:  # pandas' parser errors
        raise ValueError(f"cannot read the sweep table {path}: {one_line(exc)}") from None
    missing = [c for c in ("run_id", "part", "status") if c not in df.columns]
    if missing:
        raise ValueError(f"{path} is not a sweep table (no column {', '.join(missing)}); "
                         "give another out path")
    if "test_score" not in df.columns and (df["status"] == "ok").any():
        raise ValueError(f"{path}: rows with status 'ok' but no column test_score (edited by hand?); "
                         "give another out path, or delete those rows")
    return df


def ordered(df, order: dict):
    """Columns in a fixed order (first the run's outcome, then parameters, then loop scores);
    rows: those of other sweeps first (as they were), then this sweep's in its order."""
    import pandas as pd

    def loop_key(c):
        head, _, k = c.rpartition("_")
        return (head, int(k)) if k.isdigit() else (c, 0)

    first = [c for c in _FIRST if c in df.columns]
    loops = sorted([c for c in df.columns if c.startswith(("score_loop_", "test_score_loop_",
                                                           "test_score_avg_loop_"))], key=loop_key)
    params = [c for c in df.columns if c not in first and c not in loops]
    df = df[first + params + loops]
    rank = df["run_id"].map(order)
    other = df[rank.isna()]
    mine = df[rank.notna()].assign(_rank=rank[rank.notna()]).sort_values("_rank", kind="stable")
    return pd.concat([other, mine.drop(columns="_rank")], ignore_index=True)


def save_table(df, path: Path) -> None:
    """Write the table ``df`` to ``path`` (CSV or Parquet by its suffix), atomically; a signal waits for the rename."""
    if out_format(path) == "parquet":
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        data = buf.getvalue()
    else:
        data = df.to_csv(index=False).encode()
    with held():  # the rename is done or not; the write itself is atomic already
        atomic_write(path, lambda f: f.write(data))
