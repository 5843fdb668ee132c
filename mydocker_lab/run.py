"""``mydocker-lab run``: the parent's side of the run flow (the book's ``run.go``).

The book::

    func Run(tty bool, command string) {
        parent := container.NewParentProcess(tty, command)
        if err := parent.Start(); err != nil { log.Error(err) }
        parent.Wait()
        os.Exit(-1)
    }

Ours keeps that shape (start the container's first process, wait for it)
and fixes what the book gets wrong: the exit status is the command's own
(not always 255), output reaches the caller with or without ``-t``, signals
are forwarded, and the container dies with us.
"""
import os
import _signal as signal  # the C module behind `signal`, which imports enum (4 ms a run)

from . import linux
from .container import process
from .log import log

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: Exit statuses (docker run's contract).
EXIT_RUNTIME = 125

#: Signals sent to mydocker-lab that are passed on to the container's PID 1.
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                     signal.SIGUSR1, signal.SIGUSR2)


class RunError(Exception):
    """mydocker-lab itself failed: one clear line, exit status 125."""


class Options:
    def __init__(self, command, interactive=False, tty=False, env=(), hostname=None,
                 rootless=None, limits=None):
        self.command = list(command)
        #: Resource limits as typed: {"memory": "100m", "cpu-shares": "512", "cpus": "0.5",
        #: "cpuset-cpus": "0"}; any given -> a cgroup (cgroups.py)
        self.limits = dict(limits or {})
        self.interactive = interactive
        self.tty = tty
        self.env = list(env)
        self.hostname = hostname
        self.rootless = rootless  # None: automatic (when not root)


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


def check_hostname(name):
    if not name or len(name.encode()) > 64 or "\0" in name:
        raise RunError("invalid hostname %r: want 1 to 64 bytes" % name)
    return name


def run(opts, log_level="info", log_format="json"):
    """Run ``opts.command`` in a new container; return its exit status.

    With limits, the book's 3.2 around it: a cgroup made (limits written) before
    the container exists, the container put in it before it gets its command,
    and removed once it has exited.
    """
    container_id = os.urandom(6).hex()
    if not opts.limits:
        return _run(opts, container_id, None, log_level, log_format)
    from . import cgroups  # only with limits: keeps the plain run path lean
    try:
        cgroup = cgroups.Cgroup(container_id, opts.limits)
        cgroup.create()
    except cgroups.CgroupError as err:
        raise RunError(str(err)) from None
    log.info("cgroup %s/%s (v%s): %s" % (cgroups.PARENT, container_id,
                                         "+v".join(map(str, cgroup.versions)),
                                         cgroup.describe()))
    try:
        code = _run(opts, container_id, cgroup, log_level, log_format)
        kills = cgroup.oom_kills()
        if kills:
            log.warning("OOM: the kernel's OOM killer killed %d process%s of the container: it "
                        "reached its memory limit (--memory %s)" % (
                            kills, "" if kills == 1 else "es", opts.limits["memory"]))
        return code
    finally:
        for path in cgroup.remove():
            log.warning("cgroup %s is still busy: not removed" % path)


def _run(opts, container_id, cgroup, log_level, log_format):
    hostname = check_hostname(opts.hostname) if opts.hostname is not None else container_id
    env = container_env(opts, hostname)
    rootless = opts.rootless
    if rootless is None:
        rootless = os.geteuid() != 0
        if rootless:
            log.info("not running as root: rootless mode (a user namespace makes you root "
                     "inside, uid %d outside)" % os.getuid())
    flags = process.CLONE_FLAGS | (linux.CLONE_NEWUSER if rootless else 0)
    if rootless:
        _check_user_namespaces()
    argv = process.init_argv(hostname, opts.tty, log_level, log_format)

    child_fds = []  # ours to close once the child has its copies
    if opts.tty:
        master, slave = os.openpty()
        from .relay import copy_window_size
        copy_window_size(master)
        stdio = [slave, slave, slave]
        child_fds.append(slave)
    else:
        master = None
        if opts.interactive:
            stdin = 0
        else:
            stdin = os.open(os.devnull, os.O_RDONLY)
            child_fds.append(stdin)
        stdio = [stdin, 1, 2]
    ready_r, ready_w = os.pipe()
    cmd_r, cmd_w = os.pipe()  # the book's 3.3: the command travels through a pipe
    child_fds += [ready_w, cmd_r]
    try:
        pid, go = process.new_parent_process(argv, env, stdio + [2, ready_w, cmd_r], flags)
    except OSError as err:
        raise RunError(_explain_clone(err, rootless)) from None
    finally:
        for fd in child_fds:
            os.close(fd)
    log.debug("container %s: host pid %d" % (hostname, pid), step="clone")
    try:
        if rootless:
            _write_id_maps(pid)
        os.write(go, b"g")
    except OSError as err:
        os.close(go)
        os.close(cmd_w)
        os.waitpid(pid, 0)  # the child exits on the closed pipe
        raise RunError("user namespace: %s: %s" % (err.filename, err.strerror)) from None
    os.close(go)
    if cgroup is not None:  # init now waits on the pipe: nothing has run yet
        from .cgroups import CgroupError
        try:
            cgroup.add(pid)  # the book's cgroupManager.Apply(pid)
        except CgroupError as err:
            os.kill(pid, signal.SIGKILL)
            os.close(cmd_w)
            os.waitpid(pid, 0)
            raise RunError(str(err)) from None
    process.send_command(cmd_w, opts.command)  # ... and only now the command: go

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)

    while os.read(ready_r, 64):  # EOF: init has exec'd the command (or given up)
        pass
    os.close(ready_r)
    if master is not None:
        from .relay import relay
        status = relay(master, pid, attach_stdin=opts.interactive)
    else:
        _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        code = 128 - code  # killed by signal N: 128+N, like a shell
    log.debug("container %s exited with status %d" % (hostname, code), step="wait")
    return code


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


def _write_id_maps(pid):
    """Map root inside the user namespace to the caller outside (one id each)."""
    for name, text in (("setgroups", "deny"), ("uid_map", "0 %d 1\n" % os.geteuid()),
                       ("gid_map", "0 %d 1\n" % os.getegid())):
        with open("/proc/%d/%s" % (pid, name), "w") as f:
            f.write(text)


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
