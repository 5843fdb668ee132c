"""One source per lesson: the student's notebook is made from the solution notebook."""
import pytest

from mydocker_lab.lab.course import (MARKDOWN_STUB, CourseError, strip_solution,
                                     student_version)


@pytest.mark.parametrize("source, student", [
    # the placeholder stands before the markers; the answer between them goes
    ('ANSWER = "hostname"   # ← replace\n### BEGIN SOLUTION\nANSWER = "unshare --uts sh"\n'
     '### END SOLUTION\n\nns.check(ANSWER)',
     'ANSWER = "hostname"   # ← replace\n\nns.check(ANSWER)'),
    # indented markers inside a function (a piece of the student's runtime)
    ("def init_mounts():\n    raise NotImplementedError  # TODO 02\n    ### BEGIN SOLUTION\n"
     "    linux.mount('', '/', None, flags)\n    ### END SOLUTION\n",
     "def init_mounts():\n    raise NotImplementedError  # TODO 02"),
    # two regions in one cell
    ("a = 1\n### BEGIN SOLUTION\na = 2\n### END SOLUTION\nb = 1\n### BEGIN SOLUTION\nb = 2\n"
     "### END SOLUTION\nprint(a, b)", "a = 1\nb = 1\nprint(a, b)"),
    # a region at the very end, without a final newline
    ("x = ...\n### BEGIN SOLUTION\nx = 3\n### END SOLUTION", "x = ..."),
    # no region: unchanged
    ("print(1)\n", "print(1)"),
])
def test_strip_solution(source, student):
    assert strip_solution(source) == student


@pytest.mark.parametrize("broken", [
    "x = 1\n### BEGIN SOLUTION\nx = 2\n",          # never closed
    "x = 1\n### END SOLUTION\n",                    # never opened
    "### END SOLUTION\nx\n### BEGIN SOLUTION\n",    # the wrong way round
])
def test_a_broken_source_is_refused(broken):
    with pytest.raises(CourseError):
        strip_solution(broken)


def _nb(*cells):
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": list(cells)}


def test_student_version():
    source = _nb(
        {"cell_type": "markdown", "metadata": {}, "source": "## Exercise"},
        {"cell_type": "code", "metadata": {}, "execution_count": 7,
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "✔"}],
         "source": ["X = None  # ← yours\n", "### BEGIN SOLUTION\n", "X = 42\n",
                    "### END SOLUTION\n", "check(X)"]},
        {"cell_type": "markdown", "metadata": {"tags": ["solution"]},
         "source": "**Answer.** 42, because ..."},
        {"cell_type": "markdown", "metadata": {},
         "source": "Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"},
    )
    student = student_version(source)
    assert [c["source"] for c in student["cells"]] == [
        "## Exercise", "X = None  # ← yours\ncheck(X)", "Why?\n" + MARKDOWN_STUB]
    assert student["cells"][1]["outputs"] == [] and student["cells"][1]["execution_count"] is None
    assert source["cells"][1]["execution_count"] == 7  # the source itself is left alone
