"""Rootless: an unprivileged user runs containers through a user namespace."""
import os
import subprocess
import sys

import pytest

from support import log_lines, user_python


@pytest.fixture(scope="module")
def user_install(tmp_path_factory):
    """An install any user can run: a venv of the system's Python under /tmp, plus the package."""
    base = tmp_path_factory.mktemp("rootless")
    for path in [base] + list(base.parents)[:-1]:
        if str(path).startswith(str(tmp_path_factory.getbasetemp().parent)):
            os.chmod(path, 0o755)
    return user_python(base)


def as_nobody(python, *args):
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                           python, "-m", "mydocker_lab"] + list(args), capture_output=True,
                          timeout=30, cwd="/", env={"PATH": os.environ["PATH"]},
                          stdin=subprocess.DEVNULL)


def test_rootless_is_root_inside_and_pid_1(user_install):
    proc = as_nobody(user_install, "run", "--rootless", "/bin/sh", "-c",
                     "echo $$; id -u; ps -e -o pid=,comm=")
    assert proc.returncode == 0, proc.stderr
    lines = [line.split() for line in proc.stdout.decode().splitlines()]
    assert lines[:3] == [["1"], ["0"], ["1", "sh"]]
    assert len(lines) == 4 and lines[3][1] == "ps"  # /proc is the container's


def test_rootless_is_chosen_when_not_root(user_install):
    proc = as_nobody(user_install, "run", "sh", "-c", "cat /proc/self/uid_map")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().split() == ["0", "65534", "1"]
    assert "rootless mode" in log_lines(proc.stderr)[0]["msg"]


def test_rootless_exit_codes(user_install):
    assert as_nobody(user_install, "run", "sh", "-c", "exit 7").returncode == 7
    assert as_nobody(user_install, "run", "nope").returncode == 127


def test_no_user_namespaces_is_one_clear_line_and_125():
    # user.max_user_namespaces is per user namespace: set it to 0 in a throw-away one
    # (this machine's own setting is untouched), then ask for a rootless container there.
    proc = subprocess.run(["unshare", "--user", "--map-root-user", "/bin/sh", "-c",
                           'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', "sh",
                           sys.executable, "-m", "mydocker_lab", "run", "--rootless", "true"],
                          capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode == 125
    lines = log_lines(proc.stderr)
    assert len(lines) == 1 and lines[0]["level"] == "error"
    assert "user namespaces are disabled" in lines[0]["msg"]
    assert "sudo" in lines[0]["msg"]


def test_rootless_container_dies_with_a_sigkilled_runtime(user_install):
    """The watcher runs as the user too: its SIGKILL reaches the container's PID 1, which is
    root only inside the user namespace it owns."""
    import select
    import signal
    from support import container_pid
    proc = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                             user_install, "-m", "mydocker_lab", "--log-level", "error", "run",
                             "sleep", "77777"], cwd="/", env={"PATH": os.environ["PATH"]},
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        pidfd = os.pidfd_open(container_pid(proc.pid, "sleep"))
    finally:
        proc.kill()
        proc.wait()
    try:
        assert select.select([pidfd], [], [], 15)[0], "the rootless container still runs"
    finally:
        os.close(pidfd)
