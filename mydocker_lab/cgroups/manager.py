"""One container's cgroup (the book's ``cgroups/cgroup_manager.go``), and the sweep.

The book::

    cgroupManager := cgroups.NewCgroupManager("mydocker-cgroup")
    defer cgroupManager.Destroy()
    cgroupManager.Set(res)                   // every subsystem writes its files
    cgroupManager.Apply(parent.Process.Pid)  // the pid goes into each cgroup

Ours: :class:`Cgroup` with :meth:`~Cgroup.create` (mkdir + Set), :meth:`~Cgroup.apply`,
:meth:`~Cgroup.destroy`. What the book gets wrong and we do not: it knows v1 only;
it ignores every error (a limit that cannot be set is silently not there); it uses
one fixed name (two containers share one cgroup, and the first to exit removes it);
it forgets ``cpuset.mems``; it never reads whether the OOM killer struck.

**The sweep.** ``mydocker-lab run`` removes its cgroup when the container has
ended — but a runtime killed by SIGKILL cannot. So each cgroup's name carries its
owner, the ``mydocker-lab run`` process that made it: ``<id>.owner-<pid>-<start>-<ns>``,
its pid, its start time (``/proc/PID/stat``: a pid is reused, a pid with its start
time never is) and its PID namespace (a pid means something only there). Before
making its own, each run with limits removes the cgroups in the same place whose
owner is gone, *if they are empty*: ``rmdir`` of a cgroup with processes fails, and
the owner of a cgroup being made or in use is alive, so the sweep decides without a
race and never touches a cgroup that is in use. One of another PID namespace, or
without an owner, is left alone.
"""
import errno
import os
import time

from ..log import log
from . import subsystems
from .hierarchy import PARENT, find_hierarchies, read, why_missing
from .limits import CgroupError, parse

_OWNER = ".owner-"


class Cgroup:
    """A container's cgroup: one directory per hierarchy it needs.

    ``Cgroup(name, {"memory": "100m", "cpus": "0.5"})`` checks the values;
    :meth:`create` makes the directories and writes the limits (or removes what
    it made and raises), :meth:`apply` moves a process in, :meth:`oom_kills` tells
    whether the OOM killer struck, :meth:`remove` deletes the directories.
    """

    def __init__(self, name, limits, hierarchies=None):
        self.name = name
        self.limits = {kind: text for kind, text in limits.items() if text is not None}
        self.resources = parse(self.limits)
        self.hierarchies = find_hierarchies() if hierarchies is None else hierarchies
        self.subsystems = subsystems.needed(self.resources)
        for subsystem in self.subsystems:
            if subsystem.CONTROLLER not in self.hierarchies:
                kind = next(k for k in subsystem.LIMITS if k in self.resources)
                raise CgroupError("cannot apply --%s: %s" % (
                    kind, why_missing(subsystem.CONTROLLER, self.hierarchies)))
        self.dirs = []        # created, in order
        self.written = []     # (path, value) written, for the log

    @classmethod
    def for_container(cls, container_id, limits):
        """``mydocker-lab run``'s cgroup: named after its owner (us), made after a sweep."""
        group = cls("%s%s%s" % (container_id, _OWNER, owner_tag()), limits)
        group.sweep()
        group.create()
        log.info("cgroup %s/%s (v%s): %s" % (PARENT, group.name,
                                             "+v".join(map(str, group.versions)),
                                             group.describe()))
        return group

    # -- where --------------------------------------------------------------------------------

    def _hierarchy(self, subsystem):
        return self.hierarchies[subsystem.CONTROLLER]

    def directory(self, subsystem):
        return os.path.join(self._hierarchy(subsystem).parent(), self.name)

    @property
    def versions(self):
        return sorted({self._hierarchy(s).version for s in self.subsystems})

    def paths(self):
        """The container's cgroup directories, one per hierarchy used."""
        out = []
        for subsystem in self.subsystems:
            path = self.directory(subsystem)
            if path not in out:
                out.append(path)
        return out

    # -- the book's Set, Apply, Destroy -------------------------------------------------------

    def create(self):
        """mkdir the cgroup in each hierarchy and write the limits; all or nothing."""
        try:
            for subsystem in self.subsystems:
                self._make(subsystem)
            for subsystem in self.subsystems:
                subsystem.set_limits(self, self.directory(subsystem),
                                     self._hierarchy(subsystem).version, self.resources)
        except CgroupError:
            self.remove()
            raise
        except OSError as err:
            self.remove()
            raise CgroupError(_explain(err)) from None

    def _make(self, subsystem):
        path, hierarchy = self.directory(subsystem), self._hierarchy(subsystem)
        parent = os.path.dirname(path)
        for attempt in range(3):  # another run may remove mydocker-lab/ meanwhile
            try:
                if hierarchy.version == 2:  # one directory for all; each controller enabled
                    self._enable_v2(subsystem.CONTROLLER, hierarchy, parent)
                else:
                    os.makedirs(parent, exist_ok=True)
                if hasattr(subsystem, "prepare"):
                    subsystem.prepare(parent, hierarchy)
                if path not in self.dirs:
                    os.mkdir(path)
                    self.dirs.append(path)
                return
            except FileNotFoundError:
                if attempt == 2:
                    raise

    def _enable_v2(self, controller, hierarchy, parent):
        """Make ``controller`` usable in ``parent``'s children: enable it top-down."""
        os.makedirs(parent, exist_ok=True)
        steps = os.path.relpath(parent, hierarchy.mountpoint).split(os.sep)
        path = hierarchy.mountpoint
        for step in [""] + [s for s in steps if s != "."]:
            path = os.path.join(path, step) if step else path
            if controller in (read(path, "cgroup.subtree_control") or "").split():
                continue
            try:
                _write(os.path.join(path, "cgroup.subtree_control"), "+" + controller)
            except OSError as err:
                hint = ""
                if err.errno == errno.EBUSY:
                    hint = (": that cgroup has processes of its own, and cgroup v2 lets only "
                            "a cgroup without processes share out a controller")
                raise CgroupError("cgroup v2: cannot enable the %s controller in %s: %s%s"
                                  % (controller, path, err.strerror, hint)) from None

    def write(self, directory, name, value, kind):
        """Write one limit file (subsystems call this); CgroupError naming the flag."""
        path = os.path.join(directory, name)
        try:
            _write(path, value)
        except OSError as err:
            raise CgroupError("cannot apply --%s %s: writing %s to %s: %s (%s)" % (
                kind, self.limits[kind], value, path, err.strerror,
                errno.errorcode.get(err.errno, "?"))) from None
        self.written.append((path, str(value)))

    def apply(self, pid):
        """The book's Apply: move process ``pid`` (and so all it will start) into the cgroup."""
        for path in self.dirs:
            try:
                _write(os.path.join(path, "cgroup.procs"), pid)
            except OSError as err:
                raise CgroupError("cannot move the container into %s: %s" % (
                    path, err.strerror)) from None

    def oom_kills(self):
        """How many processes the OOM killer ended in this cgroup (read before remove())."""
        from .subsystems import memory
        if memory not in self.subsystems:
            return 0
        return memory.oom_kills(self.directory(memory), self._hierarchy(memory).version)

    def report_oom(self):
        kills = self.oom_kills()
        if kills:
            log.warning("OOM: the kernel's OOM killer killed %d process%s of the container: it "
                        "reached its memory limit (--memory %s)" % (
                            kills, "" if kills == 1 else "es", self.limits["memory"]))

    def remove(self, timeout=2.0):
        """rmdir every directory made; retries while the last processes finish dying.
        Returns the directories that are still busy."""
        deadline = time.monotonic() + timeout
        left = []
        for path in reversed(self.dirs):
            while True:
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError as err:
                    if err.errno != errno.EBUSY or time.monotonic() > deadline:
                        left.append(path)
                        break
                    time.sleep(0.01)  # the kernel is still tearing the killed processes down
            try:
                os.rmdir(os.path.dirname(path))  # mydocker-lab/, if no other container uses it
            except OSError:
                pass
        self.dirs = []
        return left

    def destroy(self):
        """The book's Destroy: remove the cgroup; say so if the kernel keeps it busy."""
        for path in self.remove():
            log.warning("cgroup %s is still busy: not removed (the next run sweeps it)" % path)

    def describe(self):
        """``memory.max=104857600 cpu.weight=39`` for the log."""
        return " ".join("%s=%s" % (os.path.basename(p), v) for p, v in self.written)

    # -- the sweep ----------------------------------------------------------------------------

    def sweep(self):
        """Remove the empty cgroups whose owner is gone, where ours will go (module doc)."""
        mine = _pid_namespace()
        if mine is None:
            return  # /proc is not our PID namespace's: we could not tell who is alive
        for parent in {os.path.dirname(path) for path in self.paths()}:
            try:
                names = os.listdir(parent)
            except OSError:
                continue  # not made yet: nothing to sweep
            for name in names:
                owner = parse_owner(name)
                if owner is None or owner[2] != mine or is_alive(owner[0], owner[1]):
                    continue
                try:
                    os.rmdir(os.path.join(parent, name))
                except OSError:
                    continue  # processes are still in it (or another run swept it first)
                log.debug("swept cgroup %s/%s: its run (pid %d) was killed before it could "
                          "remove it" % (PARENT, name, owner[0]))


# -- owners ----------------------------------------------------------------------------------

def owner_tag(pid=None):
    """``<pid>-<start time>-<PID namespace>`` of a process (default: us)."""
    pid = os.getpid() if pid is None else pid
    return "%d-%d-%d" % (pid, start_time(pid), os.stat("/proc/%d/ns/pid" % pid).st_ino)


def parse_owner(name):
    """(pid, start time, PID namespace) from a cgroup's name, or None if it has no owner."""
    _, sep, tag = name.rpartition(_OWNER)
    fields = tag.split("-")
    if not sep or len(fields) != 3 or not all(f.isascii() and f.isdigit() for f in fields):
        return None
    return tuple(int(f) for f in fields)


def start_time(pid):
    """When ``pid`` started, in clock ticks since boot (/proc/PID/stat, field 22)."""
    with open("/proc/%d/stat" % pid, "rb") as f:
        return int(f.read().rsplit(b")", 1)[1].split()[19])


def is_alive(pid, started):
    """Is the process ``pid`` that started at ``started`` still there (not a zombie)?"""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return False
    return int(fields[19]) == started and fields[0] not in (b"Z", b"X")


def _pid_namespace():
    """Our PID namespace, if /proc is its own (else None)."""
    try:
        if os.readlink("/proc/self") != str(os.getpid()):
            return None
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None


def _write(path, value):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, str(value).encode())
    finally:
        os.close(fd)


def _explain(err):
    path = err.filename or "?"
    what = "%s: %s (%s)" % (path, err.strerror, errno.errorcode.get(err.errno, "?"))
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "cannot create a cgroup: %s: limits need root (and a writable /sys/fs/cgroup)" \
            % what
    return "cannot create a cgroup: " + what
