"""Where a check runs a student's runtime: namespaces of its own, so its mistakes stay there.

    python -m mydocker_lab.lab.myrun.sandbox [--report FILE] -- ARGV...

A runtime under test may be wrong in ways that reach the machine it runs on: without
CLONE_NEWNS its init mounts a proc over the host's /proc (and makes the host's / private);
without CLONE_NEWUTS, ``hostname other`` renames the host. So a check never runs it bare:
this starts ARGV in a new mount namespace whose / is recursively private (cut off from the
host's propagation) and a new UTS namespace -- when not root, inside a user namespace in which
we are root, as the runtime's own glue does. Whatever the runtime does to mounts or the
hostname ends with it. (The checks still see such a mistake: piece 01's check compares the
container's namespaces with the runtime's.)

Without ``--report``, ARGV replaces this process (same pid). With it, ARGV runs as our child
and, once it has ended, the sandbox's hostname is written to FILE -- what the host's would
have become -- and we exit with ARGV's status (128+N if signal N ended it).
"""
import os
import signal
import sys

from mydocker_lab import linux

from .reference import become_root_in_user_namespace


def enter():
    """Move this process into the sandbox's namespaces."""
    if os.geteuid() != 0:
        become_root_in_user_namespace()
    linux.unshare(linux.CLONE_NEWNS | linux.CLONE_NEWUTS)
    linux.mount("", "/", None, linux.MS_REC | linux.MS_PRIVATE)


def main(args=None):
    args = list(sys.argv[1:] if args is None else args)
    report = None
    if args[:1] == ["--report"] and len(args) > 1:
        report, args = args[1], args[2:]
    if args[:1] != ["--"] or len(args) < 2:
        print("usage: python -m mydocker_lab.lab.myrun.sandbox [--report FILE] -- ARGV...",
              file=sys.stderr)
        return 2
    argv = args[1:]
    try:
        enter()
    except OSError as err:
        print("myrun check: cannot make a sandbox here: %s" % err, file=sys.stderr)
        return 125
    if report is None:
        os.execvp(argv[0], argv)
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    # Ctrl-C on the terminal is for the runtime (and, if it left the terminal cooked, ends
    # it: the check wants to see that); we stay to report.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _, status = os.waitpid(pid, 0)
    with open(report, "w") as f:
        f.write(os.uname().nodename + "\n")
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
