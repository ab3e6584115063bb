"""``realtime.hydrated_load``: a page that loads in ONE event (``PageLoad.run``) sets Reflex's
``is_hydrated`` inside it instead of a fourth event per tab; every other page is loaded the
way Reflex does, and the flag still comes after every load step, even a failing one.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import reflex.state as reflex_state
from reflex.event import EventHandler

import sessions_app.sessions_app  # noqa: F401 - registers every page (and installs)
from sessions_app.realtime import hydrated_load
from sessions_app.state import page_load
from sessions_app.state.page_load import PageLoad


def _tab(path: str):
    return SimpleNamespace(rx_router_url=SimpleNamespace(path=path), is_hydrated=True)


def test_a_one_event_page_load_carries_the_hydrated_flag_instead_of_a_fourth_event():
    tab = _tab("/rooms/7")
    events = reflex_state._load_events_for_page(tab)
    assert len(events) == 1
    assert events[0].name == f"{PageLoad.get_full_name()}.run"
    assert events[0].payload == {"route": "/rooms/[room_id]", "hydrated": True}
    assert tab.is_hydrated is False  # as Reflex does until the load is done


def test_other_load_lists_are_left_as_reflex_makes_them(monkeypatch):
    mine = [SimpleNamespace(name="x.other", payload={}), SimpleNamespace(handler=None)]
    monkeypatch.setattr(hydrated_load, "_reflex_load_events", lambda state: mine)
    assert reflex_state._load_events_for_page(_tab("/anything")) is mine
    monkeypatch.setattr(hydrated_load, "_reflex_load_events", lambda state: None)
    assert reflex_state._load_events_for_page(_tab("/anything")) is None


class _Root:
    is_hydrated = False


class _Tab:
    """A stand-in for the tab's ``PageLoad`` state."""

    _step = PageLoad._step

    def __init__(self, states: dict) -> None:
        self.states, self.root = states, _Root()

    def _get_root_state(self):
        return self.root

    async def get_state(self, cls):
        return self.states[cls]


def _run(tab, route, hydrated):
    return asyncio.run(PageLoad.run.fn(tab, route, hydrated))


def test_the_flag_is_set_after_the_steps_even_when_one_fails(monkeypatch):
    seen = []

    def broken(self):
        seen.append(tab.root.is_hydrated)
        raise RuntimeError("a broken step")

    monkeypatch.setitem(page_load._STEPS, "/t", (EventHandler(fn=broken, state=PageLoad),))
    tab = _Tab({PageLoad: "page"})
    assert _run(tab, "/t", True) is None
    assert seen == [False] and tab.root.is_hydrated is True


def test_without_the_argument_or_for_an_unknown_route_nothing_else_changes():
    tab = _Tab({})
    assert _run(tab, "/no-such-route", False) is None
    assert tab.root.is_hydrated is False
    assert _run(tab, "/no-such-route", "yes") is None  # only a real True counts
    assert tab.root.is_hydrated is False
    assert _run(tab, "/no-such-route", True) is None  # the tab still finishes loading
    assert tab.root.is_hydrated is True


class _LoadTab:
    """A tab's ``OnLoadInternalState`` as Reflex's dispatch sees it (the flag is the root's)."""

    def __init__(self, hydrated: bool) -> None:
        self.rx_router_url = SimpleNamespace(path="/rooms/7")
        self.root = SimpleNamespace(dirty_vars={"other"})
        self._hydrated = hydrated

    def _get_root_state(self):
        return self.root

    @property
    def is_hydrated(self):
        return self._hydrated

    @is_hydrated.setter
    def is_hydrated(self, value):  # what Reflex's setattr does: the value and a dirty mark
        self._hydrated = value
        self.root.dirty_vars.add("is_hydrated")


def test_a_fresh_tab_gets_no_frame_for_a_flag_the_first_frame_already_sent():
    fresh = _LoadTab(hydrated=False)  # right after hydrate_and_load
    reflex_state._load_events_for_page(fresh)
    assert fresh.is_hydrated is False and fresh.root.dirty_vars == {"other"}
    navigating = _LoadTab(hydrated=True)  # a client-side navigation: the page must learn it
    reflex_state._load_events_for_page(navigating)
    assert navigating.is_hydrated is False and "is_hydrated" in navigating.root.dirty_vars
