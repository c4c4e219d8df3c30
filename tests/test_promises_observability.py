"""Promises of docs/observability.rst ("Prometheus metrics", "The debug toolbar panel") and of
the jwt.metrics* entries of docs/settings.rst, each checked through a real app (webtest).

Written from the docs' sentences, not from the code: where the two disagree, the test follows
the docs, and was marked ``xfail(strict=True)`` until the code (or the docs) changed.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request
from pyramid.response import Response
from webtest import TestApp

from pyramid_jwtnode import get_jwt_runtime
from pyramid_jwtnode.tools.testing import Clock

pytest.importorskip("pyramid_debugtoolbar")

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "docs" / "observability.rst").read_text()
NOW = 1767225600
SECRET = "promise-secret-that-is-at-least-32-bytes-long"
SECRET_B = "b" * 40
SCRAPE = "a-long-random-scraper-token-0123456789"
LOCAL = {"REMOTE_ADDR": "127.0.0.1"}
ME = __name__


# -- the docs' own words ---------------------------------------------------------------------


def _listed(anchor: str) -> set[str]:
    """The ``words`` of the paragraph after ``.. _<anchor>:`` in observability.rst."""
    block = DOCS.split(f".. _{anchor}:", 1)[1].strip().split("\n\n", 1)[0]
    return set(re.findall(r"``([a-z_0-9]+)``", block))


DOC_REASONS = _listed("metrics-reasons")
DOC_REFRESH = _listed("metrics-refresh-outcomes")
DOC_FETCH = _listed("metrics-fetch-outcomes")
DOC_RESULTS = {"accepted", "refused"}
DOC_KINDS = {"access", "refresh"}
DOC_METRICS = {
    "pyramid_jwtnode_verifications_total": {"config", "result", "reason"},
    "pyramid_jwtnode_verification_seconds": {"config"},
    "pyramid_jwtnode_tokens_issued_total": {"config", "kind"},
    "pyramid_jwtnode_refresh_total": {"config", "outcome"},
    "pyramid_jwtnode_keyset_fetches_total": {"config", "outcome"},
}


def test_the_docs_lists_parse() -> None:
    assert {"expired", "bad_signature", "empty_token", "other", "store_unavailable"} <= DOC_REASONS
    assert {"rotated", "retried", "reuse", "subject_changed", "error", "invalid"} <= DOC_REFRESH
    assert {"ok", "timeout", "http_error", "connection_error", "other"} <= DOC_FETCH


# -- apps --------------------------------------------------------------------------------------


class Root:
    __acl__ = [(Allow, "admin", "write"), (Allow, Authenticated, "read")]

    def __init__(self, request: Any) -> None:
        pass


def alice(request: Any) -> dict[str, Any]:
    return {"sub": "alice", "roles": ["reader"]}


def same_user(request: Any, payload: Any) -> Any:
    return payload


def other_user(request: Any, payload: Any) -> Any:
    return {"sub": "mallory"}


def refuse(request: Any, payload: Any) -> Any:
    return None


def explode(request: Any, payload: Any) -> Any:
    raise RuntimeError("refresh_payload broke")


def nobody(request: Any, claims: Any) -> Any:
    return None


def asks_many_times(request: Request) -> Any:
    """A view that asks who made the request again and again."""
    seen = [request.authenticated_userid for _ in range(3)]
    seen += [request.identity is not None for _ in range(2)]
    seen += [bool(request.has_permission("read")) for _ in range(2)]
    return {"seen": repr(seen)}


def logout(request: Request) -> Any:
    return {"revoked": request.revoke_jwt()}


def login(request: Request) -> Response:
    if request.params.get("how") == "create_jwt":
        response = Response()
        response.json_body = {"token": request.create_jwt({"sub": "dave"})}
        return response
    from pyramid.security import remember

    response = Response("ok")
    response.headerlist.extend(remember(request, "carol"))
    return response


def api_settings(**extra: Any) -> dict[str, Any]:
    settings = {
        "jwt.configs": "api", "jwt.security_policy": "api",
        "jwt.api.algorithm": "HS256", "jwt.api.secret": SECRET, "jwt.api.expires_in": "300",
        "jwt.api.principals_claim": "roles",
        "jwt.api.revocation_store": "memory", "jwt.api.refresh_expires_in": "3600",
        "jwt.api.token_route": "/token", "jwt.api.payload": f"{ME}:alice",
        "jwt.api.refresh_route": "/refresh",
    }
    settings.update(extra)
    return {k: v for k, v in settings.items() if v is not None}


def make_config(settings: dict[str, Any], toolbar: bool = False) -> Configurator:
    if toolbar:
        settings = {"debugtoolbar.includes": "pyramid_jwtnode.tools.debugtoolbar",
                    "debugtoolbar.intercept_exc": "false", **settings}
    config = Configurator(settings=settings, root_factory=Root)
    if toolbar:
        config.include("pyramid_debugtoolbar")
    config.include("pyramid_jwtnode")
    for name, permission in (("read", "read"), ("write", "write"), ("open", None)):
        config.add_route(name, f"/{name}")
        config.add_view(lambda request: {"ok": True}, route_name=name, renderer="json", permission=permission)
    config.add_route("many", "/many")
    config.add_view(asks_many_times, route_name="many", renderer="json", permission="read")
    config.add_route("logout", "/logout")
    config.add_view(logout, route_name="logout", renderer="json", permission="read", request_method="POST")
    return config


def make_app(settings: dict[str, Any], toolbar: bool = False, **metrics: Any) -> TestApp:
    config = make_config(settings, toolbar)
    if metrics:
        config.add_jwt_metrics(**metrics)
    return TestApp(config.make_wsgi_app(), extra_environ=LOCAL)


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if not s.name.endswith("_created")}


def scrape(app: TestApp, **kw: Any) -> Samples:
    return parse(app.get("/metrics", **kw).text)


def count(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def verifications(found: Samples) -> dict[tuple[str, str, str], float]:
    out = {}
    for (name, labels), v in found.items():
        if name == "pyramid_jwtnode_verifications_total":
            d = dict(labels)
            out[(d["config"], d["result"], d["reason"])] = v
    return out


def outcomes(found: Samples, name: str) -> dict[str, float]:
    return {dict(labels)["outcome"]: v for (n, labels), v in found.items() if n == name and v}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def issue(app: TestApp, config: str = "api", **payload: Any) -> str:
    runtime = get_jwt_runtime(app.app.registry, config)
    assert runtime.issuer is not None
    return runtime.issuer.issue(payload or {"sub": "ann", "roles": ["reader"]}).token


def refresh(app: TestApp, token: str, status: int | str = 200) -> Any:
    return app.post("/refresh", {"grant_type": "refresh_token", "refresh_token": token}, status=status)


# == Prometheus metrics ==========================================================================


def test_the_metrics_route_answers_get_in_prometheus_text_format() -> None:
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics"}))
    answer = app.get("/metrics", status=200)
    assert answer.content_type == "text/plain"
    assert "version=" in answer.headers["Content-Type"]
    names = {family.name for family in text_string_to_metric_families(answer.text)}
    assert names  # parsed as Prometheus's text format


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_another_method_on_the_metrics_route_gets_405(method: str) -> None:
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics"}))
    answer = app.request("/metrics", method=method, status="*")
    assert answer.status_int == 405


def test_the_five_metrics_and_their_labels_are_those_the_docs_list() -> None:
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics"}))
    pair = app.post("/token").json
    app.get("/read", headers=bearer(pair["access_token"]))
    refresh(app, pair["refresh_token"])
    text = app.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for documented, labels in DOC_METRICS.items():
        base = documented.removesuffix("_total")
        assert base in families, documented
        family = families[base]
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            assert set(sample.labels) - {"le"} == labels, (documented, sample)
    assert families["pyramid_jwtnode_verification_seconds"].type == "histogram"


def test_the_histogram_buckets_run_from_50_microseconds_to_5_seconds() -> None:
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics"}))
    app.get("/read", headers=bearer(issue(app)))
    found = scrape(app)
    bounds = sorted(float(dict(labels)["le"]) for (name, labels) in found
                    if name == "pyramid_jwtnode_verification_seconds_bucket" and dict(labels)["config"] == "api"
                    and dict(labels)["le"] != "+Inf")
    assert bounds[0] == pytest.approx(50e-6)
    assert bounds[-1] == pytest.approx(5.0)
    assert count(found, "pyramid_jwtnode_verification_seconds_count", config="api") == 1


def test_each_checked_token_is_counted_with_result_and_reason() -> None:
    clock = Clock(NOW)
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics", "jwt.clock": clock}))
    good = issue(app)
    app.get("/read", headers=bearer(good), status=200)
    forged = jwt.encode({"sub": "eve", "iat": NOW, "exp": NOW + 60}, "z" * 40, algorithm="HS256")
    app.get("/read", headers=bearer(forged), status=401)
    app.get("/read", headers=bearer("garbage"), status=401)
    expired = jwt.encode({"sub": "ann", "iat": NOW - 900, "exp": NOW - 600}, SECRET, algorithm="HS256")
    app.get("/read", headers=bearer(expired), status=401)
    assert verifications(scrape(app)) == {
        ("api", "accepted", "ok"): 1,
        ("api", "refused", "bad_signature"): 1,
        ("api", "refused", "segments"): 1,
        ("api", "refused", "expired"): 1,
    }


def test_a_request_without_a_token_is_not_counted() -> None:
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics"}))
    app.get("/read", status=401)
    app.get("/many", status=401)
    app.get("/open", status=200)
    found = scrape(app)
    assert verifications(found) == {}
    assert count(found, "pyramid_jwtnode_verification_seconds_count", config="api") == 0


def test_counted_once_per_request_however_often_the_app_asks() -> None:
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics"}))
    app.get("/many", headers=bearer(issue(app)), status=200)
    forged = jwt.encode({"sub": "eve", "exp": NOW + 10**9}, "z" * 40, algorithm="HS256")
    app.get("/many", headers=bearer(forged), status=401)
    found = scrape(app)
    assert verifications(found) == {("api", "accepted", "ok"): 1, ("api", "refused", "bad_signature"): 1}
    assert count(found, "pyramid_jwtnode_verification_seconds_count", config="api") == 2


def test_a_verify_route_checks_count_too() -> None:
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics", "jwt.api.verify_route": "/verify"}))
    app.get("/verify", headers=bearer(issue(app)), status=200)
    app.get("/verify", status=401)  # no token: not counted
    assert verifications(scrape(app)) == {("api", "accepted", "ok"): 1}


def test_tokens_issued_by_the_token_route_and_the_refresh_route() -> None:
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics"}))
    pair = app.post("/token").json
    found = scrape(app)
    assert count(found, "pyramid_jwtnode_tokens_issued_total", config="api", kind="access") == 1
    assert count(found, "pyramid_jwtnode_tokens_issued_total", config="api", kind="refresh") == 1
    refresh(app, pair["refresh_token"])
    found = scrape(app)
    assert count(found, "pyramid_jwtnode_tokens_issued_total", config="api", kind="access") == 2
    assert count(found, "pyramid_jwtnode_tokens_issued_total", config="api", kind="refresh") == 2
    kinds = {dict(labels)["kind"] for (name, labels), v in found.items()
             if name == "pyramid_jwtnode_tokens_issued_total"}
    assert kinds <= DOC_KINDS


def test_tokens_issued_by_create_jwt_and_remember() -> None:
    """``remember`` issues tokens for a cookie config (browser-clients.rst: bearer-only configs
    remember nothing), ``create_jwt`` for any config."""
    settings = {"jwt.configs": "web", "jwt.security_policy": "web", "jwt.metrics_route": "/metrics",
                "jwt.web.algorithm": "HS256", "jwt.web.secret": SECRET, "jwt.web.expires_in": "60",
                "jwt.web.token_location": "cookie", "jwt.web.cookie_secure": "false",
                "jwt.web.revocation_store": "memory", "jwt.web.refresh_expires_in": "600",
                "jwt.web.refresh_route": "/web/refresh"}
    config = make_config(settings)
    config.add_route("login", "/login")
    config.add_view(login, route_name="login")
    app = TestApp(config.make_wsgi_app())
    app.get("/login", {"how": "create_jwt"})
    found = scrape(app)
    assert count(found, "pyramid_jwtnode_tokens_issued_total", config="web", kind="access") == 1
    assert count(found, "pyramid_jwtnode_tokens_issued_total", config="web", kind="refresh") == 0
    assert "web_access" in app.get("/login").headers.get("Set-Cookie", "") + str(app.cookies)
    found = scrape(app)
    assert count(found, "pyramid_jwtnode_tokens_issued_total", config="web", kind="access") == 2
    assert count(found, "pyramid_jwtnode_tokens_issued_total", config="web", kind="refresh") == 1


def test_a_refresh_refused_after_its_pair_was_signed_counts_no_token() -> None:
    """reuse: the new access token is signed before the store refuses the rotation."""
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics"}))
    pair = app.post("/token").json
    refresh(app, pair["refresh_token"])
    before = scrape(app)
    refresh(app, pair["refresh_token"], status=400)  # reused: the family ends
    after = scrape(app)
    for kind in ("access", "refresh"):
        assert (count(after, "pyramid_jwtnode_tokens_issued_total", config="api", kind=kind)
                == count(before, "pyramid_jwtnode_tokens_issued_total", config="api", kind=kind) == 2)
    assert outcomes(after, "pyramid_jwtnode_refresh_total") == {"rotated": 1, "reuse": 1}


def test_a_refresh_whose_payload_names_another_user_counts_no_token() -> None:
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics", "jwt.api.refresh_payload": f"{ME}:other_user"}))
    pair = app.post("/token").json
    refresh(app, pair["refresh_token"], status=400)
    found = scrape(app)
    assert count(found, "pyramid_jwtnode_tokens_issued_total", config="api", kind="access") == 1
    assert count(found, "pyramid_jwtnode_tokens_issued_total", config="api", kind="refresh") == 1
    assert outcomes(found, "pyramid_jwtnode_refresh_total") == {"subject_changed": 1}


@pytest.mark.parametrize(("payload", "status", "outcome"), [
    ("same_user", 200, "rotated"),
    ("refuse", 400, "refused"),
    ("other_user", 400, "subject_changed"),
    ("explode", 500, "error"),
])
def test_refresh_outcomes_by_the_refresh_payload(payload: str, status: int, outcome: str) -> None:
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics", "jwt.api.refresh_payload": f"{ME}:{payload}"}))
    app.post("/token")
    token = app.post("/token").json["refresh_token"]
    refresh(app, token, status=status)
    found = outcomes(scrape(app), "pyramid_jwtnode_refresh_total")
    assert found == {outcome: 1}
    assert outcome in DOC_REFRESH


def test_refresh_outcomes_retried_reuse_revoked_expired_invalid() -> None:
    clock = Clock(NOW)
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics", "jwt.clock": clock,
                                   "jwt.api.refresh_reuse_interval": "10"}))
    first = app.post("/token").json["refresh_token"]
    second = refresh(app, first).json["refresh_token"]   # rotated
    refresh(app, first)                                  # retried, within the grace
    clock.advance(20)
    refresh(app, first, status=400)                      # reuse: an older token, the family ends
    refresh(app, second, status=400)                     # revoked: its family had ended
    old = app.post("/token").json["refresh_token"]
    clock.advance(4000)
    refresh(app, old, status=400)                        # expired
    refresh(app, "not.a.token", status=400)              # invalid
    found = outcomes(scrape(app), "pyramid_jwtnode_refresh_total")
    assert found == {"rotated": 1, "retried": 1, "reuse": 1, "revoked": 1, "expired": 1, "invalid": 1}
    assert set(found) <= DOC_REFRESH


def test_a_refused_refresh_is_not_a_refused_verification() -> None:
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics"}))
    refresh(app, "x.y.z", status=400)
    assert verifications(scrape(app)) == {}


ARBITRARY = [
    "", " ", "a b", "x.y.z", "eyJ.eyJ.", "eyJhbGciOiJub25lIn0.e30.", "ü.ä.ö", "a" * 9000,
    "eyJhbGciOiJIUzI1NiIsImtpZCI6IjxzY3JpcHQ-In0.eyJzdWIiOiJ4In0.c2ln",
    "....", "%00.%ff.%20", "${jndi:ldap://x}",
]


def test_every_label_is_a_config_name_or_a_documented_word() -> None:
    """"A label takes only a config's name or one of the words listed here"."""
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics", "jwt.api.query_token": "true"}))
    for value in ARBITRARY:
        try:
            app.get("/read", headers={"Authorization": f"Bearer {value}"}, status="*")
        except Exception:  # a header webtest cannot send
            pass
        app.get("/read", {"access_token": value}, status="*")
        app.get("/read", headers={"Authorization": f"Basic {value}"}, status="*")
        refresh(app, value, status="*")
    app.get("/read", {"access_token": ["a", "b"]}, status="*")
    app.get("/read", {"access_token": issue(app)}, headers=bearer(issue(app)), status="*")
    pair = app.post("/token").json
    refresh(app, pair["refresh_token"])
    refresh(app, pair["refresh_token"], status=400)
    words = {
        "result": DOC_RESULTS, "reason": DOC_REASONS | {"ok"}, "kind": DOC_KINDS,
    }
    found = scrape(app)
    seen_reasons = set()
    for (name, labels), _ in found.items():
        for label, value in labels:
            if label == "config":
                assert value == "api"
            elif label == "le":
                continue
            elif label == "outcome":
                allowed = DOC_REFRESH if name.startswith("pyramid_jwtnode_refresh") else DOC_FETCH
                assert value in allowed, (name, value)
            else:
                assert value in words[label], (name, label, value)
                if label == "reason":
                    seen_reasons.add(value)
    assert len(seen_reasons) >= 3


def test_the_route_turns_counting_on_and_serves_the_apps_own_registry() -> None:
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics"}))
    labels = {"config": "api", "kind": "access"}
    before = REGISTRY.get_sample_value("pyramid_jwtnode_tokens_issued_total", labels) or 0
    app.post("/token")
    assert count(scrape(app), "pyramid_jwtnode_tokens_issued_total", config="api", kind="access") == 1
    assert (REGISTRY.get_sample_value("pyramid_jwtnode_tokens_issued_total", labels) or 0) == before


@pytest.mark.parametrize("spelling", ["true", "yes", "on", "y", "t", "1", "TRUE", "Yes"])
def test_jwt_metrics_true_without_a_route_counts_into_the_default_registry(spelling: str) -> None:
    app = make_app(api_settings(**{"jwt.metrics": spelling}))
    labels = {"config": "api", "kind": "access"}
    before = REGISTRY.get_sample_value("pyramid_jwtnode_tokens_issued_total", labels) or 0
    app.post("/token")
    assert REGISTRY.get_sample_value("pyramid_jwtnode_tokens_issued_total", labels) == before + 1
    app.get("/metrics", status=404)  # no route: the app's own exporter serves it


def test_add_jwt_metrics_collector_registry_names_another_registry() -> None:
    registry = CollectorRegistry()
    labels = {"config": "api", "kind": "access"}
    before = REGISTRY.get_sample_value("pyramid_jwtnode_tokens_issued_total", labels) or 0
    app = make_app(api_settings(), collector_registry=registry)
    app.post("/token")
    assert registry.get_sample_value("pyramid_jwtnode_tokens_issued_total", labels) == 1
    assert (REGISTRY.get_sample_value("pyramid_jwtnode_tokens_issued_total", labels) or 0) == before


def test_apps_counting_into_one_registry_share_its_counts() -> None:
    registry = CollectorRegistry()
    one = make_app(api_settings(), collector_registry=registry)
    two = make_app(api_settings(), collector_registry=registry, route="/metrics")
    one.post("/token")
    two.post("/token")
    assert registry.get_sample_value("pyramid_jwtnode_tokens_issued_total",
                                     {"config": "api", "kind": "access"}) == 2
    assert count(scrape(two), "pyramid_jwtnode_tokens_issued_total", config="api", kind="access") == 2


@pytest.mark.parametrize("off", [{}, {"jwt.metrics": "false"}, {"jwt.metrics": "Off"}, {"jwt.metrics": "0"},
                                 {"jwt.metrics": "", "jwt.metrics_route": ""}])
def test_without_the_settings_nothing_is_counted_nor_served(off: dict[str, str]) -> None:
    labels = {"config": "api", "kind": "access"}
    before = REGISTRY.get_sample_value("pyramid_jwtnode_tokens_issued_total", labels) or 0
    app = make_app(api_settings(**off))
    app.post("/token")
    app.get("/metrics", status=404)
    assert (REGISTRY.get_sample_value("pyramid_jwtnode_tokens_issued_total", labels) or 0) == before


_NO_IMPORT = r"""
import sys
from pyramid.config import Configurator
from webtest import TestApp
S = "promise-secret-that-is-at-least-32-bytes-long"
def payload(request):
    return {"sub": "alice"}
def build(extra):
    settings = {"jwt.configs": "api", "jwt.security_policy": "api", "jwt.api.algorithm": "HS256",
                "jwt.api.secret": S, "jwt.api.expires_in": "60", "jwt.api.revocation_store": "memory",
                "jwt.api.refresh_expires_in": "600", "jwt.api.token_route": "/token",
                "jwt.api.payload": "__main__:payload", "jwt.api.refresh_route": "/refresh", **extra}
    config = Configurator(settings=settings)
    config.include("pyramid_jwtnode")
    config.add_route("me", "/me")
    config.add_view(lambda r: {"u": r.authenticated_userid}, route_name="me", renderer="json")
    return TestApp(config.make_wsgi_app())
app = build({})
pair = app.post("/token").json
app.get("/me", headers={"Authorization": "Bearer " + pair["access_token"]})
app.get("/me", headers={"Authorization": "Bearer x.y.z"})
app.post("/refresh", {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]})
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "prometheus_client")
print("WITHOUT", loaded)
assert not loaded, loaded
build({"jwt.metrics_route": "/metrics"})
assert "prometheus_client" in sys.modules  # the control: asking for metrics does import it
print("OK")
"""


def test_without_the_settings_prometheus_client_is_never_imported() -> None:
    done = subprocess.run([sys.executable, "-c", _NO_IMPORT], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK" in done.stdout


# -- the scraper's token -------------------------------------------------------------------------


@pytest.fixture
def scraper_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PROMISE_SCRAPE_TOKEN", SCRAPE)
    return "PROMISE_SCRAPE_TOKEN"


def test_with_a_token_env_only_the_scraper_reads_the_metrics(scraper_env: str) -> None:
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics", "jwt.metrics_token_env": scraper_env}))
    answer = app.get("/metrics", headers=bearer(SCRAPE), status=200)
    assert "pyramid_jwtnode_verifications_total" in answer.text


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong-token-wrong-token-wrong"}, {"Authorization": f"Bearer {SCRAPE}x"},
    {"Authorization": f"Bearer {SCRAPE[:-1]}"}, {"Authorization": f"Basic {SCRAPE}"},
    {"Authorization": SCRAPE},
])
def test_any_other_request_to_a_guarded_route_gets_404(scraper_env: str, headers: dict[str, str]) -> None:
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics", "jwt.metrics_token_env": scraper_env}))
    answer = app.get("/metrics", headers=headers, status=404)
    assert "pyramid_jwtnode" not in answer.text and SCRAPE not in answer.text


def test_add_jwt_metrics_does_the_same_as_the_settings(scraper_env: str) -> None:
    from_code = make_app(api_settings(), route="/metrics", token_env=scraper_env)
    from_ini = make_app(api_settings(**{"jwt.metrics_route": "/metrics", "jwt.metrics_token_env": scraper_env}))
    results = []
    for app in (from_code, from_ini):
        app.get("/metrics", status=404)
        app.get("/metrics", headers=bearer("nope-nope-nope-nope-nope"), status=404)
        app.post("/metrics", headers=bearer(SCRAPE), status=405)
        pair = app.post("/token").json
        app.get("/read", headers=bearer(pair["access_token"]))
        refresh(app, pair["refresh_token"])
        found = scrape(app, headers=bearer(SCRAPE))
        results.append({k: v for k, v in found.items() if not k[0].startswith("pyramid_jwtnode_verification_seconds")})
    assert results[0] == results[1]
    assert verifications(results[0]) == {("api", "accepted", "ok"): 1}


def test_the_docs_example_metrics_app_includeme(scraper_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/examples/metrics_app.py's includeme: the route /metrics, guarded by METRICS_TOKEN."""
    monkeypatch.setenv("METRICS_TOKEN", SCRAPE)
    monkeypatch.syspath_prepend(str(ROOT / "docs" / "examples"))
    import importlib

    module = importlib.import_module("metrics_app")
    config = Configurator(settings=api_settings())
    module.includeme(config)
    app = TestApp(config.make_wsgi_app())
    app.get("/metrics", status=404)
    assert "pyramid_jwtnode_tokens_issued_total" in app.get("/metrics", headers=bearer(SCRAPE)).text


def test_the_token_is_read_at_start_up(monkeypatch: pytest.MonkeyPatch, scraper_env: str) -> None:
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics", "jwt.metrics_token_env": scraper_env}))
    later = "a-different-token-set-after-start-up"
    monkeypatch.setenv(scraper_env, later)
    app.get("/metrics", headers=bearer(SCRAPE), status=200)
    app.get("/metrics", headers=bearer(later), status=404)


def test_a_token_of_16_characters_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMISE_SCRAPE_16", "0123456789abcdef")
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics", "jwt.metrics_token_env": "PROMISE_SCRAPE_16"}))
    app.get("/metrics", headers=bearer("0123456789abcdef"), status=200)


@pytest.mark.parametrize("value", [None, "", "0123456789abcde"])
def test_a_short_or_missing_token_stops_start_up_naming_the_setting(
        monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("PROMISE_SCRAPE_SHORT", raising=False)
    else:
        monkeypatch.setenv("PROMISE_SCRAPE_SHORT", value)
    with pytest.raises(ConfigurationError) as info:
        make_app(api_settings(**{"jwt.metrics_route": "/metrics", "jwt.metrics_token_env": "PROMISE_SCRAPE_SHORT"}))
    message = str(info.value)
    assert "jwt.metrics_token_env" in message and "Fix" in message
    if value:
        assert value not in message


def test_unset_token_env_the_route_answers_anyone() -> None:
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics"}))
    app.get("/metrics", status=200)
    app.get("/metrics", headers=bearer("whatever"), status=200)


# -- settings.rst: the errors name the setting --------------------------------------------------


@pytest.mark.parametrize(("settings", "key"), [
    ({"jwt.metrics": "maybe"}, "jwt.metrics"),
    ({"jwt.metrics": "2"}, "jwt.metrics"),
    ({"jwt.metrics_route": "metrics"}, "jwt.metrics_route"),
    ({"jwt.metrics_route": "http://x/metrics"}, "jwt.metrics_route"),
    ({"jwt.metrics_route": "/metrics", "jwt.metrics_token_env": "MY-TOKEN"}, "jwt.metrics_token_env"),
    ({"jwt.metrics_route": "/metrics", "jwt.metrics_token_env": "1TOKEN"}, "jwt.metrics_token_env"),
])
def test_a_bad_metrics_setting_raises_configuration_error_naming_it(settings: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        make_app(api_settings(**settings))
    message = str(info.value)
    assert re.search(rf"{re.escape(key)}\b(?![_.])", message), message
    assert "Fix" in message


def test_a_route_setting_with_surrounding_space_is_stripped() -> None:
    app = make_app(api_settings(**{"jwt.metrics_route": "  /metrics  "}))
    app.get("/metrics", status=200)


def test_the_settings_page_lists_the_three_keys() -> None:
    from pyramid_jwtnode.integration import settings as settings_module

    keys = {key: (kind, doc) for key, kind, doc in settings_module.GLOBAL_SETTINGS}
    assert keys["jwt.metrics"][0] == "bool"
    assert keys["jwt.metrics_route"][0] == "path"
    assert keys["jwt.metrics_token_env"][0] == "text"


# -- key set fetches (a loopback server of the test's own) ----------------------------------------


class _JWKS(BaseHTTPRequestHandler):
    body = b"{}"

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/jwks.json":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(self.body)
        elif self.path == "/notjson":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"<html>")
        else:
            self.send_response(500)
            self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def idp() -> Iterator[tuple[str, Any]]:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="idp-1", alg="RS256", use="sig")
    handler = type("H", (_JWKS,), {"body": json.dumps({"keys": [jwk]}).encode()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", key
    server.shutdown()
    server.server_close()


def _remote_app(url: str) -> TestApp:
    settings = {"jwt.configs": "idp", "jwt.security_policy": "idp", "jwt.metrics_route": "/metrics",
                "jwt.idp.algorithm": "RS256", "jwt.idp.jwks_url": url, "jwt.idp.issuer": "https://idp.example",
                "jwt.idp.expires_in": "300"}
    return make_app(settings)


@pytest.mark.parametrize(("path", "outcome"), [("/jwks.json", "ok"), ("/error", "http_error"),
                                               ("/notjson", "not_json")])
def test_key_set_fetches_are_counted_by_outcome(idp: tuple[str, Any], path: str, outcome: str) -> None:
    base, key = idp
    app = _remote_app(base + path)
    import time as _time

    token = jwt.encode({"sub": "u", "iss": "https://idp.example", "exp": int(_time.time()) + 300},
                       key, algorithm="RS256", headers={"kid": "idp-1"})
    app.get("/read", headers=bearer(token), status="*")
    found = outcomes(scrape(app), "pyramid_jwtnode_keyset_fetches_total")
    assert found.get(outcome, 0) >= 1, found
    assert set(found) <= DOC_FETCH


# == The debug toolbar panel ======================================================================


def _toolbar_settings(clock: Clock, **extra: Any) -> dict[str, Any]:
    settings = {
        "jwt.clock": clock, "jwt.configs": "api web", "jwt.security_policy": "api web",
        "jwt.api.algorithm": "HS256", "jwt.api.secret": SECRET, "jwt.api.expires_in": "600",
        "jwt.api.kid": "api-1", "jwt.api.principals_claim": "roles", "jwt.api.query_token": "true",
        "jwt.api.revocation_store": "memory",
        "jwt.web.algorithm": "HS256", "jwt.web.secret": SECRET_B, "jwt.web.kid": "web-1",
        "jwt.web.expires_in": "300", "jwt.web.token_location": "cookie", "jwt.web.cookie_secure": "false",
    }
    settings.update(extra)
    return settings


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def tb(clock: Clock) -> TestApp:
    return make_app(_toolbar_settings(clock), toolbar=True)


def panel(app: TestApp) -> tuple[str, Any, str]:
    """The JWT panel's text, the panel object, and the toolbar page, of the last request."""
    request_id, toolbar = app.app.registry.pdtb_history.last(1)[0]
    page = app.get(f"/_debug_toolbar/{request_id}").text
    jwt_panel = next(p for p in toolbar.panels if p.name == "jwt")
    start = page.index('id="pDebugPanel-jwt-content"')
    end = page.find('class="panelContent"', start + 40)
    html = page[start:end if end > 0 else None]
    return html, jwt_panel, page


def text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_the_panel_is_a_jwt_tab(tb: TestApp) -> None:
    tb.get("/read", headers=bearer(issue(tb)), status=200)
    html, jwt_panel, page = panel(tb)
    assert jwt_panel.nav_title == "JWT"
    assert "pDebugPanel-jwt" in page


def test_accepted_with_config_user_id_principals_and_acl(tb: TestApp) -> None:
    token = issue(tb)
    tb.get("/read", headers=bearer(token), status=200)
    html, jwt_panel, page = panel(tb)
    shown = text(html)
    assert "accepted" in jwt_panel.nav_subtitle
    assert "Outcome accepted" in shown
    assert "Authorization header" in shown
    assert "Config api" in shown and "kid" in shown  # chosen by its kid
    assert "User id ann" in shown
    assert "reader" in shown and "system.Authenticated" in shown  # the principals
    assert re.search(r"read allowed \(Allow, system\.Authenticated, read\) Root", shown), shown
    assert "the signature matched" in shown and "not verified" not in shown
    assert '"sub": "ann"' in unescape(html)


def test_the_signature_is_never_shown_only_its_length(tb: TestApp) -> None:
    token = issue(tb)
    signature = token.rpartition(".")[2]
    tb.get("/read", headers=bearer(token), status=200)
    html, _, page = panel(tb)
    assert signature not in html
    assert str(len(signature)) in text(html)
    forged = token.rpartition(".")[0] + "." + ("Q" * len(signature))
    tb.get("/read", headers=bearer(forged), status=401)
    html, _, _ = panel(tb)
    assert "Q" * len(signature) not in html


def test_a_denied_permission_shows_default_deny_and_the_object(tb: TestApp) -> None:
    tb.get("/write", headers=bearer(issue(tb)), status=403)
    shown = text(panel(tb)[0])
    assert "write" in shown and "denied" in shown and "<default deny>" in shown and "Root" in shown


def test_refused_with_reason_badge_failed_check_and_fix(tb: TestApp, clock: Clock) -> None:
    token = issue(tb)
    clock.advance(3600)
    tb.get("/read", headers=bearer(token), status=401)
    html, jwt_panel, page = panel(tb)
    shown = text(html)
    assert "refused" in jwt_panel.nav_subtitle and "expired" in jwt_panel.nav_subtitle
    assert jwt_panel.nav_subtitle in unescape(page)  # the tab's badge
    assert "Outcome refused ( expired )" in shown
    assert "Fix" in shown and "expires_in" in shown  # its one-line fix, as pjwt explain gives
    assert "FAIL" in shown


def test_each_check_in_order(tb: TestApp) -> None:
    tb.get("/read", headers=bearer(issue(tb)), status=200)
    html, jwt_panel, _ = panel(tb)
    rows = re.findall(r"<tr><td>([^<]*)</td>\s*<td>(pass|FAIL|----)</td>", html)
    names = [unescape(n) for n, _ in rows]
    expected = ["size", "header", "algorithm", "typ", "key", "signature", "exp", "revocation", "user id", "source"]
    positions = []
    for word in expected:
        index = next((i for i, n in enumerate(names) if word in n), None)
        assert index is not None, (word, names)
        positions.append(index)
    assert positions == sorted(positions), names
    assert all(ok == "pass" for _, ok in rows), rows


def test_a_token_of_another_key_shows_claims_not_verified(tb: TestApp) -> None:
    other = jwt.encode({"sub": "eve", "exp": NOW + 60}, "q" * 40, algorithm="HS256", headers={"kid": "api-1"})
    tb.get("/read", headers=bearer(other), status=401)
    html, jwt_panel, _ = panel(tb)
    shown = text(html)
    assert "bad_signature" in jwt_panel.nav_subtitle
    assert "not verified" in shown and '"sub": "eve"' in unescape(html)


def test_a_malformed_authorization_header(tb: TestApp) -> None:
    tb.get("/read", headers={"Authorization": "Bearer a b"}, status="*")
    html, jwt_panel, _ = panel(tb)
    shown = text(html)
    assert "Outcome malformed" in shown, shown
    assert "malformed" in jwt_panel.nav_subtitle


def test_no_token(tb: TestApp) -> None:
    tb.get("/read", status=401)
    html, jwt_panel, _ = panel(tb)
    assert "Outcome no token" in text(html)
    assert jwt_panel.nav_subtitle == "no token"


def test_not_checked_with_what_the_policy_would_have_decided(tb: TestApp, clock: Clock) -> None:
    token = issue(tb)
    tb.get("/open", headers=bearer(token), status=200)
    shown = text(panel(tb)[0])
    assert "not checked" in shown and "accepted" in shown.split("not checked", 1)[1]
    clock.advance(3600)
    tb.get("/open", headers=bearer(token), status=200)
    shown = text(panel(tb)[0])
    assert "not checked" in shown and "refused (expired)" in shown


def test_accepted_then_revoked_by_the_app(tb: TestApp) -> None:
    token = issue(tb)
    tb.post("/logout", headers=bearer(token), status=200)
    html, jwt_panel, _ = panel(tb)
    assert "accepted, then revoked by the app (logout)" in text(html)
    assert jwt_panel.nav_subtitle == "accepted, then revoked by the app (logout)"


def test_unavailable_when_the_store_cannot_be_reached(tb: TestApp, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyramid_jwtnode import StoreUnavailableError

    token = issue(tb)
    store = get_jwt_runtime(tb.app.registry, "api").revocation.store  # type: ignore[union-attr]

    def down(*args: Any, **kw: Any) -> Any:
        raise StoreUnavailableError("down")

    monkeypatch.setattr(store, "status", down)
    tb.get("/read", headers=bearer(token), status=503)
    html, jwt_panel, _ = panel(tb)
    assert "Outcome unavailable" in text(html)
    assert "unavailable" in jwt_panel.nav_subtitle and "store_unavailable" in jwt_panel.nav_subtitle
    assert "store" in text(html).split("Fix", 1)[1]  # a fix for an unreachable store


def test_the_query_parameter_source(tb: TestApp) -> None:
    tb.get("/read", {"access_token": issue(tb)}, status=200)
    shown = text(panel(tb)[0])
    assert "access_token query parameter" in shown and "Outcome accepted" in shown


def test_the_access_cookie_source_is_named_and_chooses_the_config(tb: TestApp) -> None:
    tb.set_cookie("web_access", issue(tb, "web", sub="wanda"))
    tb.get("/read", status=200)
    shown = text(panel(tb)[0])
    assert "cookie web_access" in shown
    assert "Config web" in shown and "cookie" in shown.split("Config web", 1)[1][:80]


def test_a_refused_source_fails_the_source_step(tb: TestApp) -> None:
    """The web config takes its tokens from its cookie only: one in the header fails ``source``."""
    tb.get("/read", headers=bearer(issue(tb, "web", sub="w")), status=401)
    html, _, _ = panel(tb)
    rows = dict(re.findall(r"<tr><td>([^<]*)</td>\s*<td>(pass|FAIL|----)</td>", html))
    assert rows.get("source") == "FAIL", rows
    assert rows.get("signature") == "pass"


def test_the_policys_only_config(clock: Clock) -> None:
    settings = {"jwt.clock": clock, "jwt.configs": "solo", "jwt.security_policy": "solo",
                "jwt.solo.algorithm": "HS256", "jwt.solo.secret": SECRET, "jwt.solo.expires_in": "60"}
    app = make_app(settings, toolbar=True)
    app.get("/read", headers=bearer(issue(app, "solo")), status=200)
    assert "only config" in text(panel(app)[0])


def test_chosen_by_iss(clock: Clock) -> None:
    settings = {"jwt.clock": clock, "jwt.configs": "one two", "jwt.security_policy": "one two",
                "jwt.one.algorithm": "HS256", "jwt.one.secret": SECRET, "jwt.one.expires_in": "60",
                "jwt.one.issuer": "https://one.example",
                "jwt.two.algorithm": "HS256", "jwt.two.secret": SECRET_B, "jwt.two.expires_in": "60",
                "jwt.two.issuer": "https://two.example"}
    app = make_app(settings, toolbar=True)
    app.get("/read", headers=bearer(issue(app, "two", sub="t")), status=200)
    shown = text(panel(app)[0])
    assert "Config two" in shown and "iss" in shown.split("Config two", 1)[1][:60]


def test_chosen_by_alg_names_the_configs_tried(clock: Clock) -> None:
    settings = {"jwt.clock": clock, "jwt.configs": "one two", "jwt.security_policy": "one two",
                "jwt.one.algorithm": "HS256", "jwt.one.secret": SECRET, "jwt.one.expires_in": "60",
                "jwt.one.kid": "one-1",
                "jwt.two.algorithm": "HS256", "jwt.two.secret": SECRET_B, "jwt.two.expires_in": "60"}
    app = make_app(settings, toolbar=True)
    app.get("/read", headers=bearer(issue(app, "two", sub="t")), status=200)
    shown = text(panel(app)[0])
    assert "alg" in shown and "one" in shown and "two" in shown
    assert "tried" in shown


def test_the_identity_step(clock: Clock) -> None:
    settings = {"jwt.clock": clock, "jwt.configs": "solo", "jwt.security_policy": "solo",
                "jwt.solo.algorithm": "HS256", "jwt.solo.secret": SECRET, "jwt.solo.expires_in": "60",
                "jwt.solo.identity": f"{ME}:nobody"}
    app = make_app(settings, toolbar=True)
    app.get("/read", headers=bearer(issue(app, "solo")), status="*")
    html, jwt_panel, _ = panel(app)
    rows = dict(re.findall(r"<tr><td>([^<]*)</td>\s*<td>(pass|FAIL|----)</td>", html))
    assert rows.get("identity") == "FAIL", rows
    assert "identity_refused" in jwt_panel.nav_subtitle


def test_a_policy_given_to_set_security_policy_is_the_apps(clock: Clock) -> None:
    from pyramid_jwtnode import JWTSecurityPolicy

    settings = {"jwt.clock": clock, "jwt.configs": "api", "jwt.api.algorithm": "HS256",
                "jwt.api.secret": SECRET, "jwt.api.expires_in": "60",
                "debugtoolbar.includes": "pyramid_jwtnode.tools.debugtoolbar"}
    config = Configurator(settings=settings, root_factory=Root)
    config.include("pyramid_debugtoolbar")
    config.include("pyramid_jwtnode")
    config.commit()
    config.set_security_policy(JWTSecurityPolicy.from_node(get_jwt_runtime(config.registry, "api")))
    config.add_route("read", "/read")
    config.add_view(lambda request: {"ok": True}, route_name="read", renderer="json", permission="read")
    app = TestApp(config.make_wsgi_app(), extra_environ=LOCAL)
    app.get("/read", headers=bearer(issue(app)), status=200)
    shown = text(panel(app)[0])
    assert "Policy of api" in shown and "Route check" not in shown
    assert "Outcome accepted" in shown


def test_a_verify_route_gets_a_route_check_section_below(clock: Clock) -> None:
    app = make_app(_toolbar_settings(clock, **{"jwt.api.verify_route": "/verify"}), toolbar=True)
    app.get("/verify", headers=bearer(issue(app)), status=200)
    shown = text(panel(app)[0])
    assert "Route check of api" in shown
    assert shown.index("Policy of") < shown.index("Route check of")


def test_panel_error_names_the_type_and_leaves_the_answer(
        tb: TestApp, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from pyramid_jwtnode.tools import debugtoolbar

    secret_words = "message-that-must-not-be-logged"

    def broken(*args: Any, **kw: Any) -> Any:
        raise LookupError(secret_words)

    monkeypatch.setattr(debugtoolbar, "explain", broken)
    with caplog.at_level(logging.DEBUG):
        answer = tb.get("/read", headers=bearer(issue(tb)), status=200)
    assert answer.json == {"ok": True}
    html, jwt_panel, _ = panel(tb)
    assert "panel error" in text(html) and "LookupError" in text(html)
    assert "panel error" in jwt_panel.nav_subtitle
    assert any("LookupError" in r.getMessage() for r in caplog.records)
    assert not any(secret_words in r.getMessage() for r in caplog.records)


def test_including_the_panel_in_the_app_stops_start_up() -> None:
    config = Configurator(settings=api_settings())
    with pytest.raises(ConfigurationError) as info:
        config.include("pyramid_jwtnode.tools.debugtoolbar")
        config.commit()
    assert "debugtoolbar.includes" in str(info.value)


def test_explaining_counts_nothing_in_the_metrics(clock: Clock) -> None:
    app = make_app(_toolbar_settings(clock, **{"jwt.metrics_route": "/metrics"}), toolbar=True)
    token = issue(app)
    app.get("/read", headers=bearer(token), status=200)
    app.get("/open", headers=bearer(token), status=200)  # not checked: the panel decides alone
    panel(app)
    assert verifications(scrape(app)) == {("api", "accepted", "ok"): 1}


def test_explaining_logs_nothing(tb: TestApp, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    token = issue(tb)
    clock.advance(3600)
    with caplog.at_level(logging.DEBUG, logger="pyramid_jwtnode"):
        tb.get("/open", headers=bearer(token), status=200)  # the panel alone checks it
    assert [r for r in caplog.records if r.name.startswith("pyramid_jwtnode")] == []
    assert "refused (expired)" in text(panel(tb)[0])
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="pyramid_jwtnode"):
        tb.get("/read", headers=bearer(token), status=401)  # the policy logs its refusal, once
    refused = [r for r in caplog.records if r.name.startswith("pyramid_jwtnode") and "expired" in r.getMessage()]
    assert len(refused) == 1


def test_a_policy_the_directive_made_is_the_apps(clock: Clock) -> None:
    settings = {"jwt.clock": clock, "jwt.configs": "api", "jwt.api.algorithm": "HS256",
                "jwt.api.secret": SECRET, "jwt.api.expires_in": "60"}
    config = make_config(settings, toolbar=True)
    config.set_jwt_security_policy("api")
    app = TestApp(config.make_wsgi_app(), extra_environ=LOCAL)
    app.get("/read", headers=bearer(issue(app)), status=200)
    shown = text(panel(app)[0])
    assert "Policy of api" in shown and "Route check" not in shown and "Outcome accepted" in shown


def test_the_time_checks_show_the_clock_and_the_leeway(tb: TestApp) -> None:
    tb.get("/read", headers=bearer(issue(tb)), status=200)
    html, _, _ = panel(tb)
    rows = {unescape(name): unescape(seen) for name, _, seen in
            re.findall(r"<tr><td>([^<]*)</td>\s*<td>(pass|FAIL|----)</td>\s*<td>([^<]*)</td>", html)}
    timing = next(seen for name, seen in rows.items() if "exp" in name)
    assert "now 2026-01-01" in timing and "leeway" in timing


# -- where the docs and the code disagree -----------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_a_guarded_route_answers_another_method_without_the_token_404(scraper_env: str, method: str) -> None:
    """'any other with a 404, as if there were nothing': the method does not give the route away."""
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics", "jwt.metrics_token_env": scraper_env}))
    answer = app.request("/metrics", method=method, status="*")
    assert answer.status_int == 404 and "Allow" not in answer.headers


def test_the_scraper_gets_405_for_another_method(scraper_env: str) -> None:
    import os

    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics", "jwt.metrics_token_env": scraper_env}))
    answer = app.post("/metrics", headers={"Authorization": f"Bearer {os.environ[scraper_env]}"}, status=405)
    assert answer.headers["Allow"] == "GET, HEAD"


def test_head_on_the_metrics_route_answers_like_get() -> None:
    """'GET /metrics (and HEAD) then answers in Prometheus's text format'."""
    app = make_app(api_settings(**{"jwt.metrics_route": "/metrics"}))
    answer = app.head("/metrics", status=200)
    assert answer.content_type == "text/plain" and answer.body == b""


def test_a_token_env_without_a_route_is_refused_naming_both_keys(scraper_env: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        make_app(api_settings(**{"jwt.metrics": "true", "jwt.metrics_token_env": scraper_env}))
    assert "jwt.metrics_token_env" in str(info.value) and "jwt.metrics_route" in str(info.value)
