"""Layer 3: the token view over HTTP, through webtest.TestApp.

The cases docs/security.rst lists for the issuer are in tests/security/test_issuer_cases.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPFound
from webtest import TestApp

from .conftest import HS256_SECRET, NOW, Clock

Build = Callable[..., TestApp]


def app_with(make_app: Build, payload: Any, clock: Clock | None = None, **view: Any) -> TestApp:
    def setup(config: Configurator) -> None:
        config.add_jwt_config("main", algorithm="HS256", secret=HS256_SECRET, expires_in=900,
                              clock=clock or Clock())
        config.add_jwt_token_view("/token", jwt_config="main", payload=payload, **view)

    return make_app(setup=setup)


def decode(token: str) -> dict[str, Any]:
    return jwt.decode(token, HS256_SECRET, algorithms=["HS256"],
                      options={"verify_exp": False, "verify_iat": False})


def test_fixed_clock_moves(make_app: Build) -> None:
    clock = Clock()
    app = app_with(make_app, lambda r: {}, clock=clock)
    clock.now = NOW + 123
    assert decode(app.post("/token").json["access_token"])["iat"] == NOW + 123


def test_payload_sees_the_request(make_app: Build) -> None:
    app = app_with(make_app, lambda r: {"sub": r.params["user"]})
    assert decode(app.post("/token", {"user": "dave"}).json["access_token"])["sub"] == "dave"


def test_get_route_allows_get_and_head(make_app: Build) -> None:
    app = app_with(make_app, lambda r: {}, request_method="GET")
    app.get("/token", status=200)
    assert app.post("/token", status=405).headers["Allow"] == "GET, HEAD"


def test_response_returned_by_payload_passes_through(make_app: Build) -> None:
    res = app_with(make_app, lambda r: HTTPFound(location="/login")).post("/token", status=302)
    assert res.headers["Location"].endswith("/login")


def test_response_callable_shapes_the_body(make_app: Build) -> None:
    def recipe_body(request: Any, issued: Any) -> dict[str, str]:
        return {"access_token": issued.token}

    res = app_with(make_app, lambda r: {}, response=recipe_body).post("/token", status=200)
    assert set(res.json) == {"access_token"}
    assert res.headers["Cache-Control"] == "no-store"


def test_response_callable_that_crashes(make_app: Build, caplog: pytest.LogCaptureFixture) -> None:
    def broken(request: Any, issued: Any) -> Any:
        raise KeyError("boom")

    with caplog.at_level(logging.ERROR, logger="pyramid_jwtnode"):
        res = app_with(make_app, lambda r: {}, response=broken).post("/token", status=500)
    assert "eyJ" not in res.text
    assert "response_error" in caplog.text


def test_token_view_ignores_a_default_permission(make_app: Build) -> None:
    from pyramid.authorization import ACLHelper

    class DenyAll:
        def identity(self, request: Any) -> None:
            return None

        def authenticated_userid(self, request: Any) -> None:
            return None

        def permits(self, request: Any, context: Any, permission: str) -> Any:
            return ACLHelper().permits(context, [], permission)

    def setup(config: Configurator) -> None:
        config.set_security_policy(DenyAll())
        config.set_default_permission("view")
        config.add_jwt_config("main", algorithm="HS256", secret=HS256_SECRET, expires_in=60)
        config.add_jwt_token_view("/token", jwt_config="main", payload=lambda r: {})

    make_app(setup=setup).post("/token", status=200)


def test_token_route_from_ini(make_app: Build) -> None:
    settings = {
        "jwt.configs": "main",
        "jwt.main.algorithm": "HS512",
        "jwt.main.secret": "z" * 64,
        "jwt.main.expires_in": "60",
        "jwt.main.token_route": "/auth/token",
        "jwt.main.payload": "example_app:recipe_payload",
        "jwt.main.claims_key": "data",
    }
    res = make_app(settings).post("/auth/token", status=200)
    claims = jwt.decode(res.json["access_token"], "z" * 64, algorithms=["HS512"])
    assert claims["data"]["name"] == "CYber Group Inc."


def _reading_tween(reads: str) -> Any:
    """A tween that reads the request's body through WebOb before any view runs, as the debug
    toolbar, pyramid's CSRF check or a host's logging tween may."""

    def factory(handler: Any, registry: Any) -> Any:
        def tween(request: Any) -> Any:
            _ = request.POST if reads == "POST" else request.body
            return handler(request)

        return tween

    return factory


@pytest.mark.parametrize("reads", ["POST", "body"])
def test_a_form_read_by_a_tween_before_the_view_is_still_read_whole(reads: str) -> None:
    """The form token route reads the body WebOb already holds, from its start (it used to read
    the stream at its end: 400 malformed)."""
    from pyramid.config import Configurator

    from .conftest import HS256_SECRET

    settings = {"jwt.configs": "api", "jwt.api.algorithm": "HS256", "jwt.api.secret": HS256_SECRET,
                "jwt.api.expires_in": "60", "jwt.api.token_route": "/token", "jwt.api.token_route_method": "POST",
                "jwt.api.payload": "tests.test_token_view:form_user"}
    with Configurator(settings=settings) as config:
        config.include("pyramid_jwtnode")
        config.add_tween("tests.test_token_view.READING_TWEENS." + reads)
    app = TestApp(config.make_wsgi_app())
    token = app.post("/token", {"username": "ann"}).json["access_token"]
    assert decode(token)["sub"] == "ann"


READING_TWEENS = type("READING_TWEENS", (), {"POST": staticmethod(_reading_tween("POST")),
                                             "body": staticmethod(_reading_tween("body"))})


def form_user(request: Any) -> dict[str, Any]:
    """The payload of a form token route: the form's user name."""
    return {"sub": request.POST["username"]}
