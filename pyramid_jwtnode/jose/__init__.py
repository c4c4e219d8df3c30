"""The JOSE core: algorithms, keys, remote key sets, the issuer, the verifier, and choosing
among several configs' verifiers.

Nothing here imports Pyramid (``tests/test_shape.py`` holds it to that): these are plain
objects over PyJWT's algorithm implementations and ``cryptography``, usable and testable
alone. A config's rules reach them as any object with the attributes of
:class:`~pyramid_jwtnode.jose.rules.TokenRules`.
"""
