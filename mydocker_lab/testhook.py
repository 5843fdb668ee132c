"""Hold points: how the tests stop the runtime at an exact step, to make a race certain.

``MYDOCKER_LAB_TEST_HOLD="cloned=/tmp/x/fifo"`` (comma-separated ``point=FIFO`` pairs):
at the point of that name, the process opens the FIFO for reading. ``open()`` of a
FIFO blocks until someone opens it for writing: when the test's own ``open()``
returns, the test knows the process is *there*. The process then reads to EOF,
so it goes on when the test closes its end; meanwhile the test does what the race
needs (a signal, a SIGKILL). No sleeping, no lucky schedule.

Outside the tests the variable is unset, and a point costs one dictionary lookup.
The points are named where they are (``hold("cloned")``) in run.py and
container/process.py.
"""
import os

_HOLDS = dict(item.split("=", 1) for item in
              os.environ.get("MYDOCKER_LAB_TEST_HOLD", "").split(",") if "=" in item)


def hold(point):
    """Wait at ``point`` if a test asked for it (see the module's docstring)."""
    path = _HOLDS.get(point)
    if path is None:
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        while os.read(fd, 64):
            pass
    finally:
        os.close(fd)
