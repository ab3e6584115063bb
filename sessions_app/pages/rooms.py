"""``/rooms/new``, ``/rooms/[room_id]`` and ``/join/[code]``."""

import reflex as rx

from sessions_app import routes
from sessions_app.components.call import call_panel
from sessions_app.components.chat import room_chat_panel
from sessions_app.components.countdown import READ_SOUND_JS, TOGGLE_SOUND_JS
from sessions_app.components.focus_blocks import goal_area, participant_goal
from sessions_app.components.layout import field, form_error, level_chip, page, panel
from sessions_app.components.mood import ambient_panel, bordered_avatar
from sessions_app.components.tasks import personal_tasks_panel, room_tasks_panel
from sessions_app.components.timer import phase_color, remaining
from sessions_app.services.rooms import DISCIPLINES, LIMITS
from sessions_app.state import room_page  # noqa: F401 - registers the parts the room page's load fills
from sessions_app.state.auth import AuthState
from sessions_app.state.lobby import JoinLinkState, NewRoomState
from sessions_app.state.room import RoomLive, RoomPageState

is_host = RoomLive.host_id == AuthState.user_id
running = (RoomLive.phase != "idle") & (RoomLive.paused_remaining_ms < 0)
paused = RoomLive.paused_remaining_ms >= 0


def _control(label: str, icon: str, action: str, id_: str, **props) -> rx.Component:
    return rx.button(rx.icon(icon, size=18), label, id=id_, size="3", on_click=RoomLive.control(action), **props)


def timer_panel() -> rx.Component:
    """The big shared timer with the host's controls."""
    return panel(
        rx.vstack(
            rx.hstack(
                rx.badge(rx.text(RoomLive.phase_label, id="timer-phase"), size="3", radius="full",
                         color_scheme=phase_color(RoomLive.phase)),
                rx.cond(paused, rx.badge("paused", id="timer-paused", color_scheme="amber", size="3", radius="full")),
                rx.spacer(),
                rx.text("Blocks done: ", rx.el.span(RoomLive.cycles_completed, id="cycles-completed"),
                        size="2", color_scheme="gray"),
                width="100%", align="center",
            ),
            rx.center(
                remaining(RoomLive.ends_at_ms, RoomLive.paused_remaining_ms, RoomLive.phase, RoomLive.phase_label,
                          main=True, id="timer-remaining", idle_ms=RoomLive.focus_minutes * 60_000),
                font_size=["4.5rem", "7rem", "8rem"], font_weight="700", letter_spacing="-0.02em",
                width="100%", padding_y="0.5rem", color=rx.color(phase_color(RoomLive.phase), 12),
            ),
            # Announced to screen readers when the phase changes.
            rx.el.div(rx.text("Now: ", RoomLive.phase_label), aria_live="polite", role="status", id="timer-announcer",
                      style={"position": "absolute", "width": "1px", "height": "1px", "overflow": "hidden",
                             "clip": "rect(0 0 0 0)"}),
            rx.cond(
                is_host,
                rx.hstack(
                    rx.cond(RoomLive.phase == "idle", _control("Start", "play", "start", "timer-start")),
                    rx.cond(running, _control("Pause", "pause", "pause", "timer-pause")),
                    rx.cond(paused, _control("Resume", "play", "resume", "timer-resume")),
                    _control("Skip", "skip-forward", "skip", "timer-skip", variant="soft"),
                    _control("Reset", "rotate-ccw", "reset", "timer-reset", variant="soft", color_scheme="gray"),
                    spacing="2", wrap="wrap", justify="center", width="100%",
                ),
                rx.text("The host, ", RoomLive.host_name, ", runs the timer.", color_scheme="gray", size="2",
                        text_align="center", width="100%"),
            ),
            rx.hstack(
                rx.text(RoomLive.focus_minutes, " min focus · ", RoomLive.short_break_minutes, " min break · ",
                        RoomLive.long_break_minutes, " min long break every ", RoomLive.blocks_before_long_break,
                        " blocks", size="1", color_scheme="gray"),
                rx.spacer(),
                rx.cond(is_host, rx.text("Space: start / pause", size="1", color_scheme="gray",
                                         display=["none", "block"])),
                rx.button(rx.icon(rx.cond(RoomPageState.sound_on, "bell-ring", "bell-off"), size=16),
                          rx.cond(RoomPageState.sound_on, "Sound on", "Sound off"), id="sound-toggle",
                          variant="ghost", size="1",
                          on_click=rx.call_script(TOGGLE_SOUND_JS, callback=RoomPageState.set_sound)),
                width="100%", align="center", wrap="wrap",
            ),
            spacing="4", width="100%",
        ),
        style={"position": "relative"},
    )


def participant(m) -> rx.Component:
    """A member chip with avatar and level, and their goal for the block under the name."""
    return rx.hstack(
        bordered_avatar(m.name, m.avatar_url, m.border, size="2"),
        rx.vstack(rx.hstack(
            rx.text(m.name, size="2", truncate=True, max_width="10rem", class_name="participant-name cosmetic-name",
                    custom_attrs={"data-cosmetic": m.name_color}),
            level_chip(m.level),
            rx.cond(m.user_id == RoomLive.host_id, rx.tooltip(rx.icon("crown", size=14, color=rx.color("amber", 10)),
                                                                content="Host")),
            align="center", spacing="2"), participant_goal(m.user_id), spacing="0", min_width="0"),
        class_name="participant", align="center", spacing="2", custom_attrs={"data-user-id": m.user_id},
    )


def people_panel() -> rx.Component:
    """Who is here, the host, and the code for private rooms."""
    return panel(
        rx.vstack(
            rx.hstack(rx.heading("Here now", size="4"), rx.badge(RoomLive.members.length(), radius="full"),
                      align="center"),
            rx.text("Host: ", rx.el.span(RoomLive.host_name, id="host-name"), size="2", color_scheme="gray"),
            rx.vstack(rx.foreach(RoomLive.members, participant), id="participant-list", spacing="2", width="100%"),
            rx.cond(
                RoomLive.is_private & (RoomLive.code != ""),
                rx.vstack(
                    rx.text("Invite with this code", size="1", color_scheme="gray"),
                    rx.hstack(
                        rx.code(RoomLive.code, id="join-code", size="5", style={"letter_spacing": "0.2em"}),
                        rx.icon_button(rx.icon("copy", size=14), variant="ghost", aria_label="Copy invite link",
                                       on_click=rx.set_clipboard(rx.State.router.page.host + "/join/" + RoomLive.code)),
                        align="center",
                    ),
                    spacing="1",
                ),
            ),
            spacing="3", width="100%",
        )
    )


def room_body() -> rx.Component:
    """The room once entered."""
    return rx.vstack(
        rx.hstack(
            # A long name (60 characters, no spaces) wraps instead of running off a phone.
            rx.vstack(rx.heading(RoomLive.name, size="7", id="room-title", style={"overflow_wrap": "anywhere"}),
                      rx.badge(RoomLive.discipline, variant="soft"), spacing="1", min_width="0", max_width="100%"),
            rx.spacer(),
            rx.button(rx.icon("log-out", size=16), "Leave room", id="leave-room", variant="outline",
                      color_scheme="gray", on_click=RoomLive.leave_room),
            width="100%", align="center", wrap="wrap",
        ),
        rx.cond(RoomPageState.error != "",
                rx.callout(RoomPageState.error, icon="info", color_scheme="amber", id="room-error", role="alert")),
        rx.grid(
            rx.vstack(timer_panel(), panel(goal_area()), spacing="4", width="100%",
                      grid_column=rx.breakpoints(initial="auto", md="span 2")),
            people_panel(),
            rx.box(call_panel("room", RoomLive.room_id, RoomLive.phase, is_room_host=is_host),
                   grid_column=rx.breakpoints(initial="auto", md="span 3")),
            rx.box(room_chat_panel(), grid_column=rx.breakpoints(initial="auto", md="span 2")),
            rx.vstack(room_tasks_panel(), personal_tasks_panel(), ambient_panel(), spacing="4", width="100%"),
            columns=rx.breakpoints(initial="1", md="3"), spacing="4", width="100%",
        ),
        spacing="4", width="100%",
        # The host's background (services.cosmetics), styled by assets/cosmetics.css.
        class_name="room-backdrop", custom_attrs={"data-cosmetic": RoomLive.background},
    )


def room() -> rx.Component:
    """The room page."""
    return page(
        rx.cond(
            (RoomPageState.error != "") & (RoomLive.room_id == 0),
            panel(rx.vstack(rx.callout(RoomPageState.error, icon="lock", color_scheme="amber", id="room-error",
                                       role="alert"),
                            rx.link(rx.button("Back to the lobby"), href=routes.LOBBY), spacing="3")),
            rx.cond(RoomLive.room_id > 0, room_body(), rx.center(rx.spinner(size="3"), width="100%", padding="4rem")),
        ),
    )


def _number(id_: str, name: str, field_key: str) -> rx.Component:
    label, low, high, default = LIMITS[field_key]
    unit = "" if "blocks" in field_key else " min"
    return field(f"{label} ({low}–{high}{unit})",
                 rx.input(id=id_, name=name, type="number", default_value=str(default), min=low, max=high,
                          width="100%", size="3"))


def new_room() -> rx.Component:
    """The create-room form."""
    return page(
        rx.center(
            panel(
                rx.vstack(
                    rx.heading("Open a room", size="7"),
                    form_error(NewRoomState.error),
                    rx.form(
                        rx.vstack(
                            field("Name", rx.input(id="room-name", name="name", placeholder="Eigenvalues sprint",
                                                   max_length=120, required=True, width="100%", size="3")),
                            field("Discipline", rx.el.select(
                                *[rx.el.option(d, value=d) for d in DISCIPLINES], id="room-discipline",
                                name="discipline", default_value="Mathematics",
                                style={"width": "100%", "padding": "0.6rem", "border_radius": "8px",
                                       "background": "rgba(255,255,255,0.05)", "color": "inherit",
                                       "border": "1px solid rgba(255,255,255,0.15)"})),
                            rx.grid(
                                _number("room-focus", "focus", "focus_minutes"),
                                _number("room-short-break", "short_break", "short_break_minutes"),
                                _number("room-long-break", "long_break", "long_break_minutes"),
                                _number("room-cycles", "cycles", "blocks_before_long_break"),
                                columns="2", spacing="3", width="100%",
                            ),
                            rx.el.label(
                                rx.hstack(rx.el.input(type="checkbox", id="room-private", name="private"),
                                          rx.text("Private: not listed; others join with a code", size="2"),
                                          align="center"),
                            ),
                            rx.button("Open room", id="room-submit", type="submit", size="3", width="100%"),
                            spacing="4", width="100%",
                        ),
                        on_submit=NewRoomState.create, reset_on_submit=False, width="100%",
                    ),
                    spacing="4", width="100%",
                ),
                max_width="34rem",
            ),
            width="100%",
        ),
    )


def join_link() -> rx.Component:
    """Shown while a /join/CODE link opens its room (or why it cannot)."""
    return page(
        rx.center(
            panel(
                rx.cond(
                    JoinLinkState.error != "",
                    rx.vstack(rx.callout(JoinLinkState.error, icon="lock", color_scheme="amber", id="form-error",
                                         role="alert"),
                              rx.link(rx.button("Back to the lobby"), href=routes.LOBBY), spacing="3"),
                    rx.hstack(rx.spinner(), rx.text("Opening the room…")),
                ),
                max_width="30rem",
            ),
            width="100%", padding_top="3rem",
        )
    )


PAGES = [
    dict(route=routes.ROOM_NEW, component=new_room, title="Open a room · Sessions", on_load=NewRoomState.load),
    dict(route=routes.ROOM, component=room, title="Room · Sessions",
         # One server event: the load fills the board, goals, reactions, tasks and mix too
         # (``state.room_page``); the script reads the sound choice in the browser.
         on_load=[RoomPageState.load, rx.call_script(READ_SOUND_JS, callback=RoomPageState.set_sound)]),
    dict(route=routes.JOIN, component=join_link, title="Joining · Sessions", on_load=JoinLinkState.load),
]
