"""The load benchmark's protocol-level client (``bench/bench_load.py``, ``bench/load_floor.py``):
one browser session without a browser, speaking Streamlit's own WebSocket protocol, and the
demo role picker it uses to take a role."""
from __future__ import annotations

import http.cookiejar
import re
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ui.registry import DEFAULT_PAGE

ROLES = ("analyst", "chair", "executive", "admin")
#: The demo role picker (``dashboard.py``: ``st.radio(session.DEMO_LABEL, ROLES,
#: format_func=ROLE_TITLES.get)``): its options are the role titles.
DEMO_LABEL = "Demo: synthetic data"
ROLE_TITLES = {"analyst": "Analyst", "chair": "Partnership chair",
               "executive": "Deputy Mayor's office", "admin": "Administrator"}
RUN_TIMEOUT_S = 120
WORKER_HEADER = "X-WY-Worker"


def page_name(key: str) -> str:
    """What the browser sends for a page: its URL path, empty for the default page."""
    return "" if key == DEFAULT_PAGE else key


@dataclass
class Run:
    """One page run as the client saw it."""

    page: str
    seconds: float
    status: str
    exceptions: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)       # error alerts' text
    metrics: dict[str, str] = field(default_factory=dict)  # label -> value shown
    radios: dict[str, str] = field(default_factory=dict)   # label -> widget id
    messages: int = 0
    bytes: int = 0
    references: int = 0  # elements sent as a reference to the client's cached copy
    elements: list[str] = field(default_factory=list)  # the kinds of the elements sent whole

    @property
    def errors(self) -> list[str]:
        found = list(self.exceptions)
        found += [a for a in self.alerts if a.startswith("Access denied")]
        if self.status not in ("FINISHED_SUCCESSFULLY", "FINISHED_FRAGMENT_RUN_SUCCESSFULLY"):
            found.append(self.status)
        return found


class StreamlitSession:
    """One browser session without a browser: HTTP for the cookies, then the WebSocket."""

    def __init__(self, base_url: str, timeout: float = RUN_TIMEOUT_S, cookies=None) -> None:
        from websockets.sync.client import connect

        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.jar = cookies if cookies is not None else http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        with opener.open(self.base_url + "/", timeout=timeout) as response:
            response.read()
            self.http_worker = response.headers.get(WORKER_HEADER)
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.jar)
        ws_url = re.sub(r"^http", "ws", self.base_url) + "/_stcore/stream"
        self.ws = connect(ws_url, subprotocols=["streamlit"], compression=None, max_size=None,
                          open_timeout=timeout, close_timeout=2,
                          additional_headers={"Cookie": cookie} if cookie else None
                          ).__enter__()  # as a context manager would (websockets 17 warns else)
        self.ws_worker = self.ws.response.headers.get(WORKER_HEADER)
        self.widgets: dict[str, object] = {}  # widget id -> WidgetState to send on every run
        # The browser's message cache (Streamlit's ForwardMessageCache.ts): the hashes of the
        # cacheable messages it holds (each with the run that last used it) go with every
        # rerun, so the server sends a reference for an element the browser already has.
        self.cached: dict[str, int] = {}
        self.finished_runs = 0
        self.max_cached_message_age = 2  # until the server's new_session says

    def close(self) -> None:
        self.ws.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def set_radio(self, widget_id: str, value: str) -> None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        self.widgets[widget_id] = WidgetState(id=widget_id, string_value=value)

    def run(self, page: str = DEFAULT_PAGE) -> Run:
        """Run ``page`` (a ``ui.registry`` key) and read until its ``script_finished``."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        msg.rerun_script.page_name = page_name(page)
        msg.rerun_script.query_string = ""
        msg.rerun_script.widget_states.widgets.extend(self.widgets.values())
        msg.rerun_script.cached_message_hashes.extend(self.cached)
        started = time.perf_counter()
        self.ws.send(msg.SerializeToString())
        run = Run(page, 0.0, "")
        finished = ForwardMsg.ScriptFinishedStatus
        deadline = started + self.timeout
        while True:
            data = self.ws.recv(timeout=max(0.01, deadline - time.perf_counter()))
            if isinstance(data, str):
                continue
            run.messages += 1
            run.bytes += len(data)
            forward = ForwardMsg()
            forward.ParseFromString(data)
            kind = forward.WhichOneof("type")
            if kind == "ref_hash":
                self.cached[forward.ref_hash] = self.finished_runs
                run.references += 1
            elif forward.metadata.cacheable and forward.hash:
                self.cached[forward.hash] = self.finished_runs
            if kind == "new_session":
                self.max_cached_message_age = forward.new_session.config.max_cached_message_age
            elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                _element(forward.delta.new_element, run)
            elif kind == "page_not_found":
                run.exceptions.append(f"page not found: {forward.page_not_found.page_name}")
            elif kind == "script_finished":
                if forward.script_finished == finished.FINISHED_EARLY_FOR_RERUN:
                    continue
                run.status = finished.Name(forward.script_finished)
                run.seconds = time.perf_counter() - started
                self._age_cache()
                return run

    def _age_cache(self) -> None:
        """After a finished run, forget messages no run used for ``max_cached_message_age``
        runs, as the browser does."""
        self.finished_runs += 1
        self.cached = {h: used for h, used in self.cached.items()
                       if self.finished_runs - used <= self.max_cached_message_age}


def _element(element, run: Run) -> None:
    kind = element.WhichOneof("type")
    run.elements.append(kind)
    if kind == "exception":
        run.exceptions.append(f"{element.exception.type}: {element.exception.message}")
    elif kind == "alert" and element.alert.format == element.alert.ERROR:
        run.alerts.append(element.alert.body)
    elif kind == "metric":
        run.metrics[element.metric.label] = element.metric.body
    elif kind == "radio":
        run.radios[element.radio.label] = element.radio.id


def choose_role(session: StreamlitSession, first: Run, role: str) -> Run | None:
    """Pick ``role`` in the demo role picker (the first run shows it); returns the rerun."""
    widget = next((wid for label, wid in first.radios.items() if label.startswith(DEMO_LABEL)),
                  None)
    if widget is None:
        raise RuntimeError("no demo role picker on the page: is sign-in configured, or the "
                           "store not synthetic?")
    session.set_radio(widget, ROLE_TITLES[role])
    if role == "analyst":  # the default
        return None
    rerun = session.run(DEFAULT_PAGE)
    again = next((wid for label, wid in rerun.radios.items() if label.startswith(DEMO_LABEL)),
                 widget)
    if again != widget:
        # The first run of a session that a fresh server opened in Streamlit's legacy pages/
        # mode draws the picker under another id (ui/router_mode.py): pick again by the new id.
        del session.widgets[widget]
        session.set_radio(again, ROLE_TITLES[role])
        rerun = session.run(DEFAULT_PAGE)
    return rerun
