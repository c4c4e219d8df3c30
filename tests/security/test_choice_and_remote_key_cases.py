"""Issue 20, items 1 and 4-8: what a forged token may change in the caches that choose a
config and remember verified tokens (nothing), and remote keys that expire on time.

Each test is named after the case; each failed on the code before the fix.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import jwt
import pytest
from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from webtest import TestApp

from pyramid_jwtnode import KeySetUnavailableError, UnknownKeyError, get_jwt_runtime
from pyramid_jwtnode.integration.settings import parse_config
from pyramid_jwtnode.jose.jwks import Fetched, FetchError, RemoteKeySet, fetch_json
from pyramid_jwtnode.jose.keys import KeySet
from pyramid_jwtnode.jose.verifier import Verifier

from ..conftest import KeyPair
from ..jwks_server import Answer, DocumentServer
from ..test_many_issuers import FakeClock, Source, idp, public_jwk, rsa_key  # noqa: F401 - idp: a fixture
from .conftest import b64, segment

ISSUER = "https://idp.example"


class Root:
    __acl__ = [(Allow, Authenticated, "read")]

    def __init__(self, request: Any) -> None:
        pass


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def app_of(settings: dict[str, str]) -> TestApp:
    with Configurator(settings=settings, root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_route("any", "/any")
        config.add_view(lambda r: {"config": r.jwt_config, "user": r.authenticated_userid},
                        route_name="any", permission="read", renderer="json")
    return TestApp(config.make_wsgi_app())


def rs256(key: Any, kid: str, iss: str = ISSUER, **claims: Any) -> str:
    now = int(time.time())
    return jwt.encode({"sub": "carol", "iss": iss, "iat": now, "exp": now + 300, **claims}, key,
                      algorithm="RS256", headers={"kid": kid})


# -- 1. one forged token locks a config's users out --------------------------------------------


def test_forged_iss_token_cannot_lock_out_a_configs_kidless_tokens(keys: dict[str, KeyPair]) -> None:
    """A token with the partner's header and an ``iss`` nobody has once made the chooser
    remember "this header belongs to the first config"; the partner's valid kid-less tokens
    then went to the wrong config (401) until 1,024 other headers pushed the entry out."""
    app = app_of({
        "jwt.configs": "staff partners", "jwt.security_policy": "staff partners",
        "jwt.staff.algorithm": "HS384", "jwt.staff.secret": "s" * 48, "jwt.staff.expires_in": "900",
        "jwt.staff.issuer": "https://myapp.example",
        "jwt.partners.algorithm": "ES256", "jwt.partners.private_key_file": str(keys["p256"].private),
        "jwt.partners.expires_in": "3600", "jwt.partners.issuer": "https://partners.example",
    })
    partners = get_jwt_runtime(app.app.registry, "partners")
    assert partners.issuer is not None
    claims = partners.issuer.claims({"sub": "acme"})
    kidless = jwt.encode(claims, keys["p256"].private_key, algorithm="ES256")
    assert app.get("/any", headers=bearer(kidless)).json == {"config": "partners", "user": "acme"}
    header = kidless.split(".")[0]
    forged = f"{header}.{segment({'iss': 'nobody'})}.AAAA"
    app.get("/any", headers=bearer(forged), status=401)
    again = jwt.encode({**claims, "sub": "acme2"}, keys["p256"].private_key, algorithm="ES256")
    assert again.split(".")[0] == header
    assert app.get("/any", headers=bearer(again)).json == {"config": "partners", "user": "acme2"}


def test_forged_tokens_enter_no_cache_of_the_chooser_or_the_verifier(keys: dict[str, KeyPair]) -> None:
    """The four caches keyed by attacker-chosen input (the chooser's headers and tokens, the
    verifier's headers and tokens) hold only what a verified token proved."""
    app = app_of({
        "jwt.configs": "staff partners", "jwt.security_policy": "staff partners",
        "jwt.staff.algorithm": "HS384", "jwt.staff.secret": "s" * 48, "jwt.staff.expires_in": "900",
        "jwt.staff.issuer": "https://myapp.example",
        "jwt.partners.algorithm": "ES256", "jwt.partners.private_key_file": str(keys["p256"].private),
        "jwt.partners.expires_in": "3600", "jwt.partners.issuer": "https://partners.example",
    })
    registry = app.app.registry
    verifiers = [get_jwt_runtime(registry, name).verifier for name in ("staff", "partners")]
    policy = registry.queryUtility(__import__("pyramid.interfaces", fromlist=["ISecurityPolicy"]).ISecurityPolicy)
    chooser = policy.chooser
    staff = get_jwt_runtime(registry, "staff")
    assert staff.issuer is not None
    good = staff.issuer.issue({"sub": "alice"}).token
    good_header = good.split(".")[0]
    forged = [
        f"{good_header}.{segment({'iss': 'nobody'})}.AAAA",
        f"{good_header}.{good.split('.')[1]}.{b64(b'x' * 48)}",  # staff's header and claims, bad signature
        f"{segment({'alg': 'ES256', 'kid': 'x'})}.{segment({'iss': 'https://partners.example'})}.AAAA",
        f"{segment({'alg': 'HS384', 'typ': 'JWT'})}.{segment({})}.AAAA",
    ]
    for token in forged:
        app.get("/any", headers=bearer(token), status=401)
    assert chooser._recent == {} and chooser._headers == {}
    assert all(v._verified == {} and v._header_kids == {} for v in verifiers)
    app.get("/any", headers=bearer(good), status=200)
    assert list(chooser._recent) == [good]
    assert set(chooser._headers) == {good_header.encode()}
    assert set(verifiers[0]._header_kids) == {good_header.encode()}


# -- 4. a remembered token re-checks its key when the set is due ---------------------------------


def remote_verifier(source: Source, clock: FakeClock, **settings: Any) -> tuple[RemoteKeySet, Verifier]:
    config = parse_config("idp", {"algorithm": "RS256", "expires_in": "300", "issuer": ISSUER,
                                  "jwks_url": "https://idp.example/jwks", **settings})
    remote = RemoteKeySet("RS256", url=config.jwks_url, issuer=ISSUER, ttl=config.jwks_cache_ttl,
                          max_stale=config.jwks_max_stale, clock=clock, fetch=source)
    return remote, Verifier(config, KeySet("RS256", None, None, {}, remote=remote))


def test_remembered_token_stops_verifying_once_its_key_left_the_set() -> None:
    old, new = rsa_key(), rsa_key()
    clock = FakeClock()
    source = Source({"keys": [public_jwk(old, "old"), public_jwk(new, "new")]},
                    {"keys": [public_jwk(new, "new")]})
    remote, verifier = remote_verifier(source, clock, jwks_cache_ttl="60")
    token = rs256(old, "old")
    assert verifier.verify(token)["sub"] == "carol"
    for _ in range(3):  # remembered: no fetch while the set is fresh
        verifier.verify(token)
    assert source.calls == 1
    clock.now += 60 + 1.0  # jwks_cache_ttl plus at most the refetch interval
    with pytest.raises(UnknownKeyError):
        verifier.verify(token)
    assert source.calls == 2
    verifier.verify(rs256(new, "new"))


def test_remembered_token_stops_verifying_through_http_after_its_key_left_the_set(
        idp: DocumentServer) -> None:
    old, new = rsa_key(), rsa_key()
    idp.answers["/jwks"] = Answer({"keys": [public_jwk(old, "old"), public_jwk(new, "new")]})
    app = app_of({"jwt.configs": "idp", "jwt.security_policy": "idp", "jwt.idp.algorithm": "RS256",
                  "jwt.idp.expires_in": "300", "jwt.idp.issuer": ISSUER,
                  "jwt.idp.jwks_url": idp.url("/jwks"), "jwt.idp.jwks_cache_ttl": "60"})
    remote = get_jwt_runtime(app.app.registry, "idp").keys.remote
    assert remote is not None
    clock = FakeClock()
    remote._clock = clock  # the set's own clock, steered
    token = rs256(old, "old")
    app.get("/any", headers=bearer(token), status=200)
    idp.answers["/jwks"] = Answer({"keys": [public_jwk(new, "new")]})
    clock.now += 30
    app.get("/any", headers=bearer(token), status=200)  # fresh: remembered
    clock.now += 31
    res = app.get("/any", headers=bearer(token), status=401)
    assert 'error="invalid_token"' in res.headers["WWW-Authenticate"]


# -- 5. a whole-fetch deadline; an expired set is expired while a fetch is in flight -------------


class DrippingServer:
    """Answers every connection with a JWK Set, one byte every ``interval`` seconds."""

    def __init__(self, body: bytes, interval: float) -> None:
        self.answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                       b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        self.interval = interval
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(4096)
                for i in range(len(self.answer)):
                    if self.stop.wait(self.interval):
                        return
                    conn.sendall(self.answer[i:i + 1])
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def test_dripped_key_set_fetch_ends_at_jwks_timeout() -> None:
    """``jwks_timeout`` bounds the whole fetch: a server sending a byte every 0.05 s (each
    read well inside the timeout) no longer holds the fetch for the answer's length."""
    body = json.dumps({"keys": [public_jwk(rsa_key(), "k")]}).encode()
    server = DrippingServer(body, 0.05)  # the whole answer would take about 40 s
    try:
        started = time.monotonic()
        with pytest.raises(FetchError, match="timeout"):
            fetch_json(f"http://127.0.0.1:{server.port}/jwks", 0.5)
        assert time.monotonic() - started < 5  # the deadline, not the drip, ended it
    finally:
        server.close()


def test_expired_set_is_expired_while_a_fetch_is_in_flight() -> None:
    old, new = rsa_key(), rsa_key()
    clock = FakeClock()
    started, release = threading.Event(), threading.Event()
    documents = [{"keys": [public_jwk(old, "old")]}, {"keys": [public_jwk(new, "new")]}]

    def fetch(url: str, timeout: float) -> Fetched:
        document = documents.pop(0)
        if not documents:  # the second fetch: held until released
            started.set()
            release.wait(5)
        return Fetched(document, None)

    remote = RemoteKeySet("RS256", url="https://idp.example/jwks", issuer=ISSUER, ttl=10,
                          clock=clock, fetch=fetch)
    remote.key_for("old")
    clock.now += 11  # the set has expired
    leader = threading.Thread(target=lambda: pytest.raises(UnknownKeyError, remote.key_for, "x"))
    leader.start()
    assert started.wait(5)
    outcome: list[Any] = []

    def waiter() -> None:
        try:
            outcome.append(remote.key_for("old"))
        except UnknownKeyError as exc:
            outcome.append(exc)

    follower = threading.Thread(target=waiter)
    follower.start()
    follower.join(0.3)
    assert outcome == []  # it waits for the fetch instead of answering with the expired set
    release.set()
    follower.join(5)
    leader.join(5)
    assert len(outcome) == 1 and isinstance(outcome[0], UnknownKeyError)


# -- 6. stale-if-error has a bound ---------------------------------------------------------------


def test_unrefreshable_key_set_is_dropped_after_jwks_max_stale() -> None:
    key = rsa_key()
    clock = FakeClock()
    source = Source({"keys": [public_jwk(key, "k")]}, FetchError("connectionrefusederror"))
    remote, verifier = remote_verifier(source, clock, jwks_cache_ttl="60", jwks_max_stale="3600")
    token = rs256(key, "k")
    verifier.verify(token)
    clock.now += 60 + 3000  # expired, cannot be refreshed: stale-if-error
    verifier.verify(token)
    clock.now += 601  # past jwks_max_stale
    with pytest.raises(KeySetUnavailableError):
        verifier.verify(token)
    with pytest.raises(KeySetUnavailableError):
        remote.key_for("k")


def test_unrefreshable_key_set_past_jwks_max_stale_answers_503(idp: DocumentServer) -> None:
    key = rsa_key()
    idp.answers["/jwks"] = Answer({"keys": [public_jwk(key, "k")]})
    app = app_of({"jwt.configs": "idp", "jwt.security_policy": "idp", "jwt.idp.algorithm": "RS256",
                  "jwt.idp.expires_in": "300", "jwt.idp.issuer": ISSUER,
                  "jwt.idp.jwks_url": idp.url("/jwks"), "jwt.idp.jwks_cache_ttl": "60",
                  "jwt.idp.jwks_max_stale": "600"})
    node = get_jwt_runtime(app.app.registry, "idp")
    assert node.config.jwks_max_stale == 600
    remote = node.keys.remote
    assert remote is not None
    clock = FakeClock()
    remote._clock = clock
    token = rs256(key, "k")
    app.get("/any", headers=bearer(token), status=200)
    idp.answers["/jwks"] = Answer({"error": "blocked"}, status=502)
    clock.now += 60 + 500
    app.get("/any", headers=bearer(token), status=200)  # stale, within the bound
    clock.now += 101
    res = app.get("/any", headers=bearer(token), status=503)
    assert "WWW-Authenticate" not in res.headers or "invalid_token" not in res.headers["WWW-Authenticate"]


def test_jwks_max_stale_applies_only_to_remote_configs() -> None:
    from pyramid.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="jwt.a.jwks_max_stale"):
        app_of({"jwt.configs": "a", "jwt.a.algorithm": "HS256", "jwt.a.secret": "x" * 32,
                "jwt.a.expires_in": "60", "jwt.a.jwks_max_stale": "10"})


# -- 7. a hanging discovery document never stalls another config --------------------------------


def test_hanging_discovery_never_stalls_another_configs_tokens(idp: DocumentServer) -> None:
    path = "/.well-known/openid-configuration"
    idp.answers[path] = Answer({"issuer": ISSUER, "jwks_uri": idp.url("/jwks")}, delay=2)
    app = app_of({
        "jwt.configs": "idp staff", "jwt.security_policy": "idp staff",
        "jwt.idp.algorithm": "RS256", "jwt.idp.expires_in": "300",
        "jwt.idp.discovery_url": idp.url(path), "jwt.idp.jwks_timeout": "2",
        "jwt.staff.algorithm": "HS384", "jwt.staff.secret": "s" * 48, "jwt.staff.expires_in": "900",
        "jwt.staff.issuer": "https://myapp.example",
    })
    staff = get_jwt_runtime(app.app.registry, "staff")
    assert staff.issuer is not None
    for n in range(3):
        token = staff.issuer.issue({"sub": f"alice{n}"}).token
        assert app.get("/any", headers=bearer(token)).json["config"] == "staff"
    assert idp.hits.get(path, 0) == 0  # nothing waited on the identity provider


def test_undiscovered_config_is_fetched_on_a_token_that_may_be_its_own(idp: DocumentServer) -> None:
    key = rsa_key()
    path = "/.well-known/openid-configuration"
    idp.answers[path] = Answer({"issuer": ISSUER, "jwks_uri": idp.url("/jwks")})
    idp.answers["/jwks"] = Answer({"keys": [public_jwk(key, "k")]})
    app = app_of({
        "jwt.configs": "staff idp", "jwt.security_policy": "staff idp",
        "jwt.idp.algorithm": "RS256", "jwt.idp.expires_in": "300", "jwt.idp.discovery_url": idp.url(path),
        "jwt.staff.algorithm": "HS384", "jwt.staff.secret": "s" * 48, "jwt.staff.expires_in": "900",
        "jwt.staff.issuer": "https://myapp.example",
    })
    assert app.get("/any", headers=bearer(rs256(key, "k"))).json["config"] == "idp"
    assert idp.hits[path] == 1


# -- 8. one key set, several tenants ------------------------------------------------------------


def test_two_tenants_on_one_key_set_each_get_their_tokens_verified(idp: DocumentServer) -> None:
    key = rsa_key()
    idp.answers["/jwks"] = Answer({"keys": [public_jwk(key, "shared")]})
    app = app_of({
        "jwt.configs": "tenant_a tenant_b", "jwt.security_policy": "tenant_a tenant_b",
        **{f"jwt.{t}.{k}": v for t in ("tenant_a", "tenant_b") for k, v in
           {"algorithm": "RS256", "expires_in": "300", "jwks_url": idp.url("/jwks")}.items()},
        "jwt.tenant_a.issuer": "https://idp.example/a", "jwt.tenant_b.issuer": "https://idp.example/b",
    })
    for tenant in ("tenant_a", "tenant_b", "tenant_b", "tenant_a"):
        token = rs256(key, "shared", iss=f"https://idp.example/{tenant[-1]}", sub=tenant)
        assert app.get("/any", headers=bearer(token)).json == {"config": tenant, "user": tenant}
    other = rs256(key, "shared", iss="https://idp.example/c")
    app.get("/any", headers=bearer(other), status=401)


@pytest.mark.parametrize("header", [
    {"alg": ["HS256"], "typ": "JWT"}, {"alg": {"HS256": 1}, "typ": "JWT"}, {"alg": 256},
    {"alg": "HS256", "kid": ["a"]}, {"alg": "HS256", "kid": {"a": 1}}, {"alg": None, "kid": 7},
])
def test_a_header_with_non_string_alg_or_kid_is_refused_not_a_500_with_several_configs(
        header: dict[str, Any]) -> None:
    """The chooser looked the header's alg up in a dict: a list or an object raised TypeError
    (a 500) on a policy of two or more configs (review of 2026-12-04)."""
    from ..conftest import HS256_SECRET

    app = app_of({"jwt.configs": "one two", "jwt.security_policy": "one two",
                  "jwt.one.algorithm": "HS256", "jwt.one.secret": HS256_SECRET, "jwt.one.expires_in": "60",
                  "jwt.two.algorithm": "HS384", "jwt.two.secret": "z" * 48, "jwt.two.expires_in": "60"})
    token = f"{b64(json.dumps(header).encode())}.{b64(b'{}')}.{b64(b'sig')}"
    answer = app.get("/any", headers=bearer(token), status=401)
    assert "invalid_token" in answer.headers["WWW-Authenticate"]
