"""The real-VM tier: these tests drive the project's Vagrant VM through the vagrant target.

They run in the vm tier (``pytest --tier vm``), when the target is the VM
(MYDOCKER_LAB_TARGET=vagrant, after `vagrant up`) or MYDOCKER_LAB_VM=1 (scripts/vm-tier sets
both); otherwise each is skipped with the reason (tests/tiers.py). They run from any host (macOS, Windows, Linux without root): the
containers start inside the VM, never here.
"""
import os

import pytest

from mydocker_lab.lab.targets import TargetError, get_target

#: Process start in an emulated (TCG) guest is ~30x slower than on this host.
TIMEOUT = int(os.environ.get("MYDOCKER_LAB_VM_TIMEOUT", "180"))


@pytest.fixture(scope="session")
def vm():
    try:
        target = get_target("vagrant")
        target.connect(timeout=TIMEOUT)
    except TargetError as e:
        pytest.fail(str(e))
    yield target
    target.close()
