"""environment.yml must not drift from pyproject.toml.

pyproject.toml is the single source of truth for dependencies; environment.yml only asks conda
for Python and pip, then pip-installs this repo with every extra. These tests fail when someone
adds a dependency to environment.yml directly, drops an extra, or pins a Python that
pyproject's requires-python rejects.
"""
import re
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read environment.yml (in the test extra)")
if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli", reason="tomli is needed to read pyproject.toml on Python 3.10")
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
# conda packages environment.yml may list itself: the interpreter and the installer
CONDA_ALLOWED = {"python", "pip"}


@pytest.fixture(scope="module")
def env():
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def project():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def _conda_deps(env):
    return [d for d in env["dependencies"] if isinstance(d, str)]


def _pip_deps(env):
    blocks = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(blocks) == 1, "environment.yml needs exactly one `- pip:` block"
    return blocks[0]


def _conda_name(spec):
    return re.split(r"[=<>!~ ]", spec, maxsplit=1)[0].strip().lower()


def test_conda_lists_only_python_and_pip(env):
    names = [_conda_name(d) for d in _conda_deps(env)]
    assert sorted(names) == sorted(CONDA_ALLOWED), (
        f"environment.yml lists conda packages {names}; every dependency other than "
        f"{sorted(CONDA_ALLOWED)} belongs in pyproject.toml")


def test_pip_installs_this_repo_with_every_extra(env, project):
    pip = _pip_deps(env)
    assert len(pip) == 1, f"the pip block must install only this repo, not {pip}"
    m = re.fullmatch(r"-e\s+\.\[([A-Za-z0-9_,\- ]+)\]", pip[0].strip())
    assert m, f"expected `-e .[extra,...]`, got {pip[0]!r}"
    extras = {e.strip() for e in m.group(1).split(",")}
    declared = set(project.get("optional-dependencies", {}))
    assert extras == declared, (
        f"environment.yml installs extras {sorted(extras)}, pyproject declares {sorted(declared)}")


def test_python_pin_satisfies_requires_python(env, project):
    pins = [d for d in _conda_deps(env) if _conda_name(d) == "python"]
    assert len(pins) == 1, "environment.yml must pin python exactly once"
    m = re.fullmatch(r"python\s*=+\s*(\d+\.\d+)(?:\.\*)?", pins[0].strip())
    assert m, f"expected `python=X.Y`, got {pins[0]!r}"
    requires = SpecifierSet(project["requires-python"])
    assert Version(m.group(1) + ".0") in requires, (
        f"environment.yml's python={m.group(1)} does not satisfy requires-python {requires}")


def test_env_name_matches_project(env, project):
    assert env["name"] == project["name"]
