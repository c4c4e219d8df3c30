"""Key rotation and the JWKS endpoint, through HTTP."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pyramid.config import Configurator
from webtest import TestApp

from pyramid_jwtnode import get_jwt_runtime

from .conftest import HS256_SECRET, Clock, KeyPair
from .helpers import raises_config_error
from .security.conftest import HS_HEADER, claims, forge, protected_app

OLD_SECRET = "the-old-secret-retired-in-november-2026"


@pytest.fixture
def old_secret_file(tmp_path: Path) -> str:
    path = tmp_path / "old.key"
    path.write_text(OLD_SECRET + "\n")
    return str(path)


def hs_rotating(clock: Clock, previous: str | None) -> TestApp:
    raw: dict[str, Any] = {"algorithm": "HS256", "secret": HS256_SECRET, "expires_in": 600,
                           "kid": "2026-11", "token_route": "/token",
                           "payload": lambda r: {"sub": "alice"}}
    if previous is not None:
        raw["previous_keys"] = previous
    return protected_app({}, "api", clock, api=raw)


def test_hs_rotation(clock: Clock, old_secret_file: str) -> None:
    app = hs_rotating(clock, f"2026-10 {old_secret_file}")
    new = app.post("/token").json["access_token"]
    old = forge({"alg": "HS256", "kid": "2026-10"}, claims(), key=OLD_SECRET)
    for token in (new, old):
        app.get("/protected", headers={"Authorization": f"Bearer {token}"}, status=200)
    # Each kid names its own key: the old kid with the new secret, or no kid with the old secret, fail.
    for token in (forge({"alg": "HS256", "kid": "2026-10"}, claims()),
                  forge(HS_HEADER, claims(), key=OLD_SECRET)):
        app.get("/protected", headers={"Authorization": f"Bearer {token}"}, status=401)
    # A token without kid is checked against the current key.
    app.get("/protected", headers={"Authorization": f"Bearer {forge(HS_HEADER, claims())}"}, status=200)

    retired = hs_rotating(clock, None)
    retired.get("/protected", headers={"Authorization": f"Bearer {old}"}, status=401)
    retired.get("/protected", headers={"Authorization": f"Bearer {new}"}, status=200)


def es_settings(keys: dict[str, KeyPair], previous: bool) -> dict[str, str]:
    settings = {
        "jwt.configs": "es",
        "jwt.es.algorithm": "ES256",
        "jwt.es.private_key_file": str(keys["p256"].private),
        "jwt.es.kid": "2026-11",
        "jwt.es.expires_in": "600",
        "jwt.es.jwks_route": "/.well-known/jwks.json",
        "jwt.es.verify_route": "/verify",
    }
    if previous:
        settings["jwt.es.previous_keys"] = f"2026-10 {keys['p256b'].public}"
    return settings


def app_from(settings: dict[str, Any]) -> TestApp:
    with Configurator(settings=settings) as config:
        config.include("pyramid_jwtnode")
    return TestApp(config.make_wsgi_app())


def test_asymmetric_rotation_and_jwks(keys: dict[str, KeyPair]) -> None:
    app = app_from(es_settings(keys, previous=True))
    jwks = app.get("/.well-known/jwks.json")
    assert jwks.content_type == "application/json"
    assert jwks.headers["Cache-Control"] == "public, max-age=300"
    assert [k["kid"] for k in jwks.json["keys"]] == ["2026-11", "2026-10"]
    for key in jwks.json["keys"]:
        assert set(key) == {"kty", "crv", "x", "y", "kid", "use", "alg"}
        assert key["use"] == "sig" and key["alg"] == "ES256" and "d" not in key

    now = int(time.time())  # ini-declared configs use the real clock
    old = forge({"alg": "ES256", "kid": "2026-10"}, claims(iat=now, exp=now + 600),
                key=keys["p256b"].private_key)
    app.get("/verify", headers={"Authorization": f"Bearer {old}"}, status=200)

    retired = app_from(es_settings(keys, previous=False))
    retired.get("/verify", headers={"Authorization": f"Bearer {old}"}, status=401)
    assert [k["kid"] for k in retired.get("/.well-known/jwks.json").json["keys"]] == ["2026-11"]


def test_rsa_jwks_has_public_members_only(keys: dict[str, KeyPair]) -> None:
    app = app_from({"jwt.configs": "rs", "jwt.rs.algorithm": "PS256", "jwt.rs.expires_in": "60",
                    "jwt.rs.private_key_file": str(keys["rsa"].private),
                    "jwt.rs.jwks_route": "/jwks"})
    (key,) = app.get("/jwks").json["keys"]
    assert set(key) == {"kty", "n", "e", "kid", "use", "alg"}
    assert key["alg"] == "PS256"
    app.post("/jwks", status=405)


def test_one_jwks_route_for_several_configs(keys: dict[str, KeyPair]) -> None:
    def setup(config: Configurator) -> None:
        config.add_jwt_config("rs", algorithm="RS256", private_key_file=str(keys["rsa"].private),
                              expires_in=60)
        config.add_jwt_config("ed", algorithm="EdDSA", private_key_file=str(keys["ed25519"].private),
                              expires_in=60, kid="ed-1")
        config.add_jwt_jwks_view("/.well-known/jwks.json", jwt_config=["rs", "ed"])

    with Configurator() as config:
        config.include("pyramid_jwtnode")
        setup(config)
    keys_served = TestApp(config.make_wsgi_app()).get("/.well-known/jwks.json").json["keys"]
    assert [k["alg"] for k in keys_served] == ["RS256", "EdDSA"]
    assert keys_served[1] == {"kty": "OKP", "crv": "Ed25519", "x": keys_served[1]["x"], "kid": "ed-1",
                              "use": "sig", "alg": "EdDSA"}
    assert get_jwt_runtime(config.registry, "rs").keys.kid == keys_served[0]["kid"]


def test_jwks_route_on_an_hs_config_is_a_startup_error() -> None:
    settings = {"jwt.configs": "hs", "jwt.hs.algorithm": "HS256", "jwt.hs.secret": HS256_SECRET,
                "jwt.hs.expires_in": "60", "jwt.hs.jwks_route": "/jwks"}
    raises_config_error(lambda: app_from(settings), "jwt.hs.jwks_route", HS256_SECRET)


def test_jwks_view_on_an_hs_config_from_code_is_a_startup_error() -> None:
    def build() -> None:
        with Configurator() as config:
            config.include("pyramid_jwtnode")
            config.add_jwt_config("hs", algorithm="HS256", secret=HS256_SECRET, expires_in=60)
            config.add_jwt_jwks_view("/jwks", jwt_config="hs")

    raises_config_error(build, "HS256", HS256_SECRET)
