"""Each plotting function runs on a tiny network and labels its axes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tutorial_lib import RateParams, plotting, rate  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    """A 10-neuron network trained for two short loops, and its test trial."""
    p = RateParams(N=10, K=5, train_duration=50.0, n_loops=2)
    res = rate.train(p, progress=False)
    return res, res.test()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _check_axes(ax):
    assert isinstance(ax, matplotlib.axes.Axes)
    assert ax.get_xlabel() and ax.get_ylabel()


def test_connectivity_from_weights_and_from_presyn_agree(tiny):
    res, _ = tiny
    net = res.network
    a = plotting.plot_connectivity(net.W)
    b = plotting.plot_connectivity(net.presyn)
    _check_axes(a)
    _check_axes(b)
    np.testing.assert_array_equal(a.images[0].get_array(), b.images[0].get_array())
    assert "5 inputs" in a.get_title()


def test_single_panel_plots_label_their_axes(tiny):
    res, trial = tiny
    net, p = res.network, res.params
    axes = [
        plotting.plot_weights_hist(res.W0, sigma=p.sigma),
        plotting.plot_eigenvalues(res.W0, radius=p.g, marked=[1 + 0.3j]),
        plotting.plot_activation(),
        plotting.plot_activation(rate.relu, x=np.linspace(-1, 1, 11)),
        plotting.plot_targets(trial.t, trial.target, [0, 1], params=p),
        plotting.plot_stimulus(net, neurons=[0, 1]),
        plotting.plot_mean_rate(trial, label="g = 1", params=p),
        plotting.plot_weight_change(res.dW),
        plotting.plot_scores(res.scores),
        plotting.plot_scores(res.scores, error=True, label="lambda"),
    ]
    for ax in axes:
        _check_axes(ax)


def test_plots_draw_into_given_axes(tiny):
    res, _ = tiny
    fig, ax = plt.subplots()
    assert plotting.plot_scores(res.scores, ax=ax) is ax
    assert plotting.plot_weight_change(res.dW, ax=ax) is ax


def test_activity_stacks_one_panel_per_neuron(tiny):
    _, trial = tiny
    fig = plotting.plot_activity(trial, [0, 3, 7])
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 3
    assert fig.axes[-1].get_xlabel() == "time (ms)"
    assert all(ax.get_ylabel() for ax in fig.axes)


def test_activity_draws_into_a_subfigure(tiny):
    res, trial = tiny
    fig = plt.figure()
    left, right = fig.subfigures(1, 2)
    out = plotting.plot_activity(trial, [1, 2], show=("u",), fig=left, params=res.params)
    assert out is left
    assert len(left.axes) == 2 and left.axes[-1].get_xlabel()


def test_style_context_restores_rcparams():
    before = matplotlib.rcParams["figure.dpi"]
    with plotting.style():
        assert matplotlib.rcParams["figure.dpi"] == plotting.STYLE["figure.dpi"]
    assert matplotlib.rcParams["figure.dpi"] == before


def test_training_summary_has_activity_panels_and_a_learning_curve(tiny):
    res, trial = tiny
    fig = plotting.plot_training_summary(trial, res.scores, neurons=[0, 1], params=res.params)
    axes = [ax for sub in fig.subfigs for ax in sub.axes]
    assert len(axes) == 3
    assert all(ax.get_xlabel() for ax in (axes[1], axes[2]))
    assert axes[-1].get_xlabel() == "training loop"
