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
import json
import os
import socket

from ... import linux
from ..common import ALL_KINDS, CHILD_HOSTNAME, KINDS, SHM_KEY
from . import probe
from .support import errname, read_all, sandbox

SCRATCH = "/tmp/scratch"        # inside the probe's own tmpfs on /tmp
IPC_CREAT, IPC_RMID = 0o1000, 0


def ns_ids():
    """``{"uts": "uts:[4026531838]", ...}`` for the calling process."""
    return {kind: os.readlink("/proc/self/ns/" + kind) for kind in ALL_KINDS
            if os.path.exists("/proc/self/ns/" + kind)}


@probe("ns-links")
def ns_links():
    return ns_ids()


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as err:
        return errname(err)


def _sysv_shm():
    """The C library, for System V shared memory (Python has none): shmget(2), shmctl(2)."""
    return ctypes.CDLL(None, use_errno=True)


def _shmget(key, create):
    flags = (IPC_CREAT | 0o600) if create else 0
    shmid = _sysv_shm().shmget(ctypes.c_int(key), ctypes.c_size_t(4096 if create else 0),
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
        view["sethostname"] = errname(err)
    view["hostname"] = os.uname().nodename
    try:
        linux.mount("child-tmpfs", SCRATCH, "tmpfs", 0, "size=64k")
        view["mount"] = "ok"
    except OSError as err:
        view["mount"] = errname(err)
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
    sandbox(linux.CLONE_NEWNS | linux.CLONE_NEWUTS | linux.CLONE_NEWIPC)
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
    report = read_all(report_r)
    os.waitpid(pid, 0)
    child = {}
    for line in report.splitlines():
        child.update(json.loads(line))
    if "error" in child:
        raise OSError(child["error"])
    parent["hostname_after"] = os.uname().nodename
    parent["mount_seen"] = os.path.ismount(SCRATCH)
    parent["child_pid"] = child.pop("outer_pid")
    _sysv_shm().shmctl(shmid, IPC_RMID, None)
    return {"kinds": list(kinds), "flags": flags, "parent": parent, "child": child}


@probe("ns-explore")
def ns_explore(kinds=""):
    return explore([k for k in kinds.split(",") if k])
