"""Notebook 04's stepper in JupyterLab: move the slider through the paused run flow and see
the step's views (one real interaction, the expected text asserted)."""
import pytest


@pytest.mark.parametrize("name", ["04-the-run-flow.ipynb", "solutions/04-the-run-flow.ipynb"])
def test_stepper(notebook, screenshots, name):
    nb = notebook(name)
    nb.run_all()
    stepper = nb.explorers().first
    result = nb.result_of(stepper)
    # before any move: the clone step, the child a copy of the parent
    assert "2 · clone" in result.inner_text()
    assert "still the host's" in result.inner_text()
    handle = stepper.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    for _ in range(4):  # clone → init → / private → hostname, /proc → execve
        handle.press("ArrowRight")
    result.get_by_text("6 · execve").first.wait_for(timeout=120_000)
    text = result.inner_text()
    assert "PID 2  sleep 30" in text and "PID 1 started sleep as PID 2" in text
    assert "2 · clone" not in text
    assert nb.error_texts() == []
    stepper.screenshot(path=str(screenshots / ("explorer-" + name.replace("/", "-")
                                               .replace(".ipynb", ".png"))))
