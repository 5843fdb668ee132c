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

from support import snapshot_host

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"


@pytest.fixture
def host_unchanged():
    """Fails the test if it leaves a mount or hostname changed on the host."""
    before = snapshot_host()
    yield
    assert snapshot_host() == before


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
