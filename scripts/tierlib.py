"""What the tier drivers share (scripts/vm-tier, scripts/classroom-tier, scripts/fresh-tier):
timed steps and their table, one-line failures, clean-up that runs on every way out (an
error, Ctrl-C, SIGTERM from .ci/run at a budget's end, SIGHUP), and running a command with
its output shown or kept. Standard library only.
"""
import contextlib
import os
import signal
import subprocess
import sys
import time


class Failed(Exception):
    """A check of the tier failed: the message says what was met."""


class CannotRun(Exception):
    """This machine cannot run the tier (exit 2)."""


class Interrupted(BaseException):
    """Ctrl-C, or SIGTERM/SIGHUP: the tier stops, cleans up, and exits 128+N."""

    def __init__(self, signum):
        super().__init__("signal %d" % signum)
        self.signum = signum


class Tier:
    """``with Tier("vm-tier") as tier:`` -- ``tier.say``, ``tier.step(name)`` (a timed step:
    ``with tier.step("boot") as r: ...; r["note"] = "..."``), ``tier.cleanup(fn, *args)``
    (run last-in first-out on every way out), and at the end the timings table."""

    def __init__(self, name):
        self.name = name
        self.rows = []
        self.t0 = time.monotonic()
        self.verdict = "FAILED"
        self.cleanup_failed = False
        self._cleanups = []

    def say(self, msg):
        print("[%s %s] %s" % (self.name, time.strftime("%H:%M:%S"), msg), file=sys.stderr,
              flush=True)

    @contextlib.contextmanager
    def step(self, name):
        self.say("▶ " + name)
        t = time.monotonic()
        result = {"note": "ok"}
        try:
            yield result
        except BaseException:
            self.rows.append((name, time.monotonic() - t, "FAILED"))
            raise
        dt = time.monotonic() - t
        self.rows.append((name, dt, result["note"]))
        self.say("✔ %s (%.1f s)%s" % (name, dt, "" if result["note"] == "ok"
                                       else ": " + result["note"]))

    __call__ = step   # ``with steps("name"):`` (scripts/fresh-tier)

    def cleanup(self, fn, *args, **kwargs):
        self._cleanups.append((fn, args, kwargs))

    def table(self, verdict=None):
        lines = ["", "%s timings:" % self.name]
        lines += ["  %-52s %7.1f s  %s" % row for row in self.rows]
        lines.append("  %-52s %7.1f s  %s" % ("total", time.monotonic() - self.t0,
                                               verdict or self.verdict))
        print("\n".join(lines), file=sys.stderr, flush=True)

    def __enter__(self):
        def interrupted(signum, _frame):
            raise Interrupted(signum)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, interrupted)
        return self

    def __exit__(self, kind, err, _tb):
        # nothing may interrupt the clean-up itself
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        while self._cleanups:
            fn, args, kwargs = self._cleanups.pop()
            try:
                fn(*args, **kwargs)
            except Exception as cleanup_err:  # one failed clean-up must not skip the others
                self.say("clean-up %s failed: %s" % (getattr(fn, "__name__", fn), cleanup_err))
                self.verdict = "FAILED"
                self.cleanup_failed = True
        if kind is not None:
            self.verdict = "INTERRUPTED" if kind is Interrupted else "FAILED"
        self.table()
        return False


def run(argv, check=True, quiet=False, log=None, **kwargs):
    """subprocess.run with text output; ``quiet``: output kept (printed, its last 30 lines,
    when the command fails); ``log``: output into that file (its last 20 lines printed on a
    failure). Raises Failed when ``check`` and the command failed."""
    if quiet or log:
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.STDOUT)
    proc = subprocess.run(argv, text=True, stdin=kwargs.pop("stdin", subprocess.DEVNULL),
                          **kwargs)
    if log is not None and proc.stdout is not None:
        with open(log, "a") as f:
            f.write(proc.stdout)
    if check and proc.returncode != 0:
        if proc.stdout:
            print("\n".join(proc.stdout.splitlines()[-(20 if log else 30):]), file=sys.stderr)
        raise Failed("%s exited with %d" % (" ".join(map(str, argv)), proc.returncode))
    return proc


def main(tier, body):
    """Run ``body(tier)`` inside ``tier``; the exit status: 0 passed, 1 failed (a check, or a
    clean-up: something may be left), 2 cannot run, 128+N after signal N (130 for Ctrl-C).
    The failure's line comes before the clean-up."""
    status = 1
    with tier:
        try:
            status = body(tier) or 0
            tier.verdict = "PASSED" if status == 0 else "FAILED (exit %d)" % status
        except Failed as err:
            tier.say("FAILED: %s" % err)
        except CannotRun as err:
            tier.say("cannot run here: %s" % err)
            tier.verdict = "CANNOT RUN"
            status = 2
        except Interrupted as err:
            tier.say("interrupted (%s): cleaning up" % err)
            tier.verdict = "INTERRUPTED"
            status = 128 + err.signum
    if tier.cleanup_failed and status == 0:
        return 1
    return status


def python_has(python, *modules):
    return subprocess.run([python, "-c", "import " + ", ".join(modules)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def pid_alive(pidfile):
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None
