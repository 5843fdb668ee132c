"""Fixtures of the lab's tests: the target, a real sshd, and a container shell.

tests/lab mirrors mydocker_lab/lab: ``test_<module>.py`` tests ``mydocker_lab/lab/<module>.py``
(the probes through the module of their notebook; ``probes/test_support.py`` their shared
plumbing), and ``test_any_os.py`` the package as a whole: that its notebook side imports
and runs the notebooks on a computer that is not Linux.

Every Linux-level step goes to :func:`target`: this Linux by default, or whatever
``MYDOCKER_LAB_TARGET`` names (scripts/vm-tier runs this suite through the VM).
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from mydocker_lab.lab.probes.support import children
from mydocker_lab.lab.remote import SshTarget
from mydocker_lab.lab.targets import Target
from support import ROOT, free_port, user_python

SSHD = shutil.which("sshd") or shutil.which("sshd", path="/usr/sbin:/usr/local/sbin")
SSH_KEYGEN = shutil.which("ssh-keygen")
NO_OPENSSH = ("needs OpenSSH: sshd, ssh and ssh-keygen (apt-get install openssh-server "
              "openssh-client)")


@pytest.fixture(autouse=True)
def _count_the_target(request, target):
    request.node.lab_target = target   # for the check below (its ``uses``: tests/conftest.py)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """The vm tier runs only the tests of the kind ``target`` through the VM (tests/tiers.py:
    those that use the ``target`` fixture, or are marked so). A test that starts something
    on the target through a helper's default (``target=None``) without either would be
    left out of it unseen: it fails here, with what to do."""
    target = getattr(item, "lab_target", None)
    before = getattr(target, "uses", 0)
    result = yield
    if "target" not in getattr(item, "tier_kinds", {"target"}) and target.uses != before:
        pytest.fail("this test started %d command(s) on the target (%s) through a helper's "
                    "default target but is not of the kind 'target': take the `target` "
                    "fixture (and pass it on), or mark it @pytest.mark.target, so that the vm "
                    "tier runs it through the VM (tests/tiers.py)"
                    % (target.uses - before, target.name), pytrace=False)
    return result


@pytest.fixture(scope="module", autouse=True)
def the_target_keeps_its_name(target):
    """No test module may rename the target's host (this Linux, or the VM the suite drives):
    a runtime under test without a UTS namespace of its own would, were it not run in a
    throw-away one *on the target*. Read there before and after each module (an error at
    the teardown of the module's last test names it)."""
    def name():
        return target.run(["cat", "/proc/sys/kernel/hostname"], check=True).stdout.strip()
    before = name()
    yield
    after = name()
    assert after == before, "the target's host (%s) was renamed from %r to %r" % (
        target.name, before, after)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    """A real sshd on 127.0.0.1:<random port> with its own host key and authorized key.

    Yields what a client needs: ``spec`` (ssh://user@127.0.0.1:port), ``options`` (the key,
    the known host), and ``env``: MYDOCKER_LAB_TARGET and friends, for a process (a notebook
    kernel) that should use it. Logins get PYTHONPATH=<this checkout>, so the target's python
    imports this mydocker_lab.
    """
    if not (SSHD and SSH_KEYGEN and shutil.which("ssh")):
        pytest.skip(NO_OPENSSH)
    d = tmp_path_factory.mktemp("sshd")
    os.chmod(d, 0o700)
    user = pwd.getpwuid(os.geteuid()).pw_name
    for name in ("host_key", "client_key"):
        subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)],
                       check=True)
    shutil.copy(d / "client_key.pub", d / "authorized_keys")
    port = free_port()
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
MaxSessions 50
MaxStartups 50
SetEnv PYTHONPATH={ROOT}
""")
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    with open(d / "sshd.log", "w") as log:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while True:  # until it listens
        if proc.poll() is not None:
            pytest.fail("sshd exited with %d:\n%s" % (proc.returncode,
                                                       (d / "sshd.log").read_text()))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                pytest.fail("sshd did not listen on 127.0.0.1:%d in 30 s" % port)
            time.sleep(0.05)
    options = ["-i", str(d / "client_key"), "-o", "IdentitiesOnly=yes",
               "-o", "UserKnownHostsFile=" + str(d / "known_hosts"),
               "-o", "StrictHostKeyChecking=yes"]
    spec = "ssh://%s@127.0.0.1:%d" % (user, port)
    env = {"MYDOCKER_LAB_TARGET": spec, "MYDOCKER_LAB_SSH_OPTIONS": " ".join(options),
           "MYDOCKER_LAB_SSH_PYTHON": sys.executable}
    yield {"spec": spec, "options": options, "dir": d, "user": user, "port": port, "env": env}
    # sshd serves each connection in a child of its own, which outlives the listener: end
    # them too, so the master connections of notebook kernels (killed without atexit) end
    sessions = children(proc.pid)
    proc.terminate()
    proc.wait(timeout=30)
    for pid in sessions:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


@pytest.fixture
def ssh_target(sshd):
    """An SshTarget to the test's sshd (this machine, over ssh); closed afterwards."""
    t = SshTarget(sshd["spec"], python=sys.executable, options=sshd["options"])
    yield t
    t.close()


#: The Python a user has (ours may live under /root, mode 700).


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
    base = Path(tempfile.mkdtemp(prefix="myrun-test-nobody-"))
    os.chmod(base, 0o755)
    yield NobodyTarget(user_python(base))
    shutil.rmtree(base, ignore_errors=True)
