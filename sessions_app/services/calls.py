"""Audio/video calls in live rooms and scheduled sessions: the domain rules.

Media flows browser to browser (a WebRTC mesh) or through an SFU; the app server only relays
*signalling* (SDP offers/answers, ICE candidates) and the roster, and only between members of
the same call. Every rule is checked here from the server-side user:

- who may join: present members of an open room; participants (and the creator) of a
  scheduled session while its chat is open (from 15 minutes before the start to the end);
- one tab per user in a call (a second tab takes over; the first is told it left);
- a user the host removed cannot join that call again;
- a signal goes from a member's own call tab to another member of the same call, nowhere
  else, and carries only the fields WebRTC needs (sizes capped);
- the host (the room's host, the session's creator) may ask a member to mute, remove a
  member, and set "cameras on during focus" (a reminder, never enforced).

Docs: docs/calls.md.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import time
from datetime import datetime

from sqlmodel import Session, col, select

from sessions_app.db import elevated
from sessions_app.models import CallMember, CallOption, Room, StudySession, User, utcnow
from sessions_app.services import rooms, scheduled
from sessions_app.services.errors import ServiceError
from sessions_app.services.sfu import SfuRoom

KINDS = ("room", "session")
SIGNAL_KINDS = ("offer", "answer", "ice")
MAX_SDP = 24_000
MAX_CANDIDATE = 1_000


@dataclasses.dataclass(frozen=True)
class CallRef:
    """Which call: a room or a scheduled session."""

    kind: str
    ref_id: int

    @property
    def key(self) -> str:
        """The call's key in the database (``room:42``)."""
        return f"{self.kind}:{self.ref_id}"


@dataclasses.dataclass(frozen=True)
class Access:
    """What the viewer may do with a call now."""

    may_join: bool
    is_host: bool
    host_id: int


@dataclasses.dataclass
class Peer:
    """A call member as the other members see them (public fields only)."""

    user_id: int
    name: str
    avatar_url: str


@dataclasses.dataclass(frozen=True)
class JoinResult:
    """After a join: who is in the call, and the older tab of the same user it replaced."""

    peers: list[Peer]
    replaced_sid: str


def parse_ref(kind: object, ref_id: object) -> CallRef:
    """A call reference from untrusted input, or a clear refusal."""
    if kind not in KINDS:
        raise ServiceError("There is no such call.")
    try:
        rid = int(ref_id)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ServiceError("There is no such call.") from None
    if rid <= 0 or rid > 2**31:
        raise ServiceError("There is no such call.")
    return CallRef(str(kind), rid)


def access(db: Session, ref: CallRef, user_id: int | None, now: datetime | None = None) -> Access:
    """May ``user_id`` be in this call now, and are they its host? (Never raises for a
    missing room/session: the answer is simply no.)"""
    if user_id is None:
        return Access(False, False, 0)
    if ref.kind == "room":
        room = db.get(Room, ref.ref_id)
        if room is None or not room.is_open:
            return Access(False, False, 0)
        host = room.host_id or 0
        return Access(rooms.is_member(db, room.id, user_id), host == user_id, host)
    try:
        chat = scheduled.chat_access(db, session_id=ref.ref_id, user_id=user_id, now=now)
    except ServiceError:
        return Access(False, False, 0)
    session = db.get(StudySession, ref.ref_id)
    if session is None:
        return Access(False, False, 0)
    return Access(chat.can_write, chat.can_write and session.creator_id == user_id, session.creator_id)


def host_of(db: Session, ref: CallRef) -> int:
    """The call's host: the room's host, the session's creator (0: none)."""
    if ref.kind == "room":
        room = db.get(Room, ref.ref_id)
        return (room.host_id or 0) if room else 0
    session = db.get(StudySession, ref.ref_id)
    return session.creator_id if session else 0


def _row(db: Session, ref: CallRef, user_id: int) -> CallMember | None:
    return db.exec(select(CallMember).where(CallMember.call == ref.key, CallMember.user_id == user_id)).first()


def peers(db: Session, ref: CallRef) -> list[Peer]:
    """Who is in the call, earliest first."""
    rows = db.exec(
        select(CallMember, User).join(User, User.id == CallMember.user_id)
        .where(CallMember.call == ref.key, col(CallMember.removed).is_(False))
        .order_by(CallMember.joined_at, CallMember.id)
    ).all()
    return [Peer(u.id, u.display_name, u.avatar_url or "") for _, u in rows]


def join(db: Session, ref: CallRef, *, user_id: int, sid: str, token: str, max_size: int) -> JoinResult:
    """Enter the call from the tab with socket ``sid`` (commits)."""
    if not access(db, ref, user_id).may_join:
        raise ServiceError("Only people in this room or session can join its call.")
    row = _row(db, ref, user_id)
    if row is not None and row.removed:
        raise ServiceError("The host removed you from this call.")
    if row is None and len(peers(db, ref)) >= max_size:
        raise ServiceError(f"This call is full ({max_size} people).")
    replaced = row.sid if row is not None and row.sid != sid else ""
    if row is None:
        row = CallMember(call=ref.key, user_id=user_id)
    row.sid, row.token, row.joined_at = sid[:64], token[:64], utcnow()
    db.add(row)
    db.commit()
    return JoinResult(peers(db, ref), replaced)


def leave(db: Session, ref: CallRef, *, user_id: int, sid: str | None = None) -> bool:
    """Leave the call (only from the tab that is in it, when ``sid`` is given). Returns
    whether the user left. A removed user's row stays (they may not come back)."""
    row = _row(db, ref, user_id)
    if row is None or row.removed or (sid is not None and row.sid != sid):
        return False
    db.delete(row)
    db.commit()
    return True


def leave_tab(db: Session, token: str) -> list[tuple[CallRef, int, str]]:
    """A tab is gone: it leaves every call it was in. Returns (call, user, Janus token) of
    each departure."""
    left = []
    for row in db.exec(select(CallMember).where(CallMember.token == token, col(CallMember.removed).is_(False))).all():
        kind, _, rid = row.call.partition(":")
        left.append((CallRef(kind, int(rid)), row.user_id, row.sfu_token))
        db.delete(row)
    db.commit()
    return left


def drop_unauthorized(db: Session, ref: CallRef) -> list[tuple[int, str]]:
    """Members whose right ended (left the room, left the session, chat closed) leave the
    call. Returns their (user id, socket id)."""
    gone = []
    for row in db.exec(select(CallMember).where(CallMember.call == ref.key, col(CallMember.removed).is_(False))).all():
        if not access(db, ref, row.user_id).may_join:
            gone.append((row.user_id, row.sid))
            db.delete(row)
    db.commit()
    return gone


def rebind(db: Session, ref: CallRef, *, user_id: int, token: str, sid: str) -> bool:
    """The same tab reconnected (a new socket, same client token): its row follows the new
    socket (commits). Returns whether it moved."""
    row = _row(db, ref, user_id)
    if row is None or row.removed or not token or row.token != token or row.sid == sid:
        return False
    row.sid = sid[:64]
    db.add(row)
    db.commit()
    return True


def member_sid(db: Session, ref: CallRef, user_id: int) -> str:
    """The socket of ``user_id``'s call tab ("" if they are not in the call)."""
    row = _row(db, ref, user_id)
    return row.sid if row is not None and not row.removed else ""


def check_sender(db: Session, ref: CallRef, *, user_id: int | None, sid: str) -> None:
    """The caller is in this call, from this very tab, and still holds the right to be."""
    if user_id is None or not sid or member_sid(db, ref, user_id) != sid:
        raise ServiceError("You are not in this call.")
    if not access(db, ref, user_id).may_join:
        raise ServiceError("You are not in this call.")


def route_signal(db: Session, ref: CallRef, *, user_id: int | None, sid: str, to_user: object) -> str:
    """Where a signal from the caller to ``to_user`` goes: that member's call tab. Refused
    unless both are in the same call (and the caller sends from their call tab)."""
    check_sender(db, ref, user_id=user_id, sid=sid)
    try:
        target = int(to_user)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ServiceError("That person is not in this call.") from None
    target_sid = member_sid(db, ref, target) if target != user_id else ""
    if not target_sid:
        raise ServiceError("That person is not in this call.")
    return target_sid


def clean_signal(kind: object, data: object) -> dict:
    """Only the fields WebRTC needs, type- and size-checked (a browser gets nothing else)."""
    if kind not in SIGNAL_KINDS or not isinstance(data, dict):
        raise ServiceError("That is not a call signal.")
    if kind in ("offer", "answer"):
        sdp = data.get("sdp")
        if data.get("type") != kind or not isinstance(sdp, str) or not 0 < len(sdp) <= MAX_SDP:
            raise ServiceError("That is not a call signal.")
        return {"type": kind, "sdp": sdp}
    candidate, mid, index = data.get("candidate"), data.get("sdpMid"), data.get("sdpMLineIndex")
    if not isinstance(candidate, str) or len(candidate) > MAX_CANDIDATE:
        raise ServiceError("That is not a call signal.")
    if mid is not None and (not isinstance(mid, str) or len(mid) > 64):
        raise ServiceError("That is not a call signal.")
    if index is not None and (not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 64):
        raise ServiceError("That is not a call signal.")
    return {"candidate": candidate, "sdpMid": mid, "sdpMLineIndex": index}


def _host_target(db: Session, ref: CallRef, *, host_id: int | None, target: object) -> CallMember:
    if host_id is None or not access(db, ref, host_id).is_host:
        raise ServiceError("Only the host can do that.")
    try:
        target_id = int(target)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ServiceError("That person is not in this call.") from None
    row = _row(db, ref, target_id)
    if row is None or row.removed or target_id == host_id:
        raise ServiceError("That person is not in this call.")
    return row


def host_mute(db: Session, ref: CallRef, *, host_id: int | None, target: object) -> str:
    """The host asks a member to mute: returns the socket to ask (their client mutes)."""
    return _host_target(db, ref, host_id=host_id, target=target).sid


@dataclasses.dataclass(frozen=True)
class MuteAsk:
    """Whom the host's "mute" goes to (their socket) and the host's name shown with it."""

    sid: str
    by: str


def ask_to_mute(db: Session, ref: CallRef, *, host_id: int | None, target: object) -> MuteAsk:
    """``host_mute`` with the host's display name for the asked member's notice."""
    sid = host_mute(db, ref, host_id=host_id, target=target)
    host = db.get(User, host_id)
    return MuteAsk(sid, host.display_name if host else "The host")


def host_remove(db: Session, ref: CallRef, *, host_id: int | None, target: object) -> tuple[int, str]:
    """The host removes a member from the call for good (commits). Returns (user id, the
    socket that was in the call)."""
    row = _host_target(db, ref, host_id=host_id, target=target)
    sid, row.removed, row.sid, row.token = row.sid, True, "", ""
    db.add(row)
    db.commit()
    return row.user_id, sid


def cameras_on_focus(db: Session, ref: CallRef) -> bool:
    """Whether the room's host asks for cameras on during focus blocks."""
    option = db.get(CallOption, ref.key)
    return bool(option and option.cameras_on_focus)


def set_cameras_on_focus(db: Session, ref: CallRef, *, host_id: int | None, on: bool) -> None:
    """The host sets the "cameras on during focus" reminder (rooms only; commits)."""
    if ref.kind != "room" or host_id is None or not access(db, ref, host_id).is_host:
        raise ServiceError("Only the room's host can change that.")
    option = db.get(CallOption, ref.key) or CallOption(call=ref.key)
    option.cameras_on_focus = bool(on)
    db.add(option)
    db.commit()


# --- the SFU's part of a call (services.sfu talks to Janus; these keep its state) ----------------


def sfu_room(db: Session, ref: CallRef) -> SfuRoom | None:
    """The call's VideoRoom while it goes through the SFU (None: a peer-to-peer mesh)."""
    option = db.get(CallOption, ref.key)
    if option is None or option.sfu_room is None:
        return None
    return SfuRoom(option.sfu_room, option.sfu_secret, option.sfu_pin)


def set_sfu_room(db: Session, ref: CallRef, room: SfuRoom | None) -> None:
    """The call goes through ``room`` from now on (None: back to the mesh; commits)."""
    option = db.get(CallOption, ref.key) or CallOption(call=ref.key)
    option.sfu_room = room.room if room else None
    option.sfu_secret, option.sfu_pin = (room.secret, room.pin) if room else ("", "")
    db.add(option)
    db.commit()


def sfu_members(db: Session, ref: CallRef) -> list[tuple[int, str, str]]:
    """(user id, socket, Janus token) of everyone in the call."""
    rows = db.exec(select(CallMember).where(CallMember.call == ref.key, col(CallMember.removed).is_(False))).all()
    return [(r.user_id, r.sid, r.sfu_token) for r in rows]


def set_sfu_token(db: Session, ref: CallRef, user_id: int, token: str) -> None:
    """Remember the member's Janus token (to remove it when they leave; commits).

    The server hands out every member's token when one member's join moves the call to the
    SFU, so the row may be another member's: written as the system (``db.elevated``)."""
    with elevated(db, "a join that moves the call to the SFU gives every member a token"):
        row = _row(db, ref, user_id)
        if row is not None:
            row.sfu_token = token
            db.add(row)
    db.commit()


def sfu_token_of(db: Session, ref: CallRef, user_id: int) -> str:
    """A member's Janus token ("" none)."""
    row = _row(db, ref, user_id)
    return row.sfu_token if row is not None else ""


def ice_servers(*, stun_urls: list[str], turn_urls: list[str], turn_secret: str, ttl_seconds: int,
                user_id: int, now: float | None = None) -> list[dict]:
    """The browser's ``iceServers``: STUN as configured, and TURN with short-lived REST
    credentials (coturn ``use-auth-secret``: user ``<expiry>:<user id>``, password
    base64(HMAC-SHA1(secret, user))) so no long-lived TURN password reaches a browser."""
    servers: list[dict] = []
    if stun_urls:
        servers.append({"urls": list(stun_urls)})
    if turn_urls and turn_secret:
        username = f"{int((now if now is not None else time.time()) + ttl_seconds)}:{user_id}"
        digest = hmac.new(turn_secret.encode(), username.encode(), hashlib.sha1).digest()
        servers.append({"urls": list(turn_urls), "username": username,
                        "credential": base64.b64encode(digest).decode()})
    return servers
