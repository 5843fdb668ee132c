"""Probes for notebook 01: what a child process sees from inside new namespaces.

``ns-links`` prints the caller's ``/proc/self/ns/*``. ``ns-explore KINDS`` is
the experiment behind the notebook's explorer: a parent starts a child in the
namespaces KINDS (``uts,pid,...``); the child tries to change things (the
hostname, a mount, ...) and reports what it sees; the parent then looks at what
changed for *it*.

Safety: the probe first steps into a throw-away UTS, mount and IPC namespace of
its own (the "parent" below stands for the host). So even the experiment
*without* a UTS namespace, whose ``sethostname`` does reach the parent, cannot
rename your machine; the child's tmpfs and the parent's shared memory segment
vanish with the probe.
"""
import ctypes
import errno
import json
import os
import socket

from ... import linux
from . import probe

#: The namespaces the explorer offers, in the order the notebook shows them.
KINDS = ("uts", "pid", "mnt", "net", "ipc", "user")
#: Every namespace a process has (``/proc/self/ns``, without the *_for_children links).
ALL_KINDS = ("uts", "pid", "mnt", "net", "ipc", "user", "cgroup", "time")

CHILD_HOSTNAME = "child"
SCRATCH = "/tmp/scratch"        # inside the probe's own tmpfs on /tmp
SHM_KEY = 0x6c616231            # "lab1": a System V shared memory key
IPC_CREAT, IPC_RMID = 0o1000, 0

_libc = ctypes.CDLL(None, use_errno=True)


def ns_ids():
    """``{"uts": "uts:[4026531838]", ...}`` for the calling process."""
    return {kind: os.readlink("/proc/self/ns/" + kind) for kind in ALL_KINDS
            if os.path.exists("/proc/self/ns/" + kind)}


@probe("ns-links")
def ns_links():
    return ns_ids()


def network_card():
    """The network device that carries the default route (eth0, enp0s3, wlan0, ...); without
    a default route (offline), the first device besides lo; None if there is none."""
    with open("/proc/net/route") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if len(fields) > 2 and fields[1] == "00000000" and fields[0] != "lo":
                return fields[0]
    with open("/proc/net/dev") as f:
        names = sorted(line.split(":", 1)[0].strip() for line in f.readlines()[2:])
    return next((name for name in names if name != "lo"), None)


@probe("host-values")
def host_values():
    """What belongs to this machine and differs on every other: its hostname, the name of
    its PID 1 (systemd on most machines) and its network card."""
    with open("/proc/1/comm") as f:
        init = f.read().strip()
    return {"hostname": os.uname().nodename, "init": init, "nic": network_card()}


def _errname(err):
    return errno.errorcode.get(err.errno, str(err.errno))


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as err:
        return _errname(err)


def sandbox():
    """Put this probe process into throw-away UTS, mount and IPC namespaces.

    When not root, a user namespace comes first (root inside, yourself outside).
    ``/`` is made recursively private so nothing mounted here reaches the host,
    and a fresh tmpfs on /tmp gives a scratch area that leaves no trace.
    """
    flags = linux.CLONE_NEWNS | linux.CLONE_NEWUTS | linux.CLONE_NEWIPC
    if os.geteuid() != 0:
        uid, gid = os.geteuid(), os.getegid()
        linux.unshare(flags | linux.CLONE_NEWUSER)
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", "0 %d 1" % uid)
        _write("/proc/self/gid_map", "0 %d 1" % gid)
    else:
        linux.unshare(flags)
    linux.mount("", "/", None, linux.MS_PRIVATE | linux.MS_REC)
    linux.mount("probe-tmp", "/tmp", "tmpfs", 0, "mode=755")


def _shmget(key, create):
    flags = (IPC_CREAT | 0o600) if create else 0
    shmid = _libc.shmget(ctypes.c_int(key), ctypes.c_size_t(4096 if create else 0),
                         ctypes.c_int(flags))
    if shmid == -1:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), "shmget")
    return shmid


def _ifaces():
    return sorted(name for _, name in socket.if_nameindex())


def _child_view():
    """What the child does and sees (it runs in the new namespaces)."""
    view = {"pid": os.getpid(), "ns": ns_ids(), "uid": os.geteuid(),
            "uid_map": _read("/proc/self/uid_map").strip()}
    try:
        linux.sethostname(CHILD_HOSTNAME)
        view["sethostname"] = "ok"
    except OSError as err:
        view["sethostname"] = _errname(err)
    view["hostname"] = os.uname().nodename
    try:
        linux.mount("child-tmpfs", SCRATCH, "tmpfs", 0, "size=64k")
        view["mount"] = "ok"
    except OSError as err:
        view["mount"] = _errname(err)
    view["mount_seen"] = os.path.ismount(SCRATCH)
    view["ifaces"] = _ifaces()
    try:
        _shmget(SHM_KEY, create=False)
        view["shm_seen"] = True
    except OSError:
        view["shm_seen"] = False
    return view


def _report(fd, obj):
    """One JSON line; short enough (< PIPE_BUF) to be written atomically."""
    os.write(fd, json.dumps(obj).encode() + b"\n")


def _run_child(flags, report_w):
    """In the forked child: enter the namespaces, then report (via a grandchild for PID)."""
    linux.unshare(flags)
    if flags & linux.CLONE_NEWPID:
        # unshare(CLONE_NEWPID) moves only our *future children* into the new PID
        # namespace: the first one we fork is its PID 1.
        pid = os.fork()
        if pid == 0:
            _report(report_w, _child_view())
            os._exit(0)
        _report(report_w, {"outer_pid": pid})
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status))
    view = _child_view()
    view["outer_pid"] = os.getpid()  # no new PID namespace: the same number everywhere
    _report(report_w, view)
    os._exit(0)


def explore(kinds):
    """The experiment; ``kinds`` is a list of names from KINDS. Returns the report."""
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ValueError("unknown namespace %s: choose from %s" % (", ".join(bad),
                                                                    ", ".join(KINDS)))
    flags = 0
    for kind in kinds:
        flags |= linux.NAMESPACE_FLAGS[kind]
    sandbox()
    os.mkdir(SCRATCH)
    shmid = _shmget(SHM_KEY, create=True)
    parent = {"ns": ns_ids(), "uid": os.geteuid(), "hostname_before": os.uname().nodename,
              "ifaces": _ifaces()}
    report_r, report_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(report_r)
        code = 1
        try:
            _run_child(flags, report_w)
        except OSError as err:
            _report(report_w, {"error": "%s: %s" % (err.filename, err.strerror)})
        finally:
            os._exit(code)
    os.close(report_w)
    chunks = []
    while True:
        chunk = os.read(report_r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(report_r)
    os.waitpid(pid, 0)
    child = {}
    for line in b"".join(chunks).decode().splitlines():
        child.update(json.loads(line))
    if "error" in child:
        raise OSError(child["error"])
    parent["hostname_after"] = os.uname().nodename
    parent["mount_seen"] = os.path.ismount(SCRATCH)
    parent["child_pid"] = child.pop("outer_pid")
    _libc.shmctl(shmid, IPC_RMID, None)
    return {"kinds": list(kinds), "flags": flags, "parent": parent, "child": child}


@probe("ns-explore")
def ns_explore(kinds=""):
    return explore([k for k in kinds.split(",") if k])
