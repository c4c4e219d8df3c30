"""Payload callables translated by ``pjwt import-flow`` from the flow "recipe.json".

Each function stands for a function node of the recipe's system; jwt.ini names
them ``flow_payloads:<function>``. Rename the module (and those names) as you like.
Functions that raise NotImplementedError need a hand translation: their docstring
holds the node's JavaScript.
"""

from __future__ import annotations

from typing import Any

from pyramid.request import Request


def setting_payload_to_encode(request: Request) -> Any:
    """Function node "Setting payload to encode" (34c70aa9.45ad56): what it assigns to msg.payload."""
    return {'name': 'CYber Group Inc.',
            'Domain': 'Information Technology & Services',
            'Offices': {'Dallas': '12900 Preston Road, Ste 900, Dallas, TX, 75230',
                        'India': '30/1 Knowledge Park III, Greater Noida'}}
