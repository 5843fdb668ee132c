"""Notebook 05's live shell in a real browser: a typed command runs exactly once per click on
"Run in the container" and once per Enter (it ran twice on a click with ipywidgets' manual
interact). The command counts its own runs in the container's shell."""
COUNT = 'n=$((n+1)); echo "runs=$n"'


def _runs(result):
    return [line for line in result.inner_text().splitlines() if line.startswith("runs=")]


def test_live_shell_runs_a_command_once_per_click_and_once_per_enter(notebook, screenshots):
    nb = notebook("05-drive-the-cli.ipynb")
    nb.run_all()
    shell = nb.explorers().nth(0)
    result = nb.result_of(shell)
    try:
        assert "no container yet" in result.inner_text()
        box = shell.locator("input[type=text]")
        box.fill(COUNT)
        shell.get_by_role("button", name="Run in the container").click()
        result.get_by_text("runs=1").wait_for(timeout=120_000)
        assert _runs(result) == ["runs=1"]
        box.press("Enter")
        result.get_by_text("runs=2").wait_for(timeout=120_000)
        box.fill("exit 3")
        box.press("Enter")
        result.get_by_text("exited with status 3").wait_for(timeout=120_000)
        # the kernel takes messages in order: a second run of either would be there by now
        assert _runs(result) == ["runs=1", "runs=2"]
    finally:
        shell.screenshot(path=str(screenshots / "05-live-shell.png"))

