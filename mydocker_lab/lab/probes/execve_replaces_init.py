"""Probes for notebook 03: what execve() does to a process, and why PID 1 is special.

Each probe runs on the target as its own process; the experiments fork
children or start real containers with ``python -m mydocker_lab run``.
"""
import ctypes
import errno
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import time

from ..common import CASES, HOSTNAME, LEAVE, ORPHAN, SELF_TERM, errors, log_records
from . import probe
from .support import (blocked_on, cmdline, container_pid, find_container, gate, in_child,
                      mydocker, nspid, outcome, probe_argv, process_tree, read_all, read_text,
                      run_mydocker, stat)

#: What the program started by execve prints about itself (``$$`` is its own PID).
SELF_REPORT = 'echo "$$"; echo "$PPID"; readlink "/proc/$$/exe"; cat "/proc/$$/cmdline"'


def _image(pid):
    """pid, ppid, exe and cmdline of ``pid``, as /proc tells."""
    return {"pid": pid, "ppid": stat(pid)[1], "exe": os.readlink("/proc/%d/exe" % pid),
            "cmdline": cmdline(pid)}


@probe("exec-image")
def exec_image(path="/bin/sh"):
    """Fork a child; it reports its image, then execve()s ``path``.

    With ``/bin/sh`` (the default) the new program reports its image too:
    same PID, new exe and cmdline. Any other path shows what execve() does
    with it: the line after ``os.execve`` runs only if execve returned.
    """
    report_r, report_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a copy of this Python program
        try:
            os.close(report_r)
            os.close(out_r)
            os.write(report_w, (json.dumps(_image(os.getpid())) + "\n").encode())
            os.dup2(out_w, 1)
            argv = ["sh", "-c", SELF_REPORT] if path == "/bin/sh" else [path]
            try:
                os.execve(path, argv, {"PATH": "/usr/bin:/bin"})
            except OSError as err:
                # Only reached when execve() failed: on success this code is gone.
                os.write(report_w, ("returned %s\n" % errno.errorcode[err.errno]).encode())
        finally:
            os._exit(127)
    os.close(report_w)
    os.close(out_w)
    report = read_all(report_r).splitlines()
    output = read_all(out_r)
    _, status = os.waitpid(pid, 0)
    result = {"before": json.loads(report[0]), "returned": None,
              "status": os.waitstatus_to_exitcode(status), "output": output,
              # to tell these apart from what belongs to the machine: this probe's own
              # image (the child was a copy of it) and the file /bin/sh really is
              "probe": _image(os.getpid()), "sh_file": os.path.realpath("/bin/sh")}
    if len(report) > 1:
        result["returned"] = report[1].split()[1]
    elif path == "/bin/sh":
        pid_, ppid, exe, cmdline = output.split("\n", 3)
        result["after"] = {"pid": int(pid_), "ppid": int(ppid), "exe": exe,
                           "cmdline": cmdline.rstrip("\0").split("\0")}
    return result


def _scratch():
    directory = tempfile.mkdtemp(prefix="mydocker-lab-03-")
    files = {"notes.txt": ("just text\n", 0o644),
             "no-shebang": ("echo I am a script without a first line\n", 0o755),
             "with-shebang": ("#!/bin/sh\necho I am a script: /bin/sh runs me\n", 0o755),
             "bad-interpreter": ("#!/no/such/interpreter\necho never printed\n", 0o755)}
    for name, (text, mode) in files.items():
        with open(os.path.join(directory, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(directory, name), mode)
    _without_loader(os.path.join(directory, "no-loader"))
    os.chmod(directory, 0o755)
    return directory


def elf_interpreter(data):
    """(offset, path) of an ELF file's PT_INTERP (the dynamic loader the kernel starts
    first), or None for a static binary. 64-bit little-endian ELF only."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _flags, p_offset, _va, _pa, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP
            return p_offset, data[p_offset:p_offset + p_filesz].rstrip(b"\0").decode()
    return None


def _without_loader(path):
    """A copy of /bin/true whose ELF interpreter names a loader that does not exist (its
    last letter changed to X): the file exists, is executable, and execve() says ENOENT."""
    with open(os.path.realpath("/bin/true"), "rb") as f:
        data = bytearray(f.read())
    found = elf_interpreter(bytes(data))
    if found is not None:
        offset, loader = found
        data[offset + len(loader) - 1] = ord("X")
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o755)
    return None if found is None else (loader, loader[:-1] + "X")


@probe("missing-interpreter")
def missing_interpreter():
    """Two files that exist and are executable, yet execve() says 'No such file or
    directory': a script whose #! interpreter is missing, an ELF whose loader is missing."""
    directory = _scratch()
    try:
        results = []
        for name in ("bad-interpreter", "no-loader"):
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                head = f.read()
            loader = elf_interpreter(head)
            results.append({
                "file": "/tmp/lab/" + name,
                "exists": os.path.exists(path), "mode": oct(os.stat(path).st_mode & 0o777),
                "first_line": head.split(b"\n", 1)[0].decode() if head[:2] == b"#!" else None,
                "interpreter": loader[1] if loader else None,
                "interpreter_exists": os.path.exists(loader[1]) if loader else None,
                "execve": _execve_errno([path]),
            })
        return results
    finally:
        shutil.rmtree(directory)


def _execve_errno(argv):
    """What a bare execve() (PATH searched like execvp) says about argv[0]."""
    def try_execve():
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        name = argv[0]
        paths = [name] if "/" in name else [os.path.join(d, name) for d in
                                             "/usr/local/bin:/usr/bin:/bin".split(":")]
        first = None
        for path in paths:
            try:
                os.execve(path, argv, {"PATH": "/usr/bin:/bin"})
            except OSError as err:
                if first is None or first == errno.ENOENT:
                    first = err.errno
        return errno.errorcode[first].encode()  # reached only when every execve() failed
    return in_child(try_execve)


def _in_container(*argv):
    """``mydocker-lab run --hostname lab ARGV...`` to its end: exit, stdout, errors..."""
    return outcome(run_mydocker("--log-level", "error", "run", "--hostname", HOSTNAME, *argv))


@probe("exec-case")
def exec_case(*names):
    """Run each named case of CASES: bare execve's errno, and ``mydocker-lab run``'s result."""
    directory = _scratch()
    try:
        results = {}
        for name in names or CASES:
            argv = [a.replace("{dir}", directory) for a in CASES[name]]
            run = _in_container(*argv)
            results[name] = {
                "argv": [a.replace(directory, "/tmp/lab") for a in argv],
                "execve": _execve_errno(argv),
                "exit": run["exit"],
                "stdout": run["stdout"],
                "errors": [m.replace(directory, "/tmp/lab") for m in errors(run["logs"])],
                "scratch": directory,  # where /tmp/lab really was (removed afterwards)
            }
        return results
    finally:
        shutil.rmtree(directory)


@probe("exec-run")
def exec_run(*argv):
    """``mydocker-lab run --hostname lab ARGV...`` once: exit code, stdout, error lines."""
    run = _in_container(*argv)
    return {"argv": list(argv), "exit": run["exit"], "stdout": run["stdout"],
            "errors": errors(run["logs"])}


@probe("exec-pid1")
def exec_pid1(*argv, timeout=30):
    """``mydocker-lab run --hostname lab ARGV...`` with its stdout a *gate* (a pipe kept full,
    as the run-flow probe does): the first write of the command's output blocks until we
    read. While it is blocked, PID 1 of the container is alive (it is the writer, or waits
    for it), and we read its real cmdline from the host's /proc: what PID 1 *is* at the moment
    the answer is printed (after every execve it made, e.g. ``sh -c 'exec cat …'``)."""
    out_r, out_w = gate()
    gates = {"stdout": os.fstat(out_r).st_ino}
    proc = subprocess.Popen(mydocker("--log-level", "error", "run", "--hostname", HOSTNAME,
                                     *argv), stdin=subprocess.DEVNULL, stdout=out_w,
                            stderr=subprocess.PIPE, cwd="/")
    os.close(out_w)
    pid1, deadline, timed_out = None, time.monotonic() + timeout, False
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if any(blocked_on(pid, gates) for pid, _pp, _d in process_tree(proc.pid)):
                container = find_container(proc.pid)
                try:
                    pid1 = cmdline(container) if container else None
                except OSError:
                    pid1 = None
                break
            time.sleep(0.002)
        os.read(out_r, 65536)  # the filler: the blocked write goes through
        chunks = []
        while True:  # the rest, to its end -- or until the deadline: then the container goes
            ready, _, _ = select.select([out_r], [], [], 0.1)
            if ready:
                chunk = os.read(out_r, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
            elif time.monotonic() > deadline and not timed_out:
                timed_out = True
                container = find_container(proc.pid)
                if container:
                    os.kill(container, signal.SIGKILL)  # the whole PID namespace with it
                else:
                    proc.kill()
        os.close(out_r)
        stdout = b"".join(chunks).decode("utf-8", "replace")
        stderr = proc.stderr.read().decode("utf-8", "replace")
        code = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    return {"argv": list(argv), "exit": code, "stdout": stdout, "pid1": pid1,
            "errors": errors(log_records(stderr)), "timed_out": timed_out, "timeout": timeout}


def _sh(script):
    """``sh -c SCRIPT`` here, on the host: exit code, stdout and the shell's PID."""
    with subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL) as proc:
        try:
            stdout, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    return {"exit": proc.returncode, "stdout": stdout, "pid": proc.pid}


def _script_in_container(script):
    run = _in_container("sh", "-c", script)
    return {"exit": run["exit"], "stdout": run["stdout"]}


def _survivors(marker):
    """Host PIDs whose cmdline is ``sleep MARKER``."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/cmdline" % name, "rb") as f:
                    if f.read() == b"sleep\0" + marker.encode() + b"\0":
                        found.append(int(name))
            except OSError:
                continue
    return found


@probe("exec-pid1-within")
def exec_pid1_within(seconds, *argv):
    """``exec-pid1`` with a time limit other than 30 s: SECONDS first, then ARGV."""
    return exec_pid1(*argv, timeout=float(seconds))


@probe("pid1")
def pid1():
    """Three rules the kernel has for the init of a PID namespace, each shown for real."""
    # 1. Signals: PID 1 gets only the signals it has a handler for (from inside its namespace).
    host = _sh(SELF_TERM)
    inside = _script_in_container(SELF_TERM)
    # 2. Orphans: reparented to the namespace's PID 1 (inside, ps sees everything). ps may
    # run before the orphan's fork has exec'd sleep (it then shows as sh): run it again
    deadline = time.monotonic() + 30
    while True:
        orphan = _script_in_container(ORPHAN)
        if any(line.split()[1:] == ["1", "sleep", "5"] for line in orphan["stdout"].splitlines()) \
                or time.monotonic() > deadline:
            break
    # 3. When PID 1 ends, the kernel kills every other process of its namespace.
    start = time.monotonic()
    leave = _script_in_container(LEAVE)
    elapsed = time.monotonic() - start
    deadline = time.monotonic() + 10
    left = _survivors("29.5")
    while left and time.monotonic() < deadline:  # SIGKILL is delivered, dying takes a moment
        time.sleep(0.02)
        left = _survivors("29.5")
    return {"signal": {"host": host, "container": inside, "script": SELF_TERM},
            "orphan": dict(orphan, script=ORPHAN),
            "leave": dict(leave, script=LEAVE, seconds=round(elapsed, 2),
                          sleep_left_on_host=left)}


# -- zombies -----------------------------------------------------------------------------------
#: A subshell starts a short sleep and exits (the sleep is an orphan), then PID 1 becomes a
#: long sleep: a program that never calls wait().
ZOMBIE = "(sleep 0.2 &); exec sleep 60"
#: The same orphan, under an init that reaps.
ORPHAN_ONLY = "(sleep 0.2 &)"
PR_SET_CHILD_SUBREAPER = 36


def _members(root):
    """root and its descendants as the container numbers them: [(pid inside, state, comm)]."""
    out = []
    for pid, _ppid, _depth in process_tree(root):
        try:
            state, _ = stat(pid)
        except (OSError, IndexError):
            continue
        out.append({"pid": (nspid(pid) or [pid])[-1], "state": state,
                    "comm": read_text("/proc/%d/comm" % pid), "host_pid": pid})
    return sorted(out, key=lambda m: m["pid"])


@probe("zombie")
def zombie(timeout=60):
    """PID 1 that never wait()s: the orphan it inherits stays a zombie (Z), seen from the host.
    Then SIGKILL to PID 1 from the host ends the container, and the zombie with it."""
    proc = subprocess.Popen(mydocker("--log-level", "error", "run", "--hostname", HOSTNAME,
                                     "sh", "-c", ZOMBIE), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pid1 = container_pid(proc.pid, comm="sleep", timeout=timeout)
        deadline = time.monotonic() + timeout
        members = _members(pid1)
        while not any(m["state"] == "Z" for m in members) and time.monotonic() < deadline:
            time.sleep(0.01)
            members = _members(pid1)
        os.kill(pid1, signal.SIGKILL)
        code = proc.wait(timeout=timeout)
        left = [m["host_pid"] for m in members if os.path.exists("/proc/%d" % m["host_pid"])
                and stat(m["host_pid"])[0] != "Z"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return {"script": ZOMBIE, "members": [dict(m, host_pid=None) for m in members],
            "exit": code, "left": left}


@probe("mini-init")
def mini_init(*argv):
    """A tiny init, as tini: start ``argv`` as a child, and reap *every* child until none is
    left (orphans included), then return the main child's exit status. Not PID 1, it makes
    itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so orphans come to it anyway."""
    subreaper = os.getpid() != 1
    if subreaper:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    main = os.fork()
    if main == 0:
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            os.execvp(argv[0], list(argv))
        finally:
            os._exit(127)
    status, reaped = None, []
    while True:
        try:
            pid, raw = os.wait()
        except ChildProcessError:  # none left
            break
        if pid == main:
            status = os.waitstatus_to_exitcode(raw)
        else:
            reaped.append(pid)
    return {"pid": os.getpid(), "subreaper": subreaper, "main": main, "reaped": reaped,
            "exit": status}


@probe("reaping")
def reaping():
    """The orphan of ORPHAN_ONLY under a reaping init: as the container's PID 1, and on the
    host as a child subreaper."""
    inside = outcome(run_mydocker("--log-level", "error", "run", "--hostname", HOSTNAME,
                                  *probe_argv("mini-init", "sh", "-c", ORPHAN_ONLY), timeout=120))
    host = subprocess.run(probe_argv("mini-init", "sh", "-c", ORPHAN_ONLY), capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    return {"script": ORPHAN_ONLY, "container": dict(json.loads(inside["stdout"]),
                                                     run_exit=inside["exit"]),
            "host": json.loads(host.stdout)}
