"""`sudo mydocker-lab run -ti /bin/sh` inside the Vagrant VM, driven by pexpect over ssh."""
import os

import pytest

from mydocker_lab.lab.session import Session

#: Process start in an emulated (TCG) guest is ~30x slower than on this host.
TIMEOUT = int(os.environ.get("MYDOCKER_LAB_VM_TIMEOUT", "180"))


@pytest.fixture
def shell(vm):
    """The installed command, as a student types it in the VM: VagrantTarget runs it with
    sudo (`sudo -n -- mydocker-lab ... run --hostname box -ti /bin/sh`). The terminal's
    transcript is printed at the end: pytest shows it when the test failed."""
    s = Session(vm, hostname="box", timeout=TIMEOUT, runtime=["mydocker-lab"]).start()
    yield s
    s.close()
    print("---- the container's terminal ----\n" + s.log.getvalue())


def test_the_vm_is_the_one_provisioned(vm):
    assert vm.run(["uname", "-s"], timeout=TIMEOUT).stdout == "Linux\n"
    assert vm.run(["id", "-u"], timeout=TIMEOUT).stdout == "0\n"  # through sudo
    assert vm.run(["readlink", "/usr/local/bin/mydocker-lab"], timeout=TIMEOUT).stdout \
        == "/opt/mydocker-lab/venv/bin/mydocker-lab\n"


def test_ps_shows_the_shell_as_pid_1(shell):
    lines = shell.run("ps -ef").splitlines()
    assert lines[0].split()[:2] == ["UID", "PID"], lines
    assert lines[1].split()[1] == "1" and lines[1].endswith(" /bin/sh"), lines
    assert len(lines) == 3, lines  # sh and ps: nothing else in the container
    assert shell.run("echo $$") == "1\n"


def test_hostname_is_isolated_from_the_vm(vm, shell):
    vm_name = vm.run(["hostname"], timeout=TIMEOUT).stdout.strip()
    assert vm_name and vm_name != "box"
    assert shell.run("hostname") == "box\n"
    assert shell.run("hostname other; hostname") == "other\n"
    assert vm.run(["hostname"], timeout=TIMEOUT).stdout.strip() == vm_name


def test_exit_3_is_the_exit_status(shell):
    assert shell.run("echo $$") == "1\n"
    assert shell.exit(3) == 3


def test_without_a_terminal_the_status_and_output_come_back(vm):
    proc = vm.run_container(["sh", "-c", "echo $$; hostname; exit 3"], "--hostname", "box",
                            timeout=TIMEOUT)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.split() == ["1", "box"]


def test_probes_run_in_the_vm(vm):
    assert vm.probe("whoami", timeout=TIMEOUT)
