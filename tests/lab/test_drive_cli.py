"""Notebook 05's helpers (drive_cli.py): the tour, the live-shell explorer, the checker."""
from ipywidgets import interactive

from mydocker_lab.lab import drive_cli as lab
from mydocker_lab.lab.labels import HOST_NAME


def test_the_tour_and_the_host_keeps_its_name(target):
    host = target.run(["hostname"], check=True).stdout.strip()
    shown = lab.tour(target)
    assert target.run(["hostname"], check=True).stdout.strip() == host
    text = shown.text()
    assert text.count("✔") == 2 and "✘" not in text
    # the host's name belongs to the machine: compared, shown as the label, twice (unchanged)
    left = shown.parts[0].left
    assert left.startswith("host$ hostname\n%s\n" % HOST_NAME) and left.count(HOST_NAME) == 2
    assert host not in left.split("\n")
    assert "ctr# exit 3\n# mydocker-lab exited with status 3" in shown.parts[0].right


def test_explorer_widget_runs_commands_in_one_live_shell(target):
    w = lab.explorer(target)
    assert isinstance(w, interactive)
    try:
        w.children[0].value = "echo $$"
        w.update()  # what the "Run in the container" button does
        assert w.result.text().endswith("ctr# echo $$\n1")
        w.children[0].value = "hostname other"
        w.update()
        w.children[0].value = "hostname"
        w.update()
        assert w.result.text().endswith("ctr# hostname\nother")  # the same shell
        w.children[0].value = "exit 5"
        w.update()
        assert "exited with status 5" in w.result.text()
        assert w.shell.session is None
        w.children[0].value = "echo $$"
        w.update()  # a new shell for the next command
        assert w.result.text().endswith("ctr# echo $$\n1")
    finally:
        assert "no container left running" in w.shell.close().text()
    assert w.shell.session is None


def test_check_hostname_isolation(target):
    right = [("hostname other", ""), ("hostname", "other")]
    assert lab.check_hostname_isolation(right, target).ok
    silent = lab.check_hostname_isolation([("hostname other", "other")], target)
    assert not silent and "prints nothing" in silent.hint
    unchecked = lab.check_hostname_isolation([("hostname other", "")], target)
    assert not unchecked and "never checked" in unchecked.message
    unchanged = lab.check_hostname_isolation([("hostname", "lab")], target)
    assert not unchanged and "still 'lab'" in unchanged.message
    assert not lab.check_hostname_isolation(None, target)
    empty = lab.check_hostname_isolation([], target)
    assert not empty and empty.message == "no steps yet"
