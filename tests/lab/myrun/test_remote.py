"""The checks on a remote target (a real sshd on 127.0.0.1): the student's file travels on
ssh's stdin, runs with the target's python there, and pexpect drives it over ssh -tt."""
import pytest

from mydocker_lab.lab import myrun


@pytest.fixture(scope="module")
def complete(tmp_path_factory, all_reference_pieces):
    from mydocker_lab.lab.myrun import work
    return str(work.seed(tmp_path_factory.mktemp("remote") / "work", all_reference_pieces))


@pytest.mark.parametrize("number", ["01", "02", "05", "07"])
def test_checks_pass_over_ssh(complete, ssh_target, number):
    verdict = myrun.check(number, ssh_target, complete)
    assert verdict.state == "pass", verdict.text()


def test_the_final_check_over_ssh(complete, ssh_target):
    assert myrun.final_check(ssh_target, complete).ok


def test_nothing_is_left_on_the_target(complete, sshd, tmp_path):
    """What the checks write on the target (the student's file, the observer's work folder)
    goes to the target's temporary directory: here a directory of this test's own (its python
    runs with TMPDIR there), so other runs on this machine cannot be mistaken for ours."""
    import sys
    from mydocker_lab.lab.remote import SshTarget
    tmp = tmp_path / "target-tmp"
    tmp.mkdir()
    python = tmp_path / "python"
    python.write_text('#!/bin/sh\nTMPDIR=%s exec %s "$@"\n' % (tmp, sys.executable))
    python.chmod(0o755)
    target = SshTarget(sshd["spec"], python=str(python), options=sshd["options"])
    try:
        assert myrun.check("03", target, complete).state == "pass"
        assert myrun.check("05", target, complete).state == "pass"
        assert target.run([str(python), "-c", "import tempfile; print(tempfile.gettempdir())"]
                          ).stdout.strip() == str(tmp)  # (the checks' files went there)
    finally:
        target.close()
    assert sorted(p.name for p in tmp.iterdir()) == []


def test_the_terminal_check_passes_over_ssh_through_pipes(complete, ssh_target):
    """A laptop without pseudo terminals drives ssh -tt through pipes; through the ssh
    ControlMaster the remote pty then starts non-canonical, which is not myrun's doing."""
    saved = ssh_target.local_pty
    ssh_target.local_pty = False
    try:
        verdict = myrun.check("05", ssh_target, complete)
    finally:
        ssh_target.local_pty = saved
    assert verdict.state == "pass", verdict.text()
