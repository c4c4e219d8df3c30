"""The debug toolbar panel, through pyramid_debugtoolbar's own machinery: the toolbar's tween
records each request, its ``/_debug_toolbar/`` pages render the panel, and what they show is
what the policy decided (and never a token's signature)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.paster import get_appsettings
from webtest import TestApp

from pyramid_jwtnode import get_jwt_runtime
from pyramid_jwtnode.tools.debugtoolbar import JWTDebugPanel, report

from .conftest import HS256_SECRET, NOW, Clock

pytest.importorskip("pyramid_debugtoolbar")

EXAMPLE = Path(__file__).resolve().parent.parent / "example_app"
LOCAL = {"REMOTE_ADDR": "127.0.0.1"}  # the toolbar shows itself to local clients only
OTHER_SECRET = "another-secret-that-is-at-least-32-bytes-long"


class Root:
    __acl__ = [(Allow, "admin", "write"), (Allow, Authenticated, "read")]

    def __init__(self, request: Any) -> None:
        pass


def make_app(clock: Clock, **extra: str) -> TestApp:
    settings = {
        "jwt.clock": clock,
        "jwt.configs": "api web",
        "jwt.api.algorithm": "HS256", "jwt.api.secret": HS256_SECRET, "jwt.api.expires_in": "600",
        "jwt.api.principals_claim": "roles", "jwt.api.query_token": "true", "jwt.api.revocation_store": "memory",
        "jwt.web.algorithm": "HS256", "jwt.web.secret": OTHER_SECRET, "jwt.web.kid": "web-1",
        "jwt.web.expires_in": "300", "jwt.web.token_location": "cookie", "jwt.web.cookie_secure": "false",
        "jwt.security_policy": "api web",
        "debugtoolbar.includes": "pyramid_jwtnode.tools.debugtoolbar",
        "debugtoolbar.intercept_exc": "false",
        **extra,
    }
    with Configurator(settings=settings, root_factory=Root) as config:
        config.include("pyramid_debugtoolbar")
        config.include("pyramid_jwtnode")
        for name, permission in (("read", "read"), ("write", "write"), ("open", None)):
            config.add_route(name, f"/{name}")
            config.add_view(lambda request: {"ok": True}, route_name=name, renderer="json", permission=permission)
        config.add_route("logout", "/logout")
        config.add_view(lambda request: {"revoked": request.revoke_jwt()}, route_name="logout", renderer="json",
                        permission="read", request_method="POST")
    return TestApp(config.make_wsgi_app(), extra_environ=LOCAL)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def app(clock: Clock) -> TestApp:
    return make_app(clock)


def token(app: TestApp, config: str = "api", **payload: Any) -> str:
    registry = app.app.registry
    return get_jwt_runtime(registry, config).issuer.issue(payload or {"sub": "ann", "roles": ["reader"]}).token


def panel_of(app: TestApp) -> tuple[str, JWTDebugPanel]:
    """The panel's HTML on the toolbar's page of the last request, and the panel object."""
    history = app.app.registry.pdtb_history
    request_id, toolbar = history.last(1)[0]
    page = app.get(f"/_debug_toolbar/{request_id}").text
    panel = next(p for p in toolbar.panels if p.name == "jwt")
    start = page.index('id="pDebugPanel-jwt-content"')
    end = page.find('class="panelContent"', start + 40)  # the next panel's (its own panels show headers)
    return page[start:end if end > 0 else None], panel


def text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


# -- what a request shows ----------------------------------------------------------------------


def test_an_accepted_header_token_shows_config_user_principals_claims_and_the_acl_entry(app: TestApp) -> None:
    bearer = token(app)
    app.get("/read", headers={"Authorization": f"Bearer {bearer}"}, status=200)
    html, panel = panel_of(app)
    shown = text(html)
    assert panel.nav_subtitle == "accepted"
    assert "Policy of api, web" in shown
    assert "Outcome accepted" in shown
    assert "Token from Authorization header" in shown
    assert "Config api" in shown
    assert "User id ann" in shown
    assert "system.Everyone, system.Authenticated, ann, reader, jwt-config:api" in shown
    assert "read allowed (Allow, system.Authenticated, read) Root" in shown
    assert '"sub": "ann"' in unescape(html) and "the signature matched the config's key" in shown
    assert "[pass] " not in shown and "signature pass" in shown
    assert bearer.rpartition(".")[2] not in html  # the signature, never
    assert f"masked ({len(bearer.rpartition('.')[2])} characters)" in shown


def test_a_denied_permission_names_the_default_deny(app: TestApp) -> None:
    app.get("/write", headers={"Authorization": f"Bearer {token(app)}"}, status=403)
    shown = text(panel_of(app)[0])
    assert "write denied <default deny> Root" in shown


def test_an_expired_token_shows_the_reason_the_failed_check_and_the_fix(app: TestApp, clock: Clock) -> None:
    bearer = token(app)
    clock.advance(3 * 3600)
    app.get("/read", headers={"Authorization": f"Bearer {bearer}"}, status=401)
    html, panel = panel_of(app)
    shown = text(html)
    assert panel.nav_subtitle == "refused: expired"
    assert "Outcome refused ( expired )" in shown
    assert "mint a new one, or raise expires_in" in shown and "is 2 h past" in shown
    assert "exp, nbf, iat, iss, aud FAIL expired" in shown
    assert "signature pass" in shown
    assert bearer.rpartition(".")[2] not in html


def test_a_token_of_another_key_shows_its_claims_as_not_verified(app: TestApp) -> None:
    import jwt

    forged = jwt.encode({"sub": "mallory", "exp": NOW + 60}, "x" * 40, algorithm="HS256")
    app.get("/read", headers={"Authorization": f"Bearer {forged}"}, status=401)
    html, _ = panel_of(app)
    shown = text(html)
    assert "Outcome refused ( bad_signature )" in shown and "signature FAIL" in shown
    assert "not verified" in shown and '"sub": "mallory"' in unescape(html)
    assert forged.rpartition(".")[2] not in html


def test_a_cookie_token_names_the_cookie_and_how_its_config_was_chosen(app: TestApp) -> None:
    app.set_cookie("web_access", token(app, "web", sub="bea"))
    app.get("/read", status=200)
    shown = text(panel_of(app)[0])
    assert "Token from cookie web_access (config web)" in shown
    assert "Config web — the cookie's name says whose token it is" in shown
    assert "User id bea" in shown


def test_a_query_token_and_a_malformed_header_and_no_token(app: TestApp) -> None:
    app.get("/read", params={"access_token": token(app)}, status=200)
    assert "Token from access_token query parameter" in text(panel_of(app)[0])
    app.get("/read", headers={"Authorization": "Bearer a b"}, status=400)
    html, panel = panel_of(app)
    assert panel.nav_subtitle == "malformed: several_tokens" and "Outcome malformed" in text(html)
    app.get("/read", status=401)
    html, panel = panel_of(app)
    assert panel.nav_subtitle == "no token"
    assert "Token from nowhere" in text(html)


def test_a_view_without_a_permission_says_nothing_asked_and_what_the_policy_would_decide(app: TestApp) -> None:
    app.get("/open", headers={"Authorization": f"Bearer {token(app)}"}, status=200)
    html, panel = panel_of(app)
    assert panel.nav_subtitle == "not checked"
    shown = text(html)
    assert "nothing asked the policy who made this request" in shown and "it would be accepted" in shown


def test_a_kid_chooses_the_config_whose_refusal_the_panel_shows(app: TestApp) -> None:
    """The cookie config's token sent in a header: its kid chooses it, and it refuses headers."""
    app.get("/read", headers={"Authorization": f"Bearer {token(app, 'web', sub='cy')}"}, status=401)
    shown = text(panel_of(app)[0])
    assert "Config web — chosen by kid 'web-1'" in shown
    assert "Outcome refused ( header_not_allowed )" in shown


def test_the_escaping_of_claims_and_header_values(app: TestApp) -> None:
    bearer = token(app, sub="<script>alert(1)</script>")
    app.get("/read", headers={"Authorization": f"Bearer {bearer}"}, status=200)
    html, _ = panel_of(app)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=12,
               max_size=60))
def test_no_signature_ever_reaches_the_panel(app: TestApp, signature: str) -> None:
    """Whatever a token's signature is, the panel never holds it, checked or not."""
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()).rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps({"sub": "z"}).encode()).rstrip(b"=").decode()
    app.get("/read", headers={"Authorization": f"Bearer {header}.{payload}.{signature}"}, status=401)
    html, panel = panel_of(app)
    assert signature not in html
    assert all(signature not in json.dumps(vars(r), default=str) for r in panel.reports)


# -- wiring ------------------------------------------------------------------------------------------


def test_including_the_panel_in_the_app_itself_says_where_it_belongs() -> None:
    with pytest.raises(ConfigurationError, match="debugtoolbar.includes = pyramid_jwtnode.tools.debugtoolbar"):
        with Configurator() as config:
            config.include("pyramid_jwtnode.tools.debugtoolbar")


def test_without_a_policy_the_panel_says_how_to_set_one(clock: Clock) -> None:
    with Configurator(settings={"jwt.configs": "api", "jwt.api.algorithm": "HS256", "jwt.api.secret": HS256_SECRET,
                                "jwt.api.expires_in": "60",
                                "debugtoolbar.includes": "pyramid_jwtnode.tools.debugtoolbar"}) as config:
        config.include("pyramid_debugtoolbar")
        config.include("pyramid_jwtnode")
        config.add_route("r", "/r")
        config.add_view(lambda request: {}, route_name="r", renderer="json")
    app = TestApp(config.make_wsgi_app(), extra_environ=LOCAL)
    app.get("/r")
    assert "No jwt security policy: set jwt.security_policy" in text(panel_of(app)[0])


def test_the_panel_drops_the_request_once_it_has_read_it(app: TestApp) -> None:
    app.get("/read", headers={"Authorization": f"Bearer {token(app)}"})
    _, panel = panel_of(app)
    assert panel._request is None and panel._decisions == []


def test_report_is_a_plain_function_of_request_and_policy(app: TestApp) -> None:
    from pyramid.request import Request
    from pyramid.scripting import prepare

    from pyramid_jwtnode.integration.request import policies_of

    env = prepare(registry=app.app.registry, request=Request.blank("/", headers={"Authorization": "Bearer x.y"}))
    try:
        found = report(env["request"], policies_of(env["request"])[0])
    finally:
        env["closer"]()
    assert found.outcome == "not checked" and found.would == "refused (segments)"


# -- the example app ---------------------------------------------------------------------------


@pytest.fixture
def example() -> Iterator[TestApp]:
    from example_app import main

    settings = get_appsettings(str(EXAMPLE / "development.ini"))
    yield TestApp(main({}, **settings), extra_environ=LOCAL)


def test_the_example_apps_development_ini_has_the_toolbar_with_the_panel(example: TestApp) -> None:
    issued = example.get("/jwt/generate").json["access_token"]
    example.get("/jwt/verify", headers={"Authorization": f"Bearer {issued}"}, status=200)
    html, panel = panel_of(example)
    shown = text(html)
    # the app's policy was not asked; the verify route checked the token itself
    assert "Policy of igniteadmin, browser" in shown and "it would be accepted" in shown
    assert "Route check of igniteadmin" in shown and "Outcome accepted" in shown
    assert panel.nav_subtitle == "accepted"
    assert issued.rpartition(".")[2] not in html


def test_a_form_login_read_by_the_toolbar_still_signs_in(example: TestApp) -> None:
    """The toolbar reads each request's form before the app: the demo's login still gets it."""
    example.post("/demo/login", {"username": "ada", "password": "lovelace"},
                 headers={"Origin": "http://localhost"}, status=200)
    assert "browser_access" in example.cookies


def test_a_panel_that_cannot_explain_never_breaks_the_apps_answer(
        app: TestApp, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from pyramid_jwtnode.tools import debugtoolbar

    def broken(*args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(debugtoolbar, "explain", broken)
    with caplog.at_level("ERROR", logger="pyramid_jwtnode.tools.debugtoolbar"):
        assert app.get("/read", headers={"Authorization": f"Bearer {token(app)}"}, status=200).json == {"ok": True}
    html, panel = panel_of(app)
    assert panel.nav_subtitle == "panel error: RuntimeError" and "Outcome panel error" in text(html)
    assert "could not explain a request" in caplog.text


def test_explaining_counts_no_metrics(clock: Clock) -> None:
    """The panel checks a token again to explain it: that check is not counted."""
    app = make_app(clock, **{"jwt.metrics_route": "/metrics"})
    app.get("/open", headers={"Authorization": f"Bearer {token(app)}"}, status=200)  # explained, not checked
    assert panel_of(app)[1].nav_subtitle == "not checked"
    app.get("/read", headers={"Authorization": f"Bearer {token(app)}"}, status=200)  # checked once, explained
    counted = [line for line in app.get("/metrics").text.splitlines()
               if line.startswith("pyramid_jwtnode_verifications_total{")]
    assert counted == ['pyramid_jwtnode_verifications_total{config="api",reason="ok",result="accepted"} 1.0']


# -- what the review of 2026-12-04 found ---------------------------------------------------------


def test_not_checked_shows_what_the_policy_itself_would_decide_for_this_request(app: TestApp) -> None:
    """The 'would' verdict is the policy's own, for this request: where the token came from
    counts (a cookie config's token in a header is refused), not only the token."""
    app.get("/open", headers={"Authorization": f"Bearer {token(app, 'web', sub='dee')}"}, status=200)
    html, panel = panel_of(app)
    shown = text(html)
    assert panel.nav_subtitle == "not checked"
    assert "it would be refused (header_not_allowed)" in shown
    assert "source FAIL Authorization header: not taken by config web" in shown
    assert "takes its tokens from its cookies only" in shown


def test_a_refusal_for_where_the_token_came_from_fails_the_source_step(app: TestApp) -> None:
    app.get("/read", headers={"Authorization": f"Bearer {token(app, 'web', sub='dee')}"}, status=401)
    shown = text(panel_of(app)[0])
    assert "Outcome refused ( header_not_allowed )" in shown and "source FAIL" in shown


def test_a_malformed_header_nothing_asked_about_is_not_checked(app: TestApp) -> None:
    app.get("/open", headers={"Authorization": "Bearer a b"}, status=200)
    html, panel = panel_of(app)
    assert panel.nav_subtitle == "not checked"
    assert "it would be malformed (several_tokens)" in text(html)


def test_a_logout_shows_accepted_then_revoked(app: TestApp) -> None:
    answer = app.post("/logout", headers={"Authorization": f"Bearer {token(app)}"}, status=200)
    assert answer.json == {"revoked": True}
    html, panel = panel_of(app)
    assert panel.nav_subtitle == "accepted, then revoked by the app (logout)"
    assert "Fix" not in text(html)


def test_a_store_that_cannot_be_reached_shows_unavailable(app: TestApp, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyramid_jwtnode import StoreUnavailableError

    store = get_jwt_runtime(app.app.registry, "api").revocation.store  # type: ignore[union-attr]

    def down(*args: Any) -> Any:
        raise StoreUnavailableError("down")

    bearer = token(app)
    monkeypatch.setattr(store, "status", down)
    app.get("/read", headers={"Authorization": f"Bearer {bearer}"}, status=503)
    html, panel = panel_of(app)
    shown = text(html)
    assert panel.nav_subtitle == "unavailable: store_unavailable"
    assert "revocation FAIL the store cannot be reached (StoreUnavailableError)" in shown
    assert "the revocation store cannot be reached" in shown


def test_a_policy_set_without_the_directives_is_the_apps_policy(clock: Clock) -> None:
    from pyramid_jwtnode import JWTSecurityPolicy

    settings = {"jwt.configs": "api", "jwt.api.algorithm": "HS256", "jwt.api.secret": HS256_SECRET,
                "jwt.api.expires_in": "60", "jwt.clock": clock,
                "debugtoolbar.includes": "pyramid_jwtnode.tools.debugtoolbar"}
    with Configurator(settings=settings, root_factory=Root) as config:
        config.include("pyramid_debugtoolbar")
        config.include("pyramid_jwtnode")
        config.commit()
        config.set_security_policy(JWTSecurityPolicy.from_node(get_jwt_runtime(config.registry, "api")))
        config.add_route("read", "/read")
        config.add_view(lambda request: {"ok": True}, route_name="read", renderer="json", permission="read")
        config.add_route("open", "/open")
        config.add_view(lambda request: {"ok": True}, route_name="open", renderer="json")
    app = TestApp(config.make_wsgi_app(), extra_environ=LOCAL)
    app.get("/read", headers={"Authorization": f"Bearer {token(app)}"}, status=200)
    shown = text(panel_of(app)[0])
    assert "Policy of api" in shown and "Route check" not in shown and "Outcome accepted" in shown
    app.get("/open")
    assert "No jwt security policy" not in text(panel_of(app)[0])


def test_the_recorded_decisions_leave_the_environ(app: TestApp) -> None:
    from pyramid_jwtnode.integration.policy import PERMITS_RECORD

    app.get("/read", headers={"Authorization": f"Bearer {token(app)}"}, status=200)
    _, toolbar = app.app.registry.pdtb_history.last(1)[0]
    assert PERMITS_RECORD not in toolbar.request.environ  # the toolbar keeps the request
