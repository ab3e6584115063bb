"""The room page's features under PostgreSQL's row-level security, each step as its user.

Like ``test_rls_flows.py`` (whose fixtures these reuse): goals for a focus block, reactions,
cosmetics beside chat lines, ambient mixes and calls in a room and in a scheduled session go
through the real services, each transaction stated as the acting user, and still work; what a
stranger (or a member reading another's private rows) gets back is what the policies allow.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from sessions_app.db import as_system, session_scope
from sessions_app.models import BlockGoal, StudySession, User, utcnow
from sessions_app.services import (
    ambient,
    block_goals,
    calls,
    chat,
    cosmetics,
    reactions,
    rooms,
    scheduled,
)
from sessions_app.services.errors import ServiceError
from sessions_app.services.sfu import SfuRoom
from tests.support import postgres
from tests.support.factories import NOW, session_form
from tests.unit.test_rls_flows import _users, engine, pg, tx  # noqa: F401  (the fixtures, the same cluster setup)

pytestmark = [
    pytest.mark.skipif(bool(postgres.missing_reason()), reason=postgres.missing_reason() or "-"),
    pytest.mark.xdist_group("postgres-rls"),
]


def _room_with(engine, host: int, *members: int) -> int:  # noqa: F811
    with tx(engine, host) as db:
        rid = rooms.create_room(db, host_id=host, name="Algebra", discipline="Mathematics", is_private=False,
                                now=NOW).id
    for uid in members:
        with tx(engine, uid) as db:
            rooms.enter(db, room_id=rid, user_id=uid, now=NOW)
    return rid


def test_goals_close_for_every_member_and_stay_private(engine):  # noqa: F811
    ada, bea, cai = _users(engine, "Ada", "Bea", "Cai")
    rid = _room_with(engine, ada, bea)
    with tx(engine, ada) as db:
        block_goals.set_goal(db, room_id=rid, user_id=ada, goal="Prove lemma 3")
    with tx(engine, bea) as db:
        block_goals.set_goal(db, room_id=rid, user_id=bea, goal="Read chapter 5")
    with tx(engine, ada) as db:  # the room sees its members' open goals
        assert [g.text for g in block_goals.room_goals(db, room_id=rid)] == ["Prove lemma 3", "Read chapter 5"]
    with tx(engine, cai) as db:
        assert block_goals.room_goals(db, room_id=rid) == []
        with pytest.raises(ServiceError):
            block_goals.set_goal(db, room_id=rid, user_id=cai, goal="Sneak in")
    # The host's pause after the block ended closes both goals, Bea's in Ada's transaction.
    with tx(engine, ada) as db:
        rooms.control_timer(db, room_id=rid, user_id=ada, action="start", now=NOW)
    with tx(engine, ada) as db:
        rooms.control_timer(db, room_id=rid, user_id=ada, action="pause", now=NOW + timedelta(minutes=26))
        assert block_goals.room_goals(db, room_id=rid) == []
    with tx(engine, bea) as db:
        asked = block_goals.pending(db, user_id=bea, room_id=rid)
        assert (asked.text, asked.minutes) == ("Read chapter 5", 25)
    with tx(engine, ada) as db:
        with pytest.raises(ServiceError):  # Bea's closed goal is not Ada's to answer, nor to see
            block_goals.answer(db, goal_id=asked.id, user_id=ada, outcome="done")
        assert db.get(BlockGoal, asked.id) is None
    with tx(engine, bea) as db:
        block_goals.answer(db, goal_id=asked.id, user_id=bea, outcome="partly")
    with tx(engine, bea) as db:
        assert [(e.text, e.outcome) for e in block_goals.log(db, user_id=bea)] == [("Read chapter 5", "partly")]


def test_reactions_counts_and_cosmetics_beside_chat_lines(engine):  # noqa: F811
    ada, bea, cai = _users(engine, "Ada", "Bea", "Cai")
    with as_system("the test gives Ada EXP for a cosmetic"), session_scope(engine) as db:
        db.get(User, ada).exp_total = 5000
    with tx(engine, ada) as db:
        cosmetics.choose(db, user_id=ada, kind=cosmetics.NAME_COLOR, key="neon-pink")
    rid = _room_with(engine, ada, bea)
    channel = chat.room_channel(rid)
    with tx(engine, ada) as db:
        mid = chat.post_message(db, channel=channel, user_id=ada, body="Starting lemma 3").id
    with tx(engine, bea) as db:
        assert reactions.toggle(db, message_id=mid, user_id=bea, key="thumbs", channel=channel) is True
        # Bea's chat shows Ada's name colour (her public profile).
        assert [m.looks.name_color for m in chat.recent(db, channel, user_id=bea)] == ["neon-pink"]
    with tx(engine, ada) as db:
        reactions.toggle(db, message_id=mid, user_id=ada, key="thumbs", channel=channel)
        assert [(r.key, r.count) for r in reactions.counts(db, [mid])] == [("thumbs", 2)]
        assert reactions.mine(db, user_id=ada, message_ids=[mid]) == [f"{mid}:thumbs"]
    with tx(engine, cai) as db:  # not in the room: no counts, and no reacting
        assert reactions.counts(db, [mid]) == []
        with pytest.raises(ServiceError):
            reactions.toggle(db, message_id=mid, user_id=cai, key="party", channel=channel)
    with tx(engine, bea) as db:
        ambient.set_volume(db, user_id=bea, sound="rain", volume=70)
    with tx(engine, bea) as db:
        assert ambient.get_mix(db, user_id=bea).rain == 70
    with tx(engine, ada) as db:  # someone else's mix reads as the default
        assert ambient.get_mix(db, user_id=bea).rain == ambient.Mix.rain


def test_a_room_call_roster_host_and_sfu(engine):  # noqa: F811
    ada, bea, cai = _users(engine, "Ada", "Bea", "Cai")
    rid = _room_with(engine, ada, bea)
    ref = calls.CallRef("room", rid)
    with tx(engine, bea) as db:
        calls.join(db, ref, user_id=bea, sid="sid-bea", token="tab-bea", max_size=8)
    with tx(engine, ada) as db:
        result = calls.join(db, ref, user_id=ada, sid="sid-ada", token="tab-ada", max_size=8)
        assert [p.user_id for p in result.peers] == [bea, ada]
        calls.set_cameras_on_focus(db, ref, host_id=ada, on=True)
    with tx(engine, bea) as db:
        assert calls.cameras_on_focus(db, ref) is True
        # Bea's join moved the call to the SFU: the server hands every member a token.
        calls.set_sfu_room(db, ref, SfuRoom(1234, "secret", "pin"))
        for user_id, _, _ in calls.sfu_members(db, ref):
            calls.set_sfu_token(db, ref, user_id, f"token-{user_id}")
    with tx(engine, ada) as db:
        assert calls.sfu_token_of(db, ref, ada) == f"token-{ada}"
    with tx(engine, cai) as db:
        assert calls.peers(db, ref) == [] and calls.sfu_room(db, ref) is None
        with pytest.raises(ServiceError):
            calls.join(db, ref, user_id=cai, sid="sid-cai", token="tab-cai", max_size=8)
    with tx(engine, bea) as db, pytest.raises(ServiceError):  # not the host
        calls.host_remove(db, ref, host_id=bea, target=ada)
    with tx(engine, ada) as db:
        assert calls.host_remove(db, ref, host_id=ada, target=bea) == (bea, "sid-bea")
    with tx(engine, bea) as db, pytest.raises(ServiceError, match="removed you"):
        calls.join(db, ref, user_id=bea, sid="sid-bea", token="tab-bea", max_size=8)
    with tx(engine, ada) as db:
        assert calls.leave_tab(db, "tab-ada") == [(ref, ada, f"token-{ada}")]
        calls.set_sfu_room(db, ref, None)


def test_a_session_call_for_its_people(engine):  # noqa: F811
    ada, bea, cai = _users(engine, "Ada", "Bea", "Cai")
    with tx(engine, ada) as db:
        sid = scheduled.create_session(db, creator_id=ada, now=NOW, **session_form()).id
    with tx(engine, bea) as db:
        scheduled.join_session(db, session_id=sid, user_id=bea, now=NOW)
    with as_system("the test moves the session to now (calls check the real clock)"), session_scope(engine) as db:
        row = db.get(StudySession, sid)
        row.starts_at, row.ends_at = utcnow() - timedelta(minutes=1), utcnow() + timedelta(hours=1)
    ref = calls.CallRef("session", sid)
    with tx(engine, bea) as db:
        calls.join(db, ref, user_id=bea, sid="sid-bea", token="tab-bea", max_size=8)
    with tx(engine, ada) as db:
        assert [p.user_id for p in calls.join(db, ref, user_id=ada, sid="sid-ada", token="tab-ada",
                                              max_size=8).peers] == [bea, ada]
        assert calls.route_signal(db, ref, user_id=ada, sid="sid-ada", to_user=bea) == "sid-bea"
    with tx(engine, cai) as db:
        assert calls.peers(db, ref) == []
        assert db.exec(select(StudySession)).all() != []  # the listing is public, the call is not
