"""Notebook 01 (namespaces): host-vs-container views, a namespace diagram, the explorer
and the exercise checkers.

Every Linux-level step runs on the target as a child process (a probe, a
``mydocker-lab run`` container or a command); this module only starts them
and shapes what they report for display.
"""
import html

from .common import ALL_KINDS, CHILD_HOSTNAME, HOSTNAME, KINDS, SHM_KEY
from .display import Html, Pre, SideBySide, Stack, Table, Verdict
from .grading import checker
from .labels import HOST_NAME, HostValues, host_values
from .targets import TargetError, get_target

__all__ = ["side_by_side", "transcript", "container", "host_values", "ns_links",
           "default_interface", "compare_namespaces", "NsComparison", "diagram", "flags_text",
           "describe", "run_explore", "explore", "explorer", "Exploration",
           "check_own_hostname", "check_host_network", "root_in_the_container",
           "userns_by_hand", "KINDS", "ALL_KINDS", "BOOK_KINDS",
           "WHAT", "HOSTNAME", "HOST_NAME"]

#: What each namespace isolates (the diagram's and the tables' wording).
WHAT = {"uts": "hostname", "pid": "process IDs", "mnt": "mount table",
        "net": "network devices", "ipc": "System V IPC, message queues",
        "user": "user and group IDs", "cgroup": "cgroup root", "time": "boot/monotonic clocks"}
#: The same, short enough for the picture.
SHORT = {"uts": "hostname", "pid": "process IDs", "mnt": "mounts", "net": "network",
         "ipc": "IPC", "user": "user IDs", "cgroup": "cgroups", "time": "clocks"}
#: The book's Cloneflags (container/container_process.go), as namespace names.
BOOK_KINDS = ("uts", "pid", "mnt", "net", "ipc")
CLONE_NAMES = {"uts": "CLONE_NEWUTS", "pid": "CLONE_NEWPID", "mnt": "CLONE_NEWNS",
               "net": "CLONE_NEWNET", "ipc": "CLONE_NEWIPC", "user": "CLONE_NEWUSER",
               "cgroup": "CLONE_NEWCGROUP"}


# -- running things on the target -------------------------------------------------------
def container(target, command, *options):
    """``mydocker-lab run --hostname lab [OPTIONS] COMMAND``; CompletedProcess."""
    return get_target(target).run_container(list(command), "--log-level", "error",
                                            "--hostname", HOSTNAME, *options)


def transcript(commands, where="host", target=None):
    """Run each shell command (a string) on the host or in a new container; show it
    like a terminal: ``$ command`` then what it printed (stdout and stderr)."""
    target = get_target(target)
    lines = []
    for command in commands:
        argv = ["sh", "-c", command + " 2>&1"]
        proc = container(target, argv) if where == "container" else target.run(argv)
        lines.append("$ " + command)
        lines += proc.stdout.rstrip("\n").splitlines()
    return "\n".join(lines)


def side_by_side(host_commands, container_commands, target=None):
    """The host's transcript beside a container's (each command in a fresh container
    by ``mydocker-lab run --hostname lab``). The containers run first, so the host's
    commands show what is left on the host afterwards.

    The machine's own values are shown as labels (:meth:`HostValues.label`); its hostname
    is read *before* the containers run, so ``<the host's name>`` on the host's side
    afterwards also says: unchanged.
    """
    target = get_target(target)
    mine = HostValues.read(target)
    inside = transcript(container_commands, "container", target)
    outside = transcript(host_commands, "host", target)
    return SideBySide(mine.label(outside, host=True), mine.label(inside, host=False),
                      "host", "container (mydocker-lab run)")


def ns_links(where="host", target=None):
    """``{"uts": "uts:[4026531838]", ...}`` of a process on the host or in a container."""
    return get_target(target).probe("ns-links", container=None if where == "host" else
                                    ["--log-level", "error", "--hostname", HOSTNAME])


def default_interface(target=None):
    """The name of the host's network card: the device that carries the default route
    (eth0, enp0s3, wlan0, ...), else the first device besides ``lo``."""
    nic = HostValues.read(target).nic
    if nic is None:
        raise TargetError("this machine has no network device besides lo")
    return nic


# -- host vs container: which namespaces are new ---------------------------------------
class NsComparison(Stack):
    """The namespaces of a host process beside a container's: same or NEW."""

    def __init__(self, host, child, left="host", right="container"):
        self.host, self.child, self.left, self.right = host, child, left, right
        kinds = [k for k in ALL_KINDS if k in host and k in child]
        self.shared = {k: host[k] == child[k] for k in kinds}
        rows = [[k, WHAT[k], host[k], child[k], "same" if self.shared[k] else "NEW"]
                for k in kinds]
        super().__init__(Table(["namespace", "isolates", left, right, right + "'s is"], rows),
                         diagram(self.shared, left + " process", right + " process"))

    @property
    def new(self):
        return [k for k, same in self.shared.items() if not same]


def compare_namespaces(target=None):
    """Read /proc/self/ns of a host process and of a ``mydocker-lab run`` container."""
    return NsComparison(ns_links("host", target), ns_links("container", target))


# -- root in the container is root on the host ------------------------------------------------
#: Where the container writes its file: the host's /tmp (the chapter-3 container has no
#: root file system of its own). Removed afterwards.
ROOT_DEMO_FILE = "/tmp/written-in-the-container"
#: A capability set as large as the bounding set: every capability this kernel lets a
#: process have (its size differs between kernels and machines).
BOUNDING_SET = "<the bounding set: every capability>"


def _caps_labelled(text):
    """Capability sets (``CapEff:\t000001ffffffffff``) equal to the process's bounding set
    (its CapBnd line) shown as the label BOUNDING_SET: the set differs between kernels."""
    lines = text.splitlines()
    bnd = [line.split()[1] for line in lines if line.startswith("CapBnd:")]
    out = []
    for line in lines:
        if line.startswith(("CapEff:", "CapBnd:")):
            name, value = line.split()[:2]
            line = "%s %s" % (name, BOUNDING_SET if bnd and value == bnd[0] else value)
        out.append(line)
    return "\n".join(out)


def root_in_the_container(target=None):
    """The container writes a file into /tmp and shows its uid and effective capabilities;
    then the host reads that file: the same file system, the same root. The file is
    removed afterwards."""
    target = get_target(target)
    mine = HostValues.read(target)
    caps = "grep -E '^Cap(Eff|Bnd)' /proc/self/status"
    inside = transcript(["id -u", caps, "echo 'written in the container' > %s && echo done"
                         % ROOT_DEMO_FILE], "container", target)
    try:
        outside = transcript(["cat " + ROOT_DEMO_FILE, "stat -c '%U %n' " + ROOT_DEMO_FILE,
                              caps], "host", target)
    finally:
        target.run(["rm", "-f", ROOT_DEMO_FILE])
    return SideBySide(mine.label(_caps_labelled(outside), host=True),
                      mine.label(_caps_labelled(inside), host=False),
                      "host (afterwards)", "container (mydocker-lab run)")


# -- rootless, by hand: uid_map, gid_map, setgroups -------------------------------------------
def userns_by_hand(target=None):
    """A shell in a new, unmapped user namespace; its maps written by hand from outside
    (probe ``userns-by-hand``); what it says before and after."""
    report = get_target(target).probe("userns-by-hand")
    uid = report["uid"]
    you = "uid %d%s" % (uid, " (root)" if uid == 0 else "")
    lines = ["# inside: unshare --user sh  (a new user namespace, nothing mapped yet)"]
    lines += report["before"]
    lines += ["", "# outside, in the parent namespace, as %s: its files, by hand" % you]
    for name, text, result in report["writes"][:3]:
        lines.append("$ echo '%s' > /proc/<its pid>/%s   %s" % (text, name, result))
    lines += ["", "# inside again"] + report["after"]
    lines += ["", "# outside: that file is owned by uid %s (you)" % report["file_owner_outside"]]
    name, text, result = report["writes"][3]
    lines.append("$ echo '%s' > /proc/<its pid>/%s   %s  (a map is written once)"
                 % (text, name, result))
    return Pre("\n".join(lines))


# -- the picture -------------------------------------------------------------------------
_BLUE, _ORANGE, _GREY = "#4a7ebb", "#d9822b", "#8a8f98"
#: Namespaces that form a tree: a new one is a child of its creator's, which still sees
#: (PID: numbers) or owns (user: the capabilities over) what is inside it.
NESTED = ("pid", "user")


def diagram(shared, left="host process", right="container process"):
    """An SVG: one row per namespace kind. A shared namespace is one wide box around both
    processes; a new one is two boxes, the right one orange, except a new PID or user
    namespace, which is drawn *inside* the parent's (they nest). Deterministic."""
    kinds = [k for k in ALL_KINDS if k in shared]
    row, top, width = 34, 58, 620
    col = (150, 390)  # left edges of the two process columns
    height = top + row * len(kinds) + 12
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
             'viewBox="0 0 %d %d" font-family="sans-serif" font-size="13" '
             'role="img" aria-label="namespaces of two processes">' % (width, height, width,
                                                                      height)]
    for x, name, color in ((col[0], left, _BLUE), (col[1], right, _ORANGE)):
        parts.append('<circle cx="%d" cy="22" r="9" fill="%s"/>' % (x + 14, color))
        parts.append('<text x="%d" y="27" font-weight="bold" fill="%s">%s</text>'
                     % (x + 30, color, html.escape(name)))
    for i, kind in enumerate(kinds):
        y = top + i * row
        parts.append('<text x="8" y="%d" font-weight="bold">%s</text>' % (y + 18, kind))
        parts.append('<text x="66" y="%d" font-size="11" fill="%s">%s</text>'
                     % (y + 18, _GREY, html.escape(SHORT[kind])))
        if not shared[kind] and kind in NESTED:
            # a new PID or user namespace is a child of the parent's: drawn inside it
            parts.append('<rect x="%d" y="%d" width="%d" height="26" rx="8" fill="%s" '
                         'fill-opacity="0.12" stroke="%s" stroke-width="2"/>'
                         % (col[0], y, width - col[0] - 10, _BLUE, _BLUE))
            parts.append('<text x="%d" y="%d" fill="%s" font-weight="bold">the host\'s %s'
                         '</text>' % (col[0] + 12, y + 18, _BLUE, kind))
            parts.append('<rect x="%d" y="%d" width="%d" height="20" rx="6" fill="white" '
                         'stroke="%s" stroke-width="2"/>' % (col[1], y + 3, width - col[1] - 16,
                                                             _ORANGE))
            parts.append('<text x="%d" y="%d" text-anchor="middle" fill="%s" '
                         'font-weight="bold">NEW %s, nested in it</text>'
                         % ((col[1] + width - 16) // 2, y + 18, _ORANGE, kind))
        elif shared[kind]:
            parts.append('<rect x="%d" y="%d" width="%d" height="26" rx="8" fill="%s" '
                         'fill-opacity="0.12" stroke="%s"/>' % (col[0], y, width - col[0] - 10,
                                                                _GREY, _GREY))
            parts.append('<text x="%d" y="%d" text-anchor="middle" fill="#444">one %s namespace,'
                         ' shared by both</text>' % ((col[0] + width - 10) // 2, y + 18, kind))
        else:
            for x, color, label in ((col[0], _BLUE, "the host's"), (col[1], _ORANGE, "NEW")):
                parts.append('<rect x="%d" y="%d" width="220" height="26" rx="8" fill="%s" '
                             'fill-opacity="0.15" stroke="%s" stroke-width="2"/>'
                             % (x, y, color, color))
                parts.append('<text x="%d" y="%d" text-anchor="middle" fill="%s" '
                             'font-weight="bold">%s %s</text>' % (x + 110, y + 18, color,
                                                                   label, kind))
    parts.append("</svg>")
    text = ["%-8s %-22s %-22s" % ("", left, right)]
    for kind in kinds:
        if not shared[kind] and kind in NESTED:
            text.append("%-8s [%s [%s]]" % (kind, "the host's".center(19),
                                            ("NEW, nested in it").center(20)))
        elif shared[kind]:
            text.append("%-8s [%s]" % (kind, ("one namespace, shared by both").center(43)))
        else:
            text.append("%-8s [%s] [%s]" % (kind, "the host's".center(20), "NEW".center(20)))
    return Html("".join(parts), "\n".join(text))


# -- the explorer -------------------------------------------------------------------------
def flags_text(kinds):
    """``CLONE_NEWUTS | CLONE_NEWPID = 0x24000000`` for a list of namespace names."""
    from .. import linux
    value = 0
    for kind in kinds:
        value |= linux.NAMESPACE_FLAGS[kind]
    names = " | ".join(CLONE_NAMES[k] for k in KINDS if k in kinds) or "(no flags)"
    return "%s = %#010x" % (names, value)


def describe(kinds):
    """One line: the namespaces a child gets, as clone flags."""
    if not kinds:
        return "child in no new namespace: it shares all of the parent's (flags 0)"
    note = "  (the book's Cloneflags)" if set(kinds) == set(BOOK_KINDS) else ""
    return "child in new namespaces: %s%s" % (flags_text(kinds), note)


def run_explore(kinds, target=None):
    """Run the experiment (probe ``ns-explore``) on the target; its raw report."""
    kinds = [k for k in KINDS if k in kinds]
    return get_target(target).probe("ns-explore", ",".join(kinds))


class Exploration(Stack):
    """What a child in the namespaces ``kinds`` saw, beside its parent (the host)."""

    def __init__(self, report):
        self.report = report
        kinds, parent, child = report["kinds"], report["parent"], report["child"]
        own = {k: parent["ns"][k] != child["ns"][k] for k in ALL_KINDS
               if k in parent["ns"] and k in child["ns"]}
        self.own = own

        def iso(kind):
            return "NEW: its own" if own[kind] else "the parent's"

        # the host's name differs on every machine: shown as a label, compared here
        before, after = parent["hostname_before"], parent["hostname_after"]
        host_name = ("%s (unchanged)" % HOST_NAME if after == before
                     else "%s (the child renamed it!)" % after)
        child_name = ((HOST_NAME if child["hostname"] == before else child["hostname"])
                      + ("" if child["sethostname"] == "ok"
                         else " (sethostname: %s)" % child["sethostname"]))
        child_pid = "PID %d" % child["pid"]
        mount = ("mounted it" if child["mount"] == "ok" else "mount: %s" % child["mount"])
        parent_mount = ("sees the child's tmpfs!" if parent["mount_seen"]
                        else "sees no mount there")
        ifaces = ("only lo" if child["ifaces"] == ["lo"]
                  else "the host's" if child["ifaces"] == parent["ifaces"]
                  else ", ".join(child["ifaces"]))
        uid = child["uid"]
        uid_text = "uid %d%s" % (uid, " (nobody): uid_map is empty" if uid == 65534
                                 and not child["uid_map"] else " (root)" if uid == 0 else "")
        rows = [
            ["uts", "sethostname(%r)" % CHILD_HOSTNAME, child_name, host_name, iso("uts")],
            ["pid", "getpid()", child_pid, "calls it PID %d" % parent["child_pid"],
             iso("pid")],
            ["mnt", "mount tmpfs on /tmp/scratch", mount, parent_mount, iso("mnt")],
            ["net", "list network devices", ifaces, "the host's", iso("net")],
            ["ipc", "shmget(%#x) made by parent" % SHM_KEY,
             "sees it" if child["shm_seen"] else "cannot see it", "made it", iso("ipc")],
            ["user", "geteuid()", uid_text, "uid %d (root)" % parent["uid"], iso("user")],
        ]
        super().__init__(
            describe(kinds),
            diagram({k: not own[k] for k in KINDS}, "parent (the host)", "child"),
            Table(["ns", "the child tries", "child sees", "parent (the host) sees",
                   "child's namespace"], rows))


def explore(uts=False, pid=False, mnt=False, net=False, ipc=False, user=False, target=None):
    """The explorer's function: tick namespaces, see what a child in them sees."""
    chosen = dict(uts=uts, pid=pid, mnt=mnt, net=net, ipc=ipc, user=user)
    return Exploration(run_explore([k for k in KINDS if chosen[k]], target))


def explorer(target=None, **initial):
    """The namespace picker: one checkbox per namespace; under them, what a child in the
    ticked namespaces sees (an Explorer, see widgets.py; ``.result`` is the Exploration)."""
    from ipywidgets import Checkbox
    from .widgets import explorer as make_explorer
    boxes = {k: Checkbox(value=bool(initial.get(k, False)), description="%s (%s)"
                         % (k, WHAT[k].split(",")[0]), indent=False) for k in KINDS}
    return make_explorer(lambda **ticked: explore(target=target, **ticked), **boxes)


# -- exercises ----------------------------------------------------------------------------
@checker
def check_own_hostname(answer, target=None, timeout=60):
    """Exercise 1: ``answer`` is a shell command that starts a child with its own hostname
    (any name but the host's) and prints that hostname last, leaving the host's alone.

    The probe runs it inside a throw-away UTS namespace (standing for the host), so a wrong
    answer cannot rename your machine, and watches every process the command starts: as
    each one ends, its UTS namespace and that namespace's hostname. The answer passes when
    a process of it had a UTS namespace of its own, called by the name it printed last.
    """
    if not isinstance(answer, str) or not answer.strip():
        return Verdict(False, "the answer is not a shell command (a non-empty string)",
                       "write it as a string, e.g. ANSWER = \"unshare --uts sh -c '...'\"")
    report = get_target(target).probe("uts-exercise", answer, timeout, timeout=timeout + 120)
    if "ptrace_refused" in report:
        return Verdict(False, "the checker cannot watch your command's processes on this "
                       "machine: ptrace is refused (%s)" % report["ptrace_refused"],
                       "a security module forbids it (Yama's ptrace_scope 3?): check this "
                       "exercise in the course VM (MYDOCKER_LAB_TARGET=vagrant)")
    if "timeout" in report:
        return Verdict(False, "your command did not end (%s)" % report["timeout"],
                       "the child should print its name and exit: no interactive shell, "
                       "nothing that waits for input")
    host, own = report["host"]["before"], report["own"]
    lines = report["output"].strip().splitlines()
    printed = lines[-1].strip() if lines else ""

    def label(text):  # the host's name (different on every machine) as its label
        return "\n".join(HOST_NAME if line == host else line for line in text.splitlines())

    shown = "\n".join(["$ %s" % answer] + [label(t.rstrip("\n")) for t in
                                            (report["output"], report["errors"]) if t.strip()])
    if report["host"]["after"] != host:
        return Verdict(False, "that renamed the host to %r (we ran it in a throw-away "
                       "namespace, so your machine's name is unchanged)"
                       % report["host"]["after"],
                       "the child needs its own UTS namespace: start it with `unshare --uts "
                       "...` (without root: `unshare --user --map-root-user --uts ...`)", shown)
    if report["status"] != 0:
        return Verdict(False, "your command failed (exit status %d)" % report["status"],
                       "run it in a terminal first; `unshare --uts sh -c '...'` runs a small "
                       "script in a child with its own hostname (without root: add "
                       "`--user --map-root-user`)", shown)
    if not printed:
        return Verdict(False, "your command printed nothing",
                       "end the child's script with `hostname`, so it prints its own name",
                       shown)
    if printed == host:
        return Verdict(False, "the child is still called %s, like the host" % HOST_NAME,
                       "inside the child, set a new name (`hostname NAME`), then print it",
                       shown)
    if not own:
        return Verdict(False, "no process of your command had a UTS namespace of its own: "
                       "it printed %r, but that is not anyone's hostname" % label(printed),
                       "printing a name gives no one a hostname: start a child with "
                       "`unshare --uts` (a new UTS namespace), rename it there, print it",
                       shown)
    names = sorted(set(own.values()))
    if printed not in names:
        return Verdict(False, "a child had a UTS namespace of its own, called %s there; the "
                       "last line printed, %r, is not that name"
                       % (" or ".join(repr(label(n)) for n in names), printed),
                       "the child itself should print its name last (`hostname`, in the "
                       "child, after renaming it)", shown)
    return Verdict(True, "a child had a UTS namespace of its own, called %r there, printed "
                   "it last, and the host's name is unchanged" % printed, details=shown)


def _iterable(value):
    try:
        return list(value)
    except TypeError:
        return [None]


@checker
def check_host_network(kinds, target=None):
    """Exercise 2: the namespaces of ``docker run --network host`` (with the book's other
    namespaces): everything the book isolates except the network; no user namespace.

    Runs the explorer's experiment with ``kinds`` and checks what the child saw.
    """
    if isinstance(kinds, str) or not all(isinstance(k, str) for k in _iterable(kinds)):
        return Verdict(False, "the answer is not a set of namespace names",
                       "write a set of strings, e.g. {\"uts\", \"pid\"}")
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        return Verdict(False, "unknown namespace name %s" % ", ".join(map(repr, unknown)),
                       "use the names of the explorer: %s" % ", ".join(KINDS))
    kinds = [k for k in KINDS if k in kinds]
    report = run_explore(kinds, target)
    parent, child = report["parent"], report["child"]
    problems = []
    if child["pid"] != 1:
        problems.append(("the child is not PID 1: it can see (and signal) the host's "
                         "processes", "pid"))
    if parent["hostname_after"] != parent["hostname_before"]:
        problems.append(("the child's sethostname renamed the host", "uts"))
    elif child["sethostname"] != "ok":
        problems.append(("the child may not set its hostname (%s)" % child["sethostname"],
                         "uts"))
    if parent["mount_seen"]:
        problems.append(("the child's mount showed up on the host", "mnt"))
    elif child["mount"] != "ok":
        problems.append(("the child may not mount (%s)" % child["mount"], "mnt"))
    if child["shm_seen"]:
        problems.append(("the child sees the host's shared memory", "ipc"))
    if child["ifaces"] != parent["ifaces"]:
        problems.append(("the child sees %s, not the host's network devices"
                         % ", ".join(child["ifaces"]), "net"))
    if child["uid"] != parent["uid"]:
        problems.append(("the child is uid %d, not the host's root: a user namespace "
                         "without a uid map" % child["uid"], "user"))
    details = describe(kinds)
    if not problems:
        return Verdict(True, "that is --network host: own hostname, PIDs, mounts and IPC; "
                       "the host's network", details=details)
    details += "\n" + "\n".join("- " + p for p, _ in problems)
    first = problems[0][1]
    hint = {"net": "with --network host the container keeps the host's network namespace",
            "user": "the book's container has no user namespace: root inside is root outside",
            }.get(first, "the child needs its own %s namespace (%s)" % (first, WHAT[first]))
    return Verdict(False, "%d thing%s not right" % (len(problems),
                                                    "s" if len(problems) > 1 else ""),
                   hint, details)
