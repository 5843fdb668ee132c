"""The course's notebooks: one source per lesson, with its solutions marked.

The source of a lesson is its solution notebook, ``notebooks/solutions/NN-name.ipynb``: the
whole lesson, with every answer in it. The notebook a student opens,
``notebooks/NN-name.ipynb``, is made from it by :func:`student_version`:

- in a code cell, the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION`` (markers
  included) are removed. The student's starting point (a placeholder such as
  ``ANSWER = "..."  # ← replace``, a TODO stub) stands *before* the markers, so in the
  solution it is set first and then replaced by the answer;
- a markdown cell may hold its solution between the same markers: the student gets
  :data:`MARKDOWN_STUB` in its place;
- a cell tagged ``solution`` (an explanation of the answer, a second example) is left out.

These are nbgrader's own markers (``ClearSolutions`` with an empty code stub), so the same
source serves a class through nbgrader (see classroom/). Outputs are not copied: both
notebooks are executed and stored by ``scripts/execute-notebooks``.
"""
import copy
import re

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
SOLUTION_TAG = "solution"
MARKDOWN_STUB = "*Your answer here.*"

_REGION = re.compile(r"^[ \t]*%s[^\n]*\n.*?^[ \t]*%s[^\n]*(\n|\Z)"
                     % (re.escape(BEGIN), re.escape(END)), re.MULTILINE | re.DOTALL)


class CourseError(ValueError):
    """A source notebook breaks the format (an unmatched marker, ...)."""


def _source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def has_solution(cell):
    return BEGIN in _source(cell) or SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def strip_solution(text, stub=""):
    """``text`` without its solution regions (each replaced by ``stub``)."""
    if text.count(BEGIN) != text.count(END):
        raise CourseError("unmatched %r / %r in:\n%s" % (BEGIN, END, text))
    out = _REGION.sub(lambda m: stub + ("\n" if stub and m.group(1) else ""), text)
    if BEGIN in out or END in out:
        raise CourseError("a solution region is not closed in:\n%s" % text)
    # no blank line left where the solution was, at the end or doubled
    return re.sub(r"\n{3,}", "\n\n", out).strip("\n")


def is_lesson_source(nb):
    """Whether a solution notebook is its lesson's source (metadata
    ``mydocker_lab.lesson_source``): the student notebook is then made from it."""
    return bool(nb.get("metadata", {}).get("mydocker_lab", {}).get("lesson_source"))


def student_version(source_nb):
    """The student's notebook (an nbformat-like dict) made from a lesson's source."""
    nb = copy.deepcopy(source_nb)
    cells = []
    for cell in nb["cells"]:
        if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        text = _source(cell)
        if BEGIN in text or END in text:
            stub = MARKDOWN_STUB if cell["cell_type"] == "markdown" else ""
            cell["source"] = strip_solution(text, stub)
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cells.append(cell)
    nb["cells"] = cells
    nb.get("metadata", {}).pop("mydocker_lab", None)
    return nb


def solution_version(source_nb):
    """The solution notebook as stored: the source itself (the markers stay: they show where
    each answer is)."""
    return copy.deepcopy(source_nb)
