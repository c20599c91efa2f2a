r"""Targets for Part 3 from your own recordings in an NWB file.

Part 3 trains a balanced network on trial-averaged firing rates of recorded
neurons in two conditions (:data:`tutorial_lib.data.CONDITIONS`: ``"right"`` and
``"left"``). :func:`load_nwb` builds those rates from an NWB 2.x file (Neurodata
Without Borders, read with pynwb) and returns an :class:`NWBData`, a subclass
of :class:`~tutorial_lib.data.ALMData`, so that the rest of Part 3
(``balanced.build_network(params, data=...)``, ``balanced.train(params, data=...)``,
the inverse transfer function, rate matching) runs unchanged.

What it reads from the file
---------------------------
* The **units** table (``nwbfile.units``, stored under ``/units``): one row per
  sorted unit, with its spike times in seconds (the ragged column
  ``spike_times``), optional per-unit columns (e.g. ``cell_type``, ``quality``)
  and, optionally, ``obs_intervals``: the time intervals (s) in which the unit
  was recorded. A unit counts for a trial only if the trial's event falls in
  one of its observation intervals (so a unit lost halfway through a session is
  averaged over the trials it was recorded in, not diluted by zeros).
* The **trials** table (``nwbfile.trials``, ``/intervals/trials``): one row per
  trial with ``start_time`` and ``stop_time`` (s) and any number of custom
  columns: the condition (e.g. the instructed lick direction), the outcome, and
  perhaps event times (e.g. the go cue, s).

DANDI dandiset 000060 (Finkelstein, Fontolan et al. 2021, ALM and vS1 during a
delayed-response task with S1 photostimulation), as far as public listings of
its files show (check your copy: ``nwbfile.trials.to_dataframe().columns``):
the trials table has ``start_time, stop_time, trial_instruction`` (``"left"``
/ ``"right"``), ``outcome`` (``"hit"``, ``"miss"``, ``"ignore"``), ``early_lick``
(``"early"`` / ``"no early"``), ``photostim_onset`` (s relative to the go cue,
``"N/A"`` without stimulation), ``photostim_power``, ``photostim_duration``,
``task``, ``task_protocol`` and ``trial_type_name``; the units table has
``spike_times``, ``obs_intervals``, ``cell_type``, ``quality``,
``spk_width_ms``, locations and waveforms. There is **no go-cue column** in its
trials table: the task events (sample, delay, go cue) are stored in
``/acquisition`` (a ``LabeledEvents`` object of the ndx-events extension).
Take the go-cue times from there and pass them as ``align_to=`` an array, one
per trial; :func:`first_event_in_trials` picks, for each trial, the first event
time inside it. The README shows the steps.

Rates
-----
For each unit and condition, the trial-averaged rate (Hz) on a 20 ms grid
(:data:`tutorial_lib.data.SAMPLE_MS`), by a kernel estimate on the spike times
themselves (no binning first): the default is a **boxcar of 300 ms**, the rate
at time ``t`` being the number of spikes in ``(t - 150, t + 150]`` ms per trial
divided by 0.3 s. That is what the ALM files of the original tutorial hold
("movingrate"): the first differences of their rates are uncorrelated except
at a lag of exactly 15 samples (300 ms), where the correlation is -0.4, the
signature of a 300 ms sliding window; and their values are multiples of
1 / (number of trials x 0.3 s). ``smoothing="gaussian"`` uses a Gaussian of
standard deviation ``smooth_ms`` instead. Spikes outside the window are used
where the kernel reaches them, so the ends of the window are not biased low.
The files were also limited to pyramidal neurons with a mean rate of at least
1 Hz ("Pyr1Hz"; their lowest mean rate is 1.004 Hz): hence ``min_rate=1.0``.

Getting started::

    >>> from tutorial_lib.nwb import load_nwb
    >>> data = load_nwb("session.nwb", condition_column="trial_instruction",
    ...                 conditions={"right": "right", "left": "left"},
    ...                 trial_filter={"outcome": "hit", "early_lick": "no early"},
    ...                 align_to="go_time", window=(-2000.0, 0.0),
    ...                 units_filter={"cell_type": "Pyr"}, min_rate=1.0)  # doctest: +SKIP
    >>> import numpy as np
    >>> from tutorial_lib.nwb import trial_averaged_rate
    >>> spikes = np.arange(0.0, 10.0, 0.1)            # a unit firing every 100 ms: 10 Hz
    >>> trial_averaged_rate(spikes, [2.02, 5.02], [-200.0, 0.0, 200.0])  # Hz, 300 ms boxcar
    array([10., 10., 10.])

pynwb is imported only when a file is read; without it, :func:`load_nwb` raises
ImportError saying how to install it (``pip install -e ".[nwb]"``).

Three modules, imported here by name: :mod:`tutorial_lib.nwb.rates` (rates from
spike times), :mod:`tutorial_lib.nwb.results` (what the loader returns and
raises) and :mod:`tutorial_lib.nwb.load` (the loader, step by step, with its
arguments in full); ``tutorial_lib.nwb`` is their public face.
"""

from .load import MAX_RATE_HZ, MAX_WINDOW_MS, load_nwb
from .rates import (GAUSS_CUT, KERNELS, MAX_KERNEL_PAIRS, MAX_TIME_S, SMOOTH_MS_RANGE, first_event_in_trials,
                    trial_averaged_rate)
from .results import NWBColumnError, NWBData, NWBSelectionError

__all__ = ["NWBData", "NWBColumnError", "NWBSelectionError", "load_nwb", "trial_averaged_rate",
           "first_event_in_trials", "KERNELS", "MAX_WINDOW_MS", "GAUSS_CUT", "MAX_TIME_S", "SMOOTH_MS_RANGE",
           "MAX_RATE_HZ", "MAX_KERNEL_PAIRS"]
