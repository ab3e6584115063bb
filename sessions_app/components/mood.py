"""The room's mood: the ambient sound mixer, the host's background picker, and the pieces
that show a student's cosmetics (a bordered avatar) and the settings to choose them.

The sound is generated in the browser by ``assets/ambient.js`` (loaded here, from the app's
own origin); cosmetics are styled by ``assets/cosmetics.css`` from ``data-cosmetic`` keys.
"""

from __future__ import annotations

import reflex as rx

from sessions_app.components.layout import avatar, panel
from sessions_app.services.ambient import SOUND_LABELS, SOUNDS
from sessions_app.state.auth import AuthState
from sessions_app.state.mood import AmbientState, CosmeticState, RoomBackgroundState
from sessions_app.state.room import RoomLive

# The master switch: the audio engine answers whether the sound is now on (a promise).
TOGGLE_JS = "window.sessionsAmbient ? window.sessionsAmbient.toggle() : false"
STOP_JS = "window.sessionsAmbient && window.sessionsAmbient.stop()"
SELECT_STYLE = {"width": "100%", "padding": "0.5rem", "border_radius": "8px", "background": "rgba(255,255,255,0.05)",
                "color": "inherit", "border": "1px solid rgba(255,255,255,0.15)"}


def bordered_avatar(name, url, border, size: str = "2") -> rx.Component:
    """An avatar inside its owner's border cosmetic (``data-cosmetic``; "" shows none)."""
    return rx.box(avatar(name, url, size=size), class_name="cosmetic-border", custom_attrs={"data-cosmetic": border})


def _volume(sound: str) -> rx.Component:
    value = getattr(AmbientState, sound)
    return rx.vstack(
        rx.hstack(rx.el.label(SOUND_LABELS[sound], html_for=f"ambient-{sound}"), rx.spacer(),
                  rx.text(value, size="1", color_scheme="gray"), width="100%"),
        # Uncontrolled: the audio follows the slider while it moves; the server stores the
        # value once it settles (debounced). ``key`` re-creates it with the stored mix.
        rx.el.input(type="range", id=f"ambient-{sound}", min=0, max=100, step=1, class_name="ambient-range",
                    default_value=value.to_string(), key=f"{sound}-" + AmbientState.mix_rev.to_string(),
                    on_change=getattr(AmbientState, f"set_{sound}").debounce(350)),
        spacing="1", width="100%",
    )


def ambient_panel() -> rx.Component:
    """The ambient mixer: a master switch, a volume per sound, fade out in breaks."""
    return panel(
        rx.script(src="/ambient.js"),
        rx.vstack(
            rx.hstack(
                rx.icon("audio-lines", size=18), rx.heading("Ambient sound", size="4"), rx.spacer(),
                rx.button(rx.icon(rx.cond(AmbientState.playing, "volume-2", "volume-x"), size=16),
                          rx.cond(AmbientState.playing, "Playing", "Off"), id="ambient-toggle",
                          variant=rx.cond(AmbientState.playing, "solid", "soft"), size="2",
                          aria_pressed=AmbientState.playing.to_string(),
                          on_click=rx.call_script(TOGGLE_JS, callback=AmbientState.set_playing)),
                width="100%", align="center", spacing="2",
            ),
            rx.grid(*[_volume(s) for s in SOUNDS], columns=rx.breakpoints(initial="1", sm="2"), spacing="3",
                    width="100%"),
            rx.el.label(
                rx.hstack(rx.checkbox(id="ambient-fade", checked=AmbientState.fade_in_breaks,
                                      on_change=AmbientState.set_fade),
                          rx.text("Fade out during breaks", size="2"), align="center", spacing="2"),
            ),
            rx.cond(AmbientState.ambient_error != "",
                    rx.text(AmbientState.ambient_error, id="ambient-error", color_scheme="red", size="2", role="alert")),
            rx.text("Generated in your browser; your mix is saved to your account.", size="1", color_scheme="gray"),
            rx.cond(RoomLive.host_id == AuthState.user_id, background_picker()),
            spacing="3", width="100%",
        ),
        id="ambient-panel",
        # Read by ambient.js: the timer's phase and whether to fade in breaks.
        custom_attrs={"data-phase": RoomLive.phase, "data-fade": AmbientState.fade_in_breaks.to_string()},
        on_unmount=rx.call_script(STOP_JS),
    )


def _option(o) -> rx.Component:
    return rx.el.option(rx.cond(o.locked, o.label + " — level " + o.level.to_string(), o.label),
                        value=o.key, disabled=o.locked)


def background_picker() -> rx.Component:
    """The host's choice of background for the room (from what the host's level unlocks)."""
    return rx.vstack(
        rx.el.label("Room background", html_for="room-background", style={"font_size": "0.85rem"}),
        rx.el.select(rx.foreach(RoomBackgroundState.options, _option), id="room-background",
                     value=RoomLive.background, on_change=RoomBackgroundState.set_background, style=SELECT_STYLE),
        rx.cond(RoomBackgroundState.background_error != "",
                rx.text(RoomBackgroundState.background_error, id="room-background-error", color_scheme="red",
                        size="2", role="alert")),
        spacing="1", width="100%",
    )


def cosmetics_panel() -> rx.Component:
    """Settings: the name colour and avatar border the student's level unlocks, with a preview."""
    return panel(
        rx.vstack(
            rx.heading("Cosmetics", size="4"),
            rx.text("Earned by level (you are level ", CosmeticState.level, "). Others see them in rooms and chats.",
                    color_scheme="gray", size="2"),
            rx.hstack(
                bordered_avatar(AuthState.display_name, AuthState.avatar_url, CosmeticState.border, size="4"),
                rx.text(AuthState.display_name, weight="bold", size="4", class_name="cosmetic-name",
                        id="cosmetic-preview", custom_attrs={"data-cosmetic": CosmeticState.name_color}),
                align="center", spacing="3",
            ),
            rx.grid(
                rx.vstack(rx.el.label("Name colour", html_for="cosmetic-name-color", style={"font_size": "0.85rem"}),
                          rx.el.select(rx.foreach(CosmeticState.name_options, _option), id="cosmetic-name-color",
                                       value=CosmeticState.name_color, style=SELECT_STYLE,
                                       on_change=lambda v: CosmeticState.choose("name_color", v)),
                          spacing="1", width="100%"),
                rx.vstack(rx.el.label("Avatar border", html_for="cosmetic-border", style={"font_size": "0.85rem"}),
                          rx.el.select(rx.foreach(CosmeticState.border_options, _option), id="cosmetic-border",
                                       value=CosmeticState.border, style=SELECT_STYLE,
                                       on_change=lambda v: CosmeticState.choose("border", v)),
                          spacing="1", width="100%"),
                columns=rx.breakpoints(initial="1", sm="2"), spacing="3", width="100%",
            ),
            rx.cond(CosmeticState.cosmetic_error != "",
                    rx.text(CosmeticState.cosmetic_error, id="cosmetic-error", color_scheme="red", size="2",
                            role="alert")),
            rx.cond(CosmeticState.cosmetic_message != "",
                    rx.text(CosmeticState.cosmetic_message, id="cosmetic-message", color_scheme="green", size="2",
                            role="status")),
            spacing="3", width="100%",
        )
    )
