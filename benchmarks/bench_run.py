#!/usr/bin/env python3
"""How fast is `mydocker-lab run`? Ratios against baselines measured in the same run.

    sudo .venv/bin/python benchmarks/bench_run.py [--runs 15]

Prints medians of:
  - `mydocker-lab run /bin/true` (the console script) against a bare `python -c pass` of the
    same interpreter and `unshare --fork --pid --mount-proc -u -i -n -m /bin/true`
    (target: at most 2.3x the bare interpreter, 2.0x hoped for: the re-exec design starts
    Python twice), and where that time goes;
  - the parent's peak RSS while a container sleeps (target: at most 16 MiB);
  - bytes/s through the -t relay (`run -t cat FILE`, 50 MB) against the same bytes read
    from a plain pty (target: at least 50 %).
Figures, not assertions: the tests check behaviour, this script reports speed.
"""
import argparse
import os
import pty
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(os.path.dirname(sys.executable), "mydocker-lab")
MYDOCKER = [SCRIPT] if os.path.exists(SCRIPT) else [sys.executable, "-m", "mydocker_lab"]
QUIET = ["--log-level", "error"]


#: What each interpreter of a run imports (the console script's path, and init's).
RUNTIME_IMPORTS = ("import mydocker_lab.cli, mydocker_lab.run, mydocker_lab.linux as l; "
                   "l.libc('syscall'); ")
INIT_IMPORTS = ("import sys; sys.path.insert(0, %r); import mydocker_lab.container.init, "
                "mydocker_lab.linux as l; l.libc('mount'); ")
EXIT = "import os; os._exit(0)"


def interleaved(commands, runs):
    """{name: median seconds}, the commands taking turns (a busy moment hits them all)."""
    times = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def peak_rss_kib():
    proc = subprocess.Popen(MYDOCKER + QUIET + ["run", "sleep", "0.6"])
    time.sleep(0.4)
    with open("/proc/%d/status" % proc.pid) as f:
        fields = dict(line.split(":", 1) for line in f)
    proc.wait()
    return int(fields["VmHWM"].split()[0])


def through_plain_pty(path):
    """Bytes/s of ``cat path`` writing to a pty whose master we read: the baseline."""
    pid, master = pty.fork()
    if pid == 0:
        os.execv("/bin/cat", ["cat", path])
    start, total = time.perf_counter(), 0
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: the slave side is closed
            break
        if not chunk:
            break
        total += len(chunk)
    os.waitpid(pid, 0)
    os.close(master)
    return total / (time.perf_counter() - start), total


def through_relay(path):
    """Bytes/s of ``mydocker-lab run -t cat path``: the same pty, then our relay to a pipe."""
    start, total = time.perf_counter(), 0
    with subprocess.Popen(MYDOCKER + QUIET + ["run", "-t", "cat", path],
                          stdout=subprocess.PIPE, stdin=subprocess.DEVNULL) as proc:
        while True:
            chunk = proc.stdout.read1(1 << 16)
            if not chunk:
                break
            total += len(chunk)
    return total / (time.perf_counter() - start), total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--megabytes", type=int, default=50)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("benchmarks/bench_run.py: run it as root (sudo), like the tests")
    unshare = shutil.which("unshare")
    # Measure the package as installed: with its bytecode compiled (PYTHONDONTWRITEBYTECODE,
    # or a read-only checkout, would otherwise make every run recompile what changed).
    import mydocker_lab
    subprocess.run([sys.executable, "-m", "compileall", "-q",
                    os.path.dirname(mydocker_lab.__file__)], check=True)

    print("mydocker-lab run: medians of %d runs (%s)" % (args.runs, " ".join(MYDOCKER)))
    timed = interleaved({
        "bare": [sys.executable, "-c", "pass"],
        "unshare": [unshare, "--fork", "--pid", "--mount-proc", "-u", "-i", "-n", "-m",
                    "/bin/true"],
        "run": MYDOCKER + QUIET + ["run", "/bin/true"],
        # where the time goes: each of the two interpreters' start (neither of them ever
        # tears down: the runtime leaves with os._exit, init with execve) and its imports
        "runtime python": [sys.executable, "-c", EXIT],
        "runtime imports": [sys.executable, "-c", RUNTIME_IMPORTS + EXIT],
        "init python": [sys.executable, "-I", "-S", "-c", EXIT],
        "init imports": [sys.executable, "-I", "-S", "-c", INIT_IMPORTS % os.path.dirname(
            os.path.dirname(os.path.abspath(mydocker_lab.__file__))) + EXIT],
    }, args.runs)
    bare = timed["bare"]
    for name, key in (("python -c pass (baseline)", "bare"),
                      ("unshare --fork --pid --mount-proc -u -i -n -m /bin/true", "unshare"),
                      ("mydocker-lab run /bin/true", "run")):
        print("  %-58s %7.1f ms  %5.2fx" % (name, timed[key] * 1000, timed[key] / bare))
    print("  target: mydocker-lab run /bin/true <= 2.30x python -c pass (2.00x hoped for)")
    parts = [("the runtime's interpreter starts (site included)", timed["runtime python"]),
             ("  + its imports (cli, run, container, linux/_ctypes...)",
              timed["runtime imports"] - timed["runtime python"]),
             ("init's interpreter starts (-I -S)", timed["init python"]),
             ("  + its imports (os, init, protocol, log, linux/_ctypes)",
              timed["init imports"] - timed["init python"]),
             ("the kernel: namespaces, fork, exec, teardown (unshare)", timed["unshare"])]
    rest = timed["run"] - sum(seconds for _, seconds in parts)
    print("where the time of a run goes (each part measured alone, without the interpreter's "
          "teardown):")
    for name, seconds in parts + [("the rest: clone, watcher, pipes, mounts, waits, exit", rest)]:
        print("  %-58s %7.1f ms  %4.0f %%" % (name, seconds * 1000,
                                              100 * seconds / timed["run"]))

    print("parent peak RSS while a container sleeps: %.1f MiB (target <= 16 MiB)"
          % (peak_rss_kib() / 1024))

    with tempfile.NamedTemporaryFile(prefix="mydocker-bench-") as data:
        line = b"x" * 79 + b"\n"
        data.write(line * (args.megabytes * 1000 * 1000 // len(line)))
        data.flush()
        os.chmod(data.name, 0o644)
        plain, n1 = through_plain_pty(data.name)
        relayed, n2 = through_relay(data.name)
    print("-t relay: %.0f MB/s through mydocker-lab, %.0f MB/s through a plain pty: %.0f %% "
          "(target >= 50 %%; %d and %d bytes)" % (relayed / 1e6, plain / 1e6,
                                                  100 * relayed / plain, n2, n1))


if __name__ == "__main__":
    main()
