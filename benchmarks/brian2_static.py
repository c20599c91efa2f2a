r"""Our LIF engine against Brian2 on the static balanced network of Part 3 (SPEC, Part 3).

``python -m benchmarks brian2`` (or ``python -m benchmarks.brian2_static`` for the
comparison alone, with ``--N``, ``--K``, ``--T`` for other sizes). Brian2 is a
benchmark extra, not a dependency: ``pip install -e .[bench]``; without it the
comparison is skipped with a message and only our engine is timed.

One network, three simulators:

* ours: :func:`tutorial_lib.engine.simulate.simulate` on ``static_network(params).lif()``
  (numba, one thread), timed after a warm-up call; the first call (numba
  compilation, or loading the compiled kernel from numba's cache) is reported apart;
* Brian2 runtime mode, its default code-generation target (Cython when it can
  compile, else NumPy; the target used is reported), timed after a warm-up run of
  a tiny copy of the model that compiles (or loads from Brian2's cache) its code;
* Brian2 C++ standalone mode (``set_device("cpp_standalone")``), the project
  written into a temporary directory: code generation, ``make`` and the run of the
  binary are reported apart, and so is the simulation loop inside the binary
  (Brian2's own measurement, without loading the 5 million synapses).

Each Brian2 mode runs in a subprocess of its own (``python -m benchmarks.brian2_static
--worker MODE``), so the two modes' global states never meet; the subprocess stays alive and
runs the network again on request, so that its runs can alternate with ours.

The same model, the same connectivity and the same initial voltages. Brian2
gets the synapses of ``static_network`` (CSR ``pre``/``post``/``w`` of its
excitatory and inhibitory channels) through ``Synapses.connect(i=pre, j=post)``;
each worker rebuilds the network from the seed and hands back a digest of the
synapse arrays, which must equal ours. The equations, in the engine's units
(times in ms, voltages in units of the threshold)::

    dv/dt   = (mu - v + x_e + x_i) / tau_m    threshold v >= 1, reset v = 0
    dx_e/dt = -x_e / tau_s                    on_pre (E synapses): x_e_post += w / tau_s
    dx_i/dt = -x_i / tau_s                    on_pre (I synapses): x_i_post += w / tau_s

(``x_e``, ``x_i``: Brian2 reserves ``xi`` for white noise)
with ``w`` stored in Brian2 as a time (the engine's number times ms: the area
under a spike's current), so that ``w / tau_s`` is the engine's jump ``w / tau``.
``method="euler"``, ``dt = 0.1 ms``, no refractory period, ``v0 ~ U(0, 1)`` (one
draw, given to both).

The time step is the same, not only close. Brian2's schedule in each step is
state update (all variables by Euler from the old values: ``v`` moves with the
currents at ``t_n``, the currents decay by ``1 - dt/tau_s``), threshold,
synaptic propagation (delay 0: this step's spikes are added to the currents at
once), reset. The engine does the same (its reset comes before the
propagation, which touches only the currents): a spike of step ``n`` is in the
currents at ``t_{n+1}`` and moves the voltages from step ``n + 1`` on, the
one-step delay of the SPEC, with Brian2's default zero delay. The only
difference in bookkeeping is the label: Brian2 records a spike of step ``n`` at
``n dt``, the engine at ``(n + 1) dt``. Rates are therefore counted by step,
over steps ``n >= 2000`` (``simulate_static``'s "after the first 200 ms").
The population rates must agree within 10 %; the spike trains are compared
too (``identical_until``: the first step whose spikes differ). Measured: all
three give identical spikes over the whole 3 s at the SPEC's size. The
balanced state is chaotic, so a change in the last bits (summation order,
``-ffast-math``) could make them part after a while; the rates would still agree.

Times: after one untimed set-up run each, ``--rounds`` rounds (5 by default) each run ours,
then Brian2 runtime (again after ``Network.restore``), then the standalone binary (run again).
Each Brian2 time is divided by ours of the same round, and the median of those ratios is
reported with its range: the machine is shared and noisy, and a load that comes and goes then
hits both sides of a ratio alike (a single pair of timings flipped the standalone ratio from
1.35 to 0.61 under load). Fairness: one thread
everywhere for the simulation (ours has no parallel loop;
Brian2 standalone without OpenMP, its default; runtime Cython is serial;
``OMP_NUM_THREADS=1`` etc. in the workers). ``make`` uses Brian2's default
``-j`` (all cores) for compiling only. Brian2 standalone compiles with its
default flags (``-O3 -ffast-math -march=native``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tutorial_lib.balanced import SETTLE_MS  # rates are counted after the onset transient, as there

SPEC_SIZE = {"N": 5000, "K": 500, "T": 3000.0}  # SPEC, Part 3: 5000 neurons, K = 500, a 3 s trial
AGREE = 0.10  # rates of the three simulators must agree within 10 %
INSTALL_HINT = "pip install -e .[bench]"
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


# ---------------------------------------------------------------------------
# The network, shared by all simulators


def network(N: int, K: int, seed: int = 0):
    """``(params, StaticNetwork, v0)``: the SPEC's static network at size ``N``, ``K`` (g = 1, dt 0.1 ms)."""
    from tutorial_lib import BalancedParams
    from tutorial_lib.balanced import static_network

    Ni = N - round(BalancedParams.frac_exc * N)
    p = BalancedParams(N=N, K=K, seed=seed, L=min(BalancedParams.L, Ni))  # L (plastic inputs) unused here
    net = static_network(p)
    v0 = np.random.default_rng([seed, 4242]).uniform(0.0, 1.0, size=N)
    return p, net, v0


def synapse_arrays(net) -> dict:
    """Pre, post and weight arrays of the E and I channels, from the engine's CSR."""
    out = {}
    for key, ch in (("exc", net.exc), ("inh", net.inh)):
        out[key] = (np.repeat(np.arange(ch.N, dtype=np.int64), np.diff(ch.ptr)), ch.post.astype(np.int64),
                    ch.w.astype(np.float64), float(ch.tau))
    return out


def digest(syn: dict, v0: np.ndarray) -> str:
    """SHA-256 of the synapses and initial voltages (both sides must simulate the same network)."""
    h = hashlib.sha256()
    for key in ("exc", "inh"):
        pre, post, w, tau = syn[key]
        for a in (pre, post, w, np.array([tau])):
            h.update(np.ascontiguousarray(a).tobytes())
    h.update(np.ascontiguousarray(v0).tobytes())
    return h.hexdigest()


def rates_by_step(steps: np.ndarray, neurons: np.ndarray, p, T: float) -> tuple[float, float]:
    """Mean E and I rates (Hz) of the spikes in steps ``n >= SETTLE_MS / dt``."""
    late = steps >= int(round(SETTLE_MS / p.dt))
    counts = np.bincount(neurons[late], minlength=p.N) / ((T - SETTLE_MS) / 1000.0)
    return float(counts[: p.Ne].mean()), float(counts[p.Ne:].mean())


def spike_keys(steps: np.ndarray, neurons: np.ndarray, N: int) -> np.ndarray:
    """Spikes as sorted ``step * N + neuron`` (the same spike of two simulators has the same key)."""
    return np.sort(np.asarray(steps, dtype=np.int64) * N + np.asarray(neurons, dtype=np.int64))


def identical_until(a, b, N: int, dt: float, T: float) -> float:
    """Time (ms) up to which two spike records (keys) are identical: the start of the first step that differs.

    ``T`` if they are identical throughout.
    """
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    n = min(a.size, b.size)
    diff = np.flatnonzero(a[:n] != b[:n])
    if diff.size:
        k = diff[0]
        return float(min(a[k], b[k]) // N) * dt
    if a.size == b.size:
        return float(T)
    return float((a[n] if a.size > n else b[n]) // N) * dt


# ---------------------------------------------------------------------------
# Our engine


def prepare_ours(N: int, K: int, T: float, seed: int = 0):
    """``(info, run_once)``: our engine on the static network, its first call (numba compilation or
    the cache load) and one full run done; ``run_once()`` runs it again and returns the seconds."""
    from tutorial_lib.engine.simulate import simulate

    p, net, v0 = network(N, K, seed)
    lif = net.lif()
    nothing = np.zeros(0, dtype=np.int64)

    def once(duration):
        t0 = time.perf_counter()
        run = simulate(lif, duration, rng=np.random.default_rng(seed), v0=v0, record=nothing,
                       max_rate=p.max_rate)
        return run, time.perf_counter() - t0

    _, first = once(10 * p.dt)  # numba compilation (or loading the cached kernel) happens here
    run, seconds = once(T)
    re, ri = rates_by_step(run.spike_steps, run.spike_neurons, p, T)
    info = {"mode": "ours", "seconds": seconds, "first_call_seconds": first, "rate_e": re, "rate_i": ri,
            "n_spikes": int(run.spike_steps.size), "digest": digest(synapse_arrays(net), v0),
            "spike_keys": spike_keys(run.spike_steps, run.spike_neurons, N).tolist()}
    return info, lambda: once(T)[1]


# ---------------------------------------------------------------------------
# Brian2 (run in a worker process)


def _patch_numpy_ptp():
    """Let Brian2 2.9 import under NumPy >= 2.4, which removed ``ndarray.ptp``.

    Brian2 2.9.0 (the last release for Python < 3.12) wraps ``np.ndarray.ptp``
    when its units module is imported; Brian2 fixed this in brian-team/brian2#1705
    (2.10, Python >= 3.12). Here the one line is compiled with ``np.ptp`` instead,
    in this process only; nothing on disk changes.
    """
    import importlib.abc
    import importlib.machinery
    import importlib.util

    if hasattr(np.ndarray, "ptp"):
        return
    spec = importlib.util.find_spec("brian2")
    if spec is None or spec.origin is None:
        return
    target = "brian2.units.fundamentalunits"
    path = os.path.join(os.path.dirname(spec.origin), "units", "fundamentalunits.py")

    class Loader(importlib.machinery.SourceFileLoader):
        def get_code(self, fullname):
            source = self.get_data(self.path).decode("utf-8")
            return compile(source.replace("np.ndarray.ptp", "np.ptp"), self.path, "exec", dont_inherit=True)

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path_=None, target_=None):
            if fullname != target:
                return None
            return importlib.util.spec_from_file_location(fullname, path, loader=Loader(fullname, path))

    sys.meta_path.insert(0, Finder())


def import_brian2():
    """Import Brian2 (with :func:`_patch_numpy_ptp`); ``(module, None)`` or ``(None, reason)``."""
    import importlib.util

    if importlib.util.find_spec("brian2") is None:
        return None, f"Brian2 is not installed: {INSTALL_HINT}"
    _patch_numpy_ptp()
    try:
        import brian2
    except Exception as exc:  # noqa: BLE001 - any import failure means: skip, with the reason
        return None, f"Brian2 is installed but does not import ({type(exc).__name__}: {exc})"
    return brian2, None


def _brian2_model(b2, N, mu, syn, v0, record: bool):
    """The network as Brian2 objects (explicit names: the generated code is the same at every size)."""
    ns = {"tau_m": 10.0 * b2.ms, "tau_s": syn["exc"][3] * b2.ms}
    assert syn["inh"][3] == syn["exc"][3], "one synaptic time constant for both channels"
    eqs = """
    dv/dt = (mu - v + x_e + x_i) / tau_m : 1
    dx_e/dt = -x_e / tau_s : 1
    dx_i/dt = -x_i / tau_s : 1
    mu : 1 (constant)
    """
    G = b2.NeuronGroup(N, eqs, threshold="v >= 1", reset="v = 0", method="euler", namespace=ns,
                       name="neurons")
    G.v = v0
    G.mu = mu
    objs = [G]
    for key, var in (("exc", "x_e"), ("inh", "x_i")):
        pre, post, w, _ = syn[key]
        S = b2.Synapses(G, G, "w : second (constant)", on_pre=f"{var}_post += w / tau_s", namespace=ns,
                        name=key)
        S.connect(i=pre, j=post)
        S.w = w * b2.ms
        objs.append(S)
    mon = b2.SpikeMonitor(G, name="spikes", record=record)
    objs.append(mon)
    return b2.Network(*objs), mon


def _brian2_target(b2) -> str:
    """The runtime code-generation target that ``prefs.codegen.target = 'auto'`` picks (or the one set)."""
    target = b2.prefs.codegen.target
    if target != "auto":
        return target if isinstance(target, str) else getattr(target, "class_name", str(target))
    from brian2.codegen.runtime.cython_rt.cython_rt import CythonCodeObject

    return "cython" if CythonCodeObject.is_available() else "numpy"


def serve_brian2(mode: str, N: int, K: int, T: float, seed: int = 0, target: str | None = None,
                 send=print, requests=iter(())) -> None:
    """Simulate the network with Brian2 here (``mode`` "runtime" or "standalone"), then again on request.

    The first run's figures go to ``send`` (a dict); then for each ``"run"`` in ``requests`` the
    network runs again (runtime: ``Network.restore`` and run; standalone: the compiled binary again)
    and ``send`` gets ``{"seconds": ...}`` (standalone also ``"binary_seconds"``), so that the
    caller can alternate these runs with its own.
    """
    b2, reason = import_brian2()
    if b2 is None:
        send({"mode": mode, "skipped": reason})
        return
    b2.prefs.logging.console_log_level = "WARNING"
    p, net, v0 = network(N, K, seed)
    syn = synapse_arrays(net)
    out = {"mode": mode, "brian2_version": b2.__version__, "digest": digest(syn, v0)}
    b2.defaultclock.dt = p.dt * b2.ms
    duration = T * b2.ms
    if mode == "runtime":
        if target is not None:
            b2.prefs.codegen.target = target
        out["target"] = _brian2_target(b2)
        # warm-up: a tiny copy of the model compiles (or loads from Brian2's cache) the same code
        t0 = time.perf_counter()
        _, tiny_net, tiny_v0 = network(100, 20, seed)
        tiny = _brian2_model(b2, 100, tiny_net.mu, synapse_arrays(tiny_net), tiny_v0, record=True)[0]
        tiny.run(10 * p.dt * b2.ms)
        del tiny
        import gc

        gc.collect()
        out["warmup_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        b2net, mon = _brian2_model(b2, N, net.mu, syn, v0, record=True)
        out["setup_seconds"] = time.perf_counter() - t0
        b2net.store()
        t0 = time.perf_counter()
        b2net.run(duration)
        out["seconds"] = time.perf_counter() - t0

        def again():
            b2net.restore()
            t0 = time.perf_counter()
            b2net.run(duration)
            return {"seconds": time.perf_counter() - t0}
    elif mode == "standalone":
        directory = tempfile.mkdtemp(prefix="brian2-standalone-")
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        out["openmp_threads"] = int(b2.prefs.devices.cpp_standalone.openmp_threads)
        t0 = time.perf_counter()
        b2net, mon = _brian2_model(b2, N, net.mu, syn, v0, record=True)
        b2net.run(duration)
        device = b2.get_device()
        device.build(directory=directory, compile=True, run=True, debug=False, clean=True)
        total = time.perf_counter() - t0
        make = (device.timers["compile"]["make"] or 0.0) + (device.timers["compile"]["clean"] or 0.0)
        out["compile_seconds"] = make
        out["binary_seconds"] = float(device.timers["run_binary"])
        out["codegen_seconds"] = total - make - out["binary_seconds"]
        out["seconds"] = float(device._last_run_time)  # the simulation loop, measured by the binary

        def again():
            device.run(directory=directory, with_output=False)
            return {"seconds": float(device._last_run_time), "binary_seconds": float(device.timers["run_binary"])}
        out["total_seconds"] = total
        out["cxx_flags"] = " ".join(b2.prefs.codegen.cpp.extra_compile_args_gcc)
    else:
        raise ValueError(f"mode must be 'runtime' or 'standalone' (got {mode!r})")
    steps = np.rint(np.asarray(mon.t / b2.ms) / p.dt).astype(np.int64)  # Brian2 labels step n with n dt
    neurons = np.asarray(mon.i[:], dtype=np.int64)
    out["rate_e"], out["rate_i"] = rates_by_step(steps, neurons, p, T)
    out["n_spikes"] = int(steps.size)
    out["spike_keys"] = spike_keys(steps, neurons, N).tolist()
    try:
        send(out)
        for request in requests:
            if request.strip() != "run":
                break
            send(again())
    finally:
        if mode == "standalone":
            import shutil

            shutil.rmtree(directory, ignore_errors=True)


_REPLY = "@@brian2-worker "  # marks the worker's replies among whatever Brian2 prints


class Worker:
    """:func:`serve_brian2` in a process of its own, one thread, kept alive so that its runs can
    alternate with ours. ``first`` is its first run's figures (or ``{"skipped"/"error": ...}``);
    :meth:`run` runs it once more and returns the seconds."""

    def __init__(self, mode: str, N: int, K: int, T: float, seed: int = 0, target: str | None = None,
                 timeout: float = 540.0):
        import queue
        import threading

        env = dict(os.environ)
        env.update({k: "1" for k in _THREAD_VARS})
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        cmd = [sys.executable, "-m", "benchmarks.brian2_static", "--worker", mode, "--N", str(N),
               "--K", str(K), "--T", str(T), "--seed", str(seed)]
        if target:
            cmd += ["--target", target]
        self.mode, self.timeout, self._tail = mode, timeout, []
        self.proc = subprocess.Popen(cmd, env=env, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        self._replies = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.first = self._reply(timeout)

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith(_REPLY):
                self._replies.put(json.loads(line[len(_REPLY):]))
            else:
                self._tail = (self._tail + [line.rstrip()])[-15:]
        self._replies.put(None)  # the worker ended

    def _reply(self, timeout: float) -> dict:
        import queue

        try:
            reply = self._replies.get(timeout=timeout)
        except queue.Empty:
            self.close()
            return {"mode": self.mode, "error": f"timed out after {timeout:g} s"}
        if reply is None:
            self.proc.wait()
            return {"mode": self.mode, "error": f"worker exited with {self.proc.returncode}:\n"
                                                + "\n".join(self._tail)}
        return reply

    def run(self) -> dict:
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        reply = self._reply(self.timeout)
        if "error" in reply:
            raise RuntimeError(f"Brian2 {self.mode}: {reply['error']}")
        return reply

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------------
# The comparison


def _spread(values) -> dict:
    """Median, smallest and largest of a list of numbers."""
    v = np.asarray(values, dtype=np.float64)
    return {"median": float(np.median(v)), "min": float(v.min()), "max": float(v.max())}


def compare(N: int = SPEC_SIZE["N"], K: int = SPEC_SIZE["K"], T: float = SPEC_SIZE["T"], seed: int = 0,
            modes=("runtime", "standalone"), target: str | None = None, rounds: int = 5, log=print) -> dict:
    """Run ours and the Brian2 ``modes``; a dict with the results by name, the agreement and the prediction.

    Every simulator is set up and run once (its spikes are compared), then timed in ``rounds``
    rounds, each running ours and then every Brian2 mode once: on a shared, noisy machine a load
    that comes and goes then hits all of them alike. Each Brian2 time is divided by ours of the same
    round; the result holds the median of those ratios and their range, and the median times.
    """
    from tutorial_lib import BalancedParams
    from tutorial_lib.balanced import balance_rates

    if int(rounds) < 1:
        raise ValueError(f"rounds must be >= 1 (got {rounds})")
    ours, run_ours_once = prepare_ours(N, K, T, seed)
    results = {"ours": ours}
    workers = {}
    try:
        for mode in modes:
            w = Worker(mode, N, K, T, seed, target=target)
            res = w.first
            if "skipped" in res or "error" in res:
                w.close()
                log(f"brian2 {mode}: SKIPPED: {res.get('skipped') or res.get('error')}")
                if "skipped" in res:
                    break  # the same reason holds for every mode
                continue
            if res["digest"] != ours["digest"]:
                w.close()
                raise RuntimeError(f"Brian2 {mode} simulated another network than ours (synapse digests differ)")
            results[mode], workers[mode] = res, w
        times = {name: [] for name in results}
        extra = {name: [] for name in results}
        for r in range(int(rounds)):
            times["ours"].append(run_ours_once())
            for mode, w in workers.items():
                reply = w.run()
                times[mode].append(reply["seconds"])
                extra[mode].append(reply.get("binary_seconds", np.nan))
            log(f"round {r + 1}/{rounds}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()))
    finally:
        for w in workers.values():
            w.close()
    for name, res in results.items():
        res["times"] = times[name]
        res["seconds"] = _spread(times[name])["median"]
        if name == "standalone":
            res["binary_seconds"] = _spread(extra[name])["median"]
        if name != "ours":
            res["over_ours"] = _spread([b / o for b, o in zip(times[name], times["ours"])])
    agree = {}
    dt = BalancedParams().dt
    for name, res in results.items():
        if name != "ours":
            agree[name] = all(abs(res[k] - ours[k]) <= AGREE * ours[k] for k in ("rate_e", "rate_i"))
            res["identical_until_ms"] = identical_until(res["spike_keys"], ours["spike_keys"], N, dt, T)
    for res in results.values():
        res.pop("spike_keys")
    prediction = balance_rates(BalancedParams(N=N, K=K, seed=seed))
    return {"size": {"N": N, "K": K, "T": T, "seed": seed, "rounds": int(rounds)}, "results": results,
            "agree": agree,
            "prediction": [float(x) for x in prediction]}


def _rows(out: dict) -> list:
    """The comparison as benchmark rows ``(name, value, unit, note)``."""
    r = out["results"]
    ours = r["ours"]
    s = out["size"]
    size = f"N={s['N']}, K={s['K']}, {s['T'] / 1000:g} s"
    rows = [
        ("brian2cmp_ours_seconds", ours["seconds"], "s", f"our engine (numba, 1 thread), {size}, "
                                                          f"median of {s['rounds']} alternated runs"),
        ("brian2cmp_ours_first_call_seconds", ours["first_call_seconds"], "s",
         "first call: numba compilation or cache load"),
        ("brian2cmp_ours_rate_e", ours["rate_e"], "Hz", f"after {SETTLE_MS:g} ms"),
        ("brian2cmp_ours_rate_i", ours["rate_i"], "Hz", f"after {SETTLE_MS:g} ms"),
    ]
    if "runtime" in r:
        b = r["runtime"]
        rows += [
            ("brian2cmp_runtime_seconds", b["seconds"], "s", f"Brian2 {b['brian2_version']} runtime, target "
                                                             f"{b['target']}, net.run only"),
            ("brian2cmp_runtime_setup_seconds", b["setup_seconds"], "s", "objects + connect(i, j) + weights"),
            ("brian2cmp_runtime_warmup_seconds", b["warmup_seconds"], "s", "tiny run: codegen/compile"),
            ("brian2cmp_runtime_rate_e", b["rate_e"], "Hz", ""),
            ("brian2cmp_runtime_rate_i", b["rate_i"], "Hz", ""),
            ("brian2cmp_runtime_over_ours", b["over_ours"]["median"], "x",
             f"Brian2 runtime / ours, median of {s['rounds']} alternated rounds, range "
             f"{b['over_ours']['min']:.2f}-{b['over_ours']['max']:.2f}"),
            ("brian2cmp_runtime_over_ours_min", b["over_ours"]["min"], "x", "smallest ratio of a round"),
            ("brian2cmp_runtime_over_ours_max", b["over_ours"]["max"], "x", "largest ratio of a round"),
            ("brian2cmp_runtime_rates_agree", float(out["agree"]["runtime"]), "", f"1: within {AGREE:.0%}"),
            ("brian2cmp_runtime_identical_until", b["identical_until_ms"], "ms", "spikes identical up to"),
        ]
    if "standalone" in r:
        b = r["standalone"]
        rows += [
            ("brian2cmp_standalone_seconds", b["seconds"], "s", "Brian2 C++ standalone, simulation loop "
                                                                f"({b['openmp_threads'] or 1} thread)"),
            ("brian2cmp_standalone_binary_seconds", b["binary_seconds"], "s", "whole binary, with loading (median)"),
            ("brian2cmp_standalone_compile_seconds", b["compile_seconds"], "s", "make (C++ compilation)"),
            ("brian2cmp_standalone_codegen_seconds", b["codegen_seconds"], "s", "Python: objects + codegen"),
            ("brian2cmp_standalone_rate_e", b["rate_e"], "Hz", ""),
            ("brian2cmp_standalone_rate_i", b["rate_i"], "Hz", ""),
            ("brian2cmp_standalone_over_ours", b["over_ours"]["median"], "x",
             f"standalone loop / ours, median of {s['rounds']} alternated rounds, range "
             f"{b['over_ours']['min']:.2f}-{b['over_ours']['max']:.2f}"),
            ("brian2cmp_standalone_over_ours_min", b["over_ours"]["min"], "x", "smallest ratio of a round"),
            ("brian2cmp_standalone_over_ours_max", b["over_ours"]["max"], "x", "largest ratio of a round"),
            ("brian2cmp_standalone_binary_over_ours", b["binary_seconds"] / ours["seconds"], "x",
             "whole binary / ours"),
            ("brian2cmp_standalone_rates_agree", float(out["agree"]["standalone"]), "",
             f"1: within {AGREE:.0%}"),
            ("brian2cmp_standalone_identical_until", b["identical_until_ms"], "ms", "spikes identical up to"),
        ]
    pe, pi = out["prediction"]
    rows += [("brian2cmp_balance_rate_e", pe, "Hz", "balance equations, K -> infinity"),
             ("brian2cmp_balance_rate_i", pi, "Hz", "balance equations, K -> infinity")]
    return rows


def report(out: dict, file=sys.stdout):
    """A readable summary of :func:`compare`: times, rates, ratios, agreement."""
    r = out["results"]
    ours = r["ours"]
    s = out["size"]
    print(f"\nStatic balanced network, N = {s['N']}, K = {s['K']}, {s['T']:g} ms, dt = 0.1 ms, g = 1 "
          f"(rates after {SETTLE_MS:g} ms; times: medians of {s['rounds']} alternated rounds, one thread; "
          f"x ours: median ratio within a round, and its range)", file=file)
    print(f"{'simulator':<34} {'time (s)':>9} {'extra (s)':>28} {'E (Hz)':>7} {'I (Hz)':>7} {'x ours':>7} "
          f"{'range':>11}", file=file)
    print(f"{'ours (numba, 1 thread)':<34} {ours['seconds']:9.2f} "
          f"{'first call ' + format(ours['first_call_seconds'], '.2f'):>28} "
          f"{ours['rate_e']:7.2f} {ours['rate_i']:7.2f} {1.0:7.2f}", file=file)
    if "runtime" in r:
        b = r["runtime"]
        extra = f"setup {b['setup_seconds']:.1f}, warm-up {b['warmup_seconds']:.1f}"
        print(f"{'Brian2 runtime (' + b['target'] + ')':<34} {b['seconds']:9.2f} {extra:>28} "
              f"{b['rate_e']:7.2f} {b['rate_i']:7.2f} {b['over_ours']['median']:7.2f} "
              f"{b['over_ours']['min']:5.2f}-{b['over_ours']['max']:<5.2f}", file=file)
    if "standalone" in r:
        b = r["standalone"]
        extra = f"compile {b['compile_seconds']:.1f}, binary {b['binary_seconds']:.1f}"
        print(f"{'Brian2 C++ standalone (loop)':<34} {b['seconds']:9.2f} {extra:>28} "
              f"{b['rate_e']:7.2f} {b['rate_i']:7.2f} {b['over_ours']['median']:7.2f} "
              f"{b['over_ours']['min']:5.2f}-{b['over_ours']['max']:<5.2f}", file=file)
    pe, pi = out["prediction"]
    print(f"{'balance equations (K -> inf)':<34} {'':>9} {'':>28} {pe:7.2f} {pi:7.2f}", file=file)
    for name, ok in out["agree"].items():
        print(f"rates of Brian2 {name} and ours agree within {AGREE:.0%}: {'yes' if ok else 'NO'}; spike "
              f"trains identical up to {r[name]['identical_until_ms']:g} ms (of {s['T']:g})", file=file)
    if not out["agree"]:
        print(f"Brian2 comparison skipped (Brian2 missing? {INSTALL_HINT})", file=file)


def bench_brian2(N: int = SPEC_SIZE["N"], K: int = SPEC_SIZE["K"], T: float = SPEC_SIZE["T"],
                 rounds: int = 5) -> list:
    """The registry entry: the comparison at the SPEC's size, a readable report on stderr, and the rows."""
    out = compare(N, K, T, rounds=rounds, log=lambda m: print(m, file=sys.stderr, flush=True))
    report(out, file=sys.stderr)
    return _rows(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.brian2_static",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, default=SPEC_SIZE["N"])
    ap.add_argument("--K", type=int, default=SPEC_SIZE["K"])
    ap.add_argument("--T", type=float, default=SPEC_SIZE["T"], help="ms")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--modes", default="runtime,standalone", help="Brian2 modes, comma-separated")
    ap.add_argument("--rounds", type=int, default=5,
                    help="timed rounds, each running every simulator once (default 5)")
    ap.add_argument("--target", default=None, help="Brian2 runtime target (default: Brian2's choice)")
    ap.add_argument("--worker", choices=["runtime", "standalone"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        def send(reply):  # one marked line per reply; whatever Brian2 prints is not marked
            print(_REPLY + json.dumps(reply), flush=True)

        serve_brian2(args.worker, args.N, args.K, args.T, args.seed, target=args.target, send=send,
                     requests=sys.stdin)
        return 0
    modes = tuple(m for m in args.modes.split(",") if m)
    out = compare(args.N, args.K, args.T, args.seed, modes=modes, target=args.target, rounds=args.rounds)
    report(out)
    print()
    for name, value, unit, _ in _rows(out):
        print(f"{name} {value:.6g} {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
