"""The LIF transfer function (rate as a function of the mean input) and its inverse.

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
1e-13 (checked against adaptive quadrature). :func:`lif_input` inverts it
with a bracketed Newton iteration on ``log(rate)`` (a concave, increasing
function of ``mu``), started from a tabulated inverse (corrected to first
order in sigma when sigma varies) and run only on the distinct
(rate, sigma) pairs: the 2 x 101 x 1824 ALM values take about half a second
with one sigma, a few seconds with one sigma per neuron.

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

    >>> from tutorial_lib.transfer import lif_rate, lif_input
    >>> r = lif_rate([0.8, 1.0, 1.2])          # Hz, with the default noise
    >>> r.round(1).tolist()
    [26.5, 45.9, 66.3]
    >>> bool(abs(lif_input(r)[1] - 1.0) < 1e-10)
    True
"""

from __future__ import annotations

import math

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.special import dawsn, erfcx

from .params import check_real

__all__ = ["lif_rate", "lif_input", "fit_sigma", "ALM_SIGMA", "ALM_ZERO_RATE"]

#: Noise amplitude (Brunel convention, see the module docstring) that best
#: reproduces the provided ALM ``utarg`` files: the median of one fit per neuron
#: (the per-neuron values lie in [0.3066, 0.3111]).
ALM_SIGMA = 0.3092
#: The rate (Hz) the original used in place of rates of exactly 0 Hz.
ALM_ZERO_RATE = 0.1

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
def _int_erfcx(t0, t1):
    """Integral of erfcx(t) dt from t0 to t1, elementwise, for 0 <= t0 <= t1 (1-d arrays).

    Gauss-Legendre in s = log(1 + t): the integrand erfcx(t) (1 + t) is
    smooth and tends to 1/sqrt(pi), so a fixed rule is accurate on any range.
    """
    s0, s1 = np.log1p(t0), np.log1p(t1)
    half = 0.5 * (s1 - s0)
    s = (s0 + s1)[:, None] * 0.5 + half[:, None] * _GL_X[None, :]
    t = np.expm1(s)
    return half * ((erfcx(t) * (1.0 + t)) @ _GL_W)


def _log_integral(a, b):
    """log of J = sqrt(pi) * Integral_a^b erfcx(-x) dx for a < b (1-d arrays), and erfcx(-a)/J, erfcx(-b)/J.

    Returns (logJ, qa, qb) with qa = erfcx(-a) / J and qb = erfcx(-b) / J,
    both computed without overflow (needed for the derivative in mu).
    """
    n = a.size
    logj = np.empty(n)
    # negative part: x in [a, min(b, 0)], i.e. t = -x in [max(-b, 0), -a]
    neg = a < 0
    neg_part = np.zeros(n)
    if neg.any():
        neg_part[neg] = _int_erfcx(np.maximum(-b[neg], 0.0), -a[neg])
    pos = b > 0
    only_neg = ~pos
    logj[only_neg] = math.log(_SQRT_PI) + np.log(neg_part[only_neg])
    if pos.any():
        bp, ap, negp = b[pos], a[pos], neg_part[pos]
        p = np.maximum(ap, 0.0)
        # Integral_p^b erfcx(-x) dx = 2 (E(b) - E(p)) - Integral_p^b erfcx(x) dx, E(x) = exp(x^2) D(x)
        # carried as exp(b^2) * bracket
        g = _int_erfcx(p, bp)
        bracket = (2.0 * dawsn(bp) - 2.0 * np.exp((p - bp) * (p + bp)) * dawsn(p)
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
    """log(rate in Hz) and, optionally, d log(rate) / d mu; 1-d float arrays of equal size."""
    out = np.empty(mu.size)
    dout = np.empty(mu.size) if deriv else None
    for i in range(0, mu.size, _CHUNK):
        sl = slice(i, i + _CHUNK)
        m, s = mu[sl], sigma[sl]
        a = (v_reset - m) / s
        b = (theta - m) / s
        logj, qa, qb = _log_integral(a, b)
        # rate = 1000 / (tau_ref + tau * J) (ms -> Hz); log(tau_ref + tau J) = logJ + log(tau + tau_ref / J)
        frac = tau / (tau + tau_ref * np.exp(-logj))
        out[sl] = math.log(1000.0) - logj - np.log(tau + tau_ref * np.exp(-logj))
        if deriv:
            # dJ/dmu = sqrt(pi) (erfcx(-a) - erfcx(-b)) / sigma, so
            # dlog(rate)/dmu = tau sqrt(pi) (erfcx(-b) - erfcx(-a)) / (sigma (tau_ref + tau J))
            dout[sl] = _SQRT_PI * (qb - qa) / s * frac
    return out, dout


# --------------------------------------------------------------------------- public API
def lif_rate(mu, sigma=ALM_SIGMA, tau=10.0, theta=1.0, v_reset=0.0, tau_ref=0.0):
    """Stationary firing rate (Hz) of the noisy LIF neuron for mean input ``mu``.

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


def lif_input(rate_hz, sigma=ALM_SIGMA, tau=10.0, theta=1.0, v_reset=0.0, tau_ref=0.0,
              zero_rate=ALM_ZERO_RATE, tol=1e-13):
    """The mean input ``mu`` at which the noisy LIF neuron fires at ``rate_hz`` (inverse of :func:`lif_rate`).

    Parameters
    ----------
    rate_hz : float or array_like
        Firing rates in Hz, finite and >= 0 (and below ``1000 / tau_ref`` when
        there is a refractory period).
    sigma, tau, theta, v_reset, tau_ref : optional
        As in :func:`lif_rate`; ``sigma`` may be an array broadcast against
        ``rate_hz`` (e.g. one value per neuron, shape ``(n_neurons,)`` for rates
        of shape ``(time, n_neurons)``).
    zero_rate : float or None, optional
        The inverse of a rate of exactly 0 is ``-inf``; such rates are replaced
        by ``zero_rate`` (Hz, > 0) before inverting. The default 0.1 Hz is what
        the original tutorial did. ``None`` makes a zero rate an error.
        Positive rates, however small, are inverted as they are.
    tol : float, optional
        Relative tolerance on ``mu`` of the Newton iteration. Default 1e-13.

    Returns
    -------
    ndarray or float
        ``mu`` (dimensionless), same shape as the broadcast inputs.
        ``lif_rate(lif_input(r)) == r`` to about 1e-12 relative.

    Raises
    ------
    ValueError
        Negative or non-finite rates, zero rates with ``zero_rate=None``, rates
        at or above ``1000 / tau_ref``, or invalid model parameters (see
        :func:`lif_rate`). The message names the parameter and its valid range.
    """
    tau, theta, v_reset, tau_ref = _check_model(tau, theta, v_reset, tau_ref)
    rate = _check_array("rate_hz", rate_hz, lo=0.0, what="firing rate, Hz")
    sigma = _check_array("sigma", sigma, lo=0.0, lo_open=True, what="noise amplitude")
    if zero_rate is not None:
        zero_rate = check_real("zero_rate", zero_rate, lo=0.0, lo_open=True, what="Hz used for rates of 0")
    tol = check_real("tol", tol, lo=0.0, lo_open=True)
    rate_b, sig_b = np.broadcast_arrays(rate, sigma)
    shape = rate_b.shape
    r = rate_b.astype(float).ravel()
    s = sig_b.astype(float).ravel()
    if r.size == 0:
        return np.empty(shape)
    zero = r == 0
    if zero.any():
        if zero_rate is None:
            raise ValueError("rate_hz must be > 0 when zero_rate is None (the input for a rate of 0 "
                             "is -inf); pass zero_rate (Hz) to invert zero rates as that rate")
        r = np.where(zero, zero_rate, r)
    if tau_ref > 0 and r.max() >= 1000.0 / tau_ref:
        raise ValueError(f"rate_hz must be < 1000 / tau_ref = {1000.0 / tau_ref:g} Hz with tau_ref = "
                         f"{tau_ref:g} ms (got {r.max():g})")

    # distinct (rate, sigma) pairs only: recorded rates repeat a lot
    if sig_b.ndim == 0 or np.all(s == s[0]):
        keys, inverse = np.unique(r, return_inverse=True)
        ur, us = keys, np.full(keys.size, s[0])
    else:
        keys, inverse = np.unique(np.stack([r, s], axis=1), axis=0, return_inverse=True)
        ur, us = keys[:, 0], keys[:, 1]
    mu = _solve(np.log(ur), us, tau, theta, v_reset, tau_ref, tol)
    out = mu[np.ravel(inverse)].reshape(shape)
    return float(out) if out.ndim == 0 else out


def _solve(logr, sigma, tau, theta, v_reset, tau_ref, tol, max_iter=100):
    """mu with log_rate(mu, sigma) = logr, elementwise (1-d arrays): tabulated guess, safeguarded Newton."""
    mu = _initial_guess(logr, sigma, tau, theta, v_reset, tau_ref)
    lo = np.full(mu.size, -np.inf)
    hi = np.full(mu.size, np.inf)
    active = np.arange(mu.size)
    scale = (theta - v_reset)
    for _ in range(max_iter):
        m = mu[active]
        f, df = _log_rate(m, sigma[active], tau, theta, v_reset, tau_ref, deriv=True)
        f -= logr[active]
        below = f < 0
        lo[active] = np.where(below, np.maximum(lo[active], m), lo[active])
        hi[active] = np.where(below, hi[active], np.minimum(hi[active], m))
        step = -f / df
        step = np.clip(step, -2.0 * scale - 5.0 * sigma[active], 2.0 * scale + 5.0 * sigma[active])
        new = m + step
        l, h = lo[active], hi[active]
        outside = ((new < l) | (new > h) | ~np.isfinite(new)) & (f != 0)
        both = np.isfinite(l) & np.isfinite(h)
        new = np.where(outside & both, 0.5 * (l + h), new)
        new = np.where(outside & ~both & np.isfinite(l), np.maximum(new, l + abs(step)), new)
        new = np.where(outside & ~both & np.isfinite(h), np.minimum(new, h - abs(step)), new)
        mu[active] = new
        done = (np.abs(new - m) <= tol * np.maximum(1.0, np.abs(m))) | (f == 0)
        active = active[~done]
        if active.size == 0:
            return mu
    raise RuntimeError(f"lif_input: Newton iteration did not converge for {active.size} values "
                       f"(e.g. rate {math.exp(logr[active[0]]):g} Hz, sigma {sigma[active[0]]:g})")


def _initial_guess(logr, sigma, tau, theta, v_reset, tau_ref):
    """mu(log rate) from a table of lif_rate at the median sigma, widened until it covers the targets.

    For other sigma values the guess is corrected to first order with d mu / d sigma at fixed rate.
    """
    s_ref = float(np.median(sigma))
    span = theta - v_reset
    lo, hi = theta - span - 4.0 * s_ref, theta + span
    for _ in range(60):
        grid = np.linspace(lo, hi, 2001)
        table, _ = _log_rate(grid, np.full(grid.size, s_ref), tau, theta, v_reset, tau_ref)
        ok_lo = table[0] <= logr.min()
        ok_hi = table[-1] >= logr.max()
        if ok_lo and ok_hi:
            break
        if not ok_lo:
            lo -= 2.0 * (hi - lo)
        if not ok_hi:
            hi += 2.0 * (hi - lo)
    keep = np.concatenate([[True], np.diff(table) > 0])  # strictly increasing, as PCHIP needs
    table, grid = table[keep], grid[keep]
    mu = PchipInterpolator(table, grid, extrapolate=True)(logr)
    if np.any(sigma != s_ref):
        slope = _dmu_dsigma(grid, np.full(grid.size, s_ref), theta, v_reset)
        mu = mu + np.interp(logr, table, slope) * (sigma - s_ref)
    return mu


def _dmu_dsigma(mu, sigma, theta, v_reset):
    """d mu / d sigma at fixed rate (1-d arrays); tau and tau_ref cancel out."""
    out = np.empty(mu.size)
    for i in range(0, mu.size, _CHUNK):
        sl = slice(i, i + _CHUNK)
        a = (v_reset - mu[sl]) / sigma[sl]
        b = (theta - mu[sl]) / sigma[sl]
        _, qa, qb = _log_integral(a, b)
        out[sl] = -(b * qb - a * qa) / (qb - qa)
    return out


def fit_sigma(rate_hz, u, sigma0=ALM_SIGMA, tau=10.0, theta=1.0, v_reset=0.0, tau_ref=0.0,
              zero_rate=ALM_ZERO_RATE, max_iter=20, tol=1e-10):
    """One noise amplitude per neuron with which ``lif_input(rate_hz, sigma)`` fits ``u`` (least squares).

    The tool that recovered how the provided ALM targets were made: with the
    fitted sigma (one per neuron, 0.3066 to 0.3111) ``lif_input`` reproduces
    the ``utarg`` files to within 3e-6.

    Parameters
    ----------
    rate_hz : array_like, shape (..., n_neurons)
        Firing rates in Hz (>= 0), neurons along the last axis; all other
        axes (e.g. condition and time) are pooled for each neuron.
    u : array_like, same shape
        The target inputs to match (dimensionless).
    sigma0 : float, optional
        Starting value (> 0). Default :data:`ALM_SIGMA`.
    tau, theta, v_reset, tau_ref, zero_rate :
        As in :func:`lif_input`.
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
        :func:`lif_input`.
    """
    rate = _check_array("rate_hz", rate_hz, lo=0.0, what="firing rate, Hz")
    u = _check_array("u", u, what="target input")
    if rate.shape != u.shape or rate.ndim == 0:
        raise ValueError(f"rate_hz and u must be arrays of the same shape (..., n_neurons) "
                         f"(got {rate.shape} and {u.shape})")
    sigma0 = check_real("sigma0", sigma0, lo=0.0, lo_open=True, what="starting noise amplitude")
    _check_model(tau, theta, v_reset, tau_ref)
    model = dict(tau=tau, theta=theta, v_reset=v_reset, tau_ref=tau_ref)
    axes = tuple(range(rate.ndim - 1))
    sig = np.full(rate.shape[-1], sigma0)
    for _ in range(max_iter):
        mu = lif_input(rate, sig, zero_rate=zero_rate, **model)
        d = _dmu_dsigma(mu.ravel(), np.broadcast_to(sig, rate.shape).ravel(), float(theta),
                        float(v_reset)).reshape(rate.shape)
        step = -((mu - u) * d).sum(axis=axes) / (d * d).sum(axis=axes)
        new = np.clip(sig + step, 0.5 * sig, 2.0 * sig)
        done = np.all(np.abs(new - sig) <= tol * sig)
        sig = new
        if done:
            break
    return sig
