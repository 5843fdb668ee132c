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

    def probe(self, name, *args, timeout=60, container=None):
        """Run the probe NAME (``python -m mydocker_lab.lab.probes NAME ARGS...``) there;
        its JSON result. With ``container`` (a list of ``mydocker-lab run`` options, maybe
        empty) the probe runs inside a new container instead, as its command."""
        argv = [self.python, "-m", "mydocker_lab.lab.probes", name] + [str(a) for a in args]
        if container is None:
            proc = self.run(argv, timeout=timeout)
        else:
            proc = self.run_container(argv, *container, timeout=timeout)
        if proc.returncode != 0:
            raise TargetError("probe %s failed%s on %s (exit %d):\n%s" % (
                name, " in a container" if container is not None else "", self.name,
                proc.returncode, (proc.stderr or proc.stdout).strip()))
        return json.loads(proc.stdout)

    def spawn(self, argv, timeout=30, **kwargs):
        """A pexpect session of ``argv`` there, on a new pseudo terminal, with the settings
        that make it reliable (``echo=False``, a wide window, text in and out)."""
        return self.spawn_on_pty(self.argv(list(argv)), timeout, **kwargs)

    @staticmethod
    def spawn_on_pty(argv, timeout, **kwargs):
        """``pexpect.spawn`` of ``argv`` (run here) with those settings."""
        options = dict(encoding="utf-8", echo=False, dimensions=(24, 200), timeout=timeout,
                       codec_errors="replace")
        options.update(kwargs)
        return pty_spawn()(argv[0], argv[1:], **options)

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self.name)


def pty_spawn():
    """pexpect's ``spawn`` (a process on a new pseudo terminal), imported on first use.

    pexpect has it where the system has pseudo terminals (Linux, macOS); on Windows it has
    none, and this says so in one line (the ssh targets drive the VM through pipes there)."""
    import pexpect
    spawn = getattr(pexpect, "spawn", None)
    if spawn is None:
        raise TargetError("pexpect cannot start a pseudo terminal on this system (%s): run "
                          "the Linux steps on the VM (MYDOCKER_LAB_TARGET=vagrant)" % sys.platform)
    return spawn


class LocalTarget(Target):
    """This machine, when it runs Linux: root if we are root, else rootless (a user
    namespace)."""

    name = "local"

    def __init__(self, python=None):
        if not sys.platform.startswith("linux"):
            raise TargetError("this computer runs %s, not Linux: the notebooks' Linux steps "
                              "need a Linux target, e.g. the course VM (vagrant up, then "
                              "MYDOCKER_LAB_TARGET=vagrant)" % _SYSTEMS.get(sys.platform,
                                                                              sys.platform))
        self.python = python or sys.executable
        self.root = os.geteuid() == 0

    def argv(self, argv):
        return list(argv)


#: Friendly names of the systems sys.platform names.
_SYSTEMS = {"darwin": "macOS", "win32": "Windows", "cygwin": "Windows (Cygwin)"}

_TARGETS = {"local": LocalTarget}


def register(name, factory):
    """Let another module add a target kind (``remote`` adds ``vagrant`` and ``ssh``)."""
    _TARGETS[name] = factory


_current = None


def get_target(target=None):
    """The target to use: ``target`` itself when it is one (a :class:`Target`); else the one
    it names (``local``, ``vagrant``, ``ssh://user@host:port``); else, for None, the one
    ``$MYDOCKER_LAB_TARGET`` names (default ``local``), made once and kept.

    Every helper takes ``target=None`` and passes it here, so a notebook can leave it out.
    """
    global _current
    if isinstance(target, Target):
        return target
    spec = target
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
