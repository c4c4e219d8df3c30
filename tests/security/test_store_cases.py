"""docs/security.rst, the revocation store: "revoke all" inside the rotation's atomic step,
records of one app never reaching another app's users on a shared Redis, and records kept
only while a token they refuse could still be shown. On the memory store, a real Redis and a
real three-primary Redis Cluster."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from webtest import TestApp

from pyramid_jwtnode import get_jwt_runtime

from ..conftest import HS256_SECRET, Clock
from ..helpers import raises_config_error

BASE: dict[str, Any] = {
    "algorithm": "HS256", "secret": HS256_SECRET, "expires_in": 300, "refresh_expires_in": 3600,
    "token_route": "/token", "refresh_route": "/refresh", "leeway": 5,
    "payload": lambda request: {"sub": request.POST.get("user", "alice")},
}


class Root:
    __acl__ = [(Allow, Authenticated, "read")]

    def __init__(self, request: Any) -> None:
        pass


@pytest.fixture(params=["memory", "redis", "cluster"])
def store(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory"
    return str(request.getfixturevalue("redis_url" if request.param == "redis" else "redis_cluster_url"))


def app_of(store: str, clock: Clock, setup: Callable[[Configurator], None] | None = None,
           **raw: Any) -> TestApp:
    extra = {} if store == "memory" or "issuer" in raw else {"store_prefix": f"t{secrets.token_hex(4)}:"}
    with Configurator(root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("api", clock=clock, revocation_store=store, **{**BASE, **extra, **raw})
        config.set_jwt_security_policy("api")
        config.add_route("me", "/me")
        config.add_view(lambda r: {"sub": r.authenticated_userid}, route_name="me", permission="read",
                        renderer="json")
        config.add_route("logout", "/logout")
        config.add_view(lambda r: {"revoked": r.revoke_jwt()}, route_name="logout", renderer="json")
        if setup is not None:
            setup(config)
    return TestApp(config.make_wsgi_app())


def refresh(app: TestApp, token: str, status: int | str = "*") -> Any:
    return app.post("/refresh", {"grant_type": "refresh_token", "refresh_token": token}, status=status)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def redis_client(url: str) -> Any:
    import redis
    import redis.cluster

    if url.startswith("redis+cluster://"):
        return redis.cluster.RedisCluster.from_url(url.replace("+cluster", "", 1))
    return redis.Redis.from_url(url)


def family_ttl(app: TestApp, store: str, clock: Clock) -> float:
    """How long the store keeps the app's one family record: its Redis TTL, or on the memory
    store the seconds until it is gone (the clock is moved to find out, then put back)."""
    node = get_jwt_runtime(app.app.registry)
    assert node.revocation is not None
    if store == "memory":
        entries = node.revocation.store._entries  # type: ignore[attr-defined]
        (expires,) = [at for key, (at, _) in entries.items() if ":fam:" in key]
        return float(expires - clock())
    client = redis_client(store)
    try:
        (key,) = [k for k in client.scan_iter(match=f"{node.config.key_prefix}*", count=1000) if b":fam:" in k]
        return float(client.ttl(key))
    finally:
        client.close()


# -- "revoke all" and a refresh under way ------------------------------------------------------------


def test_revoke_all_during_a_refresh_refuses_the_rotation(store: str, clock: Clock) -> None:
    """refresh_payload asks a database (2 s here); an admin's "revoke all" for the user lands
    meanwhile. The rotation reads the cut-off in its own atomic step: the refresh is refused
    and the family ends; no pair issued after the cut-off (with a later iat) gets out."""

    def slow_recheck(request: Any, payload: dict[str, Any]) -> dict[str, Any]:
        request.revoke_jwt_subject(payload["sub"])  # the admin, in another request
        clock.advance(2)  # the database answers later: a new pair would have a later iat
        return payload

    app = app_of(store, clock, refresh_payload=slow_recheck)
    pair = app.post("/token").json
    clock.advance(10)
    answer = refresh(app, pair["refresh_token"], status=400).json
    assert answer["error"] == "invalid_grant"
    app.get("/me", headers=bearer(pair["access_token"]), status=401)
    assert refresh(app, pair["refresh_token"], status=400).json["error"] == "invalid_grant"
    clock.advance(1)  # the user logs in again after the cut-off: that works
    again = app.post("/token").json
    app.get("/me", headers=bearer(again["access_token"]), status=200)


def test_revoke_all_during_a_refresh_refuses_the_rotation_on_the_plain_object(store: str, clock: Clock) -> None:
    """The same with the plain Revocation object and a review callable."""
    app = app_of(store, clock)
    revocation = get_jwt_runtime(app.app.registry).revocation
    assert revocation is not None
    pair = revocation.issue_pair({"sub": "alice"})
    clock.advance(10)

    def review(payload: Any) -> Any:
        revocation.revoke_subject("alice")
        clock.advance(2)
        return payload

    from pyramid_jwtnode.exceptions import GrantError

    with pytest.raises(GrantError) as info:
        revocation.refresh(pair.refresh_token, review)  # type: ignore[arg-type]
    assert info.value.reason == "subject_revoked"


def test_a_refresh_whose_payload_names_another_user_ends_the_family(store: str, clock: Clock) -> None:
    """A family belongs to the user it started with (its records are kept with that user's):
    a refresh_payload answering with another user refuses, and the family ends."""
    app = app_of(store, clock, refresh_payload=lambda request, payload: {"sub": "mallory"})
    pair = app.post("/token").json
    assert refresh(app, pair["refresh_token"], status=400).json["error"] == "invalid_grant"
    app.get("/me", headers=bearer(pair["access_token"]), status=401)


# -- apps sharing one Redis ----------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["redis_url", "redis_cluster_url"])
def test_apps_sharing_one_redis_revoke_only_their_own_users(which: str, request: pytest.FixtureRequest,
                                                            clock: Clock) -> None:
    """Two apps, each with its own issuer, the same config name, one Redis, no store_prefix:
    app A's "revoke all" for its alice leaves app B's alice alone."""
    url = str(request.getfixturevalue(which))
    a = app_of(url, clock, issuer=f"https://a-{secrets.token_hex(3)}.example")
    b = app_of(url, clock, issuer=f"https://b-{secrets.token_hex(3)}.example")
    tokens = {name: app.post("/token").json for name, app in (("a", a), ("b", b))}
    clock.advance(1)
    revocation = get_jwt_runtime(a.app.registry).revocation
    assert revocation is not None
    revocation.revoke_subject("alice")
    a.get("/me", headers=bearer(tokens["a"]["access_token"]), status=401)
    assert b.get("/me", headers=bearer(tokens["b"]["access_token"]), status=200).json == {"sub": "alice"}
    refresh(b, tokens["b"]["refresh_token"], status=200)
    refresh(a, tokens["a"]["refresh_token"], status=400)
    # the prefix is the issuer's own, and documented
    from pyramid_jwtnode.integration.settings import issuer_store_prefix

    node = get_jwt_runtime(a.app.registry)
    assert node.config.key_prefix == issuer_store_prefix(node.config.issuer or "")
    client = redis_client(url)
    try:
        assert any(client.scan_iter(match=f"{node.config.key_prefix}*", count=1000))
    finally:
        client.close()


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "redis+cluster://127.0.0.1:7000",
                                 "redis+sentinel://127.0.0.1:26379/mymaster/0"])
def test_a_shared_redis_without_a_prefix_of_the_apps_own_stops_start_up(url: str) -> None:
    """No issuer to derive a prefix from and no store_prefix: start-up stops, naming the
    setting and the fix (the old default, shared by every app, is gone)."""
    settings = {"jwt.configs": "api", "jwt.api.algorithm": "HS256", "jwt.api.secret": HS256_SECRET,
                "jwt.api.expires_in": "300", "jwt.api.revocation_store": url}

    def start() -> None:
        config = Configurator(settings=settings)
        config.include("pyramid_jwtnode")
        config.commit()

    message = raises_config_error(start, "jwt.api.store_prefix", HS256_SECRET)
    assert "jwt.api.issuer" in message
    settings["jwt.api.store_prefix"] = "myapp:jwt:"
    start()  # either fix starts
    del settings["jwt.api.store_prefix"]
    settings["jwt.api.issuer"] = "https://myapp.example"
    start()


# -- records kept only while they matter ---------------------------------------------------------------


def test_an_ended_familys_record_lives_only_as_long_as_its_access_tokens(store: str, clock: Clock) -> None:
    """A logout ends the family: its record is kept until the family's last access token
    could expire (expires_in + leeway), not refresh_max_age (30 days)."""
    app = app_of(store, clock)
    pair = app.post("/token").json
    app.get("/logout", headers=bearer(pair["access_token"]), status=200)
    assert 0 < family_ttl(app, store, clock) <= 300 + 5 + 1
    app.get("/me", headers=bearer(pair["access_token"]), status=401)
    refresh(app, pair["refresh_token"], status=400)
    if store == "memory":
        clock.advance(300 + 5 + 1)
        assert len(get_jwt_runtime(app.app.registry).revocation.store) == 0  # type: ignore[arg-type,union-attr]


def test_a_live_familys_record_lives_only_as_long_as_its_newest_refresh_token(store: str, clock: Clock) -> None:
    """An abandoned login: its record goes once its newest refresh token could have expired
    (refresh_expires_in + leeway), not after refresh_max_age; each refresh extends it, never
    past the family's maximum age."""
    app = app_of(store, clock, refresh_max_age=6000)
    pair = app.post("/token").json
    assert 3600 - 2 <= family_ttl(app, store, clock) <= 3600 + 5 + 1
    clock.advance(2000)
    pair = refresh(app, pair["refresh_token"], status=200).json
    assert 3600 - 2 <= family_ttl(app, store, clock) <= 3600 + 5 + 1
    clock.advance(3000)  # 5000 s after the start: 1000 s of the family's life are left
    pair = refresh(app, pair["refresh_token"], status=200).json
    claims = jwt.decode(pair["refresh_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 1000
    assert 1000 - 2 <= family_ttl(app, store, clock) <= 1000 + 5 + 1
