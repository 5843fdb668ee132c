"""Notebook 03's explorer in JupyterLab: pick a kind of command, see what execve() and
mydocker-lab run did with it (one real pick, the expected text asserted)."""
import pytest


@pytest.mark.parametrize("name", ["03-execve-replaces-init.ipynb",
                                  "solutions/03-execve-replaces-init.ipynb"])
def test_exit_code_dropdown(notebook, screenshots, name):
    nb = notebook(name)
    nb.run_all()
    explorer = nb.explorers().first
    result = nb.result_of(explorer)
    # before any pick: the default case, not found
    assert "mydocker-lab run exit code" in result.inner_text()
    assert "127" in result.inner_text()
    explorer.locator("select").select_option(label="a directory")
    result.get_by_text("EACCES").first.wait_for(timeout=120_000)
    text = result.inner_text()
    assert "/tmp/lab" in text and "126" in text and "a directory" in text
    explorer.locator("select").select_option(label="a program whose ELF loader is missing")
    result.get_by_text("PT_INTERP").first.wait_for(timeout=120_000)
    assert "ENOENT" in result.inner_text() and "127" in result.inner_text()
    assert nb.error_texts() == []
    explorer.scroll_into_view_if_needed()
    explorer.screenshot(path=str(screenshots / ("explorer-" + name.replace("/", "-")
                                                .replace(".ipynb", ".png"))))
