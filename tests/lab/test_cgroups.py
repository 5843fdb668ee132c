"""Notebook 06's helpers (cgroups.py), in plain pytest: widgets driven by their children,
the checker judged against the reference solution and against wrong answers."""

import pytest

from mydocker_lab.lab import cgroups as lab
from mydocker_lab.lab.display import Verdict
from mydocker_lab.lab.labels import CGROUP_VERSION, HOST_CPUS
from mydocker_lab.lab.widgets import Explorer

#: The reference solution (the same text as notebooks/solutions/06-cgroups.ipynb).
BY_HAND = """\
if [ -f "$CG/memory.max" ]; then echo 50M > "$CG/memory.max"
else echo 50M > "$CG/memory.limit_in_bytes"; fi
echo $$ > "$CG/cgroup.procs"
exec "$@"
"""


def test_memory_explorer_runs_once_per_press_within_and_beyond(target):
    widget = lab.memory_explorer(target)
    assert isinstance(widget, Explorer) and widget.runs == 1
    assert "-m 50m python -c <allocate 100 MiB>" in repr(widget)  # shown before any press
    widget.controls["limit_mib"].value = 100
    widget.controls["allocate_mib"].value = 20
    assert widget.runs == 1  # a slider alone starts no container
    widget.run()  # one press of "run the container"
    assert widget.result.parts[-1].ok and "exit status       0" in repr(widget)
    widget.controls["limit_mib"].value = 30
    widget.controls["allocate_mib"].value = 200
    widget.run()
    text = repr(widget)
    assert "137 = 128 + 9 (SIGKILL)" in text and "OOM" in text


def test_oom_is_the_demonstration_succeeding_not_a_mistake(target):
    shown = lab.oom(target)
    assert shown.parts[-1].ok, shown
    assert "the limit held" in shown.text() and "hint" not in shown.text()


def test_views_both_sides_agree_and_the_cgroup_goes(target):
    result = lab.views("64m", "0", target)
    assert result.parts[-1].ok, result
    assert "67108864 bytes (64 MiB)" in str(result)
    # the host's CPUs belong to the machine: a label; the container's cpuset is its own
    assert "my CPUs                 %s" % HOST_CPUS in result.parts[0].left
    assert "my CPUs                 0" in result.parts[0].right


def test_views_without_a_cpuset_the_container_has_the_hosts_cpus(target):
    result = lab.views("64m", target=target)
    assert result.parts[-1].ok, result
    for side in (result.parts[0].left, result.parts[0].right):
        assert "my CPUs                 %s" % HOST_CPUS in side.split("\n")


def test_cpu_is_slowed_memory_is_killed(target):
    assert lab.cpu_vs_memory(target).parts[-1].ok


def test_cpuset_view(target):
    shown = lab.cpuset_view("0", target)
    assert shown.parts[-1].ok
    assert shown.parts[0].left == "Cpus_allowed_list: %s" % HOST_CPUS
    assert shown.parts[0].right == "Cpus_allowed_list: 0"


def test_layout_names_every_controller(target):
    text = str(lab.layout(target))
    for name in ("memory", "cpu", "cpuset"):
        assert name in text


def test_layout_labels_the_version_and_checks_it_with_the_kernel(target):
    labelled = lab.layout(target)
    assert labelled.parts[-1].ok, labelled
    rows = labelled.parts[0].rows
    assert [row[0] for row in rows] == ["memory", "cpu", "cpuset"]
    assert all(row[1:] == [CGROUP_VERSION, "✔ agrees"] for row in rows), rows
    assert "/sys/fs/cgroup" not in str(labelled)  # nothing of this machine's own layout
    real = lab.layout(target, labels=False)
    assert real.parts[-1].ok and str(real.parts[-1]) == str(labelled.parts[-1])
    proc_cgroups = target.run(["cat", "/proc/cgroups"], check=True).stdout
    bound = {fields[0]: int(fields[1]) for fields in map(str.split, proc_cgroups.splitlines())
             if fields and not fields[0].startswith("#")}
    for row in real.parts[0].rows:  # the target's answer: v1 where its kernel bound it
        assert row[1] == ("v1" if bound[row[0]] else "v2")
        assert row[3].startswith("/") and row[4].endswith("/mydocker-lab")


RIGHT = [
    BY_HAND,
    BY_HAND.replace("50M", "52428800"),
    BY_HAND.replace("50M", "51200k"),
    'for f in memory.max memory.limit_in_bytes; do [ -f "$CG/$f" ] && echo 50m > "$CG/$f"; '
    'done\necho $$ > "$CG/cgroup.procs"\nexec "$@"\n',
]

WRONG = [  # (script, what the message says, what the hint says)
    ('exec "$@"\n', "not 50 MiB", "memory.max (cgroup v2) or"),
    (BY_HAND.replace("50M", "100M"), "not 50 MiB", "write 50M"),
    (BY_HAND.replace('echo $$ > "$CG/cgroup.procs"\n', ""), "", "cgroup.procs"),
    (BY_HAND.replace('exec "$@"', "true"), "did not run", 'exec "$@"'),
    ('echo 50M > "$CG/memory.max"\necho $$ > "$CG/cgroup.procs"\nexec "$@"\n', "", "[ -f"),
    (None, "string of shell commands", "template"),
    ("   ", "string of shell commands", "template"),
]


def _judge(target, script):
    verdict = lab.check_by_hand(script, target)
    assert isinstance(verdict, Verdict)
    return verdict


def test_by_hand_checker_accepts_right_answers(target):
    for script in RIGHT:
        verdict = _judge(target, script)
        assert verdict.ok, (script, verdict)


def test_by_hand_checker_rejects_wrong_answers_with_a_hint(target):
    for script, message, hint in WRONG:
        verdict = _judge(target, script)
        if verdict.ok and "[ -f" in hint and target.root:
            continue  # v2 only: right on a v2 machine as root (the stand-ins catch it rootless)
        assert not verdict.ok, (script, verdict)
        assert message in verdict.message and hint in verdict.hint, (script, verdict)


def _as_nobody(nobody, code):
    """Run ``code`` as the user nobody (a real rootless run), in the rootless target's Python
    (a copy of the package any user can read: a checkout may sit under a home of mode 700);
    its stdout."""
    proc = nobody.run([nobody.python, "-c", code], timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_without_root_the_checker_judges_on_stand_in_files(nobody):
    code = ("from mydocker_lab.lab import cgroups as lab\n"
            "for s in %r: print(repr(lab.check_by_hand(s).text()))" % (
                RIGHT + [w[0] for w in WRONG],))
    verdicts = [eval(line) for line in _as_nobody(nobody, code).splitlines()]  # noqa: S307
    assert all(v.startswith("✔") for v in verdicts[:len(RIGHT)]), verdicts
    for (script, message, hint), v in zip(WRONG, verdicts[len(RIGHT):]):
        assert v.startswith("✘") and message in v and hint in v, (script, v)
    assert "stand-in $CG (v1)" in verdicts[0]


def test_without_root_an_experiment_is_one_box_with_roots_stored_result(nobody):
    text = _as_nobody(nobody, "from mydocker_lab.lab import cgroups as lab\nprint(lab.oom())")
    assert text.startswith("⚠ needs root: mydocker-lab run -m 50m")
    assert "why: Creating a cgroup" in text and "stored from a run as root" in text
    assert "✔ the limit held" in text


def test_the_stored_root_results_are_what_root_sees_now(target):
    if not target.root:
        pytest.skip("the stored results are root's: run as root to compare them")
    assert lab.stored_results() == lab.root_results(target), (
        "run lab.store_root_results() as root after changing the lesson")
