"""The browser tier: the notebooks in a real JupyterLab, in Debian's Chromium, as a student sees them.

nbval compares the outputs a notebook stores; it cannot see what a browser shows (an
explorer whose output area stays empty, `$` typeset as TeX, a label cut short). These tests
start JupyterLab from this environment on 127.0.0.1 (a free port, a token) over a copy of
the notebooks, drive Chromium with Playwright through ``executable_path`` (Playwright's own
browser download is never used), and look at the page.

Run it with ``scripts/browser-tier`` (or ``.venv/bin/pytest --tier browser``).
Screenshots of every notebook go to ``test-results/browser/`` (or
``$MYDOCKER_LAB_SCREENSHOTS``), where a failing CI run leaves them for a human to open.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium", path="/usr/bin:/usr/lib/chromium")
SCREENSHOTS = Path(os.environ.get("MYDOCKER_LAB_SCREENSHOTS", ROOT / "test-results" / "browser"))
#: A laptop's screen, where layout is judged.
VIEWPORT = {"width": 1280, "height": 800}
#: Flags for a headless Chromium on a machine without a network to the outside (without the
#: background-networking ones, it tries Google's hosts at every start).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
#: JupyterLab settings for a test run: every cell rendered (no windowing, so the page can be
#: looked at whole), no news or update checks (no network), no autosave.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}
START_TIMEOUT = 120


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """A JupyterLab on 127.0.0.1 over ``root_dir``, stopped (with its kernels) at the end."""

    def __init__(self, root_dir, state_dir):
        self.root_dir, self.state_dir = Path(root_dir), Path(state_dir)
        self.token = secrets.token_hex(24)
        self.proc = None
        self.log_path = self.state_dir / "jupyterlab.log"

    def start(self):
        settings = self.state_dir / "settings"
        for name, values in LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = dict(os.environ,
                   JUPYTER_CONFIG_DIR=str(self.state_dir / "config"),
                   JUPYTER_RUNTIME_DIR=str(self.state_dir / "runtime"),
                   JUPYTERLAB_SETTINGS_DIR=str(settings),
                   JUPYTERLAB_WORKSPACES_DIR=str(self.state_dir / "workspaces"))
        for attempt in range(5):  # another program may take the free port meanwhile
            self.port = _free_port()
            argv = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
                    "--port=%d" % self.port, "--ServerApp.port_retries=0",
                    "--IdentityProvider.token=" + self.token,
                    "--ServerApp.root_dir=" + str(self.root_dir),
                    "--LabApp.expose_app_in_browser=True"]
            if os.geteuid() == 0:
                argv.append("--allow-root")
            log = open(self.log_path, "a")
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
            log.close()
            if self._wait_ready():
                return self
        raise RuntimeError("JupyterLab did not start:\n" + self.log_tail())

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        request = urllib.request.Request(self.url("/api/status"),
                                         headers={"Authorization": "token " + self.token})
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return True
            except OSError:
                time.sleep(0.1)  # polling for a port to open: nothing to wait on instead
        raise RuntimeError("JupyterLab did not answer in %d s:\n%s"
                           % (START_TIMEOUT, self.log_tail()))

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # shuts its kernels down, then itself
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture(scope="session")
def chromium():
    if CHROMIUM is None:
        pytest.skip("needs Chromium: Debian's package `chromium` (scripts/browser-tier installs it)")
    return CHROMIUM


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, chromium):
    """JupyterLab over a copy of notebooks/ (a test run never changes the stored notebooks)."""
    base = tmp_path_factory.mktemp("browser")
    root = base / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(
        ".ipynb_checkpoints", "__pycache__"))
    server = LabServer(root, base).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(chromium):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


@pytest.fixture
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# -- one notebook in the page -----------------------------------------------------------------

#: The app object JupyterLab exposes (LabApp.expose_app_in_browser) and the open notebook.
_CURRENT = "window.jupyterapp.shell.currentWidget"
_KERNEL_IDLE = """() => {
  const w = %s;
  const k = w && w.sessionContext && w.sessionContext.session &&
            w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}""" % _CURRENT


class NotebookPage:
    """A notebook opened in JupyterLab: run it, find its outputs and explorers, look at it."""

    def __init__(self, page, server, name):
        self.page, self.server, self.name = page, server, name

    def open(self):
        self.page.goto(self.server.url("/lab/tree/%s?reset&token=%s"
                                       % (self.name, self.server.token)))
        self.page.wait_for_function(
            "(name) => window.jupyterapp && %s && %s.context &&"
            " %s.context.path === name" % (_CURRENT, _CURRENT, _CURRENT), arg=self.name)
        self.page.wait_for_function(_KERNEL_IDLE)
        return self

    def run_all(self, timeout=600):
        """Run all cells (the Run menu's command) and wait until the kernel is idle again."""
        start = time.monotonic()
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')"
                           ".then(() => true)")
        self.page.wait_for_function(
            "() => !Array.from(document.querySelectorAll('.jp-InputArea-prompt'))"
            ".some(p => p.textContent.includes('*'))", timeout=timeout * 1000)
        self.page.wait_for_function(_KERNEL_IDLE)
        self.wait_widgets_rendered()
        return time.monotonic() - start

    def wait_widgets_rendered(self, timeout=60):
        """Until no widget output says it is loading (a widget view waits for its model)."""
        self.page.wait_for_function(
            "() => !Array.from(document.querySelectorAll('.jp-OutputArea-output'))"
            ".some(o => /Loading widget/.test(o.textContent))", timeout=timeout * 1000)

    # -- what is on the page ------------------------------------------------------------------
    def code_outputs(self):
        return self.page.locator(".jp-CodeCell .jp-OutputArea-output")

    def error_texts(self):
        """The text of every error or stderr output, and every widget that failed to show."""
        return self.page.evaluate("""() => {
          const found = [];
          for (const o of document.querySelectorAll('.jp-CodeCell .jp-OutputArea-output')) {
            const mime = o.getAttribute('data-mime-type') || '';
            if (mime.includes('stderr') || mime.includes('error') ||
                /Error displaying widget|Traceback \\(most recent call last\\)/.test(o.textContent))
              found.push(o.textContent.slice(0, 2000));
          }
          return found;
        }""")

    def typeset_math_in_outputs(self):
        """How many formulas MathJax typeset inside code cells' outputs (should be none)."""
        return self.page.locator(".jp-CodeCell .jp-OutputArea mjx-container").count()

    def explorers(self):
        from mydocker_lab.lab.widgets import EXPLORER_CLASS
        return self.page.locator("." + EXPLORER_CLASS)

    def result_of(self, explorer):
        from mydocker_lab.lab.widgets import RESULT_CLASS
        return explorer.locator("." + RESULT_CLASS)

    def is_dirty(self):
        return self.page.evaluate("() => %s.context.model.dirty" % _CURRENT)

    def cut_labels(self):
        """Labels and buttons whose text does not fit (shown with an ellipsis)."""
        return self.page.evaluate("""() => Array.from(document.querySelectorAll(
            '.jp-OutputArea .widget-label, .jp-OutputArea .widget-button,' +
            ' .jp-OutputArea .widget-label-basic, .jp-OutputArea .widget-checkbox label'))
          .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
          .map(e => e.textContent.trim())""")

    def word_breaking_pre(self):
        """Preformatted text in HTML outputs that the browser would break inside a word when
        it is too wide: JupyterLab's own style (word-break: break-all) with wrapping on.
        Ours must either not wrap (white-space: pre, and the box scrolls) or wrap at
        spaces only (word-break: normal)."""
        return self.page.evaluate("""() => Array.from(document.querySelectorAll(
            '.jp-CodeCell .jp-RenderedHTMLCommon pre'))
          .filter(p => { const c = getComputedStyle(p);
                         return c.whiteSpace !== 'pre' && c.wordBreak === 'break-all'; })
          .map(p => p.textContent.slice(0, 120))""")

    def screenshot(self, path):
        """The whole notebook, at the viewport's width."""
        height = self.page.evaluate(
            "() => { const n = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')"
            " || document.querySelector('.jp-NotebookPanel-notebook'); return n.scrollHeight; }")
        size = dict(self.page.viewport_size)
        self.page.set_viewport_size({"width": size["width"], "height": min(height + 160, 30000)})
        try:
            # from the top: Run All leaves the notebook scrolled to its end (the panel's
            # height then takes the whole window, its scroll box ends with the "scroll past
            # the end" padding: scrollHeight never fits)
            self.page.evaluate(
                "() => new Promise(done => { const n = document.querySelector('.jp-NotebookPanel"
                " .jp-WindowedPanel-outer'); if (n) n.scrollTop = 0;"
                " requestAnimationFrame(() => requestAnimationFrame(done)); })")
            self.page.screenshot(path=str(path))
        finally:
            self.page.set_viewport_size(size)


@pytest.fixture
def notebook(page, lab_server):
    """``notebook("01-namespaces.ipynb")``: that notebook, opened in JupyterLab."""
    def open_notebook(name):
        return NotebookPage(page, lab_server, name).open()
    return open_notebook
