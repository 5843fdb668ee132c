"""A student's cgroup: the memory, CPU and task limit of everything the student runs.

The hub (root) makes, for each student, one cgroup per controller that carries a limit:
``<place>/mydocker-lab-classroom/<student>``, where *place* is the hub's own cgroup on
cgroup v1 and its parent on cgroup v2 (whose "no internal processes" rule forbids
controllers below a cgroup that has processes: the hub's). It writes the limits, then
**delegates** the cgroup to the student, as systemd's ``Delegate=yes`` does: the directory
and the files that create and move (v1: ``tasks``, ``cgroup.procs``; v2: ``cgroup.procs``,
``cgroup.subtree_control``, ``cgroup.threads``) belong to the student, the limit files stay
root's. The student can then make cgroups *below* their own (``mydocker-lab run -m 100m``,
notebook 06) and move their own processes between them, never above or beside it, and
never raise their own limit. The spawner moves the student's server in before it starts
(:meth:`StudentCgroup.join`, in the child between fork and exec), so every process the
student starts is held to the limits; :meth:`StudentCgroup.remove` deletes it all
(children first) once the server has ended.

Controllers are found per controller, as the runtime does (``mydocker_lab.cgroups``): a
cgroup v1 hierarchy that carries it, else cgroup v2 if it offers it. Standard library only.
"""
import errno
import os
import time

from ..cgroups.hierarchy import own_cgroups

PARENT = "mydocker-lab-classroom"
CPU_PERIOD = 100000
CONTROLLERS = ("memory", "cpu", "pids")


class CgroupError(Exception):
    """A student's limit cannot be applied."""


def hierarchies():
    """{controller: (version, directory where students' cgroups go)} for CONTROLLERS."""
    own = own_cgroups()
    found, v2 = {}, None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, options = fields[sep + 1], fields[sep + 3].split(",")
            root, point = fields[3], fields[4]
            if fstype == "cgroup":
                for name in CONTROLLERS:
                    if name in options and name in own and own[name].startswith(root):
                        rel = os.path.relpath(own[name], root)
                        found.setdefault(name, (1, os.path.normpath(os.path.join(point, rel))))
            elif fstype == "cgroup2" and v2 is None and 2 in own and own[2].startswith(root):
                path = own[2] if own[2] == "/" else os.path.dirname(own[2])
                v2 = os.path.normpath(os.path.join(point, os.path.relpath(path, root)))
    if v2 is not None:
        try:
            with open(os.path.join(v2, "cgroup.controllers")) as f:
                offered = f.read().split()
        except OSError:
            offered = []
        for name in CONTROLLERS:
            if name in offered and name not in found:
                found[name] = (2, v2)
    return found


def _write(path, value):
    with open(path, "w") as f:
        f.write(value)


class StudentCgroup:
    """``StudentCgroup("alice", memory=2**30, cpus=1.0, tasks=1024)``: see the module."""

    def __init__(self, name, memory=None, cpus=None, tasks=None, found=None):
        if not name or "/" in name or name in (".", ".."):
            raise CgroupError("not a student's name for a cgroup: %r" % name)
        self.name = name
        self.limits = {"memory": memory, "cpu": cpus, "pids": tasks}
        self.found = hierarchies() if found is None else found
        missing = [c for c, v in self.limits.items() if v and c not in self.found]
        if missing:
            raise CgroupError("cannot limit %s per student: no cgroup hierarchy offers the %s "
                              "controller here" % (", ".join(missing), ", ".join(missing)))

    def dirs(self):
        """{directory: version} of the student's cgroups (one per hierarchy used)."""
        out = {}
        for controller, value in self.limits.items():
            if value:
                version, place = self.found[controller]
                out.setdefault(os.path.join(place, PARENT, self.name), version)
        return out

    def create(self, uid, gid):
        """Make the cgroups, write the limits, delegate them to uid:gid (all or nothing)."""
        try:
            self._create(uid, gid)
        except OSError as err:
            self.remove(deadline=5)
            raise CgroupError("cannot make the cgroup of %s: %s: %s"
                              % (self.name, err.filename, err.strerror)) from None

    def _create(self, uid, gid):
        for path, version in self.dirs().items():
            parent = os.path.dirname(path)
            if version == 2:
                wanted = [c for c, v in self.limits.items()
                          if v and self.found[c][0] == 2]
                os.makedirs(parent, exist_ok=True)
                enable = " ".join("+" + c for c in wanted)
                _write(os.path.join(os.path.dirname(parent), "cgroup.subtree_control"), enable)
                _write(os.path.join(parent, "cgroup.subtree_control"), enable)
            os.makedirs(path, exist_ok=True)
        for controller, value in self.limits.items():
            if not value:
                continue
            version, place = self.found[controller]
            path = os.path.join(place, PARENT, self.name)
            getattr(self, "_" + controller)(path, version, value)
        for path, version in self.dirs().items():
            files = ("cgroup.procs", "cgroup.subtree_control", "cgroup.threads") \
                if version == 2 else ("cgroup.procs", "tasks")
            os.chown(path, uid, gid)
            for name in files:
                if os.path.exists(os.path.join(path, name)):
                    os.chown(os.path.join(path, name), uid, gid)

    @staticmethod
    def _memory(path, version, value):
        if version == 2:
            _write(os.path.join(path, "memory.max"), str(int(value)))
            if os.path.exists(os.path.join(path, "memory.swap.max")):
                _write(os.path.join(path, "memory.swap.max"), "0")
        else:
            _write(os.path.join(path, "memory.limit_in_bytes"), str(int(value)))

    @staticmethod
    def _cpu(path, version, value):
        quota = max(1000, int(float(value) * CPU_PERIOD))
        if version == 2:
            _write(os.path.join(path, "cpu.max"), "%d %d" % (quota, CPU_PERIOD))
        else:
            _write(os.path.join(path, "cpu.cfs_period_us"), str(CPU_PERIOD))
            _write(os.path.join(path, "cpu.cfs_quota_us"), str(quota))

    @staticmethod
    def _pids(path, version, value):
        _write(os.path.join(path, "pids.max"), str(int(value)))

    def join(self):
        """Move the calling process in (the spawner's child, before it becomes the server)."""
        for path in self.dirs():
            _write(os.path.join(path, "cgroup.procs"), "0")

    def processes(self):
        """PIDs still in the student's cgroups (and below)."""
        pids = set()
        for path in self.dirs():
            for dirpath, _dirs, _files in os.walk(path):
                try:
                    with open(os.path.join(dirpath, "cgroup.procs")) as f:
                        pids.update(int(p) for p in f.read().split())
                except OSError:
                    continue
        return pids

    def remove(self, deadline=30):
        """Remove the cgroups, children first, once their processes have gone (up to
        ``deadline`` seconds: a killed process leaves its cgroup when it has been reaped).
        Returns what could not be removed."""
        end = time.monotonic() + deadline
        still = []
        for path in self.dirs():
            while True:
                left = [p for p in self._rmtree(path) if os.path.isdir(p)]
                if not left or time.monotonic() > end:
                    break
                time.sleep(0.1)  # polling the kernel's reaping: it sends us no event here
            still += left
            parent = os.path.dirname(path)
            try:
                os.rmdir(parent)  # the last student's: mydocker-lab-classroom/ goes too
            except OSError as err:
                if err.errno not in (errno.ENOTEMPTY, errno.EBUSY, errno.ENOENT):
                    raise
        return still

    @staticmethod
    def _rmtree(path):
        """rmdir every cgroup below and at path, deepest first; the ones still there."""
        busy = []
        for dirpath, _dirs, _files in sorted(os.walk(path), key=lambda w: -w[0].count("/")):
            try:
                os.rmdir(dirpath)
            except FileNotFoundError:
                pass
            except OSError:
                busy.append(dirpath)
        return busy
