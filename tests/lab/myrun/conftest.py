"""What the build-it track's tests share: work files seeded with chosen pieces. The target,
the ssh target and the rootless target (nobody) are tests/lab/conftest.py's."""
import pytest

from mydocker_lab.lab.myrun import source, work
from mydocker_lab.lab.myrun.pieces import NUMBERS


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
