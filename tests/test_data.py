"""The ALM loader: verified files only, clear errors, nothing overwritten; a synthetic stand-in."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tutorial_lib import data
from tutorial_lib.data import ENV_VAR, DataError, load_alm, synthetic_alm

_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "alm"
REAL = Path(os.environ.get(ENV_VAR) or _SHARED)
needs_real = pytest.mark.skipif(
    not (REAL / "utarg1Hz_lickleft.jld").is_file(),
    reason=f"ALM files not found (set {ENV_VAR}); .ci/run sets it",
)


@pytest.fixture
def real_copy(tmp_path):
    folder = tmp_path / "alm"
    folder.mkdir()
    for name, _, _ in data.FILES.values():
        shutil.copy(REAL / name, folder / name)
    return folder


@needs_real
def test_local_folder_is_read_and_verified(monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(REAL))
    alm = load_alm()
    assert not alm.synthetic
    for c in ("right", "left"):
        assert alm.rates[c].shape == (101, 1824) and alm.utarg[c].shape == (101, 1824)
        assert alm.rates[c].min() >= 0
    assert alm.t[-1] == 2000.0
    assert not np.allclose(alm.rates["right"], alm.rates["left"])


@needs_real
def test_a_modified_copy_is_rejected_and_left_alone(monkeypatch, real_copy):
    victim = real_copy / "utarg1Hz_lickright.jld"
    raw = bytearray(victim.read_bytes())
    raw[-100] ^= 0xFF
    victim.write_bytes(bytes(raw))
    monkeypatch.setenv(ENV_VAR, str(real_copy))
    with pytest.raises(DataError, match="utarg1Hz_lickright.jld is not the expected ALM file"):
        load_alm()
    with pytest.raises(DataError, match="digest"):
        load_alm(fallback="synthetic")  # a wrong file is never papered over
    assert victim.read_bytes() == bytes(raw)


@needs_real
def test_a_missing_file_says_which_and_what_to_do(monkeypatch, real_copy):
    (real_copy / "movingrate_Pyr1Hz_lickleft.jld").unlink()
    monkeypatch.setenv(ENV_VAR, str(real_copy))
    with pytest.raises(DataError, match=r"movingrate_Pyr1Hz_lickleft.jld is missing.*unset"):
        load_alm()


def test_env_var_that_is_not_a_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="not a folder"):
        load_alm()


def test_a_bad_cached_file_is_reported_not_replaced(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(data, "cache_dir", lambda: tmp_path)
    bad = tmp_path / "movingrate_Pyr1Hz_lickright.jld"
    bad.write_bytes(b"truncated")
    with pytest.raises(DataError, match="Delete it to have it downloaded again"):
        load_alm()
    assert bad.read_bytes() == b"truncated"


def test_no_network_gives_a_clear_error_or_the_labelled_stand_in(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(data, "cache_dir", lambda: tmp_path)
    monkeypatch.setattr(data, "BASE_URL", "http://127.0.0.1:9/")  # nothing listens there
    with pytest.raises(DataError, match="Could not download"):
        load_alm()
    alm = load_alm(fallback="synthetic")
    assert alm.synthetic and "SYNTHETIC" in alm.source
    assert "SYNTHETIC" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []  # no partial file left behind


def test_synthetic_stand_in_is_choice_selective_and_deterministic():
    a, b = synthetic_alm(seed=1), synthetic_alm(seed=1)
    np.testing.assert_array_equal(a.rates["right"], b.rates["right"])
    r, l = a.rates["right"], a.rates["left"]
    assert r.shape == (101, 400) and np.all(r >= 0)
    late = slice(60, 70)  # late delay: the two conditions differ for many neurons
    diff = np.abs(r[late].mean(0) - l[late].mean(0))
    assert np.mean(diff > 1.0) > 0.3


def test_subset_keeps_neuron_identity():
    alm = synthetic_alm(n_neurons=10)
    sub = alm.subset([7, 2])
    np.testing.assert_array_equal(sub.neuron_ids, [7, 2])
    np.testing.assert_array_equal(sub.rates["left"][:, 0], alm.rates["left"][:, 7])
