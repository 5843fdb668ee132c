"""Notebook 07's helpers (pipe.py): a real init fed through its pipe, the explorer widget,
the checker judged against the reference solution and against wrong answers."""
import os

from mydocker_lab.lab import pipe as lab


def my_encode(argv):
    """The reference solution (notebooks/solutions/07-the-pipe.ipynb)."""
    return b"".join(os.fsencode(arg) + b"\0" for arg in argv)


def test_pipe_explorer_widget_shows_the_books_split(target):
    widget = lab.pipe_explorer(target)
    widget.children[0].value = "printf '[%s]\\n' 'a  b'"
    widget.update()
    text = str(widget.result)
    assert "['printf', '[%s]\\\\n', 'a', '', 'b']" in text  # the book's init
    assert "\n[a] " in text and "[a  b]" in text  # and both really ran
    bad = lab.compare("echo 'unclosed", target)
    assert not bad


def test_barrier_init_waits_on_the_pipe(target):
    result = lab.barrier(target)
    assert result.parts[-1].ok, result
    assert "(no command in it)" in str(result) and "fd 5  pipe" in str(result)


def test_encode_checker(target):
    assert lab.check_encode(my_encode, target)
    assert not lab.check_encode(lambda argv: " ".join(argv).encode(), target)
    assert not lab.check_encode(lambda argv: "\0".join(argv).encode(), target)  # no last NUL
    assert not lab.check_encode(lambda argv: "text", target)
    assert not lab.check_encode(lambda argv: 1 / 0, target)
    assert not lab.check_encode(None, target)
