"""Project-wide pytest setup (tests/ and the notebooks under nbval)."""
import os
import shutil
import tempfile

import pytest

# where each test runs: tests/tiers.py (pytest --tier NAME, --tier-table)
pytest_plugins = ["tiers"]


def pytest_configure(config):
    # nbval opens the sanitize file relative to where pytest was started; anchor it at the
    # repository so `pytest --nbval` works from any directory.
    path = getattr(config.option, "nbval_sanitize_with", None)
    if path and not os.path.isabs(path):
        config.option.nbval_sanitize_with = str(config.rootpath / path)
    # The build-it-yourself track: each notebook's kernel gets a work folder of its own,
    # seeded with the pieces the notebooks before it build (mydocker_lab/lab/myrun/work.py),
    # so a notebook's stored outputs do not depend on which notebooks ran before it.
    config.myrun_work = tempfile.mkdtemp(prefix="myrun-nbval-")


def pytest_unconfigure(config):
    shutil.rmtree(getattr(config, "myrun_work", ""), ignore_errors=True)


@pytest.hookimpl(tryfirst=True)  # before nbval's setup starts the notebook's kernel
def pytest_runtest_setup(item):
    notebook = item.parent
    if (notebook is not None and notebook.path.suffix == ".ipynb"
            and not hasattr(notebook, "myrun_work")):
        from mydocker_lab.lab.myrun.work import prepare_for_nbval
        notebook.myrun_work = prepare_for_nbval(notebook.path, item.config.myrun_work)
