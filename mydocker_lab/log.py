"""Log lines in logrus's shape, like the book's ``log.Infof(...)``.

JSON (the default) writes one object a line: logrus's own ``level``, ``msg`` and
``time`` (RFC 3339), ``source`` (file:line of the caller, which the book's printed
logs show), and any fields of the record, such as ``step`` (which step of the run
flow the line reports: ``clone``, ``init``, ``private``, ``proc``, ``wait``),
sorted by name as logrus writes them. ``text`` writes the same for humans, in logrus's
terminal layout: ``INFO[0000] msg  source="container/init.py:57" step=init``. A record is
always one line: a message with a control character (a newline...) is quoted as Go's
``%q`` quotes it, and a field's value whenever logrus would quote it.
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

    def _emit(self, level, msg, fields, depth=2):
        if LEVELS[level] < self._threshold:
            return
        frame = sys._getframe(depth)
        path = frame.f_code.co_filename
        if path.startswith(_PACKAGE_DIR):
            path = os.path.relpath(path, _PACKAGE_DIR)
        source = "%s:%d" % (path, frame.f_lineno)
        now = time.time()
        # logrus writes a record's fields sorted by name (Go marshals a map)
        fields = sorted(dict(fields, source=source).items())
        if self.fmt == "text":
            line = '%s[%04d] %-44s %s' % (
                level.upper()[:4], now - _START, msg if msg.isprintable() else go_quote(msg),
                " ".join("%s=%s" % (k, go_quote(v) if _needs_quoting(v) else v)
                         for k, v in fields))
        else:
            line = "".join(",%s:%s" % (_json(k), _json(v)) for k, v in fields)
            line = '{"level":%s,"msg":%s%s,"time":%s}' % (_json(level), _json(msg), line,
                                                          _json(rfc3339(now)))
        # A terminal in raw mode (while -t relays) needs \r to return to column 0.
        end = "\r\n" if _isatty(self.fd) else "\n"
        try:
            os.write(self.fd, (line + end).encode("utf-8", "backslashreplace"))
        except OSError:
            pass  # nowhere left to report it: logging must never kill the runtime

    # Keyword arguments become fields of the record, like logrus's WithFields:
    # log.info("...", step="clone") -> {"level":"info","msg":"...",...,"step":"clone",...}
    def debug(self, msg, **fields):
        self._emit("debug", msg, fields)

    def info(self, msg, **fields):
        self._emit("info", msg, fields)

    def warning(self, msg, **fields):
        self._emit("warning", msg, fields)

    def error(self, msg, **fields):
        self._emit("error", msg, fields)


# JSON string escapes (RFC 8259): the json module would pull in `re` and add 5 ms
# to every container's start.
_ESCAPES = {i: "\\u%04x" % i for i in range(32)}
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\", ord("\n"): "\\n", ord("\t"): "\\t",
                 ord("\r"): "\\r"})


def _json(text):
    return '"' + text.translate(_ESCAPES) + '"'


#: logrus's TextFormatter writes a field's value bare only if it is made of these.
_BARE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._/@^+")
_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t", "\v": "\\v", '"': '\\"', "\\": "\\\\"}


def _needs_quoting(text):
    return not set(text) <= _BARE


def go_quote(text):
    """``text`` as Go's ``strconv.Quote`` (``%q``) writes it, as logrus quotes a value:
    ``"echo a\\necho b"``. Printable characters stay; control characters become escapes;
    a byte that was not UTF-8 (decoded by Python as a surrogate escape) becomes ``\\xff``."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif 0xdc80 <= code <= 0xdcff:  # os.fsdecode's stand-in for the byte code - 0xdc00
            out.append("\\x%02x" % (code - 0xdc00))
        elif code < 0x80:
            out.append("\\x%02x" % code)
        elif code < 0x10000:
            out.append("\\u%04x" % code)
        else:
            out.append("\\U%08x" % code)
    return '"' + "".join(out) + '"'


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
