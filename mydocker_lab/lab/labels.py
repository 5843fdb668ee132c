"""Labels for values that belong to the machine (or to one run).

The commands and probes run for real; where their answer belongs to the machine they
ran on (its hostname, its init, its network card, its interpreter, its CPUs, its cgroup
version...), the code compares it and the display shows a label in its place, so a page
reads the same on a laptop, in the course VM and in CI. :class:`HostValues` reads the
target's own values and writes them as labels in a transcript; :func:`ps_fixed_width`
evens out ps's PID columns.
"""
import re

from .targets import get_target

#: The target's hostname.
HOST_NAME = "<the host's name>"
#: The name of the target's PID 1 (systemd on most machines).
HOST_INIT = "<the host's init>"
#: The target's network card (eth0, enp0s3, wlan0, ...).
NETWORK_CARD = "<your network card>"

#: The interpreter that runs the probes (a venv, pyenv, /usr/bin/python3...).
PYTHON = "<the Python interpreter>"
#: The file /bin/sh resolves to (dash on Debian and Ubuntu, bash on Fedora, busybox...).
SH_FILE = "<the file /bin/sh is>"
#: The CPUs this machine lets a process use (Cpus_allowed_list: 0-1, 0-7, ...).
HOST_CPUS = "<the host's CPUs>"
#: The cgroup version a controller is on (v1 on hybrid machines, v2 on current ones).
CGROUP_VERSION = "<v1 or v2>"
#: How / propagates mounts on the host (shared where systemd booted it, else private).
HOST_PROPAGATION = "<the host's: shared or private>"


def pid_label(whose):
    """``<the child's PID>``: a process ID, which differs on every run."""
    return "<%s PID>" % whose


#: ps's PID columns: their width is the only thing that changes between machines.
_PID_COLUMNS = ("PID", "PPID")


def ps_fixed_width(text, width=5):
    """The output of ``ps`` (with its header line) with the PID columns ``width`` wide.

    ps pads process IDs to the number of digits of the kernel's ``pid_max``
    (``/proc/sys/kernel/pid_max``: 32768 gives 5, systemd's 4194304 gives 7; since
    Linux 6.14 every PID namespace has its own), so the same ``ps`` prints columns of
    different widths on different machines. Only blanks change here: every value and
    every other column stays as ps printed it. Text without a ps header is returned as is.
    """
    lines = text.split("\n")
    for i, line in enumerate(lines):
        heads = line.split()
        if "PID" in heads:
            break
    else:
        return text
    fields = re.findall(r"\s*\S+", lines[i])
    names = [f.strip() for f in fields]
    columns = [j for j, name in enumerate(names) if name in _PID_COLUMNS]
    # ps's width: a first column has no separator; a PPID after PID has exactly one
    # (the PID column right-aligns, leaving no blanks of its own after it)
    if names[0] == "PID":
        used = len(fields[0])
    elif "PPID" in names and names.index("PPID") > 0 and \
            names[names.index("PPID") - 1] == "PID":
        used = len(fields[names.index("PPID")]) - 1
    else:
        return text
    shift = used - width
    out = lines[:i]
    for line in lines[i:]:
        parts = re.findall(r"\s*\S+", line)
        tail = line[len("".join(parts)):]
        for j in columns:
            if j < len(parts) and (parts[j].strip().isdigit() or parts[j].strip() == names[j]):
                value = parts[j].strip()
                blanks = len(parts[j]) - len(value) - shift
                parts[j] = " " * max(blanks, 1 if j else 0) + value
        out.append("".join(parts) + tail)
    return "\n".join(out)



#: A transcript line that is a command, not output: ``$ ...``, ``host# ...``, ``container# ...``
_PROMPT = re.compile(r"^(\$|host#|container#) ")


class HostValues:
    """The values that belong to the machine (read on the target), and :meth:`label`,
    which writes them as labels in a transcript."""

    def __init__(self, hostname, init, nic):
        self.hostname, self.init, self.nic = hostname, init, nic

    @classmethod
    def read(cls, target=None):
        values = get_target(target).probe("host-values")
        return cls(values["hostname"], values["init"], values["nic"])

    def label(self, text, host=True):
        """``text`` (a transcript) with the machine's values written as labels:

        - a line of output that is exactly the host's hostname -> ``<the host's name>``;
        - the host's PID 1, when the host prints it (``cat /proc/1/comm``, a ``ps`` line
          for PID 1) -> ``<the host's init>``. ``host`` says whether the text is the
          host's side; in a transcript, a ``host#``/``container#`` prompt switches sides;
        - the network card's name, in commands too -> ``<your network card>`` (ip writes
          a veth as ``eth0@if12``: the suffix is part of the name it shows).
        """
        lines = []
        for line in text.split("\n"):
            prompt = _PROMPT.match(line)
            if prompt:
                host = {"host#": True, "container#": False}.get(prompt.group(1), host)
            elif line == self.hostname:
                line = HOST_NAME
            elif host and self.init:
                ps_line = re.match(r"^(\s*1\s+)%s$" % re.escape(self.init), line)
                if line == self.init or ps_line:
                    line = (ps_line.group(1) if ps_line else "") + HOST_INIT
            if self.nic:
                line = re.sub(r"(?<![\w.@-])%s(@[\w.-]+)?(?![\w.-])" % re.escape(self.nic),
                              lambda _: NETWORK_CARD, line)
            lines.append(line)
        return "\n".join(lines)


def host_values(target=None):
    """The target's hostname, PID 1 and network card (see :class:`HostValues`)."""
    return HostValues.read(target)
