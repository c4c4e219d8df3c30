"""pyramid_jwtnode.tools.testing and the pytest plugin, used as a host app's tests would."""

from __future__ import annotations

import subprocess
import sys
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
    short = auth_header(testapp, {}, config="igniteadmin", expires_in=60)
    claims = testapp.get("/jwt/verify", headers=short).json
    assert claims["exp"] - claims["iat"] == 60  # (a 1 s token could expire between two requests)


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


# -- the jwt_headers fixture, whatever the app fixture is called ----------------------------------

_PROJECT = """
import pytest
from pyramid.config import Configurator
from webtest import TestApp


@pytest.fixture
def {name}():
    with Configurator() as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("api", algorithm="HS256", secret="s" * 40, expires_in=60)
        config.set_jwt_security_policy("api")
        config.add_route("me", "/me")
        config.add_view(lambda r: {{"user": r.authenticated_userid}}, route_name="me", renderer="json")
    return TestApp(config.make_wsgi_app())


def test_headers({name}, jwt_headers):
    assert {name}.get("/me", headers=jwt_headers({{"sub": "alice"}})).json == {{"user": "alice"}}
"""


def _pytest(tmp_path: Path, name: str, ini: str = "") -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_project.py").write_text(_PROJECT.format(name=name))
    (tmp_path / "pytest.ini").write_text("[pytest]\n" + ini)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "ini"), [("testapp", ""), ("app", ""), ("webapp", "jwt_app_fixture = webapp\n")])
def test_jwt_headers_finds_the_app_fixture(tmp_path: Path, name: str, ini: str) -> None:
    done = _pytest(tmp_path, name, ini)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_jwt_headers_says_which_fixture_it_needs(tmp_path: Path) -> None:
    done = _pytest(tmp_path, "webapp")
    assert done.returncode != 0
    assert "jwt_headers needs a fixture named testapp or app or test_app" in done.stdout + done.stderr
    assert "jwt_app_fixture" in done.stdout + done.stderr
