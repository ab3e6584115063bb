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
- changes of another channel (the tab moved to another room) are ignored;
- every change carries its channel's sequence number (dense, in commit order): a number that
  skips one opens a gap, and a gap still open after a moment asks the server for the changes
  after the last number seen (``catch_up``), which come back as one batch to this tab only.

Nothing goes back to the server: the merge costs no frame and no event.
"""

from __future__ import annotations

import reflex as rx
from reflex_base.utils.imports import ImportVar

from sessions_app import realtime

_JS = r"""
function SessionsChatFeed({ stateName, eventKey, listKey, deletedKey, channelKey, seqKey, catchUp, keep }) {
  const store = useContext(StateStoreContext);
  const dispatch = useContext(DispatchContext);
  useEffect(() => {
    const seen = [];
    const gone = new Set();
    const snap = store.getSnapshot(stateName) || {};
    let lastEvent = snap[eventKey];
    let lastList = snap[listKey];
    let lastChannel = snap[channelKey];
    // The channel's sequence numbers: ``last`` is the highest with nothing missing before it;
    // ``ahead`` holds numbers seen past a gap. A gap that stays open asks the server for what
    // came after ``last`` (``catch_up``); the answer is one batch of changes.
    let last = snap[seqKey] || 0;
    const ahead = new Set();
    let timer = null;
    const advance = () => {
      for (const n of [...ahead]) if (n <= last) ahead.delete(n);
      while (ahead.has(last + 1)) { ahead.delete(last + 1); last += 1; }
    };
    const askLater = () => {
      if (timer || ahead.size === 0) return;
      timer = setTimeout(() => {
        timer = null;
        if (ahead.size) addEvents([ReflexEvent(catchUp, { after: last })]);
      }, 700);
    };
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
      if (list !== lastList) {
        // A fresh tail from the server (a load, a reconnect, a reload after a long gap).
        if (channel !== lastChannel) { ahead.clear(); last = 0; }
        lastChannel = channel;
        last = Math.max(last, s[seqKey] || 0);
        advance();
      }
      const fresh = ev !== lastEvent && ev && ev.ch === channel && ev.seq !== undefined;
      lastEvent = ev;
      if (!fresh && list === lastList) return;
      const batch = fresh ? (ev.batch ? [...ev.batch, ...(ev.fills || []).map((m) => ({ fill: m }))] : [ev]) : [];
      if (fresh) {
        for (const c of batch) {
          seen.push({ ...c, ch: ev.ch });
          if (c.del) gone.add(c.del);
        }
        while (seen.length > 100) seen.shift();
        if (ev.batch) { last = Math.max(last, ev.seq); }
        else if (ev.seq > last) { ahead.add(ev.seq); }
        advance();
        askLater();
      }
      const changes = list === lastList ? batch : seen.filter((c) => c.ch === channel);
      if (!fresh && changes.length === 0) { lastList = list; return; }
      const delta = {};
      delta[listKey] = lastList = merge(list, changes);
      const dels = batch.map((c) => c.del).filter(Boolean);
      if (dels.length && deletedKey) {
        delta[deletedKey] = [...(s[deletedKey] || []), ...dels].slice(-100);
      }
      dispatch[stateName](delta);
    };
    const unsubscribe = store.subscribe(stateName, apply);
    return () => { unsubscribe(); if (timer) clearTimeout(timer); };
  }, [store, dispatch, stateName, eventKey, listKey, deletedKey, channelKey, seqKey, catchUp, keep]);
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
    seq_key: rx.Var[str]
    catch_up: rx.Var[str]
    keep: rx.Var[int]

    def add_imports(self):
        """React hooks and Reflex's state store contexts."""
        return {"react": [ImportVar(tag="useContext"), ImportVar(tag="useEffect")],
                "$/utils/context": [ImportVar(tag="StateStoreContext"), ImportVar(tag="DispatchContext"),
                                    ImportVar(tag="addEvents")],
                "$/utils/state": [ImportVar(tag="ReflexEvent")]}

    def add_custom_code(self) -> list[str]:
        """The component's JavaScript (defined once per page)."""
        return [_JS]


def chat_feed(state_cls: type[rx.State], *, keep: int, deleted: bool = True) -> rx.Component:
    """The feed for a state with ``messages``, ``chat_event``, ``feed`` and ``feed_seq`` vars and
    a ``catch_up(after)`` handler (and, with ``deleted``, a ``deleted_ids`` list that hides
    deleted messages from the older history)."""
    return ChatFeed.create(
        state_name=state_cls.get_full_name(), event_key=realtime.client_key("chat_event"),
        list_key=realtime.client_key("messages"), deleted_key=realtime.client_key("deleted_ids") if deleted else "",
        channel_key=realtime.client_key("feed"), seq_key=realtime.client_key("feed_seq"),
        catch_up=f"{state_cls.get_full_name()}.catch_up", keep=keep)
