"""Targets over ssh: any Linux by ``ssh://user@host:port``, or the project's Vagrant VM.

Each target keeps one OpenSSH master connection (ControlMaster, ControlPersist) whose
socket lives in a private temporary directory, so a notebook step costs a channel on an
open connection, not a new ssh handshake (the handshake alone is seconds in an emulated
VM). The master is closed, and the directory removed, when the Python process ends
(and the master exits by itself after ``CONTROL_PERSIST`` idle seconds if the process was
killed).

- ``SshTarget("ssh://user@host:port", ...)``: key-based ssh. ``MYDOCKER_LAB_SSH_OPTIONS``
  adds ssh options (``-o Key=Value ...``), ``MYDOCKER_LAB_SSH_PYTHON`` names the python that
  can import mydocker_lab there (default ``python3``), ``MYDOCKER_LAB_SSH_SUDO=1`` runs every
  command through ``sudo -n``.
- ``VagrantTarget("vagrant")``: options from ``vagrant ssh-config`` (run in the directory of
  the Vagrantfile: ``$VAGRANT_CWD``, else the nearest one above the current directory, else
  the repository this file belongs to). Commands run with ``sudo`` and the venv that
  ``vagrant/provision.sh`` creates.

A session (``spawn``, e.g. a container's shell) runs on the remote side's own pseudo
terminal (``ssh -tt``). Here ssh runs on a pseudo terminal of its own where the system has
them; on Windows, where pexpect has none, ssh talks through pipes (:func:`pipe_spawn`).

Importing this module registers both with :func:`mydocker_lab.lab.targets.register`.
"""
import atexit
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

from .targets import Target, TargetError, register

#: Seconds an idle master connection stays open after its last client (also the longest a
#: master outlives a process killed without cleaning up).
CONTROL_PERSIST = 300
#: Windows' OpenSSH has no ControlMaster: there every step opens its own connection.
MULTIPLEX = os.name != "nt"
#: The venv vagrant/provision.sh installs mydocker-lab into, inside the VM.
VM_PYTHON = "/opt/mydocker-lab/venv/bin/python"


def _base_dir():
    """``/tmp/mydocker-lab-ssh-<uid>`` (mode 0700, ours), or None when it cannot be trusted."""
    root = "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()  # short on macOS too
    path = os.path.join(root, "mydocker-lab-ssh-%d" % os.geteuid())
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        return None
    return path


def _new_private_dir():
    """A fresh 0700 directory for one target's control socket and ssh_config.

    Each is named after its process; the directories of processes that are gone (a notebook
    kernel killed without running atexit) are removed here, so none piles up.
    """
    base = _base_dir() if hasattr(os, "geteuid") else None
    if base is None:
        return tempfile.mkdtemp(prefix="mdl-ssh-", dir="/tmp" if os.path.isdir("/tmp") else None)
    for name in os.listdir(base):
        try:
            pid = int(name.split("-", 1)[0])
        except ValueError:
            continue
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
        except PermissionError:
            pass
    return tempfile.mkdtemp(prefix="%d-" % os.getpid(), dir=base)


class _Remote(Target):
    """Shared machinery: an ssh command line with one reused master connection."""

    sudo = False
    #: Whether ssh itself runs on a local pseudo terminal in :meth:`spawn`: True, False
    #: (pipes), or None: where pexpect can make one.
    local_pty = None

    def __init__(self):
        self._lock = threading.Lock()
        self._dir = None
        self._master_up = False

    # -- to be provided by subclasses ------------------------------------------------
    def ssh_options(self):
        """ssh options (a list) that reach the host, e.g. ``["-p", "22", "-o", ...]``."""
        raise NotImplementedError

    def destination(self):
        """The ssh destination (``user@host`` or a Host alias of the options' config)."""
        raise NotImplementedError

    # -- the connection --------------------------------------------------------------
    def _private_dir(self):
        if self._dir is None:
            self._dir = _new_private_dir()
            atexit.register(self.close)
        return self._dir

    def _base(self, tty=False, master="auto"):
        # one directory per target, so a short fixed socket name: a ControlPath must fit in
        # a unix socket address (104 bytes on macOS)
        control = os.path.join(self._private_dir(), "cm")
        # ssh keeps the first value it sees for an option: ours come after the user's
        mux = (["-o", "ControlMaster=" + master,
                "-o", "ControlPath=" + control,
                "-o", "ControlPersist=%d" % CONTROL_PERSIST] if MULTIPLEX else [])
        # LogLevel=ERROR: ssh's own notices ("Shared connection to ... closed.", "Warning:
        # Permanently added ...") would land in the remote terminal's transcript.
        return (["ssh"] + self.ssh_options()
                + ["-o", "BatchMode=yes", "-o", "LogLevel=ERROR"] + mux
                + ["-o", "ServerAliveInterval=15", "-tt" if tty else "-T"])

    def connect(self, timeout=120):
        """Open the master connection now (else the first command opens it)."""
        if not MULTIPLEX:
            return
        with self._lock:
            if self._master_up and self._check():
                return
            errlog = os.path.join(self._private_dir(), "master.err")
            with open(errlog, "w") as err:
                try:
                    proc = subprocess.run(self._base(master="yes") + ["-f", "-N",
                                                                        self.destination()],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=err, timeout=timeout)
                except subprocess.TimeoutExpired:
                    raise TargetError("ssh to %s did not connect within %d s"
                                      % (self.name, timeout)) from None
            if proc.returncode != 0:
                with open(errlog) as f:
                    detail = f.read().strip()
                raise TargetError("cannot ssh to %s (exit %d): %s"
                                  % (self.name, proc.returncode, detail or "no message"))
            self._master_up = True

    def _check(self):
        return subprocess.run(self._base() + ["-O", "check", self.destination()],
                              stdin=subprocess.DEVNULL, capture_output=True).returncode == 0

    def close(self):
        """Close the master connection and remove the private directory."""
        if self._dir is None:
            return
        if self._master_up:
            try:
                subprocess.run(self._base() + ["-O", "exit", self.destination()],
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self._master_up = False
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None

    # -- the Target interface --------------------------------------------------------
    def remote_command(self, argv):
        """The command line the remote shell runs for ``argv`` (quoted; sudo when asked)."""
        argv = [str(a) for a in argv]
        if self.sudo:
            argv = ["sudo", "-n", "--"] + argv
        return shlex.join(argv)

    def argv(self, argv, tty=False):
        self.connect()
        return self._base(tty=tty) + [self.destination(), self.remote_command(argv)]

    def spawn(self, argv, timeout=30, **kwargs):
        """A pexpect session there, on a remote pseudo terminal (``ssh -tt``).

        Here, ssh runs on a pseudo terminal of its own where the system has them; where it
        has none (Windows: pexpect has no ``spawn`` there) ssh talks through pipes: ``-tt``
        still gives the remote side its terminal, and that is the one that counts."""
        local_pty = _has_pty_spawn() if self.local_pty is None else self.local_pty
        if local_pty:
            return self.spawn_on_pty(self.argv(list(argv), tty=True), timeout, **kwargs)
        # no terminal here to take the size from: the remote one is told
        rows, cols = kwargs.get("dimensions", (24, 200))
        sized = ["sh", "-c", 'stty rows %d cols %d && exec "$@"' % (rows, cols), "sh"]
        return pipe_spawn(self.argv(sized + list(argv), tty=True), timeout,
                          encoding=kwargs.get("encoding", "utf-8"))


def _has_pty_spawn():
    import pexpect
    return hasattr(pexpect, "spawn")


_PipeSpawn = None


def pipe_spawn(argv, timeout, encoding="utf-8"):
    """``argv`` (run here) driven by pexpect through pipes, with the part of ``spawn``'s
    interface the lab uses: ``isalive``, ``sendcontrol``, ``terminate``, and ``close``,
    after which ``exitstatus`` holds the exit status.

    For ``ssh -tt``: the remote side gets a pseudo terminal, so the remote shell sees a
    terminal, Ctrl-C is a byte its terminal turns into SIGINT, and a line ends with ``\\n``
    (on Windows too, whose ``os.linesep`` would press Enter twice)."""
    global _PipeSpawn
    if _PipeSpawn is None:
        from pexpect.popen_spawn import PopenSpawn

        class PipeSpawn(PopenSpawn):
            def __init__(self, cmd, **kwargs):
                super().__init__(cmd, **kwargs)
                self.linesep = "\n" if self.encoding else b"\n"

            def isalive(self):
                return self.proc.poll() is None

            def sendcontrol(self, char):
                return self.send(chr(ord(char.lower()) & 0x1f))

            def terminate(self, force=False):
                if self.isalive():
                    (self.proc.kill if force else self.proc.terminate)()
                return True

            def close(self, force=True, timeout=10):
                """Close our end of the pipes; wait for the end (killed after ``timeout``
                seconds when ``force``); then ``exitstatus``/``signalstatus`` are valid."""
                try:
                    self.proc.stdin.close()
                except OSError:
                    pass
                try:
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    if not force:
                        raise
                    self.proc.kill()
                self.wait()
                # pexpect's reader thread reads stdout until EOF: close it only once that
                # thread is done (a closed descriptor read there prints a traceback, or
                # reads a file opened since under the same number). EOF comes when the last
                # writer has gone -- at once, unless something ssh left behind holds it.
                self._read_thread.join(2)
                if not self._read_thread.is_alive():
                    self.proc.stdout.close()
                self.closed = True

        _PipeSpawn = PipeSpawn
    return _PipeSpawn(argv, timeout=timeout, encoding=encoding, codec_errors="replace")


class SshTarget(_Remote):
    """Any Linux reachable with key-based ssh: ``ssh://user@host:port``."""

    def __init__(self, spec, python=None, sudo=None, options=None, local_pty=None):
        super().__init__()
        self.local_pty = local_pty
        url = urlsplit(spec)
        if url.scheme != "ssh" or not url.hostname:
            raise TargetError("bad ssh target %r: want ssh://user@host:port" % spec)
        try:
            self.port = url.port or 22
        except ValueError:
            raise TargetError("bad port in ssh target %r" % spec) from None
        self.user = url.username or os.environ.get("USER") or "root"
        self.host = url.hostname
        self.name = spec
        if options is None:
            options = shlex.split(os.environ.get("MYDOCKER_LAB_SSH_OPTIONS", ""))
        self.options = list(options)
        self.python = python or os.environ.get("MYDOCKER_LAB_SSH_PYTHON", "python3")
        if sudo is None:
            sudo = os.environ.get("MYDOCKER_LAB_SSH_SUDO", "0") == "1"
        self.sudo = bool(sudo)
        self.root = self.sudo or self.user == "root"

    def ssh_options(self):
        return ["-p", str(self.port), "-l", self.user] + self.options

    def destination(self):
        return self.host


def find_vagrant_dir(start=None):
    """The directory whose Vagrantfile describes the project's VM."""
    if os.environ.get("VAGRANT_CWD"):
        return Path(os.environ["VAGRANT_CWD"])
    here = Path(start or os.getcwd()).resolve()
    for d in [here] + list(here.parents):
        if (d / "Vagrantfile").is_file():
            return d
    repo = Path(__file__).resolve().parents[2]
    if (repo / "Vagrantfile").is_file():
        return repo
    raise TargetError("no Vagrantfile found (set VAGRANT_CWD to the mydocker-lab checkout)")


class VagrantTarget(_Remote):
    """The project's Vagrant VM; every command runs as root through sudo."""

    sudo = True
    root = True
    python = VM_PYTHON

    def __init__(self, spec="vagrant", machine="default"):
        super().__init__()
        self.name = spec
        self.machine = machine
        self._config = None

    def _ssh_config(self):
        if self._config is None:
            if not shutil.which("vagrant"):
                raise TargetError("the vagrant target needs Vagrant (https://www.vagrantup.com)")
            cwd = find_vagrant_dir()
            try:
                proc = subprocess.run(["vagrant", "ssh-config", self.machine], cwd=cwd,
                                      stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                      timeout=120)
            except subprocess.TimeoutExpired:
                raise TargetError("`vagrant ssh-config` did not answer in 120 s") from None
            if proc.returncode != 0:
                raise TargetError("the VM is not reachable (`vagrant ssh-config` failed in %s): "
                                  "start it with `vagrant up`\n%s"
                                  % (cwd, proc.stderr.strip()))
            path = os.path.join(self._private_dir(), "ssh_config")
            with open(path, "w") as f:
                f.write(proc.stdout)
            self._config = path
        return self._config

    def ssh_options(self):
        return ["-F", self._ssh_config()]

    def destination(self):
        return self.machine


register("ssh", SshTarget)
register("vagrant", VagrantTarget)


def main(argv=None):
    """``python -m mydocker_lab.lab.remote [TARGET] -- CMD...``: run CMD there (a quick check)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--" not in args:
        print("usage: python -m mydocker_lab.lab.remote [TARGET] -- CMD...", file=sys.stderr)
        return 2
    i = args.index("--")
    from .targets import get_target
    try:
        target = get_target(args[0] if i else None)
        return subprocess.call(target.argv(args[i + 1:]))
    except TargetError as e:
        print("mydocker-lab: %s" % e, file=sys.stderr)
        return 125


if __name__ == "__main__":
    sys.exit(main())
