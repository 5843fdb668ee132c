"""Notebook 06's helpers (cgroups.py), in plain pytest: widgets driven by their children,
the checker judged against the reference solution and against wrong answers."""
from mydocker_lab.lab import cgroups as lab
from mydocker_lab.lab.labels import CGROUP_VERSION, HOST_CPUS

#: The reference solution (the same text as notebooks/solutions/06-cgroups.ipynb).
BY_HAND = """\
if [ -f "$CG/memory.max" ]; then echo 50M > "$CG/memory.max"
else echo 50M > "$CG/memory.limit_in_bytes"; fi
echo $$ > "$CG/cgroup.procs"
exec "$@"
"""


def test_memory_explorer_widget_within_and_beyond(target):
    widget = lab.memory_explorer(target)
    limit, allocate = widget.children[0], widget.children[1]
    limit.value, allocate.value = 100, 20
    widget.update()
    assert widget.result.parts[-1].ok
    assert "exit status       0" in str(widget.result)
    limit.value, allocate.value = 30, 200
    widget.update()
    text = str(widget.result)
    assert not widget.result.parts[-1].ok
    assert "137 = 128 + 9 (SIGKILL)" in text and "OOM" in text


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


def test_by_hand_checker_accepts_the_solution_and_explains_mistakes(target):
    assert lab.check_by_hand(BY_HAND, target)
    placeholder = lab.check_by_hand('exec "$@"\n', target)
    assert not placeholder and "not 50 MiB" in placeholder.message
    no_move = lab.check_by_hand(BY_HAND.replace('echo $$ > "$CG/cgroup.procs"\n', ""), target)
    assert not no_move and "cgroup.procs" in no_move.hint
    no_exec = lab.check_by_hand(BY_HAND.replace('exec "$@"', "true"), target)
    assert not no_exec and 'exec "$@"' in no_exec.hint
    assert not lab.check_by_hand(None, target)
