"""The container's first process (the book's ``container/init.go``).

The book's ``RunContainerInitProcess``::

    defaultMountFlags := syscall.MS_NOEXEC | syscall.MS_NOSUID | syscall.MS_NODEV
    syscall.Mount("proc", "/proc", "proc", uintptr(defaultMountFlags), "")
    argv := []string{command}
    syscall.Exec(command, argv, os.Environ())

and from chapter 3.3 on it first reads the command from a pipe::

    cmdArray := readUserCommand()        // ioutil.ReadAll(os.NewFile(uintptr(3), "pipe"))
    path, err := exec.LookPath(cmdArray[0])

We run as PID 1 of the new PID namespace, in new mount, UTS, IPC and network
namespaces; what we agree on with the parent is ``container/protocol.py`` (we
import nothing of the parent's side). In order:

0. refuse (one line, 125) unless we are what ``run`` starts: PID 1 of a new PID
   namespace whose UTS and mount namespaces are not our parent's
   (:func:`started_by_run`). Typed by hand, ``mydocker-lab init`` changes nothing;
1. read the command from the pipe on fd 5 (``CMD_FD``) up to EOF: NUL-terminated
   arguments, so they arrive exactly as typed (the book splits on spaces). This
   blocks until the parent has put us in our cgroup and sent the command;
2. make ``/`` recursively private, so that our mounts never propagate to
   the host (the book forgets this: on a systemd host ``/`` is shared and the
   host's /proc ends up replaced by the container's);
3. set the hostname;
4. mount a fresh /proc (``MS_NOEXEC|MS_NOSUID|MS_NODEV``), so that ``ps``
   sees the new PID namespace;
5. start a new session; with ``-t``, take the pty as controlling terminal;
6. give every signal back its default action, none blocked (:func:`restore_signals`);
7. execve() the command, looked up in PATH, argv exactly as given. On
   success execve() never returns: this process *becomes* the command, PID 1.
"""
import _signal as signal  # the C module behind `signal`, which imports enum (4 ms)
import errno
import os

from .. import linux
from ..log import log
from . import protocol
from .protocol import CMD_FD, LOG_FD, READY_FD

PROC_FLAGS = linux.MS_NOEXEC | linux.MS_NOSUID | linux.MS_NODEV

_INTERNAL = b"mydocker-lab: init is internal: it is started by 'mydocker-lab run'\n"


def main(args):
    """``init [--hostname H] [--tty] [--log-level L] [--log-format F]``; the command on fd 5"""
    opts = protocol.parse_init_args(args)
    if opts is None or not _is_open(CMD_FD) or not started_by_run():
        os.write(2, _INTERNAL)
        return protocol.EXIT_RUNTIME
    log.fd = LOG_FD if _is_open(LOG_FD) else 2
    log.level, log.fmt = opts["log_level"], opts["log_format"]

    log.info("init come on", step="init")
    data = read_user_command()
    command = protocol.decode_command(data)
    if not command:
        log.error("the command on the pipe (fd %d) is cut short: each argument must end with "
                  "a NUL byte" % CMD_FD if data else
                  "no command arrived on the pipe (fd %d): the parent gave up" % CMD_FD)
        return protocol.EXIT_RUNTIME
    log.info("command %s" % _quote(command), step="init")
    try:
        linux.mount("", "/", None, linux.MS_PRIVATE | linux.MS_REC)
        log.debug("made / recursively private: our mounts stay in this mount namespace",
                  step="private")
        if opts["hostname"]:
            linux.sethostname(opts["hostname"])
        linux.mount("proc", "/proc", "proc", PROC_FLAGS)
        log.debug("mounted proc on /proc with MS_NOEXEC|MS_NOSUID|MS_NODEV", step="proc")
        os.setsid()  # our own session: the caller's terminal signals go to mydocker-lab only
        if opts["tty"]:
            import fcntl
            import termios
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the pty slave on fd 0 becomes our terminal
    except OSError as err:
        log.error("%s: %s (%s)" % (err.filename, err.strerror, errno.errorcode.get(err.errno, "?")))
        return protocol.EXIT_RUNTIME
    return execvpe(command, given_environment())


def started_by_run():
    """Are we what ``run`` starts: PID 1 of a new PID namespace, with UTS and mount
    namespaces our parent does not share? Else setting "our" hostname or making "our"
    ``/`` private would change the caller's (``mydocker-lab init`` typed by hand)."""
    if os.getpid() != 1:
        return False
    try:
        # /proc is still the one we were born with (ours is mounted later): it shows the
        # parent, outside our PID namespace. A fresh proc of our own would not (-> False).
        with open("/proc/self/stat", "rb") as f:
            parent = int(f.read().rsplit(b")", 1)[1].split()[1])
        for ns in ("pid", "uts", "mnt"):
            try:
                theirs = os.stat("/proc/%d/ns/%s" % (parent, ns)).st_ino
            except PermissionError:
                # Rootless: the kernel hides the namespaces of a parent in another user
                # namespace, and keeps us from changing any namespace that user namespace
                # owns (EPERM): ours are the only ones we can change.
                continue
            if os.stat("/proc/self/ns/" + ns).st_ino == theirs:
                return False
    except (OSError, ValueError, IndexError):
        return False
    return True


def read_user_command():
    """The book's ``readUserCommand``: the bytes on fd 5 up to EOF (then closed)."""
    chunks = []
    while True:
        chunk = os.read(CMD_FD, 65536)  # blocks: the barrier (see container/process.py)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(CMD_FD)
    return b"".join(chunks)


def given_environment():
    """The environment exactly as ``run`` passed it to us.

    Not ``os.environ``: Python adds ``LC_CTYPE=C.UTF-8`` to its own copy at
    start-up when the locale is C (PEP 538). /proc/self/environ still holds
    what execve() gave this process.
    """
    with open("/proc/self/environ", "rb") as f:
        items = f.read().split(b"\0")
    return dict(item.split(b"=", 1) for item in items if b"=" in item)


def execvpe(argv, env):
    """execve() ``argv`` like docker: search PATH; return 126 or 127 when it cannot run."""
    name = argv[0]
    if "/" in name:
        candidates = [name]
    elif name:
        path = env.get(b"PATH", protocol.DEFAULT_PATH.encode()).decode("utf-8",
                                                                     "surrogateescape")
        candidates = [os.path.join(d or ".", name) for d in path.split(":")]
    else:
        candidates = []
    restore_signals()
    for fd in (LOG_FD, READY_FD):
        if _is_open(fd):
            os.set_inheritable(fd, False)  # closed by the execve below
    denied = None
    for path in candidates:
        try:
            os.execve(path, argv, env)
        except OSError as err:
            if err.errno in (errno.ENOENT, errno.ENOTDIR) and "/" not in name:
                continue
            if denied is None:
                denied = (path, err)
    if denied is None:
        log.error('exec: "%s": executable file not found in $PATH' % name)
        return protocol.EXIT_NOT_FOUND
    path, err = denied
    if err.errno == errno.ENOENT:
        log.error('exec: "%s": no such file or directory' % path)
        return protocol.EXIT_NOT_FOUND
    reason = "is a directory" if os.path.isdir(path) else err.strerror.lower()
    log.error('exec: "%s": %s' % (path, reason))
    return protocol.EXIT_CANNOT_EXECUTE


def restore_signals():
    """Give the command what every program expects: each signal's default action, none
    blocked. execve() keeps "ignored" and the blocked mask, so without this the command
    would inherit Python's (SIGPIPE and SIGXFSZ ignored), the caller's (``trap '' INT``,
    ``nohup``) and mydocker-lab's (the forwarded signals stay blocked in init until now,
    so that none can interrupt it half-way). A signal that arrived while they were
    blocked now meets its default action in PID 1, which the kernel drops (a PID
    namespace's init gets only signals it has a handler for): mydocker-lab itself has
    received it too, and ends the run (run.py)."""
    for signum in range(1, signal.NSIG):
        # Python knows each signal's disposition (as inherited, or as it set it): change
        # only those that are not the default already (a system call each)
        if signum not in (signal.SIGKILL, signal.SIGSTOP) and \
                signal.getsignal(signum) not in (signal.SIG_DFL, None):
            try:
                signal.signal(signum, signal.SIG_DFL)
            except (OSError, ValueError):
                pass  # numbers the C library keeps for itself
    signal.pthread_sigmask(signal.SIG_SETMASK, ())


def _is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def _quote(argv):
    """argv as a shell would need it typed (shlex.join without importing shlex/re)."""
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")
    return " ".join(a if a and set(a) <= safe else "'" + a.replace("'", "'\"'\"'") + "'"
                    for a in argv)
