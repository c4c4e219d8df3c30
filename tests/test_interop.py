"""Interoperability with an independent JOSE implementation (joserfc).

Tokens joserfc mints verify in our policy; ours verify in joserfc; our JWKS
loads in joserfc and verifies our tokens, rotated keys included.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, KeySet, OctKey, OKPKey, RSAKey
from pyramid.config import Configurator
from webtest import TestApp

from pyramid_jwtnode import get_jwt_runtime

from .conftest import HS256_SECRET, KeyPair

KEY_TYPES = {"rsa": RSAKey, "p256": ECKey, "p384": ECKey, "p256b": ECKey, "ed25519": OKPKey}
# joserfc warns that RFC 9864 deprecates "EdDSA" for "Ed25519"; PyJWT (and so we) speak "EdDSA".
_EDDSA = pytest.param("EdDSA", "ed25519", id="EdDSA",
                      marks=pytest.mark.filterwarnings("ignore:EdDSA is deprecated"))
CASES = [("RS256", "rsa"), ("PS256", "rsa"), ("ES256", "p256"), ("ES384", "p384"), _EDDSA]


def build(settings: dict[str, Any]) -> tuple[TestApp, Any]:
    with Configurator(settings=settings) as config:
        config.include("pyramid_jwtnode")
    return TestApp(config.make_wsgi_app()), config.registry


def asymmetric(keys: dict[str, KeyPair], algorithm: str, pair: str, **extra: str) -> dict[str, str]:
    return {"jwt.configs": "c", "jwt.c.algorithm": algorithm, "jwt.c.expires_in": "600",
            "jwt.c.private_key_file": str(keys[pair].private), "jwt.c.verify_route": "/verify",
            "jwt.c.jwks_route": "/jwks", "jwt.c.audience": "api", "jwt.c.issuer": "https://i", **extra}


def jose_claims() -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "from-joserfc", "iat": now, "exp": now + 300, "aud": "api", "iss": "https://i"}


@pytest.mark.parametrize(("algorithm", "pair"), CASES)
def test_joserfc_token_verifies_in_our_policy(keys: dict[str, KeyPair], algorithm: str, pair: str) -> None:
    app, registry = build(asymmetric(keys, algorithm, pair))
    key = KEY_TYPES[pair].import_key(keys[pair].private.read_bytes())
    kid = get_jwt_runtime(registry).keys.kid
    token = jose_jwt.encode({"alg": algorithm, "kid": kid}, jose_claims(), key, algorithms=[algorithm])
    res = app.get("/verify", headers={"Authorization": f"Bearer {token}"})
    assert res.json["sub"] == "from-joserfc"


@pytest.mark.parametrize(("algorithm", "pair"), CASES)
def test_our_token_verifies_in_joserfc_with_our_jwks(keys: dict[str, KeyPair], algorithm: str, pair: str) -> None:
    app, registry = build(asymmetric(keys, algorithm, pair))
    token = get_jwt_runtime(registry).issuer.issue({"sub": "ours"}).token
    key_set = KeySet.import_key_set(app.get("/jwks").json)
    decoded = jose_jwt.decode(token, key_set, algorithms=[algorithm])
    assert decoded.claims["sub"] == "ours"
    assert decoded.header["kid"] == get_jwt_runtime(registry).keys.kid
    # And with the key imported from the PEM file, independently of our JWKS.
    public = KEY_TYPES[pair].import_key(keys[pair].public.read_bytes())
    assert jose_jwt.decode(token, public, algorithms=[algorithm]).claims["aud"] == "api"


def test_joserfc_validates_our_registered_claims(keys: dict[str, KeyPair]) -> None:
    _, registry = build(asymmetric(keys, "ES256", "p256"))
    token = get_jwt_runtime(registry).issuer.issue({"sub": "ours"}).token
    decoded = jose_jwt.decode(token, ECKey.import_key(keys["p256"].public.read_bytes()), algorithms=["ES256"])
    registry_ = jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": "https://i"}, aud={"essential": True, "value": "api"},
        exp={"essential": True}, jti={"essential": True},
    )
    registry_.validate(decoded.claims)


def test_rotated_jwks_verifies_old_and_new_tokens_in_joserfc(keys: dict[str, KeyPair]) -> None:
    app, registry = build(asymmetric(keys, "ES256", "p256", **{
        "jwt.c.kid": "new", "jwt.c.previous_keys": f"old {keys['p256b'].public}"}))
    key_set = KeySet.import_key_set(app.get("/jwks").json)
    new = get_jwt_runtime(registry).issuer.issue({"sub": "n"}).token
    old_key = ECKey.import_key(keys["p256b"].private.read_bytes())
    old = jose_jwt.encode({"alg": "ES256", "kid": "old"}, jose_claims(), old_key, algorithms=["ES256"])
    assert jose_jwt.decode(new, key_set, algorithms=["ES256"]).claims["sub"] == "n"
    assert jose_jwt.decode(old, key_set, algorithms=["ES256"]).claims["sub"] == "from-joserfc"
    app.get("/verify", headers={"Authorization": f"Bearer {old}"}, status=200)


def test_hs256_both_ways() -> None:
    app, registry = build({"jwt.configs": "c", "jwt.c.algorithm": "HS256", "jwt.c.expires_in": "60",
                           "jwt.c.secret": HS256_SECRET, "jwt.c.verify_route": "/verify",
                           "jwt.c.audience": "api", "jwt.c.issuer": "https://i"})
    key = OctKey.import_key(HS256_SECRET)
    theirs = jose_jwt.encode({"alg": "HS256"}, jose_claims(), key, algorithms=["HS256"])
    assert app.get("/verify", headers={"Authorization": f"Bearer {theirs}"}).json["sub"] == "from-joserfc"
    ours = get_jwt_runtime(registry).issuer.issue({"sub": "ours"}).token
    assert jose_jwt.decode(ours, key, algorithms=["HS256"]).claims["sub"] == "ours"


def test_recipe_system_token_layout_verifies() -> None:
    """A token as the recipe's system (node-red-contrib-jwt / jsonwebtoken) makes it: HS256,
    {"data": ..., "iat": ..., "exp": ...}, header {"alg": "HS256", "typ": "JWT"}."""
    app, _ = build({"jwt.configs": "igniteadmin", "jwt.igniteadmin.algorithm": "HS256",
                    "jwt.igniteadmin.expires_in": "86400", "jwt.igniteadmin.secret": HS256_SECRET,
                    "jwt.igniteadmin.claims_key": "data", "jwt.igniteadmin.verify_route": "/jwt/verify"})
    now = int(time.time())
    payload = {"data": {"name": "CYber Group Inc."}, "iat": now, "exp": now + 86400}
    token = jose_jwt.encode({"alg": "HS256", "typ": "JWT"}, payload, OctKey.import_key(HS256_SECRET),
                            algorithms=["HS256"])
    assert app.get("/jwt/verify", headers={"Authorization": f"Bearer {token}"}).json == payload
