"""Layer 1: the settings parser, with plain dicts and no Pyramid."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from pyramid_jwtnode.integration.settings import (
    SETTINGS,
    JWTConfig,
    PreviousKey,
    configs_from_settings,
    parse_config,
)

from .conftest import HS256_SECRET
from .helpers import raises_config_error

HS = {"algorithm": "HS256", "secret": HS256_SECRET, "expires_in": "3600"}


def parse(**overrides: Any) -> JWTConfig:
    raw = {**HS, **overrides}
    return parse_config("main", {k: v for k, v in raw.items() if v is not None})


def test_minimal_hs_config_has_documented_defaults() -> None:
    config = parse()
    assert config.algorithm == "HS256"
    assert config.expires_in == 3600
    assert config.leeway == 0
    assert config.jti is True
    assert config.audience == ()
    assert config.token_route is None
    assert config.token_route_method == "POST"
    assert config.max_token_bytes == 8192
    assert config.can_issue


def test_ini_strings_and_native_values_parse_alike() -> None:
    from_ini = parse(
        audience="api  web\nmobile", leeway="30", jti="false", not_before="5",
        issuer="https://issuer.example", kid="k1",
    )
    from_code = parse(
        audience=["api", "web", "mobile"], leeway=30, jti=False, not_before=5,
        issuer="https://issuer.example", kid="k1", expires_in=3600,
    )
    assert from_ini == from_code
    assert from_ini.audience == ("api", "web", "mobile")


def test_dataclass_fields_are_exactly_the_settings_table() -> None:
    fields = [f.name for f in dataclasses.fields(JWTConfig) if f.name != "name"]
    assert sorted(fields) == sorted(s.key for s in SETTINGS)


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        parse().expires_in = 1  # type: ignore[misc]


def test_secret_never_in_repr() -> None:
    assert HS256_SECRET not in repr(parse())


def test_describe_holds_no_secret() -> None:
    assert HS256_SECRET not in repr(parse().describe())


def test_payload_dotted_name_resolves() -> None:
    config = parse(token_route="/token", payload="example_app:recipe_payload")
    from example_app import recipe_payload

    assert config.payload is recipe_payload


def test_previous_keys_lines() -> None:
    config = parse(kid="new", previous_keys="\n old1 /keys/a\n old2 /keys/b \n")
    assert config.previous_keys == (PreviousKey("old1", "/keys/a"), PreviousKey("old2", "/keys/b"))


def test_asymmetric_verify_only_config() -> None:
    config = parse_config("rs", {"algorithm": "RS256", "public_key_file": "k.pub", "expires_in": 60})
    assert not config.can_issue


# -- every start-up mistake of docs/security.rst that the parser can see ------------------


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"algorithm": None}, "jwt.main.algorithm"),
        ({"algorithm": "HS1024"}, "jwt.main.algorithm"),
        ({"algorithm": "hs256"}, "jwt.main.algorithm"),
        ({"algorithm": "none"}, "jwt.main.algorithm"),
        ({"algorithm": "None"}, "jwt.main.algorithm"),
        ({"algorithm": "NONE"}, "jwt.main.algorithm"),
        ({"expires_in": None}, "jwt.main.expires_in"),
        ({"expires_in": "0"}, "jwt.main.expires_in"),
        ({"expires_in": "-5"}, "jwt.main.expires_in"),
        ({"expires_in": "1.5"}, "jwt.main.expires_in"),
        ({"expires_in": "an hour"}, "jwt.main.expires_in"),
        ({"expires_in": True}, "jwt.main.expires_in"),
        ({"leeway": "-1"}, "jwt.main.leeway"),
        ({"leeway": "301"}, "jwt.main.leeway"),
        ({"not_before": "-1"}, "jwt.main.not_before"),
        ({"jti": "maybe"}, "jwt.main.jti"),
        ({"max_token_bytes": "10"}, "jwt.main.max_token_bytes"),
        ({"kid": "has space"}, "jwt.main.kid"),
        ({"typ": "not a type"}, "jwt.main.typ"),
        ({"claims_key": "exp"}, "jwt.main.claims_key"),
        ({"token_route": "no-slash", "payload": "example_app:recipe_payload"}, "jwt.main.token_route"),
        ({"token_route": "/t", "payload": "example_app:recipe_payload", "token_route_method": "PUT"},
         "jwt.main.token_route_method"),
        ({"token_route": "/t"}, "jwt.main.token_route"),
        ({"payload": "example_app:recipe_payload"}, "jwt.main.payload"),
        ({"token_route": "/t", "payload": "example_app:no_such_thing"}, "jwt.main.payload"),
        ({"token_route": "/t", "payload": "no_such_module.sub:thing"}, "jwt.main.payload"),
        ({"token_route": "/t", "payload": "example_app.__doc__"}, "jwt.main.payload"),
        ({"response": "example_app:recipe_payload"}, "jwt.main.response"),
        ({"previous_keys": "old /keys/a"}, "jwt.main.kid"),
        ({"kid": "k", "previous_keys": "old"}, "jwt.main.previous_keys"),
        ({"kid": "k", "previous_keys": "old /a\nold /b"}, "jwt.main.previous_keys"),
    ],
)
def test_bad_setting_names_key(overrides: dict[str, Any], key: str) -> None:
    raises_config_error(lambda: parse(**overrides), key, HS256_SECRET)


def test_unknown_key_suggests_the_right_one() -> None:
    message = raises_config_error(lambda: parse(expires=60), "jwt.main.expires", HS256_SECRET)
    assert "jwt.main.expires_in" in message


def test_none_algorithm_says_unsigned_tokens_are_refused() -> None:
    message = raises_config_error(lambda: parse(algorithm="nOnE"), "jwt.main.algorithm")
    assert "none" in message.lower()


@pytest.mark.parametrize(
    ("algorithm", "length"), [("HS256", 31), ("HS384", 47), ("HS512", 63)]
)
def test_short_hmac_secret(algorithm: str, length: int) -> None:
    secret = "s" * length
    message = raises_config_error(
        lambda: parse(algorithm=algorithm, secret=secret), "jwt.main.secret", secret
    )
    assert str(length + 1) in message


@pytest.mark.parametrize(("algorithm", "length"), [("HS256", 32), ("HS384", 48), ("HS512", 64)])
def test_hmac_secret_of_hash_length_is_accepted(algorithm: str, length: int) -> None:
    assert parse(algorithm=algorithm, secret="s" * length).algorithm == algorithm


@pytest.mark.parametrize(
    "secret",
    [
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END PUBLIC KEY-----",
        '{"kty":"RSA","n":"u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0","e":"AQAB"}',
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT",
        "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9",
    ],
    ids=["pem", "jwk", "ssh-rsa", "ssh-ecdsa"],
)
def test_hmac_secret_that_is_a_key(secret: str) -> None:
    raises_config_error(lambda: parse(secret=secret), "jwt.main.secret", secret)


def test_hmac_without_secret() -> None:
    raises_config_error(lambda: parse(secret=None), "jwt.main.secret")


def test_hmac_with_secret_and_secret_file() -> None:
    raises_config_error(lambda: parse(secret_file="/s"), "jwt.main.secret_file", HS256_SECRET)


@pytest.mark.parametrize("key", ["private_key_file", "public_key_file", "private_key_passphrase"])
def test_hmac_with_key_file(key: str) -> None:
    raises_config_error(lambda: parse(**{key: "k.pem"}), f"jwt.main.{key}", HS256_SECRET)


@pytest.mark.parametrize("key", ["secret", "secret_file", "secret_env"])
def test_asymmetric_with_secret(key: str) -> None:
    raw = {"algorithm": "RS256", "private_key_file": "k.pem", "expires_in": 60, key: HS256_SECRET}
    raises_config_error(lambda: parse_config("main", raw), f"jwt.main.{key}", HS256_SECRET)


def test_asymmetric_without_key() -> None:
    raises_config_error(
        lambda: parse_config("main", {"algorithm": "ES256", "expires_in": 60}),
        "jwt.main.private_key_file",
    )


def test_passphrase_without_private_key() -> None:
    raw = {"algorithm": "ES256", "public_key_file": "k.pub", "private_key_passphrase": "pw",
           "expires_in": 60}
    raises_config_error(lambda: parse_config("main", raw), "jwt.main.private_key_passphrase", "pw")


def test_token_route_on_verify_only_config() -> None:
    raw = {"algorithm": "ES256", "public_key_file": "k.pub", "expires_in": 60,
           "token_route": "/t", "payload": "example_app:recipe_payload"}
    raises_config_error(lambda: parse_config("main", raw), "jwt.main.token_route")


def test_config_with_no_settings() -> None:
    raises_config_error(lambda: parse_config("main", {}), "jwt.main")


@pytest.mark.parametrize("name", ["", "1abc", "has.dot", "x" * 65, "sp ace"])
def test_bad_config_name(name: str) -> None:
    raises_config_error(lambda: parse_config(name, HS), "jwt.configs")


# -- grouping ini settings by config -------------------------------------------------


def test_configs_from_settings_groups_by_name() -> None:
    settings = {
        "jwt.configs": "a\n b",
        "jwt.a.algorithm": "HS256",
        "jwt.b.algorithm": "ES256",
        "jwt.b.private_key_file": "k.pem",
        "other.setting": "ignored",
    }
    assert configs_from_settings(settings) == {
        "a": {"algorithm": "HS256"},
        "b": {"algorithm": "ES256", "private_key_file": "k.pem"},
    }


def test_no_jwt_settings_at_all_is_empty() -> None:
    assert configs_from_settings({"pyramid.reload_templates": "true"}) == {}


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"jwt.configs": ""}, "jwt.configs"),
        ({"jwt.configs": "a a", "jwt.a.algorithm": "HS256"}, "jwt.configs"),
        ({"jwt.a.algorithm": "HS256"}, "jwt.configs"),
        ({"jwt.configs": "a", "jwt.b.algorithm": "HS256"}, "jwt.b.algorithm"),
        ({"jwt.configs": "a", "jwt.algorithm": "HS256"}, "jwt.algorithm"),
    ],
    ids=["empty", "duplicate", "missing", "unlisted", "no-config-part"],
)
def test_bad_config_list(settings: dict[str, str], key: str) -> None:
    raises_config_error(lambda: configs_from_settings(settings), key)
