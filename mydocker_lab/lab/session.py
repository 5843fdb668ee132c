"""A pexpect session of ``mydocker-lab run -ti COMMAND`` on a target: the one the notebooks
and the tests drive.

:class:`Session` starts the real CLI on a target (the local Linux, or an ssh host or the VM:
only ``target.spawn`` differs), waits for a fixed prompt, sends commands, and records
every exchange in a :class:`~mydocker_lab.lab.display.Transcript` that renders as a clean
terminal (HTML) or plain text.

What makes it reliable, on a busy machine too:

- a fixed prompt (``PS1``, given with ``-e``) and ``expect_exact``: never a regular
  expression over what a shell happens to print;
- nothing is typed before the shell's first prompt (over ssh the remote pseudo terminal
  becomes raw only once the runtime runs), and the first line turns the container
  terminal's echo off (``stty -echo``; pexpect's ``echo=False`` covers only our side) and
  is the same size everywhere (24 x 200; through pipes, the remote side is told);
- every byte the terminal sends is kept (:attr:`Session.log`), and a :class:`SessionError`
  carries its end, so a failure shows what the terminal said;
- after a timeout, Ctrl-C, then the process ends by force: nothing is left running;
- the exit status is read only after ``close()`` (pexpect's rule), and is 128+N when
  mydocker-lab was killed by signal N, as a shell says.
"""
import io

from .display import Transcript
from .targets import get_target

#: The shell's prompt inside the container: fixed, so ``expect_exact`` can wait for it.
PROMPT = "ctr# "


class SessionError(RuntimeError):
    """The session did not answer as expected; carries what the terminal showed."""

    def __init__(self, message, buffer=""):
        tail = buffer[-1500:]
        super().__init__("%s\n--- the terminal's last output ---\n%s" % (message, tail))
        self.buffer = buffer


class Session:
    """``mydocker-lab run --hostname H -ti COMMAND`` driven by pexpect, on a target.

    Use it as a context manager, or call :meth:`start` and :meth:`exit`/:meth:`close`.
    ``runtime`` is how to start mydocker-lab there (default ``target.mydocker()``, i.e.
    ``python -m mydocker_lab``; e.g. ``["mydocker-lab"]`` for the installed command);
    ``options`` are more ``run`` options. :attr:`child` is the pexpect object, for what
    this class does not wrap.
    """

    def __init__(self, target=None, hostname="lab", timeout=10, command=("/bin/sh",),
                 runtime=None, options=(), dimensions=(24, 200)):
        self.target = get_target(target)
        self.hostname = hostname
        self.timeout = timeout
        self.command = list(command)
        self.runtime = list(runtime) if runtime else self.target.mydocker()
        self.options = list(options)
        self.dimensions = dimensions
        self.child = None
        self.log = io.StringIO()
        self.transcript = Transcript(prompt=PROMPT)
        self.exitstatus = None

    def argv(self):
        """The command line the session runs, on the target."""
        return self.runtime + ["--log-level", "error", "run", "--hostname", self.hostname,
                               "-e", "PS1=" + PROMPT, *self.options, "-ti", *self.command]

    # -- life cycle -----------------------------------------------------------------------
    def start(self):
        self.child = self.target.spawn(self.argv(), timeout=self.timeout,
                                       dimensions=self.dimensions)
        self.child.logfile_read = self.log
        self._expect(PROMPT, "the shell's first prompt")
        # The container's own terminal echoes what we type: turn that off, so that an
        # expect never matches our own typing (pexpect's echo=False covers only our side).
        self.child.send("stty -echo\n")
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
        self.send("exit %d" % code)
        return self.expect_end()

    def expect_end(self, timeout=None):
        """Wait until mydocker-lab has ended (the terminal closes); its exit status."""
        import pexpect
        self._expect(pexpect.EOF, "the end of the session", timeout)
        return self.close()

    def close(self):
        """Close the terminal; mydocker-lab's exit status (valid only after close())."""
        if self.child is None:
            return self.exitstatus
        if self.child.isalive():
            import pexpect
            self.child.sendcontrol("d")  # end of input: the shell leaves
            try:
                self.child.expect(pexpect.EOF, timeout=3)
            except pexpect.TIMEOUT:
                self.child.terminate(force=True)
        self._finish()
        self.transcript.add("note", "mydocker-lab exited with status %s" % self.exitstatus)
        return self.exitstatus

    # -- talking to the shell -----------------------------------------------------------
    def send(self, line):
        """Type one line (and Enter) without waiting for anything."""
        self._running()
        self.child.send(line + "\n")  # "\n" on every system: os.linesep is Enter twice on Windows
        self.transcript.add("send", line)

    def control(self, char):
        """Type Ctrl-``char`` (``control("c")``: the terminal sends SIGINT to the job)."""
        self._running()
        self.child.sendcontrol(char)
        self.transcript.add("note", "Ctrl-%s" % char.upper())

    def expect(self, text, timeout=None):
        """Wait for ``text`` (exactly); the output before it. SessionError if it does not
        come (the session is then over)."""
        self._expect(text, "the output", timeout)
        return self._clean(self.child.before)

    def expect_prompt(self, timeout=None, what="the prompt"):
        """Wait for the next prompt; the output since the last one (recorded)."""
        self._expect(PROMPT, what, timeout)
        out = self._clean(self.child.before)
        self.transcript.add("out", out)
        return out

    def run(self, command, timeout=None):
        """Send one command line; wait for the next prompt; return its output."""
        self.send(command)
        return self.expect_prompt(timeout, "the prompt after %r" % command)

    def step(self, send, expect, timeout=5):
        """Send a line, then wait for ``expect`` (exactly); then for the prompt.

        Returns the output up to and including ``expect``. Raises SessionError when
        ``expect`` does not come (the session is then over).
        """
        mark = len(self.log.getvalue())
        self.send(send)
        try:
            self._expect(expect, "%r after %r" % (expect, send), timeout=timeout)
        except SessionError as err:
            self.transcript.add("out", self._clean(err.buffer[mark:]))
            raise
        seen = self._clean(self.child.before + self.child.after)
        self._expect(PROMPT, "the prompt after %r" % send)
        self.transcript.add("out", seen + self._clean(self.child.before))
        return seen

    def resize(self, rows, cols):
        """Change the size of our terminal (the runtime forwards it to the container's)."""
        self._running()
        self.child.setwinsize(rows, cols)

    # -- inside -----------------------------------------------------------------------------
    def _running(self):
        if self.child is None:
            raise SessionError("the session is not running (start() it first)",
                               self.log.getvalue())

    def _expect(self, pattern, what, timeout=None):
        import pexpect
        self._running()
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
    def _clean(text):
        return text.replace("\r\n", "\n")
