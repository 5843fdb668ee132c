"""Notebook 02's helpers (proc_mount_flags.py), for real: ps in a PID namespace, the flag
matrix, propagation (the book's /proc bug in a throw-away namespace), the checkers — and
the host unchanged."""
import json
import os

import pytest

from mydocker_lab import linux
from mydocker_lab.container import init
from mydocker_lab.lab import proc_mount_flags as mf
from mydocker_lab.lab.display import Verdict
from mydocker_lab.lab.labels import HOST_INIT
from mydocker_lab.lab.targets import TargetError
from support import ROOT, target_host_state


def _host_state(target):
    """The target's (this Linux, or the VM): where the experiments run."""
    state = target_host_state(target)
    state["root"] = [line.split()[6:7] for line in state["mounts"].splitlines()
                     if line.split()[4] == "/"]
    return state


@pytest.fixture(autouse=True)
def host_unchanged(target):
    """Every test: the host's mount table (and its / propagation) and /proc as before."""
    before = _host_state(target)
    yield
    assert _host_state(target) == before


def test_ps_needs_its_own_proc_in_a_new_pid_namespace(target):
    view = mf.ps_in_new_pid_namespace(target)
    left, right = view.left.splitlines(), view.right.splitlines()
    assert left[1] == "PID 1" and right[1] == "PID 1"          # the shell is PID 1 either way
    # ...but ps sees the host's PID 1 (its name, which differs per machine, as a label)
    assert left[4].split(None, 1) == ["1", HOST_INIT]
    assert left[7].split(None, 1) == ["1", HOST_INIT] and left[8].split() == ["2", "kthreadd"]
    assert right[4].split() == ["1", "sh"]                     # ...unless /proc is its own
    assert [line.split()[1] for line in right[7:9]] == ["sh", "ps"]
    assert int(left[-1].rsplit(" ", 1)[1]) > 1 and right[-1] != left[-1]


def test_container_proc_is_mounted_with_the_books_flags(target):
    view = mf.proc_mount_options(target)
    top = view.right.splitlines()[-1]
    assert top.split()[:2] == ["/proc", "proc"]
    assert {"nosuid", "nodev", "noexec"} <= set(top.split()[2].split(","))
    # the host's own options (they differ per machine) are a label, on the host and on the
    # container's copy of the host's mount
    host_line = "/proc  proc   " + mf.HOST_OPTIONS
    assert view.left.splitlines()[1:] == [host_line]
    assert view.right.splitlines()[1:-1] == [host_line]
    assert init.PROC_FLAGS == linux.MS_NOEXEC | linux.MS_NOSUID | linux.MS_NODEV
    assert mf.flags_text(init.PROC_FLAGS) == "MS_NOEXEC | MS_NOSUID | MS_NODEV = 0xe"


@pytest.mark.parametrize("value, refused, options", [
    (0, set(), set()),
    (linux.MS_NOEXEC, {"MS_NOEXEC"}, {"noexec"}),
    (linux.MS_NOSUID, {"MS_NOSUID"}, {"nosuid"}),
    (linux.MS_NODEV, {"MS_NODEV"}, {"nodev"}),
    (linux.MS_NOSUID | linux.MS_NODEV, {"MS_NOSUID", "MS_NODEV"}, {"nosuid", "nodev"}),
])
def test_each_flag_refuses_exactly_its_thing(value, refused, options, target):
    report = mf.run_flags(value, target)
    matrix = mf.FlagMatrix(report)
    assert {k for k, v in matrix.refused.items() if v} == refused
    assert set(report["options"].split(",")) & {"noexec", "nosuid", "nodev"} == options
    if "MS_NOEXEC" in refused:
        assert report["exec"] == {"ok": False, "error": "EACCES"}
    else:
        assert report["exec"]["output"] == "hello from a script"
    if "MS_NODEV" in refused:
        assert report["device"] == {"ok": False, "error": "EACCES"}
    if value == linux.MS_NOSUID:
        assert report["setuid"] == {"ran": True, "euid": 65534}
    if value == 0:
        assert report["setuid"] == {"ran": True, "euid": 0}


def test_flag_matrix_probe_refuses_other_flags(target):
    with pytest.raises(TargetError):
        mf.run_flags(linux.MS_REC, target)


def test_flag_explorer_widget(target):
    widget = mf.flag_explorer(target)
    boxes = {box.description: box for box in widget.children[:3]}
    assert sorted(boxes) == ["MS_NODEV", "MS_NOEXEC", "MS_NOSUID"]
    boxes["MS_NODEV"].value = True
    result = widget.result
    assert isinstance(result, mf.FlagMatrix) and result.report["flags"] == linux.MS_NODEV
    assert result.refused == {"MS_NOEXEC": False, "MS_NOSUID": False, "MS_NODEV": True}
    boxes["MS_NOEXEC"].value = True
    assert "EACCES (noexec)" in widget.result.text()
    assert "MS_NOEXEC | MS_NODEV = 0xc" in widget.result.text()


@pytest.mark.parametrize("host, container, leaks", [
    ("shared", "book", True),        # the book's bug on a systemd host
    ("shared", "fix", False),
    ("shared", "mydocker-lab", False),
    ("private", "book", False),      # this VM: the bug hides
])
def test_propagation_reproduces_the_books_bug_only_on_a_shared_host(host, container, leaks,
                                                                    target):
    text, leaked = mf.propagation(host, container, target)
    assert leaked is leaks, text
    assert "findmnt -n -o PROPAGATION /proc\n%s" % host in text
    host_after = text.split("host# ps -o comm= -p 1", 1)[1]
    assert ("No such file or directory" in host_after) is leaks
    # the host's ps works unless the bug struck; its PID 1 is shown as a label
    assert (host_after.splitlines()[1] == HOST_INIT) is not leaks


def test_propagation_explorer_widget(target):
    widget = mf.propagation_explorer(target)
    host, container = widget.children[:2]
    assert widget.result.leaked                 # default: shared host, the book's init
    container.value = "fix"
    assert not widget.result.leaked
    host.value = "private"
    container.value = "book"
    assert not widget.result.leaked and "private" in widget.result.text()


def test_propagation_diagram_is_deterministic():
    a, b = mf.propagation_diagram("shared"), mf.propagation_diagram("shared")
    assert a.html() == b.html() and "peers" in a.text()
    assert "arrived" in a.html()
    assert "arrived" not in mf.propagation_diagram("shared", True).html()
    assert "arrived" not in mf.propagation_diagram("private").html()


@pytest.mark.parametrize("answer", [
    'mount -t tmpfs -o noexec tmpfs "$SCRATCH"',
    'mount -t tmpfs -o nosuid,noexec,nodev x $SCRATCH',
])
def test_noexec_exercise_accepts(answer, target):
    verdict = mf.check_noexec_mount(answer, target)
    assert isinstance(verdict, Verdict) and verdict.ok, verdict.text()
    assert "hello from a script" in verdict.message       # sh script.sh still works


@pytest.mark.parametrize("answer, expect", [
    ('mount -t tmpfs tmpfs "$SCRATCH"', "still runs"),
    ("true", "nothing is mounted"),
    ('mount -t tmpfs -o noexec tmpfs /nonexistent-dir', "failed"),
    ('mount -t tmpfs -o ro,noexec tmpfs "$SCRATCH"', "cannot write"),
])
def test_noexec_exercise_rejects_with_a_hint(answer, expect, target):
    verdict = mf.check_noexec_mount(answer, target)
    assert not verdict.ok and expect in verdict.message and verdict.hint, verdict.text()


def test_usb_flags_exercise(target):
    assert mf.check_removable_media_flags(linux.MS_NOSUID | linux.MS_NODEV, target).ok
    for wrong, hint in ((0, "setuid"), (linux.MS_NOSUID, "device"),
                        (linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC, "MS_NOEXEC"),
                        ("six", "|"), (linux.MS_REC, "only")):
        verdict = mf.check_removable_media_flags(wrong, target)
        assert not verdict.ok and hint in verdict.hint, verdict.text()


def test_the_notebook_has_its_parts():
    path = os.path.join(ROOT, "notebooks",
                        "02-proc-mount-flags.ipynb")
    with open(path) as f:
        text = json.dumps(json.load(f))
    for part in ("You will learn", "Check yourself", "<details>", "init.go", "container/init.py",
                 "PROC_FLAGS", "MS_PRIVATE", "Book \\u2194 Python"):
        assert part in text, part
