"""Hostile inputs to the runs of Parts 2 to 4: perturbations, replays, the engine, the static run, trials,
saving and loading, and the perturbation dashboard (issue 22).

Each table gives an entry point the usual hostile values (NaN, +-inf, 1e308, -0.0, empty arrays, shapes
that do not fit, text, None, ``np.uint64(2**64 - 1)``, bools, fractions, huge ints, reversed windows,
duplicate indices where they matter). The answer must be a correct result or a TypeError / ValueError
that names the parameter, raised before anything is simulated: the compiled kernel (or the trial) is
replaced by a trap that fails the test if it is reached.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from tutorial_lib import BalancedParams, balanced
from tutorial_lib.engine import simulate as engine
from tutorial_lib.balanced import trials as trials_module
from tutorial_lib.data import synthetic_alm
from tutorial_lib.dashboard import perturbation as dash
from tutorial_lib.checks import MEMORY_ENV, MemoryEstimateError
from tutorial_lib.engine.lif_data import LIFNetwork, Perturbation, PlasticSynapses, Replay, Synapses
from tutorial_lib.engine.simulate import simulate
from tutorial_lib.spiking_net import simulate_pair, simulate_single
from tutorial_lib.storage import FormatError, atomic_write, load_arrays, save_arrays

ERRORS = (ValueError, TypeError)


class Reached(Exception):
    """A simulation was reached."""


def _trap(*args, **kwargs):
    raise Reached("the simulation was reached before the bad input was refused")


@pytest.fixture
def no_kernel(monkeypatch):
    """The compiled kernel (and the NumPy reference's stepping) replaced by a trap."""
    monkeypatch.setattr(engine, "lif_kernel", _trap)
    monkeypatch.setattr(engine, "run_network", _trap)


def simulate_numpy(net, T, **kw):
    """:func:`simulate` on the NumPy backend, every neuron recorded at every step."""
    return simulate(net, T, record_every=net.dt, backend="numpy", **kw)


def _engine(external: bool = True) -> LIFNetwork:
    """Three neurons in a ring (one static channel), plastic rows on neurons 0 and 1 whose sources include
    two external ones (sources 3 and 4; without ``external``, neurons 0 and 2 instead)."""
    W = 0.5 * np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    pl = PlasticSynapses(20.0, [0, 1], [[1, 3], [2, 4]] if external else [[1, 2], [2, 0]],
                         [[0.1, 0.2], [0.3, 0.4]], n_sources=5 if external else 3)
    return LIFNetwork(mu=np.array([1.2, 1.1, 0.9]), noise=0.5,
                      static=(Synapses.from_dense(W, 5.0, "static"),), plastic=pl)


def _run(**kw):
    kw.setdefault("rng", np.random.default_rng(3))
    return simulate(_engine(), kw.pop("T", 50.0), **kw)


def _same(a, b):
    np.testing.assert_array_equal(a.spike_steps, b.spike_steps)
    np.testing.assert_array_equal(a.spike_neurons, b.spike_neurons)
    np.testing.assert_array_equal(a.v, b.v)
    np.testing.assert_array_equal(a.external, b.external)


# ---------------------------------------------------------------------------
# Indices: checked on the values given, before any conversion could wrap or cut them

BAD_INDEX = {
    "uint64-max": np.array([2**64 - 1], dtype=np.uint64),  # wrapped to -1 (the last neuron) before
    "uint64-beyond": np.array([2**63], dtype=np.uint64),
    "negative": [-1],
    "int8-negative": np.array([-1], dtype=np.int8),
    "bool-array": np.array([True, False, True]),
    "bool": True,
    "fraction": [0.5],
    "nan": [math.nan],
    "inf": [math.inf],
    "huge-int": [2**70],
    "beyond-the-network": [10**6],
    "2-D": [[0]],
    "object-mix": np.array([0, "a"], dtype=object),
    "complex": [1j],
}

_PERT_T = dict(current=1.0, start=1.0, stop=2.0)


def _mutated_perturbation(v):
    pert = Perturbation([0], **_PERT_T)
    pert.neurons = v  # a dataclass: fields can be set after the checks of __init__
    return _run(perturbations=pert)


def _mutated_replay(v):
    rep = Replay([1.0], [0], ("static",))
    rep.neurons = v
    return _run(replay=rep)


INDEX_ENTRIES = {
    "Perturbation.neurons": lambda v: _run(perturbations=Perturbation(v, **_PERT_T)),
    "Perturbation.neurons set later": _mutated_perturbation,
    "Replay.neurons": lambda v: _run(replay=Replay(np.ones(max(np.size(v), 1)), v, ("static",))),
    "Replay.neurons set later": _mutated_replay,
    "simulate(record)": lambda v: _run(record=v),
    "simulate(external sources)": lambda v: _run(external=(np.ones(max(np.size(v), 1)), v)),
    "simulate(plastic_groups)": lambda v: _run(plastic_groups=(("a", "b"), v)),
}
_NAME = {"Perturbation": "neurons", "Replay": "neurons", "simulate(record)": "record",
         "simulate(external": "external", "simulate(plastic": "plastic_groups"}


@pytest.mark.parametrize("value", list(BAD_INDEX.values()), ids=list(BAD_INDEX))
@pytest.mark.parametrize("entry", list(INDEX_ENTRIES), ids=list(INDEX_ENTRIES))
def test_engine_index_inputs_are_refused_by_name_before_the_run(no_kernel, entry, value):
    name = next(n for k, n in _NAME.items() if entry.startswith(k))
    with pytest.raises(ERRORS, match=name):
        INDEX_ENTRIES[entry](value)


_SYN_BAD = {k: v for k, v in BAD_INDEX.items() if k != "2-D"}


def _plastic(rows=(0,), presyn=((1,),)):
    presyn = np.asarray(presyn) if np.ndim(presyn) == 2 else np.reshape(np.asarray(presyn), (1, -1))
    return PlasticSynapses(5.0, rows, presyn, np.zeros(presyn.shape), n_sources=3)


SYNAPSE_ENTRIES = {  # the network's own wiring: the same check as the run's inputs (issue 22, second round)
    "Synapses.post": (lambda v: Synapses(5.0, [0, np.size(v)], v, np.ones(np.size(v))), "post"),
    "Synapses.ptr": (lambda v: Synapses(5.0, v, [], []), "ptr"),
    "Synapses.from_pairs(pre)": (lambda v: Synapses.from_pairs(v, np.zeros(np.size(v), int), np.ones(np.size(v)),
                                                               3, 5.0), "pre"),
    "Synapses.from_pairs(post)": (lambda v: Synapses.from_pairs(np.zeros(np.size(v), int), v, np.ones(np.size(v)),
                                                                3, 5.0), "post"),
    "PlasticSynapses.rows": (lambda v: _plastic(rows=v, presyn=np.ones((max(np.size(v), 1), 1), int)), "rows"),
    "PlasticSynapses.presyn": (lambda v: _plastic(presyn=v), "presyn"),
}


@pytest.mark.parametrize("value", list(_SYN_BAD.values()), ids=list(_SYN_BAD))
@pytest.mark.parametrize("entry", list(SYNAPSE_ENTRIES), ids=list(SYNAPSE_ENTRIES))
def test_synapse_indices_are_checked_before_conversion(entry, value):
    # PlasticSynapses(rows=[uint64 2**64 - 1]) became row -1 and LIFNetwork took it; Synapses(post=[0.7])
    # became target 0; from_pairs([0.9], [1.2], ...) cut both
    build, name = SYNAPSE_ENTRIES[entry]
    if entry == "PlasticSynapses.rows" and np.array_equal(value, [10**6]):
        with pytest.raises(ERRORS, match="rows among its neurons"):  # in range is the network's business
            LIFNetwork(np.zeros(3), plastic=build(value))
        return
    with pytest.raises(ERRORS, match=name):
        build(value)


def test_synapse_indices_in_range_in_any_integer_type_build_the_same_network():
    a = Synapses.from_pairs([0, 1], [1, 2], [1.0, 2.0], 3, 5.0)
    b = Synapses.from_pairs(np.array([0, 1], np.uint64), np.array([1.0, 2.0]), [1.0, 2.0], 3, 5.0)
    np.testing.assert_array_equal(a.post, b.post)
    np.testing.assert_array_equal(a.ptr, b.ptr)
    pl = _plastic(rows=np.array([2], np.uint8), presyn=np.array([[0, 1]], np.uint16))
    assert pl.rows.dtype == pl.presyn.dtype == np.int64 and pl.presyn.flags.c_contiguous


def test_uint64_max_no_longer_drives_the_last_neuron():
    """The fault as reported: 2**64 - 1 as an unsigned index was neuron -1, the last one."""
    with pytest.raises(ValueError, match="neurons"):
        Perturbation(np.array([2**64 - 1], np.uint64), 5.0, 250.0, 350.0)
    with pytest.raises(ValueError, match="neurons"):
        Replay([1.0], np.array([2**64 - 1], np.uint64))


@pytest.mark.parametrize("given, meant", [
    (np.array([1], dtype=np.uint64), [1]),  # an unsigned index in range is that index
    (np.array([1], dtype=np.int8), [1]),
    ([1.0], [1]),  # a whole float is that index, as check_int takes it
    (np.int64(1), [1]),  # one index
], ids=["uint64", "int8", "whole-float", "scalar"])
def test_index_forms_in_range_give_the_same_run(given, meant):
    want = _run(perturbations=Perturbation(meant, 0.7, 10.0, 30.0), replay=Replay([5.0], meant, ("static",)),
                record=meant)
    got = _run(perturbations=Perturbation(given, 0.7, 10.0, 30.0), replay=Replay([5.0], given, ("static",)),
               record=given)
    _same(got, want)


def test_empty_and_repeated_perturbation_indices_are_correct():
    plain = _run()
    _same(_run(perturbations=Perturbation([], 3.0, 10.0, 30.0)), plain)  # nobody perturbed: nothing changes
    # a repeated neuron gets the current once per repeat (documented)
    twice = _run(perturbations=Perturbation([1, 1], 0.25, 10.0, 30.0))
    once = _run(perturbations=Perturbation([1], 0.5, 10.0, 30.0))
    np.testing.assert_array_equal(twice.external, once.external)


# ---------------------------------------------------------------------------
# Times: finite, bounded, converted to steps without overflow

BAD_T = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "1e308": 1e308, "too-long": 1e12, "zero": 0.0,
         "-0.0": -0.0, "negative": -5.0, "off-grid": 10.05, "text": "10", "None": None, "bool": True}


@pytest.mark.parametrize("T", list(BAD_T.values()), ids=list(BAD_T))
@pytest.mark.parametrize("entry", ["simulate", "simulate_numpy", "simulate_single", "simulate_pair"])
def test_a_bad_run_length_is_refused_by_name_before_anything_runs(no_kernel, entry, T):
    with pytest.raises(ERRORS, match="T"):
        if entry == "simulate":
            _run(T=T)
        elif entry == "simulate_numpy":
            simulate_numpy(_engine(), T, rng=np.random.default_rng(0))
        elif entry == "simulate_single":
            simulate_single(T=T)
        else:
            simulate_pair(T=T)


def test_a_huge_run_is_refused_as_too_long_naming_T(no_kernel):
    with pytest.raises(ValueError, match=r"^T \(length of the run.*days"):
        _run(T=1e9)


def test_a_run_whose_record_would_not_fit_is_refused_before_allocating(no_kernel, monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "0.001")  # 1 MiB
    with pytest.raises(MemoryEstimateError, match="^T too large for memory") as info:
        _run(T=1e6, record_every=0.1)  # 1e7 steps, every one recorded
    assert "record_every" in info.value.parameters
    with pytest.raises(MemoryEstimateError, match="T"):
        simulate_numpy(_engine(), 1e5, rng=np.random.default_rng(0))


BAD_WINDOW = {
    "start-nan": dict(start=math.nan, stop=2.0), "stop-nan": dict(start=1.0, stop=math.nan),
    "start-inf": dict(start=math.inf, stop=2.0), "stop-inf": dict(start=1.0, stop=math.inf),
    "negative": dict(start=-1.0, stop=2.0), "reversed": dict(start=5.0, stop=2.0),
    "empty": dict(start=2.0, stop=2.0), "text": dict(start="1", stop=2.0), "None": dict(start=1.0, stop=None),
    "bool": dict(start=True, stop=2.0),
}


@pytest.mark.parametrize("window", list(BAD_WINDOW.values()), ids=list(BAD_WINDOW))
def test_a_bad_perturbation_window_is_refused_naming_start_or_stop(window):
    with pytest.raises(ValueError, match="start|stop"):
        Perturbation([0], 1.0, **window)


BAD_CURRENT = {"nan": math.nan, "inf": math.inf, "1e308": 1e308, "-1e308": -1e308, "text": "1",
               "text-list": ["1"], "None": None, "bool-array": np.array([True]), "2-D": [[1.0]],
               "wrong-length": [1.0, 2.0]}


@pytest.mark.parametrize("current", list(BAD_CURRENT.values()), ids=list(BAD_CURRENT))
def test_a_bad_perturbation_current_is_refused_naming_current(current):
    with pytest.raises(ERRORS, match="current"):
        Perturbation([0], current, 1.0, 2.0)


@pytest.mark.parametrize("start, stop, same_as", [
    (10.0, 1e308, (10.0, 50.0)),  # "to the end of the run", however far
    (10.0, 60.05, (10.0, 50.0)),  # past the end, off the grid: the end too
    (-0.0, 20.0, (0.0, 20.0)),
    (1e307, 1e308, None),  # starts after the run: nothing happens
], ids=["stop-1e308", "stop-past-the-end-off-grid", "start-minus-zero", "after-the-run"])
def test_far_windows_are_cut_at_the_end_of_the_run(start, stop, same_as):
    pert = Perturbation([0, 2], 0.8, start, stop)
    assert math.copysign(1.0, pert.start) == 1.0  # -0.0 is 0
    want = _run() if same_as is None else _run(perturbations=Perturbation([0, 2], 0.8, *same_as))
    _same(_run(perturbations=pert), want)
    _same(simulate_numpy(_engine(False), 50.0, rng=np.random.default_rng(3), perturbations=pert),
          simulate_numpy(_engine(False), 50.0, rng=np.random.default_rng(3),
                         perturbations=None if same_as is None else Perturbation([0, 2], 0.8, *same_as)))


BAD_STIM_WINDOW = {"nan": (math.nan, 5.0), "inf-start": (math.inf, math.inf), "reversed": (5.0, 2.0),
                   "negative": (-1.0, 2.0), "text": ("0", 5.0), "one-number": (5.0,), "None": None,
                   "off-grid": (1.05, 5.0)}


@pytest.mark.parametrize("window", list(BAD_STIM_WINDOW.values()), ids=list(BAD_STIM_WINDOW))
def test_a_bad_stimulus_window_is_refused_by_name(no_kernel, window):
    with pytest.raises(ERRORS, match="stim_window"):
        _run(stimulus=0.5, stim_window=window)


def test_a_stimulus_window_past_the_end_is_the_end():
    _same(_run(stimulus=0.5, stim_window=(10.0, 1e308)), _run(stimulus=0.5, stim_window=(10.0, 50.0)))


BAD_PER_NEURON = {"nan": math.nan, "inf": math.inf, "wrong-shape": np.zeros(5), "text": "a", "None-in-list":
                  [0.1, None, 0.2], "bool": np.array([True, False, True]), "2-D": np.zeros((3, 3))}


@pytest.mark.parametrize("value", list(BAD_PER_NEURON.values()), ids=list(BAD_PER_NEURON))
@pytest.mark.parametrize("name", ["v0", "stimulus"])
def test_bad_initial_voltages_or_stimulus_are_refused_by_name(no_kernel, name, value):
    with pytest.raises(ERRORS, match=name):
        _run(**{name: value})


@pytest.mark.parametrize("kw, name", [
    (dict(record_every=1e308), "record_every"), (dict(record_every=math.nan), "record_every"),
    (dict(record_every=0.05), "record_every"), (dict(record_every=-1.0), "record_every"),
    (dict(max_rate=math.nan), "max_rate"), (dict(max_rate=0.0), "max_rate"),
    (dict(rng=None), "rng"), (dict(rng=np.random.RandomState(0)), "rng"),
    (dict(perturbations="I"), "perturbations"), (dict(perturbations=5), "perturbations"),
    (dict(replay=([1.0], [0])), "replay"), (dict(external=np.ones(3)), "external"),
    (dict(external=([1.05], [3])), "external"), (dict(external=([math.nan], [3])), "external"),
    (dict(external=([1.0, 2.0], [3])), "external"), (dict(replay=Replay([1.05], [0], ("static",))), "replay"),
    (dict(plastic_groups=(("a", "a"), [0] * 5)), "plastic_groups"),
    (dict(plastic_groups="ab"), "plastic_groups"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_other_engine_arguments_are_refused_by_name(no_kernel, kw, name):
    with pytest.raises(ERRORS, match=name):
        _run(**kw)


def test_huge_but_finite_values_give_a_correct_run():
    plain = _run()
    _same(_run(max_rate=1e308), plain)  # a neuron fires at most once per step: no larger buffer, no overflow
    _same(_run(replay=Replay([1e308], [0], ("static",))), _run(replay=Replay(np.zeros(0), [], ("static",))))
    _same(_run(external=([1e308], [3])), plain)  # an external spike after the run never comes


@pytest.mark.parametrize("kw, name", [
    (dict(jitter=math.nan), "jitter"), (dict(jitter=math.inf), "jitter"), (dict(jitter=-1.0), "jitter"),
    (dict(T=1e308), "T"), (dict(T=math.inf), "T"), (dict(T=0.0), "T"), (dict(T="10"), "T"),
    (dict(dt=math.nan), "dt"), (dict(dt=0.0), "dt"), (dict(dt=1e-300), "T"), (dict(rng=0), "rng"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_jittered_refuses_bad_arguments_by_name(kw, name):
    args = {"jitter": 1.0, "rng": np.random.default_rng(0), "dt": 0.1, "T": 10.0, **kw}
    with pytest.raises(ERRORS, match=name):
        Replay([1.0, 2.0], [0, 1]).jittered(**args)


@pytest.mark.parametrize("kw, name", [
    (dict(times=[math.inf], neurons=[0]), "times"), (dict(times=[-1.0], neurons=[0]), "times"),
    (dict(times=[-0.0], neurons=[0]), "times"), (dict(times=None, neurons=[0]), "times"),
    (dict(times=[True], neurons=[0]), "times"), (dict(times=[1j], neurons=[0]), "times"),
    (dict(times=[1.0], neurons=None), "neurons"), (dict(times=[1.0], neurons="0"), "neurons"),
    (dict(times=[1.0], neurons=[0], channels=[np.array(["plastic"])]), "channels"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_replay_refuses_bad_fields_by_name(kw, name):
    with pytest.raises(ERRORS, match=name):
        Replay(**kw)


@pytest.mark.parametrize("kw, name", [
    (dict(seed=-1), "seed"), (dict(seed=1.5), "seed"), (dict(v0=math.nan), "v0"), (dict(mu=math.inf), "mu"),
    (dict(record_every=1e308), "record_every"), (dict(dt=math.nan), "dt"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_the_single_neuron_demo_refuses_bad_arguments_by_name(no_kernel, kw, name):
    with pytest.raises(ERRORS, match=name):
        simulate_single(**kw)


@pytest.mark.parametrize("kw, name", [
    (dict(mu=[1.0, 2.0, 3.0]), "mu"), (dict(mu=math.nan), "mu"), (dict(v0=[0.0, 0.1, 0.2]), "v0"),
    (dict(v0=math.inf), "v0"), (dict(seed=-1), "seed"), (dict(dt="0.1"), "dt"), (dict(tau_s=0.01), "tau_s"),
    (dict(w21=math.nan), "w21"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_the_two_neuron_demo_refuses_bad_arguments_by_name(no_kernel, kw, name):
    with pytest.raises(ERRORS, match=name):
        simulate_pair(**kw)


# ---------------------------------------------------------------------------
# Part 3 and 4: the static run, trials, the spike-timing test

TINY = BalancedParams.lecture(N=400, K=40, n_trained=12, L=3, n_ffwd=10, stim_on=100.0, stim_off=200.0,
                              train_duration=400.0, n_loops=1, score_every=1, n_test_trials=1)


@pytest.fixture(scope="module")
def net():
    return balanced.build_network(TINY, synthetic_alm(60, seed=1))


@pytest.fixture(scope="module")
def trial(net):
    return balanced.run_trial(net, "right", loop=0, keep_run=False)


@pytest.fixture
def no_trial(monkeypatch):
    """Every simulation of Part 3 replaced by a trap (the static run, trials, the dashboard's trials)."""
    monkeypatch.setattr(engine, "lif_kernel", _trap)
    monkeypatch.setattr(trials_module, "simulate", _trap)
    monkeypatch.setattr(balanced.static, "simulate", _trap)


@pytest.mark.parametrize("kw, name", [
    *[(dict(T=T), "T") for T in (math.nan, math.inf, 1e308, 1e12, 100.0, 200.0, "500", True)],
    (dict(T=300.05), "T"), (dict(n_record=-1), "n_record"), (dict(n_record=1.5), "n_record"),
    (dict(n_record=True), "n_record"), (dict(record_every=math.nan), "record_every"),
    (dict(record_every=1e308), "record_every"), (dict(rng=1), "rng"),
    (dict(perturbations=lambda: Perturbation(np.array([2**64 - 1], np.uint64), 5.0, 250.0, 350.0)),
     "neurons"),
    (dict(perturbations=Perturbation([400], 5.0, 250.0, 350.0)), "neurons"),
    (dict(perturbations=Perturbation("L5", 5.0, 250.0, 350.0)), "neurons"),
    (dict(perturbations=Perturbation("I", 5.0, 250.05, 350.0)), "start"),
    (dict(perturbations=[Perturbation("I", 5.0, 250.0, 350.0), "E"]), r"perturbations\[1\]"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_simulate_static_refuses_bad_arguments_by_name_before_the_run(net, no_trial, kw, name):
    kw = {"T": 300.0, **kw}
    with pytest.raises(ERRORS, match=name):
        kw = {k: v() if callable(v) else v for k, v in kw.items()}  # (a Perturbation refused when made)
        balanced.simulate_static(net.static, **kw)


def test_simulate_static_refuses_a_record_that_would_not_fit(net, no_kernel, monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "0.001")
    with pytest.raises(MemoryEstimateError, match="T"):
        balanced.simulate_static(net.static, T=1e6, record_every=0.1)


def test_a_stop_far_past_the_end_means_the_end(net):
    """stop = 1e308 is documented as allowed: to the end of the run (no OverflowError)."""
    far = balanced.simulate_static(net.static, T=300.0, perturbations=Perturbation("I", 1.0, 250.0, 1e308))
    end = balanced.simulate_static(net.static, T=300.0, perturbations=Perturbation("I", 1.0, 250.0, 300.0))
    np.testing.assert_array_equal(far.rates, end.rates)
    far = balanced.run_trial(net, "right", loop=0, keep_run=False,
                             perturbations=Perturbation("I", 1.0, 500.0, 1e308))
    end = balanced.run_trial(net, "right", loop=0, keep_run=False,
                             perturbations=Perturbation("I", 1.0, 500.0, TINY.t_end))
    np.testing.assert_array_equal(far.spike_times, end.spike_times)


TRIAL_BAD = {
    "replay-beyond": (dict(replay=Replay([1.0], [400])), "replay.neurons"),
    "replay-channel": (dict(replay=Replay([1.0], [0], ("synaptic",))), "replay.channels"),
    "replay-off-grid": (dict(replay=Replay([1.05], [0])), "replay.times"),
    "replay-text": (dict(replay="all"), "replay"),
    "record-uint64": (dict(record=np.array([2**64 - 1], np.uint64)), "record"),
    "record-bool": (dict(record=np.ones(400, bool)), "record"),
    "record-negative": (dict(record=[-1]), "record"),
    "record-2-D": (dict(record=[[0]]), "record"),
    "record-fraction": (dict(record=[0.5]), "record"),
    "pert-beyond": (dict(perturbations=Perturbation([400], 5.0, 250.0, 350.0)), "neurons"),
    "pert-population": (dict(perturbations=Perturbation("L5", 5.0, 250.0, 350.0)), "neurons"),
    "spikes_only-text": (dict(spikes_only="no"), "spikes_only"),
    "keep_run-None": (dict(keep_run=None), "keep_run"),
    "split_inputs-1": (dict(split_inputs=1), "split_inputs"),
    "loop-negative": (dict(loop=-1), "loop"),
    "condition-number": (dict(condition=5), "condition"),
}


@pytest.mark.parametrize("kw, name", list(TRIAL_BAD.values()), ids=list(TRIAL_BAD))
def test_run_trial_refuses_bad_arguments_by_name_before_the_run(net, no_trial, monkeypatch, kw, name):
    monkeypatch.setattr(type(net), "ffwd_spikes", _trap)  # refused before the feed-forward spikes too
    with pytest.raises(ERRORS, match=name):
        balanced.run_trial(net, **kw)


@pytest.mark.parametrize("kw, name", [
    (dict(replay=[Replay([1.0], [400])]), r"replay\[0\]"), (dict(replay=[5]), r"replay\[0\]"),
    (dict(replay=Replay([1.0], [0])), "replay"), (dict(spikes_only="yes"), "spikes_only"),
    (dict(progress="no"), "progress"), (dict(record=np.array([400], np.uint64)), "record"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_evaluate_refuses_bad_arguments_before_the_first_trial(net, no_trial, monkeypatch, kw, name):
    monkeypatch.setattr(trials_module, "run_trial", _trap)
    with pytest.raises(ERRORS, match=name):
        balanced.evaluate(net, 1, **kw)


def test_a_replay_in_range_given_as_uint64_is_that_neuron(net):
    unsigned = Replay([1.0, 5.0], np.array([1, 2], np.uint64))
    a = balanced.run_trial(net, loop=0, keep_run=False, replay=unsigned)
    b = balanced.run_trial(net, loop=0, keep_run=False, replay=Replay([1.0, 5.0], [1, 2]))
    np.testing.assert_array_equal(a.spike_times, b.spike_times)


@pytest.mark.parametrize("kw, name", [
    (dict(neurons=[-1]), "neurons"), (dict(neurons=np.array([2**64 - 1], np.uint64)), "neurons"),
    (dict(neurons=[400]), "neurons"), (dict(neurons=np.array([True, False])), "neurons"),
    (dict(neurons=[0.5]), "neurons"), (dict(neurons=[0], bin_ms=1e-300), "bin_ms"),
    (dict(neurons=[0], bin_ms=math.nan), "bin_ms"), (dict(neurons=[0], bin_ms=1e308), "bin_ms"),
    (dict(neurons=[0], smooth_ms=math.inf), "smooth_ms"), (dict(neurons=[0], smooth_ms=-1.0), "smooth_ms"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_psth_refuses_bad_arguments_by_name(trial, kw, name):
    with pytest.raises(ERRORS, match=name):
        trial.psth(**kw)


def test_psth_is_correct_for_duplicates_empty_and_huge_smoothing(trial):
    busy = int(np.bincount(trial.spike_neurons).argmax())
    t, one = trial.psth([busy])
    _, two = trial.psth([busy, busy])  # a neuron asked for twice: two equal columns (the first was 0)
    np.testing.assert_array_equal(two[:, 0], one[:, 0])
    np.testing.assert_array_equal(two[:, 1], one[:, 0])
    assert trial.psth([])[1].shape == (t.size, 0)
    _, flat = trial.psth([busy], smooth_ms=1e308)  # wider than the trial: the trial's mean everywhere
    raw = trial.psth([busy], smooth_ms=0.0)[1][:, 0]
    np.testing.assert_allclose(flat[:, 0], raw.mean(), rtol=1e-12)
    _, whole = trial.psth([busy], smooth_ms=TINY.t_end)
    np.testing.assert_array_equal(flat, whole)


def test_psth_refuses_bins_that_would_not_fit_in_memory(trial, monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "0.00001")
    with pytest.raises(MemoryEstimateError, match="bin_ms"):
        trial.psth(np.arange(400), bin_ms=0.1)


@pytest.mark.parametrize("kw, name", [
    (dict(conditions=5), "conditions"), (dict(conditions=[None]), "conditions"),
    (dict(channels=[np.array(["plastic"])]), "channels"), (dict(channels=5), "channels"),
    (dict(jitters=[math.nan]), "jitters"), (dict(jitters=[]), "jitters"), (dict(jitters=[-1.0]), "jitters"),
    (dict(smooth_ms=math.inf), "smooth_ms"), (dict(seed=-1), "seed"), (dict(progress="no"), "progress"),
    (dict(n_trials=0), "n_trials"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_spike_timing_test_refuses_bad_arguments_before_any_trial(net, no_trial, kw, name):
    with pytest.raises(ERRORS, match=name):
        balanced.spike_timing_test(net, **kw)


def test_rate_matched_poisson_takes_a_smoothing_wider_than_the_trial(trial):
    rep = balanced.rate_matched_poisson([trial], np.random.default_rng(0), TINY.dt, smooth_ms=1e308)
    assert rep.times.size > 0 and np.all(np.isfinite(rep.times))


# ---------------------------------------------------------------------------
# Paths: save and load refuse what is not a file path, by name; a missing or damaged file is named

BAD_PATH = {"empty": "", "blank": "   ", "number": 123, "None": None, "float": 1.5, "bool": True,
            "list": ["net.npz"], "NUL": "net\0.npz", "empty-bytes": b"", "dot": ".", "dotdot": ".."}


@pytest.mark.parametrize("path", list(BAD_PATH.values()), ids=list(BAD_PATH))
@pytest.mark.parametrize("entry", ["balanced.load", "balanced.save", "load_arrays", "save_arrays",
                                   "atomic_write"])
def test_a_path_that_is_not_a_file_path_is_refused_naming_path(net, entry, path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ERRORS, match="path"):
        if entry == "balanced.load":
            balanced.load(path)
        elif entry == "balanced.save":
            balanced.save(net, path)
        elif entry == "load_arrays":
            load_arrays(path, kind="demo", versions=(1,))
        elif entry == "save_arrays":
            save_arrays(path, {"w": np.zeros(2)}, kind="demo", version=1)
        else:
            atomic_write(path, lambda f: f.write(b"x"))
    assert os.listdir(tmp_path) == []  # nothing written anywhere


def test_saving_to_a_folder_is_refused_and_writes_nothing(net, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    for path in (folder, str(folder), str(folder) + os.sep):
        with pytest.raises((IsADirectoryError, ValueError), match="folder"):
            balanced.save(net, path)
    assert sorted(os.listdir(tmp_path)) == ["out"] and os.listdir(folder) == []  # no out.npz beside it
    with pytest.raises(IsADirectoryError, match="folder"):
        balanced.load(str(folder) + os.sep)


def test_save_refuses_a_bad_include_rls_and_keeps_the_earlier_file(net, tmp_path):
    path = balanced.save(net, tmp_path / "net")
    before = path.read_bytes()
    with pytest.raises(TypeError, match="include_rls"):
        balanced.save(net, path, include_rls="no")
    with pytest.raises(ValueError, match="meta"):
        save_arrays(path, {"w": np.zeros(2)}, kind="balanced-network", version=2, meta={"x": math.nan})
    with pytest.raises(ValueError, match="kind"):
        save_arrays(path, {"w": np.zeros(2)}, kind="", version=2)
    with pytest.raises(ValueError, match="version"):
        save_arrays(path, {"w": np.zeros(2)}, kind="x", version=-1)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["net.npz"]
    assert balanced.load(str(path).encode()).network.params == net.params  # a bytes path is a path


def test_a_missing_or_damaged_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.npz"):
        balanced.load(tmp_path / "nothing")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(FormatError, match="bad.npz"):
        balanced.load(bad)
    assert bad.read_bytes() == b"not a zip"


def test_a_file_declaring_more_than_memory_is_refused_before_reading(net, tmp_path, monkeypatch):
    path = balanced.save(net, tmp_path / "net")
    monkeypatch.setenv(MEMORY_ENV, str(1e-6))  # about 1 kB
    with pytest.raises(MemoryEstimateError, match="path") as info:
        balanced.load(path)
    assert info.value.parameters == ("path",)


# ---------------------------------------------------------------------------
# The perturbation dashboard: run_perturbation and its arguments

DASH_BAD = {
    "population-number": (dict(population=5), "population"),
    "population-array": (dict(population=np.array(["I", "E"])), "population"),
    "population-unknown": (dict(population="L5"), "population"),
    "current-nan": (dict(current=math.nan), "current"),
    "current-inf": (dict(current=math.inf), "current"),
    "current-1e308": (dict(current=1e308), "current"),
    "current-text": (dict(current="1"), "current"),
    "current-None": (dict(current=None), "current"),
    "current-bool": (dict(current=True), "current"),
    "start-nan": (dict(start=math.nan), "start"),
    "start-negative": (dict(start=-1.0), "start"),
    "start-1e308": (dict(start=1e308), "start"),
    "start-off-grid": (dict(start=100.05), "start"),
    "stop-nan": (dict(stop=math.nan), "stop"),
    "stop-1e308": (dict(stop=1e308), "stop"),  # the dashboard's window lies within the trial (documented)
    "stop-reversed": (dict(start=300.0, stop=200.0), "stop"),
    "stop-equal": (dict(start=300.0, stop=300.0), "stop"),
    "condition-number": (dict(condition=5), "condition"),
    "condition-array": (dict(condition=np.array(["right"])), "condition"),
    "trained_loops-negative": (dict(trained_loops=-1), "trained_loops"),
    "trained_loops-fraction": (dict(trained_loops=1.5), "trained_loops"),
    "stop_event-number": (dict(stop_event=5), "stop_event"),
    "control-number": (dict(control=5), "control"),
    "net-None": (dict(net=None), "net"),
}


@pytest.mark.parametrize("kw, name", list(DASH_BAD.values()), ids=list(DASH_BAD))
def test_run_perturbation_refuses_bad_arguments_by_name_before_any_trial(net, no_trial, monkeypatch, kw,
                                                                          name):
    monkeypatch.setattr(balanced, "run_trial", _trap)
    args = {"net": net, "population": "I", "current": 0.5, "start": 300.0, "stop": 500.0,
            "condition": "right", **kw}
    with pytest.raises(ERRORS, match=name):
        dash.run_perturbation(args.pop("net"), **args)


def test_run_perturbation_refuses_a_control_of_another_trial(net, trial, no_trial, monkeypatch):
    monkeypatch.setattr(balanced, "run_trial", _trap)
    with pytest.raises(ValueError, match="control"):  # the right condition, but no split inputs of the sample
        dash.run_perturbation(net, "I", 0.5, 300.0, 500.0, "right", control=trial)
    with pytest.raises(ValueError, match="control"):
        dash.run_perturbation(net, "I", 0.5, 300.0, 500.0, "left", control=trial)  # another condition


def test_run_perturbation_takes_a_start_of_minus_zero(net):
    out = dash.run_perturbation(net, "I", 0.5, -0.0, 100.0, "right")
    assert out.start == 0.0 and math.copysign(1.0, out.start) == 1.0
    assert np.all(np.isfinite(out.measured))
