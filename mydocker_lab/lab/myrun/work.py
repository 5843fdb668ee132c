"""The student's work folder and file, and seeding them for nbval.

``work/myrun.py`` sits in a folder ``work`` beside the notebook that runs (the kernel's
current directory); ``$MYDOCKER_LAB_WORK`` names another folder. The file is made from the
skeleton the first time, and never overwritten after: it is the student's.
"""
import json
import os
import re
from pathlib import Path

from . import source

FILE_NAME = "myrun.py"
ENV = "MYDOCKER_LAB_WORK"


def work_dir():
    return Path(os.environ.get(ENV) or Path.cwd() / "work")


def work_file():
    return work_dir() / FILE_NAME


def shown_name(path=None):
    """The file's name as the notebooks show it: its folder's name and its own
    (``work/myrun.py``), the same on every machine."""
    path = Path(path or work_file())
    return "%s/%s" % (path.parent.name, path.name)


def ensure(path=None):
    """Make the file from the skeleton if it is not there; True if made now."""
    path = Path(path or work_file())
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, source.skeleton())
    return True


def read_text(path=None):
    path = Path(path or work_file())
    ensure(path)
    return path.read_text(encoding="utf-8")


def write_text(path, text):
    """Replace the file at once (a new file renamed over it): never half written."""
    path = Path(path)
    tmp = path.with_name("." + path.name + ".new")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


# -- nbval: a fresh work folder for each notebook, as if the earlier ones were done ----------

_NUMBER = re.compile(r"^(\d\d)-")
_CELL = re.compile(r"^\s*%%piece\s+(\S+)")


def notebook_number(path):
    """``notebooks/solutions/04-the-run-flow.ipynb`` -> ``"04"`` (None for other names)."""
    match = _NUMBER.match(Path(path).name)
    return match.group(1) if match else None


def is_solution(path):
    return Path(path).parent.name == "solutions"


def pieces_in(notebook):
    """[(number, code)] of the ``%%piece`` cells of a notebook file, in order (a solution
    notebook's cells give their answers: see source.cell_code)."""
    with open(notebook, encoding="utf-8") as f:
        nb = json.load(f)
    found = []
    for cell in nb.get("cells", []):
        text = "".join(cell.get("source", "")) if isinstance(cell.get("source"), list) \
            else cell.get("source", "")
        match = _CELL.match(text)
        if cell.get("cell_type") == "code" and match:
            found.append((match.group(1), source.cell_code(text)))
    return found


def seed_pieces(notebook):
    """What ``notebook``'s work file starts with under nbval: for a student's notebook, the
    skeleton (nothing written: a student may come to any notebook first); for a solution
    notebook NN, the pieces of solution notebooks 01 .. NN-1 (a student who did them)."""
    number = notebook_number(notebook)
    if not is_solution(notebook) or number is None:
        return []
    pieces = []
    for earlier in sorted(Path(notebook).parent.glob("[0-9][0-9]-*.ipynb")):
        if notebook_number(earlier) < number:
            pieces += pieces_in(earlier)
    return pieces


def seed(folder, pieces=()):
    """A fresh ``folder/myrun.py``: the skeleton with ``pieces`` ((number, code) pairs)
    written in. Returns its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAME
    write_text(path, source.build(pieces))
    return path


def seed_for_notebook(notebook, base):
    """The work folder for one nbval run of ``notebook``: ``base/<notebook's name>/work``
    (``solutions-<name>`` for a solution notebook), seeded by :func:`seed_pieces`. Point
    ``$MYDOCKER_LAB_WORK`` at it before the notebook's kernel starts. Returns the folder."""
    name = ("solutions-" if is_solution(notebook) else "") + Path(notebook).stem
    folder = Path(base) / name / "work"
    seed(folder, seed_pieces(notebook))
    return folder


def prepare_for_nbval(notebook, base, environ=None):
    """What a pytest hook calls before ``notebook``'s kernel starts: a fresh, seeded work
    folder (:func:`seed_for_notebook`), and ``$MYDOCKER_LAB_WORK`` pointing at it in
    ``environ`` (``os.environ``, which the kernel inherits). Returns the folder.

    In conftest.py (tests/lab/myrun/test_seeding.py runs exactly this under nbval)::

        def pytest_configure(config):
            config.myrun_work = tempfile.mkdtemp(prefix="myrun-nbval-")

        def pytest_unconfigure(config):
            shutil.rmtree(config.myrun_work, ignore_errors=True)

        @pytest.hookimpl(tryfirst=True)   # before nbval's setup starts the notebook's kernel
        def pytest_runtest_setup(item):
            notebook = item.parent
            if notebook.path.suffix == ".ipynb" and not hasattr(notebook, "myrun_work"):
                notebook.myrun_work = prepare_for_nbval(notebook.path, item.config.myrun_work)
    """
    folder = seed_for_notebook(notebook, base)
    (os.environ if environ is None else environ)[ENV] = str(folder)
    return folder
