r"""Spike-train statistics: counts in windows, Fano factors, ISI CVs, choice selectivity.

The validated face of the formulas in :mod:`tutorial_lib.core.stats`: every
argument is checked here (by name, before anything is allocated), then the
core formula computes the result (the counts and the intervals through faster
forms of the core's, with the same result: ``tests/test_core_stats.py``).
Two modules, imported here by name: :mod:`tutorial_lib.stats.spikes` (counts,
Fano factors, ISI CVs) and :mod:`tutorial_lib.stats.selectivity` (d', the
selectivity test, split halves); ``tutorial_lib.stats`` is their public face.
Plain NumPy and SciPy on arrays (spike times in ms, neuron indices), so any
part can use them; nothing here knows about a network. Part 4 asks whether the
trained balanced network still looks like cortex: irregular (ISI CV near 1),
variable across trials (Fano factor near 1), and with choice selectivity
spread beyond the trained cells.

* :func:`tile_windows`: consecutive windows of one width, like the PSTH bins;
* :func:`spike_counts`: counts (windows, neurons) of one trial, windows ``(a, b]``;
* :func:`trial_counts`: the same for many trials, (trials, windows, neurons);
* :func:`fano_factor`: variance over trials / mean;
* :func:`isi_cv` and :func:`isi_cv_pooled`: the coefficient of variation of
  the interspike intervals, in one trial or pooled over trials;
* :func:`dprime`, :func:`selectivity_test`, :func:`fraction_selective`,
  :func:`split_half_agreement`: selectivity between two conditions.

PSTHs are :func:`tutorial_lib.analysis.population_psth` (not repeated here).

Conventions, once for the whole package:

* windows are closed on the right, ``a < t <= b``, the rule of
  :meth:`tutorial_lib.balanced.Trial.psth`: the engine labels a spike of the
  step ``(t - dt, t]`` with ``t``. A spike time at most 8 units in the last
  place (ulps, a relative ``1.8e-15``) above an edge counts as on it, so the
  rounding of ``k dt`` does not move a spike across an edge, and no real
  distance is ever ignored, whatever the window's width;
* inputs are refused by name, before anything is allocated: times and
  counts that are NaN, infinite or beyond ``1e15`` (:data:`MAX_TIME_MS`,
  :data:`MAX_VALUE`), neuron indices that are not integers in
  ``[0, 2**63 - 1]`` (bools, floats, unsigned values that would wrap), bad
  scalar parameters, and results larger than the memory available;
* variances are sample variances with ``ddof=1`` (divide by ``n - 1``) unless
  ``ddof`` is given; Elephant's ``fanofactor`` and ``cv`` use ``ddof=0``;
* an undefined value is NaN, never 0: a Fano factor where the mean count is 0,
  a CV with too few spikes, a d' where both conditions have zero variance.
  Average such arrays with :func:`numpy.nanmean` and report how many were NaN.

Getting started::

    >>> import numpy as np
    >>> from tutorial_lib import stats
    >>> rng = np.random.default_rng(1)
    >>> trials = []
    >>> for _ in range(200):        # 200 trials of 20 Poisson neurons at 20 Hz for 1 s
    ...     n = rng.poisson(20.0, size=20)
    ...     trials.append((rng.uniform(0, 1000, n.sum()), np.repeat(np.arange(20), n)))
    >>> counts = stats.trial_counts(trials, np.arange(20), stats.tile_windows(0, 1000, 500))
    >>> counts.shape                # (trials, windows, neurons)
    (200, 2, 20)
    >>> F = stats.fano_factor(counts)                      # (windows, neurons)
    >>> bool(abs(F.mean() - 1.0) < 0.05)
    True
"""

from .selectivity import SelectivityTest, dprime, fraction_selective, selectivity_test, split_half_agreement
from .spikes import (MAX_TIME_MS, MAX_VALUE, MAX_WINDOWS, fano_factor, isi_cv, isi_cv_pooled, spike_counts,
                     tile_windows, trial_counts)

__all__ = ["tile_windows", "spike_counts", "trial_counts", "fano_factor", "isi_cv", "isi_cv_pooled", "dprime",
           "SelectivityTest", "selectivity_test", "fraction_selective", "split_half_agreement", "MAX_TIME_MS",
           "MAX_VALUE", "MAX_WINDOWS"]
