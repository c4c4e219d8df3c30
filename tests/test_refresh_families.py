"""Refresh tokens tied to the user: absolute family lifetime, the user checked again at every
refresh, revoking every token of a user, bounded storage, retry grace, refresh tokens bound
to their config; on the memory store, a real Redis and a real three-primary Redis Cluster."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPForbidden
from webtest import TestApp

from pyramid_jwtnode import MemoryStore, RedisStore, get_jwt_runtime
from pyramid_jwtnode.exceptions import GrantError
from pyramid_jwtnode.storage import Rotation
from pyramid_jwtnode.tools.cli import main as pjwt

from .conftest import HS256_SECRET, NOW, Clock
from .helpers import http, raises_config_error, serve_ini
from .services import free_port, start_redis

USERS: dict[str, list[str]] = {}


def login(request: Any) -> dict[str, Any]:
    user = request.POST.get("user", "alice")
    return {"sub": user, "roles": USERS.get(user, ["reader"])}


def recheck(request: Any, payload: dict[str, Any]) -> dict[str, Any] | None:
    """refresh_payload: the user as the user store says now (None: deleted)."""
    roles = USERS.get(payload["sub"])
    if roles is None:
        return None
    if "banned" in roles:
        raise HTTPForbidden()
    return {**payload, "roles": roles}


class Root:
    __acl__ = [(Allow, Authenticated, "read")]

    def __init__(self, request: Any) -> None:
        pass


BASE: dict[str, Any] = {
    "algorithm": "HS256", "secret": HS256_SECRET, "expires_in": 300, "refresh_expires_in": 3600,
    "token_route": "/token", "payload": login, "refresh_route": "/refresh", "principals_claim": "roles",
}


@pytest.fixture(autouse=True)
def users() -> Any:
    USERS.clear()
    USERS.update({"alice": ["reader"], "bob": ["reader"]})
    yield USERS


@pytest.fixture(params=["memory", "redis", "cluster"])
def store(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory"
    return str(request.getfixturevalue("redis_url" if request.param == "redis" else "redis_cluster_url"))


def app_of(store: str, clock: Clock, *configs: tuple[str, dict[str, Any]]) -> TestApp:
    prefix = f"t{secrets.token_hex(4)}:"
    with Configurator(root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        for name, raw in configs or (("api", {}),):
            store_settings = {"revocation_store": store}
            if store != "memory":
                store_settings["store_prefix"] = prefix
            config.add_jwt_config(name, clock=clock, **{**BASE, **store_settings, **raw})
        config.set_jwt_security_policy(*([name for name, _ in configs] or ["api"]))
        config.add_route("me", "/me")
        config.add_view(lambda r: {"sub": r.authenticated_userid, "roles": r.jwt_claims.get("roles")},
                        route_name="me", permission="read", renderer="json")
    return TestApp(config.make_wsgi_app())


def refresh(app: TestApp, token: str, status: int = 200, path: str = "/refresh") -> Any:
    return app.post(path, {"grant_type": "refresh_token", "refresh_token": token}, status=status)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- absolute family lifetime --------------------------------------------------------------------


def test_a_family_older_than_its_maximum_age_is_refused(store: str, clock: Clock) -> None:
    app = app_of(store, clock, ("api", {"refresh_max_age": 100, "refresh_expires_in": 60, "leeway": 30}))
    pair = app.post("/token").json
    clock.advance(50)
    pair = refresh(app, pair["refresh_token"]).json  # rotated at 50: fresh
    clock.advance(60)  # 110 s after the start; the newest token is 60 s old, within its leeway
    assert refresh(app, pair["refresh_token"], status=400).json["error"] == "invalid_grant"


def test_refresh_tokens_never_outlive_their_family(store: str, clock: Clock) -> None:
    import jwt

    app = app_of(store, clock, ("api", {"refresh_max_age": 100, "refresh_expires_in": 60}))
    pair = app.post("/token").json
    clock.advance(50)
    pair = refresh(app, pair["refresh_token"]).json
    claims = jwt.decode(pair["refresh_token"], options={"verify_signature": False})
    assert claims["exp"] == NOW + 100  # capped at the family's end, not now + 60


# -- the user, checked again at every refresh -------------------------------------------------


def test_refresh_payload_ends_the_family_of_a_deleted_user(store: str, clock: Clock) -> None:
    app = app_of(store, clock, ("api", {"refresh_payload": recheck}))
    pair = app.post("/token", {"user": "alice"}).json
    del USERS["alice"]
    assert refresh(app, pair["refresh_token"], status=400).json["error"] == "invalid_grant"
    USERS["alice"] = ["reader"]  # even back in the store, this family has ended
    refresh(app, pair["refresh_token"], status=400)
    app.get("/me", headers=bearer(pair["access_token"]), status=401)


def test_refresh_payload_raising_an_http_exception_refuses_too(store: str, clock: Clock) -> None:
    app = app_of(store, clock, ("api", {"refresh_payload": "tests.test_refresh_families:recheck"}))
    pair = app.post("/token", {"user": "bob"}).json
    USERS["bob"] = ["banned"]
    assert refresh(app, pair["refresh_token"], status=400).json["error"] == "invalid_grant"


def test_refresh_payload_puts_the_new_role_in_the_new_token(store: str, clock: Clock) -> None:
    app = app_of(store, clock, ("api", {"refresh_payload": recheck}))
    pair = app.post("/token", {"user": "alice"}).json
    assert app.get("/me", headers=bearer(pair["access_token"])).json["roles"] == ["reader"]
    USERS["alice"] = ["admin"]
    pair = refresh(app, pair["refresh_token"]).json
    assert app.get("/me", headers=bearer(pair["access_token"])).json["roles"] == ["admin"]
    USERS["alice"] = ["reader"]  # and a demotion reaches the next refresh too
    pair = refresh(app, pair["refresh_token"]).json
    assert app.get("/me", headers=bearer(pair["access_token"])).json["roles"] == ["reader"]


def test_without_refresh_payload_the_login_payload_is_carried(store: str, clock: Clock) -> None:
    app = app_of(store, clock)
    pair = app.post("/token", {"user": "alice"}).json
    USERS["alice"] = ["admin"]
    pair = refresh(app, pair["refresh_token"]).json
    assert app.get("/me", headers=bearer(pair["access_token"])).json["roles"] == ["reader"]


# -- revoke everything of one user ---------------------------------------------------------------


def test_revoking_a_subject_refuses_all_its_tokens_and_only_its(store: str, clock: Clock) -> None:
    app = app_of(store, clock)
    alice = [app.post("/token", {"user": "alice"}).json for _ in range(2)]
    bob = app.post("/token", {"user": "bob"}).json
    get_jwt_runtime(app.app.registry).revocation.revoke_subject("alice")  # type: ignore[union-attr]
    for pair in alice:
        app.get("/me", headers=bearer(pair["access_token"]), status=401)
        refresh(app, pair["refresh_token"], status=400)
    app.get("/me", headers=bearer(bob["access_token"]), status=200)
    refresh(app, bob["refresh_token"], status=200)
    # iat has whole seconds: a login in the very second of the cut-off is refused too ...
    same_second = app.post("/token", {"user": "alice"}).json
    app.get("/me", headers=bearer(same_second["access_token"]), status=401)
    clock.advance(1)  # ... and one a second later works
    later = app.post("/token", {"user": "alice"}).json
    app.get("/me", headers=bearer(later["access_token"]), status=200)
    refresh(app, later["refresh_token"], status=200)


def test_revoke_jwt_subject_request_method(clock: Clock) -> None:
    with Configurator(root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("api", clock=clock, revocation_store="memory", **BASE)
        config.set_jwt_security_policy("api")
        config.add_route("me", "/me")
        config.add_view(lambda r: {"sub": r.authenticated_userid}, route_name="me", permission="read",
                        renderer="json")
        config.add_route("password", "/password")

        def change_password(request: Any) -> dict[str, bool]:
            request.revoke_jwt_subject(request.authenticated_userid)
            return {"done": True}

        config.add_view(change_password, route_name="password", permission="read", renderer="json")
    app = TestApp(config.make_wsgi_app())
    pair = app.post("/token").json
    app.post("/password", headers=bearer(pair["access_token"]))
    app.get("/me", headers=bearer(pair["access_token"]), status=401)


# -- retry grace -----------------------------------------------------------------------------------


def test_a_retry_within_the_interval_succeeds_once(store: str, clock: Clock) -> None:
    app = app_of(store, clock, ("api", {"refresh_reuse_interval": 10}))
    first = app.post("/token").json
    lost = refresh(app, first["refresh_token"]).json  # the answer never reached the client
    clock.advance(5)
    retried = refresh(app, first["refresh_token"]).json  # the client retries with the same token
    app.get("/me", headers=bearer(retried["access_token"]), status=200)
    refresh(app, first["refresh_token"], status=400)  # a second retry is reuse: the family ends
    app.get("/me", headers=bearer(retried["access_token"]), status=401)
    refresh(app, lost["refresh_token"], status=400)


def test_after_the_interval_reuse_ends_the_family(store: str, clock: Clock) -> None:
    app = app_of(store, clock, ("api", {"refresh_reuse_interval": 10}))
    first = app.post("/token").json
    second = refresh(app, first["refresh_token"]).json
    clock.advance(11)
    refresh(app, first["refresh_token"], status=400)
    refresh(app, second["refresh_token"], status=400)
    app.get("/me", headers=bearer(second["access_token"]), status=401)


def test_the_token_handed_out_by_a_retry_stays_current(store: str, clock: Clock) -> None:
    app = app_of(store, clock, ("api", {"refresh_reuse_interval": 10}))
    first = app.post("/token").json
    refresh(app, first["refresh_token"])
    retried = refresh(app, first["refresh_token"]).json
    clock.advance(30)
    refresh(app, retried["refresh_token"], status=200)


# -- refresh tokens bound to their config ---------------------------------------------------------


def test_a_refresh_token_of_one_config_is_refused_by_another(store: str, clock: Clock) -> None:
    b = {"token_route": "/b/token", "refresh_route": "/b/refresh", "kid": "b", "issuer": "https://b"}
    app = app_of(store, clock, ("a", {"kid": "a", "issuer": "https://a"}), ("b", b))
    first = app.post("/token").json
    second = refresh(app, first["refresh_token"]).json
    # same secret, but b's refresh route refuses a's tokens, spent or not ...
    refresh(app, second["refresh_token"], status=400, path="/b/refresh")
    refresh(app, first["refresh_token"], status=400, path="/b/refresh")
    # ... without touching a's family, and reuse detection is not sidestepped: a sees the reuse
    refresh(app, first["refresh_token"], status=400)
    refresh(app, second["refresh_token"], status=400)


# -- bounded storage -------------------------------------------------------------------------------


def redis_keys(url: str, prefix: str) -> int:
    import redis
    import redis.cluster

    if url.startswith("redis+cluster://"):
        client: Any = redis.cluster.RedisCluster.from_url(url.replace("+cluster", "", 1))
    else:
        client = redis.Redis.from_url(url)
    try:
        return sum(1 for _ in client.scan_iter(match=f"{prefix}*", count=1000))
    finally:
        client.close()


@pytest.mark.slow  # 20,000 refreshes on each store
@pytest.mark.parametrize("which", ["redis_url", "redis_cluster_url"])
def test_20000_refreshes_of_one_family_leave_the_key_count_flat(which: str, request: pytest.FixtureRequest,
                                                               clock: Clock) -> None:
    url = str(request.getfixturevalue(which))
    prefix = f"t{secrets.token_hex(4)}:"
    with Configurator() as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("api", clock=clock, revocation_store=url, store_prefix=prefix,
                              **{k: v for k, v in BASE.items() if k not in ("token_route", "payload",
                                                                             "refresh_route")})
    revocation = get_jwt_runtime(config.registry).revocation
    assert revocation is not None
    pair = revocation.issue_pair({"sub": "alice"})
    after_login = redis_keys(url, prefix)
    for i in range(20000):
        pair = revocation.refresh(pair.refresh_token)  # type: ignore[arg-type]
        if i in (9, 999):
            assert redis_keys(url, prefix) == after_login
    assert redis_keys(url, prefix) == after_login == 1


@pytest.mark.parametrize("user", ["a}l{i}ce", "{bob}", "}", "{"])
def test_a_user_id_with_braces_keeps_the_family_in_its_users_slot(user: str, redis_cluster_url: str,
                                                                  clock: Clock) -> None:
    """The family's key takes its user's hash tag however the user id plays with braces: the
    rotation script reads both keys on a Redis Cluster (no CROSSSLOT), and revoke-all reaches it."""
    with Configurator() as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("api", clock=clock, revocation_store=redis_cluster_url,
                              store_prefix=f"t{secrets.token_hex(4)}:",
                              **{k: v for k, v in BASE.items() if k not in ("token_route", "payload",
                                                                             "refresh_route")})
    revocation = get_jwt_runtime(config.registry).revocation
    assert revocation is not None
    pair = revocation.refresh(revocation.issue_pair({"sub": user}).refresh_token)  # type: ignore[arg-type]
    clock.advance(5)
    revocation.revoke_subject(user)
    with pytest.raises(GrantError, match="subject_revoked"):
        revocation.refresh(pair.refresh_token)  # type: ignore[arg-type]


def test_memory_store_holds_one_record_per_family(clock: Clock) -> None:
    store = MemoryStore()
    with Configurator() as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("api", clock=clock, revocation_store="memory", **BASE)
    revocation = get_jwt_runtime(config.registry).revocation
    assert revocation is not None
    revocation.store = store
    pair = revocation.issue_pair({"sub": "alice"})
    for _ in range(5000):
        pair = revocation.refresh(pair.refresh_token)  # type: ignore[arg-type]
    assert len(store) == 1


@pytest.mark.parametrize("grace", [0, 5])
def test_rotation_outcomes_are_the_same_on_every_store(grace: int, redis_url: str, redis_cluster_url: str) -> None:
    """One scenario, the three stores (the Python and the Lua form of the rotation table in
    pyramid_jwtnode/storage/rotation.py): the same answers in the same order, every row."""
    stores = [MemoryStore(), RedisStore(redis_url, prefix=f"t{secrets.token_hex(4)}:"),
              RedisStore(redis_cluster_url, prefix=f"t{secrets.token_hex(4)}:")]
    seen = []
    for store in stores:
        def rotate(family: str, presented: str, new: str, now: int, store: Any = store) -> Any:
            return store.rotate(family, presented, new, now, grace=grace, max_age=100, lifetime=50,
                                slack=1, end_ttl=60, subject="api:sub:alice", issued_at=1000)

        store.start_family("api:fam:f", "r1", 1000, 3600, subject="api:sub:alice")
        steps = [rotate("api:fam:f", "r1", "r2", 1001), rotate("api:fam:f", "r1", "r3", 1002),
                 rotate("api:fam:f", "r1", "r4", 1003), rotate("api:fam:f", "r2", "r5", 1004),
                 rotate("api:fam:nope", "x", "y", 1004)]
        # another family of alice's: her cut-off at its tokens' iat ends it at its next rotation
        store.start_family("api:fam:g", "g1", 1000, 3600, subject="api:sub:alice")
        store.cut_off("api:sub:alice", 1000, 60)
        steps += [rotate("api:fam:g", "g1", "g2", 1005), rotate("api:fam:g", "g1", "g2", 1005),
                  store.status(None, "api:fam:g", "api:sub:alice")]
        # a family older than max_age: expired (the one row of storage/rotation.py's table left)
        store.start_family("api:fam:h", "h1", 1000, 3600, subject=None)
        steps.append(store.rotate("api:fam:h", "h1", "h2", 1101, grace=grace, max_age=100, lifetime=50,
                                  slack=1, end_ttl=60, subject=None, issued_at=1000))
        seen.append(steps)
    assert seen[0] == seen[1] == seen[2]
    after_alice = [Rotation.SUBJECT_REVOKED, Rotation.ENDED]
    if grace:
        assert [s[0] for s in seen[0][:7]] == [Rotation.ROTATED, Rotation.RETRIED, Rotation.REUSED,
                                               Rotation.ENDED, Rotation.UNKNOWN, *after_alice]
    else:
        assert [s[0] for s in seen[0][:7]] == [Rotation.ROTATED, Rotation.REUSED, Rotation.ENDED,
                                               Rotation.ENDED, Rotation.UNKNOWN, *after_alice]
    assert seen[0][7] == (True, 1000)
    assert seen[0][8] == (Rotation.EXPIRED, 1000)


# -- Redis in production ---------------------------------------------------------------------------


def test_store_prefix_lets_apps_share_one_redis(redis_url: str, clock: Clock) -> None:
    prefix = f"myapp{secrets.token_hex(3)}:jwt:"
    app = app_of(redis_url, clock)
    node = get_jwt_runtime(app.app.registry)
    store = RedisStore(redis_url, prefix=prefix)
    store.revoke("api:jti:x", 60)
    assert redis_keys(redis_url, prefix) == 1
    assert node.config.store_prefix != prefix


def test_an_evicting_redis_is_named_in_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    server = start_redis(tmp_path / "evicting", port, "--maxmemory-policy", "allkeys-lru")
    try:
        store = RedisStore(f"redis://127.0.0.1:{port}/0", prefix="t:")
        with caplog.at_level(logging.WARNING, logger="pyramid_jwtnode"):
            store.revoke("api:jti:a", 60)
            store.revoke("api:jti:b", 60)
        warnings = [r for r in caplog.records if "maxmemory-policy" in r.getMessage()]
        assert len(warnings) == 1 and "allkeys-lru" in warnings[0].getMessage()
    finally:
        server.terminate()
        server.wait()


def test_a_redis_without_config_is_used_without_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    server = start_redis(tmp_path / "managed", port, "--rename-command", "CONFIG", "")
    try:
        store = RedisStore(f"redis://127.0.0.1:{port}/0", prefix="t:")
        with caplog.at_level(logging.WARNING, logger="pyramid_jwtnode"):
            store.revoke("api:jti:a", 60)
        assert store.status("api:jti:a", None, None) == (True, None)
        assert not [r for r in caplog.records if "maxmemory-policy" in r.getMessage()]
    finally:
        server.terminate()
        server.wait()


@pytest.mark.slow
def test_a_sentinel_managed_primary(tmp_path: Path) -> None:
    import shutil
    import socket

    primary_port, sentinel_port = free_port(), free_port()
    primary = start_redis(tmp_path / "primary", primary_port)
    conf = tmp_path / "sentinel.conf"
    conf.write_text(f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
                    f"sentinel monitor mymaster 127.0.0.1 {primary_port} 1\n")
    sentinel = subprocess.Popen([shutil.which("redis-server") or "redis-server", str(conf), "--sentinel"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", sentinel_port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        store = RedisStore(f"redis+sentinel://127.0.0.1:{sentinel_port}/mymaster/0", prefix="t:")
        store.revoke("api:jti:s", 60)
        assert store.status("api:jti:s", None, None) == (True, None)
    finally:
        for process in (sentinel, primary):
            process.terminate()
            process.wait()


@pytest.mark.parametrize("url", ["redis+sentinel://127.0.0.1:26379", "mongodb://x", "redis+cluster:/x"])
def test_bad_store_urls_stop_start_up(url: str) -> None:
    def start() -> None:
        with Configurator() as config:
            config.include("pyramid_jwtnode")
            config.add_jwt_config("api", revocation_store=url, **{k: v for k, v in BASE.items()
                                                                   if k not in ("token_route", "payload")})
    message = raises_config_error(start, "jwt.api.revocation_store")
    assert "redis+sentinel://host:26379/service/0" in message


@pytest.mark.parametrize(("raw", "key"), [
    ({"refresh_max_age": 60}, "jwt.api.refresh_max_age"),
    ({"refresh_reuse_interval": 5}, "jwt.api.refresh_reuse_interval"),
    ({"refresh_payload": "tests.test_refresh_families:recheck"}, "jwt.api.refresh_payload"),
    ({"store_prefix": "x:"}, "jwt.api.store_prefix"),
])
def test_refresh_settings_need_refresh_tokens(raw: dict[str, Any], key: str) -> None:
    def start() -> None:
        with Configurator() as config:
            config.include("pyramid_jwtnode")
            config.add_jwt_config("api", algorithm="HS256", secret=HS256_SECRET, expires_in=60, **raw)

    raises_config_error(start, key)


def test_the_key_prefix_is_the_apps_own_by_default() -> None:
    """Parsed from plain dicts: an explicit store_prefix wins; without one, the issuer's
    (``pyramid_jwtnode:`` and 16 hex digits of its SHA-256); a Redis store with neither stops
    start-up; the memory store needs none; braces (hash tags) are refused."""
    import hashlib

    from pyramid_jwtnode import parse_config
    from pyramid_jwtnode.integration.settings import issuer_store_prefix

    base = {"algorithm": "HS256", "secret": HS256_SECRET, "expires_in": "60"}
    digest = hashlib.sha256(b"https://myapp.example").hexdigest()[:16]
    assert issuer_store_prefix("https://myapp.example") == f"pyramid_jwtnode:{digest}:"
    redis = {**base, "revocation_store": "redis://localhost:6379/0"}
    assert parse_config("api", {**redis, "issuer": "https://myapp.example"}).key_prefix == f"pyramid_jwtnode:{digest}:"
    assert parse_config("api", {**redis, "issuer": "https://myapp.example",
                                "store_prefix": "shop:jwt:"}).key_prefix == "shop:jwt:"
    assert parse_config("api", {**redis, "store_prefix": "shop:jwt:"}).describe()["store_prefix"] == "shop:jwt:"
    assert parse_config("api", {**base, "revocation_store": "memory"}).describe()["store_prefix"] is None
    message = raises_config_error(lambda: parse_config("api", redis), "jwt.api.store_prefix")
    assert "set jwt.api.store_prefix" in message and "or set jwt.api.issuer" in message
    raises_config_error(lambda: parse_config("api", {**redis, "store_prefix": "{app}:"}), "jwt.api.store_prefix")


def test_reuse_interval_is_bounded() -> None:
    def start() -> None:
        with Configurator() as config:
            config.include("pyramid_jwtnode")
            config.add_jwt_config("api", revocation_store="memory", refresh_reuse_interval=61,
                                  **{k: v for k, v in BASE.items() if k not in ("token_route", "payload")})

    raises_config_error(start, "jwt.api.refresh_reuse_interval")


def test_the_reuse_warning_names_the_family_never_a_token(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    app = app_of("memory", clock)
    first = app.post("/token").json
    refresh(app, first["refresh_token"])
    with caplog.at_level(logging.WARNING, logger="pyramid_jwtnode"):
        refresh(app, first["refresh_token"], status=400)
    import jwt

    family = jwt.decode(first["refresh_token"], options={"verify_signature": False})["fam"]
    (record,) = [r for r in caplog.records if "reused" in r.getMessage()]
    assert family in record.getMessage()
    assert first["refresh_token"].split(".")[1] not in record.getMessage()


# -- pjwt revoke ---------------------------------------------------------------------------------------


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return pjwt(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err), out.getvalue(), err.getvalue()


def shared_ini(tmp_path: Path, url: str, **extra: str) -> Path:
    lines = {
        "jwt.configs": "api", "jwt.security_policy": "api", "jwt.api.algorithm": "HS256",
        "jwt.api.secret": HS256_SECRET, "jwt.api.expires_in": "300", "jwt.api.refresh_expires_in": "3600",
        "jwt.api.revocation_store": url, "jwt.api.store_prefix": f"t{secrets.token_hex(4)}:",
        "jwt.api.token_route": "/token", "jwt.api.payload": "tests.two_process_users:login",
        "jwt.api.refresh_route": "/refresh", "jwt.api.principals_claim": "roles", **extra,
    }
    ini = tmp_path / "shared.ini"
    ini.write_text("[app:main]\nuse = call:tests.two_process_users:main\n"
                   + "".join(f"{k} = {v}\n" for k, v in lines.items()))
    return ini


def test_pjwt_revoke_a_subject_and_a_token(tmp_path: Path, redis_url: str) -> None:
    from pyramid.paster import get_app

    ini = shared_ini(tmp_path, redis_url)
    (tmp_path / "users.json").write_text(json.dumps({"alice": ["reader"], "bob": ["reader"]}))
    os.environ["JWTNODE_TEST_USERS"] = str(tmp_path / "users.json")
    try:
        app = TestApp(get_app(str(ini)))
        alice = app.post("/token", {"user": "alice"}).json
        bob = app.post("/token", {"user": "bob"}).json
        assert run("verify", str(ini), alice["access_token"])[0] == 0
        code, out, err = run("revoke", str(ini), "--sub", "alice")
        assert code == 0 and "alice" in out, err
        app.get("/me", headers=bearer(alice["access_token"]), status=401)
        code, _, err = run("verify", str(ini), alice["access_token"])  # as the app refuses it
        assert code == 1 and err.endswith(": subject_revoked\n"), err
        code, out, _ = run("revoke", str(ini), bob["access_token"])
        assert code == 0 and "revoked" in out
        app.get("/me", headers=bearer(bob["access_token"]), status=401)
        assert run("verify", str(ini), bob["access_token"])[0] == 1
        assert refresh(app, bob["refresh_token"], status=400)  # its family too
        assert run("revoke", str(ini), "not-a-token")[0] == 1
        assert run("revoke", str(ini), "--sub", "x", bob["access_token"])[0] == 2
    finally:
        del os.environ["JWTNODE_TEST_USERS"]


def test_pjwt_configs_shows_the_key_prefix(tmp_path: Path) -> None:
    """The derived prefix is what an operator looks for in redis-cli: pjwt configs --json says it."""
    from pyramid_jwtnode.integration.settings import issuer_store_prefix

    ini = shared_ini(tmp_path, "redis://127.0.0.1:1/0", **{"jwt.api.store_prefix": "",
                                                            "jwt.api.issuer": "https://myapp.example"})
    code, out, err = run("configs", str(ini), "--json")
    assert code == 0, err
    (facts,) = json.loads(out)
    assert facts["store_prefix"] == issuer_store_prefix("https://myapp.example")


def test_pjwt_revoke_needs_a_store(tmp_path: Path) -> None:
    ini = tmp_path / "app.ini"
    ini.write_text("[app:main]\nuse = call:example_app:main\njwt.configs = a\njwt.a.algorithm = HS256\n"
                   f"jwt.a.secret = {HS256_SECRET}\njwt.a.expires_in = 60\n")
    code, _, err = run("revoke", str(ini), "--sub", "alice")
    assert code == 2 and "revocation_store" in err


def test_pjwt_revoke_on_a_memory_store_refuses_and_says_why(tmp_path: Path) -> None:
    """A memory store lives inside the running app's process: pjwt would revoke in its own."""
    ini = tmp_path / "app.ini"
    ini.write_text("[app:main]\nuse = call:example_app:main\njwt.configs = a\njwt.a.algorithm = HS256\n"
                   f"jwt.a.secret = {HS256_SECRET}\njwt.a.expires_in = 60\njwt.a.revocation_store = memory\n")
    code, out, err = run("revoke", str(ini), "--sub", "alice")
    assert code == 2 and out == ""
    assert "in memory" in err and "would change nothing" in err and "jwt.a.revocation_store" in err


def test_pjwt_revoke_when_the_store_is_down_exits_3(tmp_path: Path) -> None:
    ini = shared_ini(tmp_path, f"redis://127.0.0.1:{free_port()}/0")
    code, _, err = run("revoke", str(ini), "--sub", "alice")
    assert code == 3 and "try again" in err


# -- two waitress processes on one Redis -----------------------------------------------------------------


@pytest.mark.slow
def test_two_processes_on_one_redis(tmp_path: Path, redis_url: str) -> None:
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"alice": ["reader"], "bob": ["reader"], "carol": ["reader"]}))
    ini = shared_ini(tmp_path, redis_url, **{"jwt.api.refresh_max_age": "3", "jwt.api.leeway": "30",
                                             "jwt.api.refresh_payload": "tests.two_process_users:recheck"})
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "JWTNODE_TEST_USERS": str(users),
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    ports = free_port(), free_port()
    servers = [serve_ini(ini, port, env) for port in ports]
    a, b = (f"http://127.0.0.1:{port}" for port in ports)
    try:
        def login(base: str, user: str) -> dict[str, Any]:
            status, body = http("POST", f"{base}/token", {"user": user})
            assert status == 200, body
            return dict(body)

        def refreshed(base: str, token: str) -> tuple[int, Any]:
            return http("POST", f"{base}/refresh", {"grant_type": "refresh_token", "refresh_token": token})

        started = time.monotonic()
        old = login(a, "carol")
        # a role change reaches the next refresh, in the other process
        alice = login(a, "alice")
        users.write_text(json.dumps({"alice": ["admin"], "bob": ["reader"], "carol": ["reader"]}))
        status, alice = refreshed(b, alice["refresh_token"])
        assert status == 200 and http("GET", f"{a}/me", token=alice["access_token"])[1]["roles"] == ["admin"]
        # a deleted user's family ends with invalid_grant
        bob = login(b, "bob")
        users.write_text(json.dumps({"alice": ["admin"], "carol": ["reader"]}))
        status, answer = refreshed(a, bob["refresh_token"])
        assert status == 400 and answer["error"] == "invalid_grant"
        assert http("GET", f"{b}/me", token=bob["access_token"])[0] == 401
        # revoke alice in one process: every token of hers is refused by the other; a later login works
        subprocess.run([str(Path(sys.executable).with_name("pjwt")), "revoke", str(ini), "--sub", "alice"],
                       env=env, check=True, capture_output=True)
        assert http("GET", f"{b}/me", token=alice["access_token"])[0] == 401
        assert refreshed(b, alice["refresh_token"])[0] == 400
        time.sleep(1.05)  # the cut-off has whole seconds
        again = login(b, "alice")
        assert http("GET", f"{a}/me", token=again["access_token"])[0] == 200
        # carol's family, refreshed a moment ago, is older than refresh_max_age (3 s) soon
        status, newest = refreshed(a, old["refresh_token"])
        assert status == 200
        time.sleep(max(0.0, 4.2 - (time.monotonic() - started)))  # 3 s, and the seconds' rounding
        status, answer = refreshed(b, newest["refresh_token"])  # fresh token, old family
        assert status == 400 and answer["error"] == "invalid_grant"
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


class Silent:
    """A loopback port that accepts connections and never answers (a hung host)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)  # the kernel completes the handshakes; nobody reads
        return int(self.sock.getsockname()[1])

    def __exit__(self, *exc: Any) -> None:
        self.sock.close()


def store_app(url: str) -> TestApp:
    settings = {k: v for k, v in BASE.items() if k not in ("token_route", "payload", "refresh_route",
                                                            "refresh_expires_in")}
    with Configurator(root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("api", revocation_store=url, store_prefix="t:", **settings)
        config.set_jwt_security_policy("api")
        config.add_route("me", "/me")
        config.add_view(lambda r: {"user": r.authenticated_userid}, route_name="me", permission="read",
                        renderer="json")
    app = TestApp(config.make_wsgi_app())
    app.token = get_jwt_runtime(config.registry, "api").issuer.issue({"sub": "alice"}).token  # type: ignore[attr-defined,union-attr]
    return app


@pytest.mark.parametrize("scheme", ["redis+cluster://127.0.0.1:{port}", "redis+sentinel://127.0.0.1:{port}/mymaster/0",
                                    "redis://127.0.0.1:{port}/0"])
@pytest.mark.parametrize("down", ["refused", "hung"])
def test_an_unreachable_store_never_stops_start_up_and_fails_closed_within_its_timeout(scheme: str, down: str) -> None:
    """Start-up does not wait for Redis (a cluster client would connect when made); a request
    that needs the store gets the usual 503 within the 0.5 s timeouts, not after retries."""
    with Silent() as hung:
        port = hung if down == "hung" else free_port()
        app = store_app(scheme.format(port=port))
        started = time.monotonic()
        res = app.get("/me", headers=bearer(app.token), status=503)  # type: ignore[attr-defined]
        took = time.monotonic() - started
    assert res.json["error"] == "temporarily_unavailable" and res.headers["Retry-After"]
    assert took < 3, f"{scheme} {down}: answered after {took:.1f} s"  # with retries: 4-20 s


@pytest.mark.parametrize("url", ["redis://:s3cret-pw@127.0.0.1:xx/0", "rediss+cluster://:s3cret-pw@127.0.0.1:xx",
                                 "redis+sentinel://:s3cret-pw@127.0.0.1:xx/mymaster/0"])
def test_a_redis_url_redis_py_cannot_read_stops_start_up_without_echoing_it(url: str) -> None:
    """Read at start-up (no connection is made then): a mistyped port is a ConfigurationError
    naming the setting, never a 500 at the first request; the URL, which may hold a password,
    is not repeated."""
    settings = {k: v for k, v in BASE.items() if k not in ("token_route", "payload", "refresh_route",
                                                            "refresh_expires_in")}

    def start() -> None:
        with Configurator() as config:
            config.include("pyramid_jwtnode")
            config.add_jwt_config("api", revocation_store=url, store_prefix="t:", **settings)

    message = raises_config_error(start, "jwt.api.revocation_store")
    assert "cannot be read as a Redis URL" in message and "s3cret-pw" not in message


def test_an_outage_under_concurrent_requests_is_503_for_every_one() -> None:
    """A failure must not close connections other threads are reading (their error would not
    be Redis's, and would escape as a 500)."""
    import concurrent.futures

    with Silent() as port:
        store = RedisStore(f"redis://127.0.0.1:{port}/0", prefix="t:")

        def ask(_: int) -> str:
            try:
                store.status("api:jti:x", None, None)
            except Exception as exc:  # noqa: BLE001 - the type is what is checked
                return type(exc).__name__
            return "answered"

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(ask, range(24)))
    assert set(outcomes) == {"StoreUnavailableError"}, outcomes
