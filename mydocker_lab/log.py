"""Log lines in logrus's shape, like the book's ``log.Infof(...)``.

JSON (the default) writes one object a line with the four fields logrus
prints: ``level``, ``msg``, ``source`` (file:line of the caller) and ``time``
(RFC 3339). ``text`` writes the same for humans: ``INFO[0000] msg  source=...``.
Logs go to standard error (the book writes them to stdout, where they mix
with the container's output).
"""
import os
import sys
import time

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_START = time.time()


class Logger:
    def __init__(self, fd=2, level="info", fmt="json"):
        self.fd = fd
        self.level = level
        self.fmt = fmt

    @property
    def level(self):
        return self._level

    @level.setter
    def level(self, name):
        if name not in LEVELS:
            raise ValueError(name)
        self._level = name
        self._threshold = LEVELS[name]

    def _emit(self, level, msg, depth=2):
        if LEVELS[level] < self._threshold:
            return
        frame = sys._getframe(depth)
        path = frame.f_code.co_filename
        if path.startswith(_PACKAGE_DIR):
            path = os.path.relpath(path, _PACKAGE_DIR)
        source = "%s:%d" % (path, frame.f_lineno)
        now = time.time()
        if self.fmt == "text":
            line = '%s[%04d] %-44s source=%s' % (level.upper()[:4], now - _START, msg, source)
        else:
            line = '{"level":%s,"msg":%s,"source":%s,"time":%s}' % (
                _json(level), _json(msg), _json(source), _json(rfc3339(now)))
        # A terminal in raw mode (while -t relays) needs \r to return to column 0.
        end = "\r\n" if _isatty(self.fd) else "\n"
        try:
            os.write(self.fd, (line + end).encode("utf-8", "backslashreplace"))
        except OSError:
            pass  # nowhere left to report it: logging must never kill the runtime

    def debug(self, msg):
        self._emit("debug", msg)

    def info(self, msg):
        self._emit("info", msg)

    def warning(self, msg):
        self._emit("warning", msg)

    def error(self, msg):
        self._emit("error", msg)


# JSON string escapes (RFC 8259): the json module would pull in `re` and add 5 ms
# to every container's start.
_ESCAPES = {i: "\\u%04x" % i for i in range(32)}
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\", ord("\n"): "\\n", ord("\t"): "\\t",
                 ord("\r"): "\\r"})


def _json(text):
    return '"' + text.translate(_ESCAPES) + '"'


def _isatty(fd):
    try:
        return os.isatty(fd)
    except OSError:
        return False


def rfc3339(seconds):
    """``2026-11-29T12:53:19+01:00`` (Go's time.RFC3339, what logrus prints)."""
    tm = time.localtime(seconds)
    offset = tm.tm_gmtoff // 60
    if offset == 0:
        zone = "Z"
    else:
        sign = "+" if offset > 0 else "-"
        zone = "%s%02d:%02d" % (sign, abs(offset) // 60, abs(offset) % 60)
    return time.strftime("%Y-%m-%dT%H:%M:%S", tm) + zone


log = Logger()
