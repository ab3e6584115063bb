"""Personal tasks: this tab's view of the logged-in student's own to-do list.

Private state, loaded from the DB on the lobby and room pages; every change is saved at once
through ``services.tasks`` (which checks ownership) and the list is re-read from the DB.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from sessions_app.db import session_scope
from sessions_app.services import tasks
from sessions_app.state.base import REFUSED, Handler

LOGIN_FIRST = "Log in again to change your tasks."


@dataclasses.dataclass
class TaskView:
    """A task as the browser shows it (personal or room)."""

    id: int = 0
    user_id: int = 0
    author: str = ""
    text: str = ""
    done: bool = False


def task_views(items: list[tasks.TaskPublic]) -> list[TaskView]:
    """Service results as state values."""
    return [TaskView(t.id, t.user_id, t.author_name, t.text, t.done) for t in items]


def form_text(form: object, key: str = "text") -> object:
    """A field from a submitted form (anything else is refused by the service)."""
    return form.get(key) if isinstance(form, dict) else None


def _change_and_list(fn, uid: int) -> list[TaskView]:
    """One change and the list after it, in one transaction (off the loop)."""
    with session_scope() as db:
        fn(db, uid)
        return task_views(tasks.personal_tasks(db, user_id=uid))


def _list(uid: int) -> list[TaskView]:
    with session_scope() as db:
        return task_views(tasks.personal_tasks(db, user_id=uid))


class TaskState(Handler, rx.State):
    """The student's personal tasks."""

    tasks: list[TaskView] = []
    error: str = ""
    editing_id: int = 0

    async def _uid(self) -> int | None:
        return await self._caller_id()

    async def _change(self, fn) -> bool:
        """Run one service change for the caller and re-read the list; False if refused."""
        self.error = ""
        uid = await self._uid()
        if uid is None:
            self.error = LOGIN_FIRST
            return False
        listed = await self._attempt(_change_and_list, fn, uid)
        if listed is REFUSED:
            return False
        self.tasks = listed
        return True

    def _fill(self, listed: list[TaskView]) -> None:
        """Part of the room page's one load (``state.room_page``): the list it read."""
        self.error, self.editing_id = "", 0
        self.tasks = listed

    @rx.event
    async def load(self):
        """on_load of the lobby and room pages: the student's tasks from the DB."""
        self.error, self.editing_id = "", 0
        uid = await self._uid()
        if uid is None:
            self.tasks = []
            return
        self.tasks = await self._attempt(_list, uid)

    @rx.event
    async def add(self, form: dict):
        """Add a task from ``#task-input``."""
        if await self._change(lambda db, uid: tasks.create_personal(db, user_id=uid, text=form_text(form))):
            return rx.set_value("task-input", "")

    @rx.event
    async def set_done(self, task_id: int, done: bool):
        """Tick a task done (or not)."""
        await self._change(lambda db, uid: tasks.set_done(db, task_id=task_id, user_id=uid, done=done))

    @rx.event
    async def delete(self, task_id: int):
        """Delete a task."""
        if await self._change(lambda db, uid: tasks.delete(db, task_id=task_id, user_id=uid)):
            self.editing_id = 0 if self.editing_id == task_id else self.editing_id

    @rx.event
    def start_edit(self, task_id: int):
        """Show the edit field for one task (what may be saved is checked on save)."""
        self.error = ""
        self.editing_id = task_id if isinstance(task_id, int) else 0

    @rx.event
    def cancel_edit(self):
        """Close the edit field without saving."""
        self.editing_id = 0

    @rx.event
    async def save_edit(self, form: dict):
        """Save the edited text of the task being edited."""
        task_id = self.editing_id
        if await self._change(lambda db, uid: tasks.edit(db, task_id=task_id, user_id=uid, text=form_text(form))):
            self.editing_id = 0

    @rx.event
    async def clear_done(self):
        """Delete every done task."""
        await self._change(lambda db, uid: tasks.clear_done(db, user_id=uid))
