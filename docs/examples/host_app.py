import hmac

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPBadRequest, HTTPUnauthorized

STAFF = {"alice": "correct horse battery staple"}  # use your user store


def staff_payload(request):
    user = request.POST.get("username", "")
    password = request.POST.get("password", "")
    known = STAFF.get(user, "")
    if not password or not hmac.compare_digest(known.encode(), password.encode()):
        raise HTTPUnauthorized(json_body={"error": "wrong username or password"})
    return {"sub": user, "roles": ["staff"]}


def partner_payload(request):
    partner = request.POST.get("partner_id")
    if not partner:
        raise HTTPBadRequest(json_body={"error": "invalid_request"})
    return {"sub": partner, "scope": "orders:read"}


def main(global_config, **settings):
    with Configurator(settings=settings) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_token_view("/staff/token", jwt_config="staff", payload=staff_payload)
        config.add_jwt_token_view("/partners/token", jwt_config="partners", payload=partner_payload)
    return config.make_wsgi_app()
