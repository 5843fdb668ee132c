"""What the tests share: mydocker-lab started as a user would start it, its container's
PID, the state of the target's host, a free port.

(A plain module, not conftest.py: tests/vm has a conftest.py of its own, and two
modules named `conftest` cannot both be imported by name.)
"""
import errno
import importlib.machinery
import importlib.util
import os
import socket
import subprocess
import time

from mydocker_lab.lab.common import log_records
# the probes' own ways to start mydocker-lab and to find a container's PID 1: one of each
from mydocker_lab.lab.probes.support import (children, container_pid,  # noqa: F401
                                              find_container, nspid)
from mydocker_lab.lab.probes.support import mydocker as mydocker_argv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: mydocker-lab, exactly as `python -m mydocker_lab` (the console script runs the same main()).
MYDOCKER = mydocker_argv()


#: Every mydocker-lab this test session started: (pid, start time). Its cgroups are named
#: after it (cgroups/manager.py), so a test checks only what its own runs left.
STARTED = []


def start(*args, **kwargs):
    """Start ``mydocker-lab ARGS...`` (a Popen), remembered in STARTED."""
    proc = subprocess.Popen(MYDOCKER + list(args), **kwargs)
    try:
        with open("/proc/%d/stat" % proc.pid) as f:
            STARTED.append((proc.pid, int(f.read().rsplit(")", 1)[1].split()[19])))
    except OSError:
        pass  # gone already: it made no cgroup
    return proc


def mydocker(*args, timeout=30, input=None, **kwargs):
    """Run ``mydocker-lab ARGS...``; a CompletedProcess with bytes output."""
    if input is not None:
        kwargs["stdin"] = subprocess.PIPE
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    with start(*args, **kwargs) as proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def cgroups_of(runs):
    """The cgroup directories (on this machine's hierarchies) whose owner is one of ``runs``
    ((pid, start time) pairs, as in STARTED)."""
    from mydocker_lab import cgroups
    owners = set(runs)
    found = []
    for key, hierarchy in cgroups.find_hierarchies().items():
        if key not in cgroups.CONTROLLERS:
            continue
        try:
            names = os.listdir(hierarchy.parent())
        except OSError:
            continue
        for name in names:
            owner = cgroups.parse_owner(name)
            if owner and owner[:2] in owners:
                found.append(os.path.join(hierarchy.parent(), name))
    return sorted(set(found))


def log_lines(stderr):
    """The JSON log lines of a run (every stderr line must be one)."""
    records = log_records(stderr.decode())
    assert all(r["level"] != "?" for r in records), "not a log line in stderr: %r" % stderr
    return records


def wait_for(predicate, what, timeout=15, interval=0.01):
    """Poll ``predicate()`` until it returns something true (returned), an event such as
    a process in /proc or a file's content; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("waited %d s for %s" % (timeout, what))
        time.sleep(interval)


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


def state(pid):
    """The one-letter state of ``pid`` (R, S, T, Z...), or None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def alive(pid):
    """Running, not a zombie (this machine's PID 1 reaps orphans slowly)."""
    return state(pid) not in (None, "Z", "X")


def watcher_pid(parent_pid, timeout=15):
    """The runtime's watcher (container/process.py): its child named mydocker-watch."""
    return wait_for(lambda: next((c for c in children(parent_pid)
                                  if comm(c) == "mydocker-watch"), None),
                    "the watcher of pid %d" % parent_pid, timeout)


class Holds:
    """Stop mydocker-lab at named points of its run flow (mydocker_lab/testhook.py).

    ``holds = Holds(tmp_path, "cloned", "go")``; pass ``env=holds.env()`` to the process;
    ``holds.reached("cloned")`` returns once the process waits there; ``holds.release(
    "cloned")`` lets it go on. Each point is a FIFO: the process's open() for reading and
    ours for writing meet there, an event rather than a guess of time.
    """

    def __init__(self, directory, *points):
        self.paths = {}
        self._fds = {}
        for point in points:
            path = os.path.join(str(directory), "hold-" + point)
            os.mkfifo(path)
            self.paths[point] = path

    def env(self, base=None):
        env = dict(os.environ if base is None else base)
        env["MYDOCKER_LAB_TEST_HOLD"] = ",".join("%s=%s" % kv for kv in self.paths.items())
        return env

    def reached(self, point, timeout=15):
        """Once the process waits at ``point`` (its open() of the FIFO is under way)."""
        def opened():
            try:  # without a reader, a non-blocking open for writing fails with ENXIO
                return os.open(self.paths[point], os.O_WRONLY | os.O_NONBLOCK)
            except OSError as err:
                if err.errno != errno.ENXIO:
                    raise
                return None
        self._fds[point] = wait_for(opened, "mydocker-lab to reach %r" % point, timeout,
                                    interval=0.002)

    def release(self, point):
        os.close(self._fds.pop(point))

    def close(self):
        for point in list(self._fds):
            self.release(point)


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


#: Debian's own python3: any user can run it (this machine's default python lives under
#: /root, mode 700).
SYSTEM_PYTHON = "/usr/bin/python3"


def user_python(base):
    """A Python any user can run, with this checkout's mydocker_lab: a venv of
    SYSTEM_PYTHON in ``base`` (which must exist), the package copied in, all of it readable
    by everyone. Its interpreter's path. (The directories above ``base`` are the caller's.)"""
    import shutil
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        import pytest
        pytest.fail("rootless tests need %s (apt-get install python3)" % SYSTEM_PYTHON)
    venv = os.path.join(str(base), "venv")
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", venv], check=True)
    python = os.path.join(venv, "bin", "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    shutil.copytree(os.path.join(ROOT, "mydocker_lab"), os.path.join(site, "mydocker_lab"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(["chmod", "-R", "a+rX", str(base)], check=True)
    return python


def load_script(name):
    """scripts/NAME (a program without .py) as a module, to test its functions."""
    loader = importlib.machinery.SourceFileLoader(name.replace("-", "_"),
                                                  os.path.join(ROOT, "scripts", name))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module
