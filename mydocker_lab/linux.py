"""The kernel calls mydocker needs, through ctypes (Go's ``syscall`` package).

Python's ``os`` module has no ``clone``, ``mount`` or ``sethostname`` (and
``os.unshare`` only from Python 3.12), so we call libc directly. Every failed
call raises ``OSError`` with the errno, like the ``os`` functions do.
"""
import ctypes
import errno
import os

# <sched.h>: the namespaces a new process can be given (Go: syscall.CLONE_NEW*).
CLONE_NEWNS = 0x00020000      # mount
CLONE_NEWCGROUP = 0x02000000  # cgroup
CLONE_NEWUTS = 0x04000000     # hostname
CLONE_NEWIPC = 0x08000000     # System V IPC, POSIX message queues
CLONE_NEWUSER = 0x10000000    # user and group ids
CLONE_NEWPID = 0x20000000     # process ids
CLONE_NEWNET = 0x40000000     # network devices, addresses, ports

NAMESPACE_FLAGS = {
    "uts": CLONE_NEWUTS, "pid": CLONE_NEWPID, "mnt": CLONE_NEWNS,
    "net": CLONE_NEWNET, "ipc": CLONE_NEWIPC, "user": CLONE_NEWUSER,
    "cgroup": CLONE_NEWCGROUP,
}

# <sys/mount.h>
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_SHARED = 1 << 20

# <sys/prctl.h>
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15

# clone(2) by syscall number: glibc's clone() wrapper wants a new stack and a
# function pointer; the raw syscall with stack 0 behaves like fork().
_SYS_CLONE = {"x86_64": 56, "aarch64": 220, "riscv64": 220, "ppc64le": 120,
              "armv7l": 120, "i686": 120, "i386": 120}

#: The C library's functions this module calls, and their argument types. They are
#: looked up on first use, not at import: this module (its constants) must import on
#: any system, macOS and Windows included, where the notebooks drive a Linux VM.
_PROTOTYPES = {
    "mount": (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
              ctypes.c_void_p),
    "umount2": (ctypes.c_char_p, ctypes.c_int),
    "sethostname": (ctypes.c_char_p, ctypes.c_size_t),
    "unshare": (ctypes.c_int,),
    "setns": (ctypes.c_int, ctypes.c_int),
    "prctl": (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong),
    "syscall": None,  # variadic
}
_functions = {}


def libc(name):
    """The C library's function ``name``, bound on first use (OSError where there is none)."""
    func = _functions.get(name)
    if func is None:
        try:
            func = getattr(ctypes.CDLL(None, use_errno=True), name)
        except (OSError, TypeError, AttributeError):
            raise OSError(errno.ENOSYS, "this system's C library has no %s(): mydocker-lab runs on "
                          "Linux (from macOS or Windows, through the VM)" % name) from None
        if _PROTOTYPES.get(name) is not None:
            func.argtypes = _PROTOTYPES[name]
        if name == "syscall":
            func.restype = ctypes.c_long
        _functions[name] = func
    return func


def _check(result, what):
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), what)
    return result


def _b(value):
    return None if value is None else os.fsencode(value)


def clone(flags):
    """fork() into new namespaces: returns the child's pid in the parent, 0 in the child.

    Same contract as Go's ``exec.Cmd`` with ``SysProcAttr.Cloneflags``: the
    child starts as a copy of us; it must only set up its file descriptors and
    execve() at once (it skips the bookkeeping os.fork() does).
    """
    machine = os.uname().machine
    number = _SYS_CLONE.get(machine)
    if number is None:
        raise OSError(0, "clone: unsupported machine " + machine)
    return _check(libc("syscall")(number, ctypes.c_ulong(flags | 17), None, None, None, None),
                  "clone")  # 17 = SIGCHLD: the parent is told when the child ends


def mount(source, target, fstype, flags=0, data=None):
    """mount(2). ``mount("", "/", None, MS_PRIVATE | MS_REC)`` changes propagation only."""
    _check(libc("mount")(_b(source), _b(target), _b(fstype), flags, _b(data)),
           "mount " + str(target))


def umount(target, flags=0):
    _check(libc("umount2")(_b(target), flags), "umount " + str(target))


def sethostname(name):
    raw = os.fsencode(name)
    _check(libc("sethostname")(raw, len(raw)), "sethostname")


def set_parent_death_signal(signum):
    """prctl(PR_SET_PDEATHSIG): the kernel sends ``signum`` to us when our parent dies."""
    _check(libc("prctl")(PR_SET_PDEATHSIG, signum, 0, 0, 0), "prctl")


def set_name(name):
    """prctl(PR_SET_NAME): this thread's name in /proc/PID/comm and ``ps -e`` (15 bytes)."""
    buffer = ctypes.create_string_buffer(os.fsencode(name)[:15])
    _check(libc("prctl")(PR_SET_NAME, ctypes.addressof(buffer), 0, 0, 0), "prctl")


def unshare(flags):
    """unshare(2): move the calling process into new namespaces (not PID: see clone)."""
    _check(libc("unshare")(flags), "unshare")


def setns(fd, nstype=0):
    """setns(2): move the calling thread into the namespace that ``fd`` refers to."""
    _check(libc("setns")(fd, nstype), "setns")
