"""`mydocker-lab run` without a terminal: namespaces, exit codes, argv, env, output, logs."""
import json
import os
import signal
import subprocess
import time

import pytest

import support
from support import MYDOCKER, container_pid, log_lines, mydocker


def test_command_is_pid_1_in_new_namespaces(host_unchanged):
    proc = mydocker("run", "--hostname", "box", "/bin/sh", "-c",
                    "echo $$; hostname; ps -e -o pid=,args=; cat /proc/net/dev")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode().splitlines()
    assert out[0] == "1"
    assert out[1] == "box"
    processes = [line.split(None, 1) for line in out[2:4]]
    assert processes[0] == ["1", "/bin/sh -c echo $$; hostname; ps -e -o pid=,args=; "
                                 "cat /proc/net/dev"]
    assert processes[1][1] == "ps -e -o pid=,args="  # and nothing else: no helper process
    interfaces = [line.split(":")[0].strip() for line in out[6:]]
    assert interfaces == ["lo"]


def test_each_namespace_is_new():
    host = {ns: os.readlink("/proc/self/ns/" + ns) for ns in ("uts", "pid", "mnt", "net", "ipc")}
    proc = mydocker("run", "/bin/sh", "-c", "for n in uts pid mnt net ipc; do "
                    "readlink /proc/self/ns/$n; done")
    inside = proc.stdout.decode().split()
    assert len(inside) == 5
    for ns, link in zip(("uts", "pid", "mnt", "net", "ipc"), inside):
        assert link != host[ns], ns


def test_proc_is_mounted_noexec_nosuid_nodev():
    proc = mydocker("run", "/bin/sh", "-c", "grep ' /proc ' /proc/self/mountinfo | tail -n 1")  # the top one
    fields = proc.stdout.decode().split()
    options = fields[5].split(",")
    assert {"noexec", "nosuid", "nodev"} <= set(options), fields


@pytest.mark.parametrize("status", [0, 1, 42, 255])
def test_exit_status_is_the_commands(status):
    assert mydocker("run", "sh", "-c", "exit %d" % status).returncode == status


@pytest.mark.parametrize("command, status, message", [
    (["/no/such/program"], 127, 'exec: "/no/such/program": no such file or directory'),
    (["no-such-program"], 127, 'exec: "no-such-program": executable file not found in $PATH'),
    ([""], 127, 'exec: "": executable file not found in $PATH'),
    (["/etc/passwd"], 126, 'exec: "/etc/passwd": permission denied'),
    (["/tmp"], 126, 'exec: "/tmp": is a directory'),
])
def test_command_that_cannot_start(command, status, message):
    proc = mydocker("run", *command)
    assert proc.returncode == status
    errors = [line for line in log_lines(proc.stderr) if line["level"] == "error"]
    assert [line["msg"] for line in errors] == [message]


def test_argv_reaches_the_command_unchanged():
    args = ["two words", "'single'", '"double"', "$HOME", "*", "", "héllo ✓", "-c", "--", "a\tb"]
    proc = mydocker("run", "printf", "[%s]\\n", *args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().splitlines() == ["[%s]" % a for a in args]


def test_options_stop_at_the_command():
    proc = mydocker("run", "sh", "-c", 'echo "$0 $1"', "-ti", "--hostname")
    assert proc.stdout == b"-ti --hostname\n"


def test_environment_is_small_and_clean():
    proc = mydocker("run", "--hostname", "h1", "-e", "A=x y", "-eB=", "--env=C=1=2", "env",
                    env=dict(os.environ, SECRET="no"))
    env = dict(line.split("=", 1) for line in proc.stdout.decode().splitlines())
    assert env == {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                   "HOSTNAME": "h1", "HOME": "/root", "A": "x y", "B": "", "C": "1=2"}


def test_env_key_alone_copies_the_callers_value():
    proc = mydocker("run", "-e", "GREETING", "-e", "UNSET_HERE", "env",
                    env={k: v for k, v in dict(os.environ, GREETING="hi").items()
                         if k != "UNSET_HERE"})
    lines = proc.stdout.decode().splitlines()
    assert "GREETING=hi" in lines
    assert not any(line.startswith("UNSET_HERE") for line in lines)


def test_output_reaches_pipes_and_stdin_needs_i():
    proc = mydocker("run", "sh", "-c", "echo out; echo err >&2; cat")
    assert proc.stdout == b"out\n"
    assert b"err\n" in proc.stderr
    proc = mydocker("run", "-i", "tr", "a-z", "A-Z", input=b"hello\n", stdin=None)
    assert proc.stdout == b"HELLO\n"


def test_tty_output_reaches_a_pipe():
    proc = mydocker("run", "-t", "sh", "-c", "tty; echo hi")
    lines = proc.stdout.decode().splitlines()
    assert lines[0].startswith("/dev/pts/")
    assert lines[1] == "hi\r" or lines[1] == "hi"


def test_logs_are_logrus_json_lines():
    proc = mydocker("run", "true")
    lines = log_lines(proc.stderr)
    assert [line["msg"] for line in lines] == ["init come on", "command true"]
    for line in lines:
        # logrus's level, msg and time; the source line (as the book's printed logs show);
        # the run-flow step the line reports
        assert set(line) == {"level", "msg", "source", "step", "time"}
        assert line["step"] == "init"
        assert line["level"] == "info"
        assert line["source"].startswith("container/init.py:")
        assert time.strptime(line["time"][:19], "%Y-%m-%dT%H:%M:%S")


def test_log_level_and_text_format():
    assert mydocker("--log-level", "error", "run", "true").stderr == b""
    assert mydocker("run", "--log-level=warning", "true").stderr == b""
    text = mydocker("run", "--log-format", "text", "true").stderr.decode().splitlines()
    assert text[0].startswith("INFO[0000] init come on")
    debug = log_lines(mydocker("--log-level", "debug", "run", "true").stderr)
    assert any("exited with status 0" in line["msg"] for line in debug)


def test_killed_from_the_host_is_128_plus_signal():
    with subprocess.Popen(MYDOCKER + ["run", "sleep", "30"], stderr=subprocess.PIPE) as parent:
        child = container_pid(parent.pid, "sleep")
        os.kill(child, signal.SIGKILL)
        assert parent.wait(10) == 137


def test_sigterm_is_forwarded_to_pid_1():
    script = 'trap "echo got TERM; exit 143" TERM; echo ready; while :; do sleep 0.05; done'
    parent = support.start("run", "sh", "-c", script, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        assert parent.stdout.readline() == b"ready\n"
        parent.send_signal(signal.SIGTERM)
        out, _ = parent.communicate(timeout=30)
    finally:
        if parent.poll() is None:  # never wait for ever for a container that did not end
            parent.kill()
            parent.communicate()
    assert (parent.returncode, out) == (143, b"got TERM\n")


def test_container_dies_with_a_sigkilled_parent():
    """The orphan is reparented to a subreaper helper, which sees how it ended."""
    helper = r'''
import ctypes, json, os, signal, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
from support import MYDOCKER, container_pid
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come to us
parent = subprocess.Popen(MYDOCKER + ["run", "sleep", "30"], stderr=subprocess.DEVNULL)
child = container_pid(parent.pid, "sleep")
os.kill(parent.pid, signal.SIGKILL)
parent.wait()
start = time.monotonic()
pid, status = os.waitpid(child, 0)
print(json.dumps({"signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                  "seconds": time.monotonic() - start}))
'''
    proc = subprocess.run([MYDOCKER[0], "-c", helper, os.path.dirname(support.__file__)],
                          capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["signal"] == signal.SIGKILL
    assert result["seconds"] < 5


def test_hostname_of_container_does_not_change_the_hosts(host_unchanged):
    proc = mydocker("run", "sh", "-c", "hostname other && hostname")
    assert proc.stdout == b"other\n"


def test_tty_exit_status_survives_sigchld_and_hangup_together():
    """PID 1's end can arrive twice in one poll(): SIGCHLD and the pty's hang-up. Make that
    certain: freeze mydocker-lab (SIGSTOP) while its container ends, then let it go on."""
    def wait_for_state(pid, wanted):
        support.wait_for(lambda: support.state(pid) == wanted,
                         "pid %d to reach state %s" % (pid, wanted))

    with subprocess.Popen(MYDOCKER + ["--log-level", "error", "run", "-t", "sh", "-c",
                                      "sleep 0.3; exit 3"], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        pid1 = container_pid(proc.pid, "sh")
        os.kill(proc.pid, signal.SIGSTOP)
        wait_for_state(proc.pid, "T")
        wait_for_state(pid1, "Z")  # the container has ended; mydocker-lab has not noticed yet
        os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=30)
    assert (proc.returncode, err, out) == (3, b"", b"")


# -- standard descriptors that are closed (bug 5) --------------------------------------------

#: What the container's PID 1 (sh) has as 0, 1, 2: (fd, file, access mode 0/1/2).
PID1_FDS = ("import os, sys; open(sys.argv[1], 'w').write(repr([(fd, os.readlink("
            "'/proc/1/fd/%d' % fd), int(open('/proc/1/fdinfo/%d' % fd).read().split()[3], 8)"
            " & 3) for fd in (0, 1, 2)]))")


@pytest.mark.parametrize("closing, closed", [(">&-", [1]), ("2>&-", [2]),
                                             ("<&- >&- 2>&-", [0, 1, 2])])
def test_a_closed_stdio_is_dev_null_and_the_status_survives(closing, closed, tmp_path):
    """`mydocker-lab run sh -c 'exit 3' >&-` exits 3, not 1 with a traceback. The container
    gets /dev/null in place of what is closed: 0 readable, 1 and 2 writable (as docker's
    containers always start with all three open); never 1 a read-only /dev/null."""
    report = tmp_path / "fds"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # as a user's
    proc = subprocess.run(["sh", "-c", 'exec "$@" ' + closing, "sh"] + MYDOCKER + [
        "--log-level", "error", "run", "-e", "REPORT=%s" % report, "sh", "-c",
        'python3 -S -c "$0" "$REPORT"; exit 3', PID1_FDS],
        capture_output=True, timeout=30, stdin=subprocess.DEVNULL, env=env)
    assert proc.returncode == 3, proc.stderr
    assert b"Traceback" not in proc.stderr
    fds = {fd: (path, mode) for fd, path, mode in eval(report.read_text())}
    assert fds[0] == ("/dev/null", os.O_RDONLY)
    for fd in (1, 2):
        if fd in closed:
            assert fds[fd] == ("/dev/null", os.O_WRONLY), fds
        else:
            assert fds[fd][1] == os.O_WRONLY and fds[fd][0] != "/dev/null", fds


@pytest.mark.parametrize("name", ["box", "lab", "a", "my-box", "b0x.example.org", "x" * 63,
                                  ".".join(["abcdefghijklmno"] * 4), "UPPER-case9"])
def test_a_valid_hostname_is_the_container_s(name):
    proc = mydocker("--log-level", "error", "run", "--hostname", name,
                    "cat", "/proc/sys/kernel/hostname")
    assert (proc.returncode, proc.stdout) == (0, name.encode() + b"\n"), proc.stderr


@pytest.mark.parametrize("name", [
    os.fsdecode(b"\xff"),            # bug 8 was a traceback; the kernel takes it, no resolver does
    os.fsdecode(b"\xff-box"), "é", "box_1", "a b", "-box", "box-", "a..b", ".box", "box.",
    "x" * 64, "x" * 65, ".".join(["abcdefghijklmnop"] * 4) + "x", "a/b", "a:b", "",
])
def test_an_invalid_hostname_is_one_line_and_125(name):
    """docker refuses a hostname that is not RFC 1123; so do we, before anything starts."""
    proc = mydocker("run", "--hostname", name, "true")
    lines = proc.stderr.decode().splitlines()
    assert proc.returncode == 125 and len(lines) == 1, proc.stderr
    assert "invalid hostname" in lines[0] and "Traceback" not in lines[0]
