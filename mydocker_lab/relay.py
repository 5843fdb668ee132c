"""The ``-t`` relay: the container's pseudo terminal on one side, the caller on the other.

The container's processes read and write the pty's slave side (their
``/dev/pts/N``); we hold the master side and copy bytes:

    caller's stdin  --> master --> (line discipline) --> slave --> container
    caller's stdout <-- master <-- (line discipline) <-- slave <-- container

While we relay, the caller's terminal is in raw mode, so Ctrl-C is just the
byte 0x03: it reaches the container's pty, whose line discipline turns it
into SIGINT for the container's foreground job. A change of the caller's
window size (SIGWINCH) is copied to the pty (TIOCSWINSZ). The caller's
terminal is restored on every way out.
"""
import errno
import fcntl
import os
import select
import _signal as signal  # the C module behind `signal`, which imports enum (4 ms a run)
import termios

_WINSIZE = b"\0" * 8  # struct winsize: rows, cols, xpixel, ypixel (unsigned short each)


def copy_window_size(master, sources=(0, 1, 2)):
    """Give the pty the caller's window size (if the caller has a terminal)."""
    for fd in sources:
        try:
            size = fcntl.ioctl(fd, termios.TIOCGWINSZ, _WINSIZE)
        except OSError:
            continue
        fcntl.ioctl(master, termios.TIOCSWINSZ, size)
        return


def relay(master, pid, attach_stdin, stdin=0, stdout=1):
    """Copy bytes until the container's PID 1 ends; return its wait status."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    old_wakeup = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    for signum in (signal.SIGCHLD, signal.SIGWINCH):
        signal.signal(signum, _noop)  # a handler makes the signal reach the wake-up pipe
    saved_mode = None
    if attach_stdin and os.isatty(stdin):
        saved_mode = termios.tcgetattr(stdin)
        import tty
        tty.setraw(stdin, termios.TCSANOW)
    try:
        return _loop(master, pid, wake_r, stdin if attach_stdin else None, stdout)
    finally:
        if saved_mode is not None:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved_mode)
        signal.set_wakeup_fd(old_wakeup)
        for signum in (signal.SIGCHLD, signal.SIGWINCH):
            signal.signal(signum, signal.SIG_DFL)
        for fd in (wake_r, wake_w, master):
            os.close(fd)


def _noop(_signum, _frame):
    pass


def _loop(master, pid, wake_r, stdin, stdout):
    os.set_blocking(master, False)
    poller = select.poll()
    poller.register(wake_r, select.POLLIN)
    poller.register(master, select.POLLIN)
    if stdin is not None:
        poller.register(stdin, select.POLLIN)
    pending = b""       # caller's bytes not yet taken by the pty
    output_ok = True    # False once the caller stopped reading our stdout
    status = _reap(pid, os.WNOHANG)  # it may have ended before our SIGCHLD handler was set
    while status is None:
        for fd, events in poller.poll():
            if fd == wake_r:
                for signum in os.read(wake_r, 256):
                    if signum == signal.SIGWINCH:
                        copy_window_size(master)
                    elif signum == signal.SIGCHLD:
                        status = _reap(pid, os.WNOHANG)
            elif fd == master:
                if events & select.POLLOUT and pending:
                    pending = _feed(master, pending)
                    if not pending:
                        poller.modify(master, select.POLLIN)
                if events & (select.POLLIN | select.POLLHUP | select.POLLERR):
                    master_open, output_ok = _pump_output(master, stdout, output_ok)
                    if not master_open:
                        # Nothing in the container holds its terminal any more: no more
                        # output will come. Wait for PID 1 (signals are still forwarded),
                        # unless this same batch of events already reaped it.
                        return status if status is not None else _reap(pid, 0)
            elif fd == stdin:
                data = _read(stdin)
                if not data:
                    # End of input: the pty's end-of-file character (^D) tells the
                    # container, as typing it would.
                    poller.unregister(stdin)
                    data = b"\x04"
                pending += data
                poller.modify(master, select.POLLIN | select.POLLOUT)
    # PID 1 has ended, so has every process of its namespace: drain what they
    # wrote, then stop (the master reads EIO once the slave is gone).
    drain = select.poll()
    drain.register(master, select.POLLIN)
    master_open = True
    while master_open and drain.poll(200):
        master_open, output_ok = _pump_output(master, stdout, output_ok)
    return status


def _reap(pid, options):
    """PID 1's wait status, or None while it runs (with WNOHANG)."""
    finished, status = os.waitpid(pid, options)
    return status if finished else None


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
        if err.errno == errno.EIO:
            return b""
        raise


def _pump_output(master, stdout, output_ok):
    """Copy what the container wrote; return (master still open, stdout still open)."""
    for _ in range(64):  # a pty hands out at most 4 KiB a read: take a few, then poll again
        try:
            data = os.read(master, 65536)
        except BlockingIOError:
            return True, output_ok
        except OSError as err:
            if err.errno == errno.EIO:  # no slave left: the container is gone
                return False, output_ok
            raise
        if not data:
            return False, output_ok
        while data and output_ok:
            try:
                data = data[os.write(stdout, data):]
            except BrokenPipeError:
                output_ok = False  # keep relaying input and waiting; drop output
    return True, output_ok
