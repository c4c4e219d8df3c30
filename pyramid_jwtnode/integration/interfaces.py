"""Registry markers: where the ready configs and the bound security policies are kept."""

from __future__ import annotations

from zope.interface import Interface

__all__ = ["IJWTRuntimes", "IJWTPolicies", "IJWTMeter"]


class IJWTRuntimes(Interface):
    """The registry utility mapping config names to :class:`~pyramid_jwtnode.integration.runtime.JWTRuntime`."""


class IJWTPolicies(Interface):
    """The registry utility listing the bound :class:`~pyramid_jwtnode.integration.policy.JWTSecurityPolicy` objects."""


class IJWTMeter(Interface):
    """The registry utility that counts (a :class:`~pyramid_jwtnode.integration.meter.Meter`),
    registered by ``add_jwt_metrics`` before the configs are made ready."""
