"""Signals: held while the container starts, then forwarded; never a traceback (bugs 10, 12).

The documented rule (README, `run --help`): before the command runs, SIGINT, SIGTERM, SIGHUP,
SIGQUIT, SIGUSR1 and SIGUSR2 cancel the run (exit 128+N, nothing left behind); once it runs,
they are forwarded to its PID 1. A terminal's Ctrl-C goes to the whole foreground process
group, so the tests send it as the terminal does: to mydocker-lab's process group.
"""
import os
import random
import select
import signal
import subprocess
import time

import pytest

from support import (MYDOCKER, STARTED, Holds, alive, cgroups_of, children, container_pid, find_container,
                     log_lines, start, wait_for)


def _blocked(pid, field="SigBlk"):
    try:
        with open("/proc/%d/status" % pid) as f:
            mask = int([line.split()[1] for line in f if line.startswith(field + ":")][0], 16)
    except (OSError, IndexError):
        return set()
    return {n for n in range(1, 65) if mask & (1 << (n - 1))}


@pytest.mark.parametrize("point, signum, limits", [
    ("cgroup", signal.SIGINT, ["-m", "64m"]),    # the cgroup exists, nothing else yet
    ("cloned", signal.SIGINT, []),               # a child, no watcher yet
    ("watching", signal.SIGTERM, ["-m", "64m"]),  # went, and the watcher started
    ("sending", signal.SIGINT, []),              # init runs, still Python, waiting for its command
    ("sending", signal.SIGHUP, ["-m", "64m"]),
], ids=["cgroup-INT", "cloned-INT", "watching-TERM", "sending-INT", "sending-HUP"])
def test_a_signal_before_the_command_runs_cancels_the_run(tmp_path, point, signum, limits):
    holds = Holds(tmp_path, point)
    first = len(STARTED)
    proc = start("run", *limits, "sh", "-c", "echo the command ran", env=holds.env(),
                 start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE)
    try:
        holds.reached(point)
        ours = children(proc.pid)
        if point == "sending":  # init is Python until it execs: the old place of a traceback
            init = find_container(proc.pid)
            wait_for(lambda: _waits_for_its_command(init), "init to wait for its command")
        os.killpg(proc.pid, signum)  # as the terminal's Ctrl-C: to the whole group
        holds.release(point)
        out, err = proc.communicate(timeout=30)
    finally:
        holds.close()
    assert proc.returncode == 128 + signum, err
    assert out == b"" and b"Traceback" not in err
    name = signal.Signals(signum).name
    assert log_lines(err)[-1]["msg"] == ("%s before the command ran: the run is cancelled, "
                                         "nothing is left behind" % name)
    assert [pid for pid in ours if alive(pid)] == []
    assert cgroups_of(STARTED[first:]) == []


def _waits_for_its_command(pid):
    try:
        with open("/proc/%d/syscall" % pid) as f:
            fields = f.read().split()
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            is_init = b"\0init\0" in f.read()
    except OSError:
        return False
    return is_init and fields[0] == "0" and int(fields[1], 16) == 5  # read(5, ...)


@pytest.mark.parametrize("tty", [[], ["-t"]], ids=["plain", "tty"])
@pytest.mark.parametrize("when", ["held before the wait", "while it waits"])
def test_a_signal_once_the_command_runs_is_forwarded(tmp_path, tty, when):
    """Without -t mydocker-lab takes its signals with sigwaitinfo() (with SIGCHLD), never
    from a handler that a blocking waitpid() would keep waiting for as long as the
    container (under load one SIGTERM in a few hundred runs was lost that way); with -t,
    the relay's poll() is woken through a wake-up fd."""
    holds = Holds(tmp_path, "running")
    proc = start("run", *tty, "sh", "-c", 'trap "echo got INT; exit 42" INT; echo ready; '
                 'while :; do sleep 0.05; done', env=holds.env(), start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        holds.reached("running")
        pid1 = container_pid(proc.pid, "sh")
        wait_for(lambda: signal.SIGINT in _blocked(pid1, "SigCgt"), "the trap to be set")
        if when == "held before the wait":
            os.killpg(proc.pid, signal.SIGINT)
            holds.release("running")
        else:
            holds.release("running")
            wait_for(lambda: _in_wait(proc.pid), "mydocker-lab to wait")
            os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        holds.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, out.replace(b"\r\n", b"\n")) == (42, b"ready\ngot INT\n"), err


def _in_wait(pid):
    """Asleep where it waits: in sigwaitinfo(), or in poll() with -t (its kernel function)."""
    try:
        with open("/proc/%d/wchan" % pid) as f:
            where = f.read()
    except OSError:
        return False
    return where.startswith(("do_sigtimedwait", "poll_schedule_timeout", "do_sys_poll"))


def test_sigint_at_random_moments_never_a_traceback():
    """From mydocker-lab's first line on (when it has blocked these signals: SigBlk in
    /proc), a Ctrl-C at a random moment of the next 80 ms: a clean end, every time. (The
    instants before that line belong to the Python interpreter's own start-up.)"""
    rng = random.Random(os.environ.get("MYDOCKER_LAB_TEST_SEED", "12"))
    seen = set()
    for i in range(20):
        proc = start("run", "-m", "64m" if i % 2 else "100m", "sh", "-c",
                     'trap "exit 42" INT; sleep 0.3; echo done', start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_for(lambda: signal.SIGINT in _blocked(proc.pid) or proc.poll() is not None,
                 "mydocker-lab's first line", interval=0.001)
        time.sleep(rng.uniform(0, 0.08))  # the random moment: the stimulus, not a wait
        try:
            os.killpg(proc.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        out, err = proc.communicate(timeout=30)
        assert b"Traceback" not in err, err.decode()
        assert proc.returncode in (130, 42, 0), (proc.returncode, err.decode())
        seen.add(proc.returncode)
    assert 130 in seen  # the window before the command was hit at least once


def test_the_command_starts_with_default_signals_whatever_the_caller_ignores():
    """Bug 10: `trap '' INT QUIT HUP` (or nohup) before mydocker-lab: PID 1 had SigIgn = 7."""
    proc = subprocess.run(["sh", "-c", "trap '' INT QUIT HUP; exec \"$@\"", "sh"]
                          + MYDOCKER + ["--log-level", "error", "run",
                             "grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"],
                          capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().split() == ["SigBlk:", "0" * 16, "SigIgn:", "0" * 16]


def test_pid_1_without_handler_ignores_a_forwarded_sigterm():
    """The kernel's rule: a PID namespace's init gets only the signals it has a handler for
    (SIGKILL/SIGSTOP from an ancestor namespace excepted). `sleep` has none."""
    proc = start("--log-level", "debug", "run", "sleep", "30", stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        pid1 = container_pid(proc.pid, "sleep")
        proc.send_signal(signal.SIGTERM)
        _read_until(proc.stderr, b"forwarded SIGTERM to the container's PID 1")
        assert proc.poll() is None and alive(pid1)  # delivered, and dropped by the kernel:
        assert signal.SIGTERM not in _blocked(pid1, "ShdPnd") | _blocked(pid1, "SigPnd")
        os.kill(pid1, signal.SIGKILL)
        assert proc.wait(15) == 137
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def _read_until(stream, needle, timeout=15):
    data, deadline = b"", time.monotonic() + timeout
    while needle not in data:
        left = deadline - time.monotonic()
        assert left > 0 and select.select([stream], [], [], left)[0], \
            "no %r in %r" % (needle, data)
        chunk = os.read(stream.fileno(), 4096)
        assert chunk, "no %r in %r" % (needle, data)
        data += chunk
    return data
