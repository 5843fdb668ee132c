"""The limits' values -> numbers for the kernel (cgroups/limits.py): pure, no cgroup touched."""
import pytest

from mydocker_lab.cgroups import limits
from mydocker_lab.cgroups.limits import CgroupError

MIB = 1 << 20


@pytest.mark.parametrize("text, size", [
    ("100m", 100 * MIB), ("100M", 100 * MIB), ("1g", 1 << 30), ("64 m", 64 * MIB),
    ("64mb", 64 * MIB), ("64MiB", 64 * MIB), ("1.5g", 3 << 29), ("6m", 6 * MIB),
    ("104857600", 100 * MIB), ("6291456b", 6 * MIB), (" 8m ", 8 * MIB), ("1t", 1 << 40),
])
def test_memory_sizes(text, size):
    assert limits.parse_memory(text) == size


@pytest.mark.parametrize("text, words", [
    ("abc", "want a size"), ("", "want a size"), ("m", "want a size"), ("1.5.5g", "want a size"),
    ("-5m", "want a size"), ("0x10m", "want a size"), ("1e3m", "want a size"),
    ("64i", "want a size"), ("６４m", "want a size"),  # full-width digits: not ASCII
    ("1k", "the minimum is 6m"), ("5m", "the minimum is 6m"),
    ("9" * 5000 + "m", "larger than any machine"), ("99999999p", "larger than any machine"),
])
def test_bad_memory_sizes(text, words):
    with pytest.raises(CgroupError, match=words):
        limits.parse_memory(text)


@pytest.mark.parametrize("text, quota", [("0.5", 50000), ("1", 100000), ("2", 200000),
                                         ("0.01", 1000), (" 1.5 ", 150000)])
def test_cpus(text, quota):
    assert limits.parse_cpus(text, available=2) == quota


@pytest.mark.parametrize("text", ["0", "0.001", "3", "-1", "nan", "inf", "-inf", "1e999",
                                  "many", ""])
def test_bad_cpus(text):
    # bug 8: inf and 1e999 raised OverflowError (a traceback)
    with pytest.raises(CgroupError, match="the range is 0.01 to 2.00"):
        limits.parse_cpus(text, available=2)


@pytest.mark.parametrize("text, cpus", [("0", {0}), ("0-2,5", {0, 1, 2, 5}), ("1,1", {1}),
                                        (" 3 ", {3}), ("0-8191", set(range(8192)))])
def test_cpu_lists(text, cpus):
    assert limits.parse_cpuset(text) == cpus
    assert limits.parse_cpu_list(limits.format_cpu_list(cpus)) == cpus


@pytest.mark.parametrize("text", [
    "²",              # bug 8: "²".isdigit() is True, int("²") raised ValueError
    "0-2000000000",   # bug 8: built a set of two billion numbers
    "8192", "1-0", "0,,1", "", "a", "-1", "0-", "٣",
])
def test_bad_cpu_lists(text):
    with pytest.raises(CgroupError, match="want CPU numbers"):
        limits.parse_cpuset(text)


@pytest.mark.parametrize("text, shares", [("2", 2), ("512", 512), ("262144", 262144)])
def test_cpu_shares(text, shares):
    assert limits.parse_cpu_shares(text) == shares


@pytest.mark.parametrize("text", ["1", "262145", "many", "", "+512", "5_12", "١٠٠", "9" * 5000])
def test_bad_cpu_shares(text):
    with pytest.raises(CgroupError, match="want a whole number from 2 to 262144"):
        limits.parse_cpu_shares(text)


def test_cpu_shares_to_weight_is_runcs_mapping():
    assert [limits.shares_to_weight(s) for s in (2, 512, 1024, 262144)] == [1, 20, 39, 10000]


def test_parse_converts_each_limit_and_says_which_is_wrong():
    assert limits.parse({"memory": "64m", "cpus": "0.5", "cpuset-cpus": "0"}) == {
        "memory": 64 * MIB, "cpus": 50000, "cpuset-cpus": {0}}
    with pytest.raises(CgroupError, match="for --cpu-shares"):
        limits.parse({"memory": "64m", "cpu-shares": "x"})


def test_a_cgroup_error_is_a_run_error():
    """So the CLI reports it as any failure of the runtime: one line, exit 125."""
    from mydocker_lab.container.protocol import RunError
    assert issubclass(CgroupError, RunError)
