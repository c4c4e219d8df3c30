"""A subscriber that alerts on the security events that need a person: save it as
``myapp/alerting.py`` and include it with ``config.include("myapp.alerting")``."""

from __future__ import annotations

import logging

from pyramid.config import Configurator

from pyramid_jwtnode.integration.events import KeySetFetchFailed, RefreshTokenReused, StoreUnavailable

alerts = logging.getLogger("myapp.alerts")  # route this logger to your pager or chat


def refresh_token_reused(event: RefreshTokenReused) -> None:
    alerts.critical("refresh token replayed: config %s, user %s, family %s ended (stolen token?)",
                    event.config, event.subject, event.family)


def key_set_failed(event: KeySetFetchFailed) -> None:
    alerts.error("identity provider key set not fetched: config %s, %s (%s)", event.config, event.url,
                 event.reason)


def store_unavailable(event: StoreUnavailable) -> None:
    alerts.error("revocation store unreachable: config %s answers 503", event.config)


def includeme(config: Configurator) -> None:
    config.add_subscriber(refresh_token_reused, RefreshTokenReused)
    config.add_subscriber(key_set_failed, KeySetFetchFailed)
    config.add_subscriber(store_unavailable, StoreUnavailable)
