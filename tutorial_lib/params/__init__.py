"""Model parameters, as frozen dataclasses validated in one place.

The package: :mod:`.fields` (field metadata, physical bounds, the validated base class
:class:`Validated`), :mod:`.rate` (Parts 1 and 2: :class:`RateParams`, :class:`SpikingParams`),
:mod:`.balanced` (Part 3: :class:`BalancedParams`). The classes, the field helpers and the bound
constants are importable from ``tutorial_lib.params`` itself.

Every model in the tutorial takes its numbers from one of these classes. They
are frozen, so a set of parameters can be shared, compared and copied safely;
change one value with :func:`dataclasses.replace`::

    >>> from dataclasses import replace
    >>> p = RateParams()                  # the SPEC defaults of Part 1
    >>> q = replace(p, sigma=0.15)        # the same network, stronger weights
    >>> q.g                               # the gain sigma * sqrt(N)
    1.5

Invalid values raise :class:`ValueError` at construction time, with a message
that names the parameter and its valid range, e.g.
``ValueError: sigma (weight scale) must be > 0; it must be in (0, 1e+06] (got -0.1)``. Times are in
milliseconds.

Rules every class follows (one helper each, so they cannot drift apart):

* Each field's range, unit, help text and dashboard slider are its metadata
  (:func:`param`, ``dataclasses.fields(cls)[i].metadata``), read alike by the
  validation (:func:`check_field`), the command line's ``--help`` and the
  dashboards' sliders. Ranges that depend on other fields (``K <= N - 1``,
  ``L + 1 <= n_trained <= Ne``, ``dt <= tau / 5``, ...) are stated once, in each
  class's ``_dependent_bounds``; :meth:`Validated.field_range` gives a field's
  valid range given the others (the dashboards move their sliders' bounds to it).
* Every number has a physical range in its metadata, upper bounds included: times
  (``dt`` in [:data:`DT_MIN`, :data:`DT_MAX`], every other time at most :data:`TIME_MAX`),
  amplitudes and noises (:data:`AMPLITUDE_MAX`), rates in Hz (:data:`SPIKE_RATE_MAX`), the
  weight scales sigma and g (:data:`WEIGHT_SCALE_MAX`), the RLS penalties
  ([:data:`PENALTY_MIN`, :data:`PENALTY_MAX`]); each constant says why. A value beyond one
  (``1e308``, ``1e-320``) is refused by its name before anything is built, instead of
  overflowing later where the error would blame another parameter.
* Whole-number fields (:func:`check_int`): ``True``/``False`` are refused; a
  float with an integral value is accepted as that integer (``2.0`` is ``2``,
  so ``1e3`` from a JSON file works); ``2.5``, NaN and infinity are refused.
* A count derived from a fraction (the trained neurons ``train_fraction N``,
  the E population ``frac_exc N``, the out-degree ``N K / Ne``) is rounded to the
  nearest integer, halves up (:func:`count_from_fraction`); every message that
  suggests a value uses the same rule, so a suggested value is accepted.
* The timeline (:meth:`Validated._check_timeline`): the stimulus ends after it
  starts; stimulus, window, learning and recording intervals are whole
  multiples of ``dt``; at least one learning step and two recorded samples fall
  inside the training window (a correlation of fewer samples means nothing);
  a trial has at most ``MAX_STEPS`` (1e8) Euler steps.
* Sizes: :func:`check_memory` estimates the bytes of the big arrays from the
  parameters (recordings, connectivity, RLS state, feedforward spikes) and
  refuses, naming the parameters of the largest, when they exceed the memory
  available. ``build_network`` and ``train`` of every part call it first.
"""


from __future__ import annotations

from .balanced import CHOICES, BalancedParams
from .fields import (AMPLITUDE_MAX, DT_MAX, DT_MIN, FFWD_TAU_MIN, LAM_REC_PER_MU_RS, PENALTY_MAX, PENALTY_MIN,
                     RATIO_MAX, SMOKE_TEST_ENV, SPIKE_RATE_MAX, STATIC_SETTLE_MS, TIME_MAX, WEIGHT_SCALE_MAX,
                     Validated, check_field, field_kind, param, smoke_test, time_names)
from .rate import RateParams, SpikingParams

__all__ = [
    "smoke_test",
    "SMOKE_TEST_ENV",
    "RateParams",
    "SpikingParams",
    "BalancedParams",
    "param",
    "field_kind",
    "check_field",
    "Validated",
    "CHOICES",
    "time_names",
    "DT_MIN",
    "DT_MAX",
    "TIME_MAX",
    "AMPLITUDE_MAX",
    "SPIKE_RATE_MAX",
    "WEIGHT_SCALE_MAX",
    "PENALTY_MIN",
    "PENALTY_MAX",
    "LAM_REC_PER_MU_RS",
    "FFWD_TAU_MIN",
    "RATIO_MAX",
    "STATIC_SETTLE_MS",
]
