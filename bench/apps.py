"""The apps the benchmarks compare, each doing the recipe's work: sign the recipe payload
as {"data": ..., "iat": ..., "exp": ...} and answer with the RFC 6749 body.

- ``addon``: pyramid_jwtnode, configured from code exactly as the example's ini does;
- ``handwritten``: a Pyramid view calling PyJWT with a key loaded once;
- ``bare``: a WSGI callable calling PyJWT with a key loaded once;
- ``protected`` / ``open``: one route behind the bearer-token policy and one without.

``addon`` and ``guarded`` take ``metrics=True`` for the same app with Prometheus metrics on
(``config.add_jwt_metrics()``): what counting costs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from pyramid.response import Response

from example_app import recipe_payload

SECRET = "development-only-secret-do-not-use-in-production"
KEYS = Path(__file__).resolve().parent / "keys"
LIFETIME = 86400
PAYLOAD = recipe_payload(None)  # type: ignore[arg-type]
NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]


def key_file(algorithm: str) -> Path:
    return KEYS / f"{algorithm.lower()}.pem"


def signing_key(algorithm: str) -> Any:
    if algorithm.startswith("HS"):
        return SECRET.encode()
    return serialization.load_pem_private_key(key_file(algorithm).read_bytes(), password=None)


def addon(algorithm: str = "HS256", metrics: bool = False) -> Any:
    key: dict[str, Any] = ({"secret": SECRET} if algorithm.startswith("HS")
                           else {"private_key_file": str(key_file(algorithm))})
    with Configurator() as config:
        config.include("pyramid_jwtnode")
        if metrics:
            config.add_jwt_metrics("/metrics")
        config.add_jwt_config("igniteadmin", algorithm=algorithm, expires_in=LIFETIME, claims_key="data",
                              jti=False, token_route="/jwt/generate", token_route_method="GET",
                              payload=recipe_payload, **key)
    return config.make_wsgi_app()


def handwritten(algorithm: str = "HS256") -> Any:
    key = signing_key(algorithm)

    def generate(request: Any) -> Response:
        now = int(time.time())
        token = jwt.encode({"data": recipe_payload(request), "iat": now, "exp": now + LIFETIME},
                           key, algorithm=algorithm)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": LIFETIME}
        response = Response(json.dumps(body).encode(), content_type="application/json", charset=None)
        response.headers.update(NO_STORE)
        return response

    with Configurator() as config:
        config.add_route("generate", "/jwt/generate")
        config.add_view(generate, route_name="generate", request_method="GET")
    return config.make_wsgi_app()


def bare(algorithm: str = "HS256") -> Any:
    key = signing_key(algorithm)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] != "/jwt/generate":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        now = int(time.time())
        token = jwt.encode({"data": PAYLOAD, "iat": now, "exp": now + LIFETIME}, key, algorithm=algorithm)
        body = json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": LIFETIME}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body))), *NO_STORE])
        return [body]

    return app


class Root:
    __acl__ = [(Allow, Authenticated, "view")]

    def __init__(self, request: Any) -> None:
        pass


def guarded(revocation_store: str | None = None, metrics: bool = False) -> Any:
    """/protected needs a valid bearer token (HS256); /open does the same work without auth.

    With ``revocation_store``, every verified token is also looked up in that store."""
    def hello(request: Any) -> Response:
        return Response(b'{"ok":true}', content_type="application/json", charset=None)

    with Configurator(root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        if metrics:
            config.add_jwt_metrics("/metrics")
        extra = {"revocation_store": revocation_store, "store_prefix": "bench:jwt:"} if revocation_store else {}
        config.add_jwt_config("api", algorithm="HS256", secret=SECRET, expires_in=LIFETIME, **extra)
        config.set_jwt_security_policy("api")
        config.add_route("protected", "/protected")
        config.add_view(hello, route_name="protected", permission="view")
        config.add_route("open", "/open")
        config.add_view(hello, route_name="open")
    return config.make_wsgi_app()


def bearer_token() -> str:
    now = int(time.time())
    return jwt.encode({"sub": "bench", "iat": now, "exp": now + LIFETIME, "jti": "bench-1"}, SECRET,
                      algorithm="HS256")


APPS = {"addon": addon, "handwritten": handwritten, "bare": bare,
        "addon-metrics": lambda algorithm: addon(algorithm, metrics=True)}


def keyed_policy_app(configs: dict[str, dict[str, Any]], policy: tuple[str, ...]) -> Any:
    """/protected behind a policy over ``configs`` (name -> add_jwt_config settings)."""
    def hello(request: Any) -> Response:
        return Response(b'{"ok":true}', content_type="application/json", charset=None)

    with Configurator(root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        for name, settings in configs.items():
            config.add_jwt_config(name, **settings)
        config.set_jwt_security_policy(*policy)
        config.add_route("protected", "/protected")
        config.add_view(hello, route_name="protected", permission="view")
    return config.make_wsgi_app()


def three_issuers(jwks_url: str) -> Any:
    """staff (HS384, an issuer), partners (ES256, key files) and idp (RS256 from ``jwks_url``)."""
    return keyed_policy_app({
        "staff": {"algorithm": "HS384", "secret": "s" * 48, "expires_in": LIFETIME,
                  "issuer": "https://staff.example"},
        "partners": {"algorithm": "ES256", "private_key_file": str(key_file("ES256")),
                     "expires_in": LIFETIME},
        "idp": {"algorithm": "RS256", "jwks_url": jwks_url, "issuer": "https://idp.example",
                "expires_in": LIFETIME},
    }, ("staff", "partners", "idp"))


def one_rs256() -> Any:
    """One local RS256 config on the policy (the same key the idp's set publishes)."""
    return keyed_policy_app({"api": {"algorithm": "RS256", "private_key_file": str(key_file("RS256")),
                                     "kid": "idp-1", "issuer": "https://idp.example",
                                     "expires_in": LIFETIME}}, ("api",))


def rs256_tokens(count: int) -> list[str]:
    """``count`` distinct RS256 tokens of the idp (kid idp-1), as an identity provider mints them."""
    key, now = signing_key("RS256"), int(time.time())
    return [jwt.encode({"sub": f"user-{i}", "iss": "https://idp.example", "iat": now, "exp": now + LIFETIME},
                       key, algorithm="RS256", headers={"kid": "idp-1"}) for i in range(count)]


def rs256_jwks() -> dict[str, Any]:
    public = signing_key("RS256").public_key()
    return {"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public)), "kid": "idp-1",
                      "use": "sig", "alg": "RS256"}]}
