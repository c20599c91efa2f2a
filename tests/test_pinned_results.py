"""Same seeds, same results, across refactors: digests of what each part computes, pinned.

The digests were taken before the library was reorganised (Part 3 split into a package,
names made consistent) and must not change with code that only moves or renames things.
A change of the numbers on purpose (a fixed bug, a new default) updates them here, in the
same commit, with its reason in the message. Floats are rounded to 9 significant digits
before hashing, so a different summation order in the last bit does not count; spikes are
hashed exactly.
"""

import hashlib

import numpy as np
import pytest

from tutorial_lib import BalancedParams, RateParams, SpikingParams, balanced, rate, spiking_net
from tutorial_lib.data import synthetic_alm


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind == "f":
            a = np.array([float(f"{x:.9g}") for x in a.ravel()])
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def part1():
    res = rate.train(RateParams(N=40, n_loops=2, seed=3), progress=False)
    return _digest(res.network.W, res.scores, res.last.u)


def part2():
    res = spiking_net.train(SpikingParams(N=40, n_loops=2, seed=3, train_duration=400.0), progress=False)
    return _digest(res.network.W, res.scores, res.last.spike_times, res.last.spike_neurons)


def part3():
    p = BalancedParams(N=300, K=30, L=5, n_trained=20, stim_on=100.0, stim_off=200.0, train_duration=400.0,
                       n_loops=2, score_every=1, n_test_trials=2, n_ffwd=10, seed=4)
    res = balanced.train(p, data=synthetic_alm(n_neurons=60, seed=1), progress=False)
    tr = res.last.trials["left"]
    return _digest(res.network.w, res.scores, res.test_scores, res.test_scores_avg, tr.spike_times,
                   tr.spike_neurons, tr.binned)


PINNED = {part1: "a8a06d15a800b4c1", part2: "4a2ad597bb656e36", part3: "5421c265b1310199"}


@pytest.mark.parametrize("run", list(PINNED), ids=lambda f: f.__name__)
def test_results_are_the_pinned_ones(run):
    assert run() == PINNED[run]
