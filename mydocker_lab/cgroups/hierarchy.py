"""Where the cgroup hierarchies are (the book's ``subsystems/utils.go``:
``FindCgroupMountpoint``, ``GetCgroupPath``), for any of cgroup v1, v2 or a hybrid.

We decide per controller, at run time, from ``/proc/self/mountinfo``: a cgroup
v1 mount that carries it, else the cgroup2 mount if its ``cgroup.controllers``
lists it. Where a container's cgroup goes (as runc does for a relative cgroup
path): v1, ``<hierarchy>/<our own cgroup>/mydocker-lab/<name>``, inside the cgroup
we were started in, so whatever limits bind the caller also bind the container;
v2, the same one level up (``<parent of our cgroup>/mydocker-lab/<name>``),
because our own cgroup has processes (us), and cgroup v2 lets only a cgroup
without processes share out its controllers to children.
"""
import os

#: The controllers mydocker-lab uses.
CONTROLLERS = ("memory", "cpu", "cpuset")
#: Parent directory of every container's cgroup, below the place described above.
PARENT = "mydocker-lab"


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

    def parent(self):
        """The directory holding the containers' cgroups: ``<base>/mydocker-lab``."""
        return os.path.join(self.base(), PARENT)

    def __repr__(self):
        return "<cgroup v%d %s %s>" % (self.version, self.mountpoint, ",".join(self.controllers))


def read(directory, name):
    """A cgroup file's content, stripped; None if it cannot be read."""
    try:
        with open(os.path.join(directory, name)) as f:
            return f.read().strip()
    except OSError:
        return None


def unescape(field):
    """mountinfo writes space, tab, newline and backslash as \\040, \\011, \\012, \\134."""
    parts = field.split("\\")
    out = [parts[0]]
    for part in parts[1:]:
        code = part[:3]
        if len(code) == 3 and set(code) <= set("01234567"):
            out.append(chr(int(code, 8)) + part[3:])
        else:
            out.append("\\" + part)
    return "".join(out)


def own_cgroups():
    """This process's cgroups, from /proc/self/cgroup: {controller name: path} for the v1
    hierarchies, and {2: path} for the v2 (unified) one."""
    own = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            number, names, path = line.rstrip("\n").split(":", 2)
            if number == "0" and not names:
                own[2] = path
            for name in names.split(","):
                if name:
                    own[name] = path
    return own


def find_hierarchies():
    """{controller: Hierarchy} for the controllers we use, from this process's view
    (and "unified": the cgroup2 mount, if any, for error messages)."""
    own = own_cgroups()
    found = {}
    unified = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, options = fields[sep + 1], fields[sep + 3].split(",")
            root, mountpoint = unescape(fields[3]), unescape(fields[4])
            if fstype == "cgroup":
                names = [c for c in CONTROLLERS if c in options]
                if names and names[0] in own:
                    hierarchy = Hierarchy(1, mountpoint, root, names, own[names[0]])
                    for name in names:
                        found.setdefault(name, hierarchy)
            elif fstype == "cgroup2" and unified is None and 2 in own:
                unified = Hierarchy(2, mountpoint, root, [], own[2])
    if unified is not None:
        unified.controllers = (read(unified.mountpoint, "cgroup.controllers") or "").split()
        for name in unified.controllers:
            if name in CONTROLLERS and name not in found:
                found[name] = unified
        found["unified"] = unified  # not a controller: for error messages
    return found


def why_missing(controller, hierarchies):
    """One line: why ``controller`` cannot be used here."""
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
