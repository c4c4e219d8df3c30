"""Runtime log lines name what failed (issue 22): the key set or discovery URL (without
credentials) and the status, the Redis store's address, both issuers on ``iss_mismatch``, the
expected and the seen algorithm. Values a client chose are capped, escaped, and never a token;
and a password-protected Sentinel group authenticates, with or without a sentinel password."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from webtest import TestApp

from pyramid_jwtnode import KeySetUnavailableError, StoreUnavailableError, get_jwt_node
from pyramid_jwtnode.jose.jwks import FetchError, RemoteKeySet
from pyramid_jwtnode.loggable import safe_url, shown
from pyramid_jwtnode.storage.redis import RedisStore
from pyramid_jwtnode.tools.testing import Clock

from .conftest import HS256_SECRET, NOW, _need_redis
from .jwks_server import Answer, DocumentServer
from .security.conftest import claims, forge
from .services import free_port, start_redis

HS = {"algorithm": "HS256", "secret": HS256_SECRET, "expires_in": "600"}


class Root:
    __acl__ = [(Allow, Authenticated, "read")]

    def __init__(self, request: Any) -> None:
        pass


def orders_app(**raw: Any) -> TestApp:
    """A policy over config ``api`` (``raw`` its settings) and ``/orders`` needing 'read'."""
    with Configurator(root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("api", clock=Clock(NOW), **raw)
        config.set_jwt_security_policy("api")
        config.add_route("orders", "/orders")
        config.add_view(lambda r: {"config": r.jwt_config}, route_name="orders", permission="read",
                        renderer="json")
    return TestApp(config.make_wsgi_app())


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]


# -- values a client chose, and URLs -----------------------------------------------------------


def test_shown_values_are_capped_escaped_and_never_a_token() -> None:
    assert shown("https://idp.example/") == '"https://idp.example/"'
    assert shown("a\r\nFAKE 200 line") == '"a\\r\\nFAKE 200 line"'
    assert shown("x" * 1000) == '"' + "x" * 79 + "..." and shown("é") == '"\\u00e9"'
    assert shown("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln") == '"[token]"'
    assert shown(["RS256", None]) == '["RS256", null]' and shown(object()) == '"<object>"'


@pytest.mark.parametrize(("url", "logged"), [
    ("https://user:pass@idp.example/jwks.json", "https://idp.example/jwks.json"),
    ("https://idp.example/jwks?api_key=K1&tenant=acme&client%5Fsecret=K2#frag",
     "https://idp.example/jwks?api_key=***&tenant=acme&client%5Fsecret=***"),
    ("redis://:pw@10.0.0.5:6380/2?password=pw2", "redis://10.0.0.5:6380/2?password=***"),
    ("redis+sentinel://u:pw@10.0.0.1:26379,10.0.0.2:26379/mymaster/0",
     "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster/0"),
    ("unix:///run/redis.sock?db=1", "unix:///run/redis.sock?db=1"),
    ("http://[::1]:8080/jwks", "http://[::1]:8080/jwks"),
    ("http://[::1/x", "<unparsable URL>"),
])
def test_urls_are_logged_without_credentials(url: str, logged: str) -> None:
    assert safe_url(url) == logged


# -- iss and alg: both values ------------------------------------------------------------------


def test_iss_mismatch_logs_both_issuers(caplog: pytest.LogCaptureFixture) -> None:
    app = orders_app(**HS, issuer="https://auth.example")
    with caplog.at_level(logging.INFO, logger="pyramid_jwtnode"):
        for iss in ("https://auth.example/", "https://evil\r\n.example" + "x" * 500, 42):
            token = forge({"alg": "HS256"}, claims(iss=iss))
            app.get("/orders", headers={"Authorization": f"Bearer {token}"}, status=401)
    slash, forged, number = refusals(caplog)
    assert slash == ('jwt config api: bearer token refused (iss_mismatch); expected "https://auth.example", '
                     'seen "https://auth.example/"')
    assert "\r" not in forged and "\n" not in forged and len(forged) < 250
    assert 'seen "https://evil\\r\\n.examplexxx' in forged and forged.endswith("...")
    assert number.endswith('expected "https://auth.example", seen 42')


def test_an_algorithm_mismatch_logs_both_algorithms(caplog: pytest.LogCaptureFixture) -> None:
    app = orders_app(**HS)
    with caplog.at_level(logging.INFO, logger="pyramid_jwtnode"):
        for header in ({"alg": "HS512"}, {"alg": ["HS256"]}, {"alg": "none"}):
            token = forge(header, claims(), alg="HS512")
            app.get("/orders", headers={"Authorization": f"Bearer {token}"}, status=401)
    assert refusals(caplog) == [
        'jwt config api: bearer token refused (alg_not_allowed); expected "HS256", seen "HS512"',
        'jwt config api: bearer token refused (alg_not_allowed); expected "HS256", seen ["HS256"]',
        'jwt config api: bearer token refused (alg_not_allowed); expected "HS256", seen "none"',
    ]


def test_other_refusals_keep_their_one_reason_code(caplog: pytest.LogCaptureFixture) -> None:
    app = orders_app(**HS)
    with caplog.at_level(logging.INFO, logger="pyramid_jwtnode"):
        app.get("/orders", headers={"Authorization": f"Bearer {forge({'alg': 'HS256'}, claims(exp=NOW - 60))}"},
                status=401)
    assert refusals(caplog) == ["jwt config api: bearer token refused (expired)"]


# -- the key set: URL and status -----------------------------------------------------------------


@pytest.fixture
def idp() -> Iterator[DocumentServer]:
    server = DocumentServer()
    yield server
    server.close()


def test_a_key_set_fetch_failure_names_the_url_and_status(idp: DocumentServer,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    idp.answers["/jwks?api_key=s3cret-K"] = Answer({"error": "down"}, status=503)
    keys = RemoteKeySet("RS256", url=idp.url("/jwks?api_key=s3cret-K"), issuer="https://idp.example", name="idp")
    with caplog.at_level(logging.ERROR, logger="pyramid_jwtnode"), pytest.raises(KeySetUnavailableError):
        keys.key_for("k")
    assert (f"jwt config idp: key set not fetched from http://127.0.0.1:{idp.port}/jwks?api_key=*** "
            "(status_503); held keys stay in use") in caplog.text
    assert "s3cret-K" not in caplog.text


def test_a_discovery_failure_names_the_document_and_both_issuers(idp: DocumentServer,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    document = "/.well-known/openid-configuration"
    idp.answers[document] = Answer({"issuer": "https://idp.example/", "jwks_uri": idp.url("/jwks")})
    keys = RemoteKeySet("RS256", discovery_url=idp.url(document), issuer="https://idp.example", name="idp")
    with caplog.at_level(logging.ERROR, logger="pyramid_jwtnode"), pytest.raises(KeySetUnavailableError):
        keys.key_for("k1")
    assert (f"key set not fetched from http://127.0.0.1:{idp.port}{document} (discovery_issuer_mismatch; "
            'expected "https://idp.example", seen "https://idp.example/")') in caplog.text
    caplog.clear()
    idp.answers[document] = Answer({"issuer": "https://idp.example", "jwks_uri": idp.url("/jwks")})
    idp.answers["/jwks"] = Answer({"not": "a key set"})
    keys = RemoteKeySet("RS256", discovery_url=idp.url(document), name="idp")
    with caplog.at_level(logging.ERROR, logger="pyramid_jwtnode"), pytest.raises(KeySetUnavailableError):
        keys.key_for("k1")
    assert f"from http://127.0.0.1:{idp.port}/jwks (not_a_jwk_set)" in caplog.text


def test_a_fetch_function_of_ones_own_is_named_too(caplog: pytest.LogCaptureFixture) -> None:
    def fetch(url: str, timeout: float) -> Any:
        raise FetchError("timeout")

    keys = RemoteKeySet("ES256", url="https://user:pw@idp.example/k", issuer="i", name="p", fetch=fetch)
    with caplog.at_level(logging.ERROR, logger="pyramid_jwtnode"), pytest.raises(KeySetUnavailableError):
        keys.key_for(None)
    assert "jwt config p: key set not fetched from https://idp.example/k (timeout)" in caplog.text
    assert "pw" not in caplog.text


# -- the Redis store: where it is ------------------------------------------------------------------


def test_an_unreachable_redis_is_named_by_host_and_port(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    app = orders_app(**HS, revocation_store=f"redis://:hunter2@127.0.0.1:{port}/3", store_prefix="t:")
    token = get_jwt_node(app.app.registry).issuer.issue({"sub": "alice"}).token  # type: ignore[union-attr]
    with caplog.at_level(logging.ERROR, logger="pyramid_jwtnode"):
        app.get("/orders", headers={"Authorization": f"Bearer {token}"}, status=503)
    assert (f"jwt config api: revocation store redis://127.0.0.1:{port}/3 unreachable (ConnectionError), "
            "request refused (store_unavailable)") in caplog.text
    assert "hunter2" not in caplog.text


def test_a_store_error_without_an_address_keeps_the_plain_line(caplog: pytest.LogCaptureFixture) -> None:
    import redis

    assert RedisStore(client=redis.Redis(port=6390), prefix="t:").address == "localhost:6390"
    assert RedisStore(client=redis.Redis(unix_socket_path="/run/r.sock"), prefix="t:").address == "/run/r.sock"
    error = StoreUnavailableError("anything a store of the app's own says, http://u:pw@x")
    from pyramid_jwtnode.integration.responses import unavailable_view
    from pyramid.testing import DummyRequest

    error.config = "api"
    with caplog.at_level(logging.ERROR, logger="pyramid_jwtnode"):
        assert unavailable_view(error, DummyRequest()).status_int == 503
    assert caplog.records[-1].getMessage() == (
        "jwt config api: revocation store unreachable, request refused (store_unavailable)")


# -- a password-protected Sentinel group, for real ---------------------------------------------------


def sentinel_group(directory: Path, password: str | None, sentinel_password: str | None,
                   ) -> tuple[list[subprocess.Popen[bytes]], int]:
    """A primary (``requirepass password``) watched by one sentinel (``requirepass
    sentinel_password``) on loopback ports: the processes, and the sentinel's port."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        _need_redis("redis-server")  # a skip, or a failure where JWTNODE_REQUIRE_REDIS=1 (CI)
        raise AssertionError("unreachable")
    primary_port, sentinel_port = free_port(), free_port()
    primary = start_redis(directory / "primary", primary_port)
    if password:  # set once it answers PING (start_redis waits for an unauthenticated PONG)
        redis.Redis(port=primary_port).config_set("requirepass", password)
    conf = directory / "sentinel.conf"
    conf.write_text(f"port {sentinel_port}\nbind 127.0.0.1\ndir {directory}\n"
                    f"sentinel monitor mymaster 127.0.0.1 {primary_port} 1\n"
                    + (f'sentinel auth-pass mymaster "{password}"\n' if password else "")
                    + (f'requirepass "{sentinel_password}"\n' if sentinel_password else ""))
    try:
        sentinel = subprocess.Popen([binary, str(conf), "--sentinel"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
    except OSError:
        primary.kill()
        raise
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", sentinel_port), timeout=0.2).close()
            return [sentinel, primary], sentinel_port
        except OSError:
            if time.monotonic() > deadline:
                for process in (sentinel, primary):
                    process.kill()
                raise
            time.sleep(0.05)


@pytest.mark.parametrize(("password", "sentinel_password", "userinfo"), [
    ("pa/ss:word", "pa/ss:word", ":pa%2Fss%3Aword@"),  # one password for the group
    ("s3cret", None, ":s3cret@"),                      # the sentinels have none
    ("s3cret", "s3cret", "default:s3cret@"),           # the ACL user named
])
def test_a_password_protected_sentinel_group(tmp_path: Path, password: str, sentinel_password: str | None,
                                             userinfo: str) -> None:
    processes, port = sentinel_group(tmp_path, password, sentinel_password)
    try:
        app = orders_app(**HS, revocation_store=f"redis+sentinel://{userinfo}127.0.0.1:{port}/mymaster/0",
                         store_prefix="t:")
        auth = {"Authorization": "Bearer " + get_jwt_node(app.app.registry).issuer.issue(  # type: ignore[union-attr]
            {"sub": "alice"}).token}
        assert app.get("/orders", headers=auth).json == {"config": "api"}
        get_jwt_node(app.app.registry).revocation.revoke_subject("alice")  # type: ignore[union-attr]
        app.get("/orders", headers=auth, status=401)
        wrong = RedisStore(f"redis+sentinel://:wrong@127.0.0.1:{port}/mymaster/0", prefix="t:")
        with pytest.raises(StoreUnavailableError, match="AuthenticationError|MasterNotFoundError") as info:
            wrong.revoke("x", 10)
        assert "wrong" not in str(info.value) and f"127.0.0.1:{port}/mymaster/0" in str(info.value)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
