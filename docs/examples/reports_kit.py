"""A reusable package that ships a jwt-config of its own (say, ``reports_kit``)."""


def report_payload(request):
    return {"sub": "reports-kit", "scope": "reports:read"}


def includeme(config):
    config.include("pyramid_jwtnode")
    config.add_jwt_config(
        "reports",
        algorithm="HS256",
        secret_env="REPORTS_JWT_SECRET",
        expires_in=300,
        token_route="/reports/token",
        payload=report_payload,
    )
