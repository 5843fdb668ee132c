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


def test_nothing_is_left_on_the_target(complete, ssh_target):
    listing = ["sh", "-c", "ls -d /tmp/myrun-* 2>/dev/null | sort"]
    before = ssh_target.run(listing).stdout
    myrun.check("03", ssh_target, complete)
    myrun.check("05", ssh_target, complete)
    assert ssh_target.run(listing).stdout == before
