"""The ambient sound mix each student keeps: a volume 0–100 per generated sound and whether
the sound fades out during breaks.

The sound itself is generated in the browser (``assets/ambient.js``, Web Audio, no audio
files); the server only remembers the mix per user. Volumes must be whole numbers from 0 to
100 (an integer, or the digits a range input sends): anything else is refused with a clear
message and the stored mix stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from sessions_app.models import AmbientMix, User
from sessions_app.services.errors import ServiceError

SOUNDS = ("rain", "cafe", "fire", "brown")
SOUND_LABELS = {"rain": "Rain", "cafe": "Café murmur", "fire": "Fire crackle", "brown": "Brown noise"}
BAD_VOLUME = "A volume is a whole number from 0 to 100."


@dataclass(frozen=True)
class Mix:
    """A student's mix (the defaults until they change something)."""

    rain: int = AmbientMix.model_fields["rain"].default
    cafe: int = AmbientMix.model_fields["cafe"].default
    fire: int = AmbientMix.model_fields["fire"].default
    brown: int = AmbientMix.model_fields["brown"].default
    fade_in_breaks: bool = AmbientMix.model_fields["fade_in_breaks"].default


def clean_volume(value: object) -> int:
    """A volume as stored: an int (not a bool), a whole float (a range input's on_change sends
    the slider's value as a number) or a string of at most three digits, 0–100."""
    if isinstance(value, bool):
        raise ServiceError(BAD_VOLUME)
    if isinstance(value, float):
        if not value.is_integer():  # 3.5, nan and inf alike
            raise ServiceError(BAD_VOLUME)
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 3):
            raise ServiceError(BAD_VOLUME)
        value = int(text)
    if not isinstance(value, int) or not 0 <= value <= 100:
        raise ServiceError(BAD_VOLUME)
    return value


def _mix(row: AmbientMix | None) -> Mix:
    if row is None:
        return Mix()
    return Mix(row.rain, row.cafe, row.fire, row.brown, row.fade_in_breaks)


def get_mix(db: Session, *, user_id: int) -> Mix:
    """The user's mix (defaults if they never changed it)."""
    return _mix(db.get(AmbientMix, user_id))


def _row(db: Session, user_id: int | None) -> AmbientMix:
    if not user_id or db.get(User, user_id) is None:
        raise ServiceError("Log in first.")
    return db.get(AmbientMix, user_id) or AmbientMix(user_id=user_id)


def set_volume(db: Session, *, user_id: int | None, sound: object, volume: object) -> Mix:
    """Set one sound's volume in the caller's mix; returns the whole mix."""
    if sound not in SOUNDS:
        raise ServiceError("There is no such sound.")
    level = clean_volume(volume)
    row = _row(db, user_id)
    setattr(row, str(sound), level)
    db.add(row)
    db.flush()
    return _mix(row)


def set_fade(db: Session, *, user_id: int | None, on: object) -> Mix:
    """Whether the caller's sound fades out during breaks (a real boolean only)."""
    if not isinstance(on, bool):
        raise ServiceError("Choose on or off.")
    row = _row(db, user_id)
    row.fade_in_breaks = on
    db.add(row)
    db.flush()
    return _mix(row)
