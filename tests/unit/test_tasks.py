"""Tasks service: personal CRUD with owner checks and caps, room tasks for members, and room
tasks cleared when the room closes."""

from __future__ import annotations

import pytest
from sqlmodel import select

from sessions_app.models import Task
from sessions_app.services import rooms, tasks
from sessions_app.services.errors import ServiceError
from tests.support.factories import make_room, make_user

# --- personal tasks ---------------------------------------------------------------------------


def test_personal_crud(db):
    ada = make_user(db).id
    t = tasks.create_personal(db, user_id=ada, text="  Read   chapter\n3 ")
    assert (t.text, t.done, t.room_id, t.author_name) == ("Read chapter 3", False, None, "Ada")
    assert tasks.edit(db, task_id=t.id, user_id=ada, text="Read chapter 4").text == "Read chapter 4"
    assert tasks.toggle(db, task_id=t.id, user_id=ada).done is True
    assert tasks.toggle(db, task_id=t.id, user_id=ada).done is False
    assert tasks.set_done(db, task_id=t.id, user_id=ada, done=True).done is True
    assert [x.text for x in tasks.personal_tasks(db, user_id=ada)] == ["Read chapter 4"]
    tasks.delete(db, task_id=t.id, user_id=ada)
    assert tasks.personal_tasks(db, user_id=ada) == []
    assert db.get(Task, t.id) is None


def test_listing_open_first_then_done(db):
    ada = make_user(db).id
    a, b, c = (tasks.create_personal(db, user_id=ada, text=x) for x in "abc")
    tasks.toggle(db, task_id=a.id, user_id=ada)
    assert [(x.text, x.done) for x in tasks.personal_tasks(db, user_id=ada)] == [("b", False), ("c", False),
                                                                                ("a", True)]
    assert tasks.clear_done(db, user_id=ada) == 1
    assert [x.text for x in tasks.personal_tasks(db, user_id=ada)] == ["b", "c"]


@pytest.mark.parametrize("text", ["", "   ", None, 7, "x" * 201, "a\x00b", "a\x1bb"])
def test_bad_text_refused(db, text):
    ada = make_user(db).id
    with pytest.raises(ServiceError):
        tasks.create_personal(db, user_id=ada, text=text)
    assert db.exec(select(Task)).all() == []


def test_text_limit_is_200(db):
    ada = make_user(db).id
    assert len(tasks.create_personal(db, user_id=ada, text="y" * 200).text) == 200
    t = tasks.create_personal(db, user_id=ada, text="ok")
    with pytest.raises(ServiceError, match="too long"):
        tasks.edit(db, task_id=t.id, user_id=ada, text="z" * 201)
    assert db.get(Task, t.id).text == "ok"


def test_nobody_touches_another_users_task(db):
    ada, bob = make_user(db, "Ada").id, make_user(db, "Bob").id
    t = tasks.create_personal(db, user_id=ada, text="private")
    for op in (lambda: tasks.edit(db, task_id=t.id, user_id=bob, text="mine now"),
               lambda: tasks.toggle(db, task_id=t.id, user_id=bob),
               lambda: tasks.set_done(db, task_id=t.id, user_id=bob, done=True),
               lambda: tasks.delete(db, task_id=t.id, user_id=bob),
               lambda: tasks.edit(db, task_id=t.id, user_id=None, text="anon")):
        with pytest.raises(ServiceError, match="no longer exists, or it is not yours"):
            op()
    stored = db.get(Task, t.id)
    assert (stored.text, stored.done) == ("private", False)
    assert tasks.personal_tasks(db, user_id=bob) == []


@pytest.mark.parametrize("bad_id", [None, "x", 0, -3, 99_999])
def test_unknown_task_ids_refused(db, bad_id):
    ada = make_user(db).id
    with pytest.raises(ServiceError):
        tasks.toggle(db, task_id=bad_id, user_id=ada)


def test_open_task_cap(db):
    ada = make_user(db).id
    made = [tasks.create_personal(db, user_id=ada, text=f"t{i}") for i in range(tasks.MAX_OPEN_PERSONAL)]
    with pytest.raises(ServiceError, match="100 open tasks"):
        tasks.create_personal(db, user_id=ada, text="one too many")
    tasks.toggle(db, task_id=made[0].id, user_id=ada)  # done: a slot frees up
    tasks.create_personal(db, user_id=ada, text="now fits")
    with pytest.raises(ServiceError, match="100 open tasks"):  # reopening would exceed the cap
        tasks.toggle(db, task_id=made[0].id, user_id=ada)


# --- room tasks -------------------------------------------------------------------------------


def test_room_tasks_for_members_with_author_names(db):
    host, guest, outsider = make_user(db, "Host").id, make_user(db, "Guest").id, make_user(db, "Out").id
    room = make_room(db, host)
    rooms.enter(db, room_id=room.id, user_id=guest)
    tasks.create_room_task(db, room_id=room.id, user_id=host, text="Finish proof")
    tasks.create_room_task(db, room_id=room.id, user_id=guest, text="Ten exercises")
    listed = tasks.room_tasks(db, room_id=room.id, user_id=guest)
    assert [(t.author_name, t.text) for t in listed] == [("Host", "Finish proof"), ("Guest", "Ten exercises")]
    with pytest.raises(ServiceError, match="Only the people in this room"):
        tasks.room_tasks(db, room_id=room.id, user_id=outsider)
    with pytest.raises(ServiceError, match="Only the people in this room"):
        tasks.create_room_task(db, room_id=room.id, user_id=outsider, text="sneak")
    assert tasks.personal_tasks(db, user_id=host) == []  # room tasks are not personal


def test_only_the_owner_changes_a_room_task_even_the_host_cannot(db):
    host, guest = make_user(db, "Host").id, make_user(db, "Guest").id
    room = make_room(db, host)
    rooms.enter(db, room_id=room.id, user_id=guest)
    t = tasks.create_room_task(db, room_id=room.id, user_id=guest, text="mine")
    with pytest.raises(ServiceError):
        tasks.edit(db, task_id=t.id, user_id=host, text="host edit", room_id=room.id)
    with pytest.raises(ServiceError):
        tasks.delete(db, task_id=t.id, user_id=host, room_id=room.id)
    assert tasks.toggle(db, task_id=t.id, user_id=guest, room_id=room.id).done is True
    assert tasks.edit(db, task_id=t.id, user_id=guest, text="mine, edited", room_id=room.id).text == "mine, edited"


def test_scopes_do_not_cross(db):
    ada = make_user(db).id
    room = make_room(db, ada)
    other = make_room(db, ada)
    personal = tasks.create_personal(db, user_id=ada, text="personal")
    in_room = tasks.create_room_task(db, room_id=room.id, user_id=ada, text="room")
    with pytest.raises(ServiceError):  # the personal-task path cannot change a room task
        tasks.toggle(db, task_id=in_room.id, user_id=ada)
    with pytest.raises(ServiceError):  # nor a room's path a personal task
        tasks.toggle(db, task_id=personal.id, user_id=ada, room_id=room.id)
    with pytest.raises(ServiceError):  # nor another room's
        tasks.delete(db, task_id=in_room.id, user_id=ada, room_id=other.id)


def test_owner_who_left_cannot_change_room_task(db):
    host, guest = make_user(db, "Host").id, make_user(db, "Guest").id
    room = make_room(db, host)
    rooms.enter(db, room_id=room.id, user_id=guest)
    t = tasks.create_room_task(db, room_id=room.id, user_id=guest, text="goal")
    rooms.leave(db, room_id=room.id, user_id=guest)
    with pytest.raises(ServiceError):
        tasks.toggle(db, task_id=t.id, user_id=guest, room_id=room.id)


def test_room_task_cap_per_user(db):
    ada = make_user(db).id
    room = make_room(db, ada)
    for i in range(tasks.MAX_ROOM_TASKS_PER_USER):
        tasks.create_room_task(db, room_id=room.id, user_id=ada, text=f"g{i}")
    with pytest.raises(ServiceError, match="already have 10 tasks"):
        tasks.create_room_task(db, room_id=room.id, user_id=ada, text="one more")


def test_closing_the_room_clears_its_tasks_but_not_personal_ones(db):
    host, guest = make_user(db, "Host").id, make_user(db, "Guest").id
    room = make_room(db, host)
    other = make_room(db, guest)
    rooms.enter(db, room_id=room.id, user_id=guest)
    tasks.create_room_task(db, room_id=room.id, user_id=host, text="a")
    tasks.create_room_task(db, room_id=room.id, user_id=guest, text="b")
    kept = tasks.create_room_task(db, room_id=other.id, user_id=guest, text="other room")
    personal = tasks.create_personal(db, user_id=host, text="personal")
    rooms.close_room(db, room=rooms.get_open_room(db, room.id))
    db.flush()
    remaining = {t.id for t in db.exec(select(Task)).all()}
    assert remaining == {kept.id, personal.id}


def test_last_member_leaving_closes_room_and_clears_tasks(db):
    host = make_user(db, "Host").id
    room = make_room(db, host)
    tasks.create_room_task(db, room_id=room.id, user_id=host, text="a")
    assert rooms.leave(db, room_id=room.id, user_id=host).closed
    assert db.exec(select(Task).where(Task.room_id == room.id)).all() == []
