"""Where each test runs, and how long each CI step may take: the one definition.

Every collected item gets *kinds* from where it lives and what it uses (below); a tier is a
selection of kinds, run on one machine, as one user, against one target. ``pytest --tier
NAME`` (or ``./run-tests --tier NAME``) runs one tier's selection; without ``--tier`` pytest
runs the ``host`` tier, the README's test command. ``pytest --tier-table`` prints, for every
item, its kinds and the tiers that run it (``tests/test_tiers.py`` checks that no item runs
twice on one machine as one user against one target, and that every item runs somewhere).

``.ci/run`` reads :data:`STEPS`: what CI runs, in which lane, and each step's time budget
with its reason. This module needs the standard library only (``.ci/run`` imports it before
``./setup`` made the .venv); pytest is imported by the hooks that need it.
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: What an item is. A kind is a pytest marker too: ``pytest -m target`` works.
KINDS = {
    "runtime": "starts containers on this machine, as root (tests/runtime)",
    "target": "drives the lab's target: this Linux, an ssh host or the VM (uses the "
              "`target` fixture, or is marked so)",
    "local_linux": "runs on this computer, which must be Linux (the probes' plumbing, the "
                   "not-Linux emulation)",
    "host": "proves something about this checkout on this computer only: pure Python, the "
            "scripts, the ssh and nobody plumbing, the course's sources",
    "notebook": "a notebook's stored outputs, under nbval",
    "lesson": "a student's notebook (notebooks/NN-*.ipynb, not a solution)",
    "any_os": "the notebook side on a computer that is not Linux (tests/lab/test_any_os.py)",
    "sudo": "what ./run-tests through sudo must get right for a user (the fresh tier's user)",
    "vm": "needs the Vagrant VM (tests/vm)",
    "browser": "the notebooks in JupyterLab and Chromium (tests/browser)",
    "classroom": "a class on a real JupyterHub (tests/classroom)",
}

#: Tests that prove what a user's ``./run-tests`` through sudo depends on: pytest as root
#: from a user's checkout (containers, a notebook's kernel, the work folder), after which
#: run-tests gives the files root wrote back to the user (the fresh tier checks that).
SUDO = ("tests/runtime/test_run.py", "tests/runtime/test_rootless.py",
        "tests/lab/test_namespaces.py", "notebooks/01-namespaces.ipynb")


class Tier:
    """A selection of items, and where it runs: ``machine``, ``user``, ``target``."""

    def __init__(self, name, machine, user, target, select, why):
        self.name, self.machine, self.user, self.target = name, machine, user, target
        self.select, self.why = select, why

    @property
    def where(self):
        return (self.machine, self.user, self.target)


def _host(kinds):
    return not kinds & {"vm", "browser", "classroom"}


TIERS = {t.name: t for t in [
    Tier("host", "ci", "root", "local", _host,
         "./run-tests, the README's test command: the runtime, the lab against this Linux, "
         "every notebook's stored outputs, the notebook side of a computer that is not Linux"),
    Tier("rootless", "ci", "nobody", "local", lambda k: "notebook" in k and "host" not in k,
         "scripts/rootless-tier: every notebook and solution as a user (nbval-lax)"),
    Tier("browser", "ci", "root", "local", lambda k: "browser" in k,
         "scripts/browser-tier: what a student sees in JupyterLab"),
    Tier("classroom", "ci", "students", "local", lambda k: "classroom" in k,
         "scripts/classroom-tier: students on a real JupyterHub"),
    Tier("fresh-root", "fresh", "root", "local", _host,
         "scripts/fresh-tier as root: the README's ./run-tests, verbatim, on a fresh Debian"),
    Tier("sudo", "fresh", "student", "local", lambda k: "sudo" in k,
         "scripts/fresh-tier as a sudo user: ./run-tests --tier sudo"),
    Tier("vm", "ci", "root", "vagrant",
         lambda k: "vm" in k or ("target" in k and "runtime" not in k) or "lesson" in k,
         "scripts/vm-tier: tests/vm, the lab's tests through the VM, the 7 lessons through it"),
]}


class Step:
    """A step of CI: its command, its lane, its budget in seconds and why that budget, and
    what checks that it left nothing behind: ``"machine"`` (scripts/leftovers: this
    machine's whole state, before and after), ``"vm"`` (only what the VM lane itself can
    leave: the host lane's checks see this machine's whole state meanwhile) or None."""

    def __init__(self, name, argv, budget, why, lane="host", tier=None, leftovers="machine",
                 env=None):
        self.name, self.argv, self.budget, self.why = name, argv, budget, why
        self.lane, self.tier, self.leftovers, self.env = lane, tier, leftovers, env or {}


#: What .ci/run runs: ``setup`` first, then two lanes side by side -- the VM lane (qemu: the
#: guest's work, mostly one core) and the host lane (everything else, one step after
#: another). A budget is an idle-machine measurement with room for a busy one; a step
#: past it fails. What bounds CI's time is the longest path, ``setup`` and then the longer
#: lane: :func:`critical_path` (issue 18: at most 2700 s, half of CI's 5400 s).
STEPS = [
    Step("setup", ["./setup"], 240, "the README's set-up: apt packages when missing, .venv "
         "from PyPI (measured 60-150 s)", lane="first", leftovers=None),
    Step("vm", ["scripts/vm-tier"], 2000, "a Debian VM under qemu (no KVM), 2 vCPUs as a "
         "student's (06's cpusets need two): packages, the box (debootstrap), boot and "
         "provision (~210 s), tests/vm, the lab through it, the 7 lessons through it "
         "(~950 s); measured 1176 s beside the host lane", lane="vm", tier="vm",
         leftovers="vm", env={"PYTHON": ".venv/bin/python", "MYDOCKER_LAB_VM_JUPYTER": "yes"}),
    Step("host", ["./run-tests"], 420, "the README's test command (issue 18: <= 240 s idle; "
         "measured 243 s beside the VM lane)",
         tier="host"),
    Step("rootless", ["scripts/rootless-tier"], 150, "a venv of its own, then every notebook "
         "as nobody (measured 61 s)", tier="rootless"),
    Step("browser", ["scripts/browser-tier"], 400, "14 notebooks run in Chromium, one "
         "interaction per explorer (measured 195 s)", tier="browser"),
    Step("classroom", ["scripts/classroom-tier"], 300, "a hub, 5 students at once on two "
         "notebooks, one on all seven, nbgrader's round trip (measured 134 s)",
         tier="classroom"),
    Step("fresh", ["scripts/fresh-tier"], 600, "two fresh Debian machines: the README as "
         "root (set-up, a container, the whole suite), as a sudo user (set-up, a container, "
         "--tier sudo); measured 310 s with the image cached, ~400 s building it",
         tier="fresh-root"),
]


def critical_path():
    """The seconds CI may take when every step uses its whole budget: ``setup``, then the
    longer of the two lanes."""
    by_lane = lanes()
    return (sum(s.budget for s in by_lane["first"])
            + max(sum(s.budget for s in steps) for lane, steps in by_lane.items()
                  if lane != "first"))


def lanes():
    """{lane: [steps]} in the order they run."""
    out = {}
    for step in STEPS:
        out.setdefault(step.lane, []).append(step)
    return out


# -- what an item is ------------------------------------------------------------------------
def _rel(item):
    try:
        return Path(str(item.path)).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(item.path)


def _fixture_closure(item):
    """The fixtures an item asks for itself, and theirs: not the autouse ones (tests/lab's
    module guard reads the target's hostname for every module, whatever its tests use)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return set()
    todo = list(info.argnames) + [n for m in item.iter_markers("usefixtures") for n in m.args]
    seen = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for fixturedef in info.name2fixturedefs.get(name, ())[-1:]:
            todo.extend(fixturedef.argnames)
    return seen


def kinds_of(item):
    path = _rel(item)
    kinds = {m.name for m in item.iter_markers() if m.name in KINDS}
    if path.endswith(".ipynb"):
        kinds.add("notebook")
        if path.startswith("notebooks/") and "/" not in path[len("notebooks/"):]:
            kinds.add("lesson")
        elif not path.startswith("notebooks/"):
            kinds.add("host")   # a fixture notebook of a test (tests/classroom/lessons)
    elif path.startswith("tests/runtime/"):
        kinds.add("runtime")
    elif path.startswith("tests/vm/"):
        kinds.add("vm")
    elif path.startswith("tests/browser/"):
        kinds.add("browser")
    elif path == "tests/lab/test_any_os.py":
        kinds |= {"any_os", "local_linux"}
    elif path.startswith("tests/lab/probes/"):
        kinds.add("local_linux")
    elif path.startswith("tests/lab/") and "target" in _fixture_closure(item):
        kinds.add("target")
    if path.startswith(SUDO):
        kinds.add("sudo")
    if not kinds - {"sudo", "local_linux"} or kinds == {"local_linux"}:
        kinds.add("host")
    return kinds


def tiers_of(kinds):
    return [name for name, tier in TIERS.items() if tier.select(kinds)]


# -- what this computer cannot run: a skip that names what is missing ------------------------
def vm_wanted():
    return (os.environ.get("MYDOCKER_LAB_VM") == "1"
            or os.environ.get("MYDOCKER_LAB_TARGET") == "vagrant")


def skip_reason(kinds):
    linux = sys.platform.startswith("linux")
    if "runtime" in kinds and not (linux and os.geteuid() == 0):
        where = "on Linux" if linux else "on Linux (this is %s)" % sys.platform
        return ("starts containers on this machine: needs root %s (run: ./run-tests; from "
                "macOS or Windows the VM runs the lab's: scripts/vm-tier)" % where)
    if kinds & {"local_linux", "any_os"} and not linux:
        return ("runs here, not on the target: needs Linux (this is %s); the host tier of a "
                "Linux machine runs it" % sys.platform)
    if "vm" in kinds and not vm_wanted():
        return ("needs the Vagrant VM: run scripts/vm-tier, or `vagrant up` and set "
                "MYDOCKER_LAB_TARGET=vagrant (or MYDOCKER_LAB_VM=1)")
    return None


# -- the pytest plugin (conftest.py registers it) ------------------------------------------
def pytest_addoption(parser):
    group = parser.getgroup("tiers", "where each test runs (tests/tiers.py)")
    group.addoption("--tier", choices=sorted(TIERS), default=None,
                    help="run one tier's selection (default: host, the README's test "
                         "command): " + "; ".join("%s: %s" % (t.name, t.why)
                                                  for t in TIERS.values()))
    group.addoption("--tier-table", action="store_true",
                    help="print every item's kinds and tiers as JSON lines, run nothing")


def pytest_configure(config):
    for name, what in KINDS.items():
        config.addinivalue_line("markers", "%s: %s" % (name, what))


def pytest_collection_modifyitems(config, items):
    import pytest
    tier = TIERS[config.getoption("tier") or "host"]
    if config.getoption("tier_table"):
        import json
        for item in items:
            kinds = kinds_of(item)
            print(json.dumps({"id": item.nodeid, "kinds": sorted(kinds),
                              "tiers": tiers_of(kinds)}))
        config.hook.pytest_deselected(items=list(items))
        items[:] = []
        return
    keep, drop = [], []
    for item in items:
        kinds = kinds_of(item)
        item.tier_kinds = kinds
        for kind in kinds:
            item.add_marker(getattr(pytest.mark, kind))
        if not tier.select(kinds):
            drop.append(item)
            continue
        keep.append(item)
        why = skip_reason(kinds)
        if why:
            item.add_marker(pytest.mark.skip(reason=why))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config):
    tier = TIERS[config.getoption("tier") or "host"]
    return "tier: %s (%s)" % (tier.name, tier.why)
