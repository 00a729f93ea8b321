"""A map layer that the browser builds only when it is first switched on.

The explorer's map opens on one layer; the others (hexagons, heat map, points) are ticked off
in its layer control. folium would still have the browser build every one of them as the map
loads (thousands of hexagons and markers made and kept off the map), and ``st_folium``'s frame
loads the plugin scripts those layers need (Leaflet.heat, Leaflet.markercluster) one after the
other before it draws anything. :class:`LazyFeatureGroup` is a ``folium.FeatureGroup`` that,
when it is not shown at the start, puts its children's script in a function the browser runs
the first time the layer is added to the map, after loading the scripts and styles of its
children that the page has not loaded yet. A shown group renders as a plain FeatureGroup.

``ui.folium_frame`` leaves a hidden group's files out of the frame's own list (the group loads
them itself); a page rendered whole (``Figure.render``, a download) lists them in its head as
usual, and the group then finds them loaded. The data still travel with the map: only the
work and the files move to the first click. This module never imports Streamlit.
"""
from __future__ import annotations

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

#: Loads ``js`` in order (each once per page) and ``css``, then calls ``build``, the first
#: time ``group`` is added to the map. A script the page already has (by its ``src``
#: attribute, as ``st_folium``'s frame or a whole page links it) is not loaded again.
LAZY_LOADER_JS = """
if (!window.wyLazyLayer) {
    window.wyLazyLayer = function (group, js, css, build) {
        function has(tag, attribute, url) {
            return Array.prototype.some.call(document.getElementsByTagName(tag),
                function (element) { return element.getAttribute(attribute) === url; });
        }
        function load(url) {
            return new Promise(function (resolve, reject) {
                if (has("script", "src", url)) { resolve(); return; }
                var script = document.createElement("script");
                script.src = url;
                script.async = false;
                script.onload = resolve;
                script.onerror = reject;
                document.head.appendChild(script);
            });
        }
        group.once("add", function () {
            css.forEach(function (url) {
                if (has("link", "href", url)) { return; }
                var link = document.createElement("link");
                link.rel = "stylesheet";
                link.href = url;
                document.head.appendChild(link);
            });
            js.reduce(function (loaded, url) {
                return loaded.then(function () { return load(url); });
            }, Promise.resolve()).then(build, function (error) {
                console.error("A map layer's script did not load", error);
            });
        });
    };
}
"""


class _LazyEnd(MacroElement):
    """Closes the function a hidden :class:`LazyFeatureGroup` opened (its last child)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        });
        {% endmacro %}
    """)

    def __init__(self):
        super().__init__()
        self._name = "LazyEnd"


class LazyFeatureGroup(folium.FeatureGroup):
    """A ``folium.FeatureGroup`` built in the browser when first switched on, if hidden at the
    start (``show=False``); see the module docstring. Takes FeatureGroup's arguments."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.featureGroup(
                {{ this.options|tojavascript }}
            );
            {%- if this.deferred %}
            {{ this.loader_js }}
            window.wyLazyLayer({{ this.get_name() }}, {{ this.deferred_js|tojson }},
                               {{ this.deferred_css|tojson }}, function () {
            {%- endif %}
        {% endmacro %}
    """)

    #: One line per statement, without the indentation (it is sent with every hidden group).
    loader_js = "\n".join(line.strip() for line in LAZY_LOADER_JS.strip().splitlines())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._name = "FeatureGroup"   # the same variable names as a FeatureGroup's

    @property
    def deferred(self) -> bool:
        """Whether the browser builds this group only when it is first switched on."""
        return not self.show

    @property
    def deferred_js(self) -> list[str]:
        return _links(self, "default_js")

    @property
    def deferred_css(self) -> list[str]:
        return _links(self, "default_css")

    def render(self, **kwargs):
        self._children.pop(self.get_name() + "_lazy_end", None)   # a map rendered again
        if self.deferred:   # after every child: their scripts are the function's body
            self.add_child(_LazyEnd(), name=self.get_name() + "_lazy_end")
        super().render(**kwargs)


def lazy_group(group: folium.FeatureGroup) -> LazyFeatureGroup:
    """``group``'s children (and name, overlay, control and show) in a
    :class:`LazyFeatureGroup`. Consumes ``group``."""
    lazy = LazyFeatureGroup(name=group.layer_name, overlay=group.overlay, control=group.control,
                            show=group.show, **group.options)
    children = _children_of(group)
    for name, child in list(children.items()):
        lazy.add_child(child, name=name)
    children.clear()
    return lazy


def _children_of(element) -> dict:
    """branca keeps an element's children in ``_children``, with no public accessor."""
    return getattr(element, "_children", {})


def _descendants(element):
    for child in _children_of(element).values():
        yield child
        yield from _descendants(child)


def _links(group, attribute: str) -> list[str]:
    links = [url for element in _descendants(group) if isinstance(element, JSCSSMixin)
             for _name, url in getattr(element, attribute, ())]
    return list(dict.fromkeys(links))
