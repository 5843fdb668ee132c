"""Resource limits (book 3.2) and the command through a pipe (3.3): real cgroups, real processes.

Whatever this machine has is what is tested: cgroup v1 on a v1/v2 hybrid (the
dev machine), v2 on a current distribution (the VM). On top of that, v2 is
tried in a throw-away cgroup2 mount inside a throw-away mount namespace: where
its controllers are usable, the limits must work there; where the kernel keeps
them bound to v1 (as here), mydocker-lab must say so in one line, exit 125 and
leave nothing behind.
"""
import os
import signal
import subprocess
import sys

import pytest

from support import MYDOCKER, STARTED, Holds, cgroups_of, container_pid, log_lines, mydocker, \
    start, wait_for

from mydocker_lab import cgroups

#: A program that allocates (and touches) N MiB, then says so.
ALLOCATE = [sys.executable, "-S", "-c",
            "import sys; b = b'x' * (int(sys.argv[1]) << 20); print('allocated', len(b) >> 20)"]


@pytest.fixture
def no_cgroup_left():
    """Fails the test if a run it started left its cgroup (runs of others are not ours)."""
    first = len(STARTED)
    yield
    assert cgroups_of(STARTED[first:]) == []


def cgroup_line(stderr):
    """The run's log line naming its cgroup: (name, version text, files written)."""
    for entry in log_lines(stderr):
        if entry["msg"].startswith("cgroup %s/" % cgroups.PARENT):
            return entry["msg"]
    raise AssertionError("no cgroup log line in %r" % stderr)


# -- memory --------------------------------------------------------------------------------

def test_beyond_the_memory_limit_the_oom_killer_ends_it_137(no_cgroup_left):
    proc = mydocker("run", "-m", "30m", *ALLOCATE, "200")
    assert proc.returncode == 137, proc.stderr
    assert b"allocated" not in proc.stdout
    oom = [e for e in log_lines(proc.stderr) if "OOM" in e["msg"]]
    assert len(oom) == 1 and oom[0]["level"] == "warning", proc.stderr
    assert "--memory 30m" in oom[0]["msg"]


def test_within_the_memory_limit_it_runs(no_cgroup_left):
    proc = mydocker("run", "--memory", "100m", *ALLOCATE, "20")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"allocated 20\n"
    assert not [e for e in log_lines(proc.stderr) if "OOM" in e["msg"]]
    msg = cgroup_line(proc.stderr)
    assert ("memory.max=104857600" in msg) or ("memory.limit_in_bytes=104857600" in msg), msg


def test_the_command_runs_in_its_cgroup_from_the_start(no_cgroup_left):
    """The pipe is the barrier: the command's very first look at itself finds the cgroup."""
    proc = mydocker("run", "-m", "50m", "cat", "/proc/self/cgroup")
    assert proc.returncode == 0, proc.stderr
    name = cgroup_line(proc.stderr).split()[1]  # mydocker-lab/<id>
    lines = proc.stdout.decode().splitlines()
    memory = [line for line in lines if line.split(":")[1] in ("memory", "")
              and line.endswith("/" + name)]
    assert memory, lines


def test_the_limit_is_in_place_while_it_runs_and_the_cgroup_goes_after_sigkill(
        no_cgroup_left):
    parent = start("run", "-m", "64m", "sleep", "30", stdin=subprocess.DEVNULL,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        pid = container_pid(parent.pid, "sleep")
        path = _memory_cgroup_dir(pid)
        assert os.path.basename(os.path.dirname(path)) == cgroups.PARENT
        limit = "memory.max" if os.path.exists(os.path.join(path, "memory.max")) \
            else "memory.limit_in_bytes"
        with open(os.path.join(path, limit)) as f:
            assert f.read().strip() == str(64 << 20)
        os.kill(pid, signal.SIGKILL)  # from the host, as `docker kill` would
        _, err = parent.communicate(timeout=10)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    assert parent.returncode == 137
    assert not os.path.exists(path)
    assert not [e for e in log_lines(err) if "OOM" in e["msg"]]  # killed, but not for memory


def _memory_cgroup_dir(pid):
    with open("/proc/%d/cgroup" % pid) as f:
        entries = [line.rstrip("\n").split(":", 2) for line in f]
    hierarchies = cgroups.find_hierarchies()
    memory = hierarchies["memory"]
    for number, names, path in entries:
        if (memory.version == 1 and "memory" in names.split(",")) or \
                (memory.version == 2 and number == "0"):
            return memory.path(path)
    raise AssertionError(entries)


# -- cpu -------------------------------------------------------------------------------------

@pytest.mark.parametrize("cpus", ["0", "1", "0-1"])
def test_cpuset_is_what_the_command_sees(cpus, no_cgroup_left):
    if max(cgroups.parse_cpu_list(cpus)) >= os.cpu_count():
        pytest.skip("needs %s CPUs; this machine has %d" % (cpus, os.cpu_count()))
    proc = mydocker("run", "--cpuset-cpus", cpus, "grep", "Cpus_allowed_list", "/proc/self/status")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().split() == ["Cpus_allowed_list:", cpus]


def test_the_books_flag_names_work_too(no_cgroup_left):
    proc = mydocker("run", "-cpushare", "512", "-cpuset", "0", "--cpus=0.5", "true")
    assert proc.returncode == 0, proc.stderr
    msg = cgroup_line(proc.stderr)
    if "cpu.weight" in msg:  # v2
        assert "cpu.weight=20" in msg and "cpu.max=50000 100000" in msg, msg
    else:
        assert "cpu.shares=512" in msg and "cpu.cfs_quota_us=50000" in msg, msg
    assert "cpuset.cpus=0" in msg and "cpuset.mems=" in msg, msg


# -- bad values ------------------------------------------------------------------------------

@pytest.mark.parametrize("flags, words", [
    (["-m", "abc"], "invalid value 'abc' for --memory"),
    (["-m", "1k"], "the minimum is 6m"),
    (["--cpuset", "99"], "CPU 99 not available here"),
    (["--cpuset-cpus", "1-0"], "want CPU numbers"),
    (["--cpus", "0"], "the range is 0.01"),
    (["--cpus", "nan"], "the range is 0.01"),
    (["--cpu-shares", "many"], "want a whole number"),
    # bug 8: each of these was a traceback (OverflowError, ValueError) or took minutes
    (["--cpus", "inf"], "the range is 0.01"),
    (["--cpus", "1e999"], "the range is 0.01"),
    (["--cpuset-cpus", "²"], "want CPU numbers"),
    (["--cpuset-cpus", "0-2000000000"], "want CPU numbers"),
])
def test_a_limit_that_cannot_be_applied_is_one_line_and_125(flags, words, no_cgroup_left):
    proc = mydocker("run", *flags, "true")
    assert proc.returncode == 125
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert words in lines[0] and log_lines(proc.stderr)[0]["level"] == "error"


def test_a_missing_value_is_a_usage_error():
    proc = mydocker("run", "-m")
    assert proc.returncode == 125
    assert proc.stderr.decode().splitlines() == [
        "mydocker-lab: flag needs an argument: -m (see 'mydocker-lab run --help')"]


# -- cgroup v2, in a throw-away mount ---------------------------------------------------------

V2_SETUP = ("umount -R /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && "
            "cat /sys/fs/cgroup/cgroup.controllers >&2 && exec \"$@\"")


def in_pure_v2(*args):
    """mydocker-lab ARGS in a mount namespace where /sys/fs/cgroup is cgroup2 only, as on a
    current distribution; the namespace (and the mounts) vanish with the process."""
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           V2_SETUP, "sh"] + MYDOCKER + list(args),
                          capture_output=True, timeout=60, stdin=subprocess.DEVNULL)


def test_cgroup_v2_in_a_throw_away_mount(host_unchanged, no_cgroup_left):
    proc = in_pure_v2("run", "-m", "30m", *ALLOCATE, "200")
    controllers, *log = proc.stderr.decode().splitlines()
    if "memory" in controllers.split():  # a kernel that lets v2 have it: the real thing
        assert proc.returncode == 137, proc.stderr
        assert "(v2)" in cgroup_line("\n".join(log).encode())
        assert any("OOM" in e["msg"] for e in log_lines("\n".join(log).encode()))
        within = in_pure_v2("run", "-m", "100m", "--cpus", "0.5", *ALLOCATE, "20")
        assert within.returncode == 0 and within.stdout == b"allocated 20\n", within.stderr
    else:  # here: memory stays bound to its v1 hierarchy, whatever we mount
        assert proc.returncode == 125, proc.stderr
        assert len(log) == 1, log
        assert "the memory controller is not available: cgroup v2 (/sys/fs/cgroup)" in log[0]
        with open("/proc/cgroups") as f:
            bound = [line.split()[1] for line in f if line.startswith("memory\t")]
        if bound and bound[0] != "0":
            assert "bound to a cgroup v1 hierarchy (number %s" % bound[0] in log[0]


# -- the pipe (book 3.3) ---------------------------------------------------------------------

def test_argv_survives_the_pipe_exactly(no_cgroup_left):
    args = ["a b", "it's", '"quoted"', "", "  ", "ünïcødé ✔", "new\nline", "tab\there",
            "$HOME", "*", "-m", "--", os.fsdecode(b"\xff\xfe not utf-8")]
    show = ("import os, sys; "
            "sys.stdout.buffer.write(repr([os.fsencode(a) for a in sys.argv[1:]]).encode())")
    for limits in ([], ["-m", "100m"]):
        proc = mydocker("run", *limits, sys.executable, "-S", "-c", show, *args)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.decode() == repr([os.fsencode(a) for a in args])


def test_a_command_larger_than_the_pipe_buffer():
    args = ["%04d" % i + "x" * 200 for i in range(1000)]  # 205 kB: three times a pipe's 64 kB
    proc = mydocker("run", sys.executable, "-S", "-c",
                    "import sys; print(len(sys.argv) - 1, sys.argv[-1][:4])", *args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"1000 0999\n"


def test_init_argv_no_longer_carries_the_command():
    from mydocker_lab.container import process, protocol
    argv = process.init_argv("box", False, "info", "json")
    assert argv[-1] == "json" and "--" not in argv
    assert protocol.decode_command(protocol.encode_command(["a b", ""])) == ["a b", ""]
    assert protocol.decode_command(b"cut sho") is None


def test_init_alone_refuses_to_start():
    proc = mydocker("init", "--hostname", "x")  # no pipe on fd 5: not started by run
    assert proc.returncode == 125
    assert b"init is internal" in proc.stderr


# -- what a SIGKILLed or interrupted run leaves (bug 3) -----------------------------------------

def test_sigterm_while_the_cgroup_is_made_leaves_nothing(tmp_path, no_cgroup_left):
    """SIGTERM right after the cgroup exists: held, then the run ends cleanly with 143 (its
    default action used to kill mydocker-lab before it removed the cgroup: 9 of 10 times)."""
    holds = Holds(tmp_path, "cgroup")
    proc = start("run", "-m", "64m", "true", env=holds.env(), stdin=subprocess.DEVNULL,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        holds.reached("cgroup")
        assert len(cgroups_of(STARTED[-1:])) == 1  # it is there now...
        proc.send_signal(signal.SIGTERM)
        holds.release("cgroup")
        out, err = proc.communicate(timeout=30)
    finally:
        holds.close()
    assert proc.returncode == 143, err
    assert out == b"" and b"Traceback" not in err
    assert "SIGTERM before the command ran" in log_lines(err)[-1]["msg"]
    # ...and gone (no_cgroup_left)


def test_the_next_run_sweeps_a_sigkilled_runs_cgroup(no_cgroup_left):
    proc = start("run", "-m", "64m", "sleep", "30", stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pid1 = container_pid(proc.pid, "sleep")
        pidfd = os.pidfd_open(pid1)
        left = [p for p in _cgroups_named_in(pid1)]
    finally:
        proc.kill()  # SIGKILL: mydocker-lab cannot remove anything now
        proc.wait()
    _exited(pidfd)  # its watcher killed the container...
    assert [os.path.isdir(p) for p in left] == [True] * len(left) and left  # ...the cgroup stays
    swept = mydocker("--log-level", "debug", "run", "-m", "64m", "true")
    assert swept.returncode == 0, swept.stderr
    assert [p for p in left if os.path.isdir(p)] == []
    assert any(e["msg"].startswith("swept cgroup %s/" % cgroups.PARENT) and
               ("pid %d)" % proc.pid) in e["msg"] for e in log_lines(swept.stderr))


def _cgroups_named_in(pid):
    """The cgroup directories ``pid`` is in, below a mydocker-lab/ parent."""
    with open("/proc/%d/cgroup" % pid) as f:
        entries = [line.rstrip("\n").split(":", 2) for line in f]
    found = []
    for _, names, path in entries:
        if "/%s/" % cgroups.PARENT in path:
            for top, dirs, _files in os.walk("/sys/fs/cgroup"):
                if top.endswith(path):
                    found.append(top)
                    break
    return found


def _exited(pidfd, timeout=15):
    import select
    try:
        assert select.select([pidfd], [], [], timeout)[0], "the container still runs"
    finally:
        os.close(pidfd)


@pytest.fixture
def memory_parent():
    """Where runs put their memory cgroups (made if needed; left as the runs leave it)."""
    parent = cgroups.find_hierarchies()["memory"].parent()
    os.makedirs(parent, exist_ok=True)
    return parent


def _owned(parent, tag):
    path = os.path.join(parent, "%s.owner-%s" % (os.urandom(6).hex(), tag))
    os.mkdir(path)
    return path


def test_the_sweep_spares_what_is_in_use_or_not_its_to_judge(memory_parent):
    """Removed: empty, owner gone. Kept: owner alive; a process inside; another PID
    namespace's owner; no owner in the name."""
    ns = os.stat("/proc/self/ns/pid").st_ino
    dead = subprocess.Popen(["true"])
    dead_tag = cgroups.owner_tag(dead.pid)  # while it lives...
    dead.wait()                             # ...and gone for good (pid + start time)
    busy_holder = subprocess.Popen(["sleep", "30"])
    paths = {
        "gone": _owned(memory_parent, dead_tag),
        "alive": _owned(memory_parent, cgroups.owner_tag()),  # this test process
        "busy": _owned(memory_parent, dead_tag),
        "other namespace": _owned(memory_parent, "%d-%d-%d" % (dead.pid, 1, ns + 1)),
        "no owner": os.path.join(memory_parent, "not-ours-%s" % os.urandom(4).hex()),
    }
    os.mkdir(paths["no owner"])
    try:
        with open(os.path.join(paths["busy"], "cgroup.procs"), "w") as f:
            f.write(str(busy_holder.pid))
        proc = mydocker("run", "-m", "64m", "true")
        assert proc.returncode == 0, proc.stderr
        assert {k: os.path.isdir(p) for k, p in paths.items()} == {
            "gone": False, "alive": True, "busy": True, "other namespace": True,
            "no owner": True}
    finally:
        busy_holder.kill()
        busy_holder.wait()
        for path in paths.values():
            _rmdir(path)


def _rmdir(path):
    """rmdir once the cgroup is empty (a killed process leaves it a moment after SIGKILL)."""
    def removed():
        try:
            os.rmdir(path)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return True
    wait_for(removed, "%s to be removable" % path)


def test_plain_run_does_not_import_cgroups():
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "mydocker_lab", "run",
                           "true"], capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0
    assert b"mydocker_lab.cgroups" not in proc.stderr
