"""The contract between the two sides of the run flow: ``mydocker-lab run`` and ``init``.

The parent (``run.py``, ``container/process.py``) and the container's first
process (``container/init.py``) are two programs: init is a fresh interpreter,
re-executed through ``/proc/self/exe``, and shares no memory with the parent.
What they agree on is here, and only here; both sides import it:

- the **file descriptors** init is given, by name (``LOG_FD``, ``READY_FD``,
  ``CMD_FD``), and what each one means;
- the **go byte**: a clone()d child waits for it before it becomes init;
- the **command**: how argv travels through the pipe (:func:`encode_command`);
- init's own **argv** (:func:`init_args`, :func:`parse_init_args`);
- the **exit statuses** (docker run's) and how a wait status becomes one;
- the **signals** mydocker-lab passes on to the container, and the default ``PATH``.

Pure Python on ``os`` alone: it imports on any system (the notebooks use
:func:`encode_command` on macOS and Windows too).
"""
import os

# -- the file descriptors init receives --------------------------------------------------------

STDIN, STDOUT, STDERR = 0, 1, 2
#: init's log lines go here: the caller's stderr, never into the container's terminal.
LOG_FD = 3
#: Close-on-exec in init: the parent reads EOF once init has exec'd the command (or given up).
READY_FD = 4
#: The book's ``readPipe`` (its fd 3): the command, read by init up to EOF. It doubles as a
#: barrier: init waits on it until the parent has put it in its cgroup.
CMD_FD = 5

#: What each of init's descriptors is for (for people: the notebooks show this table).
INIT_FDS = {STDIN: "stdin", STDOUT: "stdout", STDERR: "stderr",
            LOG_FD: "log lines -> caller's stderr", READY_FD: "readiness (closed by execve)",
            CMD_FD: "THE COMMAND (read to EOF)"}

#: The byte the parent writes to the go pipe when the child may go on (after the user
#: namespace's id maps are written). EOF instead means: the parent is gone, give up.
GO = b"g"

# -- exit statuses (docker run's contract) -----------------------------------------------------

EXIT_RUNTIME = 125         # mydocker-lab itself failed: a bad option, no privilege, a syscall
EXIT_CANNOT_EXECUTE = 126  # the command exists but cannot be run (permission, a directory)
EXIT_NOT_FOUND = 127       # no such command
EXIT_SIGNAL_BASE = 128     # killed by signal N: 128 + N, as a shell reports it


class RunError(Exception):
    """mydocker-lab itself failed (a bad value, no privilege, a refused system call): one
    clear line, exit status EXIT_RUNTIME. The cgroups' CgroupError is one."""


def exit_status(wait_status):
    """A wait status (``os.waitpid``) as a shell's ``$?``: the exit code, or 128+N."""
    code = os.waitstatus_to_exitcode(wait_status)
    return EXIT_SIGNAL_BASE - code if code < 0 else code


# -- signals -----------------------------------------------------------------------------------

#: Signal numbers by name, without the `signal` module (it imports enum: 4 ms a run) and on
#: any system (Windows has no SIGHUP). The numbers of every machine linux.clone() knows:
#: x86, ARM, RISC-V and POWER (alpha, MIPS and SPARC number SIGUSR1/2 otherwise).
SIGNALS = {"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGKILL": 9, "SIGUSR1": 10, "SIGUSR2": 12,
           "SIGPIPE": 13, "SIGTERM": 15}
SIGNAL_NAMES = {number: name for name, number in SIGNALS.items()}

#: Signals sent to mydocker-lab that it passes on to the container's PID 1 once the command
#: runs. Before that, they are held (blocked) and end the run cleanly: exit 128+N.
FORWARDED_SIGNALS = tuple(SIGNALS[name] for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT",
                                                    "SIGUSR1", "SIGUSR2"))

# -- the command -------------------------------------------------------------------------------

#: The container's PATH (docker's default), and where init looks a command up without one.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def encode_command(command):
    """argv -> bytes for the pipe: every argument followed by a NUL byte.

    Never joined with spaces (the book's way): an argument can hold spaces, quotes or any
    byte except NUL, which execve() itself forbids.
    """
    return b"".join(os.fsencode(arg) + b"\0" for arg in command)


def decode_command(data):
    """The inverse of :func:`encode_command`; None if the bytes were cut short."""
    if not data.endswith(b"\0"):
        return None
    return [os.fsdecode(arg) for arg in data[:-1].split(b"\0")]


# -- init's own argv ---------------------------------------------------------------------------

INIT = "init"  # the hidden subcommand (the book's `/proc/self/exe init`)


def init_args(hostname, tty, log_level, log_format):
    """init's arguments after ``init``. No command in them: that comes through CMD_FD."""
    args = ["--hostname", hostname, "--log-level", log_level, "--log-format", log_format]
    return args + ["--tty"] if tty else args


def parse_init_args(args):
    """The inverse of :func:`init_args`: a dict, or None if they are not init's."""
    opts = {"hostname": None, "log_level": "info", "log_format": "json", "tty": False}
    args = list(args)
    while args:
        word = args.pop(0)
        key = word[2:].replace("-", "_")
        if word == "--tty":
            opts["tty"] = True
        elif word.startswith("--") and key in opts and key != "tty" and args:
            opts[key] = args.pop(0)
        else:
            return None
    return opts
