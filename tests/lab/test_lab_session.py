"""Notebook 05's pexpect session helper, on real ptys and a real mydocker-lab run -ti."""
import pytest
from ipywidgets import interactive

from mydocker_lab.lab import session as lab
from mydocker_lab.lab.labels import ps_fixed_width
from mydocker_lab.lab.namespaces import HOST_NAME
from mydocker_lab.lab.targets import get_target


@pytest.fixture(scope="module")
def target():
    return get_target()


def test_session_ps_hostname_exit_status(target):
    with lab.Session(target, hostname="lab") as sh:
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


def test_the_host_keeps_its_name(target):
    host = target.run(["hostname"], check=True).stdout.strip()
    shown = lab.tour(target)
    assert target.run(["hostname"], check=True).stdout.strip() == host
    text = shown.text()
    assert text.count("✔") == 2 and "✘" not in text
    # the host's name belongs to the machine: compared, shown as the label, twice (unchanged)
    left = shown.parts[0].left
    assert left.startswith("host$ hostname\n%s\n" % HOST_NAME) and left.count(HOST_NAME) == 2
    assert host not in left.split("\n")


def test_transcript_shows_ps_pid_columns_5_wide(target):
    """ps pads PIDs to the digits of pid_max (5 or 7 by machine); the transcript shows 5."""
    with lab.Session(target) as sh:
        raw = sh.run("ps -ef")
        sh.run("ps -o pid,ppid,args")
    shown = sh.transcript.text().split("\n")
    assert "UID        PID  PPID  C STIME TTY          TIME CMD" in shown
    assert "  PID  PPID COMMAND" in shown
    rows = [line for line in shown if line.startswith("root ")]
    assert rows[0].startswith("root         1     0 ") and rows[0].endswith(" /bin/sh")
    assert [line.split() for line in raw.splitlines()] == \
        [line.split() for line in ps_fixed_width(raw).splitlines()]  # only blanks move
    assert sh.transcript.entries[1] == ("out", raw)  # the entries keep what ps printed


def test_ps_fixed_width_either_pid_max():
    five = "  PID  PPID COMMAND\n    1     0 sh -c x\n   12     1 ps"
    seven = "    PID    PPID COMMAND\n      1       0 sh -c x\n     12       1 ps"
    assert ps_fixed_width(seven) == ps_fixed_width(five) == five
    ef7 = ("UID          PID    PPID  C STIME TTY          TIME CMD\n"
           "root           1       0  0 10:00 pts/0    00:00:00 /bin/sh")
    assert ps_fixed_width(ef7) == ("UID        PID  PPID  C STIME TTY          TIME CMD\n"
                                       "root         1     0  0 10:00 pts/0    00:00:00 /bin/sh")
    assert ps_fixed_width("no ps here\n1 2") == "no ps here\n1 2"


def test_timeout_aborts_and_shows_the_buffer(target):
    # the shell starts with the usual timeout (a process start is slow in an emulated VM);
    # only the wait for what never comes is short
    sh = lab.Session(target).start()
    sh.child.sendline("echo before-the-wait")
    with pytest.raises(lab.SessionError) as err:
        sh._expect("never-printed", "a string that never comes", timeout=1)
    assert "before-the-wait" in str(err.value) and sh.child is None
    assert sh.exitstatus is not None  # terminated, reaped


def test_step_expects_exactly(target):
    with lab.Session(target) as sh:
        assert sh.step("echo a-b-c", "b-c") == "a-b-c"
        with pytest.raises(lab.SessionError):
            sh.step("echo x", "y", timeout=1)


def test_explorer_widget_runs_commands_in_one_live_shell(target):
    w = lab.explorer(target)
    assert isinstance(w, interactive)
    try:
        w.children[0].value = "echo $$"
        w.update()  # what the "Run in the container" button does
        assert w.result.text().endswith("ctr# echo $$\n1")
        w.children[0].value = "hostname other"
        w.update()
        w.children[0].value = "hostname"
        w.update()
        assert w.result.text().endswith("ctr# hostname\nother")  # the same shell
        w.children[0].value = "exit 5"
        w.update()
        assert "exited with status 5" in w.result.text()
        assert w.shell.session is None
    finally:
        w.shell.close()


def test_check_hostname_isolation(target):
    right = [("hostname other", ""), ("hostname", "other")]
    assert lab.check_hostname_isolation(right, target).ok
    silent = lab.check_hostname_isolation([("hostname other", "other")], target)
    assert not silent and "prints nothing" in silent.hint
    unchecked = lab.check_hostname_isolation([("hostname other", "")], target)
    assert not unchecked and "never checked" in unchecked.message
    unchanged = lab.check_hostname_isolation([("hostname", "lab")], target)
    assert not unchanged and "still 'lab'" in unchanged.message
    assert not lab.check_hostname_isolation(None, target)
    empty = lab.check_hostname_isolation([], target)
    assert not empty and empty.message == "no steps yet"
