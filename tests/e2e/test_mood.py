"""The room's mood end to end: the ambient mixer really makes sound in Chromium (an
AudioContext runs and an analyser reads a non-silent signal) and the mix is remembered;
cosmetics earned by level are seen by the other browser; crafted events cannot take a
locked cosmetic, set another host's background or store a bad volume."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from sessions_app.models import AmbientMix, Room, User
from sessions_app.state.mood import AmbientState, CosmeticState, RoomBackgroundState
from sessions_app.state.room import RoomLive
from tests.e2e.conftest import goto, host_room, wait_until
from tests.e2e.test_realtime_protocol import db_room
from tests.support.factories import app_db
from tests.support.protocol import ReflexClient, eventually, protocol_user, run, settle

AMBIENT = AmbientState.get_full_name()
COSMETIC = CosmeticState.get_full_name()
BACKGROUND = RoomBackgroundState.get_full_name()
LIVE = RoomLive.get_full_name()


def set_exp(database_url: str, user_id: int, exp: int) -> None:
    with app_db(database_url) as db:
        user = db.get(User, user_id)
        user.exp_total = exp
        db.add(user)


def slide(page: Page, sound: str, value: int) -> None:
    """Move a volume slider with the keyboard, as a student can (Home, then arrows)."""
    slider = page.locator(f"#ambient-{sound}")
    slider.focus()
    slider.press("Home")
    for _ in range(value):
        slider.press("ArrowRight")
    expect(slider).to_have_value(str(value))


def test_ambient_sound_plays_and_the_mix_is_remembered(student, app_server):
    me = student("Ambient Ann", at=None)
    room_id = host_room(me, app_server.database_url, "Rain and coffee")
    page = me.page
    page.wait_for_function("() => !!window.sessionsAmbient")  # /ambient.js ran (CSP allows it)
    assert page.evaluate("window.sessionsAmbient.state()") == "none"  # nothing before a click

    slide(page, "rain", 100)
    slide(page, "cafe", 25)
    slide(page, "fire", 12)
    slide(page, "brown", 0)
    page.click("#ambient-toggle")
    expect(page.locator("#ambient-toggle")).to_contain_text("Playing")
    page.wait_for_function("() => window.sessionsAmbient.state() === 'running'")
    page.wait_for_function("() => window.sessionsAmbient.level() > 0.01", timeout=10_000)
    print(f"\nambient RMS with rain 100, cafe 25, fire 12: {page.evaluate('window.sessionsAmbient.level()'):.4f}")

    # All four volumes reached the server (one save per settled slider, each its own).
    def stored() -> tuple:
        with app_db(app_server.database_url) as db:
            mix = db.get(AmbientMix, me.user_id)
            return (mix.rain, mix.cafe, mix.fire, mix.brown) if mix else None
    wait_until(lambda: stored() == (100, 25, 12, 0), message="mix stored")

    # Silence every sound: the analyser goes quiet while the switch stays on.
    for sound in ("rain", "cafe", "fire"):
        slide(page, sound, 0)
    page.wait_for_function("() => window.sessionsAmbient.level() < 0.001", timeout=10_000)
    slide(page, "fire", 40)
    page.wait_for_function("() => window.sessionsAmbient.level() > 0.005", timeout=10_000)

    # The switch turns it off (the context is suspended, the signal is gone).
    page.click("#ambient-toggle")
    expect(page.locator("#ambient-toggle")).to_contain_text("Off")
    page.wait_for_function("() => window.sessionsAmbient.state() === 'suspended'")

    # A reload (a new visit) shows the stored mix.
    wait_until(lambda: stored() == (0, 0, 40, 0), message="mix stored")
    goto(page, f"/rooms/{room_id}")
    for sound, value in (("rain", "0"), ("cafe", "0"), ("fire", "40"), ("brown", "0")):
        expect(page.locator(f"#ambient-{sound}")).to_have_value(value)


def test_ambient_fades_out_in_breaks(student, app_server):
    me = student("Fading Fay", at=None)
    host_room(me, app_server.database_url, "Fade test")
    page = me.page
    page.wait_for_function("() => !!window.sessionsAmbient")
    expect(page.locator("#ambient-fade")).to_have_attribute("data-state", "checked")  # on by default
    page.click("#ambient-toggle")
    page.wait_for_function("() => window.sessionsAmbient.level() > 0.01", timeout=10_000)
    page.click("#timer-start")
    page.click("#timer-skip")  # focus → short break,
    page.click("#timer-pause")  # held there (a 3-minute break lasts 3 s at the tests' time scale)
    expect(page.locator("#timer-phase")).to_have_text("short break")
    expect(page.locator("#timer-paused")).to_be_visible()
    page.wait_for_function("() => window.sessionsAmbient.level() < 0.002", timeout=15_000)
    page.click("#timer-resume")
    page.click("#timer-skip")  # back to focus: the sound returns
    expect(page.locator("#timer-phase")).to_have_text("focus")
    page.wait_for_function("() => window.sessionsAmbient.level() > 0.01", timeout=15_000)


def test_cosmetics_are_seen_by_others(student, app_server):
    neon = student("Neon Nia", at=None)
    set_exp(app_server.database_url, neon.user_id, 4000)  # level 5
    plain = student("Plain Pat", reduced_motion="reduce", at=None)

    goto(neon.page, "/settings")
    names = neon.page.locator("#cosmetic-name-color")
    expect(names.locator('option[value="aurora"]')).to_be_disabled()  # level 7
    expect(names.locator('option[value="aurora"]')).to_contain_text("level 7")
    expect(names.locator('option[value="neon-pink"]')).to_be_enabled()
    names.select_option("neon-pink")
    expect(neon.page.locator("#cosmetic-message")).to_be_visible()
    neon.page.locator("#cosmetic-border").select_option("pulse")
    expect(neon.page.locator("#cosmetic-preview")).to_have_attribute("data-cosmetic", "neon-pink")

    room_id = host_room(neon, app_server.database_url, "Neon lounge")
    goto(plain.page, f"/rooms/{room_id}")
    expect(plain.page.locator("#room-title")).to_have_text("Neon lounge")
    neon.page.fill("#chat-input", "Hello from the neon side")
    neon.page.click("#chat-send")

    # The other browser: the name colour in the chat and the member list, the border on avatars.
    author = plain.page.locator(".chat-message .chat-author", has_text="Neon Nia")
    expect(author).to_have_attribute("data-cosmetic", "neon-pink")
    expect(author).to_have_css("color", "rgb(249, 168, 212)")  # the stylesheet styles it
    member = plain.page.locator(f'#participant-list .participant[data-user-id="{neon.user_id}"]')
    expect(member.locator(".cosmetic-name")).to_have_attribute("data-cosmetic", "neon-pink")
    expect(member.locator(".cosmetic-border")).to_have_attribute("data-cosmetic", "pulse")
    # Reduced motion: the pulse is still a border, not an animation.
    expect(member.locator(".cosmetic-border")).to_have_css("animation-name", "none")
    mine = neon.page.locator(f'#participant-list .participant[data-user-id="{neon.user_id}"] .cosmetic-border')
    expect(mine).to_have_css("animation-name", "cosmetic-pulse")
    # Nobody else's name picks up a colour.
    pat = plain.page.locator(f'#participant-list .participant[data-user-id="{plain.user_id}"] .cosmetic-name')
    expect(pat).to_have_attribute("data-cosmetic", "")

    # The host's background reaches the other member; the picker is the host's only.
    expect(plain.page.locator("#room-background")).to_have_count(0)
    expect(neon.page.locator('#room-background option[value="nebula"]')).to_be_disabled()  # level 6
    neon.page.locator("#room-background").select_option("ocean")
    expect(plain.page.locator(".room-backdrop")).to_have_attribute("data-cosmetic", "ocean")
    expect(neon.page.locator(".room-backdrop")).to_have_attribute("data-cosmetic", "ocean")
    goto(plain.page, f"/rooms/{room_id}")  # and it stays after a reload
    expect(plain.page.locator(".room-backdrop")).to_have_attribute("data-cosmetic", "ocean")


def test_crafted_events_cannot_take_locked_cosmetics_or_set_backgrounds(app_server):
    url, dburl = app_server.url, app_server.database_url

    def row(cls, key):
        with app_db(dburl) as db:
            return db.get(cls, key)

    async def scenario() -> None:
        low_id, low_token = protocol_user(dburl, "Low Level Lou")
        low = ReflexClient(url, low_token)
        await low.open("/settings")
        assert await eventually(lambda: low.frames), "the page never loaded"
        await settle([low], quiet=0.5)
        for kind, key in (("name_color", "aurora"), ("border", "rainbow"), ("name_color", "red; x: y"),
                          ("background", "dusk"), ("name_color", ["neon-cyan"])):
            seen = len(low.values(COSMETIC, "cosmetic_error"))
            await low.call(f"{COSMETIC}.choose", kind=kind, key=key)
            assert await eventually(lambda seen=seen: len(low.values(COSMETIC, "cosmetic_error")) > seen), (kind, key)
            await settle([low], quiet=0.5)
            errors = low.values(COSMETIC, "cosmetic_error")
            assert len(errors) > seen and errors[-1], (kind, key)  # this call was answered: refused
        assert "level 7" in " ".join(low.values(COSMETIC, "cosmetic_error"))
        user = row(User, low_id)
        assert (user.name_color, user.avatar_border) == ("", "")

        host_id, host_token = protocol_user(dburl, "Proto Host")
        member_id, member_token = protocol_user(dburl, "Proto Member")
        for uid in (host_id, member_id):
            set_exp(dburl, uid, 40_000)  # level 8: every background is unlocked for both
        room_id, _ = db_room(dburl, host_id, private=False, name="Backdrops")
        path, query = f"/rooms/{room_id}", {"room_id": str(room_id)}
        host, member = ReflexClient(url, host_token), ReflexClient(url, member_token)
        await host.open(path, query)
        await member.open(path, query)
        assert await eventually(lambda: host.frames and member.frames), "the room never loaded"
        await settle([host, member], quiet=0.8)

        await member.call(f"{BACKGROUND}.set_background", key="nebula")
        assert await eventually(lambda: "Only the host" in member.last(BACKGROUND, "background_error", "")), \
            "the member's crafted background was not refused"
        await settle([host, member], quiet=0.8)
        assert "Only the host" in member.last(BACKGROUND, "background_error", "")
        assert row(Room, room_id).background == ""
        assert "nebula" not in host.values(LIVE, "background")

        await host.call(f"{BACKGROUND}.set_background", key="nebula")  # the real host may
        assert await eventually(lambda: member.last(LIVE, "background") == "nebula"), "the background never arrived"
        await settle([host, member], quiet=0.8)
        assert row(Room, room_id).background == "nebula"
        assert member.last(LIVE, "background") == "nebula"

        # Volumes: whole numbers 0–100 only; a refusal leaves the stored mix alone.
        await member.call(f"{AMBIENT}.set_rain", volume="35")
        assert await eventually(lambda: (mix := row(AmbientMix, member_id)) is not None and mix.rain == 35), \
            "the volume was not stored"
        await settle([member], quiet=0.5)
        for volume in ("101", "-1", "3.5", True, 1000, "", ["5"]):
            seen = len(member.values(AMBIENT, "ambient_error"))
            await member.call(f"{AMBIENT}.set_rain", volume=volume)
            assert await eventually(lambda seen=seen: len(member.values(AMBIENT, "ambient_error")) > seen), volume
            await settle([member], quiet=0.5)
            errors = member.values(AMBIENT, "ambient_error")
            assert len(errors) > seen and errors[-1] == "A volume is a whole number from 0 to 100.", volume
        assert row(AmbientMix, member_id).rain == 35
        await member.close()
        await host.close()
        await low.close()

    run(scenario())
