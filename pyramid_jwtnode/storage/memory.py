"""The in-process revocation store (``revocation_store = memory``): one process only, for
development and tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from .base import Rotation
from .rotation import Family, kept_for, rotate_record

__all__ = ["MemoryStore"]


class MemoryStore:
    """A thread-safe in-process store with expiring entries (one process only)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._entries: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._writes = 0

    def _get(self, key: str, now: float) -> Any:
        entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] > now else None

    def _put(self, key: str, value: Any, expires: float, now: float) -> None:
        self._entries[key] = (expires, value)
        self._writes += 1
        if self._writes % 1024 == 0:  # purge expired entries as writes go on
            for stale in [k for k, (at, _) in self._entries.items() if at <= now]:
                del self._entries[stale]

    def revoke(self, key: str, ttl: int) -> None:
        with self._lock:
            now = self._clock()
            self._put(key, True, now + ttl, now)

    def cut_off(self, key: str, at: int, ttl: int) -> None:
        with self._lock:
            now = self._clock()
            self._put(key, max(at, self._get(key, now) or 0), now + ttl, now)

    def status(self, token: str | None, family: str | None, subject: str | None
               ) -> tuple[bool, int | None]:
        with self._lock:
            now = self._clock()
            revoked = token is not None and self._get(token, now) is not None
            record = self._get(family, now) if family is not None else None
            ended = record is not None and record.end
            return revoked or ended, self._get(subject, now) if subject is not None else None

    def start_family(self, key: str, current: str, now: int, ttl: int, *,
                     subject: str | None) -> None:
        with self._lock:
            clock = self._clock()
            self._put(key, Family(current, now), clock + ttl, clock)

    def rotate(self, key: str, presented: str, new: str, now: int, *, grace: int, max_age: int,
               lifetime: int, slack: int, end_ttl: int, subject: str | None,
               issued_at: float) -> tuple[Rotation, int]:
        with self._lock:
            clock = self._clock()
            record: Family | None = self._get(key, clock)
            cut = self._get(subject, clock) if subject is not None else None
            outcome = rotate_record(record, presented, new, now, grace=grace, max_age=max_age, cut=cut,
                                    issued_at=issued_at)
            if record is None:
                return outcome, 0
            if outcome in (Rotation.REUSED, Rotation.SUBJECT_REVOKED):
                self._entries[key] = (clock + end_ttl, record)
            elif outcome in (Rotation.ROTATED, Rotation.RETRIED):
                self._entries[key] = (clock + kept_for(now, record.start, lifetime, max_age, slack), record)
            return outcome, record.start

    def end_family(self, key: str, ttl: int, *, subject: str | None) -> None:
        with self._lock:
            now = self._clock()
            record = self._get(key, now) or Family(None, 0)
            record.end = True
            self._put(key, record, now + ttl, now)

    def __len__(self) -> int:
        now = self._clock()
        with self._lock:
            return sum(1 for at, _ in self._entries.values() if at > now)
