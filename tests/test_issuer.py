"""Layer 1: the issuer, a plain object, checked against PyJWT as the reference decoder."""

from __future__ import annotations

import datetime
import math
from typing import Any

import jwt
import pytest

from pyramid_jwtnode import Issuer, IssueError, Verifier, load_keys, parse_config

from .conftest import HS256_SECRET, NOW, Clock, KeyPair


def issuer(clock: Clock | None = None, **raw: Any) -> Issuer:
    settings = {"algorithm": "HS256", "secret": HS256_SECRET, "expires_in": 600, **raw}
    config = parse_config("main", settings)
    return Issuer(config, load_keys(config), clock=clock or Clock(), new_jti=lambda: "jti-1")


def test_claims_and_header() -> None:
    issued = issuer().issue({"sub": "alice", "role": "admin"})
    assert issued.claims == {"sub": "alice", "role": "admin", "iat": NOW, "exp": NOW + 600, "jti": "jti-1"}
    assert issued.expires_in == 600
    assert jwt.get_unverified_header(issued.token) == {"alg": "HS256", "typ": "JWT"}
    decoded = jwt.decode(issued.token, HS256_SECRET, algorithms=["HS256"],
                         options={"verify_exp": False, "verify_iat": False})
    assert decoded == issued.claims


def test_configured_claims_and_header() -> None:
    configured = issuer(
        issuer="https://auth.example", audience="api web", not_before=10, typ="at+jwt", kid="k1"
    )
    claims = configured.issue({"sub": "bob"}).claims
    assert claims["iss"] == "https://auth.example"
    assert claims["aud"] == ["api", "web"]
    assert claims["nbf"] == NOW + 10
    assert jwt.get_unverified_header(configured.issue({}).token) == {"alg": "HS256", "typ": "at+jwt", "kid": "k1"}


def test_single_audience_is_a_string() -> None:
    assert issuer(audience="api").issue({}).claims["aud"] == "api"


def test_jti_off_and_unique_by_default() -> None:
    assert "jti" not in issuer(jti="false").issue({}).claims
    config = parse_config("m", {"algorithm": "HS256", "secret": HS256_SECRET, "expires_in": 60})
    plain = Issuer(config, load_keys(config))
    assert plain.issue({}).claims["jti"] != plain.issue({}).claims["jti"]


def test_claims_key_nests_any_json_value_like_the_recipe() -> None:
    nested = issuer(claims_key="data", jti="false")
    for value in ({"name": "CYber"}, ["a", 1], "text", 7, None, {"exp": "inside data is fine"}):
        assert nested.issue(value).claims == {"data": value, "iat": NOW, "exp": NOW + 600}


def test_expires_in_override() -> None:
    assert issuer().issue({}, expires_in=5).claims["exp"] == NOW + 5
    with pytest.raises(IssueError):
        issuer().issue({}, expires_in=0)


@pytest.mark.parametrize("claim", ["iat", "exp", "nbf", "iss", "aud", "jti"])
def test_payload_may_not_set_registered_claims(claim: str) -> None:
    with pytest.raises(IssueError, match=claim):
        issuer().issue({claim: 1})


@pytest.mark.parametrize("payload", [["a"], "text", 5, None])
def test_payload_must_be_a_mapping_without_claims_key(payload: Any) -> None:
    with pytest.raises(IssueError, match="mapping"):
        issuer().issue(payload)


@pytest.mark.parametrize("sub", [1, None, ["a"], True])
def test_sub_must_be_a_string(sub: Any) -> None:
    with pytest.raises(IssueError, match="sub"):
        issuer().issue({"sub": sub})


@pytest.mark.parametrize(
    "value", [datetime.date(2026, 1, 1), {1, 2}, math.nan, math.inf, b"bytes"],
    ids=["date", "set", "nan", "inf", "bytes"],
)
def test_value_json_cannot_carry(value: Any) -> None:
    with pytest.raises(IssueError, match="JSON"):
        issuer().issue({"x": value})


def test_circular_payload() -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(IssueError, match="circular"):
        issuer().issue({"x": loop})


def test_depth_limit_matches_the_verifiers() -> None:
    nested: Any = "leaf"
    for _ in range(15):
        nested = [nested]
    ok = issuer()
    token = ok.issue({"x": nested}).token  # 16 levels with the claim set itself
    config = parse_config("main", {"algorithm": "HS256", "secret": HS256_SECRET, "expires_in": 600})
    assert Verifier(config, load_keys(config), clock=Clock()).verify(token)["x"] == nested
    with pytest.raises(IssueError, match="deeper than 16"):
        ok.issue({"x": [nested]})
    with pytest.raises(IssueError, match="deeper than 16"):
        ok.issue({"x": tuple([nested])})


@pytest.mark.parametrize("payload", [
    {1: "a", "1": "b", "sub": "x"}, {None: 1, "null": 2}, {True: 1, "true": 2}, {1.5: 1, "1.5": 2},
    {"deep": [{"x": {2: "a", "2": "b"}}]}, {"t": ({False: 0, "false": 1},)},
])
def test_keys_that_repeat_a_name_once_written_are_refused(payload: dict[Any, Any]) -> None:
    """JSON turns 1 into "1": the token would hold a name twice, which the verifier refuses."""
    with pytest.raises(IssueError, match="would repeat a name"):
        issuer().issue(payload)
    with pytest.raises(IssueError, match="would repeat a name"):
        issuer(claims_key="data").issue(payload)


def test_keys_that_are_not_strings_but_repeat_nothing_are_written_as_json_writes_them() -> None:
    config = parse_config("main", {"algorithm": "HS256", "secret": HS256_SECRET, "expires_in": 600})
    token = issuer().issue({"sub": "x", "years": {2024: "a", 2025: "b"}}).token
    assert Verifier(config, load_keys(config), clock=Clock()).verify(token)["years"] == {"2024": "a", "2025": "b"}


def test_token_larger_than_the_verifier_accepts_is_refused() -> None:
    with pytest.raises(IssueError, match="max_token_bytes"):
        issuer(max_token_bytes=512).issue({"x": "y" * 600})


def test_verify_only_keys_cannot_build_an_issuer(keys: dict[str, KeyPair]) -> None:
    config = parse_config("m", {"algorithm": "ES256", "public_key_file": str(keys["p256"].public),
                                "expires_in": 60})
    with pytest.raises(ValueError, match="only verify"):
        Issuer(config, load_keys(config))


@pytest.mark.parametrize(
    ("algorithm", "pair"),
    [("RS256", "rsa"), ("RS512", "rsa"), ("PS256", "rsa"), ("PS384", "rsa"), ("ES256", "p256"),
     ("ES384", "p384"), ("ES512", "p521"), ("EdDSA", "ed25519")],
)
def test_asymmetric_tokens_verify_with_pyjwt(keys: dict[str, KeyPair], algorithm: str, pair: str) -> None:
    config = parse_config("m", {"algorithm": algorithm, "private_key_file": str(keys[pair].private),
                                "expires_in": 60})
    ks = load_keys(config)
    issued = Issuer(config, ks).issue({"sub": "x"})
    header = jwt.get_unverified_header(issued.token)
    assert header == {"alg": algorithm, "typ": "JWT", "kid": ks.kid}
    public = keys[pair].public.read_bytes()
    assert jwt.decode(issued.token, public, algorithms=[algorithm])["sub"] == "x"
