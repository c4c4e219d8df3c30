"""What a revocation store is: the protocol, and the outcomes of a rotation."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

__all__ = ["RevocationStore", "Rotation"]


class Rotation(StrEnum):
    """The outcomes of :meth:`RevocationStore.rotate` (the table in :mod:`.rotation`)."""

    ROTATED = "rotated"   # the current token: the new one is current now
    RETRIED = "retried"   # the one just rotated, presented again within the retry grace
    REUSED = "reused"     # an older token: the family has ended
    ENDED = "ended"       # the family had ended already
    EXPIRED = "expired"   # the family is older than its maximum age
    UNKNOWN = "unknown"   # no such family (never started, or long gone)
    SUBJECT_REVOKED = "subject_revoked"  # the subject's cut-off refuses it: the family has ended


class RevocationStore(Protocol):
    """What the add-on needs of a store. Keys are short strings; TTLs whole seconds >= 1;
    times whole seconds since the epoch. A family is kept with its ``subject`` (a cut-off's
    key, or ``None`` when its tokens name no user): every call naming the family gives the
    same one (a required argument, so that no caller forgets it and misses the record)."""

    def revoke(self, key: str, ttl: int) -> None:
        """Remember the token id ``key`` as revoked for ``ttl`` seconds."""

    def cut_off(self, key: str, at: int, ttl: int) -> None:
        """Refuse the subject ``key``'s tokens issued at or before ``at`` (kept ``ttl`` s)."""

    def status(self, token: str | None, family: str | None, subject: str | None
               ) -> tuple[bool, int | None]:
        """(token revoked or family ended, the subject's cut-off or None): one round trip."""

    def start_family(self, key: str, current: str, now: int, ttl: int, *,
                     subject: str | None) -> None:
        """Start the refresh family ``key`` with its first refresh token id ``current``,
        kept ``ttl`` s (until that token could expire)."""

    def rotate(self, key: str, presented: str, new: str, now: int, *, grace: int, max_age: int,
               lifetime: int, slack: int, end_ttl: int, subject: str | None,
               issued_at: float) -> tuple[Rotation, int]:
        """Atomically: refuse when the subject's cut-off is at or after ``issued_at`` (the
        presented token's ``iat``), else make ``new`` current if ``presented`` is (see
        :class:`Rotation`); return the outcome with the family's start. After a rotation the
        family is kept until the new token could expire, ``min(now + lifetime, start +
        max_age) + slack``; a family ended here (reuse, the subject's cut-off) is kept
        ``end_ttl`` s."""

    def end_family(self, key: str, ttl: int, *, subject: str | None) -> None:
        """End the family ``key``: its tokens are refused, and it is kept ``ttl`` s from now
        (as long as its access tokens could live), no longer."""
