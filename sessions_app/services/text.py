"""The one rule for text that users type: every service cleans user strings with ``clean``.

Chat messages, task texts, room names, display names, session titles, descriptions, links and
notes all pass through the same function, so one field can never accept what another refuses
(a room name with a right-to-left override that chat would have refused, say). The rule:

* Only ``str`` is text. ``None`` counts as empty; anything else (numbers, lists, dicts a
  crafted event may carry) is refused with a message, never coerced.
* Refused outright, with a message naming the field: lone surrogates (they cannot be stored
  as UTF-8, so the database write would raise), control characters (C0/C1, e.g. NUL, ESC),
  bidirectional embeddings/overrides/isolates (they make text display differently from what it
  says: ``U+202A``–``U+202E``, ``U+2066``–``U+2069``) and Unicode noncharacters. Zero-width
  joiners, variation selectors and other format characters that emoji and many scripts need
  stay allowed.
* Line endings become ``\\n`` (``\\r\\n``, ``\\r``, ``U+2028``, ``U+2029``). A single-line
  field turns every run of whitespace (newlines and tabs included) into one space; a
  multi-line field keeps newlines and tabs.
* NFC normalisation (so "é" typed two ways is stored one way), then trimming, then the
  length cap (counted in characters after normalisation, so the cap is what gets stored).
  A required field needs one visible character (zero-width characters alone are empty).

Anything refused raises ``ServiceError`` with a message a student can act on; nothing here
raises anything else, whatever it is given.
"""

from __future__ import annotations

import re
import unicodedata

from sessions_app.services.errors import ServiceError

# Embeddings, overrides (LRE RLE PDF LRO RLO) and isolates (LRI RLI FSI PDI).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = {"\r\n": "\n", "\r": "\n", "\u2028": "\n", "\u2029": "\n"}


# ``refused_char`` as one character class (``_REFUSED_MULTILINE``; single-line fields also
# refuse tab and newline): control characters (Unicode's Cc, all of it: C0, DEL, C1), lone
# surrogates, the bidirectional controls and the 66 noncharacters. A regex scans a message in
# C; the per-character function costs microseconds per character on every chat post.
# ``tests/unit/test_text_scan.py`` checks the class against ``refused_char`` for every code point.
_NONCHARACTERS = "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17))
_REFUSED_CLASS = ("\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\ufdd0-\ufdef"
                  + re.escape(_NONCHARACTERS))
_REFUSED_MULTILINE = re.compile(f"[{_REFUSED_CLASS}]")
_REFUSED_SINGLE_LINE = re.compile(f"[\t\n{_REFUSED_CLASS}]")


def has_refused(text: str, *, multiline: bool) -> bool:
    """Whether any character of ``text`` is one ``refused_char`` refuses (fast)."""
    return (_REFUSED_MULTILINE if multiline else _REFUSED_SINGLE_LINE).search(text) is not None


def is_noncharacter(ch: str) -> bool:
    """Unicode's 66 noncharacters (``U+FDD0``–``U+FDEF`` and every ``U+xxFFFE``/``U+xxFFFF``)."""
    cp = ord(ch)
    return 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE


def refused_char(ch: str, *, multiline: bool) -> bool:
    """Whether ``ch`` may not appear in stored text (``\\n`` and ``\\t`` only in multi-line)."""
    if ch in "\n\t":
        return False
    cp = ord(ch)
    if 0xD800 <= cp <= 0xDFFF:  # a lone surrogate (a valid pair is one character in Python)
        return True
    return unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS or is_noncharacter(ch)


def _visible(ch: str) -> bool:
    """A character that shows something: not a separator, mark or invisible format character
    (a name made only of zero-width spaces would look empty)."""
    category = unicodedata.category(ch)
    return category[0] not in "ZMC" or category == "Co"


def is_clean(text: str, *, multiline: bool = False) -> bool:
    """Whether already stored text obeys the rule (used by tests and as an invariant)."""
    return isinstance(text, str) and not has_refused(text, multiline=multiline)


def clean(
    value: object,
    *,
    label: str,
    max_len: int,
    field: str | None = None,
    required: bool = True,
    multiline: bool = False,
    empty_message: str | None = None,
) -> str:
    """Clean one user string, or refuse it with a ``ServiceError`` that names the field.

    Args:
        value: What the browser (or a crafted event) sent.
        label: The field's name in messages, capitalised ("Room name").
        max_len: At most this many characters are stored (after normalisation and trimming).
        field: The form field a refusal points at (``ServiceError.field``).
        required: Refuse empty text (after trimming). If False, empty gives ``""``.
        multiline: Keep newlines and tabs (chat, descriptions, notes); otherwise whitespace
            runs become single spaces.
        empty_message: The refusal for empty text (default "Enter a <label>.").

    Returns:
        The text to store: NFC, trimmed, within ``max_len``, free of refused characters.
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ServiceError(f"{label} must be text.", field=field)
    # Refuse before any processing: a lone surrogate can make later steps (and the DB) raise.
    for old, new in _LINE_BREAKS.items():
        value = value.replace(old, new)
    if has_refused(value, multiline=True):
        raise ServiceError(f"{label} contains characters that cannot be shown.", field=field)
    text = unicodedata.normalize("NFC", value)
    text = text.strip() if multiline else " ".join(text.split())
    # Normalisation cannot add refused characters, but a non-multiline field must not keep
    # a tab or newline: checked again on the final text so the invariant is explicit.
    if not is_clean(text, multiline=multiline):
        raise ServiceError(f"{label} contains characters that cannot be shown.", field=field)
    if not text or (required and not any(_visible(c) for c in text)):
        if required:
            raise ServiceError(empty_message or f"Enter a {label.lower()}.", field=field)
        return ""
    if len(text) > max_len:
        raise ServiceError(f"{label} is too long: at most {max_len} characters.", field=field)
    return text


def encodable(value: str) -> bool:
    """Whether ``value`` can be encoded as UTF-8 (no lone surrogates): for secrets such as
    passwords, which are never shown and so need only this much."""
    return not any(0xD800 <= ord(c) <= 0xDFFF for c in value)


MAX_ID = 2**63 - 1  # the largest id a database integer column holds


def parse_id(raw: object) -> int:
    """A row id a browser sent: a positive ``int`` (not a bool) or ASCII digits, within what
    the database can hold; 0 for anything else (then no row matches). Never raises:
    ``int(inf)``, ``int("²")`` or an id past 64 bits would."""
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw <= MAX_ID:
        return 0
    return raw


def draft(value: object, max_len: int) -> str:
    """What a half-typed field may hold in a state var before it is validated: text, capped,
    lone surrogates replaced by U+FFFD. A var holding a lone surrogate could not be sent back
    to the browser as UTF-8 (the whole update would be lost and the form would stay busy)."""
    if not isinstance(value, str):
        value = "" if value is None else str(value)
    value = value[:max_len]
    return value if encodable(value) else "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
