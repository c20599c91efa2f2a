"""The command line trains with the given flags and reports bad ones by name."""

import pytest

from tutorial_lib.cli import main


def test_part1_trains_and_reports_scores(capsys):
    assert main(["part1", "--n-loops", "3", "--N", "20", "--train-duration", "50", "--report-every", "1"]) == 0
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
