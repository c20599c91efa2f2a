r"""Part 3: the file of a trained network, versioned and checked (:func:`save`, :func:`read`).

A file holds everything needed to run the network again (static synapses, trained neurons,
plastic weights, stimuli, feed-forward rates, targets, the ALM data of the trained neurons,
parameters as JSON), the training history and, optionally, the RLS state. It is written
atomically (:mod:`tutorial_lib.storage`); loading checks every array against the stored
parameters, so a damaged or edited file is refused when it is loaded
(:func:`~tutorial_lib.balanced.load` makes a :class:`~tutorial_lib.balanced.TrainResult` of what
:func:`read` returns).
"""

from __future__ import annotations

import math

import numpy as np

from .. import __version__
from ..data import CONDITIONS, ALMData
from ..params import BalancedParams
from ..engine.lif_data import Synapses
from ..storage import (FormatError, check_path, npz_path, check_array, load_arrays, params_from_dict, params_to_dict,
                       save_arrays)
from .network import BalancedNetwork
from .plastic import FFWD_GRID_MS, make_rls
from .static import StaticNetwork

__all__ = [
    "FORMAT_VERSION",
    "block_state",
    "save",
    "read",
]


#: 2: the RLS state is saved as the arrays of ``rls.state()`` (``rls_Pr``, ``rls_Gt``, ``rls_Q`` with
#: feedforward inputs); 1 saved one full ``rls_P`` per neuron (still read).
FORMAT_VERSION = 2


_KIND = "balanced-network"


def block_state(P: np.ndarray, mp: int) -> dict:
    """The :class:`~tutorial_lib.engine.rls_shared.SharedInputRLS` state equal to full per-neuron matrices ``P``."""
    Pr = P[:, :mp, :mp]
    Gt = -np.linalg.solve(Pr, P[:, :mp, mp:])  # P_rf = -Pr G^T
    Q = P[0, mp:, mp:] - np.einsum("pf,pq,qg->fg", Gt[0], Pr[0], Gt[0])
    return {"Pr": Pr, "Gt": Gt, "Q": Q}


def save(obj, path, *, include_rls: bool = True):
    """Save a trained (or untrained) network to ``path`` (``.npz``; written atomically, versioned).

    Everything needed to run it again is stored (static synapses, trained
    neurons, plastic weights, stimuli, feedforward rates, targets and the ALM
    data of the trained neurons, parameters as JSON), plus the training
    history and, with ``include_rls``, the RLS state to continue training
    exactly (the arrays of ``rls.state()``: with feed-forward inputs the block
    form, 0.2 GB at full scale; one full ``P`` per neuron would be 1.7 GB).
    Returns the path written.

    Raises
    ------
    TypeError
        ``obj`` not a TrainResult or BalancedNetwork, ``path`` not a file path (a number, None:
        "path must be a file path ..."), ``include_rls`` not True or False.
    ValueError
        ``path`` empty, blank, with a NUL character or ending in a folder separator.
    IsADirectoryError, FileNotFoundError
        ``path`` is a folder, or its folder does not exist.

    All before anything is written; a write that fails leaves any earlier file at ``path`` as it was.
    """
    result = None if isinstance(obj, BalancedNetwork) else obj  # a TrainResult (defined above this module)
    net = getattr(obj, "network", None) if result is not None else obj
    if not isinstance(net, BalancedNetwork):
        raise TypeError(f"save expects a TrainResult or a BalancedNetwork (got {type(obj).__name__})")
    check_path(path)
    if not isinstance(include_rls, (bool, np.bool_)):
        raise TypeError(f"include_rls must be True or False (got {type(include_rls).__name__}: "
                        f"{include_rls!r:.60})")
    p = net.params
    a = _arrays(net, result, include_rls)
    meta = {
        "params": params_to_dict(p),
        "alm_source": net.alm.source,
        "alm_synthetic": bool(net.alm.synthetic),
        "conditions": list(CONDITIONS),
        "has_result": result is not None,
        "stopped": bool(result.stopped) if result is not None else False,
        "partial": bool(result.partial) if result is not None else False,
        "tutorial_lib_version": __version__,
    }
    return save_arrays(path, a, kind=_KIND, version=FORMAT_VERSION, meta=meta)


def _arrays(net: BalancedNetwork, result, include_rls: bool) -> dict:
    """The arrays of a file: the network's, the result's histories and (``include_rls``) its RLS state."""
    p = net.params
    a = {
        "exc_ptr": net.static.exc.ptr, "exc_post": net.static.exc.post.astype(np.int32),
        "exc_w": net.static.exc.w,
        "inh_ptr": net.static.inh.ptr, "inh_post": net.static.inh.post.astype(np.int32),
        "inh_w": net.static.inh.w,
        "mu": net.static.mu, "static_rates": net.static_rates, "trained": net.trained, "presyn": net.presyn,
        "w": net.w, "w0": net.w0, "examples": net.examples, "alm_t": net.alm.t, "alm_ids": net.alm.neuron_ids,
    }
    for c in CONDITIONS:
        a[f"stimulus_{c}"] = net.stimulus[c]
        a[f"targets_{c}"] = net.targets[c]
        a[f"alm_rates_{c}"] = net.alm.rates[c]
        if net.alm.utarg is not None:
            a[f"alm_utarg_{c}"] = net.alm.utarg[c]
        if p.ffwd:
            a[f"ffwd_rates_{c}"] = net.ffwd_rates[c]
    if result is not None:
        a.update(scores=result.scores, test_loops=result.test_loops, test_scores=result.test_scores,
                 test_scores_avg=result.test_scores_avg, loop_seconds=result.loop_seconds)
        if include_rls and result.rls is not None:
            for name, arr in result.rls.state().items():
                a[f"rls_{name}"] = arr
    return a


class _Reader:
    """The arrays of a file being read, each checked as it is taken (:func:`~tutorial_lib.storage.check_array`)."""

    def __init__(self, a: dict, path):
        self.a, self.path = a, path

    def arr(self, name, kind="float", shape=None, finite=True, lo=None, hi=None, what=""):
        return check_array(self.a, name, self.path, kind=kind, shape=shape, finite=finite, lo=lo, hi=hi,
                           what=what)

    def damaged(self, name, problem):
        return FormatError(f"{self.path} is damaged: the array {name!r} {problem}", path=self.path, field=name)


def read(path) -> dict:
    """The fields of a :class:`~tutorial_lib.balanced.TrainResult` from a file written by :func:`save`
    (all but ``last``), every array checked against the stored parameters; see
    :func:`~tutorial_lib.balanced.load`, which makes the result and lists what is checked and raised."""
    a, meta = load_arrays(path, kind=_KIND, versions=(1, FORMAT_VERSION))
    path = npz_path(path)
    info = _meta(meta, path, a)
    p = info["params"]
    rd = _Reader(a, path)
    channels = _channels(rd, p)
    mu = rd.arr("mu", shape=(p.N,), what="constant input of every neuron")
    static_rates = rd.arr("static_rates", shape=(p.N,), what="rates of the static run")
    plastic = _plastic(rd, p)
    alm_t, alm_ids, per, has_utarg = _per_condition(rd, p, plastic["trained"].shape[0])
    history = _history(rd, a, info["has_result"])
    try:
        exc = Synapses(p.tau_syn, *channels["exc"], name="excitatory")
        inh = Synapses(p.tau_syn, *channels["inh"], name="inhibitory")
        static = StaticNetwork(p, exc, inh, mu)
        utarg = {c: per[c]["utarg"] for c in CONDITIONS} if has_utarg else None
        alm = ALMData({c: per[c]["rates"] for c in CONDITIONS}, utarg, alm_t, info["alm_source"],
                      info["alm_synthetic"], alm_ids)
        ffwd = {c: per[c]["ffwd"] for c in CONDITIONS} if p.ffwd else None
        net = BalancedNetwork(
            p, static, static_rates, alm, {c: per[c]["targets"] for c in CONDITIONS},
            plastic["trained"].astype(np.int64), plastic["presyn"].astype(np.int64), plastic["w"].copy(),
            plastic["w0"], {c: per[c]["stimulus"] for c in CONDITIONS}, ffwd,
            plastic["examples"].astype(np.int64))
        net.lif()  # the engine's own checks of the plastic synapses
    except ValueError as exc:  # not expected after the checks above; still a damaged file, named
        raise FormatError(f"{path} is damaged: {exc}", path=path) from exc
    return dict(network=net, **history, rls=_rls(rd, net), stopped=info["stopped"], partial=info["partial"])


def _meta(meta: dict, path, a: dict) -> dict:
    """The metadata of a file: parameters (validated), the data's source, how training ended."""
    def meta_value(key, types, what):
        if key not in meta:
            raise FormatError(f"{path} is incomplete: its metadata has no {key!r}", path=path, field=key)
        if not isinstance(meta[key], types):
            raise FormatError(f"{path} is damaged: {key!r} in its metadata is {meta[key]!r}, not {what}",
                              path=path, field=key)
        return meta[key]

    return dict(
        params=params_from_dict(BalancedParams, meta_value("params", dict, "an object"), source=path),
        alm_source=meta_value("alm_source", str, "a text"),
        alm_synthetic=meta_value("alm_synthetic", bool, "true or false"),
        stopped=meta_value("stopped", bool, "true or false") if "stopped" in meta else False,
        partial=meta_value("partial", bool, "true or false") if "partial" in meta else False,
        has_result=meta_value("has_result", bool, "true or false") if "has_result" in meta else "scores" in a,
    )


def _channels(rd: _Reader, p) -> dict:
    """The static synapses, ``channel -> (ptr, post, w)`` (CSR by presynaptic neuron), checked."""
    N, Ne = p.N, p.Ne
    channels = {}
    for ch, first, last in (("exc", 0, Ne), ("inh", Ne, N)):  # presynaptic neurons first .. last - 1
        ptr = rd.arr(f"{ch}_ptr", "int", (N + 1,), what="CSR pointers of the static synapses")
        if ptr[0] != 0 or np.any(np.diff(ptr) < 0):
            raise rd.damaged(f"{ch}_ptr", "must start at 0 and never decrease (CSR pointers)")
        if ptr[first] != 0 or ptr[last] != ptr[-1]:
            raise rd.damaged(f"{ch}_ptr", f"gives synapses to presynaptic neurons outside [{first}, {last - 1}]")
        n_syn = int(ptr[-1])
        post = rd.arr(f"{ch}_post", "int", (n_syn,), lo=0, hi=N - 1, what="targets of the static synapses")
        channels[ch] = (ptr, post, rd.arr(f"{ch}_w", "float", (n_syn,), what="static weights"))
    return channels


def _plastic(rd: _Reader, p) -> dict:
    """The trained neurons, their plastic inputs and weights, and the recorded untrained neurons, checked."""
    N, Ne, L = p.N, p.Ne, p.L
    trained = rd.arr("trained", "int", (p.n_trained,), lo=0, hi=Ne - 1, what="trained E neurons")
    R = trained.shape[0]
    if np.unique(trained).shape[0] != R:
        raise rd.damaged("trained", "names a neuron twice")
    if R < L + 1:
        raise rd.damaged("trained", f"holds {R} neurons: L = {L} plastic E inputs need at least {L + 1}")
    presyn = rd.arr("presyn", "int", (R, 2 * L), what="plastic inputs of the trained neurons")
    check_array({"presyn": presyn[:, L:]}, "presyn", rd.path, kind="int", lo=Ne, hi=N - 1,
                what=f"plastic inputs, columns {L} .. {2 * L - 1}: I neurons")
    if not np.all(np.isin(presyn[:, :L], trained)) or np.any(presyn[:, :L] == trained[:, None]):
        raise rd.damaged("presyn", f"(plastic inputs, columns 0 .. {L - 1}) must name other trained neurons")
    w = rd.arr("w", shape=(R, p.n_plastic), what="plastic weights (trained neurons, plastic inputs)")
    w0 = rd.arr("w0", shape=(R, p.n_plastic), what="initial plastic weights")
    examples = rd.arr("examples", "int", (None,), lo=0, hi=N - 1, what="recorded untrained neurons")
    return dict(trained=trained, presyn=presyn, w=w, w0=w0, examples=examples)


def _per_condition(rd: _Reader, p, R: int):
    """``(alm_t, alm_ids, per, has_utarg)``: the ALM times and neuron ids, and per condition its stimulus,
    targets, ALM rates (and target inputs) and feed-forward rates, checked."""
    # the ALM data are the user's: any real dtype (their neuron ids are labels, of any dtype)
    alm_t = rd.arr("alm_t", "real", (None,), what="times of the ALM samples, ms")
    T = alm_t.shape[0]
    if T < 2 or np.any(np.diff(alm_t) <= 0):
        raise rd.damaged("alm_t", "must hold at least two increasing times")
    alm_ids = rd.arr("alm_ids", "any", (R,), what="ALM neuron of each trained neuron")
    n_bins = int(math.ceil(p.train_duration / FFWD_GRID_MS - 1e-9))
    has_utarg = any(f"alm_utarg_{c}" in rd.a for c in CONDITIONS)
    per = {}
    for c in CONDITIONS:
        per[c] = dict(
            stimulus=rd.arr(f"stimulus_{c}", shape=(p.N,), what="stimulus of every neuron"),
            targets=rd.arr(f"targets_{c}", shape=(p.n_learn, R),
                           what="targets (learning steps, trained neurons)"),
            rates=rd.arr(f"alm_rates_{c}", "real", (T, R), what="ALM rates (samples, trained neurons)"),
            utarg=rd.arr(f"alm_utarg_{c}", "real", (T, R), what="ALM target inputs") if has_utarg else None,
            ffwd=rd.arr(f"ffwd_rates_{c}", shape=(n_bins, p.n_ffwd),
                        what="feedforward rates (1 ms bins, inputs)") if p.ffwd else None)
    return alm_t, alm_ids, per, has_utarg


def _history(rd: _Reader, a: dict, has_result: bool) -> dict:
    """The score histories (empty for a bare network), checked."""
    empty = np.zeros(0)
    history = dict(scores=empty, test_loops=np.zeros(0, np.int64), test_scores=empty, test_scores_avg=empty,
                   loop_seconds=empty)
    if has_result or any(name in a for name in history):
        n = rd.arr("scores", shape=(None,), finite=False, what="training score of each loop").shape[0]
        k = rd.arr("test_loops", "int", (None,), lo=1, hi=n, what="loops after which the network was tested")
        history = dict(scores=a["scores"], test_loops=k.astype(np.int64),
                       test_scores=rd.arr("test_scores", shape=k.shape, finite=False),
                       test_scores_avg=rd.arr("test_scores_avg", shape=k.shape, finite=False),
                       loop_seconds=rd.arr("loop_seconds", shape=(n,), finite=False, what="seconds per loop"))
    return history


def _rls(rd: _Reader, net: BalancedNetwork):
    """The saved RLS state of ``net`` (the form that was saved; format 1 converted), checked; None if none."""
    p, a = net.params, rd.a
    saved = {k[4:]: a[k] for k in a if k.startswith("rls_")}
    if not saved:
        return None
    rls = make_rls(net, form="pooled" if "H" in saved else "block")  # the form that was saved
    expected = rls.state()
    if "P" in saved and "P" not in expected:  # format 1: one full P per neuron
        m = p.n_plastic
        full = rd.arr("rls_P", shape=(net.trained.shape[0], m, m), what="RLS matrices, format 1")
        try:
            with np.errstate(all="ignore"):
                saved = block_state(full, 2 * p.L)
        except np.linalg.LinAlgError as exc:
            raise rd.damaged("rls_P", f"cannot be split into the RLS blocks ({exc})") from exc
    state = {}
    for name, target in expected.items():
        state[name] = check_array({f"rls_{k}": v for k, v in saved.items()}, f"rls_{name}", rd.path,
                                  kind="float", shape=target.shape, finite=True, what="RLS state")
    rls.set_state(state)
    return rls
