r"""The leaky integrate-and-fire (LIF) neuron and a network of them, in plain NumPy.

Times in ms, voltages in units of the threshold. One neuron (threshold 1, reset 0, no refractory
period):

.. math::

    \tau_m \frac{dv}{dt} = -v + I(t), \qquad
    v \ge 1 \;\Rightarrow\; \text{spike},\; v \leftarrow 0

stepped by Euler with a noise drawn once per step, as the tutorial does:

.. math::

    v_{n+1} = v_n + \frac{\Delta t}{\tau_m}\left(-v_n + I_n + \sigma_\xi\, \xi_n\right),
    \qquad \xi_n \sim \mathcal{N}(0, 1).

Its size therefore depends on the step: in the white-noise convention of the Siegert rate
(:mod:`tutorial_lib.core.siegert`, :math:`\tau_m\, dv/dt = -v + \mu + \sigma\sqrt{\tau_m}\,\eta(t)`)
it is :math:`\sigma = \sigma_\xi \sqrt{\Delta t / \tau_m}`: Part 2's :math:`\sigma_\xi = 2` at
:math:`\Delta t = 0.1` ms and :math:`\tau_m = 10` ms is :math:`\sigma = 0.2`.

and a synaptic trace, :math:`\tau\, dx/dt = -x + \sum_k \delta(t - t_k)`. The neuron model is a
plug-in (:class:`NeuronModel`: an initial state and a step); :data:`LIF` is the default, and
:func:`run_network` runs a network of any model. The compiled engine
(:func:`tutorial_lib.engine.simulate.simulate`) runs the LIF fast and gives the same spikes
(``tests/test_spiking.py``, ``tests/test_neuron_models.py``).

Getting started::

    >>> round(lif_rate(1.5), 2)                  # Hz, for a constant input 1.5
    91.02
    >>> dt_tau_m = 0.1 / 10.0                     # dt = 0.1 ms, tau_m = 10 ms
    >>> v, spiked = lif_euler_step(np.array([0.999]), np.array([1.5]), np.zeros(1), dt_tau_m)
    >>> spiked, v                                 # crossed the threshold: reset to 0
    (array([ True]), array([0.]))

References
----------
* Gerstner W, Kistler WM, Naud R, Paninski L (2014) Neuronal Dynamics. Cambridge University Press,
  chapter 1.3 (the LIF neuron). doi:10.1017/CBO9781107447615
* Kim CM, Chow CC (2018) Learning recurrent dynamics in spiking networks. eLife 7:e37124.
  doi:10.7554/eLife.37124 (filtered spike trains as the regressors of RLS).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["lif_rate", "lif_rate_euler", "lif_euler_step", "trace_step", "NeuronModel", "lif_model", "LIF",
           "run_network"]


def lif_rate(mu: float, tau_m: float = 10.0) -> float:
    r"""Firing rate (Hz) of a noiseless LIF neuron with constant input ``mu`` (threshold 1, reset 0).

    From :math:`v(t) = \mu (1 - e^{-t/\tau_m})` the time to threshold is
    :math:`T = \tau_m \ln\frac{\mu}{\mu - 1}` ms for :math:`\mu > 1`; below threshold the rate is 0.
    For a noisy input see :func:`tutorial_lib.core.siegert.siegert_rate`, which tends to this as the
    noise vanishes.

    Parameters: ``mu`` (threshold units), ``tau_m`` (ms). Returns a float, Hz. Raises nothing
    (plain arithmetic). Source: Gerstner et al. (2014), Neuronal Dynamics, eq. 1.11.

    >>> lif_rate(0.9), round(lif_rate(2.0, tau_m=10.0), 3)
    (0.0, 144.27)
    """
    if mu <= 1.0:
        return 0.0
    return 1000.0 / (tau_m * math.log(mu / (mu - 1.0)))


def lif_rate_euler(mu: float, tau_m: float = 10.0, dt: float = 0.1) -> float:
    r"""The rate of :func:`lif_rate` for the Euler-discretised neuron (:func:`lif_euler_step`), Hz.

    Starting from 0, :math:`v_n = \mu (1 - (1 - dt/\tau_m)^n)`; the neuron spikes at the first step
    with :math:`v_n \ge 1`, so the interspike interval is
    :math:`n^* = \lceil \ln(1 - 1/\mu) / \ln(1 - dt/\tau_m) \rceil` steps. It differs from
    :func:`lif_rate` by about ``dt / (2 tau_m)`` (Euler) plus up to one step (rounding up).
    ``mu`` threshold units, ``tau_m`` and ``dt`` ms. Source: Gerstner et al. (2014), as :func:`lif_rate`.

    >>> lif_rate_euler(1.5)                          # an interval of 11.0 ms
    90.9090909090909
    """
    if mu <= 1.0:
        return 0.0
    a = dt / tau_m
    n = math.ceil(math.log(1.0 - 1.0 / mu) / math.log(1.0 - a) - 1e-9)
    # guard against the last step landing a hair below threshold in floating point
    while mu * (1.0 - (1.0 - a) ** n) < 1.0:
        n += 1
    return 1000.0 / (n * dt)


def lif_euler_step(v, total_input, xi, dt_tau_m, v_th=1.0, v_reset=0.0):
    r"""One Euler step of the LIF voltage, then threshold and reset.

    .. math:: v \leftarrow v + \frac{\Delta t}{\tau_m}\left(-v + I + \sigma_\xi \xi\right)

    ``v`` (N,) voltages now; ``total_input`` (N,) the input :math:`I` now
    (``mu + stimulus + sum_c x_c + u``); ``xi`` (N,) this step's noise,
    :math:`\sigma_\xi` times a standard normal (0 without noise; white noise of strength
    :math:`\sigma_\xi \sqrt{\Delta t / \tau_m}` in the Siegert convention: see the module header);
    ``dt_tau_m = dt / tau_m``. Returns ``(v_new, spiked)``: the voltages one step
    later (``v_reset`` where the threshold ``v_th`` was crossed) and a boolean mask of the
    neurons that spiked. Raises nothing (NumPy broadcasting errors aside).
    Source: Gerstner et al. (2014), Neuronal Dynamics, chapter 1.3.

    >>> lif_euler_step(np.array([0.5, 0.995]), np.array([1.0, 2.0]), np.zeros(2), 0.1 / 10.0)
    (array([0.505, 0.   ]), array([False,  True]))
    """
    v = v + dt_tau_m * (total_input + xi - v)
    spiked = v >= v_th
    return np.where(spiked, v_reset, v), spiked


def trace_step(x, jumps, dt, tau):
    r"""One Euler step of a filtered spike train or synaptic current.

    .. math:: \tau\, \frac{dx}{dt} = -x + \sum_k \delta(t - t_k)


    ``x`` (N,) the traces now; ``jumps`` (N,) what this step's spikes bring: the
    spike indicator ``s`` for the filtered spike trains ``r`` of the plastic
    synapses, or ``J s`` (the summed weights of the spiking presynaptic neurons)
    for a static channel's current; ``dt``, ``tau`` ms. Returns ``(1 - dt/tau) x + jumps / tau``: a
    delta function integrates to 1 over the step, so a spike adds ``1/tau``
    (times its weight) and the area under a trace stays exactly 1 per spike.
    Source: Kim & Chow (2018), doi:10.7554/eLife.37124 (methods: filtered spike trains).

    >>> trace_step(np.array([0.0, 1.0]), np.array([1.0, 0.0]), 0.1, 10.0)
    array([0.1 , 0.99])
    """
    return (1.0 - dt / tau) * x + jumps / tau


@dataclass(frozen=True)
class NeuronModel:
    r"""A neuron model as data: how to start and how to take one Euler step (for :func:`run_network`).

    ``init(v0) -> state`` the state of N neurons from their initial voltages ``v0`` (N,);
    ``step(state, total_input, dt) -> (state, spiked)`` one step of ``dt`` ms with the input (N,)
    (noise included), ``spiked`` a boolean mask (N,); ``voltage(state) -> v`` (N,) for the record.
    ``name`` and ``params`` describe it (the engine has a compiled kernel for the model named
    ``"lif"``, with ``params`` ``tau_m``, ``v_th``, ``v_reset``).

    >>> LIF.name, LIF.params["tau_m"]
    ('lif', 10.0)
    """

    name: str
    init: Callable
    step: Callable
    voltage: Callable = np.asarray
    params: dict = field(default_factory=dict)


def lif_model(tau_m: float = 10.0, v_th: float = 1.0, v_reset: float = 0.0) -> NeuronModel:
    r"""The LIF neuron (:func:`lif_euler_step`) as a :class:`NeuronModel`; its state is the voltages (N,).

    ``tau_m`` ms, threshold ``v_th`` and reset ``v_reset`` in threshold units. Source: Gerstner et al.
    (2014), Neuronal Dynamics, chapter 1.3.

    >>> m = lif_model(tau_m=20.0)
    >>> m.step(m.init(np.array([0.0])), np.array([2.0]), 0.1)
    (array([0.01]), array([False]))
    """
    def step(v, total_input, dt):  # the noise is in total_input already
        return lif_euler_step(v, total_input, 0.0, dt / tau_m, v_th, v_reset)

    return NeuronModel("lif", lambda v0: np.array(v0, dtype=np.float64), step, np.asarray,
                       {"tau_m": float(tau_m), "v_th": float(v_th), "v_reset": float(v_reset)})


#: The tutorial's LIF neuron: tau_m = 10 ms, threshold 1, reset 0.
LIF = lif_model()


def run_network(model, state, mu, J, tau_s, W, tau_p, n_steps, dt, *, noise=0.0, rng=None, inputs=None,
                learn=None, delivered=None, every=1, max_spikes=None):
    r"""Run a network of ``model`` neurons for ``n_steps`` Euler steps of ``dt`` ms (dense, plain NumPy).

    .. math:: I_i = \mu_i + \textstyle\sum_c x_{c,i} + u_i + \sigma_\xi \xi_i, \qquad u = W r

    Each step: record; ``learn``; one ``model.step`` with :math:`I`; then :func:`trace_step` of
    each static current ``x[c]`` (jumps ``J[c] @ s``, ``tau_s[c]``) and of the traces ``r`` (``s``,
    ``tau_p``): a spike acts from the next step on. ``state`` from ``model.init``; ``mu`` (N,);
    ``J`` (C, N, N), ``J[c, i, j]`` from j to i; ``W`` (N, N) plastic weights; ``noise`` sigma_xi
    (one normal per neuron per step from ``rng``); ``inputs(n)`` (N,) the external input of step n
    (default ``mu``); ``learn(n, r, other)``, ``other = inputs + sum_c x_c``, returns new ``W`` or
    None; ``delivered(n, s)`` (C + 1, N) the spikes the channels and the plastic synapses receive
    (default ``s``); a record every ``every`` steps; stop above ``max_spikes`` spikes. Returns a dict:
    ``v`` (rows, N), ``currents`` (rows, C + 1, N), ``external``, ``spike_steps``, ``spike_neurons``,
    ``state``, ``stopped`` (None or ``(kind, step, neuron)``, kind ``"runaway"`` or ``"nonfinite"``).
    Raises what the model and NumPy raise. Source: Kim & Chow (2018), doi:10.7554/eLife.37124.

    >>> out = run_network(LIF, np.zeros(2), np.array([1.5, 0.5]), np.zeros((1, 2, 2)) + [[0, 0], [4, 0]],
    ...                   [5.0], np.zeros((2, 2)), 20.0, 300, 0.1)
    >>> out["spike_steps"][:2], out["spike_neurons"][:2]   # neuron 0 drives neuron 1
    (array([109, 219]), array([0, 0]))
    """
    N, C = len(mu), len(J)
    x, r = np.zeros((C, N)), np.zeros(N)
    rec = {"v": [], "currents": [], "external": []}
    steps, neurons, stopped = [], [], None
    for n in range(n_steps):
        ext = mu if inputs is None else inputs(n)
        u = W @ r
        if n % every == 0:
            rec["v"].append(np.array(model.voltage(state), dtype=np.float64))
            rec["currents"].append(np.vstack([x, u[None, :]]))
            rec["external"].append(np.array(ext, dtype=np.float64))
        new_w = None if learn is None else learn(n, r, ext + x.sum(axis=0))
        if new_w is not None:
            W, u = new_w, new_w @ r
        xi = noise * rng.standard_normal(N) if noise > 0 else np.zeros(N)
        total = ext + x.sum(axis=0) + u
        state, spiked = model.step(state, total + xi, dt)
        bad = np.flatnonzero(~np.isfinite(total))
        if bad.size:  # as the kernel: the spikes of the neurons before the first bad one, then stop
            spiked, stopped = spiked & (np.arange(N) < bad[0]), ("nonfinite", n, int(bad[0]))
        fired = np.flatnonzero(spiked)
        if max_spikes is not None and len(steps) + fired.size > max_spikes:
            stopped = stopped or ("runaway", n, int(fired[max_spikes - len(steps)]))
        steps += [n] * fired.size
        neurons += list(fired)
        if stopped:
            break
        s = spiked.astype(np.float64)
        S = np.broadcast_to(s, (C + 1, N)) if delivered is None else delivered(n, s)
        for c in range(C):
            x[c] = trace_step(x[c], J[c] @ S[c], dt, tau_s[c])
        r = trace_step(r, S[C], dt, tau_p)
    return dict(rec, spike_steps=np.array(steps, dtype=np.int64),
                spike_neurons=np.array(neurons, dtype=np.int64), state=state, stopped=stopped)
