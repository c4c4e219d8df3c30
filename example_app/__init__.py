"""The recipe "Generate a JSON Web Token", as a Pyramid app.

The Node-RED flow ``http in (GET /jwt/generate) -> function (set payload) ->
jwt (generate, jwt-config "igniteadmin") -> function (access_token) -> http
response`` becomes the ini settings in ``development.ini`` plus the payload
callable below. Everything else is pyramid_jwtnode.
"""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request


def main(global_config: dict[str, str], **settings: str) -> Any:
    """The WSGI app ``pserve`` serves (``use = egg:pyramid_jwtnode#example``)."""
    with Configurator(settings=settings) as config:
        config.include("pyramid_jwtnode")
    return config.make_wsgi_app()


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
