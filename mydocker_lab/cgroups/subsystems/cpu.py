"""The cpu controller (the book's ``subsystems/cpu.go``): ``--cpu-shares``, ``--cpus``."""
from ..limits import CPU_PERIOD, shares_to_weight

CONTROLLER = "cpu"
LIMITS = ("cpu-shares", "cpus")


def set_limits(group, directory, version, resources):
    if "cpu-shares" in resources:  # a weight: counts only while CPUs are busy
        shares = resources["cpu-shares"]
        if version == 2:
            group.write(directory, "cpu.weight", shares_to_weight(shares), "cpu-shares")
        else:
            group.write(directory, "cpu.shares", shares, "cpu-shares")
    if "cpus" in resources:  # a quota: at most this much CPU time in every period
        quota = resources["cpus"]
        if version == 2:
            group.write(directory, "cpu.max", "%d %d" % (quota, CPU_PERIOD), "cpus")
        else:
            group.write(directory, "cpu.cfs_period_us", CPU_PERIOD, "cpus")
            group.write(directory, "cpu.cfs_quota_us", quota, "cpus")
