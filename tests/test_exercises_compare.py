"""The exercise checks' shared comparison names what is wrong, where, and by how much."""

import numpy as np
import pytest

from tutorial_lib.exercises import ExerciseError, check_close, correct, run_student


def test_equal_answers_pass_and_print_one_line(capsys):
    check_close([1.0, 2.0], np.array([1.0, 2.0 + 1e-12]), what="your rate")
    correct("the rates match")
    assert capsys.readouterr().out == "Correct: the rates match\n"


def test_the_largest_difference_is_named_with_its_place_and_unit():
    t = np.array([0.0, 60.0, 120.0])
    ref = np.zeros((3, 4))
    got = ref.copy()
    got[2, 3] = 0.3
    got[1, 0] = 0.1
    with pytest.raises(ExerciseError) as info:
        check_close(got, ref, what="your rate", where=[("t", t, "ms"), ("neuron", None, "")], unit="Hz")
    msg = str(info.value)
    assert "your rate at t = 120 ms, neuron = 3 is 0.3 Hz; the reference is 0 Hz (off by 0.3 Hz; 2 of 12" in msg
    assert info.value.where == "t = 120 ms, neuron = 3" and info.value.what == "your rate"


@pytest.mark.parametrize("got, words", [
    (np.zeros(4), "has shape (4,); it should have shape (3,)"),
    ([0.0, np.nan, 0.0], "at index 1 is nan; the reference is 0 (a number is defined there)"),
    ([0.0, np.inf, 0.0], "at index 1 is inf; the reference is 0"),
    ("abc", "should be numbers"),
])
def test_shape_nan_and_type_are_said_first(got, words):
    with pytest.raises(ExerciseError, match=None) as info:
        check_close(got, np.zeros(3), what="your voltage")
    assert words in str(info.value)


def test_an_unfinished_stub_or_a_crash_becomes_advice():
    def stub(x):
        raise NotImplementedError

    def crash(x):
        return x / "a"

    with pytest.raises(ExerciseError, match="not written yet"):
        run_student(stub, 1.0, what="your Euler step")
    with pytest.raises(ExerciseError, match="your Euler step stopped with TypeError"):
        run_student(crash, 1.0, what="your Euler step")
    with pytest.raises(ExerciseError, match="should be a function"):
        run_student(3.0, what="your Euler step")
    assert run_student(lambda x: 2 * x, 2.0) == 4.0


@pytest.mark.parametrize("got, words", [
    ([np.nan, 0.5, np.nan], "at index 1 is 0.5; the reference is 0.3"),  # a wrong value beside undefined ones
    ([np.nan, 0.3, 0.0], "at index 2 is 0; the reference is nan (undefined there: the answer should be NaN)"),
    ([1.0, 0.3, np.nan], "at index 0 is 1; the reference is nan"),
])
def test_undefined_reference_values_hide_no_error(got, words):
    ref = np.array([np.nan, 0.3, np.nan])
    with pytest.raises(ExerciseError) as info:
        check_close(got, ref, what="your Fano factor")
    assert words in str(info.value)
    check_close([np.nan, 0.3, np.nan], ref, what="your Fano factor")  # NaN where the reference is NaN: right
    check_close([np.inf, 1.0], [np.inf, 1.0], what="your rate")
