"""Probes for notebook 03: what execve() does to a process, and why PID 1 is special.

Each probe runs on the target as its own process; the experiments fork
children or start real containers with ``python -m mydocker_lab run``.
"""
import errno
import json
import os
import shutil
import subprocess
import tempfile
import time

from ..common import CASES, HOSTNAME, LEAVE, ORPHAN, SELF_TERM, errors
from . import probe
from .support import cmdline, in_child, outcome, read_all, run_mydocker, stat

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
             "with-shebang": ("#!/bin/sh\necho I am a script: /bin/sh runs me\n", 0o755)}
    for name, (text, mode) in files.items():
        with open(os.path.join(directory, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(directory, name), mode)
    os.chmod(directory, 0o755)
    return directory


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
