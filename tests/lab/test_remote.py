"""The ssh target (remote.py) against a real sshd on 127.0.0.1 (tests/lab/conftest.py): no VM.

The same code drives the Vagrant VM (tests/vm): here we prove the target itself: quoting,
exit codes, one reused master connection, the probes, and pexpect sessions of
``mydocker-lab run -ti /bin/sh`` through ssh, on a local pseudo terminal and through pipes
(what a Windows computer does).
"""
import os
import stat
import subprocess
import sys
import time

import pytest

from mydocker_lab.lab.remote import SshTarget, pipe_spawn
from mydocker_lab.lab.session import Session
from mydocker_lab.lab.targets import TargetError, get_target
from support import free_port


def test_commands_run_there_with_their_quoting_and_status(ssh_target):
    proc = ssh_target.run(["printf", "%s|", "two words", "it's", "$HOME", "a;b"])
    assert proc.returncode == 0
    assert proc.stdout == "two words|it's|$HOME|a;b|"
    assert ssh_target.run(["sh", "-c", "echo oops >&2; exit 7"]).returncode == 7
    assert ssh_target.run(["sh", "-c", "echo oops >&2; exit 7"]).stderr == "oops\n"
    assert ssh_target.run(["cat"], input="from stdin\n").stdout == "from stdin\n"
    # it really is the sshd's session: sshd sets SSH_CONNECTION
    assert ssh_target.run(["sh", "-c", "echo $SSH_CONNECTION"]).stdout.split()[2] == "127.0.0.1"


def test_one_master_connection_is_reused(ssh_target, sshd):
    ssh_target.run(["true"])
    assert stat.S_ISSOCK(os.stat(os.path.join(ssh_target._dir, "cm")).st_mode)
    check = subprocess.run(ssh_target._base() + ["-O", "check", ssh_target.destination()],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    # each later step is a channel on the open connection: a fraction of a full ssh login
    t0 = time.monotonic()
    for _ in range(5):
        assert ssh_target.run(["true"]).returncode == 0
    reused = (time.monotonic() - t0) / 5
    t0 = time.monotonic()
    fresh = subprocess.run(["ssh", "-p", sshd["spec"].rsplit(":", 1)[1], "-l", sshd["user"],
                            "-o", "BatchMode=yes", *sshd["options"], "127.0.0.1", "true"],
                           stdin=subprocess.DEVNULL, capture_output=True)
    full = time.monotonic() - t0
    assert fresh.returncode == 0, fresh.stderr
    assert reused < full, (reused, full)


def test_close_ends_the_master_and_removes_its_directory(sshd):
    t = SshTarget(sshd["spec"], python=sys.executable, options=sshd["options"])
    t.run(["true"])
    d = t._dir
    assert os.path.isdir(d) and (os.stat(d).st_mode & 0o077) == 0
    t.close()
    assert not os.path.exists(d)
    assert t.run(["echo", "again"]).stdout == "again\n"  # reconnects on demand
    t.close()


def test_directories_of_processes_that_are_gone_are_removed(sshd):
    """A notebook kernel killed without atexit leaves its directory: the next one removes it."""
    t = SshTarget(sshd["spec"], python=sys.executable, options=sshd["options"])
    t.run(["true"])
    base = os.path.dirname(t._dir)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = os.path.join(base, gone + "-stale")
    os.mkdir(stale, 0o700)
    mine = t._dir
    t.close()
    t2 = SshTarget(sshd["spec"], python=sys.executable, options=sshd["options"])
    try:
        t2.run(["true"])
        assert not os.path.exists(stale)
        assert os.path.dirname(t2._dir) == base and t2._dir != mine
        assert os.path.basename(t2._dir).startswith("%d-" % os.getpid())
        st = os.stat(base)
        assert st.st_uid == os.geteuid() and st.st_mode & 0o077 == 0
    finally:
        t2.close()


def test_probes_run_there(ssh_target):
    who = ssh_target.probe("whoami")
    assert who  # a JSON object from the target's python
    code = "import mydocker_lab, sys; print(sys.executable)"
    assert ssh_target.run([ssh_target.python, "-c", code]).stdout.strip() == sys.executable


def test_run_container_through_ssh(ssh_target):
    if not ssh_target.root:
        pytest.skip("the container tests over ssh log in as root here; %s is not" % ssh_target.user)
    proc = ssh_target.run_container(["sh", "-c", "echo $$; hostname; exit 3"], "--hostname", "box")
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.split() == ["1", "box"]


@pytest.mark.parametrize("local_pty", [True, False], ids=["pty", "pipes"])
def test_container_shell_through_ssh(sshd, local_pty):
    """Session over ``ssh -tt``: ssh on a pseudo terminal here, or on pipes (Windows)."""
    t = SshTarget(sshd["spec"], python=sys.executable, options=sshd["options"],
                  local_pty=local_pty)
    if not t.root:
        pytest.skip("the container tests over ssh log in as root here; %s is not" % t.user)
    sh = Session(t, hostname="box", timeout=30)
    try:
        sh.start()
        assert type(sh.child).__name__ == ("spawn" if local_pty else "PipeSpawn")
        lines = sh.run("ps -ef").splitlines()
        assert lines[1].split()[1] == "1" and lines[1].endswith(" /bin/sh"), lines
        assert len(lines) == 3, lines  # sh and ps: nothing else in the container
        assert sh.run("echo $$") == "1\n"
        assert sh.run("hostname") == "box\n"
        assert sh.run("tty").startswith("/dev/pts/")
        assert sh.run("stty size") == "24 200\n"  # through pipes too: the remote is told
        # Ctrl-C is a byte; the container's terminal makes it SIGINT for the job
        sh.send("sh -c 'echo job-running; exec sleep 30'; echo finished")
        sh.expect("job-running")
        sh.control("c")
        assert "finished" not in sh.expect_prompt()
        assert sh.run("echo still here") == "still here\n"
        assert sh.exit(3) == 3
    finally:
        sh.close()
        t.close()
        print("---- the container's terminal ----\n" + sh.log.getvalue())


def test_a_session_through_pipes_closes_without_a_word_on_stderr():
    """close() after a kill, while a process the child left behind still holds the pipe and
    writes to it (as ssh's master connection can): pexpect's reader thread must never read
    a descriptor close() has closed -- it printed a traceback on the notebook's stderr
    (TypeError from pexpect logging the EBADF), which nbval reports as a failed cell."""
    import io
    import threading
    errors = []
    hook, threading.excepthook = threading.excepthook, errors.append
    left = None
    try:
        child = pipe_spawn(["sh", "-c", "while :; do echo flood; sleep 0.01; done & "
                                        "echo left=$!; exec sleep 60"], timeout=10)
        child.logfile_read = io.StringIO()
        child.expect(r"left=(\d+)")
        left = int(child.match.group(1))
        child.expect_exact("flood")  # the reader thread is busy
        child.terminate(force=True)
        child.close()
        assert child.signalstatus == 9
        child.expect_exact("flood")  # it still reads what comes (not a closed descriptor)
        os.kill(left, 9)
        left = None
        child._read_thread.join(10)
        assert not child._read_thread.is_alive()
    finally:
        threading.excepthook = hook
        if left is not None:
            os.kill(left, 9)
    assert not errors, [str(e.exc_value) for e in errors]


def test_bad_specs_are_one_clear_error(sshd):
    with pytest.raises(TargetError, match="want ssh://user@host:port"):
        SshTarget("ssh://")
    with pytest.raises(TargetError, match="bad port"):
        SshTarget("ssh://me@host:notaport")
    dead = SshTarget("ssh://%s@127.0.0.1:%d" % (sshd["user"], free_port()),
                     python=sys.executable, options=sshd["options"] + ["-o", "ConnectTimeout=5"])
    with pytest.raises(TargetError, match="cannot ssh to"):
        dead.run(["true"])
    dead.close()


def test_target_selected_by_environment(sshd, monkeypatch):
    monkeypatch.setenv("MYDOCKER_LAB_TARGET", sshd["spec"])
    monkeypatch.setenv("MYDOCKER_LAB_SSH_OPTIONS", " ".join(sshd["options"]))
    monkeypatch.setenv("MYDOCKER_LAB_SSH_PYTHON", sys.executable)
    t = get_target(sshd["spec"])
    try:
        assert isinstance(t, SshTarget) and t.python == sys.executable
        assert t.run(["echo", "hi"]).stdout == "hi\n"
    finally:
        t.close()
