"""Tests of an app's protected views, laid out as the Pyramid cookiecutter lays them out.

The app here is the example app; put your own ``main`` and ``testing.ini`` in their place.
Run from the repository's top directory: ``pytest docs/examples/test_views.py``.
"""

import pytest
import webtest
from pyramid.paster import get_appsettings

from example_app import main
from pyramid_jwtnode.tools.testing import Clock

INI = "example_app/testing.ini"


@pytest.fixture
def clock():
    return Clock(1_767_225_600)  # 2026-01-01T00:00:00Z; clock.advance(seconds) moves it


@pytest.fixture
def testapp(clock):
    settings = get_appsettings(INI)
    return webtest.TestApp(main({}, **{**settings, "jwt.clock": clock}))


def test_admin_view(testapp, jwt_headers):
    res = testapp.get("/jwt/admin", headers=jwt_headers({"name": "Ada", "roles": ["admin"]}))
    assert res.json == {"admin": "Ada"}


def test_admin_view_needs_the_admin_role(testapp, jwt_headers):
    res = testapp.get("/jwt/admin", headers=jwt_headers({"name": "Ada"}), status=403)
    assert res.json["error"] == "insufficient_scope"


def test_a_token_expires(testapp, jwt_headers, clock):
    headers = jwt_headers({"name": "Ada"})
    testapp.get("/jwt/offices", headers=headers, status=200)
    clock.advance(86400)  # the config's expires_in
    res = testapp.get("/jwt/offices", headers=headers, status=401)
    assert 'error="invalid_token"' in res.headers["WWW-Authenticate"]
