"""Parameters of Part 3: :class:`BalancedParams`, and :data:`CHOICES`, the values of its text fields."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from ..checks import count_from_fraction
from .fields import (AMP, DT, FFWD_TAU_MIN, HZ, LAM_REC_PER_MU_RS, LOOPS, PENALTY, PENALTY_MAX, RATIO_MAX,
                     SCALE, SEED, SPIKE_RATE_MAX, STATIC_SETTLE_MS, TAU, TIME, TIME0, TIME_MAX, Validated, param,
                     smoke_test, time_names)

__all__ = ["BalancedParams", "CHOICES"]


@dataclass(frozen=True)
class BalancedParams(Validated):
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
    ffwd_condition : which condition the feedforward rates carry: ``"trial"`` (Part 3: each condition
        its own realisation of the rate process) or ``"none"`` (the control of Part 5: both conditions
        get the first condition's realisation, so the same rates at every time and the same mean rate;
        only the stimulus tells the conditions apart). The feedforward neurons fire in the training
        window only, after the stimulus, so a value "condition-specific until ``stim_off``" would be
        ``"none"`` again. Both values draw both realisations, so nothing else of the network changes.

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
                     **SCALE)
    tau_m: float = param(10.0, "membrane time constant of E and I neurons", unit="ms", **TAU)
    tau_syn: float = param(3.0, "time constant of the static E and I synaptic currents", unit="ms", **TAU)
    tau_plastic: float = param(150.0, "time constant of the plastic synapses", unit="ms", **TAU)
    dt: float = param(0.1, "Euler time step", unit="ms", **DT)
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
                           **PENALTY)
    mu_rs: float = param(8.0, "row-sum penalty on the sum of each neuron's E and of its I plastic weights",
                         what="row-sum penalty", lo=0, hi=PENALTY_MAX)
    lam_ff: float = param(1.0, "RLS penalty on the feedforward weights", what="RLS penalty", **PENALTY)
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
    ffwd_rate: float = param(5.0, "mean rate of the Ornstein-Uhlenbeck rate process", unit="Hz", **HZ)
    ffwd_tau: float = param(400.0, "time constant of the feedforward rate process (at least its 1 ms grid)",
                             unit="ms", lo=FFWD_TAU_MIN, hi=TIME_MAX)
    ffwd_noise: float = param(0.2, "noise amplitude of the feedforward rate process, Hz per sqrt(ms)",
                              **HZ)
    ffwd_smooth: float = param(50.0, "half-width of the moving average applied before rectifying", unit="ms",
                               lo=0)
    ffwd_condition: str = param("trial", "which condition the feedforward rates carry: 'trial' each "
                                "condition its own rate process, 'none' one process shared by both "
                                "(the same mean rate; the control of Part 5)", choices=("trial", "none"))
    stim_on: float = param(800.0, "start of the stimulus window", unit="ms", **TIME0)
    stim_off: float = param(1000.0, "end of the stimulus window, start of the training window", unit="ms",
                            **TIME)
    stim_amplitude: float = param(0.5, "each neuron's stimulus is drawn uniformly in [-a, a] per condition",
                                  **AMP)
    train_duration: float = param(2000.0, "the training window starts at stim_off and ends the trial",
                                  unit="ms",
                                  **TIME)
    learn_every: float = param(20.0, "interval between RLS updates (the sampling interval of the recordings)",
                               unit="ms", **TIME)
    n_loops: int = param(200, "training loops; each trains lick-right, then lick-left",
                         slider=dict(min=1, max=200, label="loops"), **LOOPS)
    seed: int = param(0, "seed of every random draw", **SEED)
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
                                 unit="ms", **TIME)
    record_every: float = param(1.0, "sampling interval of the recorded inputs", unit="ms", **TIME)
    max_rate: float = param(100.0, "a population-average rate above this counts as diverging", unit="Hz",
                            lo=0, lo_open=True, hi=SPIKE_RATE_MAX)

    @classmethod
    def lecture(cls, **changes) -> "BalancedParams":
        """A configuration small enough to train live in a lecture (``./run bench lecture-part3`` times it).

        ``N = 2000``, ``K = 200``, ``L = 20``, the 100 most modulated ALM neurons,
        30 loops, 100 instead of 300 feedforward Poisson inputs, and initial I
        plastic weights matched to the trained neurons' rates
        (``inh_weight_ratio=None``). Measured with the ALM data, seeds 0 to 3:
        trial-averaged test score (5 trials) 0.43 to 0.56 after 10 loops, 0.60 to
        0.64 after 30; single-trial 0.37 to 0.47 after 30. Its lecture page trained in 102 s on a busy
        shared 2-core machine (README, Performance, machine B). Why these changes:

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
        t = time_names(self)
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


#: The fields of :class:`BalancedParams` with a fixed set of values, and those values (from their metadata).
CHOICES = {f.name: f.metadata["choices"] for f in fields(BalancedParams) if f.metadata["choices"]}
