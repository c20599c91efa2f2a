r"""Part 3: a balanced excitatory-inhibitory LIF network trained to reproduce ALM recordings.

The model (SPEC, Part 3), simulated by :mod:`tutorial_lib.engine.simulate`. ``N``
leaky integrate-and-fire neurons, ``Ne`` excitatory (indices ``0 .. Ne-1``)
and ``Ni`` inhibitory (``Ne .. N-1``):

.. math::

    \tau_m \frac{dv_i}{dt} = -v_i + \mu_i + s_i(t) + x^E_i + x^I_i + u_i,
    \qquad \tau_s \frac{dx^{E,I}_i}{dt} = -x^{E,I}_i + \sum_{j \in E, I} J_{ij} \sum_k \delta(t - t^k_j),

threshold 1, reset 0, no noise: the irregular firing comes from the balanced
dynamics (van Vreeswijk and Sompolinsky 1996; Brunel 2000).

*Static network.* Each neuron projects to ``N K / Ne`` others, drawn uniformly
without replacement (no autapses), so every neuron receives about ``K``
excitatory and ``K Ni / Ne`` inhibitory inputs. The weights are strong,
``J ~ 1/sqrt(K)`` (``je = ji = 2 tau_m g / sqrt(K)``; E->E ``0.15 je``, E->I
``je``, I->E ``-0.75 ji``, I->I ``-ji``), and so is the constant external
input, ``mu ~ sqrt(K)`` (``jx = 0.12 g sqrt(K)``, ``mu_E = 1.5 jx``, ``mu_I = jx``).
The mean E and I inputs are each of order ``sqrt(K)``; for the net input to
stay of order 1 they must cancel to leading order, which fixes the mean rates
through a *linear* equation, whatever the neurons' transfer function
(:func:`balance_rates`): about 7.5 Hz (E) and 13.5 Hz (I) with the SPEC's
numbers. A finite network fires somewhat lower (:func:`simulate_static`).

*Training.* Each recorded ALM neuron is matched to a model E neuron of similar
rate (:func:`match_rates`). That neuron gets plastic synapses on top of the
static ones: ``L`` excitatory inputs from other trained neurons, ``L``
inhibitory inputs from the I population and, optionally, all of ``n_ffwd``
feedforward Poisson neurons whose rates are slow random processes. The plastic
inputs are filtered with ``tau = 150 ms``: :math:`u_i = \sum_a w_{ia} r_a`.
Every 20 ms of the training window (1000 to 3000 ms) recursive least squares
(:func:`make_rls`: :class:`~tutorial_lib.engine.rls_shared.SharedInputRLS` with feedforward
inputs, else :class:`~tutorial_lib.engine.rls_state.BatchRLS`; run between the engine's kernel calls) moves
:math:`w_i` so that the neuron's total input

.. math:: \mu_i + x^E_i + x^I_i + u_i \quad (\text{+ the stimulus, off in the window})

follows the target input that the ALM neuron's rate implies (``utarg``, or
:func:`~tutorial_lib.engine.siegert.siegert_inverse` of the rate). The penalty matrix is
``lam_rec I + mu_rs (1_E 1_E^T + 1_I 1_I^T)`` on the recurrent block and
``lam_ff I`` on the feedforward block (:func:`penalty_matrix`): the row-sum
term keeps each neuron's summed E and summed I plastic weights near their
initial values, so learning reshapes the inputs without unbalancing the
network. A loop trains lick-right, then lick-left, each from a reset state
with its own stimulus and feedforward realisation.

*Score* (the original's): the lick-right condition without learning; each
trained neuron's total input averaged over +-50 ms windows centred on the
20 ms learning grid; its Pearson correlation with the target; the mean over
neurons. Single trials are noisy, like single recorded trials, so
:meth:`TrainResult.test` also reports the *trial-averaged* score (the same
correlation for the input averaged over several test trials that differ in
their initial voltages and Poisson inputs), the fairer comparison with the
trial-averaged recordings.

Choices where the SPEC is silent (and how the original differs)
---------------------------------------------------------------
* Time alignment: the recordings' time ``tau`` (0 to 2000 ms, every 20 ms) is
  model time ``stim_off + tau``; RLS updates at 1000, 1020, ..., 2980 ms use the
  samples 0 .. 99 (a trial ends at 3000 ms, so the last sample is unused). The
  original updated at 1020, ..., 3000 ms with the same samples, i.e. one learning
  step (20 ms) later.
* Rates for rate matching are counted after the first ``SETTLE_MS`` (200 ms)
  of the static run, skipping the onset transient (the original counted the
  whole run).
* Feedforward weights are one set per neuron shared by both conditions (exact
  RLS with one ``P``). The original kept a separate set per condition that shared
  one ``P``. The OU rate process is sampled every 1 ms (it is smoothed over
  +-50 ms, so a finer grid changes nothing) and started at its mean at stim_off, as
  in the original; the Poisson spikes are drawn afresh in every trial, from the
  fixed rate realisation of the condition.
* "Modulation" (for ``selection="modulated"``): the standard deviation of the
  neuron's target input over the training-window samples of both conditions,
  which counts both temporal modulation and choice selectivity, in the units
  that training and the score use.
* Initial plastic weights: the SPEC's I weight carries the factor 6.5 / 12, the
  E / I rate ratio of the original's initial network, so that a trained neuron's
  plastic E and I inputs cancel. That holds when the trained neurons fire like
  the E population (the original trains 73 % of it). A small, fast subset (the
  lecture's 100 most modulated neurons fire at 11 Hz) would instead excite
  itself through its plastic E synapses; ``inh_weight_ratio=None`` uses the
  measured ratio (their static rate over the I rate) instead.

Cost (2-core laptop, ``dt = 0.1 ms``; ``python -m benchmarks part3-static part3``):
the static SPEC network (5000 neurons, 5 million synapses) simulates 3 s in
about 0.3 s. A training loop at full scale (1824 trained neurons, 340 plastic
inputs each) takes under 2 s: two 3 s trials and 200 RLS updates over a 23 MB
state (:class:`~tutorial_lib.engine.rls_pooled.PooledInputRLS`; one ``P`` per neuron would be
1.7 GB); 200 loops with their tests take under 10 minutes, where the original
took two hours.
:meth:`BalancedParams.lecture` trains in about 20 s (30 loops).

The package, stage by stage of the SPEC
--------------------------------------
======================  ==============================================================
:mod:`.static`          the static network and one static run (balance equations: core.balance)
:mod:`.targets`         targets from the recordings, selection, rate matching
:mod:`.plastic`         plastic synapses, initial weights, RLS penalty, feed-forward inputs
:mod:`.network`         :class:`BalancedNetwork` and :func:`build_network`
:mod:`.trials`          one trial, test trials, the score
:mod:`.training`        :func:`train`, loop by loop
:mod:`.perturbation`    Part 4: perturbations with neurons named by population
:mod:`.saving`          :func:`save`: the file format
:mod:`.results`         :class:`TrainResult`, :class:`LoopRecord` and :func:`load`
:mod:`.streams`         the random streams, all from ``params.seed``
:mod:`.weights`         Part 4: Dale's law, effective weights, named populations
:mod:`.timing`          Part 4: spike timing or rate? replay with jitter, rate-matched Poisson
======================  ==============================================================

Every public name is importable from ``tutorial_lib.balanced`` itself.

The order of the modules, bottom to top: of the modules of ``balanced/``, each imports only those
named after it, all listed before it:

* :mod:`.streams`: none
* :mod:`.advice`: none
* :mod:`.perturbation`: none (it resolves names against a dict of populations)
* :mod:`.static`: advice, perturbation, streams
* :mod:`.targets`: streams
* :mod:`.plastic`: advice, static
* :mod:`.network`: perturbation, plastic, static, streams, targets
* :mod:`.weights`: network
* :mod:`.trials`: advice, network, streams, weights
* :mod:`.timing`: network, trials
* :mod:`.saving`: network, plastic, static
* :mod:`.results`: network, saving, trials
* :mod:`.training`: network, plastic, results, trials

References
----------
* Kim CM, Finkelstein A, Chow CC, Svoboda K, Darshan R (2023) Distributing task-related neural
  activity across a cortical network through task-independent connections. Nat Commun 14:2851.
  doi:10.1038/s41467-023-38529-y (this model, and its training on ALM recordings)
* Kim CM, Chow CC (2018) Learning recurrent dynamics in spiking networks. eLife 7:e37124.
  doi:10.7554/eLife.37124
* Finkelstein A et al. (2021) Nat Neurosci 24:843-850. doi:10.1038/s41593-021-00840-6
* van Vreeswijk C, Sompolinsky H (1996) Science 274:1724. doi:10.1126/science.274.5293.1724
* Brunel N (2000) J Comput Neurosci 8:183-208. doi:10.1023/A:1008925309027

Getting started::

    >>> from tutorial_lib import BalancedParams
    >>> from tutorial_lib import balanced
    >>> p = BalancedParams.lecture(n_loops=10)          # 100 ALM neurons, ~15 s
    >>> result = balanced.train(p)                      # doctest: +SKIP
    >>> test = result.test(n_trials=5)                  # doctest: +SKIP
    >>> test.score, test.score_avg                      # doctest: +SKIP
    >>> result.save("part3_lecture.npz")                # doctest: +SKIP
    >>> again = balanced.load("part3_lecture.npz")      # doctest: +SKIP
"""

from __future__ import annotations

from ..analysis import moving_average, window_average
from .advice import advice
from .network import N_EXAMPLES, BalancedNetwork, build_network, populations, resolve_perturbations
from .perturbation import Perturbation
from ..engine.lif_data import Replay
from .plastic import (FFWD_GRID_MS, choose_plastic_inputs, ffwd_rate_process, initial_plastic_weights,
                      make_rls, penalty_matrix, plastic_weight_ratio)
from .saving import FORMAT_VERSION, block_state, save
from ..core.balance import balance_matrix, balance_rates, balance_response
from .static import SETTLE_MS, StaticNetwork, StaticRun, simulate_static, static_network
from .targets import match_rates, modulation, modulation_of, select_alm, target_inputs, window_targets
from .timing import SpikeTimingResult, rate_matched_poisson, spike_timing_test
from .results import LoopRecord, TrainResult, load
from .training import train
from .trials import TestResult, Trial, evaluate, run_trial
from .weights import (dale_summary, effective_weights, named_populations, sign_bounds, static_pair_weights,
                      synapse_table, target_preference)

__all__ = [
    "StaticNetwork",
    "StaticRun",
    "BalancedNetwork",
    "Trial",
    "TestResult",
    "LoopRecord",
    "TrainResult",
    "balance_matrix",
    "balance_rates",
    "balance_response",
    "static_network",
    "simulate_static",
    "match_rates",
    "modulation",
    "modulation_of",
    "select_alm",
    "target_inputs",
    "window_targets",
    "choose_plastic_inputs",
    "initial_plastic_weights",
    "plastic_weight_ratio",
    "penalty_matrix",
    "make_rls",
    "ffwd_rate_process",
    "moving_average",
    "window_average",
    "build_network",
    "run_trial",
    "evaluate",
    "train",
    "save",
    "load",
    "block_state",
    "FORMAT_VERSION",
    "SETTLE_MS",
    "FFWD_GRID_MS",
    "N_EXAMPLES",
    "advice",
    "sign_bounds",
    "static_pair_weights",
    "effective_weights",
    "dale_summary",
    "target_preference",
    "named_populations",
    "synapse_table",
    "populations",
    "Perturbation",
    "resolve_perturbations",
    "SpikeTimingResult",
    "rate_matched_poisson",
    "spike_timing_test",
    "Replay",
]
