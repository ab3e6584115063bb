"""The call panel of rooms and sessions, and the bridge between the call script and Reflex.

The tiles are drawn by ``assets/calls.js`` inside ``#call-tiles`` (Reflex renders the
container empty and never touches its children: video elements keep their streams across
re-renders). ``CallBridge`` is an invisible React component: it loads the script once, hands
it a function that sends a message to ``CallState.message``, and hangs up when the panel
unmounts (the tab went to another page, a session's chat closed).
"""

from __future__ import annotations

import reflex as rx
from reflex_base.event import passthrough_event_spec
from reflex_base.utils.imports import ImportVar

from sessions_app.state.call import CallState

# Bump with every change of assets/calls.js (browsers cache it).
SCRIPT_SRC = "/calls.js?v=3"

_JS = """
function SessionsCallBridge({ onMessage, src }) {
  const send = useRef(onMessage);
  send.current = onMessage;
  useEffect(() => {
    window.__sessionsCallSend = (msg) => send.current && send.current(msg);
    const ready = () => window.SessionsCall && window.SessionsCall.mount();
    if (window.SessionsCall) { ready(); }
    else if (!document.getElementById("sessions-call-script")) {
      const s = document.createElement("script");
      s.id = "sessions-call-script"; s.src = src; s.onload = ready;
      document.head.appendChild(s);
    } else { document.getElementById("sessions-call-script").addEventListener("load", ready); }
    return () => { window.SessionsCall && window.SessionsCall.unmount(); };
  }, []);
  return null;
}
"""


class CallBridge(rx.Component):
    """Invisible: connects ``assets/calls.js`` with ``CallState.message``."""

    tag = "SessionsCallBridge"

    src: rx.Var[str]
    on_message: rx.EventHandler[passthrough_event_spec(dict)]

    def add_imports(self):
        """React hooks used by the component."""
        return {"react": [ImportVar(tag="useEffect"), ImportVar(tag="useRef")]}

    def add_custom_code(self) -> list[str]:
        """The component's JavaScript (defined once per page)."""
        return [_JS]


def _js(code: str):
    return rx.call_script(f"window.SessionsCall&&window.SessionsCall.{code}")


def _button(icon, label, id_: str, code: str, **props) -> rx.Component:
    return rx.button(rx.icon(icon, size=16), label, id=id_, size="2", on_click=_js(code), **props)


def call_panel(kind: str, ref_id, phase=None, *, is_room_host=None) -> rx.Component:
    """The call: join / leave, microphone, camera, devices, and the tiles.

    ``phase``: the room's timer phase (the "cameras on during focus" reminder); None in
    sessions. ``is_room_host``: shows the host's reminder switch.
    """
    reminder = rx.fragment()
    if phase is not None:
        reminder = rx.cond(
            CallState.in_call & CallState.cameras_on_focus & (phase == "focus") & ~CallState.camera_on,
            rx.callout("This room keeps cameras on during focus blocks. Turn yours on if you can.",
                       icon="video", color_scheme="amber", size="1", id="call-camera-reminder"),
        )
    host_switch = rx.fragment()
    if is_room_host is not None:
        host_switch = rx.cond(
            is_room_host & CallState.in_call,
            rx.el.label(rx.hstack(
                rx.switch(id="call-cameras-focus", checked=CallState.cameras_on_focus, size="1",
                          on_change=lambda on: CallState.message({"op": "cameras_on_focus", "on": on})),
                rx.text("Cameras on during focus (a reminder)", size="1", color_scheme="gray"),
                align="center", spacing="2")),
        )
    return rx.box(
        CallBridge.create(src=SCRIPT_SRC, on_message=CallState.message),
        rx.vstack(
            rx.hstack(
                rx.icon("video", size=18), rx.heading("Call", size="4"), rx.spacer(),
                rx.cond(
                    CallState.in_call,
                    rx.hstack(
                        _button(rx.cond(CallState.mic_on, "mic", "mic-off"), rx.cond(CallState.mic_on, "Mute", "Unmute"),
                                "call-mic", "toggleMic()", variant="soft",
                                color_scheme=rx.cond(CallState.mic_on, "gray", "red")),
                        _button(rx.cond(CallState.camera_on, "video", "video-off"),
                                rx.cond(CallState.camera_on, "Camera off", "Camera on"), "call-camera",
                                "toggleCamera()", variant="soft",
                                color_scheme=rx.cond(CallState.camera_on, "gray", "red")),
                        _button("settings-2", "Devices", "call-devices", "toggleDevices()", variant="soft",
                                color_scheme="gray"),
                        _button("phone-off", "Leave", "call-leave", "leave()", color_scheme="red"),
                        spacing="2", wrap="wrap", justify="end",
                    ),
                    _button("phone", "Join call", "call-join", "start()", color_scheme="green"),
                ),
                width="100%", align="center", wrap="wrap", spacing="2",
            ),
            reminder,
            host_switch,
            rx.cond(CallState.error != "", rx.text(CallState.error, color_scheme="red", size="2", id="call-error",
                                                   role="alert")),
            rx.el.div(id="call-devices-picker", class_name="call-devices-picker"),
            rx.el.div(id="call-tiles", class_name="call-tiles"),
            spacing="3", width="100%",
        ),
        id="call-panel",
        custom_attrs={"data-call-kind": kind, "data-call-id": ref_id},
        class_name="call-panel",
        style={"padding": "1rem", "border_radius": "12px", "background": "rgba(255,255,255,0.03)",
               "border": "1px solid rgba(255,255,255,0.08)", "width": "100%"},
    )
