"""The lecture page of Part 3, timed as a lecturer meets it: ``python -m benchmarks lecture-part3``.

The page is built exactly as ``lecture/part3_balanced_network.ipynb`` builds it
(``tutorial_lib.lecture.lecture_page("balanced_dashboard")``: :meth:`BalancedParams.lecture`, the
ALM recordings or, without them, the synthetic stand-in), then Train is pressed headless
(``dashboard.start(block=True)``: network build, loop 0, the default loops with their tests, every
frame of the live figure rendered at the page's size; no browser draws it). Figures: seconds to
build the page, and from Train to "Done". Run it in a process of its own (``python -m benchmarks
lecture-part3``), as a page gets its own kernel; numba's cache is warm after any earlier run.

Figures on the synthetic stand-in are named ``lecture_part3_synthetic_*``: they are not the
lecture's (set ``TUTORIAL_ALM_DATA`` to the recordings' folder, or let them download once).
"""

from __future__ import annotations

import sys
import time

from tutorial_lib.lecture import lecture_page
from tutorial_lib.params import smoke_test


def bench_lecture_part3(params=None):
    """Seconds from nothing to the Part 3 lecture page, and from Train to Done at its defaults.

    ``params``: other parameters than the page's (tests use a tiny network); the figures are then
    named ``lecture_part3_custom_*``.
    """
    if smoke_test():
        raise SystemExit("TUTORIAL_SMOKE_TEST is set: the lecture page would train 2 loops instead of its "
                         "default; unset it to time the lecture")
    t0 = time.perf_counter()
    page = lecture_page("balanced_dashboard", **({} if params is None else {"params": params}))
    page_seconds = time.perf_counter() - t0
    dash = page.dashboard
    p = dash.params()
    synthetic = bool(dash._data.synthetic)
    name = "lecture_part3" + ("_custom" if params is not None else "") + ("_synthetic" if synthetic else "")
    if synthetic:
        print(f"WARNING: {name}: the ALM recordings are not here; timed on the synthetic stand-in "
              "(set TUTORIAL_ALM_DATA)", file=sys.stderr)
    t0 = time.perf_counter()
    dash.start(block=True)
    train_seconds = time.perf_counter() - t0
    if dash.result is None or dash.error:
        raise RuntimeError(f"the lecture page's training did not finish: {dash.status.value}")
    loops = len(dash.result.scores)
    what = (f"N = {p.N}, {p.n_trained} trained neurons, {loops} loops, tests every {p.score_every}, "
            f"{'synthetic stand-in' if synthetic else 'ALM data'}")
    return [
        (f"{name}_page_seconds", page_seconds, "s", "lecture_page('balanced_dashboard') in a new process"),
        (f"{name}_train_seconds", train_seconds, "s", f"Train to Done, headless: {what}"),
        (f"{name}_build_seconds", float(dash.build_seconds), "s", "of which the network's build"),
        (f"{name}_loop0_seconds", float(dash.loop0_seconds), "s", "of which loop 0 (untrained, both licks)"),
        (f"{name}_seconds_per_loop", (train_seconds - dash.build_seconds - dash.loop0_seconds) / max(loops, 1),
         "s", "the rest per training loop (tests and figure frames included)"),
    ] + [(f"{name}_test_score_avg", float(score), "", "trial-averaged test score at the end")
         for score in dash.result.test_scores_avg[-1:]]
