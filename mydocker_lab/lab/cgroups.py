"""Notebook 06 (cgroups): experiments, the memory explorer and the exercise checker.

Every experiment runs on the target through a probe
(``mydocker_lab/lab/probes/cgroups.py``); this module only asks and shows.
What differs from run to run by nature (a container's id, PIDs, timings) is
compared here and shown as a stable word, so stored outputs stay stable; what belongs to
the machine (its cgroup version, its CPUs) is compared too and shown as a label
(``labels.py``).
"""
from .common import errors
from .display import Note, SideBySide, Stack, Table, Verdict
from .labels import CGROUP_VERSION, HOST_CPUS
from .targets import get_target

__all__ = ["layout", "views", "memory_run", "memory_explorer", "oom", "cpu_vs_memory",
           "cpuset_view", "check_by_hand", "FILES"]

MIB = 1 << 20

#: Which file each option writes, in each version (what mydocker_lab/cgroups.py does).
FILES = [
    ["-m 100m", "memory.limit_in_bytes = 104857600\nmemory.memsw.limit_in_bytes = 104857600",
     "memory.max = 104857600\nmemory.swap.max = 0"],
    ["--cpu-shares 512", "cpu.shares = 512", "cpu.weight = 20  (1 + (512-2)*9999/262142)"],
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
        verdict = Verdict(False, "over the limit: the kernel's OOM killer sent SIGKILL",
                          hint="raise the limit above %d MiB plus the interpreter's ~10 MiB"
                          % allocate_mib)
    else:
        verdict = Verdict(False, "exit %d: %s" % (code, (failed or ["?"])[0]))
    return Stack(Table(["", "what happened"], rows), verdict)


def memory_explorer(target=None):
    """Sliders: a memory limit against a program that allocates; each change runs a container."""
    from ipywidgets import IntSlider, interactive
    return interactive(lambda limit_mib, allocate_mib: memory_run(limit_mib, allocate_mib,
                                                                  target),
                       {"manual": True, "manual_name": "run the container"},
                       limit_mib=IntSlider(value=50, min=10, max=300, step=10,
                                           description="-m (MiB)"),
                       allocate_mib=IntSlider(value=100, min=10, max=300, step=10,
                                              description="allocates (MiB)"))


def oom(target=None):
    """The fixed case for readers without a kernel: 200 MiB under -m 50m."""
    return memory_run(50, 200, target)


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

def check_by_hand(script, target=None):
    """Run the student's sh script in a fresh cgroup $CG (as root on the target) and judge it.

    It must: limit $CG's memory to 50 MiB, move its own shell into $CG, and
    ``exec "$@"``. Then a program allocating 10 MiB must run, and one
    allocating 200 MiB must be killed by the OOM killer.
    """
    if not isinstance(script, str) or not script.strip():
        return Verdict(False, "my_script should be a string of shell commands",
                       hint='start from the template: three lines, the last is exec "$@"')
    r = get_target(target).probe("cgroup-by-hand", script, "50")
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
