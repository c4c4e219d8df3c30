"""Tools beside the add-on: the ``pjwt`` command, key generation, helpers for host apps'
tests (and their pytest plugin), and what production servers' configurations import.

They use the plain objects and the registry, never the directives' internals.
"""
