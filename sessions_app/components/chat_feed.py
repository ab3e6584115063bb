"""``chat_feed``: applies one chat change, broadcast to a channel, to the tab's message list.

A chat broadcast carries only the change (``state.chat_pipeline``: the new message, or the
deleted id and the message that moves into the tail), never the list. This invisible
component listens to the tab's state store and, each time the change var receives a new
value, merges it into the list var in the browser — the same list a fresh load returns:

- sorted by message id (the channel's sequence number) and deduplicated, so changes that
  arrive out of order (two workers) or twice give the same view;
- deleted ids are remembered, so a delete that overtakes its post still wins, and added to
  the state's ``deleted_ids`` so the "load older" history hides them too;
- trimmed to the newest ``keep`` messages, like the server's tail;
- when the server replaces the list (a page load or a reconnect: the fresh tail), the
  changes seen in the meantime are applied again, so a message broadcast while the load
  was reading the database is not lost;
- changes of another channel (the tab moved to another room) are ignored.

Nothing goes back to the server: the merge costs no frame and no event.
"""

from __future__ import annotations

import reflex as rx
from reflex_base.utils.imports import ImportVar

from sessions_app import realtime

_JS = r"""
function SessionsChatFeed({ stateName, eventKey, listKey, deletedKey, channelKey, keep }) {
  const store = useContext(StateStoreContext);
  const dispatch = useContext(DispatchContext);
  useEffect(() => {
    const seen = [];
    const gone = new Set();
    const snap = store.getSnapshot(stateName) || {};
    let lastEvent = snap[eventKey];
    let lastList = snap[listKey];
    const merge = (list, changes) => {
      const byId = new Map((list || []).map((m) => [m.id, m]));
      for (const c of changes) {
        for (const m of [c.add, c.fill]) if (m && !gone.has(m.id)) byId.set(m.id, m);
      }
      for (const id of gone) byId.delete(id);
      return [...byId.values()].sort((a, b) => a.id - b.id).slice(-keep);
    };
    const apply = () => {
      const s = store.getSnapshot(stateName);
      if (!s) return;
      const ev = s[eventKey], list = s[listKey], channel = s[channelKey];
      const fresh = ev !== lastEvent && ev && ev.seq && ev.ch === channel;
      lastEvent = ev;
      if (!fresh && list === lastList) return;
      if (fresh) {
        seen.push(ev);
        if (seen.length > 100) seen.shift();
        if (ev.del) gone.add(ev.del);
      }
      const changes = list === lastList ? [ev] : seen.filter((c) => c.ch === channel);
      if (!fresh && changes.length === 0) { lastList = list; return; }
      const delta = {};
      delta[listKey] = lastList = merge(list, changes);
      if (fresh && ev.del && deletedKey) {
        delta[deletedKey] = [...(s[deletedKey] || []), ev.del].slice(-100);
      }
      dispatch[stateName](delta);
    };
    return store.subscribe(stateName, apply);
  }, [store, dispatch, stateName, eventKey, listKey, deletedKey, channelKey, keep]);
  return null;
}
"""


class ChatFeed(rx.Component):
    """Renders nothing; merges each broadcast chat change into the tab's message list."""

    tag = "SessionsChatFeed"

    state_name: rx.Var[str]
    event_key: rx.Var[str]
    list_key: rx.Var[str]
    deleted_key: rx.Var[str]
    channel_key: rx.Var[str]
    keep: rx.Var[int]

    def add_imports(self):
        """React hooks and Reflex's state store contexts."""
        return {"react": [ImportVar(tag="useContext"), ImportVar(tag="useEffect")],
                "$/utils/context": [ImportVar(tag="StateStoreContext"), ImportVar(tag="DispatchContext")]}

    def add_custom_code(self) -> list[str]:
        """The component's JavaScript (defined once per page)."""
        return [_JS]


def chat_feed(state_cls: type[rx.State], *, keep: int, deleted: bool = True) -> rx.Component:
    """The feed for a state with ``messages``, ``chat_event`` and ``feed`` vars (and, with
    ``deleted``, a ``deleted_ids`` list that hides deleted messages from the older history)."""
    return ChatFeed.create(
        state_name=state_cls.get_full_name(), event_key=realtime.client_key("chat_event"),
        list_key=realtime.client_key("messages"), deleted_key=realtime.client_key("deleted_ids") if deleted else "",
        channel_key=realtime.client_key("feed"), keep=keep)
