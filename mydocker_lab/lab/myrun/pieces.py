"""The pieces of the student's runtime: one per notebook, in the book's order.

Plain data (imported on the notebook side, on any OS, and by the checks on the target).
"""


class Piece:
    def __init__(self, number, names, title, task, notebook, book, stub):
        self.number = number        # "01" .. "07"
        self.names = tuple(names)   # what the piece defines, in the order it defines them
        self.title = title          # a few words: the progress table's "what"
        self.task = task            # what to write, one sentence (the TODO, the first hint)
        self.notebook = notebook    # the notebook that teaches it
        self.book = book            # its Go counterpart
        self.stub = stub            # the starting point in a notebook's %%piece cell

    @property
    def signature(self):
        """``CLONE_FLAGS, new_parent_process()``: how the piece is named to a student."""
        return ", ".join(n if n.isupper() else n + "()" for n in self.names)

    def __repr__(self):
        return "<piece %s: %s>" % (self.number, self.signature)


_PIECES = [
    Piece("01", ["CLONE_FLAGS", "new_parent_process"], "new namespaces",
          "the book's five namespaces in CLONE_FLAGS, and new_parent_process() that clone()s "
          "the child with them (the child calls become(argv, fds); the parent returns its pid)",
          "01-namespaces", "container/container_process.go",
          '''CLONE_FLAGS = ...   # TODO: the book's five new namespaces, OR-ed: linux.CLONE_NEW...


def new_parent_process(argv, fds):
    """clone() the container's first process into new namespaces; in the child, become(argv,
    fds). Returns the child's pid (in the parent)."""
    ...  # TODO
'''),
    Piece("02", ["init_mounts"], "/ private, a fresh /proc",
          "init_mounts(): make / recursively private (MS_PRIVATE|MS_REC), then mount proc on "
          "/proc with MS_NOEXEC|MS_NOSUID|MS_NODEV",
          "02-proc-mount-flags", "container/init.go",
          '''def init_mounts():
    """Make / recursively private, so that no mount of ours reaches the host; then mount a
    fresh proc on /proc (for the new PID namespace) with MS_NOEXEC|MS_NOSUID|MS_NODEV."""
    ...  # TODO
'''),
    Piece("03", ["exec_command"], "become the command",
          "exec_command(argv): look argv[0] up in PATH and execve() it with argv exactly; "
          "return 127 when it is not found, 126 when it cannot be executed",
          "03-execve-replaces-init", "container/init.go",
          '''def exec_command(argv):
    """Become the command: look argv[0] up in PATH, execve() it with argv exactly. Returns
    only if it cannot: 127 (not found) or 126 (found, but cannot be executed)."""
    ...  # TODO
'''),
    Piece("04", ["run"], "the parent: start, wait, status",
          "run(command, tty_wanted, memory): start the child with new_parent_process(), put it "
          "in its cgroup (-m), send it the command, wait for it, and return its exit status "
          "(128+N when signal N killed it)",
          "04-the-run-flow", "run.go",
          '''def run(command, tty_wanted=False, memory=None):
    """The parent (run.go): start the container's first process, put it in its cgroup (-m),
    send it the command, wait; return the command's exit status (128+N: killed by signal N)."""
    ...  # TODO
'''),
    Piece("05", ["take_terminal", "relay"], "-ti: a terminal of its own",
          "take_terminal(): in init, setsid() then make the pty (fd 0) the controlling "
          "terminal (TIOCSCTTY); relay(master, pid): copy bytes both ways with your terminal "
          "raw, restore it, return the wait status",
          "05-drive-the-cli", "main_command.go (-ti)",
          '''def take_terminal():
    """In init, with -t (the pty's slave on fd 0): a new session whose controlling terminal
    is the pty, so the shell gets job control and Ctrl-C reaches what runs in it."""
    ...  # TODO


def relay(master, pid):
    """In the parent, with -t: copy bytes both ways between our terminal and the container's
    pty (``master``) until no one in the container holds it; our terminal is raw meanwhile
    (Ctrl-C is a byte for the container) and restored after. Returns pid's wait status."""
    ...  # TODO
'''),
    Piece("06", ["cgroup_create", "cgroup_apply", "cgroup_destroy"], "-m: a memory limit",
          "cgroup_create(name, limit): a directory in memory_hierarchy() with the limit "
          "written (memory.max in v2, memory.limit_in_bytes in v1); cgroup_apply(path, pid): "
          "the pid into cgroup.procs; cgroup_destroy(path): rmdir",
          "06-cgroups", "cgroups/",
          '''def cgroup_create(name, limit):
    """A new memory cgroup ``name`` holding at most ``limit`` bytes, swap included (the book's
    Set). Returns its directory."""
    ...  # TODO


def cgroup_apply(path, pid):
    """Move process ``pid`` (and all it will start) into the cgroup (the book's Apply)."""
    ...  # TODO


def cgroup_destroy(path):
    """Remove the cgroup once its processes are gone (the book's Destroy)."""
    ...  # TODO
'''),
    Piece("07", ["send_command", "read_command"], "the command through a pipe",
          "send_command(fd, command): every argument then a NUL byte into the pipe, then close "
          "it; read_command(fd): read to the end, close, split at the NUL bytes",
          "07-the-pipe", "run.go, container/init.go",
          '''def send_command(fd, command):
    """run.go's sendInitCommand: each argument then a NUL byte into the pipe ``fd``; close
    it, so init reads to the end."""
    ...  # TODO


def read_command(fd):
    """init.go's readUserCommand: read the pipe ``fd`` to its end (and close it); the
    arguments are the pieces between the NUL bytes."""
    ...  # TODO
'''),
]

#: "01" -> Piece, in order.
PIECES = {p.number: p for p in _PIECES}
NUMBERS = tuple(PIECES)


class UnknownPiece(ValueError):
    pass


def piece(number):
    """The Piece numbered ``number`` ("02", "2" or 2)."""
    key = "%02d" % int(number) if str(number).strip().isdigit() else str(number)
    if key not in PIECES:
        raise UnknownPiece("there is no piece %r: the pieces are %s"
                           % (number, ", ".join(NUMBERS)))
    return PIECES[key]
