"""Notebook 05 (drive the CLI): ``mydocker-lab run -ti /bin/sh`` driven by pexpect.

The tour, the live-shell explorer and the exercise checker, all built on
:class:`~mydocker_lab.lab.session.Session` (the one pexpect session of the lab, which the
tests use too), on any target: the local Linux, or the VM through ssh.
"""
import re

from .grading import checker
from .display import Pre, SideBySide, Stack, Transcript, Verdict
from .labels import HostValues
from .session import PROMPT, Session, SessionError
from .targets import get_target

__all__ = ["tour", "book_terminal", "explorer", "Explorer", "check_hostname_isolation",
           "Session", "SessionError", "PROMPT"]


# -- the notebook's demonstrations -------------------------------------------------------------
def tour(target=None):
    """The whole lesson in one session: ps -ef, echo $$, hostname, hostname other, exit 3."""
    target = get_target(target)
    mine = HostValues.read(target)  # the host's name is shown as <the host's name>
    host_before = target.run(["hostname"], check=True).stdout.strip()
    session = Session(target, hostname="lab")
    with session:
        session.run("ps -ef")
        session.run("echo $$")
        session.run("hostname")
        session.run("hostname other")
        session.run("hostname")
        host_after = target.run(["hostname"], check=True).stdout.strip()
        status = session.exit(3)
    session.transcript.title = "inside: mydocker-lab run --hostname lab -ti /bin/sh"
    host = mine.label("host$ hostname\n%s\n    (inside, the shell runs `hostname other`)\n"
                      "host$ hostname\n%s" % (host_before, host_after))
    return Stack(
        SideBySide(host, session.transcript.text(), "host", "container (through pexpect)"),
        Verdict(status == 3, "exit 3 in the container → mydocker-lab's exit status %s "
                "(pexpect's exitstatus, read after close())" % status),
        Verdict(host_before == host_after != "other",
                "the host's hostname did not change while the container renamed itself"))


_SSH_CLOSED = re.compile(r"^(Shared connection|Connection) to \S+ closed\.\s*$")


# -- the book's -ti: the caller's own terminal -------------------------------------------------
def book_terminal(target=None):
    """The book's ``-ti``, live: ``/bin/sh`` as PID 1 of a new PID namespace on the *caller's*
    terminal, in the caller's session (Go's ``exec.Cmd`` with ``Cloneflags`` and no
    ``Setsid``; here util-linux's ``unshare --fork --pid``, which does the same).

    Shows that dash runs interactively there (job control works: ``ps`` is in the terminal's
    foreground process group), that its session's leader is outside its PID namespace (SID
    0), and what happens at ``exit 4``: dash cannot hand the terminal back to a process group
    it cannot see, says so, and exits 2."""
    import pexpect
    target = get_target(target)
    argv = ["env", "PS1=" + PROMPT, "unshare"] + ([] if target.root else ["-r"]) + [
        "--fork", "--pid", "--mount-proc", "--uts", "/bin/sh"]
    child = target.spawn(argv, timeout=60)
    transcript = Transcript(prompt=PROMPT)
    rows, said = [], ""
    try:
        child.expect_exact(PROMPT)
        line = "ps -o pid,pgid,sid,tpgid,comm"
        child.sendline(line)
        child.expect_exact(PROMPT)
        out = child.before.replace("\r\n", "\n")
        rows = [r.split() for r in out.splitlines() if r.split()[:1] and r.split()[0].isdigit()]
        transcript.add("send", line)
        transcript.add("out", out)
        child.sendline("exit 4")
        transcript.add("send", "exit 4")
        child.expect(pexpect.EOF)
        # what the shell said as it ended (not ssh's own "Shared connection to ... closed."
        # that a remote target driven through pipes adds after it)
        said = "\n".join(line for line in child.before.replace("\r\n", "\n").splitlines()
                         if not _SSH_CLOSED.match(line)).strip()
        transcript.add("out", said)
    except (pexpect.EOF, pexpect.TIMEOUT) as err:  # e.g. user namespaces refused here
        child.close(force=True)
        return Verdict(False, "the book's setup could not be shown here: %s"
                       % ("it ended early" if isinstance(err, pexpect.EOF) else "no prompt"),
                       details=(child.before or "").strip()[-800:] or None,
                       hint="unshare --fork --pid (with -r without root) must work on the "
                            "target; notebook 01 shows whether namespaces do")
    finally:
        child.close(force=True)
    status = child.exitstatus
    transcript.add("note", "the shell exited with status %s" % status)
    me = {r[4]: r for r in rows}
    sh, ps = me.get("sh"), me.get("ps")
    facts = [
        (sh is not None and sh[0] == "1",
         "the shell is PID 1 and runs interactively (it printed its prompt, ran ps)"),
        (sh is not None and ps is not None and ps[3] == ps[1] != sh[1],
         "job control works: ps ran in a process group of its own, the terminal's foreground "
         "group (TPGID = ps's PGID)"),
        (sh is not None and sh[2] == "0",
         "SID 0: the shell is in the caller's session, whose leader is outside its PID "
         "namespace (no setsid(), so not in a new session)"),
        ("Cannot set tty process group" in said and status == 2,
         "at exit dash cannot hand the terminal back to a process group it cannot see: "
         "'Cannot set tty process group', and exit 4 became exit status %s" % status),
    ]
    transcript.title = "the book's way: unshare --fork --pid ... /bin/sh on the caller's terminal"
    return Stack(transcript, *[Verdict(ok, text) for ok, text in facts])


# -- the explorer ------------------------------------------------------------------------------
SUGGESTIONS = ["ps -ef", "echo $$", "hostname", "hostname other", "cat /proc/1/cmdline",
               "ls /proc", "ip link", "id", "tty", "sleep 1 & ps -o pid,ppid,args",
               "kill -TERM 1; echo still here"]


class Explorer:
    """A live shell in a container, one command at a time; started on the first command."""

    def __init__(self, target=None, hostname="lab"):
        self.target = get_target(target)
        self.hostname = hostname
        self.session = None
        self.ended = []  # transcripts of sessions that ended

    def send(self, command):
        """Run ``command`` in the live shell (starting one if needed); the transcript so far."""
        command = command.strip()
        if not command:
            return self.view()
        if self.session is None or not self.session.alive:
            self.session = Session(self.target, self.hostname).start()
        try:
            if command.split()[0] == "exit":
                self.session.send(command)
                self.session.expect_end()
            else:
                self.session.run(command)
        except SessionError as err:
            self.session.transcript.add("note", str(err).splitlines()[0])
        if self.session.child is None:
            self.ended.append(self.session.transcript)
            self.session = None
        return self.view()

    def view(self):
        parts = list(self.ended)
        if self.session is not None:
            parts.append(self.session.transcript)
        if not parts:
            return Pre("(no container yet: type a command, then press Run in the container "
                       "or Enter)")
        return Stack(*parts)

    def close(self):
        """End the live session, if any (nothing stays behind on the target)."""
        if self.session is not None:
            self.session.close()
            self.session = None
        return Pre("explorer closed: no container left running")


def explorer(target=None):
    """The live shell as an explorer (mydocker_lab.lab.widgets): type a command, press the
    button or Enter: it runs once in the container's shell. ``.shell`` is the Explorer."""
    from ipywidgets import Combobox
    from .widgets import explorer as make_explorer
    shell = Explorer(target)
    made = []

    def run(command):
        if not made:  # when the explorer is made: no container yet, only how to start one
            made.append(True)
            return shell.view()
        return shell.send(command)
    widget = make_explorer(run, run_label="Run in the container",
                           command=Combobox(value="ps -ef", options=SUGGESTIONS,
                                            description="command", ensure_option=False))
    widget.shell = shell
    return widget


# -- exercise: hostname isolation --------------------------------------------------------------
CANARY = "canary-05"


def _quiet(session, line):
    """Run ``line`` in the session without recording it; its output."""
    session.child.send(line + "\n")
    return session.expect(PROMPT).strip()


def _well_formed(steps):
    return isinstance(steps, (list, tuple)) and all(
        isinstance(s, (list, tuple)) and len(s) == 2 and all(isinstance(x, str) for x in s)
        for s in steps)


@checker
def check_hostname_isolation(steps, target=None, runtime=None):
    """Exercise: (send, expect) pairs that rename the container and then ask it its name.

    The checker plays the steps in a fresh ``mydocker-lab run --hostname lab -ti /bin/sh``
    on the target (each ``expect`` must come after its ``send``), looking at the container's
    name after each step (without recording it). Then it judges by behaviour:

    - some step must rename the container (its name after the steps is not ``lab``);
    - a later step (or the same) must *ask* for the name and expect the new one: the checker
      renames the container to a canary and plays that step again; a step that asks prints
      the name the container has then (``echo other`` prints ``other`` whatever it is);
    - the host's name must be what it was (it changes only with a runtime without
      CLONE_NEWUTS: ``runtime`` is how tests give the checker such a runtime).
    """
    if isinstance(steps, (list, tuple)) and not steps:
        return Verdict(False, "no steps yet",
                       hint='add (send, expect) pairs, e.g. ("hostname", "lab")')
    if not _well_formed(steps):
        return Verdict(False, "steps must be a list of (send, expect) pairs of strings",
                       hint='e.g. [("hostname", "lab")]: send a line, expect some text back')
    if any(not send.strip() for send, _ in steps):
        return Verdict(False, "a step sends an empty line",
                       hint="every step sends a command, e.g. hostname")
    target = get_target(target)
    host_before = target.run(["hostname"], check=True).stdout.strip()
    session = Session(target, hostname="lab", timeout=60, runtime=runtime)
    session.start()
    names = []  # the container's name after each step
    asks = None
    try:
        for i, (send, expect) in enumerate(steps, 1):
            try:
                session.step(send, expect, timeout=10)
            except SessionError:
                printed = session.transcript.entries[-1][1].replace(PROMPT, "").strip()
                hint = ("%r prints nothing: ask the container for its name in a step of its "
                        "own (hostname)" % send if not printed else
                        "it printed %r; expect_exact waits for text that really comes"
                        % printed)
                return Verdict(False, "step %d: %r never came after %r" % (i, expect, send),
                               details=session.transcript.text(), hint=hint)
            names.append(_quiet(session, "hostname"))
        inside = names[-1]
        host_after = target.run(["hostname"], check=True).stdout.strip()
        renamed = next((i for i, name in enumerate(names) if name != "lab"), None)
        if renamed is not None and inside != "lab":
            for i in range(renamed, len(steps)):
                send, expect = steps[i]
                if not expect.strip() or names[i] not in expect:
                    continue
                _quiet(session, "hostname " + CANARY)
                again = _quiet(session, send)
                now = _quiet(session, "hostname")
                _quiet(session, "hostname " + names[i])
                if now in again:
                    asks = i + 1
                    break
    finally:
        session.close()
    details = session.transcript.text()
    if host_after != host_before:
        return Verdict(False, "the host's hostname changed while the steps ran: the runtime "
                       "did not isolate it", details=details,
                       hint="that is the runtime's fault, not your steps': it must clone with "
                            "CLONE_NEWUTS")
    if inside == "lab":
        return Verdict(False, "the container's hostname is still 'lab' after your steps",
                       details=details, hint="rename it inside: a step that sends hostname NEW")
    if asks is None:
        expected = [s for s, e in steps[renamed:] if e.strip() and inside in e]
        return Verdict(False, "you renamed the container to %r but never asked it its name"
                       % inside, details=details,
                       hint=("%r prints %r whatever the container is called: send hostname "
                             "and expect %r" % (expected[0], inside, inside)) if expected else
                       "add a step that sends hostname and expects %r" % inside)
    return Verdict(True, "the container renamed itself to %r and said so when asked (step %d); "
                   "the host kept its name" % (inside, asks), details=details)
