"""What operators and platforms ask of the server: SageMaker's /ping, /health, the
version, Prometheus' /metrics and the OpenAPI description. Errors are ``{"error": ...}``."""
import json
from importlib import resources

from .. import __version__
from .http import HTTPError, Response

NAME = "ops"


def error_body(message, status):
    return {"error": message}


class Operations:
    """The handlers; ``metrics`` a serving.metrics.Metrics or None."""

    def __init__(self, served, metrics):
        self.metrics = metrics
        self.description = describe(served)

    def ping(self, request):
        return Response({"status": "ok"})

    def version(self, request):
        return Response({"version": __version__})

    def openapi(self, request):
        return Response(data=self.description, kind="application/json")

    def scrape(self, request):
        if not self.metrics:
            raise HTTPError(404, "metrics are off")
        text, kind = self.metrics.scrape()  # a 503 when the folder cannot be read
        return Response(data=text, kind=kind)


def describe(served):
    """The OpenAPI description, its version and the models and versions served filled in."""
    doc = json.loads((resources.files("housing") / "openapi.json").read_bytes())
    doc["info"]["version"] = __version__  # defined once, in housing/__init__.py
    params = doc["components"]["parameters"]
    params["model"]["schema"]["enum"] = list(served.models)
    params["version"]["schema"]["enum"] = sorted(set(served.versions.values()))
    return json.dumps(doc).encode()
