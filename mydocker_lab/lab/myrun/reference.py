#!/usr/bin/env python3
"""The reference runtime: the book's ``mydocker run`` (chapter 3) in one short Python file.

    python3 reference.py run [-ti] [-m SIZE] COMMAND [ARG...]

Write Your Own Docker, chapter 3, function by function:

    main_command.go                main(), parse_run()          the command line, the hidden init
    run.go                         run()                        the parent: start, cgroup, wait
    container/container_process.go CLONE_FLAGS,                 clone() into new namespaces
                                   new_parent_process()
    container/init.go              init(), init_mounts(),       the container's first process
                                   exec_command()
    cgroups/ (3.2)                 cgroup_create/apply/destroy  -m: a memory limit
    the pipe (3.2, 3.3)            send_command(), read_command()
    (docker's -t)                  take_terminal(), relay()     a terminal of the container's own

It is also the student's skeleton: work/myrun.py is this file with each piece (between the
"piece NN" lines) replaced by a TODO and one line that imports the piece from here. A piece
here that calls another piece therefore calls it in the runtime that is *running* (see
running()), which is the student's file wherever the student has written that piece.
"""
import fcntl
import os
import select
import signal
import sys
import termios
import tty

from mydocker_lab import linux

COMMAND_FD = 3  # where init reads its command (the book's readPipe: ExtraFiles[0] is fd 3)
EXIT_RUNTIME, EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND = 125, 126, 127  # docker run's statuses
USAGE = "usage: myrun.py run [-ti] [-m SIZE] COMMAND [ARG...]"


class UsageError(Exception):
    pass


# ── the command line (main_command.go) ────────────────────────────────────────────────

def main(args):
    """``run [-ti] [-m SIZE] COMMAND [ARG...]``, and the hidden ``init`` (the container's
    first process, started by new_parent_process). Returns the exit status."""
    try:
        if args[:1] == ["init"]:
            return init(args[1:])
        if args[:1] != ["run"]:
            raise UsageError("unknown command" if args else "no command given")
        tty_wanted, memory, command = parse_run(args[1:])
        if os.geteuid() != 0:
            become_root_in_user_namespace()
        return run(command, tty_wanted, memory)
    except UsageError as err:
        say("%s\n%s" % (err, USAGE))
        return EXIT_RUNTIME
    except OSError as err:  # a refused system call: one line that names it
        say("%s: %s" % (err.filename, err.strerror) if err.filename else err)
        return EXIT_RUNTIME


def parse_run(args):
    """``[-ti] [-m SIZE] COMMAND [ARG...]`` -> (tty, memory in bytes or None, command)."""
    tty_wanted, memory = False, None
    while args and args[0].startswith("-"):
        flag, args = args[0], args[1:]
        if flag in ("-ti", "-it"):
            tty_wanted = True
        elif flag == "-m" and args:
            memory, args = parse_size(args[0]), args[1:]
        else:
            raise UsageError("unknown flag " + flag)
    if not args:
        raise UsageError("no command given")
    return tty_wanted, memory, args


def parse_size(text):
    """``100m`` -> 104857600 (k, m, g: powers of 1024, as docker's -m)."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    number, unit = text[:-1], units.get(text[-1:].lower())
    if unit is None:
        number, unit = text, 1
    if not number.isdigit():
        raise UsageError("invalid size %r: want a size such as 100m" % text)
    return int(number) * unit


def become_root_in_user_namespace():
    """Rootless: a new user namespace in which we are root, while outside we stay ourselves.

    The namespaces clone() makes then belong to it, so the container needs no root (as
    `mydocker-lab run --rootless`; the book's runtime needs root). Only -m still needs root:
    the cgroup file system belongs to the host's root."""
    uid, gid = os.geteuid(), os.getegid()
    linux.unshare(linux.CLONE_NEWUSER)
    for name, text in (("setgroups", "deny"), ("uid_map", "0 %d 1" % uid),
                       ("gid_map", "0 %d 1" % gid)):
        with open("/proc/self/" + name, "w") as f:
            f.write(text)


def say(message):
    print("myrun: %s" % message, file=sys.stderr)


def running():
    """The runtime that is running: this file, or a student's myrun.py that imports from
    here the pieces not written yet. A piece here calls the other pieces *there*."""
    return sys.modules["__main__"]


# ── piece 04 · run() · notebook 04 · book: run.go ─────────────────────────────────
def run(command, tty_wanted=False, memory=None):
    """The parent (run.go): start the container's first process, put it in its cgroup (-m),
    send it the command, wait; return the command's exit status (128+N: killed by signal N)."""
    me = running()  # the pieces of the runtime that is running: the student's, where written
    cmd_r, cmd_w = os.pipe()                 # the command travels through a pipe (3.3)
    if tty_wanted:
        master, slave = os.openpty()         # -t: a terminal of the container's own
        stdio = [slave, slave, slave]
    else:
        master, stdio = None, [0, 1, 2]      # else: ours
    pid = me.new_parent_process(me.init_argv(tty_wanted), stdio + [cmd_r])
    os.close(cmd_r)
    if master is not None:
        os.close(slave)
    cgroup = None
    try:
        if memory is not None:               # into its cgroup *before* the command runs
            cgroup = me.cgroup_create("myrun-%d" % pid, memory)
            me.cgroup_apply(cgroup, pid)
        me.send_command(cmd_w, command)      # init was waiting for it: go
        if master is not None:
            status = me.relay(master, pid)
        else:
            _, status = os.waitpid(pid, 0)
    finally:
        if cgroup is not None:
            me.cgroup_destroy(cgroup)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)     # killed by signal N: 128+N, as a shell says
    return os.WEXITSTATUS(status)
# ── end of piece 04 ───────────────────────────────────────────────────────────────────


# ── starting the container (container/container_process.go) ──────────────────────────

# ── piece 01 · CLONE_FLAGS, new_parent_process() · notebook 01 · book: container_process.go
CLONE_FLAGS = (linux.CLONE_NEWUTS | linux.CLONE_NEWPID | linux.CLONE_NEWNS
               | linux.CLONE_NEWNET | linux.CLONE_NEWIPC)


def new_parent_process(argv, fds):
    """clone() the container's first process into new namespaces; in the child, become(argv,
    fds). Returns the child's pid (in the parent)."""
    pid = linux.clone(running().CLONE_FLAGS)  # the running runtime's flags (see running())
    if pid == 0:
        become(argv, fds)                     # the child: never returns
    return pid
# ── end of piece 01 ───────────────────────────────────────────────────────────────────


def init_argv(tty_wanted):
    """The container's first process runs this very file as ``init`` (the book's
    ``/proc/self/exe init``): the command comes later, through the pipe."""
    return [sys.executable, os.path.abspath(__file__), "init"] + (["-t"] if tty_wanted else [])


def become(argv, fds):
    """In the child of clone(): ``fds`` become its 0, 1, 2, 3, ...; then execve() ``argv``.

    The child is a copy of the parent made by a raw clone(): it does nothing else. Never
    returns."""
    try:
        linux.set_parent_death_signal(signal.SIGKILL)  # the container dies with its runtime
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds]  # out of the way
        for number, fd in enumerate(high):
            os.dup2(fd, number)                        # inheritable: kept by execve()
        os.closerange(len(fds), os.sysconf("SC_OPEN_MAX"))  # nothing else of the parent's
        os.execve("/proc/self/exe", argv, os.environ)  # this Python, on this file's init
    except OSError as err:
        os.write(2, ("myrun: starting the container: %s\n" % err).encode())
    finally:
        os._exit(EXIT_RUNTIME)


# ── the container's first process (container/init.go) ────────────────────────────────

def init(args):
    """``init [-t]``: PID 1 of the new namespaces. Read the command (it comes once the parent
    has put us in our cgroup), mount, take the terminal (-t), and become the command."""
    command = read_command(COMMAND_FD)
    if not command:
        return EXIT_RUNTIME           # the parent gave up before sending it
    init_mounts()
    if args == ["-t"]:
        take_terminal()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # Python ignores it; the command must not
    return exec_command(command)      # returns only when the command cannot run


# ── piece 02 · init_mounts() · notebook 02 · book: init.go ──────────────────────
def init_mounts():
    """Make / recursively private, so that no mount of ours reaches the host; then mount a
    fresh proc on /proc (for the new PID namespace) with MS_NOEXEC|MS_NOSUID|MS_NODEV."""
    linux.mount("", "/", None, linux.MS_PRIVATE | linux.MS_REC)
    linux.mount("proc", "/proc", "proc", linux.MS_NOEXEC | linux.MS_NOSUID | linux.MS_NODEV)
# ── end of piece 02 ───────────────────────────────────────────────────────────────────


# ── piece 03 · exec_command() · notebook 03 · book: init.go ──────────────────────
def exec_command(argv):
    """Become the command: look argv[0] up in PATH, execve() it with argv exactly. Returns
    only if it cannot: 127 (not found) or 126 (found, but cannot be executed)."""
    name = argv[0]
    if "/" in name:
        paths = [name]
    else:
        paths = [os.path.join(d or ".", name)
                 for d in os.environ.get("PATH", os.defpath).split(":")]
    status, reason = EXIT_NOT_FOUND, "command not found"
    for path in paths:
        try:
            os.execve(path, argv, os.environ)  # on success, never returns
        except (FileNotFoundError, NotADirectoryError):
            continue                           # not there: the next directory
        except OSError as err:                 # there, but not runnable (a directory...)
            status, reason = EXIT_CANNOT_EXECUTE, err.strerror
    say("%s: %s" % (name, reason))
    return status
# ── end of piece 03 ───────────────────────────────────────────────────────────────────


# ── -ti: a terminal of the container's own (docker's -t) ─────────────────────────────

# ── piece 05 · take_terminal(), relay() · notebook 05 · book: -ti
def take_terminal():
    """In init, with -t (the pty's slave on fd 0): a new session whose controlling terminal
    is the pty, so the shell gets job control and Ctrl-C reaches what runs in it."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def relay(master, pid):
    """In the parent, with -t: copy bytes both ways between our terminal and the container's
    pty (``master``) until no one in the container holds it; our terminal is raw meanwhile
    (Ctrl-C is a byte for the container) and restored after. Returns pid's wait status."""
    saved = termios.tcgetattr(0) if os.isatty(0) else None
    if saved is not None:
        size = fcntl.ioctl(0, termios.TIOCGWINSZ, bytes(8))
        fcntl.ioctl(master, termios.TIOCSWINSZ, size)  # the container's terminal: our size
        tty.setraw(0)
    try:
        sources = [0, master]
        while True:
            ready, _, _ = select.select(sources, [], [])
            if master in ready:
                try:
                    data = os.read(master, 4096)
                except OSError:               # EIO: the container's side is closed
                    data = b""
                if not data:
                    break
                os.write(1, data)
            if 0 in ready:
                data = os.read(0, 4096)
                if not data:                  # end of our input: tell the container (^D)
                    sources.remove(0)
                os.write(master, data or b"\x04")
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSAFLUSH, saved)
        os.close(master)
    _, status = os.waitpid(pid, 0)
    return status
# ── end of piece 05 ───────────────────────────────────────────────────────────────────


# ── -m: a memory limit with a cgroup (the book's 3.2, cgroups/) ──────────────────────

def memory_hierarchy():
    """Where the memory controller is: ``(1, "/sys/fs/cgroup/memory")`` (cgroup v1, the
    book's) or ``(2, "/sys/fs/cgroup")`` (v2, current distributions). The book's
    FindCgroupMountpoint: read /proc/self/mountinfo."""
    unified = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            fstype = fields[fields.index("-") + 1]
            if fstype == "cgroup" and "memory" in fields[-1].split(","):
                return 1, fields[4]
            if fstype == "cgroup2" and unified is None:
                unified = fields[4]
    if unified is not None:
        with open(os.path.join(unified, "cgroup.controllers")) as f:
            if "memory" in f.read().split():
                return 2, unified
    raise OSError("no memory cgroup controller on this machine")


def write(directory, name, value):
    """Write ``value`` into the file ``name`` of a cgroup (each file is a setting)."""
    path = os.path.join(directory, name)
    try:
        with open(path, "w") as f:
            f.write(str(value))
    except OSError as err:  # the kernel refused the value: say which file
        raise OSError(err.errno, err.strerror, path) from None


# ── piece 06 · cgroup_create(), cgroup_apply(), cgroup_destroy() · notebook 06 · book: cgroups/
def cgroup_create(name, limit):
    """A new memory cgroup ``name`` holding at most ``limit`` bytes, swap included (the book's
    Set). Returns its directory."""
    version, root = memory_hierarchy()
    if version == 2:
        write(root, "cgroup.subtree_control", "+memory")  # v2: the parent enables it
        limit_file, swap_file, swap = "memory.max", "memory.swap.max", 0
    else:
        limit_file, swap_file, swap = ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
                                       limit)
    path = os.path.join(root, name)
    os.mkdir(path)
    try:
        write(path, limit_file, limit)
        if os.path.exists(os.path.join(path, swap_file)):  # where swap is counted: none extra
            write(path, swap_file, swap)
    except OSError:
        os.rmdir(path)  # no cgroup without its limit
        raise
    return path


def cgroup_apply(path, pid):
    """Move process ``pid`` (and all it will start) into the cgroup (the book's Apply)."""
    write(path, "cgroup.procs", pid)


def cgroup_destroy(path):
    """Remove the cgroup once its processes are gone (the book's Destroy)."""
    os.rmdir(path)
# ── end of piece 06 ───────────────────────────────────────────────────────────────────


# ── the command through a pipe (the book's code-3.2 and 3.3; 3.1 passed argv) ──────

# ── piece 07 · send_command(), read_command() · notebook 07 · book: run.go, init.go
def send_command(fd, command):
    """run.go's sendInitCommand: each argument then a NUL byte into the pipe ``fd``; close
    it, so init reads to the end."""
    with open(fd, "wb") as pipe:
        for arg in command:
            pipe.write(os.fsencode(arg) + b"\0")


def read_command(fd):
    """init.go's readUserCommand: read the pipe ``fd`` to its end (and close it); the
    arguments are the pieces between the NUL bytes."""
    with open(fd, "rb") as pipe:
        data = pipe.read()
    return [os.fsdecode(arg) for arg in data.split(b"\0")[:-1]]
# ── end of piece 07 ───────────────────────────────────────────────────────────────────


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
