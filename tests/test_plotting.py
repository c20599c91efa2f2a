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


# ---------------------------------------------------------------------------
# Part 2: spiking networks


@pytest.fixture(scope="module")
def tiny_spiking():
    """A 20-neuron spiking network trained for two short loops (half of it), and its test trial."""
    from tutorial_lib import SpikingParams, spiking_net

    p = SpikingParams(N=20, stim_on=100.0, stim_off=200.0, train_duration=500.0, target_period=500.0,
                      train_fraction=0.5, n_loops=2)
    res = spiking_net.train(p, progress=False)
    return res, res.test()


def test_voltage_trace_marks_each_spike_above_threshold():
    from tutorial_lib.spiking_net import simulate_single

    run = simulate_single(mu=1.5, noise=0.0, T=100.0)
    ax = plotting.plot_voltage(run.t, run.v[:, 0], run.spike_times)
    _check_axes(ax)
    assert "threshold" in ax.get_ylabel() and ax.get_xlabel() == "time (ms)"
    strokes = ax.collections[-1].get_segments()
    assert len(strokes) == run.spike_times.size > 0
    assert all(seg[0, 1] == 1.0 and seg[1, 1] > 1.0 for seg in strokes)  # from threshold upwards
    np.testing.assert_allclose([seg[0, 0] for seg in strokes], run.spike_times)


def test_synaptic_input_and_rate_curve_label_their_units():
    from tutorial_lib.core.lif import lif_rate
    from tutorial_lib.spiking_net import simulate_pair

    pair = simulate_pair(T=200.0)
    ax = plotting.plot_synaptic_input(pair.t, pair.synaptic_input[:, 1], label="neuron 2")
    _check_axes(ax)
    assert "threshold" in ax.get_ylabel()
    mu = np.array([0.9, 1.2, 2.0])
    ax = plotting.plot_rate_vs_input(mu, [lif_rate(m) for m in mu], theory=lif_rate)
    _check_axes(ax)
    assert "Hz" in ax.get_ylabel() and "threshold" in ax.get_xlabel()
    assert len(ax.lines[0].get_xdata()) == 400  # the theory curve on a fine grid


def test_raster_shows_every_spike_and_can_select_neurons(tiny_spiking):
    res, trial = tiny_spiking
    ax = plotting.plot_raster(trial.spike_times, trial.spike_neurons, params=res.params)
    _check_axes(ax)
    assert ax.collections[-1].get_offsets().shape[0] == trial.spike_times.size
    assert "Hz" in ax.get_title()
    ax = plotting.plot_raster(trial.spike_times, trial.spike_neurons, neurons=[0, 1], t_range=(0.0, 300.0))
    shown = np.asarray(ax.collections[-1].get_offsets())
    assert set(shown[:, 1]) <= {0, 1} and shown[:, 0].max() <= 300.0
    assert ax.get_xlim() == (0.0, 300.0)


def test_total_input_and_neuron_panels_label_every_axis(tiny_spiking):
    res, trial = tiny_spiking
    neurons = list(res.network.trained[:2])
    fig = plotting.plot_total_input(trial, neurons, params=res.params)
    assert len(fig.axes) == 2 and fig.axes[-1].get_xlabel() == "time (ms)"
    assert all(ax.get_ylabel() for ax in fig.axes)
    target = fig.axes[0].lines[1].get_ydata()
    assert np.isnan(target[trial.t < res.params.stim_off]).all()  # target only in the training window
    np.testing.assert_array_equal(target[trial.window], trial.target[trial.window, neurons[0]])
    fig = plotting.plot_spiking_neurons(trial, neurons, params=res.params)
    assert len(fig.axes) == 4 and all(ax.get_ylabel() for ax in fig.axes)
    assert fig.axes[-1].get_xlabel() == "time (ms)"
    assert "Hz" in fig.axes[0].get_title(loc="left")


def test_spiking_summary_has_inputs_a_raster_and_a_learning_curve(tiny_spiking):
    res, trial = tiny_spiking
    neurons = res.network.trained[:3]
    fig = plotting.plot_spiking_summary(trial, res.scores, neurons=neurons, params=res.params)
    left, right = fig.subfigs
    assert len(left.axes) == 4 and len(right.axes) == 1
    assert [ax.get_ylabel() for ax in left.axes] == [f"neuron {i}" for i in neurons] + ["neuron index"]
    assert left.axes[-1].get_xlabel() == "time (ms)"
    assert right.axes[0].get_xlabel() == "training loop"
    fig = plotting.plot_spiking_summary(trial, None, neurons=[0], params=res.params)
    assert not fig.subfigs and len(fig.axes) == 2  # without scores: one input panel above the raster


# ---------------------------------------------------------------------------
# Part 3: the balanced network


@pytest.fixture(scope="module")
def tiny_balanced():
    """A 400-neuron balanced network, 20 neurons trained for one short loop, and tests of both conditions."""
    from tutorial_lib import BalancedParams, balanced
    from tutorial_lib.data import synthetic_alm

    p = BalancedParams(N=400, K=40, L=5, n_trained=20, stim_on=300.0, stim_off=400.0, train_duration=600.0,
                       n_loops=1, n_ffwd=10, inh_weight_ratio=None, score_every=0, n_test_trials=2)
    alm = synthetic_alm(n_neurons=60)
    net = balanced.build_network(p, alm)
    res = balanced.train(net, progress=False)
    tests = {c: res.test(n_trials=2, condition=c, keep_runs=2) for c in ("right", "left")}
    return net, res, tests, alm


def test_balance_inputs_show_a_trace_and_the_four_mean_terms(tiny_balanced):
    net, *_ = tiny_balanced
    srun = net.static_run
    fig = plotting.plot_balance_inputs(srun, t_range=(300.0, 500.0))
    trace, bars = fig.axes
    _check_axes(trace)
    assert "threshold" in trace.get_ylabel() and trace.get_xlabel() == "time (ms)"
    assert len(bars.patches) == 8  # mu, x_E, x_I, net for E and for I
    heights = [b.get_height() for b in bars.patches]
    m = srun.mean_inputs("E")
    np.testing.assert_allclose(heights[:4], [m["mu"], m["exc"], m["inh"], m["net"]])  # E neurons first
    i = srun.recorded[0]
    np.testing.assert_allclose(trace.lines[2].get_ydata(),  # the sum drawn is mu + x_E + x_I
                               trace.lines[0].get_ydata() + trace.lines[1].get_ydata())
    assert str(i) in trace.get_title(loc="left")


def test_rate_distribution_marks_means_and_prediction(tiny_balanced):
    net, *_ = tiny_balanced
    p, r = net.params, net.static_rates
    ax = plotting.plot_rate_distribution(r[: p.Ne], r[p.Ne:], [7.5, 13.5])
    _check_axes(ax)
    assert "Hz" in ax.get_xlabel()
    xs = [line.get_xdata()[0] for line in ax.lines]
    np.testing.assert_allclose(xs, [r[: p.Ne].mean(), r[p.Ne:].mean(), 7.5, 13.5])


def test_transfer_check_with_and_without_utarg():
    from tutorial_lib.engine.siegert import siegert_inverse

    rates = np.array([[1.0, 5.0], [10.0, 20.0]])
    utarg = siegert_inverse(rates) + 1e-3
    fig = plotting.plot_transfer_check(rates, utarg)
    assert len(fig.axes) == 2 and all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    assert "Hz" in fig.axes[0].get_ylabel()
    assert "1.0e-03" in fig.axes[1].get_title()  # the largest difference
    fig = plotting.plot_transfer_check(rates)
    assert len(fig.axes) == 1


def test_alm_targets_matching_and_trained_inputs_label_their_axes(tiny_balanced):
    net, res, tests, alm = tiny_balanced
    fig = plotting.plot_alm_targets(alm.t, alm.rates, alm.rates, [0, 3, 5])
    assert len(fig.axes) == 6
    assert fig.axes[0].get_ylabel() == "rate (Hz)" and "threshold" in fig.axes[3].get_ylabel()
    ax = plotting.plot_rate_matching(np.arange(5.0), np.arange(5.0) + 0.1, net.static_rates[: net.params.Ne])
    _check_axes(ax)
    fig = plotting.plot_trained_inputs(tests, [0, 2])
    assert len(fig.axes) == 2 and fig.axes[-1].get_xlabel() == "time (ms)"
    # per condition: one trial, the trial mean and the target
    assert len(fig.axes[0].lines) == 6
    np.testing.assert_allclose(fig.axes[1].lines[1].get_ydata(), tests["right"].mean_input[:, 2])
    np.testing.assert_allclose(fig.axes[1].lines[5].get_ydata(), tests["left"].target[:, 2])


def test_pca_plot_overlays_populations_per_component():
    t = np.arange(50.0)
    rng = np.random.default_rng(0)
    scores = {name: {c: rng.standard_normal((50, 3)) * s for c in ("right", "left")}
              for name, s in (("trained E", 1.0), ("untrained I", 5.0))}
    fig = plotting.plot_pca(t, scores, n_components=2, explained={n: [0.5, 0.2, 0.1] for n in scores})
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time (ms)" and "normalised" in ax.get_ylabel()
    assert len(ax.lines) == 4  # 2 populations x 2 conditions
    both = np.concatenate([ax.lines[2].get_ydata(), ax.lines[3].get_ydata()])
    np.testing.assert_allclose(both.std(), 1.0)  # normalised over both conditions
    assert "50 %" in ax.get_legend().get_texts()[0].get_text()


def test_raster_groups_put_each_group_in_its_own_block_of_rows():
    times = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    neurons = np.array([7, 3, 9, 3, 5])  # neuron 5 belongs to no group: not drawn
    groups = [("B", np.array([9, 3])), ("A", np.array([7]))]
    ax = plotting.plot_raster_groups(times, neurons, groups, t_range=(0.0, 60.0))
    xy = ax.collections[0].get_offsets()
    drawn = {(float(x), float(y)) for x, y in xy}
    # group B: neuron 9 -> row 0, neuron 3 -> row 1; group A: neuron 7 -> row 2
    assert drawn == {(10.0, 2.0), (20.0, 1.0), (30.0, 0.0), (40.0, 1.0)}
    assert [t.get_text() for t in ax.get_yticklabels()] == ["B\n(2)", "A\n(1)"]
    assert [line.get_ydata()[0] for line in ax.lines] == [1.5]  # one separator between the blocks
    plt.close(ax.figure)
