"""Fixtures and collection rules for every test directory.

Layout (like the code): ``tests/runtime`` starts containers on *this* machine with
``mydocker-lab run``; ``tests/lab`` runs the notebooks' helpers, whose Linux-level steps go
to the target (this Linux, an ssh host or the VM); ``tests/vm`` needs the Vagrant VM.
Shared helpers live in ``tests/support.py`` (``pythonpath = ["tests"]`` in pyproject.toml);
which tier runs what, and the skips for what a computer lacks, in ``tests/tiers.py``.
"""
import pytest

from mydocker_lab.lab.session import Session
from mydocker_lab.lab.targets import get_target
from support import snapshot_host

@pytest.fixture
def host_unchanged():
    """Fails the test if it leaves a mount or hostname changed on the host."""
    before = snapshot_host()
    yield
    assert snapshot_host() == before


@pytest.fixture(scope="session")
def target():
    """Where the steps run: the target the notebooks would use (this Linux by default, or
    whatever MYDOCKER_LAB_TARGET names). tests/runtime overrides it: this machine, always.

    It counts what it starts (``uses``): a test of tests/lab that is not of the kind
    ``target`` must not start anything there (tests/lab/conftest.py), else the vm tier,
    which runs only the ``target`` ones through the VM, would miss it."""
    target = get_target()   # the one the helpers get for target=None, too
    if not hasattr(target, "uses"):
        argv = target.argv

        def counted(*args, **kwargs):
            target.uses += 1
            return argv(*args, **kwargs)
        target.uses = 0
        target.argv = counted
    return target


@pytest.fixture
def shell(target):
    """A started container shell, ``mydocker-lab run --hostname lab -ti /bin/sh``, driven by
    the lab's one pexpect Session (fixed prompt, echo off, 24 x 200). What its terminal said
    is printed at the end, which pytest shows when the test failed."""
    session = Session(target, hostname="lab", timeout=30).start()
    try:
        yield session
    finally:
        session.close()
        print("---- the container's terminal ----\n" + session.log.getvalue())
