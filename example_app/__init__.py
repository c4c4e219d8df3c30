"""The recipe "Generate a JSON Web Token", as a Pyramid app.

The Node-RED flow ``http in (GET /jwt/generate) -> function (set payload) ->
jwt (generate, jwt-config "igniteadmin") -> function (access_token) -> http
response`` becomes the ini settings in ``development.ini`` plus the payload
callable below. The jwt node's *validate* mode is ``GET /jwt/verify``, also
from the ini file. Everything else is pyramid_jwtnode.

Two protected views show the security policy's answers: ``/jwt/offices``
needs any valid token, ``/jwt/admin`` a token whose ``data.roles`` holds
``admin`` (the recipe's token has none, so it gets 403).
"""

from __future__ import annotations

from typing import Any

from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from pyramid.request import Request


def main(global_config: dict[str, str], **settings: str) -> Any:
    """The WSGI app ``pserve`` serves (``use = call:example_app:main``)."""
    with Configurator(settings=settings, root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_route("offices", "/jwt/offices")
        config.add_view(offices, route_name="offices", permission="view", renderer="json")
        config.add_route("admin", "/jwt/admin")
        config.add_view(admin, route_name="admin", permission="admin", renderer="json")
    return config.make_wsgi_app()


class Root:
    """Who may do what: any valid token may view; the ``admin`` role may administer; tokens
    of the demo's ``browser`` config may use the demo's API."""

    __acl__ = [
        (Allow, Authenticated, "view"),
        (Allow, "admin", "admin"),
        (Allow, "jwt-config:browser", "demo"),  # the demo page's views: its cookie tokens only
    ]

    def __init__(self, request: Request) -> None:
        self.request = request


def offices(request: Request) -> dict[str, Any]:
    """A resource for any valid token: the offices named in its claims."""
    return {"offices": request.jwt_claims["data"].get("Offices", {})}


def admin(request: Request) -> dict[str, Any]:
    """A resource for the ``admin`` role only."""
    return {"admin": request.authenticated_userid}


def recipe_payload(request: Request) -> dict[str, Any]:
    """The recipe's "Setting payload to encode" function node."""
    return {
        "name": "CYber Group Inc.",
        "Domain": "Information Technology & Services",
        "Offices": {
            "Dallas": "12900 Preston Road, Ste 900, Dallas, TX, 75230",
            "India": "30/1 Knowledge Park III, Greater Noida",
        },
    }
