#!/usr/bin/env python3
"""CI, as root on a clean clone: the README's commands exactly as a user types them, then the
tiers that need more than this machine. What runs, in which lane, and each step's time
budget with its reason: tests/tiers.py (STEPS); which test runs in which tier: the same
file (TIERS), tabled in docs/tiers.md.

    .ci/run                 # everything: ./setup, then two lanes side by side
    .ci/run host rootless   # only these steps (after ./setup), e.g. to try one tier

1. ``./setup`` (a failed set-up stops everything);
2. two lanes at once:
   - the VM lane: ``scripts/vm-tier`` (qemu: mostly the guest's own work, one core), its
     output in test-results/ci/vm.log, printed here when it ends;
   - the host lane, one step after another, cheapest first: ``./run-tests`` (the README's
     test command, as written), the rootless, browser, classroom and fresh-Debian tiers.
     After each, nothing of ours may be left on this machine: no orphaned container
     process, no changed mount, no mydocker-lab cgroup (scripts/leftovers). The VM lane
     leaves nothing of that kind here (its containers run in the guest); after it, no
     process of its VM and no temp folder of it may be left (scripts/vm-tier destroys the
     VM and stops the daemons it started).
3. a step past its budget fails, with a line saying which budget and by how much; a step
   still running at twice its budget is stopped. A failed step does not stop the others.

At the end: each step's seconds against its budget, and the total. Exit status 0 when every
step passed within its budget, 1 otherwise. Standard library only (runs before ./setup).
"""
import os
import signal
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))
from tiers import STEPS, critical_path, lanes  # noqa: E402

LOG_DIR = os.path.join(REPO, "test-results", "ci")
PRINT = threading.Lock()


def say(text):
    with PRINT:
        print("\033[1m==> %s\033[0m  (%s)" % (text, time.strftime("%H:%M:%S")), flush=True)


class Row:
    def __init__(self, name, seconds, budget, verdict):
        self.name, self.seconds, self.budget, self.verdict = name, seconds, budget, verdict

    @property
    def ok(self):
        return self.verdict == "ok"


def run(argv, env, deadline, log=None):
    """Run argv in its own process group; stop the group at ``deadline`` (monotonic).
    Returns (exit status, stopped?)."""
    out = open(log, "w") if log else None
    try:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT if out else None,
                                start_new_session=True)
        try:
            return proc.wait(timeout=max(1, deadline - time.monotonic())), False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)   # the tiers clean up on TERM
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            return proc.returncode, True
        except KeyboardInterrupt:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait()
            raise
    finally:
        if out:
            out.close()


def leftovers(action, path):
    return subprocess.run([os.path.join(REPO, ".venv", "bin", "python"),
                           os.path.join(REPO, "scripts", "leftovers"), action, path],
                          cwd=REPO, stdin=subprocess.DEVNULL).returncode


def vm_leftovers():
    """What the VM lane could leave here: a qemu of its VM (its libvirt domain is named
    mydocker_lab_vmtier_<pid>_...), its temp folder, a daemon it started. One line each."""
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if any(b"mydocker_lab_vmtier_" in a for a in argv):
            left.append("process %s: %s" % (pid, b" ".join(argv)[:200].decode("utf-8", "replace")))
    left += ["folder " + d for d in sorted(os.listdir("/tmp"))
             if d.startswith("mydocker-lab-vm-tier.")]
    for line in left:
        print("  left behind by the VM lane: " + line, flush=True)
    return 1 if left else 0


def run_step(step, rows, log=None):
    env = dict(os.environ, **step.env)
    say("%s: %s  (budget %d s%s)" % (step.name, " ".join(step.argv), step.budget,
                                     ", output in " + os.path.relpath(log, REPO) if log else ""))
    snapshot = None
    if step.leftovers == "machine":
        snapshot = os.path.join(LOG_DIR, "leftovers-%s.json" % step.name)
        if leftovers("snapshot", snapshot):
            rows.append(Row("%s: leftovers snapshot" % step.name, 0, None, "FAILED"))
            return
    t = time.monotonic()
    code, stopped = run(step.argv, env, t + 2 * step.budget, log)
    dt = time.monotonic() - t
    if stopped:
        verdict = "FAILED: stopped at twice its budget (%d s)" % (2 * step.budget)
    elif code != 0:
        verdict = "FAILED (exit %d)" % code
    elif dt > step.budget:
        verdict = "FAILED: over its budget of %d s by %d s" % (step.budget, dt - step.budget)
    else:
        verdict = "ok"
    if verdict != "ok" and dt > step.budget and not stopped:
        say("budget: %s took %d s, over its budget of %d s by %d s (tests/tiers.py: %s)"
            % (step.name, dt, step.budget, dt - step.budget, step.why))
    if log:
        with PRINT, open(log, errors="replace") as f:
            lines = f.read().splitlines()
            shown = lines if verdict != "ok" else lines[-60:]
            print("\n---- %s lane: %s%s ----" % (
                step.lane, step.name, "" if verdict != "ok" else
                " (its last %d lines; all of it in %s)" % (len(shown), os.path.relpath(log, REPO))))
            print("\n".join(shown), flush=True)
    rows.append(Row(step.name, dt, step.budget, verdict))
    if snapshot:
        t = time.monotonic()
        code = leftovers("check", snapshot)
        rows.append(Row("  nothing left behind by %s" % step.name, time.monotonic() - t, None,
                        "ok" if code == 0 else "FAILED"))
        os.unlink(snapshot)
    elif step.leftovers == "vm":
        rows.append(Row("  nothing left behind by %s" % step.name, 0, None,
                        "ok" if vm_leftovers() == 0 else "FAILED"))


def lane(steps, rows, logged):
    for step in steps:
        run_step(step, rows, os.path.join(LOG_DIR, step.name + ".log") if logged else None)


def summary(rows, t0):
    total = time.monotonic() - t0
    passed = all(r.ok for r in rows)
    print("\n\033[1mCI timings\033[0m  (budgets: tests/tiers.py)")
    print("  %-44s %7s %8s  %s" % ("step", "seconds", "budget", "verdict"))
    for r in rows:
        print("  %-44s %7d %8s  %s" % (r.name, r.seconds, "" if r.budget is None else
                                        "%d s" % r.budget, r.verdict))
    print("  %-44s %7d %8s  %s" % ("total (wall clock; the lanes overlap)", total,
                                    "%d s" % critical_path(), "PASSED" if passed else "FAILED"),
          flush=True)
    print("  (the total's budget: setup, then the longer lane; CI's limit is 5400 s)")
    return passed


def main(argv):
    os.makedirs(LOG_DIR, exist_ok=True)
    only = set(argv)
    unknown = only - {s.name for s in STEPS}
    if unknown:
        print(".ci/run: no step %s: the steps are %s" % (
            ", ".join(sorted(unknown)), ", ".join(s.name for s in STEPS)), file=sys.stderr)
        return 2
    t0 = time.monotonic()
    by_lane = lanes()
    rows = {name: [] for name in by_lane}
    lane(by_lane["first"], rows["first"], logged=False)
    if not all(r.ok for r in rows["first"]):
        summary(rows["first"], t0)
        return 1
    chosen = {name: [s for s in steps if not only or s.name in only]
              for name, steps in by_lane.items() if name != "first"}
    vm_lane = threading.Thread(target=lane, args=(chosen["vm"], rows["vm"], True),
                               name="vm-lane", daemon=True)
    vm_lane.start()
    lane(chosen["host"], rows["host"], logged=False)
    vm_lane.join()
    return 0 if summary(rows["first"] + rows["host"] + rows["vm"], t0) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
