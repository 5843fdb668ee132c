"""tests/tiers.py, the one definition of where each test runs, holds: no test runs twice on one
machine as one user against one target, every test runs somewhere, the VM tier runs nothing
that proves something about this computer only, the budgets fit, and docs/tiers.md says
what the tiers are now."""
import json
import os
import subprocess
import sys
import textwrap
from itertools import combinations

import pytest

import tiers
from support import ROOT, load_script


@pytest.fixture(scope="module")
def table():
    """Every item of the whole suite (every tier's), with its kinds and tiers."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "--nbval", "--tier-table", "-q",
                           "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, MYDOCKER_LAB_TARGET="local"))
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert rows, proc.stdout[-3000:] + proc.stderr[-3000:]
    return rows


def test_no_item_runs_twice_on_one_machine_as_one_user_against_one_target(table):
    for a, b in combinations(tiers.TIERS.values(), 2):
        if a.where != b.where:
            continue
        both = [r["id"] for r in table if a.name in r["tiers"] and b.name in r["tiers"]]
        assert not both, "%s and %s both run on %s: %s" % (a.name, b.name, a.where, both[:10])


def test_every_item_runs_in_some_tier(table):
    nowhere = [r["id"] for r in table if not r["tiers"]]
    assert not nowhere, nowhere[:20]


def test_the_vm_tier_runs_only_what_the_vm_proves(table):
    vm = [r for r in table if "vm" in r["tiers"]]
    assert {k for r in vm for k in r["kinds"]} & {"host", "runtime", "local_linux",
                                                   "any_os", "browser", "classroom"} == set()
    ids = {r["id"].split("::")[0] for r in vm}
    lessons = {p for p in ids if p.startswith("notebooks/")}
    assert lessons == {"notebooks/" + n for n in os.listdir(os.path.join(ROOT, "notebooks"))
                       if n.endswith(".ipynb")}, "the 7 lessons, and no solution"
    assert {p for p in ids if p.startswith("tests/vm/")}, "tests/vm"
    assert any(p.startswith("tests/lab/") for p in ids), "the lab through the VM"


def test_each_kind_is_somewhere_and_each_tier_runs_something(table):
    seen_kinds = {k for r in table for k in r["kinds"]}
    assert seen_kinds == set(tiers.KINDS) - {"vm"} | ({"vm"} & seen_kinds)
    ran = {t for r in table for t in r["tiers"]}
    assert ran == set(tiers.TIERS)


def test_the_sudo_selection_is_small_and_proves_the_user_s_way(table):
    sudo = [r for r in table if "sudo" in r["tiers"]]
    assert 0 < len(sudo) < len([r for r in table if "host" in r["tiers"]]) / 5
    kinds = {k for r in sudo for k in r["kinds"]}
    assert {"runtime", "target", "notebook"} <= kinds  # containers, the lab, a kernel


def test_budgets_fit_with_headroom():
    """Every step within its budget means CI within 2700 s: half of its 5400 s limit."""
    assert tiers.critical_path() <= 2700, "setup + the longer lane: %d s" % tiers.critical_path()
    assert all(s.why and s.budget > 0 for s in tiers.STEPS)
    assert {s.lane for s in tiers.STEPS} == {"first", "host", "vm"}
    assert [s.tier for s in tiers.STEPS if s.tier] == [
        "vm", "host", "rootless", "browser", "classroom", "fresh-root"]
    # room for a busy machine, still far from CI's limit
    assert 5400 - tiers.critical_path() >= 0.3 * 5400


def test_docs_tiers_md_is_what_the_tests_are_now(table):
    """scripts/tiers-table --check, on the rows collected above (not a second collection)."""
    stale = load_script("tiers-table").stale(table)
    assert not stale, "out of date: %s: run scripts/tiers-table" % " ".join(
        os.path.relpath(p, ROOT) for p in stale)


def test_a_lab_test_that_drives_the_target_unmarked_fails(tmp_path):
    """The guard of tests/lab/conftest.py: without it a test that reaches the target through
    a helper's default would silently run only on this computer, never through the VM."""
    # not named test_*.py: no other pytest that walks tests/ at this moment collects it
    # (CI's VM lane may); pytest collects a file it is given by name whatever its name
    name = "tiers_guard_probe_%d.py" % os.getpid()
    path = os.path.join(ROOT, "tests", "lab", name)
    with open(path, "w") as f:
        f.write(textwrap.dedent("""\
            import pytest
            from mydocker_lab.lab.targets import get_target

            def test_unmarked():
                get_target().run(["true"])

            @pytest.mark.target
            def test_marked():
                get_target().run(["true"])

            def test_pure():
                assert 1 + 1 == 2
            """))
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "tests/lab/" + name], cwd=ROOT, capture_output=True, text=True,
                              timeout=120, env=dict(os.environ, MYDOCKER_LAB_TARGET="local"))
    finally:
        os.unlink(path)
    assert "1 failed, 2 passed" in proc.stdout, proc.stdout[-3000:]
    assert "take the `target` fixture" in proc.stdout
    assert "test_unmarked" in proc.stdout.split("short test summary")[-1]
