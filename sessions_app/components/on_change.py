"""``on_change``: a tiny invisible React component that calls a handler when a var changes.

A broadcast (``realtime.push``) replaces var values in every browser on a channel, but it
runs no event there. Some changes need each viewer's own reload — a participant's private
view after someone joins, an edited session's time in the viewer's zone — so the broadcast
carries a new revision string and this component, seeing it change, sends it back to the
viewer's own handler. Nothing fires on mount or for an empty value.
"""

from __future__ import annotations

import reflex as rx
from reflex_base.utils.imports import ImportVar

_JS = r"""
function SessionsOnChange({ value, onValue }) {
  const last = useRef(value);
  useEffect(() => {
    if (value === last.current) return;
    last.current = value;
    if (value && onValue) onValue(value);
  }, [value]);
  return null;
}
"""


class OnChange(rx.Component):
    """Renders nothing; calls ``on_value(value)`` whenever ``value`` changes to a non-empty string."""

    tag = "SessionsOnChange"

    value: rx.Var[str]
    on_value: rx.EventHandler[rx.event.passthrough_event_spec(str)]

    def add_imports(self):
        """React hooks used by the component."""
        return {"react": [ImportVar(tag="useEffect"), ImportVar(tag="useRef")]}

    def add_custom_code(self) -> list[str]:
        """The component's JavaScript (defined once per page)."""
        return [_JS]


on_change = OnChange.create
