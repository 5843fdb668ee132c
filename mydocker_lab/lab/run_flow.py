"""Notebook 04 (the run flow): the steps, a sequence diagram, the stepper, the checker.

The live data comes from the ``run-flow`` probe (``probes/run_flow.py``): the real
``mydocker-lab run``, paused before each of its log lines, looked at from the
host and from inside at each pause.
"""
import html
import os
import re
import shlex

from .. import linux
from .common import log_records
from .display import Note, Pre, Rich, SideBySide, Stack, Table, Verdict
from .grading import checker
from .labels import HOST_NAME, HOST_PROPAGATION, HostValues
from .targets import get_target

#: The run flow, in order: (key, title, what happens, book file ↔ our file).
STEPS = [
    ("parent", "1 · parent", "mydocker-lab run parses its options (--hostname lab, the "
     "command). Only one process exists: no container yet.",
     "main_command.go runCommand ↔ cli.py"),
    ("clone", "2 · clone", "clone() with CLONE_NEWUTS|NEWPID|NEWNS|NEWNET|NEWIPC creates the "
     "child: a copy of the parent (same program, same cmdline) in new namespaces. Inside, it "
     "is already PID 1. It waits for the parent's 'go'.",
     "container_process.go NewParentProcess ↔ container/process.py new_parent_process"),
    ("init", "3 · init", "The child execve()s /proc/self/exe: the same program again, now as "
     "'init'. Still PID 1, new cmdline. It reads the command from a pipe (the book's 3.3). "
     "Meanwhile the parent forks a watcher, which SIGKILLs the container if the parent "
     "dies.",
     "main_command.go initCommand ↔ __main__.py → container/init.py main"),
    ("private", "4 · / private", "init makes / recursively private: its mounts will not "
     "propagate to the host (where systemd booted the host, / is shared, and they would).",
     "(missing in the book) ↔ container/init.py"),
    ("proc", "5 · hostname, /proc", "init sets the hostname (--hostname lab: ours only; the "
     "book's init never calls sethostname, its container keeps the host's name in a UTS "
     "namespace of its own) and mounts a fresh proc on /proc: from now on, ps inside sees "
     "only the container's processes.",
     "init.go syscall.Mount ↔ container/init.py linux.sethostname, linux.mount"),
    ("execve", "6 · execve", "init execve()s the command: same process, still PID 1, new "
     "program. The command starts its own child (sleep, PID 2).",
     "init.go syscall.Exec ↔ container/init.py execvpe"),
    ("wait", "7 · wait", "The command exits with 3. The kernel kills what was left in the "
     "namespace; the parent's waitpid() returns the status.",
     "run.go parent.Wait ↔ run.py os.waitpid"),
    ("exit", "8 · exit", "mydocker-lab exits with the command's status: 3.",
     "run.go os.Exit(-1) ↔ cli.py return code"),
]
KEYS = [s[0] for s in STEPS]
_BY_KEY = {s[0]: s for s in STEPS}



# -- the sequence diagram -----------------------------------------------------------------
_P, _C, _X = "parent", "child", "command"
_LANES = {_P: 112, _C: 430, _X: 690}
_LANE_TITLES = {_P: ("mydocker-lab run", "parent, on the host"),
                _C: ("child → init", "PID 1 inside"),
                _X: ("COMMAND", "the same process, PID 1")}
#: (step, from, to, label)
MESSAGES = [
    ("parent", _P, _P, "parse: run --hostname lab CMD"),
    ("clone", _P, _C, "clone(NEWUTS|NEWPID|NEWNS|NEWNET|NEWIPC)"),
    ("init", _C, _C, "execve(/proc/self/exe, [… init …])"),
    ("init", _P, _C, "the command, through a pipe"),
    ("private", _C, _C, "mount(\"\", \"/\", MS_PRIVATE|MS_REC)"),
    ("proc", _C, _C, "sethostname(\"lab\")  (ours; not the book's)"),
    ("proc", _C, _C, "mount(\"proc\", \"/proc\", NOEXEC|NOSUID|NODEV)"),
    ("execve", _C, _X, "execve(CMD): no new process"),
    ("execve", _X, _X, "runs; fork() → sleep (PID 2)"),
    ("wait", _X, _P, "exit(3) → SIGCHLD; waitpid() → 3"),
    ("exit", _P, _P, "exit(3)"),
]


class SequenceDiagram(Rich):
    """The run flow as a sequence diagram (SVG in Jupyter, a list in text); one step lit."""

    ROW, TOP = 34, 78

    def __init__(self, highlight=None):
        if highlight is not None and highlight not in KEYS:
            raise ValueError("unknown step %r: one of %s" % (highlight, ", ".join(KEYS)))
        self.highlight = highlight

    def text(self):
        lines = ["sequence: mydocker-lab run (parent) | child → init (PID 1) | COMMAND (PID 1)"]
        for step, src, dst, label in MESSAGES:
            mark = "▶" if step == self.highlight else " "
            arrow = src if src == dst else "%s → %s" % (src, dst)
            lines.append("%s %-8s %-18s %s" % (mark, step, arrow, label))
        return "\n".join(lines)

    def _row_y(self, i):
        return self.TOP + 24 + i * self.ROW

    def html(self):
        width, n = 930, len(MESSAGES)
        height = self._row_y(n) + 10
        out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
               'viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">'
               % (width, height, width, height),
               '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" '
               'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>']
        for i, (step, _s, _d, _l) in enumerate(MESSAGES):  # the lit step's rows
            if step == self.highlight:
                y = self._row_y(i) - self.ROW / 2
                out.append('<rect x="4" y="%d" width="%d" height="%d" fill="#fff3cd"/>'
                           % (y, width - 8, self.ROW))
        first = {lane: None for lane in _LANES}
        last = dict(first)
        for i, (_step, src, dst, _l) in enumerate(MESSAGES):
            for lane in (src, dst):
                first[lane] = i if first[lane] is None else first[lane]
                last[lane] = i
        colors = {_P: "#4a7ebb", _C: "#d9822b", _X: "#d9822b"}
        for lane, x in _LANES.items():
            title, sub = _LANE_TITLES[lane]
            out.append('<rect x="%d" y="8" width="200" height="44" rx="6" fill="white" '
                       'stroke="%s" stroke-width="2"/>' % (x - 100, colors[lane]))
            out.append('<text x="%d" y="27" text-anchor="middle" font-weight="bold">%s</text>'
                       % (x, html.escape(title)))
            out.append('<text x="%d" y="44" text-anchor="middle" fill="#555">%s</text>'
                       % (x, html.escape(sub)))
            out.append('<line x1="%d" y1="52" x2="%d" y2="%d" stroke="#bbb" '
                       'stroke-dasharray="4 4"/>' % (x, x, height - 6))
            top = self._row_y(first[lane]) - (0 if lane == _P else 0)
            y1 = 56 if lane == _P else top
            y2 = self._row_y(last[lane])
            out.append('<rect x="%d" y="%d" width="10" height="%d" fill="%s" opacity="0.85"/>'
                       % (x - 5, y1, y2 - y1 + 6, colors[lane]))
        for i, (step, src, dst, label) in enumerate(MESSAGES):
            y = self._row_y(i)
            weight = "bold" if step == self.highlight else "normal"
            text = html.escape(label)
            if src == dst:
                x = _LANES[src] + 5
                out.append('<path d="M%d,%d h26 v10 h-24" fill="none" stroke="#333" '
                           'marker-end="url(#arrow)"/>' % (x, y - 8))
                out.append('<text x="%d" y="%d" font-weight="%s">%s</text>'
                           % (x + 32, y + 2, weight, text))
            else:
                x1, x2 = _LANES[src], _LANES[dst]
                x1 += 5 if x2 > x1 else -5
                x2 += -6 if x2 > x1 else 6
                dash = ' stroke-dasharray="6 3"' if dst == _P else ""
                out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"%s '
                           'marker-end="url(#arrow)"/>' % (x1, y, x2, y, dash))
                out.append('<text x="%d" y="%d" text-anchor="middle" font-size="11" '
                           'font-weight="%s">%s</text>' % ((x1 + x2) // 2, y - 6, weight, text))
        out.append("</svg>")
        return "".join(out)


def diagram(highlight=None):
    """The sequence diagram of the run flow, with one step lit (or none)."""
    return SequenceDiagram(highlight)


# -- capturing the flow on the target ----------------------------------------------------------
class FlowRun:
    """One real ``mydocker-lab run``, paused at each step: snapshots by step key."""

    def __init__(self, result, host_hostname):
        self.result = result
        self.host_hostname = host_hostname
        self.host_root = result.get("host_root")  # the host's / propagation
        self.exit = result["exit"]
        self.steps = {key: {"lines": [], "snapshot": None} for key in KEYS}
        current = "parent"
        for snap in result["steps"]:
            # Which step a pause belongs to: the line the runtime wrote right after it. A
            # log record names its step (``"step": "clone"``); the command's output (the
            # stdout gate) comes after execve; any other line belongs to the step before.
            if snap["gate"] == "stdout":
                key = "execve"
            else:
                record = (log_records(snap["line"] or "") or [{}])[0]
                key = record.get("step", current)
                key = key if key in self.steps else current
            self.steps[key]["snapshot"] = snap  # the last pause of a step shows it best
            self.steps[key]["lines"].append(snap["line"])
            current = key
        missing = [k for k in KEYS if k not in ("parent", "exit")
                   and self.steps[k]["snapshot"] is None]
        if missing:
            raise RuntimeError("the run flow never paused at: %s (did the runtime's log lines "
                               "change?)" % ", ".join(missing))

    def log_lines(self):
        """Every JSON log line of the run, in order (parent's and init's, from stderr)."""
        return Pre("\n".join(snap["line"] for snap in self.result["steps"]
                             if snap["gate"] == "log"), "stderr of mydocker-lab --log-level "
                   "debug run --hostname lab sh -c '…'")

    def order(self):
        """The step keys in the order the runtime really went through them."""
        return ["parent"] + [k for k in KEYS[1:-1] if self.steps[k]["snapshot"]] + ["exit"]


def capture(target=None):
    """Run the paused flow on the target; a FlowRun."""
    target = get_target(target)
    host = HostValues.read(target).hostname
    return FlowRun(target.probe("run-flow"), host)


def _short(argv, width):
    """A command line in ``width`` characters at most (cut with …). Where the interpreter
    and the package are differs per machine (a venv, a checkout, site-packages): the
    interpreter is shown as ``python``, a file of the package as ``…/mydocker_lab/FILE``."""
    words = []
    for i, arg in enumerate(argv):
        if i == 0 and re.match(r"python", os.path.basename(arg)):
            words.append("python")
        elif i == 0:
            words.append(shlex.quote(os.path.basename(arg)))
        elif "/mydocker_lab/" in arg:
            words.append("…" + shlex.quote(arg[arg.rindex("/mydocker_lab/"):]))
        else:
            words.append(shlex.quote(arg))
    text = " ".join(words)
    return text if len(text) <= width else text[:width - 1] + "…"


def host_view(run, key):
    """The host's process tree at step ``key`` (from the host's /proc)."""
    snap = run.steps[key]["snapshot"]
    if key == "parent":  # no log line to pause on before clone: the parent as seen just after
        parent = run.steps["clone"]["snapshot"]["host"][0]
        head = "PID %-7d " % parent["pid"]
        return (head + _short(parent["cmdline"], 74 - len(head))
                + "\n(alone: clone() has not run yet)")
    if key == "exit":
        left = run.result["left_on_host"]
        return ("mydocker-lab exited with status %d\nits processes left on the host: %s"
                % (run.exit, "none" if not left else ", ".join(map(str, left))))
    lines = []
    for entry in snap["host"]:
        depth = entry["depth"]
        prefix = ("   " * (depth - 1) + "└─ ") if depth else ""
        head = "%sPID %-7d " % (prefix, entry["pid"])
        cmd = _short(entry["cmdline"], 74 - len(head))
        if entry.get("name") == "mydocker-watch":  # a fork of the parent: same cmdline
            cmd = "mydocker-watch (kills the container if mydocker-lab dies)"
        lines.append(head + cmd)
    if len(snap["host"]) == 1:
        lines.append("(its child is gone: the kernel reaped the container)")
    return "\n".join(lines)


def inside_view(run, key):
    """The container's own view at step ``key``."""
    snap = run.steps[key]["snapshot"]
    inside = snap["inside"] if snap else None
    if key == "parent":
        return "(no container yet)"
    if inside is None:
        return "(the container is gone: its PID namespace ended with its PID 1)"
    # What clone() copied from the host differs per machine: compared, shown as labels.
    hostname, root = inside["hostname"], inside["root"]
    if hostname == run.host_hostname:
        hostname = HOST_NAME + " (clone copied it)"
    if KEYS.index(key) < KEYS.index("private") and root == run.host_root:
        root = HOST_PROPAGATION + " (clone copied it)"
    lines = ["hostname  %s" % hostname,
             "/         %s" % root,
             "/proc     %s" % ("its own: ps sees only the processes below" if inside["own_proc"]
                               else "still the host's: ps would list every host process"),
             "processes of the new PID namespace (numbered as inside):"]
    for member in inside["processes"]:
        lines.append("  PID %d  %s" % (member["pid"], _short(member["cmdline"], 60)))
    return "\n".join(lines)


def show_step(run, key):
    """Everything about one step: diagram, both views, the log lines it released."""
    _key, title, what, book = _BY_KEY[key]
    lines = run.steps[key]["lines"] if key in run.steps else []
    logs = Pre("\n".join(lines) if lines else "(none)",
               "what the runtime wrote right after this step (stderr: JSON log; stdout: "
               "the command):")
    return Stack(SequenceDiagram(key),
                 Note("%s — %s  [book ↔ ours: %s]" % (title, what, book)),
                 SideBySide(host_view(run, key), inside_view(run, key),
                            "host: the process tree (host /proc)",
                            "inside: the container's view"),
                 logs)


def stepper(run):
    """The stepper through the captured run flow: a slider over the eight steps."""
    from ipywidgets import Layout, SelectionSlider
    from .widgets import explorer
    return explorer(lambda step: show_step(run, step),
                    step=SelectionSlider(options=[(s[1], s[0]) for s in STEPS],
                                         value="clone", description="step",
                                         continuous_update=False,
                                         layout=Layout(width="640px")))


def self_exe(target=None):
    """/proc/self/exe, the magic link the re-exec goes through, looked at for real."""
    r = get_target(target).probe("self-exe")
    names = {"started": "sleep started from /tmp/lab/prog (a copy of sleep)",
             "renamed": "after mv prog prog.renamed", "removed": "after rm prog.renamed"}
    rows = [["the probe (Python) reads /proc/self/exe",
             "%s (this interpreter's file)" % ("<the Python interpreter>"
                                               if r["self"] == r["python"] else r["self"])]]
    rows += [["%s: readlink /proc/PID/exe" % names[what], link] for what, link in r["steps"]]
    rows.append(["open(/proc/PID/exe) after rm: the bytes of the file it started from",
                 "the same" if r["same_bytes_after_removal"] else "DIFFERENT"])
    rows.append(["open(/proc/PID/exe, O_WRONLY) while it runs", r["write"]])
    return Table(["", "what the kernel says"], rows)


# -- exit codes --------------------------------------------------------------------------------
def exit_codes(target=None):
    """A table of mydocker-lab run's exit status in docker's five cases, measured."""
    results = get_target(target).probe("exit-codes")
    return Table(["case", "mydocker-lab run … ", "exit"],
                 [[r["case"], shlex.join(r["args"]), str(r["exit"])] for r in results])


# -- exercise: the clone flags ---------------------------------------------------------------
BOOK_NAMESPACES = ["ipc", "mnt", "net", "pid", "uts"]
_FLAG_OF = {"uts": "CLONE_NEWUTS", "pid": "CLONE_NEWPID", "mnt": "CLONE_NEWNS",
            "net": "CLONE_NEWNET", "ipc": "CLONE_NEWIPC", "user": "CLONE_NEWUSER",
            "cgroup": "CLONE_NEWCGROUP"}
#: The flag names a list may hold, with their values.
_VALUE_OF = {name: getattr(linux, name) for name in _FLAG_OF.values()}
#: clone() flags that are not namespaces (<sched.h>): what a stray bit is, in a hint.
_OTHER_BITS = {0x100: "CLONE_VM", 0x200: "CLONE_FS", 0x400: "CLONE_FILES",
               0x800: "CLONE_SIGHAND", 0x1000: "CLONE_PIDFD", 0x2000: "CLONE_PTRACE",
               0x4000: "CLONE_VFORK", 0x8000: "CLONE_PARENT", 0x10000: "CLONE_THREAD",
               0x40000: "CLONE_SYSVSEM", 0x80000: "CLONE_SETTLS",
               0x100000: "CLONE_PARENT_SETTID", 0x200000: "CLONE_CHILD_CLEARTID",
               0x400000: "CLONE_DETACHED", 0x800000: "CLONE_UNTRACED",
               0x1000000: "CLONE_CHILD_SETTID", 0x80000000: "CLONE_IO"}
#: Names students guess that do not exist, and what they meant.
_MADE_UP = {"CLONE_NEWMNT": "CLONE_NEWNS", "CLONE_NEWMOUNT": "CLONE_NEWNS",
            "CLONE_NEWHOST": "CLONE_NEWUTS", "CLONE_NEWHOSTNAME": "CLONE_NEWUTS",
            "CLONE_NEWNETWORK": "CLONE_NEWNET", "CLONE_NEWPROC": "CLONE_NEWPID"}
_WITHOUT = {
    "uts": "sethostname() in the container would rename the host",
    "pid": "the command would not be PID 1 (the child saw itself as PID %(pid_inside)s, its host PID)",
    "mnt": "mounting /proc in the container would change the host's mount table",
    "net": "the container would see and use the host's network interfaces",
    "ipc": "the container would share System V IPC and POSIX message queues with the host",
}
_NAMESPACE_BITS = sum(_VALUE_OF.values())


class FlagError(ValueError):
    def __init__(self, message, hint):
        super().__init__(message)
        self.hint = hint


def _bits(value):
    return [1 << i for i in range(value.bit_length()) if value >> i & 1]


def _flag_value(flags):
    """The int of an answer: an int, or a list of CLONE_NEW* names. FlagError (with a hint)
    for anything else: a made-up name, a bit that is not a namespace, a bool..."""
    if isinstance(flags, bool):
        raise FlagError("True/False is not a set of flags",
                        "combine the constants with |: linux.CLONE_NEWUTS | …")
    if isinstance(flags, int):
        if flags <= 0:
            raise FlagError("%d has no flag in it" % flags,
                            "combine the constants with |: linux.CLONE_NEWUTS | …")
        stray = [b for b in _bits(flags) if not b & _NAMESPACE_BITS]
        if stray:
            named = ", ".join("%#x (%s)" % (b, _OTHER_BITS.get(b, "not a clone() flag"))
                              for b in stray)
            twice = [b for b in stray if b >> 1 & _NAMESPACE_BITS]
            raise FlagError("not namespace flags: %s" % named,
                            "use only the CLONE_NEW* constants of mydocker_lab.linux; %s"
                            % ("did you add (+) a flag twice? combine them with |"
                               if twice and not flags & 0xff00 else
                               "CLONE_VM and its kind share memory, files or signal handlers "
                               "with the parent: they make threads, not containers"))
        return flags
    if isinstance(flags, (list, tuple, set)) and flags and all(isinstance(f, str)
                                                               for f in flags):
        value = 0
        for name in flags:
            if name in _VALUE_OF:
                value |= _VALUE_OF[name]
            elif name.upper() in _MADE_UP:
                raise FlagError("there is no %s" % name,
                                "the flag is %s (the mount namespace came first, in 2002, "
                                "and was named CLONE_NEWNS: 'new namespace')"
                                % _MADE_UP[name.upper()]
                                if _MADE_UP[name.upper()] == "CLONE_NEWNS" else
                                "the flag is %s" % _MADE_UP[name.upper()])
            else:
                raise FlagError("unknown flag %r" % name,
                                "the names are exactly those of <sched.h>: %s"
                                % ", ".join(sorted(_VALUE_OF)))
        return value
    raise FlagError("give an int (linux.CLONE_NEWUTS | …) or a list of names",
                    "e.g. linux.CLONE_NEWUTS | linux.CLONE_NEWPID, or "
                    "[\"CLONE_NEWUTS\", \"CLONE_NEWPID\"]")


@checker
def check_clone_flags(flags, target=None):
    """Exercise: the book's clone flags. Clones a real child with them on the target."""
    if flags is None or flags is Ellipsis:
        return Verdict(False, "no flags given yet",
                       hint="combine constants with |, e.g. linux.CLONE_NEWUTS | …")
    try:
        value = _flag_value(flags)
    except FlagError as err:
        return Verdict(False, str(err), hint=err.hint)
    result = get_target(target).probe("clone-flags", hex(value))
    if "error" in result:
        return Verdict(False, "clone() refused these flags: %s" % result["error"],
                       hint="use only CLONE_NEW* constants from mydocker_lab.linux")
    new = result["new_namespaces"]
    details = "the child had new namespaces: %s; it saw itself as PID %s" % (
        ", ".join(new) or "none", result["pid_inside"])
    missing = [n for n in BOOK_NAMESPACES if n not in new]
    extra = [n for n in new if n not in BOOK_NAMESPACES]
    if not missing and not extra:
        return Verdict(True, "the book's five namespaces: UTS, PID, mount, network, IPC",
                       details=details)
    if missing:
        hint = "; ".join("without %s, %s" % (_FLAG_OF[n], _WITHOUT[n] % result)
                         for n in missing)
        if extra:
            hint += "; and drop %s" % ", ".join(_FLAG_OF[n] for n in extra)
        return Verdict(False, "missing %d namespace%s: %s" % (
            len(missing), "" if len(missing) == 1 else "s",
            ", ".join(_FLAG_OF[n] for n in missing)), details=details, hint=hint)
    return Verdict(False, "more than the book asks for: %s" % ", ".join(
        _FLAG_OF[n] for n in extra), details=details,
        hint="chapter 3.1 uses exactly five flags; drop %s"
        % ", ".join(_FLAG_OF[n] for n in extra))
