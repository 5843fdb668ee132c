"""What the build-it track's tests share: work files seeded with chosen pieces, the local
target, and a target that runs everything as an unprivileged user (rootless)."""
import os
import shutil
import subprocess

import pytest

from mydocker_lab.lab.myrun import source, work
from mydocker_lab.lab.myrun.pieces import NUMBERS
from mydocker_lab.lab.targets import Target, get_target
from support import ROOT

SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="session")
def target():
    return get_target()


@pytest.fixture
def seeded(tmp_path):
    """seeded(pieces) -> a work/myrun.py with those (number, code) pieces written."""
    def make(pieces=(), name="work"):
        return str(work.seed(tmp_path / name, pieces))
    return make


@pytest.fixture(scope="session")
def all_reference_pieces():
    """Every piece written with the reference's code: a student who did all seven."""
    return [(n, source.reference_source(n)) for n in NUMBERS]


class NobodyTarget(Target):
    """This machine as the user nobody: a Linux where we are not root (rootless), with a
    clean environment and a Python (Debian's own) that user can run."""

    name = "local-as-nobody"
    root = False

    def __init__(self, python):
        self.python = python

    def argv(self, argv):
        return (["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                 "env", "-i", "-C", "/tmp", "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp"]
                + list(argv))


@pytest.fixture(scope="session")
def nobody():
    """A target that runs as nobody, with mydocker_lab installed in a venv of Debian's
    python3 under a world-readable temporary directory (ours lives under /root, mode 700).
    The directory is its own, not pytest's: it must outlive other pytest sessions' clean-up."""
    import tempfile
    from pathlib import Path
    if os.geteuid() != 0:
        pytest.skip("becoming nobody needs root: run ./run-tests")
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.fail("rootless tests need %s (apt-get install python3)" % SYSTEM_PYTHON)
    base = Path(tempfile.mkdtemp(prefix="myrun-test-nobody-"))
    os.chmod(base, 0o755)
    venv = base / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    shutil.copytree(os.path.join(ROOT, "mydocker_lab"), os.path.join(site, "mydocker_lab"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(["chmod", "-R", "a+rX", str(base)], check=True)
    yield NobodyTarget(str(venv / "bin" / "python"))
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def ssh_target(tmp_path_factory):
    """An SshTarget to a real sshd on 127.0.0.1 that this fixture starts (its own keys): the
    remote path -- the file sent on ssh's stdin, pexpect over ssh -tt -- without a VM."""
    import pwd
    import socket
    import sys
    import time
    from mydocker_lab.lab.remote import SshTarget
    sshd, keygen = shutil.which("sshd", path="/usr/sbin:/usr/local/sbin"), shutil.which("ssh-keygen")
    if not (sshd and keygen and shutil.which("ssh")):
        pytest.skip("needs OpenSSH: apt-get install openssh-server openssh-client")
    d = tmp_path_factory.mktemp("myrun-sshd")
    os.chmod(d, 0o700)
    for name in ("host_key", "client_key"):
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    user = pwd.getpwuid(os.geteuid()).pw_name
    (d / "known_hosts").write_text("[127.0.0.1]:%d %s" % (port, (d / "host_key.pub").read_text()))
    (d / "sshd_config").write_text(
        "ListenAddress 127.0.0.1\nPort %d\nHostKey %s\nPidFile %s\nAuthorizedKeysFile %s\n"
        "AllowUsers %s\nPasswordAuthentication no\nPermitRootLogin prohibit-password\n"
        "StrictModes no\nUsePAM no\n" % (port, d / "host_key", d / "sshd.pid",
                                        d / "client_key.pub", user))
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    proc = subprocess.Popen([sshd, "-D", "-e", "-f", str(d / "sshd_config")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:  # until it listens
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("sshd did not start on 127.0.0.1:%d" % port)
            time.sleep(0.05)
    target = SshTarget("ssh://%s@127.0.0.1:%d" % (user, port), python=sys.executable,
                       options=["-i", str(d / "client_key"), "-o", "IdentitiesOnly=yes",
                                "-o", "UserKnownHostsFile=" + str(d / "known_hosts")])
    yield target
    target.close()
    proc.terminate()
    proc.wait(timeout=10)
