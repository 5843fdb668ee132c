"""Notebook 03's helpers (execve_replaces_init.py), on real processes: probes, the
explorer, the checkers."""
import os

from ipywidgets import interactive

from mydocker_lab.lab import execve_replaces_init as execve
from mydocker_lab.lab.display import Verdict
from mydocker_lab.lab.labels import PYTHON, SH_FILE


def test_exec_image_same_pid_new_program(target):
    result = target.probe("exec-image")
    before, after = result["before"], result["after"]
    assert before["pid"] == after["pid"] and before["ppid"] == after["ppid"]
    assert "python" in os.path.basename(before["exe"])
    assert after["exe"] != before["exe"] and after["cmdline"][:2] == ["sh", "-c"]
    assert result["returned"] is None and result["status"] == 0


def test_execve_returns_only_on_failure(target):
    assert target.probe("exec-image", "/no/such/file")["returned"] == "ENOENT"
    assert target.probe("exec-image", "/etc")["returned"] == "EACCES"
    table = execve.no_return(target).text()
    assert "did not return" in table and "ENOENT" in table


def test_before_after_display(target):
    shown = execve.before_after(target)
    text = shown.text()
    assert text.startswith("before execve") and "✔ same process" in text
    assert "<table>" in shown.html()
    # what belongs to the machine or the run is compared, then shown as a label
    assert "pid      same  <the child's PID> → the same" in text
    assert "ppid     same  <the probe's PID> → the same" in text
    assert "exe      NEW   %s → %s" % (PYTHON, SH_FILE) in text
    assert "cmdline  NEW   %s -m mydocker_lab.lab.probes exec-image → sh -c " % PYTHON in text
    assert target.python not in text and os.path.realpath("/bin/sh") not in text


def test_every_case_exit_code(target):
    want = {"a program in PATH": (None, 0), "a program that is not there": ("ENOENT", 127),
            "a path that does not exist": ("ENOENT", 127), "a directory": ("EACCES", 126),
            "a file without the x bit": ("EACCES", 126),
            "a script without #! line": ("ENOEXEC", 126),
            "a script with #!/bin/sh": (None, 0), "a command that fails": (None, 3)}
    assert set(want) == set(execve.CASES)
    results = target.probe("exec-case")
    got = {name: (r["execve"], r["exit"]) for name, r in results.items()}
    assert got == want
    assert results["a program in PATH"]["stdout"] == "hello from the container\n"
    # the probe's scratch directory (one, its own) is gone
    scratch = {r["scratch"] for r in results.values()}
    assert len(scratch) == 1 and os.path.basename(min(scratch)).startswith("mydocker-lab-03-")
    assert target.run(["test", "-e", min(scratch)]).returncode == 1


def test_explorer_widget_runs_the_chosen_case(target):
    w = execve.explorer(target)
    assert isinstance(w, interactive)
    w.children[0].value = "a directory"
    text = w.result.text()
    assert "mydocker-lab run exit code  126" in text and "EACCES" in text
    w.children[0].value = "a program in PATH"
    assert "hello from the container" in w.result.text()


def test_pid1_rules(target):
    result = target.probe("pid1")
    assert result["signal"]["host"]["exit"] == -15
    assert result["signal"]["container"]["stdout"].endswith("still alive\n")
    assert result["signal"]["container"]["exit"] == 0
    lines = result["orphan"]["stdout"].splitlines()
    sleep = [line.split() for line in lines if line.split()[2:3] == ["sleep"]]
    assert sleep and sleep[0][1] == "1", lines  # the orphan's parent is PID 1
    # it did not wait for the 29.5 s sleep (how fast it was belongs to the machine's load)
    assert result["leave"]["seconds"] < 20 and result["leave"]["sleep_left_on_host"] == []
    text = execve.pid1_rules(target).text()
    assert "still alive" in text and "killed by signal 15" in text
    assert "I am PID <its host PID>, sending myself SIGTERM" in text
    assert "\n  PID  PPID COMMAND\n    1     0 sh -c (sleep 5 &); ps -o pid,ppid,args\n" in text


def test_check_exit_codes_right_and_wrong(target):
    placeholder = execve.check_exit_codes(dict.fromkeys(execve.PREDICT, ...), target)
    assert isinstance(placeholder, Verdict) and not placeholder
    assert "missing" in placeholder.message
    right = dict(zip(execve.PREDICT, [127, 126, 126, 3]))
    assert execve.check_exit_codes(right, target).ok
    wrong = dict(right, **{"a directory": 127})
    verdict = execve.check_exit_codes(wrong, target)
    assert not verdict and "126" in verdict.hint
    assert not execve.check_exit_codes({"x": 1}, target)


def test_check_pid1_argv_right_and_wrong(target):
    assert execve.check_pid1_argv(["cat", "/proc/1/cmdline"], target).ok
    assert execve.check_pid1_argv(["sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline"], target).ok
    not_pid1 = execve.check_pid1_argv(["sh", "-c", "cat /proc/self/cmdline"], target)
    assert not not_pid1 and "/proc/self" in not_pid1.hint
    assert not execve.check_pid1_argv(None, target)
    missing = execve.check_pid1_argv(["no-such-program"], target)
    assert not missing and "not found" in missing.hint
    assert not execve.check_pid1_argv(["echo", "echo"], target)
