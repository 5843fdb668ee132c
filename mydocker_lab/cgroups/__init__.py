"""Resource limits with cgroups (the book's chapter 3.2: ``cgroups/``).

A cgroup is a directory in a cgroup file system: ``mkdir`` creates it, writing
to its files sets limits (``memory.max``...), writing a pid to ``cgroup.procs``
moves a process in, ``rmdir`` removes it once no process is left. The kernel
then holds every process in it (and its children) to the limits.

Two versions of that file system exist, and a runtime must know both:

- **v1** (the book's, legacy): one hierarchy per controller, each mounted on its
  own directory (``/sys/fs/cgroup/memory``, ``/sys/fs/cgroup/cpu``...), so one
  container has one directory *per controller*;
- **v2** (every current distribution): one hierarchy at ``/sys/fs/cgroup``; a
  controller is usable in a cgroup only once its parent lists it in
  ``cgroup.subtree_control``, and (except at the root) only cgroups *without*
  processes may have controllers enabled for their children.

A machine may mix both ("hybrid"): each controller lives in exactly one hierarchy.

Laid out like the book's package:

=====================  ==============================  ==========================================
ours                   the book                        what
=====================  ==============================  ==========================================
``limits.py``          ``subsystems/subsystem.go``     the flags' values -> numbers (pure)
``hierarchy.py``       ``subsystems/utils.go``         where each controller's hierarchy is
``subsystems/*.py``    ``subsystems/{memory,cpu,       one module per controller: its files
                       cpuset}.go``
``manager.py``         ``cgroup_manager.go``           one container's cgroup: create, apply,
                                                       destroy; and the sweep of what SIGKILLed
                                                       runs left
=====================  ==============================  ==========================================

Standard library only; ``run`` imports this package only when a limit is given.
"""
from .hierarchy import CONTROLLERS, PARENT, Hierarchy, find_hierarchies
from .limits import (CPU_PERIOD, MIN_MEMORY, CgroupError, format_cpu_list, parse,
                     parse_cpu_list, parse_cpu_shares, parse_cpus, parse_memory,
                     shares_to_weight)
from .manager import Cgroup, is_alive, owner_tag, parse_owner

__all__ = ["CONTROLLERS", "PARENT", "Hierarchy", "find_hierarchies", "CPU_PERIOD",
           "MIN_MEMORY", "CgroupError", "format_cpu_list", "parse", "parse_cpu_list",
           "parse_cpu_shares", "parse_cpus", "parse_memory", "shares_to_weight", "Cgroup",
           "is_alive", "owner_tag", "parse_owner"]
