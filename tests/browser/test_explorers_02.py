"""Notebook 02's explorers in JupyterLab: the flag matrix (tick a flag, read what the scratch
mount refuses) and the propagation explorer (pick the fix, read that the host's /proc is
untouched) — one real interaction each, the expected text asserted."""
import re

import pytest

NODEV_REFUSED = re.compile(r"\[x\] MS_NODEV.*✘ refused: EACCES")
NODEV_OPENS = re.compile(r"\[ \] MS_NODEV.*✔ opened it")


@pytest.mark.parametrize("name", ["02-proc-mount-flags.ipynb",
                                  "solutions/02-proc-mount-flags.ipynb"])
def test_flag_matrix_and_propagation(notebook, screenshots, name):
    from playwright.sync_api import expect
    nb = notebook(name)
    nb.run_all()
    flags, propagation = nb.explorers().nth(0), nb.explorers().nth(1)
    shot = "explorer-" + name.replace("/", "-").replace(".ipynb", "")

    # the flag matrix: noexec ticked to start with; tick MS_NODEV
    matrix = nb.result_of(flags)
    expect(matrix).to_contain_text("MS_NOEXEC = 0x8")
    expect(matrix).to_contain_text(NODEV_OPENS)
    flags.get_by_text("MS_NODEV", exact=True).click()
    expect(matrix).to_contain_text("MS_NOEXEC | MS_NODEV = 0xc", timeout=120_000)
    expect(matrix).to_contain_text(NODEV_REFUSED)
    expect(matrix).to_contain_text("the kernel lists it as: rw,nodev,noexec")
    flags.screenshot(path=str(screenshots / (shot + "-flags-after-nodev.png")))

    # propagation: a shared host and the book's init leak; the fix does not
    result = nb.result_of(propagation)
    expect(result).to_contain_text("the host's /proc was replaced: its ps is broken")
    propagation.locator("select").nth(1).select_option(label="the fix: make / private first")
    expect(result).to_contain_text("the host's /proc is untouched", timeout=120_000)
    expect(result).to_contain_text("container# mount --make-rprivate /")
    propagation.screenshot(path=str(screenshots / (shot + "-propagation-after-fix.png")))

    assert nb.error_texts() == []
    nb.screenshot(screenshots / (shot + ".png"))
