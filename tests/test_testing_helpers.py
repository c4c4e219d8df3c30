"""pyramid_jwtnode.tools.testing and the pytest plugin, used as a host app's tests would."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyramid.paster import get_app
from webtest import TestApp

from pyramid_jwtnode.tools.testing import Clock, auth_header, bearer, mint_token, registry_of

INI = str(Path(__file__).resolve().parent.parent / "example_app" / "testing.ini")


@pytest.fixture(scope="module")
def testapp() -> TestApp:
    """What a host project's conftest.py already has (the cookiecutter's name for it)."""
    return TestApp(get_app(INI))


# The whole of a host app's test of a protected view, with the plugin's fixture:
def test_admin_view_with_the_fixture(testapp, jwt_headers):  # type: ignore[no-untyped-def]
    res = testapp.get("/jwt/admin", headers=jwt_headers({"name": "Ada", "roles": ["admin"]}))
    assert res.json == {"admin": "Ada"}


def test_plain_helpers(testapp: TestApp) -> None:
    token = mint_token(testapp, {"name": "Ada"})
    assert bearer(token) == {"Authorization": f"Bearer {token}"}
    assert testapp.get("/jwt/verify", headers=bearer(token)).json["data"] == {"name": "Ada"}
    testapp.get("/jwt/admin", headers=auth_header(testapp, {"name": "Bo", "roles": ["user"]}),
                status=403)
    short = auth_header(testapp, {}, config="igniteadmin", expires_in=1)
    assert testapp.get("/jwt/verify", headers=short).json["exp"] - testapp.get(
        "/jwt/verify", headers=short).json["iat"] == 1


def test_registry_of_accepts_apps_routers_and_registries(testapp: TestApp) -> None:
    registry = registry_of(testapp)
    assert registry_of(testapp.app) is registry
    assert registry_of(registry) is registry
    with pytest.raises(TypeError):
        registry_of(object())


def test_clock() -> None:
    clock = Clock(100)
    clock.advance(5)
    assert clock() == 105
