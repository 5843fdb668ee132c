"""Notebook 04's lab helpers on the real runtime: the paused run flow, the diagram, the checker."""
import pytest
from ipywidgets import interactive

from mydocker_lab import linux
from mydocker_lab.lab import flow
from mydocker_lab.lab.targets import get_target


@pytest.fixture(scope="module")
def target():
    return get_target()


@pytest.fixture(scope="module")
def run(target):
    return flow.capture(target)


def test_the_flow_pauses_at_every_step_in_order(run):
    assert run.order() == flow.KEYS
    assert run.exit == 3 and run.result["left_on_host"] == []


def test_clone_step_child_is_a_copy_and_pid1(run):
    snap = run.steps["clone"]["snapshot"]
    parent, child = snap["host"][0], snap["host"][1]
    assert child["cmdline"] == parent["cmdline"]  # clone: the same program, not yet init
    inside = snap["inside"]
    assert inside["new_pid_namespace"] and [p["pid"] for p in inside["processes"]] == [1]
    assert not inside["own_proc"] and inside["hostname"] == run.host_hostname


def test_init_then_proc_then_command(run):
    init = run.steps["init"]["snapshot"]
    assert "init" in init["host"][1]["cmdline"]
    assert init["inside"]["hostname"] == run.host_hostname  # not set yet
    proc = run.steps["proc"]["snapshot"]["inside"]
    assert proc["own_proc"] and proc["hostname"] == "lab" and proc["root"] == "private"
    execve = run.steps["execve"]
    inside = execve["snapshot"]["inside"]
    assert [(p["pid"], p["cmdline"][0]) for p in inside["processes"]] == [(1, "sh"), (2, "sleep")]
    assert execve["snapshot"]["host"][1]["pid"] == run.steps["clone"]["snapshot"]["host"][1]["pid"]
    assert execve["lines"] == ["PID 1 started sleep as PID 2"]
    assert run.steps["wait"]["snapshot"]["inside"] is None
    assert '"msg":"init come on"' in run.steps["init"]["lines"][0]


def test_views_and_step_display(run):
    text = flow.show_step(run, "execve").text()
    assert "▶ execve" in text and "PID 2  sleep 30" in text
    assert "still the host's" in flow.inside_view(run, "clone")


def test_what_clone_copied_is_labelled(run):
    """The host's hostname and / propagation differ per machine: compared, then labelled."""
    assert run.host_root in ("shared", "private")
    for key in ("clone", "init"):
        snap = run.steps[key]["snapshot"]["inside"]
        assert snap["hostname"] == run.host_hostname and snap["root"] == run.host_root
        view = flow.inside_view(run, key).split("\n")
        assert view[:2] == ["hostname  <the host's name> (clone copied it)",
                            "/         <the host's: shared or private> (clone copied it)"]
    for key in ("private", "proc", "execve"):
        assert flow.inside_view(run, key).split("\n")[1] == "/         private"
    assert "this host" not in " ".join(step[2] for step in flow.STEPS)
    assert "left on the host: none" in flow.host_view(run, "exit")
    assert flow.show_step(run, "clone").html().count("<svg") == 1


def test_stepper_widget(run):
    w = flow.stepper(run)
    assert isinstance(w, interactive)
    w.children[0].value = "proc"
    assert "hostname  lab" in w.result.text()
    w.children[0].value = "init"
    assert "init --hostname" in w.result.text()


def test_diagram_is_deterministic_and_lit():
    assert flow.diagram("wait").html() == flow.diagram("wait").html()
    assert flow.diagram("wait").html() != flow.diagram("clone").html()
    assert "▶ wait" in flow.diagram("wait").text()
    with pytest.raises(ValueError):
        flow.diagram("nope")


def test_exit_codes_measured(target):
    table = flow.exit_codes(target)
    assert [row[2] for row in table.rows] == ["3", "125", "126", "127", "137"]


def test_check_clone_flags(target):
    book = (linux.CLONE_NEWUTS | linux.CLONE_NEWPID | linux.CLONE_NEWNS | linux.CLONE_NEWNET
            | linux.CLONE_NEWIPC)
    assert flow.check_clone_flags(book, target).ok
    assert flow.check_clone_flags(["uts", "pid", "CLONE_NEWNS", "NEWNET", "ipc"], target).ok
    no_pid = flow.check_clone_flags(book & ~linux.CLONE_NEWPID, target)
    assert not no_pid and "CLONE_NEWPID" in no_pid.hint and "PID 1" in no_pid.hint
    extra = flow.check_clone_flags(book | linux.CLONE_NEWCGROUP, target)
    assert not extra and "CLONE_NEWCGROUP" in extra.message
    assert not flow.check_clone_flags(None, target)
    assert not flow.check_clone_flags(["bogus"], target)


#: Prints the pid of each process whose command line holds the bytes given in hex.
_RUNNING_WITH = """import os, sys
needle = bytes.fromhex(sys.argv[1])
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            if needle in f.read():
                print(pid)
    except (FileNotFoundError, ProcessLookupError):
        pass
"""


def test_probe_leaves_nothing_behind(target):
    from mydocker_lab.lab.probes.flow import COMMAND
    result = target.probe("run-flow")
    assert result["left_on_host"] == [] and result["exit"] == 3
    script = "\0".join(COMMAND).encode()
    # every process on the target (this Linux, or the VM), read there
    still = target.run([target.python, "-c", _RUNNING_WITH, script.hex()], check=True)
    assert still.stdout.split() == [], "a container of the probe is still running"
