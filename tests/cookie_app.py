"""An app whose config ``web`` keeps tokens in HttpOnly cookies, for the cookie and CSRF tests.

``/me`` (GET) and ``/notes`` (POST) need an authenticated token; ``/login`` logs in the Pyramid
way (``remember``), ``/logout`` and ``/auth/signout`` log out (``forget``; only the second is
under the refresh cookie's path), ``/auth/logout`` is the add-on's logout route; ``/open`` (POST, no permission) and
``/exempt`` (POST, ``require_csrf=False``) show which views the CSRF check covers.
"""

from __future__ import annotations

from typing import Any

from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from pyramid.security import forget, remember

from .conftest import HS256_SECRET

NOTES: list[str] = []


class Root:
    __acl__ = [(Allow, Authenticated, "read"), (Allow, Authenticated, "write")]

    def __init__(self, request: Any) -> None:
        pass


def login(request: Any) -> Any:
    request.response.headerlist.extend(remember(request, request.POST["user"], roles=["reader"]))
    return {"ok": True}


def logout(request: Any) -> Any:
    request.response.headerlist.extend(forget(request))
    return {"ok": True}


def add_note(request: Any) -> Any:
    NOTES.append(request.POST.get("text", ""))
    return {"notes": len(NOTES)}


WEB: dict[str, Any] = {
    "algorithm": "HS256", "secret": HS256_SECRET, "expires_in": 300, "kid": "web-1",
    "token_location": "cookie", "revocation_store": "memory", "refresh_expires_in": 3600,
    "token_route": "/token", "payload": lambda r: {"sub": r.POST.get("user", "alice")},
    "refresh_route": "/auth/refresh", "logout_route": "/auth/logout",
}


def make_app(clock: Any = None, **web: Any) -> Any:
    extra = {"clock": clock} if clock is not None else {}
    with Configurator(root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("web", **{**WEB, **web}, **extra)
        config.add_jwt_config("other", algorithm="HS256", secret="o" * 40, expires_in=300, kid="other-1",
                              token_location="header cookie", token_route="/other/token",
                              payload=lambda r: {"sub": "mallory"}, **extra)
        config.set_jwt_security_policy("web", "other")
        config.add_route("me", "/me")
        config.add_view(lambda r: {"sub": r.authenticated_userid, "via": r.jwt_config}, route_name="me",
                        permission="read", renderer="json")
        config.add_route("notes", "/notes")
        config.add_view(add_note, route_name="notes", request_method="POST", permission="write",
                        renderer="json")
        config.add_route("open", "/open")
        config.add_view(lambda r: {"user": r.authenticated_userid}, route_name="open", request_method="POST",
                        renderer="json")
        config.add_route("exempt", "/exempt")
        config.add_view(lambda r: {"user": r.authenticated_userid}, route_name="exempt",
                        request_method="POST", renderer="json", require_csrf=False)
        config.add_route("login", "/login")
        config.add_view(login, route_name="login", request_method="POST", renderer="json")
        config.add_route("logout", "/logout")
        config.add_view(logout, route_name="logout", request_method="POST", renderer="json")
        config.add_route("signout", "/auth/signout")  # the host's forget(), under the refresh cookie's path
        config.add_view(logout, route_name="signout", request_method="POST", renderer="json")
    return config.make_wsgi_app()
