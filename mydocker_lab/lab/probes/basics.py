"""Probes every notebook may use."""
import os

from . import probe


@probe("whoami")
def whoami():
    """Who and where the probe runs: the target's own view of itself."""
    return {"uid": os.geteuid(), "hostname": os.uname().nodename,
            "kernel": os.uname().release, "machine": os.uname().machine}


def network_card():
    """The network device that carries the default route (eth0, enp0s3, wlan0, ...); without
    a default route (offline), the first device besides lo; None if there is none."""
    with open("/proc/net/route") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if len(fields) > 2 and fields[1] == "00000000" and fields[0] != "lo":
                return fields[0]
    with open("/proc/net/dev") as f:
        names = sorted(line.split(":", 1)[0].strip() for line in f.readlines()[2:])
    return next((name for name in names if name != "lo"), None)


@probe("host-values")
def host_values():
    """What belongs to this machine and differs on every other: its hostname, the name of
    its PID 1 (systemd on most machines) and its network card (see ``labels.HostValues``)."""
    with open("/proc/1/comm") as f:
        init = f.read().strip()
    return {"hostname": os.uname().nodename, "init": init, "nic": network_card()}
