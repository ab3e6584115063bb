"""What a focus block adds to a room and the profile: goals and the question after a block,
the quiet-focus chat (reactions, the host's toggle) and the private "Your blocks" log.

Texts are rendered as text nodes, never HTML. Whether something is allowed is decided on the
server; these only choose what to show.
"""

from __future__ import annotations

import reflex as rx

from sessions_app.components.layout import panel
from sessions_app.services.block_goals import MAX_GOAL
from sessions_app.state.auth import AuthState
from sessions_app.state.block_goals import BlockGoalUi, BlockLogState, RoomGoals
from sessions_app.state.quiet_focus import CHOICES, RoomQuiet, RoomQuietUi
from sessions_app.state.room import RoomLive

in_focus = RoomLive.phase == "focus"
# The composer gives way to reactions during focus unless the host opened chat.
quiet = in_focus & ~RoomQuiet.chat_open
OUTCOME_COLORS = {"done": "green", "partly": "amber", "not": "gray"}


# --- goals ------------------------------------------------------------------------------------


def participant_goal(user_id) -> rx.Component:
    """The member's goal for this block, as a line under their name (if they set one)."""
    return rx.foreach(
        RoomGoals.goals,
        lambda g: rx.cond(
            g.user_id == user_id,
            rx.text(g.text, class_name="participant-goal", size="1", color_scheme="gray",
                    style={"overflow_wrap": "anywhere"}),
        ),
    )


def goal_bar() -> rx.Component:
    """``#block-goal-input``: one intention for this (or the next) focus block."""
    return rx.form(
        rx.hstack(
            rx.icon("target", size=18, color=rx.color("accent", 10), flex_shrink="0"),
            rx.input(id="block-goal-input", name="goal", max_length=MAX_GOAL, width="100%", size="2",
                     placeholder=rx.cond(in_focus, "Your goal for this block…", "Your goal for the next block…"),
                     aria_label="Your goal for the focus block"),
            rx.button("Set goal", id="block-goal-save", type="submit", size="2", variant="soft"),
            width="100%", align="center", spacing="2",
        ),
        rx.cond(BlockGoalUi.goal_error != "",
                rx.text(BlockGoalUi.goal_error, color_scheme="red", size="2", id="block-goal-error", role="alert")),
        on_submit=RoomGoals.save, reset_on_submit=False, width="100%",
    )


def _outcome_button(label: str, outcome: str, id_: str, color: str) -> rx.Component:
    return rx.button(label, id=id_, size="2", color_scheme=color, variant="soft",
                     on_click=BlockGoalUi.answer(BlockGoalUi.pending_id, outcome))


def outcome_prompt() -> rx.Component:
    """``#block-outcome``: after a block with a goal, "done / partly / not yet"."""
    return rx.box(
        rx.vstack(
            rx.text("Block over. How did it go?", weight="bold", size="3"),
            rx.text("Your goal: ", rx.text.span(BlockGoalUi.pending_text, weight="medium"),
                    size="2", style={"overflow_wrap": "anywhere"}, id="block-outcome-goal"),
            rx.hstack(
                _outcome_button("Done", "done", "block-outcome-done", "green"),
                _outcome_button("Partly", "partly", "block-outcome-partly", "amber"),
                _outcome_button("Not yet", "not", "block-outcome-not", "gray"),
                spacing="2", wrap="wrap",
            ),
            spacing="2", width="100%",
        ),
        id="block-outcome", role="group", aria_label="How did your block go?", width="100%", padding="0.9rem",
        border_radius="12px", background=rx.color("accent", 3), border=f"1px solid {rx.color('accent', 6)}",
    )


def goal_area() -> rx.Component:
    """Under the timer: the question after a block when there is one, else the goal form."""
    asked = (BlockGoalUi.pending_id > 0) & (BlockGoalUi.pending_room_id == RoomLive.room_id)
    return rx.vstack(
        rx.cond(asked, outcome_prompt(), goal_bar()),
        rx.cond(BlockGoalUi.outcome_error != "",
                rx.text(BlockGoalUi.outcome_error, color_scheme="red", size="2", role="alert")),
        rx.cond(BlockGoalUi.outcome_saved != "",
                rx.text(BlockGoalUi.outcome_saved, color_scheme="green", size="2", id="block-outcome-saved",
                        role="status")),
        spacing="2", width="100%",
    )


# --- quiet focus --------------------------------------------------------------------------------


def _reaction_chip(r) -> rx.Component:
    mine = RoomQuietUi.mine.contains(r.message_id.to_string() + ":" + r.key)
    return rx.button(
        r.emoji, rx.text.span(r.count, class_name="chat-reaction-count"),
        class_name="chat-reaction", size="1", radius="full", variant=rx.cond(mine, "solid", "soft"),
        color_scheme=rx.cond(mine, "violet", "gray"), aria_pressed=rx.cond(mine, "true", "false"),
        custom_attrs={"data-emoji": r.key, "data-mine": rx.cond(mine, "true", "false")},
        on_click=RoomQuiet.react(r.message_id, r.key),
    )


def reaction_bar(m) -> rx.Component:
    """A message's reactions with counts (``.chat-reaction``, click to toggle yours) and the
    picker of the offered emoji."""
    picker = rx.popover.root(
        rx.popover.trigger(rx.icon_button(rx.icon("smile-plus", size=14), variant="ghost", size="1",
                                          color_scheme="gray", class_name="chat-react-open",
                                          aria_label="React")),
        rx.popover.content(
            # Soft, not ghost: Radix's ghost buttons have negative margins and would overlap.
            rx.hstack(*[rx.popover.close(rx.button(emoji, variant="soft", color_scheme="gray", size="2",
                                                   class_name="chat-react-option", custom_attrs={"data-emoji": key},
                                                   aria_label=f"React {key}", on_click=RoomQuiet.react(m.id, key)))
                        for key, emoji in CHOICES], spacing="2"),
            size="1", side="top",
        ),
    )
    return rx.hstack(
        rx.foreach(RoomQuiet.reactions, lambda r: rx.cond(r.message_id == m.id, _reaction_chip(r))),
        picker,
        spacing="1", align="center", wrap="wrap", class_name="chat-reactions",
    )


def quiet_note() -> rx.Component:
    """What replaces the post box during quiet focus."""
    return rx.hstack(
        rx.icon("moon", size=16, color=rx.color("accent", 10), flex_shrink="0"),
        rx.text("Quiet focus: react with an emoji. Chat opens in the break.", size="2", color_scheme="gray"),
        id="chat-quiet", align="center", spacing="2", width="100%", padding_y="0.4rem",
    )


def focus_chat_toggle() -> rx.Component:
    """``#chat-focus-open``: the host's switch to open chat during focus (others see the state)."""
    is_host = RoomLive.host_id == AuthState.user_id
    return rx.hstack(
        rx.cond(
            is_host,
            rx.el.label(rx.hstack(
                rx.switch(id="chat-focus-open", checked=RoomQuiet.chat_open, on_change=RoomQuiet.set_focus_chat,
                          size="1"),
                rx.text("Chat during focus", size="1", color_scheme="gray"),
                align="center", spacing="1")),
            rx.cond(RoomQuiet.chat_open, rx.text("The host opened chat during focus", size="1",
                                                 color_scheme="gray")),
        ),
        rx.cond(RoomQuietUi.error != "", rx.text(RoomQuietUi.error, color_scheme="red", size="1", role="alert",
                                                 id="chat-quiet-error")),
        align="center", spacing="2", margin_left="auto", wrap="wrap",
    )


# --- profile ------------------------------------------------------------------------------------


def _log_entry(e) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text(e.goal, weight="medium", size="2", style={"overflow_wrap": "anywhere"}, class_name="block-log-goal"),
            rx.text(e.when, " · ", e.room, " · ", e.minutes, " min", size="1", color_scheme="gray"),
            spacing="0", flex="1", min_width="0",
        ),
        rx.badge(e.outcome_label, class_name="block-log-outcome", radius="full",
                 color_scheme=rx.match(e.outcome, *OUTCOME_COLORS.items(), "gray")),
        class_name="block-log-entry", custom_attrs={"data-outcome": e.outcome}, align="center", spacing="3",
        width="100%", padding_y="0.4rem", border_bottom="1px solid rgba(255,255,255,0.06)",
    )


def block_log_section() -> rx.Component:
    """``#block-log``: "Your blocks" — only you see this."""
    return panel(
        rx.vstack(
            rx.hstack(rx.icon("target", size=18), rx.heading("Your blocks", size="4"),
                      rx.text("Only you see this.", size="1", color_scheme="gray"), align="center", spacing="2"),
            rx.vstack(
                rx.foreach(BlockLogState.entries, _log_entry),
                rx.cond(BlockLogState.entries.length() == 0,
                        rx.text("Set a goal before a focus block in a room; when the block ends, "
                                "say how it went. Your blocks are listed here.", size="2", color_scheme="gray")),
                id="block-log", spacing="0", width="100%",
            ),
            spacing="3", width="100%",
        )
    )
