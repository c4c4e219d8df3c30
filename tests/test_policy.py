"""The security policy: as a plain object, wired by directives and ini, and composed."""

from __future__ import annotations

import logging
from typing import Any
from unittest import mock

import pytest
from pyramid.authorization import Allow, Authenticated, Everyone
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationConflictError
from pyramid.interfaces import ISecurityPolicy
from pyramid.session import SignedCookieSessionFactory
from pyramid.testing import DummyRequest
from webtest import TestApp

from pyramid_jwtnode import JWTSecurityPolicy, build_runtime, get_jwt_runtime, parse_config

from .conftest import HS256_SECRET, NOW, Clock
from .helpers import raises_config_error
from .security.conftest import HS_HEADER, claims, forge


def node(**raw: Any) -> Any:
    settings = {"algorithm": "HS256", "secret": HS256_SECRET, "expires_in": 600, **raw}
    return build_runtime(parse_config("api", settings), clock=Clock())


def request_with(token: str | None) -> DummyRequest:
    request = DummyRequest()
    if token is not None:
        request.environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return request


# -- the plain object ---------------------------------------------------------------------


def test_policy_without_a_configurator() -> None:
    policy = JWTSecurityPolicy.from_node(node(principals_claim="scope"))
    token = forge(HS_HEADER, claims(scope="orders:read orders:write"))
    request = request_with(token)
    assert policy.identity(request)["sub"] == "alice"
    assert policy.authenticated_userid(request) == "alice"
    assert policy.principals(request) == [Everyone, Authenticated, "alice", "orders:read", "orders:write",
                                          "jwt-config:api"]
    assert policy.remember(request, "alice") == [] and policy.forget(request) == []


def test_anonymous_request() -> None:
    policy = JWTSecurityPolicy.from_node(node())
    request = request_with(None)
    assert policy.identity(request) is None
    assert policy.authenticated_userid(request) is None
    assert policy.principals(request) == [Everyone]


def test_token_is_verified_once_per_request() -> None:
    n = node()
    policy = JWTSecurityPolicy.from_node(n)
    request = request_with(forge(HS_HEADER, claims()))
    with mock.patch.object(n.verifier, "verify", wraps=n.verifier.verify) as verify:
        policy.identity(request)
        policy.authenticated_userid(request)
        policy.permits(request, None, "read")
        policy.challenge(request)
    assert verify.call_count == 1


def test_nested_userid_and_principals_claims() -> None:
    policy = JWTSecurityPolicy.from_node(
        node(claims_key="data", userid_claim="data.email", principals_claim="data.roles"))
    token = forge(HS_HEADER, {"data": {"email": "a@example.com", "roles": ["admin", 3]},
                              "iat": NOW, "exp": NOW + 60})
    request = request_with(token)
    assert policy.authenticated_userid(request) == "a@example.com"
    assert policy.principals(request)[-3:] == ["a@example.com", "admin", "jwt-config:api"]


@pytest.mark.parametrize("sub", [None, "", True, ["a"], "absent"])
def test_a_verified_token_without_a_userid_authenticates_nobody(sub: Any) -> None:
    """Documented choice: every view of Pyramid's API agrees the request is anonymous;
    the claims stay readable (request.jwt_claims, the verify view)."""
    policy = JWTSecurityPolicy.from_node(node(userid_claim="uid", principals_claim="roles"))
    claims_ = {"exp": NOW + 60, "roles": ["admin"]} | ({} if sub == "absent" else {"uid": sub})
    request = request_with(forge(HS_HEADER, claims_))
    assert policy.authenticated_userid(request) is None
    assert policy.identity(request) is None
    assert policy.principals(request) == [Everyone]
    assert not policy.permits(request, Root(request), "read")
    assert policy.verified_claims(request) == claims_
    challenge = policy.challenge(request)
    assert challenge.status_int == 401 and 'error="invalid_token"' in challenge.headers["WWW-Authenticate"]


def test_numeric_userid_becomes_a_string() -> None:
    policy = JWTSecurityPolicy.from_node(node(userid_claim="uid"))
    assert policy.authenticated_userid(request_with(forge(HS_HEADER, {"uid": 7, "exp": NOW + 60}))) == "7"


class User:
    def __init__(self, name: str) -> None:
        self.name = name


def find_user(request: Any, claims: dict[str, Any]) -> User | None:
    return User(claims["sub"]) if claims["sub"] != "deleted" else None


def test_identity_callable(caplog: pytest.LogCaptureFixture) -> None:
    policy = JWTSecurityPolicy.from_node(node(identity="tests.test_policy:find_user"))
    assert policy.identity(request_with(forge(HS_HEADER, claims()))).name == "alice"
    refused = request_with(forge(HS_HEADER, claims(sub="deleted")))
    with caplog.at_level(logging.INFO, logger="pyramid_jwtnode"):
        assert policy.identity(refused) is None
    assert policy.authenticated_userid(refused) is None
    assert policy.challenge(refused).status_int == 401
    assert "identity_refused" in caplog.text


def test_unbound_policy_says_so() -> None:
    with pytest.raises(RuntimeError, match="bound"):
        JWTSecurityPolicy().identity(request_with("x"))


def test_log_has_reason_codes_and_never_the_token(caplog: pytest.LogCaptureFixture) -> None:
    policy = JWTSecurityPolicy.from_node(node())
    token = forge(HS_HEADER, claims(exp=NOW - 1))
    with caplog.at_level(logging.DEBUG):
        policy.identity(request_with(token))
    assert "(expired)" in caplog.text
    for part in token.split("."):
        assert part not in caplog.text


# -- wiring ---------------------------------------------------------------------------------

INI = {"jwt.configs": "api", "jwt.api.algorithm": "HS256", "jwt.api.secret": HS256_SECRET,
       "jwt.api.expires_in": "600"}


class Root:
    __acl__ = [(Allow, Authenticated, "read")]

    def __init__(self, request: Any) -> None:
        pass


def test_policy_from_ini_alone() -> None:
    with Configurator(settings={**INI, "jwt.security_policy": "api"}, root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_route("r", "/r")
        config.add_view(lambda r: {"claims": r.jwt_claims}, route_name="r", permission="read",
                        renderer="json")
    assert isinstance(config.registry.queryUtility(ISecurityPolicy), JWTSecurityPolicy)
    app = TestApp(config.make_wsgi_app())
    app.get("/r", status=401)
    token = get_jwt_runtime(config.registry).issuer.issue({"sub": "bob"}).token
    res = app.get("/r", headers={"Authorization": f"Bearer {token}"})
    assert res.json["claims"]["sub"] == "bob"


def test_security_policy_setting_naming_an_unknown_config() -> None:
    def build() -> None:
        with Configurator(settings={**INI, "jwt.security_policy": "nope"}) as config:
            config.include("pyramid_jwtnode")

    message = raises_config_error(build, "jwt.security_policy")
    assert "jwt.configs" in message


def test_security_policy_setting_naming_two_configs() -> None:
    def build() -> None:
        with Configurator(settings={**INI, "jwt.security_policy": "api other"}) as config:
            config.include("pyramid_jwtnode")

    raises_config_error(build, "jwt.security_policy")


def test_two_jwt_policies_conflict() -> None:
    with pytest.raises(ConfigurationConflictError):
        with Configurator(settings=INI) as config:
            config.include("pyramid_jwtnode")
            config.set_jwt_security_policy("api")
            config.set_jwt_security_policy("api")


def test_jwt_claims_is_none_without_a_valid_token(clock: Clock) -> None:
    with Configurator(settings=INI) as config:
        config.include("pyramid_jwtnode")
        config.make_jwt_security_policy("api")
        config.add_route("r", "/r")
        config.add_view(lambda r: {"claims": r.jwt_claims}, route_name="r", renderer="json")
    app = TestApp(config.make_wsgi_app())
    assert app.get("/r").json == {"claims": None}
    assert app.get("/r", headers={"Authorization": "Bearer garbage"}).json == {"claims": None}
    token = get_jwt_runtime(config.registry).issuer.issue({"sub": "x"}).token
    assert app.get("/r", headers={"Authorization": f"Bearer {token}"}).json["claims"]["sub"] == "x"


def test_verify_route_is_the_recipes_validate_mode() -> None:
    with Configurator(settings={**INI, "jwt.api.verify_route": "/jwt/verify"}) as config:
        config.include("pyramid_jwtnode")
    app = TestApp(config.make_wsgi_app())
    token = get_jwt_runtime(config.registry).issuer.issue({"sub": "x"}).token
    res = app.get("/jwt/verify", headers={"Authorization": f"Bearer {token}"})
    assert res.json["sub"] == "x" and res.headers["Cache-Control"] == "no-store"
    assert app.get("/jwt/verify", status=401).headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert app.get("/jwt/verify", headers={"Authorization": "Bearer x.y.z"}, status=401)
    assert app.post("/jwt/verify", status=405).headers["Allow"] == "GET, HEAD"


# -- composing with a session-based policy --------------------------------------------------


@pytest.fixture
def composed_app(monkeypatch: pytest.MonkeyPatch) -> TestApp:
    """The docs' example "Composing with another policy" (docs/examples/composed_policy.py)."""
    from pathlib import Path

    from pyramid.security import remember

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "docs" / "examples"))

    def login(request: Any) -> Any:
        remember(request, "html-user")
        return {"ok": True}

    with Configurator(settings=INI, root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.set_session_factory(SignedCookieSessionFactory("s" * 40))
        config.include("composed_policy")
        for name, path in (("api", "/api/data"), ("page", "/page")):
            config.add_route(name, path)
            config.add_view(lambda r: {"user": r.authenticated_userid}, route_name=name,
                            permission="read", renderer="json")
        config.add_route("login", "/login")
        config.add_view(login, route_name="login", renderer="json")
    app = TestApp(config.make_wsgi_app())
    app.token = get_jwt_runtime(config.registry).issuer.issue({"sub": "api-user"}).token  # type: ignore[attr-defined]
    return app


def test_composed_policy_bearer_side(composed_app: TestApp) -> None:
    token = composed_app.token  # type: ignore[attr-defined]
    res = composed_app.get("/api/data", headers={"Authorization": f"Bearer {token}"})
    assert res.json == {"user": "api-user"}
    res = composed_app.get("/api/data", status=401)
    assert res.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    res = composed_app.get("/api/data", headers={"Authorization": "Bearer bad.token.here"}, status=401)
    assert 'error="invalid_token"' in res.headers["WWW-Authenticate"]


def test_composed_policy_session_side(composed_app: TestApp) -> None:
    assert composed_app.get("/page", status=302).headers["Location"].endswith("/login")
    composed_app.get("/login")
    assert composed_app.get("/page").json == {"user": "html-user"}
    assert composed_app.get("/api/data").json == {"user": "html-user"}
