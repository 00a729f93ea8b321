"""Presentation clickers and keyboards drive the meeting page's Previous / Next buttons.

A clicker is a keyboard to the browser: its buttons send →/← (ArrowRight/ArrowLeft),
PageDown/PageUp, and some Space. :func:`bind_meeting_keys` puts a small script of ours on the
page (``st.html`` with JavaScript allowed: no frame, nothing visible, nothing fetched; the
deprecated ``components.html`` frame would do the same from its parent) that listens for those
keys on the dashboard's document and clicks the matching button:

- ArrowRight, PageDown, Space: **Next**; ArrowLeft, PageUp (and Shift+Space): **Previous**;
- nothing happens while someone types or picks in a field (input, text area, select, a
  combobox such as the period picker, anything editable), with Ctrl, Alt or Meta held, or when
  the button is disabled (first and last step); Space on a focused button or link is left to it;
- the key is handled only while the meeting page is shown: the listener finds the buttons by
  their keys (``st-key-meeting_next``/``st-key-meeting_previous``), and each run of the page
  replaces the listener of the run before, so there is never more than one.
"""
from __future__ import annotations

import json

import streamlit as st

NEXT_KEYS = ("ArrowRight", "PageDown", " ")
PREVIOUS_KEYS = ("ArrowLeft", "PageUp")

_SCRIPT = """<script>
(function () {
  const host = window.parent;  // the page itself, or its parent from inside a frame
  const doc = host.document;
  const keys = %(keys)s;
  if (host.__meetingKeys) { doc.removeEventListener("keydown", host.__meetingKeys, true); }
  function typing(target) {
    if (!target || !target.closest) { return false; }
    return Boolean(target.isContentEditable || target.closest(
      "input, textarea, select, [contenteditable=''], [contenteditable='true'], " +
      "[role='combobox'], [role='listbox'], [role='textbox'], [role='spinbutton']"));
  }
  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) { return; }
    let which = keys[event.key];
    if (!which || typing(event.target)) { return; }
    if (event.key === " ") {
      if (event.target.closest && event.target.closest("button, a, [role='button']")) { return; }
      if (event.shiftKey) { which = "previous"; }
    }
    const button = doc.querySelector(".st-key-meeting_" + which + " button");
    if (!button) { return; }  // not on the meeting page
    event.preventDefault();
    if (!button.disabled) { button.click(); }
  }
  host.__meetingKeys = onKey;
  doc.addEventListener("keydown", onKey, true);
})();
</script>"""


def script() -> str:
    """The listener's HTML (a ``<script>``), with the key map."""
    keys = {**{k: "next" for k in NEXT_KEYS}, **{k: "previous" for k in PREVIOUS_KEYS}}
    return _SCRIPT % {"keys": json.dumps(keys)}


def bind_meeting_keys() -> None:
    """Put the listener on the page (no visible element). Call once per run of the meeting page,
    which names its buttons ``meeting_previous`` and ``meeting_next``."""
    st.html(script(), unsafe_allow_javascript=True)
