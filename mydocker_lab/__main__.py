"""``python -m mydocker_lab ...``, and the container's init.

Init is started as ``python -I -S .../mydocker_lab/__main__.py init ...``:
as a plain file, without site-packages (a quarter of the start-up time), so
it finds its package beside this file.
"""
import sys

if not __package__:
    import os
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mydocker_lab.cli import console  # noqa: E402

console()
