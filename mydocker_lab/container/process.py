"""Start the container's first process (the book's ``container/container_process.go``).

The book::

    cmd := exec.Command("/proc/self/exe", "init", command)
    cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS |
        syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC}

Here: clone(2) with the same flags; the child waits for the parent's "go",
sets up its file descriptors and execve()s ``/proc/self/exe`` (the Python
interpreter) on this package's ``init``. The child is PID 1 of its new PID
namespace from its first instruction, so after init's own execve() the
user's command is PID 1 too.

The command itself does not travel in init's argv but through a pipe (the
book's chapter 3.3)::

    readPipe, writePipe, _ := os.Pipe()
    cmd.ExtraFiles = []*os.File{readPipe}        // fd 3 in init
    ...
    writePipe.WriteString(strings.Join(comArray, " "))   // run.go: sendInitCommand

Ours is fd 5 (:data:`CMD_FD`; 3 and 4 were taken), and each argument is sent
NUL-terminated (:func:`encode_command`), never joined with spaces: an argument
can hold spaces, quotes or any byte except NUL (execve() itself forbids NUL).
init blocks reading the pipe until the parent closes it, so the pipe doubles as
a barrier: the parent first puts the child in its cgroup, then sends the command.
"""
import fcntl
import os
import sys
from _signal import SIGKILL  # not `signal`: init imports this file, enum costs 4 ms

from .. import linux

#: The book's Cloneflags.
CLONE_FLAGS = (linux.CLONE_NEWUTS | linux.CLONE_NEWPID | linux.CLONE_NEWNS
               | linux.CLONE_NEWNET | linux.CLONE_NEWIPC)

#: What init runs as: this package's __main__.py as a plain file. -I -S skip
#: site-packages and the environment (init needs only the standard library):
#: about 10 ms instead of 40 ms for each container.
MAIN_PY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "__main__.py")

#: File descriptors init receives beside 0, 1 and 2.
LOG_FD = 3     # init's log lines go to the caller's stderr, never into the container's tty
READY_FD = 4   # close-on-exec: the parent reads EOF once init has exec'd the command
CMD_FD = 5     # the book's readPipe (its fd 3): the command, read by init up to EOF


def init_argv(hostname, tty, log_level, log_format):
    """The argument vector of the re-executed init (the book's ``/proc/self/exe init``).

    No command in it: that comes through :data:`CMD_FD`.
    """
    argv = [sys.executable, "-I", "-S", MAIN_PY, "init", "--hostname", hostname,
            "--log-level", log_level, "--log-format", log_format]
    if tty:
        argv.append("--tty")
    return argv


def encode_command(command):
    """argv -> bytes for the pipe: every argument followed by a NUL byte."""
    return b"".join(os.fsencode(arg) + b"\0" for arg in command)


def decode_command(data):
    """The inverse of :func:`encode_command`; None if the bytes were cut short."""
    if not data.endswith(b"\0"):
        return None
    return [os.fsdecode(arg) for arg in data[:-1].split(b"\0")]


def send_command(fd, command):
    """The book's ``sendInitCommand``: write the command and close, so init reads EOF."""
    data = memoryview(encode_command(command))
    try:
        while data:
            data = data[os.write(fd, data):]
    except BrokenPipeError:
        pass  # init is gone already: its exit status tells why
    finally:
        os.close(fd)


def new_parent_process(argv, env, fds, flags=CLONE_FLAGS):
    """clone() a child into new namespaces; the child will execve ``argv`` once told to.

    ``fds`` lists the parent's descriptors that become the child's 0, 1, 2, ...;
    every other descriptor is closed in the child. Returns ``(pid, go)``: the
    child waits until the parent writes a byte to ``go`` and closes it (time
    to write a user namespace's id maps); if the parent dies first, the child
    exits instead.
    """
    go_r, go_w = os.pipe()
    pid = linux.clone(flags)
    if pid == 0:  # the child: no Python-level bookkeeping happened, keep it short
        status = 125
        try:
            _child(argv, env, fds, go_r)
        except OSError as err:
            os.write(fds[2] if len(fds) > 2 else 2,
                     ("mydocker-lab: container setup failed: %s\n" % err).encode())
        finally:
            os._exit(status)
    os.close(go_r)
    return pid, go_w


def _child(argv, env, fds, go_r):
    # Die with the parent: a SIGKILLed mydocker-lab must not leave a container behind.
    # PID 1 of a namespace ignores signals it has no handler for, but not this one:
    # it comes from outside the namespace.
    linux.set_parent_death_signal(SIGKILL)
    if os.read(go_r, 1) != b"g":  # EOF: the parent died (or gave up) before saying go
        os._exit(125)
    # Move the sources above every target first, so no dup2 overwrites a source.
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, len(fds) + 16) for fd in fds]
    for target, fd in enumerate(high):
        os.dup2(fd, target, inheritable=True)
    os.closerange(len(fds), 1 << 16)  # nothing of the parent's leaks into the container
    os.execve("/proc/self/exe", argv, env)
