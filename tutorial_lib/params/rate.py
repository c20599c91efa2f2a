"""Parameters of Parts 1 and 2: the recurrent-network base, :class:`RateParams` and :class:`SpikingParams`."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..checks import count_from_fraction, min_fraction
from .fields import (AMP, AMPLITUDE_MAX, DT, LOOPS, PENALTY, SCALE, SEED, SIGNED, SPIKE_RATE_MAX, TAU, TIME,
                     TIME0, Validated, param, time_names)

__all__ = ["RateParams", "SpikingParams"]


class _RecurrentNetwork(Validated):
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
        t = time_names(self)
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
    tau: float = param(5.0, "membrane time constant of the rate units", unit="ms", **TAU)
    dt: float = param(0.1, "Euler time step", unit="ms", **DT)
    sigma: float = param(0.1, "standard deviation of the initial weights (g = sigma sqrt(N))",
                         what="weight scale",
                         slider=dict(min=0.01, max=1.0, step=0.01, label="sigma (weights)"), **SCALE)
    K: int | None = param(None, "inputs per neuron", lo=1, what="inputs per neuron", none="all-to-all",
                          slider=dict(min=1, step=1, label="K (inputs)"))
    lam: float = param(0.5, "the RLS regulariser lambda (P starts as I / lam)", what="RLS regulariser lambda",
                       slider=dict(min=1e-3, max=100.0, step=0.1, scale="log", label="lambda (RLS)"), **PENALTY)
    train_fraction: float = param(1.0, "fraction of neurons whose incoming weights are trained", lo=0, hi=1,
                                  lo_open=True, what="fraction of neurons trained",
                                  slider=dict(min=0.05, max=1.0, step=0.05, label="fraction trained"))
    n_loops: int = param(50, "number of training loops (trials)", slider=dict(min=1, max=200, label="loops"),
                         **LOOPS)
    seed: int = param(0, "seed of every random draw (connectivity, weights, stimulus, targets)", **SEED)
    stim_on: float = param(100.0, "start of the stimulus", unit="ms", **TIME0)
    stim_off: float = param(110.0, "end of the stimulus, start of the training window", unit="ms", **TIME)
    train_duration: float = param(500.0, "length of the training window, which starts at stim_off", unit="ms",
                                  **TIME)
    stim_max: float = param(4.0, "each neuron's stimulus is drawn uniformly in [0, stim_max)", **AMP)
    target_amplitude: float = param(1.0,
                                    "amplitude A of the sine targets f_i(t) = A sin(2 pi (t - t_i) / T) "
                                    "+ offset", **SIGNED)
    target_period: float = param(100.0, "period T of the sine targets", unit="ms", **TAU)
    target_offset: float = param(1.0, "offset of the sine targets", **AMP)
    learn_every: float = param(5.0, "interval between RLS updates inside the training window", unit="ms",
                               **TIME)
    record_every: float = param(1.0, "sampling interval of the recorded activity", unit="ms", **TIME)
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
    tau_m: float = param(10.0, "membrane time constant (threshold 1, reset 0)", unit="ms", **TAU)
    dt: float = param(0.1, "Euler time step", unit="ms", **DT)
    mu: float = param(0.72, "constant input to every neuron (0.72, just below threshold)", **SIGNED)
    noise: float = param(2.0, "amplitude of the voltage noise", **AMP)
    sigma: float = param(0.3, "standard deviation of the initial weights W_ij ~ Normal(0, sigma^2)",
                         what="weight scale", slider=dict(min=0.01, max=5.0, step=0.01,
                                                          label="sigma (weights)"),
                         **SCALE)
    K: int | None = param(None, "inputs per neuron", lo=1, what="inputs per neuron", none="all-to-all",
                          slider=dict(min=1, step=1, label="K (inputs)"))
    tau_s: float = param(200.0, "synaptic time constant during training and testing", unit="ms",
                         what="synaptic time constant during training, ms",
                         slider=dict(min=1.0, max=1000.0, step=0.05, scale="log", label="tau_s (ms)"), **TAU)
    tau_s_spont: float = param(3.0,
                               "synaptic time constant of the one spontaneous run that measures each "
                               "neuron's mean input ubar_i", unit="ms",
                               what="synaptic time constant of the spontaneous run, ms",
                               **TAU)
    lam: float = param(0.5, "the RLS regulariser lambda (P starts as I / lam)", what="RLS regulariser lambda",
                       slider=dict(min=1e-3, max=100.0, step=0.1, scale="log", label="lambda (RLS)"), **PENALTY)
    train_fraction: float = param(1.0, "fraction of neurons whose incoming synapses are trained", lo=0, hi=1,
                                  lo_open=True, what="fraction of neurons trained",
                                  slider=dict(min=0.05, max=1.0, step=0.05, label="fraction trained"))
    n_loops: int = param(20, "training loops", slider=dict(min=1, max=100, label="loops"), **LOOPS)
    seed: int = param(0, "seed of every random draw (weights, stimulus, phases, noise)", **SEED)
    stim_on: float = param(800.0, "start of the stimulus window", unit="ms", **TIME0)
    stim_off: float = param(1000.0, "end of the stimulus window, start of the training window", unit="ms",
                            **TIME)
    stim_std: float = param(0.5,
                            "each neuron's stimulus is a constant drawn from Normal(0, stim_std^2), added to "
                            "mu during the stimulus", **AMP)
    train_duration: float = param(2000.0,
                                  "length of the training window, which starts at stim_off and ends the "
                                  "trial", unit="ms", **TIME)
    target_amplitude: float = param(0.5,
                                    "amplitude A of the targets f_i(t) = A sin(2 pi ((t - stim_off)/T "
                                    "+ phi_i)) + ubar_i", **SIGNED)
    target_period: float = param(2000.0, "period T of the targets", unit="ms", **TAU)
    learn_every: float = param(20.0, "interval between RLS updates inside the training window", unit="ms",
                               **TIME)
    record_every: float = param(1.0,
                                "sampling interval of the recorded voltages and inputs; the score is "
                                "computed on this grid", unit="ms", **TIME)
    error_noise: float = param(0.0,
                               "standard deviation of a normal draw added to the error at every RLS update "
                               "(0 = off; the original used 2 as a regulariser)", **AMP)
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
            ("the spike buffer of a trial", spikes, ("max_rate",) + time_names(self) + ("N",))]



# Part 3 ----------------------------------------------------------------------
