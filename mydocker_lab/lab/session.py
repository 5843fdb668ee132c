"""Notebook 05 (drive the CLI): a pexpect session of ``mydocker-lab run -ti /bin/sh``.

A :class:`Session` starts the real CLI on a target (the local Linux, or the VM
through a vagrant/ssh target: only ``target.spawn`` differs), waits for a
fixed prompt, sends commands, and records every exchange in a
:class:`Transcript` that renders as a clean terminal (HTML) or plain text.

The settings that make it reliable (see DESIGN.md §4): a fixed ``PS1``,
``expect_exact``, ``echo=False`` and a wide window (``target.spawn``), the
session's bytes kept in a buffer (``logfile_read``) to show when something
times out; after a TIMEOUT ``\\x03`` then ``terminate(force=True)``; the exit
status is read only after ``close()``.
"""
import html
import io

from .display import _Rich, Pre, SideBySide, Stack, Verdict
from .labels import ps_fixed_width
from .namespaces import HostValues
from .targets import get_target

#: The shell's prompt inside the container: fixed, so ``expect_exact`` can wait for it.
PROMPT = "ctr# "


class SessionError(RuntimeError):
    """The session did not answer as expected; carries what the terminal showed."""

    def __init__(self, message, buffer=""):
        tail = buffer[-1500:]
        super().__init__("%s\n--- the terminal's last output ---\n%s" % (message, tail))
        self.buffer = buffer


class Transcript(_Rich):
    """What was typed and what came back, as a terminal would show it.

    The entries keep what the terminal really said; the display shows ``ps`` with its PID
    columns 5 wide (``labels.ps_fixed_width``: ps pads them to the digits of the kernel's
    pid_max, 5 or 7 depending on the machine)."""

    def __init__(self, entries=(), title=None):
        self.entries = list(entries)  # (kind, text): "send", "out" or "note"
        self.title = title

    def add(self, kind, text):
        self.entries.append((kind, text))

    def shown(self):
        """The entries as displayed: the output of a ``ps`` command with fixed widths."""
        sent = ""
        for kind, text in self.entries:
            if kind == "send":
                sent = text
            elif kind == "out" and text and sent.split()[:1] == ["ps"]:
                text = ps_fixed_width(text)
            yield kind, text

    def text(self):
        lines = [self.title] if self.title else []
        for kind, text in self.shown():
            if kind == "send":
                lines.append(PROMPT + text)
            elif kind == "out":
                lines.extend(text.rstrip("\n").split("\n") if text else [])
            else:
                lines.append("# " + text)
        return "\n".join(lines)

    def html(self):
        body = []
        for kind, text in self.shown():
            if kind == "send":
                body.append('<span style="color:#8ae234">%s</span><b>%s</b>\n'
                            % (html.escape(PROMPT), html.escape(text)))
            elif kind == "out":
                if text:
                    body.append(html.escape(text.rstrip("\n")) + "\n")
            else:
                body.append('<span style="color:#999"># %s</span>\n' % html.escape(text))
        title = "<b>%s</b>" % html.escape(self.title) if self.title else ""
        return ('%s<pre style="background:#1e1e1e;color:#eee;padding:8px 10px;'
                'border-radius:6px;margin:4px 0">%s</pre>' % (title, "".join(body).rstrip("\n")))


class Session:
    """``mydocker-lab run --hostname H -ti /bin/sh`` driven by pexpect, on a target.

    Use it as a context manager, or call :meth:`start` and :meth:`exit`/:meth:`close`.
    """

    def __init__(self, target=None, hostname="lab", timeout=10, command=("/bin/sh",)):
        self.target = target or get_target()
        self.hostname = hostname
        self.timeout = timeout
        self.command = list(command)
        self.child = None
        self.log = io.StringIO()
        self.transcript = Transcript()
        self.exitstatus = None

    def argv(self):
        """The command line the session runs, on the target."""
        return self.target.mydocker("--log-level", "error", "run", "--hostname", self.hostname,
                                    "-e", "PS1=" + PROMPT, "-ti", *self.command)

    # -- life cycle -----------------------------------------------------------------------
    def start(self):
        self.child = self.target.spawn(self.argv(), timeout=self.timeout)
        self.child.logfile_read = self.log
        self._expect(PROMPT, "the shell's first prompt")
        # The container's own terminal echoes what we type: turn that off, so that an
        # expect never matches our own typing (pexpect's echo=False covers only our side).
        self.child.sendline("stty -echo")
        self._expect(PROMPT, "the prompt after stty -echo")
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    @property
    def alive(self):
        return self.child is not None and self.child.isalive()

    def exit(self, code=0):
        """Send ``exit CODE``; wait for the end; return mydocker-lab's exit status."""
        import pexpect
        self.child.sendline("exit %d" % code)
        self.transcript.add("send", "exit %d" % code)
        self._expect(pexpect.EOF, "the end of the session")
        return self.close()

    def close(self):
        """Close the terminal; mydocker-lab's exit status (valid only after close())."""
        if self.child is None:
            return self.exitstatus
        if self.child.isalive():
            self.child.sendcontrol("d")  # end of input: the shell leaves
            try:
                import pexpect
                self.child.expect(pexpect.EOF, timeout=3)
            except pexpect.TIMEOUT:
                self.child.terminate(force=True)
        self._finish()
        self.transcript.add("note", "mydocker-lab exited with status %s" % self.exitstatus)
        return self.exitstatus

    # -- talking to the shell -----------------------------------------------------------
    def _expect(self, pattern, what, timeout=None):
        import pexpect
        try:
            if pattern is pexpect.EOF:
                self.child.expect(pexpect.EOF, timeout=timeout or self.timeout)
            else:
                self.child.expect_exact(pattern, timeout=timeout or self.timeout)
        except pexpect.TIMEOUT:
            self._abort()
            raise SessionError("timed out waiting for %s (%r)" % (what, pattern),
                               self.log.getvalue()) from None
        except pexpect.EOF:
            self._finish()
            raise SessionError("the session ended while waiting for %s (%r); mydocker-lab "
                               "exited with %s" % (what, pattern, self.exitstatus),
                               self.log.getvalue()) from None

    def _abort(self):
        """After a TIMEOUT: Ctrl-C, then end it by force."""
        try:
            self.child.sendcontrol("c")
        finally:
            self.child.terminate(force=True)
            self._finish()

    def _finish(self):
        """Close the pexpect child; keep mydocker-lab's exit status (128+N if killed by N)."""
        self.child.close()  # exitstatus is valid only after close()
        self.exitstatus = self.child.exitstatus
        if self.exitstatus is None and self.child.signalstatus is not None:
            self.exitstatus = 128 + self.child.signalstatus
        self.child = None

    @staticmethod
    def _clean(before, sent):
        out = before.replace("\r\n", "\n")
        if out.startswith(sent + "\n"):  # the container's terminal echoes what we type
            out = out[len(sent) + 1:]
        return out

    def run(self, command):
        """Send one command line; wait for the next prompt; return its output."""
        if self.child is None:
            raise SessionError("the session is not running (start() it first)")
        self.child.sendline(command)
        self._expect(PROMPT, "the prompt after %r" % command)
        out = self._clean(self.child.before, command)
        self.transcript.add("send", command)
        self.transcript.add("out", out)
        return out

    def step(self, send, expect, timeout=5):
        """Send a line, then wait for ``expect`` (exactly); then for the prompt.

        Returns the output up to and including ``expect``. Raises SessionError when
        ``expect`` does not come (the session is then over).
        """
        if self.child is None:
            raise SessionError("the session is not running (start() it first)")
        mark = len(self.log.getvalue())
        self.child.sendline(send)
        self.transcript.add("send", send)
        try:
            self._expect(expect, "%r after %r" % (expect, send), timeout=timeout)
        except SessionError as err:
            self.transcript.add("out", self._clean(err.buffer[mark:], send))
            raise
        seen = self._clean(self.child.before + self.child.after, send)
        self._expect(PROMPT, "the prompt after %r" % send)
        rest = self.child.before.replace("\r\n", "\n")
        self.transcript.add("out", seen + rest)
        return seen


# -- the notebook's demonstrations -------------------------------------------------------------
def tour(target=None):
    """The whole lesson in one session: ps -ef, echo $$, hostname, hostname other, exit 3."""
    target = target or get_target()
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
        self.target = target or get_target()
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
                self.session.child.sendline(command)
                self.session.transcript.add("send", command)
                self.session._expect(__import__("pexpect").EOF, "the end of the session")
                self.session.close()
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
    target = target or get_target()
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
