"""Notebook 03 (execve replaces init): experiments, the explorer and the exercise checkers.

Every experiment runs on the target through a probe
(``mydocker_lab/lab/probes/execve_replaces_init.py``); this module only asks and shows.
"""
import html
import re
import shlex

from .common import CASES, LEAVE, ORPHAN, SELF_TERM
from .display import Note, Pre, Rich, SideBySide, Stack, Table, Verdict
from .grading import checker
from .labels import PYTHON, SH_FILE, pid_label, ps_fixed_width
from .targets import get_target

__all__ = ["CASES", "before_after", "no_return", "explore", "explorer", "pid1_rules",
           "missing_interpreter", "zombies", "check_exit_codes", "check_pid1_argv"]


def _cmdline(argv):
    return shlex.join(argv)


class BeforeAfter(Rich):
    """Rows of (field, "same"/"NEW", "old → new"); no column depends on a path's length."""

    def __init__(self, title, rows):
        self.title, self.rows = title, rows

    def text(self):
        return "\n".join([self.title] + ["%-8s %-4s  %s" % tuple(r) for r in self.rows])

    def html(self):
        def row(key, same, change):
            color = "#2e7d32" if same == "same" else "#d9822b"
            return ('<tr><td><b>%s</b></td><td style="color:%s">%s</td><td style="text-align:'
                    'left"><code>%s</code></td></tr>' % (key, color, same,
                                                          html.escape(change)))
        return ('<table><caption style="text-align:left">%s</caption>%s</table>'
                % (html.escape(self.title), "".join(row(*r) for r in self.rows)))


# -- 1. same process, new program ---------------------------------------------------------
def _labelled(image, probe, sh_file):
    """``image``'s fields as shown: what belongs to the machine or the run as labels.

    The child before execve() is a copy of the probe: the same interpreter (its path
    differs per machine) and, after fork(), its own PID (differs per run). /bin/sh is
    a link whose real file differs per distribution. Each is compared here first.
    """
    shown = {"pid": pid_label("the child's"), "ppid": pid_label("the probe's")
             if image["ppid"] == probe["pid"] else str(image["ppid"])}
    shown["exe"] = (PYTHON if image["exe"] == probe["exe"] else
                    SH_FILE if image["exe"] == sh_file else image["exe"])
    argv = image["cmdline"]
    if argv[:1] == probe["cmdline"][:1]:
        shown["cmdline"] = " ".join([PYTHON, _cmdline(argv[1:])]).rstrip()
    else:
        shown["cmdline"] = _cmdline(argv)
    return shown


def before_after(target=None):
    """Fork a child that reports itself, then execve()s /bin/sh which reports again.

    Compared on the real values; shown with labels for the PIDs (they differ on every
    run), the interpreter and the file /bin/sh is (they differ between machines)."""
    result = get_target(target).probe("exec-image")
    before, after = result["before"], result["after"]
    old_view = _labelled(before, result["probe"], result["sh_file"])
    new_view = _labelled(after, result["probe"], result["sh_file"])
    rows = []
    for key in ("pid", "ppid", "exe", "cmdline"):
        same = before[key] == after[key]
        if key in ("pid", "ppid"):  # a label only says "the same" when it is
            change = ("%s → the same" % old_view[key] if same
                      else "%d → %d" % (before[key], after[key]))
        else:
            change = "%s → %s" % (old_view[key], new_view[key])
        rows.append([key, "same" if same else "NEW", change])
    same = before["pid"] == after["pid"] and before["ppid"] == after["ppid"]
    return Stack(
        BeforeAfter("before execve: the forked Python child → after execve: /bin/sh", rows),
        Verdict(same and before["exe"] != after["exe"],
                "same process (same PID, same parent), new program: the shell instead of "
                "the Python interpreter"))


def no_return(target=None):
    """execve() of a program that exists, and of one that does not: does the next line run?"""
    target = get_target(target)
    rows = []
    for path in ("/bin/sh", "/no/such/file"):
        result = target.probe("exec-image", path)
        if result["returned"]:
            what = "returned -1, errno %s: the next Python line ran" % result["returned"]
        else:
            what = "did not return: the Python code after it is gone"
        rows.append([path, what, str(result["status"])])
    return Table(["execve(path, ...)", "what happened", "child's exit status"], rows)


# -- 2. the explorer: what execve does with each kind of command ----------------------------
EXPLAIN = {
    "a program in PATH": "init finds echo in PATH (/usr/bin/echo), execve() succeeds and "
                         "never returns: echo is now PID 1, and its exit status is the "
                         "container's.",
    "a program that is not there": "Every directory of PATH answers ENOENT: init reports "
                                   "'not found' and exits 127 (a shell does the same; docker "
                                   "run too).",
    "a path that does not exist": "A name with a / is not searched in PATH: execve() says "
                                  "ENOENT at once, exit 127.",
    "a directory": "execve() on a directory: EACCES (it is not a regular file). Found but "
                   "cannot be executed: 126 (docker run too).",
    "a file without the x bit": "The file exists but has no execute permission: EACCES, 126. "
                                "(chmod +x would fix it.)",
    "a script without #! line": "The kernel runs ELF binaries, '#!' scripts and the formats "
                                "an administrator registered with binfmt_misc; this is none "
                                "of them: ENOEXEC. mydocker-lab exits 126 by the shell's "
                                "(POSIX) convention; docker does not: runc's init meets the "
                                "error after the container started, and docker run reports "
                                "a failed container. (Shells and glibc's execvp() quietly "
                                "retry with /bin/sh; execve() itself and Go's syscall.Exec "
                                "do not.)",
    "a script with #!/bin/sh": "The kernel reads '#!/bin/sh' and runs /bin/sh with the "
                               "script's path as argument: it works.",
    "a script whose #! interpreter is missing": "The script exists and is executable, but "
                                                "its '#!' names /no/such/interpreter: "
                                                "execve() says ENOENT — 'No such file or "
                                                "directory' about a file that exists. 127.",
    "a program whose ELF loader is missing": "A copy of /bin/true whose PT_INTERP (the "
                                             "dynamic loader the kernel starts first) names "
                                             "a file that does not exist: ENOENT again, "
                                             "127. (An image built for musl run on glibc, "
                                             "or the reverse, fails this way.)",
    "a command that fails": "execve() succeeds; the program itself exits 3, and mydocker-lab "
                            "run passes that status on.",
}


def _case_view(name, result):
    rows = [["argv", _cmdline(result["argv"])],
            ["execve() says", result["execve"] or "nothing: it did not return (success)"],
            ["mydocker-lab run exit code", str(result["exit"])],
            ["runtime's error log", "; ".join(result["errors"]) or "-"],
            ["container's output", result["stdout"].rstrip("\n") or "-"]]
    return Stack(Table(["", name], rows), Note(EXPLAIN[name]))


def explore(case="a program that is not there", target=None):
    """Run one case of CASES on the target, through a bare execve() and through mydocker-lab run."""
    result = get_target(target).probe("exec-case", case)[case]
    return _case_view(case, result)


def explorer(target=None):
    """The explorer: pick a kind of command, see what execve() and the runtime do with it."""
    from ipywidgets import Dropdown, Layout
    from .widgets import explorer as make
    return make(lambda case: explore(case, target),
                case=Dropdown(options=list(CASES), value="a program that is not there",
                              description="command",  # as wide as its longest choice
                              layout=Layout(width="auto")))


def missing_interpreter(target=None):
    """Two files that exist and are executable, and execve() still says ENOENT."""
    rows = []
    for r in get_target(target).probe("missing-interpreter"):
        if r["first_line"]:
            why = "its first line %s: no such interpreter" % r["first_line"]
        elif r["interpreter"]:
            why = "its ELF loader (PT_INTERP) %s %s" % (
                r["interpreter"], "exists" if r["interpreter_exists"] else "does not exist")
        else:
            why = "a static binary here (no loader to miss)"
        rows.append([r["file"], "yes, mode %s" % r["mode"][2:], why, r["execve"]])
    return Table(["file", "exists?", "what the kernel must start first", "execve() says"],
                 rows)


# -- 3. why PID 1 matters --------------------------------------------------------------------
def _status(code):
    if code < 0:
        return "killed by signal %d (a shell reports %d)" % (-code, 128 - code)
    return "exit status %d" % code


def pid1_rules(target=None):
    """The kernel's three rules for a namespace's init, each shown for real."""
    result = get_target(target).probe("pid1")
    sig, orphan, leave = result["signal"], result["orphan"], result["leave"]

    def shown(run):
        return "%s\n-> %s" % (run["stdout"].rstrip("\n"), _status(run["exit"]))
    # the host's shell says its own PID, which differs on every run: shown as a label
    host_run = dict(sig["host"], stdout=re.sub(r"\bPID %d\b" % sig["host"]["pid"],
                                               "PID " + pid_label("its host"),
                                               sig["host"]["stdout"]))
    signal_view = SideBySide(shown(host_run), shown(sig["container"]),
                             "host: sh -c '...' (an ordinary process)",
                             "container: the same sh, as PID 1")
    gone = not leave["sleep_left_on_host"]
    return Stack(
        Note("1. Signals. The script: " + SELF_TERM),
        signal_view,
        Note("2. Orphans. The script: %s (the subshell exits at once; its child sleep "
             "is an orphan):" % ORPHAN),
        Pre(ps_fixed_width(orphan["stdout"]), "container: ps inside"),
        Note("3. When PID 1 ends. The script: " + LEAVE),
        # how fast it returns depends on the machine (a VM without KVM: seconds); the
        # lesson is that it did not wait for the sleep
        SideBySide("mydocker-lab run returned %s\n`sleep 29.5` still running on the host: %s"
                   % ("without waiting for the sleep" if leave["seconds"] < 20 else
                      "after %.1f s" % leave["seconds"], "no" if gone else "YES"),
                   "%s\n-> %s" % (leave["stdout"].rstrip("\n"), _status(leave["exit"])),
                   "host", "container"))


# -- zombies and PID 1 ------------------------------------------------------------------------
def zombies(target=None):
    """A PID 1 that never wait()s keeps a zombie; an init that reaps (PID 1, or a child
    subreaper on the host) does not."""
    target = get_target(target)
    z = target.probe("zombie")
    r = target.probe("reaping")
    table = Table(["PID inside", "STAT", "COMMAND"],
                  [[str(m["pid"]), m["state"] + (" (zombie)" if m["state"] == "Z" else ""),
                    m["comm"]] for m in z["members"]])
    stuck = [m for m in z["members"] if m["state"] == "Z"]
    inside, host = r["container"], r["host"]
    return Stack(
        Note("1. PID 1 never calls wait(). The script: %s (the subshell exits: its sleep is an "
             "orphan, adopted by PID 1, which by then is `sleep 60`):" % z["script"]),
        Pre(table.text(), "the container's processes, read from the host's /proc"),
        Verdict(bool(stuck), "%d zombie%s: the orphan has ended, and no one collects its exit "
                "status" % (len(stuck), "" if len(stuck) == 1 else "s")),
        Note("SIGKILL to PID 1 from the host ended the container (mydocker-lab run exited %d); "
             "the zombie went with it (left on the host: %s)."
             % (z["exit"], "none" if not z["left"] else len(z["left"]))),
        Note("2. An init that reaps, as tini (docker run --init) does: it starts the command "
             "as its child and wait()s for every child, orphans included. The script: %s"
             % r["script"]),
        SideBySide("PID 1: the mini init\nits command: PID %d, exit %s\nreaped orphans: %s"
                   % (inside["main"], inside["exit"],
                      ", ".join("PID %d" % p for p in inside["reaped"]) or "none"),
                   "the mini init: %s, PR_SET_CHILD_SUBREAPER %s\nreaped orphans: %d"
                   % (pid_label("its host"), "set" if host["subreaper"] else "not set",
                      len(host["reaped"])),
                   "inside: as the container's PID 1", "on the host: not PID 1, a subreaper"))


# -- exercises --------------------------------------------------------------------------------
#: The cases of the exit-code exercise.
PREDICT = ["a program that is not there", "a directory", "a script without #! line",
           "a command that fails"]


@checker
def check_exit_codes(prediction, target=None):
    """Exercise: predict ``mydocker-lab run``'s exit code for each case; runs them to check."""
    if not isinstance(prediction, dict) or set(prediction) != set(PREDICT):
        return Verdict(False, "give a dict with exactly these keys: %s" % ", ".join(PREDICT),
                       hint="copy the dict from the exercise cell and replace each ...")
    missing = [k for k, v in prediction.items()
               if not isinstance(v, int) or isinstance(v, bool)]
    if missing:
        return Verdict(False, "%d of %d predictions are still missing"
                       % (len(missing), len(PREDICT)),
                       hint="replace each ... with a whole number (an exit status, 0-255)")
    results = get_target(target).probe("exec-case", *PREDICT)
    rows, wrong = [], []
    for name in PREDICT:
        real = results[name]["exit"]
        rows.append([name, str(prediction[name]), str(real),
                     "✔" if prediction[name] == real else "✘"])
        if prediction[name] != real:
            wrong.append(name)
    table = Table(["command", "you said", "mydocker-lab run said", ""], rows).text()
    if not wrong:
        return Verdict(True, "all %d exit codes predicted" % len(PREDICT), details=table)
    hints = {"a program that is not there": "not found (ENOENT in every PATH directory) is "
                                            "127 (docker, sh, bash agree)",
             "a directory": "a directory is found but cannot be executed (EACCES): 126",
             "a script without #! line": "a script without #! is found, but execve() answers "
                                         "ENOEXEC: cannot be executed, 126 by the shell's "
                                         "convention mydocker-lab follows",
             "a command that fails": "for sh -c 'exit 3' execve() worked: the status is the "
                                     "program's own"}
    return Verdict(False, "%d of %d wrong" % (len(wrong), len(PREDICT)), details=table,
                   hint="; ".join(hints[w] for w in wrong))


def _nul(text):
    return text.replace("\0", "␀")


def _printed(out):
    """What a command printed, as a list of words: NUL-separated (cat of a cmdline) or
    whitespace-separated (ps, tr)."""
    text = out.rstrip("\n")
    if "\0" in text:
        return text.rstrip("\0").split("\0")
    return text.split()


@checker
def check_pid1_argv(argv, target=None, timeout=30):
    """Exercise: an argv that makes the container print the cmdline of its own PID 1.

    Runs ``mydocker-lab run --hostname lab ARGV`` on the target and reads, from the host,
    what PID 1 really is at the moment the output is written (the ``exec-pid1`` probe). Right
    when the output is that cmdline: PID 1 may be your argv itself (``cat /proc/1/cmdline``),
    or what it exec'd into (``sh -c 'exec cat /proc/1/cmdline'``; bash execs its last
    command), or a shell that printed its own (``ps -o args= -p 1``). A command still
    running after ``timeout`` seconds is stopped, and wrong.
    """
    if not (isinstance(argv, (list, tuple)) and argv and all(isinstance(a, str) for a in argv)):
        return Verdict(False, "argv must be a non-empty list of strings",
                       hint="e.g. [\"some-program\", \"some-argument\"]: no shell parses it")
    result = get_target(target).probe("exec-pid1-within", timeout, *argv,
                                      timeout=timeout + 60)
    out, pid1 = result["stdout"], result["pid1"]
    details = "ran: mydocker-lab run %s\nexit %d, printed: %s\nPID 1 was then: %s" % (
        _cmdline(argv), result["exit"], _nul(out.rstrip("\n")) or "(nothing)",
        _cmdline(pid1) if pid1 else "(gone: nothing was printed while it ran)")
    right = bool(pid1) and (_printed(out) == pid1 or out.strip() == " ".join(pid1))
    if result.get("timed_out"):
        return Verdict(False, "your command was still running after %d s: it was stopped"
                       % result["timeout"], details=details,
                       hint="%sthe command should print PID 1's cmdline and end, as cat does"
                       % ("it did print PID 1's cmdline, but then never ended: "
                          if right else ""))
    if result["exit"] in (126, 127):
        return Verdict(False, "the container could not start your command", details=details,
                       hint="; ".join(result["errors"]) or "check the program's name")
    if right:
        return Verdict(True, "PID 1's own cmdline: %s" % _cmdline(pid1), details=details)
    joined = " ".join(argv)
    if not out.strip():
        hint = "it printed nothing: print the contents of PID 1's cmdline file"
    elif "/proc/self" in joined:
        hint = ("/proc/self is the process that opens it (here a child of PID 1, not PID 1): "
                "name PID 1 itself")
    elif "cmdline" not in joined and "ps" not in argv[:1]:
        hint = "the kernel shows a process's argv in /proc/<pid>/cmdline"
    else:
        hint = ("read PID 1's cmdline (/proc/1/cmdline inside the container): which process "
                "is PID 1 once init has called execve()?")
    return Verdict(False, "that is not PID 1's cmdline", details=details, hint=hint)
