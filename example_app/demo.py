"""The browser demo: a page whose tokens live in HttpOnly cookies (config ``browser``).

``development.ini`` includes it (``pyramid.includes = example_app.demo``) beside the recipe;
``production.ini`` does not (its sign-in is a fixed demo user). ``GET /demo/`` serves a plain
HTML page and a small script, no build step and nothing fetched from elsewhere, that signs in
(``POST /demo/login``, the token view of ``browser``), shows protected data
(``GET /demo/api/me``), changes state (``POST /demo/api/notes``: the token's CSRF value in
``X-CSRF-Token``), refreshes silently when the access token has expired (``POST
/demo/refresh``) and signs out (``POST /demo/logout``: ``request.revoke_jwt()`` and
``forget``; the refresh cookie's path, ``/demo``, reaches it).
"""

from __future__ import annotations

import hmac
from importlib.resources import files
from typing import Any

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPUnauthorized
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED, forget

#: The demo's one user (the page says so); a real app asks its user store.
DEMO_USERS = {"ada": "lovelace"}
#: Notes by user, in this process (a real app has a database).
NOTES: dict[str, list[str]] = {}

_ASSETS = files(__package__)
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def login(request: Request) -> dict[str, Any]:
    """The token view's payload: the demo user, checked as bytes (any password, any 401)."""
    user = request.POST.get("username", "")
    password = request.POST.get("password", "")
    known = DEMO_USERS.get(user, "")
    if not password or not hmac.compare_digest(known.encode(), password.encode()):
        raise HTTPUnauthorized(json_body={"error": "wrong username or password"})
    return {"sub": user, "roles": ["demo"]}


def _asset(name: str, content_type: str) -> Response:
    response = Response(body=(_ASSETS / name).read_bytes(), content_type=content_type, charset="utf-8")
    response.headers.update(_SECURITY_HEADERS)
    return response


def page(request: Request) -> Response:
    return _asset("demo.html", "text/html")


def script(request: Request) -> Response:
    return _asset("demo.js", "text/javascript")


def me(request: Request) -> dict[str, Any]:
    claims = request.jwt_claims or {}
    return {"user": request.authenticated_userid, "config": request.jwt_config,
            "expires": claims.get("exp")}


def list_notes(request: Request) -> dict[str, Any]:
    return {"notes": NOTES.get(request.authenticated_userid, [])}


def add_note(request: Request) -> dict[str, Any]:
    text = request.POST.get("text", "").strip()[:200]
    notes = NOTES.setdefault(request.authenticated_userid, [])
    if text:
        notes.append(text)
    return {"notes": notes}


def logout(request: Request) -> Response:
    """Sign out: end the refresh family (from the access token, or from the refresh cookie once
    the access token has expired) and clear the cookies. The answer says whether anything was
    revoked, so that the page never claims so when nothing was."""
    revoked = request.revoke_jwt()
    response = Response(json_body={"signed_out": True, "revoked": revoked})
    response.headerlist.extend(forget(request))
    return response


def includeme(config: Configurator) -> None:
    """The demo's routes; the ``browser`` config (token, refresh routes) comes from the ini file."""
    config.add_route("demo", "/demo/")
    config.add_view(page, route_name="demo", request_method="GET", permission=NO_PERMISSION_REQUIRED)
    config.add_route("demo_script", "/demo/demo.js")
    config.add_view(script, route_name="demo_script", request_method="GET",
                    permission=NO_PERMISSION_REQUIRED)
    config.add_route("demo_me", "/demo/api/me")
    config.add_view(me, route_name="demo_me", request_method="GET", permission="demo", renderer="json")
    config.add_route("demo_notes", "/demo/api/notes")
    config.add_view(list_notes, route_name="demo_notes", request_method="GET", permission="demo",
                    renderer="json")
    config.add_view(add_note, route_name="demo_notes", request_method="POST", permission="demo",
                    renderer="json")
    config.add_route("demo_logout", "/demo/logout")
    config.add_view(logout, route_name="demo_logout", request_method="POST",
                    permission=NO_PERMISSION_REQUIRED)
