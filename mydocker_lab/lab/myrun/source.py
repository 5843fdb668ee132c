"""The text of a myrun.py: its pieces' regions, the skeleton, splicing a piece in.

A piece lives between two marker lines, in the reference and in every student's file::

    # ── piece 02 · init_mounts() · notebook 02 · the book: container/init.go ──...
    ...the piece's code...
    # ── end of piece 02 ──...

The skeleton is the reference with each region's code replaced by a TODO (the piece's stub,
commented out) and one line that imports the reference's piece, so the file runs at every
moment. Writing a piece replaces the region's code by the student's; the import line stays
for the names the student has not written yet (a stub -- a function whose body is only
``...`` or ``raise NotImplementedError``, or ``NAME = ...`` -- counts as not written). Every function here takes and returns text, and never
returns a text that is not valid Python.
"""
import ast
import os
import re

from .pieces import NUMBERS, PIECES, piece

REFERENCE_MODULE = "mydocker_lab.lab.myrun.reference"
REFERENCE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.py")

_START = re.compile(r"^# ── piece (\d\d) ")
_END = re.compile(r"^# ── end of piece (\d\d) ")
# A cell's first line may be the magic that wrote it; a solution notebook's cell holds the
# answer between course.py's markers, after the student's stub.
_MAGIC = re.compile(r"^\s*%%piece\b[^\n]*\n?")
_BEGIN, _END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"

SKELETON_DOC = '''"""myrun.py — your own container runtime:  python3 myrun.py run -ti /bin/sh

Write Your Own Docker, chapter 3, in Python. The glue is given (main, init, small helpers):
read it. The pieces are yours to write, one per notebook, each between its two "piece" lines:

    01  CLONE_FLAGS, new_parent_process()   clone() into new namespaces     notebook 01
    02  init_mounts()                       / private, a fresh /proc        notebook 02
    03  exec_command()                      become the command: PATH, argv  notebook 03
    04  run()                               the parent: start, wait, status notebook 04
    05  take_terminal(), relay()            -ti: a terminal of its own      notebook 05
    06  cgroup_create/apply/destroy()       -m: a memory limit              notebook 06
    07  send_command(), read_command()      the command through a pipe      notebook 07

Until you write a piece, the reference's is used, imported by one line:

    from mydocker_lab.lab.myrun.reference import init_mounts  # 02: the reference's, ...

A notebook's %%piece cell puts your code in its place and drops that line; to use the
reference's again, put the line back (or, in a notebook, myrun.take_reference("02")).
So this file runs at every moment, whichever pieces you have written.
"""'''


class SourceError(ValueError):
    """A myrun.py cannot be read or changed as asked: one clear sentence (and the line at
    fault, as ``details``)."""

    def __init__(self, message, details=None):
        super().__init__(message)
        self.details = details


def reference_text():
    with open(REFERENCE_PATH, encoding="utf-8") as f:
        return f.read()


def regions(text, where="myrun.py"):
    """{number: (start line index, end line index)} of each piece's two marker lines."""
    found, open_ = {}, None
    for i, line in enumerate(text.split("\n")):
        start, end = _START.match(line), _END.match(line)
        if start:
            number = start.group(1)
            if open_ is not None or number in found:
                raise SourceError("%s: the line that starts piece %s is %s" % (
                    where, number, "repeated" if number in found else
                    "inside piece %s (its end line is missing)" % open_[0]))
            open_ = (number, i)
        elif end:
            number = end.group(1)
            if open_ is None or open_[0] != number:
                raise SourceError("%s: an end line of piece %s without its start line"
                                  % (where, number))
            found[number] = (open_[1], i)
            open_ = None
    if open_ is not None:
        raise SourceError("%s: piece %s has no end line ('# ── end of piece %s ──')"
                          % (where, open_[0], open_[0]))
    missing = [n for n in NUMBERS if n not in found]
    if missing:
        raise SourceError("%s: the lines that mark piece %s are missing (put them back: "
                          "'# ── piece %s ...' and '# ── end of piece %s ──')"
                          % (where, missing[0], missing[0], missing[0]))
    return found


def body(text, number, where="myrun.py"):
    """The code between piece ``number``'s two marker lines."""
    start, end = regions(text, where)[number]
    return "\n".join(text.split("\n")[start + 1:end])


def replace_body(text, number, code, where="myrun.py"):
    """``text`` with piece ``number``'s code replaced (the markers stay)."""
    start, end = regions(text, where)[number]
    lines = text.split("\n")
    new = code.rstrip("\n").split("\n") if code.strip() else []
    return "\n".join(lines[:start + 1] + new + lines[end:])


def import_line(number, names=None):
    """The line that takes piece ``number``'s names (or some of them) from the reference."""
    names = list(names or piece(number).names)
    return "from %s import %s  # %s: the reference's, until you write yours" % (
        REFERENCE_MODULE, ", ".join(names), number)


def reference_source(number):
    """The reference's code for piece ``number`` (what a solution cell holds)."""
    return body(reference_text(), piece(number).number, "reference.py") + "\n"


def stub_body(number):
    """A piece's code in the skeleton: what to write, its stub commented out, the import."""
    p = piece(number)
    words, lines, line = ("TODO (notebook %s): %s." % (p.number, p.task)).split(), [], "#"
    for word in words:
        if len(line) + 1 + len(word) > 92:
            lines.append(line)
            line = "#"
        line += " " + word
    lines.append(line)
    lines.append("# Write it here, or in the notebook's %%%%piece %s cell. Its shape:" % p.number)
    lines.append("#")
    stub = re.sub(r"\n{3,}", "\n\n", p.stub.strip("\n"))  # one blank line between functions
    lines += [("# " + s).rstrip() for s in stub.split("\n")]
    lines.append("#")
    lines.append(import_line(p.number))
    return "\n".join(lines)


def skeleton():
    """The student's starting file: the reference's glue, every piece a TODO + the import."""
    text = reference_text()
    tree = ast.parse(text)
    doc = tree.body[0]
    lines = text.split("\n")
    text = "\n".join(lines[:doc.lineno - 1] + SKELETON_DOC.split("\n") + lines[doc.end_lineno:])
    for number in NUMBERS:
        text = replace_body(text, number, stub_body(number), "the skeleton")
    return text


# -- what a piece's code defines ---------------------------------------------------------------

def _is_stub_function(node):
    body = list(node.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    for stmt in body:  # `pass` is code (a function that does nothing), `...` is a stub
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
                and stmt.value.value is Ellipsis:
            continue
        if isinstance(stmt, ast.Raise) and stmt.exc is not None and "NotImplementedError" in \
                ast.dump(stmt.exc):
            continue
        return False
    return True


def definitions(code, where="the cell"):
    """{name: "yours" | "stub" | "reference"} for the top-level names ``code`` binds (the
    last binding of a name counts, as when Python runs it)."""
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        raise SourceError("%s does not compile: %s (line %s)" % (where, err.msg, err.lineno),
                          err.text.rstrip() if err.text else None) from None
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[node.name] = "stub" if not isinstance(node, ast.ClassDef) \
                and _is_stub_function(node) else "yours"
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            stub = isinstance(node.value, ast.Constant) and node.value.value is Ellipsis
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        found[name.id] = "stub" if stub else "yours"
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            from_reference = isinstance(node, ast.ImportFrom) and node.module == REFERENCE_MODULE
            for alias in node.names:
                name = (alias.asname or alias.name).split(".")[0]
                found[name] = "reference" if from_reference else "yours"
    return found


def state(text, number, where="myrun.py"):
    """``(yours, not_yet)``: piece ``number``'s names the file defines itself, and those it
    still takes from the reference (or leaves a stub, or lacks)."""
    p = piece(number)
    defined = definitions(body(text, p.number, where), "piece %s in %s" % (p.number, where))
    yours = [n for n in p.names if defined.get(n) == "yours"]
    return yours, [n for n in p.names if n not in yours]


def cell_code(cell):
    """The code a ``%%piece`` cell writes: without the magic line; in a solution notebook's
    cell (course.py's markers), the answer between the markers."""
    code = _MAGIC.sub("", cell, count=1)
    if _BEGIN in code:
        begin = code.index(_BEGIN)
        end = code.find(_END_SOLUTION, begin)
        if end < 0:
            raise SourceError("the cell has %r but no %r" % (_BEGIN, _END_SOLUTION))
        code = code[begin + len(_BEGIN):end].partition("\n")[2]
    return code.strip("\n") + "\n"


def splice(text, number, code, where="myrun.py"):
    """``text`` with piece ``number`` written from ``code``; returns ``(new_text, yours,
    not_yet)``. The names ``code`` does not define (or leaves a stub) stay the reference's;
    if it defines none, the region goes back to the skeleton's. Refuses code that does not
    compile, or that defines another piece's names (it would be silently overridden)."""
    p = piece(number)
    defined = definitions(code, "the code of piece %s" % p.number)
    for other in NUMBERS:
        clash = [n for n in PIECES[other].names if other != p.number and n in defined]
        if clash:
            raise SourceError("%s belongs to piece %s, not %s: write it in a %%%%piece %s cell"
                              % (clash[0], other, p.number, other))
    yours = [n for n in p.names if defined.get(n) == "yours"]
    not_yet = [n for n in p.names if n not in yours]
    if not yours:
        new_body = stub_body(p.number)
    else:
        new_body = code.rstrip()
        if not_yet:
            new_body += "\n" + import_line(p.number, not_yet)
    new_text = replace_body(text, p.number, new_body, where)
    try:
        compile(new_text, where, "exec")
    except SyntaxError as err:  # e.g. a cell indented so that it swallows what follows
        raise SourceError("with this code, %s would not compile: %s (line %s)"
                          % (where, err.msg, err.lineno)) from None
    return new_text, yours, not_yet


def take_reference(text, number, where="myrun.py"):
    """``text`` with piece ``number`` back to the skeleton's: the reference's is used."""
    return replace_body(text, piece(number).number, stub_body(number), where)


def isolate(text, keep, where="myrun.py"):
    """``text`` in which every piece but ``keep`` is the reference's: what a check of piece
    ``keep`` runs, so that it judges that piece alone. Each other region becomes its import
    line padded with blank lines, so every line keeps its number (tracebacks stay true)."""
    found = regions(text, where)
    lines = text.split("\n")
    for number in reversed(NUMBERS):
        if number == keep:
            continue
        start, end = found[number]
        old = end - start - 1
        new = [import_line(number)] + [""] * max(0, old - 1)
        lines[start + 1:end] = new
    return "\n".join(lines)


def override(text, number, names, where="myrun.py"):
    """``text`` in which piece ``number``'s ``names`` are the reference's even where the
    student wrote them: the import takes the place of the region's end line (a comment), so
    every line keeps its number. For a check that judges one function of a piece."""
    end = regions(text, where)[piece(number).number][1]
    lines = text.split("\n")
    lines[end] = "from %s import %s  # the check takes the reference's here" % (
        REFERENCE_MODULE, ", ".join(names))
    return "\n".join(lines)


def build(pieces=()):
    """The skeleton with ``pieces`` -- ``(number, code)`` pairs, in order -- written in:
    what a student who wrote them has. (The nbval hook seeds work folders with it.)"""
    text = skeleton()
    for number, code in pieces:
        text = splice(text, number, code, "the seeded myrun.py")[0]
    return text
