"""What both sides of the lab share: plain values and small pure functions.

The notebook side (the helpers in the Jupyter kernel, on any computer: Linux, macOS,
Windows) and the probes (``probes/``, child processes on the Linux target) import this
module. So it imports nothing but ``json`` and holds nothing that runs a process or
calls the kernel: a leaf, importable everywhere.
"""
import json

#: The hostname the notebooks' containers get (a fixed one keeps stored outputs stable).
HOSTNAME = "lab"

# -- 01-namespaces -----------------------------------------------------------------------
#: The namespaces the explorer offers, in the order the notebook shows them.
KINDS = ("uts", "pid", "mnt", "net", "ipc", "user")
#: Every namespace a process has (``/proc/self/ns``, without the *_for_children links).
ALL_KINDS = ("uts", "pid", "mnt", "net", "ipc", "user", "cgroup", "time")
#: The name the explorer's child gives itself.
CHILD_HOSTNAME = "child"
#: The explorer's System V shared memory key: "lab1".
SHM_KEY = 0x6c616231

# -- 03-execve-replaces-init ---------------------------------------------------------------
#: The commands of the execve explorer. Files are made in a scratch directory on the
#: target (removed afterwards); ``{dir}`` stands for it.
CASES = {
    "a program in PATH": ["echo", "hello from the container"],
    "a program that is not there": ["no-such-program"],
    "a path that does not exist": ["/no/such/file"],
    "a directory": ["{dir}"],
    "a file without the x bit": ["{dir}/notes.txt"],
    "a script without #! line": ["{dir}/no-shebang"],
    "a script with #!/bin/sh": ["{dir}/with-shebang"],
    "a script whose #! interpreter is missing": ["{dir}/bad-interpreter"],
    "a program whose ELF loader is missing": ["{dir}/no-loader"],
    "a command that fails": ["sh", "-c", "exit 3"],
}
#: Kills itself with SIGTERM, then says whether it is still there.
SELF_TERM = 'echo "I am PID $$, sending myself SIGTERM"; kill -TERM $$; echo "still alive"'
#: A subshell starts sleep in the background and exits: sleep is an orphan.
ORPHAN = '(sleep 5 &); ps -o pid,ppid,args'
#: PID 1 starts a long sleep and leaves at once.
LEAVE = 'sleep 29.5 & echo "PID $$ started sleep as PID $!, and exits"'

# -- 04-the-run-flow -----------------------------------------------------------------------
#: The command of the paused run: PID 1 starts a child, reports, stops it, exits 3.
FLOW_COMMAND = ["sh", "-c",
                'sleep 30 & echo "PID $$ started sleep as PID $!"; kill $!; wait; exit 3']

# -- the runtime's log lines ---------------------------------------------------------------


def log_records(text):
    """mydocker-lab's stderr as records: one dict per JSON log line (``level``, ``msg``,
    ``step``, ...); a line that is not JSON becomes ``{"level": "?", "msg": line}``; blank
    lines are left out."""
    records = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        records.append(record if isinstance(record, dict) else {"level": "?", "msg": line})
    return records


def errors(records):
    """The messages of the records at level error, in order. (A line that is not a log
    record is the container's own stderr: not the runtime's error.)"""
    return [r["msg"] for r in records if r.get("level") == "error"]
