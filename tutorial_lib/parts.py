r"""The registry of the tutorial's parts: one entry per part, read by every face.

:data:`PARTS` maps a part's name (``"part1"``, ...) to a :class:`Part`: its parameter class, the
model module that builds, trains and tests it, its dashboard's name in
:mod:`tutorial_lib.dashboard`, and what the command line and the sweep need to know (whether it
trains on the ALM recordings, the tiny run that warms numba's cache). The command line
(:mod:`tutorial_lib.cli`), the sweep (:mod:`tutorial_lib.sweep`) and lecture mode
(:mod:`tutorial_lib.lecture`) read it; a new part is one entry here::

    >>> from tutorial_lib.parts import CLI_PARTS, PARTS
    >>> PARTS["part2"].params.__name__, PARTS["part3"].recordings, list(CLI_PARTS)
    ('SpikingParams', True, ['part1', 'part2', 'part3'])

Deviation, written down: the model modules are named (``"tutorial_lib.rate"``) and imported when
a part is first trained (:meth:`Part.model`), not at the top of this module, so that the command
line starts (``rls-tutorial --help``, a bad flag) without loading the compiled engine (numba).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from .params import BalancedParams, RateParams, SpikingParams

__all__ = ["Part", "PARTS", "CLI_PARTS", "DASHBOARD_PAGES"]


def _tiny_recurrent(p):
    """Parts 1 and 2: a tiny run with the structure of ``p`` (all-to-all or not, all neurons trained or not)."""
    tiny = dict(N=20, n_loops=1, K=None if p.K is None else 10,
                train_fraction=1.0 if p.train_fraction == 1 else 0.5)
    if isinstance(p, SpikingParams):
        tiny.update(error_noise=1.0 if p.error_noise > 0 else 0.0, stim_on=100.0, stim_off=200.0,
                    train_duration=400.0)
    else:
        tiny.update(train_duration=100.0)
    return type(p)(**tiny)


def _tiny_balanced(p: BalancedParams) -> BalancedParams:
    """Part 3: a tiny run with the structure of ``p`` (feed-forward and its condition, precision, signs, the
    I/E ratio)."""
    return BalancedParams(N=300, K=30, L=5, n_trained=20, stim_on=100.0, stim_off=200.0,
                          train_duration=400.0, n_loops=1, score_every=1, n_test_trials=1, n_ffwd=10,
                          ffwd=p.ffwd, ffwd_condition=p.ffwd_condition, rls_precision=p.rls_precision,
                          sign_constrained=p.sign_constrained,
                          inh_weight_ratio=None if p.inh_weight_ratio is None else 6.5 / 12.0)


def _tests_recurrent(result, params) -> dict:
    """Parts 1 and 2: the score of one test trial without learning."""
    return {"test_score": float(result.test().score)}


def _tests_balanced(result, params) -> dict:
    """Part 3: the final test (``n_test_trials`` trials) and the tests during training, by loop."""
    tested = result.test(n_trials=params.n_test_trials)
    out = {"test_score": float(tested.score), "test_score_avg": float(tested.score_avg)}
    for k, s, a in zip(result.test_loops, result.test_scores, result.test_scores_avg):
        out[f"test_score_loop_{int(k)}"] = float(s)
        out[f"test_score_avg_loop_{int(k)}"] = float(a)
    return out


@dataclass(frozen=True)
class Part:
    """One part of the tutorial.

    ``name`` (``"part1"``) and ``number``; ``params`` its parameter class; ``module`` the model module
    (``train(params, *, progress, callback, ...)`` and a result with ``test``); ``dashboard`` the name
    of its dashboard function in :mod:`tutorial_lib.dashboard`; ``page`` and ``title`` its lecture page
    (``synthetic_title`` when it runs on the synthetic stand-in for the recordings); ``recordings``:
    it trains on the ALM recordings (``data=``; the CLI's ``--data``, ``--synthetic``, ``--lecture`` and
    checkpoints); ``command``: it is a subcommand of ``rls-tutorial`` and a part of a sweep;
    ``tiny(params)`` a tiny run of the same structure (warms numba's cache before a sweep's workers
    start); ``tests(result, params)`` the test scores of a trained result, as a sweep row's columns.
    """

    name: str
    number: int
    params: type
    module: str
    dashboard: str
    page: str
    title: str
    synthetic_title: str | None = None
    recordings: bool = False
    command: bool = True
    tiny: object = None
    tests: object = None

    def model(self):
        """The model module (imported on first use; see the module's header)."""
        return importlib.import_module(self.module)

    def train(self, params, **options):
        """``model.train(params, **options)``: the part's training (a result with ``scores``, ``stopped``)."""
        return self.model().train(params, **options)


#: every part, in the tutorial's order
PARTS = {p.name: p for p in (
    Part("part1", 1, RateParams, "tutorial_lib.rate", "rate_dashboard", "part1_rate_network",
         "Part 1: a rate network learns sine waves", tiny=_tiny_recurrent, tests=_tests_recurrent),
    Part("part2", 2, SpikingParams, "tutorial_lib.spiking_net", "spiking_dashboard", "part2_spiking_network",
         "Part 2: a spiking network learns sine waves", tiny=_tiny_recurrent, tests=_tests_recurrent),
    Part("part3", 3, BalancedParams, "tutorial_lib.balanced", "balanced_dashboard", "part3_balanced_network",
         "Part 3: a balanced network learns ALM recordings",
         "Part 3: a balanced network learns a SYNTHETIC stand-in for ALM recordings", recordings=True,
         tiny=_tiny_balanced, tests=_tests_balanced),
    Part("part4", 4, BalancedParams, "tutorial_lib.balanced", "perturbation_dashboard", "part4_perturbation",
         "Part 4: perturb the trained balanced network",
         "Part 4: perturb a balanced network trained on a SYNTHETIC stand-in for ALM recordings",
         recordings=True, command=False),
    Part("part5", 5, BalancedParams, "tutorial_lib.balanced", "attractor_dashboard", "part5_attractors",
         "Part 5: does the trained network hold its choice?",
         "Part 5: does a network trained on a SYNTHETIC stand-in for ALM recordings hold its choice?",
         recordings=True, command=False),
)}

#: the parts that are subcommands of ``rls-tutorial`` and of ``rls-tutorial sweep``
CLI_PARTS = {name: p for name, p in PARTS.items() if p.command}

#: the parts with a lecture page, in order
DASHBOARD_PAGES = [p for p in PARTS.values() if p.dashboard]
