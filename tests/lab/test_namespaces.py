"""Notebook 01's helpers (namespaces.py), for real: probes in new namespaces, the explorer
widget, the exercise checkers, and that nothing is left changed on the host."""
import os

import pytest

from mydocker_lab.lab import namespaces as ns
from mydocker_lab.lab.common import SHM_KEY
from mydocker_lab.lab.display import Verdict
from mydocker_lab.lab.labels import HOST_NAME, NETWORK_CARD
from support import ROOT, target_host_state


def _host_state(target):
    """The target's (this Linux, or the VM): where the probes run."""
    state = target_host_state(target)
    state["our_shm_segment"] = SHM_KEY in state.pop("shm_keys")
    return state


def _hostname(target):
    """The target's hostname, read there."""
    return target.run(["cat", "/proc/sys/kernel/hostname"], check=True).stdout.strip()


@pytest.fixture(autouse=True)
def host_unchanged(target):
    """Every test: the host's hostname, mount table, IPC and namespaces are as before."""
    before = _host_state(target)
    yield
    after = _host_state(target)
    assert after == before
    assert not after["our_shm_segment"]


def test_book_namespaces_isolate_everything_the_book_wants(target):
    report = ns.run_explore(list(ns.BOOK_KINDS), target)
    parent, child = report["parent"], report["child"]
    assert report["flags"] == 0x6c020000
    assert child["pid"] == 1 and parent["child_pid"] > 1
    assert child["hostname"] == "child" and parent["hostname_after"] == parent["hostname_before"]
    assert child["mount"] == "ok" and child["mount_seen"] and not parent["mount_seen"]
    assert child["ifaces"] == ["lo"] and "lo" in parent["ifaces"] and len(parent["ifaces"]) > 1
    assert child["shm_seen"] is False
    assert child["uid"] == 0
    for kind in ns.BOOK_KINDS:
        assert child["ns"][kind] != parent["ns"][kind]
    for kind in ("user", "cgroup"):
        assert child["ns"][kind] == parent["ns"][kind]


def test_without_namespaces_the_child_changes_its_parents_world(target):
    report = ns.run_explore([], target)
    parent, child = report["parent"], report["child"]
    assert parent["hostname_after"] == "child"      # renamed the parent (in the probe's sandbox)
    assert parent["mount_seen"]                     # the tmpfs reached the parent
    assert child["shm_seen"] and child["ifaces"] == parent["ifaces"]
    assert child["pid"] == parent["child_pid"] > 1


def test_a_user_namespace_alone_gives_no_power_over_the_hosts_namespaces(target):
    child = ns.run_explore(["user"], target)["child"]
    assert child["uid"] == 65534 and child["uid_map"] == ""
    assert child["sethostname"] == "EPERM" and child["mount"] == "EPERM"
    owned = ns.run_explore(["user", "uts", "mnt"], target)["child"]
    assert owned["sethostname"] == "ok" and owned["mount"] == "ok"


def test_unknown_namespace_is_refused():
    with pytest.raises(ValueError):
        from mydocker_lab.lab.probes.namespaces import explore
        explore(["bogus"])


def test_container_gets_the_books_five_namespaces(target):
    comparison = ns.compare_namespaces(target)
    assert comparison.new == list(ns.BOOK_KINDS)
    text = comparison.text()
    assert "NEW" in text and "one namespace, shared by both" in text
    assert "<svg" in comparison.html()


def test_diagram_is_deterministic_and_shows_what_is_shared():
    shared = {"uts": False, "pid": False, "user": True}
    one, two = ns.diagram(shared), ns.diagram(dict(shared))
    assert one.html() == two.html() and one.text() == two.text()
    assert one.html().count("NEW") == 2
    assert "one user namespace, shared by both" in one.html()


def test_explorer_widget_runs_the_probe_for_the_ticked_boxes(target):
    from mydocker_lab.lab.widgets import Explorer
    widget = ns.explorer(target)
    assert isinstance(widget, Explorer) and widget.runs == 1   # its result before any click
    boxes = {name: box for name, box in widget.controls.items()}
    assert sorted(boxes) == sorted(ns.KINDS)
    boxes["pid"].value = True
    boxes["net"].value = True
    result = widget.result
    assert isinstance(result, ns.Exploration)
    assert result.report["kinds"] == ["pid", "net"]
    assert result.own["pid"] and result.own["net"] and not result.own["uts"]
    assert "PID 1" in result.text() and "only lo" in result.text()
    net_row = [line for line in result.text().splitlines() if line.startswith("net ")]
    assert net_row[-1].rstrip().endswith("NEW: its own")
    boxes["pid"].value = False
    assert widget.result.report["kinds"] == ["net"]
    assert "CLONE_NEWNET = 0x40000000" in widget.result.text()
    assert repr(widget) == widget.result.text()


def test_diagram_draws_a_new_pid_or_user_namespace_inside_the_parents():
    picture = ns.diagram({"uts": False, "pid": False, "user": False})
    assert picture.html().count("nested in it") == 2
    assert "pid      [     the host's     [ NEW, nested in it  ]]" in picture.text()
    assert "uts      [     the host's     ] [        NEW         ]" in picture.text()


def test_root_in_the_container_is_the_hosts_root(target):
    view = ns.root_in_the_container(target)
    right, left = view.right.splitlines(), view.left.splitlines()
    assert right[1] == "0"
    if target.root:   # the book's container: uid 0 with every capability, the host's files
        assert "CapEff: " + ns.BOUNDING_SET in right
        assert left[1] == "written in the container"
        assert left[3] == "root " + ns.ROOT_DEMO_FILE
    assert target.run(["test", "-e", ns.ROOT_DEMO_FILE]).returncode == 1   # removed


def test_userns_by_hand(target):
    text = ns.userns_by_hand(target).text()
    assert "uid 65534, gid 65534   uid_map: []   gid_map: []   setgroups: allow" in text
    assert "uid 0, gid 0   uid_map: [0 %d 1]" % (0 if target.root else os.geteuid()) in text
    assert "setgroups: deny" in text and "a file made inside: owner 0" in text
    assert "EPERM  (a map is written once)" in text


def test_side_by_side_runs_the_container_side_in_a_container(target):
    view = ns.side_by_side(["hostname"], ["hostname", 'echo "PID $$"'], target)
    assert view.right.splitlines() == ["$ hostname", ns.HOSTNAME, '$ echo "PID $$"', "PID 1"]
    # the host's own name is compared in code and shown as a label: the same on every machine
    assert view.left.splitlines() == ["$ hostname", HOST_NAME]


def test_host_values_are_the_targets(target):
    values = ns.host_values(target)
    assert values.hostname == _hostname(target)
    assert values.init == target.run(["cat", "/proc/1/comm"], check=True).stdout.strip()
    net_dev = target.run(["cat", "/proc/net/dev"], check=True).stdout.splitlines()
    devices = {line.split(":", 1)[0].strip() for line in net_dev[2:]}
    assert values.nic in devices and values.nic != "lo"
    assert ns.default_interface(target) == values.nic


def test_network_card_is_shown_as_a_label_and_the_container_has_none(target):
    nic = ns.default_interface(target)
    view = ns.side_by_side(["ip -o link show dev %s | cut -d' ' -f2" % nic],
                           ["ip link show dev " + nic], target)
    assert view.left.splitlines() == ["$ ip -o link show dev %s | cut -d' ' -f2"
                                      % NETWORK_CARD, NETWORK_CARD + ":"]
    assert view.right.splitlines() == ["$ ip link show dev " + NETWORK_CARD,
                                       'Device "%s" does not exist.' % NETWORK_CARD]
    assert nic not in view.text()


def test_explorer_shows_the_hosts_name_as_a_label(target):
    text = ns.explore(user=True, target=target).text()
    assert HOST_NAME + " (sethostname: EPERM)" in text
    assert HOST_NAME + " (unchanged)" in text
    assert _hostname(target) not in text.split()
    renamed = ns.explore(target=target).text()  # no UTS namespace: the child renames its parent
    assert "child (the child renamed it!)" in renamed


@pytest.mark.parametrize("answer", [
    "unshare --uts sh -c 'hostname lab && hostname'",
    "unshare -u sh -c 'hostname other; cat /proc/sys/kernel/hostname'",
    "unshare --user --map-root-user --uts sh -c 'hostname lab && hostname'",   # rootless
    "unshare --uts sh -c 'hostname lab; uname -n'",
    "unshare --uts --fork --pid sh -c 'hostname in-pid-ns && hostname'",
    "{python} -m mydocker_lab run --hostname mine hostname",   # the target's interpreter
    "echo before; unshare --uts sh -c 'hostname x && hostname'",
])
def test_hostname_exercise_accepts_right_answers(answer, target):
    answer = answer.replace("{python}", target.python)
    verdict = ns.check_own_hostname(answer, target)
    assert isinstance(verdict, Verdict) and verdict.ok, verdict.text()
    assert "a UTS namespace of its own" in verdict.message
    assert "the host's name is unchanged" in verdict.message


@pytest.mark.parametrize("answer, expect, hint", [
    ("hostname", "still called", "set a new name"),
    ("hostname renamed-host && hostname", "renamed the host", "unshare --uts"),  # sandboxed
    ("unshare --uts true", "printed nothing", "hostname"),
    ("unshare --uts sh -c 'exit 3'", "failed", "terminal"),
    ("echo notthehost", "no process of your command had a UTS namespace", "unshare --uts"),
    ("printf 'lab\\n'", "no process of your command had a UTS namespace", "unshare --uts"),
    ("unshare --uts hostname", "still called", "set a new name"),
    ("unshare --uts sh -c 'hostname lab'; echo other", "is not that name", "print"),
    ("unshare --uts sh -c 'hostname lab && hostname'; hostname", "still called",
     "set a new name"),
    ("no-such-command-xyz", "failed", "terminal"),
    ("", "not a shell command", "string"),
    (None, "not a shell command", "string"),
    (42, "not a shell command", "string"),
])
def test_hostname_exercise_rejects_wrong_answers_with_a_hint(answer, expect, hint, target):
    verdict = ns.check_own_hostname(answer, target)
    assert not verdict.ok and expect in verdict.message, verdict.text()
    assert verdict.hint and hint in verdict.hint, verdict.text()
    hostname = _hostname(target)
    assert hostname != "renamed-host"
    # the host's name appears only as its label, never as itself
    assert hostname not in verdict.text().replace("$ %s" % answer, "").split()
    if answer == "hostname":
        assert verdict.details.splitlines() == ["$ hostname", HOST_NAME]


def test_hostname_exercise_never_waits_for_ever(target):
    verdict = ns.check_own_hostname("unshare --uts sh -c 'hostname x; hostname; sleep 600'",
                                    target, timeout=3)
    assert not verdict.ok and "did not end" in verdict.message and verdict.hint


def test_host_network_exercise(target):
    assert ns.check_host_network({"uts", "pid", "mnt", "ipc"}, target).ok
    with_net = ns.check_host_network({"uts", "pid", "mnt", "ipc", "net"}, target)
    assert not with_net.ok and "host's network" in with_net.hint
    with_user = ns.check_host_network({"uts", "pid", "mnt", "ipc", "user"}, target)
    assert not with_user.ok and "user namespace" in with_user.hint
    nothing = ns.check_host_network(set(), target)
    assert not nothing.ok and "pid" in nothing.hint
    assert not ns.check_host_network({"pid", "nett"}, target).ok
    for wrong in ("uts", 5, None, [1, 2]):   # not a set of names: a verdict, never a raise
        verdict = ns.check_host_network(wrong, target)
        assert not verdict.ok and "set" in verdict.hint, verdict.text()
    assert ns.check_host_network(["uts", "pid", "mnt", "ipc"], target).ok   # any iterable


def test_flags_text_matches_the_runtime():
    from mydocker_lab.container import process
    assert ns.flags_text(ns.BOOK_KINDS).endswith("= %#010x" % process.CLONE_FLAGS)


def test_the_notebook_has_its_parts():
    import json
    with open(os.path.join(ROOT, "notebooks",
                           "01-namespaces.ipynb")) as f:
        text = json.dumps(json.load(f))
    for name in ("container_process.go", "container/process.py", "CLONE_FLAGS", "linux.py",
                 "You will learn", "Check yourself", "<details>"):
        assert name in text


def test_probe_runs_on_the_target(target):
    links = target.probe("ns-links")
    assert links["uts"].startswith("uts:[")


def test_hostname_exercise_where_ptrace_is_refused():
    """A process that is traced already cannot PTRACE_TRACEME (EPERM, for real): the checker
    says it cannot watch, and where to check instead -- never a false verdict on the answer."""
    import shutil
    from mydocker_lab.lab.targets import LocalTarget
    if shutil.which("strace") is None:
        pytest.fail("this test needs strace (apt-get install strace)")

    class Traced(LocalTarget):
        name = "local-under-strace"

        def argv(self, argv):
            return ["strace", "-f", "-qq", "-o", "/dev/null"] + list(argv)

    verdict = ns.check_own_hostname("unshare --uts sh -c 'hostname lab && hostname'", Traced())
    assert not verdict.ok and "ptrace is refused (EPERM)" in verdict.message, verdict.text()
    assert "course VM" in verdict.hint
