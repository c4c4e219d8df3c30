"""docs/security.rst, the issuer (token view): every case through HTTP."""

from __future__ import annotations

import datetime
import logging
from typing import Any

import jwt
import pytest
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPUnauthorized
from webtest import TestApp

from ..conftest import HS256_SECRET, NOW, Clock, KeyPair


def token_app(payload: Any, clock: Clock | None = None, **raw: Any) -> TestApp:
    settings = {"algorithm": "HS256", "secret": HS256_SECRET, "expires_in": 900, **raw}
    with Configurator() as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("main", clock=clock or Clock(), **settings)
        config.add_jwt_token_view("/token", jwt_config="main", payload=payload)
    return TestApp(config.make_wsgi_app())


def decode(token: str, key: Any = HS256_SECRET, alg: str = "HS256", **kw: Any) -> dict[str, Any]:
    return jwt.decode(token, key, algorithms=[alg], options={"verify_exp": False, "verify_iat": False,
                                                             "verify_nbf": False}, **kw)


def test_success_is_200_with_rfc6749_body_and_no_store_headers() -> None:
    res = token_app(lambda r: {"sub": "alice"}).post("/token", status=200)
    assert res.content_type == "application/json"
    assert res.headers["Cache-Control"] == "no-store"
    assert res.headers["Pragma"] == "no-cache"
    assert set(res.json) == {"access_token", "token_type", "expires_in"}
    assert res.json["token_type"] == "Bearer" and res.json["expires_in"] == 900


def test_header_carries_exactly_the_configured_alg_and_typ() -> None:
    token = token_app(lambda r: {}).post("/token").json["access_token"]
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    token = token_app(lambda r: {}, typ="at+jwt", kid="k-7").post("/token").json["access_token"]
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "at+jwt", "kid": "k-7"}


def test_header_carries_the_kid_where_keys_have_ids(keys: dict[str, KeyPair]) -> None:
    def build(**raw: Any) -> TestApp:
        with Configurator() as config:
            config.include("pyramid_jwtnode")
            config.add_jwt_config("rs", algorithm="RS256", private_key_file=str(keys["rsa"].private),
                                  expires_in=60, token_route="/token", payload=lambda r: {}, **raw)
        return TestApp(config.make_wsgi_app())

    token = build(kid="rs-2026").post("/token").json["access_token"]
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT", "kid": "rs-2026"}
    token = build().post("/token").json["access_token"]
    assert set(jwt.get_unverified_header(token)) == {"alg", "typ", "kid"}  # RFC 7638 thumbprint


def test_server_sets_iat_exp_and_the_configured_claims() -> None:
    app = token_app(lambda r: {"sub": "alice"}, issuer="https://auth", audience="api",
                    not_before=5)
    claims = decode(app.post("/token").json["access_token"], audience="api")
    assert claims["iat"] == NOW and claims["exp"] == NOW + 900 and claims["nbf"] == NOW + 5
    assert claims["iss"] == "https://auth" and claims["aud"] == "api"
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16


def test_payload_cannot_smuggle_a_different_alg_or_kid_header() -> None:
    app = token_app(lambda r: {"alg": "none", "kid": "../../evil", "typ": "x", "sub": "a"})
    token = app.post("/token").json["access_token"]
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert decode(token)["alg"] == "none"  # only an ordinary private claim


@pytest.mark.parametrize("claim", ["iat", "exp", "nbf", "iss", "aud", "jti"])
def test_registered_claims_from_the_payload_are_refused(
    claim: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="pyramid_jwtnode"):
        res = token_app(lambda r: {claim: 1}).post("/token", status=500)
    assert "eyJ" not in res.text
    assert "issue_error" in caplog.text and claim in caplog.text


def test_payload_http_exception_passes_through() -> None:
    def payload(request: Any) -> Any:
        raise HTTPUnauthorized(json_body={"error": "wrong password"})

    res = token_app(payload).post("/token", status=401)
    assert res.json == {"error": "wrong password"}


@pytest.mark.parametrize(
    ("payload", "logged"),
    [
        (["not", "a", "mapping"], "mapping"),
        ("text", "mapping"),
        ({"when": datetime.date(2026, 1, 1)}, "date"),
        ({"x": float("nan")}, "NaN"),
        ({"x": {1, 2}}, "set"),
    ],
    ids=["list", "str", "date", "nan", "set"],
)
def test_payload_not_a_mapping_or_not_json_is_a_logged_500(
    payload: Any, logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="pyramid_jwtnode"):
        res = token_app(lambda r: payload).post("/token", status=500)
    assert res.json == {"error": "server_error", "error_description": "The token could not be issued."}
    assert res.headers["Cache-Control"] == "no-store"
    assert "eyJ" not in res.text
    assert "issue_error" in caplog.text and logged in caplog.text


def test_payload_callable_that_crashes_is_a_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    def payload(request: Any) -> Any:
        raise RuntimeError("database password is hunter2")

    with caplog.at_level(logging.ERROR, logger="pyramid_jwtnode"):
        res = token_app(payload).post("/token", status=500)
    assert "hunter2" not in res.text and "Traceback" not in res.text and "eyJ" not in res.text
    assert "payload_error" in caplog.text


def test_wrong_method_is_405_with_allow() -> None:
    res = token_app(lambda r: {}).get("/token", status=405)
    assert res.headers["Allow"] == "POST"
    assert "eyJ" not in res.text
