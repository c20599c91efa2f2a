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

Without data and without network, ``load_alm(fallback="synthetic")`` returns
a clearly labelled synthetic stand-in (choice-selective ramping rates), so a
lecture never stops for the Wi-Fi.

Getting started::

    >>> from tutorial_lib.data import load_alm
    >>> alm = load_alm(fallback="synthetic")
    >>> alm.rates["right"].shape[0]        # 101 time samples
    101
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["ALMData", "DataError", "load_alm", "synthetic_alm", "alm_files", "ENV_VAR", "CONDITIONS"]

ENV_VAR = "TUTORIAL_ALM_DATA"
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
    """The ALM data cannot be used; the message says which file and what to do."""


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
    import pooch

    return Path(pooch.os_cache("rls-tutorial")) / "alm"


def alm_files(download: bool = True) -> dict:
    """Paths of the four verified files, keyed like ``FILES``; downloads them if needed and allowed."""
    local = os.environ.get(ENV_VAR)
    paths = {}
    if local:
        folder = Path(local).expanduser()
        if not folder.is_dir():
            raise DataError(f"{ENV_VAR} is set to {local!r}, which is not a folder. Point it at the folder "
                            "holding the four ALM .jld files, or unset it to download them.")
        for key, (name, _, digest) in FILES.items():
            path = folder / name
            if not path.is_file():
                raise DataError(f"{path} is missing. {ENV_VAR} points at {folder}; put the four ALM files "
                                f"there ({', '.join(f[0] for f in FILES.values())}) or unset {ENV_VAR}.")
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
            raise DataError(f"{path} has not been downloaded yet.")
        else:
            _download(name, digest, folder)
        paths[key] = path
    return paths


def _download(name: str, digest: str, folder: Path) -> None:
    import pooch

    try:
        # pooch writes to a temporary file and moves it into place only once the digest matches
        pooch.retrieve(BASE_URL + name, known_hash=f"sha256:{digest}", fname=name, path=folder, progressbar=False)
    except Exception as exc:  # network down, proxy, HTTP error, digest mismatch
        raise DataError(
            f"Could not download {name} from {BASE_URL} ({type(exc).__name__}: {exc}). Check the network, "
            f"or download the four files by hand and set {ENV_VAR} to their folder. "
            "load_alm(fallback='synthetic') gives a synthetic stand-in meanwhile."
        ) from exc


def _read(path: Path, dataset: str) -> np.ndarray:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            a = np.array(f[dataset][()], dtype=np.float64)
    except (OSError, KeyError) as exc:
        raise DataError(f"{path} could not be read as HDF5 with dataset {dataset!r}: {exc}") from exc
    if a.shape[0] != N_SAMPLES or not np.all(np.isfinite(a)):
        raise DataError(f"{path}: expected finite values of shape ({N_SAMPLES}, neurons), got {a.shape}")
    return a


def load_alm(fallback: str | None = None, download: bool = True) -> ALMData:
    """Load the ALM rates and target inputs (verified), or the synthetic stand-in.

    fallback : ``"synthetic"`` to return :func:`synthetic_alm` (with a printed
        notice saying why) when the real files cannot be had; ``None`` to raise
        :class:`DataError`. A file that is present but altered always raises:
        a wrong file is never papered over.
    """
    if fallback not in (None, "synthetic"):
        raise ValueError(f"fallback must be None or 'synthetic' (got {fallback!r})")
    try:
        paths = alm_files(download=download)
    except DataError as exc:
        if fallback is None or "digest" in str(exc):
            raise
        print(f"Using the SYNTHETIC stand-in for the ALM data: {exc}")
        return synthetic_alm()
    rates = {c: _read(paths[("rates", c)], FILES[("rates", c)][1]) for c in CONDITIONS}
    utarg = {c: _read(paths[("utarg", c)], FILES[("utarg", c)][1]) for c in CONDITIONS}
    t = np.arange(N_SAMPLES) * SAMPLE_MS
    folder = paths[("rates", "right")].parent
    return ALMData(rates, utarg, t, f"ALM recordings (Finkelstein, Fontolan et al. 2021), {folder}")


def synthetic_alm(n_neurons: int = 400, seed: int = 0) -> ALMData:
    """A synthetic stand-in for the ALM data: choice-selective ramping rates, clearly labelled.

    Not a recording. Each neuron has a baseline rate (log-normal, a few Hz), a
    ramp during the delay that depends on the upcoming lick direction (some
    neurons prefer right, some left, some neither), and a phasic burst after
    the go cue at 1.4 s, roughly as ALM neurons do. Shape (101, n_neurons),
    20 ms apart, like the real files; ``utarg`` is None.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(N_SAMPLES) * SAMPLE_MS
    s = t / 1000.0
    base = rng.lognormal(np.log(4.0), 0.7, n_neurons)
    pref = rng.choice([-1.0, 0.0, 1.0], n_neurons, p=[0.4, 0.2, 0.4])  # -1 left, +1 right
    ramp_gain = rng.gamma(2.0, 3.0, n_neurons)
    ramp_shape = np.clip(s / 1.4, 0, 1)[:, None] ** rng.uniform(1.0, 2.5, n_neurons)
    burst = rng.gamma(1.5, 4.0, n_neurons) * rng.choice([0.0, 1.0], n_neurons, p=[0.5, 0.5])
    go = np.exp(-0.5 * ((s[:, None] - 1.6) / 0.12) ** 2)
    rates = {}
    for c, sign in (("right", 1.0), ("left", -1.0)):
        selective = ramp_gain * ramp_shape * (0.5 + 0.5 * sign * pref)
        r = base + selective + burst * go * (1.0 + 0.5 * sign * pref)
        rates[c] = np.maximum(r, 0.0)
    return ALMData(rates, None, t, "SYNTHETIC stand-in for the ALM data (not a recording)", synthetic=True)
