"""The -t relay's byte-copying core (relay.copy) over a socketpair: fast, no process.

One end of the socketpair plays the pty master, the other the container's side of it;
pipes play our stdin and stdout, and one more pipe the pidfd that says "PID 1 ended".
"""
import os
import select
import socket
import threading

import pytest

from mydocker_lab import relay
from support import wait_for


class Rig:
    def __init__(self, stdin=True):
        self.master, self.container = socket.socketpair()
        self.in_r, self.in_w = os.pipe() if stdin else (None, None)
        self.out_r, self.out_w = os.pipe()
        self.end_r, self.end_w = os.pipe()
        self.wake_r, self.wake_w = os.pipe()
        self.woken = 0
        self.result = []
        self.thread = threading.Thread(target=self._copy, daemon=True)
        self.thread.start()

    def _copy(self):
        self.result.append(relay.copy(self.master.fileno(), self.end_r, self.in_r, self.out_w,
                                      wake=self.wake_r, on_wake=self._woken))

    def _woken(self):
        self.woken += 1

    def received(self, size, timeout=10):
        """What the relay sent to the container's side: ``size`` bytes."""
        data = b""
        self.container.settimeout(timeout)
        while len(data) < size:
            chunk = self.container.recv(size - len(data))
            assert chunk, data
            data += chunk
        return data

    def why(self, timeout=10):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "copy() did not return"
        return self.result[0]

    def close(self):
        self.container.close()
        self.thread.join(10)
        self.master.close()
        for fd in (self.in_r, self.in_w, self.out_r, self.out_w, self.end_r, self.end_w,
                   self.wake_r, self.wake_w):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass


@pytest.fixture
def rig():
    made = []

    def make(**kwargs):
        made.append(Rig(**kwargs))
        return made[-1]
    yield make
    for r in made:
        r.close()


@pytest.mark.parametrize("typed, sent", [
    (b"abc", b"abc\x04\x04"),      # bug 4: after a partial line, one ^D only sends the line
    (b"abc\n", b"abc\n\x04"),      # after a whole line, one ^D is end of file
    (b"", b"\x04"),
    (b"a\rb\r", b"a\rb\r\x04"),
])
def test_end_of_input_is_the_terminals_end_of_file(rig, typed, sent):
    r = rig()
    os.write(r.in_w, typed)
    os.close(r.in_w)
    r.in_w = None
    assert r.received(len(sent)) == sent


def test_output_goes_to_stdout_until_the_terminal_closes(rig):
    r = rig(stdin=False)
    r.container.sendall(b"hello\r\n")
    assert os.read(r.out_r, 100) == b"hello\r\n"
    r.container.close()  # no process holds the terminal any more
    assert r.why() == relay.CLOSED


def test_when_pid_1_ends_what_is_left_is_copied_out(rig):
    r = rig(stdin=False)
    r.container.sendall(b"last words")
    os.write(r.end_w, b"x")  # the pidfd says: PID 1 has ended
    assert r.why() == relay.ENDED
    assert os.read(r.out_r, 100) == b"last words"


def test_a_reader_that_went_away_stops_it(rig):
    """Bug 6: the relay kept reading and dropping the container's output for ever."""
    r = rig(stdin=False)
    os.close(r.out_r)
    r.out_r = None
    r.container.sendall(b"y\n" * 1000)
    assert r.why() == relay.STDOUT_GONE


def test_input_is_held_back_once_enough_waits(rig):
    """Bug 7: the relay read stdin with no limit. The container's side reads nothing: once
    MAX_PENDING bytes wait, the relay stops reading, and our pipe stays full."""
    r = rig()
    r.container.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    os.set_blocking(r.in_w, False)
    written = 0
    while written < 16 * relay.MAX_PENDING:
        try:
            written += os.write(r.in_w, b"y\n" * 4096)
        except BlockingIOError:
            if not select.select([], [r.in_w], [], 1)[1]:
                break  # no room for a second: the relay holds back
    taken = written - _unread(r.in_r)
    assert taken <= relay.MAX_PENDING + 65536 + 2 * 1024 * 1024  # pending + one read + socket
    assert written < 16 * relay.MAX_PENDING
    # ...and reads again once the container takes some:
    r.received(relay.MAX_PENDING)
    assert select.select([], [r.in_w], [], 10)[1]


def _unread(fd):
    import array
    import fcntl
    import termios
    n = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, n)
    return n[0]


def test_a_wake_up_calls_back(rig):
    r = rig(stdin=False)
    os.write(r.wake_w, b"\x1c")  # as signal.set_wakeup_fd writes SIGWINCH's number
    wait_for(lambda: r.woken == 1, "the call back")
    os.write(r.end_w, b"x")
    assert r.why() == relay.ENDED
