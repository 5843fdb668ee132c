"""display.py: every display renders as HTML and as the same plain text, deterministically."""
from mydocker_lab.lab.display import (Html, Note, Pre, Rich, SideBySide, Stack, Table,
                                      Transcript, Verdict)


def test_verdicts_say_yes_or_no_with_a_hint_only_when_wrong():
    right, wrong = Verdict(True, "done", hint="h"), Verdict(False, "not yet", hint="try x")
    assert bool(right) and not wrong
    assert right.text() == "✔ done" and "hint" not in right.html()
    assert wrong.text() == "✘ not yet\n  hint: try x" and "<i>hint:</i> try x" in wrong.html()


def test_side_by_side_and_table_line_up_as_text():
    assert SideBySide("a\nbb", "c", "L", "R").text() == "L    R\n-    -\na    c\nbb"
    assert Table(["k", "value"], [["x", "1"]]).text() == "k  value\n-  -----\nx  1"


def test_a_stack_captions_plain_strings_and_keeps_the_rest():
    stack = Stack("a <caption>", Note("n"), None, Pre("p", "t"))
    assert stack.text() == "a <caption>\n\nn\n\nt\np"
    assert stack.html().startswith('<div style="margin:6px 0"><b>a &lt;caption&gt;</b></div>')
    assert isinstance(stack, Rich) and repr(stack) == str(stack) == stack.text()
    # in JupyterLab, every output of ours is kept from TeX typesetting (`echo $$`)
    assert stack._repr_html_() == '<div class="mathjax_ignore">%s</div>' % stack.html()


def test_preformatted_text_never_breaks_inside_a_word():
    """JupyterLab's own style breaks output anywhere ("/bi|n/sh"): ours scrolls instead."""
    for shown in (Pre("/bin/sh " * 40).html(), Note("x").html() + Pre("y").html(),
                  Transcript([("send", "ps"), ("out", "sleep " * 50)]).html()):
        for style in shown.split('<pre style="')[1:]:
            assert style.startswith("white-space:pre;word-break:normal;overflow-wrap:normal;"
                                    "overflow-x:auto;")


def test_html_has_its_text_twin():
    picture = Html("<svg/>", "a picture")
    assert (picture.html(), picture.text()) == ("<svg/>", "a picture")


def test_a_transcript_shows_the_terminal():
    t = Transcript([("send", "ps -o pid,args"), ("out", "    PID COMMAND\n      1 sh\n"),
                    ("note", "done")], title="in the container", prompt="ctr# ")
    # what ps printed is kept; ps's PID column is shown 5 wide
    assert t.entries[1] == ("out", "    PID COMMAND\n      1 sh\n")
    assert t.text() == "in the container\nctr# ps -o pid,args\n  PID COMMAND\n    1 sh\n# done"
    assert '<span style="color:#8ae234">ctr# </span><b>ps -o pid,args</b>' in t.html()
    finished = Transcript.from_text("host# echo <hi>\n<hi>")
    assert finished.text() == "host# echo <hi>\n<hi>"
    assert "host# echo &lt;hi&gt;\n&lt;hi&gt;</pre>" in finished.html()
