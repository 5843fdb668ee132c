"""Notebook 02 (/proc and mount flags): ps in a PID namespace, the flag matrix, shared vs
private propagation and the book's /proc bug, and the exercise checkers.

Every Linux-level step runs on the target as a child process (``unshare``, a probe,
``mydocker-lab run``); each experiment that mounts something does it inside a
throw-away mount namespace, so nothing reaches the host. Without root, a user namespace
comes first (``unshare --user --map-root-user``): root inside, yourself outside; what the
kernel refuses there is shown as root's result, labelled.
"""
import html
import shlex

from .. import linux
from .common import HOSTNAME
from .display import Html, Note, SideBySide, Stack, Table, Transcript, Verdict
from .grading import checker
from .labels import HostValues
from .targets import TargetError, get_target

FLAGS = (("MS_NOEXEC", linux.MS_NOEXEC, "noexec"), ("MS_NOSUID", linux.MS_NOSUID, "nosuid"),
         ("MS_NODEV", linux.MS_NODEV, "nodev"))


def flags_text(value):
    """``MS_NOEXEC | MS_NODEV = 0xc``"""
    names = [name for name, bit, _ in FLAGS if value & bit]
    return "%s = %#x" % (" | ".join(names) or "0 (no flags)", value)


# -- shell transcripts --------------------------------------------------------------------
def script(commands, prompt="$"):
    """A shell script that prints each command (after ``prompt``) and then runs it. A
    command may be a pair ``(shown, run)``: what the transcript shows, what runs (e.g.
    ``mydocker-lab run`` for this environment's ``/path/to/python -m mydocker_lab run``)."""
    lines = []
    for command in commands:
        shown, run = command if isinstance(command, tuple) else (command, command)
        lines.append("printf '%%s\\n' %s" % shlex.quote("%s %s" % (prompt, shown)))
        lines.append("{ %s\n} 2>&1" % run)
    return "\n".join(lines)


def unshare(target=None):
    """``unshare``, as the target's user may run it: as root plain; without root, in a user
    namespace of its own first (root inside, yourself outside), which then owns the new
    namespaces."""
    return ["unshare"] + ([] if get_target(target).root else ["--user", "--map-root-user"])


def session(prefix, commands, target=None, env=None, prompt="$", host=True):
    """Run ``commands`` in one ``sh`` started by ``prefix`` (e.g. ``["unshare", "--pid"]``)
    on the target; the transcript (``str()`` gives the text), with the machine's own values
    shown as labels (``host``: the host's PID 1 too, see ``HostValues.label``)."""
    target = get_target(target)
    mine = HostValues.read(target)
    proc = target.run(list(prefix) + ["sh", "-c", script(commands, prompt)],
                      env=env, timeout=60)
    return Transcript.from_text(mine.label((proc.stdout + proc.stderr).rstrip("\n"),
                                           host=host))


# -- 1. a new PID namespace, with and without its own /proc ---------------------------------
PID_COMMANDS = ['echo "PID $$"', "ps -o pid,comm -p $$", "ps -e -o pid= | wc -l",
                'echo "/proc/self: PID $(readlink /proc/self), then PID $(readlink /proc/self)"']
#: How many processes ``ps -e`` lists on the host differs by machine and moment: a label.
HOST_PROCESSES = "<all of the host's processes>"
#: In the new PID namespace with its own /proc, ps -e sees sh, ps and wc.
NEW_NAMESPACE_PROCESSES = 3


def _count_labelled(transcript):
    """The line after ``$ ps -e -o pid= | wc -l``: more than the new namespace's own three
    processes -> HOST_PROCESSES (the code compares, the page shows the label)."""
    lines = transcript.split("\n")
    for i, line in enumerate(lines[:-1]):
        if line == "$ " + PID_COMMANDS[2] and lines[i + 1].strip().isdigit() \
                and int(lines[i + 1]) > NEW_NAMESPACE_PROCESSES:
            lines[i + 1] = HOST_PROCESSES
    return "\n".join(lines)


def ps_in_new_pid_namespace(target=None):
    """``ps`` in a new PID namespace: with the host's /proc (left), with its own (right).
    On the left, ``ps`` reports the host's PID 1 (shown as ``<the host's init>``) and counts
    the host's processes (shown as HOST_PROCESSES): whatever numbers this machine's /proc
    has, small PIDs or not."""
    prefix = unshare(target) + ["--pid", "--fork"]
    left = session(prefix, PID_COMMANDS, target, host=True)
    right = session(prefix + ["--mount-proc"], PID_COMMANDS, target, host=False)
    return SideBySide(Transcript.from_text(_count_labelled(str(left))), right,
                      "unshare --pid --fork  (the host's /proc)",
                      "unshare --pid --fork --mount-proc  (its own /proc)")


#: How the host mounted its /proc differs between machines (systemd: rw,nosuid,nodev,
#: noexec,relatime; others rw,relatime): shown as this label.
HOST_OPTIONS = "<the host's options>"


def proc_mount_options(target=None):
    """How /proc is mounted: on the host, and in a ``mydocker-lab run`` container.

    The host's own options are shown as ``<the host's options>``, on the host and on the
    container's copy of the host's mount (compared here); the container's own /proc
    mount, the last line, is shown as it is."""
    target = get_target(target)
    command = "findmnt -n -o TARGET,FSTYPE,OPTIONS /proc"
    host = target.run(["sh", "-c", command + " 2>&1"]).stdout.rstrip("\n").splitlines()
    inside = target.run_container(["sh", "-c", command + " 2>&1"], "--log-level", "error",
                                  "--hostname", HOSTNAME).stdout.rstrip("\n").splitlines()

    def label(line):
        if line not in host or len(line.split()) != 3:
            return line
        return line[:line.rindex(line.split()[2])] + HOST_OPTIONS
    host_view = [label(line) for line in host]
    inside_view = [label(line) for line in inside[:-1]] + inside[-1:]
    return SideBySide("\n".join(["$ " + command] + host_view),
                      "\n".join(["$ " + command] + inside_view),
                      "host", "container (mydocker-lab run)")


# -- 2. the flag matrix ------------------------------------------------------------------
def run_flags(value, target=None):
    """Probe ``mount-flags``: a scratch tmpfs mounted with ``value``; the raw report."""
    return get_target(target).probe("mount-flags", "%#x" % value)


def root_setuid_result(value):
    """What root sees in the setuid test for the flags ``value`` (the tests check it against
    a real run as root): shown, labelled, where the test cannot run without root."""
    if value & linux.MS_NOEXEC:
        return "✘ cannot even run it: EACCES (noexec)"
    if value & linux.MS_NOSUID:
        return "euid 65534 (nobody): the setuid bit was ignored"
    return "euid 0 (root): the setuid bit worked"


#: The label of a result that root sees and this run could not (rootless).
AS_ROOT = "as root (stored result, not run here): "


class FlagMatrix(Stack):
    """What a scratch tmpfs mounted with some flags refuses."""

    def __init__(self, report):
        self.report = report
        value = report["flags"]
        ex, su, dev = report["exec"], report["setuid"], report["device"]
        self.rootless = su.get("ran") is None
        self.refused = {"MS_NOEXEC": not ex["ok"],
                        "MS_NOSUID": (bool(value & linux.MS_NOSUID) if self.rootless
                                      else su["ran"] and su["euid"] != 0),
                        "MS_NODEV": not dev["ok"]}
        exec_text = ("✔ ran it: %s" % ex["output"] if ex["ok"]
                     else "✘ refused: %s" % ex["error"])
        exec_text += "; mmap(PROT_EXEC): %s" % ("✔ mapped" if ex.get("mmap_exec") == "ok"
                                                else "✘ refused: %s" % ex.get("mmap_exec"))
        if self.rootless:
            suid_text = AS_ROOT + root_setuid_result(value)
        elif not su["ran"]:
            suid_text = "✘ cannot even run it: %s (noexec)" % su["error"]
        elif su["euid"] == 0:
            suid_text = "euid 0 (root): the setuid bit worked"
        else:
            suid_text = "euid %d (nobody): the setuid bit was ignored" % su["euid"]
        dev_text = "✔ opened it" if dev["ok"] else "✘ refused: %s" % dev["error"]
        device = ("open a char device 1,3 made with mknod (like /dev/null)"
                  if report.get("device_made_by", "mknod") == "mknod" else
                  "open /dev/null, bind-mounted there with these flags (mknod needs root)")
        rows = [["MS_NOEXEC", "run ./hello.sh (execve); mmap it with PROT_EXEC", exec_text],
                ["MS_NOSUID", "nobody runs a setuid-root copy of id", suid_text],
                ["MS_NODEV", device, dev_text]]
        for row, (name, bit, _) in zip(rows, FLAGS):
            row[0] = ("[x] " if value & bit else "[ ] ") + name
        note = None
        if self.rootless:
            note = Note("Without root, this ran in a user namespace of your own. The setuid "
                        "row is what root sees (a stored result, not run here): the test %s."
                        % report["setuid"]["needs_root"])
        super().__init__("mount(\"scratch\", \"/tmp/scratch\", \"tmpfs\", %s, \"mode=755\")"
                         % flags_text(value),
                         "the kernel lists it as: %s" % report["options"],
                         Table(["flag", "test", "result"], rows), note)


def flag_matrix(noexec=False, nosuid=False, nodev=False, target=None):
    """The widget's function: tick flags, see what the scratch mount refuses."""
    value = ((linux.MS_NOEXEC if noexec else 0) | (linux.MS_NOSUID if nosuid else 0)
             | (linux.MS_NODEV if nodev else 0))
    return FlagMatrix(run_flags(value, target))


def flag_explorer(target=None, **initial):
    """The flag matrix as an explorer: one checkbox per flag, the matrix under them (an
    Explorer, see widgets.py; ``.result`` is the FlagMatrix)."""
    from ipywidgets import Checkbox
    from .widgets import explorer
    boxes = {short: Checkbox(value=bool(initial.get(short, False)), description=name,
                             indent=False) for name, _, short in FLAGS}
    return explorer(lambda **ticked: flag_matrix(target=target, **ticked), **boxes)


# -- nodev and the chapter-3 container ---------------------------------------------------------
DEVICE_COMMANDS = [
    "mount -t tmpfs lab /mnt",
    "mknod /mnt/null c 1 3 && echo hello > /mnt/null && echo 'c 1 3 (null): opened'",
    "mknod /mnt/disk b 8 0 && head -c 0 /mnt/disk && echo 'b 8 0 (sda): opened'",
]
#: What opening ``b 8 0`` gives when no mount flag refuses it: it opens where the machine has
#: a first SCSI/SATA disk, and ENXIO where it has none. Either way: not refused.
DISK_NOT_REFUSED = ("<not refused: it opens where this machine has a first SCSI/SATA disk "
                    "(sda); ENXIO where it has none>")


def _disk_labelled(text):
    lines = []
    for line in text.split("\n"):
        if line == "b 8 0 (sda): opened" or (line.startswith("head: cannot open '/mnt/disk'")
                                             and line.endswith("No such device or address")):
            line = "b 8 0 (sda): " + DISK_NOT_REFUSED
        lines.append(line)
    return "\n".join(lines)


def devices_in_the_container(target=None):
    """In a ``mydocker-lab run`` container, on a tmpfs of its own (nothing reaches the host):
    make a device node for /dev/null's device and one for the first SCSI/SATA disk, and
    open them. Neither is refused: the container's mounts are not nodev and no device
    cgroup restricts it."""
    target = get_target(target)
    script_text = script(DEVICE_COMMANDS, "container#")
    proc = target.run_container(["sh", "-c", script_text], "--log-level", "error",
                                "--hostname", HOSTNAME)
    return Transcript.from_text(_disk_labelled((proc.stdout + proc.stderr).rstrip("\n")))


# -- 3. propagation and the book's /proc bug -------------------------------------------------
BOOK_MOUNT = "mount -t proc -o nosuid,noexec,nodev proc /proc"
FIX = "mount --make-rprivate /"
CONTAINERS = {
    "book": [BOOK_MOUNT, "ps -e -o pid,comm"],
    "fix": [FIX, BOOK_MOUNT, "ps -e -o pid,comm"],
}
HOST_AFTER = ["ps -o comm= -p 1", "cat /proc/self/comm"]
_CHECK = "test -e /proc/self && echo @@proc-ok || echo @@proc-broken"


def propagation_script(host="shared", container="book", target=None):
    """The experiment: a throw-away mount namespace stands for the host (its ``/`` made
    r``host``); a container (new mount and PID namespaces, like the book's) mounts /proc;
    then the "host" runs ps."""
    if container == "mydocker-lab":
        args = ["--log-level", "error", "run", "--hostname", HOSTNAME, "ps", "-e", "-o",
                "pid,comm"]
        # shown as a student types it; run with this environment's interpreter
        start = [(shlex.join(["mydocker-lab"] + args),
                  shlex.join(get_target(target).mydocker(*args)))]
    else:
        start = ['unshare --mount --propagation unchanged --pid --fork sh -c "$CONTAINER"']
    return script(["mount --make-r%s /" % host, "findmnt -n -o PROPAGATION /proc"] + start
                  + HOST_AFTER, "host#") + "\n" + _CHECK


def propagation(host="shared", container="book", target=None):
    """Run the experiment in a throw-away mount namespace; return ``(transcript, leaked)``."""
    if host not in ("shared", "private") or container not in ("book", "fix", "mydocker-lab"):
        raise ValueError("host: shared or private; container: book, fix or mydocker-lab")
    target = get_target(target)
    env = {"CONTAINER": script(CONTAINERS.get(container, []), "container#")}
    argv = unshare(target) + ["--mount", "sh", "-c",
                              propagation_script(host, container, target)]
    proc = target.run(argv, env=env, timeout=60)
    out = proc.stdout + proc.stderr
    if "@@proc-" not in out:
        raise TargetError("the propagation experiment failed (exit %d):\n%s"
                          % (proc.returncode, out))
    leaked = "@@proc-broken" in out
    text = "\n".join(line for line in out.splitlines() if not line.startswith("@@proc-"))
    return HostValues.read(target).label(text), leaked


class Propagation(Stack):
    def __init__(self, host, container, transcript, leaked):
        self.host, self.container, self.transcript, self.leaked = (host, container,
                                                                   transcript, leaked)
        verdict = Verdict(not leaked, "the host's /proc was replaced: its ps is broken"
                          if leaked else "the host's /proc is untouched")
        super().__init__(propagation_diagram(host, container != "book"),
                         Transcript.from_text(transcript), verdict)


def explore_propagation(host="shared", container="book", target=None):
    """The propagation widget's function."""
    return Propagation(host, container, *propagation(host, container, target))


def propagation_explorer(target=None):
    """The propagation explorer: the host's ``/`` and the container's init, chosen from two
    dropdowns; the picture and the run under them (an Explorer, see widgets.py)."""
    from ipywidgets import Dropdown
    from .widgets import explorer
    return explorer(lambda **chosen: explore_propagation(target=target, **chosen),
                    host=Dropdown(options=[("shared (systemd hosts)", "shared"),
                                           ("private (hosts without systemd)", "private")],
                                  value="shared", description="host's /"),
                    container=Dropdown(options=[("the book's init.go", "book"),
                                                ("the fix: make / private first", "fix"),
                                                ("mydocker-lab run (ours)", "mydocker-lab")],
                                       value="book", description="container"))


def book_vs_fix(target=None):
    """The book's way beside the fix, both on a shared host ``/``."""
    left, leaked_left = propagation("shared", "book", target)
    right, leaked_right = propagation("shared", "fix", target)
    return SideBySide(left, right, "the book's init.go" + (": LEAKED" if leaked_left else ""),
                      "with the fix" + (": LEAKED" if leaked_right else ": no leak"))


_RED, _GREEN, _BLUE, _ORANGE, _GREY = "#c62828", "#2e7d32", "#4a7ebb", "#d9822b", "#8a8f98"


def propagation_diagram(host="shared", private_container=False):
    """SVG: the host's and the container's mount namespaces, their /proc mounts, and
    whether the container's ``mount proc`` travels to the host. Deterministic."""
    peers = host == "shared" and not private_container
    w, h = 640, 232
    color = _RED if peers else _GREEN
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="sans-serif" font-size="13" role="img" aria-label="mount propagation">'
           % (w, h, w, h),
           '<defs><marker id="mydocker-lab-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
           'markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" '
           'fill="%s"/></marker></defs>' % _RED]
    for x, title, ns_color, mode in ((20, "host mount namespace", _BLUE, host),
                                     (380, "container mount namespace", _ORANGE,
                                      "private" if private_container else host)):
        out.append('<rect x="%d" y="10" width="240" height="165" rx="10" fill="%s" '
                   'fill-opacity="0.08" stroke="%s" stroke-width="2"/>' % (x, ns_color, ns_color))
        out.append('<text x="%d" y="32" font-weight="bold" fill="%s">%s</text>'
                   % (x + 12, ns_color, title))
        for y, label in ((48, "/"), (92, "/proc")):
            out.append('<rect x="%d" y="%d" width="170" height="30" rx="6" fill="white" '
                       'stroke="%s"/>' % (x + 35, y, _GREY))
            out.append('<text x="%d" y="%d" text-anchor="middle">%s  (%s)</text>'
                       % (x + 120, y + 20, label, mode))
    # the container's new proc mount, stacked on its /proc
    out.append('<rect x="415" y="132" width="170" height="30" rx="6" fill="%s" fill-opacity="0.2" '
               'stroke="%s" stroke-width="2"/><text x="500" y="152" text-anchor="middle" '
               'fill="%s">+ mount proc on /proc</text>' % (_ORANGE, _ORANGE, _ORANGE))
    if peers:
        out.append('<rect x="55" y="132" width="170" height="30" rx="6" fill="%s" '
                   'fill-opacity="0.15" stroke="%s" stroke-width="2" stroke-dasharray="5,3"/>'
                   '<text x="140" y="152" text-anchor="middle" fill="%s">+ the same, arrived!'
                   '</text>' % (_RED, _RED, _RED))
        out.append('<path d="M 413 147 L 229 147" stroke="%s" stroke-width="3" fill="none" '
                   'marker-end="url(#mydocker-lab-arrow)"/>' % _RED)
        out.append('<line x1="255" y1="107" x2="385" y2="107" stroke="%s" stroke-width="2" '
                   'stroke-dasharray="6,4"/><text x="320" y="100" text-anchor="middle" '
                   'fill="%s" font-weight="bold">peers</text>' % (_RED, _RED))
        notes = ("the two /proc mounts are peers: a mount on one is copied to the other,",
                 "so the host's /proc now shows the container's PID namespace")
    else:
        out.append('<text x="320" y="100" text-anchor="middle" fill="%s" font-weight="bold">'
                   'no peers</text><line x1="305" y1="115" x2="335" y2="145" stroke="%s" '
                   'stroke-width="3"/><line x1="335" y1="115" x2="305" y2="145" stroke="%s" '
                   'stroke-width="3"/>' % (_GREEN, _GREEN, _GREEN))
        notes = ("the /proc mounts are not peers: the container's mount stays in the",
                 "container, and the host's /proc is untouched")
    for i, note in enumerate(notes):
        out.append('<text x="%d" y="%d" text-anchor="middle" fill="%s">%s</text>'
                   % (w // 2, 198 + 18 * i, color, html.escape(note)))
    out.append("</svg>")
    text = "host /proc (%s)  %s  container /proc (%s) + mount proc\n%s" % (
        host, "<== peers ==" if peers else "  no peers  ",
        "private" if private_container else host, "\n".join(notes))
    return Html("".join(out), text)


# -- exercises ----------------------------------------------------------------------------
@checker
def check_noexec_mount(answer, target=None):
    """Exercise 1: ``answer`` is a shell command that mounts something on ``$SCRATCH`` so
    that a script there cannot be executed. Run in a throw-away mount namespace (without
    root, in a user namespace of your own first)."""
    if not isinstance(answer, str) or not answer.strip():
        return Verdict(False, "the answer is not a shell command (a non-empty string)",
                       "write it as a string, e.g. ANSWER = 'mount -t tmpfs ...'")
    report = get_target(target).probe("noexec-exercise", str(answer))
    shown = "$ %s%s" % (answer, ("\n" + report["output"]) if report["output"] else "")
    if report["status"] != 0:
        return Verdict(False, "your command failed (exit status %d)" % report["status"],
                       "try it by hand first: `mount -t tmpfs ...`; the directory is in "
                       "the variable $SCRATCH", shown)
    if not report["mounted"]:
        return Verdict(False, "nothing is mounted on $SCRATCH",
                       "mount a tmpfs there: `mount -t tmpfs NAME \"$SCRATCH\"`, "
                       "with an option", shown)
    shown += "\nmounted with: %s" % report["options"]
    if "write" in report:
        return Verdict(False, "the checker cannot write a script there (%s)" % report["write"],
                       "keep the mount writable (no `ro`)", shown)
    if report["exec"]["ok"]:
        return Verdict(False, "a script on $SCRATCH still runs (%s)" % report["exec"]["output"],
                       "one mount option (-o ...) forbids execve on a mount: see the table "
                       "above; in C it is MS_NOEXEC", shown)
    return Verdict(True, "./hello.sh on $SCRATCH is refused: %s. (But `sh hello.sh` still "
                   "prints %r: noexec stops execve (and mmap with PROT_EXEC), not a program that reads the "
                   "file.)"
                   % (report["exec"]["error"], report["sh_script"]), details=shown)


@checker
def check_removable_media_flags(value, target=None):
    """Exercise 2: flags for a USB stick: setuid bits ignored and device nodes refused, but
    programs on it may run."""
    try:
        if isinstance(value, (bool, float, str)):
            raise TypeError(value)
        value = int(value)
    except (TypeError, ValueError):
        return Verdict(False, "%r is not a number" % (value,),
                       "combine linux.MS_NOSUID, linux.MS_NODEV, linux.MS_NOEXEC with |")
    if value & ~(linux.MS_NOEXEC | linux.MS_NOSUID | linux.MS_NODEV) or value < 0:
        return Verdict(False, "%#x has bits besides MS_NOEXEC, MS_NOSUID, MS_NODEV" % value,
                       "combine only linux.MS_NOSUID, linux.MS_NODEV, linux.MS_NOEXEC with |")
    matrix = FlagMatrix(run_flags(value, target))
    refused = matrix.refused
    details = matrix.text()
    if refused["MS_NOEXEC"]:
        return Verdict(False, "programs on the stick cannot run any more",
                       "leave MS_NOEXEC out: the stick's programs should run", details)
    if not refused["MS_NOSUID"]:
        return Verdict(False, "a setuid-root program on the stick still makes anyone root",
                       "one flag makes the kernel ignore setuid bits", details)
    if not refused["MS_NODEV"]:
        return Verdict(False, "a device node on the stick still opens (a stick could carry "
                       "its own /dev/sda!)", "one flag makes the kernel refuse device nodes",
                       details)
    return Verdict(True, "%s: setuid ignored, devices refused, programs run%s"
                   % (flags_text(value), " (the setuid part as root sees it: see below)"
                      if matrix.rootless else ""), details=details)
