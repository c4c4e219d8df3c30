"""Revocation stores: where revoked token ids, revoked refresh families and used refresh
tokens are remembered until the tokens would have expired anyway.

One small interface, two implementations:

- :class:`MemoryStore` (``revocation_store = memory``): one process; development and tests.
- :class:`RedisStore` (``revocation_store = redis://host:6379/0``): shared by every process
  and host, so a token revoked through one is refused by all.

Every entry is written with a TTL, the remaining lifetime of the token it concerns, so
storage stays bounded. A store that cannot be reached raises
:class:`~pyramid_jwtnode.exceptions.StoreUnavailableError`; callers answer 503 and never
treat the token as valid (fail closed).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from .exceptions import StoreUnavailableError

__all__ = ["RevocationStore", "MemoryStore", "RedisStore", "open_store"]

PREFIX = "pyramid_jwtnode:"


class RevocationStore(Protocol):
    """What the add-on needs of a store. Keys are short strings; TTLs whole seconds >= 1."""

    def add(self, key: str, ttl: int) -> None:
        """Remember ``key`` for ``ttl`` seconds."""

    def any_of(self, *keys: str) -> bool:
        """True when any of ``keys`` is remembered."""

    def add_once(self, key: str, ttl: int) -> bool:
        """Remember ``key``; True if it was not already there (atomic)."""


class MemoryStore:
    """A thread-safe in-process store with expiring entries."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._writes = 0

    def _live(self, key: str, now: float) -> bool:
        expiry = self._entries.get(key)
        return expiry is not None and expiry > now

    def _purge(self, now: float) -> None:
        self._writes += 1
        if self._writes % 1024 == 0:
            for key in [k for k, expiry in self._entries.items() if expiry <= now]:
                del self._entries[key]

    def add(self, key: str, ttl: int) -> None:
        with self._lock:
            now = self._clock()
            self._entries[key] = now + ttl
            self._purge(now)

    def any_of(self, *keys: str) -> bool:
        now = self._clock()
        with self._lock:
            return any(self._live(key, now) for key in keys)

    def add_once(self, key: str, ttl: int) -> bool:
        with self._lock:
            now = self._clock()
            if self._live(key, now):
                return False
            self._entries[key] = now + ttl
            self._purge(now)
            return True

    def __len__(self) -> int:
        now = self._clock()
        with self._lock:
            return sum(1 for expiry in self._entries.values() if expiry > now)


class RedisStore:
    """A store on Redis (redis-py), with short timeouts so an outage is a quick 503."""

    def __init__(self, url: str, *, timeout: float = 0.5) -> None:
        try:
            import redis
        except ImportError:  # pragma: no cover - the extra is missing
            raise ImportError(
                "revocation_store = redis://... needs the redis package: "
                "pip install 'pyramid_jwtnode[redis]'"
            ) from None
        self._errors: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)
        self.client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry_on_timeout=False,
            health_check_interval=30,
        )

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except self._errors as exc:
            raise StoreUnavailableError(f"revocation store unreachable ({type(exc).__name__})") from None

    def add(self, key: str, ttl: int) -> None:
        self._call("set", PREFIX + key, b"1", ex=max(1, int(ttl)))

    def any_of(self, *keys: str) -> bool:
        return bool(self._call("exists", *(PREFIX + key for key in keys)))

    def add_once(self, key: str, ttl: int) -> bool:
        return bool(self._call("set", PREFIX + key, b"1", ex=max(1, int(ttl)), nx=True))


def open_store(url: str) -> RevocationStore:
    """The store a ``revocation_store`` setting names (no connection is made yet)."""
    if url == "memory":
        return MemoryStore()
    return RedisStore(url)
