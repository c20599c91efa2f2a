"""Where a figure was measured: cores, CPU model, memory, and the load on the machine.

Every speed figure means little without the machine and what else ran on it (issue #25: the README's
"about 20 seconds" took 48 s on a loaded 2-core machine). :func:`describe` reads them with the standard
library on Linux, macOS and Windows; what a system does not tell (the load average on Windows, the
memory without /proc or sysctl) is ``None`` and printed as "unknown", never guessed.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path


def _cpu_model() -> str:
    """The CPU's model name: /proc/cpuinfo (Linux), sysctl (macOS), else what ``platform`` says."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")) and ":" in line:
                return " ".join(line.split(":", 1)[1].split())
    if sys.platform == "darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                  text=True, timeout=5, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def _memory_gib() -> float | None:
    """Physical memory in GiB, where the system says it without extra packages; else None."""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in getattr(os, "sysconf_names", {}):
        try:
            return round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)
        except (OSError, ValueError):
            return None
    return None


def load_average() -> float | None:
    """The 1-minute load average (runnable processes, POSIX); None where there is none (Windows)."""
    if not hasattr(os, "getloadavg"):
        return None
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def describe() -> dict:
    """The machine and its load now: ``{cores, cpu, memory_gib, load_1min, system, python}``."""
    return {"cores": os.cpu_count(), "cpu": _cpu_model(), "memory_gib": _memory_gib(),
            "load_1min": load_average(), "system": f"{platform.system()} {platform.release()}",
            "python": platform.python_version()}


def summary(machine: dict, load_after: float | None = None) -> str:
    """One line for a report, e.g. "2 cores, Intel(R) Xeon(R) ..., 23.6 GiB, Linux ...; load (1 min) 1.9 at
    the start, 2.1 at the end" (the end only with ``load_after``)."""
    def shown(x):
        return "unknown" if x is None else f"{x:g}"

    memory = "" if machine.get("memory_gib") is None else f", {machine['memory_gib']:g} GiB"
    load = f"load (1 min) {shown(machine.get('load_1min'))}"
    if load_after is not None:
        load += f" at the start, {shown(load_after)} at the end"
    return (f"{machine.get('cores')} cores, {machine.get('cpu')}{memory}, {machine.get('system')}, "
            f"Python {machine.get('python')}; {load}")
