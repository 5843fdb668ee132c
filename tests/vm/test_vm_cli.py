"""`sudo mydocker-lab run -ti /bin/sh` inside the Vagrant VM, driven by pexpect over ssh."""
import os

import pytest

from shell_session import ContainerShell, check_ps_pid1

#: Process start in an emulated (TCG) guest is ~30x slower than on this host.
TIMEOUT = int(os.environ.get("MYDOCKER_LAB_VM_TIMEOUT", "180"))
SHELL = ["mydocker-lab", "--log-level", "error", "run", "--hostname", "box", "-ti", "/bin/sh"]


@pytest.fixture
def shell(vm):
    # VagrantTarget runs it with sudo: `sudo -n -- mydocker-lab run ...` in the VM
    s = ContainerShell(vm, SHELL, timeout=TIMEOUT)
    yield s
    s.close()


def test_the_vm_is_the_one_provisioned(vm):
    assert vm.run(["uname", "-s"], timeout=TIMEOUT).stdout == "Linux\n"
    assert vm.run(["id", "-u"], timeout=TIMEOUT).stdout == "0\n"  # through sudo
    assert vm.run(["readlink", "/usr/local/bin/mydocker-lab"], timeout=TIMEOUT).stdout \
        == "/opt/mydocker-lab/venv/bin/mydocker-lab\n"


def test_ps_shows_the_shell_as_pid_1(shell):
    check_ps_pid1(shell)


def test_hostname_is_isolated_from_the_vm(vm, shell):
    vm_name = vm.run(["hostname"], timeout=TIMEOUT).stdout.strip()
    assert vm_name and vm_name != "box"
    assert shell.run("hostname") == "box"
    assert shell.run("hostname other; hostname") == "other"
    assert vm.run(["hostname"], timeout=TIMEOUT).stdout.strip() == vm_name


def test_exit_3_is_the_exit_status(shell):
    assert shell.run("echo $$") == "1"
    assert shell.exit("exit 3") == 3


def test_without_a_terminal_the_status_and_output_come_back(vm):
    proc = vm.run_container(["sh", "-c", "echo $$; hostname; exit 3"], "--hostname", "box",
                            timeout=TIMEOUT)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.split() == ["1", "box"]


def test_probes_run_in_the_vm(vm):
    assert vm.probe("whoami", timeout=TIMEOUT)
