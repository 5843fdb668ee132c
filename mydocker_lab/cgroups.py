"""Resource limits with cgroups (the book's chapter 3.2: ``cgroups/``).

The book::

    cgroupManager := cgroups.NewCgroupManager("mydocker-cgroup")   // cgroup_manager.go
    defer cgroupManager.Destroy()
    cgroupManager.Set(res)                                         // subsystems/*.go: write files
    cgroupManager.Apply(parent.Process.Pid)                        // write the pid into "tasks"

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

A machine may mix both ("hybrid"): each controller lives in exactly one
hierarchy. So we decide per controller, at run time, from ``/proc/self/mountinfo``:
a cgroup v1 mount that carries it, else the cgroup2 mount if its
``cgroup.controllers`` lists it, else a clear error.

What the book gets wrong and we do not: it knows v1 only; it ignores every
error (a limit that cannot be set is silently not there); it uses one fixed
name (two containers share, and the first to exit removes, one cgroup); it
forgets ``cpuset.mems`` (an empty cpuset refuses every process); it never
reads whether the OOM killer struck.

Where a container's cgroup goes (as runc does for a relative cgroup path):
v1: ``<hierarchy>/<our own cgroup>/mydocker-lab/<id>``, inside the cgroup we
were started in, so whatever limits bind the caller also bind the container;
v2: the same, but one level up (``<parent of our cgroup>/mydocker-lab/<id>``),
because our own cgroup has processes (us) and so may not enable controllers
for children.

Known limit: the cgroup is removed by the ``mydocker-lab run`` process when the
container has ended (also when the container was SIGKILLed). If that process
itself is SIGKILLed, nothing is left to remove it (docker has its daemon for
that): an empty ``mydocker-lab/<id>`` stays until ``rmdir``.

Standard library only; ``run`` imports this module only when a limit is given.
"""
import errno
import os
import re
import time

#: The CPU period for --cpus, in microseconds (docker's default, 100 ms).
CPU_PERIOD = 100000
#: Docker's smallest --memory: below it the runtime's own start-up cannot fit.
MIN_MEMORY = 6 * 1024 * 1024
#: Parent directory of every container's cgroup, below the place described above.
PARENT = "mydocker-lab"


class CgroupError(Exception):
    """A limit cannot be applied: one clear line, exit status 125."""


# -- the options, checked before anything is created ---------------------------------------

def parse_memory(text):
    """``100m`` -> 104857600 (docker's units: b, k, m, g, t; binary; an optional ``b``/``ib``)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?) ?([kmgtp]?)(i?b)?", text.strip(), re.IGNORECASE)
    if not match:
        raise CgroupError("invalid value %r for --memory: want a size such as 100m or 1g" % text)
    number, unit = float(match.group(1)), match.group(2).lower()
    size = int(number * 1024 ** " kmgtp".index(unit or " "))
    if size < MIN_MEMORY:
        raise CgroupError("invalid value %r for --memory: the minimum is 6m" % text)
    return size


def parse_cpu_shares(text):
    try:
        shares = int(text)
    except ValueError:
        shares = 0
    if not 2 <= shares <= 262144:
        raise CgroupError("invalid value %r for --cpu-shares: want a whole number from 2 to "
                          "262144 (1024 is a normal share)" % text)
    return shares


def shares_to_weight(shares):
    """cgroup v1 ``cpu.shares`` (2..262144) -> v2 ``cpu.weight`` (1..10000), as runc maps it."""
    return 1 + ((shares - 2) * 9999) // 262142


def parse_cpus(text, available=None):
    """``0.5`` -> the quota in microseconds per CPU_PERIOD."""
    available = available or os.cpu_count() or 1
    try:
        cpus = float(text)
    except ValueError:
        cpus = -1.0
    quota = int(round(cpus * CPU_PERIOD)) if cpus == cpus else 0  # NaN -> 0
    if not 1000 <= quota <= available * CPU_PERIOD:
        raise CgroupError("invalid value %r for --cpus: the range is 0.01 to %d.00, as there "
                          "are only %d CPUs here" % (text, available, available))
    return quota


def parse_cpu_list(text):
    """``0-2,5`` -> {0, 1, 2, 5}; None if malformed."""
    cpus = set()
    for part in text.strip().split(","):
        first, dash, last = part.partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            return None
        low, high = int(first), int(last) if dash else int(first)
        if low > high:
            return None
        cpus.update(range(low, high + 1))
    return cpus


def format_cpu_list(cpus):
    """{0, 1, 2, 5} -> ``0-2,5``."""
    out, cpus = [], sorted(cpus)
    while cpus:
        low = high = cpus.pop(0)
        while cpus and cpus[0] == high + 1:
            high = cpus.pop(0)
        out.append(str(low) if low == high else "%d-%d" % (low, high))
    return ",".join(out)


# -- where the hierarchies are ---------------------------------------------------------------

CONTROLLERS = ("memory", "cpu", "cpuset")
#: Which controller each limit needs.
CONTROLLER_OF = {"memory": "memory", "cpu-shares": "cpu", "cpus": "cpu", "cpuset-cpus": "cpuset"}


class Hierarchy:
    """One mounted cgroup hierarchy: version 1 or 2, its mount point, our place in it."""

    def __init__(self, version, mountpoint, root, controllers, own):
        self.version = version
        self.mountpoint = mountpoint
        self.root = root               # the hierarchy's directory mounted there
        self.controllers = controllers
        self.own = own                 # our own cgroup, as /proc/self/cgroup names it

    def path(self, cgroup):
        """The directory of ``cgroup`` (a path from the hierarchy's root)."""
        rel = os.path.relpath(cgroup, self.root) if cgroup.startswith(self.root) else cgroup
        return os.path.normpath(os.path.join(self.mountpoint, rel.lstrip("/")))

    def base(self):
        """Where containers' cgroups go (see the module's docstring)."""
        own = self.own
        if self.version == 2 and own != "/":
            own = os.path.dirname(own)
        return self.path(own)

    def __repr__(self):
        return "<cgroup v%d %s %s>" % (self.version, self.mountpoint, ",".join(self.controllers))


def _unescape(field):
    """mountinfo writes space, tab, newline and backslash as \\040 and so on."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def find_hierarchies():
    """{controller: Hierarchy} for the controllers we use, from this process's view."""
    own = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            number, names, path = line.rstrip("\n").split(":", 2)
            if number == "0" and not names:
                own[2] = path
            for name in names.split(","):
                own[name] = path
    found = {}
    unified = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, options = fields[sep + 1], fields[sep + 3].split(",")
            root, mountpoint = _unescape(fields[3]), _unescape(fields[4])
            if fstype == "cgroup":
                names = [c for c in CONTROLLERS if c in options]
                if names and names[0] in own:
                    hierarchy = Hierarchy(1, mountpoint, root, names, own[names[0]])
                    for name in names:
                        found.setdefault(name, hierarchy)
            elif fstype == "cgroup2" and unified is None and 2 in own:
                unified = Hierarchy(2, mountpoint, root, [], own[2])
    if unified is not None:
        try:
            with open(os.path.join(unified.mountpoint, "cgroup.controllers")) as f:
                unified.controllers = f.read().split()
        except OSError:
            pass
        for name in unified.controllers:
            if name in CONTROLLERS and name not in found:
                found[name] = unified
        found["unified"] = unified  # not a controller: for error messages
    return found


def _why_missing(controller, hierarchies):
    unified = hierarchies.get("unified")
    bound = _v1_hierarchy_number(controller)
    if unified is None:
        return "the %s controller is not mounted (no cgroup v1 hierarchy carries it and there " \
            "is no cgroup v2)" % controller
    why = "the %s controller is not available: cgroup v2 (%s) offers only %s" % (
        controller, unified.mountpoint, " ".join(unified.controllers) or "nothing")
    if bound:
        why += (", as the kernel has %s bound to a cgroup v1 hierarchy (number %d in "
                "/proc/cgroups) that is not mounted here" % (controller, bound))
    return why


def _v1_hierarchy_number(controller):
    try:
        with open("/proc/cgroups") as f:
            for line in f:
                fields = line.split()
                if fields and fields[0] == controller:
                    return int(fields[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


# -- one container's cgroup ------------------------------------------------------------------

class Cgroup:
    """A container's cgroup: one directory per hierarchy it needs.

    ``Cgroup(id, {"memory": "100m", "cpus": "0.5"})`` checks the values;
    :meth:`create` makes the directories and writes the limits (or removes what
    it made and raises), :meth:`add` moves a process in, :meth:`oom_kills` tells
    whether the OOM killer struck, :meth:`remove` deletes the directories.
    """

    def __init__(self, name, limits, hierarchies=None):
        self.name = name
        self.limits = dict(limits)
        self.hierarchies = find_hierarchies() if hierarchies is None else hierarchies
        self.dirs = []        # created, in order
        self.written = []     # (path, value) written, for the log
        self._check()

    # The book's subsystems, one per kind of limit: which controller, which files.
    def _check(self):
        limits, plan = self.limits, []
        if limits.get("memory") is not None:
            plan.append(("memory", parse_memory(limits["memory"])))
        if limits.get("cpu-shares") is not None:
            plan.append(("cpu-shares", parse_cpu_shares(limits["cpu-shares"])))
        if limits.get("cpus") is not None:
            plan.append(("cpus", parse_cpus(limits["cpus"])))
        if limits.get("cpuset-cpus") is not None:
            cpus = parse_cpu_list(limits["cpuset-cpus"])
            if not cpus:
                raise CgroupError("invalid value %r for --cpuset-cpus: want CPU numbers such "
                                  "as 0, 0-1 or 0,2" % limits["cpuset-cpus"])
            plan.append(("cpuset-cpus", cpus))
        self.plan = plan
        for kind, _ in plan:
            controller = CONTROLLER_OF[kind]
            if controller not in self.hierarchies:
                raise CgroupError("cannot apply --%s: %s" % (
                    kind, _why_missing(controller, self.hierarchies)))

    def _dir(self, controller):
        hierarchy = self.hierarchies[controller]
        return os.path.join(hierarchy.base(), PARENT, self.name), hierarchy

    @property
    def versions(self):
        return sorted({self.hierarchies[c].version for c in self._controllers()})

    def _controllers(self):
        names = []
        for kind, _ in self.plan:
            name = CONTROLLER_OF[kind]
            if name not in names:
                names.append(name)
        return names

    def paths(self):
        """The container's cgroup directories, one per hierarchy used."""
        out = []
        for controller in self._controllers():
            path, _ = self._dir(controller)
            if path not in out:
                out.append(path)
        return out

    def create(self):
        """mkdir the cgroup in each hierarchy and write the limits; all or nothing."""
        try:
            for controller in self._controllers():
                self._make(controller)
            for kind, value in self.plan:
                getattr(self, "_set_" + kind.replace("-", "_"))(value)
        except CgroupError:
            self.remove()
            raise
        except OSError as err:
            self.remove()
            raise CgroupError(_explain(err)) from None

    def _make(self, controller):
        path, hierarchy = self._dir(controller)
        if path in self.dirs:  # v2: one directory for all controllers, each enabled above it
            if hierarchy.version == 2:
                self._enable_v2(controller, hierarchy, os.path.dirname(path))
            return
        for attempt in range(3):  # another container may remove mydocker-lab/ meanwhile
            try:
                if hierarchy.version == 2:
                    self._enable_v2(controller, hierarchy, os.path.dirname(path))
                else:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    if controller == "cpuset":
                        _fill_v1_cpuset(os.path.dirname(path), hierarchy.mountpoint)
                os.mkdir(path)
                break
            except FileNotFoundError:
                if attempt == 2:
                    raise
        self.dirs.append(path)

    def _enable_v2(self, controller, hierarchy, parent):
        """Make ``controller`` usable in ``parent``'s children: enable it top-down."""
        os.makedirs(parent, exist_ok=True)
        steps = os.path.relpath(parent, hierarchy.mountpoint).split(os.sep)
        path = hierarchy.mountpoint
        for step in [""] + [s for s in steps if s != "."]:
            path = os.path.join(path, step) if step else path
            control = os.path.join(path, "cgroup.subtree_control")
            with open(control) as f:
                if controller in f.read().split():
                    continue
            try:
                self._write(control, "+" + controller, log=False)
            except OSError as err:
                hint = ""
                if err.errno == errno.EBUSY:
                    hint = (": that cgroup has processes of its own, and cgroup v2 lets only "
                            "a cgroup without processes share out a controller")
                raise CgroupError("cgroup v2: cannot enable the %s controller in %s: %s%s"
                                  % (controller, control, err.strerror, hint)) from None

    def _write(self, path, value, log=True):
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, str(value).encode())
        finally:
            os.close(fd)
        if log:
            self.written.append((path, str(value)))

    def _file(self, controller, name):
        return os.path.join(self._dir(controller)[0], name)

    def _version(self, controller):
        return self.hierarchies[controller].version

    def _set(self, controller, name, value, what):
        path = self._file(controller, name)
        try:
            self._write(path, value)
        except OSError as err:
            raise CgroupError("cannot apply %s: writing %s to %s: %s (%s)" % (
                what, value, path, err.strerror, errno.errorcode.get(err.errno, "?"))) from None

    # subsystems/memory.go
    def _set_memory(self, size):
        what = "--memory %s" % self.limits["memory"]
        if self._version("memory") == 2:
            self._set("memory", "memory.max", size, what)
            # No swap beyond the limit (docker's --memory-swap equal to --memory): else, on
            # a machine with swap, the container pages out instead of meeting the OOM killer.
            if os.path.exists(self._file("memory", "memory.swap.max")):
                self._set("memory", "memory.swap.max", 0, what)
        else:
            self._set("memory", "memory.limit_in_bytes", size, what)
            # memory+swap: the same total, so no swap either (needs swap accounting,
            # swapaccount=1; without it the file is absent and swap is not limited).
            if os.path.exists(self._file("memory", "memory.memsw.limit_in_bytes")):
                self._set("memory", "memory.memsw.limit_in_bytes", size, what)

    # subsystems/cpu.go
    def _set_cpu_shares(self, shares):
        what = "--cpu-shares %s" % self.limits["cpu-shares"]
        if self._version("cpu") == 2:
            self._set("cpu", "cpu.weight", shares_to_weight(shares), what)
        else:
            self._set("cpu", "cpu.shares", shares, what)

    def _set_cpus(self, quota):
        what = "--cpus %s" % self.limits["cpus"]
        if self._version("cpu") == 2:
            self._set("cpu", "cpu.max", "%d %d" % (quota, CPU_PERIOD), what)
        else:
            self._set("cpu", "cpu.cfs_period_us", CPU_PERIOD, what)
            self._set("cpu", "cpu.cfs_quota_us", quota, what)

    # subsystems/cpuset.go
    def _set_cpuset_cpus(self, cpus):
        what = "--cpuset-cpus %s" % self.limits["cpuset-cpus"]
        parent = os.path.dirname(self._dir("cpuset")[0])
        v2 = self._version("cpuset") == 2
        available = parse_cpu_list(_read(parent, "cpuset.cpus.effective" if v2
                                         else "cpuset.effective_cpus") or "") or set()
        if available and not cpus <= available:
            raise CgroupError("invalid value %r for --cpuset-cpus: CPU %s not available here "
                              "(available: %s)" % (self.limits["cpuset-cpus"],
                                                   format_cpu_list(cpus - available),
                                                   format_cpu_list(available)))
        self._set("cpuset", "cpuset.cpus", format_cpu_list(cpus), what)
        # A cpuset needs memory nodes too, or it refuses every process: the parent's.
        mems = _read(parent, "cpuset.mems.effective" if v2 else "cpuset.effective_mems")
        if mems:
            self._set("cpuset", "cpuset.mems", mems, what)

    # cgroup_manager.go: Apply
    def add(self, pid):
        """Move process ``pid`` (and so everything it will start) into the cgroup."""
        for path in self.dirs:
            try:
                self._write(os.path.join(path, "cgroup.procs"), pid, log=False)
            except OSError as err:
                raise CgroupError("cannot move the container into %s: %s" % (
                    path, err.strerror)) from None

    def oom_kills(self):
        """How many processes the OOM killer ended in this cgroup (read before remove())."""
        if "memory" not in self.hierarchies or not any(k == "memory" for k, _ in self.plan):
            return 0
        name = "memory.events" if self._version("memory") == 2 else "memory.oom_control"
        for line in (_read(self._dir("memory")[0], name) or "").splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    # cgroup_manager.go: Destroy
    def remove(self, timeout=2.0):
        """rmdir every directory made; retries while the last processes finish dying."""
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
                    time.sleep(0.01)
            try:
                os.rmdir(os.path.dirname(path))  # mydocker-lab/, if no other container uses it
            except OSError:
                pass
        self.dirs = []
        return left

    def describe(self):
        """``memory.max=104857600 cpu.weight=39`` for the log."""
        return " ".join("%s=%s" % (os.path.basename(p), v) for p, v in self.written)


def _fill_v1_cpuset(path, top):
    """A new v1 cpuset starts with no CPUs and no memory nodes and so refuses children
    their own: give ``path`` (and any empty ancestor) its parent's."""
    if path == top or _read(path, "cpuset.cpus"):
        return
    parent = os.path.dirname(path)
    _fill_v1_cpuset(parent, top)
    for name in ("cpuset.cpus", "cpuset.mems"):
        with open(os.path.join(path, name), "w") as f:
            f.write(_read(parent, name) or "")


def _read(directory, name):
    try:
        with open(os.path.join(directory, name)) as f:
            return f.read().strip()
    except OSError:
        return None


def _explain(err):
    path = err.filename or "?"
    what = "%s: %s (%s)" % (path, err.strerror, errno.errorcode.get(err.errno, "?"))
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "cannot create a cgroup: %s: limits need root (and a writable /sys/fs/cgroup)" \
            % what
    return "cannot create a cgroup: " + what
