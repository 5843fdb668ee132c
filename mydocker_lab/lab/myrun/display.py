"""How the build-it track shows things: a piece's verdict, what a cell wrote, the progress table.

Each renders as HTML in Jupyter and as the same words in plain text (what nbval compares),
with nothing in them that changes from run to run.
"""
import html

from ..display import Rich, Verdict, pre
from .pieces import NUMBERS, piece

#: state -> (symbol, colour)
STYLE = {"pass": ("✔", "#2e7d32"), "fail": ("✘", "#c62828"), "todo": ("○", "#6d6d6d"),
         "skip": ("–", "#8a6d00"), "error": ("!", "#c62828"), "written": ("✎", "#1f5fa8")}


class PieceVerdict(Verdict):
    """A check's result for one piece: ✔ passes, ✘ fails (with the step and a hint), ○ still
    the reference's, – not checkable on this machine (and why), ! the check itself failed."""

    def __init__(self, number, state, message, hint=None, details=None, step=None):
        super().__init__(state == "pass", message, hint, details)
        self.number, self.state, self.step = piece(number).number, state, step

    def headline(self):
        where = "piece %s · %s" % (self.number, piece(self.number).signature)
        if self.step and self.state == "fail":
            where += " · " + self.step
        return "%s %s: %s" % (STYLE[self.state][0], where, self.message)

    def text(self):
        lines = [self.headline()]
        if self.details:
            lines += ["  " + line for line in str(self.details).splitlines()]
        if self.hint and self.state != "pass":
            lines.append("  hint: " + self.hint)
        return "\n".join(lines)

    def html(self):
        color = STYLE[self.state][1]
        body = '<b style="color:%s">%s</b>' % (color, html.escape(self.headline()))
        if self.details:
            body += pre(html.escape(str(self.details)))
        if self.hint and self.state != "pass":
            body += '<div><i>hint:</i> %s</div>' % html.escape(self.hint)
        return ('<div style="border-left:4px solid %s;padding:4px 10px">%s</div>'
                % (color, body))


class Progress(Rich):
    """One row per piece: yours and passing, yours and failing (with the hint), or still the
    reference's. Built by ``myrun.progress()``."""

    def __init__(self, rows, shown):
        self.rows = rows    # [(number, yours_names, not_yet_names, PieceVerdict or None)]
        self.shown = shown  # the file's name as shown

    def _cells(self):
        for number, yours, not_yet, verdict in self.rows:
            p = piece(number)
            if not yours:
                state, status = "todo", "the reference's (write yours: notebook %s)" % number
            else:
                state = verdict.state
                who = "yours" if not not_yet else "partly yours (%s: the reference's)" % (
                    ", ".join(n + ("" if n.isupper() else "()") for n in not_yet))
                status = {"pass": "%s, passes" % who,
                          "fail": "%s, fails at %s: %s" % (who, verdict.step, verdict.message),
                          "skip": "%s, %s" % (who, verdict.message),
                          "error": "%s; %s" % (who, verdict.message)}[state]
            hint = verdict.hint if verdict is not None and state == "fail" else None
            yield number, p, state, status, hint

    def summary(self):
        done = sum(1 for _, yours, not_yet, v in self.rows
                   if yours and not not_yet and v is not None and v.state == "pass")
        return "%s: %d of %d pieces yours and passing" % (self.shown, done, len(NUMBERS))

    def text(self):
        rows = [("piece", "", "what", "state")]
        for number, p, state, status, hint in self._cells():
            rows.append((number, STYLE[state][0], "%s — %s" % (p.signature, p.title),
                         status + ("\n" + " " * 2 + "hint: " + hint if hint else "")))
        width = [max(len(r[i]) for r in rows) for i in range(3)]
        out = []
        for row in rows:
            first, *more = row[3].split("\n")
            out.append(("  ".join(c.ljust(w) for c, w in zip(row[:3], width)) + "  " + first)
                       .rstrip())
            indent = " " * (sum(width) + 6)
            out += [indent + line for line in more]
            if row is rows[0]:
                out.append("  ".join("-" * w for w in width) + "  -----")
        return "\n".join([self.summary(), ""] + out)

    def html(self):
        head = "".join('<th style="text-align:left">%s</th>' % h
                       for h in ("piece", "", "what", "state"))
        body = []
        for number, p, state, status, hint in self._cells():
            symbol, color = STYLE[state]
            cell = html.escape(status)
            if hint:
                cell += '<br><i>hint:</i> %s' % html.escape(hint)
            body.append('<tr><td style="text-align:left">%s</td>'
                        '<td style="color:%s;font-weight:bold">%s</td>'
                        '<td style="text-align:left"><code>%s</code> — %s</td>'
                        '<td style="text-align:left;color:%s">%s</td></tr>' % (
                            number, color, symbol, html.escape(p.signature),
                            html.escape(p.title), color, cell))
        return ('<b>%s</b><table><tr>%s</tr>%s</table>'
                % (html.escape(self.summary()), head, "".join(body)))
