"""What the runtime's tests share: mydocker-lab started as a user would start it.

(A plain module, not conftest.py: tests/vm has a conftest.py of its own, and two
modules named `conftest` cannot both be imported by name.)
"""
import errno
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: mydocker-lab, exactly as `python -m mydocker_lab` (the console script runs the same main()).
MYDOCKER = [sys.executable, "-m", "mydocker_lab"]


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
    return [json.loads(line) for line in stderr.decode().splitlines() if line.strip()]


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


def children(pid):
    """The pids of ``pid``'s children (its main thread's)."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


def nspid(pid):
    """``pid`` as each PID namespace from ours down sees it (NSpid), or []."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return [int(p) for p in line.split()[1:]]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return []


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


def find_container(parent_pid):
    """The host pid of the container's PID 1 started by the runtime ``parent_pid``: its child
    that is PID 1 of a PID namespace of its own. None if there is none (yet)."""
    for child in children(parent_pid):
        if nspid(child)[-1:] == [1] and len(nspid(child)) > 1:
            return child
    return None


def container_pid(parent_pid, comm_name=None, timeout=15):
    """The host pid of the container's PID 1 under the runtime ``parent_pid``, once it runs
    ``comm_name`` (the command, after init's execve)."""
    def found():
        pid = find_container(parent_pid)
        return pid if pid and (comm_name is None or comm(pid) == comm_name) else None
    return wait_for(found, "a container process running %r under pid %d"
                    % (comm_name, parent_pid), timeout)


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
