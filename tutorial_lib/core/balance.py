r"""The balance equations of Part 3's E-I network: the matrix, the balanced rates, the linear response.

A neuron of population :math:`a \in \{E, I\}` receives on average :math:`K_b J_{ab} r_b` from
population :math:`b` (:math:`K_E = K`, :math:`K_I = K N_I / N_E` inputs; :math:`r` in spikes per ms)
plus a constant input :math:`\mu_a`. With :math:`J \sim 1/\sqrt K` and :math:`\mu \sim \sqrt K` each
term is of order :math:`\sqrt K`; the net input stays of order 1 only if they cancel, which fixes the
rates for :math:`K \to \infty` whatever the neurons' transfer function (van Vreeswijk & Sompolinsky
1996). ``params`` is a :class:`~tutorial_lib.params.BalancedParams` (anything with ``K``, ``Ne``,
``Ni``, ``weights``, ``mu_e`` and ``mu_i``).

>>> from tutorial_lib.params import BalancedParams
>>> balance_rates(BalancedParams()).round(2).tolist()  # Hz, with the SPEC's numbers
[7.5, 13.5]

References
----------
* van Vreeswijk C, Sompolinsky H (1996) Chaos in neuronal networks with balanced excitatory and
  inhibitory activity. Science 274:1724-1726. doi:10.1126/science.274.5293.1724
* Brunel N (2000) Dynamics of sparsely connected networks of excitatory and inhibitory spiking
  neurons. J Comput Neurosci 8:183-208. doi:10.1023/A:1008925309027
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["balance_matrix", "balance_rates", "balance_response"]

_NEEDS = ("K", "Ne", "Ni", "weights", "mu_e", "mu_i")  # what the equations read from params


def balance_matrix(params) -> np.ndarray:
    r"""The 2 x 2 matrix of the balance equations: ``A[a, b] = K_b J_ab`` (E row/column first).

    ``K_E = K`` and ``K_I = K Ni / Ne`` are the mean numbers of E and I inputs and ``J_ab`` the
    static weights (``params.weights``). The mean recurrent input of population ``a`` is
    ``sum_b A[a, b] r_b`` with ``r`` in spikes per ms; each entry is of order ``sqrt(K)``.
    Source: van Vreeswijk & Sompolinsky (1996) doi:10.1126/science.274.5293.1724.

    >>> from tutorial_lib.params import BalancedParams
    >>> balance_matrix(BalancedParams()).shape
    (2, 2)
    """
    p = params
    w = p.weights
    KE, KI = p.K, p.K * p.Ni / p.Ne
    return np.array([[KE * w["EE"], KI * w["EI"]],
                     [KE * w["IE"], KI * w["II"]]])


def balance_rates(params) -> np.ndarray:
    r"""Mean E and I rates (Hz) of the balanced state in the limit ``K -> infinity``.

    A neuron of population ``a`` receives on average ``K_b J_ab r_b`` from
    population ``b`` (``K_E = K``, ``K_I = K Ni / Ne`` inputs; ``r`` in spikes per
    ms) plus ``mu_a``. Each term is of order ``sqrt(K)``; the net input stays of
    order 1 only if they cancel:

    .. math:: \mu_a + \sum_b K_b J_{ab} r_b = 0, \qquad a, b \in \{E, I\},

    a 2 x 2 linear system (:func:`balance_matrix`). Returns ``[r_E, r_I]`` in Hz (7.5 and 13.5
    with the SPEC's numbers). A negative entry means the parameters admit no balanced state.
    Raises numpy.linalg.LinAlgError if the matrix is singular.
    Source: van Vreeswijk & Sompolinsky (1996) doi:10.1126/science.274.5293.1724.

    >>> from tutorial_lib.params import BalancedParams
    >>> balance_rates(BalancedParams(N=1000, K=100)).round(2).tolist()  # independent of K
    [7.5, 13.5]
    """
    p = params
    mu = np.array([p.mu_e, p.mu_i])
    return 1000.0 * np.linalg.solve(balance_matrix(p), -mu)


def balance_response(params, delta_e: float = 0.0, delta_i: float = 0.0) -> np.ndarray:
    r"""Change of the mean E and I rates (Hz) when a constant input is added to every E / I cell.

    The balance equations stay linear in the inputs, so a change ``delta = (delta_e, delta_i)``
    of the constant input (same units as ``mu``) moves the balanced rates by

    .. math:: \Delta r = -A^{-1}\, \delta,

    with ``A`` the matrix of :func:`balance_matrix` (the ``K -> infinity`` limit: the finite
    network follows it up to corrections of order ``1/sqrt(K)``). With ``A_EE > 0`` and
    ``det A > 0`` (the SPEC's numbers, and lecture scale) extra drive to the I cells *lowers* the I rate:
    the paradoxical response of an inhibition-stabilised network (Tsodyks et al. 1997,
    doi:10.1523/JNEUROSCI.17-11-04382.1997; Sanzeni et al. 2020, doi:10.7554/eLife.54875).
    Returns ``[dr_E, dr_I]`` in Hz. Raises TypeError for ``params`` not a BalancedParams or a
    delta that is not a number, ValueError for a delta that is not finite.

    >>> from tutorial_lib.params import BalancedParams
    >>> dr = balance_response(BalancedParams(), delta_i=1.0)
    >>> bool(dr[1] < 0)  # more drive to I cells, fewer I spikes
    True
    """
    if not all(hasattr(params, name) for name in _NEEDS):
        raise TypeError(f"params must be a BalancedParams (got {type(params).__name__})")
    for name, x in (("delta_e", delta_e), ("delta_i", delta_i)):
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(f"{name} must be a number (the added input, units of mu; got {x!r:.60})")
    delta = np.array([float(delta_e), float(delta_i)])
    if not np.isfinite(delta).all():
        raise ValueError(f"delta_e and delta_i must be finite numbers (got {delta_e!r}, {delta_i!r})")
    return -1000.0 * np.linalg.solve(balance_matrix(params), delta)
