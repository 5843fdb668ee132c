"""Probes for notebook 02: what MS_NOEXEC, MS_NOSUID and MS_NODEV refuse.

Each probe steps into a throw-away mount namespace first (``/`` made
recursively private, a fresh tmpfs on /tmp), so its scratch mounts, files and
device nodes vanish with it: nothing reaches the host.

Without root, the throw-away namespaces are a user namespace (root inside, yourself outside)
and a mount namespace it owns. There the kernel refuses ``mknod``, and a file system mounted
in a user namespace never honours device nodes; so the device under test is an existing one,
``/dev/null``, bind-mounted onto the scratch mount (the flags under test on that bind mount).
The setuid test needs a second uid in the namespace (one that is not root there): a rootless
user namespace maps only one, so it is not run (the notebook shows root's result, labelled).
"""
import mmap
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


#: Whether the probe started as root (else it works in a user namespace of its own).
ROOT = os.geteuid() == 0
#: Why the setuid test needs root (shown by the notebook with root's result).
SETUID_NEEDS_ROOT = ("needs a second uid: a user namespace made without root maps one uid "
                     "only (yours, as root inside), so there is no one to run the setuid "
                     "program as; mapping more takes newuidmap and subordinate ids in "
                     "/etc/subuid")


def scratch():
    """A throw-away mount namespace (and, without root, a user namespace first) with a
    private tmpfs on /tmp, and SCRATCH in it."""
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


def try_mmap_exec(path):
    """mmap() the file with PROT_EXEC, as the dynamic loader maps a library: "ok" or the
    error's name."""
    try:
        with open(path, "rb") as f:
            mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ | mmap.PROT_EXEC).close()
    except OSError as err:
        return errname(err)
    return "ok"


def try_exec():
    """execve() a shell script on the scratch mount; and mmap() it with PROT_EXEC."""
    mapped = try_mmap_exec(SCRIPT)
    try:
        proc = subprocess.run([SCRIPT], capture_output=True, text=True, timeout=10)
    except OSError as err:
        return {"ok": False, "error": errname(err), "mmap_exec": mapped}
    return {"ok": proc.returncode == 0, "output": proc.stdout.strip(), "mmap_exec": mapped}


def try_setuid():
    """Run a setuid-root copy of id(1) as the unprivileged user nobody: what euid?"""
    if not ROOT:
        return {"ran": None, "needs_root": SETUID_NEEDS_ROOT}
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


def prepare(flags):
    """The three test subjects on the scratch mount (mounted with ``flags``). Returns how
    the device was made: "mknod", or "bind" (rootless: /dev/null bind-mounted there, the
    flags on that bind mount)."""
    with open(SCRIPT, "w") as f:
        f.write("#!/bin/sh\necho hello from a script\n")
    os.chmod(SCRIPT, 0o755)
    if ROOT:
        shutil.copy("/usr/bin/id", SETUID_ID)
        os.chown(SETUID_ID, 0, 0)
        os.chmod(SETUID_ID, 0o4755)           # chmod u+s: run with its owner's uid (root)
        os.mknod(DEVICE, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # the device of /dev/null
        return "mknod"
    with open(DEVICE, "w"):
        pass                                   # a file to mount on
    linux.mount("/dev/null", DEVICE, None, MS_BIND)
    # a bind mount takes new flags by a remount; those /dev has are kept (the kernel
    # locks them in a user namespace)
    kept = os.statvfs("/dev").f_flag & (linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC
                                        | MS_RDONLY)
    linux.mount("none", DEVICE, None, MS_BIND | MS_REMOUNT | kept | flags)
    return "bind"


MS_RDONLY, MS_REMOUNT, MS_BIND = 0x1, 0x20, 0x1000   # <sys/mount.h>


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
    made = prepare(flags)
    return {"flags": flags, "options": mount_options(SCRATCH), "exec": try_exec(),
            "setuid": try_setuid(), "device": try_device(), "device_made_by": made,
            "root": ROOT}


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
