"""Notebook 06 in a real browser: the memory explorer's sliders set, one press of "run the
container", and the result of that real container shown; the OOM demonstration shown as
the demonstration succeeding (a ✔, no "raise the limit" hint)."""


def _set_slider(explorer, label, value):
    """Type a value into an IntSlider's readout (what a student can do instead of dragging)."""
    slider = explorer.locator(".widget-slider", has_text=label)
    readout = slider.locator(".widget-readout")
    readout.click()
    readout.press("Control+a")
    readout.type(str(value))
    readout.press("Enter")
    assert readout.inner_text().strip() == str(value)


def test_memory_explorer_runs_the_container_set_by_the_sliders(notebook, screenshots):
    nb = notebook("06-cgroups.ipynb")
    nb.run_all()
    page_text = nb.page.locator(".jp-Notebook").inner_text()
    assert "✔ the limit held: 200 MiB do not fit in 50 MiB" in page_text
    assert "raise the limit" not in page_text
    explorer = nb.explorers().nth(0)
    result = nb.result_of(explorer)
    try:
        assert "allocate 100 MiB" in result.inner_text()  # shown before any press
        _set_slider(explorer, "-m (MiB)", 100)
        _set_slider(explorer, "allocates (MiB)", 20)
        assert "allocate 100 MiB" in result.inner_text()  # a slider alone runs nothing
        explorer.get_by_role("button", name="run the container").click()
        result.get_by_text("20 MiB fit in the 100 MiB limit").wait_for(timeout=120_000)
        assert "-m 100m python -c <allocate 20 MiB>" in result.inner_text()
        assert "exit status" in result.inner_text() and "allocated 20" in result.inner_text()
    finally:
        explorer.screenshot(path=str(screenshots / "06-memory-explorer.png"))
