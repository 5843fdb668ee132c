"""What the probes share: starting mydocker-lab, reading its results, finding its processes.

Runs on the target, like every probe (standard library and ``mydocker_lab.linux`` only).
"""
import errno
import fcntl
import os
import subprocess
import sys
import time

from ... import linux
from ..common import log_records


# -- mydocker-lab, as a child of the probe ---------------------------------------------------
def mydocker(*args):
    """argv of ``mydocker-lab ARGS...`` here: this interpreter, ``-m mydocker_lab``."""
    return [sys.executable, "-m", "mydocker_lab"] + [str(a) for a in args]


def probe_argv(name, *args):
    """argv of the probe NAME here (e.g. run *inside* a container by another probe)."""
    return [sys.executable, "-m", "mydocker_lab.lab.probes", name] + [str(a) for a in args]


def run_mydocker(*args, timeout=30):
    """Run ``mydocker-lab ARGS...`` to its end (no stdin); the CompletedProcess (text)."""
    return subprocess.run(mydocker(*args), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def outcome(proc):
    """What a finished ``mydocker-lab run`` did: its exit status, the command's output, and
    the runtime's log records (``common.errors`` picks its errors)."""
    return {"exit": proc.returncode, "stdout": proc.stdout, "logs": log_records(proc.stderr)}


# -- reading /proc and pipes -----------------------------------------------------------------
def read_all(fd):
    """Read ``fd`` to its end, close it, and return the text (undecodable bytes replaced)."""
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            os.close(fd)
            return b"".join(chunks).decode("utf-8", "replace")
        chunks.append(chunk)


def read_text(path):
    """A small file's text, stripped; None if it cannot be read (gone, not there)."""
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def cmdline(pid):
    """``pid``'s argument vector, from /proc."""
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return [a.decode("utf-8", "replace") for a in f.read().rstrip(b"\0").split(b"\0")]


def stat(pid):
    """``(state, ppid)`` of ``pid``, from /proc/PID/stat (the name may hold spaces and ')')."""
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return rest[0], int(rest[1])


def children(pid):
    """The PIDs of ``pid``'s children (of its main thread), oldest first; [] once it is gone."""
    return [int(p) for p in (read_text("/proc/%d/task/%d/children" % (pid, pid)) or "").split()]


def nspid(pid):
    """``pid`` as each PID namespace from ours down numbers it (/proc/PID/status NSpid), or []."""
    for line in (read_text("/proc/%d/status" % pid) or "").splitlines():
        if line.startswith("NSpid:"):
            return [int(p) for p in line.split()[1:]]
    return []


def find_container(parent):
    """The container's PID 1 among the children of mydocker-lab's process ``parent``: the child
    that is PID 1 of a PID namespace of its own (not the runtime's watcher, its other child).
    None while there is none."""
    for pid in children(parent):
        numbers = nspid(pid)
        if len(numbers) > 1 and numbers[-1] == 1:
            return pid
    return None


def container_pid(parent, comm=None, timeout=15):
    """The host PID of the container's PID 1 under mydocker-lab's process ``parent``.

    Waits until there is one (and, with ``comm``, until it runs that program, e.g.
    ``"sleep"`` once init has exec'd it). TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        pid = find_container(parent)
        if pid is not None and (comm is None or read_text("/proc/%d/comm" % pid) == comm):
            return pid
        if time.monotonic() > deadline:
            raise TimeoutError("no container process%s under PID %d after %g s"
                               % (" running %r" % comm if comm else "", parent, timeout))
        time.sleep(0.005)


def in_child(work):
    """Run ``work()`` in a forked child of this probe and return the text it returns (bytes
    in the child); None when it returns nothing, fails, or execs (its end of the pipe is
    closed on exec). For what must not touch the probe itself: joining a namespace, execve."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.write(w, work() or b"")
        finally:
            os._exit(0)
    os.close(w)
    said = read_all(r)
    os.waitpid(pid, 0)
    return said or None


def errname(err):
    """``EACCES`` for an OSError of errno EACCES."""
    return errno.errorcode.get(err.errno, str(err.errno))


# -- a throw-away place to experiment in ------------------------------------------------------
def sandbox(flags=linux.CLONE_NEWNS):
    """Move this probe process into new namespaces ``flags`` (a new mount namespace at
    least), with ``/`` made recursively private and a fresh tmpfs on /tmp: whatever the
    probe mounts or makes there vanishes with it, and nothing reaches the host. (A
    checkout or venv under /tmp stays visible in it: the probe's own Python lives there.)

    When not root, a user namespace comes first (root inside, yourself outside).
    """
    flags |= linux.CLONE_NEWNS
    if os.geteuid() != 0:
        uid, gid = os.geteuid(), os.getegid()
        linux.unshare(flags | linux.CLONE_NEWUSER)
        for name, text in (("setgroups", "deny"), ("uid_map", "0 %d 1" % uid),
                           ("gid_map", "0 %d 1" % gid)):
            with open("/proc/self/" + name, "w") as f:
                f.write(text)
    else:
        linux.unshare(flags)
    linux.mount("", "/", None, linux.MS_PRIVATE | linux.MS_REC)
    # this Python and mydocker_lab stay where they are when they live under /tmp (a
    # checkout or a venv there): bound back from the /tmp the new tmpfs hides
    keep = sorted({os.path.join("/tmp", p.split(os.sep)[2]) for p in (
        os.path.realpath(sys.prefix), os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.realpath(__file__))))))
        if p.startswith("/tmp/") and len(p.split(os.sep)) > 2})
    old_tmp = os.open("/tmp", os.O_PATH | os.O_DIRECTORY) if keep else None
    linux.mount("probe-tmp", "/tmp", "tmpfs", 0, "mode=755")
    for path in keep:
        os.mkdir(path, 0o755)
        linux.mount("/proc/self/fd/%d/%s" % (old_tmp, os.path.basename(path)), path, None,
                    linux.MS_BIND | linux.MS_REC)
    if old_tmp is not None:
        os.close(old_tmp)


def gate():
    """A pipe that holds one packet, filled: the next write() to it blocks, so a process
    that writes there is held at that point (see blocked_on) until the gate is read."""
    r, w = os.pipe2(os.O_DIRECT | os.O_CLOEXEC)
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
    os.write(w, b"(gate closed)")
    return r, w


def process_tree(root):
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


def blocked_on(pid, gates):
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
