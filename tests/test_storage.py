"""Versioned, atomically written files (tutorial_lib.storage)."""

import os
from dataclasses import replace

import numpy as np
import pytest

from tutorial_lib import BalancedParams, RateParams, SpikingParams
from tutorial_lib import storage
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
