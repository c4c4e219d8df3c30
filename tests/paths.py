"""The path of a request through the package's modules, traced.

``trace(app, request)`` runs one request through a WSGI app under ``sys.setprofile`` and
returns the package's modules in the order the request entered them (each run of calls
inside one module counted once). ``python -m tests.paths`` prints the four requests of
docs/architecture.rst: issuing a token, verifying a bearer token, refreshing, and a
state-changing POST carrying the cookies.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from webtest import TestApp

PREFIX = "pyramid_jwtnode."


def trace(call: Callable[[], Any]) -> list[str]:
    """The package's modules that ``call()`` ran code in, in order, repeats folded."""
    seen: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event != "call":
            return
        name = frame.f_globals.get("__name__", "")
        if name.startswith(PREFIX):
            name = name[len(PREFIX):]
            if not seen or seen[-1] != name:
                seen.append(name)

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return seen


SECRET = "a-secret-of-forty-characters-for-tracing!"


def _app() -> TestApp:
    """One config whose tokens travel in cookies and in the Authorization header, with a
    token route, a refresh route, and a view to read and one to write."""
    from pyramid.authorization import Allow, Authenticated  # noqa: PLC0415
    from pyramid.config import Configurator  # noqa: PLC0415

    class Root:
        __acl__ = [(Allow, Authenticated, "read"), (Allow, Authenticated, "write")]

        def __init__(self, request: Any) -> None:
            pass

    with Configurator(root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config(
            "web", algorithm="HS256", secret=SECRET, expires_in=300, kid="web-1",
            token_location="header cookie", revocation_store="memory", refresh_expires_in=3600,
            token_route="/token", payload=lambda r: {"sub": r.POST.get("user", "alice")},
            refresh_route="/auth/refresh")
        config.set_jwt_security_policy("web")
        config.add_route("me", "/me")
        config.add_view(lambda r: {"sub": r.authenticated_userid}, route_name="me", permission="read",
                        renderer="json")
        config.add_route("notes", "/notes")
        config.add_view(lambda r: {"ok": True}, route_name="notes", request_method="POST",
                        permission="write", renderer="json")
    return TestApp(config.make_wsgi_app(), extra_environ={"wsgi.url_scheme": "https", "HTTP_HOST": "localhost",
                                                          "HTTP_ORIGIN": "https://localhost"})


def four_requests() -> dict[str, list[str]]:
    """The traced paths of the four requests (warm: each request was made once before it is
    traced, as on a running server)."""
    app = _app()
    bearer = app.post("/token", {"user": "alice"}).json["access_token"]

    def csrf() -> dict[str, str]:
        return {"X-CSRF-Token": next(v for k, v in app.cookies.items() if k.endswith("csrf"))}

    requests = {
        "issue": lambda: app.post("/token", {"user": "alice"}, headers=csrf()),
        "verify": lambda: app.get("/me", headers={"Authorization": f"Bearer {bearer}"}),
        "refresh": lambda: app.post("/auth/refresh", {"grant_type": "refresh_token"}, headers=csrf()),
        "cookie POST": lambda: app.post("/notes", {"x": "1"}, headers=csrf()),
    }
    paths: dict[str, list[str]] = {}
    for name, call in requests.items():
        call()
        paths[name] = trace(call)
    return paths


if __name__ == "__main__":
    for name, path in four_requests().items():
        print(f"{name}: {len(set(path))} modules, {len(path) - 1} switches")
        print("   " + " -> ".join(path))
