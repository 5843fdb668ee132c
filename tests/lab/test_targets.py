"""targets.py: how a step starts on the target, and which target a helper gets."""
import sys

import pexpect
import pytest

from mydocker_lab.lab import targets
from mydocker_lab.lab.targets import LocalTarget, TargetError, get_target


def test_a_helper_gets_the_target_it_is_given_or_the_default():
    default = get_target()
    assert get_target(None) is default  # made once, kept
    mine = LocalTarget()
    assert get_target(mine) is mine
    assert isinstance(get_target("local"), LocalTarget)
    with pytest.raises(TargetError, match="unknown target 'telnet://x': want local, vagrant"):
        get_target("telnet://x")


def test_run_there_with_env_input_and_status(target):
    proc = target.run(["sh", "-c", 'echo "$GREETING"; cat; exit 4'], input="typed\n",
                      env={"GREETING": "two  words"})
    assert (proc.returncode, proc.stdout) == (4, "two  words\ntyped\n")
    with pytest.raises(TargetError, match="exited with 4 on .*\n.*oops"):
        target.run(["sh", "-c", "echo oops >&2; exit 4"], check=True)


def test_probes_there_and_in_a_container(target):
    assert target.probe("whoami")["uid"] == int(target.run(["id", "-u"]).stdout)
    host = target.probe("ns-links")
    inside = target.probe("ns-links", container=["--log-level", "error"])
    assert host["uts"] != inside["uts"] and host["pid"] != inside["pid"]
    with pytest.raises(TargetError, match=r"probe no-such-probe failed on .* \(exit 2\)"):
        target.probe("no-such-probe")


def test_mydocker_is_the_package_on_the_target(target):
    argv = target.mydocker("run", "--help")
    assert argv[:3] == [target.python, "-m", "mydocker_lab"] and argv[3:] == ["run", "--help"]
    assert "--hostname" in target.run(argv).stdout


def test_the_local_target_needs_linux(monkeypatch):
    """On a Mac or a Windows computer, one clear sentence: where the Linux steps go instead."""
    monkeypatch.setattr(sys, "platform", "darwin")
    with pytest.raises(TargetError, match="this computer runs macOS, not Linux: .*"
                                          "MYDOCKER_LAB_TARGET=vagrant"):
        LocalTarget()


def test_without_pseudo_terminals_one_clear_sentence(monkeypatch):
    """pexpect on Windows has no spawn: the local target says so (the ssh targets use pipes
    there: test_remote.py)."""
    monkeypatch.delattr(pexpect, "spawn")
    with pytest.raises(TargetError, match="pexpect cannot start a pseudo terminal"):
        targets.pty_spawn()
