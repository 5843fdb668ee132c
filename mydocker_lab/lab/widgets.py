"""How every explorer in the notebooks shows itself: its controls, and under them its result.

One place, because ipywidgets' ``interactive()`` gets two things wrong for a course:

- it computes the function's return value and shows *nothing* unless told to
  (``auto_display``), so a student sees controls above an empty area;
- in its manual mode it runs a text box's function twice per click (once when the box
  loses focus and its value arrives, once for the click).

An :class:`Explorer` runs its function once when it is made, so its result is there
before any click, and again on each change of a control (checkbox, dropdown, slider),
or, with ``run_label``, once per click on its button or Enter in a text box — never
twice. The result goes into the explorer's output area as display data (HTML in
JupyterLab, text elsewhere); the explorer's own plain-text form is that result's text,
so a stored notebook, nbval and any viewer without widgets show what the student would
see.
"""
from ipywidgets import Button, HBox, Layout, Output, Text, VBox

from .display import Rich, Verdict

#: CSS classes the browser tests find an explorer and its result by.
EXPLORER_CLASS = "mydocker-lab-explorer"
RESULT_CLASS = "mydocker-lab-result"


def _text(result):
    if result is None:
        return ""
    return result.text() if isinstance(result, Rich) else str(result)


def explorer(func, run_label=None, **controls):
    """An :class:`Explorer` of ``func(**values of controls)``; see the module's docstring."""
    return Explorer(func, controls, run_label)


class Explorer(VBox):
    """Controls, and under them the result of ``func`` called with their values."""

    def __init__(self, func, controls, run_label=None):
        self.func = func
        self.controls = dict(controls)
        self.result = None
        self.runs = 0
        self.out = Output(layout=Layout(width="100%"))
        self.out.add_class(RESULT_CLASS)
        for control in self.controls.values():
            # a description is never cut short ("Run in the contai…"): as wide as it is
            control.style.description_width = "initial"
        row = list(self.controls.values())
        self.button = None
        if run_label:
            self.button = Button(description=run_label, button_style="primary",
                                 layout=Layout(width="auto"))
            self.button.on_click(lambda _button: self.run())
            row.append(self.button)
            for control in self.controls.values():
                if isinstance(control, Text):
                    # Its value arrives as it is typed: Enter is a message of its own, sent
                    # before a box that waits for Enter would send its new value.
                    control.continuous_update = True
                    control.on_msg(self._on_text_message)
        else:
            for control in self.controls.values():
                control.observe(lambda _change: self.run(), names="value")
        super().__init__([HBox(row, layout=Layout(flex_flow="row wrap", align_items="center")),
                          self.out])
        self.add_class(EXPLORER_CLASS)
        self.run()

    def _on_text_message(self, _widget, content, _buffers):
        if content.get("event") == "submit":  # Enter in the text box
            self.run()

    def values(self):
        return {name: control.value for name, control in self.controls.items()}

    def run(self):
        """Call the function with the controls' values; show what it returns."""
        if self.button is not None:
            self.button.disabled = True  # a click while it runs does not queue a second run
        try:
            self.result = self.func(**self.values())
        except Exception as err:  # shown where the student looks, not as a traceback
            self.result = Verdict(False, "%s: %s" % (type(err).__name__, err),
                                  hint="if this persists, it is a bug in the course's "
                                       "helpers: please report it")
        finally:
            if self.button is not None:
                self.button.disabled = False
        self.runs += 1
        self.out.outputs = ()
        if self.result is not None:
            self.out.append_display_data(self.result)
        return self.result

    def __repr__(self):
        return _text(self.result)
