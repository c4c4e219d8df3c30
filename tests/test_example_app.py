"""Layer 3: the example app, loaded from its own ini files as pserve would."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from pyramid.exceptions import ConfigurationError
from pyramid.paster import get_app, get_appsettings
from webtest import TestApp

from example_app import recipe_payload

HERE = Path(__file__).resolve().parent.parent / "example_app"
RECIPE_PAYLOAD = {
    "name": "CYber Group Inc.",
    "Domain": "Information Technology & Services",
    "Offices": {
        "Dallas": "12900 Preston Road, Ste 900, Dallas, TX, 75230",
        "India": "30/1 Knowledge Park III, Greater Noida",
    },
}


@pytest.fixture(scope="module")
def app() -> TestApp:
    return TestApp(get_app(str(HERE / "testing.ini")))


def secret(ini: str = "testing.ini") -> str:
    return get_appsettings(str(HERE / ini))["jwt.igniteadmin.secret"]


def test_payload_is_the_recipes() -> None:
    assert recipe_payload(None) == RECIPE_PAYLOAD  # type: ignore[arg-type]


def test_generate_returns_the_recipe_token(app: TestApp) -> None:
    res = app.get("/jwt/generate", status=200)
    assert res.content_type == "application/json"
    assert res.headers["Cache-Control"] == "no-store"
    assert res.headers["Pragma"] == "no-cache"
    assert res.json["token_type"] == "Bearer"
    assert res.json["expires_in"] == 86400
    token = res.json["access_token"]
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, secret(), algorithms=["HS256"])
    assert set(claims) == {"data", "iat", "exp"}
    assert claims["data"] == RECIPE_PAYLOAD
    assert claims["exp"] == claims["iat"] + 86400


def test_generate_refuses_post(app: TestApp) -> None:
    assert app.post("/jwt/generate", status=405).headers["Allow"] == "GET, HEAD"


def test_testing_ini_matches_development_ini() -> None:
    dev = get_appsettings(str(HERE / "development.ini"))
    test = get_appsettings(str(HERE / "testing.ini"))
    dev.pop("jwt.igniteadmin.secret_env")
    assert {k: v for k, v in dev.items() if k.startswith("jwt.")} == {
        k: v for k, v in test.items() if k.startswith("jwt.")
    }


def test_development_secret_is_overridable_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    own = "my-own-secret-of-at-least-thirty-two-bytes"
    monkeypatch.setenv("IGNITE_JWT_SECRET", own)
    token = TestApp(get_app(str(HERE / "development.ini"))).get("/jwt/generate").json["access_token"]
    assert jwt.decode(token, own, algorithms=["HS256"])["data"] == RECIPE_PAYLOAD


def test_production_ini_refuses_to_start_without_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IGNITE_JWT_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="jwt.igniteadmin.secret_env"):
        get_app(str(HERE / "production.ini"))


def test_production_ini_refuses_a_short_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGNITE_JWT_SECRET", "too-short")
    with pytest.raises(ConfigurationError) as info:
        get_app(str(HERE / "production.ini"))
    assert "jwt.igniteadmin.secret_env" in str(info.value)
    assert "too-short" not in str(info.value)


def test_production_ini_serves_with_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    own = "p" * 48
    monkeypatch.setenv("IGNITE_JWT_SECRET", own)
    token = TestApp(get_app(str(HERE / "production.ini"))).get("/jwt/generate").json["access_token"]
    assert jwt.decode(token, own, algorithms=["HS256"])["data"] == RECIPE_PAYLOAD


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_verify_is_the_recipes_validate_mode(app: TestApp) -> None:
    token = app.get("/jwt/generate").json["access_token"]
    res = app.get("/jwt/verify", headers=bearer(token), status=200)
    assert res.json["data"] == RECIPE_PAYLOAD
    res = app.get("/jwt/verify", status=401)  # "Unauthorized"
    assert res.headers["WWW-Authenticate"] == 'Bearer realm="igniteadmin"'
    res = app.get("/jwt/verify", headers=bearer(token[:-4] + "AAAA"), status=401)
    assert 'error="invalid_token"' in res.headers["WWW-Authenticate"]
    assert token[:20] not in res.text


def test_protected_views(app: TestApp) -> None:
    token = app.get("/jwt/generate").json["access_token"]
    assert app.get("/jwt/offices", headers=bearer(token)).json["offices"] == RECIPE_PAYLOAD["Offices"]
    app.get("/jwt/offices", status=401)
    res = app.get("/jwt/admin", headers=bearer(token), status=403)
    assert 'error="insufficient_scope"' in res.headers["WWW-Authenticate"]


def test_admin_role_reaches_the_admin_view(app: TestApp) -> None:
    from pyramid_jwtnode import get_jwt_runtime

    issuer = get_jwt_runtime(app.app.registry, "igniteadmin").issuer
    token = issuer.issue({**RECIPE_PAYLOAD, "roles": ["admin"]}).token
    assert app.get("/jwt/admin", headers=bearer(token)).json == {"admin": "CYber Group Inc."}
