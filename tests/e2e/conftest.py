"""Real-browser harness: the dashboard served by Streamlit, driven by Playwright and Chromium.

Session fixtures build a small synthetic store, start ``streamlit run dashboard.py`` on a free
loopback port with ``STORE_URL`` pointing at it, and launch Debian's Chromium once. Each test gets
a ``dashboard`` (a ``DashboardPage``): a fresh browser context whose every request is routed, so
that a request to any origin other than the dashboard's own is aborted and recorded. A test ends
with ``dashboard.assert_clean()``; the fixture checks again at teardown, so a page that
tried to reach the internet or logged a console error can never pass.

Chromium comes from the system (``apt-get install chromium``), never from ``playwright
install``, which downloads a browser and fails offline. Without it these tests fail on CI
(``CI=true``) and are skipped locally, with the reason.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.sample_store import build_store

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = Path(__file__).resolve().parent / "screenshots"
# Debian's package; E2E_CHROMIUM points elsewhere (another distribution, or to test the guard).
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
# A few dozen rows per feed: enough for every district to have records, quick to ingest.
E2E_ROWS = {"nrm": 36, "rosewood": 30, "mandevilla": 24}
SERVER_START_TIMEOUT_S = 60
APP_RUN_TIMEOUT_MS = 30_000


def _unavailable(reason: str) -> None:
    """Fail on CI, where the browser is a stated requirement; skip on a developer's machine."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: browser tests must run on CI)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def e2e_store(tmp_path_factory) -> Path:
    """A small synthetic store, built once per session; its counts are in ``E2E_ROWS``."""
    root = tmp_path_factory.mktemp("e2e") / "store"
    build_store(root, E2E_ROWS, source="synthetic")
    return root


@pytest.fixture(scope="session")
def base_url(e2e_store, tmp_path_factory) -> str:
    """URL of a Streamlit server running ``dashboard.py`` on ``e2e_store``; stopped at the end."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    command = [sys.executable, "-m", "streamlit", "run", "dashboard.py",
               "--server.headless", "true", "--server.address", "127.0.0.1",
               "--server.port", str(port), "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    env = {**os.environ, "STORE_URL": str(e2e_store)}
    # The log goes to a file, not a pipe: nobody reads a pipe while tests run, and a full pipe
    # would block the server.
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, server, log_path)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, launched once per session."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found: install it with `apt-get install chromium` "
                     "(never `playwright install`, which needs the internet)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed: "
                     "pip install -r requirements-test.txt")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class DashboardPage:
    """A browser tab on the dashboard that records what the page tried to do.

    Attributes
    ----------
    page : playwright.sync_api.Page
    base_url : str
        The dashboard's origin; every other origin is off limits.
    foreign_requests : list of str
        URLs of requests (and WebSockets) to any other origin; the requests were aborted.
    console_errors : list of str
        Console messages of type ``error`` and uncaught page exceptions.
    """

    page: object
    base_url: str
    foreign_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def open(self, path: str = "/") -> None:
        """Load ``path`` and wait until the script has run and the page has settled."""
        self.page.goto(self.base_url + path, wait_until="domcontentloaded")
        self.wait_for_app()

    def wait_for_app(self) -> None:
        """Wait until Streamlit is connected and no script run is in progress."""
        self.page.locator('[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
                          '[data-test-script-state="notRunning"]').wait_for(
            timeout=APP_RUN_TIMEOUT_MS)
        self.page.locator('[data-testid="stMain"]').wait_for(timeout=APP_RUN_TIMEOUT_MS)
        # Elements (fonts, icons, dataframe canvas) finish loading after the run ends.
        self.page.wait_for_load_state("networkidle", timeout=APP_RUN_TIMEOUT_MS)

    def screenshot(self, name: str) -> Path:
        """Save a screenshot of the whole page as ``tests/e2e/screenshots/<name>.png``."""
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        # Streamlit scrolls inside stMain, not the document, so ``full_page`` alone stops at the
        # viewport: grow the viewport to the content for the shot, then put it back.
        size = self.page.viewport_size
        content_height = self.page.locator('[data-testid="stMain"]').evaluate("e => e.scrollHeight")
        self.page.set_viewport_size({"width": size["width"],
                                     "height": max(size["height"], content_height)})
        try:
            self.page.screenshot(path=str(path), full_page=True)
        finally:
            self.page.set_viewport_size(size)
        return path

    def exceptions(self) -> list[str]:
        """Texts of the Streamlit exception boxes on the page."""
        return self.page.locator('[data-testid="stException"]').all_inner_texts()

    def assert_clean(self) -> None:
        """Fail if the page tried to reach another origin, logged an error or shows an exception."""
        assert not self.foreign_requests, (
            f"the page tried to reach other origins (requests aborted): {self.foreign_requests}")
        assert not self.console_errors, f"console errors: {self.console_errors}"
        assert not self.exceptions(), f"Streamlit exceptions on the page: {self.exceptions()}"


@pytest.fixture
def dashboard(browser, base_url):
    """A ``DashboardPage`` in a fresh context (no shared cookies or storage between tests)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watch = DashboardPage(page=None, base_url=base_url)
    own_origin = _origin(base_url)

    def route(route):
        url = route.request.url
        if _origin(url) == own_origin:
            return route.continue_()
        watch.foreign_requests.append(url)
        return route.abort()

    # On the context, so requests from iframes and workers are routed as well.
    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error"
            and watch.console_errors.append(f"{message.text} ({message.location.get('url', '')})"))
    page.on("pageerror", lambda error: watch.console_errors.append(f"uncaught: {error}"))
    # WebSockets are not routed; record any that leave the dashboard's origin.
    page.on("websocket", lambda socket: _origin(socket.url) != own_origin
            and watch.foreign_requests.append(socket.url))
    watch.page = page
    try:
        yield watch
        watch.assert_clean()
    finally:
        context.close()


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    # ws:// to the dashboard's host is the same server as http://.
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return scheme, parts.netloc


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_healthy(url: str, server: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with status {server.returncode} before serving:\n"
                        f"{log_path.read_text(errors='replace')}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"streamlit not healthy after {SERVER_START_TIMEOUT_S} s:\n"
                f"{log_path.read_text(errors='replace')}", pytrace=False)
