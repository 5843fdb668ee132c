"""The reference runtime: complete, and it passes every check (root here; rootless in
test_rootless.py)."""
import os
import subprocess
import sys

import pytest

from mydocker_lab.lab import myrun
from mydocker_lab.lab.myrun import source
from mydocker_lab.lab.myrun.pieces import NUMBERS

REFERENCE = source.REFERENCE_PATH


@pytest.fixture(scope="module")
def complete(tmp_path_factory, all_reference_pieces):
    """A work file in which every piece is written (with the reference's code)."""
    from mydocker_lab.lab.myrun import work
    return str(work.seed(tmp_path_factory.mktemp("complete") / "work", all_reference_pieces))


@pytest.mark.parametrize("number", NUMBERS)
def test_every_check_passes(complete, target, number):
    verdict = myrun.check(number, target, complete)
    assert verdict.state == "pass", verdict.text()
    assert verdict.text().startswith("✔ piece %s · " % number)
    assert "still the reference's" not in verdict.text()


def test_the_final_check_passes(complete, target):
    verdict = myrun.final_check(target, complete)
    assert verdict.ok, verdict.text()
    assert "all yours, passes every check, and does what" in verdict.message


def test_the_progress_table_shows_seven_passing_pieces(complete, target):
    table = myrun.progress(target, complete)
    text = table.text()
    assert text.splitlines()[0] == "work/myrun.py: 7 of 7 pieces yours and passing"
    rows = [line for line in text.splitlines() if line[:2].isdigit()]
    assert len(rows) == 7 and all(" ✔ " in row and "yours, passes" in row for row in rows)
    html = table._repr_html_()
    assert html.count("<tr>") == 8 and "mathjax_ignore" in html


def test_passing_verdicts_are_the_same_every_run(complete, target):
    """nbval compares stored outputs: nothing in a passing verdict may change between runs."""
    for number in ("01", "02", "04", "06"):
        first, second = (myrun.check(number, target, complete) for _ in range(2))
        assert first.text() == second.text() and first.html() == second.html()


def run_reference(*args, **kwargs):
    return subprocess.run([sys.executable, REFERENCE] + list(args), capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL, **kwargs)


def test_the_reference_runs_as_a_script():
    proc = run_reference("run", "/bin/sh", "-c", 'echo "pid $$"; exit 3')
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "pid 1\n", "")


def test_the_reference_keeps_argv_and_finds_commands_in_path():
    proc = run_reference("run", "printf", "[%s]", "two words", "", "ü")
    assert (proc.returncode, proc.stdout) == (0, "[two words][][ü]")


@pytest.mark.parametrize("args, status, line", [
    (["run", "myrun-no-such-command"], 127, "myrun: myrun-no-such-command: command not found"),
    (["run", "/"], 126, "myrun: /: Permission denied"),
    (["run"], 125, "myrun: no command given"),
    (["run", "-x", "ls"], 125, "myrun: unknown flag -x"),
    (["run", "-m", "lots", "ls"], 125, "myrun: invalid size 'lots': want a size such as 100m"),
    (["start", "ls"], 125, "myrun: unknown command"),
    ([], 125, "myrun: no command given"),
])
def test_the_reference_says_one_clear_line(args, status, line):
    proc = run_reference(*args)
    assert proc.returncode == status
    assert proc.stderr.splitlines()[0] == line and "Traceback" not in proc.stderr


def test_a_memory_limit_for_the_reference(host_unchanged):
    if not myrun_memory_usable():
        pytest.fail("this machine (root) should have a memory cgroup controller")
    hog = [sys.executable, "-I", "-S", "-c", "b = b'x' * (128 << 20)"]
    assert run_reference("run", "-m", "32m", *hog).returncode == 137
    assert run_reference("run", "-m", "64m", sys.executable, "-I", "-S", "-c",
                         "pass").returncode == 0


def myrun_memory_usable():
    from mydocker_lab.lab.myrun.observe import Skipped, memory_hierarchy_usable
    try:
        memory_hierarchy_usable()
        return True
    except Skipped:
        return False


def test_the_reference_imports_only_the_standard_library_and_linux():
    """What the skeleton asks of the student's file, the reference does too."""
    code = ("import sys; sys.argv = ['x']; import runpy; runpy.run_path(%r, run_name='ref'); "
            "print(sorted(m for m in sys.modules if m.startswith('mydocker_lab')))" % REFERENCE)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "['mydocker_lab', 'mydocker_lab.linux']"


def test_the_notebook_side_imports_without_fcntl_or_termios():
    """The notebooks may drive the VM from macOS or Windows: no Linux-only module at import."""
    code = ("import sys; sys.modules['fcntl'] = sys.modules['termios'] = None; "
            "sys.modules['pty'] = sys.modules['tty'] = None; "
            "from mydocker_lab.lab import myrun; print(myrun.setup.__name__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, MYDOCKER_LAB_WORK="/nonexistent"))
    assert proc.returncode == 0, proc.stderr
