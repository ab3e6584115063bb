"""row-level security on PostgreSQL: every table behind policies (a second wall)

Enables and FORCEs row-level security on every table, so the policies bind the app's role
even when it owns the tables. Each transaction states whom it runs for
(``sessions_app/db.py``): ``app.user_id`` (a user) or ``app.system`` = ``on`` (the server's
background jobs and pre-login flows); neither means anonymous. docs/rls.md lists each
table's policy.

Membership lookups that policies need (is the caller in this room, in this session) are
functions that turn ``app.system`` on for their own query and back off: a policy may then
consult protected tables, its own included, without recursing into their policies (each
condition starts with ``app_is_system() OR``, which PostgreSQL evaluates first).

SQLite has no row-level security: nothing to do there.

Revision ID: f3a1c9d27b40
Revises: 7deead4c92a7
Create Date: 2026-11-30 01:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = 'f3a1c9d27b40'
down_revision: str | None = '7deead4c92a7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ME = "app_user_id()"

# Functions the policies call. The membership ones ("system": True) switch app.system on for
# their own query only (restored on return; a failed statement rolls the setting back with
# it), which is what keeps a policy that reads room_members from recursing into its policy.
FUNCTIONS = {
    "app_user_id()": ("integer", False, "SELECT NULLIF(current_setting('app.user_id', true), '')::integer"),
    "app_is_system()": ("boolean", False, "SELECT coalesce(current_setting('app.system', true), '') = 'on'"),
    "app_in_room(rid integer)": ("boolean", True, f"""
        SELECT EXISTS (SELECT 1 FROM room_members m
                       WHERE m.room_id = rid AND m.user_id = {ME} AND m.left_at IS NULL)"""),
    "app_was_in_room(rid integer)": ("boolean", True, f"""
        SELECT EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = rid AND m.user_id = {ME})"""),
    "app_in_session(sid integer)": ("boolean", True, f"""
        SELECT EXISTS (SELECT 1 FROM study_sessions s WHERE s.id = sid AND s.creator_id = {ME})
            OR EXISTS (SELECT 1 FROM session_participants p WHERE p.session_id = sid AND p.user_id = {ME})"""),
    "app_session_room(rid integer)": ("boolean", True, f"""
        SELECT EXISTS (SELECT 1 FROM study_sessions s
                       WHERE s.room_id = rid AND (s.creator_id = {ME} OR EXISTS (
                           SELECT 1 FROM session_participants p WHERE p.session_id = s.id AND p.user_id = {ME})))"""),
    "app_room_visible(rid integer)": ("boolean", True, f"""
        SELECT EXISTS (SELECT 1 FROM rooms r WHERE r.id = rid AND (NOT r.is_private OR r.host_id = {ME}))
            OR app_in_room(rid) OR app_session_room(rid)"""),
    # Chat channels: "lobby" (every logged-in user), "room:<id>" (its present members),
    # "session:<id>" (its creator and the people signed up).
    "app_channel_visible(ch text)": ("boolean", False, f"""
        SELECT CASE WHEN ch = 'lobby' THEN {ME} IS NOT NULL
                    WHEN ch ~ '^room:[0-9]{{1,9}}$' THEN app_in_room(substr(ch, 6)::integer)
                    WHEN ch ~ '^session:[0-9]{{1,9}}$' THEN app_in_session(substr(ch, 9)::integer)
                    ELSE false END"""),
    # Who may delete others' messages: the host of an open room, the creator of a session.
    "app_channel_moderator(ch text)": ("boolean", True, f"""
        SELECT CASE WHEN ch ~ '^room:[0-9]{{1,9}}$' THEN EXISTS (
                        SELECT 1 FROM rooms r WHERE r.id = substr(ch, 6)::integer AND r.is_open AND r.host_id = {ME})
                    WHEN ch ~ '^session:[0-9]{{1,9}}$' THEN EXISTS (
                        SELECT 1 FROM study_sessions s WHERE s.id = substr(ch, 9)::integer AND s.creator_id = {ME})
                    ELSE false END"""),
    # A call ("room:<id>", "session:<id>"; services.calls) belongs to the room's present
    # members, or to the session's creator and the people signed up.
    "app_call_visible(c text)": ("boolean", False, """
        SELECT CASE WHEN c ~ '^room:[0-9]{1,9}$' THEN app_in_room(substr(c, 6)::integer)
                    WHEN c ~ '^session:[0-9]{1,9}$' THEN app_in_session(substr(c, 9)::integer)
                    ELSE false END"""),
    # A chat message whose channel the caller may read (reactions follow their message).
    "app_message_visible(mid integer)": ("boolean", True, """
        SELECT EXISTS (SELECT 1 FROM chat_messages m WHERE m.id = mid AND app_channel_visible(m.channel))"""),
}

OWN = f"user_id = {ME}"
# table -> {command: condition}. A command that is missing is the system's alone. Every
# condition becomes ``app_is_system() OR (condition)``; UPDATE checks the new row with it too.
POLICIES: dict[str, dict[str, str]] = {
    # Public profiles (name, avatar, level) sit beside every chat line and member list, so
    # rows are readable; email and password hash stay private by the application's rule.
    "users": {"select": "true", "update": f"id = {ME}", "delete": f"id = {ME}"},
    "auth_sessions": {"select": OWN, "insert": OWN, "update": OWN, "delete": OWN},
    "oauth_accounts": {"select": OWN, "insert": OWN, "update": OWN, "delete": OWN},
    "oauth_states": {},
    "login_tickets": {"select": OWN, "insert": OWN, "update": OWN, "delete": OWN},
    "email_tokens": {"select": OWN, "insert": OWN, "update": OWN, "delete": OWN},
    "calendar_feeds": {"select": OWN, "insert": OWN, "update": OWN, "delete": OWN},
    # EXP is earned only through the server's crediting: users read their own.
    "focus_credits": {"select": OWN},
    "rooms": {
        "select": f"NOT is_private OR host_id = {ME} OR app_in_room(id) OR app_session_room(id)",
        # A session's live room may open with no host yet (the first participant takes it).
        "insert": f"host_id = {ME} OR host_id IS NULL",
        # Hosts drive the timer; a leaving member passes the host role on or closes the room.
        "update": f"host_id = {ME} OR app_was_in_room(id) OR app_session_room(id)",
    },
    "room_members": {"select": f"{OWN} OR app_room_visible(room_id)", "insert": OWN,
                     "update": OWN, "delete": OWN},
    "tasks": {"select": f"{OWN} OR (room_id IS NOT NULL AND app_in_room(room_id))",
              "insert": f"{OWN} AND (room_id IS NULL OR app_in_room(room_id))",
              "update": OWN, "delete": OWN},
    # Authors keep reading their own lines (the data export) after leaving the room.
    "chat_messages": {"select": f"{OWN} OR app_channel_visible(channel)",
                      "insert": f"{OWN} AND app_channel_visible(channel)",
                      "update": OWN, "delete": f"{OWN} OR app_channel_moderator(channel)"},
    # The sessions listing is public, places left included (counted from the sign-ups).
    "study_sessions": {"select": "true", "insert": f"creator_id = {ME}", "update": f"creator_id = {ME}",
                       "delete": f"creator_id = {ME}"},
    "session_participants": {"select": "true", "insert": OWN, "update": OWN, "delete": OWN},
    "session_notes": {"select": f"{OWN} OR is_public", "insert": OWN, "update": OWN, "delete": OWN},
    # Server uptime: read by crediting, written by the server alone.
    "server_heartbeat": {"select": "true"},
    "server_outages": {"select": "true"},
    # A student's ambient sound mix is theirs alone.
    "ambient_mixes": {"select": OWN, "insert": OWN, "update": OWN, "delete": OWN},
    # A goal is shown to the members present in its room while its block runs (open); once
    # closed, goal, outcome and minutes are the author's private log. A goal is set only by
    # a member present in the room. Closing every member's goal at a block's end is the
    # system's (or an elevated step of rooms.advance_due).
    "block_goals": {"select": f"{OWN} OR (open_key AND room_id IS NOT NULL AND app_in_room(room_id))",
                    "insert": f"{OWN} AND room_id IS NOT NULL AND app_in_room(room_id)",
                    "update": OWN, "delete": OWN},
    # Reactions: whoever may read the message's channel sees its reactions (the counts); a
    # reaction is one's own, on a message one may read.
    "chat_reactions": {"select": f"{OWN} OR app_message_visible(message_id)",
                       "insert": f"{OWN} AND app_message_visible(message_id)",
                       "update": OWN, "delete": OWN},
    # A call's roster is its room's (session's) people's; one joins and leaves as oneself,
    # and the call's host (the open room's host, the session's creator) removes a member.
    "call_members": {"select": f"{OWN} OR app_call_visible(call)", "insert": f"{OWN} AND app_call_visible(call)",
                     "update": f"{OWN} OR app_channel_moderator(call)", "delete": OWN},
    # A call's options (the cameras reminder, the SFU room a member's join may open): its
    # room's (session's) people; that only the host sets the reminder is the service's rule.
    "call_options": {"select": "app_call_visible(call)", "insert": "app_call_visible(call)",
                     "update": "app_call_visible(call)"},
    # A chat channel's sequence counter and its change log (services.chat_log) follow the
    # channel's messages: its readers see them (catch-up), and a post or a delete bumps the
    # counter and logs the change in the poster's own transaction, so whoever may write in
    # the channel (or moderate it) may. Pruning the log is the system's.
    "chat_channels": {"select": "app_channel_visible(channel)",
                      "insert": "app_channel_visible(channel) OR app_channel_moderator(channel)",
                      "update": "app_channel_visible(channel) OR app_channel_moderator(channel)"},
    "chat_change_log": {"select": "app_channel_visible(channel)",
                        "insert": "app_channel_visible(channel) OR app_channel_moderator(channel)"},
}


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _postgres():
        return
    for signature, (returns, as_system, body) in FUNCTIONS.items():
        if as_system:
            body = (f"DECLARE was text := coalesce(current_setting('app.system', true), ''); ok {returns}; "
                    f"BEGIN PERFORM set_config('app.system', 'on', true); {body.strip()} INTO ok; "
                    "PERFORM set_config('app.system', was, true); RETURN ok; END")
        language = "plpgsql" if as_system else "sql"
        op.execute(f"CREATE OR REPLACE FUNCTION {signature} RETURNS {returns} LANGUAGE {language} STABLE "
                   f"AS $fn$ {body.strip()} $fn$")
    for table, commands in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {table}_system ON {table} FOR ALL USING (app_is_system()) "
                   "WITH CHECK (app_is_system())")
        for command, condition in commands.items():
            condition = f"app_is_system() OR ({condition})"
            clause = f"WITH CHECK ({condition})" if command == "insert" else f"USING ({condition})"
            if command == "update":
                clause += f" WITH CHECK ({condition})"
            op.execute(f"CREATE POLICY {table}_{command} ON {table} FOR {command.upper()} {clause}")


def downgrade() -> None:
    if not _postgres():
        return
    for table, commands in POLICIES.items():
        for name in ("system", *commands):
            op.execute(f"DROP POLICY IF EXISTS {table}_{name} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    for signature in reversed(list(FUNCTIONS)):
        op.execute(f"DROP FUNCTION IF EXISTS {signature.split('(')[0]}({_types(signature)})")


def _types(signature: str) -> str:
    """``app_in_room(rid integer)`` -> ``integer`` (DROP FUNCTION names argument types)."""
    args = signature.split("(", 1)[1].rstrip(")")
    return ", ".join(arg.split()[-1] for arg in args.split(",") if arg.strip())
