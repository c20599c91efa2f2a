r"""The Siegert rate of a leaky integrate-and-fire neuron with white-noise input, and its inverse.

Between spikes the membrane potential obeys (times in ms)

.. math:: \tau \frac{dv}{dt} = -v + \mu + \sigma \sqrt{\tau}\, \xi(t), \qquad
          \langle \xi(t) \xi(t') \rangle = \delta(t - t'),

with threshold :math:`\theta` and reset :math:`v_r` (``sigma`` in the convention of Brunel 2000:
the free membrane potential has standard deviation :math:`\sigma / \sqrt 2`). The mean first-passage
time from reset to threshold gives the stationary rate (Siegert 1951; Brunel 2000):

.. math:: \frac{1}{\nu} = \tau_{\rm ref} + \tau \sqrt{\pi} \int_{(v_r - \mu)/\sigma}^{(\theta - \mu)/\sigma}
          e^{u^2} \big(1 + \operatorname{erf}(u)\big)\, du .

Here it is computed as it is written: by adaptive quadrature (:func:`scipy.integrate.quad`), and
inverted by bracketing root finding (:func:`scipy.optimize.brentq`), one value at a time. The engine's
twins (:mod:`tutorial_lib.engine.siegert`) compute the same in log space on whole arrays, accurate
where this form underflows or is slow; ``tests/test_core_siegert.py`` proves them equal.

References
----------
* Siegert AJF (1951) On the first passage time probability problem. Phys Rev 81:617-623.
  doi:10.1103/PhysRev.81.617
* Brunel N (2000) Dynamics of sparsely connected networks of excitatory and inhibitory spiking
  neurons. J Comput Neurosci 8:183-208. doi:10.1023/A:1008925309027
"""

from __future__ import annotations

import math

from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.special import erfcx

from ..checks import check_real

__all__ = ["ALM_SIGMA", "ALM_ZERO_RATE", "siegert_integrand", "siegert_rate", "siegert_inverse"]

#: The noise amplitude (Brunel's convention, units of threshold - reset) that turns the ALM recordings'
#: rates into the original's target inputs: the median of one fit per neuron (all lie in [0.3066, 0.3111];
#: :mod:`tutorial_lib.engine.siegert` documents the fit).
ALM_SIGMA = 0.3092
#: The rate (Hz) the original used in place of rates of exactly 0 Hz, which no finite input gives.
ALM_ZERO_RATE = 0.1


def siegert_integrand(u: float) -> float:
    r"""The integrand :math:`e^{u^2} (1 + \operatorname{erf}(u))`, dimensionless.

    Written as ``erfcx(-u)``, the same function (:math:`\operatorname{erfcx}(x) = e^{x^2}
    \operatorname{erfc}(x)` and :math:`\operatorname{erfc}(-u) = 1 + \operatorname{erf}(u)`), which
    neither overflows nor loses its digits for large negative ``u`` (where :math:`e^{u^2}` is huge
    and :math:`1 + \operatorname{erf}(u)` tiny). Source: Brunel (2000) doi:10.1023/A:1008925309027.

    >>> round(siegert_integrand(0.0), 12), round(math.exp(1.0) * (1 + math.erf(1.0)), 12) == round(
    ...     siegert_integrand(1.0), 12)
    (1.0, True)
    """
    return float(erfcx(-u))


def siegert_rate(mu: float, sigma: float, tau: float = 10.0, theta: float = 1.0, v_reset: float = 0.0,
                 tau_ref: float = 0.0) -> float:
    r"""The stationary firing rate (Hz) of the noisy LIF neuron for the mean input ``mu``, by quadrature.

    .. math:: \nu = \Big(\tau_{\rm ref} + \tau \sqrt{\pi} \int_a^b e^{u^2} (1 + \operatorname{erf}(u))\,
              du\Big)^{-1}, \quad a = \frac{v_r - \mu}{\sigma}, \; b = \frac{\theta - \mu}{\sigma}

    Parameters: ``mu`` mean input and ``sigma`` (> 0) noise amplitude, both in the units of ``v``;
    ``tau`` membrane time constant (ms, > 0); ``theta`` threshold and ``v_reset`` reset
    (``v_reset < theta``); ``tau_ref`` refractory period (ms, >= 0). Times in ms, hence the factor
    1000 to Hz. Returns 0.0 where the integral overflows (far below threshold, rates under ~1e-290 Hz).
    Raises ValueError, naming the argument, for values outside those ranges.
    Source: Siegert (1951) doi:10.1103/PhysRev.81.617; Brunel (2000) doi:10.1023/A:1008925309027.

    >>> round(siegert_rate(1.0, 0.3092), 1)  # at threshold, with the noise of the ALM targets
    45.9
    """
    mu = check_real("mu", mu, what="mean input")
    sigma = check_real("sigma", sigma, lo=0.0, lo_open=True, what="noise amplitude")
    tau = check_real("tau", tau, lo=0.0, lo_open=True, what="membrane time constant, ms")
    theta = check_real("theta", theta, what="threshold")
    v_reset = check_real("v_reset", v_reset, hi=theta, hi_open=True, what="reset, below theta")
    tau_ref = check_real("tau_ref", tau_ref, lo=0.0, what="refractory period, ms")
    a, b = (v_reset - mu) / sigma, (theta - mu) / sigma
    if b > 26.5:  # erfcx(-b) ~ 2 exp(b^2) overflows: the rate is below 1e-290 Hz
        return 0.0
    points = [0.0] if a < 0.0 < b else None  # where the integrand turns from ~1/|u| to exp(u^2)
    integral, _ = quad(siegert_integrand, a, b, points=points, epsabs=0.0, epsrel=1e-12, limit=200)
    return 1000.0 / (tau_ref + tau * math.sqrt(math.pi) * integral)


def siegert_inverse(rate_hz: float, sigma: float, tau: float = 10.0, theta: float = 1.0,
                    v_reset: float = 0.0, tau_ref: float = 0.0) -> float:
    r"""The mean input ``mu`` at which the noisy LIF neuron fires at ``rate_hz`` (Hz): solves
    ``siegert_rate(mu, ...) = rate_hz`` by root finding.

    The rate increases with ``mu``, so the root is bracketed first (steps outwards from the threshold,
    doubling) and then found by Brent's method to a few units in the last place of ``mu``.
    ``rate_hz`` must be > 0 (the input for a rate of 0 is :math:`-\infty`) and below ``1000 / tau_ref``
    when ``tau_ref > 0``; the other arguments as in :func:`siegert_rate`. Raises ValueError, naming
    the argument, otherwise. Source: as :func:`siegert_rate`.

    >>> mu = siegert_inverse(siegert_rate(0.8, 0.3092), 0.3092)
    >>> round(mu, 10)
    0.8
    """
    rate_hz = check_real("rate_hz", rate_hz, lo=0.0, lo_open=True, what="firing rate, Hz")
    if tau_ref > 0 and rate_hz >= 1000.0 / tau_ref:
        raise ValueError(f"rate_hz must be below 1000 / tau_ref = {1000.0 / tau_ref:g} Hz (got {rate_hz!r})")
    model = dict(sigma=sigma, tau=tau, theta=theta, v_reset=v_reset, tau_ref=tau_ref)
    gap = lambda mu: siegert_rate(mu, **model) - rate_hz  # noqa: E731 - increasing in mu
    step = max(theta - v_reset, sigma)
    lo, hi = theta - step, theta + step
    while gap(lo) > 0:
        lo, step = lo - step, 2.0 * step
    step = max(theta - v_reset, sigma)
    while gap(hi) < 0:
        hi, step = hi + step, 2.0 * step
    return brentq(gap, lo, hi, xtol=1e-300, rtol=4.0 * 2.0**-52, maxiter=500)
