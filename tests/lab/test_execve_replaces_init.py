"""Notebook 03's helpers (execve_replaces_init.py), on real processes: probes, the
explorer, the checkers."""
import os

import pytest

from mydocker_lab.lab import execve_replaces_init as execve
from mydocker_lab.lab.display import Verdict
from mydocker_lab.lab.labels import PYTHON, SH_FILE
from mydocker_lab.lab.probes.support import children
from mydocker_lab.lab.widgets import Explorer


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
            "a script with #!/bin/sh": (None, 0), "a command that fails": (None, 3),
            "a script whose #! interpreter is missing": ("ENOENT", 127),
            "a program whose ELF loader is missing": ("ENOENT", 127)}
    assert set(want) == set(execve.CASES)
    results = target.probe("exec-case")
    got = {name: (r["execve"], r["exit"]) for name, r in results.items()}
    assert got == want
    assert results["a program in PATH"]["stdout"] == "hello from the container\n"
    # the probe's scratch directory (one, its own) is gone
    scratch = {r["scratch"] for r in results.values()}
    assert len(scratch) == 1 and os.path.basename(min(scratch)).startswith("mydocker-lab-03-")
    assert target.run(["test", "-e", min(scratch)]).returncode == 1


def test_explorer_shows_a_result_at_once_and_on_each_pick(target):
    w = execve.explorer(target)
    assert isinstance(w, Explorer)
    assert "mydocker-lab run exit code  127" in repr(w)  # before any pick
    w.controls["case"].value = "a directory"
    assert "mydocker-lab run exit code  126" in repr(w) and "EACCES" in repr(w)
    w.controls["case"].value = "a script without #! line"
    assert "ENOEXEC" in repr(w) and "shell's (POSIX) convention" in repr(w)
    w.controls["case"].value = "a program in PATH"
    assert "hello from the container" in repr(w)


def test_missing_interpreter_is_enoent_for_a_file_that_exists(target):
    results = target.probe("missing-interpreter")
    assert [(r["exists"], r["execve"]) for r in results] == [(True, "ENOENT")] * 2
    assert results[0]["first_line"] == "#!/no/such/interpreter"
    assert results[1]["interpreter"].endswith("X") and results[1]["interpreter_exists"] is False
    text = execve.missing_interpreter(target).text()
    assert text.count("yes, mode 755") == 2 and text.count("ENOENT") == 2


def test_zombie_of_a_pid1_that_does_not_reap(target):
    result = target.probe("zombie")
    states = {m["pid"]: m["state"] for m in result["members"]}
    assert states[1] in "SR" and "Z" in states.values(), states
    assert result["exit"] == 137 and result["left"] == []  # gone with PID 1


def test_an_init_that_reaps_as_pid1_and_as_subreaper(target):
    result = target.probe("reaping")
    inside, host = result["container"], result["host"]
    assert inside["pid"] == 1 and not inside["subreaper"] and len(inside["reaped"]) == 1
    assert host["pid"] != 1 and host["subreaper"] and len(host["reaped"]) == 1
    assert inside["exit"] == 0 == host["exit"] and inside["run_exit"] == 0
    text = execve.zombies(target).text()
    assert "Z (zombie)" in text and "✔ 1 zombie" in text and "reaped orphans: PID 4" in text


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


RIGHT_CODES = dict(zip(execve.PREDICT, [127, 126, 126, 3]))


def test_check_exit_codes_right(target):
    verdict = execve.check_exit_codes(RIGHT_CODES, target)
    assert verdict.ok and "all 4" in verdict.message


@pytest.mark.parametrize("answer, message, hint", [
    (dict.fromkeys(execve.PREDICT, ...), "4 of 4 predictions are still missing", "whole number"),
    (dict(RIGHT_CODES, **{"a command that fails": ...}), "1 of 4", "whole number"),
    (dict(RIGHT_CODES, **{"a command that fails": True}), "1 of 4", "whole number"),
    (dict(RIGHT_CODES, **{"a directory": "126"}), "1 of 4", "whole number"),
    ({"x": 1}, "exactly these keys", "copy the dict"),
    (None, "exactly these keys", "copy the dict"),
    ([127, 126, 126, 3], "exactly these keys", "copy the dict"),
    (dict(RIGHT_CODES, **{"a directory": 127}), "1 of 4 wrong", "a directory is found"),
    (dict(RIGHT_CODES, **{"a script without #! line": 127}), "1 of 4 wrong", "ENOEXEC"),
    (dict(RIGHT_CODES, **{"a script without #! line": 0}), "1 of 4 wrong", "ENOEXEC"),
    (dict(RIGHT_CODES, **{"a program that is not there": 126}), "1 of 4 wrong", "127"),
    (dict(RIGHT_CODES, **{"a command that fails": 1}), "1 of 4 wrong", "program's own"),
    (dict(RIGHT_CODES, **{"a command that fails": 255}), "1 of 4 wrong", "program's own"),
    (dict(zip(execve.PREDICT, [126, 127, 127, 0])), "4 of 4 wrong", "127"),
])
def test_check_exit_codes_wrong(target, answer, message, hint):
    verdict = execve.check_exit_codes(answer, target)
    assert isinstance(verdict, Verdict) and not verdict
    assert message in verdict.message and hint in verdict.hint


@pytest.mark.parametrize("argv, pid1", [
    (["cat", "/proc/1/cmdline"], "cat /proc/1/cmdline"),
    (["sh", "-c", "exec cat /proc/1/cmdline"], "cat /proc/1/cmdline"),
    (["bash", "-c", "cat /proc/1/cmdline"], "cat /proc/1/cmdline"),  # bash execs it
    (["ps", "-o", "args=", "-p", "1"], "ps -o args= -p 1"),
    (["cat", "/proc/self/cmdline"], "cat /proc/self/cmdline"),  # cat is PID 1 itself
    (["sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline"], "sh -c 'tr '\"'\"'\\0'\"'\"' '\"'\"' '\"'\"' < /proc/1/cmdline'"),
    (("cat", "/proc/1/cmdline"), "cat /proc/1/cmdline"),  # a tuple is a list too
    # the shell stays PID 1 (cat is its child): it is PID 1's cmdline that cat prints
    (["sh", "-c", "cat /proc/1/cmdline; true"], "sh -c 'cat /proc/1/cmdline; true'"),
])
def test_check_pid1_argv_right(target, argv, pid1):
    verdict = execve.check_pid1_argv(argv, target)
    assert verdict.ok, verdict.text()
    assert verdict.message == "PID 1's own cmdline: " + pid1


@pytest.mark.parametrize("argv, message, hint", [
    (["sh", "-c", "cat /proc/self/cmdline; true"], "not PID 1's cmdline", "/proc/self"),
    (["cat", "/proc/1/environ"], "not PID 1's cmdline", "/proc/<pid>/cmdline"),
    (["echo", "echo"], "not PID 1's cmdline", "/proc/<pid>/cmdline"),
    (["echo", "cat", "/proc/1/cmdline"], "not PID 1's cmdline", "/proc/1/cmdline"),
    (["sh", "-c", "echo sh -c"], "not PID 1's cmdline", "/proc/<pid>/cmdline"),
    (["true"], "not PID 1's cmdline", "printed nothing"),
    (["cat", "/proc/2/cmdline"], "not PID 1's cmdline", "printed nothing"),
    (["no-such-program", "/proc/1/cmdline"], "could not start", "not found"),
    (["/"], "could not start", "is a directory"),
    (None, "non-empty list of strings", "no shell parses it"),
    ([], "non-empty list of strings", "no shell parses it"),
    ("cat /proc/1/cmdline", "non-empty list of strings", "no shell parses it"),
    (["cat", 1], "non-empty list of strings", "no shell parses it"),
])
def test_check_pid1_argv_wrong(target, argv, message, hint):
    verdict = execve.check_pid1_argv(argv, target)
    assert isinstance(verdict, Verdict) and not verdict, verdict.text()
    assert message in verdict.message and hint in verdict.hint.lower(), verdict.text()


def test_check_pid1_argv_stops_a_command_that_never_ends(target):
    # the notebook's limit is 30 s; 10 s here is the same code path (and plenty in the VM)
    verdict = execve.check_pid1_argv(["sh", "-c", "cat /proc/1/cmdline; exec sleep 600"],
                                     target, timeout=10)
    assert not verdict and "still running after 10 s" in verdict.message
    assert "did print PID 1's cmdline, but then never ended" in verdict.hint
    assert "exit 137" in verdict.details


def test_checkers_never_leave_a_process(target):
    before = set(children(os.getpid()))
    execve.check_pid1_argv(["sh", "-c", "sleep 600.0307 & cat /proc/1/cmdline"], target)
    assert set(children(os.getpid())) <= before
    assert target.run(["pgrep", "-fx", "sleep 600.0307"]).returncode == 1  # killed with PID 1
