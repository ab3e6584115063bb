"""``python -m bench.rls``: what PostgreSQL's row-level security costs a chat message.

A focused measurement, not the full bench: on a throwaway cluster (``tests/support/
postgres.py``, the production role layout: owner + app role without BYPASSRLS), a room of
``--members`` with ``--history`` messages, then for each message the database work of one
chat post as the app does it:

1. the login lookup (``accounts.user_for_token``, as the system),
2. the post (``chat.post_message``: authorize, insert, return), as the user,
3. a member's catch-up read of the new message (``chat.since``), as that member.

Blocks of ``--block`` messages alternate between RLS on (the migration's policies, forced)
and RLS off (``DISABLE ROW LEVEL SECURITY`` on every table), so both see the same machine
load. Prints p50 / p99 per step and for the whole message, in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from sqlmodel import SQLModel

import sessions_app.models  # noqa: F401  (every table on the metadata)
from sessions_app.db import as_system, as_user, session_scope
from sessions_app.models import User
from sessions_app.services import accounts, chat, ratelimit, rooms
from sessions_app.settings import get_settings
from tests.support import postgres


def _seed(engine, members: int, history: int) -> tuple[list[int], int, list[str]]:
    with as_system("bench seed"), session_scope(engine) as db:
        users = [User(display_name=f"Member {i}", email=f"m{i}@example.com") for i in range(members)]
        db.add_all(users)
        db.flush()
        ids = [u.id for u in users]
        room = rooms.create_room(db, host_id=ids[0], name="Bench", discipline="Mathematics", is_private=False)
        for uid in ids[1:]:
            rooms.enter(db, room_id=room.id, user_id=uid)
        tokens = [accounts.start_session(db, user_id=uid) for uid in ids]
        channel = chat.room_channel(room.id)
        for i in range(history):
            chat.post_message(db, channel=channel, user_id=ids[i % members], body=f"history {i}")
        return ids, room.id, tokens


def _set_rls(cluster: postgres.Cluster, on: bool) -> None:
    verb = "ENABLE" if on else "DISABLE"
    cluster.admin(*(f"ALTER TABLE {t} {verb} ROW LEVEL SECURITY" for t in SQLModel.metadata.tables),
                  database=postgres.DB)


def _one_message(engine, ids, room_id, tokens, i) -> tuple[float, float, float]:
    sender = i % len(ids)
    reader = (sender + 1) % len(ids)
    channel = chat.room_channel(room_id)
    t0 = time.perf_counter()
    with as_system("login lookup"), session_scope(engine) as db:
        user = accounts.user_for_token(db, tokens[sender])
    t1 = time.perf_counter()
    with as_user(user.id), session_scope(engine) as db:
        message = chat.post_message(db, channel=channel, user_id=user.id, body=f"message {i}")
    t2 = time.perf_counter()
    with as_user(ids[reader]), session_scope(engine) as db:
        got = chat.since(db, channel, message.id, user_id=ids[reader])
    t3 = time.perf_counter()
    assert [m.id for m in got] == [message.id], "the reader must get exactly the new message"
    return t1 - t0, t2 - t1, t3 - t2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--history", type=int, default=500)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--block", type=int, default=100)
    args = parser.parse_args()
    # The chat rate limit would refuse a bench's pace: lift it for this process.
    os.environ["CHAT_RATE_LIMIT"] = "1000000/second"
    get_settings.cache_clear()
    ratelimit._limiter.cache_clear()

    cluster, engine = postgres.migrated_cluster()
    try:
        ids, room_id, tokens = _seed(engine, args.members, args.history)
        samples: dict[bool, list[tuple[float, float, float]]] = {True: [], False: []}
        for _ in range(20):  # warm-up
            _one_message(engine, ids, room_id, tokens, 0)
        for block in range(args.messages // args.block):
            on = block % 2 == 0
            _set_rls(cluster, on)
            for i in range(args.block):
                samples[on].append(_one_message(engine, ids, room_id, tokens, block * args.block + i))
        print(f"members {args.members}, history {args.history}, {args.messages} messages in blocks of "
              f"{args.block}, alternating; milliseconds")
        print(f"{'step':<22}{'RLS off p50':>12}{'RLS on p50':>12}{'off p99':>10}{'on p99':>10}")
        for index, name in enumerate(("login lookup", "post (authorize+insert)", "member catch-up", "whole message")):
            row = []
            for on in (False, True):
                values = [sum(s) if index == 3 else s[index] for s in samples[on]]
                qs = statistics.quantiles(values, n=100)
                row.append((statistics.median(values) * 1000, qs[98] * 1000))
            print(f"{name:<22}{row[0][0]:>12.2f}{row[1][0]:>12.2f}{row[0][1]:>10.2f}{row[1][1]:>10.2f}")
    finally:
        engine.dispose()
        cluster.stop()


if __name__ == "__main__":
    main()
