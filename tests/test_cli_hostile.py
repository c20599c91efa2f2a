"""A hostile user of ``rls-tutorial`` and of the sweep API: every bad value is one named line, never a
traceback, a hang or a file written.

Tables: every numeric flag of every subcommand with a few dozen hostile values; numbers in exponent
form (``--mu -5e-1``) read as the plain ones are; empty, blank, too long and unwritable paths refused by
name before any training; grid values equal as numbers refused as duplicates; scheduler addresses where
something else than a Dask scheduler answers refused within seconds.

Training is replaced by a stub (``Accepted``): a value that is accepted reaches it at once, so the
tables run in seconds. What was accepted is collected in ``ACCEPTED`` (printed with ``-s``): absurd
values accepted there are for the parameter bounds in ``params.py``.
"""

import functools
import http.server
import os
import re
import socket
import socketserver
import threading
import time
from pathlib import Path

import pytest

from tutorial_lib import balanced, cli
from tutorial_lib import sweep as sweep_mod
from tutorial_lib import cli_args
from tutorial_lib.cli import part3 as cli_part3
from tutorial_lib.cli import PARTS, main
from tutorial_lib.cli_args import field_specs
from tutorial_lib.sweep import plan, sweep

SUBCOMMANDS = {  # name -> (argv prefix, parameter class)
    "part1": (["part1"], PARTS["part1"].params),
    "part2": (["part2"], PARTS["part2"].params),
    "part3": (["part3", "--synthetic"], PARTS["part3"].params),
    "sweep-part1": (["sweep", "part1", "--out", "{tmp}/t.csv"], PARTS["part1"].params),
    "sweep-part2": (["sweep", "part2", "--out", "{tmp}/t.csv"], PARTS["part2"].params),
    "sweep-part3": (["sweep", "part3", "--synthetic", "--out", "{tmp}/t.csv"], PARTS["part3"].params),
}
# running flags that take whole numbers (besides the parameters' own)
RUNNING = {"part1": ["--report-every"], "part2": ["--report-every"],
           "part3": ["--report-every", "--checkpoint-every"],
           "sweep-part1": ["--jobs", "--seeds"], "sweep-part2": ["--jobs", "--seeds"],
           "sweep-part3": ["--jobs", "--seeds"]}
HOSTILE = ["1e308", "-1e308", "1e-308", "-1e-308", "5e-324", "nan", "-nan", "NaN", "inf", "-inf", "-Infinity",
           "", "   ", "x" * 10_000, "9" * 400, "-" + "9" * 400, "1e5000", "-1e5000", "0x10", "-0x10", "1_000",
           "-1_000", "-0", "0", "1e18", "1e19", "-5e-1", "2.5", "1e", ".", "-.5", "+5", " 5 ", "1,2", "none",
           "all", "true", "٣", "--", "-"]
ACCEPTED: dict = {}  # (subcommand, flag) -> values that reached the training stub


class Accepted(BaseException):
    """Raised by the training stub: the command line took the values and would train now."""


@pytest.fixture
def stubbed(monkeypatch):
    """Training replaced by ``Accepted``; the parser built once (it is the same for every call)."""
    def accept(*a, **kw):
        raise Accepted

    import tutorial_lib.rate
    import tutorial_lib.spiking_net

    for module, name in ((tutorial_lib.rate, "train"), (tutorial_lib.spiking_net, "train"),
                         (balanced, "build_network"), (sweep_mod, "sweep")):
        monkeypatch.setattr(module, name, accept)
    monkeypatch.setattr(cli_part3, "load_data", lambda args: None)
    monkeypatch.setattr(sweep_mod, "_sweep_data", lambda part, data: (None, "stub", None))
    monkeypatch.setattr(cli, "build_parser", functools.cache(cli.build_parser))


def outcome(argv, capsys):
    """``("accepted", None)`` or ``(exit code, stderr)`` of ``main(argv)``; fails on any other exception."""
    try:
        code = main(argv)
    except Accepted:
        capsys.readouterr()
        return "accepted", None
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def assert_one_line(code, err, argv, names=()):
    """Exit 2 with one line ``rls-tutorial...: error: ...`` that names one of ``names``."""
    assert code == 2, f"{argv}: exit {code}\n{err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rls-tutorial") and ": error: " in lines[0], (argv, err)
    assert "Traceback" not in err
    assert len(lines[0]) < 600, f"{argv}: a line of {len(lines[0])} characters"
    if names:
        assert any(n in lines[0] for n in names), f"{argv}: {lines[0]} names none of {names}"
    return lines[0]


def numeric_flags(cls) -> list:
    return [(f"--{name.replace('_', '-')}", name) for name, (kind, _, _) in field_specs(cls).items()
            if kind in (int, float)]


# ---------------------------------------------------------------------------
# Every numeric flag x hostile values: accepted, or one line naming it (exit 2)


@pytest.mark.parametrize("value", HOSTILE, ids=[repr(v)[:12] for v in HOSTILE])
@pytest.mark.parametrize("sub", list(SUBCOMMANDS))
def test_hostile_values_are_accepted_or_refused_in_one_named_line(tmp_path, stubbed, capsys, sub, value):
    prefix, cls = SUBCOMMANDS[sub]
    prefix = [a.format(tmp=tmp_path) for a in prefix]
    cases = [([flag, value], (name, flag)) for flag, name in numeric_flags(cls)]
    cases += [([flag, value], (flag, flag[2:].replace("-", "_"))) for flag in RUNNING[sub]]
    if sub.startswith("sweep"):  # the same values as grid values
        cases += [(["--grid", f"{name}={value}"], (name, "--grid")) for _, name in numeric_flags(cls)]
    for extra, names in cases:
        argv = [*prefix, *extra]
        code, err = outcome(argv, capsys)
        if code == "accepted":
            ACCEPTED.setdefault((sub, extra[0]), []).append(value)
            # never a value the parser had to invent a number for
            assert value.strip().lower() not in NOT_NUMBERS, (argv, "accepted")
            continue
        assert_one_line(code, err, argv, names=(*names, "setting", "needs"))
    assert os.listdir(tmp_path) == []


NOT_NUMBERS = {"nan", "-nan", "inf", "-inf", "-infinity", "", "1e5000", "-1e5000", "0x10", "-0x10", "1e", ".",
               "x" * 10_000, "9" * 400, "-" + "9" * 400, "true", "--", "-"}


# ---------------------------------------------------------------------------
# Numbers in exponent form are numbers: "--mu -5e-1" as "--mu -0.5"

FORMS = [("-0.5", "-5e-1"), ("-0.5", "-5E-1"), ("-0.5", "-.5"), ("-1", "-1e0"), ("-1", "-1.0"),
         ("2000", "2e3"), ("2000", "2000.0"), ("-1000", "-1e3")]


@pytest.mark.parametrize("plain, other", FORMS)
@pytest.mark.parametrize("sub", list(SUBCOMMANDS))
def test_every_numeric_flag_reads_every_form_of_a_number(tmp_path, stubbed, capsys, sub, plain, other):
    prefix, cls = SUBCOMMANDS[sub]
    prefix = [a.format(tmp=tmp_path) for a in prefix]
    for flag, name in numeric_flags(cls) + [(f, f[2:]) for f in RUNNING[sub]]:
        a = outcome([*prefix, flag, plain], capsys)
        b = outcome([*prefix, flag, other], capsys)
        assert "expected one argument" not in str(b[1]) and "unrecognized" not in str(b[1]), (flag, other, b)
        assert a[0] == b[0], (flag, plain, a, other, b)
        if a[0] != "accepted":  # the same refusal, up to how the numbers are written
            assert _numbers_out(a[1]) == _numbers_out(b[1]), (a[1], b[1])


def _numbers_out(message: str) -> str:
    return re.sub(r"[-+]?(\d[\d_]*\.?\d*|\.\d+)([eE][-+]?\d+)?", "#", message.split("(got")[0])


@pytest.mark.parametrize("argv, field, value", [
    (["part2", "--mu", "-5e-1"], "mu", -0.5),
    (["part2", "--mu", "-5E-1"], "mu", -0.5),
    (["part1", "--target-amplitude", "-1e-1"], "target_amplitude", -0.1),
    (["part1", "--n-loops", "1e1"], "n_loops", 10),
    (["part1", "--N", "2e2"], "N", 200),
    (["part3", "--seed", "7e0"], "seed", 7),
])
def test_exponent_forms_give_the_plain_value(argv, field, value):
    ap, subs = cli.build_parser()
    args = ap.parse_args(argv)
    params = cli_args.make_params(subs[args.part], args, PARTS[args.part].params)
    assert getattr(params, field) == value


def test_running_flags_read_exponent_forms():
    ap, _ = cli.build_parser()
    assert ap.parse_args(["part1", "--report-every", "1e1"]).report_every == 10
    assert ap.parse_args(["part3", "--checkpoint-every", "5e0"]).checkpoint_every == 5
    assert ap.parse_args(["sweep", "part1", "--out", "t.csv", "--jobs", "-1e0"]).jobs == -1
    assert sweep_mod._parse_seeds(None, "3e0") == 3 and sweep_mod._parse_seeds(None, "0,7e0") == [0, 7]


# ---------------------------------------------------------------------------
# Paths: empty, blank, too long, unwritable: refused by name before any training


def _paths(tmp_path):
    (tmp_path / "folder.json").mkdir()
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "afile").write_text("x")
    return {
        "empty": ("", "empty"), "blank": ("   ", "empty"),
        "too long": (str(tmp_path / ("a" * 300 + ".json")), "too long"),
        "long folder": (str(tmp_path / ("d" * 300) / "x.json"), "--"),
        # root may open /proc for writing and fails at the write; an ordinary user is refused by its mode
        "proc": ("/proc/version", "cannot be written|is not writable"),
        "proc new": ("/proc/new.json", "cannot be written|is not writable"),
        "folder": (str(tmp_path / "folder.json"), "is a folder"),
        "missing folder": (str(tmp_path / "no" / "x.json"), "does not exist"),
        "file as folder": (str(tmp_path / "afile" / "x.json"), "is not a folder"),
        "device": ("/dev/null", "not a regular file"),
        "no such user": ("~nosuchuser12345/x.json", "home directory"),
    }


OUTPUTS = [("part1", "--scores-json"), ("part2", "--scores-json"), ("part3", "--scores-json"),
           ("part3", "--out"), ("part3", "--checkpoint"), ("sweep-part1", "--out"), ("sweep-part2", "--out"),
           ("sweep-part3", "--out")]
PATH_CASES = ["empty", "blank", "too long", "long folder", "proc", "proc new", "folder", "missing folder",
              "file as folder", "device", "no such user"]


@pytest.mark.parametrize("case", PATH_CASES)
@pytest.mark.parametrize("sub, flag", OUTPUTS)
def test_an_output_path_that_cannot_be_written_is_refused_by_name_before_training(
        tmp_path, stubbed, capsys, sub, flag, case):
    path, words = _paths(tmp_path)[case]
    prefix, _ = SUBCOMMANDS[sub]
    prefix = [a for a in prefix if a != "--out" and "{tmp}" not in a]
    if sub.startswith("sweep"):  # a sweep's table is a .csv
        path = path.replace(".json", ".csv") if path.endswith(".json") else path
    before = sorted(os.listdir(tmp_path))
    argv = [*prefix, flag, path]
    code, err = outcome(argv, capsys)
    line = assert_one_line(code, err, argv, names=(flag,))
    assert re.search(words, line), line
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize("argv, words", [
    (["part1", "--config", ""], "--config is empty"),
    (["part1", "--config", "   "], "--config is empty"),
    (["part2", "--config", "x" * 300], "--config"),
    (["part1", "--config", "~nosuchuser12345/c.json"], "home directory"),
    (["part3", "--data", ""], "--data is empty"),
    (["part3", "--data", "  "], "--data is empty"),
    (["part3", "--data", "d" * 300], "--data"),
    (["part3", "--data", "/dev/null"], "not a folder"),
    (["sweep", "part3", "--out", "t.csv", "--data", ""], "--data is empty"),
    (["sweep", "part1", "--out", "t.csv", "--config", ""], "--config is empty"),
    (["sweep", "part1", "--out", "t.csv", "--scheduler", ""], "--scheduler is empty"),
    (["sweep", "part1", "--out", "t.csv", "--scheduler", "  "], "--scheduler is empty"),
])
def test_an_input_path_that_is_empty_or_unusable_is_refused_by_name(tmp_path, stubbed, capsys, monkeypatch,
                                                                    argv, words):
    monkeypatch.chdir(tmp_path)
    code, err = outcome(argv, capsys)
    line = assert_one_line(code, err, argv)
    assert words in line, line
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("source", ["/dev/zero", "/dev/urandom"])
def test_a_config_that_never_ends_is_refused_by_size(tmp_path, source):
    """Read whole, /dev/zero filled the memory (the machine's, not a MemoryError): in a process of its own
    with a memory limit, so that a regression fails here and not the machine."""
    import resource
    import subprocess
    import sys

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                        os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", "import sys; from tutorial_lib.cli import main; "
                           "sys.exit(main(sys.argv[1:]))", "part1", "--config", source],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env, preexec_fn=limit)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("rls-tutorial part1: error: --config") and "larger than" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("out, exc, words", [
    (123, TypeError, "out must be a file path"),
    (b"t.csv", TypeError, "out must be a file path"),
    (["t.csv"], TypeError, "out must be a file path"),
    ("", ValueError, "out is empty"),
    ("  ", ValueError, "out is empty"),
    ("a" * 300 + ".csv", ValueError, "too long"),
    ("/proc/t.csv", ValueError, "cannot be written|is not writable"),
    ("t.txt", ValueError, ".csv or .parquet"),
])
def test_sweep_api_names_a_bad_out_before_any_run(tmp_path, monkeypatch, out, exc, words):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sweep_mod, "run_one", lambda task: pytest.fail("a run started"))
    with pytest.raises(exc, match=words):
        sweep("part1", {"N": [20]}, base={"n_loops": 1}, out=out, progress=False, warm=False)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("data, exc, words", [
    (123, TypeError, "data must be"), ("", ValueError, "data is empty"), ("  ", ValueError, "data is empty"),
    ("d" * 300, ValueError, "not a folder"),
])
def test_sweep_api_names_bad_data(data, exc, words):
    with pytest.raises(exc, match=words):
        sweep("part3", {"seed": [1]}, data=data, progress=False, warm=False)


# ---------------------------------------------------------------------------
# Grid values equal as numbers are one value


@pytest.mark.parametrize("part, name, values", [
    ("part1", "stim_on", [0, -0.0]), ("part1", "stim_on", ["0", "-0"]), ("part1", "stim_on", [0.0, "-0.0"]),
    ("part1", "N", [20, 20.0]), ("part1", "N", ["20", "2e1"]), ("part1", "lam", [1, 1.0]),
    ("part1", "lam", ["1", "1e0"]), ("part2", "tau_s", ["20", "20.0", "50"]), ("part1", "K", [None, "all"]),
    ("part1", "seed", [3, 3.0]),
])
def test_grid_values_equal_as_numbers_are_refused_by_name(part, name, values):
    with pytest.raises(ValueError, match=rf"grid {name}: the value .* is given twice"):
        plan(part, {name: values})


@pytest.mark.parametrize("seeds", [[1, 1], [0, 0.0], ["2", "2e0"]])
def test_seed_lists_with_one_seed_twice_are_refused(seeds):
    with pytest.raises(ValueError, match="seeds: the value .* is given twice"):
        plan("part1", None, seeds=seeds)


def test_settings_equal_as_numbers_are_one_setting():
    with pytest.raises(ValueError, match="given twice"):
        plan("part1", settings=[{"stim_on": 0.0}, {"stim_on": -0.0}])
    a = plan("part1", {"stim_on": [0.0]})[0][1]
    b = plan("part1", {"stim_on": [-0.0]})[0][1]
    assert sweep_mod.run_id("part1", a, None) == sweep_mod.run_id("part1", b, None)


@pytest.mark.parametrize("grid", ["stim_on=0,-0", "stim_on=0,0.0", "N=20,2e1", "lam=1,1.0,1e0"])
def test_cli_grid_with_equal_values_is_refused_by_name(tmp_path, stubbed, capsys, grid):
    argv = ["sweep", "part1", "--out", str(tmp_path / "t.csv"), "--grid", grid]
    code, err = outcome(argv, capsys)
    line = assert_one_line(code, err, argv, names=("--grid " + grid.split("=")[0],))
    assert "given twice" in line


# ---------------------------------------------------------------------------
# A scheduler address where no Dask scheduler answers: refused within seconds, port 8786 named


class _Quiet(http.server.SimpleHTTPRequestHandler):
    timeout = 5  # a client that sends half a request line (distributed's handshake) does not hold it

    def log_message(self, *a):
        pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True


def _serve(kind: str):
    """A loopback server of ``kind``; returns (port, stop)."""
    if kind == "http":  # a real web server: waits for a request that never comes
        srv = _Server(("127.0.0.1", 0), _Quiet)
        th = threading.Thread(target=srv.serve_forever, daemon=True)
        th.start()
        return srv.server_address[1], lambda: (srv.shutdown(), srv.server_close())
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    stop = threading.Event()

    def serve():
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            with conn:
                if kind == "banner":
                    conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
                elif kind == "short":
                    conn.sendall(b"\x10\x00")
                if kind != "close":
                    stop.wait(8)

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    return srv.getsockname()[1], lambda: (stop.set(), th.join(), srv.close())


@pytest.mark.parametrize("kind, timeout", [("http", None), ("silent", 1.0), ("banner", 1.0), ("short", 1.0),
                                           ("close", 1.0)])
def test_an_address_where_no_dask_scheduler_answers_is_refused_within_seconds(
        tmp_path, capsys, monkeypatch, kind, timeout):
    pytest.importorskip("distributed")
    monkeypatch.setattr(sweep_mod, "warm_cache", lambda *a: pytest.fail("warmed up before connecting"))
    if timeout is not None:
        monkeypatch.setattr(sweep_mod, "CONNECT_TIMEOUT", timeout)
    port, stop = _serve(kind)
    try:
        t0 = time.perf_counter()
        argv = ["sweep", "part1", "--N", "20", "--n-loops", "1", "--out", str(tmp_path / "t.csv"),
                "--scheduler", f"tcp://127.0.0.1:{port}"]
        result = []
        th = threading.Thread(target=lambda: result.append(main(argv)), daemon=True)
        th.start()
        th.join(60)  # the sweep stood at 0 runs for good before
        assert result, "the sweep still waits for the scheduler after 60 s"
        code = result[0]
        elapsed = time.perf_counter() - t0
    finally:
        stop()
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert code == 1 and len(lines) == 1, err
    assert "cannot connect to the Dask scheduler" in lines[0] and "8786" in lines[0], lines[0]
    assert "8787" not in err and "Traceback" not in err
    assert elapsed < 2 * sweep_mod.CONNECT_TIMEOUT + 3, elapsed
    assert not (tmp_path / "t.csv").exists()


# ---------------------------------------------------------------------------
# Parameter errors of any type (a config file's values) are one line


@pytest.mark.parametrize("content", ['{"N": [20]}', '{"N": {"a": 1}}', '{"lam": "x"}', '{"sigma": true}',
                                     '{"N": 1e308}', '{"seed": -1}', '{"K": "many"}', '[1, 2]', '"text"',
                                     '{"N": null}', '{"tau": "nan"}', "\udcff"])
@pytest.mark.parametrize("sub", ["part1", "part2", "part3", "sweep-part1"])
def test_config_values_of_any_type_are_one_line(tmp_path, stubbed, capsys, sub, content):
    cfg = tmp_path / "c.json"
    cfg.write_bytes(content.encode("utf-8", "surrogateescape"))
    prefix, cls = SUBCOMMANDS[sub]
    prefix = [a.format(tmp=tmp_path) for a in prefix]
    argv = [*prefix, "--config", str(cfg)]
    code, err = outcome(argv, capsys)
    if code != "accepted":
        assert_one_line(code, err, argv)


@pytest.mark.parametrize("address, exc, words", [
    ("", ValueError, "scheduler must be an address"), ("   ", ValueError, "scheduler must be an address"),
    ("tcp://", ValueError, "no host"), ("tcp://:8786", ValueError, "no host"), ("ws://:1", ValueError, "no host"),
    ("tcp://127.0.0.1:99999", ValueError, "port"), ("tcp://127.0.0.1:abc", ValueError, "port"),
    ("tcp://[::1", ValueError, "not an address"), ("http://127.0.0.1:1", ValueError, "not a Dask protocol"),
    ("tcp://" + "a" * 300 + ":8786", ValueError, "not a valid name"),
    ("tcp://127.0.0.1:0", OSError, "cannot connect to the Dask scheduler"),
])
def test_a_scheduler_address_that_cannot_be_one_is_refused_by_name_at_once(monkeypatch, address, exc, words):
    pytest.importorskip("distributed")
    monkeypatch.setattr(sweep_mod, "run_one", lambda task: pytest.fail("a run started"))
    t0 = time.perf_counter()
    with pytest.raises(exc, match=words) as info:
        sweep("part1", {"N": [20]}, base={"n_loops": 1}, scheduler=address, progress=False, warm=False)
    assert "scheduler" in str(info.value) and "8787" not in str(info.value)
    assert time.perf_counter() - t0 < 3
