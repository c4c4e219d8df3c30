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
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, Final, Protocol

from ..exceptions import StoreUnavailableError

__all__ = ["RevocationStore", "MemoryStore", "RedisStore", "open_store", "Rotation"]

log = logging.getLogger("pyramid_jwtnode")


class Rotation:
    """The outcomes of :meth:`RevocationStore.rotate`."""

    ROTATED: Final = "rotated"   # the current token: the new one is current now
    RETRIED: Final = "retried"   # the one just rotated, presented again within the retry grace
    REUSED: Final = "reused"     # an older token: the family has ended
    ENDED: Final = "ended"       # the family had ended already
    EXPIRED: Final = "expired"   # the family is older than its maximum age
    UNKNOWN: Final = "unknown"   # no such family (never started, or long gone)
    SUBJECT_REVOKED: Final = "subject_revoked"  # the subject's cut-off refuses it: the family has ended


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
               issued_at: float) -> tuple[str, int]:
        """Atomically: refuse when the subject's cut-off is at or after ``issued_at`` (the
        presented token's ``iat``), else make ``new`` current if ``presented`` is (see
        :class:`Rotation`); return the outcome with the family's start. After a rotation the
        family is kept until the new token could expire, ``min(now + lifetime, start +
        max_age) + slack``; a family ended here (reuse, the subject's cut-off) is kept
        ``end_ttl`` s."""

    def end_family(self, key: str, ttl: int, *, subject: str | None) -> None:
        """End the family ``key``: its tokens are refused, and it is kept ``ttl`` s from now
        (as long as its access tokens could live), no longer."""


class _Family:
    """A refresh family in memory: the fields of the Redis hash, in a fixed small object."""

    __slots__ = ("cur", "prev", "rot", "retry", "start", "end")
    cur: str | None
    prev: str | None
    rot: int
    retry: bool
    start: int
    end: bool

    def __init__(self, current: str | None, start: int) -> None:
        self.cur, self.prev, self.rot, self.retry = current, None, 0, False
        self.start, self.end = start, False


def _kept_until(now: int, start: int, lifetime: int, max_age: int, slack: int) -> int:
    """Seconds a family is kept after a rotation at ``now``: until its new token could expire."""
    return max(1, min(lifetime, start + max_age - now) + slack)


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
            self._put(key, _Family(current, now), clock + ttl, clock)

    def rotate(self, key: str, presented: str, new: str, now: int, *, grace: int, max_age: int,
               lifetime: int, slack: int, end_ttl: int, subject: str | None,
               issued_at: float) -> tuple[str, int]:
        with self._lock:
            clock = self._clock()
            record: _Family | None = self._get(key, clock)
            if record is None:
                return Rotation.UNKNOWN, 0
            start = record.start
            if record.end:
                return Rotation.ENDED, start
            cut = self._get(subject, clock) if subject is not None else None
            if cut is not None and issued_at <= cut:
                record.end = True
                self._entries[key] = (clock + end_ttl, record)
                return Rotation.SUBJECT_REVOKED, start
            if now > start + max_age:
                return Rotation.EXPIRED, start
            if record.cur == presented:
                record.cur, record.prev, record.rot, record.retry = new, presented, now, False
            elif (grace > 0 and record.prev == presented and now - record.rot <= grace
                    and not record.retry):
                record.cur, record.retry = new, True
            else:
                record.end = True
                self._entries[key] = (clock + end_ttl, record)
                return Rotation.REUSED, start
            self._entries[key] = (clock + _kept_until(now, start, lifetime, max_age, slack), record)
            return (Rotation.RETRIED if record.retry else Rotation.ROTATED), start

    def end_family(self, key: str, ttl: int, *, subject: str | None) -> None:
        with self._lock:
            now = self._clock()
            record = self._get(key, now) or _Family(None, 0)
            record.end = True
            self._put(key, record, now + ttl, now)

    def __len__(self) -> int:
        now = self._clock()
        with self._lock:
            return sum(1 for at, _ in self._entries.values() if at > now)


# Redis: the family is one hash {cur, prev, rot, retry, start, end}; rotation is one script.
# KEYS[1] the family, KEYS[2] (when given) its subject's cut-off, in the same hash slot.
# ARGV: presented, new, now, grace, max_age, end_ttl, issued_at, lifetime, slack.
_ROTATE: Final = """
local h = redis.call('HMGET', KEYS[1], 'cur', 'prev', 'rot', 'retry', 'start', 'end')
if not h[5] then return {'unknown', 0} end
local start = tonumber(h[5])
if h[6] == '1' then return {'ended', start} end
if KEYS[2] then
  local cut = redis.call('GET', KEYS[2])
  if cut and tonumber(ARGV[7]) <= tonumber(cut) then
    redis.call('HSET', KEYS[1], 'end', '1')
    redis.call('EXPIRE', KEYS[1], ARGV[6])
    return {'subject_revoked', start}
  end
end
local now = tonumber(ARGV[3])
local max_age = tonumber(ARGV[5])
if now > start + max_age then return {'expired', start} end
local outcome
if h[1] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'cur', ARGV[2], 'prev', ARGV[1], 'rot', now, 'retry', '0')
  outcome = 'rotated'
else
  local grace = tonumber(ARGV[4])
  if grace > 0 and h[2] == ARGV[1] and h[4] ~= '1' and now - tonumber(h[3]) <= grace then
    redis.call('HSET', KEYS[1], 'cur', ARGV[2], 'retry', '1')
    outcome = 'retried'
  else
    redis.call('HSET', KEYS[1], 'end', '1')
    redis.call('EXPIRE', KEYS[1], ARGV[6])
    return {'reused', start}
  end
end
local keep = math.min(tonumber(ARGV[8]), start + max_age - now) + tonumber(ARGV[9])
redis.call('EXPIRE', KEYS[1], math.max(1, keep))
return {outcome, start}
"""
_END: Final = """
redis.call('HSET', KEYS[1], 'end', '1')
if redis.call('HEXISTS', KEYS[1], 'start') == 0 then redis.call('HSET', KEYS[1], 'start', 0) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""
_CUT_OFF: Final = """
local old = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > old then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""
_STATUS: Final = """
local revoked = 0
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then revoked = 1 end
if ARGV[2] == '1' and redis.call('HGET', KEYS[2], 'end') == '1' then revoked = 1 end
local cut = false
if ARGV[3] == '1' then cut = redis.call('GET', KEYS[3]) end
return {revoked, cut}
"""
#: maxmemory policies under which Redis never evicts these keys (they all carry a TTL)
_SAFE_EVICTION: Final = frozenset({"noeviction"})


class RedisStore:
    """A store on Redis (redis-py), with short timeouts so an outage is a quick 503.

    ``url``: ``redis://``, ``rediss://`` or ``unix://`` for one server; ``redis+cluster://host:port``
    (or ``rediss+cluster://``) for a Redis Cluster, any node as the entry point;
    ``redis+sentinel://host:26379,host2:26379/service/db`` for the primary a Sentinel group
    manages. Or give a ready redis-py ``client`` instead of a URL. Every key starts with
    ``prefix``: one of the app's own (the same on each of its hosts), so that apps can share
    one Redis without one's revocations reaching another's users.
    """

    def __init__(self, url: str | None = None, *, prefix: str, timeout: float = 0.5,
                 client: Any = None) -> None:
        try:
            import redis
            import redis.backoff
            import redis.cluster
            import redis.connection
            import redis.retry
            import redis.sentinel
        except ImportError:  # pragma: no cover - the extra is missing
            raise ImportError(
                "revocation_store = redis://... needs the redis package: "
                "pip install 'pyramid_jwtnode[redis]'"
            ) from None
        if not prefix or "{" in prefix or "}" in prefix:
            raise ValueError("a Redis store needs a key prefix of the app's own, without braces")
        self.prefix = prefix
        self._errors: tuple[type[BaseException], ...] = (
            redis.exceptions.RedisError, redis.exceptions.RedisClusterException, OSError)
        self._response_error: type[BaseException] = redis.exceptions.ResponseError
        # No retries: a request that finds the store down is answered (503) within the timeout;
        # the next request tries again.
        options: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout,
                                   "retry": redis.retry.Retry(redis.backoff.NoBackoff(), 0)}
        self._client: Any = None
        self._connect: Callable[[], Any] = lambda: None
        self._failed_at = -1e9  # monotonic time of the last failed attempt to make a cluster client
        if client is not None:
            self._client = self._with_scripts(client)
            self._cluster = isinstance(client, redis.cluster.RedisCluster)
        elif url is None:
            raise ValueError("give a url or a client")
        elif url.startswith(("redis+cluster://", "rediss+cluster://")):
            # A cluster client connects when it is made: made at first use, so that start-up
            # never waits for the cluster. Its URL is read now, so a mistyped one fails here.
            self._cluster = True
            cluster_url = url.replace("+cluster", "", 1)
            parse_url: Any = redis.connection.parse_url  # not typed
            parse_url(cluster_url)
            self._connect = lambda: redis.cluster.RedisCluster.from_url(cluster_url, **options)
        elif url.startswith("redis+sentinel://"):
            self._cluster = False  # made now: neither the sentinels nor the primary are asked yet
            self._client = self._with_scripts(_sentinel_primary(_sentinel_address(url), options))
        else:
            self._cluster = False  # made now: the URL is read, no connection is made
            self._client = self._with_scripts(
                redis.Redis.from_url(url, health_check_interval=30, **options))
        self._lock = threading.Lock()
        self._checked_eviction = False

    @property
    def client(self) -> Any:
        """The redis-py client (a cluster's is made at first use). While a cluster cannot be
        reached, a new attempt is made at most once a second; requests in between fail at once."""
        if self._client is None:
            if time.monotonic() - self._failed_at < 1.0:
                raise StoreUnavailableError("revocation store unreachable (cluster down)")
            try:
                client = self._connect()  # outside the lock: waiting requests do not queue on it
            except self._errors:
                self._failed_at = time.monotonic()
                raise
            with self._lock:
                if self._client is None:
                    self._client = self._with_scripts(client)
        return self._client

    def _with_scripts(self, client: Any) -> Any:
        """``client``, once this store's Lua scripts are registered with it (no round trip)."""
        self._rotate = client.register_script(_ROTATE)
        self._end = client.register_script(_END)
        self._cut_off = client.register_script(_CUT_OFF)
        self._status = client.register_script(_STATUS)
        return client

    def key(self, key: str, subject: str | None = None) -> str:
        """The Redis key: the prefix and a ``{...}`` hash tag. A family given its ``subject``
        takes the subject's tag, so that its key and the subject's cut-off share a hash slot."""
        if subject is None:
            return f"{self.prefix}{{{key}}}"
        return f"{self.prefix}{{{subject}}}{key}"

    def _call(self, action: Callable[[], Any]) -> Any:
        try:
            self.client  # noqa: B018 - made here, so that failing to make it is a 503 too
            result = action()
        except self._errors as exc:
            self._drop_idle_connections()
            raise StoreUnavailableError(f"revocation store unreachable ({type(exc).__name__})") from None
        if not self._checked_eviction:  # once Redis has answered: an outage costs one timeout
            self._warn_if_evicting()
        return result

    def _drop_idle_connections(self) -> None:
        """Close the idle connections a failure may have left stale; the next command opens new
        ones. Connections other threads are using stay open (closing them would fail their
        commands with an error that is not Redis's)."""
        pool = getattr(self._client, "connection_pool", None)
        if pool is None:  # a cluster client drops a failed node's connections itself
            return
        try:
            pool.disconnect(inuse_connections=False)
        except self._errors:  # pragma: no cover - closing a dead connection
            pass

    def _warn_if_evicting(self) -> None:
        """At first use: say so when Redis may evict these keys (revoked tokens would come back)."""
        try:
            policy = self.client.config_get("maxmemory-policy")
        except self._errors:  # CONFIG is disabled (managed Redis), or Redis is down: skip
            return
        finally:
            self._checked_eviction = True
        if isinstance(policy, dict):  # a cluster answers per node or merged
            values = {str(v) for k, v in policy.items() if "maxmemory-policy" in str(k)} or {
                str(v) for v in policy.values()}
            value = next(iter(values), "noeviction")
        else:
            value = str(policy)
        if value not in _SAFE_EVICTION:
            log.warning(
                "revocation store: Redis maxmemory-policy is %s, which may evict revocation and "
                "refresh records when memory is full (revoked tokens would work again); set "
                "maxmemory-policy noeviction, or give these keys a Redis of their own", value)

    def revoke(self, key: str, ttl: int) -> None:
        self._call(lambda: self.client.set(self.key(key), b"1", ex=max(1, int(ttl))))

    def cut_off(self, key: str, at: int, ttl: int) -> None:
        self._call(lambda: self._cut_off(keys=[self.key(key)], args=[int(at), max(1, int(ttl))]))

    def status(self, token: str | None, family: str | None, subject: str | None
               ) -> tuple[bool, int | None]:
        named = (self.key(token) if token is not None else None,
                 self.key(family, subject) if family is not None else None,
                 self.key(subject) if subject is not None else None)
        if not self._cluster:  # one script: one round trip, and a consistent answer
            keys = [k if k is not None else self.key("-") for k in named]
            given = ["1" if k is not None else "0" for k in named]
            revoked, cut = self._call(lambda: self._status(keys=keys, args=given))
            return bool(revoked), int(cut) if cut else None

        def ask() -> list[Any]:  # a cluster keeps these keys in different slots: one pipeline
            pipe = self.client.pipeline(transaction=False)
            for command, key, *field in (("exists", named[0]), ("hget", named[1], "end"),
                                         ("get", named[2])):
                if key is not None:
                    getattr(pipe, command)(key, *field)
            return list(pipe.execute())

        answers = iter(self._call(ask))
        exists = next(answers) if token is not None else 0
        ended = next(answers) if family is not None else None
        cut = next(answers) if subject is not None else None
        return bool(exists) or ended == b"1", int(cut) if cut is not None else None

    def start_family(self, key: str, current: str, now: int, ttl: int, *,
                     subject: str | None) -> None:
        def start() -> None:
            pipe = self.client.pipeline(transaction=True)
            pipe.hset(self.key(key, subject), mapping={"cur": current, "start": now})
            pipe.expire(self.key(key, subject), max(1, int(ttl)))
            pipe.execute()

        self._call(start)

    def rotate(self, key: str, presented: str, new: str, now: int, *, grace: int, max_age: int,
               lifetime: int, slack: int, end_ttl: int, subject: str | None,
               issued_at: float) -> tuple[str, int]:
        keys = [self.key(key, subject)] + ([self.key(subject)] if subject is not None else [])
        args = [presented, new, int(now), int(grace), int(max_age), max(1, int(end_ttl)),
                repr(issued_at), int(lifetime), int(slack)]
        outcome, start = self._call(lambda: self._rotate(keys=keys, args=args))
        return (outcome.decode() if isinstance(outcome, bytes) else str(outcome)), int(start)

    def end_family(self, key: str, ttl: int, *, subject: str | None) -> None:
        self._call(lambda: self._end(keys=[self.key(key, subject)], args=[max(1, int(ttl))]))


def _sentinel_address(url: str) -> tuple[list[tuple[str, int]], str, int]:
    """The sentinels, service name and database of redis+sentinel://h1:p1,h2:p2/service/db."""
    parts = urllib.parse.urlsplit(url)
    hosts = []
    for item in parts.netloc.rpartition("@")[2].split(","):
        host, _, port = item.rpartition(":")
        hosts.append((host.strip("[]"), int(port or 26379)))
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise ValueError("redis+sentinel:// needs the service name: redis+sentinel://host:26379/mymaster/0")
    return hosts, path[0], int(path[1]) if len(path) > 1 else 0


def _sentinel_primary(address: tuple[list[tuple[str, int]], str, int], options: dict[str, Any]) -> Any:
    """The client of the primary a Sentinel group manages (the sentinels asked with the same
    timeouts and no retries)."""
    import redis.sentinel

    hosts, service, db = address
    sentinel_class: Any = redis.sentinel.Sentinel  # redis-py's Sentinel is not typed
    return sentinel_class(hosts, sentinel_kwargs=options, **options).master_for(service, db=db, **options)


def open_store(url: str, prefix: str | None, clock: Callable[[], float] = time.time) -> RevocationStore:
    """The store a ``revocation_store`` setting names (no connection is made yet); a Redis
    one needs the app's own key ``prefix``. The memory store counts its TTLs on ``clock``."""
    if url == "memory":
        return MemoryStore(clock)
    if not prefix:
        raise ValueError("a Redis store needs a key prefix of the app's own")
    return RedisStore(url, prefix=prefix)
