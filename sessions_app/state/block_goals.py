"""Goal → outcome per focus block, as thin Reflex states over ``services.block_goals``.

- ``RoomGoals`` (shared, linked under the room's key like ``RoomBoard``): the open goals of
  the members present, shown as a line under each name. A change goes out as ONE broadcast
  of the small list to the room's channel.
- ``BlockGoalUi`` (this tab): errors, and the outcome question for a goal whose block ended.
  The server asks it by pushing to the user's own channel when it ends a block
  (``after_phase``, registered with ``live.phases.phase_hooks``); a reload reads it from the DB.
- ``BlockLogState``: the private "Your blocks" log on /profile.

Every handler finds the user from the login on the server; the services check membership and
ownership in the database.
"""

from __future__ import annotations

import dataclasses
import logging

import reflex as rx

from sessions_app import realtime
from sessions_app.db import session_scope
from sessions_app.live import channels, phases
from sessions_app.services import block_goals, rooms
from sessions_app.services.errors import ServiceError
from sessions_app.state.auth import AuthState
from sessions_app.state.room import RoomPageState, shared_key
from sessions_app.state.tasks import form_text

log = logging.getLogger("sessions.goals")
NOT_IN_ROOM = "Join the room first."


@dataclasses.dataclass
class GoalView:
    """A member's open goal as the room sees it."""

    user_id: int = 0
    text: str = ""


@dataclasses.dataclass
class LogEntryView:
    """One finished block in the private log."""

    id: int = 0
    when: str = ""
    room: str = ""
    goal: str = ""
    outcome: str = ""  # "done", "partly", "not" or "" (not answered)
    outcome_label: str = ""
    minutes: int = 0


def goal_views(lines: list[block_goals.GoalLine]) -> list[GoalView]:
    """Service results as state values."""
    return [GoalView(g.user_id, g.text) for g in lines]


def pending_vars(p: block_goals.Pending | None) -> dict:
    """The outcome question (or none) as the vars of ``BlockGoalUi``."""
    return {"pending_id": p.id if p else 0, "pending_room_id": p.room_id if p else 0,
            "pending_text": p.text if p else "", "pending_minutes": p.minutes if p else 0}


class BlockGoalUi(rx.State):
    """This tab's side of block goals: errors and the question after a block."""

    goal_error: str = ""
    outcome_error: str = ""
    outcome_saved: str = ""
    pending_id: int = 0
    pending_room_id: int = 0
    pending_text: str = ""
    pending_minutes: int = 0

    @rx.event
    async def answer(self, goal_id: int, outcome: str):
        """Answer "done / partly / not yet" for one of your goals whose block ended."""
        self.outcome_error = self.outcome_saved = ""
        uid = (await self.get_state(AuthState)).current_user_id()
        if uid is None:
            self.outcome_error = "Log in again to answer."
            return
        room_id = (await self.get_state(RoomPageState))._room_id
        try:
            with session_scope() as db:
                entry = block_goals.answer(db, goal_id=goal_id, user_id=uid, outcome=outcome)
                following = pending_vars(block_goals.pending(db, user_id=uid, room_id=room_id or None))
        except ServiceError as err:
            self.outcome_error = err.message
            return
        for k, v in following.items():
            setattr(self, k, v)
        self.outcome_saved = f"Saved to your blocks: {block_goals.OUTCOMES[entry.outcome]}."
        # The user's other tabs stop asking too (this one has its own delta).
        await realtime.push(channels.user(uid), BlockGoalUi, skip_sid=self.router.session.session_id, **following)


@realtime.broadcast_only
class RoomGoals(rx.SharedState):
    """The open goals of the members present in one room (plain vars only)."""

    room_id: int = 0
    goals: list[GoalView] = []

    @rx.event
    async def load(self):
        """on_load of the room page, after ``RoomPageState.load``: link to the room's goals,
        rebuild them from the DB, and read this user's unanswered question."""
        ui = await self.get_state(BlockGoalUi)
        ui.goal_error = ui.outcome_error = ui.outcome_saved = ""
        room_id = (await self.get_state(RoomPageState))._room_id
        uid = (await self.get_state(AuthState)).current_user_id()
        if not room_id or uid is None:
            if self._linked_to:
                realtime.detach_fanout(self)
                await self._unlink()
            return
        shared = await self._link_to(shared_key(room_id))
        with session_scope() as db:
            fresh = goal_views(block_goals.room_goals(db, room_id=room_id))
            asked = pending_vars(block_goals.pending(db, user_id=uid, room_id=room_id))
        for k, v in asked.items():
            setattr(ui, k, v)
        shared.room_id = room_id
        if list(shared.goals) == fresh:
            realtime.detach_fanout(shared)  # nothing new for the others
            return
        # A returning member's goal (or a cache rebuilt after a restart): everyone gets it.
        await realtime.publish(shared, channels.room(room_id), self.router.session.session_id, goals=fresh)

    @rx.event
    async def save(self, form: dict):
        """Set (or replace) your goal for this focus block from ``#block-goal-input``."""
        ui = await self.get_state(BlockGoalUi)
        ui.goal_error = ""
        uid = (await self.get_state(AuthState)).current_user_id()
        room_id = (await self.get_state(RoomPageState))._room_id
        if uid is None or not room_id or room_id != self.room_id:
            ui.goal_error = NOT_IN_ROOM
            return
        try:
            with session_scope() as db:
                block_goals.set_goal(db, room_id=room_id, user_id=uid, goal=form_text(form, "goal"))
                fresh = goal_views(block_goals.room_goals(db, room_id=room_id))
        except ServiceError as err:
            ui.goal_error = err.message
            return
        await realtime.publish(self, channels.room(room_id), self.router.session.session_id, goals=fresh)
        return rx.set_value("block-goal-input", "")


async def after_phase(room_id: int, advanced: rooms.Advance) -> None:
    """A focus block ended on the server: the room's goal lines clear (one broadcast) and each
    member whose goal closed is asked how it went (on their own channel)."""
    if not advanced.completed:
        return
    try:
        with session_scope() as db:
            fresh = goal_views(block_goals.room_goals(db, room_id=room_id))
            asked = block_goals.asked_for(db, room_id=room_id, block_seqs=[b.seq for b in advanced.completed])
            questions = {uid: pending_vars(block_goals.pending(db, user_id=uid, room_id=room_id)) for uid in asked}
        async with realtime.modify_shared(RoomGoals, shared_key(room_id)) as shared:
            shared.room_id, shared.goals = room_id, fresh
            await realtime.push(channels.room(room_id), RoomGoals, goals=fresh)
        for uid, values in questions.items():
            await realtime.push(channels.user(uid), BlockGoalUi, **values)
    except Exception:  # a failure here must not stop the room's timer from moving on
        log.exception("block goals: delivering the end of a block in room %s failed", room_id)


phases.phase_hooks.append(after_phase)


class BlockLogState(rx.State):
    """The private "Your blocks" log of the student viewing their own profile."""

    entries: list[LogEntryView] = []

    @rx.event
    async def load(self):
        """on_load of /profile: the logged-in student's finished blocks (newest first)."""
        auth = await self.get_state(AuthState)
        uid = auth.current_user_id()
        if uid is None:
            self.entries = []
            return
        with session_scope() as db:
            rows = block_goals.log(db, user_id=uid)
        self.entries = [LogEntryView(e.id, block_goals.when_label(e.ended_at, auth.timezone), e.room_name, e.text,
                                     e.outcome, block_goals.OUTCOMES.get(e.outcome, "no answer"), e.minutes)
                        for e in rows]
