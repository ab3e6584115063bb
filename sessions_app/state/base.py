"""One handler pattern for states: find the caller, call a service off the event loop, map a
refusal to the form's message, set own vars.

``Handler`` is a plain mixin (not a Reflex state: it adds no vars and no event handlers) for
``rx.State`` / ``rx.SharedState`` classes:

- ``await self._caller_id()``: the logged-in user's id, resolved from the login cookie on the
  server (never from anything the browser sent) ONCE per event — later calls in the same event
  reuse it (a context variable: Reflex runs every event in its own task) — and without
  touching ``AuthState``'s vars unless what it shows is wrong (a revoked login).
  ``view=True`` (page loads) also brings the tab's own view (name, level, EXP) up to date,
  setting only the vars whose values changed, so an unchanged view costs no delta.
- ``await self._attempt(fn, *args, errors=(state, "var"))``: run blocking DB/CPU work ``fn``
  on a bounded thread pool (one slow query must not stall every user of the worker); a
  ``ServiceError`` puts its message in the form's error var and returns ``REFUSED``. Handlers
  never raise for a refusal.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sessions_app import realtime
from sessions_app.db import act_as_user, become_user, session_scope, system_scope
from sessions_app.live import channels
from sessions_app.live.users import own_view_vars
from sessions_app.services import accounts, callers
from sessions_app.services.errors import ServiceError
from sessions_app.state.auth import AuthState, remember_tab

T = TypeVar("T")

# Blocking work of handlers runs here: a few threads (the DB serializes writers anyway, and
# the machine has few cores), so a burst queues instead of starving the loop.
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sessions-handler")
# (login token, user id | None) of the event running in this task (each event has its own).
_CALLER: contextvars.ContextVar[tuple[str, int | None] | None] = contextvars.ContextVar("sessions_caller",
                                                                                       default=None)


class _Refused:
    def __repr__(self) -> str:
        return "REFUSED"

    def __bool__(self) -> bool:
        return False


# What ``_attempt`` returns when the service refused (the message is already shown).
REFUSED: Any = _Refused()


async def off_loop(fn: Callable[..., T], /, *args, **kwargs) -> T:
    """Run blocking ``fn(*args, **kwargs)`` on the handler pool and wait for it — in a copy of
    the caller's context (as ``asyncio.to_thread`` does): the transaction's actor (``db``'s
    row-level-security user) travels with the work, and nothing a job sets stays behind in the
    pool's thread for the next job (another user's event)."""
    ctx = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_POOL, functools.partial(ctx.run, fn, *args, **kwargs))


def in_db(fn: Callable[..., T], /, *args, **kwargs) -> T:
    """``fn(db, *args, **kwargs)`` in one transaction: what handlers pass to ``_attempt`` to
    call one service (or a few, atomically) off the loop."""
    with session_scope() as db:
        return fn(db, *args, **kwargs)


def _resolve(token: str, view: bool) -> tuple[int | None, dict | None]:
    with system_scope("who holds this login cookie") as db:
        user = accounts.user_for_token(db, token)
        if user is None:
            return None, None
        return user.id, own_view_vars(user) if view else None


def caller_then(token: str, view: bool, fn: Callable[..., T], /, *args,
                **kwargs) -> tuple[int | None, dict | None, Any, ServiceError | None]:
    """ONE transaction: find the login cookie's user (as the system), then — as that user —
    ``fn(db, uid, *args, **kwargs)``. Returns (uid, own view values if ``view``, result, the
    refusal); (None, None, None, None) when nobody is logged in (``fn`` does not run). A
    refusal rolls the transaction back. Without ``view`` (the hot handlers) the lookup is
    ``callers.for_token``: one statement, and the caller stays known to ``fn``'s services."""
    uid = values = None
    try:
        with system_scope("who holds this login cookie, then their first service call") as db:
            if view:
                user = accounts.user_for_token(db, token)
                if user is None:
                    return None, None, None, None
                uid, values = user.id, own_view_vars(user)
            else:
                caller = callers.for_token(db, token)
                if caller is None:
                    return None, None, None, None
                uid = caller.id
                callers.remember(db, caller)
            become_user(db, uid)
            result = fn(db, uid, *args, **kwargs)
    except ServiceError as err:
        return uid, values, REFUSED, err
    return uid, values, result, None


async def socket_caller_then(sid: str, fn: Callable[..., T], /, *args,
                             **kwargs) -> tuple[int | None, T | None, ServiceError | None]:
    """For an event answered before Reflex's queue (``realtime.fast_events``): the caller of
    the socket ``sid`` (its held login cookie) and ``fn(db, uid, *args, **kwargs)`` in ONE
    transaction and one trip to the pool (``caller_then``). Returns (uid, result, refusal);
    (None, None, None) when nobody is logged in (``fn`` does not run)."""
    uid, _, result, err = await off_loop(caller_then, realtime.held_cookie(sid), False, fn, *args, **kwargs)
    return uid, (None if err is not None else result), err


class Handler:
    """Mixin for state classes: the caller, once per event; service calls off the loop."""

    def _known_caller(self) -> tuple[str, int | None] | None:
        """(login token, user id) if this event already resolved the caller."""
        token = realtime.held_cookie(self.router.session.session_id)
        cached = _CALLER.get()
        return cached if cached is not None and cached[0] == token else None

    async def _caller_id(self, *, view: bool = False) -> int | None:
        """The logged-in caller's user id (None if not logged in), resolved on the server."""
        token = realtime.held_cookie(self.router.session.session_id)
        if not view and (known := self._known_caller()) is not None:
            return known[1]
        uid, values = await off_loop(_resolve, token, view)
        await self._note_caller(token, uid, values)
        if view and uid is not None:
            # A page load: the tab is in its user's channel, so their own-view pushes and a
            # login that ends elsewhere (``realtime.end_logins``) reach it on any page.
            await realtime.join(self.router.session.session_id, channels.user(uid))
        return uid

    async def _note_caller(self, token: str, uid: int | None, values: dict | None) -> None:
        """Remember the caller for this event; bring ``AuthState`` in line only where it is
        wrong (a revoked login, another account) or ``values`` (a page load) changed."""
        _CALLER.set((token, uid))
        act_as_user(uid)  # this event's transactions run for the caller (docs/rls.md)
        auth = await self.get_state(AuthState)
        if uid is None:
            if auth.user_id:
                auth._clear()
            return
        remember_tab(uid, self.router.session.client_token)
        if values is None and auth.user_id != uid:
            values = await off_loop(lambda: _resolve(token, True)[1])
        for name, value in (values or {}).items():
            if getattr(auth, name) != value:
                setattr(auth, name, value)

    async def _attempt(self, fn: Callable[..., T], /, *args, errors: tuple[Any, str] | None = None,
                       **kwargs) -> T:
        """``fn(*args, **kwargs)`` off the loop; a ``ServiceError``'s message goes to
        ``errors`` = (state, var name) — default this state's ``error`` — and ``REFUSED`` is
        returned."""
        try:
            return await off_loop(fn, *args, **kwargs)
        except ServiceError as err:
            self._refused(err, errors)
            return REFUSED

    def _refused(self, err: ServiceError, errors: tuple[Any, str] | None) -> None:
        target, var = errors or (self, "error")
        setattr(target, var, err.message)

    async def _attempt_as_caller(self, fn: Callable[..., T], /, *args, errors: tuple[Any, str] | None = None,
                                 **kwargs) -> tuple[int | None, T]:
        """The hot handlers (a chat post, a timer action): resolve the caller AND run
        ``fn(db, uid, *args, **kwargs)`` in ONE transaction and one trip to the pool
        (``caller_then``) — a second transaction (BEGIN, the write lock, COMMIT) was the
        biggest avoidable cost of a post, and under a busy machine every trip waits for a
        thread and for the loop again. Returns ``(None, None)`` when nobody is logged in
        (``fn`` does not run), ``(uid, REFUSED)`` when the service refused (the message is
        shown, as with ``_attempt``; the transaction is rolled back), else ``(uid, result)``."""
        token = realtime.held_cookie(self.router.session.session_id)
        known = self._known_caller()
        if known is not None:  # already resolved in this event: no second lookup
            uid = known[1]
            if uid is None:
                return None, None
            result = await self._attempt(in_db, fn, uid, *args, errors=errors, **kwargs)
            return uid, result
        uid, _, result, err = await off_loop(caller_then, token, False, fn, *args, **kwargs)
        await self._note_caller(token, uid, None)
        if err is not None:
            self._refused(err, errors)
        return uid, result

    async def _attempt_in_callers_transaction(self, fn: Callable[..., T], /, *args, view: bool = False,
                                              errors: tuple[Any, str] | None = None,
                                              **kwargs) -> tuple[int | None, T]:
        """A page load's caller and its first service call in ONE transaction and one trip to
        the pool (``caller_then``): ``fn(db, uid, *args, **kwargs)``. ``view=True`` brings the
        own view up to date as ``_caller_id(view=True)`` does. Returns like
        ``_attempt_as_caller``: ``(None, None)`` nobody logged in, ``(uid, REFUSED)``, or
        ``(uid, result)``."""
        token = realtime.held_cookie(self.router.session.session_id)
        uid, values, result, err = await off_loop(caller_then, token, view, fn, *args, **kwargs)
        await self._note_caller(token, uid, values if view else None)
        if err is not None:
            self._refused(err, errors)
        return uid, result
