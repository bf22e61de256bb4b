"""KServe's V1 protocol (TensorFlow Serving's REST shape), which many KServe users and
tools still send: its handlers, the rows they read, the answers and the error body,
``{"error": "..."}``.

    GET  /                          {"status": "alive"}
    GET  /v1/models                 {"models": [names]}
    GET  /v1/models/NAME            {"name": NAME, "ready": true}
    POST /v1/models/NAME:predict    {"instances": [...]} -> {"predictions": [...]}

An instance is a list of the features' values in the model's order, or a record of them
by name.
"""
from ..cli import UserError
from ..readers import jsondoc
from ..readers.columns import Columns, match_columns
from ..readers.values import type_name
from .http import Response

NAME = "kserve-v1"
BODY = "request body"


def error_body(message, status):
    return {"error": message}


class KServeV1:
    """The protocol's handlers over a serving.served.Served."""

    def __init__(self, served):
        self.served = served

    def live(self, request):
        return Response({"status": "alive"})

    def models(self, request):
        return Response({"models": list(self.served.models)})

    def model_ready(self, request):
        name, _ = self.served.get(request)
        return Response({"name": name, "ready": True})

    def predict(self, request):
        name, model = self.served.get(request)
        request.expect_kind("application/json", "")
        chunk = rows_of(jsondoc.parse_json(request.body, BODY), model.features)
        if chunk.bad:
            raise UserError(chunk.bad[0].message)
        prediction = self.served.predict(model, chunk)
        request.outside = prediction.outside
        y = prediction.y.tolist()
        return Response({"predictions": y}, rows=len(y))


def rows_of(doc, features):
    """A Chunk of a V1 request's instances."""
    if not isinstance(doc, dict) or "instances" not in doc:
        got = type_name(doc) if not isinstance(doc, dict) else "no 'instances'"
        raise UserError(f"{BODY}: expected an object with 'instances', got {got}")
    instances = doc["instances"]
    if not isinstance(instances, list) or not instances:
        got = "an empty list" if instances == [] else type_name(instances)
        raise UserError(f"{BODY}, 'instances': expected a list of instances, got {got}")
    if isinstance(instances[0], dict):  # records by feature name
        columns = match_columns(list(instances[0]), features, f"{BODY}, instance 1")
        keys = list(features)
    else:  # lists in the model's feature order
        columns = Columns(tuple(features), tuple(range(len(features))))
        keys = list(columns.index)

    def where(no):
        return f"{BODY}, instance {no}"
    return jsondoc.records(instances, range(1, len(instances) + 1), columns, keys, where)
