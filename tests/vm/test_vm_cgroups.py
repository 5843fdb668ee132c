"""cgroup v2 for real: the VM (Debian 12, systemd) is pure v2, where the dev machine is a hybrid
whose memory/cpu/cpuset controllers are bound to v1 (see tests/test_cgroups.py)."""
import os

from mydocker_lab.lab.common import log_records

TIMEOUT = int(os.environ.get("MYDOCKER_LAB_VM_TIMEOUT", "180"))
ALLOCATE = ["python3", "-S", "-c",
            "import sys; b = b'x' * (int(sys.argv[1]) << 20); print('allocated', len(b) >> 20)"]


def leftovers(vm):
    proc = vm.run(["find", "/sys/fs/cgroup", "-mindepth", "2", "-path", "*/mydocker-lab/*",
                   "-maxdepth", "3", "-type", "d"], timeout=TIMEOUT)
    return proc.stdout.split()


def test_v2_oom_kill_is_137_and_logged(vm):
    proc = vm.run_container(ALLOCATE + ["200"], "-m", "30m", timeout=TIMEOUT)
    assert proc.returncode == 137, proc.stderr
    entries = log_records(proc.stderr)
    assert any(e["msg"].startswith("cgroup mydocker-lab/") and "(v2)" in e["msg"]
               and "memory.max=31457280" in e["msg"] for e in entries), proc.stderr
    assert any("OOM" in e["msg"] for e in entries), proc.stderr
    assert leftovers(vm) == []


def test_v2_within_the_limit_and_cpu_files(vm):
    proc = vm.run_container(ALLOCATE + ["20"], "-m", "100m", "--cpus", "0.5",
                            "--cpu-shares", "512", "--cpuset-cpus", "0", timeout=TIMEOUT)
    assert proc.returncode == 0 and proc.stdout == "allocated 20\n", proc.stderr
    line = [e["msg"] for e in log_records(proc.stderr) if e["msg"].startswith("cgroup ")][0]
    for part in ("(v2)", "memory.max=104857600", "cpu.weight=20", "cpu.max=50000 100000",
                 "cpuset.cpus=0"):
        assert part in line, line
    assert leftovers(vm) == []


def test_v2_cpuset_is_what_the_command_sees(vm):
    proc = vm.run_container(["grep", "Cpus_allowed_list", "/proc/self/status"],
                            "--cpuset-cpus", "0", timeout=TIMEOUT)
    assert proc.stdout.split() == ["Cpus_allowed_list:", "0"], proc.stderr
