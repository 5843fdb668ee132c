"""Where the notebooks' Linux-level steps run.

A target is just *how to start a process there*: ``target.argv(cmd)`` turns
an argument vector into one that runs it on the target, from here. The local
Linux runs it as it is; the VM (``MYDOCKER_LAB_TARGET=vagrant``) runs it over
ssh. Everything else (``run``, ``spawn``, ``probe``, ``mydocker``) is built on
that one method, so every notebook runs unchanged on a Linux laptop, inside
the VM, or on a macOS/Windows host driving the VM.

Pick one with the environment variable ``MYDOCKER_LAB_TARGET``:

- ``local`` (default): this machine; as root, or rootless when not root;
- ``vagrant``: the project's Vagrant VM, over one reused ssh connection;
- ``ssh://user@host:port``: any Linux reachable by ssh (key-based).
"""
import json
import os
import subprocess
import sys


class TargetError(RuntimeError):
    """A step on the target failed: carries what it printed."""


class Target:
    """How to start a process on some Linux. Subclasses define :meth:`argv`."""

    name = "target"
    #: The interpreter that can import mydocker_lab, on the target.
    python = "python3"
    #: Whether commands run as root there (else rootless).
    root = True

    def argv(self, argv):
        """The argument vector that runs ``argv`` on the target, from here."""
        raise NotImplementedError

    # -- built on argv() -------------------------------------------------------------
    def run(self, argv, input=None, timeout=60, check=False, env=None):
        """Run ``argv`` there; return a ``subprocess.CompletedProcess`` with text output.

        ``env`` (a dict) is *added* to the environment there (through ``env(1)``).
        """
        if env:
            argv = ["env"] + ["%s=%s" % kv for kv in env.items()] + list(argv)
        proc = subprocess.run(self.argv(list(argv)), input=input, capture_output=True,
                              text=True, timeout=timeout, stdin=None if input is not None
                              else subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise TargetError("%s exited with %d on %s:\n%s" % (
                " ".join(argv), proc.returncode, self.name, proc.stderr.strip()))
        return proc

    def mydocker(self, *args):
        """argv of ``mydocker-lab ARGS...`` on the target."""
        return [self.python, "-m", "mydocker_lab"] + [str(a) for a in args]

    def run_container(self, command, *options, timeout=60, input=None):
        """``mydocker-lab run [OPTIONS] COMMAND...`` there; CompletedProcess (logs in stderr)."""
        return self.run(self.mydocker("run", *options, *command), timeout=timeout,
                        input=input)

    def probe(self, name, *args, timeout=60):
        """Run ``python -m mydocker_lab.lab.probes NAME ARGS...`` there; its JSON result."""
        proc = self.run([self.python, "-m", "mydocker_lab.lab.probes", name]
                        + [str(a) for a in args], timeout=timeout)
        if proc.returncode != 0:
            raise TargetError("probe %s failed on %s (exit %d):\n%s" % (
                name, self.name, proc.returncode, (proc.stderr or proc.stdout).strip()))
        return json.loads(proc.stdout)

    def spawn(self, argv, timeout=30, **kwargs):
        """A pexpect session of ``argv`` there, with the settings that make it reliable."""
        import pexpect
        options = dict(encoding="utf-8", echo=False, dimensions=(24, 200), timeout=timeout,
                       codec_errors="replace")
        options.update(kwargs)
        full = self.argv(list(argv))
        return pexpect.spawn(full[0], full[1:], **options)

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self.name)


class LocalTarget(Target):
    """This machine: root if we are root, else rootless (a user namespace)."""

    name = "local"

    def __init__(self, python=None):
        self.python = python or sys.executable
        self.root = os.geteuid() == 0

    def argv(self, argv):
        return list(argv)


_TARGETS = {"local": LocalTarget}


def register(name, factory):
    """Let another module add a target kind (``remote`` adds ``vagrant`` and ``ssh``)."""
    _TARGETS[name] = factory


_current = None


def get_target(spec=None):
    """The target named by ``spec`` or ``$MYDOCKER_LAB_TARGET`` (default ``local``); cached."""
    global _current
    if spec is None and _current is not None:
        return _current
    spec = spec or os.environ.get("MYDOCKER_LAB_TARGET", "local")
    kind = spec.split("://", 1)[0]
    if kind not in _TARGETS and kind in ("vagrant", "ssh"):
        try:
            from . import remote  # noqa: F401  (registers vagrant and ssh)
        except ImportError:
            pass
    if kind not in _TARGETS:
        raise TargetError("unknown target %r: want local, vagrant or ssh://user@host:port"
                          % spec)
    target = _TARGETS[kind](spec) if kind != "local" else LocalTarget()
    if spec == os.environ.get("MYDOCKER_LAB_TARGET", "local"):
        _current = target
    return target
