"""``python -m mydocker_lab ...``, and the container's init.

Init is started as ``python -I -S .../mydocker_lab/__main__.py init ...``:
as a plain file, without site-packages (a quarter of the start-up time), so
it finds its package beside this file. It goes straight to ``container/init.py``:
the signals are blocked and fds 0-2 set up already (by ``run`` and the clone()d
child), and nothing of the command line's module is needed (every module is
milliseconds of every container's start).
"""
import sys

if not __package__:
    import os
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

if sys.argv[1:2] == ["init"]:  # the container's first process: straight to init.py
    import os  # noqa: E402
    from mydocker_lab.container.init import main  # noqa: E402
    os._exit(main(sys.argv[2:]))

from mydocker_lab.cli import console  # noqa: E402

console()
