"""The book's ``cgroups/subsystems/``: one small module per cgroup controller.

The book's ``Subsystem`` interface (``Name``, ``Set``, ``Apply``, ``Remove``) becomes
module-level names here. Joining (``cgroup.procs``) and removing (``rmdir``) are the
same for every controller, so the manager (``cgroups/manager.py``) does them; what
differs is which limits a controller applies and the files it writes them to:

``CONTROLLER``
    the controller's name, as the kernel calls it;
``LIMITS``
    the limits it applies (keys of ``limits.parse()``: ``memory``, ``cpus``...);
``set_limits(group, directory, version, resources)``
    write them into ``directory`` (cgroup ``version`` 1 or 2) through
    ``group.write(directory, file, value, flag)``: the book's ``Set``;
``prepare(parent, hierarchy)``
    only where the controller needs it: ready ``parent`` before the container's
    directory is made in it (a v1 cpuset);
``oom_kills(directory, version)``
    only memory: how many processes the OOM killer ended.
"""
from . import cpu, cpuset, memory

#: The book's SubsystemsIns.
SUBSYSTEMS = (memory, cpu, cpuset)


def needed(resources):
    """The subsystems that apply at least one of ``resources``, in SUBSYSTEMS' order."""
    return [s for s in SUBSYSTEMS if any(kind in resources for kind in s.LIMITS)]
