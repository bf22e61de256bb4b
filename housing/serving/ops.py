"""What operators and platforms ask of the server: SageMaker's /ping, /health, the
version, Prometheus' /metrics and the OpenAPI description. Errors are ``protocol``'s
``{"error": "..."}``."""
import json

from .. import __version__
from .http import HTTPError, Response
from .protocol import STRING, described, json_content, json_object

NAME = "ops"
STATUS = json_content(json_object({"status": STRING}, ["status"]))


class Operations:
    """The handlers; ``metrics`` a serving.metrics.Metrics or None."""

    def __init__(self, metrics):
        self.metrics = metrics
        self.description = b"{}"

    def describe(self, document):
        """Serve ``document`` (serving.openapi's, of the route table) as /openapi.json."""
        self.description = json.dumps(document).encode()

    @described("Readiness (SageMaker)", STATUS, probe=True)
    def ping(self, request):
        return Response({"status": "ok"})

    @described("Readiness", STATUS, probe=True)
    def health(self, request):
        return Response({"status": "ok"})

    @described("The package's version", json_content(json_object({"version": STRING},
                                                                 ["version"])))
    def version(self, request):
        return Response({"version": __version__})

    @described("This description", json_content({"type": "object"}))
    def openapi(self, request):
        return Response(data=self.description, kind="application/json")

    @described("Prometheus metrics, summed over the worker processes",
               {"text/plain": {"schema": STRING}}, refusals=(404, 503))
    def scrape(self, request):
        if not self.metrics:
            raise HTTPError(404, "metrics are off")
        text, kind = self.metrics.scrape()  # a 503 when the folder cannot be read
        return Response(data=text, kind=kind)
