"""The ALM recordings that Part 3 trains on: download, verify, load; or a synthetic stand-in.

The data: trial-averaged firing rates of 1824 pyramidal neurons in mouse
anterior lateral motor cortex (ALM) during a delayed-response licking task
(Finkelstein, Fontolan et al. 2021, Nat Neurosci 24:843), as prepared for the
CNS 2025 tutorial: for lick-right and lick-left trials, rates (Hz) and the
matching target inputs ``utarg``, each 101 samples 20 ms apart (2 s) by neuron.

Where the files come from, in this order:

1. ``$TUTORIAL_ALM_DATA``, if set: a local folder holding the four files. It is
   used as it is, never downloaded into or changed; a missing or altered file
   is an error that says which file and what to do.
2. Otherwise the user's cache folder (``pooch.os_cache("rls-tutorial")``,
   e.g. ``~/.cache/rls-tutorial/alm``): each file is downloaded once from the
   pinned commit of the original tutorial's repository and its SHA-256 digest
   verified. A cached file whose digest is wrong is reported, not replaced.

Without data and without network, ``load_alm(fallback="synthetic")`` prints
one line saying so (and how to get the real files) and returns a clearly
labelled synthetic stand-in (:func:`synthetic_alm`: low-dimensional,
choice-selective ramps, with the structure of the real files), so a lecture
never stops for the Wi-Fi. ``TUTORIAL_ALM_DOWNLOAD=0`` forbids downloads
(tests use it to be offline whatever the network); a failed download is
remembered for the rest of the session, so it is not tried again.

Getting started::

    >>> from tutorial_lib.data import load_alm, synthetic_alm
    >>> alm = load_alm(fallback="synthetic")  # doctest: +SKIP
    >>> alm = synthetic_alm(seed=0)             # what load_alm gives offline, without the notice
    >>> alm.rates["right"].shape                # 101 time samples (every 20 ms) x neurons
    (101, 1824)
    >>> alm.label
    'synthetic'
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pooch

from .core.siegert import ALM_SIGMA
from .engine.siegert import siegert_inverse, siegert_rate
from .messages import say

__all__ = ["ALMData", "DataError", "load_alm", "synthetic_alm", "alm_files", "ENV_VAR", "DOWNLOAD_ENV_VAR",
           "CONDITIONS"]

ENV_VAR = "TUTORIAL_ALM_DATA"
#: "0" (or "false", "no", "off") forbids downloads: without a data folder or cached files, load_alm then
#: raises DataError or, with ``fallback="synthetic"``, returns the stand-in at once.
DOWNLOAD_ENV_VAR = "TUTORIAL_ALM_DOWNLOAD"
#: seconds pooch waits for the server to answer (connect and each read), so that no network fails fast
DOWNLOAD_TIMEOUT = 10.0
CONDITIONS = ("right", "left")
BASE_URL = (
    "https://raw.githubusercontent.com/chrismkkim/TutorialCNS2025/"
    "90395f431cd6c364123a073fab1047d7b09b61ae/src_part3/data_alm/"
)
# (kind, condition) -> (file name, HDF5 dataset, sha256)
FILES = {
    ("rates", "right"): ("movingrate_Pyr1Hz_lickright.jld", "Pyr",
                         "08005b8e50a9fb229ee29824c9c1b54ac1850b9d35f150ab3501216f5b15f9a4"),
    ("rates", "left"): ("movingrate_Pyr1Hz_lickleft.jld", "Pyr",
                        "236779d8765f6fed56848496a5c529e09cdb67523f19f7886a23ff6a5721b462"),
    ("utarg", "right"): ("utarg1Hz_lickright.jld", "utarg",
                         "edcc858b2d7061111206dae548eaf66ca8e0c956be9aed35e8f3bed4d12726b2"),
    ("utarg", "left"): ("utarg1Hz_lickleft.jld", "utarg",
                        "e8ef5a41dc3e2fcacfc2ccc870bb4dc701e4c49a4b4006f4627d0fcd914ee0bb"),
}
SAMPLE_MS = 20.0
N_SAMPLES = 101


class DataError(RuntimeError):
    """The ALM data cannot be used; the message says which file and what to do.

    ``reason``: the cause in a few words (for the one-line notice of the synthetic fallback).
    """

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = message if reason is None else reason


@dataclass
class ALMData:
    """Rates (Hz) and target inputs per condition, arrays of shape (time, neuron).

    ``t`` is in ms from the start of the 2 s window (0, 20, ..., 2000).
    ``utarg`` is None for data that came without target inputs (compute them
    with the LIF transfer function). ``synthetic`` marks the stand-in.

    Checked at construction (ValueError naming the field): ``rates`` holds both
    conditions, each a 2-D array (time, neuron) of finite rates >= 0, with the
    same shape; ``t`` is 1-D, finite, strictly increasing, one entry per time
    row; ``utarg``, if given, finite with the shape of the rates;
    ``neuron_ids``, if given, one per neuron. The arrays are stored as float64.
    """

    rates: dict
    utarg: dict | None
    t: np.ndarray
    source: str
    synthetic: bool = False
    neuron_ids: np.ndarray = field(default=None)

    def __post_init__(self):
        def table(name, d):
            if not isinstance(d, dict) or set(CONDITIONS) - set(d):
                raise ValueError(f"{name} must be a dict with the conditions {CONDITIONS} (got "
                                 f"{sorted(d) if isinstance(d, dict) else type(d).__name__})")
            out = {}
            for c in d:
                try:
                    a = np.asarray(d[c], dtype=np.float64)
                except (TypeError, ValueError):
                    raise ValueError(f"{name}[{c!r}] must be an array of numbers") from None
                if a.ndim != 2 or min(a.shape) < 1:
                    raise ValueError(f"{name}[{c!r}] must be a 2-D array (time, neuron) (got shape {a.shape})")
                if not np.isfinite(a).all():
                    raise ValueError(f"{name}[{c!r}] must be finite ({np.count_nonzero(~np.isfinite(a))} "
                                     "NaN or infinite values)")
                out[c] = a
            shapes = {out[c].shape for c in CONDITIONS}
            if len(shapes) != 1:
                raise ValueError(f"{name} must have the same shape in every condition (got {sorted(shapes)})")
            return out

        self.rates = table("rates", self.rates)
        shape = self.rates[CONDITIONS[0]].shape
        for c in CONDITIONS:
            if (self.rates[c] < 0).any():
                raise ValueError(f"rates[{c!r}] must be >= 0 Hz (minimum {self.rates[c].min():g})")
        if self.utarg is not None:
            self.utarg = table("utarg", self.utarg)
            if self.utarg[CONDITIONS[0]].shape != shape:
                raise ValueError(f"utarg must have the shape of rates, {shape} "
                                 f"(got {self.utarg[CONDITIONS[0]].shape})")
        try:
            t = np.asarray(self.t, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError("t must be an array of times in ms") from None
        if t.ndim != 1 or t.shape[0] != shape[0]:
            raise ValueError(f"t must be 1-D with one time (ms) per row of rates, {shape[0]} "
                             f"(got shape {t.shape})")
        if not np.isfinite(t).all() or (t.shape[0] > 1 and not (np.diff(t) > 0).all()):
            raise ValueError("t must be finite and strictly increasing (ms)")
        if t.shape[0] < 2:
            raise ValueError("t must hold at least 2 times: the targets are interpolated between samples")
        self.t = t
        if self.neuron_ids is not None:
            ids = np.asarray(self.neuron_ids)
            if ids.shape != (shape[1],):
                raise ValueError(f"neuron_ids must hold one id per neuron, {shape[1]} (got shape {ids.shape})")
            self.neuron_ids = ids

    @property
    def n_neurons(self) -> int:
        return self.rates["right"].shape[1]

    @property
    def label(self) -> str:
        """What the neurons are called in titles and legends: ``"ALM"`` or ``"synthetic"``."""
        return "synthetic" if self.synthetic else "ALM"

    @property
    def description(self) -> str:
        """The data in a few words, for captions: the recordings, or the synthetic stand-in."""
        return ("a SYNTHETIC stand-in for the ALM recordings" if self.synthetic
                else "ALM recordings (Finkelstein, Fontolan et al. 2021)")

    def subset(self, neurons) -> "ALMData":
        """The same data for the chosen neurons (indices into the columns)."""
        neurons = np.asarray(neurons)
        pick = lambda d: None if d is None else {c: d[c][:, neurons] for c in d}  # noqa: E731
        ids = np.arange(self.n_neurons) if self.neuron_ids is None else self.neuron_ids
        return ALMData(pick(self.rates), pick(self.utarg), self.t, self.source, self.synthetic, ids[neurons])


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verify(path: Path, expected: str, origin: str) -> None:
    digest = sha256(path)
    if digest != expected:
        raise DataError(
            f"{path} is not the expected ALM file: its SHA-256 digest is {digest}, expected {expected} "
            f"(size {path.stat().st_size} bytes; the original is about 1.48 MB). {origin} "
            "The file was left as it is."
        )


def cache_dir() -> Path:
    return Path(pooch.os_cache("rls-tutorial")) / "alm"


def downloads_allowed() -> bool:
    """False if ``$TUTORIAL_ALM_DOWNLOAD`` is ``0``, ``false``, ``no`` or ``off`` (any case), else True."""
    return os.environ.get(DOWNLOAD_ENV_VAR, "1").strip().lower() not in ("0", "false", "no", "off")


#: downloads that failed in this session, keyed by (URL, folder): the short reason; not tried again
_FAILED_DOWNLOADS: dict = {}
#: the fallback notices already printed in this session (each is printed once)
_NOTICES: set = set()


def alm_files(download: bool = True) -> dict:
    """Paths of the four verified files, keyed like ``FILES``; downloads them if needed and allowed.

    Raises :class:`DataError` (its ``reason`` a short summary) if a file cannot be had, and always
    if a file that is there is not the expected one.
    """
    local = os.environ.get(ENV_VAR)
    paths = {}
    if local:
        folder = Path(local).expanduser()
        if not folder.is_dir():
            raise DataError(f"{ENV_VAR} is set to {local!r}, which is not a folder. Point it at the folder "
                            "holding the four ALM .jld files, or unset it to download them.",
                            reason=f"{ENV_VAR}={local} is not a folder")
        for key, (name, _, digest) in FILES.items():
            path = folder / name
            if not path.is_file():
                raise DataError(f"{path} is missing. {ENV_VAR} points at {folder}; put the four ALM files "
                                f"there ({', '.join(f[0] for f in FILES.values())}) or unset {ENV_VAR}.",
                                reason=f"{name} is missing from {ENV_VAR}={folder}")
            _verify(path, digest, f"Replace it with the original from {BASE_URL}{name}.")
            paths[key] = path
        return paths

    folder = cache_dir()
    for key, (name, _, digest) in FILES.items():
        path = folder / name
        if path.exists():
            _verify(path, digest, f"Delete it to have it downloaded again, or set {ENV_VAR} to a folder "
                                  "with the original files.")
        elif not download:
            raise DataError(f"{path} has not been downloaded yet, and downloads are off "
                            f"(download=False, or {DOWNLOAD_ENV_VAR}=0). Set {ENV_VAR} to a folder with the "
                            "four ALM files, or allow the download.",
                            reason=f"{ENV_VAR} is not set, and downloads are off ({DOWNLOAD_ENV_VAR}=0)")
        else:
            _download(name, digest, folder)
        paths[key] = path
    return paths


def _download(name: str, digest: str, folder: Path) -> None:
    key = (BASE_URL + name, str(folder))
    if key in _FAILED_DOWNLOADS:
        message, reason = _FAILED_DOWNLOADS[key]
        raise DataError(message + " (It failed earlier in this session; restart to try again.)",
                        reason=reason)
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)  # no "Downloading data from ..." line: the notice says what happened
    try:
        # pooch writes to a temporary file and moves it into place only once the digest matches
        pooch.retrieve(BASE_URL + name, known_hash=f"sha256:{digest}", fname=name, path=folder,
                       downloader=pooch.HTTPDownloader(progressbar=False, timeout=DOWNLOAD_TIMEOUT))
    except Exception as exc:  # network down, proxy, HTTP error, digest mismatch
        message = (f"Could not download {name} from {BASE_URL} ({type(exc).__name__}: {exc}). Check the "
                   f"network, or download the four files by hand and set {ENV_VAR} to their folder. "
                   "load_alm(fallback='synthetic') gives a synthetic stand-in meanwhile.")
        offline = any(cls.__name__ in ("ConnectionError", "Timeout") for cls in type(exc).__mro__)
        reason = (f"{ENV_VAR} is not set, and the download failed: "
                  + ("no connection to the server" if offline else type(exc).__name__))
        _FAILED_DOWNLOADS[key] = (message, reason)
        raise DataError(message, reason=reason) from exc
    finally:
        logger.setLevel(level)


def _read(path: Path, dataset: str) -> np.ndarray:
    try:
        with h5py.File(path, "r") as f:
            a = np.array(f[dataset][()], dtype=np.float64)
    except (OSError, KeyError) as exc:
        raise DataError(f"{path} could not be read as HDF5 with dataset {dataset!r}: {exc}") from exc
    if a.shape[0] != N_SAMPLES or not np.all(np.isfinite(a)):
        raise DataError(f"{path}: expected finite values of shape ({N_SAMPLES}, neurons), got {a.shape}")
    return a


def load_alm(fallback: str | None = None, download: bool | None = None) -> ALMData:
    """Load the ALM rates and target inputs (verified), or the synthetic stand-in.

    fallback : ``"synthetic"`` to return :func:`synthetic_alm` when the real
        files cannot be had, with a one-line notice (printed once per session)
        saying why and how to get them; ``None`` to raise :class:`DataError`.
        A file that is present but altered always raises: a wrong file is never
        papered over.
    download : whether files missing from the cache may be downloaded; default
        (None): yes, unless ``$TUTORIAL_ALM_DOWNLOAD`` is ``0``. A download that
        failed is not tried again in the same session.
    """
    if fallback not in (None, "synthetic"):
        raise ValueError(f"fallback must be None or 'synthetic' (got {fallback!r})")
    if download is None:
        download = downloads_allowed()
    try:
        paths = alm_files(download=download)
    except DataError as exc:
        if fallback is None or "digest" in str(exc):
            raise
        notice = (f"Part 3 data: a SYNTHETIC stand-in, not the ALM recordings: {exc.reason}. For the "
                  f"recordings, set {ENV_VAR} to a folder with the four .jld files, or run once with network "
                  f"access (they are downloaded, about 6 MB, into {cache_dir()}).")
        if notice not in _NOTICES:
            _NOTICES.add(notice)
            say(notice)
        return synthetic_alm()
    rates = {c: _read(paths[("rates", c)], FILES[("rates", c)][1]) for c in CONDITIONS}
    utarg = {c: _read(paths[("utarg", c)], FILES[("utarg", c)][1]) for c in CONDITIONS}
    t = np.arange(N_SAMPLES) * SAMPLE_MS
    folder = paths[("rates", "right")].parent
    return ALMData(rates, utarg, t, f"ALM recordings (Finkelstein, Fontolan et al. 2021), {folder}")


def _synthetic_latents(s: np.ndarray) -> dict:
    """The stand-in's three shared time courses per condition, shape (3, time); ``s`` in seconds (0 to 2).

    Modelled on the leading principal components of the recordings' target inputs:
    0, the choice: a ramp before right licks, flat before left ones; 1, a ramp in both
    conditions that starts lower before right licks; 2, a slow bump, early before right
    licks and late before left ones.
    """
    x = s / s[-1]
    ramp = (1.0 - np.exp(-x / 0.6)) / (1.0 - np.exp(-1.0 / 0.6))  # saturating, 0 to 1
    return {
        "right": np.array([-0.2 + 1.2 * ramp, -1.3 + 2.1 * x,
                           np.exp(-0.5 * ((s - 0.6) / 0.4) ** 2) - 0.5 * x]),
        "left": np.array([np.full_like(s, -0.6), -0.8 + 1.6 * x,
                          np.exp(-0.5 * ((s - 1.6) / 0.4) ** 2) - 0.5 * (1.0 - x)]),
    }


def synthetic_alm(n_neurons: int = 1824, seed: int = 0) -> ALMData:
    r"""A synthetic stand-in for the ALM data, built like the recordings: low-dimensional, choice-selective.

    Not a recording. Real population activity is low-dimensional, and so is this:
    each neuron's target input is its own baseline plus its own mixture of three
    shared time courses (:func:`_synthetic_latents`: a choice ramp that rises
    before right licks only, a ramp common to both licks, a slow bump), plus a
    small, smooth private fluctuation (correlation time 0.3 s, 15 % of the
    neuron's modulation):

    .. math:: u_i^c(t) = u_i + \sum_{m=1}^{3} a_{im} z_m^c(t) + \epsilon_i^c(t),
              \qquad r_i^c(t) = f(u_i^c(t)),

    with :math:`f` the LIF transfer function at ``ALM_SIGMA``. Baselines
    :math:`u_i` are normal (mean 0.46, sd 0.1, as the recordings' targets), so the
    mean rates are heavy-tailed (median about 4 Hz, 95th percentile about 13 Hz;
    recordings: 4 and 16 Hz). Loadings are normal with scales 0.085, 0.045 and
    0.03, times a log-normal gain per neuron that grows a little with the
    baseline (modulated neurons fire faster, as in the recordings); about 60 %
    of the neurons ramp up before right licks (their choice loading is
    positive). Rates are rounded to 0.01 Hz; ``utarg`` is ``siegert_inverse(rates)``,
    as the original computed its targets from rates (rates of 0 count as
    0.1 Hz). Shape (101, n_neurons) per condition, 20 ms apart, like the real
    files; deterministic for a given ``seed``.

    Raises ValueError if ``n_neurons`` is not a positive integer.
    """
    if isinstance(n_neurons, bool) or not isinstance(n_neurons, (int, np.integer)) or n_neurons < 1:
        raise ValueError(f"n_neurons must be an integer >= 1 (got {n_neurons!r})")
    rng = np.random.default_rng(seed)
    t = np.arange(N_SAMPLES) * SAMPLE_MS
    z = _synthetic_latents(t / 1000.0)
    u0 = 0.46 + 0.1 * rng.standard_normal(n_neurons)
    gain = np.exp(0.35 * rng.standard_normal(n_neurons) + 0.3 * (u0 - 0.46) / 0.1 - 0.5 * (0.35**2 + 0.3**2))
    loadings = rng.standard_normal((3, n_neurons)) * np.array([0.085, 0.045, 0.03])[:, None]
    loadings[0] = np.abs(loadings[0]) * np.where(rng.random(n_neurons) < 0.62, 1.0, -1.0)
    loadings *= gain
    private = 0.15 * np.sqrt((loadings**2).sum(axis=0))
    a = np.exp(-SAMPLE_MS / 300.0)  # private fluctuations: AR(1), correlation time 0.3 s
    u = {}
    for c in CONDITIONS:
        e = rng.standard_normal((N_SAMPLES, n_neurons))
        for k in range(1, N_SAMPLES):
            e[k] = a * e[k - 1] + np.sqrt(1.0 - a * a) * e[k]
        u[c] = u0 + z[c].T @ loadings + private * e
    # f on a fine grid, interpolated in log rate (error ~1e-7 relative), and rates rounded to 0.01 Hz:
    # siegert_rate and siegert_inverse on every value would take seconds, on the distinct ones they take a fraction
    lo, hi = min(u[c].min() for c in CONDITIONS), max(u[c].max() for c in CONDITIONS)
    grid = np.linspace(lo, hi + 1e-9, 4001)
    log_f = np.log(np.maximum(siegert_rate(grid, ALM_SIGMA), 1e-300))
    rates = {c: np.round(np.exp(np.interp(u[c], grid, log_f)), 2) for c in CONDITIONS}
    utarg = {c: siegert_inverse(rates[c], ALM_SIGMA) for c in CONDITIONS}
    return ALMData(rates, utarg, t, "SYNTHETIC stand-in for the ALM data (not a recording)", synthetic=True)
