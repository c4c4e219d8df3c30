"""What ``config.include("pyramid_jwtnode")`` does: add the directives, request methods,
exception views and view deriver, and declare the ini-listed configs at commit."""

from __future__ import annotations

import functools

from pyramid.config import Configurator
from pyramid.interfaces import PHASE0_CONFIG

from ..exceptions import KeySetUnavailableError, StoreUnavailableError
from .csrf import csrf_view
from .directives import DIRECTIVES, declare_from_settings
from .request import create_jwt, revoke_jwt, revoke_jwt_subject
from .responses import unavailable_view

__all__ = ["include"]


def include(config: Configurator) -> None:
    """Add the directives and request methods; declare the ini-listed configs at commit."""
    for name, directive in DIRECTIVES.items():
        config.add_directive(name, directive)
    config.add_request_method(create_jwt, "create_jwt")
    config.add_request_method(revoke_jwt, "revoke_jwt")
    config.add_request_method(revoke_jwt_subject, "revoke_jwt_subject")
    config.add_exception_view(unavailable_view, context=StoreUnavailableError)
    config.add_exception_view(unavailable_view, context=KeySetUnavailableError)
    config.add_view_deriver(csrf_view, "jwt_csrf_view", under="secured_view", over="csrf_view")
    config.action(None, functools.partial(declare_from_settings, config), order=PHASE0_CONFIG)
