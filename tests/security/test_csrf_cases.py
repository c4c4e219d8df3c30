"""CSRF for cookie-borne tokens: every way a forged state-changing request can come, refused
with a JSON 403 before the view runs (docs/security.rst, "Browser clients")."""

from __future__ import annotations

from typing import Any

import pytest
from webtest import TestApp

from pyramid_jwtnode import get_jwt_runtime

from .. import cookie_app
from ..conftest import NOW, Clock

ORIGIN = "https://app.example"
HTTPS = {"wsgi.url_scheme": "https", "HTTP_HOST": "app.example", "HTTP_ORIGIN": ORIGIN}


@pytest.fixture
def app() -> TestApp:
    cookie_app.NOTES.clear()
    web = TestApp(cookie_app.make_app(Clock(NOW)), extra_environ=HTTPS)
    web.post("/token", {"user": "alice"})
    return web


def refused(res: Any) -> None:
    assert res.status_int == 403
    assert res.json["error"] == "invalid_csrf_token"
    assert res.headers["Cache-Control"] == "no-store"
    assert cookie_app.NOTES == []  # the view never ran


def test_csrf_value_missing(app: TestApp) -> None:
    refused(app.post("/notes", {"text": "x"}, status=403))


def test_csrf_value_wrong(app: TestApp) -> None:
    for value in ("guess", "", " " + str(app.cookies["web_csrf"]), str(app.cookies["web_csrf"])[:-1],
                  "\u00e9" * 8):
        refused(app.post("/notes", {"text": "x"}, headers={"X-CSRF-Token": value}, status=403))


def test_csrf_value_of_another_token(app: TestApp) -> None:
    """The value belongs to the token: another login's CSRF value does not open this one."""
    other = TestApp(app.app, extra_environ=HTTPS)
    other.post("/token", {"user": "mallory"})
    refused(app.post("/notes", headers={"X-CSRF-Token": str(other.cookies["web_csrf"])}, status=403))


def test_csrf_value_in_the_form_or_query_does_not_count(app: TestApp) -> None:
    value = str(app.cookies["web_csrf"])
    refused(app.post("/notes", {"csrf_token": value}, status=403))
    refused(app.post(f"/notes?csrf_token={value}", status=403))


def test_cross_site_request(app: TestApp) -> None:
    """Over HTTPS another site's request is refused by its Origin (or missing Origin/Referer),
    even when it somehow carried the value."""
    value = str(app.cookies["web_csrf"])
    cross = app.post("/notes", headers={"X-CSRF-Token": value, "Origin": "https://evil.example"}, status=403)
    assert cross.json["error"] == "cross_site_request" and cookie_app.NOTES == []
    cross = app.post("/notes", headers={"X-CSRF-Token": value, "Referer": "https://evil.example/page"},
                     extra_environ={"HTTP_ORIGIN": ""}, status=403)
    assert cross.json["error"] == "cross_site_request" and cookie_app.NOTES == []
    refused(app.post("/notes", headers={"X-CSRF-Token": value}, extra_environ={"HTTP_ORIGIN": ""}, status=403))
    assert app.post("/notes", headers={"X-CSRF-Token": value}).json == {"notes": 1}


def test_cookie_of_another_config(app: TestApp) -> None:
    """A token of config "other" placed in "web"'s cookie is checked by web's rules: refused."""
    other = get_jwt_runtime(app.app.registry, "other").issuer.issue({"sub": "mallory"}).token  # type: ignore[union-attr]
    fresh = TestApp(app.app, extra_environ=HTTPS)
    fresh.set_cookie("web_access", other)
    fresh.get("/me", status=401)
    res = fresh.post("/notes", headers={"X-CSRF-Token": "x"}, status=401)  # not authenticated at all
    assert 'error="invalid_token"' in res.headers["WWW-Authenticate"]


def test_refresh_through_the_cookie_without_the_value(app: TestApp) -> None:
    res = app.post("/auth/refresh", {"grant_type": "refresh_token"}, status=403)
    assert res.json["error"] == "invalid_csrf_token"
    other = TestApp(app.app, extra_environ=HTTPS)
    other.post("/token", {"user": "mallory"})
    app.post("/auth/refresh", {"grant_type": "refresh_token"},
             headers={"X-CSRF-Token": str(other.cookies["web_csrf"])}, status=403)


def test_safe_methods_need_no_value(app: TestApp) -> None:
    assert app.get("/me").json["sub"] == "alice"
    app.head("/me", status=200)
