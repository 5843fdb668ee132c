"""Every notebook, and every solution, run in JupyterLab as a student runs it: Run All.

Afterwards the page must show no error anywhere, no widget that failed or still loads,
every explorer with its result already there (no click needed), no TeX typesetting inside
a code cell's output, no label cut short and no word broken in the middle at a laptop's
1280×800 with the file browser open. A screenshot of each notebook is kept.
"""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted("solutions/" + p.name for p in (ROOT / "notebooks" / "solutions").glob("*.ipynb"))

#: How many explorers each notebook has (a notebook's and its solution's are the same).
EXPLORERS = {"01-namespaces.ipynb": 1, "02-proc-mount-flags.ipynb": 2,
             "03-execve-replaces-init.ipynb": 1, "04-the-run-flow.ipynb": 1,
             "05-drive-the-cli.ipynb": 1, "06-cgroups.ipynb": 1, "07-the-pipe.ipynb": 1}


def test_every_notebook_is_known():
    assert set(NOTEBOOKS) == set(EXPLORERS)
    assert [s.split("/")[1] for s in SOLUTIONS] == NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS + SOLUTIONS)
def test_run_all_shows_everything(notebook, screenshots, name):
    nb = notebook(name)
    assert not nb.is_dirty(), "the notebook shows as modified as soon as it opens"
    seconds = nb.run_all()
    try:
        assert nb.error_texts() == []
        explorers = nb.explorers()
        assert explorers.count() == EXPLORERS[Path(name).name]
        for i in range(explorers.count()):
            shown = nb.result_of(explorers.nth(i)).inner_text().strip()
            assert shown, "explorer %d of %s shows nothing before any click" % (i + 1, name)
        assert nb.typeset_math_in_outputs() == 0, "a `$` in an output was typeset as TeX"
        assert nb.cut_labels() == []
        assert nb.word_breaking_pre() == []
    finally:
        nb.screenshot(screenshots / (name.replace("/", "-").replace(".ipynb", ".png")))
    print("%s: Run All took %.1f s" % (name, seconds))
