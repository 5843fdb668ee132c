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


# -- Exercise 1: who had which hostname ----------------------------------------------------
PTRACE_TRACEME, PTRACE_CONT, PTRACE_SETOPTIONS = 0, 7, 0x4200
PTRACE_O_TRACEFORK, PTRACE_O_TRACEVFORK, PTRACE_O_TRACECLONE = 0x2, 0x4, 0x8
PTRACE_O_TRACEEXIT, PTRACE_O_EXITKILL = 0x40, 0x100000
PTRACE_EVENT_EXIT = 6
_WALL = 0x40000000


def _ptrace(request, pid, data=0):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.restype = ctypes.c_long
    result = libc.ptrace(ctypes.c_long(request), ctypes.c_long(pid), None,
                         ctypes.c_void_p(data))
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), "ptrace")
    return result


def _hostname_in(pid):
    """The hostname of ``pid``'s UTS namespace: a forked helper joins it and asks uname()."""
    def ask():
        with open("/proc/%d/ns/uts" % pid) as ns:
            linux.setns(ns.fileno(), linux.CLONE_NEWUTS)
        return os.uname().nodename.encode()
    from .support import in_child
    return in_child(ask)


def traced_hostnames(argv, env, timeout=30):
    """Run ``argv`` (stdout and stderr to a pipe) with every process it starts traced; as each
    one ends (stopped at its exit by ptrace, its namespaces still there), note its UTS
    namespace and that namespace's hostname. Returns ``(status, output, seen)``: ``seen`` is
    ``{uts link: hostname}`` of every process of the command. Its stderr goes to ERRORS."""
    import select
    import signal
    import time
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(out_r)
            os.dup2(out_w, 1)
            os.dup2(os.open(ERRORS, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            try:
                _ptrace(PTRACE_TRACEME, 0)
            except OSError as err:   # a security module may forbid it (Yama's scope 3)
                os.write(2, ("%s%s\n" % (PTRACE_REFUSED, errname(err))).encode())
                os._exit(PTRACE_REFUSED_STATUS)
            os.execvpe(argv[0], argv, env)   # stops with SIGTRAP after the exec
        finally:
            os._exit(127)
    os.close(out_w)
    chunks, seen, status = [], {}, None
    deadline = time.monotonic() + timeout
    _, first = os.waitpid(pid, _WALL)
    if os.WIFSTOPPED(first):
        _ptrace(PTRACE_SETOPTIONS, pid, PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK
                | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL)
        _ptrace(PTRACE_CONT, pid, 0)
    else:
        status = first
    open_pipe = True
    while status is None or open_pipe:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            raise TimeoutError("the command did not end in %d s" % timeout)
        if open_pipe and select.select([out_r], [], [], 0.01)[0]:
            chunk = os.read(out_r, 65536)
            if chunk:
                chunks.append(chunk)
            else:
                open_pipe = False
                os.close(out_r)
        while True:  # every tracee that stopped (or ended) meanwhile
            try:
                who, wstatus = os.waitpid(-1, _WALL | os.WNOHANG)
            except ChildProcessError:
                who = 0
            if who == 0:
                break
            if os.WIFSTOPPED(wstatus):
                event, sig = wstatus >> 16, os.WSTOPSIG(wstatus)
                if event == PTRACE_EVENT_EXIT:
                    try:
                        link = os.readlink("/proc/%d/ns/uts" % who)
                        seen[link] = _hostname_in(who) or ""
                    except OSError:
                        pass
                deliver = 0 if event or sig == signal.SIGTRAP else sig
                try:
                    _ptrace(PTRACE_CONT, who, deliver)
                except OSError:
                    pass  # gone meanwhile (killed)
            elif who == pid:
                status = wstatus
        if status is not None and not open_pipe:
            break
    text = b"".join(chunks).decode("utf-8", "replace")
    return os.waitstatus_to_exitcode(status), text, seen


ERRORS = "/tmp/answer-stderr"   # in the sandbox's own /tmp
PTRACE_REFUSED, PTRACE_REFUSED_STATUS = "@@ptrace refused: ", 125


@probe("uts-exercise")
def uts_exercise(answer, timeout="60"):
    """Exercise 1: run the student's shell command in a throw-away UTS namespace (standing for
    the host) and watch every process it starts: which UTS namespaces and hostnames there
    were, what it printed, and the "host's" name afterwards."""
    sandbox(linux.CLONE_NEWNS | linux.CLONE_NEWUTS | linux.CLONE_NEWIPC)
    host = {"uts": ns_ids()["uts"], "before": os.uname().nodename}
    try:
        status, output, seen = traced_hostnames(["sh", "-c", answer], dict(os.environ),
                                                float(timeout))
    except TimeoutError as err:
        return {"timeout": str(err)}
    host["after"] = os.uname().nodename
    with open(ERRORS) as f:
        errors = f.read()
    if status == PTRACE_REFUSED_STATUS and errors.startswith(PTRACE_REFUSED):
        return {"ptrace_refused": errors[len(PTRACE_REFUSED):].strip()}
    return {"status": status, "output": output, "errors": errors, "host": host,
            "own": {link: name for link, name in seen.items() if link != host["uts"]}}


# -- Rootless by hand: uid_map, gid_map, setgroups -----------------------------------------
_BY_HAND = r'''
echo "uid $(id -u), gid $(id -g)   uid_map: [$(cat /proc/$$/uid_map)]   gid_map: [$(cat /proc/$$/gid_map)]   setgroups: $(cat /proc/$$/setgroups)"
echo @@ready
read go
echo "uid $(id -u), gid $(id -g)   uid_map: [$(echo $(cat /proc/$$/uid_map))]   gid_map: [$(echo $(cat /proc/$$/gid_map))]   setgroups: $(cat /proc/$$/setgroups)"
touch "$DIR/made-inside" && echo "a file made inside: owner $(stat -c %u "$DIR/made-inside")"
'''


@probe("userns-by-hand")
def userns_by_hand():
    """A shell in a new user namespace (``unshare --user``, nothing mapped) says who it is;
    from outside, this probe writes its setgroups, uid_map and gid_map by hand (as newuidmap
    would, and as ``unshare --map-root-user`` does); the shell says again. Then the probe
    tries to write uid_map once more. The shell makes a file in a temporary directory, which
    is removed at the end."""
    import shutil
    import subprocess
    import tempfile
    scratch_dir = tempfile.mkdtemp(prefix="mydocker-lab-userns-")
    uid, gid = os.geteuid(), os.getegid()
    shell = subprocess.Popen(["unshare", "--user", "sh", "-c", _BY_HAND], text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, env=dict(os.environ, DIR=scratch_dir))
    before = []
    for line in shell.stdout:
        if line.strip() == "@@ready":
            break
        before.append(line.rstrip("\n"))
    writes = []
    for name, text in (("setgroups", "deny"), ("uid_map", "0 %d 1" % uid),
                       ("gid_map", "0 %d 1" % gid), ("uid_map", "0 %d 1" % uid)):
        try:
            with open("/proc/%d/%s" % (shell.pid, name), "w") as f:
                f.write(text)
            result = "ok"
        except OSError as err:
            result = errname(err)
        writes.append([name, text, result])
    after, _ = shell.communicate("go\n", timeout=120)   # the course VM starts things slowly
    made = os.path.join(scratch_dir, "made-inside")
    made = os.stat(made).st_uid if os.path.exists(made) else None
    shutil.rmtree(scratch_dir)
    return {"uid": uid, "gid": gid, "before": before, "writes": writes,
            "after": after.rstrip("\n").splitlines(), "file_owner_outside": made}

