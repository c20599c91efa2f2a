"""The LIF network and what a run takes and gives, as data: synapses, plastic synapses, the network,
learning, perturbations, replays, and the record of a run.

:func:`tutorial_lib.engine.simulate.simulate` runs an :class:`LIFNetwork` and returns a :class:`Run`.
Each class checks its fields when it is made (TypeError / ValueError naming the field).

>>> net = LIFNetwork(mu=[1.5, 0.5], static=(Synapses.from_dense([[0, 0], [4.0, 0]], tau=5.0),))
>>> net.N, net.channel_names
(2, ('synaptic', 'plastic'))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..checks import MAX_STEPS, check_int, check_real
from .rls_shared import SharedInputRLS, SharedPoolRLS
from .rls_state import BatchRLS
from .lif_checks import CURRENT_LIMIT, as_index, check_indices, check_times, kernel_array, shown

__all__ = ["Synapses", "PlasticSynapses", "LIFNetwork", "Learning", "Perturbation", "Replay", "Run"]


@dataclass
class Synapses:
    """Fixed synapses of one channel, stored by presynaptic neuron (CSR).

    The targets of neuron ``j`` are ``post[ptr[j]:ptr[j+1]]`` with weights
    ``w[ptr[j]:ptr[j+1]]``; a spike of ``j`` adds ``w / tau`` to each target's
    current of this channel, which decays with time constant ``tau`` (ms).
    Build with :meth:`from_dense` or :meth:`from_pairs`.
    """

    tau: float
    ptr: np.ndarray
    post: np.ndarray
    w: np.ndarray
    name: str = "synaptic"

    def __post_init__(self):
        self.tau = check_real("tau", self.tau, lo=0, lo_open=True,
                              what=f"time constant of the {self.name} synapses, ms")
        self.ptr = as_index("ptr", self.ptr, what="CSR pointers")
        self.post = as_index("post", self.post)
        self.w = kernel_array(self.w)
        if self.ptr.ndim != 1 or self.ptr.shape[0] < 2 or self.ptr[0] != 0 or np.any(np.diff(self.ptr) < 0):
            raise ValueError("ptr must be a non-decreasing 1-D array that starts at 0 (CSR pointers)")
        if self.post.shape != self.w.shape or self.post.shape[0] != self.ptr[-1]:
            raise ValueError(f"post and w must both have ptr[-1] = {self.ptr[-1]} entries")
        if self.post.size and (self.post.min() < 0 or self.post.max() >= self.N):
            raise ValueError(f"post must hold neuron indices in [0, {self.N - 1}]")
        if not np.all(np.isfinite(self.w)):
            raise ValueError(f"the {self.name} weights w must be finite")

    @property
    def N(self) -> int:
        return self.ptr.shape[0] - 1

    @classmethod
    def from_pairs(cls, pre, post, w, N: int, tau: float, name: str = "synaptic") -> "Synapses":
        """Synapses ``pre[q] -> post[q]`` with weights ``w[q]`` among ``N`` neurons."""
        N = check_int("N", N, lo=1, what="neurons")
        pre = as_index("pre", pre, N - 1)
        post = as_index("post", post, N - 1)
        w = np.asarray(w, dtype=np.float64)
        if not (pre.shape == post.shape == w.shape) or pre.ndim != 1:
            raise ValueError("pre, post and w must be 1-D arrays of the same length")
        if pre.size and (pre.min() < 0 or pre.max() >= N):
            raise ValueError(f"pre must hold neuron indices in [0, {N - 1}]")
        order = np.argsort(pre, kind="stable")
        ptr = np.zeros(N + 1, dtype=np.int64)
        np.cumsum(np.bincount(pre, minlength=N), out=ptr[1:])
        return cls(tau, ptr, post[order], w[order], name)

    @classmethod
    def from_dense(cls, W, tau: float, name: str = "synaptic") -> "Synapses":
        """From a matrix ``W[i, j]`` (from ``j`` to ``i``); zero entries are absent synapses."""
        W = np.asarray(W, dtype=np.float64)
        post, pre = np.nonzero(W)
        return cls.from_pairs(pre, post, W[post, pre], W.shape[0], tau, name)

    def dense(self) -> np.ndarray:
        """The weights as an (N, N) matrix ``W[i, j]`` from ``j`` to ``i``."""
        W = np.zeros((self.N, self.N))
        pre = np.repeat(np.arange(self.N), np.diff(self.ptr))
        np.add.at(W, (self.post, pre), self.w)
        return W


@dataclass
class PlasticSynapses:
    """Trained synapses: row ``k`` gives neuron ``rows[k]`` the input ``u = sum_a w[k, a] r[presyn[k, a]]``.

    ``r`` are the filtered spike trains (time constant ``tau``, ms) of
    ``n_sources`` sources: the network's ``N`` neurons first, then any external
    spike trains (passed to :func:`simulate`). ``w`` is updated in place by
    learning. ``rows`` must be distinct neurons.
    """

    tau: float
    rows: np.ndarray
    presyn: np.ndarray
    w: np.ndarray
    n_sources: int
    out_ptr: np.ndarray = field(init=False, repr=False)
    out_row: np.ndarray = field(init=False, repr=False)
    out_col: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.tau = check_real("tau", self.tau, lo=0, lo_open=True,
                              what="time constant of the plastic synapses, ms")
        self.n_sources = check_int("n_sources", self.n_sources, lo=1, what="neurons plus external sources")
        self.rows = as_index("rows", self.rows)  # LIFNetwork checks them against its N
        self.presyn = as_index("presyn", self.presyn, self.n_sources - 1, what="source indices")
        self.w = np.array(self.w, dtype=np.float64, order="C")  # a copy: learning changes it in place
        R = self.rows.shape[0]
        if self.presyn.ndim != 2 or self.presyn.shape[0] != R or self.w.shape != self.presyn.shape:
            raise ValueError(f"presyn and w must have shape (len(rows), m) = ({R}, m)")
        if not np.all(np.isfinite(self.w)):
            raise ValueError("the plastic weights w must be finite")
        if np.unique(self.rows).shape[0] != R:
            raise ValueError("rows must list distinct neurons (one plastic row per neuron)")
        if self.presyn.size and (self.presyn.min() < 0 or self.presyn.max() >= self.n_sources):
            raise ValueError(f"presyn must hold source indices in [0, {self.n_sources - 1}]")
        self.out_ptr, self.out_row, self.out_col = _source_index(self.presyn, self.n_sources)


_SOURCE_INDEX: list = []  # [(presyn, n_sources, index)] of the last index built: a trial reuses its network's


def _source_index(presyn: np.ndarray, n_sources: int):
    """The index by source of plastic synapses: ``(out_ptr, out_row, out_col)``, the synapses that a
    spike of source j reaches. Reused (the arrays themselves, which nothing writes) if ``presyn`` and
    ``n_sources`` are those of the last call: a Part 3 trial builds its network's synapses anew."""
    last = _SOURCE_INDEX[-1] if _SOURCE_INDEX else None  # one read of the tuple (threads may build too)
    if last is not None and last[1] == n_sources and np.array_equal(last[0], presyn):
        return last[2]
    src = presyn.ravel()
    order = np.argsort(src, kind="stable")
    # rows and columns in the smallest integers that hold them: the kernel streams these for every spike
    # (at Part 3's full scale 620 000 synapses, 2.5 MB as int16 instead of 10 MB as int64)
    small = np.int16 if max(presyn.shape) <= np.iinfo(np.int16).max else np.int32
    small = small if max(presyn.shape) <= np.iinfo(small).max else np.int64
    out_row = (order // presyn.shape[1]).astype(small)
    out_col = (order % presyn.shape[1]).astype(small)
    out_ptr = np.zeros(n_sources + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n_sources), out=out_ptr[1:])
    _SOURCE_INDEX[:] = [(presyn.copy(), n_sources, (out_ptr, out_row, out_col))]
    return out_ptr, out_row, out_col


@dataclass
class LIFNetwork:
    """A network of LIF neurons: what :func:`simulate` runs.

    ``mu`` (N,) constant inputs; ``tau_m`` and ``dt`` in ms; ``noise`` the
    amplitude of the voltage noise (0: none); ``static`` any number of
    :class:`Synapses` channels; ``plastic`` the trained synapses, or None.
    Threshold ``v_th`` and reset ``v_reset`` (1 and 0 in the tutorial).
    """

    mu: np.ndarray
    tau_m: float = 10.0
    dt: float = 0.1
    noise: float = 0.0
    static: tuple = ()
    plastic: PlasticSynapses | None = None
    v_th: float = 1.0
    v_reset: float = 0.0

    def __post_init__(self):
        self.mu = kernel_array(np.atleast_1d(self.mu))
        if self.mu.ndim != 1 or not np.all(np.isfinite(self.mu)):
            raise ValueError("mu must be a finite 1-D array (one constant input per neuron)")
        self.tau_m = check_real("tau_m", self.tau_m, lo=0, lo_open=True, what="membrane time constant, ms")
        self.dt = check_real("dt", self.dt, lo=0, hi=self.tau_m, lo_open=True, what="time step, ms")
        self.noise = check_real("noise", self.noise, lo=0, what="voltage noise amplitude")
        self.v_th = check_real("v_th", self.v_th)
        self.v_reset = check_real("v_reset", self.v_reset, hi=self.v_th, hi_open=True)
        self.static = tuple(self.static)
        for ch in self.static:
            if ch.N != self.N:
                raise ValueError(
                    f"the {ch.name} synapses are built for {ch.N} neurons, the network has {self.N}")
            if ch.tau < self.dt:
                raise ValueError(
                    f"tau of the {ch.name} synapses must be >= dt = {self.dt:g} ms (got {ch.tau:g})")
        pl = self.plastic
        if pl is not None:
            if pl.n_sources < self.N or (pl.rows.size and pl.rows.max() >= self.N):
                raise ValueError("the plastic synapses must have the network's neurons as their first "
                                 "sources and rows among its neurons")
            if pl.tau < self.dt:
                raise ValueError(
                    f"tau of the plastic synapses must be >= dt = {self.dt:g} ms (got {pl.tau:g})")

    @property
    def N(self) -> int:
        return self.mu.shape[0]

    @property
    def channel_names(self) -> tuple:
        """Names of the recorded currents: the static channels, then ``"plastic"``."""
        return tuple(ch.name for ch in self.static) + ("plastic",)


@dataclass
class Learning:
    """RLS during a run: at each of ``times`` (ms) every plastic row takes one RLS step.

    ``rls`` holds the RLS state and the weights ``rls.w`` (its ``presyn`` must be
    the plastic synapses' ``presyn``). The run starts from ``rls.w`` and trains
    them in place; the network's plastic weights are set equal to them at the
    end (also if the run stops early). ``targets`` (len(times), R) is the target
    of each row's total input; ``error_noise`` the std of a normal draw added to
    each error (0: none).

    ``w_min`` / ``w_max`` (optional, broadcast to ``rls.w``'s shape (R, m), e.g. one
    bound per column (m,); ``-inf`` / ``inf`` for no bound): after every RLS step
    the weights are clipped to ``[w_min, w_max]``, before the plastic input is
    recomputed. This departs from exact RLS: ``P`` keeps the inverse correlation
    of the inputs, but the clipped weights are no longer the penalised
    least-squares solution that ``P`` and the errors so far define. None (the
    default): no clipping, the exact update.
    """

    rls: BatchRLS | SharedPoolRLS | SharedInputRLS
    times: np.ndarray
    targets: np.ndarray
    error_noise: float = 0.0
    w_min: np.ndarray | None = None
    w_max: np.ndarray | None = None

    def __post_init__(self):
        for name in ("w_min", "w_max"):
            b = getattr(self, name)
            if b is None:
                continue
            shape = self.rls.w.shape
            b = np.asarray(b, dtype=np.float64)
            try:
                np.broadcast_to(b, shape)
            except ValueError:
                raise ValueError(f"learning.{name} must broadcast to the weights' shape {shape} "
                                 f"(got shape {b.shape})") from None
            if np.isnan(b).any():
                raise ValueError(f"learning.{name} must not hold NaN (use -inf / inf for no bound)")
            setattr(self, name, b)
        if self.w_min is not None and self.w_max is not None and np.any(self.w_min > self.w_max):
            raise ValueError("learning.w_min must be <= learning.w_max everywhere")

    def clip(self, w: np.ndarray) -> None:
        """Clip ``w`` in place to ``[w_min, w_max]`` (nothing without bounds)."""
        if self.w_min is not None or self.w_max is not None:
            np.clip(w, self.w_min, self.w_max, out=w)


# ---------------------------------------------------------------------------
# Checks of what a caller hands the engine: indices, times, per-neuron arrays and sizes, each refused
# by name before anything is allocated or simulated.


@dataclass
class Perturbation:
    """A current added to the input of a set of neurons between two times (SPEC, Part 4).

    Neuron ``i`` in ``neurons`` gets the extra input ``current`` (in the units of
    ``mu``: threshold 1) in every step ``n`` with ``start <= n dt < stop``, on top
    of ``mu`` and any stimulus, in every run mode (static, training, test); several
    perturbations may overlap, and their currents add. A positive current to the
    I cells is an optogenetic-style excitation of inhibition; a large negative
    current silences its neurons.

    Parameters
    ----------
    neurons : array_like of int, or str
        Neuron indices, whole numbers >= 0 (repeats add their current once per repeat; empty: a
        perturbation of nobody, which changes nothing), or the name of a population that the caller
        resolves (Part 3: :func:`tutorial_lib.balanced.populations`, e.g. ``"I"`` or ``"trained"``);
        :func:`simulate` itself takes indices only.
    current : float or array_like, shape (len(neurons),)
        The added input, finite, at most ``CURRENT_LIMIT`` (1e6) in magnitude (units of the
        threshold: +-100 already silences or saturates any neuron).
    start, stop : float
        The window in ms, ``0 <= start < stop``, finite, on the dt grid of the run; ``stop``
        may lie past the end of the run (the perturbation then lasts to the end; any finite
        ``stop``, 1e308 too, means "to the end of the run").

    Raises
    ------
    ValueError
        Naming the field: ``stop <= start``, a negative or non-finite time, a
        non-finite or too large current, negative, non-whole or boolean neuron indices
        (checked before any conversion: an unsigned ``2**64 - 1`` does not wrap to -1),
        a current array whose length is not that of ``neurons``. Indices beyond the
        network and times off the dt grid are refused by :func:`simulate`.
    TypeError
        ``neurons`` or ``current`` of the wrong kind (None, text for ``current``).

    Examples
    --------
    >>> Perturbation("I", current=0.5, start=1500.0, stop=2500.0).neurons
    'I'
    """

    neurons: object
    current: object
    start: float
    stop: float

    def __post_init__(self):
        # + 0.0: -0.0 is 0 (and shown as 0)
        self.start = check_real("start", self.start, lo=0, what="when the perturbation starts, ms") + 0.0
        self.stop = check_real("stop", self.stop, lo=self.start, lo_open=True,
                               what=f"when the perturbation stops, ms; after start = {self.start:g}") + 0.0
        if isinstance(self.neurons, str):
            if not self.neurons.strip():
                raise ValueError("neurons must be a population name or a 1-D array of neuron indices "
                                 "(got '')")
        else:
            self.neurons = check_indices("neurons", self.neurons)
        what = "the added input, units of the threshold"
        if self.current is None or isinstance(self.current, (str, bytes, dict, set)):
            raise TypeError(f"current ({what}) must be a finite number or a 1-D array of them "
                            f"(got {shown(self.current)})")
        try:
            raw = np.asarray(self.current)
        except (ValueError, TypeError, OverflowError):
            raw = np.asarray([None], dtype=object)
        if raw.dtype.kind not in "iuf" or raw.ndim > 1:
            raise ValueError(f"current ({what}) must be a finite number or a 1-D array of them "
                             f"(got {shown(self.current)})")
        cur = raw.astype(np.float64)
        if not np.all(np.isfinite(cur)):
            raise ValueError(f"current ({what}) must be a finite number or a 1-D array of them "
                             f"(got {shown(self.current)})")
        if cur.size and np.abs(cur).max() > CURRENT_LIMIT:
            raise ValueError(f"current ({what}) must be in [{-CURRENT_LIMIT:g}, {CURRENT_LIMIT:g}]: "
                             f"+-100 already silences or saturates any neuron (got {shown(self.current)})")
        if cur.ndim == 1 and not isinstance(self.neurons, str) and cur.shape[0] != self.neurons.shape[0]:
            raise ValueError(f"current must be one number or one per neuron ({self.neurons.shape[0]}); "
                             f"got {cur.shape[0]}")
        self.current = float(cur) if cur.ndim == 0 else cur

    def resolve(self, populations: dict) -> "Perturbation":
        """This perturbation with a population name replaced by its indices from ``populations``.

        Raises ValueError naming ``neurons`` and the known names for an unknown name.
        """
        if not isinstance(self.neurons, str):
            return self
        if self.neurons not in populations:
            raise ValueError(f"neurons must be a neuron index array or one of the populations "
                             f"{sorted(populations)} (got {self.neurons!r})")
        return Perturbation(np.asarray(populations[self.neurons]), self.current, self.start, self.stop)


@dataclass
class Replay:
    """Recorded spikes delivered to chosen synapses instead of the network's own (SPEC, Part 4).

    In a replayed run the neurons still integrate their input and spike as usual (their spikes
    are recorded and reach the other synapses), but the synapses named in ``channels`` receive
    the spikes given here instead: a recorded trial's spikes (then the network is driven, through
    those synapses, by its own past activity), the same spikes with their times jittered
    (:meth:`jittered`), or spike trains of matched rate (:func:`tutorial_lib.balanced.rate_matched_poisson`).
    Comparing them separates what the precise spike times carry from what the rates carry.

    Parameters
    ----------
    times : array_like of float, shape (n,)
        Spike times in ms, finite and > 0, labelled like :attr:`Run.spike_times` (a spike in step
        ``k`` is at ``(k + 1) dt``), so a recorded run's spikes replay at the steps where they
        happened. Spikes after the end of a run are not delivered.
    neurons : array_like of int, shape (n,)
        The presynaptic neuron of each spike (network neurons, ``0 .. N-1``; whole numbers, checked
        before any conversion). A neuron listed twice at one time delivers two spikes.
    channels : tuple of str
        The synapses that receive the replay: names of ``LIFNetwork.channel_names`` (the static
        channels and ``"plastic"``, whose external sources keep their own spikes).

    Raises
    ------
    ValueError
        Naming the field: arrays of different lengths or not 1-D, non-finite or negative times,
        negative, non-whole or boolean neurons (an unsigned ``2**64 - 1`` does not wrap to -1), no
        channel or a repeated one. Times off the dt grid, neurons beyond the network and unknown
        channel names are refused by :func:`simulate`.
    TypeError
        ``times`` or ``neurons`` of the wrong kind (None, text).

    Examples
    --------
    >>> Replay([1.0, 2.5], [0, 3], channels=("plastic",)).neurons
    array([0, 3])
    """

    times: object
    neurons: object
    channels: tuple = ("plastic",)

    def __post_init__(self):
        t = check_times("times", self.times, what="spike times in ms, one per spike")
        if np.ndim(self.neurons) > 1:
            raise ValueError("times and neurons must be 1-D arrays (one entry per spike)")
        idx = check_indices("neurons", self.neurons)
        if t.shape[0] != idx.shape[0]:
            raise ValueError(f"times and neurons must have the same length (got {t.shape[0]} and {idx.shape[0]})")
        if t.size and not (np.all(np.isfinite(t)) and t.min() > 0):
            raise ValueError("times must be finite and positive (ms; a spike in step k is at (k + 1) dt)")
        channels = (self.channels,) if isinstance(self.channels, str) else (
            tuple(self.channels) if hasattr(self.channels, "__iter__") else ())
        if not channels or not all(isinstance(c, str) and c for c in channels) \
                or len(set(channels)) < len(channels):
            raise ValueError(f"channels must name one or more synapse channels, each once (got {self.channels!r})")
        self.times, self.neurons, self.channels = t, idx.astype(np.int64), channels

    def jittered(self, jitter: float, rng: np.random.Generator, dt: float, T: float) -> "Replay":
        """These spikes with Gaussian jitter: each time moved by ``jitter * z`` ms (``z`` standard normal,
        drawn in spike order), rounded to the dt grid; spikes moved outside ``(0, T]`` are dropped.

        ``jitter`` 0 returns the same spikes; a jitter far beyond ``T`` moves (nearly) every spike out.
        Raises ValueError for a negative or non-finite ``jitter``, ``dt`` not finite and > 0, ``T`` not
        finite and > 0 or longer than ``MAX_STEPS`` (1e8) steps of ``dt`` (no run is that long);
        TypeError if ``rng`` is not a numpy Generator.
        """
        jitter = check_real("jitter", jitter, lo=0, what="standard deviation of the spike-time jitter, ms")
        dt = check_real("dt", dt, lo=0, lo_open=True, what="time step, ms")
        T = check_real("T", T, lo=0, lo_open=True, hi=MAX_STEPS * dt,
                       what=f"trial duration, ms; at most {MAX_STEPS:.0e} steps of dt = {dt:g} ms")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator (got {type(rng).__name__})")
        with np.errstate(over="ignore", invalid="ignore"):  # huge times or jitters: out of (0, T], dropped
            steps = np.rint(self.times / dt)
            if jitter > 0:  # in float (whole numbers, exact below 2**53): a huge jitter would overflow int64
                steps = steps + np.rint(jitter * rng.standard_normal(steps.shape[0]) / dt)
        keep = (steps >= 1) & (steps <= int(round(T / dt)))
        steps = np.where(keep, steps, 0).astype(np.int64)
        order = np.lexsort((self.neurons[keep], steps[keep]))
        return Replay(steps[keep][order] * dt, self.neurons[keep][order], self.channels)


@dataclass
class Run:
    """What one call of :func:`simulate` recorded. Times in ms; arrays are (time, recorded neuron).

    ``v`` is the voltage at the start of each recorded step (so a trace rises
    towards 1 and is 0 after a spike; the spike itself is in ``spike_times``).
    ``currents[:, c]`` are the synaptic currents of ``channels[c]`` (the static
    channels, then the plastic input); ``external`` is ``mu`` plus the stimulus
    plus any perturbation currents. ``plastic_parts[:, g]`` (time, groups,
    recorded neuron), if asked for (``simulate(plastic_groups=...)``), is the
    plastic input split by the groups ``plastic_part_names`` of its sources; see
    :meth:`inputs_by_source`. A run with ``simulate(total_only=True)`` keeps only ``total``, the
    total input (``v``, ``currents`` and ``external`` are None).
    """

    t: np.ndarray
    v: np.ndarray
    currents: np.ndarray
    external: np.ndarray
    channels: tuple
    recorded: np.ndarray
    spike_steps: np.ndarray
    spike_neurons: np.ndarray
    dt: float
    duration: float
    N: int
    v_end: np.ndarray
    errors: np.ndarray | None = None
    plastic_parts: np.ndarray | None = None
    plastic_part_names: tuple = ()
    total: np.ndarray | None = None

    def inputs_by_source(self) -> dict:
        """The total input of every recorded neuron split by source: a dict of (time, recorded) arrays.

        Keys: ``"external"`` (``mu`` + stimulus + perturbations), one per static
        channel (``channels[:-1]``), then the plastic input: split by source group
        (``plastic_part_names``) if the run recorded the split, else as one entry
        ``"plastic"``. The values add up to :attr:`total_input`: the static channels
        and ``external`` exactly as ``total_input`` adds them, the plastic groups
        up to rounding, because they are summed afresh as ``w r`` per group at
        each recorded step while the engine keeps ``u`` incrementally (their sum
        differs from ``currents[:, -1]`` by about ``1e-14`` of the largest group, 9e-15
        measured in a lecture-size trial; ``tests/test_perturbation.py`` checks ``1e-12``
        relative to it). Relative to ``u`` itself the difference can be larger where the
        E and I groups cancel.
        """
        out = {"external": self.external}
        for c, name in enumerate(self.channels[:-1]):
            out[name] = self.currents[:, c]
        if self.plastic_parts is None:
            out[self.channels[-1]] = self.currents[:, -1]
        else:
            for g, name in enumerate(self.plastic_part_names):
                out[name] = self.plastic_parts[:, g]
        return out

    @property
    def spike_times(self) -> np.ndarray:
        """Spike times (ms): a spike in step n is labelled (n + 1) dt, when v reached threshold."""
        return (self.spike_steps + 1) * self.dt

    @property
    def synaptic_input(self) -> np.ndarray:
        """Sum of all synaptic currents, ``sum_c x_c + u``."""
        return self.currents.sum(axis=1)

    @property
    def total_input(self) -> np.ndarray:
        """The total input in the voltage equation (without the noise): ``mu + stimulus + synaptic``."""
        if self.total is not None:
            return self.total
        return self.external + self.synaptic_input

    def spikes_of(self, i: int) -> np.ndarray:
        """Spike times (ms) of neuron ``i``."""
        return self.spike_times[self.spike_neurons == i]

    def rates(self) -> np.ndarray:
        """Firing rate of every neuron over the run, Hz."""
        return np.bincount(self.spike_neurons, minlength=self.N) / (self.duration / 1000.0)


