"""How the notebooks show things: the host beside the container, ✔/✘ verdicts, tables,
terminal transcripts, pictures.

Every object here renders as HTML in Jupyter and as plain text everywhere
else (and in nbval's comparison), with no randomness, so stored outputs stay
stable. A helper module's own display class derives from :class:`Rich`.
"""
import html

from .labels import ps_fixed_width


#: How every ``<pre>`` of ours looks in a browser: as it was printed, never broken inside a
#: word (JupyterLab's own style for outputs breaks anywhere: "/bi|n/sh"); a line too long
#: for the page makes its box scroll sideways instead.
PRE_STYLE = "white-space:pre;word-break:normal;overflow-wrap:normal;overflow-x:auto;"


def pre(body_html, style="margin:4px 0"):
    """A ``pre`` element with :data:`PRE_STYLE` (``body_html`` is already escaped)."""
    return '<pre style="%s%s">%s</pre>' % (PRE_STYLE, style, body_html)


class Rich:
    """Base: ``_repr_html_`` for Jupyter, ``__repr__``/``__str__`` for text.

    A subclass defines :meth:`text` and :meth:`html`. The HTML is wrapped in an element of
    class ``mathjax_ignore``: JupyterLab typesets ``$...$`` in HTML outputs as TeX, and ours
    are full of shell (``echo $$``, ``$CG/memory.max``)."""

    def text(self):
        raise NotImplementedError

    def html(self):
        raise NotImplementedError

    def _repr_html_(self):
        return '<div class="mathjax_ignore">%s</div>' % self.html()

    def __repr__(self):
        return self.text()

    __str__ = __repr__


_PANEL = ("border:1px solid {color};border-radius:6px;padding:6px 10px;margin:0;"
          "flex:1;min-width:0;overflow-x:auto")
_HOST, _CONTAINER = "#4a7ebb", "#d9822b"


class SideBySide(Rich):
    """Two views of the same thing, e.g. the host's and the container's."""

    def __init__(self, left, right, left_title="host", right_title="container"):
        self.left, self.right = str(left).rstrip("\n"), str(right).rstrip("\n")
        self.left_title, self.right_title = left_title, right_title

    def text(self):
        left = [self.left_title, "-" * len(self.left_title)] + self.left.splitlines()
        right = [self.right_title, "-" * len(self.right_title)] + self.right.splitlines()
        width = max(len(line) for line in left) + 3
        rows = max(len(left), len(right))
        left += [""] * (rows - len(left))
        right += [""] * (rows - len(right))
        return "\n".join((a.ljust(width) + b).rstrip() for a, b in zip(left, right))

    def html(self):
        def panel(title, body, color):
            return ('<div style="%s"><b style="color:%s">%s</b>%s</div>'
                    % (_PANEL.format(color=color), color, html.escape(title),
                       pre(html.escape(body), "margin:4px 0 0 0")))
        return ('<div style="display:flex;gap:12px">%s%s</div>'
                % (panel(self.left_title, self.left, _HOST),
                   panel(self.right_title, self.right, _CONTAINER)))


class Verdict(Rich):
    """The result of an exercise check: ✔ with a message, or ✘ with a hint."""

    def __init__(self, ok, message, hint=None, details=None):
        self.ok, self.message, self.hint, self.details = bool(ok), message, hint, details

    def __bool__(self):
        return self.ok

    def text(self):
        lines = ["%s %s" % ("✔" if self.ok else "✘", self.message)]
        if self.details:
            lines += ["  " + line for line in str(self.details).splitlines()]
        if self.hint and not self.ok:
            lines.append("  hint: " + self.hint)
        return "\n".join(lines)

    def html(self):
        color = "#2e7d32" if self.ok else "#c62828"
        body = '<b style="color:%s">%s %s</b>' % (color, "✔" if self.ok else "✘",
                                                 html.escape(self.message))
        if self.details:
            body += pre(html.escape(str(self.details)))
        if self.hint and not self.ok:
            body += '<div><i>hint:</i> %s</div>' % html.escape(self.hint)
        return ('<div style="border-left:4px solid %s;padding:4px 10px">%s</div>'
                % (color, body))


class Table(Rich):
    """A small table: ``Table(["flag", "effect"], [["MS_NOEXEC", "..."], ...])``."""

    def __init__(self, header, rows):
        self.header = [str(h) for h in header]
        self.rows = [[str(c) for c in row] for row in rows]

    def text(self):
        widths = [max(len(r[i]) for r in [self.header] + self.rows)
                  for i in range(len(self.header))]
        def fmt(row):
            return "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
        return "\n".join([fmt(self.header), fmt(["-" * w for w in widths])]
                         + [fmt(r) for r in self.rows])

    def html(self):
        head = "".join("<th style='text-align:left'>%s</th>" % html.escape(h)
                       for h in self.header)
        body = "".join("<tr>%s</tr>" % "".join("<td style='text-align:left'><code>%s</code></td>"
                                                % html.escape(c) for c in row)
                       for row in self.rows)
        return "<table><tr>%s</tr>%s</table>" % (head, body)


class Note(Rich):
    """A short paragraph under a result (plain text, escaped in HTML)."""

    def __init__(self, text):
        self.body = str(text)

    def text(self):
        return self.body

    def html(self):
        return '<p style="margin:4px 0">%s</p>' % html.escape(self.body)


class Stack(Rich):
    """Several displays, one under the other, as one display value (for widgets).

    A plain string among the parts is a caption, in bold."""

    def __init__(self, *parts):
        self.parts = [p for p in parts if p is not None]

    def text(self):
        return "\n\n".join(p.text() if isinstance(p, Rich) else str(p) for p in self.parts)

    def html(self):
        return "".join('<div style="margin:6px 0">%s</div>' % (
            p.html() if isinstance(p, Rich) else "<b>%s</b>" % html.escape(str(p)))
            for p in self.parts)


class Pre(Rich):
    """Preformatted text (a command's output) with an optional title."""

    def __init__(self, body, title=None):
        self.body, self.title = str(body).rstrip("\n"), title

    def text(self):
        return self.body if not self.title else "%s\n%s" % (self.title, self.body)

    def html(self):
        title = "<b>%s</b>" % html.escape(self.title) if self.title else ""
        return title + pre(html.escape(self.body))


class Html(Rich):
    """Ready-made HTML (e.g. an SVG picture) with a plain-text twin."""

    def __init__(self, markup, text):
        self.markup, self._text = markup, text

    def text(self):
        return self._text

    def html(self):
        return self.markup


class Transcript(Rich):
    """What was typed into a shell and what came back, as a terminal shows it.

    ``entries`` are ``(kind, text)`` pairs: ``"send"`` (a command line, shown after
    ``prompt``), ``"out"`` (what came back) or ``"note"`` (a remark, shown as ``# ...``).
    The entries keep what the terminal really said; the display shows the output of
    ``ps`` with its PID columns 5 wide (:func:`~mydocker_lab.lab.labels.ps_fixed_width`:
    ps pads them by machine)."""

    def __init__(self, entries=(), title=None, prompt="$ "):
        self.entries = list(entries)
        self.title = title
        self.prompt = prompt

    @classmethod
    def from_text(cls, text, title=None):
        """A finished terminal's text (prompts and all), shown as it is."""
        return cls([("out", text)], title)

    def add(self, kind, text):
        self.entries.append((kind, text))

    def shown(self):
        """The entries as displayed: the output of a ``ps`` command with fixed widths."""
        sent = ""
        for kind, text in self.entries:
            if kind == "send":
                sent = text
            elif kind == "out" and text and sent.split()[:1] == ["ps"]:
                text = ps_fixed_width(text)
            yield kind, text

    def text(self):
        lines = [self.title] if self.title else []
        for kind, text in self.shown():
            if kind == "send":
                lines.append(self.prompt + text)
            elif kind == "out":
                lines.extend(text.rstrip("\n").split("\n") if text else [])
            else:
                lines.append("# " + text)
        return "\n".join(lines)

    def html(self):
        body = []
        for kind, text in self.shown():
            if kind == "send":
                body.append('<span style="color:#8ae234">%s</span><b>%s</b>\n'
                            % (html.escape(self.prompt), html.escape(text)))
            elif kind == "out":
                if text:
                    body.append(html.escape(text.rstrip("\n")) + "\n")
            else:
                body.append('<span style="color:#999"># %s</span>\n' % html.escape(text))
        title = "<b>%s</b>" % html.escape(self.title) if self.title else ""
        return title + pre("".join(body).rstrip("\n"), "background:#1e1e1e;color:#eee;"
                           "padding:8px 10px;border-radius:6px;margin:4px 0")
