"""The Redis revocation store (``redis://``, ``rediss://``, ``unix://``, ``redis+cluster://``,
``redis+sentinel://``): shared by every process and host, with short timeouts so that an
outage is a quick 503."""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, Final

from ..exceptions import StoreUnavailableError
from ..loggable import safe_url
from .base import Rotation
from .rotation import ROTATE_LUA

__all__ = ["RedisStore"]

log = logging.getLogger("pyramid_jwtnode")

# The family is one hash {cur, prev, rot, retry, start, end}; rotating it is one script
# (.rotation.ROTATE_LUA). Ending a family, a cut-off and the status are these.
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
        #: Where the store is, for log lines: the URL without its credentials.
        self.address = safe_url(url) if url is not None else _client_address(client)
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
                raise self._unavailable("cluster down")
            try:
                client = self._connect()  # outside the lock: waiting requests do not queue on it
            except self._errors:
                self._failed_at = time.monotonic()
                raise
            with self._lock:
                if self._client is None:
                    self._client = self._with_scripts(client)
        return self._client

    def _unavailable(self, why: str) -> StoreUnavailableError:
        error = StoreUnavailableError(f"revocation store {self.address} unreachable ({why})")
        error.store = self.address
        return error

    def _with_scripts(self, client: Any) -> Any:
        """``client``, once this store's Lua scripts are registered with it (no round trip)."""
        self._rotate = client.register_script(ROTATE_LUA)
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
            raise self._unavailable(type(exc).__name__) from None
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
               issued_at: float) -> tuple[Rotation, int]:
        keys = [self.key(key, subject)] + ([self.key(subject)] if subject is not None else [])
        args = [presented, new, int(now), int(grace), int(max_age), max(1, int(end_ttl)),
                repr(issued_at), int(lifetime), int(slack)]
        outcome, start = self._call(lambda: self._rotate(keys=keys, args=args))
        return Rotation(outcome.decode() if isinstance(outcome, bytes) else str(outcome)), int(start)

    def end_family(self, key: str, ttl: int, *, subject: str | None) -> None:
        self._call(lambda: self._end(keys=[self.key(key, subject)], args=[max(1, int(ttl))]))


def _client_address(client: Any) -> str:
    """``host:port`` (or the socket path) of a redis-py client given instead of a URL."""
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", None) or {}
    if kwargs.get("path"):
        return str(kwargs["path"])
    if kwargs.get("host"):
        return f"{kwargs['host']}:{kwargs.get('port', 6379)}"
    return "(the Redis client given)"


def _sentinel_address(url: str) -> tuple[list[tuple[str, int]], str, int, dict[str, str]]:
    """The sentinels, service name, database and credentials of
    ``redis+sentinel://[user:password@]h1:p1,h2:p2/service/db``."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, hosts_part = parts.netloc.rpartition("@")
    credentials: dict[str, str] = {}
    if at:
        user, colon, password = userinfo.partition(":")
        if user:
            credentials["username"] = urllib.parse.unquote(user)
        if colon:
            credentials["password"] = urllib.parse.unquote(password)
    hosts = []
    for item in hosts_part.split(","):
        if item.startswith("["):  # [::1]:26379
            host, _, rest = item[1:].partition("]")
            port = rest.lstrip(":")
        else:
            host, _, port = item.partition(":")
        hosts.append((host, int(port or 26379)))
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise ValueError("redis+sentinel:// needs the service name: redis+sentinel://host:26379/mymaster/0")
    return hosts, path[0], int(path[1]) if len(path) > 1 else 0, credentials


def _sentinel_primary(address: tuple[list[tuple[str, int]], str, int, dict[str, str]],
                      options: dict[str, Any]) -> Any:
    """The client of the primary a Sentinel group manages (the sentinels asked with the same
    timeouts and no retries). The URL's credentials serve both the sentinels and the primary."""
    import redis.sentinel

    hosts, service, db, credentials = address
    sentinel_class: Any = redis.sentinel.Sentinel  # redis-py's Sentinel is not typed
    sentinel = sentinel_class(hosts, sentinel_kwargs={**options, **credentials}, **options, **credentials)
    return sentinel.master_for(service, db=db, **options, **credentials)
