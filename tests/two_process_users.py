"""A host app whose user store is a JSON file (named by JWTNODE_TEST_USERS) that several
processes read, so that a test can delete a user or change a role between requests."""

from __future__ import annotations

import json
import os
from typing import Any

from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator


def _users() -> dict[str, list[str]]:
    with open(os.environ["JWTNODE_TEST_USERS"]) as handle:
        users: dict[str, list[str]] = json.load(handle)
    return users


def login(request: Any) -> dict[str, Any]:
    user = request.POST.get("user", "")
    return {"sub": user, "roles": _users().get(user, [])}


def recheck(request: Any, payload: dict[str, Any]) -> dict[str, Any] | None:
    roles = _users().get(payload["sub"])
    return None if roles is None else {**payload, "roles": roles}


class Root:
    __acl__ = [(Allow, Authenticated, "read")]

    def __init__(self, request: Any) -> None:
        pass


def main(global_config: Any, **settings: Any) -> Any:
    with Configurator(settings=settings, root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_route("me", "/me")
        config.add_view(lambda r: {"sub": r.authenticated_userid, "roles": r.jwt_claims.get("roles")},
                        route_name="me", permission="read", renderer="json")
    return config.make_wsgi_app()
