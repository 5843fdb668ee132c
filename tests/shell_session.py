"""A pexpect session of ``mydocker-lab run -ti /bin/sh`` on any target (local, ssh, the VM).

Shared by tests/test_ssh_target.py and tests/vm/. Over ssh there is one more pseudo terminal
(sshd's) between us and the container's, and the runtime makes it raw only once it runs, so
nothing is typed before the container shell's first prompt.
"""
import io

import pexpect

PROMPT = "mydocker$ "
# the quotes keep the *echo* of this line from matching PROMPT
SETUP = "stty -echo; PS1='mydocker''$ '"


class ContainerShell:
    def __init__(self, target, command, timeout=30):
        self.transcript = io.StringIO()
        self.timeout = timeout
        self.child = target.spawn(command, timeout=timeout)
        self.child.logfile_read = self.transcript
        try:
            self.child.expect_exact("# ")  # dash's first prompt, as root
            self.child.sendline(SETUP)
            self.child.expect_exact(PROMPT)
        except (pexpect.TIMEOUT, pexpect.EOF):
            self.fail()

    def fail(self):
        print("---- transcript ----\n" + self.transcript.getvalue())
        self.close()
        raise AssertionError("the container shell did not answer in %d s (transcript above)"
                             % self.timeout)

    def run(self, line):
        """Send one command line; its output (without the prompt), lines joined by \\n."""
        self.child.sendline(line)
        try:
            self.child.expect_exact(PROMPT)
        except (pexpect.TIMEOUT, pexpect.EOF):
            self.fail()
        return self.child.before.replace("\r\n", "\n").strip("\n")

    def exit(self, line):
        """Send ``line`` (e.g. ``exit 3``); wait for the end; the exit status of the session."""
        self.child.sendline(line)
        try:
            self.child.expect(pexpect.EOF)
        except pexpect.TIMEOUT:
            self.fail()
        self.child.close()
        return self.child.exitstatus

    def close(self):
        if self.child.isalive():
            self.child.sendcontrol("c")
            self.child.terminate(force=True)
        self.child.close()


def check_ps_pid1(shell):
    """``ps -ef`` in the container: /bin/sh is PID 1, and only it and ps are there."""
    lines = shell.run("ps -ef").splitlines()
    assert lines[0].split()[:2] == ["UID", "PID"], lines
    pid1 = lines[1].split()
    assert pid1[1] == "1" and pid1[-1] == "/bin/sh", lines
    assert len(lines) == 3, lines
    assert shell.run("echo $$") == "1"
