"""``mydocker-lab run``: the parent's side of the run flow (the book's ``run.go``).

The book::

    func Run(tty bool, comArray []string, res *subsystems.ResourceConfig) {
        parent, writePipe := container.NewParentProcess(tty)
        if err := parent.Start(); err != nil { log.Error(err) }
        cgroupManager := cgroups.NewCgroupManager("mydocker-cgroup")
        defer cgroupManager.Destroy()
        cgroupManager.Set(res)
        cgroupManager.Apply(parent.Process.Pid)
        sendInitCommand(comArray, writePipe)
        parent.Wait()
        os.Exit(-1)
    }

:func:`run` keeps that shape, step for step, with an :class:`~.container.process.InitProcess`
(start, map ids, go, send, wait) and the contract of ``container/protocol.py``
between the two sides. It fixes what the book gets wrong: the exit status is the
command's own (not always 255); output reaches the caller with or without ``-t``;
the cgroup exists before the container does, and goes even if something fails;
signals are held while the container starts, then forwarded; and the container
dies with us (the watcher: ``container/process.py``).
"""
import os
import _signal as signal  # the C module behind `signal`, which imports enum (4 ms a run)

from . import linux
from .container import process
from .container.protocol import (DEFAULT_PATH, EXIT_SIGNAL_BASE, FORWARDED_SIGNALS,
                                 SIGNAL_NAMES, RunError, exit_status)
from .log import log
from .testhook import hold

__all__ = ["run", "Options", "RunError", "DEFAULT_PATH"]


class Options:
    def __init__(self, command, interactive=False, tty=False, env=(), hostname=None,
                 rootless=None, limits=None):
        self.command = list(command)
        #: Resource limits as typed: {"memory": "100m", "cpu-shares": "512", "cpus": "0.5",
        #: "cpuset-cpus": "0"}; any given -> a cgroup (the cgroups package)
        self.limits = dict(limits or {})
        self.interactive = interactive
        self.tty = tty
        self.env = list(env)
        self.hostname = hostname
        self.rootless = rootless  # None: automatic (when not root)


def run(opts, log_level="info", log_format="json"):
    """Run ``opts.command`` in a new container; return its exit status (the book's Run)."""
    signals = HeldSignals()  # first of all: from here on a signal waits until we look
    cgroup = stdio = parent = None
    try:
        container_id = os.urandom(6).hex()
        hostname = check_hostname(opts.hostname) if opts.hostname is not None else container_id
        env = container_env(opts, hostname)
        rootless = use_rootless(opts)
        if opts.limits:                              # the book's NewCgroupManager + Set
            cgroup = new_cgroup(container_id, opts.limits)
        stdio = Stdio(opts.tty, opts.interactive)
        parent = process.new_parent_process(
            process.init_argv(hostname, opts.tty, log_level, log_format), env,
            process.CLONE_FLAGS | (linux.CLONE_NEWUSER if rootless else 0), **stdio.for_init)
        hold("cgroup")
        if signals.arrived():
            return signals.cancelled()
        start(parent, rootless, stdio)               # the book's parent.Start()
        log.debug("container %s: host pid %d" % (hostname, parent.pid), step="clone")
        if rootless:
            map_ids(parent)
        parent.go()                                  # init starts; the watcher too
        if cgroup is not None:
            cgroup.apply(parent.pid)                 # the book's cgroupManager.Apply(pid)
        hold("sending")
        if signals.arrived():
            return signals.cancelled()
        parent.send(opts.command)                    # the book's sendInitCommand
        parent.wait_started()                        # init has exec'd the command
        hold("running")
        code = exit_status(wait(parent, stdio, opts.interactive, signals))  # parent.Wait()
        log.debug("container %s exited with status %d" % (hostname, code), step="wait")
        if cgroup is not None:
            cgroup.report_oom()
        return code
    finally:  # whatever happened: no process, descriptor or cgroup of ours is left
        signals.hold()
        for thing in (parent, stdio):
            if thing is not None:
                thing.close()                        # PID 1 killed and reaped if still there
        if cgroup is not None:
            cgroup.destroy()                         # the book's cgroupManager.Destroy()
        signals.restore()


# -- the steps -------------------------------------------------------------------------------

def start(parent, rootless, stdio):
    """The book's ``parent.Start()``: clone(); RunError if the kernel refuses."""
    try:
        parent.start()
    except OSError as err:
        raise RunError(_explain_clone(err, rootless)) from None
    finally:
        stdio.close_childs()  # the child has its copies now


def map_ids(parent):
    try:
        parent.map_ids()
    except OSError as err:
        raise RunError("user namespace: %s: %s" % (err.filename, err.strerror)) from None


def wait(parent, stdio, interactive, signals):
    """PID 1's wait status, our signals forwarded to it: relaying its terminal with -t."""
    if stdio.master is None:
        return signals.wait_forwarding(parent)
    from .relay import relay
    return relay(stdio.take_master(), parent, interactive, signals)


# -- what the container gets -----------------------------------------------------------------

def container_env(opts, hostname):
    """A small clean environment like docker's, plus each ``-e KEY=VALUE``."""
    env = {"PATH": DEFAULT_PATH, "HOSTNAME": hostname, "HOME": "/root"}
    if opts.tty:
        env["TERM"] = os.environ.get("TERM") or "xterm"
    for item in opts.env:
        key, sep, value = item.partition("=")
        if not key or "\0" in item:
            raise RunError("invalid environment variable %r: want KEY=VALUE" % item)
        if sep:
            env[key] = value
        elif key in os.environ:  # -e KEY copies our value, as docker does
            env[key] = os.environ[key]
    return env


#: What a label of a hostname may hold (RFC 1123: letters, digits, '-'), as bytes.
_LABEL_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def check_hostname(name):
    """``name`` when it is a hostname as docker takes one: dot-separated RFC 1123 labels
    (letters, digits and '-', not at a label's either end; 1 to 63 bytes each), at most 64
    bytes in all (sethostname(2)'s limit). The kernel would take any 64 bytes but NUL; no
    resolver could use most of them."""
    raw = os.fsencode(name)  # as sethostname(2) will get it: bytes, not characters
    labels = raw.split(b".")
    if (not raw or len(raw) > 64
            or any(not 0 < len(label) <= 63 or label[:1] == b"-" or label[-1:] == b"-"
                   or not _LABEL_BYTES.issuperset(label) for label in labels)):
        raise RunError("invalid hostname %r: want letters, digits and '-' (not first or last), "
                       "in dot-separated labels of 1 to 63, at most 64 in all" % name)
    return name


def use_rootless(opts):
    rootless = opts.rootless
    if rootless is None:
        rootless = os.geteuid() != 0
        if rootless:
            log.info("not running as root: rootless mode (a user namespace makes you root "
                     "inside, uid %d outside)" % os.getuid())
    if rootless:
        _check_user_namespaces()
    return rootless


class Stdio:
    """The container's stdin, stdout and stderr, and where init's log lines go
    (``for_init``: our descriptors, by the name init gives them).

    With ``-t``, a new pseudo terminal: the container gets its slave side, we keep
    the master for the relay. Without, our own stdout and stderr, and stdin only with
    ``-i`` (else /dev/null, opened for reading: the lowest free number, which is never
    0, 1 or 2, since the CLI has made sure those are open).
    """

    def __init__(self, tty, interactive):
        self.master = None
        self._childs = []  # ours to close once the child has its copies
        if tty:
            self.master, slave = os.openpty()
            from .relay import copy_window_size
            copy_window_size(self.master)
            self.for_init = {"stdin": slave, "stdout": slave, "stderr": slave, "log": 2}
            self._childs.append(slave)
        else:
            stdin = 0 if interactive else os.open(os.devnull, os.O_RDONLY)
            if not interactive:
                self._childs.append(stdin)
            self.for_init = {"stdin": stdin, "stdout": 1, "stderr": 2, "log": 2}

    def close_childs(self):
        for fd in self._childs:
            os.close(fd)
        self._childs = []

    def take_master(self):
        """The master side, now the relay's to close."""
        master, self.master = self.master, None
        return master

    def close(self):
        self.close_childs()
        if self.master is not None:
            os.close(self.master)
            self.master = None


def new_cgroup(container_id, limits):
    """The book's NewCgroupManager + Set: our cgroup, made and limited before the container
    exists (the empty ones that SIGKILLed runs left are swept first). CgroupError (a
    RunError) if it cannot be."""
    from . import cgroups  # only with limits: keeps the plain run path lean
    return cgroups.Cgroup.for_container(container_id, limits)


# -- signals ---------------------------------------------------------------------------------

class HeldSignals:
    """The signals mydocker-lab forwards (SIGINT, SIGTERM...), held while the container starts.

    They are blocked first thing (``cli.console`` has blocked them already, before any of
    our code ran): one that arrives waits, pending, until we look at the next safe point
    (:meth:`arrived`). Until the command is sent to init, a signal ends the run cleanly:
    the container is killed, its cgroup removed, exit 128+N (:meth:`cancelled`). From
    then on (init execs the command within a millisecond) they are forwarded to its PID 1
    as soon as it runs. Signals our caller ignores (``nohup``, ``trap '' INT``) stay
    ignored by us, and are not forwarded.

    No Python signal handler waits for a blocking system call to be interrupted: a signal
    that came between Python's last look and ``waitpid()`` would wait as long as the
    container. Without ``-t`` they stay blocked and are *taken* (:meth:`wait_forwarding`,
    with SIGCHLD); with ``-t``, the relay's poll() is woken through a wake-up fd
    (:meth:`forward_to`).
    """

    def __init__(self):
        self.signals = [s for s in FORWARDED_SIGNALS if signal.getsignal(s) != signal.SIG_IGN]
        # SIGCHLD too: blocked, it is queued for sigwaitinfo() (its default action is to be
        # dropped). And its default: a SIGCHLD ignored by our caller would reap PID 1 for us.
        self._sigchld = signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self._mask = signal.pthread_sigmask(signal.SIG_BLOCK,
                                            self.signals + [signal.SIGCHLD])
        self._handlers = {}
        self._wakeup = None
        self.received = None

    def arrived(self):
        """Take a held signal if one has arrived (without waiting); True if one had."""
        if self.received is None and self.signals:
            info = signal.sigtimedwait(self.signals, 0)
            if info is not None:
                self.received = info.si_signo
        return self.received is not None

    def cancelled(self):
        """The run ends before the command runs (the caller's ``finally`` cleans up)."""
        log.info("%s before the command ran: the run is cancelled, nothing is left behind"
                 % SIGNAL_NAMES.get(self.received, "signal %d" % self.received))
        return EXIT_SIGNAL_BASE + self.received

    @staticmethod
    def forward(parent, signum):
        parent.kill(signum)
        log.debug("forwarded %s to the container's PID 1" % SIGNAL_NAMES[signum])

    def wait_forwarding(self, parent):
        """PID 1's wait status; meanwhile each of our signals is passed on to it, taken
        one at a time from the blocked set (one held since the command was sent first)."""
        waited = self.signals + [signal.SIGCHLD]
        while parent.poll() is None:
            signum = signal.sigwaitinfo(waited).si_signo
            if signum != signal.SIGCHLD:  # (SIGCHLD: a child ended, maybe PID 1: look)
                self.forward(parent, signum)
        return parent.status

    def forward_to(self, parent, wake):
        """For a caller that polls ``wake`` (the relay): from now on each of them goes to
        PID 1 from a handler, and wakes the poll (``signal.set_wakeup_fd``)."""
        self._wakeup = signal.set_wakeup_fd(wake, warn_on_full_buffer=False)
        for signum in self.signals:
            self._handlers[signum] = signal.signal(
                signum, lambda number, _frame: self.forward(parent, number))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, self.signals)

    def hold(self):
        """Stop forwarding: they wait again (while we clean up)."""
        signal.pthread_sigmask(signal.SIG_BLOCK, self.signals)

    def restore(self):
        """As before :func:`run`: a signal that arrives now waits for the caller (the CLI
        exits without looking; a caller in the same process gets it after we return)."""
        signal.pthread_sigmask(signal.SIG_BLOCK, self.signals)
        for signum, handler in self._handlers.items():
            signal.signal(signum, handler)
        if self._wakeup is not None:
            signal.set_wakeup_fd(self._wakeup)
        signal.signal(signal.SIGCHLD, self._sigchld)
        signal.pthread_sigmask(signal.SIG_SETMASK, self._mask)


# -- errors, explained -----------------------------------------------------------------------

def _check_user_namespaces():
    for path, hint in (("/proc/sys/kernel/unprivileged_userns_clone",
                        "sudo sysctl -w kernel.unprivileged_userns_clone=1"),
                       ("/proc/sys/user/max_user_namespaces",
                        "sudo sysctl -w user.max_user_namespaces=15000")):
        try:
            with open(path) as f:
                disabled = f.read().strip() == "0"
        except OSError:
            continue
        if disabled:
            raise RunError("user namespaces are disabled on this machine (%s is 0): run with "
                           "sudo, or allow them: %s" % (path, hint))


def _explain_clone(err, rootless):
    import errno
    what = "clone: %s (%s)" % (err.strerror, errno.errorcode.get(err.errno, "?"))
    if err.errno == errno.EPERM and not rootless:
        return what + ": new namespaces need root; run with sudo, or add --rootless"
    if err.errno in (errno.EPERM, errno.EACCES):
        return (what + ": this machine refuses user namespaces to unprivileged users; run "
                "with sudo, or allow them (Debian: sudo sysctl -w "
                "kernel.unprivileged_userns_clone=1; Ubuntu 23.10+: sudo sysctl -w "
                "kernel.apparmor_restrict_unprivileged_userns=0)")
    if err.errno == errno.ENOSPC:
        return what + ": too many namespaces (see /proc/sys/user/max_*_namespaces)"
    if err.errno == errno.EINVAL:
        return what + ": this kernel lacks one of the namespaces"
    return what
