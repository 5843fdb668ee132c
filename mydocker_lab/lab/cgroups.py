"""Notebook 06 (cgroups): experiments, the memory explorer and the exercise checker.

Every experiment runs on the target through a probe
(``mydocker_lab/lab/probes/cgroups.py``); this module only asks and shows.
What differs from run to run by nature (a container's id, PIDs, timings) is
compared here and shown as a stable word, so stored outputs stay stable; what belongs to
the machine (its cgroup version, its CPUs) is compared too and shown as a label
(``labels.py``).
"""
import functools
import html
import inspect
import json
import os
import re

from .common import errors
from .display import Note, Rich, SideBySide, Stack, Table, Verdict, pre
from .grading import checker
from .labels import CGROUP_VERSION, HOST_CPUS
from .targets import get_target

__all__ = ["layout", "views", "memory_run", "memory_explorer", "oom", "cpu_vs_memory",
           "cpuset_view", "check_by_hand", "FILES"]

MIB = 1 << 20

#: What the experiments show as root, stored from a run as root on this course's machine
#: (store_root_results(); tests/lab/test_cgroups.py checks that root sees the same now). A
#: Python module, so that it goes wherever the package goes (no package data to declare).
ROOT_RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cgroups_as_root.py")
WHY_ROOT = ("Creating a cgroup, writing its limits and moving a process into it are writes in "
            "the cgroup file system, which belongs to the host's root: a user namespace does "
            "not make you its owner. (A systemd host can delegate a cgroup v2 subtree to a "
            "user, e.g. systemd-run --user -p Delegate=yes; %s)")


def delegated_subtree(target=None):
    """Where the target's user may make cgroups with a memory controller without root: its
    own cgroup v2 directory when it is writable and offers ``memory`` (a delegated
    subtree); None, and why not, otherwise. Returns ``(path or None, reason)``."""
    found = get_target(target).probe("cgroup-delegation")
    return found["path"], found["reason"]


class RootOnly(Rich):
    """One clear box where the kernel refuses without root: why, and what root sees
    (stored from a run as root, labelled as such)."""

    def __init__(self, what, stored, why):
        self.what, self.stored, self.why = what, stored, why

    def text(self):
        lines = ["⚠ needs root: %s" % self.what, "  why: " + self.why]
        if self.stored:
            lines += ["  what root sees (stored from a run as root, not run now):"]
            lines += ["    " + line for line in self.stored.splitlines()]
        return "\n".join(lines)

    def html(self):
        stored = ("<div><i>What root sees (stored from a run as root, not run now):</i></div>"
                  + pre(html.escape(self.stored), "margin:4px 0;opacity:0.85")
                  if self.stored else "")
        return ('<div style="border-left:4px solid #b26a00;padding:4px 10px">'
                '<b style="color:#b26a00">⚠ needs root: %s</b><div><i>why:</i> %s</div>%s</div>'
                % (html.escape(self.what), html.escape(self.why), stored))


def stored_results():
    """{key: text} as stored (read afresh: store_root_results() may have just written it)."""
    import importlib
    from . import cgroups_as_root
    return importlib.reload(cgroups_as_root).RESULTS


def _stored(key):
    return stored_results().get(key)


def _as_root(key, what):
    """Run the experiment as it is where the target is root; elsewhere, a RootOnly box with
    the result stored under ``key`` (``key`` may use the call's arguments: "run-{0}-{1}")."""
    def wrap(func):
        signature = inspect.signature(func)

        @functools.wraps(func)
        def run(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            target = bound.arguments["target"] = get_target(bound.arguments["target"])
            if target.root:
                return func(*bound.args, **bound.kwargs)
            values = [v for n, v in bound.arguments.items() if n != "target"]
            _path, reason = delegated_subtree(target)
            return RootOnly(what.format(*values), _stored(key.format(*values)),
                            WHY_ROOT % reason)
        run.stored_key = key
        return run
    return wrap

#: Which file each option writes, in each version (what mydocker_lab/cgroups.py does).
FILES = [
    ["-m 100m", "memory.limit_in_bytes = 104857600\nmemory.memsw.limit_in_bytes = 104857600",
     "memory.max = 104857600\nmemory.swap.max = 0"],
    ["--cpu-shares 512", "cpu.shares = 512",
     "cpu.weight = 20  (runc < 1.3.2: 1 + (512-2)*9999/262142)"],
    ["--cpus 0.5", "cpu.cfs_period_us = 100000\ncpu.cfs_quota_us = 50000",
     "cpu.max = 50000 100000"],
    ["--cpuset-cpus 0", "cpuset.cpus = 0\ncpuset.mems = 0  (the parent's)",
     "cpuset.cpus = 0\ncpuset.mems = 0  (the parent's)"],
    ["the container's pid", "cgroup.procs (in each hierarchy)", "cgroup.procs"],
]


def _mib(n):
    return "%d bytes (%d MiB)" % (n, n // MIB) if n is not None else "none"


def files_table():
    """v1 and v2 files for each option, as a table (no target needed: it is the mapping)."""
    rows = []
    for option, v1, v2 in FILES:
        v1_lines, v2_lines = v1.split("\n"), v2.split("\n")
        for i in range(max(len(v1_lines), len(v2_lines))):
            rows.append([option if i == 0 else "",
                         v1_lines[i] if i < len(v1_lines) else "",
                         v2_lines[i] if i < len(v2_lines) else ""])
    return Table(["option", "cgroup v1 file = value", "cgroup v2 file = value"], rows)


def _kernel_says(row):
    """The version /proc/cgroups implies for a controller: a v1 hierarchy's number, or 0
    (free for cgroup v2); None if the kernel does not list it."""
    number = row.get("kernel_hierarchy")
    return None if number is None else (1 if number else 2)


def layout(target=None, labels=True):
    """Where each controller lives on the target (v1 or v2), as mydocker-lab decides at run
    time, checked against the kernel's own list (/proc/cgroups).

    The answer belongs to the machine (v1 for some controllers on a hybrid machine, v2 on
    current distributions and the course VM): with ``labels`` (the default) it is shown as
    ``<v1 or v2>`` and only the check is spelled out, so the page reads the same
    everywhere; ``labels=False`` shows this machine's own answer, with the mount points and
    where containers' cgroups go.
    """
    result = get_target(target).probe("cgroup-layout")
    rows, missing, disagree = [], [], []
    for r in result["controllers"]:
        kernel = _kernel_says(r)
        agrees = r["version"] is not None and r["version"] == kernel
        if r["version"] is None:
            missing.append(r["controller"])
        elif not agrees:
            disagree.append(r["controller"])
        if not r["version"]:
            version = "not available"
        else:
            version = CGROUP_VERSION if labels else "v%d" % r["version"]
        check = "✔ agrees" if agrees else "✘ says %s" % ("v%d" % kernel if kernel else "nothing")
        rows.append([r["controller"], version, check] if labels else
                    [r["controller"], version, check, r["mountpoint"] or "-",
                     r["container_parent"] or "-"])
    names = [r["controller"] for r in result["controllers"]]
    if missing:
        verdict = Verdict(False, "not available here: %s" % ", ".join(missing),
                          hint="mydocker-lab run with a limit on it exits 125 with one line "
                               "that says why")
    elif disagree:
        verdict = Verdict(False, "mydocker-lab and /proc/cgroups disagree about %s"
                          % ", ".join(disagree))
    else:
        verdict = Verdict(True, "mydocker-lab finds %s and %s here, each on one cgroup "
                          "version, and the kernel agrees" % (", ".join(names[:-1]), names[-1]))
    header = ["controller", "on this machine", "the kernel's /proc/cgroups"]
    if labels:
        return Stack(Table(header, rows), verdict)
    v2 = result["v2"]
    note = ("cgroup v2 is mounted on %s and offers: %s" % (
        v2["mountpoint"], " ".join(v2["controllers"]) or "no controller at all")
        if v2 else "no cgroup v2 mounted")
    return Stack(Table(header + ["mounted on", "containers' cgroups go in"], rows),
                 Note(note), verdict)


@_as_root("views-{0}", "a container's cgroup seen from both sides (mydocker-lab run -m {0})")
def views(memory="100m", cpuset=None, target=None):
    """A running container's cgroup, from the host and from inside; then after it exits."""
    limits = ["-m", memory] + (["--cpuset-cpus", cpuset] if cpuset else [])
    result = get_target(target).probe("cgroup-views", *limits)
    host, inside = result["host"], result["inside"]
    same = host["cgroup"] == inside["cgroup"]
    name = "mydocker-lab/<container id>"
    # the CPUs differ per machine: the host's are a label, the container's too when the same
    inside_cpus = HOST_CPUS if inside["cpus_allowed"] == host["cpus_allowed"] \
        else inside["cpus_allowed"]
    host_text = "\n".join([
        "the container's cgroup  %s" % name,
        "memory limit            %s" % _mib(host["memory_limit"]),
        "processes in it         %d (the container's sh)" % host["procs"],
        "my CPUs                 %s" % HOST_CPUS,
        "",
        "after the container exits:",
        "exit status             %d" % host["exit"],
        "cgroup directory        %s" % ("removed" if not host["exists_after_exit"]
                                        else "STILL THERE")])
    inside_text = "\n".join([
        "my cgroup               %s" % (name if same else inside["cgroup"]),
        "my memory limit         %s" % _mib(inside["memory_limit"]),
        "my CPUs                 %s" % inside_cpus,
        "my PID                  %d (a child of sh, PID 1)" % inside["pid"]])
    ok = same and host["memory_limit"] == inside["memory_limit"] and \
        host["exists_while_running"] and not host["exists_after_exit"]
    return Stack(SideBySide(host_text, inside_text, "host (looking at the container)",
                            "container (looking at itself)"),
                 Verdict(ok, "one cgroup, the same limit seen from both sides; made before the "
                         "command ran, removed after it ended"))


@_as_root("memory-{0}-{1}", "mydocker-lab run -m {0}m with a program that allocates {1} MiB")
def memory_run(limit_mib=50, allocate_mib=100, target=None):
    """``mydocker-lab run -m LIMIT`` a program that allocates ALLOCATE MiB: what happens?"""
    result = get_target(target).probe("cgroup-memory", "%dm" % limit_mib, allocate_mib)
    code = result["exit"]
    oom = [e["msg"] for e in result["logs"] if "OOM" in e["msg"]]
    failed = errors(result["logs"])
    rows = [["mydocker-lab run", "-m %dm python -c <allocate %d MiB>" % (limit_mib, allocate_mib)],
            ["exit status", "%d%s" % (code, " = 128 + 9 (SIGKILL)" if code == 137 else "")],
            ["program printed", result["stdout"].strip() or "(nothing: it never got there)"],
            ["runtime's log", (oom or failed or ["no warning"])[0]]]
    if code == 0:
        verdict = Verdict(True, "%d MiB fit in the %d MiB limit (with the interpreter's own few "
                          "MiB)" % (allocate_mib, limit_mib))
    elif code == 137 and oom:
        # the limit did its job: not the student's mistake, the demonstration succeeding
        verdict = Verdict(True, "the limit held: %d MiB do not fit in %d MiB, so the kernel's "
                          "OOM killer ended the program with SIGKILL (exit 137)"
                          % (allocate_mib, limit_mib))
    else:
        verdict = Verdict(False, "exit %d: %s" % (code, (failed or ["?"])[0]))
    return Stack(Table(["", "what happened"], rows), verdict)


def memory_explorer(target=None):
    """An explorer (mydocker_lab.lab.widgets): a memory limit against a program that
    allocates; each press of *run the container* starts one real container."""
    from ipywidgets import IntSlider, Layout
    from .widgets import explorer
    wide = Layout(width="26em")
    return explorer(lambda limit_mib, allocate_mib: memory_run(limit_mib, allocate_mib,
                                                               target=target),
                    run_label="run the container",
                    limit_mib=IntSlider(value=50, min=10, max=300, step=10,
                                        description="-m (MiB)", layout=wide),
                    allocate_mib=IntSlider(value=100, min=10, max=300, step=10,
                                           description="allocates (MiB)", layout=wide))


def oom(target=None):
    """The demonstration: 200 MiB under -m 50m (the OOM killer's SIGKILL, exit 137)."""
    return memory_run(50, 200, target=target)


@_as_root("cpu-vs-memory", "a CPU limit and a memory limit, side by side")
def cpu_vs_memory(target=None):
    """Over the CPU limit: slowed down. Over the memory limit: killed. Both for real."""
    target = get_target(target)
    cpu = target.probe("cgroup-cpu", "0.25", "0.2")
    wall = float(cpu["stdout"].strip() or "0")
    slowed = cpu["exit"] == 0 and wall >= 2 * cpu["cpu_seconds"]
    mem = target.probe("cgroup-memory", "50m", 200)
    killed = mem["exit"] == 137
    rows = [["--cpus 0.25", "burn 0.2 s of CPU time",
             "exit %d, %s" % (cpu["exit"], "took more than twice that on the clock"
                              if slowed else "NOT slowed down")],
            ["-m 50m", "allocate 200 MiB",
             "exit %d, %s" % (mem["exit"], "killed by SIGKILL" if killed else "NOT killed")]]
    return Stack(Table(["limit", "the program wants", "what the kernel did"], rows),
                 Verdict(slowed and killed, "CPU time can be handed out later, so the kernel "
                         "makes the program wait; memory cannot, so it takes a process away"))


@_as_root("cpuset-{0}", "mydocker-lab run --cpuset-cpus {0}")
def cpuset_view(cpus="0", target=None):
    """``--cpuset-cpus CPUS``: the CPUs the kernel lets the command run on, both sides."""
    result = get_target(target).probe("cgroup-cpuset", cpus)
    inside = result["stdout"].split()[-1] if result["exit"] == 0 else \
        "exit %d: %s" % (result["exit"], result["logs"][-1]["msg"] if result["logs"] else "")
    # the host's list belongs to the machine (0-1, 0-7, ...): shown as a label
    return Stack(SideBySide("Cpus_allowed_list: %s" % HOST_CPUS,
                            "Cpus_allowed_list: %s" % inside,
                            "host (this probe)", "container (--cpuset-cpus %s)" % cpus),
                 Verdict(inside == cpus, "the container runs on CPU %s only" % cpus
                         if inside == cpus else "the container did not get CPUs %s" % cpus))


# -- the exercise -----------------------------------------------------------------------------

_SIZE = re.compile(r"^(\d+)([kKmMgG]?)$")


def _bytes(text):
    """What the kernel makes of a memory size written to a cgroup file (``50M``, ``52428800``;
    k, m, g in either case are powers of 1024); None if it would refuse it."""
    match = _SIZE.match(text.strip())
    if not match:
        return None
    return int(match.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[match.group(2).lower()]


def _by_hand_without_root(script, target):
    """The checker without root: the script against stand-in $CG directories (plain files,
    laid out as v2 and as v1), and what it wrote read back. Nothing is enforced."""
    r = target.probe("cgroup-by-hand-files", script)
    lines, wrong = [], None
    for version in ("v2", "v1"):
        run = r[version]
        limit = _bytes(run["limit"])
        lines.append("stand-in $CG (%s): limit file %r, cgroup.procs %s, program %s" % (
            version, run["limit"], run["procs"] or "empty",
            "ran as the same process" if run["program_pid"] and run["program_pid"] in
            run["procs"] else "ran" if run["program_pid"] else "did not run (exit %d)"
            % run["exit"]))
        if wrong:
            continue
        if not run["program_pid"]:
            wrong = ("on a %s layout the program did not run" % version,
                     'end the script with exec "$@" (the checker passes the program as '
                     'arguments); shell errors: %s' % (run["stderr"].strip()[-200:] or "none"))
        elif limit != 50 * MIB:
            wrong = ("on a %s layout the memory limit written is %r, not 50 MiB"
                     % (version, run["limit"]),
                     "write 50M into $CG/memory.max (cgroup v2) or $CG/memory.limit_in_bytes "
                     "(v1); a script for both tests which file exists ([ -f ... ])")
        elif run["program_pid"] not in run["procs"]:
            wrong = ("on a %s layout the program is not the process in cgroup.procs" % version,
                     "echo $$ > $CG/cgroup.procs moves this shell; exec keeps the process "
                     "(and so its cgroup) while it becomes the program")
    details = "\n".join(lines + ["(without root: plain files stand in for the cgroup; as root "
                                 "the checker runs your script in a real cgroup and the OOM "
                                 "killer must stop 200 MiB)"])
    if wrong:
        return Verdict(False, wrong[0], details=details, hint=wrong[1])
    return Verdict(True, "your script writes the limit, moves its shell and becomes the "
                   "program, on a v1 and a v2 layout (checked without root, on stand-in files)",
                   details=details)


@checker
def check_by_hand(script, target=None):
    """Run the student's sh script in a fresh cgroup $CG (as root on the target) and judge it.

    It must: limit $CG's memory to 50 MiB, move its own shell into $CG, and
    ``exec "$@"``. Then a program allocating 10 MiB must run, and one
    allocating 200 MiB must be killed by the OOM killer.
    """
    if not isinstance(script, str) or not script.strip():
        return Verdict(False, "my_script should be a string of shell commands",
                       hint='start from the template: three lines, the last is exec "$@"')
    target = get_target(target)
    if not target.root:
        return _by_hand_without_root(script, target)
    r = target.probe("cgroup-by-hand", script, "50")
    small, large = r["small"], r["large"]
    details = "\n".join([
        "limit found in $CG:  %s" % _mib(r["limit"]),
        "allocating  10 MiB:  exit %d %s" % (small["exit"], small["stdout"].strip()),
        "allocating 200 MiB:  exit %d %s" % (large["exit"], large["stdout"].strip()),
        "OOM kills in $CG:    %d" % r["oom_kills"]])
    if "allocated" not in small["stdout"]:
        return Verdict(False, "the small program did not run", details=details,
                       hint='end the script with exec "$@" (the checker passes the program '
                            'as arguments); shell errors: %s' % (small["stderr"].strip()[-200:]
                                                                or "none"))
    if r["limit"] != r["expected_limit"]:
        return Verdict(False, "the memory limit in $CG is not 50 MiB", details=details,
                       hint="write 50M into $CG/memory.max (cgroup v2) or "
                            "$CG/memory.limit_in_bytes (v1); a script for both tests which "
                            "file exists ([ -f ... ])")
    if large["exit"] != 137 or r["oom_kills"] < 1:
        return Verdict(False, "the 200 MiB program was not stopped by the limit",
                       details=details,
                       hint="the limit applies only to processes in the cgroup: echo $$ > "
                            "$CG/cgroup.procs moves this shell, and exec keeps the process "
                            "(and its cgroup)")
    return Verdict(True, "you limited a process by hand, exactly as cgroups.py does it",
                   details=details)


# -- the root results shown without root ------------------------------------------------------

#: The calls whose results are stored for readers without root (the notebook's cells).
STORED_CALLS = [(views, ("100m",)), (memory_run, (50, 200)), (memory_run, (100, 20)),
                (memory_run, (50, 100)), (cpu_vs_memory, ()), (cpuset_view, ("0",))]


def root_results(target=None):
    """{key: text} of every stored call, run now (as root)."""
    out = {}
    for func, args in STORED_CALLS:
        out[func.stored_key.format(*args)] = func(*args, target=target).text()
    return out


def store_root_results(target=None):
    """Run every stored call as root and write ROOT_RESULTS (when the lesson changes)."""
    results = root_results(target)
    with open(ROOT_RESULTS, "w", encoding="utf-8") as f:
        f.write('"""What notebook 06\'s experiments show as root, for readers without root.\n\n'
                'Made by ``mydocker_lab.lab.cgroups.store_root_results()`` (as root); do not '
                'edit.\n"""\nimport json\n\nRESULTS = json.loads(r"""\n%s\n""")\n'
                % json.dumps(results, indent=1, ensure_ascii=False, sort_keys=True))
    return results
