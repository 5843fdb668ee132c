"""The project's scripts, where they can be checked without their whole tier:

- scripts/vm-tier's log filter, on a sample of Vagrant's output (progress lines redrawn with
  \\r and escape sequences, thousands of them while a box uploads);
- scripts/fresh-tier reads the README's commands from the README itself: the marked blocks
  are there (a README that lost a marker fails here, before any tier), and a terminal's
  output is made readable for a log;
- scripts/leftovers notices a mount and an orphaned container process left behind, and lets
  a killed one go (PID 1 may reap it slowly).
"""
import os
import signal
import subprocess
import sys
import time

import pytest

from support import load_script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(ROOT, "scripts")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the tiers' scripts run on a Linux host")


# --- scripts/vm-tier: the log filter -------------------------------------------------------

CLEAR = "\r\x1b[K"  # Vagrant's clear_line


def vagrant_sample():
    """What `vagrant up` writes to a pipe while vagrant-libvirt uploads a box: every progress
    report is "clear the line" then "Progress: N%", each behind the machine's prefix, never a
    newline; the colored form (a terminal) wraps each message in escape sequences."""
    plain_bar = "".join("    default: %s    default: Progress: %d%%" % (CLEAR, p)
                        for p in range(101))
    colored_bar = "".join(
        "\x1b[0m    default: %s\x1b[0m\x1b[0m    default: Progress: %d%% (Rate: 48.1M/s, "
        "Estimated time remaining: 0:00:%02d)\x1b[0m" % (CLEAR, p, (100 - p) // 10)
        for p in range(0, 101, 5))
    return ("Bringing machine 'default' up with 'libvirt' provider...\n"
            "==> default: Uploading base box image as volume into Libvirt storage...\n"
            + plain_bar + "    default: " + CLEAR + "\n"
            "\x1b[0m\x1b[1m==> default: Creating image (snapshot of base box volume).\x1b[0m\n"
            + colored_bar + "\x1b[0m    default: " + CLEAR + "\x1b[0m\n"
            "==> default: Progress report from the provisioner: 3 of 4 steps\n"
            "    default: SSH address: 192.168.121.5:22\n")


def test_vm_tier_filter_drops_vagrants_progress_lines():
    proc = subprocess.run([sys.executable, os.path.join(SCRIPTS, "vm-tier"), "--filter-log"],
                          input=vagrant_sample(), capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "Bringing machine 'default' up with 'libvirt' provider...",
        "==> default: Uploading base box image as volume into Libvirt storage...",
        "==> default: Creating image (snapshot of base box volume).",
        "==> default: Progress report from the provisioner: 3 of 4 steps",
        "    default: SSH address: 192.168.121.5:22",
    ]


# --- scripts/fresh-tier: the README's commands ---------------------------------------------

@pytest.fixture(scope="module")
def fresh_tier():
    return load_script("fresh-tier")


def test_the_readme_marks_its_first_screen_commands(fresh_tier):
    blocks = fresh_tier.readme_blocks(os.path.join(ROOT, "README.md"))
    assert set(blocks) == {"setup-and-run", "run-tests", "next"}
    assert blocks["setup-and-run"][-1].startswith("./setup")
    assert blocks["setup-and-run"][-1].endswith("mydocker-lab run -ti /bin/sh")
    assert blocks["run-tests"] == ["./run-tests"]
    assert "jupyter lab" in blocks["next"][-1]


def test_a_readme_without_a_marker_fails_loudly(fresh_tier, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- fresh-tier: setup-and-run -->\n```sh\n./setup\n```\n\n"
                      "```sh\n./run-tests\n```\n")  # the test command lost its marker
    with pytest.raises(fresh_tier.Failed, match="<!-- fresh-tier: run-tests -->"):
        fresh_tier.readme_blocks(str(readme))


def test_terminal_output_is_made_readable_for_a_log(fresh_tier):
    pip_bar = ("\x1b[?25l     \x1b[38;5;197m━━━━\x1b[0m 1.0/17.3 MB\r     \x1b[38;5;70m━━━━━━━━"
               "\x1b[0m 17.3/17.3 MB\x1b[?25h\r\n")
    prompt = "\x1b]0;student@fresh: ~\x07\x1b[01;32mstudent@fresh\x1b[00m:~$ \x1b[?2004h"
    assert fresh_tier.plain(pip_bar + prompt) == "     ━━━━━━━━ 17.3/17.3 MB\nstudent@fresh:~$ "


# --- scripts/leftovers ----------------------------------------------------------------------

def leftovers(*args, deadline=0):
    return subprocess.run([sys.executable, os.path.join(SCRIPTS, "leftovers")] + list(args)
                          + ["--deadline", str(deadline)], capture_output=True, text=True,
                          timeout=60 + deadline)


def new_namespaces(*flags):
    """unshare with ``flags``, in a user namespace too when we are not root."""
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return ["unshare"] + user + list(flags)


def test_leftovers_sees_a_mount_left_behind(tmp_path):
    # in a throw-away mount namespace: snapshot, mount, check, unmount, check (each check's
    # report after a line of its own; other leftovers of the moment may be in them too)
    snap, point = tmp_path / "snap.json", tmp_path / "mnt"
    point.mkdir()
    script = ('"$1" "$2" snapshot "$3" --deadline 0 && mount -t tmpfs tmpfs "$4" '
              '&& echo "mounted:" && "$1" "$2" check "$3" --deadline 0 2>&1; '
              'umount "$4" && echo "unmounted:" && "$1" "$2" check "$3" --deadline 0 2>&1; '
              'echo end')
    proc = subprocess.run(new_namespaces("--mount", "--propagation", "private")
                          + ["sh", "-c", script, "sh", sys.executable,
                             os.path.join(SCRIPTS, "leftovers"), str(snap), str(point)],
                          capture_output=True, text=True, timeout=60)
    mounted, _, rest = proc.stdout.partition("unmounted:")
    assert "mounted:" in mounted and rest.endswith("end\n"), proc.stdout + proc.stderr
    line = "leftovers: mount left behind: tmpfs on %s " % point
    assert line in mounted
    assert line not in rest


def _children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(p) for p in f.read().split()]


def _ppid(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _wait_for(what, predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("waited %d s for %s" % (timeout, what))
        time.sleep(0.02)


def test_leftovers_sees_an_orphaned_container_and_lets_a_killed_one_go(tmp_path):
    snap = str(tmp_path / "snap.json")
    assert leftovers("snapshot", snap).returncode == 0
    # a container's first process (PID 1 of its own PID namespace) whose parent dies
    parent = subprocess.Popen(new_namespaces("--pid", "--fork") + ["sleep", "60"],
                              stdin=subprocess.DEVNULL)
    container = None
    try:
        _wait_for("the container's sleep", lambda: _children(parent.pid))
        container = _children(parent.pid)[0]
        parent.kill()
        parent.wait()
        _wait_for("the orphan to be re-parented", lambda: _ppid(container) != parent.pid)
        if _ppid(container) != 1:
            pytest.fail("the orphan went to pid %d, a subreaper, not PID 1: scripts/leftovers "
                        "looks for orphans of PID 1" % _ppid(container))
        mine = "process left behind: pid %d (container PID 1" % container
        assert mine in leftovers("check", snap).stderr
        os.kill(container, signal.SIGKILL)
        # PID 1 may leave it a zombie for a while: the check waits for it to go
        assert mine not in leftovers("check", snap, deadline=30).stderr
    finally:
        parent.kill()
        parent.wait()
        if container is not None:
            try:
                os.kill(container, signal.SIGKILL)
            except ProcessLookupError:
                pass


# --- ./setup and ./run-tests: bad input is one clear line -----------------------------------

def test_run_tests_without_setup_says_run_setup_first(tmp_path):
    script = tmp_path / "run-tests"
    script.write_bytes(open(os.path.join(ROOT, "run-tests"), "rb").read())
    script.chmod(0o755)
    proc = subprocess.run([str(script)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr == "run-tests: no .venv/bin/pytest here: run ./setup first\n"
    assert proc.stdout == ""


def test_setup_through_sudo_is_refused_before_it_changes_anything(tmp_path):
    # `sudo ./setup` would make .venv root's: refused at once. Root inside a user namespace
    # (or root itself) with SUDO_USER set is what sudo gives.
    copy = tmp_path / "setup"
    copy.write_bytes(open(os.path.join(ROOT, "setup"), "rb").read())
    copy.chmod(0o755)
    proc = subprocess.run(new_namespaces() + ["env", "SUDO_USER=student", str(copy)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.startswith("setup: run ./setup as yourself, not through sudo")
    assert proc.stderr.count("\n") == 1
    assert sorted(os.listdir(tmp_path)) == ["setup"]  # no .venv, nothing else


@pytest.mark.parametrize("arg, ours", [
    ("mydocker_lab", True), ("mydocker_lab.lab.probes", True), ("mydocker-lab", False),
    ("/opt/venv/lib/python3.11/site-packages/mydocker_lab/__main__.py", True),
    # the VM lane's qemu, an orphan of libvirtd's, while the host lane checks for ours
    ("guest=mydocker_lab_vmtier_12741_default,debug-threads=on", False),
    ("mydocker_lab_vmtier_1_default", False),
])
def test_leftovers_knows_our_package_from_a_name_that_starts_like_it(arg, ours):
    assert bool(load_script("leftovers").OURS.search(arg)) is ours
