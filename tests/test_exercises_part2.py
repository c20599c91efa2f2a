"""The checks of Part 2's exercises (tutorial_lib.exercises.part2): each passes on the notebook's own
solution, printing the solution's "Expected output", and fails on typical wrong answers with a message
that says where and, for the mistakes it knows, what to change."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
from notebook_exercises import exercises

from tutorial_lib.core.lif import lif_euler_step, trace_step
from tutorial_lib.core.rls import rls_update_batch
from tutorial_lib.exercises import ExerciseError
from tutorial_lib.exercises import part2
from tutorial_lib.spiking_net import simulate_pair

NB = Path(__file__).resolve().parents[1] / "notebooks" / "02_spiking_network.ipynb"
SOLUTIONS = {e.name: (e.solution, e.expected) for e in exercises(NB)}


def _namespace():
    return dict(np=np, lif_euler_step=lif_euler_step, trace_step=trace_step, rls_update_batch=rls_update_batch,
                **{name: getattr(part2, name) for name in part2.__all__})


def _solved(name):
    """The notebook's solution of ``name``, defined (its check call not run)."""
    code = SOLUTIONS[name][0]
    ns = _namespace()
    exec(code.rsplit("\ncheck_", 1)[0], ns)
    return ns[name]


def test_notebook_has_the_six_exercises():
    assert list(SOLUTIONS) == ["my_lif_step", "my_pair", "my_training_trial", "my_isi_cv", "my_filtered_train",
                               "my_score"]


@pytest.mark.parametrize("name", list(SOLUTIONS))
def test_the_solution_passes_and_prints_its_expected_output(name):
    code, expected = SOLUTIONS[name]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(code, _namespace())
    assert buf.getvalue().strip() == expected
    assert all(len(line) <= 90 for line in expected.splitlines())


def _fails(check, answer, *words):
    with pytest.raises(ExerciseError) as info:
        check(answer)
    message = str(info.value)
    for w in words:
        assert w in message, message
    return message


@pytest.mark.parametrize("check, name", [(part2.check_lif_step, "my_lif_step"), (part2.check_pair, "my_pair"),
                                         (part2.check_isi_cv, "my_isi_cv"),
                                         (part2.check_filtered_train, "my_filtered_train"),
                                         (part2.check_score, "my_score")])
def test_an_unwritten_stub_is_named(check, name):
    def stub(*args):
        ...
        raise NotImplementedError("write it")
    stub.__name__ = name
    _fails(check, stub, "not written yet")


# ---------------------------------------------------------------------------
# the LIF step

def test_lif_step_without_reset():
    _fails(part2.check_lif_step, lambda v, I, xi, a: (v + a * (I + xi - v), v + a * (I + xi - v) >= 1),
           "neuron = 2", "must be reset to 0")


def test_lif_step_without_dt():
    def wrong(v, I, xi, a):
        v = v + (I + xi - v)
        return np.where(v >= 1, 0.0, v), v >= 1
    _fails(part2.check_lif_step, wrong, "dt/tau_m")


def test_lif_step_strict_threshold():
    def wrong(v, I, xi, a):
        v = v + a * (I + xi - v)
        return np.where(v > 1, 0.0, v), v > 1
    _fails(part2.check_lif_step, wrong, "neuron = 4", "v >= 1, not v > 1")


def test_lif_step_without_noise_and_one_return():
    def no_noise(v, I, xi, a):
        v = v + a * (I - v)
        return np.where(v >= 1, 0.0, v), v >= 1
    _fails(part2.check_lif_step, no_noise, "add the noise")
    _fails(part2.check_lif_step, lambda v, I, xi, a: v, "should return two things")


# ---------------------------------------------------------------------------
# two neurons

def _pair(jump_scale=1.0, decay=True, late=False):
    def my_pair(w21, tau_s, mu, noise, n_steps, rng, dt=0.1, tau_m=10.0):
        v, x = np.zeros(2), np.zeros(2)
        v_rec, x_rec = np.zeros((n_steps, 2)), np.zeros((n_steps, 2))
        for n in range(n_steps):
            if not late:
                v_rec[n], x_rec[n] = v, x
            v, spiked = lif_euler_step(v, mu + x, noise * rng.standard_normal(2), dt / tau_m)
            x = ((1.0 - dt / tau_s) if decay else 1.0) * x + jump_scale * np.array([0.0, w21 * spiked[0]]) / tau_s
            if late:
                v_rec[n], x_rec[n] = v, x
        return v_rec, x_rec
    return my_pair


def test_pair_reference_is_what_simulate_pair_runs():
    v, x = part2.pair_reference(5.0, 20.0, 0.7, 2.0, 5000, np.random.default_rng(0))
    run = simulate_pair(w21=5.0, tau_s=20.0, T=500.0, seed=0, record_every=0.1)
    np.testing.assert_allclose(v, run.v, atol=1e-12)
    np.testing.assert_allclose(x[:, 1], run.synaptic_input[:, 1], atol=1e-12)
    assert run.spike_times.size >= 2


def test_pair_mistakes_are_named():
    _fails(part2.check_pair, _pair(jump_scale=20.0), "your synaptic input x at t = ", "neuron = 1",
           "adds w21 / tau_s")
    _fails(part2.check_pair, _pair(decay=False), "decays")
    _fails(part2.check_pair, _pair(late=True), "one step late")


# ---------------------------------------------------------------------------
# one training trial

def _trial(other=True, jump=True, stale=False):
    def my_training_trial(net, P, rng):
        p = net.params
        N, n_steps = p.N, round(p.t_end / p.dt)
        on, off = round(p.stim_on / p.dt), round(p.stim_off / p.dt)
        learn_at = {round(t / p.dt): k for k, t in enumerate(p.learn_times)}
        f = net.targets(p.learn_times)
        rows, pre = np.arange(N)[:, None], net.presyn
        v, r, total = rng.uniform(0.0, 1.0, N), np.zeros(N), np.zeros((n_steps, N))
        for n in range(n_steps):
            ext = p.mu + (net.stimulus if on <= n < off else 0.0)
            u = net.W @ r
            total[n] = ext + u
            if n in learn_at:
                w = net.W[rows, pre]
                rls_update_batch(P, w, r[pre], f[learn_at[n]], other=ext if other else 0.0)
                net.W[rows, pre] = w
                u = u if stale else net.W @ r
            v, spiked = lif_euler_step(v, ext + u, p.noise * rng.standard_normal(N), p.dt / p.tau_m)
            r = trace_step(r, spiked, p.dt, p.tau_s) if jump else (1 - p.dt / p.tau_s) * r + spiked
        return total
    return my_training_trial


def test_training_trial_mistakes_are_named():
    m = _fails(part2.check_training_trial, _trial(other=False), "other = mu + stimulus")
    assert "first differ at t = 200.1 ms" in m, m  # one step after the first RLS update at 200 ms
    _fails(part2.check_training_trial, _trial(jump=False), "adds 1 / tau_s")
    _fails(part2.check_training_trial, _trial(stale=True), "after this step's RLS update")
    # total[n] stored after the RLS update of step n (the module's plain loop with that mistake switched on)
    _fails(part2.check_training_trial, lambda net, P, rng: part2._plain_trial(net, rng, record_after=True),
           "before its RLS update changes W")


def test_training_trial_wrong_shape_and_late_record():
    _fails(part2.check_training_trial, lambda net, P, rng: np.zeros(3), "shape")
    right = _trial()

    def late(net, P, rng):
        total = right(net, P, rng)
        return np.vstack([total[1:], total[-1:]])
    _fails(part2.check_training_trial, late, "one step late")


# ---------------------------------------------------------------------------
# end exercises

def test_isi_cv_mistakes_are_named():
    _fails(part2.check_isi_cv, lambda t: np.diff(np.sort(t)).std() / np.diff(np.sort(t)).mean(), "ddof=1")
    _fails(part2.check_isi_cv, lambda t: np.diff(t).std(ddof=1) / np.diff(t).mean() if t.size > 2 else np.nan,
           "an unsorted train", "sort the spike times")
    _fails(part2.check_isi_cv, lambda t: np.diff(np.sort(t)).var(ddof=1) / np.diff(np.sort(t)).mean()
           if t.size > 2 else np.nan, "not the variance")
    _fails(part2.check_isi_cv, lambda t: np.diff(np.sort(t)).std(ddof=1) / np.diff(np.sort(t)).mean()
           if t.size > 2 else 0.0, "should be nan")


def _filtered(unit_jump=False, early=False, decay=True):
    def my_filtered_train(spike_steps, n_steps, dt, tau):
        s = np.bincount(spike_steps, minlength=n_steps)
        r, prev = np.zeros(n_steps), 0.0
        for n in range(n_steps):
            if early:
                r[n] = prev = (1 - dt / tau) * prev + s[n] / tau
            elif n:
                r[n] = ((1 - dt / tau) if decay else 1.0) * r[n - 1] + s[n - 1] / (1.0 if unit_jump else tau)
        return r
    return my_filtered_train


def test_filtered_train_mistakes_are_named():
    _fails(part2.check_filtered_train, _filtered(unit_jump=True), "adds 1 / tau (not 1)", "t = ")
    _fails(part2.check_filtered_train, _filtered(early=True), "acts from step n + 1")
    _fails(part2.check_filtered_train, _filtered(decay=False), "decays by the factor")


def test_score_mistakes_are_named():
    def all_neurons(trial):
        w = trial.window
        return np.mean([np.corrcoef(trial.total_input[w, i], trial.target[w, i])[0, 1]
                        for i in range(trial.target.shape[1])])

    def whole_trial(trial):
        return np.mean([np.corrcoef(trial.total_input[:, i], trial.target[:, i])[0, 1] for i in trial.trained])
    _fails(part2.check_score, all_neurons, "trained neurons only")
    _fails(part2.check_score, whole_trial, "training window only")
    _fails(part2.check_score, lambda trial: "high", "should be numbers")


def test_solutions_pass_with_their_own_functions():
    """The solutions, defined and called with the checks directly (not only through exec of the cell)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        part2.check_lif_step(_solved("my_lif_step"))
        part2.check_score(_solved("my_score"))
    assert buf.getvalue().count("Correct:") == 2
