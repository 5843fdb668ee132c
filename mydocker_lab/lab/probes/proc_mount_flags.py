"""Probes for notebook 02: what MS_NOEXEC, MS_NOSUID and MS_NODEV refuse.

Each probe steps into a throw-away mount namespace first (``/`` made
recursively private, a fresh tmpfs on /tmp), so its scratch mounts, files and
device nodes vanish with it: nothing reaches the host.
"""
import os
import shutil
import stat
import subprocess

from ... import linux
from . import probe
from .support import errname, sandbox

SCRATCH = "/tmp/scratch"
SCRIPT = SCRATCH + "/hello.sh"
SETUID_ID = SCRATCH + "/id"
DEVICE = SCRATCH + "/null"
NOBODY = 65534


def scratch():
    """A throw-away mount namespace with a private tmpfs on /tmp, and SCRATCH in it (needs
    root)."""
    if os.geteuid() != 0:
        raise SystemExit("this probe needs root: setuid files and device nodes cannot be "
                         "made in a rootless user namespace")
    sandbox(linux.CLONE_NEWNS)
    os.mkdir(SCRATCH)


def mount_options(path):
    """The mount's options as the kernel lists them in /proc/self/mountinfo."""
    options = None
    with open("/proc/self/mountinfo") as f:
        for line in f:  # the last match is the top of the stack of mounts there
            fields = line.split()
            if fields[4] == path:
                options = fields[5]
    return options


def try_exec():
    """execve() a shell script on the scratch mount."""
    try:
        proc = subprocess.run([SCRIPT], capture_output=True, text=True, timeout=10)
    except OSError as err:
        return {"ok": False, "error": errname(err)}
    return {"ok": proc.returncode == 0, "output": proc.stdout.strip()}


def try_setuid():
    """Run a setuid-root copy of id(1) as the unprivileged user nobody: what euid?"""
    proc = subprocess.run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                           "--clear-groups", SETUID_ID, "-u"],
                          capture_output=True, text=True, timeout=10)
    if proc.returncode != 0:
        reason = "EACCES" if "Permission denied" in proc.stderr else proc.stderr.strip()
        return {"ran": False, "error": reason}
    return {"ran": True, "euid": int(proc.stdout.strip())}


def try_device():
    """Open (for writing) a character device like /dev/null, made with mknod."""
    try:
        fd = os.open(DEVICE, os.O_WRONLY)
    except OSError as err:
        return {"ok": False, "error": errname(err)}
    os.write(fd, b"x")
    os.close(fd)
    return {"ok": True}


def prepare():
    """The three test subjects on the scratch mount."""
    with open(SCRIPT, "w") as f:
        f.write("#!/bin/sh\necho hello from a script\n")
    os.chmod(SCRIPT, 0o755)
    shutil.copy("/usr/bin/id", SETUID_ID)
    os.chown(SETUID_ID, 0, 0)
    os.chmod(SETUID_ID, 0o4755)           # chmod u+s: run with its owner's uid (root)
    os.mknod(DEVICE, 0o666 | stat.S_IFCHR, os.makedev(1, 3))   # the same device as /dev/null


@probe("mount-flags")
def mount_flags(flags="0"):
    """Mount a tmpfs with ``flags`` (an integer: MS_NOEXEC|...) and try all three things."""
    flags = int(flags, 0)
    allowed = linux.MS_NOEXEC | linux.MS_NOSUID | linux.MS_NODEV
    if flags & ~allowed:
        raise SystemExit("only MS_NOEXEC, MS_NOSUID and MS_NODEV (%#x) are tried here, "
                         "not %#x" % (allowed, flags))
    scratch()
    linux.mount("scratch", SCRATCH, "tmpfs", flags, "mode=755")
    prepare()
    return {"flags": flags, "options": mount_options(SCRATCH), "exec": try_exec(),
            "setuid": try_setuid(), "device": try_device()}


@probe("noexec-exercise")
def noexec_exercise(answer):
    """Run the student's shell command with $SCRATCH set; is a script there executable?"""
    scratch()
    proc = subprocess.run(["sh", "-c", answer], capture_output=True, text=True, timeout=20,
                          env=dict(os.environ, SCRATCH=SCRATCH))
    result = {"status": proc.returncode, "output": (proc.stdout + proc.stderr).strip(),
              "mounted": os.path.ismount(SCRATCH)}
    if proc.returncode != 0:
        return result
    result["options"] = mount_options(SCRATCH) if result["mounted"] else None
    try:
        with open(SCRIPT, "w") as f:
            f.write("#!/bin/sh\necho hello from a script\n")
        os.chmod(SCRIPT, 0o755)
    except OSError as err:
        result["write"] = errname(err)
        return result
    result["exec"] = try_exec()
    sh = subprocess.run(["sh", SCRIPT], capture_output=True, text=True, timeout=10)
    result["sh_script"] = sh.stdout.strip() if sh.returncode == 0 else sh.stderr.strip()
    return result
