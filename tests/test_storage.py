"""Versioned, atomically written files (tutorial_lib.storage)."""

import json
import os
import shutil
import zipfile
from dataclasses import replace

import numpy as np
import pytest

from tutorial_lib import BalancedParams, RateParams, SpikingParams
from tutorial_lib import balanced, storage
from tutorial_lib.storage import FormatError, load_arrays, params_from_dict, params_to_dict, save_arrays


def test_arrays_and_meta_round_trip(tmp_path):
    arrays = {"w": np.random.default_rng(0).normal(size=(3, 4)), "idx": np.arange(5, dtype=np.int32)}
    path = save_arrays(tmp_path / "a.npz", arrays, kind="demo", version=3, meta={"x": 1.5, "name": "net"})
    back, meta = load_arrays(path, kind="demo", versions=(3,))
    assert set(back) == {"w", "idx"}
    np.testing.assert_array_equal(back["w"], arrays["w"])
    assert back["idx"].dtype == np.int32
    assert meta == {"x": 1.5, "name": "net"}


def test_a_path_without_suffix_gets_npz(tmp_path):
    path = save_arrays(tmp_path / "net", {"a": np.zeros(2)}, kind="demo", version=1)
    assert path.name == "net.npz" and path.is_file()
    load_arrays(tmp_path / "net", kind="demo", versions=(1,))  # the reader adds it too


def test_the_file_carries_kind_and_format_version(tmp_path):
    path = save_arrays(tmp_path / "a.npz", {"a": np.zeros(2)}, kind="demo", version=7)
    with np.load(path) as z:
        assert str(z["__kind__"]) == "demo"
        assert int(z["__format_version__"]) == 7


def test_unknown_versions_are_refused_with_a_clear_message(tmp_path):
    path = save_arrays(tmp_path / "a.npz", {"a": np.zeros(2)}, kind="demo", version=2)
    with pytest.raises(FormatError, match=r"format version 2; this version of tutorial_lib reads "
                                          r"version\(s\) 1\. Update tutorial_lib"):
        load_arrays(path, kind="demo", versions=(1,))
    old = save_arrays(tmp_path / "old.npz", {"a": np.zeros(2)}, kind="demo", version=0)
    with pytest.raises(FormatError, match="Re-create the file"):
        load_arrays(old, kind="demo", versions=(1,))


def test_another_kind_or_a_foreign_file_is_refused(tmp_path):
    path = save_arrays(tmp_path / "a.npz", {"a": np.zeros(2)}, kind="demo", version=1)
    with pytest.raises(FormatError, match="holds a 'demo', not a 'other'"):
        load_arrays(path, kind="other", versions=(1,))
    np.savez(tmp_path / "plain.npz", a=np.zeros(2))
    with pytest.raises(FormatError, match="not a tutorial_lib file"):
        load_arrays(tmp_path / "plain.npz", kind="demo", versions=(1,))
    (tmp_path / "junk.npz").write_bytes(b"this is not a zip archive")
    with pytest.raises(FormatError, match="could not be read"):
        load_arrays(tmp_path / "junk.npz", kind="demo", versions=(1,))
    with pytest.raises(FileNotFoundError):
        load_arrays(tmp_path / "missing.npz", kind="demo", versions=(1,))


def test_a_failing_write_leaves_the_old_file_intact_and_no_temporary_file(tmp_path, monkeypatch):
    path = save_arrays(tmp_path / "a.npz", {"a": np.arange(3.0)}, kind="demo", version=1)
    before = path.read_bytes()

    def broken(f, **arrays):
        f.write(b"half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(storage.np, "savez_compressed", broken)
    with pytest.raises(OSError, match="disk full"):
        save_arrays(path, {"a": np.arange(5.0)}, kind="demo", version=1)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["a.npz"]
    np.testing.assert_array_equal(load_arrays(path, kind="demo", versions=(1,))[0]["a"], np.arange(3.0))


def test_atomic_write_replaces_only_when_complete(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    def interrupted(f):
        f.write(b"new, partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        storage.atomic_write(target, interrupted)
    assert target.read_bytes() == b"old"
    storage.atomic_write(target, lambda f: f.write(b"new"))
    assert target.read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == ["f.bin"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        storage.atomic_write(tmp_path / "no" / "such" / "f.bin", lambda f: None)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_saved_file_has_the_mode_of_any_new_file(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = save_arrays(tmp_path / "a.npz", {"a": np.arange(3.0)}, kind="demo", version=1)
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == mode == plain.stat().st_mode & 0o777


@pytest.mark.skipif(os.name != "posix", reason="process ids are checked on POSIX")
def test_stale_temporary_files_of_the_same_target_are_removed_by_the_next_write(tmp_path):
    import subprocess
    import sys
    import time

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead = int(gone.stdout)  # that process has ended (its id is not reused this soon)
    alive = os.getppid()
    names = {
        f".a.npz.{dead}-1a2b3c4d.tmp": False,      # killed during a write of a.npz: removed
        f".a.npz.{alive}-1a2b3c4d.tmp": True,      # a live process writing a.npz: kept
        f".b.npz.{dead}-1a2b3c4d.tmp": True,       # another target: kept
        f".a.npz.x.{dead}-1a2b3c4d.tmp": True,     # the target "a.npz.x": kept
        ".a.npz.k2j4_9xq.tmp": True,               # old form, without a process id, recent: kept
        ".a.npz.old4_9xq.tmp": False,              # ... and old: removed
        "a.npz.notes.tmp": True,                   # not a hidden temporary file
    }
    for name in names:
        (tmp_path / name).write_bytes(b"half")
    hour_ago = time.time() - storage.STALE_AFTER - 10
    os.utime(tmp_path / ".a.npz.old4_9xq.tmp", (hour_ago, hour_ago))
    save_arrays(tmp_path / "a.npz", {"a": np.arange(3.0)}, kind="demo", version=1)
    assert {n: (tmp_path / n).exists() for n in names} == names
    assert (tmp_path / "a.npz").exists()
    temporaries = sorted(n for n in os.listdir(tmp_path) if n.endswith(".tmp"))
    assert temporaries == sorted(n for n, kept in names.items() if kept)


def test_object_arrays_and_reserved_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match="dtype object"):
        save_arrays(tmp_path / "a.npz", {"a": np.array([{}, None])}, kind="demo", version=1)
    with pytest.raises(ValueError, match="reserved"):
        save_arrays(tmp_path / "a.npz", {"__meta__": np.zeros(1)}, kind="demo", version=1)
    assert not (tmp_path / "a.npz").exists()


@pytest.mark.parametrize("params", [RateParams(sigma=0.15, K=10), SpikingParams(N=30, K=None),
                                    BalancedParams(N=1000, K=100, n_trained=50, ffwd=False),
                                    BalancedParams(inh_weight_ratio=0.123456789012345)])
def test_params_round_trip_through_json_exactly(params):
    import json

    d = json.loads(json.dumps(params_to_dict(params)))
    assert params_from_dict(type(params), d) == params


def test_params_from_a_file_are_validated_again():
    d = params_to_dict(BalancedParams(N=1000, K=100))
    d["values"]["K"] = 10_000
    with pytest.raises(ValueError, match=r"K \(excitatory inputs per neuron\) must be in"):
        params_from_dict(BalancedParams, d)
    d = params_to_dict(replace(RateParams(), N=50))
    d["values"]["future_knob"] = 1
    with pytest.raises(FormatError, match="unknown RateParams field"):
        params_from_dict(RateParams, d)
    with pytest.raises(FormatError, match="not a 'SpikingParams'"):
        params_from_dict(SpikingParams, params_to_dict(RateParams()))


# ---------------------------------------------------------------------------
# Damaged files: whatever is wrong with a saved Part 3 network, loading it says so, naming the file.
# (Never a raw zlib.error / BadZipFile / KeyError / EOFError / numpy ValueError, never a network that
# fails only at its first run.)

# 200 neurons, 12 trained with 4 + 4 recurrent and 10 feedforward plastic inputs, 0.4 s trials, 1 loop:
# every kind of array a saved network holds (RLS state, history, feedforward rates, ALM utarg), in 0.1 MB.
TINY3 = BalancedParams(N=200, K=20, L=4, n_trained=12, stim_on=100.0, stim_off=200.0, train_duration=200.0,
                       n_loops=1, ffwd=True, n_ffwd=10, score_every=1, n_test_trials=1)


def _tiny_data(n=30, seed=0):
    """ALM-like data with target inputs (so that the ``alm_utarg_*`` arrays are saved too)."""
    from tutorial_lib.data import ALMData
    from tutorial_lib.engine.siegert import siegert_rate

    rng = np.random.default_rng(seed)
    t = np.arange(101) * 20.0
    mean = rng.uniform(0.4, 0.7, n)
    u = {c: mean + rng.uniform(-0.5, 0.5, n) * (t[:, None] / 2000.0 - 0.5) for c in ("right", "left")}
    return ALMData({c: siegert_rate(u[c]) for c in u}, u, t, "ramps (tests)", synthetic=True)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A trained tiny network saved with its RLS state: ``(path, its bytes, its arrays and meta)``."""
    folder = tmp_path_factory.mktemp("saved")
    result = balanced.train(balanced.build_network(TINY3, _tiny_data()), progress=False)
    path = balanced.save(result, folder / "net.npz")
    arrays, meta = load_arrays(path, kind="balanced-network", versions=(balanced.FORMAT_VERSION,))
    return path, path.read_bytes(), arrays, meta


def _members(path) -> dict:
    """Every array of an .npz (the reserved ones too), name -> array."""
    with np.load(path, allow_pickle=False) as z:
        return {name: z[name] for name in z.files}


def _rewrite(change):
    """A damage that rewrites the archive with ``change(members)`` applied (a valid zip, wrong contents)."""
    def damage(original, dst):
        m = _members(original)
        change(m)
        np.savez_compressed(dst, **m)
    return damage


def _edit_meta(change):
    def edit(m):
        meta = json.loads(str(m["__meta__"]))
        change(meta)
        m["__meta__"] = np.array(json.dumps(meta))
    return _rewrite(edit)


def _param(**values):
    """Change stored parameters."""
    return _edit_meta(lambda d: d["params"]["values"].update(values))


def _set(name, value_of):
    """Replace array ``name`` by ``value_of(old array)``."""
    def change(m):
        m[name] = value_of(m[name].copy())
    return _rewrite(change)


def _drop(name):
    return _rewrite(lambda m: m.pop(name))


def _bytes(make):
    def damage(original, dst):
        dst.write_bytes(make(original.read_bytes()))
    return damage


def _flip(position, mask):
    def make(data):
        b = bytearray(data)
        b[position % len(b)] ^= mask
        return bytes(b)
    return _bytes(make)


def _poke(a, index, value):
    a[index] = value
    return a


def _extra_member(original, dst):
    shutil.copyfile(original, dst)
    with zipfile.ZipFile(dst, "a") as z:
        z.writestr("notes.txt", "not an array")


def _damages(size: int) -> list:
    """``(id, damage(original, damaged path), words the message must hold)`` for a file of ``size`` bytes."""
    rng = np.random.default_rng(20261129)
    cases = []
    # a flipped byte at 30 places spread over the file (one in each thirtieth), plus its first and last byte
    edges = np.linspace(0, size, 31).astype(int)
    spread = [int(rng.integers(lo, hi)) for lo, hi in zip(edges[:-1], edges[1:])]
    for k, pos in enumerate([0, size - 1] + spread):
        cases.append((f"flip-{k}-at-{pos}", _flip(pos, int(rng.integers(1, 256))), None))
    # cut short at 10 lengths, among them inside the central directory and the end record
    for n in sorted({1, 30, size // 3, size // 2, size - 1, size - 10, size - 22, size - 100, size - 500,
                     int(rng.integers(100, size - 1000))}):
        cases.append((f"truncated-to-{n}", _bytes(lambda d, n=n: d[:n]), None))
    cases += [
        ("empty", _bytes(lambda d: b""), None),
        ("random-bytes", _bytes(lambda d: np.random.default_rng(1).bytes(len(d))), None),
        ("text", _bytes(lambda d: b"a text file, not an archive\n"), None),
        ("zeros", _bytes(lambda d: bytes(len(d))), None),
        ("a-folder", lambda o, dst: dst.mkdir(), "<file> is a folder"),
        ("a-zip-of-something-else", lambda o, dst: zipfile.ZipFile(dst, "w").close(), None),
        ("plain-npz-without-reserved-entries", _rewrite(lambda m: [m.pop(k) for k in storage._RESERVED]),
         "not a tutorial_lib file"),
        ("member-not-an-array", _extra_member, "notes.txt"),
        # the reserved entries
        ("wrong-kind", _set("__kind__", lambda a: np.array("rate-network")), "rate-network"),
        ("wrong-version", _set("__format_version__", lambda a: np.array(99)), "format version 99"),
        ("version-not-a-number", _set("__format_version__", lambda a: np.array("two")), "__format_version__"),
        ("kind-not-text", _set("__kind__", lambda a: np.arange(3)), "__kind__"),
        ("meta-not-json", _set("__meta__", lambda a: np.array("{not json")), "__meta__"),
        ("meta-a-list", _set("__meta__", lambda a: np.array("[1, 2]")), "__meta__"),
        ("meta-without-params", _edit_meta(lambda d: d.pop("params")),
         "incomplete: its metadata has no 'params'"),
        ("meta-params-not-a-dict", _edit_meta(lambda d: d.update(params=[1])), "'params'"),
        ("meta-source-not-text", _edit_meta(lambda d: d.update(alm_source=3)), "'alm_source'"),
        # stored parameters: each invalid one named, with the ValueError as the cause
        ("param-K-too-large", _param(K=10_000), "stored parameter K is invalid: K (excitatory"),
        ("param-g-negative", _param(g=-1.0), "stored parameter g is invalid: g must be > 0"),
        ("param-N-text", _param(N="many"), "stored parameter N is invalid"),
        ("param-unknown", _param(knob=1), "unknown BalancedParams field(s) knob"),
        ("param-class", _edit_meta(lambda d: d["params"].update({"class": "RateParams"})), "RateParams"),
        ("params-that-do-not-fit-the-arrays", _param(N=400, K=40),
         "'exc_ptr'"),
        ("param-L-does-not-fit", _param(L=3), "'presyn'"),
        ("param-ffwd-off", _param(ffwd=False), "'w'"),
    ]
    # arrays missing
    for name in ("exc_post", "presyn", "w", "trained", "targets_left", "alm_t", "ffwd_rates_right", "rls_Q",
                 "test_loops", "alm_utarg_left"):
        cases.append((f"missing-{name}", _drop(name), f"incomplete: the array '{name}'"))
    # indices out of range
    N, Ne = TINY3.N, TINY3.Ne
    for name, index, value in [("exc_post", 5, N), ("inh_post", -1, -1), ("exc_ptr", 3, 10**6),
                               ("exc_ptr", 0, 1), ("trained", 2, Ne), ("trained", 0, -3),
                               ("presyn", (1, 0), N), ("presyn", (2, 5), 0), ("presyn", (0, 1), -1),
                               ("examples", 0, N + 7), ("test_loops", 0, 5)]:
        cases.append((f"{name}-index-{value}", _set(name, lambda a, i=index, v=value: _poke(a, i, v)),
                      f"'{name}'"))
    cases.append(("trained-repeated", _set("trained", lambda a: _poke(a, 1, a[0])), "'trained'"))
    cases.append(("inh-synapses-from-e", _set("inh_ptr", lambda a: np.r_[0, a[1:] * 0 + a[-1]]), "'inh_ptr'"))
    # NaN and infinite values
    for name, index, value in [("w", (3, 2), np.nan), ("w0", (0, 0), np.inf), ("exc_w", 7, np.nan),
                               ("inh_w", 0, -np.inf), ("mu", 4, np.nan), ("stimulus_left", 0, np.nan),
                               ("targets_right", (1, 1), np.nan), ("ffwd_rates_left", (0, 0), np.inf),
                               ("rls_Pr", (0, 1, 1), np.nan), ("rls_H", (5, 0), np.inf),
                               ("rls_Q", (2, 2), np.nan), ("alm_t", 3, np.nan), ("static_rates", 1, np.nan)]:
        cases.append((f"{name}-{value}", _set(name, lambda a, i=index, v=value: _poke(a, i, v)),
                      f"'{name}'"))
    # wrong dtypes and shapes
    cases += [
        ("trained-as-floats", _set("trained", lambda a: a + 0.5), "'trained'"),
        ("presyn-as-floats", _set("presyn", lambda a: a.astype(float)), "'presyn'"),
        ("w-as-text", _set("w", lambda a: a.astype(str)), "'w'"),
        ("w-as-complex", _set("w", lambda a: a.astype(complex)), "'w'"),
        ("exc-post-as-bool", _set("exc_post", lambda a: a > 0), "'exc_post'"),
        ("w-transposed", _set("w", lambda a: a.T.copy()), "'w'"),
        ("w-one-row-short", _set("w", lambda a: a[:-1]), "'w'"),
        ("w0-flat", _set("w0", lambda a: a.ravel()), "'w0'"),
        ("mu-short", _set("mu", lambda a: a[:-1]), "'mu'"),
        ("exc-w-short", _set("exc_w", lambda a: a[:-1]), "'exc_w'"),
        ("targets-one-step-short", _set("targets_left", lambda a: a[:-1]), "'targets_left'"),
        ("alm-rates-one-neuron-short", _set("alm_rates_right", lambda a: a[:, :-1]), "'alm_rates_right'"),
        ("alm-t-2d", _set("alm_t", lambda a: a[:, None]), "'alm_t'"),
        ("ffwd-rates-one-input-short", _set("ffwd_rates_right", lambda a: a[:, :-1]), "'ffwd_rates_right'"),
        ("rls-pr-wrong-shape", _set("rls_Pr", lambda a: a[:, :-1]), "'rls_Pr'"),
        ("rls-q-wrong-shape", _set("rls_Q", lambda a: a[:-1]), "'rls_Q'"),
        ("scores-longer-than-history", _set("scores", lambda a: np.r_[a, a]), "'loop_seconds'"),
        ("alm-ids-one-short", _set("alm_ids", lambda a: a[:-1]), "'alm_ids'"),
        ("alm-rates-as-text", _set("alm_rates_left", lambda a: a.astype(str)), "'alm_rates_left'"),
        ("a-scalar-instead-of-w", _set("w", lambda a: np.array(1.0)), "'w'"),
        ("trained-and-w-disagree", _set("trained", lambda a: a[:-1]), "'trained'"),
    ]
    return cases


def test_a_damaged_saved_network_gives_a_format_error_naming_the_file(saved, tmp_path):
    path, original, arrays, meta = saved
    cases = _damages(len(original))
    assert len(cases) >= 100
    outcomes = {"refused": 0, "loads the same data": 0}
    for case, damage, words in cases:
        bad = tmp_path / f"{case}.npz"
        damage(path, bad)
        before = bad.read_bytes() if bad.is_file() else None
        try:
            balanced.load(bad)
        except (FormatError, IsADirectoryError) as exc:
            assert isinstance(exc, FormatError) or case == "a-folder", (case, exc)
            msg = str(exc)
            assert str(bad) in msg, (case, msg)
            assert "Traceback" not in msg and "\n" not in msg, (case, msg)
            if words is not None:
                assert words in msg.replace(str(bad), "<file>"), (case, msg)
            outcomes["refused"] += 1
        except Exception as exc:  # noqa: BLE001 - any other type is the fault this test is for
            pytest.fail(f"{case}: {type(exc).__name__}: {exc}")
        else:
            # a harmless change (zip padding, a timestamp): the data must be exactly the original's
            assert words is None and case.startswith("flip"), case
            back, back_meta = load_arrays(bad, kind="balanced-network", versions=(balanced.FORMAT_VERSION,))
            assert back_meta == meta and set(back) == set(arrays), case
            for name in arrays:
                assert back[name].dtype == arrays[name].dtype, (case, name)
                np.testing.assert_array_equal(back[name], arrays[name], err_msg=f"{case}: {name}")
            outcomes["loads the same data"] += 1
        assert before is None or bad.read_bytes() == before, case  # reading never changes the file
    assert path.read_bytes() == original
    assert outcomes["refused"] >= len(cases) - 10, outcomes
    print(f"{len(cases)} damaged files: {outcomes}")


def test_a_refused_parameter_is_named_with_its_value_error_as_cause(saved, tmp_path):
    path, *_ = saved
    bad = tmp_path / "bad.npz"
    _param(K=10_000)(path, bad)
    with pytest.raises(FormatError, match=r"bad\.npz.*stored parameter.*K \(excitatory inputs per neuron\) "
                                          r"must be in") as info:
        balanced.load(bad)
    assert isinstance(info.value.__cause__, ValueError) and not isinstance(info.value.__cause__, FormatError)
    assert info.value.path == bad and info.value.field == "K"


def test_every_member_is_read_in_full_so_its_checksum_is_verified(tmp_path):
    """A byte changed inside stored (uncompressed) data leaves a valid zip: only the CRC tells."""
    path = save_arrays(tmp_path / "a.npz", {"w": np.arange(1000.0)}, kind="demo", version=1, compress=False)
    data = bytearray(path.read_bytes())
    at = data.index(np.arange(1000.0)[500:502].tobytes())
    data[at + 3] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"a\.npz.*damaged"):
        load_arrays(path, kind="demo", versions=(1,))


def test_small_archives_damaged_anywhere_are_refused_or_read_unchanged(tmp_path):
    """A small file, compressed and not: 300 bytes flipped and 100 lengths cut short, anywhere (seeded)."""
    arrays = {"w": np.linspace(0, 1, 12).reshape(3, 4), "idx": np.arange(5, dtype=np.int32)}
    rng = np.random.default_rng(7)
    for compress in (True, False):
        path = save_arrays(tmp_path / "a.npz", arrays, kind="demo", version=1, meta={"x": 1},
                           compress=compress)
        good = path.read_bytes()
        bad = tmp_path / "bad.npz"
        variants = [good[:n] for n in rng.choice(len(good), 100, replace=False)]
        for i in rng.choice(len(good), 300, replace=False):
            variants.append(good[:i] + bytes([good[i] ^ int(rng.integers(1, 256))]) + good[i + 1:])
        for data in variants:
            bad.write_bytes(data)
            try:
                back, meta = load_arrays(bad, kind="demo", versions=(1,))
            except FormatError as exc:
                assert str(bad) in str(exc)
            else:
                assert meta == {"x": 1} and set(back) == set(arrays)
                for name in arrays:
                    assert back[name].dtype == arrays[name].dtype
                    np.testing.assert_array_equal(back[name], arrays[name])


def test_a_folder_or_a_missing_file_is_named_as_given(tmp_path):
    (tmp_path / "runs").mkdir()
    with pytest.raises(IsADirectoryError, match=r"runs is a folder"):
        balanced.load(tmp_path / "runs")
    (tmp_path / "odd.npz").mkdir()
    with pytest.raises(IsADirectoryError, match=r"odd\.npz is a folder"):
        load_arrays(tmp_path / "odd.npz", kind="demo", versions=(1,))
    with pytest.raises(FileNotFoundError, match=r"missing\.npz does not exist") as info:
        balanced.load(tmp_path / "missing.npz")
    assert "appended" not in str(info.value)
    with pytest.raises(FileNotFoundError, match=r"net\.npz does not exist \(the path given, '.*net', "
                                                r"had no suffix"):
        balanced.load(tmp_path / "net")


def test_a_format_1_file_is_read_and_its_rls_matrices_checked(saved, tmp_path):
    """Format 1 stored one full P per trained neuron; it is still read, with the same checks."""
    path, *_ = saved
    rls = balanced.load(path).rls
    full = np.stack([rls.P_of(k) for k in range(TINY3.n_trained)])

    def as_format_1(p):
        def change(m):
            for name in ("rls_Pr", "rls_Gt", "rls_H", "rls_Q"):  # the block or the pooled form's state
                m.pop(name, None)
            m["rls_P"], m["__format_version__"] = p, np.array(1)
        return _rewrite(change)

    as_format_1(full)(path, tmp_path / "v1.npz")
    back = balanced.load(tmp_path / "v1.npz").rls  # read into the block form, whatever the default
    for k in range(TINY3.n_trained):
        np.testing.assert_allclose(back.P_of(k), full[k], rtol=1e-6, atol=1e-9 * np.abs(full).max())
    for case, p in [("nan", _poke(full.copy(), (3, 2, 2), np.nan)), ("short", full[:-1]),
                    ("singular", np.zeros_like(full))]:
        as_format_1(p)(path, tmp_path / f"{case}.npz")
        with pytest.raises(FormatError, match=rf"{case}\.npz is damaged: the array 'rls_[PQ]'"):
            balanced.load(tmp_path / f"{case}.npz")


def test_the_users_alm_data_of_other_dtypes_load_back(tmp_path):
    """The ALM part of a file is the user's data: whole-number times, float32 rates, text ids are valid."""
    from tutorial_lib.data import ALMData

    d = _tiny_data()
    data = ALMData({c: d.rates[c].astype(np.float32) for c in d.rates}, d.utarg, d.t.astype(np.int64),
                   d.source, True, np.array([f"cell {k}" for k in range(d.n_neurons)]))
    net = balanced.build_network(TINY3, data)
    back = balanced.load(balanced.save(net, tmp_path / "net.npz")).network
    for c in d.rates:  # as the network held them (ALMData may have made them float64), equal values
        assert back.alm.rates[c].dtype == net.alm.rates[c].dtype
        np.testing.assert_array_equal(back.alm.rates[c], net.alm.rates[c])
    assert back.alm.t.dtype == net.alm.t.dtype
    np.testing.assert_array_equal(back.alm.t, data.t)
    np.testing.assert_array_equal(back.alm.neuron_ids, net.alm.neuron_ids)
    np.testing.assert_array_equal(back.w, net.w)
