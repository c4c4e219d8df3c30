"""An API on bearer tokens: a login token view, protected views, refresh, revocation, logout.

Its jwt-config "api" and the security policy come from the ini file (api.ini).
"""

import hmac

from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPUnauthorized

# use your user store; roles take a form no userid can take
USERS = {
    "alice": ("correct horse battery staple", ["role:admin"]),
    "bob": ("tr0ub4dor&3", []),
}


def login(request):
    user = request.POST.get("username", "")
    password = request.POST.get("password", "")
    known, roles = USERS.get(user, ("", []))
    if not password or not hmac.compare_digest(known.encode(), password.encode()):
        raise HTTPUnauthorized(json_body={"error": "wrong username or password"})
    return {"sub": user, "roles": roles}


def recheck(request, payload):
    """refresh_payload: the user as the user store says now; None ends the family."""
    user = USERS.get(payload["sub"])
    if user is None:
        return None
    return {**payload, "roles": user[1]}


class Root:
    """Who may do what: any authenticated token may view; role:admin may administer."""

    __acl__ = [(Allow, Authenticated, "view"), (Allow, "role:admin", "admin")]

    def __init__(self, request):
        self.request = request


def orders(request):
    return {"orders": [], "for": request.authenticated_userid}


def admin(request):
    return {"admin": request.authenticated_userid}


def logout(request):
    """Revoke the request's bearer token and its refresh family."""
    return {"revoked": request.revoke_jwt()}


def change_password(request):
    """After a password change, every token of the user issued until now is refused."""
    ...  # store the new password
    request.revoke_jwt_subject(request.authenticated_userid)
    return {"logged_out_everywhere": True}


def main(global_config, **settings):
    with Configurator(settings=settings, root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_route("orders", "/orders")
        config.add_view(orders, route_name="orders", permission="view", renderer="json")
        config.add_route("admin", "/admin")
        config.add_view(admin, route_name="admin", permission="admin", renderer="json")
        config.add_route("logout", "/logout")
        config.add_view(logout, route_name="logout", request_method="POST", renderer="json")
        config.add_route("password", "/password")
        config.add_view(change_password, route_name="password", request_method="POST",
                        permission="view", renderer="json")
    return config.make_wsgi_app()
