"""Refresh tokens with rotation and reuse detection, revocation and logout, over HTTP.

Every test runs against the in-memory store and, when a redis-server binary is
available (CI installs one), against a real Redis started for the session.
"""

from __future__ import annotations

import secrets
from typing import Any

import jwt
import pytest
from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from webtest import TestApp

from pyramid_jwtnode import MemoryStore, get_jwt_runtime

from .conftest import HS256_SECRET, NOW, Clock
from .helpers import raises_config_error

BASE = {"algorithm": "HS256", "secret": HS256_SECRET, "expires_in": 300, "refresh_expires_in": 3600,
        "token_route": "/token", "payload": lambda request: {"sub": request.params.get("user", "alice")},
        "refresh_route": "/refresh", "revocation_route": "/revoke", "realm": "api"}


class Root:
    __acl__ = [(Allow, Authenticated, "read")]

    def __init__(self, request: Any) -> None:
        pass


def logout(request: Any) -> dict[str, bool]:
    return {"revoked": request.revoke_jwt()}


@pytest.fixture(params=["memory", "redis", "cluster"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Every test of this module runs on each store: in-process, a real Redis, a real Redis
    Cluster of three primaries (each test with a key prefix of its own)."""
    if request.param == "memory":
        return "memory"
    return str(request.getfixturevalue("redis_url" if request.param == "redis" else "redis_cluster_url"))


def build(store_url: str, clock: Clock, **raw: Any) -> TestApp:
    prefix = {} if store_url == "memory" else {"store_prefix": f"t{secrets.token_hex(4)}:"}
    with Configurator(root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("api", clock=clock, revocation_store=store_url, **{**BASE, **prefix, **raw})
        config.set_jwt_security_policy("api")
        config.add_route("protected", "/protected")
        config.add_view(lambda r: {"sub": r.authenticated_userid}, route_name="protected",
                        permission="read", renderer="json")
        config.add_route("logout", "/logout")
        config.add_view(logout, route_name="logout", request_method="POST", renderer="json")
    return TestApp(config.make_wsgi_app())


@pytest.fixture
def app(store_url: str, clock: Clock) -> TestApp:
    return build(store_url, clock)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refresh(app: TestApp, token: str, status: int = 200) -> Any:
    return app.post("/refresh", {"grant_type": "refresh_token", "refresh_token": token}, status=status)


def test_token_view_returns_a_refresh_token(app: TestApp) -> None:
    body = app.post("/token").json
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    access, refresh_token = body["access_token"], body["refresh_token"]
    assert jwt.get_unverified_header(refresh_token)["typ"] == "rt+jwt"
    assert jwt.get_unverified_header(access)["typ"] == "JWT"
    a = jwt.decode(access, HS256_SECRET, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False})
    r = jwt.decode(refresh_token, HS256_SECRET, algorithms=["HS256"], audience="urn:pyramid_jwtnode:refresh:api",
                   options={"verify_exp": False, "verify_iat": False})
    assert a["fam"] == r["fam"] and a["jti"] != r["jti"]
    assert r["exp"] == NOW + 3600 and a["exp"] == NOW + 300
    app.get("/protected", headers=bearer(access), status=200)


def test_refresh_rotates(app: TestApp) -> None:
    first = app.post("/token", {"user": "bob"}).json
    second = refresh(app, first["refresh_token"]).json
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert app.get("/protected", headers=bearer(second["access_token"])).json == {"sub": "bob"}
    third = refresh(app, second["refresh_token"]).json
    assert refresh(app, third["refresh_token"]).status_int == 200
    res = refresh(app, first["refresh_token"], status=400)
    assert res.headers["Cache-Control"] == "no-store"


def test_reusing_a_retired_refresh_token_revokes_the_family(app: TestApp) -> None:
    first = app.post("/token").json
    second = refresh(app, first["refresh_token"]).json
    other_family = app.post("/token").json

    res = refresh(app, first["refresh_token"], status=400)
    assert res.json["error"] == "invalid_grant"
    # the family's newer tokens stop working ...
    app.get("/protected", headers=bearer(second["access_token"]), status=401)
    app.get("/protected", headers=bearer(first["access_token"]), status=401)
    assert refresh(app, second["refresh_token"], status=400).json["error"] == "invalid_grant"
    # ... and another family does not
    app.get("/protected", headers=bearer(other_family["access_token"]), status=200)
    refresh(app, other_family["refresh_token"], status=200)


def test_access_and_refresh_tokens_are_not_interchangeable(app: TestApp) -> None:
    body = app.post("/token").json
    assert refresh(app, body["access_token"], status=400).json["error"] == "invalid_grant"
    res = app.get("/protected", headers=bearer(body["refresh_token"]), status=401)
    assert 'error="invalid_token"' in res.headers["WWW-Authenticate"]
    refresh(app, body["refresh_token"], status=200)  # neither misuse spent it


def test_expired_refresh_token(store_url: str, clock: Clock) -> None:
    app = build(store_url, clock)
    body = app.post("/token").json
    clock.advance(3600)
    assert refresh(app, body["refresh_token"], status=400).json["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"refresh_token": "x"}, "invalid_request"),
        ({"grant_type": "password", "refresh_token": "x"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token", "refresh_token": "not.a.token"}, "invalid_grant"),
        ([("grant_type", "refresh_token"), ("refresh_token", "a"), ("refresh_token", "b")], "invalid_request"),
    ],
)
def test_refresh_errors_use_rfc6749_codes(app: TestApp, params: Any, error: str) -> None:
    res = app.post("/refresh", params, status=400)
    assert res.json["error"] == error and set(res.json) == {"error", "error_description"}
    assert res.headers["Cache-Control"] == "no-store" and res.headers["Pragma"] == "no-cache"


def test_refresh_route_takes_post_only(app: TestApp) -> None:
    assert app.get("/refresh", status=405).headers["Allow"] == "POST"


def test_revocation_endpoint(app: TestApp) -> None:
    body = app.post("/token").json
    res = app.post("/revoke", {"token": body["access_token"]}, status=200)
    assert res.body == b"" and res.headers["Cache-Control"] == "no-store"
    app.get("/protected", headers=bearer(body["access_token"]), status=401)
    # always 200, whatever the token
    app.post("/revoke", {"token": "garbage"}, status=200)
    app.post("/revoke", {"token": body["access_token"]}, status=200)
    assert app.post("/revoke", {}, status=400).json["error"] == "invalid_request"


def test_revoking_a_refresh_token_revokes_its_family(app: TestApp) -> None:
    body = app.post("/token").json
    app.post("/revoke", {"token": body["refresh_token"]}, status=200)
    assert refresh(app, body["refresh_token"], status=400).json["error"] == "invalid_grant"
    app.get("/protected", headers=bearer(body["access_token"]), status=401)


def test_logout_revokes_the_current_token(app: TestApp) -> None:
    body = app.post("/token").json
    assert app.post("/logout", headers=bearer(body["access_token"])).json == {"revoked": True}
    app.get("/protected", headers=bearer(body["access_token"]), status=401)
    assert refresh(app, body["refresh_token"], status=400).json["error"] == "invalid_grant"
    assert app.post("/logout").json == {"revoked": False}


def test_revocation_without_refresh_tokens(store_url: str, clock: Clock) -> None:
    app = build(store_url, clock, refresh_expires_in=None, refresh_route=None)
    body = app.post("/token").json
    assert "refresh_token" not in body
    app.get("/protected", headers=bearer(body["access_token"]), status=200)
    app.post("/revoke", {"token": body["access_token"]})
    app.get("/protected", headers=bearer(body["access_token"]), status=401)


def test_configs_without_revocation_have_nothing_on_the_hot_path(clock: Clock) -> None:
    with Configurator() as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("plain", algorithm="HS256", secret=HS256_SECRET, expires_in=60)
        policy = config.set_jwt_security_policy("plain")
    assert get_jwt_runtime(config.registry).revocation is None
    assert policy.revocation is None


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"refresh_expires_in": 60}, "jwt.api.refresh_expires_in"),
        ({"revocation_route": "/revoke"}, "jwt.api.revocation_route"),
        ({"refresh_route": "/refresh"}, "jwt.api.refresh_route"),
        ({"revocation_store": "memory", "jti": False}, "jwt.api.jti"),
        ({"revocation_store": "mongodb://x"}, "jwt.api.revocation_store"),
        ({"typ": "rt+jwt"}, "jwt.api.typ"),
    ],
)
def test_settings_mistakes(raw: dict[str, Any], key: str) -> None:
    def start() -> None:
        with Configurator() as config:
            config.include("pyramid_jwtnode")
            config.add_jwt_config("api", algorithm="HS256", secret=HS256_SECRET, expires_in=60, **raw)

    raises_config_error(start, key, HS256_SECRET)


def test_refresh_view_on_a_config_without_refresh_fails_at_start_up() -> None:
    def start() -> None:
        with Configurator() as config:
            config.include("pyramid_jwtnode")
            config.add_jwt_config("api", algorithm="HS256", secret=HS256_SECRET, expires_in=60,
                                  revocation_store="memory")
            config.add_jwt_refresh_view("/refresh", jwt_config="api")

    raises_config_error(start, "jwt.api.refresh_expires_in")


def test_memory_store_entries_expire() -> None:
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0])
    store.revoke("a", 10)
    assert store.status("a", None, None) == (True, None) and len(store) == 1
    store.cut_off("s", 5, 20)
    assert store.status(None, None, "s") == (False, 5)
    now[0] = 11
    assert store.status("a", None, "s") == (False, 5) and len(store) == 1
    for i in range(3000):  # expired entries are purged as writes go on: storage stays bounded
        store.revoke(f"k{i}", 1)
        now[0] += 1
    assert len(store._entries) < 2100


def test_build_node_uses_the_store_it_is_given_even_an_empty_one() -> None:
    """An empty MemoryStore is falsy (it has a length): it must still replace the configured one."""
    from pyramid_jwtnode import build_runtime, parse_config

    store = MemoryStore()
    assert len(store) == 0
    config = parse_config("api", {"algorithm": "HS256", "secret": HS256_SECRET, "expires_in": "60",
                                  "revocation_store": "redis://127.0.0.1:1/0", "store_prefix": "t:"})
    node = build_runtime(config, store=store)
    assert node.revocation is not None and node.revocation.store is store
    token = node.issuer.issue({"sub": "alice"}).token  # type: ignore[union-attr]
    node.revocation.revoke(node.verifier.verify(token))  # no Redis at port 1: the given store answers
    assert len(store) == 1
