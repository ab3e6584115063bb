"""Task lists: personal tasks (lobby and rooms) and a room's tasks (everyone's, by author).

Every row: a checkbox, the text, edit and delete — the controls only on your own tasks (the
server refuses anyone else's anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import reflex as rx

from sessions_app.components.layout import panel
from sessions_app.services.tasks import MAX_TEXT
from sessions_app.state.auth import AuthState
from sessions_app.state.chat import RoomBoard, RoomBoardUi
from sessions_app.state.tasks import TaskState


@dataclass
class TaskBindings:
    """What a task panel shows and calls (personal or room)."""

    prefix: str  # "task" → #task-input/#task-add/#task-list, "room-task" → #room-task-*
    list_id: str
    row_class: str
    tasks: rx.Var
    error: rx.Var
    editing_id: rx.Var
    on_add: Callable
    on_set_done: Callable
    on_delete: Callable
    on_start_edit: Callable
    on_cancel_edit: Callable
    on_save_edit: Callable
    mine: Callable[[rx.Var], rx.Var]
    show_author: bool = False


def _row(t, b: TaskBindings) -> rx.Component:
    mine = b.mine(t)
    editing = b.editing_id == t.id
    text = rx.text(
        t.text, size="2", class_name="task-text",
        style={"overflow_wrap": "anywhere", "text_decoration": rx.cond(t.done, "line-through", "none"),
               "opacity": rx.cond(t.done, "0.6", "1")},
    )
    view = rx.hstack(
        rx.checkbox(checked=t.done, disabled=~mine, class_name="task-toggle", aria_label="Done",
                    on_change=lambda checked: b.on_set_done(t.id, checked)),
        rx.vstack(
            text,
            *([rx.text(t.author, size="1", color_scheme="gray", class_name="task-author")] if b.show_author else []),
            spacing="0", flex="1", min_width="0",
        ),
        rx.cond(
            mine,
            rx.hstack(
                rx.icon_button(rx.icon("pencil", size=14), variant="ghost", size="1", color_scheme="gray",
                               class_name="task-edit", aria_label="Edit task", on_click=b.on_start_edit(t.id)),
                rx.icon_button(rx.icon("trash-2", size=14), variant="ghost", size="1", color_scheme="gray",
                               class_name="task-delete", aria_label="Delete task", on_click=b.on_delete(t.id)),
                spacing="1",
            ),
        ),
        align="center", spacing="2", width="100%",
    )
    edit = rx.form(
        rx.hstack(
            rx.input(name="text", default_value=t.text, max_length=MAX_TEXT, auto_focus=True, size="2",
                     width="100%", class_name="task-edit-input", aria_label="Task text"),
            rx.icon_button(rx.icon("check", size=14), type="submit", size="2", class_name="task-save",
                           aria_label="Save"),
            rx.icon_button(rx.icon("x", size=14), type="button", variant="soft", color_scheme="gray", size="2",
                           class_name="task-cancel", aria_label="Cancel", on_click=b.on_cancel_edit),
            width="100%", spacing="2", align="center",
        ),
        on_submit=b.on_save_edit, reset_on_submit=False, width="100%",
    )
    return rx.box(rx.cond(editing & mine, edit, view), class_name=b.row_class,
                  custom_attrs={"data-task-id": t.id}, width="100%", padding_y="0.2rem")


def task_panel(title: str, b: TaskBindings, *, placeholder: str, empty: str, extra=None) -> rx.Component:
    """A task list with its add field and error line."""
    return panel(
        rx.vstack(
            rx.hstack(rx.icon("list-checks", size=18), rx.heading(title, size="4"), rx.spacer(),
                      *([extra] if extra is not None else []), align="center", spacing="2", width="100%"),
            rx.form(
                rx.hstack(
                    rx.input(id=f"{b.prefix}-input", name="text", placeholder=placeholder, max_length=MAX_TEXT,
                             width="100%", size="2", aria_label=placeholder),
                    rx.button(rx.icon("plus", size=16), "Add", id=f"{b.prefix}-add", type="submit", size="2"),
                    width="100%", spacing="2",
                ),
                on_submit=b.on_add, reset_on_submit=False, width="100%",
            ),
            rx.cond(b.error != "", rx.text(b.error, color_scheme="red", size="2", id=f"{b.prefix}-error",
                                           role="alert")),
            rx.vstack(rx.foreach(b.tasks, lambda t: _row(t, b)), id=b.list_id, spacing="1", width="100%",
                      max_height="22rem", overflow_y="auto"),
            rx.cond(b.tasks.length() == 0, rx.text(empty, size="2", color_scheme="gray")),
            spacing="3", width="100%",
        ),
    )


def personal_tasks_panel() -> rx.Component:
    """The student's own to-do list (lobby and rooms): ``#task-input``, ``#task-add``,
    ``#task-list`` with one ``.task`` per task."""
    T = TaskState  # noqa: N806
    return task_panel("My tasks", TaskBindings(
        prefix="task", list_id="task-list", row_class="task", tasks=T.tasks, error=T.error,
        editing_id=T.editing_id, on_add=T.add, on_set_done=T.set_done, on_delete=T.delete,
        on_start_edit=T.start_edit, on_cancel_edit=T.cancel_edit, on_save_edit=T.save_edit,
        mine=lambda t: rx.Var.create(True),
    ), placeholder="Add a task", empty="Nothing to do yet. Add what you want to get done.",
        extra=rx.cond(T.tasks.length() > 0,
                      rx.button("Clear done", variant="ghost", size="1", color_scheme="gray", id="task-clear-done",
                                on_click=T.clear_done)))


def room_tasks_panel() -> rx.Component:
    """This block's objectives of everyone in the room: ``#room-task-input``,
    ``#room-task-add``, ``#room-tasks`` with one ``.room-task`` each."""
    return task_panel("Room tasks", TaskBindings(
        prefix="room-task", list_id="room-tasks", row_class="room-task", tasks=RoomBoard.tasks,
        error=RoomBoardUi.task_error, editing_id=RoomBoardUi.editing_task_id, on_add=RoomBoard.add_task,
        on_set_done=RoomBoard.set_task_done, on_delete=RoomBoard.delete_task,
        on_start_edit=RoomBoardUi.start_task_edit, on_cancel_edit=RoomBoardUi.cancel_task_edit,
        on_save_edit=RoomBoard.save_task_edit, mine=lambda t: t.user_id == AuthState.user_id, show_author=True,
    # Not "goal": the one goal per block is the goal bar under the timer (``focus_blocks``).
    ), placeholder="A task for the room", empty="No room tasks yet. List the steps you will work through.")
