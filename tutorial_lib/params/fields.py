"""The parts every parameter class is made of: field metadata, physical bounds, the validated base.

:func:`param` declares a field with its range, unit, help text and slider; :func:`check_field` checks a
value against that metadata; :class:`Validated` checks every field after construction, then the fields
together, and gives the timeline every part shares. The constants below are the physical bounds of the
fields, each with the reason for its value; the dicts after :func:`check_field` are ranges that many
fields share (keyword arguments of :func:`param`). The rules are listed in :mod:`tutorial_lib.params`.
"""

from __future__ import annotations

import os
from dataclasses import field, fields
from types import MappingProxyType

import numpy as np

from ..checks import MAX_STEPS, check_grid, check_int, check_real

__all__ = [
    "smoke_test",
    "SMOKE_TEST_ENV",
    "time_names",
    "param",
    "field_kind",
    "check_field",
    "Validated",
]

#: Environment variable that asks for a reduced workload (see :func:`smoke_test`).
SMOKE_TEST_ENV = "TUTORIAL_SMOKE_TEST"


def smoke_test() -> bool:
    """True if ``$TUTORIAL_SMOKE_TEST`` is set to 1: a run that only checks that everything works.

    The browser tests set it for the JupyterLab and Voila servers they start, so
    that notebook 03 trains for 2 loops instead of 30 there (it reaches every
    kernel those servers start). The nbval run and everyone else get the real
    defaults. Only :meth:`BalancedParams.lecture` and notebook 03's score check
    read it.
    """
    return os.environ.get(SMOKE_TEST_ENV, "").strip() == "1"


def time_names(p) -> tuple:
    """The timeline field that makes a trial long: the training window, or the stimulus times (the
    parameter a memory estimate names for a long trial)."""
    return ("train_duration",) if p.train_duration >= p.stim_off else ("stim_off",)


#: Part 3's static run skips its first 200 ms (``balanced.SETTLE_MS``): a trial must be longer.
STATIC_SETTLE_MS = 200.0


# Physical bounds of the fields (their metadata), checked before anything is built ------------------------
# Each is far outside what the tutorial uses, and inside the range where every number a run forms stays a
# finite float64 (and, for the RLS state, a normal float32): a value beyond one is refused by its name
# instead of overflowing later in a simulation or an RLS update, where the error would blame another
# parameter (a weight that became infinite, a penalty matrix that is not positive definite, ...).

#: Shortest Euler step, ms (0.1 microseconds): 1000 times below the tutorial's 0.1 ms; a SPEC trial (3 s)
#: would take 3e7 steps. Smaller steps resolve nothing the models have, and a dt of 1e-308 made every
#: interval / dt overflow.
DT_MIN = 1e-4
#: Longest Euler step, ms: a step of 10 ms skips whole spikes and synaptic events (the models' shortest
#: time constant is the 3 ms of Part 3's static synapses); dt <= tau / 5 bounds it further.
DT_MAX = 10.0
#: Longest time of any kind, ms (time constants, stimulus times, windows, intervals, periods): the longest
#: trial there can be, MAX_STEPS Euler steps of the longest dt, DT_MAX: 1e9 ms (11.6 days). A time constant
#: or a target period longer than any trial is a constant; intervals must fit in the trial anyway, and the
#: trial itself is held to MAX_STEPS steps of the chosen dt (``_check_timeline``).
TIME_MAX = MAX_STEPS * DT_MAX
#: Largest amplitude of an input (Part 2: in units of the threshold 1; Part 3's stimulus likewise) and of
#: a rate of Part 1 (rates, stimulus, targets): a million times the tutorial's values. Products of these
#: with the weights (below) stay below 1e30, far from the float64 limit 1.8e308.
AMPLITUDE_MAX = 1e6
#: Largest firing rate, Hz (Parts 2 and 3's max_rate, the feedforward rates and their noise). A neuron fires
#: at most once per Euler step, 1000 / DT_MIN = 1e7 Hz; max_rate is a threshold of the divergence check, which
#: may be set beyond any rate to switch it off, so rates are allowed up to 100 times that: 1e9 Hz. The
#: memory estimate (the spike buffers grow with these rates) refuses the large ones by name.
SPIKE_RATE_MAX = 1e9
#: Largest weight scale: sigma (parts 1, 2) and g (Part 3). Why this bound, derived from where overflow
#: begins: a weight is at most about 10 sigma (|z| > 10 has probability 2e-23 per normal draw); Part 3's
#: largest weight is the plastic I one, 2 tau_m g inh_weight_ratio / (wpscale_factor sqrt(K)) <=
#: 2 TIME_MAX RATIO_MAX / (1 / RATIO_MAX) g = 2e21 g. A neuron's input sums at most 1e5 such weights times
#: a synaptic trace of at most 1 / DT_MIN = 1e4 per ms (parts 2, 3) or a rate of at most
#: max_rate <= AMPLITUDE_MAX (Part 1, whose kernel stops at max_rate): at most 2e30 g. RLS multiplies that
#: error once more, by its gain P r (at most 1e23, see PENALTY_MIN): 2e53 g. Both stay below the float64
#: maximum 1.8e308 while g is below about 1e250, which no network needs: its own activity runs away at a
#: gain of a few (sigma sqrt(K) above about 1.4 in Part 1), which training reports as a DivergenceError
#: whose advice names sigma or g. 1e6 keeps every number below 1e60; beyond it the parameters are refused
#: by name instead of the overflow blaming whatever became infinite first (the weights, the penalty).
WEIGHT_SCALE_MAX = 1e6
#: The RLS penalties (lam, lam_rec, lam_ff; mu_rs <= PENALTY_MAX). ``P`` starts as the penalty's inverse
#: and an update divides by ``1 + r . P r``, about ``|r|^2 / lam`` in the first update, computed as a
#: difference of such sums in Part 2's shared-P form: once ``|r|^2 / lam`` passes 1e16 (float64 keeps 16
#: digits), the 1 drowns in the round-off (a tiny all-to-all network, ``|r|^2`` of about 10, divided by
#: exactly 0 at lam = 1e-20, not yet at 1e-18); 1e-14 keeps that margin for ``|r|^2`` up to 100. Stored in
#: the state's dtype (float32 at the least, whose normal numbers span 1.2e-38 .. 3.4e38), ``P`` stays
#: within 1 / PENALTY_MAX .. 1 / PENALTY_MIN = 1e-14 .. 1e14, and ``P r`` (up to 1e5 regressors of at most
#: 1e4) below 1e23. A penalty of 1e-320 is subnormal: its inverse is infinite. Above 1e14 an update changes
#: the weights by less than 1e-14 of the error: nothing is learned.
PENALTY_MIN = 1e-14
PENALTY_MAX = 1e14
#: Part 3's recurrent penalty ``lam_rec I + mu_rs (1 1^T)`` has eigenvalues lam_rec and lam_rec + L mu_rs:
#: once lam_rec vanishes next to mu_rs in float64 (below about 1e-16 mu_rs) it is no longer positive
#: definite. lam_rec >= LAM_REC_PER_MU_RS * mu_rs keeps two decades of room.
LAM_REC_PER_MU_RS = 1e-14
#: Part 3's feedforward rate process is integrated on a 1 ms grid (``balanced.plastic.FFWD_GRID_MS``);
#: its Euler decay factor 1 - 1 ms / ffwd_tau is positive only for ffwd_tau >= 1 ms.
FFWD_TAU_MIN = 1.0
#: A ratio of rates (inh_weight_ratio) and the scale wpscale_factor: within 1e-6 .. 1e6 of 1.
RATIO_MAX = 1e6


# Field metadata: the one place that holds each field's range, unit, help text and slider ---------------


def param(default, help: str, *, lo=None, hi=None, lo_open: bool = False, hi_open: bool = False,
          what: str = "",
          unit: str = "", slider: dict | None = None, choices: tuple | None = None, none: str = ""):
    """A dataclass field with its metadata: everything validation, the CLI and the dashboards read.

    ``help``: one line for ``--help`` and the dashboards' tooltips. ``lo``/``hi``
    (``lo_open``/``hi_open``: strict) the field's own valid range, checked by
    :func:`check_int` / :func:`check_real` (ranges that depend on other fields:
    :meth:`Validated.field_range`). ``what``: the plain-words name in error
    messages (``sigma (weight scale) must be > 0``). ``unit``: e.g. ``"ms"``.
    ``slider``: the dashboards' control, ``dict(min=, max=, step=, scale="linear"|"log",
    label=)`` (for ``"log"`` min and max are values, not exponents). ``choices``: the
    values of a text field. ``none``: what ``None`` means, for a field that may be None.
    """
    meta = dict(help=help, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open, what=what, unit=unit,
                slider=MappingProxyType(dict(slider)) if slider else None, choices=choices, none=none)
    return field(default=default, metadata=MappingProxyType(meta))


def field_kind(f) -> tuple[str, bool]:
    """``(kind, optional)`` of a parameter field from its annotation; kind: "int", "float", "bool" or "str"."""
    parts = [t.strip() for t in str(f.type).split("|")]
    return next(t for t in parts if t != "None"), "None" in parts


def check_field(f, value):
    """Check ``value`` for the dataclass field ``f`` against its metadata (:func:`param`); return it coerced."""
    m, name = f.metadata, f.name
    kind, optional = field_kind(f)
    if value is None and optional:
        return None
    if kind == "int":
        return check_int(name, value, lo=m["lo"], hi=m["hi"], what=m["what"])
    if kind == "float":
        return check_real(name, value, lo=m["lo"], hi=m["hi"], lo_open=m["lo_open"], hi_open=m["hi_open"],
                          what=m["what"])
    if kind == "bool":
        numpy_bool = getattr(value, "dtype", None) is not None and value.dtype.kind == "b" and value.ndim == 0
        if not (isinstance(value, bool) or numpy_bool):
            raise ValueError(f"{name} ({m['what']}) must be True or False (got {value!r})")
        return bool(value)
    if value not in m["choices"]:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, m['choices']))} (got {value!r})")
    return value


# Ranges shared by many fields, as keyword arguments of param() --------------------------------------

POS = dict(lo=0, lo_open=True)   # > 0
NONNEG = dict(lo=0)              # >= 0
SEED = dict(lo=0, hi=2**32 - 1, what="random seed")
# the physical bounds (see DT_MIN ... RATIO_MAX above)
TIME = dict(lo=0, lo_open=True, hi=TIME_MAX)     # a duration or an interval, ms
TIME0 = dict(lo=0, hi=TIME_MAX)                  # a time that may be 0, ms
TAU = dict(lo=DT_MIN, hi=TIME_MAX)               # a time constant, ms
DT = dict(lo=DT_MIN, hi=DT_MAX)                  # the Euler step, ms
AMP = dict(lo=0, hi=AMPLITUDE_MAX)               # an amplitude, a noise, a rate of Part 1
SIGNED = dict(lo=-AMPLITUDE_MAX, hi=AMPLITUDE_MAX)
SCALE = dict(lo=0, lo_open=True, hi=WEIGHT_SCALE_MAX)
PENALTY = dict(lo=PENALTY_MIN, hi=PENALTY_MAX)
HZ = dict(lo=0, hi=SPIKE_RATE_MAX)               # a firing rate, Hz
LOOPS = dict(lo=1, hi=100_000, what="training loops")


class Validated:
    """Mixin: after construction, check every field against its metadata, then the fields together."""

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, check_field(f, getattr(self, f.name)))
        self._check_together()

    def _check_together(self):
        pass

    def _dependent_bounds(self) -> dict:
        """``name -> (lo, hi)``: the ranges of fields that depend on other fields (closed; None: no bound).

        THE cross-field constraints: ``_check_together`` refuses a value outside them, and
        the dashboards move their sliders' bounds to them when another slider moves."""
        return {}

    def field_range(self, name: str) -> tuple:
        """``(lo, hi)`` of field ``name`` given the other fields' values: its own range (metadata)
        intersected with :meth:`_dependent_bounds` (None: unbounded; open bounds are reported as given)."""
        m = next(f for f in fields(self) if f.name == name).metadata
        lo, hi = m["lo"], m["hi"]
        dlo, dhi = self._dependent_bounds().get(name, (None, None))
        if dlo is not None:
            lo = dlo if lo is None else max(lo, dlo)
        if dhi is not None:
            hi = dhi if hi is None else min(hi, dhi)
        return lo, hi

    def _timeline_bounds(self, learn_min: int = 1) -> dict:
        """The timeline's cross-field bounds, shared by every part (see :meth:`_check_timeline`)."""
        return {"learn_every": (None, self.train_duration / learn_min),
                "record_every": (None, self.train_duration / 2)}

    # the timeline every part shares -------------------------------------
    @property
    def t_end(self) -> float:
        """Trial length in ms (stimulus off + training window: the training window ends the trial)."""
        return self.stim_off + self.train_duration

    @property
    def n_learn(self) -> int:
        """RLS updates per trial (at stim_off, stim_off + learn_every, ... < t_end)."""
        window = round(self.train_duration / self.dt)
        every = round(self.learn_every / self.dt)
        return -(-window // every)

    @property
    def learn_times(self):
        """Times (ms) of the RLS updates, shape (n_learn,); in Part 3 also the centres of the score's windows."""
        return self.stim_off + np.arange(self.n_learn) * self.learn_every

    def _check_euler(self, tau_name: str, decays: tuple = ()):
        """dt <= tau_name / 5 (an accurate Euler step) and every time constant in ``decays`` >= dt (a
        positive Euler decay factor 1 - dt / tau), against the bounds of :meth:`_dependent_bounds`."""
        bounds = self._dependent_bounds()
        if self.dt > bounds["dt"][1]:
            raise ValueError(f"dt must be <= {tau_name} / 5 = {bounds['dt'][1]:g} ms for an accurate Euler "
                             f"step: lower dt or raise {tau_name} = {getattr(self, tau_name):g} ms (got {self.dt:g})")
        for name in decays:
            if getattr(self, name) < bounds[name][0]:
                raise ValueError(f"{name} must be >= dt = {self.dt:g} ms: the Euler decay factor "
                                 f"1 - dt/{name} would be negative (got {getattr(self, name):g})")

    def _check_timeline(self, learn_min: int = 1):
        """The timeline rules every part shares (see the module docstring), in one place.

        ``learn_min``: learning steps the training window must hold at least (Part 3's
        score correlates the input at the learning times, so it needs two).
        """
        if self.stim_off <= self.stim_on:
            raise ValueError(f"stim_off must be > stim_on = {self.stim_on:g} ms (got {self.stim_off:g})")
        for name in ("stim_on", "stim_off", "train_duration", "learn_every", "record_every"):
            value = getattr(self, name)
            if name == "stim_on" and value == 0:
                continue
            check_grid(name, value, self.dt)
        steps = (self.stim_off + self.train_duration) / self.dt
        if steps > MAX_STEPS:
            raise ValueError(
                f"stim_off + train_duration must be <= {MAX_STEPS:.0e} Euler steps of dt = {self.dt:g} ms, "
                f"{MAX_STEPS * self.dt:g} ms (got {self.stim_off + self.train_duration:g} ms, {steps:.3g} steps, "
                f"which would run for days): lower train_duration or stim_off, or raise dt")
        bounds = self._timeline_bounds(learn_min)
        if self.learn_every > bounds["learn_every"][1]:
            bound = "train_duration" if learn_min == 1 else f"train_duration / {learn_min}"
            why = "" if learn_min == 1 else (f": the score correlates the input at the learning times and "
                                             f"needs at least {learn_min} of them")
            raise ValueError(f"learn_every must be <= {bound} = {bounds['learn_every'][1]:g} ms{why} "
                             f"(got {self.learn_every:g})")
        if self.record_every > bounds["record_every"][1]:
            raise ValueError(f"record_every must be <= train_duration / 2 = {self.train_duration / 2:g} ms: the "
                             f"score needs at least two recorded samples in the training window "
                             f"(got {self.record_every:g})")
