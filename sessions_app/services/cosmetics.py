"""Cosmetics earned by level: neon name colours, animated avatar borders, room backgrounds.

Each cosmetic unlocks at a level (``progression.level_for`` of the student's EXP). A student
chooses a name colour and an avatar border for themselves; the host of a room chooses its
background, from the backgrounds *their* level unlocks. Everything is decided here from the
database: a locked, unknown or malformed choice is refused with a clear message and changes
nothing, and a non-host cannot set a room's background.

What is shown is re-checked against the level at display time (``shown``), so a choice never
outlives the level that allowed it. Keys travel to browsers, which style them with
``assets/cosmetics.css`` (``[data-cosmetic]`` selectors); nothing here is free text.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from sessions_app.models import Room, RoomMember, User
from sessions_app.services import progression
from sessions_app.services.errors import ServiceError

NAME_COLOR, BORDER, BACKGROUND = "name_color", "border", "background"


@dataclass(frozen=True)
class Cosmetic:
    """One cosmetic: its key (sent to browsers), what students read, the level it needs."""

    key: str
    label: str
    level: int


# The catalogue. Levels follow the EXP curve (level 2: 350 EXP, about two full blocks;
# level 5: 3,850; level 8: 31,850), so the rarest take months of real focus.
CATALOGUE: dict[str, tuple[Cosmetic, ...]] = {
    NAME_COLOR: (
        Cosmetic("neon-cyan", "Neon cyan", 1),
        Cosmetic("neon-pink", "Neon pink", 2),
        Cosmetic("neon-lime", "Neon lime", 3),
        Cosmetic("solar-gold", "Solar gold", 5),
        Cosmetic("aurora", "Aurora (animated)", 7),
    ),
    BORDER: (
        Cosmetic("glow", "Soft glow", 2),
        Cosmetic("pulse", "Pulse (animated)", 4),
        Cosmetic("rainbow", "Rainbow ring (animated)", 6),
    ),
    BACKGROUND: (
        Cosmetic("dusk", "Dusk", 1),
        Cosmetic("forest", "Forest", 3),
        Cosmetic("ocean", "Deep ocean", 4),
        Cosmetic("nebula", "Nebula (animated)", 6),
    ),
}
KIND_LABELS = {NAME_COLOR: "name colour", BORDER: "avatar border", BACKGROUND: "room background"}


@dataclass(frozen=True)
class Option:
    """A cosmetic as a chooser shows it: locked ones are visible with the level they need."""

    key: str
    label: str
    level: int
    locked: bool


@dataclass(frozen=True)
class Looks:
    """What others see of a student's cosmetics (keys, "" for none)."""

    name_color: str = ""
    border: str = ""


@dataclass(frozen=True)
class Wardrobe:
    """A student's own cosmetics as their choosers show them: their level (what it unlocks)
    and their choices as others see them."""

    level: int = 0
    looks: Looks = Looks()


def _find(kind: str, key: str) -> Cosmetic | None:
    return next((c for c in CATALOGUE.get(kind, ()) if c.key == key), None)


def options(kind: str, level: int) -> list[Option]:
    """Every cosmetic of ``kind`` (plus "none" first), locked above ``level``."""
    none = Option("", "None", 0, False)
    return [none, *(Option(c.key, c.label, c.level, c.level > level) for c in CATALOGUE[kind])]


def check(kind: str, key: object, level: int) -> str:
    """The key to store for a choice, or a ServiceError: unknown kinds, keys that are not a
    cosmetic of that kind (anything not a string too) and cosmetics above ``level`` are
    refused. "" (none) is always allowed."""
    if kind not in CATALOGUE:
        raise ServiceError("Unknown kind of cosmetic.")
    if not isinstance(key, str):
        raise ServiceError(f"Choose a {KIND_LABELS[kind]} from the list.")
    if key == "":
        return ""
    cosmetic = _find(kind, key)
    if cosmetic is None:
        raise ServiceError(f"There is no such {KIND_LABELS[kind]}.")
    if cosmetic.level > level:
        raise ServiceError(f"{cosmetic.label} unlocks at level {cosmetic.level}; you are level {level}.")
    return cosmetic.key


def shown(kind: str, key: str | None, level: int) -> str:
    """The key to display: the stored choice if it is (still) a cosmetic unlocked at ``level``."""
    cosmetic = _find(kind, key or "")
    return cosmetic.key if cosmetic is not None and cosmetic.level <= level else ""


def looks(user: User) -> Looks:
    """The cosmetics others see next to ``user`` (checked against their level now)."""
    return looks_at(progression.level_for(user.exp_total), user.name_color, user.avatar_border)


def looks_at(level: int, name_color: str | None, border: str | None) -> Looks:
    """``looks`` from a user's level and stored choices (a read of a few columns)."""
    return Looks(shown(NAME_COLOR, name_color, level), shown(BORDER, border, level))


def wardrobe(db: Session, *, user_id: int | None) -> Wardrobe:
    """The user's level and looks (nothing unlocked for an unknown user)."""
    user = db.get(User, user_id) if user_id else None
    if user is None:
        return Wardrobe()
    return Wardrobe(progression.level_for(user.exp_total), looks(user))


def choose(db: Session, *, user_id: int | None, kind: str, key: object) -> Looks:
    """Set the caller's own name colour or avatar border; returns what others now see."""
    user = db.get(User, user_id) if user_id else None
    if user is None:
        raise ServiceError("Log in first.")
    if kind not in (NAME_COLOR, BORDER):
        raise ServiceError("Unknown kind of cosmetic.")
    value = check(kind, key, progression.level_for(user.exp_total))
    if kind == NAME_COLOR:
        user.name_color = value
    else:
        user.avatar_border = value
    db.add(user)
    db.flush()
    return looks(user)


def room_background(room: Room) -> str:
    """The background a room shows: its stored key if it is one (the host's level was
    checked when it was chosen; a later host keeps the room as it is)."""
    return room.background if _find(BACKGROUND, room.background or "") is not None else ""


def _present(db: Session, room_id: int, user_id: int) -> bool:
    # The same rule as ``rooms.is_member`` (an open stint); rooms imports this module.
    stint = select(RoomMember.id).where(RoomMember.room_id == room_id, RoomMember.user_id == user_id,
                                        col(RoomMember.left_at).is_(None))
    return db.exec(stint).first() is not None


def set_room_background(db: Session, *, room_id: int, user_id: int | None, key: object) -> str:
    """The host (present, of an open room) sets its background from what their level unlocks.
    Returns the background the room now shows."""
    room = db.get(Room, room_id) if room_id else None
    user = db.get(User, user_id) if user_id else None
    if room is None or not room.is_open or user is None or not _present(db, room.id, user.id):
        raise ServiceError("Join the room first.")
    if room.host_id != user.id:
        raise ServiceError("Only the host can change the room's background.")
    room.background = check(BACKGROUND, key, progression.level_for(user.exp_total))
    db.add(room)
    db.flush()
    return room_background(room)
