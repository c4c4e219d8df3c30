"""The test helpers outside pytest: a unittest test case, with a config declared in code."""

import unittest

import webtest
from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator

from pyramid_jwtnode.tools.testing import Clock, auth_header, bearer, mint_token

TEST_SECRET = "a-test-secret-of-at-least-32-bytes-for-hs256"


class Root:
    __acl__ = [(Allow, Authenticated, "view")]

    def __init__(self, request):
        self.request = request


def whoami(request):
    return {"userid": request.authenticated_userid}


def make_app(clock):
    with Configurator(root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("api", algorithm="HS256", secret=TEST_SECRET, expires_in=300, clock=clock)
        config.set_jwt_security_policy("api")
        config.add_route("whoami", "/whoami")
        config.add_view(whoami, route_name="whoami", permission="view", renderer="json")
    return webtest.TestApp(config.make_wsgi_app())


class WhoAmITests(unittest.TestCase):
    def setUp(self):
        self.clock = Clock(1_767_225_600)
        self.app = make_app(self.clock)

    def test_a_token_names_the_user(self):
        res = self.app.get("/whoami", headers=auth_header(self.app, {"sub": "alice"}))
        self.assertEqual(res.json, {"userid": "alice"})

    def test_an_expired_token_is_refused(self):
        token = mint_token(self.app, {"sub": "alice"}, expires_in=60)
        self.clock.advance(60)
        res = self.app.get("/whoami", headers=bearer(token), status=401)
        self.assertIn('error="invalid_token"', res.headers["WWW-Authenticate"])


if __name__ == "__main__":
    unittest.main()
