"""Goal → outcome per focus block (``services.block_goals``): members only, the one text rule
with a 140-character cap, closing with the block the server ends, one answer per block, only
for blocks sat through, and nobody else's goal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from sessions_app.models import BlockGoal, Room
from sessions_app.services import account_data, block_goals, rooms
from sessions_app.services.errors import ServiceError
from tests.support.factories import make_user

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _room(db, host: int, **kw):
    return rooms.create_room(db, host_id=host, name="Eigen sprint", discipline="Mathematics", is_private=False,
                             now=T0 - timedelta(minutes=5), **kw)


def _finish_block(db, room: Room, host: int, minutes: int = 25):
    """Start focus at T0 as the host and let the server end the block."""
    timer = rooms.control_timer(db, room_id=room.id, user_id=host, action="start", now=T0)
    return rooms.advance_due(db, room_id=room.id, expected_seq=timer.seq, now=T0 + timedelta(minutes=minutes))


def test_goal_is_members_only_capped_and_one_open_per_member(db):
    ada, bob, eve = make_user(db).id, make_user(db, "Bob").id, make_user(db, "Eve").id
    room = _room(db, ada)
    rooms.enter(db, room_id=room.id, user_id=bob, now=T0 - timedelta(minutes=4))
    with pytest.raises(ServiceError, match="Join the room"):
        block_goals.set_goal(db, room_id=room.id, user_id=eve, goal="not my room")
    with pytest.raises(ServiceError, match="Join the room"):
        block_goals.set_goal(db, room_id="nope", user_id=ada, goal="x")
    with pytest.raises(ServiceError, match="at most 140"):
        block_goals.set_goal(db, room_id=room.id, user_id=ada, goal="x" * 141)
    with pytest.raises(ServiceError, match="Write your goal"):
        block_goals.set_goal(db, room_id=room.id, user_id=ada, goal="   ")
    with pytest.raises(ServiceError, match="cannot be shown"):
        block_goals.set_goal(db, room_id=room.id, user_id=ada, goal="evil\u202eright-to-left")
    with pytest.raises(ServiceError, match="must be text"):
        block_goals.set_goal(db, room_id=room.id, user_id=ada, goal={"text": "crafted"})
    assert block_goals.set_goal(db, room_id=room.id, user_id=ada, goal="y" * 140).text == "y" * 140
    # Saving again replaces the one open goal; whitespace collapses like every one-line field.
    block_goals.set_goal(db, room_id=room.id, user_id=ada, goal="  Prove   lemma 3 \n")
    block_goals.set_goal(db, room_id=room.id, user_id=bob, goal="Read chapter 2")
    assert block_goals.room_goals(db, room_id=room.id) == [
        block_goals.GoalLine(ada, "Prove lemma 3"), block_goals.GoalLine(bob, "Read chapter 2")]
    assert len(db.exec(select(BlockGoal).where(BlockGoal.user_id == ada)).all()) == 1
    # A member who left no longer shows a goal to the room.
    rooms.leave(db, room_id=room.id, user_id=bob)
    assert block_goals.room_goals(db, room_id=room.id) == [block_goals.GoalLine(ada, "Prove lemma 3")]


def test_the_database_allows_one_open_goal_per_member_and_room(db):
    ada = make_user(db).id
    room = _room(db, ada)
    db.add(BlockGoal(user_id=ada, room_id=room.id, room_name="R", text="one"))
    db.flush()
    db.add(BlockGoal(user_id=ada, room_id=room.id, room_name="R", text="two"))
    with pytest.raises(Exception, match="(?i)unique"):  # SQLite "UNIQUE", PostgreSQL "unique constraint"
        db.flush()


def test_block_end_closes_goals_of_those_present_and_asks_them(db):
    ada, bob = make_user(db).id, make_user(db, "Bob").id
    room = _room(db, ada)
    rooms.enter(db, room_id=room.id, user_id=bob, now=T0 - timedelta(minutes=4))
    block_goals.set_goal(db, room_id=room.id, user_id=ada, goal="Prove lemma 3")
    block_goals.set_goal(db, room_id=room.id, user_id=bob, goal="Read chapter 2")
    # Bob leaves mid-block: he did not sit through it, so he is not asked and keeps no entry.
    rooms.leave(db, room_id=room.id, user_id=bob, now=T0 + timedelta(minutes=10))
    assert block_goals.pending(db, user_id=ada) is None  # nothing to answer before the end
    advanced = _finish_block(db, room, ada)
    assert advanced is not None and len(advanced.completed) == 1
    assert block_goals.asked_for(db, room_id=room.id, block_seqs=[b.seq for b in advanced.completed]) == [ada]
    pending = block_goals.pending(db, user_id=ada, room_id=room.id)
    assert pending is not None and pending.text == "Prove lemma 3" and pending.minutes == 25
    assert pending.room_name == "Eigen sprint"
    assert block_goals.pending(db, user_id=bob) is None
    assert db.exec(select(BlockGoal).where(BlockGoal.user_id == bob)).all() == []
    # The room shows no goal now: the next block starts without one.
    assert block_goals.room_goals(db, room_id=room.id) == []
    # A new goal for the next block is allowed (the closed one does not block it).
    block_goals.set_goal(db, room_id=room.id, user_id=ada, goal="Lemma 4")


def test_a_skipped_block_carries_the_goal_over(db):
    ada = make_user(db).id
    room = _room(db, ada)
    block_goals.set_goal(db, room_id=room.id, user_id=ada, goal="Prove lemma 3")
    rooms.control_timer(db, room_id=room.id, user_id=ada, action="start", now=T0)
    rooms.control_timer(db, room_id=room.id, user_id=ada, action="skip", now=T0 + timedelta(minutes=3))
    assert block_goals.pending(db, user_id=ada) is None
    assert block_goals.room_goals(db, room_id=room.id) == [block_goals.GoalLine(ada, "Prove lemma 3")]


def test_outcome_once_only_for_own_ended_goal(db):
    ada, bob = make_user(db).id, make_user(db, "Bob").id
    room = _room(db, ada)
    rooms.enter(db, room_id=room.id, user_id=bob, now=T0 - timedelta(minutes=4))
    block_goals.set_goal(db, room_id=room.id, user_id=ada, goal="Prove lemma 3")
    block_goals.set_goal(db, room_id=room.id, user_id=bob, goal="Read chapter 2")
    open_goal = db.exec(select(BlockGoal).where(BlockGoal.user_id == ada)).one()
    with pytest.raises(ServiceError, match="not ended"):
        block_goals.answer(db, goal_id=open_goal.id, user_id=ada, outcome="done")
    _finish_block(db, room, ada)
    bobs = block_goals.pending(db, user_id=bob)
    # Another user's goal id is refused, and changes nothing.
    with pytest.raises(ServiceError, match="not yours"):
        block_goals.answer(db, goal_id=bobs.id, user_id=ada, outcome="done")
    assert db.get(BlockGoal, bobs.id).outcome is None
    with pytest.raises(ServiceError, match="Choose done"):
        block_goals.answer(db, goal_id=open_goal.id, user_id=ada, outcome="great")
    for bad_id in ("1; DROP", None, True, 10**30, -1):
        with pytest.raises(ServiceError, match="not yours"):
            block_goals.answer(db, goal_id=bad_id, user_id=ada, outcome="done")
    entry = block_goals.answer(db, goal_id=open_goal.id, user_id=ada, outcome="partly")
    assert entry.outcome == "partly" and entry.minutes == 25 and entry.ended_at == T0 + timedelta(minutes=25)
    with pytest.raises(ServiceError, match="already answered"):
        block_goals.answer(db, goal_id=open_goal.id, user_id=ada, outcome="done")
    assert block_goals.pending(db, user_id=ada) is None


def test_log_is_private_newest_first_and_exported(db):
    ada, bob = make_user(db).id, make_user(db, "Bob").id
    room = _room(db, ada)
    rooms.enter(db, room_id=room.id, user_id=bob, now=T0 - timedelta(minutes=4))
    block_goals.set_goal(db, room_id=room.id, user_id=ada, goal="Prove lemma 3")
    block_goals.set_goal(db, room_id=room.id, user_id=bob, goal="Bob's own")
    _finish_block(db, room, ada)
    block_goals.answer(db, goal_id=block_goals.pending(db, user_id=ada).id, user_id=ada, outcome="not")
    log = block_goals.log(db, user_id=ada)
    assert [(e.text, e.outcome, e.minutes, e.room_name) for e in log] == [("Prove lemma 3", "not", 25, "Eigen sprint")]
    assert [e.text for e in block_goals.log(db, user_id=bob)] == ["Bob's own"]
    exported = account_data.export_data(db, user_id=ada)["block_goals"]
    assert [(g["text"], g["outcome"], g["minutes"]) for g in exported] == [("Prove lemma 3", "not", 25)]
    assert block_goals.when_label(T0 + timedelta(minutes=25), "Asia/Tokyo") == "Sat 21 Nov 2026, 21:25"
    # Deleting the account takes the log with it.
    account_data.delete_account(db, user_id=ada)
    assert db.exec(select(BlockGoal).where(BlockGoal.user_id == ada)).all() == []
