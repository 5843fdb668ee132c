"""tests/runtime starts containers on this machine, whatever MYDOCKER_LAB_TARGET says."""
import pytest

from mydocker_lab.lab.targets import LocalTarget


@pytest.fixture(scope="session")
def target():
    return LocalTarget()
