"""The ``-t`` relay: the container's pseudo terminal on one side, the caller on the other.

The container's processes read and write the pty's slave side (their
``/dev/pts/N``); we hold the master side and copy bytes::

    caller's stdin  --> master --> (line discipline) --> slave --> container
    caller's stdout <-- master <-- (line discipline) <-- slave <-- container

While we relay, the caller's terminal is in raw mode, so Ctrl-C is just the
byte 0x03: it reaches the container's pty, whose line discipline turns it
into SIGINT for the container's foreground job. A change of the caller's
window size (SIGWINCH) is copied to the pty (TIOCSWINSZ). The caller's
terminal is restored on every way out.

Three rules keep the relay honest when the caller is a pipe, not a person:

- **end of input** (``printf abc | mydocker-lab run -it cat``): the pty's
  end-of-file character, ^D, tells the container, as typing it would; after a
  partial line a first ^D only sends the line, so then it takes two;
- **backpressure** (``yes | mydocker-lab run -it sleep 9``): at most
  :data:`MAX_PENDING` bytes of input wait for the container; beyond that we stop
  reading our stdin until it takes them;
- **the reader is gone** (``mydocker-lab run -t yes | head -c 10``): we hang up
  the container's terminal (close the master), as closing a terminal window does:
  its processes get SIGHUP and EIO, as without ``-t`` they would get EPIPE.

:func:`copy` is the byte-copying core, with no signals and no terminal modes, so
the tests drive it over a socketpair; :func:`relay` adds those around it.
"""
import errno
import fcntl
import os
import select
import _signal as signal  # the C module behind `signal`, which imports enum (4 ms a run)
import termios

from .log import log

_WINSIZE = b"\0" * 8  # struct winsize: rows, cols, xpixel, ypixel (unsigned short each)
#: Input read from the caller but not yet taken by the container's terminal, at most.
MAX_PENDING = 64 * 1024
#: Why copy() stopped.
ENDED, CLOSED, STDOUT_GONE = "PID 1 ended", "terminal closed", "stdout gone"
#: The terminal's end-of-file character (VEOF, ^D) and the bytes that end a line.
EOF_BYTE, LINE_ENDS = b"\x04", (b"\n", b"\r", b"\x04")


def copy_window_size(master, sources=(0, 1, 2)):
    """Give the pty the caller's window size (if the caller has a terminal)."""
    for fd in sources:
        try:
            size = fcntl.ioctl(fd, termios.TIOCGWINSZ, _WINSIZE)
        except OSError:
            continue
        fcntl.ioctl(master, termios.TIOCSWINSZ, size)
        return


def relay(master, parent, attach_stdin, signals, stdin=0, stdout=1):
    """Relay until the container's PID 1 (``parent``, an InitProcess) ends; its wait status.

    ``signals`` (run.HeldSignals) are forwarded to PID 1 meanwhile; a wake-up fd makes
    sure poll() notices each at once. ``master`` is ours: it is closed on the way out
    (early, to hang up, if our stdout's reader goes away).
    """
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    old_winch = signal.signal(signal.SIGWINCH, _noop)  # a handler: it reaches the wake-up fd
    signals.forward_to(parent, wake_w)
    saved_mode = None
    if attach_stdin and os.isatty(stdin):
        saved_mode = termios.tcgetattr(stdin)
        import tty
        tty.setraw(stdin, termios.TCSANOW)
    try:
        why = copy(master, parent.pidfd, stdin if attach_stdin else None, stdout,
                   wake=wake_r, on_wake=lambda: copy_window_size(master))
        if why == STDOUT_GONE:
            log.debug("nobody reads our stdout any more: hanging up the container's terminal")
        os.close(master)
        master = None
        if why != ENDED:  # PID 1 may still run (it closed its terminal): wait, forwarding
            waiting = select.poll()
            waiting.register(parent.pidfd, select.POLLIN)
            waiting.register(wake_r, select.POLLIN)
            while not any(fd == parent.pidfd for fd, _ in waiting.poll()):
                os.read(wake_r, 256)
        return parent.wait()
    finally:
        if master is not None:
            os.close(master)
        if saved_mode is not None:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved_mode)
        signals.hold()
        signal.signal(signal.SIGWINCH, old_winch)
        os.close(wake_r)
        os.close(wake_w)


def _noop(_signum, _frame):
    pass


def copy(master, ended, stdin, stdout, wake=None, on_wake=None):
    """Copy ``stdin`` to ``master`` and ``master`` to ``stdout``; return why it stopped.

    ``ended`` becomes readable when the container's PID 1 has ended (its pidfd); then
    what is left on ``master`` is copied out and copy() returns :data:`ENDED`. It
    returns :data:`CLOSED` when nothing holds the terminal any more (the master reads
    EIO, or EOF), :data:`STDOUT_GONE` when our stdout's reader has left. ``stdin`` may
    be None (no ``-i``); ``wake`` is read and ``on_wake()`` called when it is readable.
    """
    os.set_blocking(master, False)
    poller = select.poll()
    for fd in (ended, wake, master):
        if fd is not None:
            poller.register(fd, select.POLLIN)
    pending = b""     # the caller's bytes not yet taken by the terminal
    last = b"\n"      # the last byte sent: after a partial line, ^D needs to be doubled
    reading = stdin is not None
    if reading:
        poller.register(stdin, select.POLLIN)
    while True:
        for fd, events in poller.poll():
            if fd == ended:
                return _drain(master, stdout)
            if fd == wake:
                os.read(wake, 256)
                if on_wake is not None:
                    on_wake()
            elif fd == master:
                if events & select.POLLOUT and pending:
                    pending = _feed(master, pending)
                if events & (select.POLLIN | select.POLLHUP | select.POLLERR):
                    why = _pump_output(master, stdout)
                    if why is not None:
                        return why
            elif fd == stdin:
                data = _read(stdin)
                if data:
                    last = data[-1:]
                else:  # end of input: the terminal's end-of-file, as typing ^D would be
                    data = EOF_BYTE if last in LINE_ENDS else EOF_BYTE * 2
                    poller.unregister(stdin)
                    stdin = None
                pending += data
        poller.modify(master, select.POLLIN | (select.POLLOUT if pending else 0))
        if stdin is not None and reading != (len(pending) < MAX_PENDING):
            reading = not reading  # backpressure: read again only once the terminal took it
            if reading:
                poller.register(stdin, select.POLLIN)
            else:
                poller.unregister(stdin)


def _drain(master, stdout):
    """PID 1 has ended, so has every process of its namespace: copy out what they wrote
    (the master reads EIO once the last of them is gone)."""
    drain = select.poll()
    drain.register(master, select.POLLIN)
    while drain.poll(200):
        why = _pump_output(master, stdout)
        if why is not None:
            break
    return ENDED


def _read(fd):
    try:
        return os.read(fd, 65536)
    except OSError as err:
        if err.errno in (errno.EIO, errno.EBADF):
            return b""
        raise


def _feed(master, pending):
    try:
        return pending[os.write(master, pending):]
    except BlockingIOError:
        return pending
    except OSError as err:
        if err.errno in (errno.EIO, errno.EPIPE):  # nothing holds the terminal any more
            return b""
        raise


def _pump_output(master, stdout):
    """Copy what the container wrote; None, or why copying must stop."""
    for _ in range(64):  # a pty hands out at most 4 KiB a read: take a few, then poll again
        try:
            data = os.read(master, 65536)
        except BlockingIOError:
            return None
        except OSError as err:
            if err.errno in (errno.EIO, errno.ECONNRESET):  # no slave (peer) left
                return CLOSED
            raise
        if not data:
            return CLOSED
        try:
            while data:
                data = data[os.write(stdout, data):]
        except OSError as err:
            if err.errno in (errno.EPIPE, errno.EIO):  # a pipe's reader, or a terminal, gone
                return STDOUT_GONE
            raise
    return None
