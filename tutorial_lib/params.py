"""Model parameters, as frozen dataclasses validated in one place.

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
``ValueError: sigma must be > 0 (got -0.1)``. Times are in milliseconds.

Rules every class follows (one helper each, so they cannot drift apart):

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
from dataclasses import dataclass, fields
from numbers import Integral, Real

__all__ = [
    "smoke_test",
    "SMOKE_TEST_ENV",
    "RateParams",
    "SpikingParams",
    "BalancedParams",
    "check_real",
    "check_int",
    "check_grid",
    "check_type",
    "check_train_args",
    "count_from_fraction",
    "memory_limit",
    "check_memory",
    "MemoryEstimateError",
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


def _fmt(x: float) -> str:
    return f"{x:g}"


def check_real(
    name: str,
    value,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    what: str = "",
) -> float:
    """Return ``value`` as a float, or raise a ValueError naming ``name`` and its range.

    ``lo``/``hi`` are the bounds (None: unbounded); ``lo_open``/``hi_open`` make
    them strict. ``what`` is an optional plain-words description of the
    parameter, added to the message.
    """
    label = f"{name} ({what})" if what else name
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{label} must be a real number (got {value!r})")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{label} must be finite (got {value!r})")
    bad = (
        (lo is not None and (v <= lo if lo_open else v < lo))
        or (hi is not None and (v >= hi if hi_open else v > hi))
    )
    if bad:
        if lo is not None and hi is not None:
            rng = ("(" if lo_open else "[") + f"{_fmt(lo)}, {_fmt(hi)}" + (")" if hi_open else "]")
            msg = f"{label} must be in {rng}"
        elif lo is not None:
            msg = f"{label} must be {'>' if lo_open else '>='} {_fmt(lo)}"
        else:
            msg = f"{label} must be {'<' if hi_open else '<='} {_fmt(hi)}"
        raise ValueError(f"{msg} (got {value!r})")
    return v


def check_int(name: str, value, *, lo: int | None = None, hi: int | None = None, what: str = "") -> int:
    """Return ``value`` as an int, or raise a ValueError naming ``name`` and its range.

    ``True``/``False`` are refused (a bool is not a count); a float with an
    integral value (``2.0``) is accepted as that integer; ``2.5``, NaN and
    infinity are refused.
    """
    label = f"{name} ({what})" if what else name
    if isinstance(value, bool) or getattr(value, "dtype", None) is not None and value.dtype.kind == "b":
        raise ValueError(f"{label} must be a whole number, not a bool (got {value!r})")
    if not isinstance(value, Integral):
        if isinstance(value, Real) and math.isfinite(float(value)) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{label} must be a whole number (got {value!r})")
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        if lo is not None and hi is not None:
            msg = f"{label} must be in [{lo}, {hi}]"
        elif lo is not None:
            msg = f"{label} must be >= {lo}"
        else:
            msg = f"{label} must be <= {hi}"
        raise ValueError(f"{msg} (got {value!r})")
    return v


def check_grid(name: str, interval: float, dt: float) -> int:
    """Return ``interval / dt`` as a whole number of steps, or raise.

    Used for every interval that the simulation must hit exactly (learning
    every 5 ms with dt = 0.1 ms is 50 steps; 5.05 ms would fall between steps).
    """
    steps = interval / dt
    n = round(steps)
    if n < 1 or abs(steps - n) > 1e-9 * max(1.0, steps):
        raise ValueError(
            f"{name} must be a positive whole multiple of dt = {_fmt(dt)} ms (got {_fmt(interval)} ms)"
        )
    return n


def check_type(name: str, value, types, *, allow_none: bool = False):
    """Return ``value`` if it is an instance of ``types`` (or None, if allowed), else raise a TypeError.

    The message names the argument, the expected class(es) and what was passed,
    e.g. ``TypeError: params must be RateParams or RateNetwork (got SpikingParams)``.
    """
    if value is None and allow_none:
        return value
    if not isinstance(types, tuple):
        types = (types,)
    if isinstance(value, types):
        return value
    names = " or ".join(t.__name__ for t in types) + (" or None" if allow_none else "")
    shown = " ".join(repr(value).split())  # one line, also for an array
    raise TypeError(f"{name} must be {names} (got {type(value).__name__}: {shown:.80})")


def check_train_args(n_loops=None, callback=None, stop=None) -> int | None:
    """The arguments every ``train`` shares: ``n_loops`` (None, or a whole number >= 0: 0 trains
    nothing and returns the network as it is), ``callback`` (None or callable) and ``stop`` (None or
    an object with ``is_set()``, e.g. a ``threading.Event``). Returns ``n_loops`` as an int (or None)."""
    if n_loops is not None:
        n_loops = check_int("n_loops", n_loops, lo=0, hi=100_000, what="training loops")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None (got {type(callback).__name__})")
    if stop is not None and not callable(getattr(stop, "is_set", None)):
        raise TypeError(f"stop must have an is_set() method, e.g. a threading.Event (got {type(stop).__name__})")
    return n_loops


def far_from_default(params, names, factor: float = 10.0) -> str:
    """Advice naming those of ``names`` whose value is more than ``factor`` times its default in
    magnitude (e.g. ``noise = 1e+12 is far above its default 2: lower it.``), or "" if none is.

    For the advice of a :class:`~tutorial_lib.training.DivergenceError`: a drive
    parameter set far too high is then named, not only the usual suspects.
    """
    defaults = {f.name: f.default for f in fields(params)}
    out = []
    for name in names:
        v, d = getattr(params, name), defaults[name]
        if v is None or d is None or d == 0 or abs(v) <= factor * abs(d):
            continue
        out.append(f" {name} = {v:g} is far above its default {d:g}: lower it.")
    return "".join(out)


def count_from_fraction(fraction: float, n: int) -> int:
    """``fraction * n`` rounded to the nearest integer, halves up: THE rule of every derived count.

    ``count_from_fraction(0.005, 100) == 1`` and ``count_from_fraction(0.025, 100) == 3``
    (Python's ``round`` would give 0 and 2: it rounds halves to even). A product within
    1e-9 of a half counts as the half, so that a fraction printed from ``k / n``
    or ``(k - 0.5) / n`` gives back ``k``.
    """
    return int(math.floor(fraction * n + 0.5 + 1e-9))


def min_fraction(n: int) -> str:
    """The smallest fraction that :func:`count_from_fraction` turns into at least one of ``n``, as text
    with 3 significant digits, rounded up (so the value printed is one that is accepted)."""
    x = 0.5 / n
    e = math.floor(math.log10(x)) - 2
    return f"{math.ceil(x / 10.0 ** e - 1e-6) * 10.0 ** e:.3g}"


class MemoryEstimateError(ValueError):
    """The arrays a run would allocate do not fit in memory; raised before allocating any of them.

    ``needed`` and ``available`` are in bytes; ``parameters`` names the
    parameters that size the largest array; ``terms`` lists every estimated
    array as ``(what, bytes, parameters)``.
    """

    def __init__(self, message: str, needed: float, available: float, parameters: tuple, terms: list):
        super().__init__(message)
        self.needed = needed
        self.available = available
        self.parameters = parameters
        self.terms = terms


#: Environment variable: a memory limit in GiB for :func:`check_memory` (default: the memory available).
MEMORY_ENV = "TUTORIAL_MEMORY_GB"


def memory_limit() -> float:
    """Bytes a run may allocate: ``$TUTORIAL_MEMORY_GB`` if set, else the memory available now.

    "Available" is ``MemAvailable`` of ``/proc/meminfo`` (Linux), else the physical
    memory (``os.sysconf``); if neither can be read, no limit (infinity).
    """
    env = os.environ.get(MEMORY_ENV, "").strip()
    if env:
        try:
            return float(env) * 2**30
        except ValueError:
            pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return math.inf


def _gib(x: float) -> str:
    return f"{x / 2**30:.3g} GiB" if x >= 2**27 else f"{x / 2**20:.3g} MiB"


def check_memory(params, n_trained: int | None = None, limit: float | None = None) -> float:
    """Estimate the bytes a run of ``params`` allocates; raise :class:`MemoryEstimateError` if too many.

    The estimate (``params.memory_terms(n_trained)``) counts the big arrays of
    one training loop and its test: recordings, connectivity, the RLS state,
    feedforward spikes, with their main temporaries. It errs on the large side
    (within a factor of about 2). The message names the parameters that size
    the largest array. ``limit`` defaults to :func:`memory_limit`. Returns the
    estimate in bytes.
    """
    terms = params.memory_terms(n_trained)
    total = float(sum(b for _, b, _ in terms))
    limit = memory_limit() if limit is None else limit
    if total > limit:
        what, big, names = max(terms, key=lambda t: t[1])
        lower = [n for n in names if n not in _RAISE_TO_SHRINK]
        higher = [n for n in names if n in _RAISE_TO_SHRINK]
        advice = " or ".join(lower) + (", or raise " + " or ".join(higher) if higher else "")
        raise MemoryEstimateError(
            f"{names[0]} too large for memory ({', '.join(names)} size it): {what} would need about "
            f"{_gib(big)} ({_gib(total)} in all), more than the {_gib(limit)} available. Lower {advice}.",
            total, limit, tuple(names), terms)
    return total


_RAISE_TO_SHRINK = ("record_every", "learn_every")  # intervals: a larger one means fewer samples


def _time_names(p) -> tuple:
    """The timeline field that makes a trial long: the training window, or the stimulus times."""
    return ("train_duration",) if p.train_duration >= p.stim_off else ("stim_off",)


#: Part 3's static run skips its first 200 ms (``balanced.SETTLE_MS``): a trial must be longer.
STATIC_SETTLE_MS = 200.0

#: Euler steps a trial may have at most: 1e8 steps are about 3 hours of model time at dt = 0.1 ms
#: (a SPEC trial has 30 000); longer trials would run for days, so they are refused by name.
MAX_STEPS = 1e8


class _Validated:
    """Mixin: after construction, coerce every field through ``_check``."""

    def __post_init__(self):
        for f in fields(self):
            value = self._check(f.name, getattr(self, f.name))
            object.__setattr__(self, f.name, value)
        self._check_together()

    def _check(self, name, value):  # pragma: no cover - overridden
        return value

    def _check_together(self):
        pass

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
        if self.learn_every * learn_min > self.train_duration:
            bound = "train_duration" if learn_min == 1 else f"train_duration / {learn_min}"
            why = "" if learn_min == 1 else (f": the score correlates the input at the learning times and "
                                             f"needs at least {learn_min} of them")
            raise ValueError(f"learn_every must be <= {bound} = {self.train_duration / learn_min:g} ms{why} "
                             f"(got {self.learn_every:g})")
        if 2 * self.record_every > self.train_duration:
            raise ValueError(f"record_every must be <= train_duration / 2 = {self.train_duration / 2:g} ms: the "
                             f"score needs at least two recorded samples in the training window "
                             f"(got {self.record_every:g})")


class _RecurrentNetwork(_Validated):
    """What parts 1 and 2 share: N neurons, K inputs each (None: all-to-all), a trained fraction."""

    _NETWORK_FIELDS = ("N", "K", "n_loops", "seed", "sigma", "lam", "train_fraction")

    @staticmethod
    def _check_network_field(name, v):
        if name == "N":
            return check_int(name, v, lo=2, hi=5000, what="number of neurons")
        if name == "K":
            return None if v is None else check_int(name, v, lo=1, what="inputs per neuron")
        if name == "n_loops":
            return check_int(name, v, lo=1, hi=100_000, what="training loops")
        if name == "seed":
            return check_int(name, v, lo=0, hi=2**32 - 1, what="random seed")
        if name == "sigma":
            return check_real(name, v, lo=0, lo_open=True, what="weight scale")
        if name == "lam":
            return check_real(name, v, lo=0, lo_open=True, what="RLS regulariser lambda")
        if name == "train_fraction":
            return check_real(name, v, lo=0, hi=1, lo_open=True, what="fraction of neurons trained")
        raise KeyError(name)  # pragma: no cover - only called for _NETWORK_FIELDS

    def _check_network(self):
        if self.K is not None and self.K > self.N - 1:
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

    N: int = 100
    tau: float = 5.0
    dt: float = 0.1
    sigma: float = 0.1
    K: int | None = None
    lam: float = 0.5
    train_fraction: float = 1.0
    n_loops: int = 50
    seed: int = 0
    stim_on: float = 100.0
    stim_off: float = 110.0
    train_duration: float = 500.0
    stim_max: float = 4.0
    target_amplitude: float = 1.0
    target_period: float = 100.0
    target_offset: float = 1.0
    learn_every: float = 5.0
    record_every: float = 1.0
    max_rate: float = 1e3

    def _check(self, name, v):
        if name in self._NETWORK_FIELDS:
            return self._check_network_field(name, v)
        if name in ("stim_on", "stim_max", "target_offset"):
            return check_real(name, v, lo=0)
        if name == "target_amplitude":
            return check_real(name, v)
        return check_real(name, v, lo=0, lo_open=True)

    def _check_together(self):
        self._check_network()
        if self.dt > self.tau / 5:
            raise ValueError(f"dt must be <= tau / 5 = {self.tau / 5:g} ms for a stable Euler step (got {self.dt:g})")
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


    @property
    def t_end(self) -> float:
        """Trial length in ms (stimulus off + training window)."""
        return self.stim_off + self.train_duration

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

    N: int = 100
    tau_m: float = 10.0
    dt: float = 0.1
    mu: float = 0.72
    noise: float = 2.0
    sigma: float = 0.3
    K: int | None = None
    tau_s: float = 200.0
    tau_s_spont: float = 3.0
    lam: float = 0.5
    train_fraction: float = 1.0
    n_loops: int = 20
    seed: int = 0
    stim_on: float = 800.0
    stim_off: float = 1000.0
    stim_std: float = 0.5
    train_duration: float = 2000.0
    target_amplitude: float = 0.5
    target_period: float = 2000.0
    learn_every: float = 20.0
    record_every: float = 1.0
    error_noise: float = 0.0
    max_rate: float = 500.0

    def _check(self, name, v):
        if name in self._NETWORK_FIELDS:
            return self._check_network_field(name, v)
        if name == "tau_s":
            return check_real(name, v, lo=0, lo_open=True, what="synaptic time constant during training, ms")
        if name == "tau_s_spont":
            return check_real(name, v, lo=0, lo_open=True,
                              what="synaptic time constant of the spontaneous run, ms")
        if name in ("noise", "error_noise", "stim_std", "stim_on"):
            return check_real(name, v, lo=0)
        if name in ("mu", "target_amplitude"):
            return check_real(name, v)
        # tau_m, dt, stim_off, train_duration, target_period, learn_every, record_every, max_rate
        return check_real(name, v, lo=0, lo_open=True)

    def _check_together(self):
        self._check_network()
        if self.dt > self.tau_m / 5:
            raise ValueError(
                f"dt must be <= tau_m / 5 = {self.tau_m / 5:g} ms for an accurate Euler step "
                f"(got {self.dt:g})"
            )
        for name in ("tau_s", "tau_s_spont"):
            if getattr(self, name) < self.dt:
                raise ValueError(
                    f"{name} must be >= dt = {self.dt:g} ms: the Euler decay factor 1 - dt/{name} "
                    f"would be negative (got {getattr(self, name):g})"
                )
        self._check_timeline()

    # derived quantities -------------------------------------------------


    @property
    def t_end(self) -> float:
        """Trial length in ms (the training window ends the trial)."""
        return self.stim_off + self.train_duration

    def memory_terms(self, n_trained: int | None = None) -> list:
        """The big arrays of one training loop, as ``(what, bytes, parameters)`` (see :func:`check_memory`):
        voltages, currents, total input, external input and targets recorded (7 arrays of time x neuron
        with the score's copies), the engine's spike buffer (room for ``max_rate`` on average), W, RLS."""
        spikes = 16.0 * (self.max_rate * 1e-3 * self.N * self.t_end + self.N)
        return self._recurrent_memory(per_sample=7) + [
            ("the spike buffer of a trial", spikes, ("max_rate",) + _time_names(self) + ("N",))]

    @property
    def n_learn(self) -> int:
        """RLS updates per loop (at stim_off, stim_off + learn_every, ... < t_end)."""
        window = round(self.train_duration / self.dt)
        every = round(self.learn_every / self.dt)
        return -(-window // every)


# Part 3 ----------------------------------------------------------------------

_SELECTIONS = ("modulated", "random")
_PRECISIONS = ("float64", "float32")
_CHOICES = {"selection": _SELECTIONS, "rls_precision": _PRECISIONS}  # fields with a fixed set of values


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
    lam_rec : RLS penalty on the recurrent plastic weights (0.04).
    mu_rs : row-sum penalty on the sum of each neuron's E and of its I plastic weights (8).
    lam_ff : RLS penalty on the feedforward weights (1).
    rls_precision : ``"float64"`` (default) or ``"float32"``, the precision in which
        the RLS state is stored (the arithmetic and the weights stay float64);
        float32 halves the memory the update streams. ``tests/test_balanced.py``
        bounds the difference in the trained weights.

    Feedforward Poisson inputs (optional)
    -------------------------------------
    ffwd : whether the trained neurons also receive plastic feedforward inputs (True).
    n_ffwd : number of Poisson neurons (300); each trained neuron receives all of them.
    ffwd_rate : mean rate of the Ornstein-Uhlenbeck rate process, Hz (5).
    ffwd_tau : its time constant (400 ms).
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
    score_window : half-width of the moving average of the score (50 ms).
    record_every : sampling interval of the recorded inputs (1 ms).
    max_rate : a population-average rate above this (Hz) counts as diverging (100).
    """

    N: int = 5000
    frac_exc: float = 0.5
    K: int = 500
    g: float = 1.0
    tau_m: float = 10.0
    tau_syn: float = 3.0
    tau_plastic: float = 150.0
    dt: float = 0.1
    L: int = 20
    wpscale_factor: float = 1.5
    inh_weight_ratio: float | None = 6.5 / 12.0
    lam_rec: float = 0.04
    mu_rs: float = 8.0
    lam_ff: float = 1.0
    rls_precision: str = "float64"
    ffwd: bool = True
    n_ffwd: int = 300
    ffwd_rate: float = 5.0
    ffwd_tau: float = 400.0
    ffwd_noise: float = 0.2
    ffwd_smooth: float = 50.0
    stim_on: float = 800.0
    stim_off: float = 1000.0
    stim_amplitude: float = 0.5
    train_duration: float = 2000.0
    learn_every: float = 20.0
    n_loops: int = 200
    seed: int = 0
    n_trained: int | None = None
    selection: str = "modulated"
    score_every: int = 10
    n_test_trials: int = 5
    score_window: float = 50.0
    record_every: float = 1.0
    max_rate: float = 100.0

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

    def _check(self, name, v):
        if name == "N":
            return check_int(name, v, lo=3, hi=100_000, what="number of neurons")
        if name == "K":
            return check_int(name, v, lo=1, what="excitatory inputs per neuron")
        if name == "L":
            return check_int(name, v, lo=1, what="plastic E and I inputs per trained neuron")
        if name == "n_ffwd":
            return check_int(name, v, lo=1, hi=100_000, what="feedforward Poisson neurons")
        if name == "n_loops":
            return check_int(name, v, lo=1, hi=100_000, what="training loops")
        if name == "seed":
            return check_int(name, v, lo=0, hi=2**32 - 1, what="random seed")
        if name == "n_trained":
            return None if v is None else check_int(name, v, lo=1, what="ALM neurons trained")
        if name == "inh_weight_ratio":
            return None if v is None else check_real(name, v, lo=0, lo_open=True,
                                                     what="E / I rate ratio of the initial plastic weights")
        if name == "score_every":
            return check_int(name, v, lo=0, what="loops between tests; 0: never")
        if name == "n_test_trials":
            return check_int(name, v, lo=1, hi=1000, what="test trials")
        if name == "ffwd":
            numpy_bool = getattr(v, "dtype", None) is not None and v.dtype.kind == "b" and v.ndim == 0
            if not (isinstance(v, bool) or numpy_bool):
                raise ValueError(f"ffwd (feedforward inputs on/off) must be True or False (got {v!r})")
            return bool(v)
        if name in _CHOICES:
            if v not in _CHOICES[name]:
                raise ValueError(f"{name} must be one of {', '.join(map(repr, _CHOICES[name]))} (got {v!r})")
            return v
        if name == "frac_exc":
            return check_real(name, v, lo=0, hi=1, lo_open=True, hi_open=True, what="fraction of E neurons")
        if name in ("lam_rec", "lam_ff"):
            return check_real(name, v, lo=0, lo_open=True, what="RLS penalty")
        if name == "mu_rs":
            return check_real(name, v, lo=0, what="row-sum penalty")
        if name in ("ffwd_rate", "ffwd_noise", "ffwd_smooth", "stim_amplitude", "stim_on"):
            return check_real(name, v, lo=0)
        # g, tau_m, tau_syn, tau_plastic, dt, wpscale_factor, inh_weight_ratio, ffwd_tau, stim_off,
        # train_duration, learn_every, score_window, record_every, max_rate
        return check_real(name, v, lo=0, lo_open=True)

    def _check_together(self):
        Ne, Ni = self.Ne, self.Ni
        if Ne < 1 or Ni < 1:
            raise ValueError(f"frac_exc must leave at least one E and one I neuron among N = {self.N} "
                             f"(got {self.frac_exc:g}: Ne = {Ne}, Ni = {Ni})")
        if Ne < 2:  # K's range [1, Ne (N - 1) / N] would be empty
            raise ValueError(f"frac_exc must leave at least 2 E neurons among N = {self.N}: each neuron's "
                             f"E inputs come from other E neurons (got {self.frac_exc:g}: Ne = {Ne})")
        k_max = (Ne * (self.N - 1)) // self.N
        if self.K > k_max:
            raise ValueError(
                f"K (excitatory inputs per neuron) must be in [1, {k_max}]: each neuron projects to "
                f"N K / Ne others, at most the N - 1 = {self.N - 1} other neurons (got {self.K})")
        if self.L > Ni:
            raise ValueError(f"L (plastic inputs of each type) must be in [1, Ni = {Ni}]: each trained "
                             f"neuron takes L distinct inhibitory inputs (got {self.L})")
        if self.n_trained is not None:
            if self.n_trained > Ne:
                raise ValueError(f"n_trained (ALM neurons trained) must be in [L + 1, Ne] = "
                                 f"[{self.L + 1}, {Ne}]: each is matched to a distinct E neuron "
                                 f"(got {self.n_trained})")
            if self.n_trained < self.L + 1:
                raise ValueError(
                    f"n_trained (ALM neurons trained) must be in [L + 1, Ne] = [{self.L + 1}, {Ne}]: "
                    f"each takes L = {self.L} plastic E inputs from the other trained neurons "
                    f"(got {self.n_trained})")
        if self.dt > self.tau_m / 5:
            raise ValueError(f"dt must be <= tau_m / 5 = {self.tau_m / 5:g} ms for an accurate Euler step "
                             f"(got {self.dt:g})")
        for name in ("tau_syn", "tau_plastic"):
            if getattr(self, name) < self.dt:
                raise ValueError(f"{name} must be >= dt = {self.dt:g} ms: the Euler decay factor would be "
                                 f"negative (got {getattr(self, name):g})")
        self._check_timeline(learn_min=2)
        if self.t_end <= STATIC_SETTLE_MS:
            raise ValueError(f"train_duration must be > {STATIC_SETTLE_MS:g} - stim_off = "
                             f"{STATIC_SETTLE_MS - self.stim_off:g} ms: the static run that measures the rates "
                             f"lasts a trial, stim_off + train_duration, and skips its first "
                             f"{STATIC_SETTLE_MS:g} ms (got {self.train_duration:g})")
        if self.ffwd_smooth > self.train_duration:
            raise ValueError(f"ffwd_smooth (half-width of the feedforward rates' moving average) must be <= "
                             f"train_duration = {self.train_duration:g} ms (got {self.ffwd_smooth:g})")
        if self.record_every > self.score_window:
            raise ValueError(f"record_every must be <= score_window = {self.score_window:g} ms, or the "
                             f"score's moving average has no samples (got {self.record_every:g})")

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

    @property
    def t_end(self) -> float:
        """Trial length in ms (the training window ends the trial)."""
        return self.stim_off + self.train_duration

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

    @property
    def n_learn(self) -> int:
        """RLS updates per trial (at stim_off, stim_off + learn_every, ... < t_end)."""
        window = round(self.train_duration / self.dt)
        every = round(self.learn_every / self.dt)
        return -(-window // every)

    @property
    def learn_times(self):
        """Times (ms) of the RLS updates, which are also the centres of the score's windows."""
        import numpy as np

        return self.stim_off + np.arange(self.n_learn) * self.learn_every
