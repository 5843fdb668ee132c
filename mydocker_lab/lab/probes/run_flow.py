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
import errno
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

from ... import linux
from ..common import FLOW_COMMAND, HOSTNAME
from . import probe
from .support import (cmdline, container_pid, find_container, in_child, mydocker, nspid,
                      read_text, stat)


def _gate():
    """A pipe that holds one packet; filled, so the next write() blocks."""
    r, w = os.pipe2(os.O_DIRECT | os.O_CLOEXEC)
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
    os.write(w, b"(gate closed)")
    return r, w


def _tree(root):
    """root and its descendants: [(pid, ppid, depth)], parents first."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                children.setdefault(stat(int(name))[1], []).append(int(name))
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


def _hostname_in(pid):
    """The hostname seen in ``pid``'s UTS namespace (a forked helper joins it)."""
    def join_and_ask():
        user = "/proc/%d/ns/user" % pid
        if os.stat(user).st_ino != os.stat("/proc/self/ns/user").st_ino:
            # rootless: the UTS namespace belongs to the container's user namespace; its
            # owner (us) may join that first, and is then allowed to join the UTS one
            linux.setns(os.open(user, os.O_RDONLY), linux.CLONE_NEWUSER)
        linux.setns(os.open("/proc/%d/ns/uts" % pid, os.O_RDONLY), linux.CLONE_NEWUTS)
        return os.uname().nodename.encode()
    return in_child(join_and_ask)


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


def _snapshot(parent, container):
    """Both views of the moment: the host's tree, and the container's."""
    host = []
    for pid, _ppid, depth in _tree(parent):
        try:
            state, _ = stat(pid)
            host.append({"pid": pid, "depth": depth, "cmdline": cmdline(pid),
                         "name": read_text("/proc/%d/comm" % pid),
                         "state": state, "blocked": bool(_blocked_on(pid, _GATES))})
        except OSError:
            continue
    inside = None
    if container:
        try:
            my_ns = os.stat("/proc/self/ns/pid").st_ino
            its_ns = os.stat("/proc/%d/ns/pid" % container).st_ino
            members = [{"pid": (nspid(p) or [p])[-1], "host_pid": p, "cmdline": cmdline(p)}
                       for p, _pp, _d in _tree(container)]
            proc_dev = os.stat("/proc/%d/root/proc" % container).st_dev
            inside = {"new_pid_namespace": my_ns != its_ns,
                      "processes": sorted(members, key=lambda m: m["pid"]),
                      "own_proc": proc_dev != os.stat("/proc").st_dev,
                      "hostname": _hostname_in(container),
                      "root": _root_propagation(container)}
        except OSError:
            inside = None
    return {"host": host, "inside": inside}


_GATES = {}


def _wait_blocked(proc, gates, timeout=120):
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
                         if depth >= 2 and cmdline(pid) == cmdline(ppid)]
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
def run_flow(hostname=HOSTNAME):
    """Run a container one log line at a time; a snapshot of both sides before each line."""
    log_r, log_w = _gate()
    out_r, out_w = _gate()
    gates = {"log": os.fstat(log_r).st_ino, "stdout": os.fstat(out_r).st_ino}
    _GATES.clear()
    _GATES.update(gates)
    readers = {"log": log_r, "stdout": out_r}
    argv = mydocker("--log-level", "debug", "run", "--hostname", hostname, *FLOW_COMMAND)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out_w, stderr=log_w,
                            cwd="/")
    os.close(log_w)
    os.close(out_w)
    steps, container, container_host_pids, pending = [], None, set(), {}
    try:
        while True:
            pid, gate = _wait_blocked(proc, gates)
            if pid is None:
                break
            if container is None and pid != proc.pid:
                container = pid
            if container is None:  # the parent blocks on its first line: after clone
                container = find_container(proc.pid)  # not its watcher, its other child
            if container and not os.path.exists("/proc/%d" % container):
                container = None
            if pid != proc.pid:  # init or the command: the parent has said go, and forks
                _watcher_started(proc.pid)  # its watcher then (container/process.py)
            _settle(proc.pid)
            snap = _snapshot(proc.pid, container)
            for entry in snap["host"][1:]:
                container_host_pids.add(entry["pid"])
            # The gate holds the line written *before* this block (or the filler): it
            # belongs to the previous step that waited on this gate. Reading it lets the
            # blocked line in, and the writer runs on to its next line.
            _take(readers[gate], pending.pop(gate, None))
            snap.update(writer=pid, gate=gate, line=None)
            pending[gate] = snap
            steps.append(snap)
        returncode = proc.wait(timeout=120)
        for gate, snap in pending.items():
            _take(readers[gate], snap)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for fd in (log_r, out_r):
            os.close(fd)
    return {"argv": argv[1:], "command": FLOW_COMMAND, "steps": steps, "exit": returncode,
            "host_pid": proc.pid, "left_on_host": _left(container_host_pids),
            "host_root": _root_propagation(os.getpid())}


def _left(pids, timeout=5):
    """Which of ``pids`` still run (a zombie does not: it has ended, and only waits to be
    reaped). The kernel killed them with the container's PID 1; dying may take a moment."""
    deadline = time.monotonic() + timeout
    while True:
        left = []
        for pid in sorted(pids):
            try:
                if stat(pid)[0] != "Z":
                    left.append(pid)
            except (OSError, IndexError):
                continue  # gone
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.01)


def _new_namespaces(pid):
    names = ("uts", "pid", "mnt", "net", "ipc", "user", "cgroup")
    return sorted(n for n in names
                  if os.stat("/proc/self/ns/%s" % n).st_ino != os.stat(
                      "/proc/%d/ns/%s" % (pid, n)).st_ino)


#: The bits clone() takes for new namespaces (the only ones the exercise's probe uses).
NAMESPACE_BITS = (linux.CLONE_NEWNS | linux.CLONE_NEWCGROUP | linux.CLONE_NEWUTS
                  | linux.CLONE_NEWIPC | linux.CLONE_NEWUSER | linux.CLONE_NEWPID
                  | linux.CLONE_NEWNET)


@probe("clone-flags")
def clone_flags(flags, timeout=30):
    """clone() a child with ``flags`` (an int); report its new namespaces and its own PID.

    Only namespace bits are taken (CLONE_VM & co. would share the probe's memory, its files,
    its signal handlers: not an experiment to run). Not root: CLONE_NEWUSER is added, as
    mydocker-lab's rootless mode does, and reported only when ``flags`` asked for it. The child never outlives the probe:
    it waits for our 'go' on a pipe, and is killed if anything goes wrong."""
    flags = int(flags, 0)
    if flags & ~NAMESPACE_BITS:
        return {"error": "not a namespace flag: %#x" % (flags & ~NAMESPACE_BITS)}
    added = os.geteuid() != 0 and not flags & linux.CLONE_NEWUSER  # rootless: ours, not asked
    if added:
        flags |= linux.CLONE_NEWUSER
    go_r, go_w = os.pipe()
    pid_r, pid_w = os.pipe()
    try:
        child = linux.clone(flags)
    except OSError as err:
        for fd in (go_r, go_w, pid_r, pid_w):
            os.close(fd)
        return {"error": "%s" % err}
    if child == 0:  # keep it minimal: wait, say our PID as we see it, leave
        try:
            os.close(go_w)
            if os.read(go_r, 1) == b"g":
                os.write(pid_w, str(os.getpid()).encode())
        finally:
            os._exit(0)
    os.close(go_r)
    os.close(pid_w)
    own_pid = None
    try:
        new = _new_namespaces(child)
        os.write(go_w, b"g")
        os.close(go_w)
        go_w = None
        said = os.read(pid_r, 32)
        own_pid = int(said) if said.isdigit() else None
    finally:
        if go_w is not None:
            os.close(go_w)  # the child reads end of file and leaves
        os.close(pid_r)
        deadline = time.monotonic() + timeout
        while os.waitpid(child, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(child, 9)
                os.waitpid(child, 0)
                break
            time.sleep(0.001)
    if added:
        new.remove("user")
    return {"flags": flags, "new_namespaces": new, "pid_inside": own_pid,
            "host_pid": child}


@probe("self-exe")
def self_exe():
    """/proc/PID/exe, the magic link: what it names, and that it opens the running program's
    file even once that file is renamed, or removed; and that the kernel refuses to write it
    while it runs (ETXTBSY)."""
    mine = os.readlink("/proc/self/exe")
    directory = tempfile.mkdtemp(prefix="mydocker-lab-04-")
    try:
        prog = os.path.join(directory, "prog")
        shutil.copy(os.path.realpath("/bin/sleep"), prog)
        with open(prog, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        proc = subprocess.Popen([prog, "60"], stdin=subprocess.DEVNULL)
        try:
            exe = "/proc/%d/exe" % proc.pid
            deadline = time.monotonic() + 60
            while os.readlink(exe) != prog and time.monotonic() < deadline:  # until exec'd
                time.sleep(0.001)
            steps = [("started", os.readlink(exe))]
            os.rename(prog, prog + ".renamed")
            steps.append(("renamed", os.readlink(exe)))
            os.unlink(prog + ".renamed")
            steps.append(("removed", os.readlink(exe)))
            with open(exe, "rb") as f:
                same = hashlib.sha256(f.read()).hexdigest() == digest
            try:
                os.close(os.open(exe, os.O_WRONLY))
                write = "opened for writing"
            except OSError as err:
                write = errno.errorcode[err.errno]
        finally:
            proc.kill()
            proc.wait()
    finally:
        shutil.rmtree(directory)
    return {"self": mine, "python": os.path.realpath(sys.executable),
            "steps": [(what, link.replace(directory, "/tmp/lab")) for what, link in steps],
            "same_bytes_after_removal": same, "write": write}


@probe("exit-codes")
def exit_codes():
    """mydocker-lab run's exit status in each of docker's cases, for real."""
    base = mydocker("--log-level", "error", "run", "--hostname", HOSTNAME)
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
        os.kill(container_pid(proc.pid, comm="sleep"), 9)  # once init has exec'd sleep
        code = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    results.append({"case": "killed by SIGKILL (signal 9), from the host",
                    "args": ["sleep", "30"], "exit": code, "stderr": ""})
    return results
