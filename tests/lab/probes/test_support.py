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


#: A stand-in for mydocker-lab: a parent with two children, like the runtime's: a "watcher"
#: in the parent's PID namespace, and the container, PID 1 of a new one (a user namespace too
#: when not root), which becomes `sleep` once told to go (a line on the descriptor $GO).
_STAND_IN = """
import os, sys
from mydocker_lab import linux
if os.fork() == 0:
    os.execvp("sleep", ["sleep", "30"])
flags = linux.CLONE_NEWPID | (linux.CLONE_NEWUSER if os.geteuid() else 0)
if linux.clone(flags) == 0:
    os.dup2(int(os.environ["GO"]), 3)  # dash redirects single-digit descriptors only
    os.execvp("sh", ["sh", "-c", "read x <&3; exec sleep 30"])
os.wait(); os.wait()
"""


def test_container_pid_waits_for_the_program_and_finds_only_the_container():
    go_r, go_w = os.pipe()
    parent = subprocess.Popen([sys.executable, "-c", _STAND_IN], pass_fds=(go_r,),
                              stdin=subprocess.DEVNULL, env=dict(os.environ, GO=str(go_r)))
    os.close(go_r)
    try:
        child = support.container_pid(parent.pid)
        assert support.stat(child)[1] == parent.pid
        assert support.nspid(child)[-1] == 1 and len(support.nspid(child)) == 2
        watcher = [pid for pid in support.children(parent.pid) if pid != child]
        assert len(watcher) == 1 and support.nspid(watcher[0]) == [watcher[0]]
        with pytest.raises(TimeoutError, match="running 'sleep'"):
            support.container_pid(parent.pid, comm="sleep", timeout=0.2)
        os.write(go_w, b"go\n")
        assert support.container_pid(parent.pid, comm="sleep") == child
        assert support.cmdline(child) == ["sleep", "30"]
    finally:
        os.close(go_w)
        for pid in support.children(parent.pid):
            os.kill(pid, 9)
        parent.wait()
    assert support.children(parent.pid) == []  # gone: no children, no error
