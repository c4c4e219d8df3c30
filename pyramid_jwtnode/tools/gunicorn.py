"""Serving on gunicorn: where to bind, how many workers, and logs that never hold a token.

A ``gunicorn.conf.py`` names these (``example_app/gunicorn.conf.py`` is one to copy)::

    from pyramid_jwtnode.tools.gunicorn import RedactingLogger, bind_address, worker_count

    bind = bind_address()
    workers = worker_count()
    logger_class = RedactingLogger

Needs gunicorn (``pip install "pyramid_jwtnode[gunicorn]"``); the rest of the package never
imports this module. The docs' chapter "Performance and deployment" says why each choice
is made. The server-agnostic parts live in :mod:`pyramid_jwtnode.tools.deploy`.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from .deploy import REDACTION_FILTER, bind_address, redact, worker_count

__all__ = ["bind_address", "worker_count", "redact", "RedactingLogger"]


class RedactingLogger(Logger):  # type: ignore[misc]  # gunicorn has no type information
    """gunicorn's logger with every access-log and error-log line passed through
    :func:`redact` before it is written. A record's message is formatted before it is
    redacted, so a formatter sees the finished text (its ``args`` are gone)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            # on the loggers, and on their handlers: records other loggers send there too
            for filtered in (log, *log.handlers):
                filtered.addFilter(REDACTION_FILTER)  # addFilter ignores a filter already there
