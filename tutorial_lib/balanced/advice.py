"""Part 3: what to change when the balanced network's activity fails (:func:`advice`).

Every :class:`~tutorial_lib.training.DivergenceError` of Part 3 gets its advice here, from the
error's data (kind, phase, loop, condition, time) and the parameter values, never from its text.
"""

from __future__ import annotations

from dataclasses import replace

from ..params import BalancedParams
from ..training import advise
from ..errors import Advice, DivergenceError

__all__ = ["advice"]

#: (parameter, what undoes the failure, named even if unchanged, label)
_SILENT = (("g", "raise", True, None), ("K", "raise", True, None), ("tau_m", "lower", False, None),
           ("tau_syn", "lower", False, None), ("train_duration", "raise", False, None))
#: (wpscale_factor and inh_weight_ratio size the initial plastic weights, je sqrt(K) / wpscale and that
#: times the ratio: a small wpscale_factor or a large ratio makes them strong before RLS acts)
_RUNAWAY = (("g", "lower", True, None), ("K", "lower", False, None), ("max_rate", "raise", False, None),
            ("stim_amplitude", "lower", False, None), ("ffwd_rate", "lower", False, None),
            ("wpscale_factor", "raise", False, None), ("inh_weight_ratio", "lower", False, None))
_RLS = (("lam_rec", "raise", True, "lambda"), ("mu_rs", "raise", True, None),
        ("lam_ff", "raise", True, None), ("inh_weight_ratio", "raise", False, None),
        ("L", "lower", False, None), ("n_trained", "lower", False, None))


def advice(err: DivergenceError, params: BalancedParams | None = None,
           reference: BalancedParams | None = None) -> Advice:
    """What to change after ``err`` in Part 3: the parameters that most plausibly caused it.

    The rule, from the error's data:

    * ``kind="silent"`` (no I neuron fired in the static run): the external input and the
      coupling are too weak: raise ``g`` or ``K`` (the external input grows with ``g sqrt(K)``);
      or give ``inh_weight_ratio`` a value, so that no I rate needs measuring;
    * a runaway (or non-finite input) before RLS acted (the static run, an untrained network,
      or the first lick-right trial before the training window): the network itself: lower ``g``;
    * after RLS acted: it changed the weights too much: raise ``lam_rec``, ``mu_rs`` or
      ``lam_ff``; ``g`` is named too (a network close to running away is easily pushed over).

    Any parameter far from its ``reference`` value (default: the defaults; a dashboard passes the
    values it started from) in the direction that causes this failure is named first (e.g.
    ``K = 10`` for a silent network, ``K = 999``, ``g = 3``, a small ``wpscale_factor`` or a large
    ``inh_weight_ratio`` (strong initial plastic weights) for a runaway). ``params`` default
    ``err.params``. See :func:`~tutorial_lib.training.advise`.
    """
    p = err.params if params is None else params
    if err.kind == "silent":
        why = "The external input (~ g sqrt(K)) and the coupling are too weak for the I neurons to fire."
        said = advise(p, _SILENT, reference=reference, why=why)
        return replace(said, text=said.text + " Or give inh_weight_ratio a value: None measures the I rate, "
                       "which needs I spikes.")
    # RLS acted: a test of a trained network, a later loop, the lick-left trial, or the training window
    rls_acted = err.phase == "test" or (err.phase == "learning" and (
        bool(err.loop) or err.condition not in (None, "right") or err.t_ms > p.stim_off))
    if not rls_acted:
        why = "The network's own activity ran away (no RLS yet)."
        return advise(p, _RUNAWAY, reference=reference, why=why)
    why = ("RLS changed the weights too much (larger penalties make each update change them less); a network "
           "close to running away (rates that climb within a trial) is easily pushed over.")
    return advise(p, _RLS[:3] + _RUNAWAY[:1] + _RLS[3:] + _RUNAWAY[1:], reference=reference, why=why)
