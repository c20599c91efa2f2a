r"""Part 5 in a sweep, and the plan of Part 5's experiments that ``rls-tutorial part5`` shares.

``sweep("part3", ..., part5=True)`` (``rls-tutorial sweep part3 ... --part5``) runs, after each run's
training and tests, the experiments of ``rls-tutorial part5`` on the trained network, with the default
grid over the delay of the run's parameters (:func:`default_grid`) and ``n_train`` / ``n_test`` test
trials per condition for the read-out (``part5={"n_train": 10, "n_test": 10}``; True: these). The
row gets (:func:`part5_columns`; times and lengths in ms, as ``%g``):

* ``p5_accuracy``: the read-out's accuracy on the held-out trials;
* ``p5_photoinhibition_switched_S_D``: the fraction of trials switched by the window from S lasting D;
* ``p5_distractor_switched_S``: the fraction switched by the distractor at S (the gating curve);
* ``p5_kick_a50_S``, ``p5_kick_a50_low_S``, ``p5_kick_a50_high_S``: the kick amplitude that switches
  half of the trials at S and its 95% interval (NaN if no switch was seen: not bounded).

The control without condition-carrying feed-forward input is not run here (``rls-tutorial part5
--control`` runs it). A run's id includes the read-out's trial counts, so a sweep with ``--part5``
does not skip the runs of the same settings without it.
"""

# Imported on first use (importlib): tutorial_lib.attractors and, through it, the compiled engine (numba), so
# that the command line starts without them.

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass

import numpy as np

from ..checks import check_int
from ..cli_args import jsonable
from ..params import BalancedParams

__all__ = ["EXPERIMENTS", "READOUT_MS", "DEFAULT_AMPLITUDES", "Grid", "default_grid", "in_range", "check_grid",
           "records", "part5_options", "check_delay", "part5_columns"]

#: the experiments, by the name of their rows (``Outcomes.experiment``)
EXPERIMENTS = ("photoinhibition", "distractor", "kick")
#: the read-out window: the last READOUT_MS of the trial (``fit_choice``'s ``readout_ms``)
READOUT_MS = 100.0
DEFAULT_AMPLITUDES = (0.0, 10.0, 25.0, 50.0, 100.0)


@dataclass
class Grid:
    """The experiments' settings (times in ms, strengths in threshold units)."""

    experiments: tuple
    starts: list
    durations: list
    strength: float
    times: list
    distractor_strength: float
    amplitudes: list
    kick_times: list
    kick_duration: float


def spread(lo: float, hi: float, n: int, unit: float) -> list:
    """``n`` times from ``lo`` to ``hi`` (at most), each ``lo`` plus a whole number of ``unit``."""
    if hi < lo:
        return [lo]
    out = {round(lo + math.floor((k * (hi - lo) / max(n - 1, 1)) / unit + 1e-9) * unit, 9) for k in range(n)}
    return sorted(out)


def default_grid(p: BalancedParams, experiments=EXPERIMENTS, kick_duration: float | None = None) -> Grid:
    """The grid over the delay of ``p`` (from ``stim_off`` to the read-out window, the last READOUT_MS):
    photoinhibition windows of 1/8 and 1/4 of it starting at 3 times, distractors at 4 onsets, kicks of
    ``kick_duration`` (default 50 ms) at 3 times with amplitudes 0 to 100; times on a 10 ms grid (or dt's,
    if coarser), the last of each ending by the read-out window."""
    unit = p.dt * max(1, round(10.0 / p.dt))
    end = p.t_end - READOUT_MS
    span = end - p.stim_off
    durations = sorted({max(unit, math.floor(span / f / unit) * unit) for f in (8, 4)})
    kick = kick_duration if kick_duration is not None else (50.0 if span >= 100.0 else unit)
    return Grid(tuple(experiments), spread(p.stim_off, end - durations[-1], 3, unit), durations, 1.0,
                spread(p.stim_off, end - (p.stim_off - p.stim_on), 4, unit), 1.0, list(DEFAULT_AMPLITUDES),
                spread(p.stim_off, end - kick, 3, unit), kick)


def in_range(error, flag: str, values, lo: float, hi: float, what: str, dt: float | None = None) -> None:
    """Each value in ``[lo, hi]`` (and on the dt grid), else ``error(message)`` naming ``flag`` and the range."""
    if not values:
        error(f"{flag} needs at least one value ({what})")
    if hi < lo:
        error(f"{flag}: no value fits ({what} would have to lie in [{lo:g}, {hi:g}]): the delay is too short")
    for v in values:
        if not lo <= v <= hi:  # NaN fails too
            error(f"{flag} must be in [{lo:g}, {hi:g}] ({what}; got {v:g})")
        if dt is not None and abs(v / dt - round(v / dt)) > 1e-6:
            error(f"{flag} must be on the dt = {dt:g} ms grid (got {v:g})")
    if len(set(values)) != len(values):
        error(f"{flag} holds a value twice (got {','.join(f'{v:g}' for v in values)})")


def check_grid(error, g: Grid, p: BalancedParams) -> None:
    """``error(message)`` (which raises) for a setting the experiments would refuse, naming the flag and its
    range from the delay of ``p``: the same bounds as :mod:`tutorial_lib.attractors`, checked before training."""
    end, dt = p.t_end - READOUT_MS, p.dt
    delay = f"ms: in the delay, from stim_off = {p.stim_off:g} to the read-out window at {end:g}"
    if "photoinhibition" in g.experiments:
        in_range(error, "--starts", g.starts, p.stim_off, end - dt, f"window starts, {delay}", dt)
        in_range(error, "--durations", g.durations, dt, end - min(g.starts), "window lengths, ms", dt)
        if max(g.starts) + max(g.durations) > end + 1e-9:
            error(f"--starts + --durations must end by the read-out window at {end:g} ms "
                  f"(got {max(g.starts):g} + {max(g.durations):g})")
        in_range(error, "--strength", [g.strength], 0.0, 100.0, "current to each I cell")
    if "distractor" in g.experiments:
        length = p.stim_off - p.stim_on
        in_range(error, "--times", g.times, p.stim_off, end - length,
                 f"distractor onsets, {delay}, less the {length:g} ms stimulus", dt)
        in_range(error, "--distractor-strength", [g.distractor_strength], 0.0, 10.0,
                 "scale of the other condition's stimulus")
    if "kick" in g.experiments:
        in_range(error, "--kick-duration", [g.kick_duration], dt, end - p.stim_off, "kick length, ms", dt)
        in_range(error, "--kick-times", g.kick_times, p.stim_off, end - g.kick_duration,
                 f"kick onsets, {delay}, less the {g.kick_duration:g} ms kick", dt)
        in_range(error, "--amplitudes", g.amplitudes, 0.0, 1000.0, "norm of the kick's current vector")


def records(table: dict) -> list:
    """A dict of equal-length arrays (``Outcomes.summary()``) as a list of JSON rows (NaN as None)."""
    cols = {}
    for key, values in table.items():
        a = np.asarray(values)
        cols[key] = ([bool(v) for v in a] if a.dtype == bool else [int(v) for v in a] if a.dtype.kind in "iu"
                     else jsonable(a))
    n = len(next(iter(cols.values()), []))
    return [{key: cols[key][i] for key in cols} for i in range(n)]


def part5_options(part: str, part5) -> dict | None:
    """The ``part5`` argument of a sweep as ``{"n_train", "n_test"}`` (None: off); ValueError naming it."""
    if part5 is None or part5 is False:
        return None
    if part != "part3":
        raise ValueError(f"part5 runs on Part 3's trained network: sweep part3 (got part {part!r})")
    given = {} if part5 is True else part5
    if not isinstance(given, dict) or set(given) - {"n_train", "n_test"}:
        raise ValueError(f"part5 must be True or a dict with n_train and n_test (got {part5!r:.80})")
    return {k: check_int(f"part5 {k}", given.get(k, 10), lo=1, hi=500, what="test trials per condition")
            for k in ("n_train", "n_test")}


def check_delay(p: BalancedParams) -> None:
    """ValueError if the default grid does not fit in the delay of ``p`` (said before any run)."""
    def error(message):
        raise ValueError(f"part5: the default grid does not fit this run's delay: {message}")

    check_grid(error, default_grid(p), p)


def part5_columns(result, options: dict) -> dict:
    """The Part 5 columns of a run's row (see the module's header), on one thread."""
    att = importlib.import_module("tutorial_lib.attractors")
    p = result.params
    g = default_grid(p)
    readout = att.fit_choice(result, options["n_train"], options["n_test"], readout_ms=READOUT_MS, n_jobs=1)
    cols = {"p5_accuracy": readout.accuracy}
    out = att.photoinhibition(result, readout, g.starts, g.durations, g.strength, n_jobs=1)
    for s in records(out.summary()):
        cols[f"p5_photoinhibition_switched_{s['start']:g}_{s['duration']:g}"] = s["switched"]
    out = att.distractors(result, readout, g.times, g.distractor_strength, n_jobs=1)
    for s in records(out.summary()):
        cols[f"p5_distractor_switched_{s['start']:g}"] = s["switched"]
    th = att.kicks(result, readout, g.amplitudes, g.kick_times, g.kick_duration, n_jobs=1).thresholds()
    for k, start in enumerate(th["start"]):
        for name in ("a50", "low", "high"):
            value = float(th[name][k]) if th["bounded"][k] else math.nan
            cols[f"p5_kick_{'a50' if name == 'a50' else 'a50_' + name}_{start:g}"] = value
    return cols
