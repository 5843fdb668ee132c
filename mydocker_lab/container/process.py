"""Start the container's first process (the book's ``container/container_process.go``).

The book::

    cmd := exec.Command("/proc/self/exe", "init", command)
    cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS |
        syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC}
    return cmd                                      // NewParentProcess; run.go: parent.Start()

Here :func:`new_parent_process` returns an :class:`InitProcess`, which the
parent drives step by step, as ``run.go`` drives its ``exec.Cmd``:

``start()``
    clone(2) with the book's flags. The child is PID 1 of its new PID namespace
    from its first instruction; it waits for "go", sets up its file descriptors
    and execve()s ``/proc/self/exe`` (the Python interpreter) on this package's
    ``init``, which later execve()s the user's command: still PID 1.
``map_ids()``
    rootless only: write the user namespace's uid/gid maps (root inside = you outside).
``go()``
    let the child go on (the byte :data:`protocol.GO`); then start the *watcher*
    (below), while init's interpreter starts.
``send(command)``
    the book's chapter 3.3: the command travels through a pipe, not argv::

        readPipe, writePipe, _ := os.Pipe()
        cmd.ExtraFiles = []*os.File{readPipe}        // fd 3 in init; ours: protocol.CMD_FD
        writePipe.WriteString(strings.Join(comArray, " "))   // run.go: sendInitCommand

    init blocks reading it until the parent closes it, so the pipe doubles as a
    barrier: the parent first puts the child in its cgroup, then sends the command.
``wait_started()``, ``wait()``
    init has exec'd the command; the command has ended (its wait status).

**No container outlives its runtime.** The kernel's ``PR_SET_PDEATHSIG`` is not
enough: a child that has not reached its ``prctl()`` yet when the parent dies never
learns of it, and the kernel clears the setting whenever a process changes its
credentials (``setpriv``, ``su-exec``, ``gosu``...). So, three guards, one after
the other, each a pipe that reads EOF when the runtime is gone, however it went:

- *until "go"*: the go pipe. The child closes its own copy of the write end first
  thing, so only the parent holds one; the child's ``read()`` returns EOF and the
  child exits;
- *until the command is sent*: the command pipe. init reads it to EOF before it
  does anything (then: no command, it exits);
- *from before the command is sent*: the **watcher**, a fork of the runtime,
  started right after "go" (while init's interpreter starts). It holds a pidfd of
  the container's PID 1 (immune to PID reuse) and the read end of a *lifeline*
  pipe whose write end only the runtime holds. When that read returns EOF, the
  watcher SIGKILLs PID 1, which ends the whole PID namespace, whatever PID 1 has
  become. It ignores the terminal's signals and lives in its own process group
  (Ctrl-C or a ``kill -- -PGID`` of the job do not reach it). It runs no Python
  module's code (it loads the C module ``select``, in its own time), exits as soon
  as PID 1 has ended, and is reaped by the runtime then.
"""
import os
import sys
import _signal as signal  # the C module behind `signal`, which imports enum (4 ms a run)

from .. import linux
from ..testhook import hold
from . import protocol
from .protocol import CMD_FD, GO, LOG_FD, READY_FD, STDERR, STDIN, STDOUT

#: The book's Cloneflags.
CLONE_FLAGS = (linux.CLONE_NEWUTS | linux.CLONE_NEWPID | linux.CLONE_NEWNS
               | linux.CLONE_NEWNET | linux.CLONE_NEWIPC)

#: What init runs as: this package's __main__.py as a plain file. -I -S skip
#: site-packages and the environment (init needs only the standard library):
#: about 10 ms instead of 40 ms for each container.
MAIN_PY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "__main__.py")

#: The watcher's name in ``ps -e`` / ``/proc/PID/comm`` (its cmdline stays the runtime's:
#: it is a fork that never execs).
WATCHER_NAME = "mydocker-watch"

#: Highest descriptor closed in a child (Python uses close_range(2) where the kernel has it).
_MAX_FD = 1 << 20


def init_argv(hostname, tty, log_level, log_format):
    """The argument vector of the re-executed init (the book's ``/proc/self/exe init``).

    No command in it: that comes through :data:`protocol.CMD_FD`.
    """
    return [sys.executable, "-I", "-S", MAIN_PY, protocol.INIT] + protocol.init_args(
        hostname, tty, log_level, log_format)


def new_parent_process(argv, env, flags=CLONE_FLAGS, stdin=0, stdout=1, stderr=2, log=2):
    """The book's ``NewParentProcess``: the container's first process, not started yet.

    ``stdin``, ``stdout``, ``stderr`` and ``log`` are our descriptors that become init's
    0, 1, 2 and :data:`protocol.LOG_FD`; the start() makes the other two pipes.
    """
    return InitProcess(argv, env, flags, {STDIN: stdin, STDOUT: stdout, STDERR: stderr,
                                          LOG_FD: log})


class InitProcess:
    """The container's first process, as its parent sees and drives it (module docstring)."""

    def __init__(self, argv, env, flags, fds):
        self.argv = list(argv)
        self.env = env
        self.flags = flags
        self.fds = dict(fds)     # init's descriptor -> ours
        self.pid = None          # on the host
        self.pidfd = None
        self.watcher = None      # the watcher's pid
        self.status = None       # PID 1's wait status, once reaped
        self._go = self._command = self._ready = self._lifeline = None

    def start(self):
        """clone() the child into its new namespaces; it waits for :meth:`go`.

        Raises OSError if clone() fails.
        """
        ready_r, ready_w = os.pipe()
        command_r, command_w = os.pipe()
        go_r, go_w = os.pipe()
        fds = dict(self.fds)
        fds[READY_FD], fds[CMD_FD] = ready_w, command_r
        try:
            pid = linux.clone(self.flags)
        except OSError:
            for fd in (ready_r, ready_w, command_r, command_w, go_r, go_w):
                os.close(fd)
            raise
        if pid == 0:
            self._child(fds, go_r, go_w)  # never returns
        for fd in (ready_w, command_r, go_r):
            os.close(fd)
        self.pid, self._go, self._command, self._ready = pid, go_w, command_w, ready_r
        try:
            self.pidfd = os.pidfd_open(pid)
        except OSError as err:  # Linux before 5.3: the child still waits for go, kill it
            os.kill(pid, signal.SIGKILL)
            self.status = os.waitpid(pid, 0)[1]
            raise protocol.RunError("pidfd_open: %s: mydocker-lab needs Linux 5.3 or later"
                                    % err.strerror) from None
        hold("cloned")
        return pid

    def _child(self, fds, go_r, go_w):
        """In the clone()d child: wait for go, set up descriptors, become init. Never returns.

        No Python-level bookkeeping happened after clone(): keep it short. The signals
        mydocker-lab forwards are blocked (run.py blocked them before clone); init keeps
        them blocked until just before it execs the command.
        """
        try:
            hold("child")  # (where the tests make a child slow, before anything of its own)
            # First of all: with our own copy of the write end closed, a parent that
            # dies before saying go (however: SIGKILL included) reads as EOF below.
            os.close(go_w)
            if os.read(go_r, 1) != GO:
                os._exit(protocol.EXIT_RUNTIME)  # the parent died or gave up: nothing to do
            # Move the sources above every target first, so no dup2 overwrites a source.
            # (Whatever else of ours had those numbers is closed below anyway.)
            top = max(max(fds), max(fds.values())) + 1
            high = {target: os.dup2(fd, top + i, inheritable=False)
                    for i, (target, fd) in enumerate(fds.items())}
            for target, fd in high.items():
                os.dup2(fd, target, inheritable=True)
            os.closerange(max(fds) + 1, _MAX_FD)  # nothing of the parent's leaks in
            os.execve("/proc/self/exe", self.argv, self.env)
        except OSError as err:
            try:
                os.write(STDERR, ("mydocker-lab: container setup failed: %s\n" % err).encode())
            except OSError:
                pass
        finally:
            os._exit(protocol.EXIT_RUNTIME)

    def _start_watcher(self):
        lifeline_r, lifeline_w = os.pipe()
        # No signal may reach the fork before it ignores them all (a Python handler there
        # would run our code in the wrong process): all are blocked across fork().
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        pid = os.fork()
        if pid == 0:
            try:
                _watch(lifeline_r, self.pidfd)
            finally:
                os._exit(0)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(lifeline_r)
        self.watcher, self._lifeline = pid, lifeline_w

    def map_ids(self):
        """Rootless: root inside the user namespace is the caller outside (one id each)."""
        for name, text in (("setgroups", "deny"), ("uid_map", "0 %d 1\n" % os.geteuid()),
                           ("gid_map", "0 %d 1\n" % os.getegid())):
            fd = os.open("/proc/%d/%s" % (self.pid, name), os.O_WRONLY)
            try:
                os.write(fd, text.encode())
            finally:
                os.close(fd)

    def go(self):
        """Let the child go on: it execs init, which then waits for its command. Meanwhile,
        the watcher starts: it must be there before the command is sent."""
        try:
            os.write(self._go, GO)
        finally:
            os.close(self._go)
            self._go = None
        hold("went")
        self._start_watcher()
        hold("watching")

    def send(self, command):
        """The book's ``sendInitCommand``: write the command and close, so init reads EOF."""
        self.send_bytes(protocol.encode_command(command))

    def send_bytes(self, data):
        """Write ``data`` as it is (a lesson may send what the book would) and close."""
        data = memoryview(data)
        try:
            while data:
                data = data[os.write(self._command, data):]
        except BrokenPipeError:
            pass  # init is gone already: its exit status tells why
        finally:
            os.close(self._command)
            self._command = None

    def wait_started(self):
        """Until init has exec'd the command (or given up): READY_FD reads EOF."""
        while os.read(self._ready, 64):
            pass
        os.close(self._ready)
        self._ready = None

    def kill(self, signum=signal.SIGKILL):
        """Send PID 1 a signal through its pidfd (never another process that took its PID)."""
        if self.pidfd is None:
            return
        try:
            signal.pidfd_send_signal(self.pidfd, signum)
        except ProcessLookupError:
            pass  # it has ended already

    def wait(self):
        """The book's ``parent.Wait()``: PID 1's wait status (then the watcher is reaped)."""
        if self.status is None:
            _, self.status = os.waitpid(self.pid, 0)
            self._stop_watcher()
        return self.status

    def poll(self):
        """PID 1's wait status if it has ended (then it is reaped), else None."""
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
                self._stop_watcher()
        return self.status

    def _stop_watcher(self):
        # PID 1 has ended: the watcher has seen it too (its pidfd) and is leaving, or has
        # left; closing the lifeline makes sure, and it is reaped.
        if self.watcher is not None:
            os.close(self._lifeline)
            os.waitpid(self.watcher, 0)
            self.watcher = self._lifeline = None

    def close(self):
        """Whatever happened: no process of ours left running or unreaped, no fd left open."""
        if self.pid is not None and self.status is None:
            self.kill()
            self.wait()
        for name in ("_go", "_command", "_ready"):
            fd = getattr(self, name)
            if fd is not None:
                os.close(fd)
                setattr(self, name, None)
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


def _watch(lifeline, pidfd):
    """The watcher's whole life (in a fork of the runtime): see the module's docstring."""
    for signum in range(1, signal.NSIG):  # the terminal's, the job's, any: only SIGKILL ends it
        if signum not in (signal.SIGKILL, signal.SIGSTOP):
            try:
                signal.signal(signum, signal.SIG_IGN)
            except (OSError, ValueError):
                pass  # numbers the C library keeps for itself
    signal.pthread_sigmask(signal.SIG_SETMASK, ())  # (blocked across the fork)
    os.setpgid(0, 0)  # out of the job's process group: `kill -- -PGID` spares us
    try:
        linux.set_name(WATCHER_NAME)
    except OSError:
        pass
    low, high = sorted((lifeline, pidfd))
    os.closerange(0, low)  # hold nothing else: no pipe, no terminal stays open because of us
    os.closerange(low + 1, high)
    os.closerange(high + 1, _MAX_FD)
    # Wait for whichever comes first: PID 1's end (its pidfd becomes readable; then there is
    # nothing left to guard, and we are gone before the runtime comes to reap us), or the
    # runtime's (EOF on the lifeline). `select` is a C module: no Python code runs to load
    # it, and it is loaded here, in the watcher's own time, not on the runtime's way.
    import select
    poller = select.poll()
    poller.register(lifeline, select.POLLIN)
    poller.register(pidfd, select.POLLIN)
    while True:
        ready = dict(poller.poll())
        if pidfd in ready:
            return  # PID 1 has ended: the normal case
        if os.read(lifeline, 64) == b"":
            break
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except ProcessLookupError:
        pass  # it has ended (and been reaped) already
