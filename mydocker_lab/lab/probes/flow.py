"""Probes for notebook 04: the run flow, paused at each step, seen from both sides.

``run-flow`` starts the real ``mydocker-lab --log-level debug run`` with its
stderr (the JSON log lines of the parent and of init) and its stdout (the
command's output) connected to two *gates*: pipes in packet mode
(``O_DIRECT``) shrunk to one page, i.e. one packet. A gate is kept full, so
each ``write()`` of a log line blocks until we read the packet before it:
the runtime pauses, by itself, right before each log line. While it is
blocked we look at it from the host (``/proc``) and from inside (its own
``/proc``, its hostname), then let exactly one line through.

No runtime code is changed or mocked: the pauses are ordinary blocking writes.
"""
import ctypes
import fcntl
import os
import subprocess
import sys
import time

from . import probe
from ... import linux

#: The command of the container: PID 1 starts a child, reports, stops it, exits 3.
COMMAND = ["sh", "-c", 'sleep 30 & echo "PID $$ started sleep as PID $!"; kill $!; wait; exit 3']

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _gate():
    """A pipe that holds one packet; filled, so the next write() blocks."""
    r, w = os.pipe2(os.O_DIRECT | os.O_CLOEXEC)
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
    os.write(w, b"(gate closed)")
    return r, w


def _stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return rest[0], int(rest[1])  # state, ppid


def _cmdline(pid, proc="/proc"):
    with open("%s/%d/cmdline" % (proc, pid), "rb") as f:
        return [a.decode("utf-8", "replace") for a in f.read().rstrip(b"\0").split(b"\0")]


def _nspid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("NSpid:"):
                return [int(x) for x in line.split()[1:]]
    return [pid]


def _is_pid_1(pid):
    """PID 1 of a PID namespace of its own: the container (mydocker-lab's other child is its
    watcher, container/process.py)."""
    nspid = _nspid(pid) if os.path.exists("/proc/%d" % pid) else []
    return len(nspid) > 1 and nspid[-1] == 1


def _tree(root):
    """root and its descendants: [(pid, ppid, depth)], parents first."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                children.setdefault(_stat(int(name))[1], []).append(int(name))
            except (OSError, IndexError):
                continue
    out = []

    def walk(pid, ppid, depth):
        out.append((pid, ppid, depth))
        for child in sorted(children.get(pid, ())):
            walk(child, pid, depth + 1)
    walk(root, 0, 0)
    return out


def _blocked_on(pid, gates):
    """The gate ``pid`` is blocked writing to, or None."""
    try:
        with open("/proc/%d/wchan" % pid) as f:
            if not f.read().endswith("pipe_write"):
                return None
        with open("/proc/%d/syscall" % pid) as f:
            fd = int(f.read().split()[1], 16)
        inode = os.stat("/proc/%d/fd/%d" % (pid, fd)).st_ino
    except (OSError, IndexError, ValueError):
        return None
    for name, gate_inode in gates.items():
        if inode == gate_inode:
            return name
    return None


_libc = ctypes.CDLL(None, use_errno=True)


def _hostname_in(pid):
    """The hostname seen in ``pid``'s UTS namespace (a forked helper joins it)."""
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            fd = os.open("/proc/%d/ns/uts" % pid, os.O_RDONLY)
            if _libc.setns(fd, linux.CLONE_NEWUTS) == 0:
                os.write(w, os.uname().nodename.encode())
        finally:
            os._exit(0)
    os.close(w)
    name = os.read(r, 256).decode()
    os.close(r)
    os.waitpid(child, 0)
    return name or None


def _root_propagation(pid):
    """'shared', 'slave' or 'private': the propagation of / in ``pid``'s mount namespace
    (a copy made with less privilege, i.e. rootless, turns a shared / into a slave)."""
    with open("/proc/%d/mountinfo" % pid) as f:
        for line in f:
            fields = line.split()
            if fields[4] == "/":
                optional = fields[6:fields.index("-")]
                if any(o.startswith("shared:") for o in optional):
                    return "shared"
                return "slave" if any(o.startswith("master:") for o in optional) \
                    else "private"
    return "?"


def _snapshot(parent, container_pid):
    """Both views of the moment: the host's tree, and the container's."""
    host = []
    for pid, _ppid, depth in _tree(parent):
        try:
            state, _ = _stat(pid)
            with open("/proc/%d/comm" % pid) as f:
                name = f.read().strip()
            host.append({"pid": pid, "depth": depth, "cmdline": _cmdline(pid), "name": name,
                         "state": state, "blocked": bool(_blocked_on(pid, _GATES))})
        except OSError:
            continue
    inside = None
    if container_pid:
        try:
            my_ns = os.stat("/proc/self/ns/pid").st_ino
            its_ns = os.stat("/proc/%d/ns/pid" % container_pid).st_ino
            members = [{"pid": _nspid(p)[-1], "host_pid": p, "cmdline": _cmdline(p)}
                       for p, _pp, _d in _tree(container_pid)]
            proc_dev = os.stat("/proc/%d/root/proc" % container_pid).st_dev
            inside = {"new_pid_namespace": my_ns != its_ns,
                      "processes": sorted(members, key=lambda m: m["pid"]),
                      "own_proc": proc_dev != os.stat("/proc").st_dev,
                      "hostname": _hostname_in(container_pid),
                      "root": _root_propagation(container_pid)}
        except OSError:
            inside = None
    return {"host": host, "inside": inside}


_GATES = {}


def _wait_blocked(proc, gates, timeout=10):
    """Wait until a process of proc's tree blocks on a gate: (pid, gate) or (None, None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None, None
        for pid, _ppid, _depth in _tree(proc.pid):
            gate = _blocked_on(pid, gates)
            if gate:
                return pid, gate
        time.sleep(0.002)
    raise TimeoutError("mydocker-lab did not reach its next log line in %d s" % timeout)


def _watcher_started(parent, timeout=2):
    """Until ``parent`` has its watcher child (comm mydocker-watch): the picture is the same
    on every run however the two processes were scheduled."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid, _ppid, depth in _tree(parent):
            try:
                with open("/proc/%d/comm" % pid) as f:
                    if depth == 1 and f.read().strip() == "mydocker-watch":
                        return
            except OSError:
                continue
        time.sleep(0.002)


def _settle(root, timeout=2):
    """Wait until the container's own children have exec'd (a fork still shows its parent's
    cmdline for a moment): the snapshot shows each process as the program it is becoming."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tree = {pid: (ppid, depth) for pid, ppid, depth in _tree(root)}
        try:
            unsettled = [pid for pid, (ppid, depth) in tree.items()
                         if depth >= 2 and _cmdline(pid) == _cmdline(ppid)]
        except OSError:
            unsettled = [None]
        if not unsettled:
            return
        time.sleep(0.002)


def _take(reader, step):
    """Read one packet from a gate; it is ``step``'s line (or the filler when no step)."""
    packet = os.read(reader, 65536).decode("utf-8", "replace").rstrip("\n")
    if step is not None:
        step["line"] = packet


@probe("run-flow")
def run_flow(hostname="lab"):
    """Run a container one log line at a time; a snapshot of both sides before each line."""
    log_r, log_w = _gate()
    out_r, out_w = _gate()
    gates = {"log": os.fstat(log_r).st_ino, "stdout": os.fstat(out_r).st_ino}
    _GATES.clear()
    _GATES.update(gates)
    readers = {"log": log_r, "stdout": out_r}
    argv = [sys.executable, "-m", "mydocker_lab", "--log-level", "debug", "run",
            "--hostname", hostname] + COMMAND
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out_w, stderr=log_w,
                            cwd="/")
    os.close(log_w)
    os.close(out_w)
    steps, container_pid, container_host_pids, pending = [], None, set(), {}
    try:
        while True:
            pid, gate = _wait_blocked(proc, gates)
            if pid is None:
                break
            if container_pid is None and pid != proc.pid:
                container_pid = pid
            if container_pid is None:  # the parent blocks on its first line: after clone
                kids = [p for p, _pp, depth in _tree(proc.pid) if depth == 1 and _is_pid_1(p)]
                container_pid = kids[0] if kids else None
            if container_pid and not os.path.exists("/proc/%d" % container_pid):
                container_pid = None
            if pid != proc.pid:  # init or the command: the parent has said go, and forks
                _watcher_started(proc.pid)  # its watcher then (container/process.py)
            _settle(proc.pid)
            snap = _snapshot(proc.pid, container_pid)
            for entry in snap["host"][1:]:
                container_host_pids.add(entry["pid"])
            # The gate holds the line written *before* this block (or the filler): it
            # belongs to the previous step that waited on this gate. Reading it lets the
            # blocked line in, and the writer runs on to its next line.
            _take(readers[gate], pending.pop(gate, None))
            snap.update(writer=pid, gate=gate, line=None)
            pending[gate] = snap
            steps.append(snap)
        returncode = proc.wait(timeout=10)
        for gate, snap in pending.items():
            _take(readers[gate], snap)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for fd in (log_r, out_r):
            os.close(fd)
    time.sleep(0.05)
    left = sorted(p for p in container_host_pids if os.path.exists("/proc/%d" % p)
                  and _stat(p)[0] != "Z")
    return {"argv": argv[1:], "command": COMMAND, "steps": steps, "exit": returncode,
            "host_pid": proc.pid, "left_on_host": left, "package_dir": _PACKAGE_DIR,
            "host_root": _root_propagation(os.getpid())}


def _new_namespaces(pid):
    names = ("uts", "pid", "mnt", "net", "ipc", "user", "cgroup")
    return sorted(n for n in names
                  if os.stat("/proc/self/ns/%s" % n).st_ino != os.stat(
                      "/proc/%d/ns/%s" % (pid, n)).st_ino)


@probe("clone-flags")
def clone_flags(flags):
    """clone() a child with ``flags`` (an int); report its new namespaces and its own PID.

    Not root: CLONE_NEWUSER is added (and not reported), as mydocker-lab's rootless mode does.
    """
    flags = int(flags, 0)
    rootless = os.geteuid() != 0
    if rootless:
        flags |= linux.CLONE_NEWUSER
    go_r, go_w = os.pipe()
    pid_r, pid_w = os.pipe()
    try:
        child = linux.clone(flags)
    except OSError as err:
        return {"error": "%s" % err}
    if child == 0:  # keep it minimal: wait, say our PID as we see it, leave
        try:
            os.read(go_r, 1)
            os.write(pid_w, str(os.getpid()).encode())
        finally:
            os._exit(0)
    os.close(go_r)
    os.close(pid_w)
    try:
        new = _new_namespaces(child)
    finally:
        os.write(go_w, b"g")
        os.close(go_w)
        own_pid = int(os.read(pid_r, 32))
        os.close(pid_r)
        os.waitpid(child, 0)
    if rootless:
        new.remove("user")
    return {"flags": flags, "new_namespaces": new, "pid_inside": own_pid,
            "host_pid": child}


def _container_of(parent, timeout=5):
    """The host PID of the container's PID 1 (the child of ``parent``), once it runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = [p for p, _pp, depth in _tree(parent) if depth == 1 and _is_pid_1(p)]
        if kids:
            return kids[0]
        time.sleep(0.005)
    raise TimeoutError("no container appeared under PID %d" % parent)


@probe("exit-codes")
def exit_codes():
    """mydocker-lab run's exit status in each of docker's cases, for real."""
    base = [sys.executable, "-m", "mydocker_lab", "--log-level", "error", "run",
            "--hostname", "lab"]
    cases = [("the command's own status", ["sh", "-c", "exit 3"]),
             ("the runtime failed (a bad option)", ["--no-such-option", "true"]),
             ("cannot execute (a directory)", ["/"]),
             ("not found", ["no-such-program"])]
    results = []
    for what, args in cases:
        proc = subprocess.run(base + args, capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
        results.append({"case": what, "args": args, "exit": proc.returncode,
                        "stderr": proc.stderr.strip()})
    # Killed by a signal: SIGKILL from the host (inside, PID 1 would ignore it).
    proc = subprocess.Popen(base + ["sleep", "30"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        pid = _container_of(proc.pid)
        deadline = time.monotonic() + 5
        while _cmdline(pid) != ["sleep", "30"] and time.monotonic() < deadline:
            time.sleep(0.005)  # wait for init's execve
        os.kill(pid, 9)
        code = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    results.append({"case": "killed by SIGKILL (signal 9), from the host",
                    "args": ["sleep", "30"], "exit": code, "stderr": ""})
    return results
