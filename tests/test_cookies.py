"""Tokens in HttpOnly cookies for browsers: the cookies' attributes, the policy reading them,
CSRF protection on Pyramid's machinery, remember/forget, and refresh through the cookie."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import jwt
import pytest
from pyramid.config import Configurator
from pyramid.csrf import check_csrf_token, get_csrf_token
from pyramid.session import SignedCookieSessionFactory
from webtest import TestApp

from pyramid_jwtnode import get_jwt_runtime

from . import cookie_app
from .conftest import HS256_SECRET, NOW, Clock
from .helpers import raises_config_error

#: Over HTTPS, as browsers send same-origin requests (an Origin header: Pyramid checks it).
HTTPS = {"wsgi.url_scheme": "https", "HTTP_HOST": "app.example", "HTTP_ORIGIN": "https://app.example"}


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def app(clock: Clock) -> TestApp:
    cookie_app.NOTES.clear()
    return TestApp(cookie_app.make_app(clock), extra_environ=HTTPS)


def set_cookies(res: Any) -> dict[str, Any]:
    """The Set-Cookie headers of ``res`` by cookie name, as parsed morsels."""
    cookies: dict[str, Any] = {}
    for header in res.headers.getall("Set-Cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            cookies[name] = (morsel, header)
    return cookies


def csrf_of(app: TestApp, name: str = "web_csrf") -> str:
    return str(app.cookies[name])


# -- the cookies ------------------------------------------------------------------------------------


def test_the_token_view_sets_the_documented_cookies(app: TestApp) -> None:
    res = app.post("/token", {"user": "alice"})
    assert "access_token" not in res.json and "refresh_token" not in res.json  # never in page script's reach
    assert res.json["expires_in"] == 300 and res.json["token_type"] == "Bearer"
    cookies = set_cookies(res)
    assert set(cookies) == {"web_access", "web_refresh", "web_csrf"}
    access, access_header = cookies["web_access"]
    assert access["httponly"] and access["secure"] and access["samesite"] == "Lax"
    assert access["path"] == "/" and access["max-age"] == "300" and not access["domain"]
    refresh, _ = cookies["web_refresh"]
    assert refresh["httponly"] and refresh["secure"] and refresh["samesite"] == "Lax"
    assert refresh["path"] == "/auth" and refresh["max-age"] == "3600"  # the refresh route's parent
    csrf, csrf_header = cookies["web_csrf"]
    assert not csrf["httponly"] and "HttpOnly" not in csrf_header
    assert csrf["secure"] and csrf["path"] == "/" and csrf["max-age"] == "3600"
    claims = jwt.decode(access.value, HS256_SECRET, algorithms=["HS256"], options={"verify_exp": False,
                                                                                   "verify_iat": False})
    assert claims["csrf"] == csrf.value and "HttpOnly" in access_header


def test_header_and_cookie_location_gives_both(app: TestApp) -> None:
    res = app.post("/other/token")
    assert res.json["access_token"] and set(set_cookies(res)) == {"other_access", "other_csrf"}


def test_cookie_attributes_follow_the_settings(clock: Clock) -> None:
    app = TestApp(cookie_app.make_app(clock, cookie_secure=False, cookie_samesite="Strict",
                                      cookie_domain="example.com", cookie_path="/app",
                                      access_cookie="a", refresh_cookie="r", csrf_cookie="c"))
    cookies = set_cookies(app.post("/token"))
    assert set(cookies) == {"a", "r", "c"}
    morsel = cookies["a"][0]
    assert not morsel["secure"] and morsel["samesite"] == "Strict"
    assert morsel["domain"] in ("example.com", ".example.com") and morsel["path"] == "/app"
    assert cookies["r"][0]["path"] == "/auth"



@pytest.mark.parametrize("prefix", ["/api", "api", "/api/"])
def test_the_refresh_cookie_path_under_a_route_prefix(clock: Clock, prefix: str) -> None:
    """The refresh route under config.route_prefix_context: the cookie's Path is that route's
    parent with its leading "/" (Pyramid keeps "/api" as "api"; RFC 6265 ignores a Path without
    it, and the browser would then pick a path of its own)."""
    web = {k: v for k, v in cookie_app.WEB.items() if k not in ("refresh_route", "logout_route")}
    with Configurator(root_factory=cookie_app.Root) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("web", **web, clock=clock)
        config.set_jwt_security_policy("web")
        with config.route_prefix_context(prefix):
            config.add_jwt_refresh_view("/refresh", "web")
    app = TestApp(config.make_wsgi_app(), extra_environ=HTTPS)
    refresh, _ = set_cookies(app.post("/token", {"user": "alice"}))["web_refresh"]
    assert refresh["path"] == "/api"
    res = app.post("/api/refresh", {"grant_type": "refresh_token"}, headers={"X-CSRF-Token": csrf_of(app)})
    assert res.json["token_type"] == "Bearer"  # the browser sent the cookie to its route

# -- the policy reads the cookie; CSRF for state changes ------------------------------------------------


def test_a_protected_get_with_the_cookie(app: TestApp) -> None:
    app.post("/token", {"user": "alice"})
    assert app.get("/me").json == {"sub": "alice", "via": "web"}


def test_a_post_needs_the_tokens_csrf_value(app: TestApp) -> None:
    app.post("/token", {"user": "alice"})
    res = app.post("/notes", {"text": "no header"}, status=403)
    assert res.json["error"] == "invalid_csrf_token" and "X-CSRF-Token" in res.json["error_description"]
    app.post("/notes", {"text": "wrong"}, headers={"X-CSRF-Token": "guess"}, status=403)
    assert cookie_app.NOTES == []  # the view never ran
    res = app.post("/notes", {"text": "right"}, headers={"X-CSRF-Token": csrf_of(app)})
    assert res.json == {"notes": 1}


def test_a_post_from_another_origin_is_refused_even_with_the_value(app: TestApp) -> None:
    app.post("/token", {"user": "alice"})
    headers = {"X-CSRF-Token": csrf_of(app), "Origin": "https://evil.example"}
    assert app.post("/notes", headers=headers, status=403).json["error"] == "cross_site_request"
    app.post("/notes", headers={"X-CSRF-Token": csrf_of(app)}, extra_environ={"HTTP_ORIGIN": ""},
             status=403)  # no Origin and no Referer over HTTPS: refused, as Pyramid does


def test_views_without_permission_are_checked_too_and_require_csrf_false_opts_out(app: TestApp) -> None:
    app.post("/token", {"user": "alice"})
    app.post("/open", status=403)
    assert app.post("/open", headers={"X-CSRF-Token": csrf_of(app)}).json == {"user": "alice"}
    assert app.post("/exempt").json == {"user": "alice"}


def test_a_header_token_needs_no_csrf_value(app: TestApp) -> None:
    token = get_jwt_runtime(app.app.registry, "other").issuer.issue({"sub": "bob"}).token  # type: ignore[union-attr]
    app.reset()
    assert app.post("/notes", headers={"Authorization": f"Bearer {token}"}).json == {"notes": 1}


def test_a_request_with_both_is_decided_by_the_header(app: TestApp) -> None:
    app.post("/token", {"user": "alice"})  # a valid cookie ...
    app.get("/me", headers={"Authorization": "Bearer not.a.token"}, status=401)  # ... and a bad header
    token = get_jwt_runtime(app.app.registry, "other").issuer.issue({"sub": "bob"}).token  # type: ignore[union-attr]
    assert app.get("/me", headers={"Authorization": f"Bearer {token}"}).json["sub"] == "bob"


def test_a_cookie_only_configs_token_is_refused_in_the_header(app: TestApp) -> None:
    token = get_jwt_runtime(app.app.registry, "web").issuer.issue({"sub": "alice"}).token  # type: ignore[union-attr]
    app.get("/me", headers={"Authorization": f"Bearer {token}"}, status=401)


def test_the_csrf_check_covers_the_pyramid_csrf_api(app: TestApp) -> None:
    """get_csrf_token/check_csrf_token answer with the token's value for a cookie request."""
    from pyramid.request import Request

    app.post("/token", {"user": "alice"})
    request = Request.blank("/me", environ=dict(HTTPS), headers={
        "Cookie": f"web_access={app.cookies['web_access']}", "X-CSRF-Token": csrf_of(app)})
    request.registry = app.app.registry
    assert get_csrf_token(request) == csrf_of(app)
    assert check_csrf_token(request, raises=False)
    request.headers["X-CSRF-Token"] = "guess"
    assert not check_csrf_token(request, raises=False)


# -- refresh through the cookie ---------------------------------------------------------------------------


def test_refresh_takes_the_refresh_cookie_and_needs_csrf(app: TestApp, clock: Clock) -> None:
    app.post("/token", {"user": "alice"})
    old_csrf = csrf_of(app)
    clock.advance(301)  # the access token expired
    app.get("/me", status=401)
    res = app.post("/auth/refresh", {"grant_type": "refresh_token"}, status=403)
    assert res.json["error"] == "invalid_csrf_token"
    res = app.post("/auth/refresh", {"grant_type": "refresh_token"}, headers={"X-CSRF-Token": old_csrf})
    assert "access_token" not in res.json and set(set_cookies(res)) == {"web_access", "web_refresh", "web_csrf"}
    assert csrf_of(app) != old_csrf  # a new pair, a new CSRF value
    assert app.get("/me").json["sub"] == "alice"


# -- remember and forget ------------------------------------------------------------------------------------


def test_remember_and_forget_the_pyramid_way(app: TestApp) -> None:
    res = app.post("/login", {"user": "carol"})
    assert set(set_cookies(res)) == {"web_access", "web_refresh", "web_csrf"}
    assert app.get("/me").json == {"sub": "carol", "via": "web"}
    access = app.cookies["web_access"]
    app.post("/logout", status=403)  # a state change: it needs the CSRF value too
    res = app.post("/logout", headers={"X-CSRF-Token": csrf_of(app)})
    cleared = set_cookies(res)
    assert set(cleared) == {"web_access", "web_refresh", "web_csrf"}
    assert all(m["max-age"] == "0" for m, _ in cleared.values())
    assert cleared["web_refresh"][0]["path"] == "/auth"
    assert "web_access" not in app.cookies
    # the token itself is refused now (revoked), even if a copy of the cookie survived
    app.get("/me", headers={"Cookie": f"web_access={access}"}, status=401)


def test_remember_for_bearer_configs_is_empty(clock: Clock) -> None:
    from pyramid.security import remember
    from pyramid.testing import DummyRequest

    with Configurator() as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("api", algorithm="HS256", secret=HS256_SECRET, expires_in=60)
        config.set_jwt_security_policy("api")
    request = DummyRequest()
    request.registry = config.registry
    assert remember(request, "alice") == []


def test_remember_places_the_userid_under_claims_key(clock: Clock) -> None:
    app = TestApp(cookie_app.make_app(clock, claims_key="data", userid_claim="data.name",
                                      payload=lambda r: {"name": "x"}), extra_environ=HTTPS)
    app.post("/login", {"user": "dora"})
    assert app.get("/me").json["sub"] == "dora"


# -- settings ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "key"), [
    ({"access_cookie": "a"}, "jwt.c.access_cookie"),
    ({"cookie_secure": False}, "jwt.c.cookie_secure"),
    ({"token_location": "cookie", "cookie_samesite": "None", "cookie_secure": False}, "jwt.c.cookie_samesite"),
    ({"token_location": "cookie", "cookie_samesite": "lax"}, "jwt.c.cookie_samesite"),
    ({"token_location": "bearer"}, "jwt.c.token_location"),
    ({"token_location": "cookie cookie"}, "jwt.c.token_location"),
    ({"token_location": "cookie", "access_cookie": "x", "csrf_cookie": "x"}, "jwt.c.access_cookie"),
    ({"token_location": "cookie", "access_cookie": "bad name"}, "jwt.c.access_cookie"),
])
def test_cookie_settings_mistakes(raw: dict[str, Any], key: str) -> None:
    def start() -> None:
        with Configurator() as config:
            config.include("pyramid_jwtnode")
            config.add_jwt_config("c", algorithm="HS256", secret=HS256_SECRET, expires_in=60, **raw)

    raises_config_error(start, key)


def test_session_csrf_keeps_working_beside_cookie_tokens(clock: Clock) -> None:
    """require_csrf=True on a session-based view still checks the session's CSRF token."""
    with Configurator(root_factory=cookie_app.Root) as config:
        config.include("pyramid_jwtnode")
        config.set_session_factory(SignedCookieSessionFactory("s" * 40))
        config.add_jwt_config("web", clock=clock, **cookie_app.WEB)
        config.set_jwt_security_policy("web")
        config.add_route("form", "/form")
        config.add_view(lambda r: {"csrf": get_csrf_token(r)}, route_name="form", request_method="GET",
                        renderer="json")
        config.add_view(lambda r: {"ok": True}, route_name="form", request_method="POST",
                        renderer="json", require_csrf=True)
    app = TestApp(config.make_wsgi_app())
    token = app.get("/form").json["csrf"]
    app.post("/form", {"csrf_token": "wrong"}, status=400)  # Pyramid's own answer for a session
    assert app.post("/form", {"csrf_token": token}).json == {"ok": True}


def test_require_csrf_everywhere_leaves_the_token_route_to_its_own_checks(clock: Clock) -> None:
    """docs/browser-clients.rst: with require_csrf=True, Pyramid checks the app's views but not
    the add-on's routes, which guard themselves; a token route declared with
    require_csrf=True gets Pyramid's check (and then needs a session's CSRF token)."""
    with Configurator() as config:
        config.include("pyramid_jwtnode")
        config.set_session_factory(SignedCookieSessionFactory("s" * 40))
        config.set_default_csrf_options(require_csrf=True)
        config.add_jwt_config("api", algorithm="HS256", secret=HS256_SECRET, expires_in=60, clock=clock)
        config.add_jwt_token_view("/login", "api", payload=lambda r: {"sub": "alice"},
                                  require_csrf=True)
        config.add_jwt_token_view("/api/token", "api", payload=lambda r: {"sub": "alice"})
    app = TestApp(config.make_wsgi_app())
    assert app.post("/login", expect_errors=True).status_int == 400  # Pyramid's BadCSRFToken
    assert app.post("/api/token").json["token_type"] == "Bearer"
