"""The low-level RLS API refuses bad input by name, with its valid range, before allocating its state.

A table of hostile inputs over every entry point of the RLS equations and states
(:mod:`tutorial_lib.core.rls`, :mod:`tutorial_lib.engine`): the four state classes (``BatchRLS``,
``SharedPoolRLS``, ``SharedInputRLS``, ``PooledInputRLS``), their public methods
(``update``, ``output``, ``set_state``, ``P_of``, ``deferred``), ``make_rls``,
``ridge_solution`` and the plain NumPy steps (``rls_update``, ``rls_update_batch``,
``rls_pooled_update``), plus Part 3's ``balanced.make_rls``. Each must raise a ValueError or
TypeError whose single-line message names the parameter and says what is allowed ("must"), or,
for sizes, a :class:`~tutorial_lib.checks.MemoryEstimateError` naming the parameter that sizes
the state, raised before it is allocated. The classes of input: the state's dtype; penalties
(positive, finite, symmetric positive definite, within the range where the update stays
finite in that dtype); shapes; indices (in range after conversion, whole, no repeat within a
row); thread counts; NaN and infinity.

Then the valid side: penalties at the edges of the range give finite updates in both dtypes, and
a non-finite input passed to the unchecked ``step`` shows as a non-finite error of the neurons it
reaches (what the models' divergence check reads).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from tutorial_lib.checks import MemoryEstimateError
from tutorial_lib.core.rls import ridge_solution, rls_pooled_update, rls_update, rls_update_batch
from tutorial_lib.core.rls_checks import penalty_range
from tutorial_lib.engine.rls_pooled import PooledInputRLS
from tutorial_lib.engine.rls_shared import SharedInputRLS, SharedPoolRLS, make_rls
from tutorial_lib.engine.rls_state import BatchRLS, default_threads

U64MAX = np.iinfo(np.uint64).max  # 18446744073709551615: wraps to -1 as int64


@pytest.fixture(autouse=True)
def fixed_memory_limit(monkeypatch):
    """The memory estimate against a fixed 16 GiB, not against what the machine has free right now."""
    monkeypatch.setenv("TUTORIAL_MEMORY_GB", "16")


def _names(message: str, name: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w])", message) is not None


# ---- valid arguments of each entry point, which each case spoils in one place ----

PRESYN = np.array([[0, 1, 2], [1, 2, 3]])  # 2 neurons, 3 inputs each, from an activity of 4
PRIVATE = np.array([[0, 1], [1, 2]])  # 2 neurons, 2 private inputs each from 0..2, shared 3..4
SHARED = np.array([3, 4])


def batch(**kw):
    return BatchRLS(**{**dict(presyn=PRESYN, penalty=0.5), **kw})


def pool(**kw):
    return SharedPoolRLS(**{**dict(n_pool=5, rows=[0, 2], lam=0.5), **kw})


def block(**kw):
    return SharedInputRLS(**{**dict(presyn=PRIVATE, shared=SHARED, penalty=0.5, penalty_shared=1.0), **kw})


def pooled(**kw):
    return PooledInputRLS(**{**dict(presyn=PRIVATE, shared=SHARED, penalty=0.5, penalty_shared=1.0), **kw})


def ridge(**kw):
    args = dict(X=np.ones((4, 3)), y=np.arange(4.0), penalty=0.5)
    return ridge_solution(**{**args, **kw})


def make(**kw):
    return make_rls(**{**dict(presyn=np.array([[1, 2], [0, 2]]), penalty=0.5, rows=[0, 1], n_pool=3), **kw})


def one_step(**kw):
    args = dict(P=np.eye(3), w=np.zeros(3), x=np.ones(3), f=1.0)
    return rls_update(**{**args, **kw})


def batch_step(**kw):
    args = dict(P=np.stack([np.eye(3)] * 2), w=np.zeros((2, 3)), x=np.ones((2, 3)), f=np.ones(2))
    return rls_update_batch(**{**args, **kw})


def pooled_step(**kw):
    # 2 neurons, mp = 2 private inputs from a pool of S = 3, nf = 2 shared
    args = dict(Pr=np.stack([np.eye(2)] * 2), H=np.zeros((3, 2)), Q=np.eye(2), w=np.zeros((2, 4)),
                idx=np.array([[0, 1], [1, 2]]), p=np.ones(3), f=np.ones(2), target=np.ones(2))
    return rls_pooled_update(**{**args, **kw})


def updated(make_state, **kw):
    """``update`` of a fresh state with valid activity (5 entries), targets and other input, spoilt by ``kw``."""
    state = make_state()
    args = dict(activity=np.linspace(0.1, 0.5, 5), target=np.ones(2), other=None)
    return state.update(**{**args, **kw})


def _indefinite(m):
    return np.eye(m) - 2.0 * np.ones((m, m)) / m  # eigenvalues 1 and -1


# ---- the table: (id, call, the parameter its message must name, a pattern it must also show) ----

CASES = [
    # BatchRLS: presyn
    ("batch-presyn-1d", lambda: batch(presyn=np.arange(3)), "presyn", None),
    ("batch-presyn-3d", lambda: batch(presyn=np.zeros((2, 3, 1), int)), "presyn", None),
    ("batch-presyn-no-inputs", lambda: batch(presyn=np.zeros((2, 0), int)), "presyn", None),
    ("batch-presyn-no-neurons", lambda: batch(presyn=np.zeros((0, 3), int)), "presyn", None),
    ("batch-presyn-fraction", lambda: batch(presyn=[[0, 1.5, 2], [1, 2, 3]]), "presyn", "1.5"),
    ("batch-presyn-nan", lambda: batch(presyn=[[0, math.nan, 2], [1, 2, 3]]), "presyn", None),
    ("batch-presyn-bool", lambda: batch(presyn=np.ones((2, 3), bool)), "presyn", "bool"),
    ("batch-presyn-negative", lambda: batch(presyn=[[0, -1, 2], [1, 2, 3]]), "presyn", "-1"),
    ("batch-presyn-uint64-max", lambda: batch(presyn=np.array([[0, U64MAX, 2], [1, 2, 3]], np.uint64)),
     "presyn", str(U64MAX)),
    ("batch-presyn-huge-int", lambda: batch(presyn=[[0, 2**70, 2], [1, 2, 3]]), "presyn", str(2**70)),
    ("batch-presyn-text", lambda: batch(presyn=[["a", "b", "c"], ["d", "e", "f"]]), "presyn", None),
    ("batch-presyn-None", lambda: batch(presyn=None), "presyn", None),
    ("batch-presyn-repeat", lambda: batch(presyn=[[0, 1, 2], [1, 3, 1]]), "presyn", r"row 1\b"),
    ("batch-presyn-too-large", lambda: batch(presyn=np.broadcast_to(np.arange(3000), (3000, 3000))),
     "presyn", None),
    # BatchRLS: penalty
    ("batch-penalty-zero", lambda: batch(penalty=0.0), "penalty", None),
    ("batch-penalty-negative", lambda: batch(penalty=-1.0), "penalty", None),
    ("batch-penalty-nan", lambda: batch(penalty=math.nan), "penalty", None),
    ("batch-penalty-inf", lambda: batch(penalty=math.inf), "penalty", None),
    ("batch-penalty-subnormal", lambda: batch(penalty=1e-320), "penalty", r"\[1\.5e-154, 6\.7e\+153\].*got 1e-3"),
    ("batch-penalty-huge", lambda: batch(penalty=1e308), "penalty", r"\[1\.5e-154, 6\.7e\+153\].*got 1e\+308"),
    ("batch-penalty-float32-tiny", lambda: batch(penalty=1e-40, dtype=np.float32), "penalty",
     r"\[1\.09e-19, 9\.22e\+18\].*float32"),
    ("batch-penalty-complex", lambda: batch(penalty=1 + 1j), "penalty", None),
    ("batch-penalty-text", lambda: batch(penalty="abc"), "penalty", None),
    ("batch-penalty-bool", lambda: batch(penalty=True), "penalty", None),
    ("batch-penalty-None", lambda: batch(penalty=None), "penalty", None),
    ("batch-penalty-not-symmetric", lambda: batch(penalty=np.triu(np.ones((3, 3)))), "penalty", "symmetric"),
    ("batch-penalty-indefinite", lambda: batch(penalty=_indefinite(3)), "penalty", "positive definite"),
    ("batch-penalty-wrong-shape", lambda: batch(penalty=np.eye(4)), "penalty", "shape"),
    ("batch-penalty-matrix-nan", lambda: batch(penalty=np.diag([1.0, math.nan, 1.0])), "penalty", None),
    ("batch-penalty-matrix-huge", lambda: batch(penalty=1e300 * np.eye(3)), "penalty", None),
    ("batch-penalty-matrix-near-singular", lambda: batch(penalty=np.diag([1.0, 1e-200, 1.0])), "penalty", None),
    # BatchRLS: w0, dtype, threads
    ("batch-w0-nan", lambda: batch(w0=[[0, 0, 0], [0, math.nan, 0]]), "w0", "neuron 1"),
    ("batch-w0-inf", lambda: batch(w0=[[0, 0, math.inf], [0, 0, 0]]), "w0", "neuron 0"),
    ("batch-w0-wrong-shape", lambda: batch(w0=np.zeros((3, 2))), "w0", None),
    ("batch-w0-complex", lambda: batch(w0=np.zeros((2, 3), complex)), "w0", None),
    ("batch-w0-text", lambda: batch(w0=[["a"] * 3] * 2), "w0", None),
    ("batch-dtype-float16", lambda: batch(dtype=np.float16), "dtype", "float16"),
    ("batch-dtype-complex", lambda: batch(dtype=np.complex128), "dtype", "complex128"),
    ("batch-dtype-int", lambda: batch(dtype=np.int64), "dtype", "int64"),
    ("batch-dtype-object", lambda: batch(dtype=object), "dtype", "object"),
    ("batch-dtype-longdouble", lambda: batch(dtype=np.longdouble), "dtype", None),
    ("batch-dtype-text", lambda: batch(dtype="abc"), "dtype", None),
    ("batch-threads-zero", lambda: batch(threads=0), "threads", None),
    ("batch-threads-negative", lambda: batch(threads=-1), "threads", None),
    ("batch-threads-fraction", lambda: batch(threads=1.5), "threads", None),
    ("batch-threads-bool", lambda: batch(threads=True), "threads", "bool"),
    ("batch-threads-text", lambda: batch(threads="2"), "threads", None),
    # SharedPoolRLS
    ("pool-n_pool-zero", lambda: pool(n_pool=0), "n_pool", None),
    ("pool-n_pool-one", lambda: pool(n_pool=1, rows=[0]), "n_pool", None),
    ("pool-n_pool-fraction", lambda: pool(n_pool=5.5), "n_pool", None),
    ("pool-n_pool-bool", lambda: pool(n_pool=True), "n_pool", None),
    ("pool-n_pool-text", lambda: pool(n_pool="5"), "n_pool", None),
    ("pool-n_pool-too-large", lambda: pool(n_pool=10**6), "n_pool", None),
    ("pool-rows-out-of-range", lambda: pool(rows=[0, 5]), "rows", r"\[0, 4\]"),
    ("pool-rows-repeat", lambda: pool(rows=[2, 0, 2]), "rows", None),
    ("pool-rows-2d", lambda: pool(rows=[[0, 2]]), "rows", None),
    ("pool-rows-uint64-max", lambda: pool(rows=np.array([0, U64MAX], np.uint64)), "rows", str(U64MAX)),
    ("pool-rows-fraction", lambda: pool(rows=[0, 1.5]), "rows", None),
    ("pool-rows-empty", lambda: pool(rows=[]), "rows", None),
    ("pool-lam-subnormal", lambda: pool(lam=1e-320), "lam", r"\[1\.5e-154"),
    ("pool-lam-huge", lambda: pool(lam=1e308), "lam", None),
    ("pool-lam-text", lambda: pool(lam="abc"), "lam", None),
    ("pool-lam-complex", lambda: pool(lam=1j), "lam", None),
    ("pool-lam-array", lambda: pool(lam=[0.5, 0.5]), "lam", None),
    ("pool-w0-nan", lambda: pool(w0=np.where(np.eye(2, 4) > 0, math.nan, 0.0)), "w0", "neuron 0"),
    ("pool-dtype-float16", lambda: pool(dtype=np.float16), "dtype", None),
    # SharedInputRLS
    ("block-presyn-no-neurons", lambda: block(presyn=np.zeros((0, 2), int)), "presyn", None),
    ("block-presyn-repeat", lambda: block(presyn=[[0, 1], [2, 2]]), "presyn", r"row 1\b"),
    ("block-presyn-overlaps-shared", lambda: block(presyn=[[0, 3], [1, 2]]), "shared", r"row 0\b"),
    ("block-presyn-uint64-max", lambda: block(presyn=np.array([[0, U64MAX], [1, 2]], np.uint64)), "presyn",
     str(U64MAX)),
    ("block-shared-2d", lambda: block(shared=[[3, 4]]), "shared", None),
    ("block-shared-repeat", lambda: block(shared=[3, 3]), "shared", None),
    ("block-shared-negative", lambda: block(shared=[3, -4]), "shared", None),
    ("block-penalty_shared-nan", lambda: block(penalty_shared=math.nan), "penalty_shared", None),
    ("block-penalty_shared-indefinite", lambda: block(penalty_shared=_indefinite(2)), "penalty_shared",
     "positive definite"),
    ("block-penalty_shared-huge", lambda: block(penalty_shared=1e308), "penalty_shared", None),
    ("block-penalty-float32-tiny", lambda: block(penalty=1e-40, dtype="float32"), "penalty", "float32"),
    ("block-w0-wrong-shape", lambda: block(w0=np.zeros((2, 2))), "w0", r"\(2, 4\)"),
    ("block-threads-zero", lambda: block(threads=0), "threads", None),
    ("block-dtype-int", lambda: block(dtype=int), "dtype", None),
    ("block-too-large", lambda: block(presyn=np.broadcast_to(np.arange(2000), (2000, 2000)),
                                      shared=2000 + np.arange(2000)), "presyn", None),
    # PooledInputRLS
    ("pooled-presyn-repeat", lambda: pooled(presyn=[[1, 1], [1, 2]]), "presyn", r"row 0\b"),
    ("pooled-presyn-overlaps-shared", lambda: pooled(presyn=[[0, 1], [4, 2]]), "shared", r"row 1\b"),
    ("pooled-presyn-huge-index", lambda: pooled(presyn=[[0, 10**13], [1, 2]]), "presyn", None),
    ("pooled-shared-fraction", lambda: pooled(shared=[3, 4.5]), "shared", None),
    ("pooled-penalty-per-neuron-indefinite",
     lambda: pooled(penalty=np.stack([np.eye(2), _indefinite(2)])), "penalty", "neuron 1"),
    ("pooled-penalty_shared-float32-tiny", lambda: pooled(penalty_shared=1e-40, dtype=np.float32),
     "penalty_shared", None),
    ("pooled-w0-inf", lambda: pooled(w0=np.where(np.eye(2, 4, 3) > 0, -math.inf, 0.0)), "w0", "neuron 0"),
    ("pooled-threads-bool", lambda: pooled(threads=True), "threads", None),
    ("pooled-dtype-float16", lambda: pooled(dtype=np.float16), "dtype", None),
    # update, output, set_state, P_of, deferred
    ("update-activity-2d", lambda: updated(batch, activity=np.ones((5, 1))), "activity", None),
    ("update-activity-short", lambda: updated(batch, activity=np.ones(3)), "activity", None),
    ("update-activity-text", lambda: updated(batch, activity=["a"] * 5), "activity", None),
    ("update-activity-None", lambda: updated(batch, activity=None), "activity", None),
    ("update-activity-complex", lambda: updated(batch, activity=np.ones(5, complex)), "activity", None),
    ("update-activity-nan", lambda: updated(batch, activity=[0, 0, math.nan, 0, 0]), "activity", "entry 2"),
    ("update-activity-float32-overflow", lambda: updated(lambda: batch(dtype=np.float32),
                                                          activity=[0, 1e39, 0, 0, 0]), "activity", "float32"),
    ("update-target-wrong-length", lambda: updated(batch, target=np.ones(3)), "target", None),
    ("update-target-text", lambda: updated(batch, target="abc"), "target", None),
    ("update-target-inf", lambda: updated(pool, target=[1.0, math.inf]), "target", None),
    ("update-other-wrong-length", lambda: updated(block, other=np.ones(5)), "other", None),
    ("update-pool-activity-wrong-length", lambda: updated(pool, activity=np.ones(6)), "activity", None),
    ("update-pooled-target-2d", lambda: updated(pooled, target=np.ones((2, 2))), "target", None),
    ("update-pooled-activity-short", lambda: updated(pooled, activity=np.ones(4)), "activity", None),
    ("output-activity-short", lambda: batch().output(np.ones(3)), "activity", None),
    ("set_state-P-nan", lambda: batch().set_state({"P": np.full((2, 3, 3), math.nan)}), "arrays", "'P'"),
    ("set_state-missing", lambda: batch().set_state({}), "arrays", "'P'"),
    ("set_state-pooled-Q-inf", lambda: pooled().set_state({**pooled().state(), "Q": np.full((2, 2), math.inf)}),
     "arrays", "'Q'"),
    ("P_of-out-of-range", lambda: pool().P_of(2), "k", None),
    ("P_of-negative", lambda: block().P_of(-1), "k", None),
    ("deferred-traces-wrong-length", lambda: pooled().deferred(traces=(0.9,)).__enter__(), "traces", None),
    # ridge_solution
    ("ridge-X-1d", lambda: ridge(X=np.ones(4)), "X", None),
    ("ridge-X-nan", lambda: ridge(X=np.where(np.eye(4, 3) > 0, math.nan, 1.0)), "X", None),
    ("ridge-y-wrong-length", lambda: ridge(y=np.ones(5)), "y", None),
    ("ridge-y-inf", lambda: ridge(y=[0, 1, math.inf, 3]), "y", None),
    ("ridge-penalty-negative", lambda: ridge(penalty=-0.5), "penalty", None),
    ("ridge-penalty-subnormal", lambda: ridge(penalty=1e-320), "penalty", None),
    ("ridge-penalty-indefinite", lambda: ridge(penalty=_indefinite(3)), "penalty", "positive definite"),
    ("ridge-penalty-wrong-shape", lambda: ridge(penalty=np.eye(2)), "penalty", None),
    ("ridge-w0-wrong-length", lambda: ridge(w0=np.zeros(2)), "w0", None),
    # make_rls
    ("make-presyn-1d", lambda: make(presyn=np.arange(2)), "presyn", None),
    ("make-rows-without-n_pool", lambda: make(n_pool=None), "n_pool", None),
    ("make-n_pool-zero", lambda: make(n_pool=0), "n_pool", None),
    ("make-rows-out-of-range", lambda: make(rows=[0, 7]), "rows", None),
    ("make-penalty-nan", lambda: make(penalty=math.nan), "penalty", None),
    # the plain NumPy steps
    ("rls_update-x-wrong-length", lambda: one_step(x=np.ones(2)), "x", None),
    ("rls_update-x-nan", lambda: one_step(x=[1, math.nan, 1]), "x", None),
    ("rls_update-f-nan", lambda: one_step(f=math.nan), "f", None),
    ("rls_update-f-array", lambda: one_step(f=np.ones(2)), "f", None),
    ("rls_update-P-int", lambda: one_step(P=np.eye(3, dtype=int)), "P", None),
    ("rls_update-P-not-square", lambda: one_step(P=np.ones((3, 2))), "P", None),
    ("rls_update-w-wrong-length", lambda: one_step(w=np.zeros(4)), "w", None),
    ("rls_update-other-inf", lambda: one_step(other=math.inf), "other", None),
    ("rls_update_batch-x-wrong-shape", lambda: batch_step(x=np.ones((2, 4))), "x", None),
    ("rls_update_batch-f-wrong-length", lambda: batch_step(f=np.ones(3)), "f", None),
    ("rls_update_batch-P-2d", lambda: batch_step(P=np.eye(3)), "P", None),
    ("rls_update_batch-w-nan", lambda: batch_step(w=np.full((2, 3), math.nan)), "w", None),
    ("rls_pooled_update-idx-out-of-range", lambda: pooled_step(idx=np.array([[0, 1], [1, 3]])), "idx", None),
    ("rls_pooled_update-f-wrong-length", lambda: pooled_step(f=np.ones(3)), "f", None),
    ("rls_pooled_update-target-nan", lambda: pooled_step(target=[1.0, math.nan]), "target", None),
    ("rls_pooled_update-p-wrong-length", lambda: pooled_step(p=np.ones(2)), "p", None),
]


@pytest.mark.parametrize("call, name, shows", [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_hostile_input_is_refused_by_name(call, name, shows):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    msg = str(info.value)
    assert _names(msg, name), f"the message does not name {name!r}: {msg}"
    assert "must" in msg or isinstance(info.value, MemoryEstimateError), f"says not what is allowed: {msg}"
    assert "\n" not in msg, msg
    if shows:
        assert re.search(shows, msg), f"the message does not show {shows!r}: {msg}"


MEMORY_CASES = [c for c in CASES if "too-large" in c[0] or "huge-index" in c[0]]


@pytest.mark.parametrize("call, name", [pytest.param(c[1], c[2], id=c[0]) for c in MEMORY_CASES])
def test_a_state_too_large_for_memory_is_refused_before_it_is_allocated(call, name, monkeypatch):
    def trap(*args, **kwargs):
        raise AssertionError("the state was allocated")

    for alloc in ("zeros", "empty", "full", "eye"):  # any allocation of the state fails the test
        monkeypatch.setattr(np, alloc, trap)
    with pytest.raises(MemoryEstimateError) as info:
        call()
    assert info.value.parameters[0] == name and info.value.needed > info.value.available


def test_the_table_covers_every_entry_point_with_at_least_51_cases():
    assert len(CASES) >= 51
    ids = " ".join(c[0] for c in CASES)
    for entry in ("batch-", "pool-", "block-", "pooled-", "update-", "output-", "set_state-", "P_of-",
                  "deferred-", "ridge-", "make-", "rls_update-", "rls_update_batch-", "rls_pooled_update-"):
        assert entry in ids, entry


# ---- the penalty range: its printed bounds are accepted, a step stays finite at them ----


@pytest.mark.parametrize("dtype, lo, hi", [(np.float64, 1.5e-154, 6.7e153), (np.float32, 1.09e-19, 9.22e18)])
def test_the_penalty_range_is_where_products_of_entries_of_P_stay_normal(dtype, lo, hi):
    assert penalty_range(dtype) == (lo, hi)
    tiny = float(np.finfo(dtype).tiny)
    # 1 / lam^2 (two entries of P = I / lam multiplied) stays within [tiny, 1 / tiny] at both ends
    assert tiny <= 1 / hi ** 2 and 1 / lo ** 2 <= 1 / tiny
    BatchRLS(PRESYN, lo, dtype=dtype), BatchRLS(PRESYN, hi, dtype=dtype)  # the printed bounds are accepted
    for outside in (np.nextafter(lo, 0), np.nextafter(hi, np.inf)):
        with pytest.raises(ValueError, match=r"^penalty \(RLS regulariser lambda\) must be in \["):
            BatchRLS(PRESYN, outside, dtype=dtype)


FORMS = {
    "BatchRLS": lambda lam, dt: BatchRLS(PRESYN, lam, dtype=dt),
    "BatchRLS-matrix": lambda lam, dt: BatchRLS(PRESYN, lam * np.eye(3), dtype=dt),
    "SharedPoolRLS": lambda lam, dt: SharedPoolRLS(5, [0, 2], lam, dtype=dt),
    "SharedInputRLS": lambda lam, dt: SharedInputRLS(PRIVATE, SHARED, lam, lam, dtype=dt),
    "PooledInputRLS": lambda lam, dt: PooledInputRLS(PRIVATE, SHARED, lam, lam, dtype=dt),
}


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("end", [0, 1], ids=["lo", "hi"])
def test_updates_stay_finite_at_both_ends_of_the_penalty_range(form, dtype, end):
    rls = FORMS[form](penalty_range(dtype)[end], dtype)
    rng = np.random.default_rng(end)
    for _ in range(30):
        err = rls.update(rng.uniform(0.1, 1.0, 5), rng.normal(size=2))
        assert np.isfinite(err).all()
    assert np.isfinite(rls.w).all()
    assert all(np.isfinite(a).all() for a in rls.state().values())


def test_the_plain_step_stays_finite_at_the_small_end_and_overflows_beyond_it():
    lo = penalty_range()[0]
    x = np.ones(3)
    P, w = np.eye(3) / lo, np.zeros(3)
    rls_update(P, w, x, 1.0)
    assert np.isfinite(P).all() and np.isfinite(w).all()
    P = np.eye(3) / (lo / 1e3)  # a penalty below the range: c k k^T overflows
    with np.errstate(over="ignore", invalid="ignore"):
        rls_update(P, np.zeros(3), x, 1.0)
    assert not np.isfinite(P).all()


# ---- NaN and infinity: update refuses, step shows it in err (the models' divergence check) ----


STEP_FORMS = {
    "BatchRLS": lambda: batch(),
    "BatchRLS-float32": lambda: batch(dtype=np.float32),
    "SharedPoolRLS": lambda: pool(),
    "SharedInputRLS": lambda: block(),
    "PooledInputRLS": lambda: pooled(),
}


def _step(rls, activity, target):
    dt = np.float64 if isinstance(rls, SharedInputRLS) else rls.P.dtype
    rls.step(np.ascontiguousarray(activity, dt), np.ascontiguousarray(target, dt), np.zeros(2, dt))
    return rls.err


@pytest.mark.parametrize("form", list(STEP_FORMS))
@pytest.mark.parametrize("bad", [math.nan, math.inf], ids=["nan", "inf"])
def test_a_non_finite_target_passed_to_step_shows_in_that_neurons_error(form, bad):
    rls = STEP_FORMS[form]()
    err = _step(rls, np.linspace(0.1, 0.5, 5), [0.5, bad])
    assert np.isfinite(err[0]) and not np.isfinite(err[1])


@pytest.mark.parametrize("form", list(STEP_FORMS))
def test_a_non_finite_activity_passed_to_step_shows_in_the_errors_of_the_neurons_it_reaches(form):
    rls = STEP_FORMS[form]()
    a = np.linspace(0.1, 0.5, 5)
    a[{"SharedPoolRLS": 1, "SharedInputRLS": 0, "PooledInputRLS": 0}.get(form, 0)] = math.nan
    err = _step(rls, a, [0.5, 0.5])
    # BatchRLS: input 0 is neuron 0's only; the pool's 1 is read by both neurons (rows 0, 2); the
    # block forms' 0 is neuron 0's private input
    reached = [True, form == "SharedPoolRLS"]
    assert list(~np.isfinite(err)) == reached
    # the next step: every neuron that read it has NaN weights, so NaN errors
    assert not np.isfinite(_step(rls, np.linspace(0.1, 0.5, 5), [0.5, 0.5])[0])


def test_non_finite_w0_or_initial_P_never_reaches_a_state():
    with pytest.raises(ValueError, match=r"^w0 must be finite: neuron 1, input 2 is nan"):
        batch(w0=[[0, 0, 0], [0, 0, math.nan]])
    state = batch()
    P = state.P.copy()
    P[1, 0, 0] = math.inf
    before = state.P.copy()
    with pytest.raises(ValueError, match=r"^arrays\['P'\] \(RLS state\) must be finite"):
        state.set_state({"P": P})
    np.testing.assert_array_equal(state.P, before)


def test_set_state_writes_nothing_when_one_array_is_bad():
    state, other = block(), block()
    other.update(np.linspace(0.1, 0.5, 5), [1.0, -1.0])
    before = {k: a.copy() for k, a in state.state().items()}
    new = {k: a.copy() for k, a in other.state().items()}
    new["Q"] = np.full_like(new["Q"], math.nan)  # the last array checked: Pr and Gt come first
    with pytest.raises(ValueError, match=r"arrays\['Q'\]"):
        state.set_state(new)
    for k, a in state.state().items():
        np.testing.assert_array_equal(a, before[k], err_msg=k)


# ---- thread counts from the environment, and Part 3's make_rls by its parameters ----


@pytest.mark.parametrize("value", ["abc", "0", "-2", "1.5"])
def test_a_bad_thread_count_in_the_environment_is_refused_by_name(value, monkeypatch):
    monkeypatch.setenv("TUTORIAL_LIB_THREADS", value)
    with pytest.raises(ValueError, match=r"^\$TUTORIAL_LIB_THREADS \(CPU threads for RLS\) must be a whole number"):
        batch()


def test_a_thread_count_in_the_environment_is_used(monkeypatch):
    monkeypatch.setenv("TUTORIAL_LIB_THREADS", " 3 ")
    assert default_threads() == 3


@pytest.mark.parametrize("change, dtype, name", [
    (dict(lam_rec=1e308), None, "lam_rec"),
    (dict(lam_rec=1e-40, rls_precision="float32"), None, "lam_rec"),
    (dict(lam_ff=1e-320), None, "lam_ff"),
    (dict(mu_rs=1e300), None, "mu_rs"),
    ({}, np.float16, "dtype"),
    ({}, "abc", "dtype"),
])
def test_part3_make_rls_refuses_by_the_parameter_the_user_set(change, dtype, name):
    from dataclasses import replace
    from types import SimpleNamespace

    import warnings

    from tutorial_lib import BalancedParams, balanced

    base = BalancedParams(N=400, K=40, L=3, n_trained=12, n_ffwd=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the float32 warning for small penalties
        with pytest.raises((ValueError, TypeError)) as info:
            # the parameter class refuses a penalty outside its range up front; make_rls again (a network
            # whose parameters were set field by field, or a dtype given here)
            params = replace(base, **change)
            balanced.make_rls(SimpleNamespace(params=params), dtype=dtype)
    assert _names(str(info.value), name) and "must" in str(info.value), str(info.value)
