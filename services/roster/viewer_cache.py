"""A cache of which callers viewed a class as viewers, and what it does to the access log.

Reading a page of a class's students (``class_page_access.py``) needs the class check, and for
a viewer of the class one check per student, each of which logs a view in the owner's access
log. Which kind of caller this is only the class check's answer tells; this cache remembers,
per process, the (user, class) pairs whose last class check answered viewer, so that for them
the student checks go along with the class check in one round trip to sharing.

What it changes, and what it never changes:

- a hit sends the student checks (and so logs the views) at once; a miss sends them in a
  second round trip once the class check answered viewer: the same views are logged either
  way, only the number of round trips differs;
- a stale hit (the caller became an editor since) logs views that an editor's list would
  not log; a stale miss costs one more round trip;
- it never decides what the caller may see: every answer returned is this request's own.

It holds at most ``limit`` pairs and forgets them all when full (a forgotten pair costs one
more round trip). It lives in the roster servicer's deps (``rpc_base.Deps.viewer_cache``).
"""

from __future__ import annotations

import uuid

DEFAULT_LIMIT = 100_000


class ViewerCache:
    """(user, class) pairs whose last class check in this process answered viewer."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._pairs: set[tuple[uuid.UUID, uuid.UUID]] = set()
        self._limit = limit

    def is_viewer(self, user_id: uuid.UUID, class_id: uuid.UUID) -> bool:
        """Whether the last class check of this pair answered viewer."""
        return (user_id, class_id) in self._pairs

    def remember(self, user_id: uuid.UUID, class_id: uuid.UUID, viewer: bool) -> None:
        """Records the answer of a class check of this pair."""
        pair = (user_id, class_id)
        if not viewer:
            self._pairs.discard(pair)
            return
        if len(self._pairs) >= self._limit:
            self._pairs.clear()
        self._pairs.add(pair)
