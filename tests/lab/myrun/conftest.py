"""What the build-it track's tests share: work files seeded with chosen pieces, and a target
that runs everything as an unprivileged user (rootless). The target and the ssh target
are tests/lab/conftest.py's."""
import os
import shutil
import subprocess

import pytest

from mydocker_lab.lab.myrun import source, work
from mydocker_lab.lab.myrun.pieces import NUMBERS
from mydocker_lab.lab.targets import Target
from support import ROOT

SYSTEM_PYTHON = "/usr/bin/python3"


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
