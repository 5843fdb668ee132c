"""The limits as typed on the command line -> numbers for the kernel (the book's
``subsystems.ResourceConfig``). Pure: no file is read or written here, so every
rule is unit-tested (tests/runtime/test_limits.py).

Each bad value is one :class:`CgroupError`, naming the flag and what is wanted;
nothing of it can end in a traceback (``inf``, ``1e999``, ``²``, a range of two
billion CPUs...).
"""
from ..container.protocol import RunError

#: The CPU period for --cpus, in microseconds (docker's default, 100 ms).
CPU_PERIOD = 100000
#: Docker's smallest --memory: below it the runtime's own start-up cannot fit.
MIN_MEMORY = 6 * 1024 * 1024
#: Larger is no limit a kernel can hold (its page counters stop at 2**63 bytes).
MAX_MEMORY = 1 << 62
#: CPU numbers go up to this (Linux's largest NR_CPUS is 8192).
MAX_CPU = 8191

_DIGITS = frozenset("0123456789")
_UNITS = " kmgtp"  # docker's: k = 1024, m = 1024**2...


class CgroupError(RunError):
    """A limit cannot be applied: one clear line, exit status 125."""


def parse(limits):
    """``{"memory": "100m", "cpus": "0.5", ...}`` -> ``{"memory": 104857600, "cpus": 50000,
    ...}``: each value checked and converted (the book's ResourceConfig)."""
    parsers = {"memory": parse_memory, "cpu-shares": parse_cpu_shares, "cpus": parse_cpus,
               "cpuset-cpus": parse_cpuset}
    return {kind: parsers[kind](text) for kind, text in limits.items() if text is not None}


def _digits(text):
    return bool(text) and set(text) <= _DIGITS  # ASCII only: "²".isdigit() is True


def parse_memory(text):
    """``100m`` -> 104857600: docker's units (b, k, m, g, t, p; binary), an optional
    ``b``/``ib`` after the unit, one optional space before it, a decimal fraction."""
    rest = text.strip().lower()
    for suffix in ("ib", "b"):
        if rest.endswith(suffix) and rest != suffix:
            rest = rest[:-len(suffix)]
            break
    unit = rest[-1:] if rest[-1:] in tuple(_UNITS[1:]) else ""
    number = rest[:len(rest) - len(unit)]
    if unit and number.endswith(" "):
        number = number[:-1]
    whole, dot, fraction = number.partition(".")
    if not _digits(whole) or (dot and not _digits(fraction)):
        raise CgroupError("invalid value %r for --memory: want a size such as 100m or 1g" % text)
    if len(whole) > 24:  # more digits than any machine's bytes (and than int() may read)
        raise CgroupError("invalid value %r for --memory: larger than any machine" % text)
    scale = 1024 ** _UNITS.index(unit or " ")
    fraction = fraction[:24]  # finer than a byte either way
    size = int(whole) * scale + (int(fraction) * scale // 10 ** len(fraction) if dot else 0)
    if size < MIN_MEMORY:
        raise CgroupError("invalid value %r for --memory: the minimum is 6m" % text)
    if size > MAX_MEMORY:
        raise CgroupError("invalid value %r for --memory: larger than any machine" % text)
    return size


def parse_cpu_shares(text):
    shares = int(text) if _digits(text) and len(text) < 10 else 0
    if not 2 <= shares <= 262144:
        raise CgroupError("invalid value %r for --cpu-shares: want a whole number from 2 to "
                          "262144 (1024 is a normal share)" % text)
    return shares


def shares_to_weight(shares):
    """cgroup v1 ``cpu.shares`` (2..262144) -> v2 ``cpu.weight`` (1..10000), as runc maps it."""
    return 1 + ((shares - 2) * 9999) // 262142


def parse_cpus(text, available=None):
    """``0.5`` -> the quota in microseconds per CPU_PERIOD (0.01 to the CPUs there are)."""
    import os
    available = available or os.cpu_count() or 1
    try:
        cpus = float(text)
    except ValueError:
        cpus = -1.0
    if not 0.01 <= cpus <= available:  # also false for nan; inf and 1e999 are too large
        raise CgroupError("invalid value %r for --cpus: the range is 0.01 to %d.00, as there "
                          "are only %d CPUs here" % (text, available, available))
    return int(round(cpus * CPU_PERIOD))


def parse_cpu_list(text):
    """``0-2,5`` -> {0, 1, 2, 5}; None if malformed (or a number above MAX_CPU)."""
    cpus = set()
    for part in text.strip().split(","):
        first, dash, last = part.partition("-")
        if not _digits(first) or (dash and not _digits(last)):
            return None
        low, high = int(first), int(last) if dash else int(first)
        if low > high or high > MAX_CPU:
            return None
        cpus.update(range(low, high + 1))
    return cpus


def parse_cpuset(text):
    cpus = parse_cpu_list(text)
    if not cpus:
        raise CgroupError("invalid value %r for --cpuset-cpus: want CPU numbers (0 to %d) "
                          "such as 0, 0-1 or 0,2" % (text, MAX_CPU))
    return cpus


def format_cpu_list(cpus):
    """{0, 1, 2, 5} -> ``0-2,5``."""
    out, cpus = [], sorted(cpus)
    while cpus:
        low = high = cpus.pop(0)
        while cpus and cpus[0] == high + 1:
            high = cpus.pop(0)
        out.append(str(low) if low == high else "%d-%d" % (low, high))
    return ",".join(out)
