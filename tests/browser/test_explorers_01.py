"""Notebook 01's explorer in JupyterLab: the namespace picker. Ticking "net" gives the child a
network namespace of its own, and the explorer says so (one real tick, the text asserted)."""
import re

import pytest

#: The explorer's table row for the network namespace (in its text the cells run together).
NET_NEW = re.compile(r"net\s*list network devices\s*only lo\s*the host's\s*NEW: its own")
NET_SHARED = re.compile(r"net\s*list network devices\s*the host's\s*the host's\s*the parent's")


@pytest.mark.parametrize("name", ["01-namespaces.ipynb", "solutions/01-namespaces.ipynb"])
def test_ticking_net_shows_a_new_network_namespace(notebook, screenshots, name):
    from playwright.sync_api import expect
    nb = notebook(name)
    nb.run_all()
    explorer = nb.explorers().first
    result = nb.result_of(explorer)
    # before any click: UTS and PID ticked, the network is the parent's
    expect(result).to_contain_text("CLONE_NEWUTS | CLONE_NEWPID = 0x24000000")
    expect(result).to_contain_text(NET_SHARED)
    explorer.get_by_text("net (network devices)").click()
    expect(result).to_contain_text("CLONE_NEWUTS | CLONE_NEWPID | CLONE_NEWNET = 0x64000000",
                                   timeout=120_000)
    expect(result).to_contain_text(NET_NEW)
    expect(result).to_contain_text("NEW net")   # the picture: a box of its own
    assert nb.error_texts() == []
    shot = "explorer-" + name.replace("/", "-").replace(".ipynb", "")
    explorer.screenshot(path=str(screenshots / (shot + "-after-net.png")))
    nb.screenshot(screenshots / (shot + ".png"))
