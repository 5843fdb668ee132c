"""Notebook 02's helpers (proc_mount_flags.py), for real: ps in a PID namespace, the flag
matrix, propagation (the book's /proc bug in a throw-away namespace), the checkers — and
the host unchanged."""
import json
import os
import re

import sys

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
    # ...but ps sees the host's PID 1 (its name, which differs per machine, as a label) and
    # all the host's processes (however they are numbered: no small PID is assumed)
    assert left[4].split(None, 1) == ["1", HOST_INIT]
    assert left[6] == mf.HOST_PROCESSES
    assert right[4].split() == ["1", "sh"]                     # ...unless /proc is its own
    assert right[6] == "3"                                     # sh, ps and wc
    # /proc/self is the reader (readlink), numbered by that /proc's namespace: new each time
    first, second = [int(n) for n in re.findall(r"PID (\d+)", left[-1])]
    assert second > first > 1
    assert re.fullmatch(r"/proc/self: PID (\d), then PID (\d)", right[-1])


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
    if "MS_NOEXEC" in refused:   # execve and mmap(PROT_EXEC): refused
        assert report["exec"] == {"ok": False, "error": "EACCES", "mmap_exec": "EPERM"}
    else:
        assert report["exec"]["output"] == "hello from a script"
        assert report["exec"]["mmap_exec"] == "ok"
    if "MS_NODEV" in refused:
        assert report["device"] == {"ok": False, "error": "EACCES"}
    if value == linux.MS_NOSUID:
        assert report["setuid"] == {"ran": True, "euid": 65534}
    if value == 0:
        assert report["setuid"] == {"ran": True, "euid": 0}
    # the result shown without root, labelled as root's, is what root really sees
    suid_row = [line for line in matrix.text().splitlines() if "] MS_NOSUID" in line][0]
    assert suid_row.endswith("  " + mf.root_setuid_result(value))


@pytest.mark.parametrize("value", [0, linux.MS_NOEXEC, linux.MS_NOSUID, linux.MS_NODEV,
                                   linux.MS_NOEXEC | linux.MS_NOSUID | linux.MS_NODEV])
def test_the_flag_matrix_without_root(value, nobody):
    """As nobody: noexec on a tmpfs and nodev on a bind mount of /dev/null, in a user and mount
    namespace of its own; the setuid row is root's result, labelled, and says why."""
    matrix = mf.FlagMatrix(mf.run_flags(value, nobody))
    assert matrix.rootless and matrix.report["device_made_by"] == "bind"
    assert matrix.refused == {"MS_NOEXEC": bool(value & linux.MS_NOEXEC),
                              "MS_NOSUID": bool(value & linux.MS_NOSUID),
                              "MS_NODEV": bool(value & linux.MS_NODEV)}
    text = matrix.text()
    assert mf.AS_ROOT + mf.root_setuid_result(value) in text
    assert "needs a second uid" in text and "newuidmap" in text


def test_flag_matrix_probe_refuses_other_flags(target):
    with pytest.raises(TargetError):
        mf.run_flags(linux.MS_REC, target)


def test_flag_explorer_widget(target):
    from mydocker_lab.lab.widgets import Explorer
    widget = mf.flag_explorer(target)
    assert isinstance(widget, Explorer) and widget.runs == 1   # its result before any click
    boxes = {box.description: box for box in widget.controls.values()}
    assert sorted(boxes) == ["MS_NODEV", "MS_NOEXEC", "MS_NOSUID"]
    boxes["MS_NODEV"].value = True
    result = widget.result
    assert isinstance(result, mf.FlagMatrix) and result.report["flags"] == linux.MS_NODEV
    assert result.refused == {"MS_NOEXEC": False, "MS_NOSUID": False, "MS_NODEV": True}
    boxes["MS_NOEXEC"].value = True
    assert "EACCES (noexec)" in widget.result.text()
    assert "MS_NOEXEC | MS_NODEV = 0xc" in widget.result.text()
    assert repr(widget) == widget.result.text()


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
    # a command is shown as a student types it, never with this machine's interpreter path
    assert sys.executable not in text and "python" not in text
    if container == "mydocker-lab":
        assert "host# mydocker-lab --log-level error run --hostname lab ps -e" in text


@pytest.mark.parametrize("container, leaks", [("book", True), ("fix", False),
                                               ("mydocker-lab", False)])
def test_propagation_without_root(container, leaks, nobody):
    """As nobody, in a user namespace of its own and a mount namespace it owns: the same."""
    text, leaked = mf.propagation("shared", container, nobody)
    assert leaked is leaks, text


def test_ps_without_root(nobody):
    view = mf.ps_in_new_pid_namespace(nobody)
    assert view.left.splitlines()[4].split(None, 1) == ["1", HOST_INIT]
    assert view.right.splitlines()[4].split() == ["1", "sh"]


def test_the_chapter_3_container_opens_device_nodes_it_makes(target):
    text = mf.devices_in_the_container(target).text()
    assert "c 1 3 (null): opened" in text
    assert "b 8 0 (sda): " + mf.DISK_NOT_REFUSED in text     # not EACCES: no nodev there
    assert "EACCES" not in text and "Permission denied" not in text


def test_propagation_explorer_widget(target):
    widget = mf.propagation_explorer(target)
    host, container = widget.controls["host"], widget.controls["container"]
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
    'mount -o noexec -t tmpfs none "$SCRATCH"',
    'mount -t tmpfs -o size=1m,noexec scratch "$SCRATCH" && echo mounted',
    'mount -t tmpfs tmpfs "$SCRATCH" && mount -o remount,noexec "$SCRATCH"',
])
def test_noexec_exercise_accepts(answer, target):
    verdict = mf.check_noexec_mount(answer, target)
    assert isinstance(verdict, Verdict) and verdict.ok, verdict.text()
    assert "hello from a script" in verdict.message       # sh script.sh still works


@pytest.mark.parametrize("answer, expect, hint", [
    ('mount -t tmpfs tmpfs "$SCRATCH"', "still runs", "MS_NOEXEC"),
    ('mount -t tmpfs -o nosuid,nodev tmpfs "$SCRATCH"', "still runs", "MS_NOEXEC"),
    ('mount -t tmpfs -o exec tmpfs "$SCRATCH"', "still runs", "MS_NOEXEC"),
    ("true", "nothing is mounted", "mount a tmpfs"),
    ('echo noexec', "nothing is mounted", "mount a tmpfs"),
    ('mount -t tmpfs -o noexec tmpfs /nonexistent-dir', "failed", "by hand"),
    ('mount -t tmpfs -o noexec tmpfs', "failed", "by hand"),
    ('mount -t tmpfs -o ro,noexec tmpfs "$SCRATCH"', "cannot write", "writable"),
    ("", "not a shell command", "string"),
    (None, "not a shell command", "string"),
])
def test_noexec_exercise_rejects_with_a_hint(answer, expect, hint, target):
    verdict = mf.check_noexec_mount(answer, target)
    assert not verdict.ok and expect in verdict.message, verdict.text()
    assert verdict.hint and hint in verdict.hint, verdict.text()


def test_noexec_exercise_without_root(nobody):
    assert mf.check_noexec_mount('mount -t tmpfs -o noexec tmpfs "$SCRATCH"', nobody).ok
    wrong = mf.check_noexec_mount('mount -t tmpfs tmpfs "$SCRATCH"', nobody)
    assert not wrong.ok and "still runs" in wrong.message


def test_usb_flags_exercise(target):
    assert mf.check_removable_media_flags(linux.MS_NOSUID | linux.MS_NODEV, target).ok
    for wrong, hint in ((0, "setuid"), (linux.MS_NOSUID, "device"),
                        (linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC, "MS_NOEXEC"),
                        ("six", "|"), (linux.MS_REC, "only"), (None, "|"), (6.0, "|"),
                        (True, "|"), (-1, "only"), (linux.MS_NOEXEC, "MS_NOEXEC"),
                        (linux.MS_NODEV, "setuid")):
        verdict = mf.check_removable_media_flags(wrong, target)
        assert not verdict.ok and hint in verdict.hint, verdict.text()


def test_usb_flags_exercise_without_root(nobody):
    verdict = mf.check_removable_media_flags(linux.MS_NOSUID | linux.MS_NODEV, nobody)
    assert verdict.ok and "as root sees it" in verdict.message, verdict.text()
    assert not mf.check_removable_media_flags(linux.MS_NOSUID, nobody).ok


def test_the_notebook_has_its_parts():
    path = os.path.join(ROOT, "notebooks",
                        "02-proc-mount-flags.ipynb")
    with open(path) as f:
        text = json.dumps(json.load(f))
    for part in ("You will learn", "Check yourself", "<details>", "init.go", "container/init.py",
                 "PROC_FLAGS", "MS_PRIVATE", "Book \\u2194 Python"):
        assert part in text, part
