"""The kernel calls mydocker needs, through ctypes (Go's ``syscall`` package).

Python's ``os`` module has no ``clone``, ``mount`` or ``sethostname`` (and
``os.unshare`` only from Python 3.12), so we call libc directly. Every failed
call raises ``OSError`` with the errno, like the ``os`` functions do.
"""
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
MS_BIND = 0x1000
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

#: The C library's functions this module calls, and whether they return a C long (else an
#: int). They are looked up on first use, not at import: this module (its constants) must
#: import on any system, macOS and Windows included, where the notebooks drive a Linux VM.
_RETURNS_LONG = {"mount": False, "umount2": False, "sethostname": False, "unshare": False,
                 "setns": False, "prctl": False, "syscall": True}
_functions = {}
_ffi = None


def _bind():
    """The few pieces of ctypes we use, straight from its C module ``_ctypes``.

    ``import ctypes`` costs 3-4 ms (it loads struct, types and defines every C type),
    and both of a container's interpreters need libc: 2 of the ~30 ms a container takes
    to start. These lines are what ``ctypes.CDLL(None, use_errno=True)`` and its
    function objects are made of.
    """
    import _ctypes

    class Int(_ctypes._SimpleCData):
        _type_ = "i"

    class Long(_ctypes._SimpleCData):
        _type_ = "l"

    class ULong(_ctypes._SimpleCData):
        _type_ = "L"

    class IntFunction(_ctypes.CFuncPtr):
        _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
        _restype_ = Int

    class LongFunction(_ctypes.CFuncPtr):
        _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
        _restype_ = Long

    handle = _ctypes.dlopen(None, 0)
    return {"Int": Int, "Long": Long, "ULong": ULong, "dlsym": _ctypes.dlsym,
            "handle": handle, "functions": (IntFunction, LongFunction),
            "get_errno": _ctypes.get_errno}


def _c(kind, value):
    """``value`` as the C type ``kind`` (Int, Long or ULong)."""
    return _ffi[kind](value)


def libc(name):
    """The C library's function ``name``, bound on first use (OSError where there is none).

    Call it with bytes (char *), None (NULL) or ``_c("ULong", n)``-style numbers.
    """
    global _ffi
    func = _functions.get(name)
    if func is None:
        try:
            if _ffi is None:
                _ffi = _bind()
            address = _ffi["dlsym"](_ffi["handle"], name)
            func = _ffi["functions"][_RETURNS_LONG[name]](address)
        except (ImportError, OSError, AttributeError, KeyError):
            raise OSError(errno.ENOSYS, "this system's C library has no %s(): mydocker-lab runs on "
                          "Linux (from macOS or Windows, through the VM)" % name) from None
        _functions[name] = func
    return func


def _check(result, what):
    if result == -1:
        err = _ffi["get_errno"]()
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
    call = libc("syscall")
    return _check(call(_c("Long", number), _c("ULong", flags | 17), None, None, None, None),
                  "clone")  # 17 = SIGCHLD: the parent is told when the child ends


def mount(source, target, fstype, flags=0, data=None):
    """mount(2). ``mount("", "/", None, MS_PRIVATE | MS_REC)`` changes propagation only."""
    call = libc("mount")
    _check(call(_b(source), _b(target), _b(fstype), _c("ULong", flags), _b(data)),
           "mount " + str(target))


def umount(target, flags=0):
    call = libc("umount2")
    _check(call(_b(target), _c("Int", flags)), "umount " + str(target))


def sethostname(name):
    raw = os.fsencode(name)
    call = libc("sethostname")
    _check(call(raw, _c("ULong", len(raw))), "sethostname")


def set_parent_death_signal(signum):
    """prctl(PR_SET_PDEATHSIG): the kernel sends ``signum`` to us when our parent dies."""
    call = libc("prctl")
    _check(call(_c("Int", PR_SET_PDEATHSIG), _c("ULong", signum), *[_c("ULong", 0)] * 3),
           "prctl")


def set_name(name):
    """prctl(PR_SET_NAME): this thread's name in /proc/PID/comm and ``ps -e`` (15 bytes)."""
    call = libc("prctl")
    _check(call(_c("Int", PR_SET_NAME), os.fsencode(name)[:15], *[_c("ULong", 0)] * 3),
           "prctl")


def unshare(flags):
    """unshare(2): move the calling process into new namespaces (not PID: see clone)."""
    call = libc("unshare")
    _check(call(_c("Int", flags)), "unshare")


def setns(fd, nstype=0):
    """setns(2): move the calling thread into the namespace that ``fd`` refers to."""
    call = libc("setns")
    _check(call(_c("Int", fd), _c("Int", nstype)), "setns")
