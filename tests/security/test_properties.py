"""Property-based tests (hypothesis): random input never yields a 5xx, an identity, or an
exception other than the documented ones; and whatever we issue, we verify unchanged.

The default profile keeps this quick (derandomized, 150 examples a property); run
``HYPOTHESIS_PROFILE=deep pytest tests/security/test_properties.py`` for 100,000.
"""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyramid.exceptions import ConfigurationError
from webob import Request

from pyramid_jwtnode import InvalidTokenError, Issuer, JWTConfig, Verifier, load_keys, parse_config
from pyramid_jwtnode.jose.limits import RESERVED_CLAIMS
from pyramid_jwtnode.integration.settings import SETTINGS, configs_from_settings

from ..conftest import HS256_SECRET, NOW, Clock
from .conftest import HS_API, HS_HEADER, b64, claims, forge, protected_app

CONFIG = parse_config("api", {"algorithm": "HS256", "secret": HS256_SECRET, "expires_in": 600})
KEYS = load_keys(CONFIG)
VERIFIER = Verifier(CONFIG, KEYS, clock=Clock())
VALID = forge(HS_HEADER, claims())
B64URL = string.ascii_letters + string.digits + "-_"

APP = protected_app({}, "api", Clock(), api=HS_API).app  # the WSGI app, called without webtest


def _several_configs() -> Any:
    """The same protected view under a policy of two configs (the chooser runs first)."""
    from pyramid.config import Configurator

    from .conftest import Root

    with Configurator(root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("api", clock=Clock(), **HS_API)
        config.add_jwt_config("other", clock=Clock(), algorithm="HS384", secret="o" * 48, expires_in=600)
        config.set_jwt_security_policy("api", "other")
        config.add_route("protected", "/protected")
        config.add_view(lambda r: {"sub": r.authenticated_userid}, route_name="protected", permission="read",
                        renderer="json")
    return config.make_wsgi_app()


SEVERAL = _several_configs()


def status_for(authorization: str, path: str = "/protected", app: Any = APP) -> int:
    request = Request.blank(path)
    request.environ["HTTP_AUTHORIZATION"] = authorization
    return request.get_response(app).status_int


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",)), max_size=8), children, max_size=4),
    max_leaves=12,
)


def latin1(text: str) -> str:
    """What a WSGI server puts in the environ: the header's bytes read as latin-1."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


# -- the verifier and the policy against garbage ---------------------------------------


@given(st.binary(max_size=600) | st.text(max_size=600))
def test_verifier_raises_only_invalid_token_error(token: bytes | str) -> None:
    with pytest.raises(InvalidTokenError):
        VERIFIER.verify(token)


@given(st.integers(0, 2), st.one_of(st.text(B64URL, max_size=200), st.text(max_size=80),
                                    json_values.map(lambda v: b64(json.dumps(v).encode()))))
def test_any_replaced_segment_is_refused(index: int, replacement: str) -> None:
    parts = VALID.split(".")
    if parts[index] == replacement:
        return
    parts[index] = replacement
    with pytest.raises(InvalidTokenError):
        VERIFIER.verify(".".join(parts))


@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_any_authorization_header_never_5xx_never_identity(header: str) -> None:
    assert status_for(latin1(header) if not header.isascii() else header) in (400, 401)


@given(st.text(max_size=300))
def test_any_bearer_credentials_never_5xx_never_identity(credentials: str) -> None:
    assert status_for(latin1("Bearer " + credentials)) in (400, 401)


@given(st.sampled_from(["alg", "typ", "kid", "crit", "b64", "jku", "x5c", "zip", "exp"]), json_values)
def test_any_header_member_value_is_safe(member: str, value: Any) -> None:
    token = forge({"alg": "HS256", member: value} if member != "alg" else {"alg": value}, claims())
    status = status_for(f"Bearer {token}")
    assert status in (200, 401)
    if status == 200:  # only members we ignore may take any value
        assert member in {"typ", "jku", "x5c", "zip", "exp"} or (member == "alg" and value == "HS256") \
            or (member == "b64" and value is True)


@given(st.sampled_from(["alg", "kid", "typ", "crit", "b64"]), json_values)
def test_any_header_member_value_is_safe_when_several_configs_choose(member: str, value: Any) -> None:
    """The chooser reads alg and kid before any verifier does: any JSON value there is refused
    (a list as alg was a 500 until 2026-12-04)."""
    token = forge({"alg": "HS256", member: value} if member != "alg" else {"alg": value}, claims())
    assert status_for(f"Bearer {token}", app=SEVERAL) in (200, 401)


@given(st.sampled_from(["exp", "nbf", "iat", "iss", "aud", "sub"]), json_values)
def test_any_registered_claim_value_never_5xx(claim: str, value: Any) -> None:
    assert status_for(f"Bearer {forge(HS_HEADER, claims(**{claim: value}))}") in (200, 401)


# -- settings -------------------------------------------------------------------------

SAFE_CALLABLES = st.sampled_from(["", "example_app:recipe_payload", "no_such_module_x:y",
                                  "pyramid_jwtnode.integration.settings:PREFIX", "a b"])
setting_values = st.one_of(st.none(), st.text(max_size=40), st.integers(-10**6, 10**6), st.booleans(),
                           st.lists(st.text(max_size=10), max_size=3), st.floats())
callable_keys = {s.key for s in SETTINGS if s.type == "callable"}
settings_dicts = st.dictionaries(
    st.sampled_from([s.key for s in SETTINGS]) | st.text(max_size=15), setting_values, max_size=12
).flatmap(lambda d: st.fixed_dictionaries(
    {k: (SAFE_CALLABLES if k in callable_keys else st.just(v)) for k, v in d.items()}))


@given(st.text(max_size=20), settings_dicts)
def test_any_settings_give_a_config_or_a_configuration_error(name: str, raw: dict[str, Any]) -> None:
    try:
        result = parse_config(name, raw)
    except ConfigurationError as exc:
        # the error names a setting key, and never the value of a secret
        assert f"jwt.{name}." in str(exc) or "jwt." in str(exc), str(exc)
        secret = raw.get("secret")
        if isinstance(secret, str) and len(secret) >= 8:
            assert secret not in str(exc)
        return
    # a config came out: it holds what was asked for, checked
    assert result.name == name
    assert str(raw.get("algorithm", "")).strip().upper() == result.algorithm.upper()
    assert result.expires_in is None or result.expires_in > 0


@given(st.integers(1, 10**6), st.integers(0, 300), st.sampled_from(["HS256", "HS384", "HS512"]))
def test_valid_settings_always_give_a_config(expires_in: int, leeway: int, algorithm: str) -> None:
    """The companion of the property above: it would pass for a parser that always raises."""
    config = parse_config("ok", {"algorithm": algorithm, "secret": HS256_SECRET * 2,
                                 "expires_in": str(expires_in), "leeway": str(leeway)})
    assert (config.algorithm, config.expires_in, config.leeway) == (algorithm, expires_in, leeway)


@given(st.dictionaries(st.text(max_size=25).map(lambda k: "jwt." + k), st.text(max_size=20), max_size=6))
def test_any_jwt_keys_group_or_raise_a_configuration_error(settings: dict[str, str]) -> None:
    try:
        groups = configs_from_settings(settings)
    except ConfigurationError as exc:
        assert "jwt." in str(exc), str(exc)
        return
    # every grouped value is one of the settings given, under its config's prefix
    for name, group in groups.items():
        for key, value in group.items():
            assert settings[f"jwt.{name}.{key}"] == value


# -- round trip ------------------------------------------------------------------------

NESTED = parse_config("n", {"algorithm": "HS256", "secret": HS256_SECRET, "expires_in": 600,
                            "claims_key": "data", "max_token_bytes": 65536})
NESTED_ISSUER = Issuer(NESTED, load_keys(NESTED), clock=Clock())
NESTED_VERIFIER = Verifier(NESTED, load_keys(NESTED), clock=Clock())
FLAT = parse_config("f", {"algorithm": "HS256", "secret": HS256_SECRET, "expires_in": 600,
                          "max_token_bytes": 65536})
FLAT_ISSUER = Issuer(FLAT, load_keys(FLAT), clock=Clock())
FLAT_VERIFIER = Verifier(FLAT, load_keys(FLAT), clock=Clock())


@given(json_values)
def test_any_json_value_round_trips_under_claims_key(value: Any) -> None:
    claims_out = NESTED_VERIFIER.verify(NESTED_ISSUER.issue(value).token)
    assert claims_out["data"] == value
    assert claims_out["exp"] == NOW + 600


@given(st.dictionaries(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=10).filter(
        lambda k: k not in RESERVED_CLAIMS and k != "sub"),
    json_values, max_size=6))
def test_any_claim_mapping_round_trips(payload: dict[str, Any]) -> None:
    issued = FLAT_ISSUER.issue(payload)
    assert FLAT_VERIFIER.verify(issued.token) == issued.claims
