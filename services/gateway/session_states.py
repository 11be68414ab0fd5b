"""Which sessions are still active: a short cache of auth's answers, so that sign-out is real.

An access token stays valid by its signature until it expires (up to 15 minutes), but docs/api.md
promises that a signed-out or revoked session's token stops working within 60 s. So after the
signature, the gateway asks auth whether the token's session is still active and trusts the
answer for ``ttl_seconds`` (at most 60). Lookups of unknown sessions that arrive together are
sent as one ``BatchGetSessionStates`` call, and a request for a session whose lookup is already
on its way waits for that answer instead of asking again: a burst of requests after a restart
costs one hop, not one per request.

When auth cannot answer, an unknown session is refused (fail closed): letting it through would
let a revoked token work for as long as auth is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
# Asks auth which of the given session ids are active; raises when auth cannot answer.
Lookup = Callable[[list[str]], Awaitable[Collection[str]]]

# BatchGetSessionStates takes this many ids per call; larger bursts are split.
MAX_BATCH = 100
# Bounds memory when many sessions are seen within one TTL (entries are small).
MAX_ENTRIES = 200_000


class SessionStateUnavailable(Exception):
    """auth could not say whether the session is active."""


@dataclass(frozen=True)
class _Entry:
    active: bool
    user_id: str
    expires_at: float


class SessionStates:
    """Answers "is this session active?" from a TTL cache fed by coalesced batch lookups."""

    def __init__(
        self,
        lookup: Lookup,
        ttl_seconds: float,
        *,
        clock: Clock = time.monotonic,
        max_batch: int = MAX_BATCH,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._lookup = lookup
        self._ttl = ttl_seconds
        self._clock = clock
        self._max_batch = max_batch
        self._max_entries = max_entries
        self._entries: dict[str, _Entry] = {}
        # Sessions being looked up (or queued for the next batch) and who waits for them.
        self._pending: dict[str, asyncio.Future[bool]] = {}
        self._queued: list[str] = []
        self._user_of: dict[str, str] = {}
        self._flush_scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        # Bumped by every eviction: an answer asked for before a sign-out is not cached after it.
        self._generation = 0

    async def is_active(self, session_id: str, user_id: str) -> bool:
        """Whether auth says the session is active; :class:`SessionStateUnavailable` if unsure."""
        entry = self._entries.get(session_id)
        if entry is not None:
            if entry.expires_at > self._clock() and entry.user_id == user_id:
                return entry.active
            del self._entries[session_id]
        future = self._pending.get(session_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._pending[session_id] = future
            self._user_of[session_id] = user_id
            self._queued.append(session_id)
            self._schedule_flush()
        # Shielded: one caller going away must not cancel the answer others wait for.
        return await asyncio.shield(future)

    def evict_session(self, session_id: str) -> None:
        """Forgets one session at once (it was just signed out through this gateway)."""
        self._generation += 1
        self._entries.pop(session_id, None)
        # Later requests must not join a lookup that auth may have answered before the revoke.
        self._detach(session_id)

    def evict_user(self, user_id: str) -> None:
        """Forgets every session of a user (sign out everywhere, password change, deletion)."""
        self._generation += 1
        for session_id in [s for s, e in self._entries.items() if e.user_id == user_id]:
            del self._entries[session_id]
        for session_id in [s for s, u in self._user_of.items() if u == user_id]:
            self._detach(session_id)

    async def close(self) -> None:
        """Cancels lookups still running (the channels are about to close)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def __len__(self) -> int:
        return len(self._entries)

    def _detach(self, session_id: str) -> None:
        # The waiting callers keep their future; only new callers start a fresh lookup.
        if self._pending.pop(session_id, None) is not None:
            self._user_of.pop(session_id, None)

    def _schedule_flush(self) -> None:
        # Deferred by one loop turn, so that every request that arrived together joins.
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._start_flush)

    def _start_flush(self) -> None:
        self._flush_scheduled = False
        queued, self._queued = self._queued, []
        for start in range(0, len(queued), self._max_batch):
            batch = queued[start : start + self._max_batch]
            futures = {session_id: self._pending[session_id] for session_id in batch}
            users = {session_id: self._user_of[session_id] for session_id in batch}
            task = asyncio.ensure_future(self._resolve(futures, users))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _resolve(
        self, futures: dict[str, asyncio.Future[bool]], users: dict[str, str]
    ) -> None:
        generation = self._generation
        try:
            active = set(await self._lookup(list(futures)))
        except asyncio.CancelledError:
            self._fail(futures, SessionStateUnavailable("lookup cancelled"))
            raise
        except Exception as error:  # noqa: BLE001 - any failure means "unsure": refuse
            logger.warning("session state lookup failed: %s", type(error).__name__)
            self._fail(futures, SessionStateUnavailable(str(error)))
            return
        if generation == self._generation:
            self._store((s, s in active, users[s]) for s in futures)
        for session_id, future in futures.items():
            self._forget_pending(session_id, future)
            if not future.done():
                future.set_result(session_id in active)

    def _fail(self, futures: dict[str, asyncio.Future[bool]], error: Exception) -> None:
        for session_id, future in futures.items():
            self._forget_pending(session_id, future)
            if not future.done():
                future.set_exception(error)
                # Retrieved here so that a future nobody awaits any more logs nothing.
                future.exception()

    def _forget_pending(self, session_id: str, future: asyncio.Future[bool]) -> None:
        if self._pending.get(session_id) is future:
            del self._pending[session_id]
            self._user_of.pop(session_id, None)

    def _store(self, answers: Iterable[tuple[str, bool, str]]) -> None:
        now = self._clock()
        expires_at = now + self._ttl
        if self._ttl <= 0:
            return
        if len(self._entries) >= self._max_entries:
            self._sweep(now)
        for session_id, active, user_id in answers:
            self._entries[session_id] = _Entry(active, user_id, expires_at)

    def _sweep(self, now: float) -> None:
        for session_id in [s for s, e in self._entries.items() if e.expires_at <= now]:
            del self._entries[session_id]
        # Still full of live entries: drop the oldest half (insertion order); they are re-asked.
        if len(self._entries) >= self._max_entries:
            for session_id in list(self._entries)[: len(self._entries) // 2]:
                del self._entries[session_id]
