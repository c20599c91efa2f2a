"""Parts 3 and 4 offline (no recordings, no network): notebooks 03 and 04, figures, dashboard, lecture page.

Offline is forced whatever this machine's network: ``TUTORIAL_ALM_DATA`` unset, an empty cache
folder (``XDG_CACHE_HOME``, where ``data.cache_dir()`` looks), and either downloads off
(``TUTORIAL_ALM_DOWNLOAD=0``) or every HTTP(S) request sent to a proxy where nothing listens, so
that pooch's download really fails, at once.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "03_balanced_alm.ipynb"
LECTURE_PAGE = ROOT / "lecture" / "part3_balanced_network.ipynb"
NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing listens, a connection is refused at once


def offline_env(tmp_path, downloads: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("TUTORIAL_ALM_DATA", "NO_PROXY", "no_proxy")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    if downloads:  # a download is attempted, and fails as it does without network
        for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
            env[var] = NOWHERE
        env.pop("TUTORIAL_ALM_DOWNLOAD", None)
    else:
        env["TUTORIAL_ALM_DOWNLOAD"] = "0"
    probe = "from tutorial_lib.data import cache_dir; print(cache_dir())"
    where = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                           check=True).stdout.strip()
    assert Path(where).is_relative_to(tmp_path), f"the cache is not isolated: {where}"
    return env


# Run before every cell of the notebook: records the text of each figure shown (titles, axis labels,
# legends), since the figures themselves reach nbval only as PNGs.
RECORD_FIGURES = '''
import matplotlib.pyplot as _plt
_figure_texts = []
_show = _plt.show
def _recording_show(*args, **kwargs):
    for num in _plt.get_fignums():
        fig = _plt.figure(num)
        texts = [fig._suptitle.get_text()] if fig._suptitle is not None else []
        for ax in fig.axes:
            texts += [ax.get_title(loc) for loc in ("left", "center", "right")]
            texts += [ax.get_xlabel(), ax.get_ylabel()]
            legend = ax.get_legend()
            if legend is not None:
                texts += [t.get_text() for t in legend.get_texts()]
        _figure_texts.extend(t for t in texts if t)
    return _show(*args, **kwargs)
_plt.show = _recording_show
'''

CHECK_FIGURES = '''
assert alm.synthetic, "this run should have used the synthetic stand-in"
named = [t for t in _figure_texts if "synthetic" in t]
assert len(named) >= 5, f"too few figure texts name the synthetic data: {named}"
wrong = [t for t in _figure_texts if "ALM" in t or "recorded" in t]
assert not wrong, f"figure texts that claim recordings: {wrong}"
from tutorial_lib.dashboard import balanced_dashboard
_dash = balanced_dashboard()
assert "SYNTHETIC" in _dash.widget.children[0].children[0].value
# the lessons of notebook 03 hold on the stand-in too (checked here, not in the student's cells)
assert res.test_scores_avg[-1] >= 0.5, f"trial-averaged score {res.test_scores_avg[-1]:.3f} < 0.5"
for _name in ("untrained E", "untrained I"):
    assert r2[_name][0] > 0.85 and r2[_name][0] > r20[_name][0] + 0.1, (_name, r2[_name], r20[_name])
'''


def _nbval_offline(notebook: Path, check_figures: str, tmp_path: Path) -> None:
    """Run ``notebook`` under nbval, as CI runs it, with no data folder and no download possible, with
    a cell recording every figure's texts after the first code cell and ``check_figures`` at the end."""
    nb = nbformat.read(notebook, as_version=4)
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first_code + 1, nbformat.v4.new_code_cell(RECORD_FIGURES))
    last_code = max(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(last_code + 1, nbformat.v4.new_code_cell(check_figures))
    for cell in nb.cells:
        cell.pop("id", None)
    nb.nbformat_minor = 4
    copy = tmp_path / notebook.name
    nbformat.write(nb, copy)
    env = offline_env(tmp_path, downloads=False)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
         "-q", "-o", "addopts=", "--rootdir", str(tmp_path), str(copy)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout.splitlines()[-1]
    assert not any((tmp_path / "cache").rglob("*.jld")), "nothing may be downloaded"


def test_notebook_03_passes_nbval_offline_and_its_figures_say_synthetic(tmp_path):
    """The whole notebook under nbval, as CI runs it, but with no data folder and no download possible.

    Two added cells check that every figure names the stand-in and that the notebook's lessons hold
    on it: the trial-averaged score reaches 0.5, and the trained activity spreads to the untrained
    neurons (R^2 of the leading component above 0.85 and 0.1 above the untrained network's)."""
    _nbval_offline(NOTEBOOK, CHECK_FIGURES, tmp_path)


NOTEBOOK_04 = ROOT / "notebooks" / "04_trained_network.ipynb"

CHECK_FIGURES_04 = '''
assert alm.synthetic, "this run should have used the synthetic stand-in"
named = [t for t in _figure_texts if "synthetic" in t]
assert len(named) >= 5, f"too few figure texts name the synthetic data: {named}"
wrong = [t for t in _figure_texts if "ALM" in t or "recorded" in t]
assert not wrong, f"figure texts that claim recordings: {wrong}"
# the lessons the text states without "with the recordings" hold on the stand-in too
assert all(isn[n]["I"] < 0 for n in ("before", "after", "static")), isn
assert all(b["net"] < 1.0 for b in balance.values()), balance   # net input below threshold at every K
assert all(0.7 < v[k] < 1.3 for v in variability.values() for k in (0, 2)), variability  # 100 ms, CV
assert all(spread["trained silenced", g][0] < spread["after", g][0] for g in ("untrained E", "I")), spread
'''


def test_notebook_04_passes_nbval_offline_and_its_figures_say_synthetic(tmp_path):
    """Part 4 under nbval with no data folder and no download: every section runs on the stand-in.

    Numbers in its text are those of the recordings; the added cells check that its figures name the
    synthetic data, none claims the recordings, and that the lessons stated without "with the
    recordings" (paradoxical response, 100 ms Fano factors and CVs near 1, silencing removes the spread)
    hold on the stand-in too."""
    _nbval_offline(NOTEBOOK_04, CHECK_FIGURES_04, tmp_path)


def test_lecture_page_offline_shows_one_status_line_and_no_traceback(tmp_path):
    """The Part 3 lecture page's cell, run in a kernel as Voila runs it, with a download that fails."""
    from nbclient import NotebookClient

    page = nbformat.read(LECTURE_PAGE, as_version=4)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(page.cells[0].source),
                nbformat.v4.new_code_cell("import json\nprint(json.dumps([getattr(w, 'value', '') for w in "
                                          "_.children[1:3]]))")]
    env = offline_env(tmp_path, downloads=True)
    client = NotebookClient(nb, timeout=600, kernel_name="python3")
    client.km = client.kernel_manager_class(kernel_name="python3")
    client.km.kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        client.execute(cwd=str(tmp_path))
    finally:
        os.environ.clear()
        os.environ.update(old)
    page_outputs = nb.cells[0].outputs
    # the page and nothing else: no printed notice, no log, no traceback above its title
    assert [o.output_type for o in page_outputs] == ["execute_result"], page_outputs
    title, status = json.loads(nb.cells[1].outputs[0].text)
    assert "SYNTHETIC" in title and "rls-lecture-status" in status
    assert status.count("SYNTHETIC") == 1 and "download failed" in status and "TUTORIAL_ALM_DATA" in status
    for text in (title, status):
        for noise in ("Traceback", "ConnectionError", "ProxyError", "Downloading", "127.0.0.1"):
            assert noise not in text


def test_dashboard_captions_name_the_synthetic_data():
    from tutorial_lib import BalancedParams
    from tutorial_lib.dashboard import balanced_dashboard
    from tutorial_lib.data import synthetic_alm

    p = BalancedParams.lecture(N=400, K=40, n_trained=30, L=5, n_ffwd=20, stim_on=100.0, stim_off=200.0,
                               train_duration=400.0, n_loops=2)
    dash = balanced_dashboard(p, data=synthetic_alm(n_neurons=200))
    assert "SYNTHETIC" in dash.widget.children[0].children[0].value
    assert "30 of 200 synthetic neurons trained" in dash.status.value
    assert dash.controls["n_trained"].widget.description == "trained (synth.)"
    fig = dash.figure.fig
    texts = [fig._suptitle.get_text()] + [ax.get_ylabel() for ax in fig.axes]
    texts += [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    texts += [t.get_text() for legend in fig.legends for t in legend.get_texts()]  # a figure-level legend
    assert any(t.startswith("synthetic targets of") for t in texts)
    assert "synthetic target" in texts and any(t.startswith("synthetic ") for t in texts[1:4])
    assert not [t for t in texts if "ALM" in t]


def test_part3_plots_name_the_data_they_show():
    from tutorial_lib import plotting
    from tutorial_lib.data import synthetic_alm

    alm = synthetic_alm(n_neurons=20)
    fig = plotting.plot_alm_targets(alm.t, alm.rates, alm.utarg, [0, 3], label=alm.label)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["synthetic neuron 0", "synthetic neuron 3"]
    fig = plotting.plot_transfer_check(alm.rates["right"], alm.utarg["right"], label=alm.label)
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == "synthetic: (utarg, rate)"
    ax = plotting.plot_rate_matching(np.arange(3.0), np.arange(3.0), label=alm.label)
    assert ax.get_xlabel() == "synthetic neuron: mean rate (Hz)"


NOTEBOOK_05 = ROOT / "notebooks" / "05_attractors.ipynb"
CHECK_FIGURES_05 = '''
assert alm.synthetic, "this run should have used the synthetic stand-in"
named = [t for t in _figure_texts if "synthetic" in t]
assert len(named) >= 5, f"too few figure texts name the synthetic data: {named}"
wrong = [t for t in _figure_texts if "ALM" in t or "recorded" in t]
assert not wrong, f"figure texts that claim recordings: {wrong}"
# the lessons stated without "with the recordings" hold on the stand-in too
assert readout.accuracy >= 0.75, readout.accuracy
assert sorted(found.kind) == ["saddle", "stable", "stable"], found.kind
# section 7: the trained rate network (it uses no data): the saddle lies inside the kicks' interval
assert fp.counts() == {"saddle": 1, "stable": 2} and sep.low <= fp.s[saddle] <= sep.high, (fp.s, sep)
# section 8: training on one half predicts the other on the stand-in too (untrained: no better than 0)
assert held.median["model"] > held.median["untrained"] + 0.3 and held.median["untrained"] < 0.1, held.median
'''


def test_notebook_05_passes_nbval_offline_and_its_figures_say_synthetic(tmp_path):
    """Part 5 under nbval with no data folder and no download; its figures name the stand-in, and the rate
    network's fixed points and the held-out prediction hold their lessons on it."""
    _nbval_offline(NOTEBOOK_05, CHECK_FIGURES_05, tmp_path)
