"""The room's mood: cosmetics unlock by level and are validated and authorized on the server;
the ambient mix accepts only whole volumes 0–100 and a refusal changes nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError

from sessions_app.models import AmbientMix, User
from sessions_app.services import (
    account_data,
    ambient,
    chat,
    cosmetics,
    progression,
    rooms,
)
from sessions_app.services.errors import ServiceError
from tests.support.factories import make_room, make_user

LEVEL_5 = progression.exp_for_level(5)

# --- cosmetics: the unlock rules ------------------------------------------------------------


def test_every_cosmetic_has_a_unique_key_and_a_reachable_level():
    for kind, items in cosmetics.CATALOGUE.items():
        keys = [c.key for c in items]
        assert len(set(keys)) == len(keys) and "" not in keys, kind
        assert all(1 <= c.level <= 10 for c in items), kind
        # Levels rise down the list: a chooser reads as a ladder.
        assert [c.level for c in items] == sorted(c.level for c in items), kind
        assert all(len(c.key) <= 24 and c.key.replace("-", "").isalnum() for c in items), kind


@pytest.mark.parametrize("level", range(0, 9))
def test_options_lock_exactly_what_is_above_the_level(level):
    for kind in cosmetics.CATALOGUE:
        options = cosmetics.options(kind, level)
        assert options[0] == cosmetics.Option("", "None", 0, False)
        for option in options[1:]:
            assert option.locked == (option.level > level)


def test_check_accepts_unlocked_refuses_locked_unknown_and_malformed():
    assert cosmetics.check("name_color", "neon-cyan", 1) == "neon-cyan"
    assert cosmetics.check("name_color", "", 0) == ""
    with pytest.raises(ServiceError, match="unlocks at level 7; you are level 6"):
        cosmetics.check("name_color", "aurora", 6)
    assert cosmetics.check("name_color", "aurora", 7) == "aurora"
    for bad in ("red", "NEON-CYAN", "neon-cyan ", "glow", "javascript:alert(1)"):  # glow is a border
        with pytest.raises(ServiceError, match="no such name colour"):
            cosmetics.check("name_color", bad, 99)
    for bad in (None, 3, ["neon-cyan"], {"key": "neon-cyan"}):
        with pytest.raises(ServiceError, match="from the list"):
            cosmetics.check("name_color", bad, 99)
    with pytest.raises(ServiceError, match="Unknown kind"):
        cosmetics.check("font", "neon-cyan", 99)


@given(level=st.integers(min_value=0, max_value=12), key=st.text(max_size=30))
def test_check_never_lets_through_anything_but_an_unlocked_catalogue_key(level, key):
    try:
        value = cosmetics.check("border", key, level)
    except ServiceError:
        return
    assert value == "" or any(c.key == value and c.level <= level for c in cosmetics.CATALOGUE["border"])


def test_a_student_chooses_what_their_level_unlocks(db):
    ada = make_user(db, exp=LEVEL_5)
    assert cosmetics.choose(db, user_id=ada.id, kind="name_color", key="solar-gold").name_color == "solar-gold"
    assert cosmetics.choose(db, user_id=ada.id, kind="border", key="pulse") == cosmetics.Looks("solar-gold", "pulse")
    with pytest.raises(ServiceError, match="level 6"):
        cosmetics.choose(db, user_id=ada.id, kind="border", key="rainbow")
    with pytest.raises(ServiceError):
        cosmetics.choose(db, user_id=ada.id, kind="background", key="dusk")  # a room's, not a student's
    with pytest.raises(ServiceError, match="Log in"):
        cosmetics.choose(db, user_id=None, kind="border", key="glow")
    db.refresh(ada)
    assert (ada.name_color, ada.avatar_border) == ("solar-gold", "pulse")  # refusals changed nothing
    # Back to none is always allowed.
    assert cosmetics.choose(db, user_id=ada.id, kind="border", key="") == cosmetics.Looks("solar-gold", "")


def test_what_others_see_is_rechecked_against_the_level(db):
    ada = make_user(db, exp=LEVEL_5)
    cosmetics.choose(db, user_id=ada.id, kind="name_color", key="solar-gold")
    assert cosmetics.looks(ada).name_color == "solar-gold"
    ada.exp_total = 0  # e.g. EXP corrected by an admin: the colour no longer shows
    ada.avatar_border = "no-such-border"  # a key removed from the catalogue
    assert cosmetics.looks(ada) == cosmetics.Looks("", "")


def test_members_and_chat_messages_carry_the_authors_looks(db):
    ada = make_user(db, exp=LEVEL_5)
    cosmetics.choose(db, user_id=ada.id, kind="name_color", key="neon-lime")
    cosmetics.choose(db, user_id=ada.id, kind="border", key="glow")
    bob = make_user(db, "Bob")
    room = make_room(db, ada.id)
    rooms.enter(db, room_id=room.id, user_id=bob.id)
    looks = {m.user_id: m.looks for m in rooms.members(db, room.id)}
    assert looks == {ada.id: cosmetics.Looks("neon-lime", "glow"), bob.id: cosmetics.Looks()}
    message = chat.post_message(db, channel=chat.room_channel(room.id), user_id=ada.id, body="hi")
    assert message.looks == cosmetics.Looks("neon-lime", "glow")
    assert chat.recent(db, chat.room_channel(room.id), user_id=bob.id)[-1].looks.name_color == "neon-lime"


# --- room backgrounds ---------------------------------------------------------------------------


def test_only_the_present_host_sets_the_background_from_their_level(db):
    host = make_user(db, "Host", exp=progression.exp_for_level(4))
    guest = make_user(db, "Guest", exp=progression.exp_for_level(9))
    outsider = make_user(db, "Out", exp=progression.exp_for_level(9))
    room = make_room(db, host.id)
    rooms.enter(db, room_id=room.id, user_id=guest.id)

    assert cosmetics.set_room_background(db, room_id=room.id, user_id=host.id, key="ocean") == "ocean"
    with pytest.raises(ServiceError, match="Only the host"):
        cosmetics.set_room_background(db, room_id=room.id, user_id=guest.id, key="nebula")
    with pytest.raises(ServiceError, match="Join the room"):
        cosmetics.set_room_background(db, room_id=room.id, user_id=outsider.id, key="dusk")
    with pytest.raises(ServiceError, match="level 6"):
        cosmetics.set_room_background(db, room_id=room.id, user_id=host.id, key="nebula")
    with pytest.raises(ServiceError, match="no such room background"):
        cosmetics.set_room_background(db, room_id=room.id, user_id=host.id, key="url(https://evil)")
    with pytest.raises(ServiceError, match="Join the room"):
        cosmetics.set_room_background(db, room_id=room.id + 99, user_id=host.id, key="dusk")
    db.refresh(room)
    assert room.background == "ocean" and cosmetics.room_background(room) == "ocean"

    # A host who left is no longer the host: the next one decides.
    rooms.leave(db, room_id=room.id, user_id=host.id)
    with pytest.raises(ServiceError):
        cosmetics.set_room_background(db, room_id=room.id, user_id=host.id, key="dusk")
    assert cosmetics.set_room_background(db, room_id=room.id, user_id=guest.id, key="nebula") == "nebula"


# --- the ambient mix ------------------------------------------------------------------------------


def test_mix_defaults_until_changed_then_remembered(db):
    ada = make_user(db)
    assert ambient.get_mix(db, user_id=ada.id) == ambient.Mix()
    ambient.set_volume(db, user_id=ada.id, sound="rain", volume="70")
    ambient.set_volume(db, user_id=ada.id, sound="fire", volume=0)
    mix = ambient.set_fade(db, user_id=ada.id, on=False)
    assert mix == ambient.Mix(rain=70, cafe=ambient.Mix.cafe, fire=0, brown=ambient.Mix.brown, fade_in_breaks=False)
    assert ambient.get_mix(db, user_id=ada.id) == mix


@pytest.mark.parametrize("good, stored", [("0", 0), ("100", 100), (" 42 ", 42), (7, 7), ("007", 7), (35.0, 35), (0.0, 0)])
def test_volumes_that_are_accepted(good, stored):
    assert ambient.clean_volume(good) == stored


@pytest.mark.parametrize("bad", ["101", "-1", "3.5", "1e2", "", "abc", "٣", "0x10", "1000", -1, 101, 3.5, 100.5, -0.5, 101.0,
                                 float("nan"), float("inf"), True,
                                 False, None, [50], {"v": 5}])
def test_volumes_that_are_refused(bad):
    with pytest.raises(ServiceError, match="whole number from 0 to 100"):
        ambient.clean_volume(bad)


def test_a_refused_change_leaves_the_mix_as_it_was(db):
    ada = make_user(db)
    ambient.set_volume(db, user_id=ada.id, sound="cafe", volume=30)
    for sound, volume in (("cafe", "101"), ("thunder", "5"), ("__class__", "5"), ("cafe", True)):
        with pytest.raises(ServiceError):
            ambient.set_volume(db, user_id=ada.id, sound=sound, volume=volume)
    with pytest.raises(ServiceError):
        ambient.set_fade(db, user_id=ada.id, on="yes")
    with pytest.raises(ServiceError, match="Log in"):
        ambient.set_volume(db, user_id=None, sound="cafe", volume=5)
    assert ambient.get_mix(db, user_id=ada.id) == ambient.Mix(cafe=30)


def test_the_database_refuses_out_of_range_volumes_too(db):
    ada = make_user(db)
    db.add(AmbientMix(user_id=ada.id, rain=150))
    with pytest.raises(IntegrityError):
        db.flush()


def test_the_mix_goes_with_the_account(db):
    ada = make_user(db)
    ambient.set_volume(db, user_id=ada.id, sound="rain", volume=10)
    db.commit()
    db.delete(db.get(User, ada.id))
    db.commit()
    assert db.get(AmbientMix, ada.id) is None


def test_the_export_holds_the_cosmetics_and_the_mix(db):
    ada = make_user(db, exp=LEVEL_5)
    cosmetics.choose(db, user_id=ada.id, kind="name_color", key="neon-pink")
    ambient.set_volume(db, user_id=ada.id, sound="brown", volume=55)
    data = account_data.export_data(db, user_id=ada.id)
    assert data["cosmetics"] == {"name_color": "neon-pink", "avatar_border": ""}
    assert data["ambient_mix"][0]["brown"] == 55
