"""Registry markers: where the ready configs and the bound security policies are kept."""

from __future__ import annotations

from zope.interface import Interface

__all__ = ["IJWTNodes", "IJWTPolicies"]


class IJWTNodes(Interface):
    """The registry utility mapping config names to :class:`~pyramid_jwtnode.integration.runtime.JWTNode`."""


class IJWTPolicies(Interface):
    """The registry utility listing the bound :class:`~pyramid_jwtnode.integration.policy.JWTSecurityPolicy` objects."""
