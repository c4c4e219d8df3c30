"""Metrics from code: what ``jwt.metrics_route = /metrics`` and ``jwt.metrics_token_env =
METRICS_TOKEN`` do in the settings. Include it with ``config.include("myapp.metrics_app")``."""

from __future__ import annotations

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.include("pyramid_jwtnode")
    config.add_jwt_metrics("/metrics", token_env="METRICS_TOKEN")
