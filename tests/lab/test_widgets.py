"""widgets.py: an explorer shows its result at once, and runs once per change or click."""
from ipywidgets import Checkbox, Text

from mydocker_lab.lab.display import Verdict
from mydocker_lab.lab.widgets import EXPLORER_CLASS, RESULT_CLASS, explorer


def test_the_result_is_there_without_a_click_and_follows_each_change():
    calls = []

    def check(flag):
        calls.append(flag)
        return Verdict(flag, "flag is %s" % flag)
    box = Checkbox(value=False, description="flag")
    shown = explorer(check, flag=box)
    assert calls == [False] and repr(shown) == "✘ flag is False"
    box.value = True
    assert calls == [False, True] and shown.result.ok and shown.runs == 2
    assert shown.out.outputs[0]["data"]["text/plain"] == "✔ flag is True"
    assert EXPLORER_CLASS in shown._dom_classes and RESULT_CLASS in shown.out._dom_classes


def test_with_a_button_it_runs_once_per_click_or_enter_not_per_keystroke():
    calls = []
    line = Text(value="a")
    shown = explorer(lambda line: calls.append(line) or line.upper(), run_label="run",
                     line=line)
    assert calls == ["a"]
    line.value = "b"  # typing runs nothing
    assert calls == ["a"]
    shown.button.click()
    assert calls == ["a", "b"] and repr(shown) == "B" and not shown.button.disabled
    shown._on_text_message(line, {"event": "submit"}, [])  # Enter in the box
    assert calls == ["a", "b", "b"]


def test_a_failure_is_a_verdict_where_the_student_looks():
    shown = explorer(lambda: 1 / 0)
    assert not shown.result and "ZeroDivisionError" in shown.result.message
    assert "report it" in shown.result.hint
