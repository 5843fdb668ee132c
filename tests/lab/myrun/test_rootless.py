"""Rootless: the checks, the reference and a student's runtime as an unprivileged user
(nobody, a clean environment, Debian's python3). What the kernel allows in a user namespace
passes; the memory limit, which needs root, says so -- never a false ✘."""
import os
import subprocess

import pytest

from mydocker_lab.lab import myrun
from mydocker_lab.lab.myrun import work
from mydocker_lab.lab.myrun.pieces import NUMBERS


@pytest.fixture(scope="module")
def complete(tmp_path_factory, all_reference_pieces):
    folder = tmp_path_factory.mktemp("rootless") / "work"
    path = work.seed(folder, all_reference_pieces)
    return str(path)


@pytest.mark.parametrize("number", [n for n in NUMBERS if n != "06"])
def test_every_check_passes_rootless(complete, nobody, number):
    verdict = myrun.check(number, nobody, complete)
    assert verdict.state == "pass", verdict.text()


def test_the_memory_limit_says_it_needs_root(complete, nobody):
    verdict = myrun.check("06", nobody, complete)
    assert verdict.state == "skip" and not verdict.ok
    assert verdict.message.startswith("not checked on this machine: a memory limit needs root")
    assert verdict.text().startswith("– piece 06 · ") and "✘" not in verdict.text()


def test_the_run_flow_says_what_it_could_not_check(complete, nobody):
    verdict = myrun.check("04", nobody, complete)
    assert verdict.state == "pass"
    assert verdict.message.startswith("myrun waits, `exit 3` gives 3, SIGKILL gives 137 (-m: not "
                                      "checked here: a memory limit needs root: the cgroup file "
                                      "system (/sys/fs/cgroup")


def test_the_final_check_passes_rootless(complete, nobody):
    verdict = myrun.final_check(nobody, complete)
    assert verdict.ok, verdict.text()


def test_the_reference_as_nobody(nobody):
    from mydocker_lab.lab.myrun.source import REFERENCE_PATH
    site_reference = subprocess.run(
        # -I: not the checkout's copy (the current directory), which nobody may not read
        [nobody.python, "-I", "-c",
         "import mydocker_lab.lab.myrun.reference as r; print(r.__file__)"],
        capture_output=True, text=True, check=True, cwd="/").stdout.strip()
    assert os.path.basename(site_reference) == os.path.basename(REFERENCE_PATH)
    proc = nobody.run([nobody.python, site_reference, "run", "/bin/sh", "-c",
                       "echo $$ $(id -u) $(cat /proc/self/uid_map); exit 3"])
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.split() == ["1", "0", "0", "65534", "1"]
    proc = nobody.run([nobody.python, site_reference, "run", "-m", "10m", "true"])
    assert proc.returncode == 125 and proc.stderr.startswith("myrun: ")
    assert "Traceback" not in proc.stderr
