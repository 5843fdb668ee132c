"""Make this Python a computer that is not Linux, as far as mydocker-lab's notebooks can tell.

Put this directory first on PYTHONPATH and every Python started with that environment (a
Jupyter kernel too) loads it at start-up (``site`` imports ``sitecustomize``). Then:

- the C library has none of Linux's own calls: ``ctypes.CDLL(...).mount`` (umount2,
  unshare, setns, sethostname, prctl, syscall) raises AttributeError, as macOS's dlsym
  does; with ``MYDOCKER_LAB_NOT_LINUX=strict``, ``CDLL(None)`` fails, as on Windows;
- the notebook side of mydocker-lab (``mydocker_lab.lab``, not its probes) cannot import
  fcntl, termios, pty, tty or resource, which Windows does not have; with
  ``MYDOCKER_LAB_NOT_LINUX=strict`` nobody can;
- pexpect has no ``spawn`` (no pseudo terminals), as on Windows: only its pipes.

What runs on the *target* (a probe, ``mydocker-lab run``) is started by ssh and does not
inherit this: the target is a real Linux, as the VM is for a student's Mac or Windows PC.
tests/lab/test_any_os.py proves that each of these bites.
"""
import _ctypes
import builtins
import ctypes
import os

LINUX_CALLS = frozenset(["mount", "umount2", "unshare", "setns", "sethostname", "prctl",
                         "syscall"])
LINUX_MODULES = frozenset(["fcntl", "termios", "pty", "tty", "resource"])
STRICT = os.environ.get("MYDOCKER_LAB_NOT_LINUX") == "strict"


class _CLibrary(ctypes.CDLL):
    """A shared library without Linux's calls (strict, as on Windows: no C library at all
    by ``CDLL(None)``)."""

    def __init__(self, name, *args, **kwargs):
        if STRICT and name is None:
            raise TypeError("LoadLibrary() argument 1 must be str, not None")
        super().__init__(name, *args, **kwargs)

    def __getattr__(self, name):
        if name in LINUX_CALLS:
            raise AttributeError("dlsym(RTLD_DEFAULT, %s): symbol not found" % name)
        return super().__getattr__(name)

    def __getitem__(self, name):
        if name in LINUX_CALLS:
            raise AttributeError("dlsym(RTLD_DEFAULT, %s): symbol not found" % name)
        return super().__getitem__(name)


ctypes.CDLL = _CLibrary

# mydocker_lab.linux skips ctypes' Python layer (it costs every container milliseconds) and
# looks symbols up with _ctypes.dlsym and dlopen(None) itself: the same two answers there.
_dlsym, _dlopen = _ctypes.dlsym, _ctypes.dlopen


def _dlsym_without_linux(handle, name):
    if name in LINUX_CALLS:
        raise AttributeError("dlsym(RTLD_DEFAULT, %s): symbol not found" % name)
    return _dlsym(handle, name)


def _dlopen_no_default(name, *args):
    if STRICT and name is None:
        raise TypeError("LoadLibrary() argument 1 must be str, not None")
    return _dlopen(name, *args)


_ctypes.dlsym, _ctypes.dlopen = _dlsym_without_linux, _dlopen_no_default

_import = builtins.__import__


def _no_linux_modules(name, globals=None, locals=None, fromlist=(), level=0):
    """``import fcntl`` (and the others) fails for the notebook side, or for everyone."""
    importer = (globals or {}).get("__name__") or ""
    notebook_side = (importer.startswith("mydocker_lab.lab")
                     and not importer.startswith("mydocker_lab.lab.probes"))
    if level == 0 and name.split(".")[0] in LINUX_MODULES and (STRICT or notebook_side):
        raise ModuleNotFoundError("No module named %r (this computer is not Linux)" % name,
                                  name=name)
    return _import(name, globals, locals, fromlist, level)


builtins.__import__ = _no_linux_modules

if not STRICT:  # (strict: pexpect cannot be imported at all, so nothing to take away)
    import pexpect

    for _name in ("spawn", "spawnu", "run", "runu"):  # what pexpect has only with ptys
        if hasattr(pexpect, _name):
            delattr(pexpect, _name)
