"""A chat message's text: the body rule, and its split into plain runs and links.

``segments`` splits a body into plain runs and http(s) links so the UI renders links as
links and everything else as text nodes: no HTML or markdown is ever interpreted, whatever a
message contains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sessions_app.services import text

MAX_BODY = 2000
_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


@dataclass(frozen=True)
class Segment:
    """A run of a message: plain text, or an http(s) link (``text`` is also the URL)."""

    text: str
    link: bool


def clean_body(raw: object) -> str:
    """Validate a message with the one text rule (``text.clean``, multi-line): 1–2000
    characters, no control or direction-changing characters. Returns the text to store."""
    body = text.clean(raw, label="Message", max_len=MAX_BODY, field="body", multiline=True,
                      empty_message="Write a message first.")
    # No wall of empty lines: at most one blank line in a row.
    return re.sub(r"\n{3,}", "\n\n", body)


def segments(text: str) -> list[Segment]:
    """Split ``text`` into plain runs and http(s) links, in order; joining them gives ``text``
    back. Only ``http://`` and ``https://`` URLs become links (never ``javascript:`` etc.);
    trailing punctuation stays outside the link."""
    out: list[Segment] = []
    pos = 0
    for match in _URL.finditer(text):
        url = match.group(0)
        # A closing bracket that belongs to the URL (Wikipedia links) stays in.
        while url and url[-1] in _TRAILING and not (url[-1] == ")" and url.count("(") >= url.count(")")):
            url = url[:-1]
        if len(url) <= len(url.split("://", 1)[0]) + 3:  # nothing after the scheme
            continue
        start, end = match.start(), match.start() + len(url)
        if start > pos:
            out.append(Segment(text[pos:start], False))
        out.append(Segment(url, True))
        pos = end
    if pos < len(text):
        out.append(Segment(text[pos:], False))
    return out
