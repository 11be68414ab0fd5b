"""Decision leases: how long roster may reuse an allowed read's answer, and the wait after
every change that takes access away, which makes the reuse safe.

docs/api.md promises that revoking a grant takes effect on the next request and that every
read by a non-owner appears in the owner's access log. A guardian paging through a class
would otherwise ask sharing the same questions on every page, so an answer carries a lease:

- :func:`lease_seconds` gives an allowed READ (Check, BatchCheck's checks and check groups)
  ``min(LEASE, until the grant that gave the access ends, until the hour in which this
  actor's view of this resource is already logged ends)``, and 0 to anything else (denials,
  writes, deletes, shares are never reused). A read that skips the log is capped by the
  grant's end only. So a reused answer never outlives a grant's own end, and never stands in
  for a read that the access log would have recorded (``access_log.py``: one view per actor,
  resource and hour).
- The caller (``services/roster/decision_leases.py``) stamps the answer with its own
  monotonic clock just *before* it sent the call, and reuses it only while
  ``monotonic() < sent_at + lease``. Sharing evaluated the answer after that send and before
  any revoking commit, so every reuse ends before ``commit + lease``.
- Every RPC that removes or narrows a relation waits :meth:`LeasePolicy.wait_seconds`
  (the lease plus a margin for clock rate error and scheduling) after its commit before it
  answers: DeleteGrant (revoke and leave, ``grant_rpcs.py``), PurgeUser (``purge_rpcs.py``),
  and DeleteTuples when it deletes anything but owner tuples (``tuple_rpcs.py``: an
  unenrollment, a deleted class's grants and enrollment links; ``tuples.delete`` and
  ``delete_resource`` say what narrowed). So the next request
  after the client's answer never meets a stale answer, with any number of replicas and no
  clock sync. Expiry by time needs no wait: the lease is capped by it.

``TRACKCC_SHARING_DECISION_LEASE_SECONDS`` (``config.py``) sets LEASE; 0 turns leases and
waits off.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from services.sharing.access_log import VIEW_COALESCE_WINDOW

# The wait after a revoking commit exceeds the lease by this share and this constant: clocks
# of two hosts may run at slightly different rates, and the caller's check of its lease runs
# a little after it read its clock.
MARGIN_SHARE = 0.05
MARGIN_SECONDS = 0.02
# Every revocation waits the lease: its callers (the gateway, 5 s by default; roster's
# DeleteTuples, 5 s) must still get their answer within their deadline. Refused above this.
MAX_LEASE_SECONDS = 2.0


@dataclass(frozen=True)
class LeasePolicy:
    """The lease sharing grants to allowed reads; ``seconds == 0`` turns leases off."""

    seconds: float = 0.0

    def lease_ms(
        self,
        now: datetime,
        *,
        allowed_read: bool,
        grant_ends: datetime | None,
        logged_view_at: datetime | None,
        logs_view: bool,
    ) -> int:
        """The lease of one answer, in whole milliseconds (rounded down).

        ``allowed_read``: the answer allows a READ; ``grant_ends``: the end of the tuple that
        gave the access (None for none); ``logs_view``: this read is logged as a view (not the
        owner's, not skipping the log), whose mark says it was logged at ``logged_view_at``
        (None when unknown: no lease)."""
        if self.seconds <= 0 or not allowed_read:
            return 0
        lease = self.seconds
        if grant_ends is not None:
            lease = min(lease, (grant_ends - now).total_seconds())
        if logs_view:
            if logged_view_at is None:
                return 0
            lease = min(lease, (logged_view_at + VIEW_COALESCE_WINDOW - now).total_seconds())
        return max(0, int(lease * 1000))

    def wait_seconds(self) -> float:
        """How long a change that takes access away waits after its commit."""
        if self.seconds <= 0:
            return 0.0
        return self.seconds * (1 + MARGIN_SHARE) + MARGIN_SECONDS

    async def outlast_leases(self) -> None:
        """Waits until every lease given before the caller's commit has run out.

        On the event loop (no thread held); the RPC's task is cancelled on shutdown, and this
        with it."""
        wait = self.wait_seconds()
        if wait > 0:
            await asyncio.sleep(wait)


NO_LEASES = LeasePolicy()
