"""Revocation stores: what must be remembered, shared, and forgotten in time.

Three kinds of record, each expiring by itself, so storage stays bounded:

- a **revoked token id** (``revoke``), kept until the token would have expired anyway;
- a **refresh family** (``start_family``/``rotate``/``end_family``): one record per login,
  holding the current refresh token id, the one before it (for a retry), when the family
  started and whether it ended. However often a family is refreshed, it is this one record,
  rewritten atomically. A live family is kept until its newest refresh token could expire;
  an ended one only until its access tokens could (``end_ttl``);
- a **subject cut-off** (``cut_off``): tokens of that user issued at or before it are refused,
  kept as long as the longest token could live.

A family is kept *with its subject* (the ``subject`` argument): a rotation reads the subject's
cut-off in the same atomic step, so a "revoke all" that lands while a refresh is under way
either refuses it or is seen by the tokens it issues, never missed.

:meth:`RevocationStore.status` reads a token's id, its family and its subject's cut-off in
one round trip. Implementations:

- :class:`MemoryStore` (``revocation_store = memory``): one process; development and tests.
- :class:`RedisStore` (``redis://``, ``rediss://``, ``unix://``; ``redis+cluster://`` for a
  Redis Cluster; ``redis+sentinel://`` for a Sentinel-managed primary): shared by every process
  and host. Rotation is a Lua script; a family's key shares its subject's hash slot (``{...}``
  hash tags), so the script runs atomically on a cluster too.

A store that cannot be reached raises :class:`~pyramid_jwtnode.exceptions.StoreUnavailableError`;
callers answer 503 and never treat a token as valid (fail closed).

The modules: :mod:`.base` (the protocol and the rotation outcomes), :mod:`.rotation` (the
rotation state machine, in Python and in Lua, side by side), :mod:`.memory` and :mod:`.redis`
(one store each). Nothing here imports Pyramid or the JOSE core.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .base import RevocationStore, Rotation
from .memory import MemoryStore
from .redis import RedisStore

__all__ = ["RevocationStore", "MemoryStore", "RedisStore", "open_store", "Rotation"]


def open_store(url: str, prefix: str | None, clock: Callable[[], float] = time.time) -> RevocationStore:
    """The store a ``revocation_store`` setting names (no connection is made yet); a Redis
    one needs the app's own key ``prefix``. The memory store counts its TTLs on ``clock``."""
    if url == "memory":
        return MemoryStore(clock)
    if not prefix:
        raise ValueError("a Redis store needs a key prefix of the app's own")
    return RedisStore(url, prefix=prefix)
