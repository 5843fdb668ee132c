"""Files on the target: a runtime to run there, written through the target's own python.

On a remote target the text travels on ssh's stdin; locally it is the same command, so
both ways are one code path.
"""
_WRITE = ("import os, sys, tempfile\n"
          "d = tempfile.mkdtemp(prefix='myrun-')\n"
          "os.chmod(d, 0o755)\n"
          "p = os.path.join(d, 'myrun.py')\n"
          "with open(p, 'w', encoding='utf-8') as f:\n"
          "    f.write(sys.stdin.read())\n"
          "print(p)\n")
_REMOVE = ("import os, shutil, sys\n"
           "p = sys.argv[1]\n"
           "if os.path.basename(p) == 'myrun.py' and "
           "os.path.basename(os.path.dirname(p)).startswith('myrun-'):\n"
           "    shutil.rmtree(os.path.dirname(p), ignore_errors=True)\n")


class TargetFileError(RuntimeError):
    pass


def put_file(target, text):
    """Write ``text`` as ``myrun.py`` in a new temporary directory on ``target``; its path."""
    proc = target.run([target.python, "-c", _WRITE], input=text, timeout=120)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise TargetFileError("cannot write a file on %s: %s" % (
            target.name, (proc.stderr or "no message").strip()))
    return proc.stdout.strip()


def remove_file(target, path):
    """Remove what :func:`put_file` made (only that: a myrun-*/myrun.py)."""
    target.run([target.python, "-c", _REMOVE, path], timeout=120)
