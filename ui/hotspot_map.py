"""The Hotspots page's map, built and rendered once per view and drawn again from that text.

``st_folium(hotspot_map(...))`` built the folium map and rendered it to Leaflet code on every
run of the page: reprojecting the base map's outlines and labels, compiling folium's templates
(0.2-0.3 s of CPU, the most of a warm rerun of the page), and sending different bytes each time
(folium's random element ids), so Streamlit's message cache never matched. As for the explorer
(``ui.folium_frame``, ``ui.explore_loaders.load_explorer_map``), the rendered map is cached on
everything it depends on: the store's content (and exposure layers), the principal, the filters,
the alerts' month and the selected hotspot. A rerun of an unchanged view builds nothing and
resends the same component arguments.
"""
from __future__ import annotations

import streamlit as st

from maps.alert_layer import alert_layer, alert_legend
from maps.hotspot_layer import hotspot_map
from safeguards.access import Principal
from storage.base import store_fingerprint
from storage.exposure import layers_fingerprint
from storage.open import open_store
from ui.folium_frame import FoliumFrame, folium_frame, show_folium
from ui.loaders import FILTER_PARTS, view_key
from views.hotspot_alerts import AlertView
from views.hotspots import HotspotView
from views.viewstate import ExplorerState

HEIGHT = 520


def load_hotspot_map(principal: Principal, state: ExplorerState, selected: int | None, *,
                     view: HotspotView, alerts: AlertView | None, key: str) -> FoliumFrame:
    """The map of ``view`` (``ui.hotspot_loaders.load_hotspots`` of ``state``) with ``alerts``
    (``load_alerts``, or None) and ``selected`` zoomed to, rendered for the component ``key``.

    ``view`` and ``alerts`` are not hashed: the loaders that made them are keyed on the store's
    content, the principal and the filters, which key this cache too."""
    store = open_store()
    content = f"{store_fingerprint(store)}-{layers_fingerprint(store)}"
    return _cached_hotspot_map(store.url, content, principal, view_key(state, *FILTER_PARTS),
                               None if alerts is None else alerts.month,
                               None if selected is None else int(selected), key, view, alerts)


@st.cache_data(ttl="1h", max_entries=32, show_spinner=False)
def _cached_hotspot_map(store_url, content, principal, filters, alert_month, selected, key,
                        _view, _alerts) -> FoliumFrame:
    with_alerts = _alerts is not None
    fig = hotspot_map(
        _view.hotspots, selected=selected, labels=True, legend=True,
        extra_layers=[alert_layer(_alerts.alerts, _alerts.month_label)] if with_alerts else (),
        extra_legend=([alert_legend(_alerts.month_label)]
                      if with_alerts and len(_alerts.alerts) else ()))
    return folium_frame(fig, key=key)


def show_hotspot_map(frame: FoliumFrame) -> None:
    """Draw the map as ``st_folium(..., height=520, use_container_width=True,
    returned_objects=[])`` did: a pan, zoom or click never reruns the page."""
    show_folium(frame, height=HEIGHT, returned_objects=[], use_container_width=True)
