"""Tasks: a student's personal to-do list and short room objectives for the current block.

A personal task has no room (``room_id`` null) and only its owner ever sees it. A room task
belongs to one open room: the people present see everyone's (with author names), only its
owner changes it, and ``rooms.close_room`` deletes them when the room closes.

Every change names the scope it expects (``room_id=None`` for personal tasks): a handler for
personal tasks can never touch a room task (which would skip the room's broadcast) and
vice versa. Ownership is checked on every operation.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from sessions_app.models import Task, User
from sessions_app.services import rooms, text
from sessions_app.services.errors import ServiceError

MAX_TEXT = 200
MAX_OPEN_PERSONAL = 100
# Done personal tasks listed (the newest); older ones stay in the export.
MAX_DONE_LISTED = 50
MAX_ROOM_TASKS_PER_USER = 10
NOT_FOUND = "That task no longer exists, or it is not yours."
NOT_MEMBER = "Only the people in this room can see and add its tasks."


@dataclass(frozen=True)
class TaskPublic:
    """A task as its viewer sees it (room tasks carry their author's display name)."""

    id: int
    user_id: int
    author_name: str
    room_id: int | None
    text: str
    done: bool


def clean_text(raw: object) -> str:
    """A task's text with the one text rule (``text.clean``): one line, 1–200 characters."""
    return text.clean(raw, label="Task", max_len=MAX_TEXT, field="text", empty_message="Write the task first.")


def _public(task: Task, author: User | None) -> TaskPublic:
    return TaskPublic(task.id, task.user_id, author.display_name if author else "", task.room_id, task.text,
                      task.done)


def _open_personal_count(db: Session, user_id: int) -> int:
    return db.exec(select(func.count(Task.id)).where(Task.user_id == user_id, col(Task.room_id).is_(None),
                                                     col(Task.done).is_(False))).one()


def _require_member(db: Session, room_id: object, user_id: int | None) -> int:
    rid = text.parse_id(room_id)
    if not user_id or not rid or not rooms.is_member(db, rid, user_id):
        raise ServiceError(NOT_MEMBER)
    return rid


# --- personal tasks ---------------------------------------------------------------------------


def personal_tasks(db: Session, *, user_id: int) -> list[TaskPublic]:
    """The user's open tasks (oldest first), then their most recently done ones."""
    user = db.get(User, user_id)
    base = select(Task).where(Task.user_id == user_id, col(Task.room_id).is_(None))
    open_ = db.exec(base.where(col(Task.done).is_(False)).order_by(col(Task.id))).all()
    done = db.exec(base.where(col(Task.done).is_(True)).order_by(col(Task.id).desc()).limit(MAX_DONE_LISTED)).all()
    return [_public(t, user) for t in [*open_, *done]]


def create_personal(db: Session, *, user_id: int, text: object) -> TaskPublic:
    """Add a personal task (at most 100 open ones)."""
    clean = clean_text(text)
    if _open_personal_count(db, user_id) >= MAX_OPEN_PERSONAL:
        raise ServiceError(f"You have {MAX_OPEN_PERSONAL} open tasks. Finish or delete some first.")
    task = Task(user_id=user_id, room_id=None, text=clean)
    db.add(task)
    db.flush()
    return _public(task, db.get(User, user_id))


def clear_done(db: Session, *, user_id: int) -> int:
    """Delete the user's done personal tasks; returns how many."""
    tasks = db.exec(select(Task).where(Task.user_id == user_id, col(Task.room_id).is_(None),
                                       col(Task.done).is_(True))).all()
    for task in tasks:
        db.delete(task)
    db.flush()
    return len(tasks)


# --- room tasks -------------------------------------------------------------------------------


def room_tasks(db: Session, *, room_id: object, user_id: int | None) -> list[TaskPublic]:
    """Every task of the room, oldest first, with authors (members only)."""
    rid = _require_member(db, room_id, user_id)
    rows = db.exec(select(Task, User).join(User, User.id == Task.user_id).where(Task.room_id == rid)
                   .order_by(col(Task.id))).all()
    return [_public(t, u) for t, u in rows]


def create_room_task(db: Session, *, room_id: object, user_id: int | None, text: object) -> TaskPublic:
    """Add an objective for this block to the room (members only, 10 each)."""
    rid = _require_member(db, room_id, user_id)
    clean = clean_text(text)
    mine = db.exec(select(func.count(Task.id)).where(Task.room_id == rid, Task.user_id == user_id)).one()
    if mine >= MAX_ROOM_TASKS_PER_USER:
        raise ServiceError(f"You already have {MAX_ROOM_TASKS_PER_USER} tasks in this room. Delete one first.")
    task = Task(user_id=user_id, room_id=rid, text=clean)
    db.add(task)
    db.flush()
    return _public(task, db.get(User, user_id))


# --- changes to one task (either kind) --------------------------------------------------------


def _owned(db: Session, task_id: object, user_id: int | None, room_id: int | None) -> Task:
    """The task with this id if it is the user's and in the expected scope (refused otherwise).

    Room tasks also need the owner to be present in the room.
    """
    tid = text.parse_id(task_id)
    task = db.get(Task, tid) if tid else None
    if task is None or not user_id or task.user_id != user_id or task.room_id != room_id:
        raise ServiceError(NOT_FOUND)
    if room_id is not None:
        _require_member(db, room_id, user_id)
    return task


def edit(db: Session, *, task_id: object, user_id: int | None, text: object, room_id: int | None = None) -> TaskPublic:
    """Change a task's text (owner only)."""
    task = _owned(db, task_id, user_id, room_id)
    task.text = clean_text(text)
    db.add(task)
    db.flush()
    return _public(task, db.get(User, task.user_id))


def set_done(db: Session, *, task_id: object, user_id: int | None, done: object,
             room_id: int | None = None) -> TaskPublic:
    """Mark a task done or not done (owner only)."""
    task = _owned(db, task_id, user_id, room_id)
    done = done is True
    if not done and task.done and room_id is None and _open_personal_count(db, task.user_id) >= MAX_OPEN_PERSONAL:
        raise ServiceError(f"You have {MAX_OPEN_PERSONAL} open tasks. Finish or delete some first.")
    task.done = done
    db.add(task)
    db.flush()
    return _public(task, db.get(User, task.user_id))


def toggle(db: Session, *, task_id: object, user_id: int | None, room_id: int | None = None) -> TaskPublic:
    """Flip a task between done and not done (owner only)."""
    task = _owned(db, task_id, user_id, room_id)
    return set_done(db, task_id=task.id, user_id=user_id, done=not task.done, room_id=room_id)


def delete(db: Session, *, task_id: object, user_id: int | None, room_id: int | None = None) -> None:
    """Delete a task (owner only)."""
    task = _owned(db, task_id, user_id, room_id)
    db.delete(task)
    db.flush()
