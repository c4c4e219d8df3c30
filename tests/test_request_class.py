"""``request.jwt_claims`` and ``request.jwt_config`` are properties of the app's request class,
made once when the configuration commits, not request extensions that make Pyramid build a
new request class on every request."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.interfaces import IRequestExtensions, IRequestFactory
from pyramid.request import Request
from pyramid.scripting import prepare
from webtest import TestApp

from pyramid_jwtnode import get_jwt_runtime
from pyramid_jwtnode.integration.request import with_claims_properties

from .conftest import HS256_SECRET

INI = {"jwt.configs": "api", "jwt.api.algorithm": "HS256", "jwt.api.secret": HS256_SECRET,
       "jwt.api.expires_in": "600"}


class HostRequest(Request):
    """A host app's own request class."""

    greeting = "hello"


def app_with(policy: bool = True, request_factory: Any = None) -> tuple[TestApp, Configurator]:
    with Configurator(settings=INI) as config:
        config.include("pyramid_jwtnode")
        if request_factory is not None:
            config.set_request_factory(request_factory)
        if policy:
            config.make_jwt_security_policy("api")
        config.add_route("r", "/r")
        config.add_view(lambda r: {"claims": getattr(r, "jwt_claims", "absent"), "config": getattr(r, "jwt_config", "absent"),
                                   "class": id(type(r)), "host": getattr(r, "greeting", None)},
                        route_name="r", renderer="json")
    return TestApp(config.make_wsgi_app()), config


def bearer(config: Configurator) -> dict[str, str]:
    token = get_jwt_runtime(config.registry).issuer.issue({"sub": "ann"}).token
    return {"Authorization": f"Bearer {token}"}


# -- the plain class --------------------------------------------------------------------------------


def test_with_claims_properties_is_a_subclass_with_two_reified_properties() -> None:
    cls = with_claims_properties(HostRequest)
    assert issubclass(cls, HostRequest) and cls.__name__ == "HostRequest"
    assert cls.__module__ == HostRequest.__module__
    request = cls.blank("/")
    request.registry = Configurator().registry  # no policy registered: nothing verifies
    assert request.jwt_claims is None and request.jwt_config is None
    assert request.__dict__["jwt_claims"] is None  # kept for the request


# -- wired by a real Configurator -----------------------------------------------------------------


def test_a_policy_gives_the_app_a_request_class_and_no_request_extension() -> None:
    _, config = app_with()
    factory = config.registry.queryUtility(IRequestFactory)
    assert issubclass(factory, Request) and "jwt_claims" in vars(factory) and "jwt_config" in vars(factory)
    extensions = config.registry.queryUtility(IRequestExtensions)
    assert extensions is None or not {"jwt_claims", "jwt_config"} & set(extensions.descriptors)


def test_an_app_without_a_policy_keeps_pyramids_request_factory() -> None:
    app, config = app_with(policy=False)
    assert config.registry.queryUtility(IRequestFactory) is None
    assert app.get("/r").json["claims"] == "absent"


def test_the_host_apps_request_class_is_kept_underneath() -> None:
    app, config = app_with(request_factory=HostRequest)
    assert issubclass(config.registry.queryUtility(IRequestFactory), HostRequest)
    res = app.get("/r", headers=bearer(config)).json
    assert res["host"] == "hello" and res["claims"]["sub"] == "ann" and res["config"] == "api"


def test_a_request_factory_that_is_not_a_class_is_wrapped_and_still_adds_no_request_extension() -> None:
    app, config = app_with(request_factory=lambda environ: HostRequest(environ))
    res = app.get("/r", headers=bearer(config)).json
    assert res["host"] == "hello" and res["claims"]["sub"] == "ann" and res["config"] == "api"
    again = app.get("/r").json
    assert again["claims"] is None and again["class"] == res["class"]  # one subclass, made once
    extensions = config.registry.queryUtility(IRequestExtensions)
    assert extensions is None or not {"jwt_claims", "jwt_config"} & set(extensions.descriptors)
    env = prepare(registry=config.registry)  # scripts ask the factory for blank()
    try:
        assert isinstance(env["request"], HostRequest) and env["request"].jwt_claims is None
    finally:
        env["closer"]()


def test_scripts_get_the_properties_too() -> None:
    _, config = app_with()
    env = prepare(registry=config.registry)
    try:
        assert env["request"].jwt_claims is None
    finally:
        env["closer"]()


# -- through HTTP ---------------------------------------------------------------------------------------


def test_every_request_has_the_same_class_and_its_own_claims() -> None:
    app, config = app_with()
    first = app.get("/r", headers=bearer(config)).json
    second = app.get("/r").json
    assert first["claims"]["sub"] == "ann" and first["config"] == "api"
    assert second["claims"] is None and second["config"] is None
    assert first["class"] == second["class"]  # no request class built per request
