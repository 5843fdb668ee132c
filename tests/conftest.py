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


@pytest.fixture(scope="session", autouse=True)
def must_be_root():
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        pytest.skip("these tests create namespaces and mounts: they need root on Linux "
                    "(run: sudo .venv/bin/pytest --nbval)")
