"""Room chat and room tasks: the room's shared board (the lobby chat is ``state.lobby_chat``).

Room: ``RoomBoard`` is a small shared state linked to the room's key (``shared_key``, the
same key as ``RoomLive``) by the room page's one load (``state.room_page``). It holds the chat tail (last 50
messages) and the room's tasks; every load rebuilds them from the DB (which is also how a
reconnecting tab catches up: on_load runs again and the lists are replaced whole). A task
change writes the DB, then goes out as ONE broadcast of the task list to the room's channel.

Chat, room and lobby alike (``state.lobby_chat``), goes through ``live.chat`` (the chat pipeline): the service authorizes
and returns the change, and only that change is broadcast (the browser merges it into its
list).

"Load older" history is per tab (``RoomBoardUi``, ``state.chat_history``): a gap-free
window from the oldest loaded message up to the newest at load time; the live tail adds the
messages after it.
"""

from __future__ import annotations

import reflex as rx

from sessions_app import realtime
from sessions_app.db import session_scope
from sessions_app.live import channels, targets
from sessions_app.live.chat import (  # noqa: F401 - MessageView, SegmentView: names kept for callers
    MessageView,
    SegmentView,
    catch_up_wire,
    deliver,
    message_views,
    tail_views,
)
from sessions_app.live.rooms import shared_key
from sessions_app.services import chat, tasks
from sessions_app.state.base import REFUSED, Handler
from sessions_app.state.chat_history import MAX_OLDER_PAGES, in_db, older_window
from sessions_app.state.chat_posts import fast_post
from sessions_app.state.lobby_chat import LobbyChatState  # noqa: F401 - its old home; callers import it here
from sessions_app.state.room import RoomPageState
from sessions_app.state.tasks import TaskView, form_text, task_views

NOT_IN_ROOM = "Join the room first."


# Room tasks have the same shape as personal ones (with the author's name filled in).
RoomTaskView = TaskView


def _room_older(channel_name: str, uid: int, first_shown: int) -> tuple[list[MessageView], bool]:
    with session_scope() as db:
        return older_window(db, channel_name, uid, first_shown)


def board_read(db, room_id: int, uid: int) -> tuple[int, list[MessageView], list[TaskView]]:
    """The room page's read of the board (in its load's transaction): chat tail with its
    sequence number, and the room's tasks. The services check membership."""
    tail = chat.tail(db, chat.room_channel(room_id), chat.PAGE, user_id=uid)
    return tail.seq, message_views(tail.messages), task_views(tasks.room_tasks(db, room_id=room_id, user_id=uid))


def _room_task_change(fn, uid: int, room_id: int) -> list[TaskView]:
    with session_scope() as db:
        fn(db, uid, room_id)
        return task_views(tasks.room_tasks(db, room_id=room_id, user_id=uid))


# --- room -------------------------------------------------------------------------------------


class RoomBoardUi(Handler, rx.State):
    """This tab's side of the room board: its own errors, older history and task editing."""

    chat_error: str = ""
    task_error: str = ""
    editing_task_id: int = 0
    older: list[MessageView] = []
    older_last_id: int = 0
    older_done: bool = False
    older_pages: int = 0

    def _reset(self) -> None:
        self.chat_error = self.task_error = ""
        self.editing_task_id = self.older_last_id = self.older_pages = 0
        self.older = []
        self.older_done = False

    @rx.event
    async def load_older(self):
        """Show 50 more messages before the oldest one shown."""
        self.chat_error = ""
        board = await self.get_state(RoomBoard)
        uid = await self._caller_id()
        room_id = (await self.get_state(RoomPageState))._room_id
        if uid is None or not room_id or room_id != board.room_id:
            self.chat_error = NOT_IN_ROOM
            return
        if self.older_pages >= MAX_OLDER_PAGES:
            self.chat_error = "That is as far back as this view goes. Reload to start again."
            return
        first = self.older[0].id if self.older else (board.messages[0].id if board.messages else 2**62)
        result = await self._attempt(_room_older, chat.room_channel(room_id), uid, first,
                                     errors=(self, "chat_error"))
        if result is REFUSED:
            return
        older, done = result
        if older:
            self.older, self.older_last_id = older, older[-1].id
            self.older_pages += 1
        self.older_done = done

    @rx.event
    async def send(self, form: dict):
        """Post ``#chat-input``'s text to the room (members only, rate-limited).

        Link-free (``realtime.link_free``, below the class): the post needs none of the room's
        shared stores — the room is this tab's server-side ``RoomPageState._room_id``, the
        service checks presence in the database, and the order is the chat's sequence numbers
        — so it locks only this tab's state."""
        if self.chat_error:  # (setting a var, even to its value, costs a delta)
            self.chat_error = ""
        room_id = (await self.get_state(RoomPageState))._room_id
        if not room_id:
            self.chat_error = NOT_IN_ROOM
            return
        body = form_text(form, "body")
        # The caller and the post: one transaction, one trip off the loop.
        uid, change = await self._attempt_as_caller(
            lambda db, uid: chat.post(db, channel=chat.room_channel(room_id), user_id=uid, body=body),
            errors=(self, "chat_error"))
        if uid is None:
            self.chat_error = NOT_IN_ROOM
            return
        if change is REFUSED:
            return
        # After the commit, only the new message travels (in ``RoomBoard``'s change var).
        await deliver(channels.room(room_id), RoomBoard, change)
        return rx.set_value("chat-input", "")

    @rx.event
    def start_task_edit(self, task_id: int):
        """Show the edit field for one of the room tasks (ownership is checked on save)."""
        self.task_error = ""
        self.editing_task_id = task_id if isinstance(task_id, int) else 0

    @rx.event
    def cancel_task_edit(self):
        """Close the edit field."""
        self.editing_task_id = 0


realtime.link_free(RoomBoardUi, "send")


async def _fast_send(event: realtime.FastEvent) -> bool:
    """``RoomBoardUi.send`` before Reflex's queue (``state.chat_posts``): the room is the one
    whose channel the server put this socket in (by the room page's load, after the entry
    was authorized); none: Reflex's ``send`` answers."""
    room_id = event.channel(channels.room_id_of)
    if room_id is None:
        return False
    return await fast_post(event, chat_channel=chat.room_channel(room_id), socket_channel=channels.room(room_id),
                           feed=RoomBoard, form=RoomBoardUi, error_var="chat_error", input_id="chat-input")


@targets.register(targets.ROOM_BOARD)
@realtime.broadcast_only
class RoomBoard(Handler, rx.SharedState):
    """The room's chat tail and tasks, as every member sees them. Plain vars only."""

    room_id: int = 0
    messages: list[MessageView] = []
    deleted_ids: list[int] = []
    # The chat pipeline's change var, the channel the list belongs to and the channel's
    # sequence number the list is current at (``live.chat``).
    chat_event: dict = {}
    feed: str = ""
    feed_seq: int = 0
    tasks: list[RoomTaskView] = []

    async def _caller(self) -> tuple[int, int] | None:
        """(user id, room id) when the caller is logged in and this tab is in this board's
        room (server-side values only); the services then check membership in the DB."""
        uid = await self._caller_id()
        room_id = (await self.get_state(RoomPageState))._room_id
        if uid is None or not room_id or room_id != self.room_id:
            return None
        return uid, room_id

    async def _publish(self, room_id: int, **values) -> None:
        await realtime.publish(self, channels.room(room_id), self.router.session.session_id, **values)

    async def _fill(self, room_id: int, uid: int, value: tuple[int, list[MessageView], list[TaskView]]) -> None:
        """Part of the room page's one load (``state.room_page``): link this tab to the room's
        board (under the room's lock) and set it from the load's read (``board_read``). The
        chat tail is the read's (the chat feed merges what was broadcast since the tab joined
        the channel); the room's tasks are the cached board's when there is one (every task
        change sets them under this lock: newer than the read), else the read's."""
        (await self.get_state(RoomBoardUi))._reset()
        board = await self._link_to(shared_key(room_id))
        seq, messages, room_tasks = value
        if board.room_id != room_id:
            board.room_id, board.tasks = room_id, room_tasks
        board.feed_seq, board.messages = seq, messages
        board.feed = chat.room_channel(room_id)
        # Nothing changed for the others: no fan-out, no broadcast (this tab gets its delta).
        realtime.detach_fanout(board)

    async def _away(self) -> None:
        """The tab is not in a room (refused, logged out): unlinked, nothing of a room kept."""
        (await self.get_state(RoomBoardUi))._reset()
        await self._leave()

    async def _leave(self) -> None:
        """Unlink from the room's board. The rehydrate events ``_unlink`` returns are dropped
        on purpose: a server-sent hydrate carries no client storage, so it would reset cookie
        vars (the login token) to their defaults and log the student out. The browser keeps
        the old board values in memory, unseen; a reload or the next room gets fresh ones."""
        if self._linked_to:
            realtime.detach_fanout(self)
            await self._unlink()

    # --- chat ---------------------------------------------------------------------------------

    @rx.event
    async def delete_message(self, message_id: int):
        """Delete a message of this room: the author's own, or any as the host."""
        ui = await self.get_state(RoomBoardUi)
        ui.chat_error = ""
        caller = await self._caller()
        if caller is None:
            ui.chat_error = NOT_IN_ROOM
            return
        uid, room_id = caller
        change = await self._attempt(in_db, chat.delete, message_id=message_id, user_id=uid,
                                     channel=chat.room_channel(room_id), errors=(ui, "chat_error"))
        if change is REFUSED:
            return
        realtime.detach_fanout(self)
        await deliver(channels.room(room_id), RoomBoard, change)

    @rx.event
    async def catch_up(self, after: int):
        """The browser saw a gap in this room chat's sequence numbers: send this tab (only) the
        changes after ``after``, or the fresh tail when it is too far behind."""
        caller = await self._caller()
        realtime.detach_fanout(self)
        if caller is None:
            return
        uid, room_id = caller
        room_chat = chat.room_channel(room_id)
        caught = await self._attempt(catch_up_wire, room_chat, after, uid, chat.PAGE,
                                     errors=(await self.get_state(RoomBoardUi), "chat_error"))
        if caught is None:
            tail = await self._attempt(tail_views, room_chat, uid)
            if tail is not REFUSED:
                self.feed_seq, self.messages = tail
        elif caught is not REFUSED:
            self.chat_event = caught

    # --- room tasks ---------------------------------------------------------------------------

    async def _task_change(self, fn) -> bool:
        """Run one room-task change for the caller, then broadcast the room's task list."""
        ui = await self.get_state(RoomBoardUi)
        ui.task_error = ""
        caller = await self._caller()
        if caller is None:
            ui.task_error = NOT_IN_ROOM
            return False
        uid, room_id = caller
        room_tasks = await self._attempt(_room_task_change, fn, uid, room_id, errors=(ui, "task_error"))
        if room_tasks is REFUSED:
            return False
        await self._publish(room_id, tasks=room_tasks)
        return True

    @rx.event
    async def add_task(self, form: dict):
        """Add an objective for this block from ``#room-task-input``."""
        text = form_text(form)
        if await self._task_change(lambda db, uid, rid: tasks.create_room_task(db, room_id=rid, user_id=uid,
                                                                                text=text)):
            return rx.set_value("room-task-input", "")

    @rx.event
    async def set_task_done(self, task_id: int, done: bool):
        """Tick one of your room tasks done (or not)."""
        await self._task_change(lambda db, uid, rid: tasks.set_done(db, task_id=task_id, user_id=uid, done=done,
                                                                    room_id=rid))

    @rx.event
    async def delete_task(self, task_id: int):
        """Delete one of your room tasks."""
        await self._task_change(lambda db, uid, rid: tasks.delete(db, task_id=task_id, user_id=uid, room_id=rid))

    @rx.event
    async def save_task_edit(self, form: dict):
        """Save the text of the room task this tab is editing."""
        ui = await self.get_state(RoomBoardUi)
        task_id, text = ui.editing_task_id, form_text(form)
        if await self._task_change(lambda db, uid, rid: tasks.edit(db, task_id=task_id, user_id=uid, text=text,
                                                                   room_id=rid)):
            ui.editing_task_id = 0


realtime.fast_event(RoomBoardUi, "send", _fast_send)
