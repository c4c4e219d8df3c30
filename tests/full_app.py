"""An app with every endpoint and feature of the add-on on, for the robustness tests.

- ``api`` (HS256): a POST login token view, refresh and revocation endpoints (memory
  store), the verify view, and the security policy (with ``query_token`` on);
- ``recipe`` (HS256): the recipe's ``GET /jwt/generate`` with the ``data`` layout;
- ``partners`` (ES256): a token view and the JWKS route.

Protected host views: ``GET /protected`` (any authenticated token), ``GET /admin`` (role
admin), ``POST /things`` (a state change), ``POST /logout`` (``forget``).
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPUnauthorized
from pyramid.security import forget

USERS = {"alice": "correct horse battery staple", "ådmin": "pässwörd ✓"}
API_SECRET = "full-app-api-secret-of-at-least-32-bytes!"
RECIPE_SECRET = "full-app-recipe-secret-at-least-32-bytes"

ENDPOINTS = ["/token", "/refresh", "/revoke", "/verify", "/jwt/generate", "/partners/token",
             "/.well-known/jwks.json", "/protected", "/admin", "/things", "/logout"]


def login(request: Any) -> dict[str, Any]:
    """The README's way: compare as bytes, so any password is a 401, never a 500."""
    user = request.POST.get("username", "")
    password = request.POST.get("password", "")
    known = USERS.get(user, "")
    if not password or not hmac.compare_digest(known.encode(), password.encode()):
        raise HTTPUnauthorized(json_body={"error": "wrong username or password"})
    return {"sub": user, "roles": ["admin"] if user == "ådmin" else ["reader"]}


def recipe(request: Any) -> dict[str, Any]:
    return {"name": "CYber Group Inc.", "Offices": {"Dallas": "12900 Preston Road"}}


def partner(request: Any) -> dict[str, Any]:
    return {"sub": "acme", "scope": "orders:read"}


class Root:
    __acl__ = [(Allow, Authenticated, "read"), (Allow, "admin", "admin"), (Allow, Authenticated, "write")]

    def __init__(self, request: Any) -> None:
        pass


def logout(request: Any) -> Any:
    request.response.headerlist.extend(forget(request))
    return {"logged_out": True}


def partner_key(directory: Path) -> Path:
    path = directory / "partners.pem"
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return path


def make_app(key_directory: Path, **extra: Any) -> Any:
    """The WSGI app; ``extra`` settings override the defaults (e.g. ``jwt.clock``)."""
    settings = {
        "jwt.configs": "api recipe partners",
        "jwt.security_policy": "api",
        "jwt.api.algorithm": "HS256",
        "jwt.api.secret": API_SECRET,
        "jwt.api.expires_in": "300",
        "jwt.api.principals_claim": "roles",
        "jwt.api.query_token": "true",
        "jwt.api.revocation_store": "memory",
        "jwt.api.refresh_expires_in": "3600",
        "jwt.api.token_route": "/token",
        "jwt.api.payload": "tests.full_app:login",
        "jwt.api.refresh_route": "/refresh",
        "jwt.api.revocation_route": "/revoke",
        "jwt.api.verify_route": "/verify",
        "jwt.recipe.algorithm": "HS256",
        "jwt.recipe.secret": RECIPE_SECRET,
        "jwt.recipe.expires_in": "86400",
        "jwt.recipe.claims_key": "data",
        "jwt.recipe.jti": "false",
        "jwt.recipe.token_route": "/jwt/generate",
        "jwt.recipe.token_route_method": "GET",
        "jwt.recipe.payload": "tests.full_app:recipe",
        "jwt.partners.algorithm": "ES256",
        "jwt.partners.private_key_file": str(partner_key(key_directory)),
        "jwt.partners.expires_in": "600",
        "jwt.partners.token_route": "/partners/token",
        "jwt.partners.payload": "tests.full_app:partner",
        "jwt.partners.jwks_route": "/.well-known/jwks.json",
        **extra,
    }
    with Configurator(settings=settings, root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_route("protected", "/protected")
        config.add_view(lambda r: {"sub": r.authenticated_userid}, route_name="protected",
                        permission="read", renderer="json")
        config.add_route("admin", "/admin")
        config.add_view(lambda r: {"ok": True}, route_name="admin", permission="admin", renderer="json")
        config.add_route("things", "/things")
        config.add_view(lambda r: {"done": True}, route_name="things", permission="write",
                        request_method="POST", renderer="json")
        config.add_route("logout", "/logout")
        config.add_view(logout, route_name="logout", request_method="POST", permission="read",
                        renderer="json")
    return config.make_wsgi_app()
