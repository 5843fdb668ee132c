"""Notebook 07's helpers (pipe.py): a real init fed through its pipe, the explorer widget,
the checker judged against the reference solution and against wrong answers."""
import os

import pytest

from mydocker_lab.lab import pipe as lab
from mydocker_lab.lab.widgets import Explorer


def my_encode(argv):
    """The reference solution (notebooks/solutions/07-the-pipe.ipynb)."""
    return b"".join(os.fsencode(arg) + b"\0" for arg in argv)


def test_pipe_explorer_shows_both_ways_once_per_press(target):
    widget = lab.pipe_explorer(target)
    assert isinstance(widget, Explorer) and widget.runs == 1
    assert "echo \"two  spaces\"" in repr(widget)  # its result is there before any press
    widget.controls["command_line"].value = "printf '[%s]\\n' 'a  b'"
    widget.run()  # one press of "send it", or Enter
    text = repr(widget)
    assert "['printf', '[%s]\\\\n', 'a', '', 'b']" in text  # the book's init
    assert "\n[a] " in text and "[a  b]" in text  # and both really ran
    assert widget.runs == 2
    bad = lab.compare("echo 'unclosed", target)
    assert not bad and "close every quote" in bad.hint


def test_compare_keeps_double_spaces_in_html(target):
    html = lab.compare("printf '[%s]\\n' 'a  b'", target).html()
    assert "white-space:pre" in html.split("a  b")[0][-300:]  # the argv line
    assert '<code style="white-space:pre">[&#x27;printf&#x27;' in html  # the table's cells


def test_barrier_init_waits_on_the_pipe(target):
    result = lab.barrier(target)
    assert result.parts[-1].ok, result
    assert "(no command in it)" in str(result) and "fd 5  pipe" in str(result)


RIGHT = [
    my_encode,
    lambda argv: b"".join(a.encode() + b"\0" for a in argv),  # str.encode: the same for UTF-8
    lambda argv: ("\0".join(argv) + "\0").encode(),
    lambda argv: bytearray(b"".join(os.fsencode(a) + b"\0" for a in argv)),
]


@pytest.mark.parametrize("encode", RIGHT, ids=range(len(RIGHT)))
def test_encode_checker_accepts_right_answers(target, encode):
    verdict = lab.check_encode(encode, target)
    assert verdict.ok, verdict


WRONG = [  # (encode, what the message says, what the hint says)
    (lambda argv: " ".join(argv).encode(), "did not get the arguments", "no NUL byte at all"),
    (lambda argv: "\0".join(argv).encode(), "did not get the arguments",
     "the last argument has no NUL"),
    (lambda argv: b"\0".join(a.encode() for a in argv[:-1]) + b"\0", "did not get",
     "arguments sent, 2 NUL-terminated pieces"),                           # one argument lost
    (lambda argv: "\n".join(argv).encode() + b"\n", "did not get", "newlines) are not"),
    (lambda argv: b"".join(a.upper().encode() + b"\0" for a in argv), "did not get",
     "an argument changed on the way"),
    (lambda argv: "text", "returned str, not bytes", "encode"),
    (lambda argv: None, "returned NoneType, not bytes", "encode"),
    (lambda argv: 1 / 0, "raised ZeroDivisionError", "list of str"),
    (lambda: b"", "raised TypeError", "list of str"),                     # takes no argument
    (None, "should be a function", "def my_encode"),
    (b"sh\0", "should be a function", "def my_encode"),
]


@pytest.mark.parametrize("encode,message,hint", WRONG, ids=range(len(WRONG)))
def test_encode_checker_rejects_wrong_answers_with_a_hint(target, encode, message, hint):
    verdict = lab.check_encode(encode, target)
    assert not verdict.ok, verdict
    assert message in verdict.message and hint in verdict.hint, verdict
