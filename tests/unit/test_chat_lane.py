"""The chat lane (``state.lane``): SQLite's chat posts run on ONE worker thread, in order,
off the event loop, on a connection that thread keeps between posts — and a failed post
gives that connection back, so the next post starts on a fresh one."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest
from sqlmodel import select

from sessions_app import db as app_db
from sessions_app.models import ChatChangeLog, ChatMessage
from sessions_app.services import chat, chat_hot
from sessions_app.state import chat_posts
from sessions_app.state.lane import HeldConnection, Lane
from tests.support import postgres
from tests.support.factories import room_of_three

pytestmark = pytest.mark.skipif(postgres.unit_suite_on_postgres(),
                                reason="the chat post's driver road is SQLite's; PostgreSQL keeps the regular post")

_VAR: contextvars.ContextVar[str] = contextvars.ContextVar("lane_test", default="unset")


def test_jobs_run_in_order_on_one_thread_off_the_loop():
    lane = Lane("test-lane")
    seen: list[tuple[int, str]] = []

    def job(n: int) -> int:
        seen.append((n, threading.current_thread().name))
        return n * 10

    async def main():
        loop_thread = threading.current_thread().name
        results = await asyncio.gather(*(lane.run(job, n) for n in range(20)))
        return loop_thread, results

    loop_thread, results = asyncio.run(main())
    assert results == [n * 10 for n in range(20)]
    assert [n for n, _ in seen] == list(range(20))  # in the order they were queued
    assert {name for _, name in seen} == {"test-lane"} != {loop_thread}


def test_an_error_reaches_the_caller_and_the_lane_goes_on():
    lane = Lane("test-lane-errors")

    def fail():
        raise ValueError("no")

    async def main():
        with pytest.raises(ValueError, match="no"):
            await lane.run(fail)
        return await lane.run(lambda: "next")

    assert asyncio.run(main()) == "next"


def test_a_job_sees_the_callers_context_and_leaves_nothing_behind():
    lane = Lane("test-lane-context")

    def job(value: str) -> str:
        seen = _VAR.get()
        _VAR.set(value)  # must not leak into the next job
        return seen

    async def main():
        _VAR.set("caller")
        first = await lane.run(job, "set by job 1")
        _VAR.set("caller 2")
        second = await lane.run(job, "set by job 2")
        return first, second, _VAR.get()

    assert asyncio.run(main()) == ("caller", "caller 2", "caller 2")


def test_a_held_connection_is_kept_until_dropped_or_the_engine_changes(engine, tmp_path):
    held = HeldConnection()
    first = held.get(engine)
    assert held.get(engine) is first  # no checkout per job
    held.drop()
    second = held.get(engine)
    assert second is not first
    other = app_db.make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        assert held.get(other) is not second  # another engine: its own connection
    finally:
        held.drop()
        other.dispose()


@pytest.fixture
def room(engine, monkeypatch):
    monkeypatch.setattr(app_db, "get_engine", lambda: engine)
    with app_db.session_scope(engine) as db:
        three = room_of_three(db)
    monkeypatch.setattr(chat_posts, "_HELD", HeldConnection())
    yield three
    chat_posts._HELD.drop()


def test_posts_on_the_held_connection_are_committed_and_numbered(engine, room):
    channel = chat.room_channel(room.room_id)

    async def main():
        return [await chat_posts._LANE.run(chat_posts._post_on_lane, engine, room.tokens[room.bob], channel, f"m{i}")
                for i in range(3)]

    results = asyncio.run(main())
    assert [uid for uid, _, _ in results] == [room.bob] * 3
    assert [change.seq for _, change, _ in results] == [1, 2, 3]
    # Committed: another connection (the engine's pool) reads them.
    with app_db.session_scope(engine) as db:
        assert [m.body for m in db.exec(select(ChatMessage).order_by(ChatMessage.id)).all()] == ["m0", "m1", "m2"]
        assert [e.seq for e in db.exec(select(ChatChangeLog).order_by(ChatChangeLog.seq)).all()] == [1, 2, 3]


def test_a_failed_post_gives_its_connection_back(engine, room, monkeypatch):
    channel = chat.room_channel(room.room_id)
    real_post = chat_hot._post

    def broken(*args, **kwargs):
        raise RuntimeError("the driver failed mid-transaction")

    async def main():
        held_before = await chat_posts._LANE.run(chat_posts._HELD.get, engine)
        monkeypatch.setattr(chat_hot, "_post", broken)
        with pytest.raises(RuntimeError):
            await chat_posts._LANE.run(chat_posts._post_on_lane, engine, room.tokens[room.bob], channel, "lost")
        monkeypatch.setattr(chat_hot, "_post", real_post)
        after = await chat_posts._LANE.run(chat_posts._post_on_lane, engine, room.tokens[room.bob], channel, "kept")
        held_after = await chat_posts._LANE.run(chat_posts._HELD.get, engine)
        return held_before, after, held_after

    held_before, (uid, change, refused), held_after = asyncio.run(main())
    assert held_after is not held_before  # the failed post's connection went back to the pool
    assert (uid, refused, change.seq) == (room.bob, None, 1)
    with app_db.session_scope(engine) as db:  # nothing of the failed post, the next one stored
        assert [m.body for m in db.exec(select(ChatMessage)).all()] == ["kept"]
