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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from numbers import Integral, Real

__all__ = [
    "RateParams",
    "SpikingParams",
    "check_real",
    "check_int",
    "check_grid",
]


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
    """Return ``value`` as an int, or raise a ValueError naming ``name`` and its range."""
    label = f"{name} ({what})" if what else name
    if isinstance(value, bool) or not isinstance(value, Integral):
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


@dataclass(frozen=True)
class RateParams(_Validated):
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
        if name == "N":
            return check_int(name, v, lo=2, hi=5000, what="number of neurons")
        if name == "K":
            return None if v is None else check_int(name, v, lo=1, what="inputs per neuron")
        if name in ("n_loops",):
            return check_int(name, v, lo=1, hi=100_000, what="training loops")
        if name == "seed":
            return check_int(name, v, lo=0, hi=2**32 - 1, what="random seed")
        if name == "sigma":
            return check_real(name, v, lo=0, lo_open=True, what="weight scale")
        if name == "lam":
            return check_real(name, v, lo=0, lo_open=True, what="RLS regulariser lambda")
        if name == "train_fraction":
            return check_real(name, v, lo=0, hi=1, lo_open=True, what="fraction of neurons trained")
        if name in ("stim_on", "stim_max", "target_offset"):
            return check_real(name, v, lo=0)
        if name == "target_amplitude":
            return check_real(name, v)
        return check_real(name, v, lo=0, lo_open=True)

    def _check_together(self):
        if self.K is not None and self.K > self.N - 1:
            raise ValueError(
                f"K (inputs per neuron) must be in [1, N-1] = [1, {self.N - 1}] (got {self.K})"
            )
        if self.stim_off <= self.stim_on:
            raise ValueError(f"stim_off must be > stim_on = {self.stim_on:g} ms (got {self.stim_off:g})")
        if self.dt > self.tau / 5:
            raise ValueError(f"dt must be <= tau / 5 = {self.tau / 5:g} ms for a stable Euler step (got {self.dt:g})")
        for name in ("stim_on", "stim_off", "train_duration", "learn_every", "record_every"):
            value = getattr(self, name)
            if name == "stim_on" and value == 0:
                continue
            check_grid(name, value, self.dt)
        if self.n_trained < 1:
            raise ValueError(
                f"train_fraction must train at least one neuron: {self.train_fraction:g} x N = "
                f"{self.train_fraction * self.N:g} rounds to 0; use train_fraction >= {0.5 / self.N:.3g}"
            )

    # derived quantities -------------------------------------------------
    @property
    def n_inputs(self) -> int:
        """Inputs per neuron: K, or N - 1 for all-to-all."""
        return self.N - 1 if self.K is None else self.K

    @property
    def g(self) -> float:
        """Gain of the random weights, ``sigma * sqrt(inputs per neuron)`` (SPEC: sigma sqrt(N))."""
        return self.sigma * math.sqrt(self.N if self.K is None else self.K)

    @property
    def n_trained(self) -> int:
        return int(round(self.train_fraction * self.N))

    @property
    def t_end(self) -> float:
        """Trial length in ms (stimulus off + training window)."""
        return self.stim_off + self.train_duration


@dataclass(frozen=True)
class SpikingParams(_Validated):
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
        if self.K is not None and self.K > self.N - 1:
            raise ValueError(
                f"K (inputs per neuron) must be in [1, N-1] = [1, {self.N - 1}] (got {self.K})"
            )
        if self.stim_off <= self.stim_on:
            raise ValueError(f"stim_off must be > stim_on = {self.stim_on:g} ms (got {self.stim_off:g})")
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
        for name in ("stim_on", "stim_off", "train_duration", "learn_every", "record_every"):
            value = getattr(self, name)
            if name == "stim_on" and value == 0:
                continue
            check_grid(name, value, self.dt)
        if self.learn_every > self.train_duration:
            raise ValueError(
                f"learn_every must be <= train_duration = {self.train_duration:g} ms "
                f"(got {self.learn_every:g})"
            )
        if self.n_trained < 1:
            raise ValueError(
                f"train_fraction must train at least one neuron: {self.train_fraction:g} x N = "
                f"{self.train_fraction * self.N:g} rounds to 0; use train_fraction >= {0.5 / self.N:.3g}"
            )

    # derived quantities -------------------------------------------------
    @property
    def n_inputs(self) -> int:
        """Inputs per neuron: K, or N - 1 for all-to-all."""
        return self.N - 1 if self.K is None else self.K

    @property
    def n_trained(self) -> int:
        return int(round(self.train_fraction * self.N))

    @property
    def t_end(self) -> float:
        """Trial length in ms (the training window ends the trial)."""
        return self.stim_off + self.train_duration

    @property
    def n_learn(self) -> int:
        """RLS updates per loop (at stim_off, stim_off + learn_every, ... < t_end)."""
        window = round(self.train_duration / self.dt)
        every = round(self.learn_every / self.dt)
        return -(-window // every)
