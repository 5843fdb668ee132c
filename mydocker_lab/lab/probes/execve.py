"""Probes for notebook 03: what execve() does to a process, and why PID 1 is special.

Each probe runs on the target as its own process; the experiments fork
children or start real containers with ``python -m mydocker_lab run``.
"""
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from . import probe, read_all

#: What the program started by execve prints about itself (``$$`` is its own PID).
SELF_REPORT = 'echo "$$"; echo "$PPID"; readlink "/proc/$$/exe"; cat "/proc/$$/cmdline"'


def _image(pid):
    """pid, ppid, exe and cmdline of ``pid``, as /proc tells."""
    with open("/proc/%d/stat" % pid) as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        cmdline = f.read().rstrip(b"\0").split(b"\0")
    return {"pid": pid, "ppid": ppid, "exe": os.readlink("/proc/%d/exe" % pid),
            "cmdline": [a.decode("utf-8", "replace") for a in cmdline]}


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


#: The commands of the execve explorer. Files are made in a scratch directory
#: on the target (removed afterwards); ``{dir}`` stands for it.
CASES = {
    "a program in PATH": ["echo", "hello from the container"],
    "a program that is not there": ["no-such-program"],
    "a path that does not exist": ["/no/such/file"],
    "a directory": ["{dir}"],
    "a file without the x bit": ["{dir}/notes.txt"],
    "a script without #! line": ["{dir}/no-shebang"],
    "a script with #!/bin/sh": ["{dir}/with-shebang"],
    "a command that fails": ["sh", "-c", "exit 3"],
}


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
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
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
            os.write(w, errno.errorcode[first].encode())
        finally:
            os._exit(127)
    os.close(w)
    said = read_all(r)
    os.waitpid(pid, 0)
    return said or None


def _mydocker(*args, timeout=30):
    return subprocess.run([sys.executable, "-m", "mydocker_lab"] + list(args),
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def _errors(stderr):
    """The msg of each JSON error log line."""
    msgs = []
    for line in stderr.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            msgs.append(line)
            continue
        if entry.get("level") == "error":
            msgs.append(entry["msg"])
    return msgs


@probe("exec-case")
def exec_case(*names):
    """Run each named case of CASES: bare execve's errno, and ``mydocker-lab run``'s result."""
    directory = _scratch()
    try:
        results = {}
        for name in names or CASES:
            argv = [a.replace("{dir}", directory) for a in CASES[name]]
            proc = _mydocker("--log-level", "error", "run", "--hostname", "lab", *argv)
            results[name] = {
                "argv": [a.replace(directory, "/tmp/lab") for a in argv],
                "execve": _execve_errno(argv),
                "exit": proc.returncode,
                "stdout": proc.stdout,
                "errors": [m.replace(directory, "/tmp/lab") for m in _errors(proc.stderr)],
            }
        return results
    finally:
        shutil.rmtree(directory)


@probe("exec-run")
def exec_run(*argv):
    """``mydocker-lab run --hostname lab ARGV...`` once: exit code, stdout, error lines."""
    proc = _mydocker("--log-level", "error", "run", "--hostname", "lab", *argv)
    return {"argv": list(argv), "exit": proc.returncode, "stdout": proc.stdout,
            "errors": _errors(proc.stderr)}


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


def _in_container(script):
    proc = _mydocker("--log-level", "error", "run", "--hostname", "lab", "sh", "-c", script)
    return {"exit": proc.returncode, "stdout": proc.stdout}


#: Kills itself with SIGTERM, then says whether it is still there.
SELF_TERM = 'echo "I am PID $$, sending myself SIGTERM"; kill -TERM $$; echo "still alive"'
#: A subshell starts sleep in the background and exits: sleep is an orphan.
ORPHAN = '(sleep 5 &); ps -o pid,ppid,args'
#: PID 1 starts a long sleep and leaves at once.
LEAVE = 'sleep 29.5 & echo "PID $$ started sleep as PID $!, and exits"'


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
    inside = _in_container(SELF_TERM)
    # 2. Orphans: reparented to the namespace's PID 1 (inside, ps sees everything).
    for _attempt in range(5):
        orphan = _in_container(ORPHAN)
        # ps may run before the orphan's fork has exec'd sleep (it then shows as sh): again
        if any(line.split()[1:] == ["1", "sleep", "5"] for line in orphan["stdout"].splitlines()):
            break
    # 3. When PID 1 ends, the kernel kills every other process of its namespace.
    start = time.monotonic()
    leave = _in_container(LEAVE)
    elapsed = time.monotonic() - start
    deadline = time.monotonic() + 2
    left = _survivors("29.5")
    while left and time.monotonic() < deadline:  # SIGKILL is delivered, reaping takes a moment
        time.sleep(0.02)
        left = _survivors("29.5")
    return {"signal": {"host": host, "container": inside, "script": SELF_TERM},
            "orphan": dict(orphan, script=ORPHAN),
            "leave": dict(leave, script=LEAVE, seconds=round(elapsed, 2),
                          sleep_left_on_host=left)}
