"""Fixtures and collection rules for every test directory.

Layout (like the code): ``tests/runtime`` starts containers on *this* machine with
``mydocker-lab run``; ``tests/lab`` runs the notebooks' helpers, whose Linux-level steps go
to the target (this Linux, an ssh host or the VM); ``tests/vm`` needs the Vagrant VM.
Shared helpers live in ``tests/support.py`` (``pythonpath = ["tests"]`` in pyproject.toml).
"""
import os
import sys
from pathlib import Path

import pytest

from mydocker_lab.lab.session import Session
from mydocker_lab.lab.targets import get_target
from support import snapshot_host

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"


@pytest.fixture
def host_unchanged():
    """Fails the test if it leaves a mount or hostname changed on the host."""
    before = snapshot_host()
    yield
    assert snapshot_host() == before


@pytest.fixture(scope="session")
def target():
    """Where the steps run: the target the notebooks would use (this Linux by default, or
    whatever MYDOCKER_LAB_TARGET names). tests/runtime overrides it: this machine, always."""
    return get_target()


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


def _needs_local_root(item):
    return RUNTIME_DIR in Path(str(item.path)).resolve().parents


def pytest_collection_modifyitems(config, items):
    if sys.platform.startswith("linux") and os.geteuid() == 0:
        return
    where = "on Linux" if sys.platform.startswith("linux") else "on Linux (this is %s)" % sys.platform
    skip = pytest.mark.skip(reason="starts containers on this machine: needs root %s (run: "
                                   "./run-tests; from macOS or Windows the VM runs these: "
                                   "scripts/vm-tier)" % where)
    for item in items:
        if _needs_local_root(item):
            item.add_marker(skip)
