"""The app of docs/several-configs.rst: one view open to any valid token, one view for the
partners' tokens only (its ACL names the principal ``jwt-config:partners``)."""

from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator


class Root:
    __acl__ = [
        (Allow, Authenticated, "read"),                    # a valid token of any listed config
        (Allow, "jwt-config:partners", "partner-read"),    # only tokens of the partners config
    ]

    def __init__(self, request):
        pass


def orders(request):
    # request.jwt_config names the config that accepted the token
    return {"user": request.authenticated_userid, "via": request.jwt_config}


def main(global_config, **settings):
    with Configurator(settings=settings, root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_route("orders", "/orders")
        config.add_view(orders, route_name="orders", permission="read", renderer="json")
        config.add_route("partner_orders", "/partner/orders")
        config.add_view(orders, route_name="partner_orders", permission="partner-read",
                        renderer="json")
    return config.make_wsgi_app()
