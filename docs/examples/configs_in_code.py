from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPBadRequest


def partner_payload(request):
    partner = request.POST.get("partner_id")
    if not partner:
        raise HTTPBadRequest(json_body={"error": "invalid_request"})
    return {"sub": partner, "scope": "orders:read"}


def main(global_config, **settings):
    with Configurator(settings=settings) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config(
            "partners",
            algorithm="ES256",
            private_key_file="myapp:keys/partners.pem",  # a path or a package:path asset spec
            expires_in=3600,
            audience=["partner-api", "reports"],
            token_route="/partners/token",
            payload=partner_payload,  # a callable or a dotted name
        )
    return config.make_wsgi_app()
