"""Issuing tokens from your own code: in a view, and outside any request."""

from pyramid_jwtnode import get_jwt_runtime


def report_link(request):
    """A view: a one-minute token that lets its holder fetch one report."""
    claims = {"sub": request.authenticated_userid, "report": request.matchdict["report"]}
    token = request.create_jwt(claims, config="links", expires_in=60)  # a str
    return {"token": token}


def worker_token(registry):
    """A script or a worker, outside any request: the plain issuer of a ready config."""
    node = get_jwt_runtime(registry, "staff")
    return node.issuer.issue({"sub": "report-worker"}).token
