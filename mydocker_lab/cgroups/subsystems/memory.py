"""The memory controller (the book's ``subsystems/memory.go``): ``-m``, ``--memory``."""
import os

from ..hierarchy import read

CONTROLLER = "memory"
LIMITS = ("memory",)


def set_limits(group, directory, version, resources):
    size = resources["memory"]
    if version == 2:
        group.write(directory, "memory.max", size, "memory")
        # No swap beyond the limit (docker's --memory-swap equal to --memory): else, on a
        # machine with swap, the container pages out instead of meeting the OOM killer.
        if os.path.exists(os.path.join(directory, "memory.swap.max")):
            group.write(directory, "memory.swap.max", 0, "memory")
    else:
        group.write(directory, "memory.limit_in_bytes", size, "memory")
        # memory+swap: the same total, so no swap either (needs swap accounting,
        # swapaccount=1; without it the file is absent and swap is not limited).
        if os.path.exists(os.path.join(directory, "memory.memsw.limit_in_bytes")):
            group.write(directory, "memory.memsw.limit_in_bytes", size, "memory")


def oom_kills(directory, version):
    """How many processes the kernel's OOM killer ended in this cgroup."""
    name = "memory.events" if version == 2 else "memory.oom_control"
    for line in (read(directory, name) or "").splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill":
            return int(value)
    return 0
