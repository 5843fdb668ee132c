"""Piece 05's check and the final one: pexpect drives ``myrun.py run -ti /bin/sh`` on the target.

The same scenario as ``mydocker-lab run -ti /bin/sh`` in notebook 05: a prompt comes;
``ps -ef`` shows PID 1 = /bin/sh, on a terminal; ``hostname other`` renames the container
only; Ctrl-C stops what runs in the container (not myrun); ``exit 3`` ends it all with 3;
your terminal is given back as it was; the host's name is what it was. The runtime runs in a
sandbox (sandbox.py), so a wrong one cannot rename the machine or cover its /proc. pexpect runs here (on the notebook's side): it needs a
terminal, which ``target.spawn`` gives, locally or over ``ssh -tt``.
"""
import io

from .targetfiles import put_file, remove_file

PROMPT = "myrun# "


class Step(Exception):
    def __init__(self, step, message, hint):
        super().__init__(message)
        self.step, self.message, self.hint = step, message, hint


def _clean(text):
    return text.replace("\r\n", "\n").replace("\r", "")


class _Driver:
    def __init__(self, target, argv, timeout):
        import pexpect
        self.pexpect = pexpect
        self.log = io.StringIO()
        self.timeout = timeout
        self.child = target.spawn(argv, timeout=timeout)
        self.child.logfile_read = self.log
        self.status = None

    def expect_prompt(self, after, step, hint_timeout, hint_eof=None, timeout=None):
        """Wait for the prompt; what came before it."""
        i = self.child.expect_exact([PROMPT, self.pexpect.EOF, self.pexpect.TIMEOUT],
                                    timeout=timeout or self.timeout)
        if i == 0:
            return _clean(self.child.before)
        if i == 1:
            self.close()
            raise Step(step, "myrun ended (status %s) %s" % (self.status, after),
                       hint_eof or hint_timeout)
        raise Step(step, "no prompt within %d s %s" % (timeout or self.timeout, after),
                   hint_timeout)

    def expect_marker(self, marker, step):
        i = self.child.expect_exact([marker, self.pexpect.EOF, self.pexpect.TIMEOUT])
        if i == 1:
            self.close()
        if i != 0:
            raise Step(step, "%r did not come (myrun %s)" % (
                marker, "ended: status %s" % self.status if i == 1 else "is silent"),
                "see the transcript")

    def run(self, line, step, hint):
        self.child.sendline(line)
        out = self.expect_prompt("after %r" % line, step, hint)
        return out[len(line) + 1:] if out.startswith(line + "\n") else out

    def close(self):
        if self.child is None:
            return self.status
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close()
        self.status = self.child.exitstatus
        if self.status is None and self.child.signalstatus is not None:
            self.status = 128 + self.child.signalstatus
        self.child = None
        return self.status

    def tail(self):
        return _clean(self.log.getvalue())[-1200:]


#: What a failure at these steps says when take_terminal() is the piece under test.
TAKE_TERMINAL_HINT = ("take_terminal(): os.setsid() first (a session of its own, with no "
                      "terminal yet), then fcntl.ioctl(0, termios.TIOCSCTTY, 0): the pty on "
                      "fd 0 becomes its controlling terminal. Without it, the container's shell "
                      "stays in myrun's session and takes your terminal from myrun")


def drive(target, source, shown="myrun.py", suspect=None, timeout=None):
    """Run the scenario against ``source`` (a myrun.py's text) on ``target``: ``None`` if it
    all went as it should, else ``Step(step, message, hint)`` with ``.transcript`` (the
    terminal's last lines; the file under its name ``shown``). ``suspect``: the one function
    of piece 05 that is the student's in ``source`` ("take_terminal" or "relay"), which the
    hints then name."""
    local = not hasattr(target, "destination")  # remote.py's targets have a destination
    timeout = timeout or (15 if local else 90)
    path = put_file(target, source)
    hostname = _hostname(target)
    # In a sandbox (sandbox.py): a runtime without a UTS namespace renames the sandbox, not
    # the machine; the sandbox's name is written to `report` once the runtime has ended.
    report = path[:-len("myrun.py")] + "hostname"
    driver = None
    try:
        driver = _Driver(target, ["env", "PS1=" + PROMPT, target.python, "-m",
                                  "mydocker_lab.lab.myrun.sandbox", "--report", report, "--",
                                  "sh", "-c", AFTER_MYRUN, "sh",
                                  target.python, path, "run", "-ti", "/bin/sh"], timeout)
        _scenario(driver)
        renamed = target.run(["cat", report]).stdout.strip()
        if renamed and renamed != hostname:
            raise Step("hostname", "`hostname other` in the container renamed the host (the "
                       "check's sandbox: your machine kept its name)",
                       "the container needs a UTS namespace of its own: CLONE_NEWUTS")
        return None
    except Step as step:
        step.transcript = driver.tail().replace(path, shown) if driver else ""
        if suspect == "take_terminal" and step.step in ("prompt", "terminal", "Ctrl-C"):
            step.hint = TAKE_TERMINAL_HINT
        return step
    finally:
        if driver is not None:
            driver.close()
        remove_file(target, path)


def _hostname(target):
    return target.run(["cat", "/proc/sys/kernel/hostname"], check=True).stdout.strip()


#: myrun runs under this sh, on the terminal the check drives (here, or the remote pty over
#: ssh): stty -g before and after myrun says on that same terminal whether myrun gave it back
#: as it found it, and sh exits with myrun's status. (Compared with itself, not with canonical
#: mode: a remote pty reached through an ssh ControlMaster from pipes -- a laptop without
#: pseudo terminals -- starts in non-canonical mode.)
AFTER_MYRUN = ('before=$(stty -g); "$@"; status=$?; if [ "$(stty -g)" = "$before" ]; then '
               'echo "terminal: as it was"; else echo "terminal: raw"; fi; exit $status')


def _scenario(d):
    relay_hint = ("relay() copies what the container writes (the pty's master) to your "
                  "stdout, and what you type to the master")
    d.expect_prompt("before the shell's first prompt", "prompt", relay_hint,
                    "see the transcript: did myrun print an error?")
    d.run("stty -echo", "prompt", relay_hint)  # the container's terminal echoes: not in answers
    ps = d.run("ps -ef", "ps -ef", relay_hint).splitlines()
    first = [line.split(None, 7) for line in ps[1:] if len(line.split()) > 7
             and line.split()[1] == "1"]
    if not first or first[0][7] != "/bin/sh":
        raise Step("ps -ef", "PID 1 is %s, not /bin/sh" % (
            repr(first[0][7]) if first else "not in ps -ef's list"),
            "init becomes the command itself (exec_command: execve, no fork), so the "
            "command is PID 1; and /proc is the container's own (init_mounts)")
    if first[0][5] == "?":
        raise Step("terminal", "PID 1 has no controlling terminal (ps shows TTY ?)",
                   "take_terminal(): os.setsid(), then fcntl.ioctl(0, termios.TIOCSCTTY, 0)")
    d.run("hostname other", "hostname", relay_hint)
    named = d.run("hostname", "hostname", relay_hint).strip()
    if named != "other":
        raise Step("hostname", "after `hostname other`, the container is called %r" % named,
                   "the container needs a UTS namespace of its own (CLONE_NEWUTS)")
    d.child.sendline("sh -c 'echo cat-runs; exec cat'")
    d.expect_marker("cat-runs", "Ctrl-C")
    d.child.sendcontrol("c")
    d.expect_prompt("after Ctrl-C in cat", "Ctrl-C",
                    "Ctrl-C did not stop cat: the pty must be the controlling terminal of the "
                    "container's session (take_terminal: setsid, TIOCSCTTY)",
                    "Ctrl-C ended myrun itself: while relay() runs, put your terminal in raw "
                    "mode (tty.setraw(0)), so that Ctrl-C is a byte for the container")
    d.child.sendline("exit 3")
    i = d.child.expect_exact(["terminal: raw", "terminal: as it was", d.pexpect.TIMEOUT])
    if i == 2:
        raise Step("exit 3", "myrun did not end after `exit 3`",
                   "relay() stops when reading the master fails (EIO: no one holds the "
                   "container's terminal any more), then waits for the container")
    raw = i == 0
    d.child.expect_exact([d.pexpect.EOF, d.pexpect.TIMEOUT])
    status = d.close()
    if status != 3:
        raise Step("exit 3", "`exit 3` in the container: myrun exited %s" % status,
                   "relay() returns the wait status of the container's first process "
                   "(os.waitpid(pid, 0)[1])")
    if raw:
        raise Step("terminal", "your terminal was left in raw mode after myrun ended",
                   "relay() restores it, whatever happens: termios.tcsetattr(0, "
                   "termios.TCSAFLUSH, saved) in a finally:")

