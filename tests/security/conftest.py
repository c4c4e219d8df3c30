"""Fixtures for the security suite: apps under attack and a token forge."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from jwt.algorithms import get_default_algorithms
from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from webtest import TestApp

from ..conftest import HS256_SECRET, NOW, Clock, KeyPair

OTHER_SECRET = "another-secret-for-config-b-32-bytes-long"
ALGORITHMS = get_default_algorithms()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: Any) -> str:
    """A token segment from a dict (JSON), a str (raw JSON text) or bytes (raw)."""
    if isinstance(value, dict):
        value = json.dumps(value, separators=(",", ":"))
    if isinstance(value, str):
        value = value.encode()
    return b64(value)


def forge(header: Any, claims: Any, key: Any = HS256_SECRET, alg: str | None = None) -> str:
    """A compact JWS with exactly this header and payload, signed with ``key`` by ``alg``."""
    if alg is None:
        named = header.get("alg") if isinstance(header, dict) else None
        alg = named if isinstance(named, str) and named in ALGORITHMS else "HS256"
    signing_input = f"{segment(header)}.{segment(claims)}"
    algorithm = ALGORITHMS[alg]
    signature = algorithm.sign(signing_input.encode(), algorithm.prepare_key(key))
    return f"{signing_input}.{b64(signature)}"


def claims(**extra: Any) -> dict[str, Any]:
    base = {"sub": "alice", "iat": NOW, "exp": NOW + 600, "roles": ["reader"]}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not ...}


HS_HEADER = {"alg": "HS256", "typ": "JWT"}


class Root:
    __acl__ = [(Allow, Authenticated, "read"), (Allow, "admin", "admin")]

    def __init__(self, request: Any) -> None:
        pass


def protected_app(
    settings: dict[str, Any], policy: str, clock: Clock | None = None, **code_configs: dict[str, Any]
) -> TestApp:
    """An app whose /protected needs 'read' (any valid token) and /admin needs role admin."""
    with Configurator(settings=settings, root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        for name, raw in code_configs.items():
            config.add_jwt_config(name, clock=clock or Clock(), **raw)
        config.set_jwt_security_policy(policy)
        config.add_route("protected", "/protected")
        config.add_view(lambda r: {"sub": r.authenticated_userid}, route_name="protected",
                        permission="read", renderer="json")
        config.add_route("admin", "/admin")
        config.add_view(lambda r: {"ok": True}, route_name="admin", permission="admin",
                        renderer="json")
    return TestApp(config.make_wsgi_app())


HS_API = {"algorithm": "HS256", "secret": HS256_SECRET, "expires_in": 600,
          "principals_claim": "roles", "realm": "api"}


@pytest.fixture
def hs_app(clock: Clock) -> TestApp:
    """HS256 config 'api' protects the app; config 'other' (another secret) exists beside it."""
    return protected_app(
        {}, "api", clock,
        api=HS_API,
        other={"algorithm": "HS256", "secret": OTHER_SECRET, "expires_in": 600},
    )


@pytest.fixture
def rs_app(keys: dict[str, KeyPair], clock: Clock) -> TestApp:
    return protected_app({}, "rs", clock, rs={
        "algorithm": "RS256", "private_key_file": str(keys["rsa"].private), "expires_in": 600,
        "kid": "rs-1", "realm": "api"})


@pytest.fixture
def es_app(keys: dict[str, KeyPair], clock: Clock) -> TestApp:
    return protected_app({}, "es", clock, es={
        "algorithm": "ES256", "private_key_file": str(keys["p256"].private), "expires_in": 600,
        "realm": "api"})


BARE = 'Bearer realm="api"'
INVALID_TOKEN = ('Bearer realm="api", error="invalid_token", '
                 'error_description="The access token is invalid or has expired."')
INVALID_REQUEST = ('Bearer realm="api", error="invalid_request", '
                   'error_description="The request does not carry one well-formed bearer token."')
INSUFFICIENT = ('Bearer realm="api", error="insufficient_scope", '
                'error_description="The access token does not grant this permission."')

ANSWERS = {
    "missing": (401, BARE, "unauthorized"),
    "invalid_token": (401, INVALID_TOKEN, "invalid_token"),
    "invalid_request": (400, INVALID_REQUEST, "invalid_request"),
    "insufficient_scope": (403, INSUFFICIENT, "insufficient_scope"),
}


def assert_answer(res: Any, kind: str, *secrets: str) -> None:
    """Status, challenge and a fixed body that echoes nothing of the request."""
    status, challenge, error = ANSWERS[kind]
    assert res.status_int == status, res
    assert res.headers["WWW-Authenticate"] == challenge
    assert res.headers["Cache-Control"] == "no-store"
    assert res.json["error"] == error
    assert set(res.json) == {"error", "error_description"}
    for secret in (*secrets, HS256_SECRET, OTHER_SECRET):
        if secret:
            assert secret not in res.text
            for part in str(secret).split("."):
                if len(part) > 8:
                    assert part not in res.text


Get = Callable[..., Any]


def bearer(app: TestApp, token: str, path: str = "/protected", status: str = "*") -> Any:
    return app.get(path, headers={"Authorization": f"Bearer {token}"}, status=status)


# -- the logging audit -------------------------------------------------------------

#: What must never reach a log line: token material (every JWT here starts with the
#: base64 of '{"'), secrets, key material, passwords.
NEVER_LOGGED = ("eyJ", HS256_SECRET, OTHER_SECRET, "-----BEGIN", "MII", "correct horse", "hunter2")


class _Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name}: {text}")


@pytest.fixture(autouse=True)
def log_audit() -> Any:
    """Capture every log record of every security test and check none leaks a secret."""
    handler = _Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    for line in handler.lines:
        for needle in NEVER_LOGGED:
            assert needle not in line, f"log leaks {needle!r}: {line[:200]}"
    jwtnode_lines = [line for line in handler.lines if line.startswith("pyramid_jwtnode:")]
    for line in jwtnode_lines:
        assert len(line) < 400, f"log line too long to be a reason code: {line[:200]}"
