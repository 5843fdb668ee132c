"""An nbgrader course made from the lessons' sources (``notebooks/solutions/NN-name.ipynb``).

One source per lesson (see :mod:`mydocker_lab.lab.course`) already marks what nbgrader needs:

- an **answer cell** (a code cell holding ``### BEGIN SOLUTION`` / ``### END SOLUTION``)
  becomes an nbgrader *solution* cell: ``generate_assignment`` replaces the region by nothing,
  so the student gets the placeholder that stands before it;
- a **check cell** (tagged ``check``) becomes a graded, locked *test* cell worth
  :data:`POINTS` points: ``autograde`` runs it with ``NBGRADER_EXECUTION=autograde``, where a
  checker decorated with :func:`mydocker_lab.lab.grading.checker` raises on a ✘, so the ✘
  costs the points and its text is the feedback;
- a **markdown cell with a solution region** (a written answer) becomes a *manually graded
  answer* worth :data:`MARKDOWN_POINTS` points (0 by default: for the student's thinking;
  give it points and grade it in the formgrader);
- a cell tagged ``solution`` (an explanation of the answer) is left out: nbgrader would
  hand it to the students;
- every other cell (the lesson's text and its demonstrations) is *read-only*: nbgrader locks
  it, and ``autograde`` runs the teacher's version of it whatever a student did to it.

``python -m mydocker_lab.classroom.nbgrader_course --lessons notebooks/solutions COURSE_DIR``
writes ``COURSE_DIR/source/<lesson>/<lesson>.ipynb`` for every lesson (one assignment per
lesson, named after its file) and ``COURSE_DIR/nbgrader_config.py`` if there is none.
"""
import argparse
import copy
import glob
import json
import os
import sys

from mydocker_lab.lab.course import BEGIN, END, SOLUTION_TAG, MARKDOWN_STUB, CourseError, \
    strip_solution

CHECK_TAG = "check"
POINTS = 1
MARKDOWN_POINTS = 0
SCHEMA_VERSION = 3
COURSE_ID = "mydocker-lab"

#: The course's nbgrader_config.py (written once; the teacher may change it).
COURSE_CONFIG = '''\
# nbgrader's configuration for the mydocker-lab course (made by
# python -m mydocker_lab.classroom.nbgrader_course). Run nbgrader commands in this folder.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = {root!r}
# The lessons' format: the student's starting point stands before the solution region, so
# the region is replaced by nothing (nbgrader's default stub would raise NotImplementedError).
c.ClearSolutions.code_stub = {{"python": ""}}
c.ClearSolutions.text_stub = {text_stub!r}
# A check runs the student's answer on the target (processes, namespaces): on a busy server
# that takes a while. A cell that still has not finished fails, and says so in the feedback.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True
# Students' names come from their submissions (JupyterHub accounts).
c.Autograde.create_student = True
'''


def _source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def _meta(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id,
            "schema_version": SCHEMA_VERSION}
    if points is not None:
        meta["points"] = points
    return meta


def nbgrader_source(lesson, name="lesson", points=POINTS, markdown_points=MARKDOWN_POINTS):
    """nbgrader's source notebook (a dict) for one lesson's source (a dict).

    Raises :class:`CourseError` when the lesson breaks the format: an unmatched marker, a
    check cell with a solution region in it, or no check cell at all."""
    nb = copy.deepcopy(lesson)
    cells, answers, checks = [], 0, 0
    for index, cell in enumerate(nb["cells"]):
        tags = _tags(cell)
        if SOLUTION_TAG in tags:
            continue
        text = _source(cell)
        region = BEGIN in text or END in text
        if region:
            strip_solution(text)  # raises CourseError on a broken region
        meta = cell.setdefault("metadata", {})
        meta.pop("nbgrader", None)
        if CHECK_TAG in tags:
            if cell["cell_type"] != "code" or region:
                raise CourseError("%s: cell %d is tagged %r but is not a code cell without a "
                                  "solution region" % (name, index, CHECK_TAG))
            checks += 1
            meta["nbgrader"] = _meta("check-%d" % checks, grade=True, locked=True,
                                     points=points)
        elif region and cell["cell_type"] == "code":
            answers += 1
            meta["nbgrader"] = _meta("answer-%d" % answers, solution=True)
        elif region:
            answers += 1
            meta["nbgrader"] = _meta("answer-%d" % answers, solution=True, grade=True,
                                     points=markdown_points)
        else:
            meta["nbgrader"] = _meta("lesson-%d" % index, locked=True)
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cells.append(cell)
    if not checks:
        raise CourseError("%s: no cell is tagged %r: nothing to grade (is the lesson in the "
                          "one-source format yet?)" % (name, CHECK_TAG))
    nb["cells"] = cells
    return nb


def lesson_sources(lessons_dir):
    """Every lesson source in ``lessons_dir`` (``NN-name.ipynb``), sorted."""
    return sorted(p for p in glob.glob(os.path.join(lessons_dir, "*.ipynb"))
                  if not os.path.basename(p).startswith("."))


def write_course(lessons_dir, course_dir, course_id=COURSE_ID, points=POINTS,
                 markdown_points=MARKDOWN_POINTS, only=None):
    """Write the course's source/ (and nbgrader_config.py, once). Returns
    ``(made, refused)``: the assignment names made, and ``{name: reason}`` of lessons that
    are not in the format yet (left out)."""
    made, refused = [], {}
    course_dir = os.path.abspath(course_dir)
    for path in lesson_sources(lessons_dir):
        name = os.path.splitext(os.path.basename(path))[0]
        if only and name not in only:
            continue
        with open(path, encoding="utf-8") as f:
            lesson = json.load(f)
        try:
            nb = nbgrader_source(lesson, name, points, markdown_points)
        except CourseError as err:
            refused[name] = str(err).splitlines()[0]
            continue
        out = os.path.join(course_dir, "source", name)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, name + ".ipynb"), "w", encoding="utf-8") as f:
            json.dump(nb, f, indent=1, ensure_ascii=False)
            f.write("\n")
        made.append(name)
    config = os.path.join(course_dir, "nbgrader_config.py")
    if made and not os.path.exists(config):
        with open(config, "w") as f:
            f.write(COURSE_CONFIG.format(course_id=course_id, root=course_dir,
                                         text_stub=MARKDOWN_STUB))
    return made, refused


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m mydocker_lab.classroom.nbgrader_course",
        description="Make (or update) an nbgrader course from the lessons' sources: one "
                    "assignment per lesson, answer cells as solution cells, check cells as "
                    "graded tests.")
    parser.add_argument("course_dir", help="the course folder (made if missing)")
    parser.add_argument("--lessons", required=True,
                        help="the folder of lesson sources (the repository's "
                             "notebooks/solutions, or the classroom's lessons/)")
    parser.add_argument("--course-id", default=COURSE_ID)
    parser.add_argument("--points", type=float, default=POINTS, help="points per check cell")
    parser.add_argument("--markdown-points", type=float, default=MARKDOWN_POINTS,
                        help="points per written answer, graded by hand (default 0)")
    parser.add_argument("--only", nargs="+", metavar="LESSON", help="only these lessons")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.lessons):
        print("nbgrader_course: no folder %s" % args.lessons, file=sys.stderr)
        return 2
    if not lesson_sources(args.lessons):
        print("nbgrader_course: no lesson (*.ipynb) in %s" % args.lessons, file=sys.stderr)
        return 2
    try:
        made, refused = write_course(args.lessons, args.course_dir, args.course_id,
                                     args.points, args.markdown_points, args.only)
    except OSError as err:
        print("nbgrader_course: %s: %s" % (err.filename or args.course_dir, err.strerror),
              file=sys.stderr)
        return 1
    for name in made:
        print("assignment %s: source/%s/%s.ipynb" % (name, name, name))
    for name, why in refused.items():
        print("left out %s: %s" % (name, why), file=sys.stderr)
    if not made:
        print("nbgrader_course: no lesson is in the one-source format (a cell tagged %r)"
              % CHECK_TAG, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
