"""The ssh target against a real sshd that this test starts on 127.0.0.1 (no VM needed).

The same code drives the Vagrant VM (tests/vm): here we prove the target itself: quoting,
exit codes, one reused master connection, the probes, and a pexpect session of
``mydocker-lab run -ti /bin/sh`` through ssh.
"""
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import time

import pytest

from mydocker_lab.lab.remote import SshTarget
from mydocker_lab.lab.targets import TargetError, get_target
from shell_session import ContainerShell, check_ps_pid1

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SSHD = shutil.which("sshd") or shutil.which("sshd", path="/usr/sbin:/usr/local/sbin")
SSH_KEYGEN = shutil.which("ssh-keygen")

pytestmark = pytest.mark.skipif(
    not (SSHD and SSH_KEYGEN and shutil.which("ssh")),
    reason="needs OpenSSH: sshd, ssh and ssh-keygen (apt-get install openssh-server openssh-client)")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """A real sshd on 127.0.0.1:<random port> with its own host key and authorized key."""
    d = tmp_path_factory.mktemp("sshd")
    os.chmod(d, 0o700)
    user = pwd.getpwuid(os.geteuid()).pw_name
    for name in ("host_key", "client_key"):
        subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)],
                       check=True)
    shutil.copy(d / "client_key.pub", d / "authorized_keys")
    port = _free_port()
    (d / "known_hosts").write_text("[127.0.0.1]:%d %s" % (port, (d / "host_key.pub").read_text()))
    (d / "sshd_config").write_text(f"""\
ListenAddress 127.0.0.1
Port {port}
HostKey {d / "host_key"}
PidFile {d / "sshd.pid"}
AuthorizedKeysFile {d / "authorized_keys"}
AllowUsers {user}
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PrintMotd no
SetEnv PYTHONPATH={ROOT}
""")
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    log = open(d / "sshd.log", "w")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail("sshd exited with %d:\n%s" % (proc.returncode, (d / "sshd.log").read_text()))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("sshd did not listen on 127.0.0.1:%d" % port)
    options = ["-i", str(d / "client_key"), "-o", "IdentitiesOnly=yes",
               "-o", "UserKnownHostsFile=" + str(d / "known_hosts"),
               "-o", "StrictHostKeyChecking=yes"]
    yield {"spec": "ssh://%s@127.0.0.1:%d" % (user, port), "options": options, "dir": d,
           "user": user}
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture
def target(sshd):
    t = SshTarget(sshd["spec"], python=sys.executable, options=sshd["options"])
    yield t
    t.close()


def test_commands_run_there_with_their_quoting_and_status(target):
    proc = target.run(["printf", "%s|", "two words", "it's", "$HOME", "a;b"])
    assert proc.returncode == 0
    assert proc.stdout == "two words|it's|$HOME|a;b|"
    assert target.run(["sh", "-c", "echo oops >&2; exit 7"]).returncode == 7
    assert target.run(["sh", "-c", "echo oops >&2; exit 7"]).stderr == "oops\n"
    assert target.run(["cat"], input="from stdin\n").stdout == "from stdin\n"
    # it really is the sshd's session: sshd sets SSH_CONNECTION
    assert target.run(["sh", "-c", "echo $SSH_CONNECTION"]).stdout.split()[2] == "127.0.0.1"


def test_one_master_connection_is_reused(target, sshd):
    target.run(["true"])
    assert stat.S_ISSOCK(os.stat(os.path.join(target._dir, "cm")).st_mode)
    check = subprocess.run(target._base() + ["-O", "check", target.destination()],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    # each later step is a channel on the open connection: a fraction of a full ssh login
    t0 = time.monotonic()
    for _ in range(5):
        assert target.run(["true"]).returncode == 0
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


def test_probes_run_there(target):
    who = target.probe("whoami")
    assert who  # a JSON object from the target's python
    assert target.run([target.python, "-c", "import mydocker_lab, sys; print(sys.executable)"]
                      ).stdout.strip() == sys.executable


def test_run_container_through_ssh(target):
    if not target.root:
        pytest.skip("the container tests over ssh log in as root here; %s is not" % target.user)
    proc = target.run_container(["sh", "-c", "echo $$; hostname; exit 3"], "--hostname", "box")
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.split() == ["1", "box"]


def test_pexpect_session_through_ssh(target):
    if not target.root:
        pytest.skip("the container tests over ssh log in as root here; %s is not" % target.user)
    shell = ContainerShell(target, target.mydocker("--log-level", "error", "run", "--hostname",
                                                   "box", "-ti", "/bin/sh"), timeout=30)
    try:
        check_ps_pid1(shell)
        assert shell.run("hostname") == "box"
        assert shell.run("tty").startswith("/dev/pts/")
    except BaseException:
        shell.close()
        raise
    assert shell.exit("exit 3") == 3


def test_bad_specs_are_one_clear_error(sshd):
    with pytest.raises(TargetError, match="want ssh://user@host:port"):
        SshTarget("ssh://")
    with pytest.raises(TargetError, match="bad port"):
        SshTarget("ssh://me@host:notaport")
    with pytest.raises(TargetError, match="unknown target"):
        get_target("telnet://x")
    dead = SshTarget("ssh://%s@127.0.0.1:%d" % (sshd["user"], _free_port()),
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
