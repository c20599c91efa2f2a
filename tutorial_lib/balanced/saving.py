r"""Part 3: saving a trained network and loading it back, versioned and checked (:func:`save`, :func:`load`).

A file holds everything needed to run the network again (static synapses, trained neurons,
plastic weights, stimuli, feed-forward rates, targets, the ALM data of the trained neurons,
parameters as JSON), the training history and, optionally, the RLS state. It is written
atomically (:mod:`tutorial_lib.storage`); loading checks every array against the stored
parameters, so a damaged or edited file is refused when it is loaded.
"""

from __future__ import annotations

import math

import numpy as np

from ..data import CONDITIONS, ALMData
from ..params import BalancedParams
from ..engine.lif_data import Synapses
from .network import BalancedNetwork
from .plastic import FFWD_GRID_MS, make_rls
from .static import StaticNetwork
from .training import TrainResult

__all__ = [
    "FORMAT_VERSION",
    "block_state",
    "save",
    "load",
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


def save(obj: TrainResult | BalancedNetwork, path, *, include_rls: bool = True):
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
    from .. import __version__
    from ..storage import _check_path, params_to_dict, save_arrays

    result = obj if isinstance(obj, TrainResult) else None
    net = obj.network if result is not None else obj
    if not isinstance(net, BalancedNetwork):
        raise TypeError(f"save expects a TrainResult or a BalancedNetwork (got {type(obj).__name__})")
    _check_path(path)
    if not isinstance(include_rls, (bool, np.bool_)):
        raise TypeError(f"include_rls must be True or False (got {type(include_rls).__name__}: "
                        f"{include_rls!r:.60})")
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


def load(path) -> TrainResult:
    """Load a file written by :func:`save` as a :class:`TrainResult`.

    A file saved from a bare network gives empty score histories; a file
    saved without ``P`` gives ``rls=None`` (further training starts a fresh RLS
    state). The loaded network runs exactly like the saved one: the same seed
    gives the same spikes.

    Everything is checked here, so that a damaged or edited file is refused
    now, not at its first run: the stored parameters (validated again), the
    dtype and shape of every array against them, finite weights, inputs,
    targets and RLS state, and every index in its range (synapse targets,
    trained neurons among the E neurons, plastic inputs from other trained E
    neurons and from I neurons, recorded neurons, tested loops).

    Raises
    ------
    TypeError, ValueError
        If ``path`` is not a file path: a number or None ("path must be a file path, a str or
        os.PathLike"), an empty or blank text, a NUL character.
    FileNotFoundError, IsADirectoryError
        If ``path`` (with ``.npz`` appended if it has no suffix) does not exist
        or is a folder.
    ~tutorial_lib.storage.FormatError
        For a damaged, incomplete or edited file, a file of another kind or an
        unknown format version; the message names the file and what is wrong
        (``field``: the array, metadata key or parameter). An invalid stored
        parameter carries the ValueError of its check as ``__cause__``.
    """
    from ..storage import FormatError, _npz_path, check_array, load_arrays, params_from_dict

    a, meta = load_arrays(path, kind=_KIND, versions=(1, FORMAT_VERSION))
    path = _npz_path(path)

    def meta_value(key, types, what):
        if key not in meta:
            raise FormatError(f"{path} is incomplete: its metadata has no {key!r}", path=path, field=key)
        if not isinstance(meta[key], types):
            raise FormatError(f"{path} is damaged: {key!r} in its metadata is {meta[key]!r}, not {what}",
                              path=path, field=key)
        return meta[key]

    p = params_from_dict(BalancedParams, meta_value("params", dict, "an object"), source=path)
    alm_source = meta_value("alm_source", str, "a text")
    alm_synthetic = meta_value("alm_synthetic", bool, "true or false")
    stopped = meta_value("stopped", bool, "true or false") if "stopped" in meta else False
    partial = meta_value("partial", bool, "true or false") if "partial" in meta else False
    has_result = meta_value("has_result", bool, "true or false") if "has_result" in meta else "scores" in a
    N, Ne, L = p.N, p.Ne, p.L

    def arr(name, kind="float", shape=None, finite=True, lo=None, hi=None, what=""):
        return check_array(a, name, path, kind=kind, shape=shape, finite=finite, lo=lo, hi=hi, what=what)

    def damaged(name, problem):
        return FormatError(f"{path} is damaged: the array {name!r} {problem}", path=path, field=name)

    channels = {}
    for ch, first, last in (("exc", 0, Ne), ("inh", Ne, N)):  # presynaptic neurons first .. last - 1
        ptr = arr(f"{ch}_ptr", "int", (N + 1,), what="CSR pointers of the static synapses")
        if ptr[0] != 0 or np.any(np.diff(ptr) < 0):
            raise damaged(f"{ch}_ptr", "must start at 0 and never decrease (CSR pointers)")
        if ptr[first] != 0 or ptr[last] != ptr[-1]:
            raise damaged(f"{ch}_ptr", f"gives synapses to presynaptic neurons outside [{first}, {last - 1}]")
        n_syn = int(ptr[-1])
        post = arr(f"{ch}_post", "int", (n_syn,), lo=0, hi=N - 1, what="targets of the static synapses")
        channels[ch] = (ptr, post, arr(f"{ch}_w", "float", (n_syn,), what="static weights"))
    mu = arr("mu", shape=(N,), what="constant input of every neuron")
    static_rates = arr("static_rates", shape=(N,), what="rates of the static run")
    trained = arr("trained", "int", (p.n_trained,), lo=0, hi=Ne - 1, what="trained E neurons")
    R = trained.shape[0]
    if np.unique(trained).shape[0] != R:
        raise damaged("trained", "names a neuron twice")
    if R < L + 1:
        raise damaged("trained", f"holds {R} neurons: L = {L} plastic E inputs need at least {L + 1}")
    presyn = arr("presyn", "int", (R, 2 * L), what="plastic inputs of the trained neurons")
    check_array({"presyn": presyn[:, L:]}, "presyn", path, kind="int", lo=Ne, hi=N - 1,
                what=f"plastic inputs, columns {L} .. {2 * L - 1}: I neurons")
    if not np.all(np.isin(presyn[:, :L], trained)) or np.any(presyn[:, :L] == trained[:, None]):
        raise damaged("presyn", f"(plastic inputs, columns 0 .. {L - 1}) must name other trained neurons")
    w = arr("w", shape=(R, p.n_plastic), what="plastic weights (trained neurons, plastic inputs)")
    w0 = arr("w0", shape=(R, p.n_plastic), what="initial plastic weights")
    examples = arr("examples", "int", (None,), lo=0, hi=N - 1, what="recorded untrained neurons")
    # the ALM data are the user's: any real dtype (their neuron ids are labels, of any dtype)
    alm_t = arr("alm_t", "real", (None,), what="times of the ALM samples, ms")
    T = alm_t.shape[0]
    if T < 2 or np.any(np.diff(alm_t) <= 0):
        raise damaged("alm_t", "must hold at least two increasing times")
    alm_ids = arr("alm_ids", "any", (R,), what="ALM neuron of each trained neuron")
    n_bins = int(math.ceil(p.train_duration / FFWD_GRID_MS - 1e-9))
    has_utarg = any(f"alm_utarg_{c}" in a for c in CONDITIONS)
    per = {}
    for c in CONDITIONS:
        per[c] = dict(
            stimulus=arr(f"stimulus_{c}", shape=(N,), what="stimulus of every neuron"),
            targets=arr(f"targets_{c}", shape=(p.n_learn, R),
                        what="targets (learning steps, trained neurons)"),
            rates=arr(f"alm_rates_{c}", "real", (T, R), what="ALM rates (samples, trained neurons)"),
            utarg=arr(f"alm_utarg_{c}", "real", (T, R), what="ALM target inputs") if has_utarg else None,
            ffwd=arr(f"ffwd_rates_{c}", shape=(n_bins, p.n_ffwd),
                     what="feedforward rates (1 ms bins, inputs)") if p.ffwd else None)
    empty = np.zeros(0)
    history = dict(scores=empty, test_loops=np.zeros(0, np.int64), test_scores=empty, test_scores_avg=empty,
                   loop_seconds=empty)
    if has_result or any(name in a for name in history):
        n = arr("scores", shape=(None,), finite=False, what="training score of each loop").shape[0]
        k = arr("test_loops", "int", (None,), lo=1, hi=n, what="loops after which the network was tested")
        history = dict(scores=a["scores"], test_loops=k.astype(np.int64),
                       test_scores=arr("test_scores", shape=k.shape, finite=False),
                       test_scores_avg=arr("test_scores_avg", shape=k.shape, finite=False),
                       loop_seconds=arr("loop_seconds", shape=(n,), finite=False, what="seconds per loop"))
    try:
        exc = Synapses(p.tau_syn, *channels["exc"], name="excitatory")
        inh = Synapses(p.tau_syn, *channels["inh"], name="inhibitory")
        static = StaticNetwork(p, exc, inh, mu)
        utarg = {c: per[c]["utarg"] for c in CONDITIONS} if has_utarg else None
        alm = ALMData({c: per[c]["rates"] for c in CONDITIONS}, utarg, alm_t, alm_source, alm_synthetic,
                      alm_ids)
        ffwd = {c: per[c]["ffwd"] for c in CONDITIONS} if p.ffwd else None
        net = BalancedNetwork(
            p, static, static_rates, alm, {c: per[c]["targets"] for c in CONDITIONS},
            trained.astype(np.int64), presyn.astype(np.int64), w.copy(), w0,
            {c: per[c]["stimulus"] for c in CONDITIONS}, ffwd, examples.astype(np.int64))
        net.lif()  # the engine's own checks of the plastic synapses
    except ValueError as exc:  # not expected after the checks above; still a damaged file, named
        raise FormatError(f"{path} is damaged: {exc}", path=path) from exc
    rls = None
    saved = {k[4:]: a[k] for k in a if k.startswith("rls_")}
    if saved:
        rls = make_rls(net, form="pooled" if "H" in saved else "block")  # the form that was saved
        expected = rls.state()
        if "P" in saved and "P" not in expected:  # format 1: one full P per neuron
            m = p.n_plastic
            full = arr("rls_P", shape=(R, m, m), what="RLS matrices, format 1")
            try:
                with np.errstate(all="ignore"):
                    saved = block_state(full, 2 * L)
            except np.linalg.LinAlgError as exc:
                raise damaged("rls_P", f"cannot be split into the RLS blocks ({exc})") from exc
        state = {}
        for name, target in expected.items():
            state[name] = check_array({f"rls_{k}": v for k, v in saved.items()}, f"rls_{name}", path,
                                      kind="float", shape=target.shape, finite=True, what="RLS state")
        rls.set_state(state)
    return TrainResult(
        network=net,
        **history,
        last=None,
        rls=rls,
        stopped=stopped,
        partial=partial,
    )
