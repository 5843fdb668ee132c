"""The cpuset controller (the book's ``subsystems/cpuset.go``): ``--cpuset-cpus``.

The book forgets that a cpuset needs memory nodes too (``cpuset.mems``): without
them it refuses every process. We give it its parent's.
"""
import os

from ..limits import CgroupError, format_cpu_list, parse_cpu_list
from ..hierarchy import read

CONTROLLER = "cpuset"
LIMITS = ("cpuset-cpus",)


def prepare(parent, hierarchy):
    """cgroup v1: a new cpuset starts with no CPUs and no memory nodes, and so refuses
    children of its own: give ``parent`` (and any empty ancestor) its own parent's."""
    if hierarchy.version == 1:
        _fill_v1(parent, hierarchy.mountpoint)


def _fill_v1(path, top):
    if path == top or read(path, "cpuset.cpus"):
        return
    parent = os.path.dirname(path)
    _fill_v1(parent, top)
    for name in ("cpuset.cpus", "cpuset.mems"):
        with open(os.path.join(path, name), "w") as f:
            f.write(read(parent, name) or "")


def set_limits(group, directory, version, resources):
    cpus = resources["cpuset-cpus"]
    parent = os.path.dirname(directory)
    v2 = version == 2
    available = parse_cpu_list(read(parent, "cpuset.cpus.effective" if v2
                                    else "cpuset.effective_cpus") or "") or set()
    if available and not cpus <= available:
        raise CgroupError("invalid value %r for --cpuset-cpus: CPU %s not available here "
                          "(available: %s)" % (group.limits["cpuset-cpus"],
                                               format_cpu_list(cpus - available),
                                               format_cpu_list(available)))
    group.write(directory, "cpuset.cpus", format_cpu_list(cpus), "cpuset-cpus")
    mems = read(parent, "cpuset.mems.effective" if v2 else "cpuset.effective_mems")
    if mems:
        group.write(directory, "cpuset.mems", mems, "cpuset-cpus")
