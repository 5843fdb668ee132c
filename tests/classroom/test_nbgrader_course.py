"""The nbgrader course generator (mydocker_lab.classroom.nbgrader_course) on small lessons of
its own: any lesson in the one-source format (``### BEGIN/END SOLUTION`` regions, cells
tagged ``check`` and ``solution``) becomes an nbgrader source notebook; a lesson that breaks
the format is left out with one line that says why. Not marked ``classroom``: these run in
every test run and need neither a hub nor nbgrader (scripts/classroom-tier runs nbgrader
itself on the result: generate, release, submit, autograde).
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mydocker_lab.classroom import nbgrader_course
from mydocker_lab.classroom.nbgrader_course import nbgrader_source, write_course
from mydocker_lab.lab.course import BEGIN, END, CourseError, strip_solution, student_version

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).resolve().parent / "lessons" / "90-test-lesson.ipynb"


def code(text, tags=()):
    cell = {"cell_type": "code", "source": text, "metadata": {}, "execution_count": 3,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "stored\n"}]}
    if tags:
        cell["metadata"]["tags"] = list(tags)
    return cell


def markdown(text, tags=()):
    cell = {"cell_type": "markdown", "source": text, "metadata": {}}
    if tags:
        cell["metadata"]["tags"] = list(tags)
    return cell


def lesson(*cells):
    return {"cells": list(cells), "metadata": {"kernelspec": {"name": "python3"},
                                               "mydocker_lab": {"lesson_source": True}},
            "nbformat": 4, "nbformat_minor": 5}


def answer(placeholder, solution):
    return code("%s\n%s\n%s\n%s" % (placeholder, BEGIN, solution, END))


#: The smallest lesson in the format: text, a demonstration, an answer, its check, an
#: explanation of the answer (tagged solution) and a written answer.
SMALL = lesson(
    markdown("# 91 · A small lesson"),
    code("from mydocker_lab.lab.grading import checker"),
    answer('ANSWER = "..."  # ← replace', 'ANSWER = "hostname"'),
    code("check_answer(ANSWER)", tags=["check"]),
    markdown("**Why.** `hostname` asks the UTS namespace.", tags=["solution"]),
    markdown("Why that name?\n\n%s\nThe container's own UTS namespace.\n%s" % (BEGIN, END)),
)


def nbgrader_meta(nb):
    return [c["metadata"].get("nbgrader") for c in nb["cells"]]


def test_each_kind_of_cell_becomes_what_nbgrader_needs():
    nb = nbgrader_source(SMALL, "91-small")
    metas = nbgrader_meta(nb)
    assert len(nb["cells"]) == len(SMALL["cells"]) - 1, "the solution-tagged cell stays out"
    text, demo, ans, check, written = metas
    assert text["locked"] and not text["grade"] and not text["solution"]
    assert demo["locked"] and not demo["grade"] and not demo["solution"]
    assert ans == {"grade": False, "solution": True, "locked": False, "grade_id": "answer-1",
                   "schema_version": 3}
    assert check["grade"] and check["locked"] and not check["solution"]
    assert check["grade_id"] == "check-1" and check["points"] == nbgrader_course.POINTS
    assert written["solution"] and written["grade"] and written["points"] == 0
    assert len({m["grade_id"] for m in metas}) == len(metas), "grade ids are unique"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
    # the answer keeps its region: nbgrader's generate_assignment removes it
    assert BEGIN in "".join(nb["cells"][2]["source"])
    assert SMALL["cells"][3]["outputs"], "the lesson itself is not changed"


def test_the_students_notebook_is_the_same_through_nbgrader_and_through_the_course():
    """What nbgrader hands out (its ClearSolutions, with the course's empty code stub and
    MARKDOWN_STUB) is what notebooks/ holds for the same source (course.student_version)."""
    for source in (SMALL, json.loads(FIXTURE.read_text())):
        released = []
        for cell in nbgrader_source(source, "lesson")["cells"]:
            text = "".join(cell["source"]) if isinstance(cell["source"], list) \
                else cell["source"]
            if cell["metadata"]["nbgrader"]["solution"]:
                text = strip_solution(text, "" if cell["cell_type"] == "code"
                                      else nbgrader_course.MARKDOWN_STUB)
            released.append((cell["cell_type"], text.strip("\n")))
        made = [(c["cell_type"], ("".join(c["source"]) if isinstance(c["source"], list)
                                  else c["source"]).strip("\n"))
                for c in student_version(source)["cells"]]
        assert released == made


def test_the_fixture_lesson_has_two_graded_checks_and_two_code_answers():
    nb = nbgrader_source(json.loads(FIXTURE.read_text()), FIXTURE.stem)
    metas = [m for m in nbgrader_meta(nb)]
    assert [m["grade_id"] for m in metas if m["grade"] and m["locked"]] == ["check-1",
                                                                            "check-2"]
    assert [m["grade_id"] for m in metas if m["solution"]] == ["answer-1", "answer-2",
                                                               "answer-3"]


@pytest.mark.parametrize("broken, why", [
    (lesson(answer("A = 1", "A = 2"), code("check(A)")), "no cell is tagged 'check'"),
    (lesson(code("A = 1\n%s\nA = 2" % BEGIN), code("check(A)", tags=["check"])),
     "unmatched"),
    (lesson(code("A = 1\n%s\nA = 2" % END), code("check(A)", tags=["check"])),
     "unmatched"),
    (lesson(code("check(A)\n%s\nA = 2\n%s" % (BEGIN, END), tags=["check"])),
     "tagged 'check' but is not a code cell without a solution region"),
    (lesson(markdown("Look: it works.", tags=["check"])),
     "tagged 'check' but is not a code cell"),
])
def test_a_lesson_that_breaks_the_format_is_refused_with_a_reason(broken, why):
    with pytest.raises(CourseError, match=why.replace("'", ".")):
        nbgrader_source(broken, "broken")


def write(folder, name, nb):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ("%s.ipynb" % name)).write_text(json.dumps(nb))


def test_write_course_makes_an_assignment_per_lesson_and_leaves_out_the_others(tmp_path):
    lessons, course = tmp_path / "lessons", tmp_path / "course"
    write(lessons, "91-small", SMALL)
    write(lessons, "92-old-format", lesson(markdown("# not converted yet"), code("1 + 1")))
    made, refused = write_course(str(lessons), str(course))
    assert made == ["91-small"]
    assert list(refused) == ["92-old-format"] and "\n" not in refused["92-old-format"]
    source = json.loads((course / "source/91-small/91-small.ipynb").read_text())
    assert nbgrader_meta(source) == nbgrader_meta(nbgrader_source(SMALL, "91-small"))
    config = (course / "nbgrader_config.py").read_text()
    assert "course_id = 'mydocker-lab'" in config and repr(str(course)) in config
    # a second run updates the assignments and keeps the teacher's configuration
    (course / "nbgrader_config.py").write_text(config + "# the teacher's line\n")
    assert write_course(str(lessons), str(course))[0] == ["91-small"]
    assert (course / "nbgrader_config.py").read_text().endswith("# the teacher's line\n")


def run(*argv):
    return subprocess.run([sys.executable, "-I", "-m", "mydocker_lab.classroom.nbgrader_course",
                           *argv], capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_the_command_line(tmp_path):
    lessons = tmp_path / "lessons"
    write(lessons, "91-small", SMALL)
    write(lessons, "92-old-format", lesson(code("1 + 1")))
    proc = run("--lessons", str(lessons), str(tmp_path / "course"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "assignment 91-small: source/91-small/91-small.ipynb\n"
    assert proc.stderr.startswith("left out 92-old-format: 92-old-format: no cell is tagged")
    assert len(proc.stderr.splitlines()) == 1


@pytest.mark.parametrize("setup, status, line", [
    ("missing", 2, "nbgrader_course: no folder "),
    ("empty", 2, "nbgrader_course: no lesson (*.ipynb) in "),
    ("old", 1, "nbgrader_course: no lesson is in the one-source format"),
])
def test_bad_input_is_one_line_and_a_documented_status(tmp_path, setup, status, line):
    lessons = tmp_path / "lessons"
    if setup != "missing":
        lessons.mkdir()
    if setup == "old":
        write(lessons, "92-old-format", lesson(code("1 + 1")))
    proc = run("--lessons", str(lessons), str(tmp_path / "course"))
    assert proc.returncode == status
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith(line)
    assert not (tmp_path / "course").exists()


def test_every_lesson_of_the_course_is_made_or_left_out_with_a_reason(tmp_path):
    """The real sources as they are today (other work converts them to the format)."""
    sources = sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb"))
    assert sources
    made, refused = write_course(str(ROOT / "notebooks" / "solutions"), str(tmp_path))
    assert sorted(made + list(refused)) == [p.stem for p in sources]
    for name in made:
        assert (tmp_path / "source" / name / ("%s.ipynb" % name)).is_file()
