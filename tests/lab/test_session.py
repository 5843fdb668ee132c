"""The lab's pexpect session (session.py) on real ptys and a real ``mydocker-lab run -ti``.

The same class drives the notebooks (05), the VM tests (tests/vm) and, through the ssh
target, a remote Linux (test_remote.py).
"""
import os
import subprocess
import sys

import pytest

from mydocker_lab.lab.labels import ps_fixed_width
from mydocker_lab.lab.session import PROMPT, Session, SessionError


def test_ps_hostname_and_the_exit_status(target):
    with Session(target, hostname="lab") as sh:
        ps = sh.run("ps -ef").splitlines()
        assert ps[0].split()[:3] == ["UID", "PID", "PPID"]
        assert ps[1].split()[1:3] == ["1", "0"] and ps[1].endswith("/bin/sh")
        assert sh.run("echo $$") == "1\n"
        assert sh.run("hostname") == "lab\n"
        assert sh.run("hostname other") == ""
        assert sh.run("hostname") == "other\n"
        code = sh.exit(3)
        assert code == 3, sh.log.getvalue()[-1500:]  # the terminal's bytes, on failure
    assert sh.exitstatus == 3 and sh.child is None
    text = sh.transcript.text()
    assert "ctr# hostname other\nctr# hostname\nother" in text
    assert "mydocker-lab exited with status 3" in text
    assert "<pre" in sh.transcript.html()


def test_the_transcript_shows_ps_pid_columns_5_wide(shell):
    """ps pads PIDs by machine; the transcript shows them 5 wide, its entries as they came."""
    raw = shell.run("ps -ef")
    shell.run("ps -o pid,ppid,args")
    shown = shell.transcript.text().split("\n")
    assert "UID        PID  PPID  C STIME TTY          TIME CMD" in shown
    assert "  PID  PPID COMMAND" in shown
    rows = [line for line in shown if line.startswith("root ")]
    assert rows[0].startswith("root         1     0 ") and rows[0].endswith(" /bin/sh")
    assert [line.split() for line in raw.splitlines()] == \
        [line.split() for line in ps_fixed_width(raw).splitlines()]  # only blanks move
    assert shell.transcript.entries[1] == ("out", raw)  # the entries keep what ps printed


def test_a_timeout_aborts_and_shows_what_the_terminal_said(target):
    # the shell starts with the usual timeout (a process start is slow in an emulated VM);
    # only the wait for what never comes is short
    sh = Session(target).start()
    sh.send("echo before-the-wait")
    with pytest.raises(SessionError) as err:
        sh.expect("never-printed", timeout=1)
    assert "before-the-wait" in str(err.value) and sh.child is None
    assert sh.exitstatus is not None  # terminated, reaped
    assert not sh.alive


def test_step_expects_exactly(shell):
    assert shell.step("echo a-b-c", "b-c") == "a-b-c"
    with pytest.raises(SessionError):
        shell.step("echo x", "y", timeout=1)
    assert shell.child is None  # the session is over


def test_ctrl_c_interrupts_the_job_not_the_shell(shell):
    # the job says it runs (it is the terminal's foreground job): only then Ctrl-C
    shell.send("sh -c 'echo job-running; exec sleep 30'; echo finished")
    shell.expect("job-running")
    shell.control("c")
    assert "finished" not in shell.expect_prompt()
    assert shell.run("echo still here") == "still here\n"
    assert shell.run("echo $$") == "1\n"  # the same shell


def test_the_window_size_reaches_the_container(shell):
    assert shell.run("stty size") == "24 200\n"
    shell.resize(40, 120)
    shell.send("stty size")  # mydocker-lab forwards SIGWINCH: wait for it, not for a time
    for _attempt in range(100):
        if shell.expect_prompt() == "40 120\n":
            break
        shell.send("stty size")
    else:
        pytest.fail("the window size never reached the container")


def test_what_a_session_needs_is_checked(target):
    sh = Session(target)
    with pytest.raises(SessionError, match="not running"):
        sh.run("true")
    assert sh.close() is None  # never started: nothing to close
    argv = sh.argv()
    assert argv[:len(target.mydocker())] == target.mydocker()
    assert argv[argv.index("run"):] == ["run", "--hostname", "lab", "-e", "PS1=" + PROMPT,
                                        "-ti", "/bin/sh"]
    installed = Session(target, runtime=["mydocker-lab"], options=["-m", "100m"])
    assert installed.argv()[:4] == ["mydocker-lab", "--log-level", "error", "run"]
    assert installed.argv()[-4:] == ["-m", "100m", "-ti", "/bin/sh"]


#: A test that fails in the middle of a session: run by pytest, in a directory of its own.
FAILING = """
def test_fails(shell):
    shell.run("echo the-shell-said-this")
    assert shell.run("hostname") == "not-this"
"""
#: Its conftest: the fixtures of tests/conftest.py, loaded from there.
CONFTEST = """
import importlib.util, sys
sys.path.insert(0, %(tests)r)
spec = importlib.util.spec_from_file_location("tests_conftest", %(conftest)r)
lab = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lab)
target, shell = lab.target, lab.shell
"""


def test_a_failing_session_test_prints_its_transcript(tmp_path):
    """The `shell` fixture prints the terminal at the end: pytest shows it for a failure."""
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    (tmp_path / "conftest.py").write_text(CONFTEST % {
        "tests": tests, "conftest": os.path.join(tests, "conftest.py")})
    (tmp_path / "test_failing.py").write_text(FAILING)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                           "test_failing.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # 1: tests failed
    assert "1 failed" in proc.stdout
    shown = proc.stdout.split("---- the container's terminal ----", 1)
    assert len(shown) == 2 and "the-shell-said-this" in shown[1], proc.stdout
