"""Issue 20, items 2, 3 and 13, and one user id per config: logout that always ends the
refresh family, no login CSRF through the token and refresh routes, ``__Host-`` cookies.

Each test is named after the case; each failed on the code before the fix.
"""

from __future__ import annotations

from typing import Any

import pytest
from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.session import SignedCookieSessionFactory
from webtest import TestApp

from pyramid_jwtnode import GrantError, get_jwt_runtime

from .. import cookie_app
from ..conftest import HS256_SECRET, NOW, Clock
from ..helpers import raises_config_error

ORIGIN = "https://app.example"
HTTPS = {"wsgi.url_scheme": "https", "HTTP_HOST": "app.example", "HTTP_ORIGIN": ORIGIN}
EVIL = "https://evil.example"


def csrf_of(app: TestApp) -> str:
    return str(app.cookies["web_csrf"])


def set_cookie_names(res: Any) -> set[str]:
    return {header.split("=", 1)[0] for header in res.headers.getall("Set-Cookie")}


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def app(clock: Clock) -> TestApp:
    cookie_app.NOTES.clear()
    return TestApp(cookie_app.make_app(clock), extra_environ=HTTPS)


def refresh(app: TestApp, status: int | str = "*", **kw: Any) -> Any:
    return app.post("/auth/refresh", {"grant_type": "refresh_token"},
                    headers={"X-CSRF-Token": csrf_of(app)}, status=status, **kw)


# -- 2. logout ends the family whatever state the access token is in ----------------------------


def ended(app: TestApp, refresh_token: str) -> bool:
    """True when ``refresh_token`` refreshes nothing any more (its family has ended)."""
    web = get_jwt_runtime(app.app.registry, "web")
    assert web.revocation is not None
    try:
        web.revocation.refresh(refresh_token)
    except GrantError:
        return True
    return False


@pytest.mark.parametrize("logout", ["/auth/logout", "/auth/signout"])
def test_logout_after_access_expiry_ends_the_refresh_family(app: TestApp, clock: Clock, logout: str) -> None:
    """The add-on's logout route, and the host's own view calling forget() beside the refresh
    route: both end the family once the access token (and its cookie) has expired."""
    app.post("/token", {"user": "alice"})
    stolen_refresh = str(app.cookies["web_refresh"])
    clock.advance(301)
    app.get("/me", status=401)
    res = app.post(logout)
    assert res.status_int == 200
    assert {"web_access", "web_refresh", "web_csrf"} <= set_cookie_names(res)
    if logout == "/auth/logout":
        assert res.json == {"revoked": True}
    assert ended(app, stolen_refresh)


def test_logout_route_answers_revoked_false_when_nothing_was(app: TestApp) -> None:
    assert app.post("/auth/logout").json == {"revoked": False}


def test_logout_route_outside_the_refresh_cookie_path_stops_start_up(clock: Clock) -> None:
    message = raises_config_error(lambda: cookie_app.make_app(clock, logout_route="/logout-here"),
                                  "logout")
    assert "/auth/logout" in message


def test_logout_with_a_live_access_token_still_ends_the_family(app: TestApp) -> None:
    app.post("/token", {"user": "alice"})
    stolen = str(app.cookies["web_refresh"])
    assert app.post("/auth/logout").json == {"revoked": True}
    assert ended(app, stolen)


def test_revoke_jwt_says_whether_anything_was_revoked(app: TestApp, clock: Clock) -> None:
    """The demo's logout answers with request.revoke_jwt(): never "revoked" when nothing was."""
    from example_app import main

    demo = TestApp(main({}, **{**_demo_settings(), "jwt.clock": clock}),
                   extra_environ={"HTTP_ORIGIN": "http://localhost"})
    assert demo.post("/demo/logout").json == {"signed_out": True, "revoked": False}
    demo.post("/demo/login", {"username": "ada", "password": "lovelace"})
    clock.advance(301)
    assert demo.post("/demo/logout").json == {"signed_out": True, "revoked": True}
    assert demo.post("/demo/logout").json == {"signed_out": True, "revoked": False}


def _demo_settings() -> dict[str, Any]:
    from pathlib import Path

    from pyramid.paster import get_appsettings

    ini = Path(__file__).resolve().parent.parent.parent / "example_app" / "development.ini"
    return dict(get_appsettings(str(ini)))


def test_the_refresh_cookie_reaches_a_logout_view_beside_the_refresh_route(app: TestApp) -> None:
    res = app.post("/token", {"user": "alice"})
    refresh_cookie = next(h for h in res.headers.getall("Set-Cookie") if h.startswith("web_refresh="))
    assert "Path=/auth;" in refresh_cookie


def test_refresh_cookie_path_the_refresh_route_is_not_under_stops_start_up(clock: Clock) -> None:
    message = raises_config_error(lambda: cookie_app.make_app(clock, refresh_cookie_path="/account"),
                                  "jwt.web.refresh_cookie_path")
    assert "e.g. /auth" in message


# -- 3. no login CSRF through the token and refresh routes ---------------------------------------


def test_login_csrf_cross_site_form_post_to_the_token_route_is_refused(app: TestApp) -> None:
    res = app.post("/token", {"user": "mallory"}, headers={"Origin": EVIL}, status=403)
    assert res.json["error"] == "cross_site_request"
    assert not res.headers.getall("Set-Cookie")  # nobody was logged in
    for headers in ({"Origin": "null"},
                    {"Origin": "", "Sec-Fetch-Site": "cross-site"},
                    {"Origin": "", "Sec-Fetch-Site": "same-site"},
                    {"Origin": "", "Referer": f"{EVIL}/login.html"},
                    {"Origin": "http://app.example"}):  # the same host, but not over HTTPS
        res = app.post("/token", {"user": "mallory"}, headers=headers, status=403)
        assert not res.headers.getall("Set-Cookie"), headers


def test_login_from_the_apps_own_pages_and_from_non_browsers_works(app: TestApp) -> None:
    for headers in ({"Origin": ORIGIN}, {"Origin": "https://APP.example:443"},
                    {"Origin": "", "Sec-Fetch-Site": "same-origin"},
                    {"Origin": "", "Referer": f"{ORIGIN}/login"}, {"Origin": ""}):
        res = app.post("/token", {"user": "alice"}, headers=headers)
        assert "web_access" in set_cookie_names(res), headers
        app.reset()


def test_trusted_origins_lets_another_site_of_the_app_sign_in(clock: Clock) -> None:
    app = TestApp(cookie_app.make_app(clock, trusted_origins="https://login.example:8443"),
                  extra_environ=HTTPS)
    app.post("/token", {"user": "alice"}, headers={"Origin": "https://login.example:8443"})
    app.post("/token", {"user": "alice"}, headers={"Origin": "https://login.example"}, status=403)


def test_trusted_origins_must_be_origins(clock: Clock) -> None:
    message = raises_config_error(lambda: cookie_app.make_app(clock, trusted_origins="app.example"),
                                  "jwt.web.trusted_origins")
    assert "scheme://host" in message


def test_login_csrf_cross_site_get_to_a_cookie_mode_token_route_is_refused(clock: Clock) -> None:
    """The recipe's GET token route in cookie mode: an <img> on another site would log in."""
    app = TestApp(cookie_app.make_app(clock, token_route_method="GET"), extra_environ=HTTPS)
    res = app.get("/token", headers={"Origin": "", "Sec-Fetch-Site": "cross-site"}, status=403)
    assert not res.headers.getall("Set-Cookie")
    assert "web_access" in set_cookie_names(app.get("/token", headers={"Sec-Fetch-Site": "same-origin"}))


def test_login_csrf_cross_site_post_of_a_refresh_token_to_the_refresh_route_is_refused(
        app: TestApp) -> None:
    attacker = TestApp(app.app, extra_environ=HTTPS)
    attacker.post("/token", {"user": "mallory"})
    malloryss_refresh = str(attacker.cookies["web_refresh"])
    # another site's page posts the attacker's refresh token in a form
    res = app.post("/auth/refresh", {"grant_type": "refresh_token", "refresh_token": malloryss_refresh},
                   headers={"Origin": EVIL}, status=403)
    assert res.json["error"] == "cross_site_request" and not res.headers.getall("Set-Cookie")
    # and even from the app's own origin: this config's refresh tokens live only in cookies
    res = app.post("/auth/refresh", {"grant_type": "refresh_token", "refresh_token": malloryss_refresh},
                   status=400)
    assert res.json["error"] == "invalid_request" and not res.headers.getall("Set-Cookie")


def test_a_header_and_cookie_config_takes_form_refresh_tokens_from_non_browsers(clock: Clock) -> None:
    app = TestApp(cookie_app.make_app(clock, token_location="header cookie"), extra_environ=HTTPS)
    pair = app.post("/token", {"user": "alice"}).json
    bearer_client = TestApp(app.app, extra_environ={"wsgi.url_scheme": "https", "HTTP_HOST": "app.example"})
    res = bearer_client.post("/auth/refresh", {"grant_type": "refresh_token",
                                                "refresh_token": pair["refresh_token"]})
    assert res.json["token_type"] == "Bearer"
    bearer_client.post("/auth/refresh", {"grant_type": "refresh_token", "refresh_token": res.json["refresh_token"]},
                       headers={"Origin": EVIL}, status=403)


def test_cross_site_logout_cannot_clear_the_victims_refresh_cookie(app: TestApp, clock: Clock) -> None:
    app.post("/token", {"user": "alice"})
    clock.advance(301)  # access cookie gone: no cookie authenticates, the refresh cookie is there
    for logout in ("/auth/logout", "/auth/signout"):
        res = app.post(logout, headers={"Origin": EVIL}, status=403)
        assert res.json["error"] == "cross_site_request" and not res.headers.getall("Set-Cookie")
    assert refresh(app).status_int == 200  # the family lives on


def test_require_csrf_everywhere_keeps_cookie_refresh_after_expiry_working(clock: Clock) -> None:
    """The documented interplay: require_csrf=True for every view leaves the add-on's routes to
    their own checks, so signing in and refreshing after the access token expired still work,
    while the app's own views get Pyramid's check (through the add-on's storage policy)."""
    with Configurator(root_factory=cookie_app.Root) as config:
        config.include("pyramid_jwtnode")
        config.set_session_factory(SignedCookieSessionFactory("s" * 40))
        config.set_default_csrf_options(require_csrf=True)
        config.add_jwt_config("web", **cookie_app.WEB, clock=clock)
        config.set_jwt_security_policy("web")
        config.add_route("notes", "/notes")
        config.add_view(lambda r: {"ok": True}, route_name="notes", request_method="POST",
                        permission="write", renderer="json")
    app = TestApp(config.make_wsgi_app(), extra_environ=HTTPS)
    app.post("/token", {"user": "alice"})
    assert app.post("/notes", expect_errors=True).status_int == 403  # no CSRF value: refused
    assert app.post("/notes", headers={"X-CSRF-Token": csrf_of(app)}).json == {"ok": True}
    clock.advance(301)
    assert refresh(app).status_int == 200
    assert app.post("/notes", headers={"X-CSRF-Token": csrf_of(app)}).json == {"ok": True}
    app.post("/token", {"user": "mallory"}, headers={"Origin": EVIL}, status=403)


# -- 13. __Host- cookies --------------------------------------------------------------------------


def test_host_prefixed_cookie_names_work(clock: Clock) -> None:
    app = TestApp(cookie_app.make_app(clock, access_cookie="__Host-access", csrf_cookie="__Host-csrf",
                                      refresh_cookie="__Host-refresh", refresh_cookie_path="/"),
                  extra_environ=HTTPS)
    res = app.post("/token", {"user": "alice"})
    cookies = res.headers.getall("Set-Cookie")
    for name in ("__Host-access", "__Host-csrf", "__Host-refresh"):
        header = next(h for h in cookies if h.startswith(name + "="))
        assert "Path=/;" in header and "secure" in header.lower() and "domain" not in header.lower()
    assert app.get("/me").json["sub"] == "alice"


@pytest.mark.parametrize(("settings", "key"), [
    ({"refresh_cookie": "__Host-refresh"}, "jwt.web.refresh_cookie"),  # Path=/auth
    ({"access_cookie": "__Host-access", "cookie_domain": "example.com"}, "jwt.web.access_cookie"),
    ({"csrf_cookie": "__Host-csrf", "cookie_secure": "false"}, "jwt.web.csrf_cookie"),
    ({"access_cookie": "__Host-access", "cookie_path": "/app"}, "jwt.web.access_cookie"),
    ({"access_cookie": "__Secure-access", "cookie_secure": "false"}, "jwt.web.access_cookie"),
])
def test_a_host_prefixed_cookie_browsers_would_drop_stops_start_up(clock: Clock, settings: dict[str, str],
                                                                   key: str) -> None:
    message = raises_config_error(lambda: cookie_app.make_app(clock, **settings), key)
    assert "browsers drop" in message


# -- one user id per config ----------------------------------------------------------------------


class Root:
    __acl__ = [(Allow, Authenticated, "read"), (Allow, "staff:alice", "admin")]

    def __init__(self, request: Any) -> None:
        pass


def test_userid_prefix_keeps_two_configs_users_of_one_name_apart() -> None:
    with Configurator(root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("staff", algorithm="HS256", secret=HS256_SECRET, expires_in=60, kid="s",
                              userid_prefix="staff:")
        config.add_jwt_config("idp", algorithm="HS256", secret="i" * 40, expires_in=60, kid="i",
                              userid_prefix="idp:")
        config.set_jwt_security_policy("staff", "idp")
        config.add_route("me", "/me")
        config.add_view(lambda r: {"user": r.authenticated_userid}, route_name="me", permission="read",
                        renderer="json")
        config.add_route("admin", "/admin")
        config.add_view(lambda r: {"ok": True}, route_name="admin", permission="admin", renderer="json")
    app = TestApp(config.make_wsgi_app())
    tokens = {name: get_jwt_runtime(app.app.registry, name).issuer.issue({"sub": "alice"}).token  # type: ignore[union-attr]
              for name in ("staff", "idp")}
    assert app.get("/me", headers={"Authorization": f"Bearer {tokens['staff']}"}).json == {"user": "staff:alice"}
    assert app.get("/me", headers={"Authorization": f"Bearer {tokens['idp']}"}).json == {"user": "idp:alice"}
    app.get("/admin", headers={"Authorization": f"Bearer {tokens['staff']}"}, status=200)
    app.get("/admin", headers={"Authorization": f"Bearer {tokens['idp']}"}, status=403)


def test_userid_prefix_from_ini_settings() -> None:
    settings = {"jwt.configs": "staff", "jwt.staff.algorithm": "HS256", "jwt.staff.secret": HS256_SECRET,
                "jwt.staff.expires_in": "60", "jwt.staff.userid_prefix": "staff:"}
    with Configurator(settings=settings) as config:
        config.include("pyramid_jwtnode")
    assert get_jwt_runtime(config.registry, "staff").config.userid_prefix == "staff:"
    with pytest.raises(ConfigurationError, match="jwt.staff.userid_prefix"):
        with Configurator(settings={**settings, "jwt.staff.userid_prefix": "a b"}) as config:
            config.include("pyramid_jwtnode")


def test_behind_a_tls_proxy_trusted_origins_names_the_public_origin(clock: Clock) -> None:
    """docs: behind a proxy that terminates TLS the app sees http while browsers send an https
    Origin; the sign-in is refused unless trusted_origins lists the public origin."""
    behind = {"wsgi.url_scheme": "http", "HTTP_HOST": "app.example", "HTTP_ORIGIN": "https://app.example"}
    TestApp(cookie_app.make_app(clock, cookie_secure=False), extra_environ=behind).post(
        "/token", {"user": "alice"}, status=403)
    app = TestApp(cookie_app.make_app(clock, cookie_secure=False, trusted_origins="https://app.example"),
                  extra_environ=behind)
    assert "web_access" in set_cookie_names(app.post("/token", {"user": "alice"}))
