"""JupyterLab in the VM (vagrant/provision.sh): a service with a token, reachable from this
computer's loopback only. Runs when the VM was provisioned with MYDOCKER_LAB_JUPYTER=yes
(the default for students; `MYDOCKER_LAB_VM_JUPYTER=yes scripts/vm-tier` in CI)."""
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

TIMEOUT = int(os.environ.get("MYDOCKER_LAB_VM_TIMEOUT", "180"))
TOKEN_FILE = "/etc/mydocker-lab/jupyter-token"


@pytest.fixture(scope="module")
def token(vm):
    proc = vm.run(["cat", TOKEN_FILE], timeout=TIMEOUT)
    if proc.returncode != 0:
        pytest.skip("JupyterLab is not installed in this VM (%s missing: it was provisioned "
                    "with MYDOCKER_LAB_JUPYTER=no)" % TOKEN_FILE)
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def port(vm):
    """The host port forwarded to the guest's 8888: `vagrant port` where the provider can tell
    (VirtualBox; auto_correct may have moved it), else MYDOCKER_LAB_JUPYTER_PORT (libvirt)."""
    from mydocker_lab.lab.remote import find_vagrant_dir
    proc = subprocess.run(["vagrant", "port", "--guest", "8888"], cwd=find_vagrant_dir(),
                          capture_output=True, text=True, timeout=120)
    if proc.returncode == 0 and proc.stdout.strip().isdigit():
        return int(proc.stdout.strip())
    return int(os.environ.get("MYDOCKER_LAB_JUPYTER_PORT", "8888"))


def get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


def test_the_service_is_enabled_and_runs_as_vagrant(vm, token):
    assert vm.run(["systemctl", "is-enabled", "mydocker-lab-jupyter"]).stdout.strip() == "enabled"
    proc = vm.run(["ps", "-o", "user=", "-C", "jupyter-lab"], timeout=TIMEOUT)
    assert proc.stdout.split() == ["vagrant"], proc.stdout
    assert vm.run(["stat", "-c", "%a %U", TOKEN_FILE]).stdout.strip() == "600 root"


def test_lab_answers_on_loopback_with_the_token_only(token, port):
    deadline = time.monotonic() + TIMEOUT  # the service may still be starting (emulated CPU)
    status = None
    while time.monotonic() < deadline:
        try:
            status, body = get("http://127.0.0.1:%d/api/status?token=%s" % (port, token))
            if status == 200:
                break
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            pass
        time.sleep(3)
    assert status == 200, "JupyterLab did not answer on 127.0.0.1:%d" % port
    assert "started" in json.loads(body)
    assert get("http://127.0.0.1:%d/api/status" % port)[0] == 403
    assert get("http://127.0.0.1:%d/api/status?token=wrong" % port)[0] == 403


def test_the_forwarded_port_is_not_on_the_network(token, port):
    # the address this computer uses towards the network (no packet is sent)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))
        outward = s.getsockname()[0]
    assert not outward.startswith("127.")
    with socket.socket() as s:
        s.settimeout(5)
        assert s.connect_ex((outward, port)) != 0, "port %d is open on %s" % (port, outward)
