"""Security events: subscribed the Pyramid way, each raised by the real thing (a replayed
refresh token over HTTP, a logout, revoke-all, a key set that fails and recovers, a store
that cannot be reached), none holding a token."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from webtest import TestApp

from pyramid_jwtnode import get_jwt_runtime
from pyramid_jwtnode.integration.events import (
    FamilyEnded,
    KeySetFetchFailed,
    KeySetRecovered,
    RefreshTokenReused,
    SecurityEvent,
    StoreUnavailable,
    SubjectRevoked,
)

from .conftest import HS256_SECRET
from .jwks_server import Answer, DocumentServer
from .test_many_issuers import idp_token, public_jwk, rsa_key


class Root:
    __acl__ = [(Allow, Authenticated, "read")]

    def __init__(self, request: Any) -> None:
        pass


def app_with(settings: dict[str, Any], seen: list[SecurityEvent], raising: bool = False) -> TestApp:
    def subscriber(event: SecurityEvent) -> None:
        seen.append(event)
        if raising:
            raise RuntimeError("the alerting system is down")

    with Configurator(settings=settings, root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_subscriber(subscriber, SecurityEvent)
        config.add_route("me", "/me")
        config.add_view(lambda r: {"user": r.authenticated_userid}, route_name="me", permission="read",
                        renderer="json")
    return TestApp(config.make_wsgi_app())


API = {"jwt.configs": "api", "jwt.security_policy": "api", "jwt.api.algorithm": "HS256",
       "jwt.api.secret": HS256_SECRET, "jwt.api.expires_in": "300", "jwt.api.revocation_store": "memory",
       "jwt.api.refresh_expires_in": "3600", "jwt.api.token_route": "/token",
       "jwt.api.payload": "tests.test_events:alice", "jwt.api.refresh_route": "/refresh",
       "jwt.api.logout_route": "/logout"}


def alice(request: Any) -> dict[str, str]:
    return {"sub": "alice"}


def refresh(app: TestApp, token: str, status: int = 200) -> Any:
    return app.post("/refresh", {"grant_type": "refresh_token", "refresh_token": token}, status=status)


@pytest.mark.parametrize("raising", [False, True])
def test_a_replayed_refresh_token_is_told(raising: bool) -> None:
    seen: list[SecurityEvent] = []
    app = app_with(API, seen, raising)
    pair = app.post("/token").json
    refresh(app, pair["refresh_token"])
    refresh(app, pair["refresh_token"], status=400)  # replayed: a subscriber that raises changes nothing
    family = jwt.decode(pair["access_token"], options={"verify_signature": False})["fam"]
    assert seen == [RefreshTokenReused("api", family, "alice"), FamilyEnded("api", family, "alice", "refresh_reuse")]
    assert not any(pair["refresh_token"] in repr(e) or pair["access_token"] in repr(e) for e in seen)


def test_logout_and_revoke_all_are_told() -> None:
    seen: list[SecurityEvent] = []
    app = app_with(API, seen)
    pair = app.post("/token").json
    app.post("/logout", headers={"Authorization": f"Bearer {pair['access_token']}"})
    family = jwt.decode(pair["access_token"], options={"verify_signature": False})["fam"]
    assert seen == [FamilyEnded("api", family, "alice", "logout")]
    revocation = get_jwt_runtime(app.app.registry).revocation
    assert revocation is not None
    revocation.revoke_subject("alice")
    assert seen[-1] == SubjectRevoked("api", "alice")


@pytest.fixture
def idp() -> Iterator[DocumentServer]:
    server = DocumentServer()
    yield server
    server.close()


def test_a_key_set_that_fails_and_recovers_is_told(idp: DocumentServer) -> None:
    key = rsa_key()
    seen: list[SecurityEvent] = []
    app = app_with({"jwt.configs": "idp", "jwt.security_policy": "idp", "jwt.idp.algorithm": "RS256",
                    "jwt.idp.expires_in": "300", "jwt.idp.issuer": "https://idp.example",
                    "jwt.idp.jwks_url": idp.url("/jwks")}, seen)
    idp.answers["/jwks"] = Answer({"error": "down"}, status=503)
    app.get("/me", headers={"Authorization": f"Bearer {idp_token(key, 'k1')}"}, status=503)
    assert seen == [KeySetFetchFailed("idp", idp.url("/jwks"), "status_503")]
    idp.answers["/jwks"] = Answer({"keys": [public_jwk(key, "k1")]})
    remote = get_jwt_runtime(app.app.registry).keys.remote
    assert remote is not None
    remote._attempted = float("-inf")  # the refetch interval has passed
    assert app.get("/me", headers={"Authorization": f"Bearer {idp_token(key, 'k1')}"}).json == {"user": "carol"}
    assert seen[-1] == KeySetRecovered("idp", idp.url("/jwks"))


def test_an_unreachable_store_is_told() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    seen: list[SecurityEvent] = []
    app = app_with({**API, "jwt.api.revocation_store": f"redis://127.0.0.1:{port}/0",
                    "jwt.api.store_prefix": "events:"}, seen)
    token = get_jwt_runtime(app.app.registry).issuer.issue({"sub": "alice"}).token  # type: ignore[union-attr]
    app.get("/me", headers={"Authorization": f"Bearer {token}"}, status=503)
    assert seen == [StoreUnavailable("api", "store_unavailable")]
    assert json.dumps([repr(e) for e in seen]).find(token) == -1


def test_the_docs_alerting_subscriber(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/refresh-and-revocation.rst's subscriber, included as the docs say."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "docs" / "examples" / "alerting.py"
    spec = importlib.util.spec_from_file_location("alerting_example", path)
    assert spec is not None and spec.loader is not None
    alerting = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(__import__("sys").modules, "alerting_example", alerting)
    spec.loader.exec_module(alerting)
    with Configurator(settings=API, root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.include(alerting.includeme)
    app = TestApp(config.make_wsgi_app())
    pair = app.post("/token").json
    refresh(app, pair["refresh_token"])
    with caplog.at_level("CRITICAL", logger="myapp.alerts"):
        refresh(app, pair["refresh_token"], status=400)
    assert "refresh token replayed: config api, user alice" in caplog.text
