"""Probes for notebook 06 (cgroups): containers with limits, seen from both sides.

Each runs on the target as its own process, as root (cgroups need it): it
starts real containers with ``python -m mydocker_lab run``.
"""
import json
import os
import shlex
import subprocess
import sys

from ... import cgroups
from ..common import log_records
from . import probe
from .support import container_pid, mydocker, outcome, probe_argv, read_text, run_mydocker
#: Where this mydocker_lab is: a container's environment is clean (like docker's), so a
#: probe run *inside* one is told with -e PYTHONPATH (a checkout used through PYTHONPATH,
#: not installed, would not be found there otherwise).
_IMPORT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
#: Allocates (and touches) N MiB, then says so: the program the memory limit is tried on.
ALLOCATE = "import sys; b = b'x' * (int(sys.argv[1]) << 20); print('allocated', len(b) >> 20)"
#: Burns N seconds of CPU time, then prints the wall-clock time it took.
BURN = ("import sys, time; t = time.monotonic(); c = time.process_time() + float(sys.argv[1])\n"
        "while time.process_time() < c: pass\nprint(round(time.monotonic() - t, 3))")


def _run(limits, argv, timeout=60):
    return outcome(run_mydocker("run", *limits, *argv, timeout=timeout))


def _own_cgroup_dir(pid, controller):
    """The host directory of ``pid``'s cgroup for ``controller`` (v1 or v2)."""
    hierarchy = cgroups.find_hierarchies()[controller]
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            number, names, path = line.rstrip("\n").split(":", 2)
            if (hierarchy.version == 1 and controller in names.split(",")) or \
                    (hierarchy.version == 2 and number == "0"):
                return hierarchy.path(path), hierarchy.version
    return None, hierarchy.version


def _kernel_hierarchies():
    """{controller: hierarchy number} from the kernel's /proc/cgroups: a controller bound to
    a cgroup v1 hierarchy has that hierarchy's number, 0 means it is free for cgroup v2."""
    numbers = {}
    try:
        with open("/proc/cgroups") as f:
            for line in f:
                fields = line.split()
                if fields and not fields[0].startswith("#") and len(fields) >= 2:
                    numbers[fields[0]] = int(fields[1])
    except (OSError, ValueError):
        return {}
    return numbers


@probe("cgroup-layout")
def layout():
    """Which hierarchy each controller lives in, here: what mydocker-lab decides at run time,
    and what the kernel's /proc/cgroups says about the same controller."""
    found = cgroups.find_hierarchies()
    kernel = _kernel_hierarchies()
    rows = []
    for name in cgroups.CONTROLLERS:
        h = found.get(name)
        rows.append({"controller": name, "version": h.version if h else None,
                     "mountpoint": h.mountpoint if h else None,
                     "container_parent": os.path.join(h.base(), cgroups.PARENT) if h else None,
                     "kernel_hierarchy": kernel.get(name)})
    unified = found.get("unified")
    return {"controllers": rows,
            "v2": {"mountpoint": unified.mountpoint, "controllers": unified.controllers}
            if unified else None}


@probe("cgroup-inside")
def inside():
    """Run *inside* a container: what the container can see of its own limits."""
    found = cgroups.find_hierarchies()
    view = {"pid": os.getpid()}
    with open("/proc/self/status") as f:
        view["cpus_allowed"] = [l.split()[1] for l in f if l.startswith("Cpus_allowed_list")][0]
    path, version = _own_cgroup_dir(os.getpid(), "memory") if "memory" in found else (None, 0)
    if path:
        raw = read_text(os.path.join(path, "memory.max" if version == 2
                                 else "memory.limit_in_bytes"))
        view["memory_limit"] = None if raw in (None, "max") or int(raw) >= 1 << 60 else int(raw)
        view["cgroup"] = "/".join(path.split("/")[-2:])
    return view


@probe("cgroup-views")
def views(*limits):
    """A container with ``limits`` seen from both sides, while it runs, and after it ends."""
    script = "%s; echo END; read line || true" % shlex.join(probe_argv("cgroup-inside"))
    proc = subprocess.Popen(mydocker("run", "-i", "-e", "PYTHONPATH=" + _IMPORT_ROOT,
                                     *limits, "sh", "-c", script),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in proc.stdout:  # until the container has reported
            if line == "END\n":
                break
            lines.append(line)
        inside_view = json.loads("".join(lines))
        pid = container_pid(proc.pid)
        host = {"pid": pid}
        path, version = _own_cgroup_dir(pid, "memory")
        host["cgroup"] = "/".join(path.split("/")[-2:])
        host["memory_limit"] = int(read_text(os.path.join(
            path, "memory.max" if version == 2 else "memory.limit_in_bytes")))
        host["procs"] = len((read_text(os.path.join(path, "cgroup.procs")) or "").split())
        host["exists_while_running"] = os.path.isdir(path)
        with open("/proc/self/status") as f:
            host["cpus_allowed"] = [l.split()[1] for l in f
                                    if l.startswith("Cpus_allowed_list")][0]
        proc.stdin.close()  # `read line` returns: the container ends
        proc.wait(timeout=30)
        host["exists_after_exit"] = os.path.isdir(path)
        host["exit"] = proc.returncode
    finally:
        if proc.poll() is None:  # let it end on its own: a killed runtime cannot clean up
            proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {"inside": inside_view, "host": host, "logs": log_records(proc.stderr.read())}


@probe("cgroup-memory")
def memory(limit, allocate):
    """``mydocker-lab run -m LIMIT`` a program that allocates ALLOCATE MiB."""
    return _run(["-m", limit], [sys.executable, "-S", "-c", ALLOCATE, str(allocate)])


@probe("cgroup-cpu")
def cpu(cpus, seconds="0.2"):
    """Burn SECONDS of CPU time under ``--cpus CPUS``: how long did it take on the clock?"""
    result = _run(["--cpus", cpus], [sys.executable, "-S", "-c", BURN, seconds])
    result["cpu_seconds"] = float(seconds)
    return result


@probe("cgroup-cpuset")
def cpuset(cpus):
    with open("/proc/self/status") as f:
        host = [l.split()[1] for l in f if l.startswith("Cpus_allowed_list")][0]
    result = _run(["--cpuset-cpus", cpus], ["grep", "Cpus_allowed_list", "/proc/self/status"])
    result["host"] = host
    result["cpu_count"] = os.cpu_count()
    return result


# -- the exercise: limit memory by hand --------------------------------------------------------

@probe("cgroup-by-hand")
def by_hand(script, limit_mib="50"):
    """Make a fresh cgroup ($CG), run the student's ``sh`` script in it twice.

    The script must limit $CG's memory to ``limit_mib`` MiB, move its own shell
    in and ``exec "$@"``: once with a program allocating 10 MiB (must succeed),
    once with one allocating 200 MiB (must be OOM-killed).
    """
    group = cgroups.Cgroup("exercise-%d" % os.getpid(), {"memory": "1g"})
    group.create()  # a real container cgroup (1 GiB); the script lowers the limit
    path = group.paths()[0]
    results = {"cgroup_version": group.versions[0]}
    try:
        for name, mib in (("small", 10), ("large", 200)):
            proc = subprocess.run(["sh", "-c", script, "sh", sys.executable, "-S", "-c",
                                   ALLOCATE, str(mib)], capture_output=True, text=True,
                                  timeout=30, stdin=subprocess.DEVNULL,
                                  env={"CG": path, "PATH": os.environ.get("PATH", "/bin")})
            code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
            results[name] = {"exit": code, "stdout": proc.stdout,
                             "stderr": proc.stderr[-500:]}
        results["limit"] = None
        for name in ("memory.max", "memory.limit_in_bytes"):
            raw = read_text(os.path.join(path, name))
            if raw is not None and raw != "max":
                results["limit"] = int(raw)
        results["oom_kills"] = group.oom_kills()
    finally:
        group.remove()
    results["expected_limit"] = int(limit_mib) << 20
    return results


@probe("cgroup-by-hand-files")
def by_hand_files(script):
    """Without root: the student's script against stand-in $CG directories of plain files,
    one laid out as cgroup v2 (memory.max) and one as v1 (memory.limit_in_bytes), each with
    an empty cgroup.procs. Nothing is enforced (no kernel cgroup): what the script wrote is
    read back, and whether ``exec "$@"`` ran the program as the same process."""
    import tempfile
    results = {}
    for version, limit_file in (("v2", "memory.max"), ("v1", "memory.limit_in_bytes")):
        with tempfile.TemporaryDirectory(prefix="stand-in-cg-") as path:
            for name in (limit_file, "cgroup.procs"):
                with open(os.path.join(path, name), "w") as f:
                    f.write("max\n" if name == "memory.max" else
                            "9223372036854771712\n" if name == limit_file else "")
            program = "import os; print('allocated', 10, os.getpid())"
            proc = subprocess.run(["sh", "-c", script, "sh", sys.executable, "-S", "-c",
                                   program], capture_output=True, text=True, timeout=30,
                                  stdin=subprocess.DEVNULL,
                                  env={"CG": path, "PATH": os.environ.get("PATH", "/bin")})
            words = proc.stdout.split()
            results[version] = {
                "exit": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr[-500:],
                "limit": (read_text(os.path.join(path, limit_file)) or "").strip(),
                "procs": (read_text(os.path.join(path, "cgroup.procs")) or "").split(),
                "program_pid": words[-1] if words[:1] == ["allocated"] else None}
    return results


@probe("cgroup-delegation")
def delegation():
    """Whether this user may make cgroups with a memory controller without root: a cgroup v2
    subtree delegated to it (its own cgroup directory writable, ``memory`` offered there)."""
    if os.geteuid() == 0:
        return {"path": None, "reason": "running as root: no delegation needed"}
    v2 = cgroups.find_hierarchies().get("memory")
    own = None
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                number, _names, path = line.rstrip("\n").split(":", 2)
                if number == "0":
                    own = path
    except OSError:
        pass
    if v2 is None or v2.version != 2 or own is None:
        return {"path": None, "reason": "here the memory controller is not on cgroup v2, "
                "so nothing can be delegated to you"}
    path = v2.path(own)
    offered = (read_text(os.path.join(path, "cgroup.controllers")) or "").split()
    if not os.access(path, os.W_OK) or "memory" not in offered:
        return {"path": None, "reason": "your cgroup here, %s, is not delegated to you (not "
                "writable, or no memory controller in it)" % own}
    return {"path": path, "reason": "your cgroup %s is delegated to you; the course's "
            "experiments do not use it yet" % own}
