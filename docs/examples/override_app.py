"""The app includes reports_kit and declares "reports" itself: the app's declaration wins."""

from pyramid.config import Configurator


def report_payload(request):
    return {"sub": "myapp", "scope": "reports:read"}


def main(global_config, **settings):
    with Configurator(settings=settings) as config:
        config.include("reports_kit")
        config.add_jwt_config(
            "reports",
            algorithm="HS256",
            secret_env="MYAPP_REPORTS_SECRET",
            expires_in=60,
            token_route="/api/reports/token",
            payload=report_payload,
        )
    return config.make_wsgi_app()
