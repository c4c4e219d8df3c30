"""Prometheus metrics: the settings (plain dicts), the wiring (a real Configurator), and the
counts over HTTP, each made by the real thing (the policy, the token and refresh views, a
remote key set), read back from the /metrics route as Prometheus would read them."""

from __future__ import annotations

import ast
import json
import re
import socket
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationConflictError, ConfigurationError
from pyramid.httpexceptions import HTTPForbidden
from pyramid.request import Request
from webtest import TestApp

import pyramid_jwtnode
from pyramid_jwtnode import get_jwt_runtime
from pyramid_jwtnode.integration import meter as meter_module
from pyramid_jwtnode.integration.meter import (
    FETCH_OUTCOMES,
    REFRESH_OUTCOMES,
    TOKEN_KINDS,
    VERIFICATION_REASONS,
    fetch_outcome,
    refresh_outcome,
    verification_reason,
)
from pyramid_jwtnode.integration.settings import MetricsSettings, metrics_from_settings
from pyramid_jwtnode.tools.testing import Clock

from .conftest import HS256_SECRET, NOW
from .jwks_server import Answer, DocumentServer
from .test_many_issuers import idp_token, public_jwk, rsa_key

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pyramid_jwtnode"
OTHER_SECRET = "o" * 40

# -- the vocabularies and the settings: plain objects --------------------------------------


def test_labels_outside_the_vocabularies_are_other() -> None:
    assert verification_reason(None) == "ok"
    assert verification_reason("expired") == "expired"
    assert verification_reason("eyJhbGciOiJIUzI1NiJ9") == "other"
    assert refresh_outcome("rotated") == "rotated"
    assert refresh_outcome("refresh_reuse") == "reuse"
    assert refresh_outcome("refused_by_refresh_payload") == "refused"
    assert refresh_outcome("bad_signature") == "invalid"
    assert refresh_outcome("eyJ...") == "invalid"
    assert fetch_outcome("fetched", None) == fetch_outcome("recovered", None) == "ok"
    assert fetch_outcome("failed", "status_503") == "http_error"
    assert fetch_outcome("failed", "timeout") == "timeout"
    assert fetch_outcome("failed", "connectionrefusederror") == "connection_error"
    assert fetch_outcome("failed", None) == "other"


def _error_classes() -> dict[str, type]:
    from pyramid_jwtnode import exceptions

    return {name: cls for name, cls in vars(exceptions).items()
            if isinstance(cls, type) and issubclass(cls, exceptions.InvalidTokenError)}


def test_every_reason_the_code_raises_is_in_the_vocabulary() -> None:
    """Each reason code an InvalidTokenError (or a subclass) is raised with anywhere in the
    package, literal or f-string, is a word of VERIFICATION_REASONS: none is counted ``other``."""
    classes = _error_classes()
    assert {cls.default_reason for cls in classes.values()} <= VERIFICATION_REASONS  # type: ignore[attr-defined]
    found: list[str] = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in classes and node.args):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append(arg.value)
                assert arg.value in VERIFICATION_REASONS, f"{path.name}:{node.lineno}: {arg.value}"
            elif isinstance(arg, ast.JoinedStr):
                pattern = "".join(re.escape(v.value) if isinstance(v, ast.Constant) else r"[a-z]+"
                                  for v in arg.values)
                found.append(pattern)
                assert any(re.fullmatch(pattern, reason) for reason in VERIFICATION_REASONS), pattern
    assert len(found) > 40  # the scan sees the verifier's refusals
    # and the reasons the policy gives without an exception
    policy = (PACKAGE / "integration" / "policy.py").read_text()
    for reason in re.findall(r'(?:MALFORMED, |INVALID, claims, |reason=)"([a-z_]+)"', policy):
        assert reason in VERIFICATION_REASONS, reason


def test_every_refresh_refusal_has_its_outcome() -> None:
    """GrantError reasons raised by the refresh grant each map to a named outcome."""
    from pyramid_jwtnode.integration.revocation import _REFUSALS

    for reason in _REFUSALS.values():
        assert refresh_outcome(reason) in REFRESH_OUTCOMES - {"invalid"}, reason


def test_the_docs_list_the_vocabularies() -> None:
    """docs/observability.rst lists exactly the words each label can take."""
    text = (ROOT / "docs" / "observability.rst").read_text()

    def listed(label: str) -> set[str]:
        block = text.split(f".. _{label}:", 1)[1].split("\n\n", 2)[1]
        return set(re.findall(r"``([a-z_0-9]+)``", block))

    assert listed("metrics-reasons") == VERIFICATION_REASONS | {"other"}
    assert listed("metrics-refresh-outcomes") == REFRESH_OUTCOMES
    assert listed("metrics-fetch-outcomes") == FETCH_OUTCOMES | {"other"}


@pytest.mark.parametrize(("settings", "expected"), [
    ({}, None),
    ({"jwt.metrics": "false"}, None),
    ({"jwt.metrics": "true"}, MetricsSettings()),
    ({"jwt.metrics": True}, MetricsSettings()),
    ({"jwt.metrics_route": "/metrics"}, MetricsSettings("/metrics")),
    ({"jwt.metrics": "on", "jwt.metrics_route": " /m ", "jwt.metrics_token_env": "SCRAPE"},
     MetricsSettings("/m", "SCRAPE")),
    ({"jwt.metrics": "", "jwt.metrics_route": ""}, None),
])
def test_metrics_settings(settings: dict[str, Any], expected: MetricsSettings | None) -> None:
    assert metrics_from_settings(settings) == expected


@pytest.mark.parametrize(("settings", "message"), [
    ({"jwt.metrics": "yes please"}, "jwt.metrics must be true or false. Fix: give true or false."),
    ({"jwt.metrics_route": "metrics"}, "jwt.metrics_route must be a URL path starting with /"),
    ({"jwt.metrics_route": "/m", "jwt.metrics_token_env": "MY-TOKEN"},
     "jwt.metrics_token_env must be the name of an environment variable"),
    ({"jwt.metrics": "false", "jwt.metrics_route": "/metrics"},
     "jwt.metrics = false, but jwt.metrics_route is set"),
    ({"jwt.metrics": "true", "jwt.metrics_token_env": "SCRAPE"},
     "jwt.metrics_token_env is set but jwt.metrics_route is not"),
])
def test_metrics_settings_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        metrics_from_settings(settings)
    assert message in str(info.value)


# -- wiring: a real Configurator ------------------------------------------------------------

API = {"jwt.configs": "api", "jwt.security_policy": "api", "jwt.api.algorithm": "HS256",
       "jwt.api.secret": HS256_SECRET, "jwt.api.expires_in": "300", "jwt.api.revocation_store": "memory",
       "jwt.api.refresh_expires_in": "3600", "jwt.api.token_route": "/token",
       "jwt.api.payload": "tests.test_metrics:alice", "jwt.api.refresh_route": "/refresh",
       "jwt.api.logout_route": "/logout", "jwt.metrics_route": "/metrics"}


class Root:
    __acl__ = [(Allow, Authenticated, "read")]

    def __init__(self, request: Any) -> None:
        pass


def alice(request: Any) -> dict[str, str]:
    return {"sub": "alice"}


def me(request: Request) -> dict[str, Any]:
    return {"user": request.authenticated_userid}


def build(settings: dict[str, Any], **metrics: Any) -> Configurator:
    config = Configurator(settings=settings, root_factory=Root)
    config.include("pyramid_jwtnode")
    if metrics:
        config.add_jwt_metrics(**metrics)
    config.add_route("me", "/me")
    config.add_view(me, route_name="me", permission="read", renderer="json")
    return config


def app_with(settings: dict[str, Any], **metrics: Any) -> TestApp:
    return TestApp(build(settings, **metrics).make_wsgi_app())


def samples(app: TestApp, path: str = "/metrics", **kw: Any) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """What the metrics route serves, as Prometheus would parse it (``_created`` left out)."""
    text = app.get(path, **kw).text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if not s.name.endswith("_created")}


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def verifications(found: Any, config: str = "api") -> dict[tuple[str, str], float]:
    return {(dict(labels)["result"], dict(labels)["reason"]): v for (name, labels), v in found.items()
            if name == "pyramid_jwtnode_verifications_total" and dict(labels)["config"] == config}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_without_metrics_nothing_is_counted() -> None:
    settings = {k: v for k, v in API.items() if k != "jwt.metrics_route"}
    config = build(settings)
    app = TestApp(config.make_wsgi_app())
    runtime = get_jwt_runtime(config.registry, "api")
    assert runtime.meter is None and runtime.issuer is not None and runtime.issuer.on_issue is None
    assert runtime.revocation is not None and runtime.revocation.on_refresh is None
    policy = config.registry.queryUtility(__import__("pyramid.interfaces").interfaces.ISecurityPolicy)
    assert policy.meter is None
    app.get("/metrics", status=404)


@pytest.mark.slow
def test_without_metrics_prometheus_client_is_never_imported() -> None:
    """An app without metrics issues and verifies tokens without importing prometheus_client
    (a fresh interpreter)."""
    code = ("import sys\nfrom webtest import TestApp\nimport tests.test_metrics as t\n"
            "for name in [m for m in sys.modules if m.startswith('prometheus_client')]:\n"
            "    del sys.modules[name]  # the test module imports it for its own use\n"
            "s = {k: v for k, v in t.API.items() if k != 'jwt.metrics_route'}\n"
            "app = TestApp(t.build(s).make_wsgi_app())\n"
            "pair = app.post('/token').json\n"
            "app.get('/me', headers={'Authorization': 'Bearer ' + pair['access_token']})\n"
            "app.post('/refresh', {'grant_type': 'refresh_token', 'refresh_token': pair['refresh_token']})\n"
            "assert not [m for m in sys.modules if m.startswith('prometheus_client')]\n"
            "assert 'pyramid_jwtnode.integration.metrics' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_metrics_from_code_and_from_the_ini_are_the_same() -> None:
    settings = {k: v for k, v in API.items() if k != "jwt.metrics_route"}
    from_code = app_with(settings, route="/metrics")
    from_ini = app_with(API)
    for app in (from_code, from_ini):
        token = app.post("/token").json["access_token"]
        app.get("/me", headers=bearer(token))
        assert verifications(samples(app)) == {("accepted", "ok"): 1.0}
        intr = app.app.registry.introspector.get("jwt metrics", "jwt metrics")
        assert intr["route"] == "/metrics" and intr["token_env"] is None


def test_metrics_without_a_route_count_into_the_default_registry() -> None:
    """``jwt.metrics = true`` alone: prometheus_client's default registry, which the app's own
    exporter serves; every app of the process counts into it."""
    from prometheus_client import REGISTRY

    settings = {**{k: v for k, v in API.items() if k != "jwt.metrics_route"}, "jwt.metrics": "true"}
    labels = {"config": "api", "kind": "access"}
    before = REGISTRY.get_sample_value("pyramid_jwtnode_tokens_issued_total", labels) or 0
    app_with(settings).post("/token")
    app_with(settings).post("/token")
    assert REGISTRY.get_sample_value("pyramid_jwtnode_tokens_issued_total", labels) == before + 2


def test_metrics_count_into_the_registry_given() -> None:
    registry = CollectorRegistry()
    settings = {k: v for k, v in API.items() if k != "jwt.metrics_route"}
    app_with(settings, collector_registry=registry).post("/token")
    app = app_with(settings, collector_registry=registry, route="/metrics")  # the same registry: shared
    app.post("/token")
    assert registry.get_sample_value("pyramid_jwtnode_tokens_issued_total",
                                     {"config": "api", "kind": "access"}) == 2.0
    assert value(samples(app), "pyramid_jwtnode_tokens_issued_total", config="api", kind="access") == 2


def test_a_registry_with_foreign_metrics_of_our_names() -> None:
    from prometheus_client import Counter

    registry = CollectorRegistry()
    Counter("pyramid_jwtnode_refresh", "someone else's", registry=registry)
    with pytest.raises(ConfigurationError) as info:
        app_with({k: v for k, v in API.items() if k != "jwt.metrics_route"}, collector_registry=registry)
    assert "already holds metrics named pyramid_jwtnode_* that pyramid_jwtnode did not make" in str(info.value)


def test_metrics_twice_conflict() -> None:
    config = build(API, route="/other")  # the ini's jwt.metrics_route and the code's call
    with pytest.raises(ConfigurationConflictError):
        config.commit()


def test_two_apps_in_one_process_count_apart() -> None:
    one, two = app_with(API), app_with(API)
    one.post("/token")
    assert value(samples(one), "pyramid_jwtnode_tokens_issued_total", config="api", kind="access") == 1
    assert value(samples(two), "pyramid_jwtnode_tokens_issued_total", config="api", kind="access") == 0


def test_without_prometheus_client_start_up_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "pyramid_jwtnode.integration.metrics", raising=False)
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # import prometheus_client fails
    with pytest.raises(ConfigurationError) as info:
        app_with({**API, "jwt.metrics": "true"})
    assert ('jwt.metrics: metrics need prometheus_client, which is not installed. '
            'Fix: pip install "pyramid_jwtnode[metrics]"') in str(info.value)


def test_a_typo_in_the_metrics_settings_is_named() -> None:
    with pytest.raises(ConfigurationError) as info:
        app_with({**API, "jwt.metric": "true"})
    assert "did you mean jwt.metrics?" in str(info.value)


def test_a_route_that_is_not_a_path() -> None:
    with pytest.raises(ConfigurationError) as info:
        build({k: v for k, v in API.items() if k != "jwt.metrics_route"}, route="metrics")
    assert "add_jwt_metrics(route=...) must be a URL path starting with /" in str(info.value)


def test_a_missing_multiprocess_directory_stops_start_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pyramid_jwtnode.integration import metrics

    monkeypatch.setattr(metrics, "multiprocess_dir", lambda: str(tmp_path / "gone"))
    with pytest.raises(ConfigurationError) as info:
        app_with(API)
    assert "PROMETHEUS_MULTIPROC_DIR names a directory that does not exist" in str(info.value)


# -- the scraper's token ------------------------------------------------------------------------

SCRAPER = "s3cr3t-scrape-token-0123456789"


def test_the_token_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_TEST_SCRAPE", SCRAPER)
    app = app_with({**API, "jwt.metrics_token_env": "JWT_TEST_SCRAPE"})
    for headers in ({}, bearer("wrong"), bearer(SCRAPER + "x"), {"Authorization": f"Basic {SCRAPER}"},
                    bearer("ü")):
        answer = app.get("/metrics", headers=headers, status=404)
        assert SCRAPER not in answer.text and "pyramid_jwtnode" not in answer.text
    answer = app.get("/metrics", headers=bearer(SCRAPER))
    assert answer.headers["Content-Type"].startswith("text/plain; version=")
    assert answer.headers["Cache-Control"] == "no-store"
    assert "pyramid_jwtnode_verifications_total" in answer.text
    # the scraper's token is no user's token: nothing was verified
    assert verifications(samples(app, headers=bearer(SCRAPER))) == {}
    app.post("/metrics", headers=bearer(SCRAPER), status=405)


@pytest.mark.parametrize("value", [None, "", "short"])
def test_the_token_must_be_there_at_start_up(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("JWT_TEST_SCRAPE", raising=False)
    else:
        monkeypatch.setenv("JWT_TEST_SCRAPE", value)
    with pytest.raises(ConfigurationError) as info:
        app_with({**API, "jwt.metrics_token_env": "JWT_TEST_SCRAPE"})
    message = str(info.value)
    assert ("jwt.metrics_token_env names the environment variable JWT_TEST_SCRAPE, which is not set or "
            "holds fewer than 16 characters") in message
    assert value is None or not value or value not in message.replace("JWT_TEST_SCRAPE", "")


# -- what is counted, over HTTP ----------------------------------------------------------------


def test_verifications_by_result_and_reason() -> None:
    clock = Clock(NOW)
    app = app_with({**API, "jwt.clock": clock})
    token = app.post("/token").json["access_token"]
    app.get("/me", headers=bearer(token))
    app.get("/me", headers=bearer(token[:-2] + ("AA" if not token.endswith("AA") else "BB")), status=401)
    app.get("/me", headers=bearer("not-a-token"), status=401)
    app.get("/me", headers={"Authorization": "Bearer"}, status=400)
    app.get("/me", headers={"Authorization": "Bearer a b"}, status=400)
    app.get("/me", status=401)  # no token: nothing verified, nothing counted
    app.post("/logout", headers=bearer(token))
    app.get("/me", headers=bearer(token), status=401)
    other = jwt.encode({"sub": "mallory", "iat": NOW, "exp": NOW + 60}, OTHER_SECRET, algorithm="HS256")
    app.get("/me", headers=bearer(other), status=401)
    clock.advance(3600)
    app.get("/me", headers=bearer(app.post("/token").json["access_token"]))
    expired = jwt.encode({"sub": "alice", "iat": NOW, "exp": NOW + 60, "jti": "j"}, HS256_SECRET, algorithm="HS256")
    app.get("/me", headers=bearer(expired), status=401)
    found = samples(app)
    assert verifications(found) == {
        ("accepted", "ok"): 2, ("refused", "bad_signature"): 2, ("refused", "segments"): 1,
        ("refused", "empty_token"): 1, ("refused", "several_tokens"): 1, ("refused", "revoked"): 1,
        ("refused", "expired"): 1,
    }
    assert value(found, "pyramid_jwtnode_verification_seconds_count", config="api") == 9
    assert value(found, "pyramid_jwtnode_verification_seconds_bucket", config="api", le="+Inf") == 9
    assert 0 < value(found, "pyramid_jwtnode_verification_seconds_sum", config="api") < 9


def test_each_config_counts_its_own() -> None:
    """With two configs, a refusal is counted for the config the token was chosen for."""
    settings = {"jwt.configs": "a b", "jwt.security_policy": "a b", "jwt.metrics": "true",
                "jwt.metrics_route": "/metrics",
                **{f"jwt.{n}.{k}": v for n, kid in (("a", "ka"), ("b", "kb")) for k, v in (
                    ("algorithm", "HS256"), ("secret", (n * 40)), ("expires_in", "60"), ("kid", kid))}}
    app = app_with(settings)
    runtimes = {n: get_jwt_runtime(app.app.registry, n) for n in "ab"}
    token_b = runtimes["b"].issuer.issue({"sub": "bob"}).token  # type: ignore[union-attr]
    app.get("/me", headers=bearer(token_b))
    forged_b = jwt.encode({"sub": "bob", "exp": int(time.time()) + 60}, "z" * 40, algorithm="HS256",
                          headers={"kid": "kb"})
    app.get("/me", headers=bearer(forged_b), status=401)
    app.get("/me", headers={"Authorization": "Bearer"}, status=400)  # no token to choose by: the first
    found = samples(app)
    assert verifications(found, "b") == {("accepted", "ok"): 1, ("refused", "bad_signature"): 1}
    assert verifications(found, "a") == {("refused", "empty_token"): 1}


def test_an_unreachable_store_is_counted() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = app_with({**API, "jwt.api.revocation_store": f"redis://127.0.0.1:{port}/0",
                    "jwt.api.store_prefix": "metrics:"})
    token = get_jwt_runtime(app.app.registry).issuer.issue({"sub": "alice"}).token  # type: ignore[union-attr]
    app.get("/me", headers=bearer(token), status=503)
    assert verifications(samples(app)) == {("refused", "store_unavailable"): 1}


def test_tokens_issued_by_kind() -> None:
    app = app_with(API)
    pair = app.post("/token").json
    app.post("/refresh", {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]})
    found = samples(app)
    assert value(found, "pyramid_jwtnode_tokens_issued_total", config="api", kind="access") == 2
    assert value(found, "pyramid_jwtnode_tokens_issued_total", config="api", kind="refresh") == 2


def remembering(request: Request) -> Any:
    from pyramid.response import Response
    from pyramid.security import remember

    if request.params.get("how") == "create_jwt":
        return {"token": request.create_jwt({"sub": "dave"}, config="plain")}
    response = Response("ok")
    response.headerlist.extend(remember(request, "carol", jwt_config="web"))
    return response


def test_tokens_from_create_jwt_and_remember_are_counted() -> None:
    settings = {"jwt.configs": "plain web", "jwt.security_policy": "web", "jwt.metrics": "true",
                "jwt.metrics_route": "/metrics",
                "jwt.plain.algorithm": "HS256", "jwt.plain.secret": HS256_SECRET, "jwt.plain.expires_in": "60",
                "jwt.web.algorithm": "HS256", "jwt.web.secret": OTHER_SECRET, "jwt.web.expires_in": "60",
                "jwt.web.token_location": "cookie", "jwt.web.cookie_secure": "false",
                "jwt.web.revocation_store": "memory", "jwt.web.refresh_expires_in": "600",
                "jwt.web.refresh_route": "/web/refresh"}
    config = build(settings)
    config.add_route("login", "/login")
    config.add_view(remembering, route_name="login", renderer="json")
    app = TestApp(config.make_wsgi_app())
    app.get("/login", {"how": "create_jwt"})
    app.get("/login")
    found = samples(app)
    assert value(found, "pyramid_jwtnode_tokens_issued_total", config="plain", kind="access") == 1
    assert value(found, "pyramid_jwtnode_tokens_issued_total", config="web", kind="access") == 1
    assert value(found, "pyramid_jwtnode_tokens_issued_total", config="web", kind="refresh") == 1


def refresh(app: TestApp, token: str, status: int = 200) -> Any:
    return app.post("/refresh", {"grant_type": "refresh_token", "refresh_token": token}, status=status)


def refresh_counts(app: TestApp) -> dict[str, float]:
    return {dict(labels)["outcome"]: v for (name, labels), v in samples(app).items()
            if name == "pyramid_jwtnode_refresh_total"}


def test_refresh_outcomes() -> None:
    clock = Clock(NOW)
    app = app_with({**API, "jwt.clock": clock, "jwt.api.refresh_reuse_interval": "10",
                    "jwt.api.refresh_max_age": "7200", "jwt.api.leeway": "60"})
    first = app.post("/token").json["refresh_token"]
    second = refresh(app, first).json["refresh_token"]            # rotated
    refresh(app, first)                                           # retried: within the grace
    clock.advance(11)
    refresh(app, first, status=400)                               # reuse: the family ends
    refresh(app, second, status=400)                              # revoked: it had ended
    pair = app.post("/token").json
    app.post("/logout", headers=bearer(pair["access_token"]))
    refresh(app, pair["refresh_token"], status=400)               # revoked by the logout
    old = app.post("/token").json["refresh_token"]
    clock.advance(3700)
    refresh(app, old, status=400)                                 # expired: its exp passed
    refresh(app, "x.y.z", status=400)                             # invalid
    live = app.post("/token").json["refresh_token"]
    for _ in range(2):
        clock.advance(3000)
        live = refresh(app, live).json["refresh_token"]           # rotated, twice
    clock.advance(1230)  # past the family's 7200 s, inside the token's exp plus leeway
    refresh(app, live, status=400)                                # family_too_old
    subject = app.post("/token").json["refresh_token"]
    get_jwt_runtime(app.app.registry).revocation.revoke_subject("alice")  # type: ignore[union-attr]
    refresh(app, subject, status=400)                             # subject_revoked
    assert refresh_counts(app) == {"rotated": 3, "retried": 1, "reuse": 1, "revoked": 2, "expired": 1,
                                   "invalid": 1, "family_too_old": 1, "subject_revoked": 1}


def test_a_refused_refresh_hands_out_no_token() -> None:
    """The refresh grant signs the new access token before the rotation: one the rotation
    refuses is thrown away, and not counted as issued."""
    app = app_with(API)
    pair = app.post("/token").json
    refresh(app, pair["refresh_token"])
    refresh(app, pair["refresh_token"], status=400)  # reuse: an access token was signed, then dropped
    found = samples(app)
    assert value(found, "pyramid_jwtnode_tokens_issued_total", config="api", kind="access") == 2
    assert value(found, "pyramid_jwtnode_tokens_issued_total", config="api", kind="refresh") == 2


def check_again(request: Request, payload: Any) -> Any:
    what = request.headers.get("X-Test")
    if what == "refuse":
        return None
    if what == "forbid":
        raise HTTPForbidden()
    if what == "raise":
        raise RuntimeError("database down")
    if what == "other-user":
        return {"sub": "mallory"}
    return payload


def test_refresh_outcomes_of_the_refresh_payload_callable() -> None:
    app = app_with({**API, "jwt.api.refresh_payload": "tests.test_metrics:check_again"})
    for what, status in (("refuse", 400), ("forbid", 400), ("raise", 500), ("other-user", 400)):
        token = app.post("/token").json["refresh_token"]
        app.post("/refresh", {"grant_type": "refresh_token", "refresh_token": token},
                 headers={"X-Test": what}, status=status)
    assert refresh_counts(app) == {"refused": 2, "error": 1, "subject_changed": 1}


@pytest.fixture
def idp() -> Iterator[DocumentServer]:
    server = DocumentServer()
    yield server
    server.close()


def test_key_set_fetches(idp: DocumentServer) -> None:
    key = rsa_key()
    app = app_with({"jwt.configs": "idp", "jwt.security_policy": "idp", "jwt.idp.algorithm": "RS256",
                    "jwt.idp.expires_in": "300", "jwt.idp.issuer": "https://idp.example",
                    "jwt.idp.jwks_url": idp.url("/jwks"), "jwt.metrics_route": "/metrics"})
    remote = get_jwt_runtime(app.app.registry).keys.remote
    assert remote is not None
    idp.answers["/jwks"] = Answer({"error": "down"}, status=503)
    app.get("/me", headers=bearer(idp_token(key, "k1")), status=503)
    idp.answers["/jwks"] = Answer(b"<html>", headers={"Content-Type": "text/html"})
    remote._attempted = float("-inf")  # the refetch interval has passed
    app.get("/me", headers=bearer(idp_token(key, "k1")), status=503)
    idp.answers["/jwks"] = Answer({"keys": [public_jwk(key, "k1")]})
    remote._attempted = float("-inf")
    app.get("/me", headers=bearer(idp_token(key, "k1")))       # recovered
    remote._attempted = float("-inf")
    app.get("/me", headers=bearer(idp_token(key, "k2")), status=401)  # unknown kid: fetched again
    found = samples(app)
    fetches = {dict(labels)["outcome"]: v for (name, labels), v in found.items()
               if name == "pyramid_jwtnode_keyset_fetches_total"}
    assert fetches == {"http_error": 1, "not_json": 1, "ok": 2}
    assert verifications(found, "idp") == {("refused", "key_set_unavailable"): 2, ("accepted", "ok"): 1,
                                           ("refused", "unknown_kid"): 1}
    assert not any(idp.url("/") in "".join(dict(labels).values()) for _, labels in found)


def test_a_fetch_the_network_refuses_is_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = app_with({"jwt.configs": "idp", "jwt.security_policy": "idp", "jwt.idp.algorithm": "RS256",
                    "jwt.idp.expires_in": "300", "jwt.idp.issuer": "https://idp.example",
                    "jwt.idp.jwks_url": f"http://127.0.0.1:{port}/jwks", "jwt.metrics_route": "/metrics"})
    app.get("/me", headers=bearer(idp_token(rsa_key(), "k1")), status=503)
    assert value(samples(app), "pyramid_jwtnode_keyset_fetches_total", config="idp",
                 outcome="connection_error") == 1


# -- no token byte in any label: a property ----------------------------------------------------

_ALLOWED = {
    "config": {"api"}, "result": {"accepted", "refused"},
    "reason": VERIFICATION_REASONS | {"ok", "other"}, "kind": TOKEN_KINDS,
    "outcome": REFRESH_OUTCOMES | FETCH_OUTCOMES, "le": None,
}
_TEXT = st.text(alphabet=st.characters(codec="latin-1"), max_size=300)
_TOKENISH = st.lists(st.text(alphabet=string.ascii_letters + string.digits + "-_=+/%", max_size=120),
                     min_size=1, max_size=5).map(".".join)


@pytest.fixture(scope="module")
def property_app() -> TestApp:
    return app_with({**API, "jwt.api.query_token": "true"})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(token="reason", scheme="Bearer", where="header")  # a word of the fixed text (it failed CI once)
@given(token=st.one_of(_TOKENISH, _TEXT), scheme=st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", ""]),
       where=st.sampled_from(["header", "query", "refresh", "both"]))
def test_no_token_byte_reaches_a_label(property_app: TestApp, token: str, scheme: str, where: str) -> None:
    app = property_app
    header = f"{scheme} {token}".strip()
    if where in ("header", "both"):
        app.get("/me", headers={"Authorization": header}, expect_errors=True)
    if where in ("query", "both"):
        app.get("/me", {"access_token": token}, expect_errors=True)
    if where == "refresh":
        app.post("/refresh", {"grant_type": "refresh_token", "refresh_token": token}, expect_errors=True)
    text = app.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for label, word in sample.labels.items():
                allowed = _ALLOWED[label]
                assert allowed is None or word in allowed, (label, word)
    # Nor anywhere else in what the route serves, unless the "token" is part of the fixed text
    # itself (a HELP line, a metric's name, a label word: "reason" is all three).
    fixed = "\n".join(line for line in text.splitlines() if line.startswith("#")) + " ".join(
        word for words in _ALLOWED.values() if words for word in words)
    if len(token.strip()) >= 6 and token.strip() not in fixed:
        assert token.strip() not in text


# -- the example app ---------------------------------------------------------------------------


def test_the_example_app_serves_metrics_in_development() -> None:
    from pyramid.paster import get_app

    app = TestApp(get_app(str(ROOT / "example_app" / "development.ini")))
    token = app.get("/jwt/generate").json["access_token"]
    app.get("/jwt/offices", headers=bearer(token))
    app.get("/jwt/admin", headers=bearer(token), status=403)
    found = samples(app)
    assert verifications(found, "igniteadmin") == {("accepted", "ok"): 2}
    assert value(found, "pyramid_jwtnode_tokens_issued_total", config="igniteadmin", kind="access") == 1


def test_the_example_app_does_not_serve_metrics_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyramid.paster import get_app

    monkeypatch.setenv("IGNITE_JWT_SECRET", "p" * 48)
    app = TestApp(get_app(str(ROOT / "example_app" / "production.ini")))
    app.get("/metrics", status=404)


def test_the_docs_production_example(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/examples/metrics.ini: the route answers the scraper's token only."""
    from pyramid.paster import get_app

    monkeypatch.setenv("IGNITE_JWT_SECRET", "p" * 48)
    monkeypatch.setenv("METRICS_TOKEN", SCRAPER)
    app = TestApp(get_app(str(ROOT / "docs" / "examples" / "metrics.ini")))
    token = app.get("/jwt/generate").json["access_token"]
    app.get("/jwt/offices", headers=bearer(token))
    app.get("/metrics", status=404)
    found = samples(app, headers=bearer(SCRAPER))
    assert verifications(found, "igniteadmin") == {("accepted", "ok"): 1}


def test_the_public_names_stay_narrow() -> None:
    assert "add_jwt_metrics" not in pyramid_jwtnode.__all__
    assert "metrics" not in dir(meter_module)
    assert json.dumps(sorted(FETCH_OUTCOMES))  # plain words


# -- several processes: prometheus_client's multiprocess mode ----------------------------------

_WORKER = """
import sys
from webtest import TestApp
import tests.test_metrics as t
app = TestApp(t.build(t.API).make_wsgi_app())
for _ in range(int(sys.argv[1])):
    pair = app.post('/token').json
    app.get('/me', headers={'Authorization': 'Bearer ' + pair['access_token']})
    app.get('/me', headers={'Authorization': 'Bearer x.y.z'}, status=401)
    app.post('/refresh', {'grant_type': 'refresh_token', 'refresh_token': pair['refresh_token']})
if len(sys.argv) > 2:
    sys.stdout.write(app.get('/metrics').text)
"""


@pytest.mark.slow
def test_two_processes_writing_to_one_directory_add_up(tmp_path: Path) -> None:
    env = {**__import__("os").environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    workers = [subprocess.Popen([sys.executable, "-c", _WORKER, str(n)], cwd=ROOT, env=env,
                                stderr=subprocess.PIPE, text=True) for n in (3, 5)]  # side by side
    for worker in workers:
        _, errors = worker.communicate(timeout=60)
        assert worker.returncode == 0, errors
    assert len({p.name for p in tmp_path.glob("counter_*.db")}) == 2  # a file per process
    reader = subprocess.run([sys.executable, "-c", _WORKER, "0", "print"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert reader.returncode == 0, reader.stderr
    found = {(s.name, frozenset(s.labels.items())): s.value
             for family in text_string_to_metric_families(reader.stdout) for s in family.samples}
    assert value(found, "pyramid_jwtnode_tokens_issued_total", config="api", kind="access") == 16
    assert value(found, "pyramid_jwtnode_tokens_issued_total", config="api", kind="refresh") == 16
    assert verifications(found) == {("accepted", "ok"): 8, ("refused", "bad_base64"): 8}
    assert value(found, "pyramid_jwtnode_refresh_total", config="api", outcome="rotated") == 8
    assert value(found, "pyramid_jwtnode_verification_seconds_count", config="api") == 16


def _load(get: Any, requests: int) -> None:
    """``requests`` token requests and verified uses, eight at a time (so both workers serve)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(_: int) -> None:
        status, body = get("/jwt/generate")
        assert status == 200
        token = json.loads(body)["access_token"]
        assert get("/jwt/offices", {"Authorization": f"Bearer {token}"})[0] == 200

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(requests)))


def _served_metrics(get: Any) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    assert get("/metrics")[0] == 404  # the scraper's token is needed
    status, body = get("/metrics", {"Authorization": f"Bearer {SCRAPER}"})
    assert status == 200
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


@pytest.mark.slow
def test_gunicorn_with_two_workers_adds_their_counts_up(tmp_path: Path) -> None:
    """docs/examples/metrics.ini under the documented gunicorn command, two workers."""
    from .test_gunicorn import SECRET, Gunicorn, get

    directory = tmp_path / "metrics"
    directory.mkdir()
    server = Gunicorn(tmp_path, ("--paste", "docs/examples/metrics.ini"), WEB_CONCURRENCY="2",
                      IGNITE_JWT_SECRET=SECRET, METRICS_TOKEN=SCRAPER, PROMETHEUS_MULTIPROC_DIR=str(directory))
    try:
        server.wait_ready(2)
        workers = server.workers()
        _load(lambda path, headers={}: get(server.port, path, **headers), 60)
        writers = {int(p.stem.rpartition("_")[2]) for p in directory.glob("counter_*.db")}
        assert writers == workers  # both workers counted
        found = _served_metrics(lambda path, headers={}: get(server.port, path, **headers))
    finally:
        server.stop()
    assert value(found, "pyramid_jwtnode_tokens_issued_total", config="igniteadmin", kind="access") == 60
    assert verifications(found, "igniteadmin") == {("accepted", "ok"): 60}
    assert SECRET not in server.output() and SCRAPER not in server.output()


@pytest.mark.slow
@pytest.mark.parametrize("given", [True, False], ids=["directory given", "directory made by serve"])
def test_granian_with_two_workers_adds_their_counts_up(tmp_path: Path, given: bool) -> None:
    """docs/examples/metrics.ini on the production server (granian), two workers; without
    PROMETHEUS_MULTIPROC_DIR, serve makes a directory of its own (and removes it at the end)."""
    import os

    from .test_granian import SECRET, free_port

    directory = tmp_path / "metrics"
    directory.mkdir()
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "2",
           "IGNITE_JWT_SECRET": SECRET, "METRICS_TOKEN": SCRAPER, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    if not given:
        del env["PROMETHEUS_MULTIPROC_DIR"]
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pyramid_jwtnode.tools.granian import serve; serve(sys.argv[1])",
         str(ROOT / "docs" / "examples" / "metrics.ini")], env=env, cwd=tmp_path, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True)

    def get(path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        from .test_gunicorn import get as plain_get

        return plain_get(port, path, **(headers or {}))

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if get("/jwt/generate")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        _load(get, 60)
        if not given:
            made = re.search(r"added up in (\S+) \(PROMETHEUS_MULTIPROC_DIR\)", (tmp_path / "serve.log").read_text())
            assert made is not None, (tmp_path / "serve.log").read_text()
            directory = Path(made.group(1))
        writers = {p.stem.rpartition("_")[2] for p in directory.glob("counter_*.db")}
        found = _served_metrics(get)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:  # never leave a server behind
            os.killpg(process.pid, 9)
            process.wait(10)
        log.close()
    assert len(writers) == 2, writers  # both workers counted
    assert given or not directory.exists()  # serve's own directory is gone
    assert "each scrape shows one worker's counts" not in (tmp_path / "serve.log").read_text()
    # the readiness probe's token counts too
    assert value(found, "pyramid_jwtnode_tokens_issued_total", config="igniteadmin", kind="access") >= 61
    assert verifications(found, "igniteadmin") == {("accepted", "ok"): 60}


def test_a_verify_route_counts_like_the_policy() -> None:
    settings = {**{k: v for k, v in API.items() if k != "jwt.security_policy"}, "jwt.api.verify_route": "/verify"}
    app = app_with(settings)
    token = app.post("/token").json["access_token"]
    app.get("/verify", headers=bearer(token))
    app.get("/verify", headers=bearer("a.b"), status=401)
    assert verifications(samples(app)) == {("accepted", "ok"): 1, ("refused", "segments"): 1}


def test_the_docs_metrics_in_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/examples/metrics_app.py: the settings' route and token, from code."""
    import importlib.util

    path = ROOT / "docs" / "examples" / "metrics_app.py"
    spec = importlib.util.spec_from_file_location("metrics_app_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "metrics_app_example", module)
    spec.loader.exec_module(module)
    monkeypatch.setenv("METRICS_TOKEN", SCRAPER)
    settings = {k: v for k, v in API.items() if k != "jwt.metrics_route"}
    with Configurator(settings=settings, root_factory=Root) as config:
        config.include(module.includeme)
    app = TestApp(config.make_wsgi_app())
    app.post("/token")
    app.get("/metrics", status=404)
    found = samples(app, headers=bearer(SCRAPER))
    assert value(found, "pyramid_jwtnode_tokens_issued_total", config="api", kind="access") == 1


@pytest.mark.parametrize(("workers", "directory", "warned"), [(2, None, True), (1, None, False), (2, "/x", False)])
def test_serve_warns_when_several_workers_would_count_apart(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, workers: int, directory: str | None,
        warned: bool) -> None:
    """An app counting metrics (declared in code, which serve cannot see before loading it) under
    several workers without PROMETHEUS_MULTIPROC_DIR: serve says each scrape sees one worker."""
    from pyramid_jwtnode.tools import granian

    monkeypatch.setattr(granian, "_loaded", app_with(API).app)
    monkeypatch.delenv("prometheus_multiproc_dir", raising=False)
    if directory is None:
        monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    else:
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", directory)
    with caplog.at_level("WARNING", logger="pyramid_jwtnode.tools.granian"):
        granian._warn_single_process_metrics(workers)
    assert ("each scrape shows one worker's counts" in caplog.text) is warned
