"""Many issuers on one app: several configs on the security policy, and keys from a remote
JWK Set (an identity provider's, or another service's), fetched on first need and cached."""

from __future__ import annotations

import concurrent.futures
import io
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet, RSAKey
from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from webtest import TestApp

from pyramid_jwtnode import KeySetUnavailableError, UnknownKeyError, get_jwt_runtime
from pyramid_jwtnode.tools.cli import main as pjwt
from pyramid_jwtnode.jose.jwks import Fetched, FetchError, RemoteKeySet, keys_of

from .conftest import HS256_SECRET, Clock, KeyPair
from .helpers import raises_config_error
from .jwks_server import Answer, DocumentServer

IDP_ISSUER = "https://idp.example"
REPO = Path(__file__).resolve().parent.parent


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: Any, kid: str, **extra: Any) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, **extra}


def idp_token(key: Any, kid: str, **claims: Any) -> str:
    now = int(time.time())
    return jwt.encode({"sub": "carol", "iss": IDP_ISSUER, "iat": now, "exp": now + 300, **claims},
                      key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def idp() -> Iterator[DocumentServer]:
    server = DocumentServer()
    yield server
    server.close()


# -- the remote key set, alone -------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Source:
    """A fetch function the tests steer: answers, failures, and a count of calls."""

    def __init__(self, *documents: Any) -> None:
        self.documents = list(documents)
        self.calls = 0
        self.max_age: float | None = None

    def __call__(self, url: str, timeout: float) -> Fetched:
        self.calls += 1
        document = self.documents[0] if len(self.documents) == 1 else self.documents.pop(0)
        if isinstance(document, FetchError):
            raise document
        return Fetched(document, self.max_age)


def remote(source: Source, clock: FakeClock, ttl: float = 300) -> RemoteKeySet:
    return RemoteKeySet("RS256", url="https://idp.example/jwks", issuer=IDP_ISSUER, ttl=ttl,
                        clock=clock, fetch=source)


def test_nothing_is_fetched_until_a_key_is_needed() -> None:
    source = Source({"keys": [public_jwk(rsa_key(), "k1")]})
    keyset = remote(source, FakeClock())
    assert source.calls == 0
    keyset.key_for("k1")
    keyset.key_for("k1")
    assert source.calls == 1


def test_cache_ttl_and_a_shorter_max_age(monkeypatch: pytest.MonkeyPatch) -> None:
    clock, source = FakeClock(), Source({"keys": [public_jwk(rsa_key(), "k1")]})
    keyset = remote(source, clock, ttl=300)
    keyset.key_for("k1")
    clock.now += 299
    keyset.key_for("k1")
    assert source.calls == 1
    clock.now += 2
    keyset.key_for("k1")
    assert source.calls == 2
    source.max_age = 10  # Cache-Control: max-age=10 wins over the configured 300 s
    clock.now += 301
    keyset.key_for("k1")
    clock.now += 11
    keyset.key_for("k1")
    assert source.calls == 4


def test_a_removed_key_stops_verifying_once_refreshed() -> None:
    old, new = rsa_key(), rsa_key()
    clock = FakeClock()
    source = Source({"keys": [public_jwk(old, "old"), public_jwk(new, "new")]},
                    {"keys": [public_jwk(new, "new")]})
    keyset = remote(source, clock, ttl=1)
    keyset.key_for("old")
    generation = keyset.generation
    clock.now += 1.5
    with pytest.raises(UnknownKeyError):
        keyset.key_for("old")
    assert keyset.generation > generation
    keyset.key_for("new")


def test_unknown_kids_refetch_at_most_once_per_interval() -> None:
    clock, source = FakeClock(), Source({"keys": [public_jwk(rsa_key(), "k1")]})
    keyset = remote(source, clock)
    keyset.key_for("k1")
    for _ in range(50):
        with pytest.raises(UnknownKeyError):
            keyset.key_for(secrets.token_hex(4))
    assert source.calls == 1  # the set was fetched a moment ago
    clock.now += 1.01
    with pytest.raises(UnknownKeyError):
        keyset.key_for("forged")
    assert source.calls == 2


def test_cannot_fetch_keeps_held_keys_and_fails_closed_for_others() -> None:
    clock = FakeClock()
    source = Source({"keys": [public_jwk(rsa_key(), "k1")]}, FetchError("status_500"))
    keyset = remote(source, clock, ttl=1)
    keyset.key_for("k1")
    clock.now += 2  # stale: the refresh fails, the held key stays in use
    keyset.key_for("k1")
    with pytest.raises(KeySetUnavailableError):
        keyset.key_for("other")


def test_never_fetched_and_failing_is_unavailable_not_unknown() -> None:
    keyset = remote(Source(FetchError("connectionrefusederror")), FakeClock())
    with pytest.raises(KeySetUnavailableError):
        keyset.key_for("k1")


GOOD = public_jwk(rsa_key(), "good")


@pytest.mark.parametrize(("jwk", "usable"), [
    (GOOD, True),
    ({**GOOD, "use": "enc"}, False),
    ({**GOOD, "alg": "RS512"}, False),
    ({**GOOD, "alg": "RS256", "use": "sig"}, True),
    ({**GOOD, "key_ops": ["encrypt"]}, False),
    ({**GOOD, "key_ops": ["verify"]}, True),
    ({**GOOD, "d": "AAAA"}, False),
    (public_jwk(rsa.generate_private_key(public_exponent=65537, key_size=1024), "weak"), False),
    ({**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())),
      "kid": "ec"}, False),
    ({"kty": "oct", "k": "c2VjcmV0", "kid": "oct"}, False),
    ({**GOOD, "n": "not base64!"}, False),
], ids=["good", "use-enc", "other-alg", "alg-and-use", "key-ops-encrypt", "key-ops-verify", "private",
        "rsa-1024", "ec-key", "oct", "garbage"])
def test_only_keys_for_the_pinned_algorithm_are_kept(jwk: dict[str, Any], usable: bool) -> None:
    keys = keys_of("RS256", {"keys": [jwk]})
    assert (jwk["kid"] in keys) is usable


@pytest.mark.parametrize("document", [[], {"keys": "x"}, {"nokeys": []}, "text"])
def test_only_a_jwk_set_is_used(document: Any) -> None:
    with pytest.raises(FetchError):
        keys_of("RS256", document)


def test_the_only_key_without_a_kid_serves_tokens_without_one() -> None:
    jwk = public_jwk(rsa_key(), "x")
    del jwk["kid"]
    assert None in keys_of("RS256", {"keys": [jwk]})
    assert None not in keys_of("RS256", {"keys": [jwk, public_jwk(rsa_key(), "y")]})


# -- settings ----------------------------------------------------------------------------------

REMOTE = {"jwt.configs": "idp", "jwt.idp.algorithm": "RS256", "jwt.idp.expires_in": "300",
          "jwt.idp.jwks_url": "https://idp.example/jwks", "jwt.idp.issuer": IDP_ISSUER}


def start(settings: dict[str, Any]) -> Any:
    with Configurator(settings=settings) as config:
        config.include("pyramid_jwtnode")
    return config


@pytest.mark.parametrize(("changes", "key"), [
    ({"jwt.idp.jwks_url": "http://idp.example/jwks"}, "jwt.idp.jwks_url"),
    ({"jwt.idp.jwks_url": "ftp://idp.example/jwks"}, "jwt.idp.jwks_url"),
    ({"jwt.idp.issuer": None}, "jwt.idp.issuer"),
    ({"jwt.idp.algorithm": "HS256"}, "jwt.idp.jwks_url"),
    ({"jwt.idp.kid": "k"}, "jwt.idp.kid"),
    ({"jwt.idp.public_key_file": "/k.pub"}, "jwt.idp.public_key_file"),
    ({"jwt.idp.token_route": "/t", "jwt.idp.payload": "example_app:recipe_payload"}, "jwt.idp.token_route"),
    ({"jwt.idp.jwks_cache_ttl": "0"}, "jwt.idp.jwks_cache_ttl"),
    ({"jwt.idp.jwks_timeout": "soon"}, "jwt.idp.jwks_timeout"),
    ({"jwt.idp.discovery_url": "https://idp.example/.well-known/openid-configuration"},
     "jwt.idp.discovery_url"),
])
def test_remote_settings_mistakes_stop_start_up(changes: dict[str, Any], key: str) -> None:
    settings = {**REMOTE, **changes}
    raises_config_error(lambda: start({k: v for k, v in settings.items() if v is not None}), key)


def test_cache_settings_without_a_remote_set_are_refused() -> None:
    raises_config_error(lambda: start({"jwt.configs": "a", "jwt.a.algorithm": "HS256",
                                       "jwt.a.secret": HS256_SECRET, "jwt.a.expires_in": "60",
                                       "jwt.a.jwks_cache_ttl": "30"}), "jwt.a.jwks_cache_ttl")


def test_loopback_http_and_decimal_timeout_are_accepted() -> None:
    node = get_jwt_runtime(start({**REMOTE, "jwt.idp.jwks_url": "http://127.0.0.1:9/jwks",
                               "jwt.idp.jwks_timeout": "0.5", "jwt.idp.jwks_cache_ttl": "1"}).registry)
    assert node.config.jwks_timeout == 0.5 and node.issuer is None


def test_start_up_does_not_touch_the_remote_server(idp: DocumentServer) -> None:
    start({**REMOTE, "jwt.idp.jwks_url": idp.url("/jwks")})
    assert idp.hits == {}


# -- several configs on one policy, through HTTP -------------------------------------------------


class Root:
    __acl__ = [(Allow, Authenticated, "read"), (Allow, "jwt-config:partners", "partner-read")]

    def __init__(self, request: Any) -> None:
        pass


def three_issuers(keys: dict[str, KeyPair], jwks_url: str, *, policy: str = "staff partners idp") -> TestApp:
    settings = {
        "jwt.configs": "staff partners idp",
        "jwt.security_policy": policy,
        "jwt.staff.algorithm": "HS384", "jwt.staff.secret": "s" * 48, "jwt.staff.expires_in": "900",
        "jwt.staff.issuer": "https://myapp.example",
        "jwt.partners.algorithm": "ES256", "jwt.partners.private_key_file": str(keys["p256"].private),
        "jwt.partners.expires_in": "3600", "jwt.partners.principals_claim": "roles",
        "jwt.idp.algorithm": "RS256", "jwt.idp.expires_in": "300", "jwt.idp.jwks_url": jwks_url,
        "jwt.idp.issuer": IDP_ISSUER, "jwt.idp.principals_claim": "roles",
    }
    with Configurator(settings=settings, root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        for name, permission in (("any", "read"), ("partner", "partner-read")):
            config.add_route(name, f"/{name}")
            config.add_view(lambda r: {"config": r.jwt_config, "user": r.authenticated_userid},
                            route_name=name, permission=permission, renderer="json")
    return TestApp(config.make_wsgi_app())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def idp_key(idp: DocumentServer) -> rsa.RSAPrivateKey:
    """An identity provider's key set, minted by an independent JOSE library (joserfc)."""
    key = RSAKey.generate_key(2048, parameters={"kid": "idp-2026", "use": "sig", "alg": "RS256"})
    idp.answers["/jwks"] = Answer(KeySet([key]).as_dict(private=False))
    return serialization.load_pem_private_key(key.as_pem(private=True), password=None)  # type: ignore[return-value]


def test_three_issuers_reach_a_view_open_to_any_valid_token(keys: dict[str, KeyPair], idp: DocumentServer,
                                                           idp_key: Any) -> None:
    app = three_issuers(keys, idp.url("/jwks"))
    registry = app.app.registry
    staff = get_jwt_runtime(registry, "staff").issuer.issue({"sub": "alice"}).token  # type: ignore[union-attr]
    partner = get_jwt_runtime(registry, "partners").issuer.issue({"sub": "acme"}).token  # type: ignore[union-attr]
    assert app.get("/any", headers=bearer(staff)).json == {"config": "staff", "user": "alice"}
    assert app.get("/any", headers=bearer(partner)).json == {"config": "partners", "user": "acme"}
    assert app.get("/any", headers=bearer(idp_token(idp_key, "idp-2026"))).json == {"config": "idp", "user": "carol"}
    # only partners' tokens reach the view whose ACL names jwt-config:partners
    assert app.get("/partner", headers=bearer(partner)).json["config"] == "partners"
    for token in (staff, idp_token(idp_key, "idp-2026")):
        res = app.get("/partner", headers=bearer(token), status=403)
        assert 'error="insufficient_scope"' in res.headers["WWW-Authenticate"]


def test_a_token_cannot_claim_the_config_principal(keys: dict[str, KeyPair], idp: DocumentServer,
                                                   idp_key: Any) -> None:
    app = three_issuers(keys, idp.url("/jwks"))
    forged_role = idp_token(idp_key, "idp-2026", roles=["jwt-config:partners"], sub="jwt-config:partners")
    app.get("/any", headers=bearer(forged_role), status=200)
    app.get("/partner", headers=bearer(forged_role), status=403)


def test_each_config_keeps_its_own_rules(keys: dict[str, KeyPair], idp: DocumentServer, idp_key: Any) -> None:
    app = three_issuers(keys, idp.url("/jwks"))
    registry = app.app.registry
    # staff's key but the idp's issuer: chosen by iss (idp), refused by the idp's rules
    wrong_issuer = jwt.encode({"sub": "x", "iss": IDP_ISSUER, "exp": int(time.time()) + 60}, "s" * 48,
                              algorithm="HS384")
    app.get("/any", headers=bearer(wrong_issuer), status=401)
    # the idp's key with staff's issuer: staff pins HS384, so RS256 is refused
    app.get("/any", headers=bearer(idp_token(idp_key, "idp-2026", iss="https://myapp.example")), status=401)
    # a partner token re-signed without a kid falls to the ES256 configs: partners signs with a kid
    partner_claims = get_jwt_runtime(registry, "partners").issuer.claims({"sub": "acme"})  # type: ignore[union-attr]
    no_kid = jwt.encode(partner_claims, keys["p256"].private_key, algorithm="ES256")
    app.get("/any", headers=bearer(no_kid), status=401)


def test_the_log_names_the_config_that_refused_the_token(keys: dict[str, KeyPair], idp: DocumentServer,
                                                        idp_key: Any, caplog: pytest.LogCaptureFixture) -> None:
    app = three_issuers(keys, idp.url("/jwks"))
    caplog.set_level(logging.INFO, logger="pyramid_jwtnode")
    # the idp's issuer, signed with staff's secret: the idp's config refuses it, not staff's
    wrong_key = jwt.encode({"sub": "x", "iss": IDP_ISSUER, "exp": int(time.time()) + 60}, "s" * 48,
                           algorithm="HS384")
    app.get("/any", headers=bearer(wrong_key), status=401)
    assert "jwt config idp: bearer token refused (alg_not_allowed)" in caplog.text, caplog.text
    caplog.clear()
    idp.answers["/jwks"] = Answer({"error": "down"}, status=500)
    app.get("/any", headers=bearer(idp_token(idp_key, "never-seen")), status=503)
    assert "jwt config idp: key set unavailable" in caplog.text, caplog.text


def test_a_token_verified_before_and_refused_now_is_logged_under_its_config(
        keys: dict[str, KeyPair], caplog: pytest.LogCaptureFixture) -> None:
    """The chooser remembers which config verified a token; when that token is refused later
    (it expired), the refusal still names that config."""
    clock = Clock(int(time.time()))
    with Configurator(root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("staff", algorithm="HS384", secret="s" * 48, expires_in=900, clock=clock)
        config.add_jwt_config("partners", algorithm="ES256", private_key_file=str(keys["p256"].private),
                              expires_in=60, clock=clock)
        config.set_jwt_security_policy("staff", "partners")
        config.add_route("any", "/any")
        config.add_view(lambda r: {"config": r.jwt_config}, route_name="any", permission="read", renderer="json")
    app = TestApp(config.make_wsgi_app())
    token = get_jwt_runtime(config.registry, "partners").issuer.issue({"sub": "acme"}).token  # type: ignore[union-attr]
    assert app.get("/any", headers=bearer(token)).json == {"config": "partners"}
    clock.advance(3600)
    caplog.set_level(logging.INFO, logger="pyramid_jwtnode")
    app.get("/any", headers=bearer(token), status=401)
    assert "jwt config partners: bearer token refused (expired)" in caplog.text, caplog.text


def test_configs_that_cannot_be_told_apart_are_refused_at_start_up() -> None:
    settings = {"jwt.configs": "a b", "jwt.security_policy": "a b"}
    for name in "ab":
        settings.update({f"jwt.{name}.algorithm": "HS256", f"jwt.{name}.secret": name * 40,
                         f"jwt.{name}.expires_in": "60"})
    message = raises_config_error(lambda: start(settings), "jwt.security_policy")
    assert "kid" in message and "issuer" in message
    start({**settings, "jwt.b.kid": "b-1"})  # one key id tells them apart
    start({**settings, "jwt.a.issuer": "https://a", "jwt.b.issuer": "https://b"})


def test_the_policy_in_code_takes_several_configs(keys: dict[str, KeyPair]) -> None:
    with Configurator(root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("staff", algorithm="HS256", secret=HS256_SECRET, expires_in=60)
        config.add_jwt_config("partners", algorithm="ES256", private_key_file=str(keys["p256"].private),
                              expires_in=60)
        config.set_jwt_security_policy("staff", "partners")
        config.add_route("any", "/any")
        config.add_view(lambda r: {"config": r.jwt_config}, route_name="any", permission="read",
                        renderer="json")
    app = TestApp(config.make_wsgi_app())
    for name in ("staff", "partners"):
        token = get_jwt_runtime(config.registry, name).issuer.issue({"sub": "u"}).token  # type: ignore[union-attr]
        assert app.get("/any", headers=bearer(token)).json == {"config": name}


def test_unfetchable_key_set_is_503_for_unknown_keys_only(keys: dict[str, KeyPair], idp: DocumentServer,
                                                          idp_key: Any) -> None:
    app = three_issuers(keys, idp.url("/jwks"))
    app.get("/any", headers=bearer(idp_token(idp_key, "idp-2026")), status=200)
    idp.answers["/jwks"] = Answer({"error": "down"}, status=500)
    time.sleep(1.05)  # past the refetch interval
    res = app.get("/any", headers=bearer(idp_token(rsa_key(), "rotated-away")), status=503)
    assert res.json["error"] == "temporarily_unavailable" and res.headers["Retry-After"]
    app.get("/any", headers=bearer(idp_token(idp_key, "idp-2026")), status=200)  # cached key still works


def test_while_fetchable_an_unknown_kid_is_a_plain_401(keys: dict[str, KeyPair], idp: DocumentServer,
                                                       idp_key: Any) -> None:
    app = three_issuers(keys, idp.url("/jwks"))
    res = app.get("/any", headers=bearer(idp_token(rsa_key(), "forged")), status=401)
    assert 'error="invalid_token"' in res.headers["WWW-Authenticate"]


def test_timeouts_and_oversized_answers_count_as_failures(idp: DocumentServer) -> None:
    idp.answers["/slow"] = Answer({"keys": []}, delay=1.0)
    idp.answers["/huge"] = Answer(b"{" + b" " * 300_000 + b"}")
    idp.answers["/redirect"] = Answer(b"", status=302, headers={"Location": "http://127.0.0.1:1/"})
    for path in ("/slow", "/huge", "/redirect"):
        keyset = RemoteKeySet("RS256", url=idp.url(path), issuer=IDP_ISSUER, timeout=0.3)
        with pytest.raises(KeySetUnavailableError):
            keyset.key_for("k")


def test_200_concurrent_unknown_kids_make_one_or_two_fetches(keys: dict[str, KeyPair], idp: DocumentServer,
                                                             idp_key: Any) -> None:
    from waitress.server import create_server

    app = three_issuers(keys, idp.url("/jwks"))
    app.get("/any", headers=bearer(idp_token(idp_key, "idp-2026")), status=200)
    time.sleep(1.05)
    before = idp.hits["/jwks"]
    server = create_server(app.app, host="127.0.0.1", port=0, threads=16, backlog=256)
    port = server.socket.getsockname()[1]
    import threading
    threading.Thread(target=server.run, daemon=True).start()
    forged = [idp_token(rsa_key() if i < 4 else idp_key, f"forged-{secrets.token_hex(6)}") for i in range(200)]

    def call(token: str) -> int:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/any", headers=bearer(token))
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=200) as pool:
            statuses = list(pool.map(call, forged))
    finally:
        server.close()
    assert set(statuses) == {401}
    assert idp.hits["/jwks"] - before in (1, 2)


def test_openid_connect_discovery(idp: DocumentServer, idp_key: Any) -> None:
    idp.answers["/.well-known/openid-configuration"] = Answer({"issuer": IDP_ISSUER, "jwks_uri": idp.url("/jwks")})
    settings = {"jwt.configs": "idp", "jwt.security_policy": "idp", "jwt.idp.algorithm": "RS256",
                "jwt.idp.expires_in": "300", "jwt.idp.discovery_url": idp.url("/.well-known/openid-configuration")}
    with Configurator(settings=settings, root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_route("any", "/any")
        config.add_view(lambda r: {"ok": True}, route_name="any", permission="read", renderer="json")
    app = TestApp(config.make_wsgi_app())
    app.get("/any", headers=bearer(idp_token(idp_key, "idp-2026")), status=200)
    app.get("/any", headers=bearer(idp_token(idp_key, "idp-2026", iss="https://elsewhere")), status=401)


def test_discovery_issuer_must_equal_the_configured_one(idp: DocumentServer, idp_key: Any,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    idp.answers["/.well-known/openid-configuration"] = Answer({"issuer": "https://other", "jwks_uri": idp.url("/jwks")})
    keyset = RemoteKeySet("RS256", discovery_url=idp.url("/.well-known/openid-configuration"), issuer=IDP_ISSUER)
    with caplog.at_level(logging.ERROR, logger="pyramid_jwtnode"), pytest.raises(KeySetUnavailableError):
        keyset.key_for("idp-2026")
    assert "discovery_issuer_mismatch" in caplog.text


def test_pjwt_shows_and_verifies_with_a_remote_config(tmp_path: Path, idp: DocumentServer, idp_key: Any) -> None:
    ini = tmp_path / "app.ini"
    ini.write_text("[app:main]\nuse = call:example_app:main\n" + "".join(
        f"{k} = {v}\n" for k, v in {**REMOTE, "jwt.idp.jwks_url": idp.url("/jwks")}.items()))
    out, err = io.StringIO(), io.StringIO()
    assert pjwt(["configs", str(ini)], stdout=out, stderr=err) == 0, err.getvalue()
    assert "jwks_url" in out.getvalue() and idp.url("/jwks") in out.getvalue()
    out = io.StringIO()
    assert pjwt(["verify", str(ini), "--config", "idp", idp_token(idp_key, "idp-2026")], stdout=out,
                stderr=err) == 0, err.getvalue()
    assert json.loads(out.getvalue())["sub"] == "carol"


def test_pjwt_verify_chooses_the_config_as_the_policy_does(tmp_path: Path, keys: dict[str, KeyPair],
                                                          idp: DocumentServer, idp_key: Any) -> None:
    """Without --config, each token is checked by the policy's config for it; a token the
    policy would refuse for want of a user id is refused too."""
    settings = {
        "jwt.configs": "staff partners idp", "jwt.security_policy": "staff partners idp",
        "jwt.staff.algorithm": "HS384", "jwt.staff.secret": "s" * 48, "jwt.staff.expires_in": "900",
        "jwt.staff.issuer": "https://myapp.example",
        "jwt.partners.algorithm": "ES256", "jwt.partners.private_key_file": str(keys["p256"].private),
        "jwt.partners.expires_in": "3600",
        **{k: v for k, v in REMOTE.items() if k.startswith("jwt.idp.")}, "jwt.idp.jwks_url": idp.url("/jwks"),
    }
    ini = tmp_path / "app.ini"
    ini.write_text("[app:main]\nuse = call:example_app:main\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
    registry = start(settings).registry
    partner = get_jwt_runtime(registry, "partners").issuer.issue({"sub": "acme"}).token  # type: ignore[union-attr]
    nobody = get_jwt_runtime(registry, "staff").issuer.issue({"role": "x"}).token  # type: ignore[union-attr]
    for token, sub in ((idp_token(idp_key, "idp-2026"), "carol"), (partner, "acme")):
        out, err = io.StringIO(), io.StringIO()
        assert pjwt(["verify", str(ini), token], stdout=out, stderr=err) == 0, err.getvalue()
        assert json.loads(out.getvalue())["sub"] == sub
    err = io.StringIO()
    assert pjwt(["verify", str(ini), nobody], stdout=io.StringIO(), stderr=err) == 1
    assert err.getvalue() == "pjwt: token refused by jwt config 'staff': no_userid\n"
    err = io.StringIO()
    assert pjwt(["verify", str(ini), "--config", "staff", partner], stdout=io.StringIO(), stderr=err) == 1
    assert err.getvalue().startswith("pjwt: token refused by jwt config 'staff': ")


# -- two processes: an issuing service and a verifying one ---------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class IssuingService:
    """This add-on as another service: RS256 with a jwks_route, served by waitress in a process."""

    def __init__(self, tmp: Path, port: int) -> None:
        self.tmp, self.port = tmp, port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, key: Path, kid: str, previous: str = "") -> None:
        ini = self.tmp / f"issuer-{kid}.ini"
        ini.write_text(f"""[app:main]
use = call:example_app:main
jwt.configs = svc
jwt.svc.algorithm = RS256
jwt.svc.expires_in = 600
jwt.svc.issuer = https://svc.internal
jwt.svc.private_key_file = {key}
jwt.svc.kid = {kid}
jwt.svc.jwks_route = /.well-known/jwks.json
jwt.svc.token_route = /token
jwt.svc.payload = example_app:recipe_payload
jwt.svc.claims_key = data
{previous}
[server:main]
use = egg:waitress#main
listen = 127.0.0.1:{self.port}
""")
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        self.process = subprocess.Popen([str(Path(sys.executable).with_name("pserve")), str(ini)], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/.well-known/jwks.json", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the issuing service did not start")

    def token(self) -> str:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/token", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=5) as answer:
            return str(json.load(answer)["access_token"])

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def write_key(path: Path) -> Path:
    key = rsa_key()
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    (path.with_suffix(".pub")).write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


@pytest.mark.slow
def test_an_issuing_service_rotates_and_stops_while_another_verifies(tmp_path: Path) -> None:
    port = free_port()
    service = IssuingService(tmp_path, port)
    old, new = write_key(tmp_path / "old.pem"), write_key(tmp_path / "new.pem")
    with Configurator(settings={
        "jwt.configs": "svc", "jwt.security_policy": "svc", "jwt.svc.algorithm": "RS256",
        "jwt.svc.expires_in": "600", "jwt.svc.issuer": "https://svc.internal",
        "jwt.svc.jwks_url": f"http://127.0.0.1:{port}/.well-known/jwks.json", "jwt.svc.jwks_cache_ttl": "1",
        "jwt.svc.userid_claim": "data.name",
    }, root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_route("any", "/any")
        config.add_view(lambda r: {"user": r.authenticated_userid}, route_name="any", permission="read",
                        renderer="json")
    verifier = TestApp(config.make_wsgi_app())
    try:
        service.start(old, "2026-10")
        first = service.token()
        verifier.get("/any", headers=bearer(first), status=200)

        service.stop()  # rotation: a new kid, the old key kept in previous_keys
        service.start(new, "2026-11", f"jwt.svc.previous_keys = 2026-10 {old.with_suffix('.pub')}")
        rotated = service.token()
        assert jwt.get_unverified_header(rotated)["kid"] == "2026-11"
        time.sleep(1.05)  # the verifier fetched a moment ago: past its refetch interval
        verifier.get("/any", headers=bearer(rotated), status=200)  # no restart of the verifier
        verifier.get("/any", headers=bearer(first), status=200)

        service.stop()  # the issuer is gone: cached keys keep working, an unknown kid is 503
        time.sleep(1.05)
        verifier.get("/any", headers=bearer(rotated), status=200)
        unknown = jwt.encode({"data": {"name": "x"}, "iss": "https://svc.internal",
                              "exp": int(time.time()) + 60}, rsa_key(), algorithm="RS256",
                             headers={"kid": "2026-12"})
        assert verifier.get("/any", headers=bearer(unknown), status=503).json["error"] == "temporarily_unavailable"
    finally:
        service.stop()


def test_a_key_set_minted_by_joserfc_on_a_plain_server(idp: DocumentServer) -> None:
    key = RSAKey.generate_key(2048, parameters={"kid": "jose-1"})
    idp.answers["/jwks"] = Answer(KeySet([key]).as_dict(private=False))
    node_settings = {**REMOTE, "jwt.idp.jwks_url": idp.url("/jwks")}
    registry = start(node_settings).registry
    now = int(time.time())
    token = jose_jwt.encode({"alg": "RS256", "kid": "jose-1"},
                            {"sub": "jose", "iss": IDP_ISSUER, "iat": now, "exp": now + 60}, key)
    assert get_jwt_runtime(registry).verifier.verify(token)["sub"] == "jose"


# -- the docs' example files, run -------------------------------------------------------------

DOCS_EXAMPLES = REPO / "docs" / "examples"


def docs_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ini_name: str, server: DocumentServer,
             keys: dict[str, KeyPair]) -> TestApp:
    """A docs example ini with the identity provider's URLs pointed at the local server."""
    from pyramid.paster import get_app

    text = (DOCS_EXAMPLES / ini_name).read_text()
    text = text.replace("https://login.example.com/.well-known/jwks.json", server.url("/jwks"))
    text = text.replace("https://login.example.com/.well-known/openid-configuration",
                        server.url("/.well-known/openid-configuration"))
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "staff.key").write_text("k" * 48)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "partners.pem").write_bytes(keys["p256"].private.read_bytes())
    (tmp_path / "app.ini").write_text(text)
    monkeypatch.syspath_prepend(str(DOCS_EXAMPLES))
    return TestApp(get_app(str(tmp_path / "app.ini")))


def test_docs_example_several_configs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      idp: DocumentServer, keys: dict[str, KeyPair]) -> None:
    key = rsa_key()
    idp.answers["/jwks"] = Answer({"keys": [public_jwk(key, "login-1", use="sig")]})
    app = docs_app(tmp_path, monkeypatch, "several_configs.ini", idp, keys)
    registry = app.app.registry
    now = int(time.time())
    idp_tok = jwt.encode({"sub": "carol", "iss": "https://login.example.com/", "exp": now + 60},
                         key, algorithm="RS256", headers={"kid": "login-1"})
    staff = get_jwt_runtime(registry, "staff").issuer.issue({"sub": "alice"}).token  # type: ignore[union-attr]
    partner = get_jwt_runtime(registry, "partners").issuer.issue({"sub": "acme"}).token  # type: ignore[union-attr]
    for token, via in ((staff, "staff"), (partner, "partners"), (idp_tok, "idp")):
        assert app.get("/orders", headers=bearer(token)).json["via"] == via
    assert app.get("/partner/orders", headers=bearer(partner)).json == {"user": "acme", "via": "partners"}
    app.get("/partner/orders", headers=bearer(staff), status=403)
    app.get("/partner/orders", headers=bearer(idp_tok), status=403)


def test_docs_example_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, idp: DocumentServer,
                                keys: dict[str, KeyPair]) -> None:
    key = rsa_key()
    idp.answers["/jwks"] = Answer({"keys": [public_jwk(key, "login-1")]})
    idp.answers["/.well-known/openid-configuration"] = Answer(
        {"issuer": "https://login.example.com/", "jwks_uri": idp.url("/jwks")})
    app = docs_app(tmp_path, monkeypatch, "discovery.ini", idp, keys)
    now = int(time.time())
    token = jwt.encode({"sub": "carol", "iss": "https://login.example.com/", "exp": now + 60},
                       key, algorithm="RS256", headers={"kid": "login-1"})
    assert app.get("/orders", headers=bearer(token)).json == {"user": "carol", "via": "idp"}
