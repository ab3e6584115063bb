"""The one text rule's fast scan (``services.text.has_refused``, a regex run on every chat post
and every form field) refuses exactly the characters ``refused_char`` — the rule's definition
— refuses, for every code point, and ``clean`` still keeps or refuses whole texts as before."""

from __future__ import annotations

import pytest

from sessions_app.services import text
from sessions_app.services.errors import ServiceError


def test_the_scan_matches_the_rule_for_every_code_point():
    multi_wrong, single_wrong = [], []
    for cp in range(0x110000):
        ch = chr(cp)
        refused = text.refused_char(ch, multiline=True)
        if text.has_refused(ch, multiline=True) != refused:
            multi_wrong.append(hex(cp))
        # A single-line field also refuses tab and newline (``is_clean``).
        if text.has_refused(ch, multiline=False) != (refused or ch in "\n\t"):
            single_wrong.append(hex(cp))
    assert multi_wrong == [] and single_wrong == []


@pytest.mark.parametrize("value", [
    "hello", "a\u0000b", "tab\there", "line\nbreak", "rtl \u202e override", "isolate \u2068x\u2069",
    "\ufdd0", "end \U0010ffff", "lone \ud800 surrogate", "C1 \u0085 next line", "DEL \u007f",
    "emoji \U0001f600 with ZWJ \u200d", "e\u0301 combining", "  \u200b  ", "\r\nwindows\r\n", "x" * 30,
])
@pytest.mark.parametrize("multiline", [True, False])
def test_clean_keeps_and_refuses_what_the_per_character_rule_did(value, multiline):
    def old_is_clean(t: str) -> bool:  # the rule as it was written before the scan
        return not any(text.refused_char(c, multiline=multiline) for c in t) and (
            multiline or ("\n" not in t and "\t" not in t))

    try:
        got = text.clean(value, label="Message", max_len=20, multiline=multiline)
    except ServiceError as err:
        got = f"refused: {err}"
    if isinstance(got, str) and not got.startswith("refused: "):
        assert old_is_clean(got) and text.is_clean(got, multiline=multiline)
    line_ends = value.replace("\r\n", "\n").replace("\r", "\n")
    if any(text.refused_char(c, multiline=True) for c in line_ends):
        assert got == "refused: Message contains characters that cannot be shown."
