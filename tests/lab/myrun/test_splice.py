"""Writing a piece from a cell, taking the reference's back: the file stays valid Python
at every step, and the student's code never runs in the notebook's kernel."""
import pytest
from IPython.core.interactiveshell import InteractiveShell

from mydocker_lab.lab import myrun
from mydocker_lab.lab.myrun import source, work
from mydocker_lab.lab.myrun.pieces import NUMBERS, PIECES

MOUNTS = '''def init_mounts():
    """Mine."""
    linux.mount("", "/", None, linux.MS_PRIVATE | linux.MS_REC)
    linux.mount("proc", "/proc", "proc", linux.MS_NOEXEC | linux.MS_NOSUID | linux.MS_NODEV)
'''


@pytest.fixture
def path(tmp_path, monkeypatch):
    monkeypatch.setenv("MYDOCKER_LAB_WORK", str(tmp_path / "work"))
    myrun.setup()
    return tmp_path / "work" / "myrun.py"


def compiles(path):
    compile(path.read_text(), str(path), "exec")
    return True


@pytest.mark.parametrize("number", NUMBERS)
def test_a_stub_cell_keeps_the_reference(path, number):
    before = path.read_text()
    verdict = myrun.write_piece(number, "%%piece " + number + "\n" + PIECES[number].stub)
    assert verdict.state == "todo" and verdict.message.startswith("still the TODO stub")
    assert path.read_text() == before == source.skeleton()


@pytest.mark.parametrize("number", NUMBERS)
def test_a_written_piece_replaces_the_import(path, number):
    verdict = myrun.write_piece(number, source.reference_source(number))
    assert verdict.state == "written" and verdict.text().startswith("✎ piece %s" % number)
    text = path.read_text()
    assert source.import_line(number) not in text and compiles(path)
    assert source.state(text, number) == (list(PIECES[number].names), [])
    assert myrun.piece_code(number) == source.reference_source(number)
    # ... and the other pieces are untouched
    for other in NUMBERS:
        if other != number:
            assert source.body(text, other) == source.stub_body(other)


def test_taking_the_reference_back(path):
    myrun.write_piece("02", MOUNTS)
    assert source.state(path.read_text(), "02")[0] == ["init_mounts"]
    verdict = myrun.take_reference("02")
    assert verdict.state == "todo" and verdict.message == "the reference's again in work/myrun.py"
    assert path.read_text() == source.skeleton()


def test_one_line_takes_the_reference_back_too(path):
    """What the skeleton tells a student: the import line, put back under their code."""
    myrun.write_piece("02", MOUNTS)
    text = path.read_text().replace(MOUNTS.rstrip("\n"),
                                    MOUNTS.rstrip("\n") + "\n" + source.import_line("02"))
    path.write_text(text)
    assert source.state(path.read_text(), "02") == ([], ["init_mounts"])
    assert myrun.check("02").state == "todo"


def test_a_partly_written_piece_imports_only_what_is_missing(path):
    code = ("CLONE_FLAGS = linux.CLONE_NEWUTS | linux.CLONE_NEWPID | linux.CLONE_NEWNS | "
            "linux.CLONE_NEWNET | linux.CLONE_NEWIPC\n\n\n" + PIECES["01"].stub.split("\n\n\n")[1])
    verdict = myrun.write_piece("01", code)
    assert verdict.message.startswith("yours now in work/myrun.py (new_parent_process: still "
                                      "the reference's)")
    body = source.body(path.read_text(), "01")
    assert body.endswith("\n" + source.import_line("01", ["new_parent_process"]))
    assert compiles(path)


def test_code_that_does_not_compile_changes_nothing(path):
    myrun.write_piece("02", MOUNTS)
    before = path.read_text()
    verdict = myrun.write_piece("02", "def init_mounts(:\n    pass\n")
    assert verdict.state == "fail" and verdict.step == "nothing written"
    assert verdict.message == "the code of piece 02 does not compile: invalid syntax (line 1)"
    assert verdict.details == "def init_mounts(:"
    assert path.read_text() == before


def test_code_that_would_break_the_file_changes_nothing(path):
    """Valid alone, but it would swallow what follows it in the file? Refused."""
    before = path.read_text()
    verdict = myrun.write_piece("02", 'def init_mounts():\n    """\n')
    assert verdict.state == "fail" and path.read_text() == before


def test_another_pieces_name_is_refused(path):
    verdict = myrun.write_piece("02", MOUNTS + "\n\ndef exec_command(argv):\n    pass\n")
    assert verdict.state == "fail"
    assert verdict.message == ("exec_command belongs to piece 03, not 02: write it in a "
                               "%%piece 03 cell")
    assert path.read_text() == source.skeleton()


def test_helpers_beside_a_piece_are_kept(path):
    code = "def _flags():\n    return linux.MS_NOSUID\n\n\n" + MOUNTS
    myrun.write_piece("02", code)
    assert source.body(path.read_text(), "02") == code.rstrip("\n")


def test_pass_is_code_and_ellipsis_a_stub():
    assert source.definitions("def f():\n    pass\n") == {"f": "yours"}
    assert source.definitions("def f():\n    '''doc'''\n    ...  # TODO\n") == {"f": "stub"}
    assert source.definitions("def f():\n    raise NotImplementedError\n") == {"f": "stub"}
    assert source.definitions("X = ...\n") == {"X": "stub"}
    assert source.definitions("def f():\n    ...\n\ndef f():\n    return 1\n") == {"f": "yours"}
    assert source.definitions("from %s import f\n" % source.REFERENCE_MODULE) == \
        {"f": "reference"}


def test_a_solution_cell_writes_its_answer():
    """A solution notebook's cell (course.py): the stub first, the answer between markers."""
    cell = ("%%piece 02\n" + PIECES["02"].stub + "### BEGIN SOLUTION\n" + MOUNTS
            + "### END SOLUTION\n")
    assert source.cell_code(cell) == MOUNTS
    from mydocker_lab.lab.course import strip_solution
    assert source.definitions(source.cell_code(strip_solution(cell))) == {"init_mounts": "stub"}


def test_broken_markers_are_one_clear_sentence(path):
    path.write_text(path.read_text().replace("# ── end of piece 03 ", "# end of piece 03 "))
    verdict = myrun.write_piece("02", MOUNTS)
    assert verdict.state == "fail"
    assert verdict.message == ("work/myrun.py: the line that starts piece 05 is inside piece "
                               "03 (its end line is missing)")  # 05 follows 03 in the file
    assert myrun.check("02").state == "error"


def test_isolate_keeps_every_line_number(path):
    for number in ("02", "05"):
        myrun.write_piece(number, source.reference_source(number))
    text = path.read_text()
    for keep in NUMBERS:
        isolated = source.isolate(text, keep)
        assert isolated.count("\n") == text.count("\n")
        assert source.body(isolated, keep) == source.body(text, keep)
        yours = [n for n in NUMBERS if source.state(isolated, n)[0]]
        assert yours == ([keep] if keep in ("02", "05") else [])
        compile(isolated, "isolated", "exec")
    override = source.override(text, "05", ["relay"])
    assert override.count("\n") == text.count("\n")
    compile(override, "override", "exec")


def test_the_magic_writes_and_never_runs_the_code(path):
    shell = InteractiveShell.instance()
    shell.run_cell("from mydocker_lab.lab import myrun\nmyrun.setup()")
    result = shell.run_cell("%%piece 02\n" + MOUNTS + "raise SystemExit('ran in the kernel')\n")
    assert result.success, result.error_in_exec
    assert result.result.state == "written"
    assert "raise SystemExit" in source.body(path.read_text(), "02")
    wrong = shell.run_cell("%%piece\nX = 1\n").result
    assert not wrong.ok and wrong.message == "nothing written: say which piece, e.g. %%piece 02"
    assert shell.run_cell("%%piece 9\nX = 1\n").result.message == \
        "nothing written: there is no piece '9': the pieces are 01, 02, 03, 04, 05, 06, 07"


def test_the_file_is_valid_python_at_every_step(path):
    steps = [("01", source.reference_source("01")), ("02", MOUNTS), ("02", PIECES["02"].stub),
             ("05", PIECES["05"].stub.replace("    ...  # TODO\n\n\ndef relay",
                                              "    os.setsid()\n\n\ndef relay", 1)),
             ("07", source.reference_source("07"))]
    for number, code in steps:
        myrun.write_piece(number, code)
        assert compiles(path)
        myrun.take_reference(number)
        assert compiles(path)
        myrun.write_piece(number, code)
    assert [n for n in NUMBERS if source.state(path.read_text(), n)[0]] == ["01", "05", "07"]
    assert work.read_text(path) == path.read_text()
