"""One source per lesson: the student's notebook is made from the solution notebook."""
import os

import pytest

from mydocker_lab.lab import course
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


def _lesson_sources():
    import glob
    import nbformat
    from support import ROOT
    paths = sorted(glob.glob(os.path.join(str(ROOT), "notebooks", "solutions", "*.ipynb")))
    return [p for p in paths if course.is_lesson_source(nbformat.read(p, as_version=4))]


@pytest.mark.parametrize("source", _lesson_sources(), ids=os.path.basename)
def test_the_student_notebook_is_made_from_its_source(source):
    """notebooks/NN is scripts/execute-notebooks' work, never edited by hand: its cells are
    those student_version() makes from notebooks/solutions/NN."""
    import nbformat
    student = os.path.join(os.path.dirname(os.path.dirname(source)), os.path.basename(source))
    made = course.student_version(nbformat.read(source, as_version=4))
    stored = nbformat.read(student, as_version=4)

    def shape(nb):
        return [(c["cell_type"], "".join(c["source"]), c.get("metadata", {}).get("tags", []))
                for c in nb["cells"]]
    assert shape(stored) == shape(made), "run scripts/execute-notebooks %s" % student


def test_a_lesson_source_is_marked_in_its_metadata():
    assert course.is_lesson_source({"metadata": {"mydocker_lab": {"lesson_source": True}}})
    assert not course.is_lesson_source({"metadata": {}})
    made = course.student_version({"metadata": {"mydocker_lab": {"lesson_source": True}},
                                   "cells": []})
    assert not course.is_lesson_source(made)
