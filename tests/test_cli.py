"""The command line trains with the given flags, reports bad ones by name, and resumes Part 3 exactly."""

import json
import os
import signal

import numpy as np
import pytest

from tutorial_lib import balanced
from tutorial_lib.cli import build_parser, main
from tutorial_lib.params import BalancedParams

ALM = "/work/shared/data/alm"
# a tiny Part 3: 400 neurons, 20 trained, 1.4 s trials; 4 loops with a test every 2 (about 1 s per loop)
TINY = ["--N", "400", "--K", "40", "--L", "5", "--n-trained", "20", "--n-ffwd", "20", "--stim-on", "300",
        "--stim-off", "400", "--train-duration", "1000", "--score-every", "2", "--n-test-trials", "2",
        "--report-every", "1"]
HISTORY = ("loops", "training_scores", "test_loops", "test_scores", "test_scores_avg", "final_test", "params")


@pytest.fixture
def alm(monkeypatch):
    if not os.path.isdir(ALM):
        pytest.skip("the ALM data is not at " + ALM)
    monkeypatch.setenv("TUTORIAL_ALM_DATA", ALM)  # also restores it after a test's --data


def parse(argv):
    """The parameters the command line would train with."""
    from tutorial_lib.cli import PARTS
    from tutorial_lib.cli_args import make_params

    ap, subs = build_parser()
    args = ap.parse_args(argv)
    return make_params(subs[args.part], args, PARTS[args.part].params)


# ---------------------------------------------------------------------------
# Parts 1 and 2, flags


def test_part1_trains_and_reports_scores(capsys):
    argv = ["part1", "--n-loops", "3", "--N", "20", "--train-duration", "50", "--report-every", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "loop    3  score" in out and "test trial (no learning): score" in out


def test_bad_value_names_the_parameter(capsys):
    with pytest.raises(SystemExit) as info:
        main(["part1", "--lam", "-1"])
    assert info.value.code == 2
    assert "lam (RLS regulariser lambda) must be > 0" in capsys.readouterr().err


def test_diverging_network_exits_with_advice(capsys):
    assert main(["part1", "--sigma", "1.0", "--n-loops", "1"]) == 1
    assert "lower sigma" in capsys.readouterr().err


def test_flags_of_every_kind_parse():
    p = parse(["part3", "--n-trained", "all", "--inh-weight-ratio", "measured", "--no-ffwd",
               "--selection", "random", "--N", "1e3", "--K", "100", "--g", "1.5"])
    assert (p.n_trained, p.inh_weight_ratio, p.ffwd, p.selection, p.N, p.K, p.g) == \
        (None, None, False, "random", 1000, 100, 1.5)
    p = parse(["part3", "--n-trained", "30", "--inh-weight-ratio", "0.5", "--ffwd",
               "--inh-weight-ratio", "none"])  # the last one counts
    assert (p.n_trained, p.inh_weight_ratio, p.ffwd) == (30, None, True)
    assert parse(["part3"]) == BalancedParams()
    assert parse(["part1", "--K", "all"]).K is None and parse(["part1", "--K", "10"]).K == 10
    assert parse(["part2", "--K", "20", "--noise", "0"]).noise == 0.0
    lecture = parse(["part3", "--lecture", "--n-loops", "3"])
    assert lecture == BalancedParams.lecture(n_loops=3)


@pytest.mark.parametrize("argv, name", [
    (["--n-trained", "some"], "n_trained"),           # neither a number nor 'all'
    (["--selection", "best"], "--selection"),         # not one of the choices
    (["--ffwd", "yes"], "unrecognized arguments"),    # a switch takes no value
    (["--N", "2.5"], "N"),
    (["--lam-rec", "-1"], "lam_rec (RLS penalty) must be > 0"),   # the dataclass's own check
    (["--N", "400", "--K", "300"], "K (excitatory inputs per neuron) must be in [1, 199]"),
])
def test_bad_part3_flags_exit_2_naming_the_parameter(capsys, argv, name):
    with pytest.raises(SystemExit) as info:
        main(["part3"] + argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert name in err and "Traceback" not in err


def test_config_file_and_flags_override_it(tmp_path, capsys):
    cfg = tmp_path / "run.json"
    cfg.write_text(json.dumps({"N": 400, "K": 40, "n_trained": "all", "selection": "random", "ffwd": False,
                               "inh-weight-ratio": None, "seed": 3}))
    p = parse(["part3", "--config", str(cfg), "--K", "50", "--ffwd"])
    assert (p.N, p.K, p.n_trained, p.selection, p.ffwd, p.inh_weight_ratio, p.seed) == \
        (400, 50, None, "random", True, None, 3)
    # preset < config < flags
    cfg.write_text(json.dumps({"n_loops": 7, "L": 10}))
    assert parse(["part3", "--lecture", "--config", str(cfg), "--L", "12"]) == \
        BalancedParams.lecture(n_loops=7, L=12)
    # the {"class", "values"} form that --scores-json stores under "params"
    from tutorial_lib.storage import params_to_dict

    cfg.write_text(json.dumps({"params": params_to_dict(BalancedParams(N=600, K=60, n_trained=25))}))
    assert parse(["part3", "--config", str(cfg)]) == BalancedParams(N=600, K=60, n_trained=25)
    for content, name in [({"N": 400, "bogus": 1}, "'bogus' is not a BalancedParams field"),
                          ({"lam_ff": 0}, "lam_ff (RLS penalty) must be > 0"),
                          ({"n_trained": "many"}, "n_trained must be a whole number or 'none' / 'all'")]:
        cfg.write_text(json.dumps(content))
        with pytest.raises(SystemExit) as info:
            main(["part3", "--config", str(cfg)])
        assert info.value.code == 2 and name in capsys.readouterr().err
    cfg.write_text("{not json")
    with pytest.raises(SystemExit):
        main(["part3", "--config", str(cfg)])
    assert "is not valid JSON" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# Part 3: training, checkpoints, resuming


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """4 loops in one go: the reference for the resumed runs."""
    folder = tmp_path_factory.mktemp("straight")
    mp = pytest.MonkeyPatch()
    if not os.path.isdir(ALM):
        pytest.skip("the ALM data is not at " + ALM)
    mp.setenv("TUTORIAL_ALM_DATA", ALM)
    try:
        code = main(["part3", *TINY, "--n-loops", "4", "--out", str(folder / "net.npz"),
                     "--scores-json", str(folder / "scores.json")])
    finally:
        mp.undo()
    assert code == 0
    return balanced.load(folder / "net.npz"), json.loads((folder / "scores.json").read_text())


def assert_same_run(path, scores_path, straight):
    ref, ref_json = straight
    res = balanced.load(path)
    np.testing.assert_array_equal(res.network.w, ref.network.w)
    for name in ("scores", "test_loops", "test_scores", "test_scores_avg"):
        np.testing.assert_array_equal(getattr(res, name), getattr(ref, name))
    assert res.params == ref.params
    doc = json.loads(scores_path.read_text())
    assert {k: doc[k] for k in HISTORY} == {k: ref_json[k] for k in HISTORY}


def test_part3_trains_reports_and_writes_scores(straight, capsys):
    ref, doc = straight
    assert ref.n_loops == 4 and ref.rls is None  # --out without --save-rls
    assert doc["loops"] == [1, 2, 3, 4] and doc["test_loops"] == [2, 4] and doc["complete"]
    assert len(doc["training_scores"]) == 4 and len(doc["seconds_per_loop"]) == 4
    assert len(doc["test_scores"]) == len(doc["test_scores_avg"]) == 2
    np.testing.assert_allclose(doc["training_scores"], ref.scores)
    assert doc["final_test"]["n_trials"] == 2 and len(doc["final_test"]["scores"]) == 2
    assert doc["final_test"]["score"] == doc["test_scores"][-1]  # test trials are reproducible
    assert 0 < doc["wall_seconds"] >= sum(doc["seconds_per_loop"])  # the whole command: build, loops, final test
    assert doc["params"]["class"] == "BalancedParams" and doc["params"]["values"]["n_trained"] == 20
    assert BalancedParams(**doc["params"]["values"]) == ref.params
    assert not doc["data"]["synthetic"]


def test_resume_continues_to_exactly_the_uninterrupted_result(straight, tmp_path, alm, capsys):
    ck, out, js = tmp_path / "ck.npz", tmp_path / "net.npz", tmp_path / "scores.json"
    assert main(["part3", *TINY, "--n-loops", "2", "--checkpoint", str(ck), "--data", ALM]) == 0
    first = balanced.load(ck)  # the checkpoint is an ordinary saved network, with its RLS state
    assert first.n_loops == 2 and first.rls is not None and list(first.test_loops) == [2]
    capsys.readouterr()
    # the same command again would overwrite it
    with pytest.raises(SystemExit) as info:
        main(["part3", *TINY, "--n-loops", "4", "--checkpoint", str(ck)])
    assert info.value.code == 2 and "--resume" in capsys.readouterr().err
    # other parameters are refused, by name
    assert main(["part3", *TINY, "--n-loops", "4", "--seed", "1", "--checkpoint", str(ck), "--resume"]) == 2
    assert "seed = 0 in the checkpoint, 1 requested" in capsys.readouterr().err
    assert main(["part3", *TINY, "--n-loops", "4", "--checkpoint", str(ck), "--resume", "--out", str(out),
                 "--scores-json", str(js)]) == 0
    text = capsys.readouterr().out
    assert "Resuming from" in text and "2 of 4 loops done" in text
    assert "loop    3  training score" in text and "loop    4  test score" in text
    assert "final test (2 trials, no learning): single-trial score" in text
    assert_same_run(out, js, straight)
    assert balanced.load(ck).n_loops == 4


@pytest.mark.parametrize("presses, saved", [(1, 3), (2, 2)])
def test_ctrl_c_saves_a_checkpoint_that_resumes_exactly(straight, tmp_path, alm, monkeypatch, capsys,
                                                        presses, saved):
    """Ctrl-C during loop 3: once, loop 3 finishes and is saved; twice, it is abandoned.

    (With --checkpoint-every 2 the checkpoint then holds 2 loops.)
    """
    ck, out, js = tmp_path / "ck.npz", tmp_path / "net.npz", tmp_path / "scores.json"
    real_train = balanced.train

    def train(source, **kw):
        inner = kw["callback"]

        def callback(k, record, scores):
            if record.loop == 2:  # at the end of loop 3 (counted from 1)
                for _ in range(presses):
                    os.kill(os.getpid(), signal.SIGINT)
            return inner(k, record, scores)

        return real_train(source, **{**kw, "callback": callback})

    argv = ["part3", *TINY, "--n-loops", "4", "--checkpoint", str(ck), "--checkpoint-every", "2",
            "--out", str(out), "--scores-json", str(js)]
    monkeypatch.setattr(balanced, "train", train)
    assert main(argv) == 130
    monkeypatch.setattr(balanced, "train", real_train)
    err = capsys.readouterr().err
    assert f"holds {saved} of 4 loops" in err and "--resume" in err
    assert balanced.load(ck).n_loops == saved and not out.exists()
    assert json.loads(js.read_text())["n_loops_done"] == saved
    assert main(argv + ["--resume"]) == 0
    assert_same_run(out, js, straight)


def test_part3_errors_are_one_line(tmp_path, alm, capsys):
    # the activity runs away in the static run already
    assert main(["part3", *TINY, "--max-rate", "2", "--n-loops", "1"]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and "activity ran away" in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if "error" in line]) == 1
    # a missing checkpoint to resume from starts afresh; a damaged one is an error
    bad = tmp_path / "ck.npz"
    bad.write_bytes(b"not a zip file")
    assert main(["part3", *TINY, "--checkpoint", str(bad), "--resume"]) == 1
    assert "cannot resume from" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["part3", "--resume"])
    assert info.value.code == 2 and "--resume needs --checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["part3", "--out", str(tmp_path / "no" / "such" / "net.npz")])
    assert info.value.code == 2 and "does not exist" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# Paths and damaged checkpoints: refused in one line before any training, nothing overwritten


@pytest.fixture
def no_training(monkeypatch):
    """Building or training a network fails the test: the command must stop before."""
    def refuse(*args, **kwargs):
        pytest.fail("training started")

    monkeypatch.setattr(balanced, "build_network", refuse)
    monkeypatch.setattr(balanced, "train", refuse)
    import tutorial_lib.rate

    monkeypatch.setattr(tutorial_lib.rate, "train", refuse)


def run_refused(argv, capsys, codes=(1, 2)):
    """Run ``main(argv)``, expecting a refusal: its exit code and its one line of stderr."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code in codes, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rls-tutorial"), err
    assert "Traceback" not in err and "Part 3 training" not in err
    return code, lines[0]


@pytest.fixture
def checkpoint(straight, tmp_path):
    """A real checkpoint of the TINY run (4 loops), to damage."""
    return balanced.save(straight[0], tmp_path / "ck.npz")


def _truncated(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flipped(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x5A
    path.write_bytes(bytes(data))


def _bad_params(path):
    with np.load(path) as z:
        m = {k: z[k] for k in z.files}
    meta = json.loads(str(m["__meta__"]))
    meta["params"]["values"]["K"] = 10_000
    m["__meta__"] = np.array(json.dumps(meta))
    np.savez_compressed(path, **m)


def _nan_weights(path):
    with np.load(path) as z:
        m = {k: z[k] for k in z.files}
    m["w"][0, 0] = np.nan
    np.savez_compressed(path, **m)


@pytest.mark.parametrize("damage, words", [
    (_truncated, "damaged"), (_flipped, "damaged"), (lambda p: p.write_bytes(b""), "damaged"),
    (_bad_params, "stored parameter K is invalid: K (excitatory inputs per neuron) must be in"),
    (_nan_weights, "the array 'w'"),
])
def test_resume_from_a_damaged_checkpoint_is_one_line_exit_1_and_nothing_is_written(
        checkpoint, tmp_path, alm, no_training, capsys, damage, words):
    damage(checkpoint)
    before = checkpoint.read_bytes()
    out, js = tmp_path / "net.npz", tmp_path / "scores.json"
    code, line = run_refused(["part3", *TINY, "--n-loops", "6", "--checkpoint", str(checkpoint), "--resume",
                              "--out", str(out), "--scores-json", str(js)], capsys, codes=(1,))
    assert f"cannot resume from {checkpoint}" in line and words in line
    assert checkpoint.read_bytes() == before and not out.exists() and not js.exists()
    assert sorted(os.listdir(tmp_path)) == ["ck.npz"]  # no temporary file either


@pytest.mark.parametrize("part", ["part1", "part3"])
def test_scores_json_pointing_to_a_folder_is_refused_before_training(tmp_path, no_training, capsys, part):
    folder = tmp_path / "results"
    folder.mkdir()
    code, line = run_refused([part, "--scores-json", str(folder)], capsys)
    assert f"--scores-json {folder}" in line and "is a folder" in line
    assert os.listdir(folder) == []


@pytest.mark.parametrize("flag", ["--out", "--checkpoint", "--scores-json"])
def test_part3_output_paths_are_checked_before_training(tmp_path, no_training, capsys, flag):
    (tmp_path / "runs").mkdir()
    (tmp_path / "notes.txt").write_text("a file")
    cases = [(tmp_path / "no" / "such" / "net.npz", "does not exist"),
             (tmp_path / "runs", "is a folder"),
             (tmp_path / "notes.txt" / "net.npz", "is not a folder")]
    if flag != "--scores-json":
        (tmp_path / "runs.npz").mkdir()  # "runs" without a suffix means runs.npz
        cases.append((tmp_path / "runs.npz", "is a folder"))
    for path, words in cases:
        code, line = run_refused(["part3", *TINY, flag, str(path)], capsys)
        assert f"{flag} {path}" in line and words in line, line
    assert (tmp_path / "notes.txt").read_text() == "a file"


def test_the_same_file_for_two_outputs_is_refused(tmp_path, no_training, capsys):
    net = str(tmp_path / "net.npz")
    for argv in (["--out", net, "--scores-json", net], ["--checkpoint", net, "--scores-json", net],
                 ["--out", str(tmp_path / "net"), "--checkpoint", net]):
        code, line = run_refused(["part3", *TINY, *argv], capsys)
        assert "must be different files" in line
    assert os.listdir(tmp_path) == []


def test_an_output_folder_without_write_permission_is_refused(tmp_path, no_training, capsys, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    if os.access(folder, os.W_OK):  # root writes anyway: let the check see the folder as others would
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: str(p) != str(folder) and real(p, mode))
    try:
        code, line = run_refused(["part3", "--out", str(folder / "net.npz")], capsys)
        assert f"the folder {folder} is not writable" in line
    finally:
        folder.chmod(0o700)
