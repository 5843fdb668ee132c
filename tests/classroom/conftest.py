"""The classroom tier's fixtures: a running hub that scripts/classroom-tier set up.

``scripts/classroom-tier`` installs the classroom into a throw-away prefix, makes real unix
accounts (five students and a teacher), starts JupyterHub, runs ``pytest --tier
classroom`` with the environment below, and removes it all afterwards. Every other tier
leaves these tests out (tests/tiers.py).
"""
import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # hubclient, beside this file
from hubclient import TIMINGS  # noqa: E402


class Classroom:
    def __init__(self):
        missing = [k for k in ("CLASSROOM_URL", "CLASSROOM_ADMIN_TOKEN_FILE",
                               "CLASSROOM_STUDENTS", "CLASSROOM_TEACHER", "CLASSROOM_PREFIX",
                               "CLASSROOM_TEST_LESSONS", "CLASSROOM_RESULTS")
                   if not os.environ.get(k)]
        if missing:
            pytest.fail("the classroom tests need the hub that scripts/classroom-tier starts "
                        "(missing %s): run scripts/classroom-tier" % ", ".join(missing))
        self.url = os.environ["CLASSROOM_URL"]
        self.admin_token = Path(os.environ["CLASSROOM_ADMIN_TOKEN_FILE"]).read_text().strip()
        self.students = os.environ["CLASSROOM_STUDENTS"].split()
        self.teacher = os.environ["CLASSROOM_TEACHER"]
        self.prefix = Path(os.environ["CLASSROOM_PREFIX"])
        self.test_lessons = Path(os.environ["CLASSROOM_TEST_LESSONS"])
        self.results = Path(os.environ["CLASSROOM_RESULTS"])
        self.results.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def classroom():
    return Classroom()


def pytest_terminal_summary(terminalreporter):
    if not TIMINGS:
        return
    terminalreporter.section("classroom timings")
    for name, seconds in TIMINGS.items():
        terminalreporter.write_line("%-64s %7.1f s" % (name, seconds))
    out = os.environ.get("CLASSROOM_RESULTS")
    if out:
        Path(out, "timings.json").write_text(json.dumps(TIMINGS, indent=1))
