r"""The settings of a sweep: every run's parameters, validated before any run (:func:`plan`), and run ids.

A grid (every combination of its values) or a list of settings, crossed with seeds, on top of a
part's base parameters; strings are read as the command line reads them. :func:`run_id` is a digest
of everything a run's result depends on: the same setting has the same id in every sweep.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
from dataclasses import fields, replace

import numpy as np

from ..checks import check_memory, check_type
from ..cli_args import field_specs, one_line
from ..params import RateParams, check_field
from ..parts import CLI_PARTS as PARTS  # name -> Part (the parts a sweep can train)
from ..storage import params_to_dict

__all__ = ["MAX_RUNS", "plan", "run_id", "data_digest"]


#: the most runs one sweep may have (settings x seeds): a bigger grid is refused before it is built
MAX_RUNS = 100_000


def _convert(cls, name: str, value):
    """A grid value as the field's type: strings (from the command line) through the CLI's converters."""
    if isinstance(value, str):
        kind, _, convert = field_specs(cls)[name]
        if kind is not str:
            try:
                return convert(value)
            except argparse.ArgumentTypeError as exc:
                raise ValueError(str(exc)) from None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check_names(cls, part: str, names) -> dict:
    meta = {f.name: f for f in fields(cls)}
    for name in names:
        if name not in meta:
            raise ValueError(f"{name!r} is not a {part} parameter ({cls.__name__} fields: {', '.join(meta)})")
    return meta


def _values(cls, part, name, values, label=None) -> list:
    """The list of values of one grid entry, each checked against the field's own range.

    ``label`` opens the messages (default ``"grid NAME"``)."""
    meta = _check_names(cls, part, [name])
    label = f"grid {name}" if label is None else label
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        values = [values]
    values = list(values)
    if not values:
        raise ValueError(f"{label}: no values given")
    out = []
    for v in values:
        try:
            out.append(check_field(meta[name], _convert(cls, name, v)))
        except ValueError as exc:
            raise ValueError(f"{label}: {exc}") from None
    seen = {}
    for given, v in zip(values, out):
        # equal as numbers is the same setting: 0 and -0, 1 and 1.0 and 1e0 (a set compares so: hash(-0.0)
        # == hash(0)); one run twice would count as two seeds with a spread of 0
        key = _same_value(v)
        if key in seen:
            raise ValueError(f"{label}: the value {v!r} is given twice ({seen[key]!r} and {given!r} are "
                             "equal): give each value once")
        seen[key] = given
    return out


def _same_value(v):
    """A key under which values equal as parameter values are equal (-0.0 as 0.0; True is not 1)."""
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, float) and v == 0:
        return 0.0
    return v


def _check_size(n_runs: int, detail: str) -> None:
    if n_runs > MAX_RUNS:
        raise ValueError(f"the sweep has {n_runs:,} runs ({detail}): at most {MAX_RUNS:,} in one sweep; "
                         "split it (one table can collect several sweeps)")


def _seeds(seeds) -> list | None:
    if seeds is None:
        return None
    if isinstance(seeds, bool):
        raise ValueError(f"seeds must be a number of seeds (>= 1) or a list of seeds (got {seeds!r})")
    if isinstance(seeds, (float, np.floating, str, bytes)):  # 2.0 or "2": two seeds, or seed 2?
        raise TypeError(f"seeds must be a whole number of seeds (an int >= 1) or a list of seeds "
                        f"(got {seeds!r})")
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1 (the seeds 0 .. seeds-1), or a list of seeds (got {seeds})")
        _check_size(int(seeds), f"{seeds} seeds")
        return list(range(int(seeds)))
    return _values(RateParams, "part1", "seed", seeds, label="seeds")


def plan(part: str, grid: dict | None = None, settings: list | None = None, *, seeds=None, base=None) -> list:
    """The parameters of every run of a sweep, validated, in order (grid order, then seed).

    ``grid``: ``{name: [values]}``, every combination (the first name varies slowest);
    ``settings``: a list of ``{name: value}`` (not with ``grid``); ``seeds``: a number ``n``
    (seeds 0 .. n-1) or a list of seeds, crossed with every setting (None: the base's seed);
    ``base``: the fixed values, a dict or a parameter object of the part (default: its
    defaults). Strings are read as the command line reads them (``K="all"``).

    Returns a list of ``(setting, params)``: ``setting`` the dict of the values that vary
    (``seed`` included when ``seeds`` is given), ``params`` the part's parameter object.

    Raises ValueError naming the parameter and its valid range for an unknown name or a bad
    value (a combination that breaks a rule between fields names the setting too), or a setting
    whose run would not fit in memory, or more than :data:`MAX_RUNS` runs, or a value given twice
    (equal as numbers: ``0`` and ``-0.0``, ``1`` and ``1.0``: one run twice would count as two
    seeds); TypeError for arguments of the wrong kind (``seeds=2.0``: a number of seeds is an int).
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)} (got {part!r})")
    cls = PARTS[part].params
    if grid is not None and settings is not None:
        raise ValueError("give grid or settings, not both (a grid is every combination of its values)")
    base = _base(cls, part, base)
    seed_list = _seeds(seeds)
    if grid is not None:
        rows = _grid_rows(cls, part, grid, seed_list)
    elif settings is not None:
        rows = _setting_rows(cls, part, settings)
    else:
        rows = [{}]
    if seed_list is not None:
        if any("seed" in r for r in rows):
            raise ValueError("give the seeds either with seeds= (--seeds) or as a grid or setting value, "
                             "not both")
        _check_size(len(rows) * len(seed_list), f"{len(rows)} settings x {len(seed_list)} seeds")
        rows = [{**r, "seed": s} for r in rows for s in seed_list]
    return _runs(part, base, rows)


def _base(cls, part: str, base):
    """The fixed parameters of a sweep: ``base`` (a dict of values, a parameter object, None: defaults)."""
    if base is None:
        return cls()
    if isinstance(base, dict):
        _check_names(cls, part, base)
        try:
            return replace(cls(), **{k: _convert(cls, k, v) for k, v in base.items()})
        except ValueError as exc:
            raise ValueError(f"base: {exc}") from None
        except ArithmeticError as exc:  # a check that overflowed on a value far out of range (dt=1e-308)
            raise ValueError(f"base: a value is far out of range ({type(exc).__name__}: {one_line(exc)}; "
                             f"{', '.join(f'{k}={v!r}' for k, v in base.items())})") from None
    check_type("base", base, (dict, cls), allow_none=True)
    return base


def _grid_rows(cls, part: str, grid, seed_list) -> list:
    """Every combination of the grid's values (the first name varies slowest), its size checked first."""
    check_type("grid", grid, dict)
    names = list(grid)
    lists = [_values(cls, part, name, grid[name]) for name in names]
    sizes = " x ".join([f"{len(v)} {k}" for k, v in zip(names, lists)]
                       + ([] if seed_list is None else [f"{len(seed_list)} seeds"]))
    _check_size(math.prod(map(len, lists)) * (1 if seed_list is None else len(seed_list)), sizes)
    return [dict(zip(names, combo)) for combo in itertools.product(*lists)]


def _setting_rows(cls, part: str, settings) -> list:
    """A list of settings (dicts), each value checked."""
    if isinstance(settings, dict) or not hasattr(settings, "__iter__"):
        raise TypeError(f"settings must be a list of dicts (got {type(settings).__name__})")
    rows = []
    for i, s in enumerate(settings):
        check_type(f"settings[{i}]", s, dict)
        rows.append({k: _values(cls, part, k, [v], label=f"settings[{i}] {k}")[0] for k, v in s.items()})
    if not rows:
        raise ValueError("settings: the list is empty")
    return rows


def _runs(part: str, base, rows: list) -> list:
    """``(setting, params)`` of every row, each built and its memory estimated; a setting twice is refused."""
    out, seen = [], set()
    for r in rows:
        try:
            p = replace(base, **r)
            check_memory(p)
        except (ValueError, ArithmeticError) as exc:  # ArithmeticError: a check overflowed (dt=1e-308)
            shown = ", ".join(f"{k}={v!r}" for k, v in r.items())
            what = str(exc) if isinstance(exc, ValueError) else (
                f"a value is far out of range ({type(exc).__name__}: {one_line(exc)})")
            raise ValueError(f"setting {shown}: {what}") from None
        key = run_id(part, p, None)
        if key in seen:
            raise ValueError(f"the setting {r} is given twice")
        seen.add(key)
        out.append((r, p))
    return out


def run_id(part: str, params, data_digest: str | None) -> str:
    """A digest of everything a run's result depends on: part, every parameter, (Part 3) the data."""
    values = {k: (0.0 if isinstance(v, float) and v == 0 else v)  # -0.0 is 0.0: the same run, the same id
              for k, v in params_to_dict(params)["values"].items()}
    doc = {"part": part, "params": values, "data": data_digest}
    text = json.dumps(doc, sort_keys=True, allow_nan=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def data_digest(data) -> str:
    """A digest of the recordings a run trains on (rates and targets of every condition, times)."""
    h = hashlib.sha256()
    for c in sorted(data.rates):
        h.update(np.ascontiguousarray(data.rates[c]).tobytes())
        if data.utarg is not None:
            h.update(np.ascontiguousarray(data.utarg[c]).tobytes())
    h.update(np.ascontiguousarray(data.t).tobytes())
    return h.hexdigest()[:16]
