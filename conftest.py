"""Project-wide pytest setup (tests/ and the notebooks under nbval)."""
import os


def pytest_configure(config):
    # nbval opens the sanitize file relative to where pytest was started; anchor it at the
    # repository so `pytest --nbval` works from any directory.
    path = getattr(config.option, "nbval_sanitize_with", None)
    if path and not os.path.isabs(path):
        config.option.nbval_sanitize_with = str(config.rootpath / path)
