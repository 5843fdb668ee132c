"""The experiments behind the checks, run on the target: they start a myrun.py and look.

    python -m mydocker_lab.lab.myrun.observe PIECE [--shown NAME] < myrun.py

reads a runtime's source on stdin, writes it into a private temporary directory, runs it as
a user would (this Python: the target's), in the experiments of piece PIECE's check, removes
what it made, and prints the verdict as one JSON object: ``state`` ("pass", "fail", or "skip"
when this machine cannot run the experiment), ``step``, ``message``, ``hint``, ``details``.

Nothing is judged by reading the student's code: each experiment runs the runtime and looks
at what happened -- from outside (the container's /proc/<pid> as the host sees it, the
runtime's exit status) and from inside (what the command printed). Every wait is for an
event (a process has exec'd the command, is asleep in wait(), reads its pipe; a process
exits), with a deadline only against a runtime that hangs. Standard library and
mydocker_lab.linux only: this runs wherever the runtime runs.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from .pieces import piece

#: The longest any step may take before the runtime counts as hung (seconds; generous for
#: the emulated VM, where a process starts ~30 times slower).
DEADLINE = float(os.environ.get("MYRUN_CHECK_DEADLINE", "60"))
BOOK_KINDS = ("uts", "pid", "mnt", "net", "ipc")
FLAG_OF = {"uts": "CLONE_NEWUTS", "pid": "CLONE_NEWPID", "mnt": "CLONE_NEWNS",
           "net": "CLONE_NEWNET", "ipc": "CLONE_NEWIPC", "user": "CLONE_NEWUSER",
           "cgroup": "CLONE_NEWCGROUP", "time": "CLONE_NEWTIME"}
#: System call numbers, by machine: what a process is asleep in (/proc/PID/syscall).
_SYSCALLS = {"x86_64": {0: "read", 61: "wait", 247: "wait"},
             "aarch64": {63: "read", 260: "wait", 95: "wait"},
             "riscv64": {63: "read", 260: "wait", 95: "wait"}}


class Failed(Exception):
    """A step of the check went wrong: what the student sees."""

    def __init__(self, step, message, hint=None, details=None):
        super().__init__(message)
        self.step, self.message, self.hint, self.details = step, message, hint, details


class Skipped(Exception):
    """This machine cannot run the experiment (not the runtime's fault)."""


# -- looking at processes from outside ---------------------------------------------------------

def _read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:  # gone, or not ours to read
        return None


def state_of(pid):
    """The one-letter state in /proc/PID/stat (S: asleep, R: running, Z: a zombie), or None."""
    stat = _read("/proc/%d/stat" % pid)
    return stat.rpartition(")")[2].split()[0] if stat else None


def asleep_in(pid):
    """What ``pid`` is asleep in: "read" (a read(), e.g. of a pipe), "wait" (wait4/waitid),
    "other", or None while it runs (or is gone)."""
    if state_of(pid) != "S":
        return None
    numbers = _SYSCALLS.get(os.uname().machine)
    syscall = _read("/proc/%d/syscall" % pid)
    if numbers and syscall and syscall.split()[0].isdigit():
        return numbers.get(int(syscall.split()[0]), "other")
    wchan = _read("/proc/%d/wchan" % pid) or ""  # no table for this machine: the kernel's word
    return "read" if "pipe" in wchan else "wait" if "wait" in wchan else "other"


def children(pid):
    found = []
    for task in os.listdir("/proc/%d/task" % pid) if os.path.isdir("/proc/%d/task" % pid) else ():
        found += [int(c) for c in (_read("/proc/%d/task/%s/children" % (pid, task)) or "").split()]
    return found


def cmdline(pid):
    raw = _read("/proc/%d/cmdline" % pid, "rb")
    return None if raw is None else [os.fsdecode(a) for a in raw.split(b"\0")[:-1]]


def namespaces(pid):
    """{kind: identity} of ``pid``'s namespaces (not the *_for_children ones)."""
    base = "/proc/%d/ns" % pid
    return {kind: os.readlink(os.path.join(base, kind)) for kind in sorted(os.listdir(base))
            if not kind.endswith("_for_children")}


def ns_pid(pid):
    """``pid``'s number in its own PID namespace (the last of /proc/PID/status's NSpid)."""
    for line in (_read("/proc/%d/status" % pid) or "").splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    return None


def until(condition, what, deadline=None):
    """Poll ``condition()`` until it returns something true; return that. Polling /proc is
    how one waits for these events (no notification exists for them)."""
    end = time.monotonic() + (deadline or DEADLINE)
    pause = 0.001
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise Failed("hang", "nothing happened for %d s while waiting for %s"
                         % (deadline or DEADLINE, what),
                         "the runtime hangs: run it by hand in a terminal to see where")
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


# -- the runtime under test --------------------------------------------------------------------

#: Runs the runtime's parent with a pause at its first touch of the cgroup file system: it
#: waits there until its child has either started the command or is asleep reading the pipe
#: for it. A runtime that sends the command before it makes the cgroup then *always* shows
#: the command outside the cgroup (without the pause, it would only sometimes).
_PAUSED_AT_CGROUP = r"""
import os, runpy, sys
from mydocker_lab.lab.myrun.observe import pause_for_child
def hook(event, args, done=[]):
    if done or event not in ("open", "os.mkdir") or not isinstance(args[0], (str, bytes)):
        return
    if os.fsdecode(args[0]).startswith("/sys/fs/cgroup"):
        done.append(True)
        pause_for_child()
sys.addaudithook(hook)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def pause_for_child():
    """In the runtime's parent (see _PAUSED_AT_CGROUP): wait until our child either sleeps in
    read() as init (waiting for its command pipe), or has ended (it got its command, ran it
    -- a short one -- and exited). Exec'd is not enough: the command must have *looked*
    at its cgroup before we go on."""
    python = os.path.realpath(sys.executable)
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        kids = children(os.getpid())
        if not kids or state_of(kids[0]) in (None, "Z", "X"):
            return
        reading = asleep_in(kids[0]) == "read"  # first: see Started.wait_until_waiting
        exe = _read_link("/proc/%d/exe" % kids[0])
        if reading and exe is not None and os.path.realpath(exe) == python:
            return
        time.sleep(0.002)


def _read_link(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


class Runtime:
    """A myrun.py, and how to start it as a user would: ``python myrun.py run ...`` -- in a
    sandbox (sandbox.py: its own mount and UTS namespaces), so that a wrong runtime cannot
    change this machine's mounts or hostname."""

    def __init__(self, path, shown):
        self.path, self.shown = path, shown
        self.python = sys.executable
        self.sandboxed = True  # False once this process is a sandbox itself (check 02)

    def argv(self, args, paused_at_cgroup=False):
        if paused_at_cgroup:
            argv = [self.python, "-c", _PAUSED_AT_CGROUP, self.path] + list(args)
        else:
            argv = [self.python, self.path] + list(args)
        if self.sandboxed:  # the sandbox execs it: same pid
            argv = [self.python, "-m", "mydocker_lab.lab.myrun.sandbox", "--"] + argv
        return argv

    def start(self, args, stdin=subprocess.DEVNULL, paused_at_cgroup=False):
        return Started(self, args, stdin, paused_at_cgroup)

    def call(self, args, paused_at_cgroup=False):
        """Run it to its end: (exit status, stdout, stderr)."""
        with self.start(args, paused_at_cgroup=paused_at_cgroup) as started:
            return started.finish()

    def tidy(self, text):
        """Its output as the student should read it: the file under its usual name."""
        return (text or "").replace(self.path, self.shown).strip()


class Started:
    """One run of the runtime: its process, and its container (the runtime's child)."""

    def __init__(self, runtime, args, stdin, paused_at_cgroup):
        self.runtime = runtime
        self.args = list(args)
        env = dict(os.environ)
        env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        self.proc = subprocess.Popen(runtime.argv(args, paused_at_cgroup), stdin=stdin,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True, env=env)
        self.pid = self.proc.pid
        self.container = None
        self.result = None
        self._python = os.path.realpath(runtime.python)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()

    def kill(self):
        """End whatever is left of this run (the runtime's process group, its container)."""
        if self.container is not None:
            try:
                os.kill(self.container, signal.SIGKILL)
            except OSError:
                pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
        if self.result is None:
            try:
                out, err = self.proc.communicate(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                out, err = b"", b""
            self.result = (self.proc.returncode, out.decode("utf-8", "replace"),
                           err.decode("utf-8", "replace"))

    def exited(self):
        return self.proc.poll() is not None

    def child(self):
        kids = children(self.pid)
        return kids[0] if kids else None

    def is_command(self, pid):
        """Whether ``pid`` has exec'd something else than Python (init became the command),
        and that exec is complete: the kernel sets the new program (exe) a moment before its
        arguments (cmdline is empty in between)."""
        exe = _read_link("/proc/%d/exe" % pid)
        return (exe is not None and os.path.realpath(exe) != self._python
                and bool(cmdline(pid)))

    def wait_for_command(self, what="the command to start"):
        """The host pid of the command, once it runs: the container's first process (init
        became the command), or else a child of it (init started it, and is still there)."""
        def started():
            if self.exited():
                return "exited"
            pid = self.child()
            if pid is None:
                return None
            self.container = pid
            if self.is_command(pid):
                return pid
            return next((kid for kid in children(pid) if self.is_command(kid)), None)
        found = until(started, what)
        if found == "exited":
            status, _, err = self.finish()
            raise Failed("start", "myrun exited with status %d before the command ran"
                         % status, details=self.runtime.tidy(err))
        return found

    def wait_until_waiting(self):
        """The container's host pid, once it runs the command and the runtime sleeps in
        wait(). Fails if the runtime exits first, or if both sleep while the command was
        never sent."""
        def settled():
            # Look in this order: the parent, then what the child sleeps in, then what the
            # child runs. exec is one-way: a child still Python *after* it was seen asleep
            # in read() was init, reading its pipe (not the command, reading its stdin).
            if self.exited():
                return "exited"
            pid = self.child()
            if pid is None:
                return None
            parent = asleep_in(self.pid)
            child = asleep_in(pid)
            self.container = pid
            if self.is_command(pid):
                return "waiting" if parent == "wait" else None
            if parent == "wait" and child == "read":
                return "stuck"  # init waits for its command, the parent for init
            return None
        found = until(settled, "myrun to wait for its command")
        if found == "stuck":
            raise Failed("send", "the container is still waiting for its command, and myrun is "
                         "waiting too", "run() must send the command (send_command) before "
                         "it waits: init reads it from the pipe up to its end")
        if found == "exited":
            status, out, err = self.finish()
            raise Failed("wait", "myrun exited (status %d) while its command was still running"
                         % status, "run() must wait for the container's first process "
                         "(os.waitpid(pid, 0)) before it returns", self.runtime.tidy(err))
        return self.container

    def finish(self):
        """Let it end (closing its stdin): (exit status, stdout, stderr)."""
        if self.result is None:
            try:
                out, err = self.proc.communicate(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.kill()
                raise Failed("hang", "myrun did not end within %d s after its command ended"
                             % DEADLINE, "run() must return once the container's first "
                             "process has exited") from None
            self.result = (self.proc.returncode, out.decode("utf-8", "replace"),
                           err.decode("utf-8", "replace"))
        return self.result

    def say(self, line):
        self.proc.stdin.write(line.encode())
        self.proc.stdin.flush()


def _status_text(status):
    if status < 0:
        return "myrun was killed by signal %d" % -status
    return "myrun exited with status %d" % status


def _expect_status(runtime, args, want, step, hint):
    status, out, err = runtime.call(args)
    if status != want:
        raise Failed(step, "`myrun.py run %s` gave %d, not %d" % (" ".join(args[1:]), status,
                                                                  want),
                     hint, runtime.tidy(err))
    return out


# -- the checks --------------------------------------------------------------------------------

def check_01(rt):
    with rt.start(["run", "/bin/sh", "-c", "read line"], stdin=subprocess.PIPE) as run:
        pid = run.wait_for_command()
        theirs, ours = namespaces(pid), namespaces(run.pid)
    kinds = [k for k in theirs if k in ours]
    new = [k for k in kinds if theirs[k] != ours[k]]
    missing = [k for k in BOOK_KINDS if k in kinds and k not in new]
    extra = [k for k in new if k not in BOOK_KINDS]
    if missing:
        hint = "add %s to CLONE_FLAGS" % " and ".join(FLAG_OF[k] for k in missing)
        if missing == ["pid"]:
            hint += " (and clone() the child with them: unshare() never moves the caller " \
                    "itself into a new PID namespace)"
        raise Failed("namespaces", "the container shares myrun's %s namespace%s" % (
            ", ".join(missing), "s" if len(missing) > 1 else ""), hint)
    if extra:
        raise Failed("namespaces", "the container has a new %s namespace as well" % (
            ", ".join(extra)), "the book's container asks for five new namespaces, no more: "
            "remove %s from CLONE_FLAGS" % " and ".join(FLAG_OF.get(k, k) for k in extra))
    return "the container's namespaces: new %s (the book's five); %s as myrun's" % (
        ", ".join(BOOK_KINDS), ", ".join(k for k in kinds if k not in new) or "no other")


def _mount_table_fd():
    return os.open("/proc/self/mountinfo", os.O_RDONLY)


def _read_fd(fd):
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks).decode("utf-8", "replace")
        chunks.append(chunk)


def throwaway_shared_root():
    """Make this process a sandbox (sandbox.py: its own mount and UTS namespaces, / cut off
    from the host's) whose / is then recursively *shared*, like a systemd host's: the
    runtime's mounts propagate here if it did not make its own / private."""
    from mydocker_lab import linux
    from .sandbox import enter
    enter()
    linux.mount("", "/", None, linux.MS_REC | linux.MS_SHARED)


def check_02(rt):
    throwaway_shared_root()
    rt.sandboxed = False  # we are its sandbox
    table = _mount_table_fd()  # opened now: read again after, even if /proc gets covered
    before = _read_fd(table)
    status, out, err = rt.call(["run", "/bin/cat", "/proc/self/stat", "/proc/self/mountinfo"])
    after = _read_fd(table)
    os.close(table)
    if status != 0:
        raise Failed("mount", "%s (cat /proc/self/mountinfo in the container)"
                     % _status_text(status), "init_mounts() must not fail: "
                     "linux.mount(source, target, fstype, flags)", rt.tidy(err))
    leaked = [line for line in after.splitlines() if line not in before.splitlines()]
    stat, _, mountinfo = out.partition("\n")
    if stat.split()[:1] != ["1"]:
        raise Failed("proc", "/proc in the container is still the host's: it shows cat as PID "
                     "%s, not 1" % (stat.split()[:1] or ["?"])[0],
                     "mount a new proc on /proc: linux.mount(\"proc\", \"/proc\", \"proc\", "
                     "flags)")
    procs = [line.split() for line in mountinfo.splitlines()
             if len(line.split()) > 4 and line.split()[4] == "/proc"]
    options = procs[-1][5].split(",") if procs else []
    absent = [f for f in ("nosuid", "nodev", "noexec") if f not in options]
    if absent:
        raise Failed("flags", "/proc is mounted without %s (its options: %s)" % (
            ", ".join(absent), ",".join(options)), "give mount() the flags %s" % "|".join(
                "MS_" + f.upper() for f in absent))
    if leaked:
        raise Failed("private", "on a host whose / is shared (as on systemd), the container's "
                     "mounts appeared on the host: %d new line%s in its mount table" % (
                         len(leaked), "s" if len(leaked) > 1 else ""),
                     "make / recursively private first: linux.mount(\"\", \"/\", None, "
                     "linux.MS_PRIVATE | linux.MS_REC)", "\n".join(leaked))
    return ("/proc is the container's own, mounted nosuid,nodev,noexec; with the host's / "
            "shared, the host's mount table is unchanged")


ARGV_03 = ["sh", "-c", "cat", "two words", ""]  # cat: it waits, whatever its arguments


def check_03(rt):
    with rt.start(["run"] + ARGV_03, stdin=subprocess.PIPE) as run:
        try:
            pid = run.wait_for_command()
        except Failed as failed:
            if run.result and run.result[0] == 127:
                raise Failed("PATH", "sh was not found, though it is in PATH",
                             "look argv[0] up in each directory of os.environ[\"PATH\"] when "
                             "it has no /", failed.details) from None
            raise
        argv, number = cmdline(pid), ns_pid(pid)
    if argv != ARGV_03:
        raise Failed("argv", "the command's argv arrived as %r, not %r" % (argv, ARGV_03),
                     "give execve() argv exactly as it is: no splitting, no joining")
    if number != 1:
        raise Failed("PID 1", "the command is PID %s in the container, not 1" % number,
                     "init must *become* the command: execve() in init itself, no fork")
    _expect_status(rt, ["run", "myrun-no-such-command"], 127, "127",
                   "return 127 when argv[0] is found in no directory of PATH")
    _expect_status(rt, ["run", "/"], 126, "126",
                   "return 126 when the command is there but cannot be executed (execve() "
                   "fails with EACCES: a directory, a file without x permission)")
    return ("PID 1 is the command, found in PATH, argv exactly as given; not found: 127; "
            "a directory: 126")


def check_04(rt):
    script = 'read line && echo "got $line" && exit 3'
    with rt.start(["run", "/bin/sh", "-c", script], stdin=subprocess.PIPE) as run:
        run.wait_until_waiting()
        run.say("go\n")
        status, out, err = run.finish()
    if out != "got go\n":
        raise Failed("output", "the command's output was %r, not 'got go'" % out,
                     "the container's stdin, stdout and stderr are myrun's own (0, 1, 2) "
                     "without -t", rt.tidy(err))
    if status != 3:
        raise Failed("status", "`exit 3` in the container gave %d" % status,
                     "return the command's own exit status: os.WEXITSTATUS(status) of "
                     "os.waitpid()", rt.tidy(err))
    with rt.start(["run", "/bin/sh", "-c", "read line"], stdin=subprocess.PIPE) as run:
        pid = run.wait_until_waiting()
        os.kill(pid, signal.SIGKILL)
        status = run.finish()[0]
    if status != 128 + signal.SIGKILL:
        raise Failed("signal", "the command killed by SIGKILL (9): myrun exited %d, not 137"
                     % status, "when signal N killed the command (os.WIFSIGNALED), return "
                     "128+N (N = os.WTERMSIG(status))")
    note = "myrun waits, `exit 3` gives 3, SIGKILL gives 137"
    try:
        memory_hierarchy_usable()
    except Skipped as why:
        return note + " (-m: not checked here: %s)" % why
    _cgroup_run(rt, "-m", "in run(), first cgroup_create() and cgroup_apply(pid), then "
                "send_command(): init waits for the command, so nothing runs before the "
                "child is in its cgroup")
    return note + ", and with -m the command starts in its cgroup"


# -- cgroups ----------------------------------------------------------------------------------

def _memory_hierarchy():
    """(version, mount point) of the memory controller, found as the runtime's glue finds it
    (that is where a runtime puts its cgroups); None if there is none."""
    from .reference import memory_hierarchy
    try:
        return memory_hierarchy()
    except OSError:
        return None


def memory_hierarchy_usable():
    """(version, mount point) if a runtime here may make a memory cgroup; else Skipped."""
    found = _memory_hierarchy()
    if found is None:
        raise Skipped("this machine has no memory cgroup controller")
    if os.geteuid() != 0:
        raise Skipped("a memory limit needs root: the cgroup file system (%s) belongs to the "
                      "host's root, and a user namespace does not change that" % found[1])
    probe = os.path.join(found[1], "myrun-check-%d" % os.getpid())
    try:
        os.mkdir(probe)
        os.rmdir(probe)
    except OSError as err:
        raise Skipped("cannot make a cgroup in %s here: %s" % (found[1], err.strerror)) from None
    return found


def _memory_cgroup(text):
    """The memory cgroup a process reported (its /proc/self/cgroup)."""
    version = _memory_hierarchy()[0]
    for line in text.splitlines():
        if line.count(":") < 2:
            continue
        number, names, path = line.split(":", 2)
        if (version == 1 and "memory" in names.split(",")) or (version == 2 and number == "0"):
            return path
    return None


def _limited_run(rt, args, step, paused_at_cgroup=False):
    """``run -m ...``: (status, stdout, stderr), after which no cgroup of the run is left.
    A runtime's cgroups go at the top of the memory hierarchy (memory_hierarchy()); any new
    empty one named myrun* there is removed, and the run fails for leaving it."""
    mountpoint = memory_hierarchy_usable()[1]
    before = set(os.listdir(mountpoint))
    status, out, err = rt.call(args, paused_at_cgroup=paused_at_cgroup)
    left = []
    for name in sorted(set(os.listdir(mountpoint)) - before):
        if name.startswith("myrun"):
            try:
                os.rmdir(os.path.join(mountpoint, name))  # nothing stays behind
                left.append(name)
            except OSError:
                pass  # still in use, or not a cgroup: not ours to touch
    if left:
        raise Failed(step, "`myrun.py %s` left its cgroup %s behind (the check removed it)"
                     % (" ".join(args), os.path.join(mountpoint, left[0])),
                     "remove the cgroup once the container has exited (cgroup_destroy after "
                     "waiting), also when making it failed halfway", rt.tidy(err))
    return status, out, err


def _cgroup_run(rt, step, outside_hint):
    """``run -m 64m cat /proc/self/cgroup``: the command starts in a cgroup of its own, which
    is gone afterwards. The runtime's parent pauses at its first cgroup step (see
    _PAUSED_AT_CGROUP), so a wrong order shows every time."""
    ours = _memory_cgroup(_read("/proc/self/cgroup"))
    status, out, err = _limited_run(rt, ["run", "-m", "64m", "/bin/cat", "/proc/self/cgroup"],
                                    step, paused_at_cgroup=True)
    theirs = _memory_cgroup(out)
    if status != 0 and theirs != ours:
        raise Failed(step, "`run -m 64m cat /proc/self/cgroup`: %s" % _status_text(status),
                     "see what myrun printed above: which file or call failed", rt.tidy(err))
    if theirs == ours:
        raise Failed(step, "the command started outside its cgroup (in myrun's own: %s)"
                     % ours, outside_hint)
    return theirs


def check_06(rt):
    memory_hierarchy_usable()
    _cgroup_run(rt, "cgroup", "cgroup_apply(path, pid) writes the pid into the cgroup's "
                "cgroup.procs: the kernel moves that process there")
    python = [rt.python, "-I", "-S", "-c"]
    status, _, err = _limited_run(rt, ["run", "-m", "64m"] + python + ["b = b'x' * (8 << 20)"],
                                  "under the limit")
    if status != 0:
        raise Failed("under the limit", "a command using 8 MiB under -m 64m: %s"
                     % _status_text(status), "cgroup_create() writes the limit in bytes "
                     "(memory.max in v2, memory.limit_in_bytes in v1)", rt.tidy(err))
    status, _, err = _limited_run(rt, ["run", "-m", "32m"] + python
                                  + ["b = b'x' * (128 << 20)"], "over the limit")
    if status != 137:
        raise Failed("over the limit", "a command using 128 MiB under -m 32m: %s, not 137 "
                     "(killed by the OOM killer)" % _status_text(status),
                     "write the limit into the cgroup (memory.max in v2, memory.limit_in_bytes"
                     " in v1), and no swap beyond it (memory.swap.max 0; v1: "
                     "memory.memsw.limit_in_bytes, where it exists)", rt.tidy(err))
    return ("the command starts in its own memory cgroup, removed afterwards; under the "
            "limit: 0; over it, the OOM killer: 137")


ARGV_07 = ["/bin/sh", "-c", "cat", "two words", "", "it's \"quoted\"", "ünïcödé ✓",
           "tab\there", "*", "-x", "two\nlines"]


def check_07(rt):
    with rt.start(["run"] + ARGV_07, stdin=subprocess.PIPE) as run:
        try:
            pid = run.wait_for_command()
        except Failed as failed:
            if run.result and run.result[0] == 125 and not failed.details:
                raise Failed("arguments", "init got no command from the pipe (myrun exited "
                             "125)", "send_command(): every argument followed by a NUL byte, "
                             "then close the pipe; read_command(): read up to the end "
                             "(b\"\" from os.read), split at the NULs") from None
            raise
        argv = cmdline(pid)
    if argv != ARGV_07:
        wrong = next((i for i, (a, b) in enumerate(zip(argv, ARGV_07)) if a != b),
                     min(len(argv), len(ARGV_07)))
        raise Failed("arguments", "the command's arguments changed on the way: %d sent, %d "
                     "arrived; the first difference is argument %d: sent %r, arrived %r" % (
                         len(ARGV_07), len(argv), wrong,
                         ARGV_07[wrong] if wrong < len(ARGV_07) else None,
                         argv[wrong] if wrong < len(argv) else None),
                     "end every argument with a NUL byte (b\"\\0\"), the one byte no argument "
                     "can hold; read to the end, split at the NULs, keep empty arguments",
                     "sent:    %r\narrived: %r" % (ARGV_07, argv))
    return "arguments with spaces, quotes, empty ones, non-ASCII and newlines arrive exactly"


CHECKS = {"01": check_01, "02": check_02, "03": check_03, "04": check_04, "06": check_06,
          "07": check_07}


def observe(number, source, shown="myrun.py"):
    """Run piece ``number``'s check on ``source``; the verdict as a dict."""
    p = piece(number)
    workdir = tempfile.mkdtemp(prefix="myrun-check-")
    path = os.path.join(workdir, "myrun.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(source)
    os.chmod(workdir, 0o755)
    verdict = {"piece": p.number, "state": "pass", "step": None, "hint": None, "details": None}
    try:
        verdict["message"] = CHECKS[p.number](Runtime(path, shown))
    except Failed as failed:
        verdict.update(state="fail", step=failed.step, message=failed.message,
                       hint=failed.hint or "piece %s: %s" % (p.number, p.task),
                       details=failed.details or None)
    except Skipped as why:
        verdict.update(state="skip", message="not checked on this machine: %s" % why)
    except OSError as err:  # the experiment itself was refused (not the runtime's doing)
        verdict.update(state="error", message="the check could not run on this machine: %s%s"
                       % (err.strerror or err, " (%s)" % err.filename if err.filename else ""))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return verdict


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    shown = "myrun.py"
    if "--shown" in args:
        i = args.index("--shown")
        shown = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1 or args[0] not in CHECKS:
        print("usage: python -m mydocker_lab.lab.myrun.observe {%s} [--shown NAME] < myrun.py"
              % ",".join(CHECKS), file=sys.stderr)
        return 2
    source = sys.stdin.read()
    print(json.dumps(observe(args[0], source, shown)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
