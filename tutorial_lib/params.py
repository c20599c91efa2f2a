"""Model parameters, as frozen dataclasses validated in one place.

Why one module of about 1100 lines: the three parts' parameter classes share every rule below
(field metadata, whole-number and fraction rules, the timeline, the memory estimate), and each
field is declared with its range, unit and help text, which makes the classes long but each
field readable in one place. Split by part, the rules would live in a fourth module anyway.

Every model in the tutorial takes its numbers from one of these classes. They
are frozen, so a set of parameters can be shared, compared and copied safely;
change one value with :func:`dataclasses.replace`::

    >>> from dataclasses import replace
    >>> p = RateParams()                  # the SPEC defaults of Part 1
    >>> q = replace(p, sigma=0.15)        # the same network, stronger weights
    >>> q.g                               # the gain sigma * sqrt(N)
    1.5

Invalid values raise :class:`ValueError` at construction time, with a message
that names the parameter and its valid range, e.g.
``ValueError: sigma (weight scale) must be > 0; it must be in (0, 1e+06] (got -0.1)``. Times are in
milliseconds.

Rules every class follows (one helper each, so they cannot drift apart):

* Each field's range, unit, help text and dashboard slider are its metadata
  (:func:`param`, ``dataclasses.fields(cls)[i].metadata``), read alike by the
  validation (:func:`check_field`), the command line's ``--help`` and the
  dashboards' sliders. Ranges that depend on other fields (``K <= N - 1``,
  ``L + 1 <= n_trained <= Ne``, ``dt <= tau / 5``, ...) are stated once, in each
  class's ``_dependent_bounds``; :meth:`_Validated.field_range` gives a field's
  valid range given the others (the dashboards move their sliders' bounds to it).
* Every number has a physical range in its metadata, upper bounds included: times
  (``dt`` in [:data:`DT_MIN`, :data:`DT_MAX`], every other time at most :data:`TIME_MAX`),
  amplitudes and noises (:data:`AMPLITUDE_MAX`), rates in Hz (:data:`SPIKE_RATE_MAX`), the
  weight scales sigma and g (:data:`WEIGHT_SCALE_MAX`), the RLS penalties
  ([:data:`PENALTY_MIN`, :data:`PENALTY_MAX`]); each constant says why. A value beyond one
  (``1e308``, ``1e-320``) is refused by its name before anything is built, instead of
  overflowing later where the error would blame another parameter.
* Whole-number fields (:func:`check_int`): ``True``/``False`` are refused; a
  float with an integral value is accepted as that integer (``2.0`` is ``2``,
  so ``1e3`` from a JSON file works); ``2.5``, NaN and infinity are refused.
* A count derived from a fraction (the trained neurons ``train_fraction N``,
  the E population ``frac_exc N``, the out-degree ``N K / Ne``) is rounded to the
  nearest integer, halves up (:func:`count_from_fraction`); every message that
  suggests a value uses the same rule, so a suggested value is accepted.
* The timeline (:meth:`_Validated._check_timeline`): the stimulus ends after it
  starts; stimulus, window, learning and recording intervals are whole
  multiples of ``dt``; at least one learning step and two recorded samples fall
  inside the training window (a correlation of fewer samples means nothing);
  a trial has at most ``MAX_STEPS`` (1e8) Euler steps.
* Sizes: :func:`check_memory` estimates the bytes of the big arrays from the
  parameters (recordings, connectivity, RLS state, feedforward spikes) and
  refuses, naming the parameters of the largest, when they exceed the memory
  available. ``build_network`` and ``train`` of every part call it first.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from types import MappingProxyType

from .checks import MAX_STEPS, check_grid, check_int, check_real, count_from_fraction, min_fraction

__all__ = [
    "smoke_test",
    "SMOKE_TEST_ENV",
    "RateParams",
    "SpikingParams",
    "BalancedParams",
    "param",
    "field_kind",
    "check_field",
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


def _time_names(p) -> tuple:
    """The timeline field that makes a trial long: the training window, or the stimulus times."""
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
    :meth:`_Validated.field_range`). ``what``: the plain-words name in error
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


_POS = dict(lo=0, lo_open=True)   # > 0
_NONNEG = dict(lo=0)              # >= 0
_SEED = dict(lo=0, hi=2**32 - 1, what="random seed")
# the physical bounds (see DT_MIN ... RATIO_MAX above)
_TIME = dict(lo=0, lo_open=True, hi=TIME_MAX)     # a duration or an interval, ms
_TIME0 = dict(lo=0, hi=TIME_MAX)                  # a time that may be 0, ms
_TAU = dict(lo=DT_MIN, hi=TIME_MAX)               # a time constant, ms
_DT = dict(lo=DT_MIN, hi=DT_MAX)                  # the Euler step, ms
_AMP = dict(lo=0, hi=AMPLITUDE_MAX)               # an amplitude, a noise, a rate of Part 1
_SIGNED = dict(lo=-AMPLITUDE_MAX, hi=AMPLITUDE_MAX)
_SCALE = dict(lo=0, lo_open=True, hi=WEIGHT_SCALE_MAX)
_PENALTY = dict(lo=PENALTY_MIN, hi=PENALTY_MAX)
_HZ = dict(lo=0, hi=SPIKE_RATE_MAX)               # a firing rate, Hz
_LOOPS = dict(lo=1, hi=100_000, what="training loops")


class _Validated:
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
        import numpy as np

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


class _RecurrentNetwork(_Validated):
    """What parts 1 and 2 share: N neurons, K inputs each (None: all-to-all), a trained fraction."""

    def _dependent_bounds(self) -> dict:
        """K <= N - 1 (inputs come from the other neurons); dt <= tau / 5 (Euler); train_fraction N >= 0.5
        (one trained neuron at least); the timeline's bounds."""
        return {"K": (1, self.N - 1), "dt": (None, self._tau_membrane / 5),
                "train_fraction": (float(min_fraction(self.N)), 1.0), **self._timeline_bounds()}

    def _check_network(self):
        if self.K is not None and self.K > self._dependent_bounds()["K"][1]:
            raise ValueError(
                f"K (inputs per neuron) must be in [1, N-1] = [1, {self.N - 1}] (got {self.K})"
            )
        if self.n_trained < 1:
            raise ValueError(
                f"train_fraction must train at least one neuron: {self.train_fraction:g} x N = "
                f"{self.train_fraction * self.N:g} rounds to 0 (nearest, halves up); use train_fraction >= "
                f"{min_fraction(self.N)} (got {self.train_fraction:g})"
            )

    def _recurrent_memory(self, per_sample: int) -> list:
        """Arrays of parts 1 and 2: recordings (``per_sample`` arrays of N per recorded time), the weights,
        the RLS state and the learning targets, as ``(what, bytes, parameters)``."""
        t = _time_names(self)
        n_rec = self.t_end / self.record_every + 1
        n_learn = self.train_duration / self.learn_every + 1
        R, m = self.n_trained, self.n_inputs
        all_to_all = self.K is None or self.K == self.N - 1
        rls = 8.0 * self.N * self.N if all_to_all else 8.0 * R * m * (m + 2)
        return [
            (f"the recordings of a trial ({per_sample} arrays of time x neuron)",
             8.0 * per_sample * n_rec * self.N, t + ("record_every", "N")),
            ("the weights and connectivity", 8.0 * self.N * (self.N + 2 * m), ("N",)),
            ("the RLS state", rls, ("N", "K", "train_fraction")),
            ("the learning targets", 8.0 * n_learn * R * 2, t + ("learn_every",)),
        ]

    @property
    def n_inputs(self) -> int:
        """Inputs per neuron: K, or N - 1 for all-to-all."""
        return self.N - 1 if self.K is None else self.K

    @property
    def n_trained(self) -> int:
        """Number of trained neurons: train_fraction x N, to the nearest integer, halves up
        (:func:`count_from_fraction`)."""
        return count_from_fraction(self.train_fraction, self.N)


@dataclass(frozen=True)
class RateParams(_RecurrentNetwork):
    """Part 1: a rate RNN whose recurrent input is trained with RLS.

    Parameters (times in ms)
    ----------
    N : number of rate units (default 100).
    tau : membrane time constant of the rate units (5 ms).
    dt : Euler time step (0.1 ms).
    sigma : standard deviation of the initial weights. The default
        ``1 / sqrt(100) = 0.1`` puts the network at gain ``g = sigma sqrt(N) = 1``.
    K : inputs per neuron; ``None`` means all-to-all (``K = N - 1``, no autapses).
    lam : the RLS regulariser lambda (``P`` starts as ``I / lam``).
    train_fraction : fraction of neurons whose incoming weights are trained.
    n_loops : number of training loops (trials).
    seed : seed of every random draw (connectivity, weights, stimulus, targets).
    stim_on, stim_off : when the stimulus is applied.
    train_duration : length of the training window, which starts at ``stim_off``.
    stim_max : each neuron's stimulus is drawn uniformly in ``[0, stim_max)``.
    target_amplitude, target_period, target_offset : the sine targets
        ``f_i(t) = A sin(2 pi (t - t_i) / T) + offset``.
    learn_every : interval between RLS updates inside the training window.
    record_every : sampling interval of the recorded activity.
    max_rate : a rate above this value counts as a diverging network.
    """

    N: int = param(100, "number of rate units", lo=2, hi=5000, what="number of neurons",
                   slider=dict(min=2, max=5000, step=1))
    tau: float = param(5.0, "membrane time constant of the rate units", unit="ms", **_TAU)
    dt: float = param(0.1, "Euler time step", unit="ms", **_DT)
    sigma: float = param(0.1, "standard deviation of the initial weights (g = sigma sqrt(N))",
                         what="weight scale",
                         slider=dict(min=0.01, max=1.0, step=0.01, label="sigma (weights)"), **_SCALE)
    K: int | None = param(None, "inputs per neuron", lo=1, what="inputs per neuron", none="all-to-all",
                          slider=dict(min=1, step=1, label="K (inputs)"))
    lam: float = param(0.5, "the RLS regulariser lambda (P starts as I / lam)", what="RLS regulariser lambda",
                       slider=dict(min=1e-3, max=100.0, step=0.1, scale="log", label="lambda (RLS)"), **_PENALTY)
    train_fraction: float = param(1.0, "fraction of neurons whose incoming weights are trained", lo=0, hi=1,
                                  lo_open=True, what="fraction of neurons trained",
                                  slider=dict(min=0.05, max=1.0, step=0.05, label="fraction trained"))
    n_loops: int = param(50, "number of training loops (trials)", slider=dict(min=1, max=200, label="loops"),
                         **_LOOPS)
    seed: int = param(0, "seed of every random draw (connectivity, weights, stimulus, targets)", **_SEED)
    stim_on: float = param(100.0, "start of the stimulus", unit="ms", **_TIME0)
    stim_off: float = param(110.0, "end of the stimulus, start of the training window", unit="ms", **_TIME)
    train_duration: float = param(500.0, "length of the training window, which starts at stim_off", unit="ms",
                                  **_TIME)
    stim_max: float = param(4.0, "each neuron's stimulus is drawn uniformly in [0, stim_max)", **_AMP)
    target_amplitude: float = param(1.0,
                                    "amplitude A of the sine targets f_i(t) = A sin(2 pi (t - t_i) / T) "
                                    "+ offset", **_SIGNED)
    target_period: float = param(100.0, "period T of the sine targets", unit="ms", **_TAU)
    target_offset: float = param(1.0, "offset of the sine targets", **_AMP)
    learn_every: float = param(5.0, "interval between RLS updates inside the training window", unit="ms",
                               **_TIME)
    record_every: float = param(1.0, "sampling interval of the recorded activity", unit="ms", **_TIME)
    max_rate: float = param(1e3, "a rate above this value counts as a diverging network", lo=0, lo_open=True,
                            hi=AMPLITUDE_MAX)

    _tau_membrane = property(lambda self: self.tau)

    def _check_together(self):
        self._check_network()
        self._check_euler("tau")
        self._check_timeline()
        peak = abs(self.target_amplitude) + self.target_offset
        if peak >= self.max_rate:  # trained rates follow their targets: they would have to exceed max_rate
            raise ValueError(f"target_amplitude and target_offset must keep the targets below max_rate = "
                             f"{self.max_rate:g}: |target_amplitude| + target_offset must be < max_rate, as the "
                             f"trained rates follow their targets (got {peak:g})")

    # derived quantities -------------------------------------------------

    @property
    def g(self) -> float:
        """Gain of the random weights, ``sigma * sqrt(inputs per neuron)`` (SPEC: sigma sqrt(N))."""
        return self.sigma * math.sqrt(self.N if self.K is None else self.K)



    def memory_terms(self, n_trained: int | None = None) -> list:
        """The big arrays of one training loop and its score, as ``(what, bytes, parameters)`` (see
        :func:`check_memory`): rates and inputs recorded, the targets on the same grid and the score's
        copies of them (5 arrays of time x neuron), W, the RLS state."""
        return self._recurrent_memory(per_sample=5)


@dataclass(frozen=True)
class SpikingParams(_RecurrentNetwork):
    """Part 2: a generic LIF network whose total synaptic input is trained with RLS.

    Parameters (times in ms)
    ----------
    N : number of neurons (default 100).
    tau_m : membrane time constant (10 ms). Threshold 1 and reset 0 are fixed.
    dt : Euler time step (0.1 ms).
    mu : constant input to every neuron (0.72, just below threshold).
    noise : amplitude of the voltage noise: a fresh standard normal times
        ``noise`` inside the bracket of ``tau_m dv/dt = -v + mu + u + noise * xi``
        at every step, so ``v`` receives ``dt/tau_m * noise * xi`` (default 2, as
        in the SPEC's single-neuron model, kept on in the network: it is what
        makes the untrained network fire irregularly).
    sigma : standard deviation of the initial weights ``W_ij ~ Normal(0, sigma^2)`` (0.3).
    K : inputs per neuron; ``None`` means all-to-all (``K = N - 1``, no autapses).
    tau_s : synaptic time constant during training and testing (200 ms: "a long
        synaptic time constant makes learning easier").
    tau_s_spont : synaptic time constant of the one spontaneous run that
        measures each neuron's mean input ``ubar_i`` (3 ms, as in the original;
        a filter does not change the mean).
    lam : the RLS regulariser lambda (``P`` starts as ``I / lam``).
    train_fraction : fraction of neurons whose incoming synapses are trained
        (default 1: every neuron, every synapse).
    n_loops : training loops (20).
    seed : seed of every random draw (weights, stimulus, phases, noise).
    stim_on, stim_off : the stimulus window (800 to 1000 ms).
    stim_std : each neuron's stimulus is a constant drawn from Normal(0, stim_std^2),
        added to ``mu`` during the stimulus (0.5).
    train_duration : length of the training window, which starts at ``stim_off``
        (2000 ms: the window is 1000 to 3000 ms and the trial ends with it).
    target_amplitude, target_period : the targets
        ``f_i(t) = A sin(2 pi ((t - stim_off)/T + phi_i)) + ubar_i`` (0.5 and 2000 ms).
    learn_every : interval between RLS updates inside the training window (20 ms).
    record_every : sampling interval of the recorded voltages and inputs; the
        score is computed on this grid (1 ms).
    error_noise : standard deviation of a normal draw added to the error at
        every RLS update (0 = off; the original used 2 as a regulariser).
    max_rate : a population-average firing rate above this (Hz) counts as a
        diverging network (500 Hz).
    """

    N: int = param(100, "number of neurons", lo=2, hi=5000, what="number of neurons",
                   slider=dict(min=2, max=5000, step=1))
    tau_m: float = param(10.0, "membrane time constant (threshold 1, reset 0)", unit="ms", **_TAU)
    dt: float = param(0.1, "Euler time step", unit="ms", **_DT)
    mu: float = param(0.72, "constant input to every neuron (0.72, just below threshold)", **_SIGNED)
    noise: float = param(2.0, "amplitude of the voltage noise", **_AMP)
    sigma: float = param(0.3, "standard deviation of the initial weights W_ij ~ Normal(0, sigma^2)",
                         what="weight scale", slider=dict(min=0.01, max=5.0, step=0.01,
                                                          label="sigma (weights)"),
                         **_SCALE)
    K: int | None = param(None, "inputs per neuron", lo=1, what="inputs per neuron", none="all-to-all",
                          slider=dict(min=1, step=1, label="K (inputs)"))
    tau_s: float = param(200.0, "synaptic time constant during training and testing", unit="ms",
                         what="synaptic time constant during training, ms",
                         slider=dict(min=1.0, max=1000.0, step=0.05, scale="log", label="tau_s (ms)"), **_TAU)
    tau_s_spont: float = param(3.0,
                               "synaptic time constant of the one spontaneous run that measures each "
                               "neuron's mean input ubar_i", unit="ms",
                               what="synaptic time constant of the spontaneous run, ms",
                               **_TAU)
    lam: float = param(0.5, "the RLS regulariser lambda (P starts as I / lam)", what="RLS regulariser lambda",
                       slider=dict(min=1e-3, max=100.0, step=0.1, scale="log", label="lambda (RLS)"), **_PENALTY)
    train_fraction: float = param(1.0, "fraction of neurons whose incoming synapses are trained", lo=0, hi=1,
                                  lo_open=True, what="fraction of neurons trained",
                                  slider=dict(min=0.05, max=1.0, step=0.05, label="fraction trained"))
    n_loops: int = param(20, "training loops", slider=dict(min=1, max=100, label="loops"), **_LOOPS)
    seed: int = param(0, "seed of every random draw (weights, stimulus, phases, noise)", **_SEED)
    stim_on: float = param(800.0, "start of the stimulus window", unit="ms", **_TIME0)
    stim_off: float = param(1000.0, "end of the stimulus window, start of the training window", unit="ms",
                            **_TIME)
    stim_std: float = param(0.5,
                            "each neuron's stimulus is a constant drawn from Normal(0, stim_std^2), added to "
                            "mu during the stimulus", **_AMP)
    train_duration: float = param(2000.0,
                                  "length of the training window, which starts at stim_off and ends the "
                                  "trial", unit="ms", **_TIME)
    target_amplitude: float = param(0.5,
                                    "amplitude A of the targets f_i(t) = A sin(2 pi ((t - stim_off)/T "
                                    "+ phi_i)) + ubar_i", **_SIGNED)
    target_period: float = param(2000.0, "period T of the targets", unit="ms", **_TAU)
    learn_every: float = param(20.0, "interval between RLS updates inside the training window", unit="ms",
                               **_TIME)
    record_every: float = param(1.0,
                                "sampling interval of the recorded voltages and inputs; the score is "
                                "computed on this grid", unit="ms", **_TIME)
    error_noise: float = param(0.0,
                               "standard deviation of a normal draw added to the error at every RLS update "
                               "(0 = off; the original used 2 as a regulariser)", **_AMP)
    max_rate: float = param(500.0,
                            "a population-average firing rate above this counts as a diverging network",
                            unit="Hz", lo=0, lo_open=True, hi=SPIKE_RATE_MAX)

    _tau_membrane = property(lambda self: self.tau_m)

    def _dependent_bounds(self) -> dict:
        """Those of parts 1 and 2, and tau_s, tau_s_spont >= dt (a positive Euler decay factor)."""
        return {**super()._dependent_bounds(), "tau_s": (self.dt, None), "tau_s_spont": (self.dt, None)}

    def _check_together(self):
        self._check_network()
        self._check_euler("tau_m", ("tau_s", "tau_s_spont"))
        self._check_timeline()

    # derived quantities -------------------------------------------------



    def memory_terms(self, n_trained: int | None = None) -> list:
        """The big arrays of one training loop, as ``(what, bytes, parameters)`` (see :func:`check_memory`):
        voltages, currents, total input, external input and targets recorded (7 arrays of time x neuron
        with the score's copies), the engine's spike buffer (room for ``max_rate`` on average), W, RLS."""
        spikes = 16.0 * (self.max_rate * 1e-3 * self.N * self.t_end + self.N)
        return self._recurrent_memory(per_sample=7) + [
            ("the spike buffer of a trial", spikes, ("max_rate",) + _time_names(self) + ("N",))]



# Part 3 ----------------------------------------------------------------------



@dataclass(frozen=True)
class BalancedParams(_Validated):
    """Part 3: a balanced E-I network of LIF neurons trained on ALM recordings.

    Defaults are the SPEC's (and the original tutorial's) numbers. Times in ms.

    Network (van Vreeswijk and Sompolinsky 1996; Brunel 2000)
    ----------------------------------------------------------
    N : number of neurons (5000).
    frac_exc : fraction of excitatory neurons; ``Ne = frac_exc N`` (nearest, halves up) (0.5: 2500 E, 2500 I).
    K : mean number of excitatory inputs per neuron (500). Each neuron projects
        to ``N K / Ne`` others (1000), so it receives about ``K`` E and
        ``K Ni / Ne`` I inputs.
    g : gain of the strong weights and of the external input: ``je = ji = 2 tau_m g / sqrt(K)``,
        ``jx = 0.12 g sqrt(K)`` (1).
    tau_m : membrane time constant of E and I neurons (10 ms). Threshold 1, reset 0.
    tau_syn : time constant of the static E and I synaptic currents (3 ms).
    tau_plastic : time constant of the plastic synapses (150 ms).
    dt : Euler time step (0.1 ms).

    Plastic synapses and RLS
    ------------------------
    L : plastic excitatory inputs (from other trained neurons) and plastic
        inhibitory inputs (from the I population) of each trained neuron (20 each).
    wpscale_factor : initial plastic weights are ``je sqrt(K) / wpscale`` (E) and
        ``-ji sqrt(K) / wpscale * inh_weight_ratio`` (I), ``wpscale = wpscale_factor sqrt(K)`` (1.5).
    inh_weight_ratio : the factor 6.5 / 12 of the initial I plastic weights: the
        original's ratio of the E and I rates of the initial network, so that each
        trained neuron's initial E and I plastic inputs cancel. ``None`` measures
        it instead: the mean rate of the trained neurons over the mean I rate in the
        static run. Use ``None`` when the trained neurons are a high-rate subset
        (e.g. the most modulated ALM neurons): with 6.5 / 12 their plastic E input
        would exceed the I input and the trained cluster would excite itself.
    lam_rec : RLS penalty on the recurrent plastic weights (0.04); at least 1e-14 mu_rs, or the penalty
        ``lam_rec I + mu_rs 1 1^T`` is not positive definite in float64.
    mu_rs : row-sum penalty on the sum of each neuron's E and of its I plastic weights (8).
    lam_ff : RLS penalty on the feedforward weights (1).
    rls_precision : ``"float64"`` (default) or ``"float32"``, the precision in which
        the RLS state is stored (the arithmetic and the weights stay float64);
        float32 halves the memory the update streams. ``tests/test_balanced.py``
        bounds the difference in the trained weights.
    sign_constrained : clip the plastic E weights at >= 0 and the I weights at <= 0
        after every RLS update (feed-forward weights unconstrained) (False). A
        departure from exact RLS (``P`` no longer matches the weights' regression),
        to compare with Dale's law kept without a constraint (Part 4).

    Feedforward Poisson inputs (optional)
    -------------------------------------
    ffwd : whether the trained neurons also receive plastic feedforward inputs (True).
    n_ffwd : number of Poisson neurons (300); each trained neuron receives all of them.
    ffwd_rate : mean rate of the Ornstein-Uhlenbeck rate process, Hz (5).
    ffwd_tau : its time constant (400 ms; at least the 1 ms grid it is integrated on).
    ffwd_noise : its noise amplitude, Hz per sqrt(ms) (0.2).
    ffwd_smooth : half-width of the moving average applied before rectifying (50 ms).

    Task, training, score
    ---------------------
    stim_on, stim_off : the stimulus window (800 to 1000 ms).
    stim_amplitude : each neuron's stimulus is drawn uniformly in ``[-a, a]`` per condition (0.5).
    train_duration : the training window starts at ``stim_off`` and ends the trial (2000 ms).
    learn_every : interval between RLS updates (20 ms, the sampling interval of the recordings).
    n_loops : training loops; each trains lick-right, then lick-left (200 in the original).
    seed : seed of every random draw.
    n_trained : number of ALM neurons trained (``None``: all of them, 1824).
    selection : how ``n_trained`` ALM neurons are chosen when it is fewer than all:
        ``"modulated"`` (the most modulated ones: largest standard deviation of the
        target input over the training window of both conditions) or ``"random"``.
    score_every : every this many loops, test the network without learning (10; 0: never).
    n_test_trials : test trials each time (5); the first gives the original's
        single-trial score, their mean input the trial-averaged score.
    score_window : half-width of the moving average of the score (50 ms); from ``record_every`` to
        ``train_duration / 2`` (the average, 2 score_window wide, fits in the training window).
    record_every : sampling interval of the recorded inputs (1 ms).
    max_rate : a population-average rate above this (Hz) counts as diverging (100).
    """

    N: int = param(5000, "number of neurons", lo=3, hi=100_000, what="number of neurons")
    frac_exc: float = param(0.5, "fraction of excitatory neurons; Ne = frac_exc N (nearest, halves up)",
                            lo=0, hi=1,
                            lo_open=True, hi_open=True, what="fraction of E neurons")
    K: int = param(500, "mean number of excitatory inputs per neuron (as many inhibitory)", lo=1,
                   what="excitatory inputs per neuron", slider=dict(min=10, step=10, label="K (inputs)"))
    g: float = param(1.0, "coupling strength: static weights je = ji = 2 tau_m g / sqrt(K), external input "
                     "jx = 0.12 g sqrt(K) (SPEC: 1)", slider=dict(min=0.1, max=3.0, step=0.05, label="g"),
                     **_SCALE)
    tau_m: float = param(10.0, "membrane time constant of E and I neurons", unit="ms", **_TAU)
    tau_syn: float = param(3.0, "time constant of the static E and I synaptic currents", unit="ms", **_TAU)
    tau_plastic: float = param(150.0, "time constant of the plastic synapses", unit="ms", **_TAU)
    dt: float = param(0.1, "Euler time step", unit="ms", **_DT)
    L: int = param(20,
                   "plastic excitatory inputs (from other trained neurons) and plastic inhibitory inputs "
                   "(from the I population) of each trained neuron", lo=1,
                   what="plastic E and I inputs per trained neuron",
                   slider=dict(min=1, max=100, step=1, label="L (plastic)"))
    wpscale_factor: float = param(1.5,
                                  "initial plastic weights are je sqrt(K) / wpscale (E) and -ji sqrt(K) / "
                                  "wpscale * inh_weight_ratio (I), wpscale = wpscale_factor sqrt(K)",
                                  lo=1 / RATIO_MAX, hi=RATIO_MAX)
    inh_weight_ratio: float | None = param(6.5 / 12.0, "the factor 6.5 / 12 of the initial I plastic weights",
                                           what="E / I rate ratio of the initial plastic weights",
                                           none="measured from the static run", lo=0, lo_open=True,
                                           hi=RATIO_MAX)
    lam_rec: float = param(0.04, "RLS penalty on the recurrent plastic weights", what="RLS penalty",
                           slider=dict(min=1e-4, max=10.0, step=0.1, scale="log", label="lambda (RLS)"),
                           **_PENALTY)
    mu_rs: float = param(8.0, "row-sum penalty on the sum of each neuron's E and of its I plastic weights",
                         what="row-sum penalty", lo=0, hi=PENALTY_MAX)
    lam_ff: float = param(1.0, "RLS penalty on the feedforward weights", what="RLS penalty", **_PENALTY)
    rls_precision: str = param("float64",
                               "the precision in which the RLS state is stored (the arithmetic and the "
                               "weights stay float64); float32 halves the memory the update streams",
                               choices=("float64", "float32"))
    sign_constrained: bool = param(False, "clip the plastic E weights at >= 0 and I weights at <= 0 after "
                                   "every RLS update (Dale's law imposed; not exact RLS)",
                                   what="sign-constrained training on/off")
    ffwd: bool = param(True, "whether the trained neurons also receive plastic feedforward inputs",
                       what="feedforward inputs on/off")
    n_ffwd: int = param(300, "number of Poisson neurons; each trained neuron receives all of them", lo=1,
                        hi=100_000,
                        what="feedforward Poisson neurons")
    ffwd_rate: float = param(5.0, "mean rate of the Ornstein-Uhlenbeck rate process", unit="Hz", **_HZ)
    ffwd_tau: float = param(400.0, "time constant of the feedforward rate process (at least its 1 ms grid)",
                             unit="ms", lo=FFWD_TAU_MIN, hi=TIME_MAX)
    ffwd_noise: float = param(0.2, "noise amplitude of the feedforward rate process, Hz per sqrt(ms)",
                              **_HZ)
    ffwd_smooth: float = param(50.0, "half-width of the moving average applied before rectifying", unit="ms",
                               lo=0)
    stim_on: float = param(800.0, "start of the stimulus window", unit="ms", **_TIME0)
    stim_off: float = param(1000.0, "end of the stimulus window, start of the training window", unit="ms",
                            **_TIME)
    stim_amplitude: float = param(0.5, "each neuron's stimulus is drawn uniformly in [-a, a] per condition",
                                  **_AMP)
    train_duration: float = param(2000.0, "the training window starts at stim_off and ends the trial",
                                  unit="ms",
                                  **_TIME)
    learn_every: float = param(20.0, "interval between RLS updates (the sampling interval of the recordings)",
                               unit="ms", **_TIME)
    n_loops: int = param(200, "training loops; each trains lick-right, then lick-left",
                         slider=dict(min=1, max=200, label="loops"), **_LOOPS)
    seed: int = param(0, "seed of every random draw", **_SEED)
    n_trained: int | None = param(None, "number of ALM neurons trained", lo=1, what="ALM neurons trained",
                                  none="all ALM neurons", slider=dict(min=2, step=1, label="trained"))
    selection: str = param("modulated", "how n_trained ALM neurons are chosen when it is fewer than all",
                           choices=("modulated", "random"))
    score_every: int = param(10, "every this many loops, test the network without learning (0: never)", lo=0,
                             hi=10**9, what="loops between tests; 0: never")
    n_test_trials: int = param(5, "test trials each time; the first gives the original's single-trial score, "
                               "their mean input the trial-averaged score", lo=1, hi=1000, what="test trials")
    score_window: float = param(50.0,
                                "half-width of the moving average of the score (at most half the training window)",
                                 unit="ms", **_TIME)
    record_every: float = param(1.0, "sampling interval of the recorded inputs", unit="ms", **_TIME)
    max_rate: float = param(100.0, "a population-average rate above this counts as diverging", unit="Hz",
                            lo=0, lo_open=True, hi=SPIKE_RATE_MAX)

    @classmethod
    def lecture(cls, **changes) -> "BalancedParams":
        """A configuration that visibly trains within a minute on a 2-core laptop.

        ``N = 2000``, ``K = 200``, ``L = 20``, the 100 most modulated ALM neurons,
        30 loops, 100 instead of 300 feedforward Poisson inputs, and initial I
        plastic weights matched to the trained neurons' rates
        (``inh_weight_ratio=None``). Measured with the ALM data, seeds 0 to 3:
        trial-averaged test score (5 trials) 0.43 to 0.56 after 10 loops, 0.60 to
        0.64 after 30; single-trial 0.37 to 0.47 after 30; about 20 s for 30 loops
        including the tests. Why these changes:

        * The 100 most modulated ALM neurons fire fast (11 Hz on average), so they
          are matched to the network's fastest E neurons. With the SPEC's ratio
          6.5 / 12 their plastic E input would exceed their plastic I input and the
          trained cluster, coupled by its plastic E synapses, would excite itself:
          in the untrained network their rates climb from 14 to 80 Hz within a
          trial. The measured ratio (their rate over the I rate) cancels the two.
        * Without feedforward inputs the only regressors are 40 spike trains of a
          chaotic network, different in every trial; scores after 30 loops then
          range from 0.23 to 0.56 with the seed. The Poisson inputs, with a fixed
          rate profile per condition, are a reliable time basis; 100 of them
          suffice, with 140 instead of 340 plastic inputs per neuron (RLS work
          grows with the square).

        ``changes`` override any field. With the environment variable
        ``TUTORIAL_SMOKE_TEST=1`` (set by the browser tests for the servers they
        start) the defaults shrink to 2 loops with a test after the second
        (:func:`smoke_test`).
        """
        base = dict(N=2000, K=200, L=20, n_trained=100, selection="modulated", n_loops=30, ffwd=True,
                    n_ffwd=100, inh_weight_ratio=None)
        if smoke_test():  # a few loops only: the browser tests check the cells run, not the scores
            base.update(n_loops=2, score_every=2, n_test_trials=2)
        base.update(changes)
        return cls(**base)

    def _dependent_bounds(self) -> dict:
        """K <= Ne (N - 1) / N (each neuron projects to N K / Ne <= N - 1 others); L <= Ni and
        L + 1 <= n_trained <= Ne (L distinct I inputs; L plastic E inputs from the other trained neurons,
        each trained neuron on its own E neuron); dt <= tau_m / 5; tau_syn, tau_plastic >= dt;
        ffwd_smooth <= train_duration; record_every <= score_window <= train_duration / 2 (the score's
        moving average, 2 score_window wide, fits in the training window); lam_rec >= 1e-14 mu_rs (a
        positive definite penalty, :data:`LAM_REC_PER_MU_RS`); the timeline's bounds
        (learn_every <= train_duration / 2: the score needs two learning times)."""
        Ne, Ni = self.Ne, self.Ni
        tl = self._timeline_bounds(learn_min=2)
        return {"K": (1, (Ne * (self.N - 1)) // self.N), "L": (1, Ni if self.n_trained is None
                                                                 else min(Ni, self.n_trained - 1)),
                "n_trained": (self.L + 1, Ne), "dt": (None, self.tau_m / 5),
                "tau_syn": (self.dt, None), "tau_plastic": (self.dt, None),
                "ffwd_smooth": (None, self.train_duration), "learn_every": tl["learn_every"],
                "record_every": (None, min(tl["record_every"][1], self.score_window)),
                "score_window": (self.record_every, self.train_duration / 2),
                "lam_rec": (LAM_REC_PER_MU_RS * self.mu_rs, None)}

    def _check_together(self):
        Ne, Ni = self.Ne, self.Ni
        if Ne < 1 or Ni < 1:
            raise ValueError(f"frac_exc must leave at least one E and one I neuron among N = {self.N} "
                             f"(got {self.frac_exc:g}: Ne = {Ne}, Ni = {Ni})")
        if Ne < 2:  # K's range [1, Ne (N - 1) / N] would be empty
            raise ValueError(f"frac_exc must leave at least 2 E neurons among N = {self.N}: each neuron's "
                             f"E inputs come from other E neurons (got {self.frac_exc:g}: Ne = {Ne})")
        bounds = self._dependent_bounds()
        k_max = bounds["K"][1]
        if self.K > k_max:
            raise ValueError(
                f"K (excitatory inputs per neuron) must be in [1, {k_max}]: each neuron projects to "
                f"N K / Ne others, at most the N - 1 = {self.N - 1} other neurons (got {self.K})")
        if self.L > Ni:  # bounds["L"] also holds L <= n_trained - 1, refused below as n_trained's
            raise ValueError(f"L (plastic inputs of each type) must be in [1, Ni = {Ni}]: each trained "
                             f"neuron takes L distinct inhibitory inputs (got {self.L})")
        if self.n_trained is not None:
            lo, hi = bounds["n_trained"]  # [L + 1, Ne]
            if self.n_trained > hi:
                raise ValueError(f"n_trained (ALM neurons trained) must be in [L + 1, Ne] = "
                                 f"[{self.L + 1}, {Ne}]: each is matched to a distinct E neuron "
                                 f"(got {self.n_trained})")
            if self.n_trained < lo:
                raise ValueError(
                    f"n_trained (ALM neurons trained) must be in [L + 1, Ne] = [{self.L + 1}, {Ne}]: "
                    f"each takes L = {self.L} plastic E inputs from the other trained neurons "
                    f"(got {self.n_trained})")
        self._check_euler("tau_m", ("tau_syn", "tau_plastic"))
        self._check_timeline(learn_min=2)
        if self.t_end <= STATIC_SETTLE_MS:
            raise ValueError(f"train_duration must be > {STATIC_SETTLE_MS:g} - stim_off = "
                             f"{STATIC_SETTLE_MS - self.stim_off:g} ms: the static run that measures the rates "
                             f"lasts a trial, stim_off + train_duration, and skips its first "
                             f"{STATIC_SETTLE_MS:g} ms (got {self.train_duration:g})")
        if self.ffwd_smooth > bounds["ffwd_smooth"][1]:
            raise ValueError(f"ffwd_smooth (half-width of the feedforward rates' moving average) must be <= "
                             f"train_duration = {self.train_duration:g} ms (got {self.ffwd_smooth:g})")
        if self.record_every > self.score_window:  # the tighter of bounds["record_every"]
            raise ValueError(f"record_every must be <= score_window = {self.score_window:g} ms, or the "
                             f"score's moving average has no samples (got {self.record_every:g})")
        if self.score_window > bounds["score_window"][1]:
            raise ValueError(f"score_window (half-width of the score's moving average) must be <= "
                             f"train_duration / 2 = {bounds['score_window'][1]:g} ms: the average, 2 score_window "
                             f"wide, must fit in the training window, or every score is about 0 "
                             f"(got {self.score_window:g})")
        if self.lam_rec < bounds["lam_rec"][0]:
            raise ValueError(f"lam_rec (RLS penalty) must be >= {LAM_REC_PER_MU_RS:g} mu_rs = "
                             f"{bounds['lam_rec'][0]:g} with mu_rs = {self.mu_rs:g}: below it lam_rec vanishes "
                             f"next to mu_rs in float64 and the penalty lam_rec I + mu_rs 1 1^T is not positive "
                             f"definite; raise lam_rec or lower mu_rs (got {self.lam_rec:g})")

    # derived quantities -------------------------------------------------
    @property
    def Ne(self) -> int:
        """Number of excitatory neurons (indices ``0 .. Ne-1``): ``frac_exc N``, nearest, halves up."""
        return count_from_fraction(self.frac_exc, self.N)

    @property
    def Ni(self) -> int:
        """Number of inhibitory neurons (indices ``Ne .. N-1``)."""
        return self.N - self.Ne

    @property
    def out_degree(self) -> int:
        """Targets of each neuron, ``N K / Ne`` to the nearest integer, halves up (1000 with the defaults)."""
        return count_from_fraction(self.K / self.Ne, self.N)

    @property
    def je(self) -> float:
        """Excitatory weight scale ``2 tau_m g / sqrt(K)``."""
        return 2.0 * self.tau_m * self.g / math.sqrt(self.K)

    @property
    def ji(self) -> float:
        """Inhibitory weight scale (equal to ``je``)."""
        return 2.0 * self.tau_m * self.g / math.sqrt(self.K)

    @property
    def jx(self) -> float:
        """External input scale ``0.12 g sqrt(K)``."""
        return 0.12 * self.g * math.sqrt(self.K)

    @property
    def weights(self) -> dict:
        """Static weights by (postsynaptic, presynaptic) type: EE 0.15 je, IE je, EI -0.75 ji, II -ji."""
        return {"EE": 0.15 * self.je, "IE": self.je, "EI": -0.75 * self.ji, "II": -self.ji}

    @property
    def mu_e(self) -> float:
        """Constant external input to E neurons, ``1.5 jx``."""
        return 1.5 * self.jx

    @property
    def mu_i(self) -> float:
        """Constant external input to I neurons, ``jx``."""
        return self.jx

    @property
    def wpscale(self) -> float:
        return self.wpscale_factor * math.sqrt(self.K)

    @property
    def wp_exc(self) -> float:
        """Initial excitatory plastic weight ``je sqrt(K) / wpscale``."""
        return self.je * math.sqrt(self.K) / self.wpscale

    def wp_inh(self, ratio: float | None = None) -> float:
        """Initial inhibitory plastic weight ``-ji sqrt(K) / wpscale * ratio``.

        ``ratio`` defaults to ``inh_weight_ratio``; when that is None (measured
        from the static run), the ratio must be passed.
        """
        ratio = self.inh_weight_ratio if ratio is None else ratio
        if ratio is None:
            raise ValueError("inh_weight_ratio is None (measured from the static run): pass the ratio")
        return -self.ji * math.sqrt(self.K) / self.wpscale * ratio

    @property
    def n_plastic(self) -> int:
        """Plastic inputs per trained neuron: 2 L recurrent (+ n_ffwd feedforward)."""
        return 2 * self.L + (self.n_ffwd if self.ffwd else 0)


    #: ALM neurons in the recordings: the number trained when ``n_trained`` is None (for estimates).
    ALM_NEURONS = 1824

    def memory_terms(self, n_trained: int | None = None) -> list:
        """The big arrays of building the network and one training loop, as ``(what, bytes, parameters)``
        (see :func:`check_memory`). ``n_trained``: the number of ALM neurons trained (default
        ``self.n_trained``, or, if that is None, all of the recordings' neurons, at most Ne)."""
        R = n_trained if n_trained is not None else (
            self.n_trained if self.n_trained is not None else min(self.Ne, self.ALM_NEURONS))
        t = _time_names(self)
        nf = self.n_ffwd if self.ffwd else 0
        mp = 2 * self.L
        item = 4.0 if self.rls_precision == "float32" else 8.0
        n_syn = float(self.N) * self.out_degree
        n_rec = self.t_end / self.record_every + 1
        n_recorded = R + 100
        terms = [
            # pre, post (int64), weight and the masks and copies made while splitting into E and I channels
            ("the static synapses", 48.0 * n_syn, ("N", "K")),
            ("the recordings of a trial (inputs and voltage of the trained neurons, 7 arrays of time x neuron)",
             8.0 * 7 * n_rec * n_recorded, t + ("record_every", "n_trained")),
            ("the spike buffer of a trial", 16.0 * (self.max_rate * 1e-3 * self.N * self.t_end + self.N),
             ("max_rate",) + t + ("N",)),
            ("the static run's recordings", 8.0 * 6 * (self.t_end + 1) * 100, t),
            ("the RLS state of the trained neurons", 2 * (item * R * mp * (mp + nf) + 8.0 * R * (mp + nf)),
             ("n_trained", "L") + (("n_ffwd",) if nf else ())),
            ("the RLS penalty matrix", 8.0 * 3 * (mp + nf) ** 2, ("n_ffwd",) if nf else ("L",)),
        ]
        if nf:
            terms.append(("the RLS state's shared feedforward block", 2 * item * nf * nf, ("n_ffwd",)))
            bins = self.t_end / 1.0 + 1  # rates on a 1 ms grid, two conditions, with the smoothing's sums
            terms.append(("the feedforward rates", 8.0 * 2 * 4 * bins * nf, ("n_ffwd",) + t))
            # one chunk of 2000 steps of Bernoulli draws, and the spikes of a trial
            terms.append(("the feedforward spike draws", 8.0 * 3 * 2000 * nf, ("n_ffwd",)))
            spikes = 16.0 * (self.ffwd_rate * 4 * 1e-3 * self.train_duration * nf)
            terms.append(("the feedforward spikes of a trial", spikes, ("ffwd_rate", "n_ffwd") + t))
        return terms


# fields with a fixed set of values (from their metadata)
_CHOICES = {f.name: f.metadata["choices"] for f in fields(BalancedParams) if f.metadata["choices"]}
