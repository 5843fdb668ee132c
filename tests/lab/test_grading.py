"""Checkers never raise to a student, and fail a cell only when nbgrader grades it."""
import pytest

from mydocker_lab.lab.display import Verdict
from mydocker_lab.lab.grading import NotYet, checker


@checker
def check_answer(answer):
    if answer == "boom":
        raise KeyError("the checker's own bug")
    return Verdict(answer == 42, "the answer is %r" % answer, hint="think of 6 x 7")


def test_a_student_gets_verdicts(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert check_answer(42)
    wrong = check_answer(41)
    assert not wrong and "hint: think of 6 x 7" in wrong.text()
    broken = check_answer("boom")
    assert not broken and "KeyError" in broken.text() and "could not judge" in broken.text()


@pytest.mark.parametrize("mode", ["autograde", "validate"])
def test_nbgrader_sees_a_failed_cell(monkeypatch, mode):
    monkeypatch.setenv("NBGRADER_EXECUTION", mode)
    assert check_answer(42)  # a right answer passes quietly
    with pytest.raises(NotYet, match="(?s)the answer is 41.*hint: think of 6 x 7"):
        check_answer(41)
    with pytest.raises(NotYet, match="could not judge"):
        check_answer("boom")
