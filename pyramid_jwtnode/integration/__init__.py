"""The Pyramid integration: the settings table, configs made ready, the directives, the
security policy, the views, cookies and CSRF, request methods and responses.

It builds on :mod:`pyramid_jwtnode.jose` and :mod:`pyramid_jwtnode.storage`; nothing below
it imports it.
"""
