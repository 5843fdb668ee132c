"""What the tests share: mydocker-lab started as a user would start it, its container's
PID, the state of the target's host, a free port.

(A plain module, not conftest.py: tests/vm has a conftest.py of its own, and two
modules named `conftest` cannot both be imported by name.)
"""
import os
import socket
import subprocess

from mydocker_lab.lab.common import log_records
# the probes' own ways to start mydocker-lab and to find a container's PID 1: one of each
from mydocker_lab.lab.probes.support import container_pid  # noqa: F401
from mydocker_lab.lab.probes.support import mydocker as mydocker_argv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: mydocker-lab, exactly as `python -m mydocker_lab` (the console script runs the same main()).
MYDOCKER = mydocker_argv()


def mydocker(*args, timeout=30, **kwargs):
    """Run ``mydocker-lab ARGS...``; a CompletedProcess with bytes output."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(MYDOCKER + list(args), capture_output=True, timeout=timeout, **kwargs)


def log_lines(stderr):
    """The JSON log lines of a run (every stderr line must be one)."""
    records = log_records(stderr.decode())
    assert all(r["level"] != "?" for r in records), "not a log line in stderr: %r" % stderr
    return records


def snapshot_host():
    """What a container must never change on the host."""
    with open("/proc/self/mountinfo") as f:
        mounts = f.read()
    return {"hostname": os.uname().nodename, "mounts": mounts}


#: Read on the target in one round trip (a step there costs a channel, and in an emulated
#: VM a process start is slow): sections separated by a line "@@".
_TARGET_STATE = r"""cat /proc/sys/kernel/hostname
echo @@; cat /proc/self/mountinfo
echo @@; tail -n +2 /proc/sysvipc/shm
echo @@; for f in /proc/self/ns/*; do echo "${f##*/} $(readlink "$f")"; done
echo @@; test -e /proc/self/ns/pid && echo yes || echo no"""


def target_host_state(target):
    """What the lab's steps must never change on the target's host (this Linux, or the VM):
    its hostname, mount table, System V shared memory keys, namespaces and /proc — read
    *there*, not here."""
    proc = target.run(["sh", "-c", _TARGET_STATE], check=True)
    hostname, mounts, shm, links, proc_self = proc.stdout.split("@@\n")
    return {"hostname": hostname.strip(), "mounts": mounts,
            "shm_keys": {int(line.split()[0]) for line in shm.splitlines() if line.strip()},
            "ns": dict(line.split(None, 1) for line in links.splitlines()),
            "proc_self": proc_self.strip() == "yes"}


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (for a test's own server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
