"""Notebook 04's helpers (run_flow.py) on the real runtime: the paused run flow, the
diagram, the checker."""
import json
import os
from types import SimpleNamespace

import pytest

from mydocker_lab import linux
from mydocker_lab.lab import run_flow as flow
from mydocker_lab.lab.display import Verdict
from mydocker_lab.lab.probes.support import children
from mydocker_lab.lab.widgets import Explorer

BOOK = (linux.CLONE_NEWUTS | linux.CLONE_NEWPID | linux.CLONE_NEWNS | linux.CLONE_NEWNET
        | linux.CLONE_NEWIPC)


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
    assert isinstance(w, Explorer)
    assert "▶ clone" in repr(w)  # shown before any move
    w.controls["step"].value = "proc"
    assert "hostname  lab" in repr(w)
    w.controls["step"].value = "init"
    tree = flow.host_view(run, "init").split("\n")
    assert tree[1].startswith("└─ PID ") and " …/mydocker_lab/__main__.py init --hostname " \
        in tree[1], tree
    assert tree[1] in repr(w)


def test_self_exe_is_the_running_file_even_renamed_or_removed(target):
    result = target.probe("self-exe")
    assert result["self"] == result["python"]
    assert [link for _what, link in result["steps"]] == [
        "/tmp/lab/prog", "/tmp/lab/prog.renamed", "/tmp/lab/prog.renamed (deleted)"]
    assert result["same_bytes_after_removal"] and result["write"] == "ETXTBSY"
    text = flow.self_exe(target).text()
    assert "<the Python interpreter>" in text and "ETXTBSY" in text


def test_the_process_tree_fits_whatever_the_machine(run):
    """A tree line holds the PID (up to 7 digits: pid_max's limit), the program and its
    subcommand, wherever the interpreter and the package live (a venv, a checkout, a long
    home directory, site-packages)."""
    long_python = "/home/a-student-with-a-long-name/miniconda3/envs/mydocker-lab/bin/python3.12"
    main = "/home/a-student-with-a-long-name/src/mydocker-lab/mydocker_lab/__main__.py"
    init = [long_python, "-I", "-S", main, "init", "--hostname", "lab", "--log-level", "debug"]
    parent = [long_python, "-m", "mydocker_lab", "--log-level", "debug", "run"]
    snap = {"host": [{"pid": 4194303, "depth": 0, "cmdline": parent},
                     {"pid": 4194304, "depth": 1, "cmdline": init}]}
    seen = dict(run.steps, init=dict(run.steps["init"], snapshot=snap))
    tree = flow.host_view(SimpleNamespace(steps=seen), "init").split("\n")
    assert tree[0] == "PID 4194303 python -m mydocker_lab --log-level debug run"
    assert tree[1].startswith("└─ PID 4194304 python -I -S …/mydocker_lab/__main__.py init "
                              "--hostname "), tree
    assert all(len(line) <= 74 for line in tree), tree


def test_diagram_is_deterministic_and_lit():
    assert flow.diagram("wait").html() == flow.diagram("wait").html()
    assert flow.diagram("wait").html() != flow.diagram("clone").html()
    assert "▶ wait" in flow.diagram("wait").text()
    with pytest.raises(ValueError):
        flow.diagram("nope")


def test_exit_codes_measured(target):
    table = flow.exit_codes(target)
    assert [row[2] for row in table.rows] == ["3", "125", "126", "127", "137"]


@pytest.mark.parametrize("answer", [
    BOOK,
    ["CLONE_NEWUTS", "CLONE_NEWPID", "CLONE_NEWNS", "CLONE_NEWNET", "CLONE_NEWIPC"],
    ("CLONE_NEWIPC", "CLONE_NEWNET", "CLONE_NEWNS", "CLONE_NEWPID", "CLONE_NEWUTS"),
    {"CLONE_NEWUTS", "CLONE_NEWPID", "CLONE_NEWNS", "CLONE_NEWNET", "CLONE_NEWIPC"},
    0x6c020000,
])
def test_check_clone_flags_right(target, answer):
    verdict = flow.check_clone_flags(answer, target)
    assert verdict.ok, verdict.text()
    assert "UTS, PID, mount, network, IPC" in verdict.message


@pytest.mark.parametrize("answer, message, hint", [
    (None, "no flags given yet", "combine"),
    (..., "no flags given yet", "combine"),
    (BOOK & ~linux.CLONE_NEWPID, "missing 1 namespace: CLONE_NEWPID", "would not be PID 1"),
    (BOOK & ~linux.CLONE_NEWNS, "missing 1 namespace: CLONE_NEWNS", "mount table"),
    (BOOK & ~linux.CLONE_NEWUTS, "CLONE_NEWUTS", "rename the host"),
    (BOOK & ~linux.CLONE_NEWNET, "CLONE_NEWNET", "network interfaces"),
    (BOOK & ~linux.CLONE_NEWIPC, "CLONE_NEWIPC", "System V IPC"),
    (linux.CLONE_NEWPID, "missing 4 namespaces", "CLONE_NEWUTS"),
    (BOOK & ~linux.CLONE_NEWIPC | linux.CLONE_NEWCGROUP, "missing 1", "drop CLONE_NEWCGROUP"),
    (BOOK | linux.CLONE_NEWCGROUP, "more than the book asks for: CLONE_NEWCGROUP", "drop"),
    (BOOK | linux.CLONE_NEWUSER, "more than the book asks for: CLONE_NEWUSER", "five flags"),
    # the made-up name must not pass (there is no CLONE_NEWMNT)
    (["CLONE_NEWUTS", "CLONE_NEWPID", "CLONE_NEWMNT", "CLONE_NEWNET", "CLONE_NEWIPC"],
     "there is no CLONE_NEWMNT", "CLONE_NEWNS"),
    (["CLONE_NEWUTS", "CLONE_NEWPID", "CLONE_NEWMOUNT"], "there is no CLONE_NEWMOUNT",
     "CLONE_NEWNS"),
    (["uts", "pid", "mnt", "net", "ipc"], "unknown flag 'uts'", "<sched.h>"),
    (["CLONE_NEWUTS", "bogus"], "unknown flag 'bogus'", "<sched.h>"),
    (["CLONE_NEWUTS", 5], "give an int", "e.g."),
    ([], "give an int", "e.g."),
    ("CLONE_NEWUTS|CLONE_NEWPID", "give an int", "e.g."),
    (1.0, "give an int", "e.g."),
    (True, "True/False", "combine"),
    (0, "no flag in it", "combine"),
    (-1, "no flag in it", "combine"),
    # not a namespace: CLONE_VM (0x100) used to crash the check and leave its probe's child
    (0x100, "0x100 (CLONE_VM)", "threads, not containers"),
    (BOOK | 0x100, "0x100 (CLONE_VM)", "threads, not containers"),
    (BOOK | 0x10000 | 0x800 | 0x100, "CLONE_THREAD", "threads, not containers"),
    (BOOK | 0x4000, "CLONE_VFORK", "threads, not containers"),
    (BOOK | 0x11, "not a clone() flag", "threads, not containers"),
    (BOOK + linux.CLONE_NEWNS, "0x40000 (CLONE_SYSVSEM)", "add (+) a flag twice"),
    # + carries into the next bits: UTS twice is IPC, IPC twice is USER
    (BOOK + linux.CLONE_NEWUTS, "missing 2 namespaces: CLONE_NEWIPC, CLONE_NEWUTS",
     "drop CLONE_NEWUSER"),
    (1 << 40, "not a clone() flag", "use only the CLONE_NEW*"),
])
def test_check_clone_flags_wrong(target, answer, message, hint):
    verdict = flow.check_clone_flags(answer, target)
    assert isinstance(verdict, Verdict) and not verdict, verdict.text()
    assert message in verdict.message and hint in verdict.hint, verdict.text()


def test_check_clone_flags_leaves_no_process(target):
    """Whatever the answer, no probe and no child of one is left (0x100 once left a child
    stuck in a pipe read with PPID 1)."""
    mine = set(children(os.getpid()))
    for answer in (0x100, BOOK | 0x100, BOOK, BOOK & ~linux.CLONE_NEWPID):
        flow.check_clone_flags(answer, target)
    assert set(children(os.getpid())) <= mine
    probes = [pid for pid in os.listdir("/proc") if pid.isdigit()
              and _cmdline_has(pid, b"clone-flags")]
    assert probes == []


def _cmdline_has(pid, word):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            return word in f.read()
    except OSError:
        return False


def test_the_probe_leaves_none_of_its_processes_behind(target):
    result = target.probe("run-flow")
    assert result["left_on_host"] == [] and result["exit"] == 3
    # every process the probe saw in its container's tree, read again on the target (only
    # those: another run elsewhere on the machine is not ours to judge)
    seen = {entry["pid"]: entry["cmdline"] for snap in result["steps"]
            for entry in snap["host"][1:]}
    assert len(seen) >= 2  # the container's PID 1 and its sleep
    still = target.run([target.python, "-c", _STILL_RUNNING, json.dumps(seen)], check=True)
    assert json.loads(still.stdout) == [], "a process of the probe's container still runs"


#: Prints (as JSON) which of the given {pid: argv} still run that argv (a reused PID does
#: not count; a zombie, whose cmdline is empty, has ended).
_STILL_RUNNING = """import json, sys
still = []
for pid, argv in json.loads(sys.argv[1]).items():
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            if f.read().rstrip(b"\\0").split(b"\\0") == [a.encode() for a in argv]:
                still.append(int(pid))
    except (FileNotFoundError, ProcessLookupError):
        pass
print(json.dumps(still))
"""
