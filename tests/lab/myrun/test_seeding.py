"""nbval: each notebook runs with a fresh work folder, seeded as if the earlier notebooks of
its kind were done, so stored outputs do not depend on the order notebooks run in."""
import nbformat
import pytest

from mydocker_lab.lab import myrun
from mydocker_lab.lab.course import student_version
from mydocker_lab.lab.myrun import source, work
from mydocker_lab.lab.myrun.pieces import PIECES


def lesson(number, pieces):
    """A solution notebook (course.py's format) whose %%piece cells answer ``pieces``."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("# %s" % number))
    nb.cells.append(nbformat.v4.new_code_cell("from mydocker_lab.lab import myrun\nmyrun.setup()"))
    for p in pieces:
        nb.cells.append(nbformat.v4.new_code_cell(
            "%%%%piece %s\n%s### BEGIN SOLUTION\n%s### END SOLUTION" % (
                p, PIECES[p].stub, source.reference_source(p))))
        nb.cells.append(nbformat.v4.new_code_cell('myrun.check("%s")' % p))
    return nb


@pytest.fixture
def course(tmp_path):
    """notebooks/NN-x.ipynb (the students') and notebooks/solutions/NN-x.ipynb."""
    solutions = tmp_path / "notebooks" / "solutions"
    solutions.mkdir(parents=True)
    plan = {"01": ["01"], "02": ["02"], "03": [], "04": ["04", "07"]}
    for number, pieces in plan.items():
        nb = lesson(number, pieces)
        nbformat.write(nb, str(solutions / ("%s-lesson.ipynb" % number)))
        nbformat.write(nbformat.from_dict(student_version(nb)),
                       str(tmp_path / "notebooks" / ("%s-lesson.ipynb" % number)))
    return tmp_path / "notebooks"


def test_pieces_in_a_solution_notebook_are_its_answers(course):
    found = work.pieces_in(course / "solutions" / "04-lesson.ipynb")
    assert found == [("04", source.reference_source("04")), ("07", source.reference_source("07"))]
    stubs = work.pieces_in(course / "04-lesson.ipynb")  # the student's: the stubs only
    assert [n for n, _ in stubs] == ["04", "07"]
    assert all(source.definitions(code)[PIECES[n].names[0]] == "stub" for n, code in stubs)


@pytest.mark.parametrize("name, seeded", [
    ("01-lesson", []), ("02-lesson", ["01"]), ("03-lesson", ["01", "02"]),
    ("04-lesson", ["01", "02"])])
def test_a_solution_notebook_starts_with_the_earlier_solutions(course, tmp_path, name, seeded):
    notebook = course / "solutions" / (name + ".ipynb")
    assert [n for n, _ in work.seed_pieces(notebook)] == seeded
    folder = work.seed_for_notebook(notebook, tmp_path / "nbval")
    assert folder == tmp_path / "nbval" / ("solutions-" + name) / "work"
    text = (folder / "myrun.py").read_text()
    assert [n for n in PIECES if source.state(text, n)[0]] == seeded
    assert text == source.build([(n, source.reference_source(n)) for n in seeded])


@pytest.mark.parametrize("name", ["01-lesson", "04-lesson"])
def test_a_students_notebook_starts_with_the_skeleton(course, tmp_path, name):
    notebook = course / (name + ".ipynb")
    assert work.seed_pieces(notebook) == []
    folder = work.seed_for_notebook(notebook, tmp_path / "nbval")
    assert folder == tmp_path / "nbval" / name / "work"
    assert (folder / "myrun.py").read_text() == source.skeleton()


def test_seeding_again_starts_afresh(course, tmp_path):
    notebook = course / "solutions" / "03-lesson.ipynb"
    folder = work.seed_for_notebook(notebook, tmp_path / "nbval")
    (folder / "myrun.py").write_text("spoilt by an earlier run")
    work.seed_for_notebook(notebook, tmp_path / "nbval")
    assert source.state((folder / "myrun.py").read_text(), "02")[0] == ["init_mounts"]


def test_a_seeded_folder_is_what_the_notebook_sees(course, tmp_path, monkeypatch):
    folder = work.seed_for_notebook(course / "solutions" / "03-lesson.ipynb", tmp_path / "nbval")
    monkeypatch.setenv("MYDOCKER_LAB_WORK", str(folder))
    assert str(myrun.setup()) == ("work/myrun.py: kept as it is. Yours: 01, 02; the "
                                  "reference's: 03, 04, 05, 06, 07.")


def documented_hook():
    """The conftest.py code that work.prepare_for_nbval's docstring gives (so the docstring is
    what this test proves)."""
    import textwrap
    doc = work.prepare_for_nbval.__doc__
    block = doc[doc.index("::\n") + 3:]
    return ("import shutil\nimport tempfile\nimport pytest\n"
            "from mydocker_lab.lab.myrun.work import prepare_for_nbval\n\n\n"
            + textwrap.dedent(block))


def executed(nb, yours):
    """``nb`` ending in a cell whose stored output (what nbval compares) says which pieces
    are ``yours`` in the work file at that point."""
    others = ", ".join(n for n in PIECES if n not in yours)
    nb.cells.append(nbformat.v4.new_code_cell("print(myrun.setup())", execution_count=1))
    nb.cells[-1].outputs = [nbformat.v4.new_output(
        "stream", name="stdout", text="work/myrun.py: kept as it is. Yours: %s; the "
        "reference's: %s.\n" % (", ".join(yours) or "none yet", others))]
    return nb


def test_nbval_runs_each_notebook_in_its_seeded_folder(tmp_path):
    """A real nbval run, in either order: each notebook sees its own seeded work file (a
    solution notebook: the earlier solutions, then its own %%piece cells; a student's: the
    skeleton, which its stub cells leave as it is)."""
    import subprocess
    import sys
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    (tmp_path / "conftest.py").write_text(documented_hook())
    books = tmp_path / "notebooks"
    (books / "solutions").mkdir(parents=True)
    for number, yours in (("01", ["01"]), ("02", ["01", "02"])):
        nbformat.write(executed(lesson(number, [number]), yours),
                       str(books / "solutions" / ("%s-l.ipynb" % number)))
        student = nbformat.from_dict(student_version(lesson(number, [number])))
        nbformat.write(executed(student, []), str(books / ("%s-l.ipynb" % number)))
    for order in (["notebooks/solutions/02-l.ipynb", "notebooks"],
                  ["notebooks/02-l.ipynb", "notebooks/solutions"]):
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "--nbval",
                               "--nbval-current-env"] + order,
                              cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:]
    assert not (books / "work").exists() and not (books / "solutions" / "work").exists()
