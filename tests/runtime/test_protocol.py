"""The contract between `run` and init (container/protocol.py): pure, imports anywhere."""
import os
import subprocess
import sys

import pytest

from mydocker_lab.container import protocol


@pytest.mark.parametrize("argv", [
    ["true"], ["printf", "[%s]\\n", "two  spaces", "it's", "", "  ", "-c", "--"],
    ["a\tb", "new\nline", "ünïcødé ✔", os.fsdecode(b"\xff\xfe not utf-8")],
])
def test_the_command_survives_encoding(argv):
    data = protocol.encode_command(argv)
    assert data.count(b"\0") == len(argv) and data.endswith(b"\0")
    assert protocol.decode_command(data) == argv


@pytest.mark.parametrize("data", [b"", b"cut sho", b"a\0b"])
def test_a_cut_command_is_none(data):
    assert protocol.decode_command(data) is None


def test_init_args_round_trip():
    for tty in (False, True):
        args = protocol.init_args("box", tty, "debug", "text")
        assert protocol.parse_init_args(args) == {"hostname": "box", "tty": tty,
                                                  "log_level": "debug", "log_format": "text"}
    assert protocol.parse_init_args([]) == {"hostname": None, "tty": False,
                                            "log_level": "info", "log_format": "json"}
    for bad in (["--hostname"], ["--bogus", "x"], ["x"], ["--tty=1"]):
        assert protocol.parse_init_args(bad) is None


@pytest.mark.parametrize("status, code", [(0, 0), (3 << 8, 3), (255 << 8, 255),
                                          (9, 137), (15, 143), (2, 130)])
def test_exit_status_is_a_shells(status, code):
    assert protocol.exit_status(status) == code


def test_descriptors_by_name():
    assert (protocol.STDIN, protocol.STDOUT, protocol.STDERR) == (0, 1, 2)
    assert len({protocol.LOG_FD, protocol.READY_FD, protocol.CMD_FD}) == 3
    assert sorted(protocol.INIT_FDS) == list(range(6))
    assert protocol.GO and len(protocol.GO) == 1


def test_signal_numbers_are_this_machines():
    import signal
    for name, number in protocol.SIGNALS.items():
        assert getattr(signal, name) == number
    assert set(protocol.FORWARDED_SIGNALS) == {signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
                                               signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2}


def test_it_imports_where_there_is_no_linux():
    """The notebooks' side (lab/pipe.py) imports it on macOS and Windows: without fcntl,
    termios, ctypes or _signal it still imports and works."""
    code = ("import sys\n"
            "for name in ('fcntl', 'termios', 'ctypes', '_signal', 'signal', 'pty', 'resource'):\n"
            "    sys.modules[name] = None\n"
            "from mydocker_lab.container import protocol\n"
            "print(protocol.decode_command(protocol.encode_command(['a b'])))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "['a b']\n"
