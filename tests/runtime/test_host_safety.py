"""No container may change the host's mounts, even on a systemd host where `/` is shared.

This machine's `/` is private, which would hide the book's bug (it never makes `/`
private before mounting /proc). So each scenario runs inside a throw-away mount
namespace whose `/` is made rshared first, like a systemd host's.
"""
import json
import os
import subprocess

import support
from support import MYDOCKER

SCENARIO = r'''
import ctypes, json, os, signal, subprocess, sys
sys.path.insert(0, sys.argv[1])
from support import MYDOCKER, container_pid

subprocess.run(["mount", "--make-rshared", "/"], check=True)  # like systemd does

def mount_table():
    with open("/proc/self/mountinfo") as f:
        return f.read()

def proc_is_ours():
    try:
        return os.readlink("/proc/self") == str(os.getpid())
    except FileNotFoundError:  # /proc is a dead PID namespace's: no "self" in it
        return False

before = mount_table()
statuses = []
for i in range(5):
    statuses.append(subprocess.run(MYDOCKER + ["--log-level", "error", "run", "sh", "-c",
                                   "ps -e > /dev/null; exit %d" % i]).returncode)
# A container whose mydocker-lab is SIGKILLed mid-run: its init dies too.
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER, to reap the orphan
parent = subprocess.Popen(MYDOCKER + ["--log-level", "error", "run", "sleep", "30"])
child = container_pid(parent.pid, "sleep")
parent.kill()
parent.wait()
os.waitpid(child, 0)
result = {"statuses": statuses, "unchanged": mount_table() == before,
          "proc_is_ours": proc_is_ours()}

# The book's way, as a control: mount proc in a new PID + mount namespace WITHOUT
# making / private first. It must leak into this "host", or this test proves nothing.
subprocess.run(["unshare", "--mount", "--pid", "--fork", "--propagation", "unchanged",
                "mount", "-t", "proc", "proc", "/proc"], check=True)
try:
    result["book_leaks"] = mount_table() != before
except FileNotFoundError:  # /proc/self/mountinfo is gone with our /proc
    result["book_leaks"] = True
result["book_breaks_proc"] = not proc_is_ours()
print(json.dumps(result))
'''


def test_containers_leave_a_shared_root_unchanged(host_unchanged):
    proc = subprocess.run(["unshare", "--mount", "--", MYDOCKER[0], "-c", SCENARIO,
                           os.path.dirname(support.__file__)],
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    result = json.loads(proc.stdout)
    assert result["statuses"] == [0, 1, 2, 3, 4]
    assert result["unchanged"] and result["proc_is_ours"]
    # ...and the same check catches the book's bug:
    assert result["book_leaks"] and result["book_breaks_proc"]


def test_twenty_containers_at_once_each_see_only_themselves():
    script = 'sleep 0.5; echo "$(hostname) $(ls -d /proc/[0-9]* | wc -l)"'
    procs = [subprocess.Popen(MYDOCKER + ["--log-level", "error", "run", "--hostname",
                                          "c%02d" % i, "sh", "-c", script],
                              stdout=subprocess.PIPE) for i in range(20)]
    outputs = [p.communicate(timeout=60)[0].decode().split() for p in procs]
    assert [p.returncode for p in procs] == [0] * 20
    for i, (hostname, processes) in enumerate(outputs):
        assert hostname == "c%02d" % i
        assert int(processes) <= 4  # sh, the subshell, ls (and wc): never another container's
