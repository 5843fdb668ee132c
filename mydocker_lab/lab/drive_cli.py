"""Notebook 05 (drive the CLI): ``mydocker-lab run -ti /bin/sh`` driven by pexpect.

The tour, the live-shell explorer and the exercise checker, all built on
:class:`~mydocker_lab.lab.session.Session` (the one pexpect session of the lab, which the
tests use too), on any target: the local Linux, or the VM through ssh.
"""
from .display import Pre, SideBySide, Stack, Verdict
from .labels import HostValues
from .session import PROMPT, Session, SessionError
from .targets import get_target

__all__ = ["tour", "explorer", "Explorer", "check_hostname_isolation", "Session",
           "SessionError", "PROMPT"]


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
            return Pre("(no session yet: type a command and press Run)")
        return Stack(*parts)

    def close(self):
        """End the live session, if any (nothing stays behind on the target)."""
        if self.session is not None:
            self.session.close()
            self.session = None
        return Pre("explorer closed: no container left running")


def explorer(target=None):
    """An ipywidgets explorer: type a command, run it in a live container shell."""
    from ipywidgets import Combobox, interactive
    shell = Explorer(target)
    widget = interactive(shell.send, {"manual": True, "manual_name": "Run in the container"},
                         command=Combobox(value="ps -ef", options=SUGGESTIONS,
                                          description="command", ensure_option=False))
    widget.shell = shell
    return widget


# -- exercise: hostname isolation --------------------------------------------------------------
def check_hostname_isolation(steps, target=None):
    """Exercise: (send, expect) pairs that make the container report hostname isolation.

    The checker plays the steps in a fresh ``mydocker-lab run --hostname lab -ti /bin/sh``
    on the target (each ``expect`` must appear after its ``send``), then asks the
    container and the host for their hostnames.
    """
    if isinstance(steps, (list, tuple)) and not steps:
        return Verdict(False, "no steps yet",
                       hint='add (send, expect) pairs, e.g. ("hostname", "lab")')
    if not isinstance(steps, (list, tuple)) or not all(
            isinstance(s, (list, tuple)) and len(s) == 2 and all(isinstance(x, str) for x in s)
            for s in steps):
        return Verdict(False, "steps must be a list of (send, expect) pairs of strings",
                       hint='e.g. [("hostname", "lab")]: send a line, expect some text back')
    target = get_target(target)
    host_before = target.run(["hostname"], check=True).stdout.strip()
    session = Session(target, hostname="lab")
    session.start()
    try:
        for i, (send, expect) in enumerate(steps, 1):
            try:
                session.step(send, expect, timeout=2)
            except SessionError:
                printed = session.transcript.entries[-1][1].replace(PROMPT, "").strip()
                hint = ("%r prints nothing: add a step that asks the container for its name"
                        % send if not printed else
                        "it printed %r; expect_exact wants text that really comes" % printed)
                return Verdict(False, "step %d: %r never came after %r" % (i, expect, send),
                               details=session.transcript.text(), hint=hint)
        inside = session.run("hostname").strip()
        host_after = target.run(["hostname"], check=True).stdout.strip()
    finally:
        session.close()
    details = session.transcript.text()
    if inside == "lab":
        return Verdict(False, "the container's hostname is still 'lab'", details=details,
                       hint="change it inside (hostname NEW), then expect NEW from hostname")
    if host_after != host_before:
        return Verdict(False, "the host's hostname changed: that is not isolation",
                       details=details, hint="mydocker-lab must run with CLONE_NEWUTS")
    if not any(inside in expect for _send, expect in steps):
        return Verdict(False, "you renamed the container to %r but never checked it" % inside,
                       details=details,
                       hint="add a step that asks for the hostname and expects %r" % inside)
    return Verdict(True, "the container renamed itself to %r; the host kept its name" % inside,
                   details=details)
