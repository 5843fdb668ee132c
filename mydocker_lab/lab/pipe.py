"""Notebook 07 (the command through a pipe): experiments, the explorer, the exercise checker.

The bytes are computed here (plain Python); everything that runs a process
goes through a probe on the target (``mydocker_lab/lab/probes/pipe.py``):
a real init started by the runtime's own pieces, fed through its real pipe.
"""
import os
import shlex

from ..container.protocol import CMD_FD, INIT_FDS, decode_command, encode_command
from .common import errors
from .display import Pre, SideBySide, Stack, Table, Verdict
from .grading import checker
from .targets import get_target

__all__ = ["book_split", "book_bytes", "our_bytes", "barrier", "compare", "pipe_explorer",
           "check_encode", "SHOW_ARGS"]

#: A program that prints each of its arguments in brackets: what arrived, exactly.
SHOW_ARGS = ["printf", "[%s]\\n"]
#: What each of init's descriptors is for (the runtime's own table), by the names /proc uses.
FD_ROLES = {str(fd): role for fd, role in INIT_FDS.items()}


def book_bytes(argv):
    """The book's ``sendInitCommand``: ``strings.Join(comArray, " ")``."""
    return " ".join(argv).encode()


def book_split(data):
    """The book's ``readUserCommand``: ``strings.Split(string(msg), " ")``."""
    return data.decode().split(" ")


def our_bytes(argv):
    """Ours (container/protocol.py, the one contract both sides import, pure Python):
    every argument followed by a NUL byte."""
    return encode_command(argv)


class SpacedTable(Table):
    """A Table whose cells keep every space in a browser (HTML collapses "a  b" to "a b",
    and two spaces are the point of this lesson)."""

    def html(self):
        return super().html().replace("<code>", '<code style="white-space:pre">')


def _show(data, limit=80):
    text = repr(bytes(data))[2:-1]
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _short(argv):
    """An init argv made readable everywhere: the interpreter and package paths shortened."""
    out = []
    for arg in argv:
        if arg.endswith("__main__.py"):
            arg = ".../mydocker_lab/__main__.py"
        elif os.path.basename(arg).startswith("python"):
            arg = "python"
        out.append(arg)
    return out


def _run_through_pipe(data, target, hold=False):
    return get_target(target).probe("pipe-barrier", bytes(data).hex(), "1" if hold else "0")


def barrier(target=None):
    """A real init caught waiting on its pipe (host view), then what the command saw."""
    argv = SHOW_ARGS + ["two  spaces", "it's", ""]
    result = _run_through_pipe(our_bytes(argv), target, hold=True)
    waiting = result["waiting"]
    fds = "\n".join("fd %s  %-10s %s" % (fd, kind, FD_ROLES.get(fd, ""))
                    for fd, kind in sorted(waiting["fds"].items(), key=lambda kv: int(kv[0])))
    host = "\n".join([
        "init's argv (/proc/PID/cmdline):",
        "  " + shlex.join(_short(waiting["cmdline"])),
        "  (no command in it)",
        "",
        "init is %s" % ("blocked in read() on a pipe" if "pipe_read" in waiting["wchan"]
                        else "in %s" % waiting["wchan"]),
        "",
        "its file descriptors:",
        fds])
    container = "\n".join(["then the parent wrote %d bytes to fd %d and closed it;"
                           % (len(our_bytes(argv)), CMD_FD),
                           "init exec'd %s, which printed:" % shlex.join(argv), ""]
                          + result["stdout"].splitlines()
                          + ["", "exit status %d" % result["exit"]])
    ok = "pipe_read" in waiting["wchan"] and result["stdout"] == "[two  spaces]\n[it's]\n[]\n"
    return Stack(SideBySide(host, container, "host: init waiting (the barrier)",
                            "container: after the command arrived"),
                 Verdict(ok, "nothing ran until the command arrived, and it arrived intact"))


def compare(command_line='sh -c \'echo "two  spaces"\'', target=None):
    """Send ``command_line`` (split as a shell would) both ways, and run both for real."""
    try:
        argv = shlex.split(command_line)
    except ValueError as err:
        return Verdict(False, "that is not a complete shell command line: %s" % err,
                       hint="close every quote")
    if not argv:
        return Verdict(False, "type a command", hint="for example: printf '[%s]\\n' 'a  b'")
    book = book_split(book_bytes(argv))
    ours = decode_command(our_bytes(argv))
    book_run = _run_through_pipe(our_bytes(book), target)  # exactly what the book's init runs
    our_run = _run_through_pipe(our_bytes(argv), target)

    def outcome(run):
        failed = errors(run["logs"])
        out = "(an empty line)" if run["stdout"] == "\n" else \
            run["stdout"].rstrip("\n") or "(no output)"
        return out + "\n-> exit %d%s" % (
            run["exit"], (": " + failed[0]) if failed else "")
    table = SpacedTable(["", "the book (join, split on \" \")", "ours (NUL after each argument)"], [
        ["bytes on the pipe", _show(book_bytes(argv)), _show(our_bytes(argv))],
        ["init's argv", repr(book), repr(ours)],
        ["same as typed?", "yes" if book == argv else "NO", "yes" if ours == argv else "NO"]])
    return Stack(Pre("argv, as your shell would split it: %r" % argv), table,
                 SideBySide(outcome(book_run), outcome(our_run),
                            "the book's init runs it", "ours runs it"))


def pipe_explorer(target=None):
    """An explorer (mydocker_lab.lab.widgets): type a command line, press *send it* or Enter:
    what each way of sending it delivers, run for real, once per press."""
    from ipywidgets import Text
    from .widgets import explorer
    return explorer(lambda command_line: compare(command_line, target), run_label="send it",
                     command_line=Text(value='sh -c \'echo "two  spaces"\'',
                                       description="command line",
                                       layout={"width": "32em"}))


# -- the exercise -----------------------------------------------------------------------------

CASES = [
    SHOW_ARGS + ["plain"],
    SHOW_ARGS + ["two  spaces", "it's", '"quoted"'],
    SHOW_ARGS + ["", "ünïcødé ✔", "new\nline"],
]


def _expected(argv):
    return "".join("[%s]\n" % a for a in argv[2:])


@checker
def check_encode(encode, target=None):
    """Send ``encode(argv)`` to a real init through its pipe; did the command get argv exactly?"""
    if not callable(encode):
        return Verdict(False, "my_encode should be a function: list of str -> bytes",
                       hint="def my_encode(argv): return ...")
    results = []
    for argv in CASES:
        try:
            data = encode(list(argv))
        except Exception as err:  # the student's code: report any failure as a verdict
            return Verdict(False, "my_encode(%r) raised %s: %s" % (argv, type(err).__name__, err),
                           hint="it gets a list of str and must return bytes")
        if not isinstance(data, (bytes, bytearray)):
            return Verdict(False, "my_encode returned %s, not bytes" % type(data).__name__,
                           hint="str.encode() or os.fsencode() turn text into bytes")
        run = _run_through_pipe(data, target)
        results.append((argv, data, run, run["stdout"] == _expected(argv) and run["exit"] == 0))
    def said(run):
        failed = errors(run["logs"])
        return run["stdout"].replace("\n", " ").strip() or "exit %d%s" % (
            run["exit"], (": " + failed[0]) if failed else "")
    details = "\n".join("%s %-46s -> %s" % ("✔" if ok else "✘", _show(data, 44), said(run))
                        for argv, data, run, ok in results)
    if all(ok for *_, ok in results):
        return Verdict(True, "every argument arrived exactly, through a real init's pipe",
                       details=details)
    return Verdict(False, "init did not get the arguments as sent", details=details,
                   hint=_encode_hint(next(r for r in results if not r[-1])))


def _encode_hint(failed):
    """What is wrong with the bytes of the first command that did not arrive."""
    argv, data, _run, _ok = failed
    data = bytes(data)
    rule = ("init (container/init.py) splits what it reads at NUL bytes and expects one "
            "after every argument")
    if b"\0" not in data:
        return "there is no NUL byte at all: %s; spaces (or newlines) are not separators" % rule
    if not data.endswith(b"\0"):
        return "the last argument has no NUL after it: %s, the last one too" % rule
    arrived = data.split(b"\0")[:-1]
    if len(arrived) != len(argv):
        return "%d arguments sent, %d NUL-terminated pieces in your bytes: %s" % (
            len(argv), len(arrived), rule)
    return "an argument changed on the way (compare the lines above): encode each one " \
           "unchanged (os.fsencode), then its NUL"
