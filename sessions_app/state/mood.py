"""Thin states for the room's mood: the ambient sound mix, the cosmetics a student chooses
and the background a host gives their room.

Each handler finds the caller from the login cookie on the server and calls one service
(``services.ambient`` / ``services.cosmetics``), which validates and authorizes; a refusal
shows its message and changes nothing. A room background reaches the other members as one
broadcast on the room's channel, like every other room change.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from sessions_app import realtime
from sessions_app.live import channels
from sessions_app.services import ambient, cosmetics
from sessions_app.state.base import REFUSED, Handler, in_db, off_loop
from sessions_app.state.room import RoomLive, RoomPageState


@dataclasses.dataclass
class OptionView:
    """A cosmetic in a chooser (locked ones are shown, disabled, with the level they need)."""

    key: str = ""
    label: str = ""
    level: int = 0
    locked: bool = False


def option_views(kind: str, level: int) -> list[OptionView]:
    """The chooser's options for a student of ``level``."""
    return [OptionView(o.key, o.label, o.level, o.locked) for o in cosmetics.options(kind, level)]


def _choose(db, *, user_id: int | None, kind: object, key: object) -> cosmetics.Wardrobe:
    """Store a cosmetic choice; the caller's wardrobe after it."""
    cosmetics.choose(db, user_id=user_id, kind=kind, key=key)
    return cosmetics.wardrobe(db, user_id=user_id)


class AmbientState(Handler, rx.State):
    """This student's ambient mix, as the mixer shows it. ``mix_rev`` changes whenever the
    stored mix is (re)loaded, so the range inputs (uncontrolled: the audio follows them while
    dragging) are re-created with the stored values — also after a refused change."""

    rain: int = ambient.Mix.rain
    cafe: int = ambient.Mix.cafe
    fire: int = ambient.Mix.fire
    brown: int = ambient.Mix.brown
    fade_in_breaks: bool = ambient.Mix.fade_in_breaks
    playing: bool = False
    mix_rev: int = 0
    ambient_error: str = ""

    def _show(self, mix: ambient.Mix) -> None:
        for name, value in dataclasses.asdict(mix).items():
            setattr(self, name, value)
        self.mix_rev += 1

    def _fill(self, mix: ambient.Mix) -> None:
        """Part of the room page's one load (``state.room_page``): the caller's stored mix."""
        self.ambient_error = ""
        self.playing = False
        self._show(mix)

    async def _save_volume(self, sound: str, volume: object) -> None:
        """Store one sound's volume (the service validates: 0–100 whole numbers only)."""
        self.ambient_error = ""
        uid = await self._caller_id()
        mix = await self._attempt(in_db, ambient.set_volume, user_id=uid, sound=sound, volume=volume,
                                  errors=(self, "ambient_error"))
        if mix is REFUSED:
            if uid is not None:  # the inputs show what is stored
                self._show(await off_loop(in_db, ambient.get_mix, user_id=uid))
            return
        for name, value in dataclasses.asdict(mix).items():
            setattr(self, name, value)  # no re-creation: the input already shows it

    # One handler per sound: the browser debounces per handler name, so four sliders moved
    # in quick succession are four saves, not one. ``float``: a range input's change sends
    # ``Number(value)`` (Reflex's first event spec for it); the service refuses non-whole ones.
    @rx.event
    async def set_rain(self, volume: float):
        """The rain slider settled on a volume (0–100)."""
        await self._save_volume("rain", volume)

    @rx.event
    async def set_cafe(self, volume: float):
        """The café slider settled on a volume (0–100)."""
        await self._save_volume("cafe", volume)

    @rx.event
    async def set_fire(self, volume: float):
        """The fire slider settled on a volume (0–100)."""
        await self._save_volume("fire", volume)

    @rx.event
    async def set_brown(self, volume: float):
        """The brown-noise slider settled on a volume (0–100)."""
        await self._save_volume("brown", volume)

    @rx.event
    async def set_fade(self, on: bool):
        """The "fade out during breaks" switch."""
        self.ambient_error = ""
        uid = await self._caller_id()
        mix = await self._attempt(in_db, ambient.set_fade, user_id=uid, on=on, errors=(self, "ambient_error"))
        if mix is not REFUSED:
            self._show(mix)

    @rx.event
    def set_playing(self, on: bool):
        """What the browser's audio engine reports after the master switch (display only)."""
        self.playing = on is True


class CosmeticState(Handler, rx.State):
    """The settings page's cosmetics: the caller's choices and what their level unlocks."""

    name_color: str = ""
    border: str = ""
    level: int = 0
    name_options: list[OptionView] = []
    border_options: list[OptionView] = []
    cosmetic_error: str = ""
    cosmetic_message: str = ""

    def _show(self, mine: cosmetics.Wardrobe) -> None:
        self.level = mine.level
        self.name_color, self.border = mine.looks.name_color, mine.looks.border
        self.name_options = option_views(cosmetics.NAME_COLOR, self.level)
        self.border_options = option_views(cosmetics.BORDER, self.level)

    @rx.event
    async def load(self):
        """on_load of /settings."""
        self.cosmetic_error = self.cosmetic_message = ""
        uid = await self._caller_id()
        if uid is None:
            return
        self._show(await off_loop(in_db, cosmetics.wardrobe, user_id=uid))

    @rx.event
    async def choose(self, kind: str, key: str):
        """Choose a name colour (``kind`` "name_color") or avatar border ("border")."""
        self.cosmetic_error = self.cosmetic_message = ""
        uid = await self._caller_id()
        mine = await self._attempt(in_db, _choose, user_id=uid, kind=kind, key=key, errors=(self, "cosmetic_error"))
        if mine is REFUSED:
            if uid is not None:  # the selects show what is stored
                self._show(await off_loop(in_db, cosmetics.wardrobe, user_id=uid))
            return
        self._show(mine)
        self.cosmetic_message = "Saved: others see it in rooms and chats."


class RoomBackgroundState(Handler, rx.State):
    """The host's background picker on the room page."""

    options: list[OptionView] = []
    background_error: str = ""

    def _fill(self, level: int) -> None:
        """Part of the room page's one load (``state.room_page``): the backgrounds the caller's
        level unlocks."""
        self.background_error = ""
        self.options = option_views(cosmetics.BACKGROUND, level)

    @rx.event
    async def set_background(self, key: str):
        """The host gives the room a background; everyone in it sees it at once."""
        self.background_error = ""
        uid = await self._caller_id()
        room_id = (await self.get_state(RoomPageState))._room_id
        shown = await self._attempt(in_db, cosmetics.set_room_background, room_id=room_id, user_id=uid, key=key,
                                    errors=(self, "background_error"))
        if shown is REFUSED:
            return
        # This tab's linked room (the one the service just checked): set it, one broadcast.
        live = await self.get_state(RoomLive)
        if live.room_id == room_id:
            await realtime.publish(live, channels.room(room_id), self.router.session.session_id, background=shown)
