r"""Part 1's equations in plain NumPy: the ReLU rate network, its Euler step and a trial.

.. math::

    \tau \frac{d r_i}{dt} = -r_i + \phi\Big(\underbrace{\textstyle\sum_j W_{ij} r_j}_{u_i}
    + I_i^{\rm ext}(t)\Big), \qquad \phi(x) = \max(x, 0),

integrated with Euler steps of ``dt`` from ``r(0) = 0``. :func:`advance` runs Euler steps,
:func:`run_trial` a whole trial with an optional learning rule called at chosen steps. The compiled
twins are in :mod:`tutorial_lib.engine.rate_kernel`; the model (parameters, training, errors) is
:mod:`tutorial_lib.rate`.

>>> import numpy as np
>>> W = np.array([[0.0, 0.5], [0.5, 0.0]])
>>> r_rec, u_rec, r, status, step = run_trial(W, np.array([1.0, 0.0]), dt_tau=0.1, n_steps=50,
...                                           stim_on=0, stim_off=20)
>>> r_rec.shape, status, step
((50, 2), 0, 50)

References
----------
* Sussillo D, Abbott LF (2009) Generating coherent patterns of activity from chaotic neural
  networks. Neuron 63:544-557. doi:10.1016/j.neuron.2009.07.018
"""

from __future__ import annotations

import numpy as np

__all__ = ["relu", "random_presyn", "random_weights", "choose_trained", "sine_targets", "euler_step",
           "advance", "run_trial"]


def relu(x):
    r"""The activation function :math:`\phi(x) = \max(x, 0)`, elementwise (any shape, dimensionless).

    Source: the tutorial's Part 1 (SPEC); rectified-linear rate units as in Sussillo & Abbott (2009)
    doi:10.1016/j.neuron.2009.07.018 (there with tanh).

    >>> relu(np.array([-1.0, 0.5]))
    array([0. , 0.5])
    """
    return np.maximum(x, 0.0)


def random_presyn(rng: np.random.Generator, N: int, K: int) -> np.ndarray:
    r"""For each neuron, ``K`` distinct presynaptic partners other than itself, sorted: (N, K) int64.

    With ``K = N - 1`` this is all-to-all connectivity without autapses (no draw from ``rng`` then).
    Raises ValueError (from ``rng.choice``) if ``K > N - 1``. Source: the tutorial's Part 1 (SPEC).

    >>> random_presyn(np.random.default_rng(0), 3, 2).tolist()
    [[1, 2], [0, 2], [0, 1]]
    """
    presyn = np.empty((N, K), dtype=np.int64)
    for i in range(N):
        others = np.delete(np.arange(N), i)
        presyn[i] = others if K == N - 1 else np.sort(rng.choice(others, size=K, replace=False))
    return presyn


def random_weights(rng: np.random.Generator, p) -> tuple[np.ndarray, np.ndarray]:
    r"""The random recurrent network of parts 1 and 2: ``(presyn, W)``, drawn from ``rng`` in this order.

    ``presyn`` (N, K): each neuron's presynaptic partners (:func:`random_presyn`); ``W`` (N, N): zero
    but at those synapses, where :math:`W_{ij} \sim \mathcal N(0, \sigma^2)` (so the gain is
    :math:`g = \sigma \sqrt K`). ``p``: anything with ``N``, ``n_inputs`` (K) and ``sigma``
    (RateParams or SpikingParams). Source: Sompolinsky, Crisanti & Sommers (1988)
    doi:10.1103/PhysRevLett.61.259 (random networks with gain g); the tutorial's Part 1 (SPEC).

    >>> from types import SimpleNamespace
    >>> presyn, W = random_weights(np.random.default_rng(0), SimpleNamespace(N=4, n_inputs=2, sigma=1.0))
    >>> presyn.shape, int(np.count_nonzero(W)), bool(np.all(np.diag(W) == 0))
    ((4, 2), 8, True)
    """
    presyn = random_presyn(rng, p.N, p.n_inputs)
    W = np.zeros((p.N, p.N))
    rows = np.repeat(np.arange(p.N), p.n_inputs)
    W[rows, presyn.ravel()] = rng.normal(0.0, p.sigma, size=p.N * p.n_inputs)
    return presyn, W


def choose_trained(rng: np.random.Generator, p) -> np.ndarray:
    r"""The trained neurons of parts 1 and 2, sorted (int array): all of them, or ``p.n_trained`` drawn
    from ``rng`` without replacement (no draw when all are trained). ``p``: anything with ``N`` and
    ``n_trained``. Source: the tutorial's Part 1 (SPEC).

    >>> from types import SimpleNamespace
    >>> choose_trained(np.random.default_rng(0), SimpleNamespace(N=5, n_trained=5)).tolist()
    [0, 1, 2, 3, 4]
    """
    if p.n_trained == p.N:
        return np.arange(p.N)
    return np.sort(rng.choice(p.N, size=p.n_trained, replace=False))


def sine_targets(t, time_shifts, amplitude=1.0, period=100.0, offset=1.0, t_start=None):
    r"""Target ``f_i(t) = A sin(2 pi (t - t_i) / T) + offset``, shape (len(t), len(time_shifts)).

    ``time_shifts`` are the ``t_i`` (ms): a shift of ``t_i`` is a phase of ``t_i / T`` cycles
    (Part 2 draws that phase, as a fraction of a cycle, directly).

    Zero before ``t_start`` (the start of the training window), if given. ``t``, ``period`` and
    ``t_start`` in ms. Source: the tutorial's Part 1 (SPEC).

    >>> sine_targets([25.0], np.array([0.0])).tolist()
    [[2.0]]
    """
    t = np.asarray(t, dtype=np.float64)[:, None]
    f = amplitude * np.sin(2 * np.pi * (t - time_shifts[None, :]) / period) + offset
    if t_start is not None:
        f = np.where(t >= t_start, f, 0.0)
    return f


def euler_step(r, u, stim, dt_tau):
    r"""One Euler step of the rate equation :math:`\tau\, dr/dt = -r + \phi(u + I^{\rm ext})`.

    ``r`` (N,) rates now, ``u`` (N,) recurrent input ``W r`` now, ``stim`` (N,)
    external input now (0 outside the stimulus), ``dt_tau = dt / tau``.
    Returns the rates one step later: ``r + dt/tau (-r + relu(u + stim))`` (N,). Rates and inputs
    are dimensionless. Source: Sussillo & Abbott (2009) doi:10.1016/j.neuron.2009.07.018 (the
    network), forward Euler.

    >>> euler_step(np.array([0.0, 1.0]), np.array([2.0, -1.0]), 0.0, 0.1).tolist()
    [0.2, 0.9]
    """
    return r + dt_tau * (relu(u + stim) - r)


def advance(W, r, stim, stim_on, stim_off, s0, s1, dt_tau, rec_every, r_rec, u_rec, max_rate=np.inf):
    r"""Euler steps ``s0 .. s1-1`` of the rate equation, in place on ``r``; records every ``rec_every`` steps.

    At step ``s``: the recurrent input ``u = W r``; if ``s % rec_every == 0``, ``r`` and ``u`` go to
    row ``s // rec_every`` of ``r_rec`` and ``u_rec``; then one :func:`euler_step` with the stimulus
    ``stim`` (N,) on for ``stim_on <= s < stim_off``. ``W`` (N, N), ``W[i, j]`` from ``j`` to ``i``.

    Returns ``(0, s1)``, or ``(1, s)`` if a rate exceeded ``max_rate`` (or became NaN) at step ``s``
    (then ``r`` holds the rates that did); raises nothing itself. ``r_rec``, ``u_rec``: (n_rec, N).
    Compiled twin: :func:`tutorial_lib.engine.rate_kernel.advance`
    (``tests/test_rate.py::test_advance_kernel_equals_core``).

    >>> r, rec = np.zeros(2), np.zeros((5, 2))
    >>> advance(np.zeros((2, 2)), r, np.ones(2), 0, 10, 0, 10, 0.5, 2, rec, rec.copy())
    (0, 10)
    >>> round(float(r[0]), 6)  # 1 - 0.5^10: relaxing to the stimulus
    0.999023
    """
    for s in range(s0, s1):
        u = W @ r
        if s % rec_every == 0:
            r_rec[s // rec_every] = r
            u_rec[s // rec_every] = u
        r[:] = euler_step(r, u, stim if stim_on <= s < stim_off else 0.0, dt_tau)
        if not np.all(r <= max_rate):  # also catches NaN
            return 1, s
    return 0, s1


def run_trial(W, stimulus, dt_tau, n_steps, stim_on, stim_off, rec_every=1, learn_steps=(), learn=None,
              max_rate=np.inf):
    r"""One trial from ``r = 0``: ``n_steps`` Euler steps (:func:`advance`), learning at ``learn_steps``.

    Parameters
    ----------
    W : (N, N) recurrent weights; ``learn`` may change it in place.
    stimulus : (N,) external input, on for steps ``stim_on <= s < stim_off``.
    dt_tau : ``dt / tau``.
    rec_every : record ``r`` and ``u`` every this many steps.
    learn_steps, learn : at each step ``s = learn_steps[k]`` (increasing), before that step's recurrent
        input, ``learn(k, r, W)`` is called with the rates now (for example one RLS step).
    max_rate : stop when a rate exceeds it (or becomes NaN).

    Returns
    -------
    ``(r_rec, u_rec, r, status, step)``: rates and recurrent inputs every ``rec_every`` steps
    (rows after a stop are left unset), the rates at the end, and ``(status, step)`` as
    :func:`advance` returns them. Raises TypeError if ``learn_steps`` is given without ``learn``.
    Source: Sussillo & Abbott (2009) doi:10.1016/j.neuron.2009.07.018 (learning while the network
    runs). Twin: ``tutorial_lib.rate.run_trial(..., backend="numba")`` (``tests/test_rate.py::
    test_backends_agree``).

    >>> r_rec, u_rec, r, status, step = run_trial(np.zeros((2, 2)), np.ones(2), 0.5, 4, 0, 4)
    >>> r_rec[:, 0].tolist(), (status, step)
    ([0.0, 0.5, 0.75, 0.875], (0, 4))
    """
    N = W.shape[0]
    n_rec = (n_steps - 1) // rec_every + 1
    r_rec, u_rec = np.empty((n_rec, N)), np.empty((n_rec, N))
    r = np.zeros(N)
    status, step, s = 0, 0, 0
    for k, s_learn in enumerate(learn_steps):
        status, step = advance(W, r, stimulus, stim_on, stim_off, s, s_learn, dt_tau, rec_every, r_rec, u_rec,
                               max_rate)
        if status:
            break
        learn(k, r, W)
        s = s_learn
    if not status:
        status, step = advance(W, r, stimulus, stim_on, stim_off, s, n_steps, dt_tau, rec_every, r_rec, u_rec,
                               max_rate)
    return r_rec, u_rec, r, status, step
