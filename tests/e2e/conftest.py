"""Real-browser harness: the dashboard served by Streamlit, driven by Playwright and Chromium.

Session fixtures build a small synthetic store, start the dashboard (``python -m ui.serve``, which
runs ``streamlit run dashboard.py`` warm) on a free loopback port with ``STORE_URL`` pointing at
it, and launch Debian's Chromium once. Each test gets
a ``dashboard`` (a ``DashboardPage``): a fresh browser context whose every request is routed, so
that a request to any origin other than the dashboard's own is aborted and recorded. A test ends
with ``dashboard.assert_clean()``; the fixture checks again at teardown, so a page that
tried to reach the internet or logged a console error can never pass.

Tests that need another server (sign-in configured, other secrets) start one with
``serve_dashboard(...)`` and open pages on it with the ``browse`` factory.

Chromium comes from the system (``apt-get install chromium``), never from ``playwright
install``, which downloads a browser and fails offline. Without it these tests fail on CI
(``CI=true``) and are skipped locally, with the reason.
"""
from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
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
NETWORK_IDLE_TIMEOUT_MS = 3_000


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


def wait_for_network_quiet(page) -> None:
    """Wait until the page's resources (fonts, icons, images) have loaded.

    Playwright's "networkidle" is a heuristic of its own navigation bookkeeping: after some
    in-app page switches it never fires although no request is in flight (seen after a chair's
    Hotspots → Trends, with the page drawn and idle). So wait for it a while, then for the fonts.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        page.wait_for_load_state("networkidle", timeout=NETWORK_IDLE_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        pass
    page.wait_for_function("document.fonts.status === 'loaded'", timeout=APP_RUN_TIMEOUT_MS)


@dataclass
class DashboardServer:
    """A running ``streamlit run dashboard.py``: its URL, environment, secrets and log."""

    url: str
    port: int
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def serve_dashboard(workdir: Path, *, env: dict[str, str], secrets: str = "",
                    port: int | None = None) -> Iterator[DashboardServer]:
    """Run the dashboard on a free loopback port with ``env`` and a ``secrets.toml`` of ``secrets``.

    The secrets file is passed with ``--secrets.files``, so the server never reads a developer's
    own ``.streamlit/secrets.toml``. ``env`` is added to the environment, after settings that keep
    sign-in off unless the test turns it on: ``USERS_FILE`` and ``ROLES_FILE`` name files that do
    not exist. ``port``: for secrets that must name the port (an OIDC ``redirect_uri``).
    """
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    secrets_file = workdir / "secrets.toml"
    secrets_file.write_text(secrets, encoding="utf-8")
    log_path = workdir / "server.log"
    # As `make run` and the Dockerfile start it: the warm launcher (ui/serve.py), which runs
    # `streamlit run dashboard.py` in its own process.
    command = [sys.executable, "-m", "ui.serve",
               "--server.headless", "true", "--server.address", "127.0.0.1",
               "--server.port", str(port), "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--secrets.files", str(secrets_file)]
    full_env = {**os.environ, "USERS_FILE": str(workdir / "no-users.json"),
                "ROLES_FILE": str(workdir / "no-roles.yaml"), **env}
    # The log goes to a file, not a pipe: nobody reads a pipe while tests run, and a full pipe
    # would block the server.
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=full_env, stdout=log,
                                   stderr=subprocess.STDOUT)
    server = DashboardServer(f"http://127.0.0.1:{port}", port, process, log_path)
    try:
        wait_until_healthy(f"{server.url}/_stcore/health", process, log_path)
        yield server
    finally:
        stop(process)


@pytest.fixture(scope="session")
def base_url(e2e_store, tmp_path_factory) -> str:
    """URL of a Streamlit server running ``dashboard.py`` on ``e2e_store``; stopped at the end.

    No sign-in is configured and the store is synthetic, so the dashboard runs as the demo.
    """
    with serve_dashboard(tmp_path_factory.mktemp("streamlit"),
                         env={"STORE_URL": str(e2e_store)}) as server:
        yield server.url


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
        wait_for_network_quiet(self.page)

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

    def take_console_errors(self, pattern: str) -> list[str]:
        """Remove and return the console errors matching ``pattern`` (a regular expression).

        For errors a test provokes on purpose, such as asking for a page that does not exist.
        """
        taken = [e for e in self.console_errors if re.search(pattern, e)]
        self.console_errors[:] = [e for e in self.console_errors if e not in taken]
        return taken

    def assert_clean(self) -> None:
        """Fail if the page tried to reach another origin, logged an error or shows an exception."""
        assert not self.foreign_requests, (
            f"the page tried to reach other origins (requests aborted): {self.foreign_requests}")
        assert not self.console_errors, f"console errors: {self.console_errors}"
        assert not self.exceptions(), f"Streamlit exceptions on the page: {self.exceptions()}"


@pytest.fixture
def browse(browser):
    """Factory: a ``DashboardPage`` on ``url`` in a fresh context, closed (and checked) at teardown.

    ``idp_origins``: origins of an identity provider the sign-in flow visits. Requests to them
    go through; requests *their* pages make to other origins (a CDN stylesheet) are answered
    with an empty body and not counted, nor are console errors from their pages: they are the
    provider's, not the dashboard's. Everything else is held to ``assert_clean``.
    """
    opened = []

    def open_page(url: str, *, idp_origins: tuple[str, ...] = ()) -> DashboardPage:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        watch = DashboardPage(page=None, base_url=url)
        own_origin = _origin(url)
        idps = {_origin(origin) for origin in idp_origins}

        def route(route):
            request_url = route.request.url
            if _origin(request_url) in {own_origin, *idps}:
                return route.continue_()
            if idps and _from_origins(route.request, idps):
                return route.fulfill(status=200, body="", content_type="text/css")
            watch.foreign_requests.append(request_url)
            return route.abort()

        def console(message):
            where = message.location.get("url", "")
            if message.type == "error" and _origin(where) not in idps:
                watch.console_errors.append(f"{message.text} ({where})")

        # On the context, so requests from iframes and workers are routed as well.
        context.route("**/*", route)
        page = context.new_page()
        page.on("console", console)
        page.on("pageerror", lambda error: watch.console_errors.append(f"uncaught: {error}"))
        # WebSockets are not routed; record any that leave the dashboard's origin.
        page.on("websocket", lambda socket: _origin(socket.url) != own_origin
                and watch.foreign_requests.append(socket.url))
        watch.page = page
        opened.append((watch, context))
        return watch

    yield open_page
    try:
        for watch, _ in opened:
            watch.assert_clean()
    finally:
        for _, context in opened:
            context.close()


@pytest.fixture
def dashboard(browse, base_url):
    """A ``DashboardPage`` in a fresh context (no shared cookies or storage between tests)."""
    return browse(base_url)


def _from_origins(request, origins) -> bool:
    """Whether ``request`` was made by a page (frame) on one of ``origins``."""
    try:
        return _origin(request.frame.url) in origins
    except Exception:  # a service worker's request has no frame
        return False


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    # ws:// to the dashboard's host is the same server as http://.
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return scheme, parts.netloc


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(health_url: str, process: subprocess.Popen, log_path: Path,
                       ok: bytes = b"ok") -> None:
    """Wait until ``health_url`` answers ``ok``; fail with the server's log if it never does."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with status {process.returncode} before serving:\n"
                        f"{log_path.read_text(errors='replace')}", pytrace=False)
        try:
            with urllib.request.urlopen(health_url, timeout=1) as response:
                if ok in response.read():
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"server not healthy after {SERVER_START_TIMEOUT_S} s:\n"
                f"{log_path.read_text(errors='replace')}", pytrace=False)


def stop(process: subprocess.Popen) -> None:
    """Terminate a server started by a fixture, killing it if it does not stop in 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
