"""A student's Jupyter server, as the classroom starts it (the hub's ``Spawner.cmd``).

    python -m mydocker_lab.classroom.sandbox [--course DIR] [--no-namespaces] -- CMD...

Runs as the student (the spawner has already switched to the student's account):

1. **first start**: the course (``--course``: the student versions of the notebooks) is
   copied into ``~/mydocker-lab`` unless that exists; a later start leaves the student's
   work alone;
2. **cgroup v2 delegated** (systemd's ``Delegate=yes``, or the classroom spawner's cgroup):
   the server's cgroup may not hold processes *and* give controllers to children (cgroup
   v2's "no internal processes" rule), so the server moves into a leaf ``server/`` of it and
   enables ``memory``, ``cpu`` and ``pids`` for the children. ``mydocker-lab run -m`` then
   makes its container's cgroup beside the leaf, inside the student's limits;
3. **a user, PID and mount namespace of its own** (``unshare``; no privilege needed): the
   student sees only their own processes (``ps``, ``/proc``) and containers, never another
   student's; the student stays themselves (their uid maps to itself: containers are
   rootless); and when the server stops, the kernel ends every process the student left
   behind (the PID namespace dies with its first process); ``/tmp`` and ``/dev/shm`` are
   the student's own (fresh tmpfs, gone with the server): no student reads another's
   scratch files there.

Inside the namespaces, this module runs again as ``--init``: the PID namespace's first
process, which mounts the private ``/tmp`` (the capabilities ``unshare --keep-caps`` left it
in the student's user namespace), starts CMD without any capability, passes on the
signals the spawner sends (to stop the server), reaps orphans, and exits with CMD's
status. Standard library only.
"""
import argparse
import os
import shutil
import signal
import sys
import tempfile

COURSE_FOLDER = "mydocker-lab"
UNSHARE = ("/usr/bin/unshare", "/bin/unshare")
#: Signals the init passes on to the server (the spawner stops it with SIGINT, then SIGTERM).
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2)
V2_CONTROLLERS = ("memory", "cpu", "pids")
#: Made private (a fresh tmpfs each) in the student's mount namespace.
PRIVATE_TMP = ("/tmp", "/dev/shm")
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4


def say(message):
    print("classroom: " + message, file=sys.stderr, flush=True)


# -- 1. the course, on first start ---------------------------------------------------------

def copy_course(course, home):
    """Copy ``course`` to ``home/mydocker-lab`` unless it exists; True if copied."""
    dest = os.path.join(home, COURSE_FOLDER)
    if os.path.lexists(dest):
        return False
    # all or nothing: a half copy would look like the student's own work next time
    tmp = tempfile.mkdtemp(prefix=".mydocker-lab-course.", dir=home)
    try:
        shutil.copytree(course, os.path.join(tmp, "c"), symlinks=False,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        os.rename(os.path.join(tmp, "c"), dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return True


# -- 2. a delegated cgroup v2 subtree ---------------------------------------------------------

def _own_v2_cgroup():
    with open("/proc/self/cgroup") as f:
        for line in f:
            number, names, path = line.rstrip("\n").split(":", 2)
            if number == "0" and not names:
                return path
    return None


def _v2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] == "cgroup2":
                return fields[4], fields[3]
    return None, None


def enter_delegated_leaf(pid=None):
    """If our cgroup v2 is ours to manage (delegated) and offers controllers, move into
    its leaf ``server/`` and enable the controllers for its children. Returns the leaf's
    path, or None (nothing delegated: nothing to do)."""
    own = _own_v2_cgroup()
    mount, root = _v2_mount()
    if own is None or mount is None or not own.startswith(root):
        return None
    here = os.path.normpath(os.path.join(mount, os.path.relpath(own, root)))
    try:
        with open(os.path.join(here, "cgroup.controllers")) as f:
            offered = [c for c in f.read().split() if c in V2_CONTROLLERS]
    except OSError:
        return None
    if not offered or not all(os.access(os.path.join(here, name), os.W_OK) for name in
                              ("cgroup.procs", "cgroup.subtree_control")):
        return None
    leaf = os.path.join(here, "server")
    os.makedirs(leaf, exist_ok=True)
    with open(os.path.join(leaf, "cgroup.procs"), "w") as f:
        f.write(str(pid or os.getpid()))
    with open(os.path.join(here, "cgroup.subtree_control"), "w") as f:
        f.write(" ".join("+" + c for c in offered))
    return leaf


# -- 3. the namespaces, and their first process ------------------------------------------------

def unshare_argv(command):
    unshare = next((p for p in UNSHARE if os.access(p, os.X_OK)), None)
    if unshare is None:
        raise OSError("unshare (util-linux) is not installed")
    # --map-current-user: the student stays themselves inside (rootless containers);
    # --kill-child: if unshare is killed, the namespace's first process is killed with it
    # --keep-caps: the init keeps its capabilities in the new user namespace (ambient) to
    # mount the private /tmp; it starts the server without them
    return [unshare, "--user", "--map-current-user", "--pid", "--fork", "--mount",
            "--mount-proc", "--kill-child=SIGKILL", "--keep-caps", "--",
            sys.executable, "-I", "-m", "mydocker_lab.classroom.sandbox", "--init", "--"] \
        + list(command)


def private_tmp():
    """A fresh tmpfs on each of PRIVATE_TMP (in our own mount namespace)."""
    from mydocker_lab import linux
    for path in PRIVATE_TMP:
        if os.path.isdir(path):
            try:
                linux.mount("tmpfs", path, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV,
                            "mode=1777")
            except OSError as err:
                say("%s stays shared with the machine (mount: %s)" % (path, err.strerror))


def drop_capabilities():
    """No capability survives the next execve (we are not root in our user namespace)."""
    from mydocker_lab import linux
    if linux.libc("prctl")(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0:
        raise OSError("prctl(PR_CAP_AMBIENT_CLEAR_ALL) failed")


def init(command):
    """PID 1 of the student's PID namespace: run ``command``, forward signals, reap."""
    private_tmp()
    try:
        pid = os.fork()
    except OSError as err:
        say("cannot start %s: %s" % (command[0], err.strerror))
        return 125
    if pid == 0:
        for signum in FORWARDED:
            signal.signal(signum, signal.SIG_DFL)
        try:
            drop_capabilities()
            os.execvp(command[0], command)
        except OSError as err:
            say("cannot start %s: %s" % (command[0], err.strerror))
        os._exit(127)

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    for signum in FORWARDED:
        signal.signal(signum, forward)
    while True:
        try:
            done, status = os.wait()  # every child: orphans of the namespace come to us
        except ChildProcessError:
            return 0
        if done == pid:
            # our end ends the namespace: the kernel kills whatever is left in it
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) \
                else 128 + os.WTERMSIG(status)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m mydocker_lab.classroom.sandbox",
        description="Start a student's Jupyter server as the classroom does: the course "
                    "copied on first start, the server in namespaces of its own.")
    parser.add_argument("--course", help="the course to copy into ~/%s on first start"
                        % COURSE_FOLDER)
    parser.add_argument("--no-namespaces", action="store_true",
                        help="start the server in the host's namespaces (every student then "
                             "sees every process on the machine)")
    parser.add_argument("--init", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("command", nargs="+", help="the server, e.g. jupyterhub-singleuser")
    args = parser.parse_args(argv)
    if args.init:
        return init(args.command)
    home = os.environ.get("HOME") or os.path.expanduser("~")
    if args.course:
        if not os.path.isdir(args.course):
            say("the course folder %s is missing: starting without copying it" % args.course)
        else:
            try:
                if copy_course(args.course, home):
                    say("first start: the course is in %s" % os.path.join(home, COURSE_FOLDER))
            except OSError as err:
                say("could not copy the course into %s: %s" % (home, err))
    try:
        leaf = enter_delegated_leaf()
        if leaf:
            say("cgroup v2 delegated: server in %s" % leaf)
    except OSError as err:
        say("delegated cgroup not usable (%s): container limits will not work" % err)
    command = args.command if args.no_namespaces else unshare_argv(args.command)
    try:
        os.execv(command[0], command)
    except OSError as err:
        say("cannot start %s: %s" % (command[0], err.strerror))
        return 127


if __name__ == "__main__":
    sys.exit(main())
