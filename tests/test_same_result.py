"""Same seed, same result on every CPU: the pinned digests under other instruction sets.

numba compiles for the CPU it runs on, and NumPy and OpenBLAS pick their kernels by CPU at import.
A compiled sum whose order follows the vector width (``fastmath`` with ``reassoc``) or whose products
fuse into FMAs where the CPU has them (``contract``) gives other last bits on another machine, and the
chaotic Part 1 network turns them into another result (issue 22: a fresh clone failed on an AVX2
machine). The kernels are compiled without ``fastmath`` and sum in one fixed order, so:

* with NumPy as it is, every numba target gives the same bits (the exact digest below): SSE4.2 only,
  AVX2 with FMA, AVX-512 where this machine has it, and the host;
* with NumPy's and OpenBLAS's own kernels narrowed as well (what a machine without AVX-512 runs), the
  pinned digests of ``tests/test_pinned_results.py`` (floats to 9 digits) are the same. NumPy's
  vectorised ``exp``/``log`` and OpenBLAS's products may differ in the last bit between CPUs; those
  differences stay at round-off here (checked) and are not amplified, unlike a chaotic kernel's.

Each setting runs in its own process with its own empty numba cache folder (the cache is keyed by
CPU, but a shared folder would confuse the comparison).
"""

import ast
import os
import platform
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from test_pinned_results import PINNED

ROOT = Path(__file__).resolve().parents[1]
X86 = platform.machine().lower() in ("x86_64", "amd64")

_SSE = {"NUMBA_CPU_NAME": "generic", "NUMBA_CPU_FEATURES": "+sse4.2,-avx,-avx2,-fma"}
_AVX2 = {"NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": "+avx2,+fma,-avx512f"}
_AVX512 = {"NUMBA_CPU_NAME": "skylake-avx512", "NUMBA_CPU_FEATURES": ""}
_NUMPY_AVX2 = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_CORETYPE": "Haswell"}
_NUMPY_SSE = {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
              "OPENBLAS_CORETYPE": "Nehalem"}


def _has_avx512() -> bool:
    try:
        return " avx512f " in Path("/proc/cpuinfo").read_text().replace("\n", " ")
    except OSError:
        return False


def _settings():
    """name -> (environment, whether NumPy/OpenBLAS run as on the host)."""
    out = {"host": ({}, True)}
    if X86:
        out["numba-sse4.2"] = (_SSE, True)
        out["numba-avx2-fma"] = (_AVX2, True)
        if _has_avx512():
            out["numba-avx512"] = (_AVX512, True)
        out["machine-avx2-fma"] = ({**_AVX2, **_NUMPY_AVX2}, False)
        out["machine-sse4.2"] = ({**_SSE, **_NUMPY_SSE}, False)
    else:  # ARM64 and others: the generic target against the host's
        out["numba-generic"] = ({"NUMBA_CPU_NAME": "generic"}, True)
    return out


_PROGRAM = """
import hashlib, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import test_pinned_results as t

def exact(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(np.asarray(a)).tobytes())
    return h.hexdigest()[:16]

t_digest = t._digest
for run in t.PINNED:
    captured = []
    t._digest = lambda *a: captured.append(a) or t_digest(*a)
    pinned = run()
    print(run.__name__, pinned, exact(*captured[0]))
"""


def _run(env_extra):
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_CPU", "NPY_DISABLE"))}
        env.update(env_extra, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
        out = subprocess.run([sys.executable, "-c", _PROGRAM, str(ROOT / "tests")], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [line.split() for line in out.stdout.splitlines() if line.startswith("part")]
    return {name: (pinned, exact) for name, pinned, exact in rows}


@pytest.fixture(scope="module")
def digests():
    settings = _settings()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(settings, pool.map(lambda s: _run(settings[s][0]), settings)))
    print("\ncross-CPU digests (pinned, exact):")
    for name, rows in results.items():
        print(f"  {name:<18}", "  ".join(f"{part} {p} {e}" for part, (p, e) in rows.items()))
    return settings, results


def test_every_cpu_setting_gives_the_pinned_digests(digests):
    settings, results = digests
    want = {run.__name__: pin for run, pin in PINNED.items()}
    for name, rows in results.items():
        assert {part: p for part, (p, _) in rows.items()} == want, f"setting {name}: {settings[name][0]}"


def test_every_numba_target_gives_the_same_bits(digests):
    settings, results = digests
    same_numpy = [name for name, (_, host_numpy) in settings.items() if host_numpy]
    assert len(same_numpy) >= 2
    exact = {name: {part: e for part, (_, e) in results[name].items()} for name in same_numpy}
    for name in same_numpy:
        assert exact[name] == exact["host"], f"numba setting {name} changed the bits: {settings[name][0]}"


def _fastmath_uses():
    """(file, line, flags) of every numba decorator in tutorial_lib and benchmarks that sets fastmath."""
    found = []
    for path in [*ROOT.joinpath("tutorial_lib").rglob("*.py"), *ROOT.joinpath("benchmarks").rglob("*.py")]:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg == "fastmath" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                        found.append((str(path.relative_to(ROOT)), node.lineno, ast.unparse(kw.value)))
    return found


def test_no_kernel_is_compiled_with_fastmath():
    # reassoc makes a sum's order follow the vector width, contract fuses into FMAs where the CPU has
    # them, afn/arcp approximate: each makes the bits depend on the CPU. None may come back.
    assert _fastmath_uses() == []


def test_the_fastmath_scan_sees_a_decorator(tmp_path, monkeypatch):
    bad = tmp_path / "tutorial_lib"
    bad.mkdir()
    (bad / "k.py").write_text("from numba import njit\n@njit(cache=True, fastmath={'reassoc'})\ndef f(x):\n"
                              "    return x\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert [(f, line) for f, line, _ in _fastmath_uses()] == [("tutorial_lib/k.py", 2)]
