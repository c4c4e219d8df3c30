"""Bearer tokens on /api/, a login session on the HTML pages: one policy that asks both.

In the app: ``config.include("myapp.security")`` after ``config.include("pyramid_jwtnode")``
and a session factory.
"""

from pyramid.authorization import ACLHelper, Authenticated, Everyone
from pyramid.httpexceptions import HTTPFound


class SessionOrBearerPolicy:
    def __init__(self, jwt_policy):
        self.jwt = jwt_policy

    def identity(self, request):
        return self.jwt.identity(request) or request.session.get("user")

    def authenticated_userid(self, request):
        return self.jwt.authenticated_userid(request) or request.session.get("user")

    def permits(self, request, context, permission):
        if self.jwt.identity(request) is not None:  # a bearer token: its rules
            return self.jwt.permits(request, context, permission)
        user = request.session.get("user")  # else the session's
        principals = [Everyone] + ([Authenticated, user] if user else [])
        return ACLHelper().permits(context, principals, permission)

    def remember(self, request, userid, **kw):
        request.session["user"] = userid
        return []

    def forget(self, request, **kw):
        request.session.invalidate()
        return self.jwt.forget(request)  # revokes a presented bearer token too


def includeme(config):
    jwt_policy = config.make_jwt_security_policy("api")

    def forbidden(request):
        if request.path.startswith("/api/"):
            return jwt_policy.challenge(request)  # the RFC 6750 answers
        return HTTPFound(location="/login")

    config.set_security_policy(SessionOrBearerPolicy(jwt_policy))
    config.add_forbidden_view(forbidden)
