"""KServe's V1 protocol (TensorFlow Serving's REST shape), which many KServe users and
tools still send: its handlers, the rows they read, the answers. Errors are
``protocol``'s ``{"error": "..."}``.

    GET  /                          {"status": "alive"}
    GET  /v1/models                 {"models": [names]}
    GET  /v1/models/NAME            {"name": NAME, "ready": true}
    POST /v1/models/NAME:predict    {"instances": [...]} -> {"predictions": [...]}

An instance is a list of the features' values in the model's order, or a record of them
by name.
"""
from ..cli import UserError
from ..readers import jsonrows
from ..readers.columns import Columns, match_columns
from ..readers.values import type_name
from .http import Response
from .protocol import BODY, NUMBERS, STRING, described, json_content, json_object

NAME = "kserve-v1"
PREDICTIONS = json_object({"predictions": NUMBERS}, ["predictions"])
INSTANCES = json_object({"instances": {"type": "array", "minItems": 1, "items": {"oneOf": [
    NUMBERS, {"type": "object", "additionalProperties": {"type": "number"}}]}}}, ["instances"])


class KServeV1:
    """The protocol's handlers over a serving.served.Served."""

    def __init__(self, served):
        self.served = served

    @described("KServe V1 liveness", json_content(json_object({"status": {"const": "alive"}},
                                                              ["status"])), probe=True)
    def live(self, request):
        return Response({"status": "alive"})

    @described("KServe V1: the models served", json_content(json_object({
        "models": {"type": "array", "items": STRING}}, ["models"])))
    def models(self, request):
        return Response({"models": list(self.served.models)})

    @described("KServe V1 model readiness", json_content(json_object({
        "name": STRING, "ready": {"type": "boolean"}}, ["name", "ready"])), refusals=(404,))
    def model_ready(self, request):
        name, _ = self.served.get(request)
        return Response({"name": name, "ready": True})

    @described("KServe V1 predict: instances as lists of the features' values in the model's "
               "order, or records by name", json_content(PREDICTIONS),
               body=json_content(INSTANCES), refusals=(400, 404, 415))
    def predict(self, request):
        _, model = self.served.get(request)
        request.expect_kind("application/json", "")
        chunk = rows_of(jsonrows.parse_json(request.body, BODY), model.features)
        if chunk.bad:
            raise UserError(chunk.bad[0].message)
        prediction = self.served.predict(model, chunk)
        y = prediction.y.tolist()
        return Response({"predictions": y}, prediction=prediction)


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
    return jsonrows.records(instances, range(1, len(instances) + 1), columns, keys, where)
