"""Exercise checkers: one shape for all of them, for a student and for nbgrader.

A checker takes the student's answer and returns a :class:`~mydocker_lab.lab.display.Verdict`
(✔ with what was seen, or ✘ with a hint that names what is wrong). Decorated with
:func:`checker`, it also

- never raises to a student: a failure of the checker itself becomes a ✘ verdict that says
  so (a traceback under an exercise reads as "you did something wrong");
- fails the cell when nbgrader grades or validates the notebook (``NBGRADER_EXECUTION`` is
  ``autograde`` or ``validate``): nbgrader gives a test cell its points unless it raises, so a
  ✘ verdict is shown and then raised as :class:`NotYet`, whose message is the verdict's text
  (the student's feedback).
"""
import functools
import os

from .display import Verdict


class NotYet(AssertionError):
    """An exercise that is not solved yet, under nbgrader: the verdict's text."""


def grading():
    """Whether nbgrader is executing the notebook (autograde, or a student's Validate)."""
    return os.environ.get("NBGRADER_EXECUTION", "").lower() in ("autograde", "validate")


def checker(func):
    """Make ``func`` (answer -> Verdict) a checker: see the module's docstring."""
    @functools.wraps(func)
    def check(*args, **kwargs):
        try:
            verdict = func(*args, **kwargs)
        except Exception as err:  # the checker's own failure, never the student's traceback
            verdict = Verdict(False, "the checker could not judge this answer (%s: %s)"
                              % (type(err).__name__, err),
                              hint="if your answer has the shape the exercise asks for, this "
                                   "is a bug in the course: please report it")
        if grading() and not verdict:
            from IPython.display import display
            display(verdict)
            raise NotYet(verdict.text())
        return verdict
    return check
