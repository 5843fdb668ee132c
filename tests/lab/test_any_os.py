"""The notebooks on a computer that is not Linux: a Mac or a Windows PC driving a Linux VM.

``MYDOCKER_LAB_TARGET=vagrant jupyter lab`` on a student's laptop runs the notebook helpers
there and every Linux step in the VM. Here, ``not_linux/sitecustomize.py`` turns a Python
into such a laptop (no Linux calls in its C library, no fcntl/termios/pty/tty/resource for
the notebook side, a pexpect without pseudo terminals), the test's own sshd stands for the
VM (``tests/lab/conftest.py``), and:

1. the emulation is shown to bite: what it takes away really fails under it;
2. every notebook-side module imports where none of Linux's modules can be imported;
3. two representative notebooks run under nbval, in such kernels, through the ssh target,
   and give their stored outputs.
"""
import os
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from support import ROOT

NOT_LINUX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "not_linux")


def not_linux_env(strict=False, **more):
    """The environment of a Python that is not Linux (``strict``: no Linux module at all)."""
    env = dict(os.environ, **more)
    env["PYTHONPATH"] = os.pathsep.join([NOT_LINUX] + [p for p in [env.get("PYTHONPATH")] if p])
    env.pop("MYDOCKER_LAB_NOT_LINUX", None)
    if strict:
        env["MYDOCKER_LAB_NOT_LINUX"] = "strict"
    return env


def python(code, env):
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)


#: Each line fails under the emulation, and works in this (Linux) Python.
BITES = r"""
import ctypes, errno, importlib
def fails(what, run, error):
    try:
        run()
    except error as err:
        print("fails:", what, "->", type(err).__name__, err)
    else:
        print("WORKS:", what)
fails("libc's mount", lambda: ctypes.CDLL(None).mount, AttributeError)
fails("libc's syscall", lambda: ctypes.CDLL(None)["syscall"], AttributeError)
from mydocker_lab import linux
fails("linux.libc('unshare')", lambda: linux.libc("unshare"), OSError)
# the probes may import fcntl (they run on the target); the notebook side may not
importlib.import_module("mydocker_lab.lab.probes.run_flow")
fails("fcntl, for the notebook side", lambda: exec("import fcntl",
      {"__name__": "mydocker_lab.lab.any"}), ImportError)
import pexpect
fails("pexpect.spawn", lambda: pexpect.spawn, AttributeError)
"""


def test_the_emulation_bites():
    here = python(BITES, dict(os.environ))
    assert here.returncode == 0, here.stderr
    assert here.stdout.count("WORKS:") == 5, here.stdout  # on this Linux, all of it works
    there = python(BITES, not_linux_env())
    assert there.returncode == 0, there.stderr
    assert "WORKS" not in there.stdout and there.stdout.count("fails:") == 5, there.stdout
    assert "dlsym(RTLD_DEFAULT, mount): symbol not found" in there.stdout
    assert "has no unshare(): mydocker-lab runs on Linux" in there.stdout
    strict = python("import fcntl", not_linux_env(strict=True))
    assert "No module named 'fcntl' (this computer is not Linux)" in strict.stderr
    strict = python("import ctypes; ctypes.CDLL(None)", not_linux_env(strict=True))
    assert "TypeError: LoadLibrary() argument 1 must be str, not None" in strict.stderr


def notebook_side_modules():
    """Every module of mydocker_lab.lab but the probes (they run on the target); of a
    package (myrun), what importing it in a notebook imports (``from mydocker_lab.lab import
    myrun``): its target-side modules, run there as programs, are not the notebook's."""
    import pkgutil
    import mydocker_lab.lab
    return ["mydocker_lab.lab"] + ["mydocker_lab.lab." + m.name for m in
                                   pkgutil.iter_modules(mydocker_lab.lab.__path__)
                                   if m.name != "probes"]


def test_every_notebook_side_module_imports_without_linux_modules():
    modules = notebook_side_modules()
    assert {"mydocker_lab.lab.targets", "mydocker_lab.lab.run_flow", "mydocker_lab.lab.pipe",
            "mydocker_lab.lab.myrun"} <= set(modules)
    code = "import importlib\nfor m in %r + ['mydocker_lab.linux']:\n" \
           "    importlib.import_module(m)\nprint('imported', len(%r) + 1)" % (modules, modules)
    proc = python(code, not_linux_env(strict=True))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "imported %d\n" % (len(modules) + 1)
    # ...and it would have noticed: a probe (target side) imports fcntl
    probe = python("import mydocker_lab.lab.probes.run_flow", not_linux_env(strict=True))
    assert "No module named 'fcntl'" in probe.stderr


def test_a_kernel_started_there_is_not_linux():
    """The kernels nbval starts below inherit the environment: one of them, asked."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import ctypes, pexpect\n"
        "print(hasattr(pexpect, 'spawn'), hasattr(ctypes.CDLL(None), 'getpid'))\n"
        "ctypes.CDLL(None).unshare")])
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True)
    client.execute(env=not_linux_env())
    outputs = nb.cells[0].outputs
    assert outputs[0]["text"] == "False True\n"
    assert outputs[1]["ename"] == "AttributeError" and "unshare" in outputs[1]["evalue"]


#: Two notebooks stand for the rest: together they use every way the notebook side reaches
#: the target -- runs, probes and containers (both), a pexpect session through pipes with
#: its timeouts and ^C (05), the build-it-yourself checks of work/myrun.py over ssh (both:
#: 05's terminal piece, 07's pipe) -- and the host tier runs all 14 on this Linux anyway.
REPRESENTATIVE = ["05-drive-the-cli.ipynb", "07-the-pipe.ipynb"]


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_a_notebook_on_a_computer_that_is_not_linux(sshd, name):
    """The notebook under nbval, its Linux steps through ssh, its kernel not Linux."""
    if not sshd["user"] == "root":
        pytest.skip("the stored outputs are root's: run the tests as root (./run-tests)")
    env = not_linux_env(**sshd["env"])
    proc = subprocess.run([sys.executable, "-m", "pytest", "--nbval", "-q", "-p",
                           "no:cacheprovider", os.path.join(ROOT, "notebooks", name)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    summary = proc.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary
