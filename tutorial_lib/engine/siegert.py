"""The Siegert rate and its inverse in log space: the engine's fast, accurate forms of :mod:`tutorial_lib.core.siegert`.

Part 3 trains the synaptic input of model neurons, not their spikes: each
recorded firing rate r (Hz) is turned into a target input ``u = f^-1(r)`` in
the units of the voltage equation, with ``f`` the rate of a leaky
integrate-and-fire neuron driven by a noisy input of mean ``mu``.

The model and the noise convention
----------------------------------
Between spikes the membrane potential obeys (times in ms)::

    tau dv/dt = -v + mu + sigma * sqrt(tau) * xi(t),     <xi(t) xi(t')> = delta(t - t')

with threshold ``theta`` (default 1) and reset ``v_reset`` (default 0), an
optional absolute refractory period ``tau_ref`` (default 0, as in the model
network and in the original tutorial). ``mu`` and ``sigma`` are dimensionless,
in the units of ``v``. Without threshold, ``v`` would fluctuate around ``mu``
with standard deviation ``sigma / sqrt(2)``: **sigma is the noise amplitude of
the diffusion approximation in the convention of Brunel & Hakim (1999) and
Brunel (2000)**, not the standard deviation of ``v``. In an Euler simulation
with step ``dt`` the noise increment is ``sigma * sqrt(dt / tau) * N(0, 1)``.

The mean first-passage time gives the stationary rate (Siegert 1951,
Ricciardi 1977; Brunel & Hakim 1999)::

    1 / rate = tau_ref + tau * sqrt(pi) * Integral_a^b exp(x^2) (1 + erf(x)) dx,
    a = (v_reset - mu) / sigma,   b = (theta - mu) / sigma

For ``sigma -> 0`` this tends to the deterministic LIF rate
``1 / (tau_ref + tau * ln((mu - v_reset) / (mu - theta)))`` above threshold and
to 0 below.

Numerics
--------
The core twins, :func:`tutorial_lib.core.siegert.siegert_rate` and
:func:`tutorial_lib.core.siegert.siegert_inverse`, compute the same integral by adaptive
quadrature and invert it by bracketing root finding: the definition a student reads.
``tests/test_core_siegert.py`` proves both pairs equal over the whole domain (from deep below
threshold, where the rate underflows, to far above it). The forms here are what the package runs:

``exp(x^2) (1 + erf(x)) = erfcx(-x)`` (the scaled complementary error
function of :mod:`scipy.special`). The integral is split at ``x = 0``:

* for ``x < 0`` the integrand is ``erfcx(|x|)``, bounded and smooth; it is
  integrated with a fixed Gauss-Legendre rule in ``s = log(1 + |x|)``, which
  stays accurate for limits up to ``|x| ~ 1e6`` (tiny noise);
* for ``x > 0``, ``erfcx(-x) = 2 exp(x^2) - erfcx(x)``; the growing part is
  ``2 Integral exp(x^2) dx = 2 exp(x^2) D(x)`` with Dawson's function ``D``
  (:func:`scipy.special.dawsn`), and the whole integral is carried as a
  logarithm, so deep below threshold the rate underflows gracefully to 0
  instead of overflowing.

Everything is vectorised with numpy; the relative error of the rate is about
1e-13 (checked against adaptive quadrature). Far above threshold (``mu`` up to
1e250) the width of the integration range is carried separately from its
ends, which are huge and close. :func:`siegert_inverse` inverts the rate with a
safeguarded Newton iteration on ``log(rate)`` (a concave, increasing function
of ``mu``) with a bracket per element, bisected in ``asinh((mu - theta) /
sigma)`` when Newton is slow, started from the deterministic LIF input above
the rate at threshold and from the Gaussian tail below it. Every element is
solved on its own, so its result does not depend on the rest of the array,
and the rate comes back to 1e-9 relative or better over the whole domain
(tiny rates, rates near the ceiling ``1000 / tau_ref`` where ``mu`` grows
without bound, huge rates without refractoriness; see :func:`siegert_inverse`).
Only the distinct (rate, sigma) pairs are solved: the 2 x 101 x 1824 ALM
values take under a second with one sigma, a few seconds with one sigma per
neuron.

How the original targets were computed (and the defaults)
---------------------------------------------------------
The ``utarg`` files of the CNS 2025 tutorial (Kim & Yovanno,
github.com/chrismkkim/TutorialCNS2025, ``src_part3/data_alm/``) were made
with C. Kim's earlier Julia code (a per-neuron script that includes
``ricciardi.jl`` and ``solveRicci.jl``, and a second script that keeps the
neurons with a mean rate above 1 Hz in both conditions, hence "1Hz" in the
file names). For every ALM neuron a separate job

1. simulated a fresh random balanced network and took ``ustd_exc``, the
   mean over 1000 excitatory neurons of the standard deviation of their
   synaptic input;
2. set ``sigma = ustd_exc / sqrt(tau_syn * 1.3)`` with ``tau_syn = 3`` ms
   (a factor 1.3 "calibrated manually"), ``tau = 10`` ms, threshold 1,
   reset 0, no refractory period;
3. replaced rates of exactly 0 Hz by 0.1 Hz and solved
   ``ricciardi(mu, sigma) = rate`` for mu with NLsolve, using C. van
   Vreeswijk's rational approximations of the integral above (the same
   convention for sigma as here; relative error about 1e-5).

Because each neuron's job drew its own random network, ``sigma`` differs a
little from neuron to neuron (it is shared by a neuron's lick-right and
lick-left targets). :func:`fit_sigma` recovers it: one sigma per neuron,
between 0.3066 and 0.3111 (median 0.3092, i.e. ``ustd_exc`` about 0.61),
reproduces all 2 x 101 x 1824 values of the provided files to within
2.8e-6 (mean 7e-7), the size of the rational approximation's error.
The single default ``sigma = ALM_SIGMA = 0.3092`` (that median; it also
minimises the mean and the largest error over scalar values) reproduces
``utarg`` from the rates with correlation 0.99995, mean absolute error
0.0010 and largest error 0.0047, in units where threshold - reset = 1.
The 1635 rates of exactly 0 (0.44 % of the values) are reproduced by the
default ``zero_rate = 0.1`` Hz.

Getting started::

    >>> from tutorial_lib.engine.siegert import siegert_rate, siegert_inverse
    >>> r = siegert_rate([0.8, 1.0, 1.2])          # Hz, with the default noise
    >>> r.round(1).tolist()
    [26.5, 45.9, 66.3]
    >>> bool(abs(siegert_inverse(r)[1] - 1.0) < 1e-10)
    True

References
----------
* Siegert AJF (1951) On the first passage time probability problem. Phys Rev 81:617-623.
  doi:10.1103/PhysRev.81.617
* Ricciardi LM (1977) Diffusion Processes and Related Topics in Biology. Springer.
  doi:10.1007/978-3-642-93059-1
* Brunel N, Hakim V (1999) Fast global oscillations in networks of integrate-and-fire neurons
  with low firing rates. Neural Comput 11:1621-1671. doi:10.1162/089976699300016179
* Brunel N (2000) J Comput Neurosci 8:183-208. doi:10.1023/A:1008925309027
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import dawsn, erfcx

from ..checks import check_real
from ..core.siegert import ALM_SIGMA, ALM_ZERO_RATE

__all__ = ["siegert_rate", "siegert_inverse", "fit_sigma", "SIGMA_RANGE", "RATE_MIN", "RATE_TAU_MAX"]

# ALM_SIGMA (the noise amplitude that best reproduces the provided ALM ``utarg`` files, see the module
# docstring) and ALM_ZERO_RATE are constants of the model, defined in the core.
#: The noise amplitudes :func:`siegert_inverse` accepts, in units of ``theta - v_reset``.
SIGMA_RANGE = (1e-3, 1e3)
#: The smallest rate (Hz) :func:`siegert_inverse` inverts: the smallest normal float
#: (below it a rate has too few digits for a relative round trip).
RATE_MIN = float(np.finfo(float).tiny)
#: Without refractory period, the largest ``rate_hz * tau / 1000`` (the rate in
#: units of 1 / tau) :func:`siegert_inverse` inverts; ``mu`` grows like it.
RATE_TAU_MAX = 1e250

_SQRT_PI = math.sqrt(math.pi)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(32)
_CHUNK = 1 << 15  # values per block: bounds the (values x nodes) work arrays


# --------------------------------------------------------------------------- validation
def _check_array(name, value, *, lo=None, lo_open=False, what=""):
    """Return ``value`` as a float array, or raise a ValueError naming ``name`` and its range."""
    if np.ndim(value) == 0:
        return np.asarray(check_real(name, value, lo=lo, lo_open=lo_open, what=what), dtype=float)
    label = f"{name} ({what})" if what else name
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be real numbers (got {value!r})") from None
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(f"{label} must be finite (got {a[bad].ravel()[0]!r} at index "
                         f"{tuple(int(i) for i in np.argwhere(bad)[0])})")
    if lo is not None:
        bad = a <= lo if lo_open else a < lo
        if bad.any():
            rel = ">" if lo_open else ">="
            raise ValueError(f"{label} must be {rel} {lo:g} (got {a[bad].ravel()[0]!r} at index "
                             f"{tuple(int(i) for i in np.argwhere(bad)[0])})")
    return a


def _check_model(tau, theta, v_reset, tau_ref):
    tau = check_real("tau", tau, lo=0.0, lo_open=True, what="membrane time constant, ms")
    theta = check_real("theta", theta, what="threshold")
    v_reset = check_real("v_reset", v_reset, hi=theta, hi_open=True, what="reset, below theta")
    tau_ref = check_real("tau_ref", tau_ref, lo=0.0, what="refractory period, ms")
    return tau, theta, v_reset, tau_ref


# --------------------------------------------------------------------------- the integral
def _int_erfcx(t0, d):
    """Integral of erfcx(t) dt from t0 to t0 + d, elementwise, for t0 >= 0, d >= 0 (1-d arrays).

    Core twin: ``quad(siegert_integrand, -t0 - d, -t0)`` (:mod:`tutorial_lib.core.siegert`).

    Gauss-Legendre in s = log(1 + t): the integrand erfcx(t) (1 + t) is
    smooth and tends to 1/sqrt(pi), so a fixed rule is accurate on any range.
    The width in s, log1p(d / (1 + t0)), is computed from ``d`` directly: for
    t0 >> d (far above threshold) a difference of two logarithms would lose
    all its digits.
    """
    s0 = np.log1p(t0)
    half = 0.5 * np.log1p(d / (1.0 + t0))
    s = (s0 + half)[:, None] + half[:, None] * _GL_X[None, :]
    t = np.expm1(s)
    return half * ((erfcx(t) * (1.0 + t)) @ _GL_W)


def _log_integral(a, b, w):
    """log of J = sqrt(pi) * Integral_a^b erfcx(-x) dx for a < b (1-d arrays), and erfcx(-a)/J, erfcx(-b)/J.

    Core twin: the quadrature inside :func:`tutorial_lib.core.siegert.siegert_rate`.

    ``w = b - a`` (> 0), passed in exactly: ``a`` and ``b`` may be huge and close.
    Returns (logJ, qa, qb) with qa = erfcx(-a) / J and qb = erfcx(-b) / J,
    both computed without overflow (needed for the derivative in mu).
    """
    n = a.size
    logj = np.empty(n)
    # negative part: x in [a, min(b, 0)], i.e. t = -x in [max(-b, 0), -a]
    neg = a < 0
    neg_part = np.zeros(n)
    if neg.any():
        an, bn = a[neg], b[neg]
        neg_part[neg] = _int_erfcx(np.maximum(-bn, 0.0), np.where(bn < 0, w[neg], -an))
    pos = b > 0
    only_neg = ~pos
    logj[only_neg] = math.log(_SQRT_PI) + np.log(neg_part[only_neg])
    if pos.any():
        bp, ap, negp = b[pos], a[pos], neg_part[pos]
        p = np.maximum(ap, 0.0)
        d = np.where(ap > 0, w[pos], bp)  # b - p
        # Integral_p^b erfcx(-x) dx = 2 (E(b) - E(p)) - Integral_p^b erfcx(x) dx, E(x) = exp(x^2) D(x)
        # carried as exp(b^2) * bracket
        g = _int_erfcx(p, d)
        bracket = (2.0 * dawsn(bp) - 2.0 * np.exp(-d * (p + bp)) * dawsn(p)
                   + np.exp(-bp * bp) * (negp - g))
        logj[pos] = math.log(_SQRT_PI) + bp * bp + np.log(bracket)
    return logj, _scaled_erfcx_neg(a, logj), _scaled_erfcx_neg(b, logj)


def _scaled_erfcx_neg(x, logscale):
    """erfcx(-x) * exp(-logscale) without overflow (erfcx(-x) ~ 2 exp(x^2) for large x)."""
    out = np.empty_like(x)
    small = x < 5.0
    out[small] = erfcx(-x[small]) * np.exp(-logscale[small])
    xl = x[~small]
    out[~small] = np.exp(xl * xl - logscale[~small]) * (2.0 - erfcx(xl) * np.exp(-xl * xl))
    return out


def _log_rate(mu, sigma, tau, theta, v_reset, tau_ref, deriv=False):
    """log(rate in Hz) and, optionally, d log(rate) / d mu; 1-d float arrays of equal size.

    Core twin: the log of :func:`tutorial_lib.core.siegert.siegert_rate` (``tests/test_core_siegert.py``).
    """
    out = np.empty(mu.size)
    dout = np.empty(mu.size) if deriv else None
    for i in range(0, mu.size, _CHUNK):
        sl = slice(i, i + _CHUNK)
        m, s = mu[sl], sigma[sl]
        a = (v_reset - m) / s
        b = (theta - m) / s
        logj, qa, qb = _log_integral(a, b, (theta - v_reset) / s)
        # rate = 1000 / (tau_ref + tau * J) (ms -> Hz); log(tau_ref + tau J) = logJ + log(tau + tau_ref / J)
        frac = tau / (tau + tau_ref * np.exp(-logj))
        out[sl] = math.log(1000.0) - logj - np.log(tau + tau_ref * np.exp(-logj))
        if deriv:
            # dJ/dmu = sqrt(pi) (erfcx(-a) - erfcx(-b)) / sigma, so
            # dlog(rate)/dmu = tau sqrt(pi) (erfcx(-b) - erfcx(-a)) / (sigma (tau_ref + tau J))
            dout[sl] = _SQRT_PI * (qb - qa) / s * frac
    return out, dout


# --------------------------------------------------------------------------- public API
def siegert_rate(mu, sigma=ALM_SIGMA, tau=10.0, theta=1.0, v_reset=0.0, tau_ref=0.0):
    """The Siegert rate: the stationary firing rate (Hz) of the noisy LIF neuron for mean input ``mu``.

    Core twin: :func:`tutorial_lib.core.siegert.siegert_rate` (quadrature, one value at a time; same
    arguments and meaning), equal to 1e-6 relative wherever the rate is above 1e-300 Hz
    (``tests/test_core_siegert.py::test_engine_rate_equals_core_quadrature_over_the_domain``).

    Parameters
    ----------
    mu : float or array_like
        Mean input, dimensionless (units of ``v``; threshold ``theta``).
    sigma : float or array_like, optional
        Noise amplitude, > 0, in the convention
        ``tau dv/dt = -v + mu + sigma sqrt(tau) xi`` (the free membrane potential
        has standard deviation ``sigma / sqrt(2)``). Broadcast against ``mu``.
        Default :data:`ALM_SIGMA`, the value that reproduces the ALM targets.
    tau : float, optional
        Membrane time constant in ms (> 0). Default 10.
    theta, v_reset : float, optional
        Threshold and reset (``v_reset < theta``). Defaults 1 and 0.
    tau_ref : float, optional
        Absolute refractory period in ms (>= 0). Default 0.

    Returns
    -------
    ndarray or float
        Rate in Hz, same shape as the broadcast inputs (a float for scalars).
        Increasing in ``mu``; underflows to 0 far below threshold.

    Raises
    ------
    ValueError
        Non-finite ``mu``; ``sigma <= 0``; ``tau <= 0``; ``v_reset >= theta``;
        ``tau_ref < 0``. The message names the parameter and its valid range.
    """
    tau, theta, v_reset, tau_ref = _check_model(tau, theta, v_reset, tau_ref)
    mu = _check_array("mu", mu, what="mean input")
    sigma = _check_array("sigma", sigma, lo=0.0, lo_open=True, what="noise amplitude")
    mu_b, sig_b = np.broadcast_arrays(mu, sigma)
    shape = mu_b.shape
    logr, _ = _log_rate(mu_b.ravel().astype(float), sig_b.ravel().astype(float), tau, theta, v_reset, tau_ref)
    rate = np.exp(logr).reshape(shape)
    return float(rate) if rate.ndim == 0 else rate


def siegert_inverse(rate_hz, sigma=ALM_SIGMA, tau=10.0, theta=1.0, v_reset=0.0, tau_ref=0.0,
              zero_rate=ALM_ZERO_RATE, tol=1e-13):
    """The inverse Siegert rate: the mean input ``mu`` at which the noisy LIF neuron fires at ``rate_hz``.

    Core twin: :func:`tutorial_lib.core.siegert.siegert_inverse` (brentq, one value at a time)
    (``tests/test_core_siegert.py::test_inverse_round_trip_and_engine_equals_core``).

    The domain: every rate with ``RATE_MIN <= rate_hz < 1000 / tau_ref`` (Hz, ``tau_ref`` in ms),
    and without refractory period every rate with ``rate_hz * tau / 1000 <= RATE_TAU_MAX`` (1e250:
    ``mu`` grows like the rate and must stay a float); ``sigma`` in ``SIGMA_RANGE`` times
    ``theta - v_reset`` (1e-3 to 1e3). Each element is solved on its own (independent of the rest of the array) and
    ``siegert_rate(siegert_inverse(r)) == r`` to 1e-9 relative or better (typically 1e-14)
    over the whole domain, up to the ceiling ``1000 / tau_ref`` (where ``mu`` grows without bound).

    Parameters
    ----------
    rate_hz : float or array_like
        Firing rates in Hz, finite and >= 0 (rates of 0 are replaced by
        ``zero_rate``; positive rates must lie in the domain above).
    sigma, tau, theta, v_reset, tau_ref : optional
        As in :func:`siegert_rate`; ``sigma`` may be an array broadcast against
        ``rate_hz`` (e.g. one value per neuron, shape ``(n_neurons,)`` for rates
        of shape ``(time, n_neurons)``), each value in
        ``[1e-3, 1e3] * (theta - v_reset)``.
    zero_rate : float or None, optional
        The inverse of a rate of exactly 0 is ``-inf``; such rates are replaced by ``zero_rate``
        (Hz, in the domain) before inverting, 0.1 Hz by default as in the original tutorial.
        ``None`` makes a zero rate an error. Positive rates, however small, are inverted as they are.
    tol : float, optional
        Tolerance on the relative error of the rate, ``|log(siegert_rate(mu) / rate)|`` (0 < tol <=
        1e-9; default 1e-13); the iteration also stops when ``mu`` cannot change by less than a few ulp.

    Returns
    -------
    ndarray or float
        ``mu`` (dimensionless), same shape as the broadcast inputs (a float for scalars).

    Raises
    ------
    ValueError
        Negative or non-finite rates, zero rates with ``zero_rate=None``, rates
        outside the domain (at or above ``1000 / tau_ref``, below ``RATE_MIN``,
        above ``RATE_TAU_MAX * 1000 / tau``), ``sigma`` outside its range, or
        invalid model parameters (see :func:`siegert_rate`). The message names the
        parameter, the offending value with its index, and the valid range.
    RuntimeError
        If an element fails to converge (not seen in the domain); the message
        names its index, rate and sigma.
    """
    rate, sigma, tau, theta, v_reset, tau_ref, zero_rate, tol = _check_inverse(
        rate_hz, sigma, tau, theta, v_reset, tau_ref, zero_rate, tol)
    rate_b, sig_b = np.broadcast_arrays(rate, sigma)
    shape = rate_b.shape
    r = rate_b.astype(float).ravel()
    s = sig_b.astype(float).ravel()
    if r.size == 0:
        return np.empty(shape)
    if zero_rate is not None:
        r = np.where(r == 0, zero_rate, r)
    return _solve_distinct(r, s, sig_b.ndim, shape, tau, theta, v_reset, tau_ref, tol)


def _check_inverse(rate_hz, sigma, tau, theta, v_reset, tau_ref, zero_rate, tol):
    """The arguments of :func:`siegert_inverse`, checked: ``(rate, sigma, tau, theta, v_reset, tau_ref,
    zero_rate, tol)`` with ``rate`` and ``sigma`` float arrays; a ValueError names any bad one."""
    tau, theta, v_reset, tau_ref = _check_model(tau, theta, v_reset, tau_ref)
    rate = _check_array("rate_hz", rate_hz, lo=0.0, what="firing rate, Hz")
    sigma = _check_array("sigma", sigma, lo=0.0, lo_open=True, what="noise amplitude")
    span = theta - v_reset
    s_lo, s_hi = SIGMA_RANGE[0] * span, SIGMA_RANGE[1] * span
    _check_range("sigma", sigma, s_lo, s_hi, f"[{s_lo:g}, {s_hi:g}] = [{SIGMA_RANGE[0]:g}, "
                 f"{SIGMA_RANGE[1]:g}] * (theta - v_reset): noise amplitude")
    if tau_ref > 0:
        r_hi, hi_open = 1000.0 / tau_ref, True
        domain = (f"[{RATE_MIN:g}, {r_hi:g}) Hz: firing rate, below 1000 / tau_ref = {r_hi:g} Hz "
                  f"with tau_ref = {tau_ref:g} ms")
    else:
        r_hi, hi_open = RATE_TAU_MAX * 1000.0 / tau, False
        domain = f"[{RATE_MIN:g}, {r_hi:g}] Hz: firing rate (RATE_TAU_MAX * 1000 / tau)"
    if zero_rate is not None:
        zero_rate = check_real("zero_rate", zero_rate, lo=0.0, lo_open=True, what="Hz used for rates of 0")
        _check_range("zero_rate", np.asarray(zero_rate), RATE_MIN, r_hi, domain, hi_open)
    tol = check_real("tol", tol, lo=0.0, hi=1e-9, lo_open=True)
    if zero_rate is None and np.any(rate == 0):
        raise ValueError("rate_hz must be > 0 when zero_rate is None (the input for a rate of 0 "
                         "is -inf); pass zero_rate (Hz) to invert zero rates as that rate")
    _check_range("rate_hz", np.where(rate == 0, RATE_MIN, rate), RATE_MIN, r_hi, domain, hi_open)
    return rate, sigma, tau, theta, v_reset, tau_ref, zero_rate, tol


def _solve_distinct(r, s, sig_ndim, shape, tau, theta, v_reset, tau_ref, tol):
    """:func:`siegert_inverse` of the flat rates ``r`` and noise levels ``s`` (``sig_ndim``: the
    dimensions of the broadcast sigma), each distinct pair solved once; reshaped to ``shape``."""
    # distinct (rate, sigma) pairs only: recorded rates repeat a lot (each pair is solved on its own)
    if sig_ndim == 0 or np.all(s == s[0]):
        keys, first, inverse = np.unique(r, return_index=True, return_inverse=True)
        ur, us = keys, np.full(keys.size, s[0])
    else:
        keys, first, inverse = np.unique(np.stack([r, s], axis=1), axis=0, return_index=True,
                                         return_inverse=True)
        ur, us = keys[:, 0], keys[:, 1]
    mu, failed = _solve(ur, us, tau, theta, v_reset, tau_ref, tol)
    if failed.size:
        k = int(failed[np.argmin(first[failed])])  # the first in the array's order
        where = tuple(int(i) for i in np.unravel_index(first[k], shape))
        raise RuntimeError(f"siegert_inverse did not converge for {failed.size} value(s): first rate_hz "
                           f"{float(ur[k])!r} at index {where}, sigma {float(us[k])!r} (tau = {tau:g} ms, tau_ref = "
                           f"{tau_ref:g} ms)")
    out = mu[np.ravel(inverse)].reshape(shape)
    return float(out) if out.ndim == 0 else out


def _check_range(name, a, lo, hi, domain, hi_open=False):
    """Raise a ValueError naming ``name``, the first value outside [lo, hi] (or [lo, hi)), its index and ``domain``."""
    bad = (a < lo) | ((a >= hi) if hi_open else (a > hi))
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0]) if np.ndim(a) else ()
        value = float(a[bad].ravel()[0]) if np.ndim(a) else float(a)
        at = f" at index {where}" if np.ndim(a) else ""
        raise ValueError(f"{name} must be in {domain} (got {value!r}{at})")


def _solve(rate, sigma, tau, theta, v_reset, tau_ref, tol, max_iter=200):
    """mu with siegert_rate(mu, sigma) = rate, each element on its own (1-d arrays). Returns (mu, failed indices).

    Core twin: :func:`tutorial_lib.core.siegert.siegert_inverse` (``tests/test_core_siegert.py``).

    Safeguarded Newton on f(mu) = log(rate(mu)) - log(rate), increasing and
    concave in mu, with a bracket [lo, hi] per element:

    1. f at the threshold, then at a first guess: the deterministic LIF input
       ``theta + span / expm1(T / tau)`` (``T = 1000 / rate - tau_ref``, the
       free inter-spike interval) or a Newton step from the threshold, whichever
       is larger, above the threshold's rate, and ``theta - sigma
       sqrt(f(theta))`` (the Gaussian tail) below it;
    2. Newton steps; a step that leaves the bracket or shrinks too slowly is
       replaced by bisection in ``z = asinh((mu - theta) / sigma)``, which halves
       a bracket of any size (``mu`` of 1e250 or near the threshold) in the
       same number of steps; while one side of the bracket is still open, a step
       that would leave it goes a growing distance outwards instead.

    Each element stops when ``|f| <= tol``, or its bracket shrinks to a few
    units in the last place of ``mu``.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _solve_loop(rate, sigma, tau, theta, v_reset, tau_ref, tol, max_iter)


def _solve_loop(rate, sigma, tau, theta, v_reset, tau_ref, tol, max_iter):
    n = rate.size
    span = theta - v_reset
    logr = np.log(rate)
    x = np.full(n, float(theta))
    mu = np.full(n, np.nan)
    lo, hi = np.full(n, -np.inf), np.full(n, np.inf)
    flo, fhi = np.full(n, -np.inf), np.full(n, np.inf)
    step_old, step = np.full(n, np.inf), np.full(n, np.inf)
    reach = np.maximum(span, 5.0 * sigma)  # outward steps while the bracket is open on one side
    active = np.arange(n)
    for it in range(max_iter):
        A = active
        xa, sa = x[A], sigma[A]
        f, df = _log_rate(xa, sa, tau, theta, v_reset, tau_ref, deriv=True)
        f = f - logr[A]
        below = f < 0
        lo[A] = np.where(below, xa, lo[A])
        flo[A] = np.where(below, f, flo[A])
        hi[A] = np.where(below, hi[A], xa)
        fhi[A] = np.where(below, fhi[A], f)
        la, ha = lo[A], hi[A]
        ulp = np.spacing(np.maximum(np.abs(la), np.abs(ha)))
        converged = np.abs(f) <= tol
        collapsed = ~converged & (ha - la <= 4.0 * ulp)
        mu[A[converged]] = xa[converged]
        best = np.where(-flo[A] < fhi[A], la, ha)
        mu[A[collapsed]] = best[collapsed]
        if it == 0:  # the first guess, from the threshold
            interval = 1000.0 * np.exp(-logr[A]) - tau_ref  # ms between spikes, minus refractoriness
            above = np.clip(interval / tau, 1e-300, 700.0)
            new = np.where(below, np.maximum(theta + span / np.expm1(above), theta - f / df),
                           theta - sa * np.sqrt(np.maximum(f, 0.0)))
        else:
            new = xa - f / df
            both = np.isfinite(la) & np.isfinite(ha)
            ok = np.isfinite(new) & (new > la) & (new < ha)
            slow = np.abs(new - xa) > 0.5 * np.abs(step_old[A])
            za = np.arcsinh((la - theta) / sa)
            zb = np.arcsinh((ha - theta) / sa)
            mid = theta + sa * np.sinh(0.5 * (za + zb))
            mid = np.where((mid > la) & (mid < ha), mid, 0.5 * (la + ha))
            new = np.where(both & (~ok | slow), mid, new)
            out_lo = ~both & np.isfinite(la) & ~ok  # open above: go up
            out_hi = ~both & np.isfinite(ha) & ~ok  # open below: go down
            r_a = reach[A]
            new = np.where(out_lo, la + r_a, np.where(out_hi, ha - r_a, new))
            reach[A] = np.where(out_lo | out_hi, 4.0 * r_a, r_a)
        step_old[A] = step[A]
        step[A] = new - xa
        x[A] = new
        # a Newton step below a few ulp cannot improve mu any further
        tiny = ~converged & ~collapsed & (it > 0) & (np.abs(new - xa) <= 2.0 * np.spacing(np.abs(xa)))
        mu[A[tiny]] = new[tiny]
        active = A[~(converged | collapsed | tiny)]
        if active.size == 0:
            break
    return mu, active


def _dmu_dsigma(mu, sigma, theta, v_reset):
    """d mu / d sigma at fixed rate (1-d arrays); tau and tau_ref cancel out."""
    out = np.empty(mu.size)
    for i in range(0, mu.size, _CHUNK):
        sl = slice(i, i + _CHUNK)
        a = (v_reset - mu[sl]) / sigma[sl]
        b = (theta - mu[sl]) / sigma[sl]
        _, qa, qb = _log_integral(a, b, (theta - v_reset) / sigma[sl])
        out[sl] = -(b * qb - a * qa) / (qb - qa)
    return out


def fit_sigma(rate_hz, u, sigma0=ALM_SIGMA, tau=10.0, theta=1.0, v_reset=0.0, tau_ref=0.0,
              zero_rate=ALM_ZERO_RATE, max_iter=20, tol=1e-10):
    """One noise amplitude per neuron with which ``siegert_inverse(rate_hz, sigma)`` fits ``u`` (least squares).

    The tool that recovered how the provided ALM targets were made: with the fitted sigma (one per
    neuron, 0.3066 to 0.3111) ``siegert_inverse`` reproduces the ``utarg`` files to within 3e-6.
    No core twin: a fitting tool built on :func:`siegert_inverse` (tested in ``tests/test_transfer.py``).

    Parameters
    ----------
    rate_hz : array_like, shape (..., n_neurons)
        Firing rates in Hz (>= 0), neurons along the last axis; all other
        axes (e.g. condition and time) are pooled for each neuron.
    u : array_like, same shape
        The target inputs to match (dimensionless).
    sigma0 : float, optional
        Starting value, in ``SIGMA_RANGE * (theta - v_reset)``. Default :data:`ALM_SIGMA`.
        The fitted values stay in that range too.
    tau, theta, v_reset, tau_ref, zero_rate :
        As in :func:`siegert_inverse`.
    max_iter : int, optional
        Gauss-Newton iterations at most. Default 20.
    tol : float, optional
        Stop when every sigma changes by less than ``tol * sigma``.

    Returns
    -------
    ndarray, shape (n_neurons,)
        The fitted sigma of each neuron (Brunel convention, see the module docstring).

    Raises
    ------
    ValueError
        Shapes that differ, non-finite ``u``, or the invalid values listed in
        :func:`siegert_inverse`.
    """
    rate = _check_array("rate_hz", rate_hz, lo=0.0, what="firing rate, Hz")
    u = _check_array("u", u, what="target input")
    if rate.shape != u.shape or rate.ndim == 0:
        raise ValueError(f"rate_hz and u must be arrays of the same shape (..., n_neurons) "
                         f"(got {rate.shape} and {u.shape})")
    _check_model(tau, theta, v_reset, tau_ref)
    span = float(theta) - float(v_reset)
    s_lo, s_hi = SIGMA_RANGE[0] * span, SIGMA_RANGE[1] * span
    sigma0 = check_real("sigma0", sigma0, lo=s_lo, hi=s_hi,
                        what="starting noise amplitude, in SIGMA_RANGE * (theta - v_reset)")
    model = dict(tau=tau, theta=theta, v_reset=v_reset, tau_ref=tau_ref)
    axes = tuple(range(rate.ndim - 1))
    sig = np.full(rate.shape[-1], sigma0)
    for _ in range(max_iter):
        mu = siegert_inverse(rate, sig, zero_rate=zero_rate, **model)
        d = _dmu_dsigma(mu.ravel(), np.broadcast_to(sig, rate.shape).ravel(), float(theta),
                        float(v_reset)).reshape(rate.shape)
        step = -((mu - u) * d).sum(axis=axes) / (d * d).sum(axis=axes)
        new = np.clip(np.clip(sig + step, 0.5 * sig, 2.0 * sig), s_lo, s_hi)  # stays where siegert_inverse works
        done = np.all(np.abs(new - sig) <= tol * sig)
        sig = new
        if done:
            break
    return sig
