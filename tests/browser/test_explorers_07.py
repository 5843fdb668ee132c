"""Notebook 07's pipe explorer in a real browser: a command line typed and sent (a click on
"send it", then Enter) shows what each way of sending it delivers — with the double space of
'a  b' kept on the page (HTML collapses runs of spaces unless told not to)."""


def test_pipe_explorer_shows_the_double_space_after_a_click_and_after_enter(notebook,
                                                                            screenshots):
    nb = notebook("07-the-pipe.ipynb")
    nb.run_all()
    explorer = nb.explorers().nth(0)
    result = nb.result_of(explorer)
    try:
        assert 'echo "two  spaces"' in result.inner_text()  # there before any click
        box = explorer.locator("input[type=text]")
        box.fill("printf '[%s]\\n' 'a  b' x")
        explorer.get_by_role("button", name="send it").click()
        result.get_by_text("[a  b]").wait_for(timeout=120_000)
        shown = result.inner_text()
        # the book's init got 'a', '', 'b'; ours 'a  b' (two spaces, as typed), and both ran
        assert "'a', '', 'b', 'x'" in shown and "['printf', '[%s]\\\\n', 'a  b', 'x']" in shown
        assert "[a  b]" in shown and "[a]\n[]\n[b]" in shown
        box.fill("printf '[%s]\\n' 'c  d'")
        box.press("Enter")
        result.get_by_text("[c  d]").wait_for(timeout=120_000)
        assert "'c', '', 'd'" in result.inner_text()
    finally:
        explorer.screenshot(path=str(screenshots / "07-pipe-explorer.png"))
