"""Logging set up with ``logging.config.dictConfig``: the redaction filter on every handler,
so no record any logger sends there is written with a token in it."""

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "pyramid_jwtnode.tools.deploy.RedactionFilter"}},
    "formatters": {"generic": {"format": "%(asctime)s %(levelname)-5.5s [%(name)s] %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "generic", "filters": ["redact"]},
    },
    "root": {"level": "INFO", "handlers": ["console"]},
}
