"""Notebook 05's helpers (drive_cli.py): the book's terminal, the tour, the live-shell
explorer, the checker (a table of right and wrong answers)."""
import os
import subprocess
import sys

import pytest

from mydocker_lab.lab import drive_cli as lab
from mydocker_lab.lab.labels import HOST_NAME
from mydocker_lab.lab.targets import LocalTarget
from mydocker_lab.lab.widgets import Explorer


def test_the_books_terminal_works_until_exit(target):
    shown = lab.book_terminal(target)
    text = shown.text()
    assert "✘" not in text and text.count("✔") == 4, text
    assert "Cannot set tty process group" in text
    assert "# the shell exited with status 2" in text  # exit 4, clobbered


def test_the_tour_and_the_host_keeps_its_name(target):
    host = target.run(["hostname"], check=True).stdout.strip()
    shown = lab.tour(target)
    assert target.run(["hostname"], check=True).stdout.strip() == host
    text = shown.text()
    assert text.count("✔") == 2 and "✘" not in text
    # the host's name belongs to the machine: compared, shown as the label, twice (unchanged)
    left = shown.parts[0].left
    assert left.startswith("host$ hostname\n%s\n" % HOST_NAME) and left.count(HOST_NAME) == 2
    assert host not in left.split("\n")
    assert "ctr# exit 3\n# mydocker-lab exited with status 3" in shown.parts[0].right


def test_explorer_runs_each_command_once_in_one_live_shell(target):
    w = lab.explorer(target)
    assert isinstance(w, Explorer) and w.runs == 1
    assert "no container yet" in repr(w)  # shown at once, before any click
    box = w.controls["command"]
    try:
        box.value = 'n=$((n+1)); echo "runs=$n"'
        w.run()  # what one click, or Enter, does
        assert repr(w).endswith("runs=1")
        w.run()
        answers = [line for line in repr(w).splitlines() if line.startswith("runs=")]
        assert answers == ["runs=1", "runs=2"]  # once per run, in the same shell
        box.value = "hostname other"
        w.run()
        box.value = "hostname"
        w.run()
        assert repr(w).endswith("ctr# hostname\nother")
        box.value = "exit 5"
        w.run()
        assert "exited with status 5" in repr(w) and w.shell.session is None
        box.value = "echo $$"
        w.run()  # a new shell for the next command
        assert repr(w).endswith("ctr# echo $$\n1")
    finally:
        assert "no container left running" in w.shell.close().text()
    assert w.shell.session is None


RIGHT = [
    [("hostname other", ""), ("hostname", "other")],
    [("hostname", "lab"), ("hostname other && echo renamed", "renamed"), ("hostname", "other")],
    [("hostname other && hostname", "other")],                 # rename and ask, one line
    [("hostname box", ""), ("cat /proc/sys/kernel/hostname", "box")],
    [("hostname other", ""), ("uname -n", "other")],
]


@pytest.mark.parametrize("steps", RIGHT, ids=range(len(RIGHT)))
def test_checker_accepts_right_answers(target, steps):
    verdict = lab.check_hostname_isolation(steps, target)
    assert verdict.ok, verdict


WRONG = [  # (steps, what the message says, what the hint says)
    ([("hostname other", ""), ("echo other", "other")], "never asked",
     "'echo other' prints 'other' whatever"),
    ([("hostname other", "")], "never asked", "sends hostname and expects 'other'"),
    ([("hostname", "lab"), ("hostname other", "")], "never asked", "sends hostname"),
    ([("hostname", "lab")], "still 'lab'", "rename it"),
    ([("hostname other", "other")], "step 1: 'other' never came", "prints nothing"),
    ([("hostname", "other")], "step 1: 'other' never came", "it printed 'lab'"),
    ([], "no steps yet", "add (send, expect) pairs"),
    (None, "list of (send, expect) pairs", "e.g."),
    ("hostname", "list of (send, expect) pairs", "e.g."),
    ([("hostname",)], "list of (send, expect) pairs", "e.g."),
    ([("hostname", 3)], "list of (send, expect) pairs", "e.g."),
    ([("", "lab")], "empty line", "sends a command"),
]


@pytest.mark.parametrize("steps,message,hint", WRONG, ids=range(len(WRONG)))
def test_checker_rejects_wrong_answers_with_a_hint(target, steps, message, hint):
    verdict = lab.check_hostname_isolation(steps, target)
    assert not verdict.ok, verdict
    assert message in verdict.message and hint in verdict.hint, verdict


#: A runtime without CLONE_NEWUTS: the shell runs in its caller's UTS namespace.
NO_UTS = ["sh", "-c", 'hostname lab; export PS1="ctr# "; shift 8; exec "$@"', "no-uts-runtime"]


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="runs here, not on the target: needs Linux (this is %s); the VM "
                           "tier runs it (scripts/vm-tier)" % sys.platform)
def test_checker_sees_a_runtime_that_lets_the_host_be_renamed():
    """The host half can fail: with a runtime that shares the host's UTS namespace, in a
    throw-away UTS namespace of its own (the real host is never renamed). That namespace is
    this machine's, so the checker's steps run here too (the local target), whatever target
    the suite drives: on the VM, this runtime would rename the VM."""
    local = LocalTarget()
    code = ("from mydocker_lab.lab import drive_cli as lab\n"
            "v = lab.check_hostname_isolation([('hostname other', ''), ('hostname', 'other')],"
            " runtime=%r)\nprint(v)" % (NO_UTS,))
    unshare = ["unshare", "--uts"] + ([] if local.root else ["-r"])
    out = subprocess.run(unshare + [sys.executable, "-c", code], capture_output=True,
                         env=dict(os.environ, MYDOCKER_LAB_TARGET="local"),
                         text=True, timeout=300, check=True).stdout
    assert out.startswith("✘ the host's hostname changed"), out
    assert "CLONE_NEWUTS" in out
