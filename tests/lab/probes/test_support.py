"""probes/support.py, the probes' shared plumbing, on real processes (here: the probes run
on the target, and so does this plumbing; these tests need this Linux)."""
import os
import subprocess
import sys

import pytest

from mydocker_lab.lab.probes import support


def test_mydocker_is_this_interpreter_and_the_package():
    assert support.mydocker("run", 3) == [sys.executable, "-m", "mydocker_lab", "run", "3"]
    done = support.outcome(support.run_mydocker("--log-level", "error", "run", "sh", "-c",
                                                "echo out; echo err >&2; exit 3"))
    assert (done["exit"], done["stdout"]) == (3, "out\n")
    assert done["logs"] == [{"level": "?", "msg": "err"}]  # the container's own stderr


def test_read_all_reads_to_the_end_and_closes():
    r, w = os.pipe()
    writer = subprocess.Popen([sys.executable, "-c", "import os; os.write(1, b'x' * 200000)"],
                              stdout=w)
    os.close(w)
    assert support.read_all(r) == "x" * 200000
    with pytest.raises(OSError):
        os.fstat(r)
    writer.wait()


def test_container_pid_waits_for_the_program_and_finds_only_the_child():
    # a stand-in for mydocker-lab: a parent whose one child becomes `sleep`
    go_r, go_w = os.pipe()
    parent = subprocess.Popen(["sh", "-c", 'exec 3<&0; sh -c "read x <&3; exec sleep 30" & wait'],
                              stdin=go_r)
    os.close(go_r)
    try:
        child = support.container_pid(parent.pid)
        assert support.stat(child)[1] == parent.pid
        with pytest.raises(TimeoutError, match="running 'sleep'"):
            support.container_pid(parent.pid, comm="sleep", timeout=0.2)
        os.write(go_w, b"go\n")
        assert support.container_pid(parent.pid, comm="sleep") == child
        assert support.cmdline(child) == ["sleep", "30"]
        assert support.children(parent.pid) == [child]
    finally:
        os.close(go_w)
        for pid in support.children(parent.pid):
            os.kill(pid, 9)
        parent.wait()
    assert support.children(parent.pid) == []  # gone: no children, no error
