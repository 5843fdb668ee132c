"""The skeleton: the student's starting file. It runs (every piece is the reference's), and
each check says, with that step's hint, that the piece is still to be written."""
import subprocess
import sys

import pytest

from mydocker_lab.lab import myrun
from mydocker_lab.lab.myrun import source
from mydocker_lab.lab.myrun.pieces import NUMBERS, PIECES


@pytest.fixture
def skeleton(seeded):
    return seeded()


def test_the_skeleton_runs_as_it_is(skeleton):
    """Every piece is imported from the reference: the file is a working runtime."""
    proc = subprocess.run([sys.executable, skeleton, "run", "/bin/sh", "-c", "echo $$; exit 3"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert (proc.returncode, proc.stdout) == (3, "1\n"), proc.stderr


def test_its_first_screen_says_what_to_write_where():
    text = source.skeleton()
    first = text.split("\n")[:30]
    assert first[1].startswith('"""myrun.py — your own container runtime')
    for number, p in PIECES.items():
        assert any(line.strip().startswith(number + "  ") for line in first), number
    assert "%%piece" in "\n".join(first) and "take_reference" in "\n".join(first)


@pytest.mark.parametrize("number", NUMBERS)
def test_each_piece_is_a_todo_with_its_shape_and_one_import(number):
    body = source.body(source.skeleton(), number)
    lines = body.split("\n")
    assert lines[0].startswith("# TODO (notebook %s): " % number)
    assert lines[-1] == source.import_line(number)
    assert all(line.startswith("#") for line in lines[:-1])  # the stub is commented out
    for name in PIECES[number].names:  # its shape: every name, as in the notebook's stub
        assert ("# def %s(" % name in body) or ("# %s = ..." % name in body)


@pytest.mark.parametrize("number", NUMBERS)
def test_each_check_says_the_piece_is_still_the_references(skeleton, target, number):
    verdict = myrun.check(number, target, skeleton)
    assert verdict.state == "todo" and not verdict.ok
    assert verdict.message == "still the reference's in work/myrun.py: write yours"
    assert verdict.hint == PIECES[number].task
    assert verdict.text().startswith("○ piece %s" % number)
    assert "hint: " + PIECES[number].task in verdict.text()


def test_progress_and_the_final_check_on_the_skeleton(skeleton, target):
    text = myrun.progress(target, skeleton).text()
    assert text.splitlines()[0] == "work/myrun.py: 0 of 7 pieces yours and passing"
    assert text.count("○") == 7 and "✔" not in text and "✘" not in text
    verdict = myrun.final_check(target, skeleton)
    assert not verdict.ok
    assert verdict.message == ("work/myrun.py: pieces 01, 02, 03, 04, 05, 06, 07 still "
                               "(partly) the reference's")


def test_setup_makes_the_file_once_and_keeps_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MYDOCKER_LAB_WORK", str(tmp_path / "work"))
    first = myrun.setup()
    assert str(first).startswith("work/myrun.py: made from the skeleton.")
    path = tmp_path / "work" / "myrun.py"
    assert path.read_text() == source.skeleton()
    path.write_text(path.read_text() + "# mine\n")
    assert str(myrun.setup()) == ("work/myrun.py: kept as it is. Yours: none yet; the "
                                  "reference's: 01, 02, 03, 04, 05, 06, 07.")
    assert path.read_text().endswith("# mine\n")


def test_the_default_work_folder_is_beside_the_notebook(tmp_path, monkeypatch):
    monkeypatch.delenv("MYDOCKER_LAB_WORK", raising=False)
    monkeypatch.chdir(tmp_path)
    assert myrun.work_file() == tmp_path / "work" / "myrun.py"
