"""Fixtures for the runtime's tests: real containers, started as a user would start them."""
import os
import sys

import pytest

from support import snapshot_host


@pytest.fixture
def host_unchanged():
    """Fails the test if it leaves a mount or hostname changed on the host."""
    before = snapshot_host()
    yield
    assert snapshot_host() == before


#: Test modules that start containers on *this* machine. The lab tests (test_lab_*) run their
#: Linux-level steps on the target instead: this Linux, or the VM from any laptop.
LOCAL_RUNTIME = {"test_run", "test_tty", "test_cli", "test_host_safety", "test_rootless",
                 "test_cgroups"}


def pytest_collection_modifyitems(config, items):
    if sys.platform.startswith("linux") and os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="starts containers here: needs root on Linux (run: sudo "
                                   ".venv/bin/pytest --nbval; from macOS or Windows, the VM "
                                   "runs these: scripts/vm-tier)")
    for item in items:
        if item.module is not None and item.module.__name__ in LOCAL_RUNTIME:
            item.add_marker(skip)
