"""Build it yourself: the student's own runtime, ``work/myrun.py``, one piece per notebook.

In a notebook::

    from mydocker_lab.lab import myrun
    myrun.setup()                 # work/myrun.py from the skeleton (kept if there); %%piece

    %%piece 02                    # a cell: your init_mounts(), written into work/myrun.py
    def init_mounts():
        ...

    myrun.check("02")             # runs your runtime on the target and looks: ✔, or ✘ + hint
    myrun.take_reference("02")    # stuck? the reference's piece back
    myrun.progress()              # every piece: yours ✔, yours ✘ (hint), or the reference's
    myrun.final_check()           # all yours, and `run -ti /bin/sh` as mydocker-lab's

The student's code is never run in the notebook's kernel: a ``%%piece`` cell only writes it
into the file, and a check runs the file as a child process on the target (this Linux, an
ssh host, the VM) with the target's python -- as the student would in a terminal. A check
judges one piece: it runs the student's file with that piece theirs and every other the
reference's (so a later notebook never depends on an earlier one); ``final_check`` runs the
file as it is.

This module imports on any OS (the notebooks may drive a VM from macOS or Windows).
"""
import json

from . import source, work
from .display import PieceVerdict, Progress
from .pieces import NUMBERS, PIECES, piece
from .source import SourceError
from ..display import Rich, Verdict
from ..targets import get_target

__all__ = ["setup", "write_piece", "take_reference", "check", "progress", "final_check",
           "piece_code", "reference_code", "work_file", "PIECES"]

work_file = work.work_file


class Notice(Rich):
    """One line about the work file (HTML and text)."""

    def __init__(self, text):
        self.body = text

    def text(self):
        return self.body

    def html(self):
        import html
        return html.escape(self.body)


def setup(path=None):
    """Make the work file from the skeleton if it is not there yet (it is never overwritten),
    and, in IPython, register the ``%%piece NN`` cell magic. Says which pieces are whose."""
    path = path or work.work_file()
    made = work.ensure(path)
    _register_magic()
    text = work.read_text(path)
    mine = [n for n in NUMBERS if source.state(text, n)[0]]
    if made:
        return Notice("%s: made from the skeleton. It runs as it is: every piece is the "
                      "reference's until you write yours." % work.shown_name(path))
    return Notice("%s: kept as it is. Yours: %s; the reference's: %s." % (
        work.shown_name(path), ", ".join(mine) or "none yet",
        ", ".join(n for n in NUMBERS if n not in mine) or "none"))


def _register_magic():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.register_magic_function(_piece_magic, magic_kind="cell", magic_name="piece")
    return True


def _piece_magic(line, cell):
    """``%%piece NN``: write this cell's code into piece NN of the work file (not run here)."""
    words = line.split()
    if len(words) != 1:
        return Verdict(False, "nothing written: say which piece, e.g. %%piece 02",
                       "the pieces are " + ", ".join(NUMBERS))
    return write_piece(words[0], cell)


def write_piece(number, code, path=None):
    """Write ``code`` as piece ``number`` of the work file. A stub (a function whose body is
    only ``...``) keeps the reference's; code that does not compile changes nothing."""
    try:
        p = piece(number)
    except ValueError as err:
        return Verdict(False, "nothing written: %s" % err)
    path = path or work.work_file()
    shown = work.shown_name(path)
    try:
        text = work.read_text(path)
        new, yours, not_yet = source.splice(text, p.number, source.cell_code(code), shown)
    except SourceError as err:
        return PieceVerdict(p.number, "fail", str(err), "fix it and run the cell again",
                            err.details, step="nothing written")
    work.write_text(path, new)
    if not yours:
        return PieceVerdict(p.number, "todo", "still the TODO stub: the reference's stays in "
                            "%s" % shown, hint="write yours in this cell and run it again")
    message = "yours now in %s" % shown
    if not_yet:
        message += " (%s: still the reference's)" % ", ".join(not_yet)
    return PieceVerdict(p.number, "written", message + "; check it: myrun.check(%r)" % p.number)


def take_reference(number, path=None):
    """Piece ``number`` back to the reference's (your code for it is replaced)."""
    p = piece(number)
    path = path or work.work_file()
    try:
        work.write_text(path, source.take_reference(work.read_text(path), p.number,
                                                    work.shown_name(path)))
    except SourceError as err:
        return PieceVerdict(p.number, "error", str(err))
    return PieceVerdict(p.number, "todo", "the reference's again in %s"
                        % work.shown_name(path), hint="to write yours: " + p.task)


def piece_code(number, path=None):
    """The code of piece ``number`` in the work file, as it is now."""
    return source.body(work.read_text(path), piece(number).number) + "\n"


def reference_code(number):
    """The reference's code for piece ``number``."""
    return source.reference_source(number)


def check(number, target=None, path=None):
    """Run piece ``number``'s check on the target: a PieceVerdict."""
    p = piece(number)
    path = path or work.work_file()
    shown = work.shown_name(path)
    try:
        text = work.read_text(path)
        yours, not_yet = source.state(text, p.number, shown)
        if not yours:
            return PieceVerdict(p.number, "todo", "still the reference's in %s: write yours"
                                % shown, hint=p.task)
        isolated = source.isolate(text, p.number, shown)
    except SourceError as err:
        return PieceVerdict(p.number, "error", str(err))
    verdict = _run_check(p.number, isolated, get_target(target), shown, yours)
    if not_yet and verdict.state in ("pass", "fail"):
        verdict.message += " (%s: still the reference's)" % ", ".join(not_yet)
    return verdict


def _run_check(number, text, target, shown, yours):
    if number == "05":
        return _check_terminal(text, target, shown, yours)
    proc = target.run([target.python, "-m", "mydocker_lab.lab.myrun.observe", number,
                       "--shown", shown], input=text, timeout=900)
    try:
        found = json.loads(proc.stdout)
    except ValueError:
        return PieceVerdict(number, "error", "the check itself failed on the target (exit "
                            "%d)" % proc.returncode, details=(proc.stderr or "").strip()[-1500:])
    return PieceVerdict(number, found["state"], found["message"], found.get("hint"),
                        found.get("details"), found.get("step"))


def _check_terminal(text, target, shown, yours):
    """Piece 05 by pexpect: take_terminal() with the reference's relay() first, then relay()
    too, so that a failure names the function at fault."""
    from .terminal import drive
    runs = [(source.override(text, "05", ["relay"]), "take_terminal")] \
        if "take_terminal" in yours and "relay" in yours else []
    runs.append((text, "relay" if "relay" in yours else "take_terminal"))
    for composed, suspect in runs:
        step = drive(target, composed, shown, suspect)
        if step is not None:
            return PieceVerdict("05", "fail", step.message, step.hint, step.transcript,
                                "%s, %s" % (suspect, step.step))
    return PieceVerdict("05", "pass", "`run -ti /bin/sh`: a prompt; ps -ef shows PID 1 = "
                        "/bin/sh on its terminal; `hostname other` stays inside; Ctrl-C stops "
                        "cat, not myrun; `exit 3` gives 3; your terminal is as it was")


def progress(target=None, path=None):
    """The progress table: each piece yours and passing, yours and failing (hint), or the
    reference's. Runs the checks of the pieces that are yours."""
    path = path or work.work_file()
    shown = work.shown_name(path)
    text = work.read_text(path)
    rows = []
    for number in NUMBERS:
        yours, not_yet = source.state(text, number, shown)
        verdict = check(number, target, path) if yours else None
        rows.append((number, yours, not_yet, verdict))
    return Progress(rows, shown)


def final_check(target=None, path=None):
    """Every piece yours, and your whole file -- as it is, no piece the reference's -- passes
    every check, then the scenario of ``mydocker-lab run -ti /bin/sh`` (notebook 05's): a
    Verdict."""
    path = path or work.work_file()
    shown = work.shown_name(path)
    text = work.read_text(path)
    not_yours = [n for n in NUMBERS if source.state(text, n, shown)[1]]
    if not_yours:
        return Verdict(False, "%s: piece%s %s still (partly) the reference's" % (
            shown, "s" if len(not_yours) > 1 else "", ", ".join(not_yours)),
            "write %s, then run the final check again" % "; ".join(
                "%s (notebook %s)" % (PIECES[n].signature, n) for n in not_yours))
    target = get_target(target)
    unchecked = []
    for number in NUMBERS:
        if number == "05":
            continue
        verdict = _run_check(number, text, target, shown, PIECES[number].names)
        if verdict.state == "skip":
            unchecked.append(number)
        elif verdict.state != "pass":
            return Verdict(False, "%s, all yours, fails the check of piece %s at %s: %s" % (
                shown, number, verdict.step, verdict.message), verdict.hint, verdict.details)
    from .terminal import drive
    step = drive(target, text, shown)
    if step is not None:
        return Verdict(False, "%s, all yours: `run -ti /bin/sh` fails at %s: %s" % (
            shown, step.step, step.message), step.hint, step.transcript)
    return Verdict(True, "%s, all yours, passes every check%s, and does what mydocker-lab run "
                   "-ti /bin/sh does: PID 1 is /bin/sh on a terminal of its own, the hostname "
                   "stays inside, Ctrl-C reaches the container, exit 3 gives 3. It is your "
                   "container runtime." % (shown, " (but %s: not on this machine)" % ", ".join(
                       unchecked) if unchecked else ""))
