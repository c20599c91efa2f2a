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


@pytest.fixture(autouse=True)
def fresh_session(monkeypatch):
    """Each test starts as a new session: no failed download or printed notice remembered."""
    monkeypatch.setattr(data, "_FAILED_DOWNLOADS", {})
    monkeypatch.setattr(data, "_NOTICES", set())
    monkeypatch.delenv(data.DOWNLOAD_ENV_VAR, raising=False)


def test_no_network_gives_a_clear_error_or_the_labelled_stand_in(monkeypatch, tmp_path, capfd):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(data, "cache_dir", lambda: tmp_path)
    monkeypatch.setattr(data, "BASE_URL", "http://127.0.0.1:9/")  # nothing listens there
    with pytest.raises(DataError, match="Could not download"):
        load_alm()
    capfd.readouterr()
    alm = load_alm(fallback="synthetic")
    assert alm.synthetic and "SYNTHETIC" in alm.source and alm.label == "synthetic"
    out, err = capfd.readouterr()
    # one paragraph (wrapped to a notebook column), saying what is used, why, and how to get the real
    # files; no traceback, no pooch log
    assert err == "" and out.endswith("\n") and "\n\n" not in out
    out = " ".join(out.split())
    assert out.startswith("Part 3 data: a SYNTHETIC stand-in") and "download failed: no connection" in out
    assert ENV_VAR in out and "network" in out
    for noise in ("Traceback", "ConnectionError", "Downloading", "127.0.0.1"):
        assert noise not in out
    assert list(tmp_path.iterdir()) == []  # no partial file left behind


def test_a_failed_download_is_tried_once_and_the_notice_printed_once(monkeypatch, tmp_path, capfd):
    import pooch

    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(data, "cache_dir", lambda: tmp_path)
    calls = []

    def unreachable(url, **kwargs):
        calls.append(kwargs)
        raise OSError("network is unreachable")

    monkeypatch.setattr(pooch, "retrieve", unreachable)
    for _ in range(3):
        assert load_alm(fallback="synthetic").synthetic
    with pytest.raises(DataError, match="failed earlier in this session"):
        load_alm()
    assert len(calls) == 1
    timeout = calls[0]["downloader"].kwargs["timeout"]
    assert 0 < timeout <= 10  # pooch's default, 30 s per attempt, is a long wait in front of a class
    out, err = capfd.readouterr()
    assert out.count("SYNTHETIC") == 1 and err == ""
    assert "download failed: OSError" in out


@pytest.mark.parametrize("value", ["0", "false", "Off", "no"])
def test_downloads_can_be_forbidden_by_the_environment(monkeypatch, tmp_path, capsys, value):
    import pooch

    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv(data.DOWNLOAD_ENV_VAR, value)
    monkeypatch.setattr(data, "cache_dir", lambda: tmp_path)
    monkeypatch.setattr(pooch, "retrieve", lambda *a, **k: pytest.fail("a download was attempted"))
    with pytest.raises(DataError, match=f"downloads are off .*{data.DOWNLOAD_ENV_VAR}"):
        load_alm()
    assert load_alm(fallback="synthetic").synthetic
    assert f"downloads are off ({data.DOWNLOAD_ENV_VAR}=0)" in capsys.readouterr().out
    with pytest.raises(DataError, match="downloads are off"):
        load_alm(download=False)  # the argument works without the variable too
    monkeypatch.setenv(data.DOWNLOAD_ENV_VAR, "1")
    assert data.downloads_allowed()


def test_labels_name_the_source():
    alm = synthetic_alm(n_neurons=5)
    assert alm.label == "synthetic" and "SYNTHETIC" in alm.description
    assert alm.subset([0, 1]).label == "synthetic"
    real = data.ALMData(alm.rates, alm.utarg, alm.t, "ALM recordings (test)")
    assert real.label == "ALM" and "Finkelstein" in real.description


@pytest.fixture(scope="module")
def stand_in():
    return synthetic_alm()


def test_synthetic_stand_in_has_the_structure_of_the_recordings(stand_in):
    from tutorial_lib.engine.siegert import siegert_inverse

    a = stand_in
    assert a.synthetic and a.n_neurons == 1824
    np.testing.assert_array_equal(a.t, np.arange(101) * 20.0)
    for c in ("right", "left"):
        assert a.rates[c].shape == a.utarg[c].shape == (101, 1824)
        assert np.all(a.rates[c] >= 0) and np.all(np.isfinite(a.utarg[c]))
        np.testing.assert_array_equal(a.utarg[c], siegert_inverse(a.rates[c]))
    b = synthetic_alm(seed=0)
    np.testing.assert_array_equal(a.rates["left"], b.rates["left"])
    assert not np.array_equal(a.rates["left"], synthetic_alm(seed=1).rates["left"])
    with pytest.raises(ValueError, match="n_neurons"):
        synthetic_alm(n_neurons=0)


def test_synthetic_rates_are_realistic_and_heavy_tailed(stand_in):
    """Mean rates like the recordings' (median 4.2 Hz, 95th percentile 15.7 Hz, maximum 38 Hz)."""
    mean = np.mean([stand_in.rates[c].mean(axis=0) for c in ("right", "left")], axis=0)
    median, p95 = np.median(mean), np.percentile(mean, 95)
    assert 2.5 < median < 6.0 and 10.0 < p95 < 25.0 and p95 > 2.5 * median
    assert np.max(stand_in.rates["right"]) < 100.0


def test_synthetic_activity_is_low_dimensional_and_choice_selective(stand_in):
    """Three components carry almost all the variance of the targets (recordings: 80 %), and the
    modulated neurons' mean rate ramps apart before the two licks, as in ALM."""
    from tutorial_lib import BalancedParams, balanced

    u = np.vstack([stand_in.utarg[c] for c in ("right", "left")])
    sv = np.linalg.svd(u - u.mean(axis=0), compute_uv=False)
    explained = sv**2 / np.sum(sv**2)
    assert explained[:3].sum() > 0.9 and explained[0] < 0.9
    top = np.argsort(-balanced.modulation(BalancedParams.lecture(), stand_in))[:100]
    right, left = (stand_in.rates[c][:, top].mean(axis=1) for c in ("right", "left"))
    gap = right - left
    assert gap[-10:].mean() > 5.0 and gap[-10:].mean() > 3 * abs(gap[:10].mean())  # diverging ramps
    prefers_right = (stand_in.rates["right"] - stand_in.rates["left"])[60:].mean(axis=0) > 0
    assert 0.5 < prefers_right.mean() < 0.75
    late = slice(60, 70)
    diff = np.abs(stand_in.rates["right"][late].mean(0) - stand_in.rates["left"][late].mean(0))
    assert np.mean(diff > 1.0) > 0.3


def test_subset_keeps_neuron_identity():
    alm = synthetic_alm(n_neurons=10)
    sub = alm.subset([7, 2])
    np.testing.assert_array_equal(sub.neuron_ids, [7, 2])
    np.testing.assert_array_equal(sub.rates["left"][:, 0], alm.rates["left"][:, 7])
