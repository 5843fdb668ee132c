"""labels.py: the machine's own values written as labels, and ps's PID columns evened out."""
from mydocker_lab.lab.labels import (HOST_INIT, HOST_NAME, NETWORK_CARD, HostValues,
                                     host_values, ps_fixed_width)


def test_host_values_are_read_on_the_target(target):
    values = host_values(target)
    assert values.hostname == target.run(["hostname"], check=True).stdout.strip()
    assert values.init == target.run(["cat", "/proc/1/comm"], check=True).stdout.strip()


def test_machine_values_are_labelled_only_where_they_are_the_machines():
    values = HostValues("vm", "systemd", "eth0")
    text = "\n".join(["$ hostname", "vm", "$ cat /proc/1/comm", "systemd", "$ ps -o pid,comm",
                      "    PID COMMAND", "      1 systemd", "     12 systemd",
                      "$ ip link show dev eth0", 'Device "eth0" does not exist.',
                      "eth0@if12: <UP>", "veth0 eth0.100 eth00 vmx"])
    assert values.label(text).splitlines() == [
        "$ hostname", HOST_NAME, "$ cat /proc/1/comm", HOST_INIT, "$ ps -o pid,comm",
        "    PID COMMAND", "      1 " + HOST_INIT, "     12 systemd",
        "$ ip link show dev " + NETWORK_CARD, 'Device "%s" does not exist.' % NETWORK_CARD,
        NETWORK_CARD + ": <UP>", "veth0 eth0.100 eth00 vmx"]
    # a container's PID 1 is its own, not the host's init
    assert values.label("1 systemd\nsystemd", host=False) == "1 systemd\nsystemd"
    mixed = "host# ps -o comm= -p 1\nsystemd\ncontainer# cat /proc/1/comm\nsystemd"
    assert values.label(mixed).splitlines()[1::2] == [HOST_INIT, "systemd"]


def test_ps_fixed_width_either_pid_max():
    five = "  PID  PPID COMMAND\n    1     0 sh -c x\n   12     1 ps"
    seven = "    PID    PPID COMMAND\n      1       0 sh -c x\n     12       1 ps"
    assert ps_fixed_width(seven) == ps_fixed_width(five) == five
    ef7 = ("UID          PID    PPID  C STIME TTY          TIME CMD\n"
           "root           1       0  0 10:00 pts/0    00:00:00 /bin/sh")
    assert ps_fixed_width(ef7) == ("UID        PID  PPID  C STIME TTY          TIME CMD\n"
                                   "root         1     0  0 10:00 pts/0    00:00:00 /bin/sh")
    assert ps_fixed_width("no ps here\n1 2") == "no ps here\n1 2"
