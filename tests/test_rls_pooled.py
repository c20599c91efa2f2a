"""PooledInputRLS: the shared-input RLS with the regression block held once for the input pool.

It must give the weights of one full ``P`` per neuron (BatchRLS), of closed-form ridge
regression and of SharedInputRLS (also inside a real Part 3 training), leave its state alone
on a non-finite input, and not depend on the number of threads, to the bit.
"""

import math
import os
import signal
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from tutorial_lib import BalancedParams, balanced
from tutorial_lib.balanced import plastic
from tutorial_lib.data import synthetic_alm
from tutorial_lib.core.rls import ridge_solution, rls_pooled_update
from tutorial_lib.engine import rls_state
from tutorial_lib.engine.rls_deferred import rls_pooled_deferred_update
from tutorial_lib.engine.rls_packed import LANES, pack_symmetric, unpack_symmetric
from tutorial_lib.engine.rls_pooled import PooledInputRLS
from tutorial_lib.engine.rls_shared import SharedInputRLS
from tutorial_lib.engine.rls_state import BatchRLS


def _random_spd(rng, m):
    A = rng.normal(size=(m, m))
    return A @ A.T / m + 0.3 * np.eye(m)


def _problem(rng, n=7, S=25, mp=6, nf=9, per_neuron_penalty=True):
    """Neurons with ``mp`` private inputs each from a pool of ``S`` (overlapping sets), ``nf`` shared ones."""
    private = np.array([rng.choice(S, mp, replace=False) for _ in range(n)])
    shared = S + np.arange(nf)
    base = 0.05 * np.eye(mp)
    base[:3, :3] += 3.0  # a row-sum penalty on each half, like Part 3's
    base[3:, 3:] += 3.0
    if per_neuron_penalty:  # a different private penalty per neuron: it never enters the pooled block
        pen_r = np.stack([base + _random_spd(rng, mp) for _ in range(n)])
    else:
        pen_r = base
    pen_f = _random_spd(rng, nf)
    full = np.zeros((n, mp + nf, mp + nf))
    full[:, :mp, :mp], full[:, mp:, mp:] = pen_r, pen_f
    return private, shared, pen_r, pen_f, full


@pytest.mark.parametrize("per_neuron_penalty", [False, True])
def test_pooled_form_equals_one_P_per_neuron_and_ridge(per_neuron_penalty):
    rng = np.random.default_rng(21)
    private, shared, pen_r, pen_f, full = _problem(rng, per_neuron_penalty=per_neuron_penalty)
    n, mp = private.shape
    S = 25
    w0 = rng.normal(size=(n, mp + shared.size))
    pooled = PooledInputRLS(private, shared, pen_r, pen_f, w0=w0)
    assert pooled.pool.size < n * mp  # the neurons share private inputs: the pooled rows are shared
    plain = BatchRLS(pooled.presyn, full, w0=w0)
    T = 200
    X = rng.random(size=(T, S + shared.size))
    F, O = rng.normal(size=(T, n)), rng.normal(size=(T, n))
    for t in range(T):
        np.testing.assert_allclose(pooled.update(X[t], F[t], O[t]), plain.update(X[t], F[t], O[t]),
                                   rtol=1e-6, atol=1e-9)
    assert np.abs(pooled.w - w0).max() > 0.1  # the weights did move
    np.testing.assert_allclose(pooled.w, plain.w, rtol=1e-6, atol=1e-9)
    for k in range(n):
        np.testing.assert_allclose(pooled.P_of(k), plain.P[k], rtol=1e-6, atol=1e-9)
        expected = ridge_solution(X[:, pooled.presyn[k]], F[:, k] - O[:, k], full[k], w0[k])
        np.testing.assert_allclose(pooled.w[k], expected, rtol=1e-6, atol=1e-9)


def test_pooled_form_equals_the_block_form_step_by_step():
    rng = np.random.default_rng(22)
    private, shared, pen_r, pen_f, _ = _problem(rng, n=12, S=30, mp=8, nf=20)
    w0 = rng.normal(size=(12, 28))
    pooled = PooledInputRLS(private, shared, pen_r, pen_f, w0=w0)
    block = SharedInputRLS(private, shared, pen_r, pen_f, w0=w0)
    for _ in range(300):
        x, f, o = rng.random(50), rng.normal(size=12), rng.normal(size=12)
        np.testing.assert_allclose(pooled.update(x, f, o), block.update(x, f, o), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(pooled.w, block.w, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(pooled.Pr, block.Pr, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(pooled.Q, block.Q, rtol=1e-9, atol=1e-14)
    for k in range(12):  # the block form's per-neuron regression blocks are rows of the pooled one
        np.testing.assert_allclose(pooled.H[pooled.idx[k]], block.Gt[k], rtol=1e-9, atol=1e-12)


# 19: the compiled step's eight-row pass twice, then three rows; 75 neurons: three groups of the
# packed P_r, the last one partly empty
@pytest.mark.parametrize("mp, n", [(6, 7), (19, 7), (6, 75)])
def test_compiled_step_equals_the_plain_numpy_step(mp, n):
    rng = np.random.default_rng(23)
    private, shared, pen_r, pen_f, _ = _problem(rng, n=n, mp=mp)
    rls = PooledInputRLS(private, shared, pen_r, pen_f, w0=rng.normal(size=(n, mp + 9)))
    for _ in range(20):  # a state that is not the initial one
        rls.update(rng.random(34), rng.normal(size=n), rng.normal(size=n))
    Pr, H, Q, w = rls.Pr.copy(), rls.H.copy(), rls.Q.copy(), rls.w.copy()
    x, f, o = rng.random(34), rng.normal(size=n), rng.normal(size=n)
    e_plain = rls_pooled_update(Pr, H, Q, w, rls.idx, x[rls.pool], x[shared], f, o)
    e_comp = rls.update(x, f, o)
    np.testing.assert_allclose(e_comp, e_plain, rtol=1e-12, atol=1e-14)
    for a, b in ((rls.Pr, Pr), (rls.H, H), (rls.Q, Q), (rls.w, w)):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13 * np.abs(b).max())


@pytest.mark.parametrize("n, lanes", [(1, 32), (31, 8), (64, 32), (70, 32)])
def test_packed_symmetric_matrices_round_trip(n, lanes):
    rng = np.random.default_rng(40)
    P = np.stack([_random_spd(rng, 5) for _ in range(n)])
    P = 0.5 * (P + np.swapaxes(P, 1, 2))  # exactly symmetric
    Pk = pack_symmetric(P, lanes)
    groups = -(-n // lanes)
    assert Pk.shape == (groups, 15, lanes) and Pk.flags.c_contiguous
    np.testing.assert_array_equal(unpack_symmetric(Pk, n, 5), P)
    flat = Pk.transpose(0, 2, 1).reshape(-1, 15)
    assert not flat[n:].any()  # the lanes past the last neuron are empty
    np.testing.assert_array_equal(flat[:n], P[:, *np.triu_indices(5)])  # entry q of neuron i
    lower = P.copy()
    lower[:, 3, 1] += 1.0  # only the upper triangle is read
    np.testing.assert_array_equal(unpack_symmetric(pack_symmetric(lower, lanes), n, 5), P)


def test_packed_state_groups_threads_and_sizes():
    rng = np.random.default_rng(41)
    n, S, mp, nf = 150, 120, 10, 120
    private = np.array([rng.choice(S, mp, replace=False) for _ in range(n)])
    rls = PooledInputRLS(private, S + np.arange(nf), 0.1 * np.eye(mp) + 2.0, 1.0, threads=2)
    for _ in range(5):
        rls.update(rng.random(S + nf), rng.normal(size=n), rng.normal(size=n))
    # each thread's neurons start at a group of the packed P_r; the calling thread's chunk is the larger
    assert [c.start for c in rls._chunks] == [0, 3 * LANES] and rls._chunks[-1].stop == n
    groups = -(-n // LANES)
    assert rls.state_nbytes() == 8 * (groups * LANES * mp * (mp + 1) // 2 + S * nf + nf * nf)
    assert rls.state_nbytes() < sum(a.nbytes for a in rls.state().values())  # state() unpacks Pr
    Pr = rls.Pr
    np.testing.assert_array_equal(Pr, np.swapaxes(Pr, 1, 2))
    for k in (0, 37, n - 1):  # P_of reads neuron k's lane
        np.testing.assert_array_equal(rls.P_of(k)[:mp, :mp], Pr[k])
    other = PooledInputRLS(private, S + np.arange(nf), 1.0, 1.0, threads=1)
    other.set_state(rls.state())
    np.testing.assert_array_equal(other.Pr, Pr)
    assert other.state_nbytes() == rls.state_nbytes()
    with pytest.raises(ValueError, match="'Pr'"):
        other.set_state({"Pr": Pr[:-1], "H": rls.H, "Q": rls.Q})
    np.testing.assert_array_equal(other.Pr, Pr)  # a refused state leaves the old one


def test_one_and_two_threads_give_identical_bits():
    # large enough for the thread split to be used (n mp (2 mp + nf) >= 200 000 multiply-adds)
    rng = np.random.default_rng(24)
    n, S, mp, nf = 150, 120, 10, 120
    private = np.array([rng.choice(S, mp, replace=False) for _ in range(n)])
    pen_r = 0.1 * np.eye(mp) + 2.0
    runs = []
    for threads in (1, 2):
        rls = PooledInputRLS(private, S + np.arange(nf), pen_r, 1.0, threads=threads)
        assert rls.threads == threads
        if threads == 2:
            assert len(rls._chunks) == len(rls._row_chunks) == 2
        r = np.random.default_rng(5)
        errs = [rls.update(r.random(S + nf), r.normal(size=n), r.normal(size=n)) for _ in range(25)]
        runs.append((np.array(errs), rls.w, rls.Pr, rls.H, rls.Q))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_an_interrupt_leaves_a_whole_number_of_updates():
    # Ctrl-C at random moments of a run on 2 threads: afterwards the state is that of the updates
    # that returned, or of one more (the interrupted one finishes, then the interrupt is raised),
    # and no worker writes after the interrupt
    rng = np.random.default_rng(27)
    n, S, mp, nf = 150, 120, 10, 120
    private = np.array([rng.choice(S, mp, replace=False) for _ in range(n)])
    args = (private, S + np.arange(nf), 0.1 * np.eye(mp) + 2.0, 1.0)
    steps = [(rng.random(S + nf), rng.normal(size=n)) for _ in range(80)]
    interrupted = 0
    for delay in np.random.default_rng(28).uniform(0.0005, 0.02, size=8):
        rls = PooledInputRLS(*args, threads=2)
        done = 0
        timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
        try:
            try:
                timer.start()
                for x, f in steps:
                    rls.update(x, f)
                    done += 1
            finally:
                timer.cancel()
            timer.join()
            time.sleep(0.02)  # a signal sent just before the cancel lands here
        except KeyboardInterrupt:
            interrupted += 1
        after = [a.copy() for a in (rls.w, rls.Pr, rls.H, rls.Q)]
        time.sleep(0.05)
        assert all(np.array_equal(a, b) for a, b in zip(after, (rls.w, rls.Pr, rls.H, rls.Q)))
        fresh = PooledInputRLS(*args, threads=1)
        states = []
        for k, (x, f) in enumerate(steps[:done + 1]):
            fresh.update(x, f)
            if k >= done - 1:
                states.append([fresh.w.copy(), fresh.Pr.copy(), fresh.H.copy(), fresh.Q.copy()])
        if done == 0:
            states.append([PooledInputRLS(*args).w, PooledInputRLS(*args).Pr, np.zeros((S, nf)), np.eye(nf)])
        assert any(all(np.array_equal(a, b) for a, b in zip(after, s)) for s in states), done
    assert interrupted > 0


def _snapshot(r):
    return {k: a.copy() for k, a in dict(r.state(), w=r.w, err=r.err).items()}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("arg", ["activity", "target", "other"])
@pytest.mark.parametrize("bad", [math.nan, math.inf], ids=["nan", "inf"])
def test_non_finite_input_is_refused_and_leaves_the_state_unchanged(dtype, arg, bad):
    rng = np.random.default_rng(25)
    private, shared, pen_r, pen_f, _ = _problem(rng)
    rls = PooledInputRLS(private, shared, pen_r, pen_f, dtype=dtype)
    ok = dict(activity=rng.random(34), target=rng.normal(size=7), other=np.zeros(7))
    rls.update(**ok)  # a state that is not the initial one
    before = _snapshot(rls)
    x = {k: v.copy() for k, v in ok.items()}
    x[arg][3] = bad
    with pytest.raises(ValueError, match=f"{arg} must be finite"):
        rls.update(**x)
    for k, a in _snapshot(rls).items():
        np.testing.assert_array_equal(a, before[k], err_msg=k)


def test_state_round_trip_and_float32_state():
    rng = np.random.default_rng(26)
    private, shared, pen_r, pen_f, _ = _problem(rng)
    a = PooledInputRLS(private, shared, pen_r, pen_f)
    steps = [(rng.random(34), rng.normal(size=7)) for _ in range(40)]
    for x, f in steps[:20]:
        a.update(x, f)
    b = PooledInputRLS(private, shared, pen_r, pen_f, w0=a.w)
    b.set_state(a.state())
    for x, f in steps[20:]:
        a.update(x, f)
        b.update(x, f)
    np.testing.assert_array_equal(a.w, b.w)
    n, mp, S, nf = 7, 6, a.pool.size, 9
    assert sum(v.size for v in a.state().values()) == n * mp * mp + S * nf + nf * nf
    with pytest.raises(ValueError, match="'H'"):
        b.set_state({"Pr": a.Pr, "H": np.zeros((1, 1)), "Q": a.Q})
    # float32 state: half the bytes, weights close to float64's
    c = PooledInputRLS(private, shared, pen_r, pen_f, dtype=np.float32)
    for x, f in steps:
        c.update(x, f)
    assert c.H.dtype == np.float32 and c.H.nbytes * 2 == a.H.nbytes and c.w.dtype == np.float64
    np.testing.assert_allclose(c.w, a.w, atol=1e-4 * np.abs(a.w).max())


@pytest.mark.parametrize("kwargs, message", [
    (dict(presyn=np.arange(3)), "presyn"),
    (dict(shared=np.zeros((2, 2), int)), "shared"),
    (dict(presyn=-np.ones((2, 3), int)), "non-negative"),
    (dict(penalty=-1.0), "penalty"),
    (dict(penalty_shared=np.eye(3)), "shape"),
    (dict(w0=np.zeros((2, 2))), "w0"),
])
def test_bad_arguments_are_refused(kwargs, message):
    args = dict(presyn=np.zeros((2, 3), int), shared=np.arange(3, 5), penalty=1.0, penalty_shared=1.0)
    with pytest.raises(ValueError, match=message):
        PooledInputRLS(**{**args, **kwargs})


# ---------------------------------------------------------------------------
# Inside Part 3's training

TINY = BalancedParams(N=400, K=40, L=5, n_trained=20, stim_on=100.0, stim_off=200.0, train_duration=600.0,
                      n_loops=2, ffwd=True, n_ffwd=15, inh_weight_ratio=None, score_every=0, n_test_trials=1,
                      seed=3)


@pytest.fixture(scope="module")
def net():
    return balanced.build_network(TINY, synthetic_alm(n_neurons=60, seed=2))


def test_make_rls_defaults_to_the_pooled_form_and_offers_the_block_form(net, monkeypatch):
    pooled = balanced.make_rls(net)  # the default: it trains a full-scale trial faster (issue #15)
    assert type(pooled) is PooledInputRLS
    np.testing.assert_array_equal(pooled.presyn, net.full_presyn)
    assert type(balanced.make_rls(net, form="block")) is SharedInputRLS
    with pytest.raises(ValueError, match="form"):
        balanced.make_rls(net, form="fast")
    no_ffwd = balanced.build_network(replace(TINY, ffwd=False), net.alm)
    assert type(balanced.make_rls(no_ffwd, form="pooled")) is BatchRLS  # no feed-forward inputs to pool
    monkeypatch.setattr(plastic, "RLS_FORM", "block")
    assert type(balanced.make_rls(net)) is SharedInputRLS


def test_a_float32_state_at_small_penalties_is_warned_about_naming_them(net):
    # a float32 state's weights drift from float64's by more than 1e-6 of their change at small
    # penalties (measured at full scale: plastic.FLOAT32_MIN_LAM_REC / _FF); the defaults are quiet
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        balanced.make_rls(net, np.float32)
        balanced.make_rls(net.copy(), np.float64)
    for change, name in ((dict(lam_rec=1e-4), "lam_rec=0.0001"), (dict(lam_ff=1e-3), "lam_ff=0.001")):
        small = replace(net.copy(), params=replace(TINY, **change))
        with pytest.warns(RuntimeWarning, match=name):
            rls = balanced.make_rls(small, np.float32)
        assert rls.H.dtype == np.float32  # warned, not refused
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            balanced.make_rls(small, np.float64)


def test_pooled_form_trains_part3_to_the_weights_of_the_block_form(net, monkeypatch):
    monkeypatch.setattr(plastic, "RLS_FORM", "block")  # train() takes the module's choice
    block = balanced.train(net, progress=False)
    monkeypatch.setattr(plastic, "RLS_FORM", "pooled")
    pooled = balanced.train(net, progress=False)
    assert isinstance(pooled.rls, PooledInputRLS) and type(block.rls) is SharedInputRLS
    change = np.abs(block.network.dw).max()
    assert change > 1e-3  # the weights did move
    np.testing.assert_allclose(pooled.network.w, block.network.w, rtol=1e-6, atol=1e-6 * change)
    np.testing.assert_allclose(pooled.scores, block.scores, atol=1e-6)
    for k in (0, 11, 19):
        P = block.rls.P_of(k)
        np.testing.assert_allclose(pooled.rls.P_of(k), P, rtol=1e-6, atol=1e-6 * np.abs(P).max())


@pytest.mark.parametrize("saved_form, loaded_form", [("pooled", "block"), ("block", "pooled"), ("pooled", "pooled")])
def test_a_saved_rls_state_loads_in_its_own_form_whatever_the_default(net, tmp_path, monkeypatch, saved_form,
                                                                      loaded_form):
    monkeypatch.setattr(plastic, "RLS_FORM", saved_form)
    result = balanced.train(replace(net.copy(), params=replace(TINY, n_loops=1)), progress=False)
    path = result.save(tmp_path / "net")
    monkeypatch.setattr(plastic, "RLS_FORM", loaded_form)
    loaded = balanced.load(path)
    assert type(loaded.rls) is type(result.rls)
    for name, arr in result.rls.state().items():
        np.testing.assert_array_equal(loaded.rls.state()[name], arr)


# ---------------------------------------------------------------------------
# Deferred steps: the shared weights kept in orthogonal form, written only where they are needed.


def _deferred_case(rng, n=9, S=30, mp=7, nf=12):
    private, shared, pen_r, pen_f, _ = _problem(rng, n=n, S=S, mp=mp, nf=nf)
    return private, shared, pen_r, pen_f, rng.normal(size=(n, mp + nf))


def test_the_plain_numpy_deferred_step_equals_the_plain_numpy_step():
    rng = np.random.default_rng(31)
    private, shared, pen_r, pen_f, w0 = _deferred_case(rng)
    rls = PooledInputRLS(private, shared, pen_r, pen_f, w0=w0)
    mp, nf = private.shape[1], shared.size
    a = [rls.Pr.copy(), rls.H.copy(), rls.Q.copy(), rls.w.copy()]
    b = [rls.Pr.copy(), rls.H.copy(), rls.Q.copy(), rls.w.copy()]
    U = b[3][:, mp:].copy()  # H starts at 0: the orthogonal form is the weights themselves
    written = np.zeros(nf, bool)
    for t in range(150):
        x, f, o = rng.random(30 + nf), rng.normal(size=9), rng.normal(size=9)
        cols = rng.choice(nf, rng.integers(0, 4), replace=False)
        e_a = rls_pooled_update(*a, rls.idx, x[rls.pool], x[shared], f, o)
        e_b, u = rls_pooled_deferred_update(*b[:4], U, rls.idx, x[rls.pool], x[shared], f, o, cols)
        np.testing.assert_allclose(e_b, e_a, rtol=1e-10, atol=1e-12)
        # u: each neuron's plastic input with the new weights, w . x
        np.testing.assert_allclose(u, np.einsum("nm,nm->n", a[3], x[rls.presyn]), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b[3][:, :mp], a[3][:, :mp], rtol=1e-10, atol=1e-12)  # private: always
        np.testing.assert_allclose(b[3][:, mp + cols], a[3][:, mp + cols], rtol=1e-10, atol=1e-12)
        written[cols] = True
        for p, q in zip(a[:3], b[:3]):
            np.testing.assert_array_equal(p, q)  # Pr, H and Q take the same arithmetic
    # a column never asked for keeps its old weights (stale), and the orthogonal form gives them all
    stale = ~written
    if stale.any():
        np.testing.assert_array_equal(b[3][:, mp:][:, stale], w0[:, mp:][:, stale])
    np.testing.assert_allclose(U - np.einsum("npq,np->nq", b[1][rls.idx], b[3][:, :mp]), a[3][:, mp:],
                               rtol=1e-10, atol=1e-12)
    assert np.abs(a[3] - w0).max() > 0.1  # the weights did move


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("to_w_out", [False, True], ids=["into_w", "into_shared_out"])
def test_compiled_deferred_steps_equal_the_plain_numpy_ones_and_write_every_weight_at_the_end(threads, to_w_out):
    rng = np.random.default_rng(32)
    n, S, mp, nf = 150, 120, 10, 120  # big enough to run on 2 threads
    private = np.array([rng.choice(S, mp, replace=False) for _ in range(n)])
    shared = S + np.arange(nf)
    w0 = rng.normal(size=(n, mp + nf))
    rls = PooledInputRLS(private, shared, 0.1 * np.eye(mp) + 2.0, 1.0, w0=w0, threads=threads)
    assert rls.threads == threads
    eager = PooledInputRLS(private, shared, 0.1 * np.eye(mp) + 2.0, 1.0, w0=w0, threads=threads)
    Pr, H, Q, w = rls.Pr.copy(), rls.H.copy(), rls.Q.copy(), rls.w.copy()
    for _ in range(5):  # start from a state that is not the initial one (H != 0)
        x, f, o = rng.random(S + nf), rng.normal(size=n), rng.normal(size=n)
        rls.update(x, f, o), eager.update(x, f, o), rls_pooled_update(Pr, H, Q, w, rls.idx, x[rls.pool],
                                                                      x[shared], f, o)
    U = w[:, mp:] + np.einsum("npq,np->nq", H[rls.idx], w[:, :mp])
    u = np.zeros(n)
    w_out = np.full(nf * n + 3, np.nan)  # a second copy of the shared weights, column by column
    with pytest.raises(ValueError, match="shared_out"):
        with rls.deferred(shared_out=(w_out, np.arange(nf) * n + 4)):  # the last column would not fit
            pass
    w_before = rls.w.copy()
    with rls.deferred(shared_out=(w_out, np.arange(nf) * n + 3) if to_w_out else None):
        for _ in range(40):
            x, f, o = rng.random(S + nf), rng.normal(size=n), rng.normal(size=n)
            soon = rng.choice(S + nf + 5, 12)  # private and shared inputs, and indices beyond both
            cols = np.unique(soon[(soon >= S) & (soon < S + nf)] - S)
            rls.step_deferred(x, f, o, soon, u)
            e, u_plain = rls_pooled_deferred_update(Pr, H, Q, w, U, rls.idx, x[rls.pool], x[shared], f, o, cols)
            eager.update(x, f, o)
            np.testing.assert_allclose(rls.err, e, rtol=1e-11, atol=1e-12)
            np.testing.assert_allclose(u, u_plain, rtol=1e-11, atol=1e-12)
            np.testing.assert_allclose(u, eager.output(x), rtol=1e-10, atol=1e-10)
            written = w_out[3:].reshape(nf, n)[cols].T if to_w_out else rls.w[:, mp + cols]
            np.testing.assert_allclose(written, eager.w[:, mp + cols], rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(rls.w[:, :mp], eager.w[:, :mp], rtol=1e-10, atol=1e-12)
        if to_w_out:  # w's shared columns wait for the end of the context
            np.testing.assert_array_equal(rls.w[:, mp:], w_before[:, mp:])
        else:
            assert np.isnan(w_out).all()
        with pytest.raises(RuntimeError, match="step_deferred"):
            rls.update(x, f, o)
        with pytest.raises(RuntimeError, match="already"):
            with rls.deferred():
                pass
    change = np.abs(eager.w - w0).max()
    assert change > 0.1
    np.testing.assert_allclose(rls.w, eager.w, rtol=1e-10, atol=1e-12 * change)  # every column written
    for name, arr in eager.state().items():
        np.testing.assert_allclose(rls.state()[name], arr, rtol=1e-10, atol=1e-13 * np.abs(arr).max())
    with pytest.raises(RuntimeError, match="deferred"):
        rls.step_deferred(x, f, o, soon, u)
    rls.update(x, f, o)  # outside the context, the eager step again


def test_deferred_steps_on_one_and_two_threads_give_identical_bits():
    rng = np.random.default_rng(33)
    n, S, mp, nf = 150, 120, 10, 120
    private = np.array([rng.choice(S, mp, replace=False) for _ in range(n)])
    runs = []
    for threads in (1, 2):
        rls = PooledInputRLS(private, S + np.arange(nf), 0.1 * np.eye(mp) + 2.0, 1.0, threads=threads)
        r = np.random.default_rng(5)
        u, us = np.zeros(n), []
        with rls.deferred():
            for _ in range(25):
                rls.step_deferred(r.random(S + nf), r.normal(size=n), r.normal(size=n), r.choice(S + nf, 20), u)
                us.append(u.copy())
        runs.append((np.array(us), rls.w, rls.Pr, rls.H, rls.Q))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_a_training_trial_with_deferred_steps_equals_one_with_eager_steps(net, monkeypatch):
    # simulate() takes deferred steps with a PooledInputRLS; with them hidden it takes eager ones
    deferred = balanced.train(net, progress=False)
    assert isinstance(deferred.rls, PooledInputRLS)
    calls = []
    monkeypatch.setattr(PooledInputRLS, "step_deferred", lambda *a: calls.append(a))
    monkeypatch.delattr(PooledInputRLS, "deferred")
    eager = balanced.train(net, progress=False)
    assert not calls
    change = np.abs(eager.network.dw).max()
    assert change > 1e-3
    np.testing.assert_allclose(deferred.network.w, eager.network.w, rtol=1e-9, atol=1e-9 * change)
    np.testing.assert_array_equal(deferred.rls.w, deferred.network.w)
    np.testing.assert_allclose(deferred.scores, eager.scores, atol=1e-9)
    for c in ("right", "left"):
        np.testing.assert_array_equal(deferred.last.trials[c].spike_neurons, eager.last.trials[c].spike_neurons)
        # the input itself (with the plastic part the kernel keeps), not only the spikes it causes
        np.testing.assert_allclose(deferred.last.trials[c].binned, eager.last.trials[c].binned, rtol=1e-9,
                                   atol=1e-9)


def test_deferred_steps_with_a_float32_state_follow_the_eager_float32_steps():
    rng = np.random.default_rng(34)
    private, shared, pen_r, pen_f, w0 = _deferred_case(rng, n=20, S=60, mp=8, nf=25)
    deferred = PooledInputRLS(private, shared, pen_r, pen_f, w0=w0, dtype=np.float32)
    eager = PooledInputRLS(private, shared, pen_r, pen_f, w0=w0, dtype=np.float32)
    u = np.zeros(20)
    with deferred.deferred():
        for _ in range(60):
            x, f, o = rng.random(85), rng.normal(size=20), rng.normal(size=20)
            deferred.step_deferred(x, f, o, np.arange(60, 85), u)  # every shared column, every step
            eager.update(x, f, o)
            np.testing.assert_allclose(u, eager.output(x), rtol=1e-5, atol=1e-5)
    assert deferred.Pr.dtype == deferred.H.dtype == np.float32
    change = np.abs(eager.w - w0).max()
    assert change > 0.1
    np.testing.assert_allclose(deferred.w, eager.w, rtol=1e-5, atol=1e-5 * change)


def test_a_ctrl_c_as_deferred_steps_begin_leaves_the_weights_alone_and_the_state_usable(monkeypatch):
    # a Ctrl-C held back while the orthogonal form is computed comes out at the end of that section,
    # before the body runs: the context must still end (no 'already active' afterwards), and with no
    # step taken w must be left to the bit
    rng = np.random.default_rng(35)
    private, shared, pen_r, pen_f, w0 = _deferred_case(rng)
    rls = PooledInputRLS(private, shared, pen_r, pen_f, w0=w0)
    x = rng.random(42)
    rls.update(x, rng.normal(size=9))  # H != 0: the orthogonal form differs from w
    w_before = rls.w.copy()
    real = rls_state.run_chunks

    def interrupted(*args):
        real(*args)
        raise KeyboardInterrupt

    monkeypatch.setattr(rls_state, "run_chunks", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with rls.deferred():
            pytest.fail("the body ran")
    monkeypatch.undo()
    np.testing.assert_array_equal(rls.w, w_before)
    with rls.deferred():  # usable again
        pass
    np.testing.assert_array_equal(rls.w, w_before)  # no step, no rounding of w
    rls.update(x, rng.normal(size=9))


def _trace_run(rng, n=150, S=120, mp=10, nf=120, n_steps=400, rate=0.02):
    """Activity as the simulation makes it: every input a trace of its spikes (times ``decay`` each time
    step, then ``+ gain`` per spike of that step), learning steps at irregular intervals; returns the
    RLS problem, the traces at each learning step and the spikes between them."""
    private = np.array([rng.choice(S, mp, replace=False) for _ in range(n)])
    shared = S + np.arange(nf)
    decay, gain = 1.0 - 0.1 / 20.0, 1.0 / 20.0
    counts = rng.poisson(rate * (S + nf), size=n_steps)
    ptr = np.concatenate([[0], np.cumsum(counts)])
    src = rng.integers(0, S + nf + 3, size=ptr[-1])  # some indices beyond every input, as noise
    learn = np.unique(np.concatenate([[5], rng.choice(np.arange(6, n_steps - 1), 40, replace=False)]))
    r = np.zeros(S + nf + 3)
    steps = []
    for t in range(n_steps):
        if t in set(learn.tolist()):
            steps.append(r.copy())
        r *= decay  # the kernel's arithmetic, spike by spike
        for a in src[ptr[t]:ptr[t + 1]]:
            r[a] += gain
    return private, shared, (decay, gain), ptr, src, learn, steps


def _deferred_trace_steps(rls, case, ahead: bool, spoil=(), rng_seed=7):
    """Deferred steps on ``case`` (as :func:`_trace_run`); with ``ahead``, told the spikes to come
    (wrongly at the learning steps in ``spoil``); returns the errors and plastic inputs of each step."""
    _, _, traces, ptr, src, learn, acts = case
    n = rls.n_neurons
    r = np.random.default_rng(rng_seed)
    nxt = np.append(learn[1:], ptr.size - 1)
    u, out = np.zeros(n), []
    with rls.deferred(traces=traces if ahead else None):
        for j, (s, x) in enumerate(zip(learn, acts)):
            after = nxt[min(j + 1, nxt.size - 1)]
            soon, steps, next_soon = src[ptr[s]:ptr[nxt[j]]], ptr[s:nxt[j] + 1], src[ptr[nxt[j]]:ptr[after]]
            if j in spoil:  # a wrong forecast: one time step too few (one decay of every trace missing)
                steps = steps[:-1]
            kw = dict(soon_steps=steps, next_soon=next_soon) if ahead else {}
            rls.step_deferred(x, r.normal(size=n), r.normal(size=n), src[ptr[s]:ptr[nxt[j]]], u, **kw)
            out.append((rls.err.copy(), u.copy()))
    return out


@pytest.mark.parametrize("threads", [1, 2])
def test_steps_told_the_spikes_to_come_give_the_same_bits_as_steps_that_are_not(threads):
    # the work left for after a step (H, U, Q and the next step's products) is the same work whether it
    # was made ahead from the forecast traces, made by the next step itself, or the forecast was wrong
    case = _trace_run(np.random.default_rng(36))
    private, shared = case[:2]
    runs = {}
    for name, ahead, spoil in (("plain", False, ()), ("ahead", True, ()), ("spoilt", True, (3, 4, 17, 30))):
        rls = PooledInputRLS(private, shared, 0.1 * np.eye(private.shape[1]) + 2.0, 1.0, threads=threads)
        out = _deferred_trace_steps(rls, case, ahead, spoil)
        runs[name] = (out, [rls.w, rls.Pr, rls.H, rls.Q])
        # the first step makes its own products; then every step whose forecast was right finds them made
        assert rls._own_products == (len(case[5]) if not ahead else 1 + len(spoil))
    for name in ("ahead", "spoilt"):
        for (e, u), (e0, u0) in zip(runs[name][0], runs["plain"][0]):
            np.testing.assert_array_equal(e, e0)
            np.testing.assert_array_equal(u, u0)
        for a, b in zip(runs[name][1], runs["plain"][1]):
            np.testing.assert_array_equal(a, b)
    # and they are RLS: the eager steps' weights, to round-off
    eager = PooledInputRLS(private, shared, 0.1 * np.eye(private.shape[1]) + 2.0, 1.0)
    r = np.random.default_rng(7)
    for x in case[6]:
        eager.update(x, r.normal(size=eager.n_neurons), r.normal(size=eager.n_neurons))
    np.testing.assert_allclose(runs["ahead"][1][0], eager.w, rtol=1e-10, atol=1e-12)


def test_the_work_left_after_a_step_is_done_before_the_context_ends_however_it_ends():
    # an exception after a step on two threads: the context waits for the pool's part of the step, so
    # the state is that of the same steps on one thread (where nothing is left for later), to the bit
    case = _trace_run(np.random.default_rng(37), n_steps=200)
    private, shared = case[:2]
    states = []
    for threads in (1, 2):
        rls = PooledInputRLS(private, shared, 0.1 * np.eye(private.shape[1]) + 2.0, 1.0, threads=threads)
        with pytest.raises(RuntimeError, match="stop"):
            with rls.deferred(traces=case[2]):
                rls.step_deferred(case[6][0], np.ones(rls.n_neurons), np.zeros(rls.n_neurons),
                                  case[4][:0], np.zeros(rls.n_neurons), case[3][:3], case[4][:5])
                raise RuntimeError("stop")
        assert rls._job is None
        states.append([rls.w, rls.Pr, rls.H, rls.Q])
    for a, b in zip(*states):
        np.testing.assert_array_equal(a, b)


def test_a_training_trial_forecasts_the_feed_forward_traces_to_the_bit(net, monkeypatch):
    # the forecast of the shared inputs' traces copies the simulation's arithmetic; were it off by a
    # bit, every step would make its own products (same results, no time gained)
    rls = balanced.make_rls(net)
    steps = []
    monkeypatch.setattr(rls, "step_deferred", lambda *a, _f=rls.step_deferred, **k: (steps.append(1), _f(*a, **k)))
    balanced.run_trial(net, "right", rls, loop=0, keep_run=False)
    assert len(steps) > 10
    assert rls._own_products == 1  # the first step's only
