"""`mydocker-lab run -ti /bin/sh` driven through a real pseudo terminal with pexpect."""
import io
import os
import time

import pexpect
import pytest

from support import MYDOCKER, container_pid

PROMPT = "mydocker$ "


@pytest.fixture
def shell():
    """An interactive container shell with a fixed prompt; prints the transcript on failure."""
    transcript = io.StringIO()
    child = pexpect.spawn(MYDOCKER[0], MYDOCKER[1:] + ["--log-level", "error", "run",
                          "--hostname", "box", "-ti", "/bin/sh"],
                          encoding="utf-8", echo=False, dimensions=(24, 200), timeout=15)
    child.logfile_read = transcript
    try:
        # The container's own pty echoes what we type: turn that off, set a fixed prompt.
        child.sendline("stty -echo; PS1='%s'" % PROMPT)
        child.expect_exact(PROMPT)
        child.expect_exact(PROMPT)  # the echo of the PS1 line itself ends with the new prompt
        yield child
    except (pexpect.TIMEOUT, pexpect.EOF):
        print(transcript.getvalue())
        raise
    finally:
        if child.isalive():
            child.sendcontrol("c")
            child.terminate(force=True)
        child.close()


def run(shell, line):
    shell.sendline(line)
    shell.expect_exact(PROMPT)
    return shell.before.replace("\r\n", "\n").strip("\n")


def test_ps_shows_the_shell_as_pid_1(shell):
    lines = run(shell, "ps -ef").splitlines()
    assert lines[0].split()[:2] == ["UID", "PID"]
    pid1 = lines[1].split()
    assert pid1[1] == "1" and pid1[-1] == "/bin/sh"
    assert len(lines) == 3  # /bin/sh and ps: nothing else lives in the container
    assert run(shell, "echo $$") == "1"


def test_hostname_and_network_are_the_containers(shell):
    host = os.uname().nodename
    assert run(shell, "hostname") == "box"
    assert run(shell, "hostname other; hostname") == "other"
    assert os.uname().nodename == host
    assert run(shell, "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '") == "lo"


def test_the_shell_owns_its_terminal(shell):
    assert run(shell, "tty").startswith("/dev/pts/")
    # Job control works, so the shell is the session leader of its own pty.
    assert run(shell, "ps -o pid=,sid=,tty= -p 1").split()[:2] == ["1", "1"]


def test_ctrl_c_interrupts_a_job_not_the_shell(shell):
    shell.sendline("sleep 30; echo finished")
    time.sleep(0.5)
    shell.sendcontrol("c")
    shell.expect_exact(PROMPT, timeout=15)
    assert "finished" not in shell.before
    assert run(shell, "echo still here") == "still here"


def test_window_size_is_forwarded(shell):
    assert run(shell, "stty size") == "24 200"
    shell.setwinsize(40, 120)
    deadline = time.monotonic() + 5
    while run(shell, "stty size") != "40 120":
        assert time.monotonic() < deadline, "window size never reached the container"
        time.sleep(0.05)


def test_exit_status_comes_back(shell):
    shell.sendline("exit 3")
    shell.expect(pexpect.EOF)
    shell.close()
    assert shell.exitstatus == 3  # dash as PID 1 with a real controlling tty keeps it


def test_terminal_is_restored_after_exit():
    """The caller's terminal leaves raw mode when the container ends."""
    child = pexpect.spawn("/bin/sh", ["-c", 'stty -g; "$@"; stty -g', "sh"] + MYDOCKER
                          + ["--log-level", "error", "run", "-ti", "sh", "-c", "exit 0"],
                          encoding="utf-8", timeout=15)
    child.expect(pexpect.EOF)
    child.close()
    modes = [line for line in child.before.split("\r\n") if line.count(":") > 10]
    assert len(modes) == 2 and modes[0] == modes[1], child.before


def test_terminal_is_restored_when_the_container_is_killed():
    import signal
    child = pexpect.spawn("/bin/sh", ["-c", 'stty -g; "$@"; echo "status $?"; stty -g', "sh"]
                          + MYDOCKER + ["--log-level", "error", "run", "-ti", "sleep", "30"],
                          encoding="utf-8", timeout=15)
    child.expect(r"(\S+:){10,}\S+")  # the first `stty -g`
    before = child.after
    mydocker_pid = int(open("/proc/%d/task/%d/children" % (child.pid, child.pid)).read().split()[0])
    os.kill(container_pid(mydocker_pid, "sleep"), signal.SIGKILL)
    child.expect_exact("status 137")
    child.expect(r"(\S+:){10,}\S+")
    assert child.after == before
    child.expect(pexpect.EOF)
