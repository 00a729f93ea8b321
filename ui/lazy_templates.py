"""Page templates made at import (folium's, branca's, ``maps``') compiled when first used.

Folium and branca give each element class its Jinja template as a class attribute,
``_template = Template("...")``, and Jinja compiles a template when it is made: importing
folium with its plugins (``streamlit_folium`` imports them all) compiles 90 templates, 0.24 s
of the warm-up's first stage's ~1.6 s of CPU, which the first page run waits for
(docs/benchmarks.md, "sixth round"). The first Explore map uses 18 of them. Within
:func:`templates_compiled_when_used` a template made is a :class:`LazyTemplate`, compiled from
the same source, by the same template class and options, the first time anything of it is used
(``render``, ``module``...): what it renders is the same. This module imports only the
standard library at its top.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class LazyTemplate:
    """A Jinja ``Template`` compiled on first use: every attribute is the compiled template's."""

    __slots__ = ("_make", "_template", "_lock")

    def __init__(self, make: Callable[[], object]):
        self._make = make
        self._template = None
        self._lock = threading.Lock()

    @property
    def is_compiled(self) -> bool:
        return self._template is not None

    def compiled(self):
        """The template, compiled now if it was not yet (once, whichever thread asks first)."""
        if self._template is None:
            with self._lock:
                if self._template is None:
                    self._template = self._make()
        return self._template

    def __getattr__(self, name: str):
        if name in LazyTemplate.__slots__:   # an instance made without __init__ (a copy)
            raise AttributeError(name)
        return getattr(self.compiled(), name)


@contextmanager
def templates_compiled_when_used() -> Iterator[None]:
    """Within this block, ``jinja2.Template(source, ...)`` (and its subclasses', e.g.
    ``folium.template.Template``) gives a :class:`LazyTemplate` of it.

    Meant around imports (the warm-up's first stage, ``ui.serve``). A template another thread
    makes meanwhile is lazy too, which changes nothing it renders."""
    import jinja2

    real_new = vars(jinja2.Template)["__new__"]
    make = real_new.__func__ if isinstance(real_new, staticmethod) else real_new

    def lazy_new(cls, source, *args, **kwargs):
        return LazyTemplate(lambda: make(cls, source, *args, **kwargs))

    jinja2.Template.__new__ = staticmethod(lazy_new)
    try:
        yield
    finally:
        jinja2.Template.__new__ = real_new
