"""Every code example of the docs, run; and the rules that keep the docs' examples runnable.

The chapters under ``docs/`` show code only through ``literalinclude`` of files under
``docs/examples/`` (or the example app), so what a reader sees is what these tests run.
"""

from __future__ import annotations

import configparser
import importlib.util
import io
import os
import re
import subprocess
import sys
import time
import unittest
from pathlib import Path
from types import ModuleType
from typing import Any

import jwt
import pytest
from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationConflictError, ConfigurationError
from pyramid.paster import get_app, get_appsettings
from pyramid.session import SignedCookieSessionFactory
from webtest import TestApp

from pyramid_jwtnode import InvalidTokenError, build_runtime, get_jwt_runtime, parse_config
from pyramid_jwtnode.tools.cli import main as pjwt
from pyramid_jwtnode.integration.settings import GLOBAL_SETTINGS, SETTINGS, PreviousKey, configs_from_settings

from .conftest import HS256_SECRET, Clock, KeyPair

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
API_SECRET = "api-secret-for-the-docs-example-at-least-32-bytes"


def load(name: str, monkeypatch: pytest.MonkeyPatch, *, as_name: str | None = None) -> ModuleType:
    """``docs/examples/<name>.py`` as a module, registered as ``as_name`` (for dotted names)."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # Pyramid finds a module's package by name
    spec.loader.exec_module(module)
    if as_name is not None:
        monkeypatch.setitem(sys.modules, as_name, module)
    return module


def ini_as_app(name: str, directory: Path, monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> Path:
    """``docs/examples/<name>.ini`` copied into ``directory`` with ``use = egg:myapp`` served by
    ``module`` (an installed ``myapp`` would be found by its egg name)."""
    text = (EXAMPLES / f"{name}.ini").read_text()
    assert "use = egg:myapp\n" in text
    path = directory / f"{name}.ini"
    path.write_text(text.replace("use = egg:myapp\n", "use = call:myapp:main\n"))
    monkeypatch.setitem(sys.modules, "myapp", module)
    return path


def ini_settings(name: str, here: Path) -> dict[str, str]:
    """The ``[app:main]`` settings of ``docs/examples/<name>.ini`` as PasteDeploy reads them."""
    parser = configparser.ConfigParser(defaults={"here": str(here)})
    parser.read(EXAMPLES / f"{name}.ini")
    return {k: v for k, v in parser["app:main"].items() if k not in ("here", "use")}


# -- host-apps.rst: the app with two configs (host_app.py, host_app.ini) -------------------------


@pytest.fixture
def host_app(tmp_path: Path, keys: dict[str, KeyPair], monkeypatch: pytest.MonkeyPatch) -> TestApp:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "staff.key").write_text("k" * 64 + "\n")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "partners.pem").write_bytes(keys["p256"].private.read_bytes())
    (tmp_path / "keys" / "partners.pub").write_bytes(keys["p256"].public.read_bytes())
    ini = ini_as_app("host_app", tmp_path, monkeypatch, load("host_app", monkeypatch))
    return TestApp(get_app(str(ini)))


def test_host_app_staff_token(host_app: TestApp) -> None:
    res = host_app.post("/staff/token", {"username": "alice", "password": "correct horse battery staple"})
    assert res.headers["Cache-Control"] == "no-store" and res.headers["Pragma"] == "no-cache"
    assert res.json["token_type"] == "Bearer" and res.json["expires_in"] == 900
    token = res.json["access_token"]
    assert jwt.get_unverified_header(token) == {"alg": "HS384", "typ": "JWT"}
    claims = jwt.decode(token, "k" * 64, algorithms=["HS384"], issuer="https://myapp.example")
    assert claims["sub"] == "alice" and claims["roles"] == ["staff"]
    assert claims["exp"] == claims["iat"] + 900


def test_host_app_wrong_password_is_401_never_500(host_app: TestApp) -> None:
    for password in ("guess", "", "pässwörd ✓"):
        res = host_app.post("/staff/token", {"username": "alice", "password": password}, status=401)
        assert "access_token" not in res.text and res.headers["Cache-Control"] == "no-store"


def test_host_app_partner_token(host_app: TestApp, keys: dict[str, KeyPair]) -> None:
    token = host_app.post("/partners/token", {"partner_id": "acme"}).json["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["kid"]
    claims = jwt.decode(token, keys["p256"].public.read_bytes(), algorithms=["ES256"], audience="partner-api")
    assert claims["sub"] == "acme" and claims["scope"] == "orders:read"
    assert host_app.post("/partners/token", {}, status=400).json == {"error": "invalid_request"}


def test_host_app_token_view_answers(host_app: TestApp) -> None:
    """The token view's answers that host-apps.rst lists."""
    res = host_app.get("/staff/token", status=405)
    assert res.headers["Allow"] == "POST" and res.json["error"] == "invalid_request"
    res = host_app.post("/staff/token", '{"username": "alice"}', content_type="application/json", status=400)
    assert "form" in res.json["error_description"] and res.headers["Cache-Control"] == "no-store"
    res = host_app.post("/staff/token", "x=" + "a" * 17000, content_type="application/x-www-form-urlencoded",
                        status=413)
    assert res.json["error"] == "invalid_request"
    registry = host_app.app.registry
    configs = {i["introspectable"]["name"] for i in registry.introspector.get_category("jwt configs")}
    assert configs == {"staff", "partners"}
    staff = registry.introspector.get("jwt configs", "staff")
    assert staff["algorithm"] == "HS384" and "secret" not in staff
    routes = {i["introspectable"]["pattern"] for i in registry.introspector.get_category("jwt token views")}
    assert routes == {"/staff/token", "/partners/token"}
    assert registry.introspector.get("jwt token views", "jwt.staff.token:/staff/token") is not None


# -- host-apps.rst: declaring configs in code, overrides, issuing from views --------------------


def test_configs_in_code(tmp_path: Path, keys: dict[str, KeyPair], monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "myapp"
    (package / "keys").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "keys" / "partners.pem").write_bytes(keys["p256"].private.read_bytes())
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "myapp", raising=False)
    example = load("configs_in_code", monkeypatch)
    app = TestApp(example.main({}))
    token = app.post("/partners/token", {"partner_id": "acme"}).json["access_token"]
    claims = jwt.decode(token, keys["p256"].public.read_bytes(), algorithms=["ES256"], audience="reports")
    assert claims["aud"] == ["partner-api", "reports"] and claims["exp"] - claims["iat"] == 3600
    assert claims["sub"] == "acme"


def test_the_app_overrides_the_packages_config(monkeypatch: pytest.MonkeyPatch) -> None:
    load("reports_kit", monkeypatch)
    example = load("override_app", monkeypatch)
    monkeypatch.setenv("MYAPP_REPORTS_SECRET", HS256_SECRET)
    monkeypatch.delenv("REPORTS_JWT_SECRET", raising=False)  # the package's: never read
    app = TestApp(example.main({}))
    res = app.post("/api/reports/token")
    assert res.json["expires_in"] == 60
    claims = get_jwt_runtime(app.app.registry, "reports").verifier.verify(res.json["access_token"])
    assert claims["sub"] == "myapp"
    app.post("/reports/token", status=404)  # dropped with the package's declaration


def test_the_packages_config_serves_without_an_override(monkeypatch: pytest.MonkeyPatch) -> None:
    kit = load("reports_kit", monkeypatch)
    monkeypatch.setenv("REPORTS_JWT_SECRET", HS256_SECRET)
    with Configurator() as config:
        config.include(kit.includeme)
    app = TestApp(config.make_wsgi_app())
    assert app.post("/reports/token").json["expires_in"] == 300


def test_two_declarations_at_one_level_conflict(monkeypatch: pytest.MonkeyPatch) -> None:
    load("reports_kit", monkeypatch)
    with pytest.raises(ConfigurationConflictError):
        with Configurator() as config:
            config.include("reports_kit")
            config.add_jwt_config("api", algorithm="HS256", secret=HS256_SECRET, expires_in=60)
            config.add_jwt_config("api", algorithm="HS256", secret=HS256_SECRET, expires_in=90)


class _StaffOnly:
    __acl__ = [(Allow, Authenticated, "view")]

    def __init__(self, request: Any) -> None:
        pass


def test_issuing_from_views_and_outside_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    example = load("issuing", monkeypatch)
    with Configurator(root_factory=_StaffOnly) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("staff", algorithm="HS384", secret="s" * 48, expires_in=900)
        config.add_jwt_config("links", algorithm="HS256", secret=HS256_SECRET, expires_in=3600)
        config.set_jwt_security_policy("staff")
        config.add_route("report_link", "/reports/{report}/link")
        config.add_view(example.report_link, route_name="report_link", permission="view", renderer="json")
    app = TestApp(config.make_wsgi_app())
    registry = app.app.registry
    staff = get_jwt_runtime(registry, "staff")
    bearer = {"Authorization": f"Bearer {staff.issuer.issue({'sub': 'alice'}).token}"}
    token = app.get("/reports/2026-q3/link", headers=bearer).json["token"]
    claims = get_jwt_runtime(registry, "links").verifier.verify(token)
    assert claims["sub"] == "alice" and claims["report"] == "2026-q3"
    assert claims["exp"] - claims["iat"] == 60
    app.get("/reports/2026-q3/link", status=401)
    assert staff.verifier.verify(example.worker_token(registry))["sub"] == "report-worker"


# -- verification.rst and refresh-and-revocation.rst: the api app (api_app.py, api.ini) ---------


@pytest.fixture
def api_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    ini = ini_as_app("api", tmp_path, monkeypatch, load("api_app", monkeypatch))
    monkeypatch.setenv("MYAPP_JWT_SECRET", API_SECRET)
    return dict(get_appsettings(str(ini)))


@pytest.fixture
def api_clock() -> Clock:
    return Clock(int(time.time()))


@pytest.fixture
def api(api_settings: dict[str, Any], api_clock: Clock) -> TestApp:
    """The api app with its store in memory instead of the ini file's Redis, and a clock the
    tests move (jwt.clock)."""
    module = sys.modules["myapp"]
    return TestApp(module.main({}, **{**api_settings, "jwt.api.revocation_store": "memory",
                                      "jwt.clock": api_clock}))


def login(app: TestApp, user: str = "alice", password: str = "correct horse battery staple") -> dict[str, Any]:
    body: dict[str, Any] = app.post("/token", {"username": user, "password": password}).json
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_api_ini_parses_as_written(api_settings: dict[str, Any]) -> None:
    raw = configs_from_settings(api_settings)["api"]
    config = parse_config("api", raw)
    assert config.revocation_store == "redis://localhost:6379/0"
    assert config.refresh_expires_in == 1209600 and config.principals_claim == "roles"
    assert config.refresh_max_age == 2592000 and config.refresh_reuse_interval == 10
    assert config.refresh_payload is sys.modules["myapp"].recheck
    assert api_settings["jwt.security_policy"] == "api"


def test_api_login_and_protected_views(api: TestApp) -> None:
    body = login(api)
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300 and body["refresh_token"]
    assert api.get("/orders", headers=bearer(body["access_token"])).json == {"orders": [], "for": "alice"}
    assert api.get("/admin", headers=bearer(body["access_token"])).json == {"admin": "alice"}
    bob = login(api, "bob", "tr0ub4dor&3")
    res = api.get("/admin", headers=bearer(bob["access_token"]), status=403)
    assert 'error="insufficient_scope"' in res.headers["WWW-Authenticate"]
    assert res.json["error"] == "insufficient_scope"
    api.post("/token", {"username": "alice", "password": "nope"}, status=401)


def test_api_answers_on_the_wire(api: TestApp) -> None:
    """The table of answers in verification.rst."""
    res = api.get("/orders", status=401)
    assert res.headers["WWW-Authenticate"] == 'Bearer realm="api"' and res.json["error"] == "unauthorized"
    assert res.headers["Cache-Control"] == "no-store" and res.headers["Pragma"] == "no-cache"
    res = api.get("/orders", headers={"Authorization": "Basic YWxpY2U6eA=="}, status=401)
    assert res.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    res = api.get("/orders", headers=bearer("not.a.token"), status=401)
    assert res.headers["WWW-Authenticate"].startswith('Bearer realm="api", error="invalid_token"')
    res = api.get("/orders", headers={"Authorization": "Bearer"}, status=400)
    assert res.json["error"] == "invalid_request"
    token = login(api)["access_token"]
    assert api.get("/orders", headers={"Authorization": f"bEaReR {token}"}).status_int == 200
    res = api.get("/orders", headers={"Authorization": f"Bearer {token} {token}"}, status=400)
    assert 'error="invalid_request"' in res.headers["WWW-Authenticate"]


def test_api_refresh_rotation_and_reuse(api: TestApp, api_clock: Clock) -> None:
    first = login(api)
    second = api.post("/oauth/refresh", {"grant_type": "refresh_token",
                                         "refresh_token": first["refresh_token"]}).json
    assert second["refresh_token"] != first["refresh_token"]
    assert api.get("/orders", headers=bearer(second["access_token"])).status_int == 200
    api_clock.advance(11)  # past refresh_reuse_interval: presenting the old token is reuse
    res = api.post("/oauth/refresh", {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
                   status=400)
    assert res.json["error"] == "invalid_grant" and res.headers["Cache-Control"] == "no-store"
    api.get("/orders", headers=bearer(second["access_token"]), status=401)  # the family is revoked
    res = api.post("/oauth/refresh", {"grant_type": "password", "refresh_token": "x"}, status=400)
    assert res.json["error"] == "unsupported_grant_type"
    assert api.post("/oauth/refresh", {}, status=400).json["error"] == "invalid_request"
    api.get("/orders", headers=bearer(login(api)["refresh_token"]), status=401)  # not an access token
    assert api.get("/oauth/refresh", status=405).headers["Allow"] == "POST"


def test_api_revocation_endpoint(api: TestApp) -> None:
    body = login(api)
    res = api.post("/oauth/revoke", {"token": body["access_token"]})
    assert res.status_int == 200 and res.body == b"" and res.headers["Cache-Control"] == "no-store"
    api.get("/orders", headers=bearer(body["access_token"]), status=401)
    assert api.post("/oauth/revoke", {"token": "garbage"}).status_int == 200
    assert api.post("/oauth/revoke", {}, status=400).json["error"] == "invalid_request"


def test_api_logout(api: TestApp) -> None:
    body = login(api)
    assert api.post("/logout", headers=bearer(body["access_token"])).json == {"revoked": True}
    api.get("/orders", headers=bearer(body["access_token"]), status=401)
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    assert api.post("/oauth/refresh", refresh, status=400).json["error"] == "invalid_grant"
    assert api.post("/logout").json == {"revoked": False}


def test_api_refresh_checks_the_user_again(api: TestApp) -> None:
    users = sys.modules["myapp"].USERS
    body = login(api, "bob", "tr0ub4dor&3")
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    users["bob"] = ("tr0ub4dor&3", ["role:admin"])
    try:
        promoted = api.post("/oauth/refresh", refresh).json
        assert api.get("/admin", headers=bearer(promoted["access_token"])).json == {"admin": "bob"}
        del users["bob"]
        again = {"grant_type": "refresh_token", "refresh_token": promoted["refresh_token"]}
        assert api.post("/oauth/refresh", again, status=400).json["error"] == "invalid_grant"
    finally:
        users["bob"] = ("tr0ub4dor&3", [])


def test_api_retry_within_the_reuse_interval(api: TestApp) -> None:
    body = login(api)
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    api.post("/oauth/refresh", refresh)  # the answer is lost
    retried = api.post("/oauth/refresh", refresh).json  # the client retries: within 10 s, once
    assert api.get("/orders", headers=bearer(retried["access_token"])).status_int == 200
    api.post("/oauth/refresh", refresh, status=400)


def test_api_password_change_logs_out_everywhere(api: TestApp) -> None:
    first, second = login(api), login(api)
    api.post("/password", headers=bearer(first["access_token"]))
    for body in (first, second):
        api.get("/orders", headers=bearer(body["access_token"]), status=401)
        api.post("/oauth/refresh", {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
                 status=400)


def test_composed_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    example = load("composed_policy", monkeypatch)

    class Root:
        __acl__ = [(Allow, Authenticated, "read")]

        def __init__(self, request: Any) -> None:
            pass

    def log_in(request: Any) -> dict[str, bool]:
        from pyramid.security import remember

        remember(request, "html-user")
        return {"ok": True}

    settings = {"jwt.configs": "api", "jwt.api.algorithm": "HS256", "jwt.api.secret": API_SECRET,
                "jwt.api.expires_in": "300"}
    with Configurator(settings=settings, root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.set_session_factory(SignedCookieSessionFactory("s" * 40))
        config.include(example.includeme)
        for name, path in (("api", "/api/data"), ("page", "/page")):
            config.add_route(name, path)
            config.add_view(lambda r: {"user": r.authenticated_userid}, route_name=name,
                            permission="read", renderer="json")
        config.add_route("login", "/login")
        config.add_view(log_in, route_name="login", renderer="json")
    app = TestApp(config.make_wsgi_app())
    token = get_jwt_runtime(app.app.registry).issuer.issue({"sub": "api-user"}).token
    assert app.get("/api/data", headers=bearer(token)).json == {"user": "api-user"}
    assert app.get("/api/data", status=401).headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert 'error="invalid_token"' in app.get("/api/data", headers=bearer("x.y.z"), status=401).headers[
        "WWW-Authenticate"]
    assert app.get("/page", status=302).headers["Location"].endswith("/login")
    app.get("/login")
    assert app.get("/page").json == {"user": "html-user"}
    assert app.get("/api/data").json == {"user": "html-user"}


# -- verification.rst: key rotation and JWKS (rotation.ini) --------------------------------------


def test_key_rotation_ini(tmp_path: Path, keys: dict[str, KeyPair]) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "partners-2026-11.pem").write_bytes(keys["p256"].private.read_bytes())
    (tmp_path / "keys" / "partners-2026-10.pub").write_bytes(keys["p256b"].public.read_bytes())
    settings = ini_settings("rotation", tmp_path)
    config = parse_config("partners", configs_from_settings(settings)["partners"])
    assert config.kid == "2026-11"
    assert config.previous_keys == (PreviousKey("2026-10", f"{tmp_path}/keys/partners-2026-10.pub"),)
    node = build_runtime(config)
    assert node.issuer is not None
    token = node.issuer.issue({"sub": "acme"}).token
    assert jwt.get_unverified_header(token)["kid"] == "2026-11"
    assert node.verifier.verify(token)["sub"] == "acme"
    claims = dict(node.issuer.claims({"sub": "acme"}))
    old = jwt.encode(claims, keys["p256b"].private_key, algorithm="ES256", headers={"kid": "2026-10"})
    assert node.verifier.verify(old)["sub"] == "acme"
    unknown = jwt.encode(claims, keys["p256b"].private_key, algorithm="ES256", headers={"kid": "2026-09"})
    with pytest.raises(InvalidTokenError):
        node.verifier.verify(unknown)
    with Configurator(settings=settings) as pyramid_config:
        pyramid_config.include("pyramid_jwtnode")
    res = TestApp(pyramid_config.make_wsgi_app()).get("/.well-known/jwks.json")
    assert res.headers["Cache-Control"] == "public, max-age=300"
    published = res.json["keys"]
    assert [k["kid"] for k in published] == ["2026-11", "2026-10"]
    assert all(k["use"] == "sig" and k["alg"] == "ES256" and "d" not in k for k in published)


# -- performance-and-deployment.rst: several hosts (fleet_auth.ini, fleet_orders.ini) ----------


def fleet_host(name: str, directory: Path, replace: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> TestApp:
    """One host of docs/examples/<name>.ini serving api_app.py, with the ini's internal URLs
    replaced by the loopback ones of this test."""
    ini = ini_as_app(name, directory, monkeypatch, load("api_app", monkeypatch))
    text = ini.read_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    ini.write_text(text)
    return TestApp(get_app(str(ini)))


def test_fleet_of_hosts_shares_keys_and_redis(tmp_path: Path, keys: dict[str, KeyPair], redis_url: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Two hosts of the auth service (same key file) and two of the orders service (keys from
    the auth service's JWKS route over HTTP), one Redis: a token of either auth host works on
    every host; a logout on one orders host is refused everywhere, its refresh token too."""
    from webtest.http import StopableWSGIServer

    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "api-2026-11.pem").write_bytes(keys["p256"].private.read_bytes())
    prefix = f"shop:jwt:{os.getpid()}:{time.monotonic_ns()}:"
    shared = {"redis://redis.internal:6379/0": redis_url, "shop:jwt:": prefix}
    auth = [fleet_host("fleet_auth", tmp_path, shared, monkeypatch) for _ in range(2)]
    server = StopableWSGIServer.create(auth[0].app, host="127.0.0.1")
    try:
        jwks = f"{server.application_url.rstrip('/')}/.well-known/jwks.json"
        orders = [fleet_host("fleet_orders", tmp_path, {**shared, "https://auth.internal/.well-known/jwks.json": jwks},
                             monkeypatch) for _ in range(2)]
        alice = auth[0].post("/token", {"username": "alice", "password": "correct horse battery staple"}).json
        bob = auth[1].post("/token", {"username": "bob", "password": "tr0ub4dor&3"}).json
        assert jwt.get_unverified_header(bob["access_token"])["kid"] == "2026-11"
        for host in orders + auth:
            assert host.get("/orders", headers=bearer(alice["access_token"])).json["for"] == "alice"
            assert host.get("/orders", headers=bearer(bob["access_token"])).json["for"] == "bob"
        assert orders[0].post("/logout", headers=bearer(alice["access_token"])).json == {"revoked": True}
        for host in orders + auth:
            res = host.get("/orders", headers=bearer(alice["access_token"]), status=401)
            assert 'error="invalid_token"' in res.headers["WWW-Authenticate"]
        res = auth[1].post("/oauth/refresh", {"grant_type": "refresh_token",
                                              "refresh_token": alice["refresh_token"]}, status=400)
        assert res.json["error"] == "invalid_grant"
        assert orders[1].get("/orders", headers=bearer(bob["access_token"])).json["for"] == "bob"
    finally:
        server.shutdown()


# -- testing.rst: a pytest module and a unittest module ------------------------------------------


@pytest.mark.slow
def test_the_pytest_example_passes() -> None:
    """docs/examples/test_views.py, run by pytest as a host project runs its tests (the plugin's
    jwt_headers fixture comes from the installed entry point)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "docs/examples/test_views.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_the_unittest_example_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    example = load("unittest_example", monkeypatch)
    suite = unittest.defaultTestLoader.loadTestsFromModule(example)
    result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
    assert result.wasSuccessful(), result.failures + result.errors
    assert result.testsRun == 2


# -- settings.rst and cli.rst: printed output ----------------------------------------------------


def test_startup_errors_are_the_codes_messages(tmp_path: Path, keys: dict[str, KeyPair]) -> None:
    """docs/examples/startup-errors.txt holds exactly what these mistakes print."""
    (tmp_path / "staff.key").write_text("k" * 40 + "\n")
    mistakes = [
        lambda: build_runtime(parse_config("staff", {"algorithm": "HS384", "expires_in": "900",
                                                  "secret_file": str(tmp_path / "staff.key")})),
        lambda: build_runtime(parse_config("partners", {"algorithm": "ES256", "expires_in": "900",
                                                     "private_key_file": str(keys["p384"].private)})),
        lambda: parse_config("staff", {"algorithm": "HS384", "expires": "900"}),
        lambda: build_runtime(parse_config("api", {"algorithm": "HS256", "expires_in": "900",
                                                "secret_env": "MYAPP_JWT_SECRET"}), environ={}),
    ]
    printed = []
    for mistake in mistakes:
        with pytest.raises(ConfigurationError) as caught:
            mistake()
        printed.append(f"pyramid.exceptions.ConfigurationError: {caught.value}")
    assert (EXAMPLES / "startup-errors.txt").read_text().splitlines() == printed


def test_pjwt_configs_transcript() -> None:
    command, *expected = (EXAMPLES / "pjwt-configs.txt").read_text().splitlines()
    args = command.removeprefix("$ pjwt ").split()
    assert args == ["configs", "example_app/development.ini"]
    out, err = io.StringIO(), io.StringIO()
    assert pjwt(["configs", str(ROOT / args[1])], stdout=out, stderr=err) == 0
    assert out.getvalue().splitlines() == expected


# -- the rules that keep it so ---------------------------------------------------------------------

#: Each file of docs/examples/ and the test here that runs it.
EXERCISED = {
    "host_app.py": "test_host_app_staff_token",
    "host_app.ini": "test_host_app_staff_token",
    "configs_in_code.py": "test_configs_in_code",
    "reports_kit.py": "test_the_app_overrides_the_packages_config",
    "override_app.py": "test_the_app_overrides_the_packages_config",
    "issuing.py": "test_issuing_from_views_and_outside_requests",
    "api.ini": "test_api_ini_parses_as_written",
    "api_app.py": "test_api_login_and_protected_views",
    "composed_policy.py": "test_composed_policy",
    "rotation.ini": "test_key_rotation_ini",
    "fleet_auth.ini": "test_fleet_of_hosts_shares_keys_and_redis",
    "fleet_orders.ini": "test_fleet_of_hosts_shares_keys_and_redis",
    "test_views.py": "test_the_pytest_example_passes",
    "unittest_example.py": "test_the_unittest_example_passes",
    "startup-errors.txt": "test_startup_errors_are_the_codes_messages",
    "pjwt-configs.txt": "test_pjwt_configs_transcript",
}


def rst_files() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.rst") if "_build" not in p.parts)


def test_every_example_file_is_run_by_a_test() -> None:
    """A file under docs/examples/ is run here, or named by another test module of tests/."""
    others = "\n".join(p.read_text() for p in Path(__file__).parent.rglob("test_*.py")
                       if p.name != Path(__file__).name)
    for path in sorted(EXAMPLES.iterdir()):
        if path.name == "__pycache__":
            continue
        if path.name in EXERCISED:
            assert callable(globals().get(EXERCISED[path.name])), f"no test {EXERCISED[path.name]}"
        else:
            assert path.name in others or path.stem in others, (
                f"docs/examples/{path.name} is run by no test: add one to tests/test_docs_examples.py"
            )


def test_every_literalinclude_shows_a_file_the_tests_run() -> None:
    for page in rst_files():
        for target in re.findall(r"^\s*\.\. literalinclude:: (\S+)", page.read_text(), re.M):
            path = (page.parent / target).resolve()
            assert path.is_file(), f"{page.name}: {target} does not exist"
            inside = [d for d in (EXAMPLES, ROOT / "example_app") if d in path.parents]
            assert inside, (f"{page.name}: {target} is neither under docs/examples/ nor the example "
                            "app (which tests/test_example_app.py runs)")


_PYTHON = {"python", "py", "python3", "py3", "pycon", "ipython", "ipython3", "default"}
_CODE = re.compile(r"^(\s*)\.\. (?:code-block|code|sourcecode)::[ \t]*(\S*)[ \t]*$")
_HIGHLIGHT = re.compile(r"^\s*\.\. highlight::\s*(\S+)")
_LITERAL_BLOCK_PYTHON = re.compile(r"^\s*(>>> |import \w|from [\w.]+ import |def \w+\(|class \w+[(:])", re.M)


def python_blocks(text: str, default_language: str) -> list[tuple[int, str]]:
    """(line, what) of each code block in ``text`` that renders Python without being a
    literalinclude: a python code-block, a doctest block, or a ``::`` literal block while
    the highlight language is Python or whose text is plainly Python."""
    found = []
    lines = text.splitlines()
    language = default_language
    for number, line in enumerate(lines, 1):
        highlight = _HIGHLIGHT.match(line)
        if highlight:
            language = highlight.group(1)
        code = _CODE.match(line)
        if code and (code.group(2) or language) in _PYTHON:
            found.append((number, line.strip()))
        elif line.lstrip().startswith(">>> ") and (number == 1 or not lines[number - 2].strip()):
            found.append((number, "a doctest block"))
        elif line.rstrip().endswith("::") and not line.lstrip().startswith(".. "):
            indent = len(line) - len(line.lstrip())
            block = []
            for following in lines[number:]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                block.append(following)
            body = "\n".join(block)
            if body.strip() and (language in _PYTHON or _LITERAL_BLOCK_PYTHON.search(body)):
                found.append((number, "a '::' literal block of Python"))
    return found


def _conf_highlight_language() -> str:
    match = re.search(r'^highlight_language = "(\w+)"', (DOCS / "conf.py").read_text(), re.M)
    return match.group(1) if match else "default"


def test_the_detector_finds_python_blocks() -> None:
    text = ("Intro::\n\n    import os\n\n.. code-block:: python\n\n   x = 1\n\n>>> 1 + 1\n2\n\n"
            "Shell::\n\n    pjwt configs app.ini\n\n.. code-block:: console\n\n   $ ls\n")
    assert [n for n, _ in python_blocks(text, "text")] == [1, 5, 9]
    assert [n for n, _ in python_blocks("Any::\n\n    x = 1\n", "default")] == [1]


def test_python_appears_in_the_docs_only_as_literalinclude() -> None:
    """No Python in a page that the tests do not run: show it with literalinclude of a file
    under docs/examples/ (run here) instead."""
    default = _conf_highlight_language()
    offenders = [f"docs/{page.relative_to(DOCS)}:{number}: {what}"
                 for page in rst_files() for number, what in python_blocks(page.read_text(), default)]
    assert not offenders, "Python outside a literalinclude:\n" + "\n".join(offenders)


_KEYS = {s.key for s in SETTINGS}
_GLOBALS = {key for key, _, _ in GLOBAL_SETTINGS}
_SETTING_MENTION = re.compile(r"\bjwt\.([A-Za-z<][\w<>-]*)\.([a-z_]+)\b(?![:(])")


def test_every_setting_the_docs_name_exists() -> None:
    """``jwt.<name>.<key>`` in any page or example ini file names a real setting."""
    sources = [*rst_files(), *EXAMPLES.glob("*.ini")]
    for source in sources:
        text = source.read_text()
        for config, key in _SETTING_MENTION.findall(text):
            assert key in _KEYS, f"{source.name}: jwt.{config}.{key} is not a setting"
        for key in re.findall(r"\bjwt\.(configs|security_policy|clock)\b", text):
            assert f"jwt.{key}" in _GLOBALS
