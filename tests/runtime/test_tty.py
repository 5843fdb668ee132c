"""`mydocker-lab run -ti /bin/sh` driven through a real pseudo terminal with pexpect."""
import os
import select
import subprocess

import pexpect
import pytest

from support import MYDOCKER, children, comm, container_pid, find_container, start, wait_for

# The `shell` fixture (tests/conftest.py): `mydocker-lab run --hostname lab -ti /bin/sh` on
# this machine, driven by the lab's one pexpect Session (fixed prompt, echo off, 24 x 200;
# its terminal printed when a test fails).


def run(shell, line):
    """One command line in the container; its output without the last newline."""
    return shell.run(line).rstrip("\n")


def test_ps_shows_the_shell_as_pid_1(shell):
    lines = run(shell, "ps -ef").splitlines()
    assert lines[0].split()[:2] == ["UID", "PID"]
    pid1 = lines[1].split()
    assert pid1[1] == "1" and pid1[-1] == "/bin/sh"
    assert len(lines) == 3  # /bin/sh and ps: nothing else lives in the container
    assert run(shell, "echo $$") == "1"


def test_hostname_and_network_are_the_containers(shell):
    host = os.uname().nodename
    assert run(shell, "hostname") == "lab"
    assert run(shell, "hostname other; hostname") == "other"
    assert os.uname().nodename == host
    assert run(shell, "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '") == "lo"


def test_the_shell_owns_its_terminal(shell):
    assert run(shell, "tty").startswith("/dev/pts/")
    # Job control works, so the shell is the session leader of its own pty.
    assert run(shell, "ps -o pid=,sid=,tty= -p 1").split()[:2] == ["1", "1"]


def test_ctrl_c_interrupts_a_job_not_the_shell(shell):
    # the job says when it runs (an event), then becomes `sleep`; ^C must end it
    shell.send("sh -c 'echo job-running; exec sleep 30'; echo finished")
    shell.expect("job-running")
    mydocker_pid = shell.child.pid
    pid1 = wait_for(lambda: find_container(mydocker_pid), "the container")
    wait_for(lambda: any(comm(c) == "sleep" for c in children(pid1)), "sleep to run")
    shell.control("c")
    out = shell.expect_prompt(timeout=15)
    assert "finished" not in out
    assert run(shell, "echo still here") == "still here"


def test_window_size_is_forwarded(shell):
    assert run(shell, "stty size") == "24 200"
    shell.resize(40, 120)
    wait_for(lambda: run(shell, "stty size") == "40 120", "the window size to reach the "
             "container", interval=0)


def test_exit_status_comes_back(shell):
    assert shell.exit(3) == 3  # dash as PID 1 with a real controlling tty keeps it


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
    # the shell's child that is mydocker-lab: the one whose own child runs the container
    mydocker_pid = wait_for(lambda: next((c for c in children(child.pid)
                                          if find_container(c)), None), "mydocker-lab")
    os.kill(container_pid(mydocker_pid, "sleep"), signal.SIGKILL)
    child.expect_exact("status 137")
    child.expect(r"(\S+:){10,}\S+")
    assert child.after == before
    child.expect(pexpect.EOF)


# -- the relay when the caller is a pipe (bugs 4, 6, 7) --------------------------------------

def test_end_of_input_after_a_partial_line_ends_the_container():
    """Bug 4: `printf abc | mydocker-lab run -it cat` hung for ever: one ^D after a partial
    line only sends the line. Two do what typing them would: the line, then end of file."""
    proc = subprocess.run(MYDOCKER + ["--log-level", "error", "run", "-it", "cat"],
                          input=b"abc", capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.replace(b"\r\n", b"\n").endswith(b"abc")  # (the pty echoes it too)


def test_a_reader_that_goes_away_hangs_up_the_container():
    """Bug 6: `mydocker-lab run -t yes | head -c 10` never returned (the relay kept reading
    and dropping). The terminal is hung up: `yes` meets EIO, as it meets EPIPE without -t."""
    proc = subprocess.run(["sh", "-c", '"$@" | head -c 10', "sh"] + MYDOCKER + ["--log-level", "error", "run", "-t", "yes"],
                          capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"y\r\ny\r\ny\r\ny")
    assert b"Traceback" not in proc.stderr


def test_input_is_read_only_as_fast_as_the_container_takes_it():
    """Bug 7: `yes | mydocker-lab run -it sleep 9` read 18 MB in 7 s. With backpressure, once
    the pty and the relay's buffer (64 KiB) are full, our pipe stays full: we write far
    less than 1 MiB before it does."""
    r, w = os.pipe()
    proc = start("--log-level", "error", "run", "-it", "sleep", "60", stdin=r,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(r)
    os.set_blocking(w, False)
    written, chunk = 0, b"y\n" * 8192
    try:
        pid1 = container_pid(proc.pid, "sleep")
        while written < 1 << 20:
            try:
                written += os.write(w, chunk)
                continue
            except BlockingIOError:
                pass
            # The pipe is full. If the relay still reads, there is room again soon; once it
            # holds back, none comes (2 s is ample on a busy machine for a relay that reads).
            if not select.select([], [w], [], 2)[1]:
                break
        assert written < 1 << 20, "the relay took %d bytes that nobody reads" % written
        assert os.path.exists("/proc/%d" % pid1)
    finally:
        os.close(w)
        proc.kill()
        proc.wait()
