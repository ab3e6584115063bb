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
from sessions_app.live import channels, phases, targets
from sessions_app.services import block_goals, rooms
from sessions_app.state.auth import AuthState
from sessions_app.state.base import REFUSED, Handler, in_db, off_loop
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


def _answer(db, *, goal_id: object, user_id: int, outcome: object, room_id: int | None) -> tuple[str, dict]:
    """Store the answer; the outcome stored and the next question to ask (or none)."""
    entry = block_goals.answer(db, goal_id=goal_id, user_id=user_id, outcome=outcome)
    return entry.outcome, pending_vars(block_goals.pending(db, user_id=user_id, room_id=room_id))


def goals_read(db, room_id: int, user_id: int) -> tuple[list[GoalView], dict]:
    """The room's goal lines and this user's unanswered question there (the room page's read)."""
    return (goal_views(block_goals.room_goals(db, room_id=room_id)),
            pending_vars(block_goals.pending(db, user_id=user_id, room_id=room_id)))


def _set_goal(db, *, room_id: int, user_id: int, goal: object) -> list[GoalView]:
    """Set the member's goal; the room's goal lines after it."""
    block_goals.set_goal(db, room_id=room_id, user_id=user_id, goal=goal)
    return goal_views(block_goals.room_goals(db, room_id=room_id))


def _log(db, *, user_id: int, tz: str) -> list[LogEntryView]:
    return [LogEntryView(e.id, block_goals.when_label(e.ended_at, tz), e.room_name, e.text, e.outcome,
                         block_goals.OUTCOMES.get(e.outcome, "no answer"), e.minutes)
            for e in block_goals.log(db, user_id=user_id)]


def _block_end(db, *, room_id: int, block_seqs: list[int]) -> tuple[list[GoalView], dict[int, dict]]:
    """After a block ended: the room's goal lines, and the question for each member asked."""
    asked = block_goals.asked_for(db, room_id=room_id, block_seqs=block_seqs)
    return (goal_views(block_goals.room_goals(db, room_id=room_id)),
            {uid: pending_vars(block_goals.pending(db, user_id=uid, room_id=room_id)) for uid in asked})


class BlockGoalUi(Handler, rx.State):
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
        uid = await self._caller_id()
        if uid is None:
            self.outcome_error = "Log in again to answer."
            return
        room_id = (await self.get_state(RoomPageState))._room_id
        answered = await self._attempt(in_db, _answer, goal_id=goal_id, user_id=uid, outcome=outcome,
                                       room_id=room_id or None, errors=(self, "outcome_error"))
        if answered is REFUSED:
            return
        stored, following = answered
        for k, v in following.items():
            setattr(self, k, v)
        self.outcome_saved = f"Saved to your blocks: {block_goals.OUTCOMES[stored]}."
        # The user's other tabs stop asking too (this one has its own delta).
        await realtime.push(channels.user(uid), BlockGoalUi, skip_sid=self.router.session.session_id, **following)


@targets.register(targets.ROOM_GOALS)
@realtime.broadcast_only
class RoomGoals(Handler, rx.SharedState):
    """The open goals of the members present in one room (plain vars only)."""

    room_id: int = 0
    goals: list[GoalView] = []

    async def _fill(self, room_id: int, uid: int, value: tuple[list[GoalView], dict]) -> None:
        """Part of the room page's one load (``state.room_page``): link to the room's goals
        (under the room's lock), set them from the load's read (``goals_read``), and this
        user's unanswered question. A cached list is kept (every goal change sets it under
        this lock: newer than the read) except for this user's own line, which may come back
        with them (their goal stays open while they are away)."""
        ui = await self.get_state(BlockGoalUi)
        ui.goal_error = ui.outcome_error = ui.outcome_saved = ""
        shared = await self._link_to(shared_key(room_id))
        read, asked = value
        for k, v in asked.items():
            setattr(ui, k, v)
        fresh = read
        if shared.room_id == room_id:
            order = {g.user_id: i for i, g in enumerate(read)}  # the read's order: oldest goal first
            fresh = sorted([*(g for g in shared.goals if g.user_id != uid), *(g for g in read if g.user_id == uid)],
                           key=lambda g: order.get(g.user_id, len(order)))
        shared.room_id = room_id
        if list(shared.goals) == fresh:
            realtime.detach_fanout(shared)  # nothing new for the others
            return
        # A returning member's goal (or a cache rebuilt after a restart): everyone gets it.
        await realtime.publish(shared, channels.room(room_id), self.router.session.session_id, goals=fresh)

    async def _away(self) -> None:
        """The tab is not in a room: unlinked."""
        ui = await self.get_state(BlockGoalUi)
        ui.goal_error = ui.outcome_error = ui.outcome_saved = ""
        if self._linked_to:
            realtime.detach_fanout(self)
            await self._unlink()

    @rx.event
    async def save(self, form: dict):
        """Set (or replace) your goal for this focus block from ``#block-goal-input``."""
        ui = await self.get_state(BlockGoalUi)
        ui.goal_error = ""
        uid = await self._caller_id()
        room_id = (await self.get_state(RoomPageState))._room_id
        if uid is None or not room_id or room_id != self.room_id:
            ui.goal_error = NOT_IN_ROOM
            return
        fresh = await self._attempt(in_db, _set_goal, room_id=room_id, user_id=uid, goal=form_text(form, "goal"),
                                    errors=(ui, "goal_error"))
        if fresh is REFUSED:
            return
        await realtime.publish(self, channels.room(room_id), self.router.session.session_id, goals=fresh)
        return rx.set_value("block-goal-input", "")


async def after_phase(room_id: int, advanced: rooms.Advance) -> None:
    """A focus block ended on the server: the room's goal lines clear (one broadcast) and each
    member whose goal closed is asked how it went (on their own channel)."""
    if not advanced.completed:
        return
    try:
        fresh, questions = await off_loop(in_db, _block_end, room_id=room_id,
                                          block_seqs=[b.seq for b in advanced.completed])
        async with realtime.modify_shared(RoomGoals, shared_key(room_id)) as shared:
            shared.room_id, shared.goals = room_id, fresh
            await realtime.push(channels.room(room_id), RoomGoals, goals=fresh)
        for uid, values in questions.items():
            await realtime.push(channels.user(uid), BlockGoalUi, **values)
    except Exception:  # a failure here must not stop the room's timer from moving on
        log.exception("block goals: delivering the end of a block in room %s failed", room_id)


phases.phase_hooks.append(after_phase)


class BlockLogState(Handler, rx.State):
    """The private "Your blocks" log of the student viewing their own profile."""

    entries: list[LogEntryView] = []

    @rx.event
    async def load(self):
        """on_load of /profile: the logged-in student's finished blocks (newest first)."""
        uid = await self._caller_id()
        if uid is None:
            self.entries = []
            return
        tz = (await self.get_state(AuthState)).timezone
        entries = await self._attempt(in_db, _log, user_id=uid, tz=tz)
        if entries is not REFUSED:
            self.entries = entries
