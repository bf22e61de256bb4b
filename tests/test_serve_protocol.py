"""What docs/design.md says of adding a protocol: its module, and its lines in the route
table; nothing else in the server changes. Here a copy of the package gets a protocol of
one route, as a user would add it, and a live server of that copy serves the route,
counts it in /metrics, lists it in its 404 texts and describes it in /openapi.json."""
import shutil
import time

from repo import ROOT, free_port
from serving import call, exchange, metric, start, stop

ECHO = '''"""A protocol of one route: a model's features, by name."""
from .http import Response
from .protocol import STRING, described, json_content, json_object

NAME = "echo"


class Echo:
    def __init__(self, served):
        self.served = served

    @described("A model's features", json_content(json_object(
        {"features": {"type": "array", "items": STRING}}, ["features"])), refusals=(404,))
    def features(self, request):
        _, model = self.served.get(request)
        return Response({"features": list(model.features)})
'''


def with_echo(folder):
    """``folder`` holding a copy of the package with the echo protocol: its module, and
    an import and a line in the route table."""
    package = folder / "housing"
    shutil.copytree(ROOT / "housing", package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "serving" / "echo.py").write_text(ECHO)
    routes = package / "serving" / "routes.py"
    text = routes.read_text()
    assert "    routes = [\n" in text and "from .oip import triton\n" in text
    text = text.replace("from .oip import triton\n", "from .oip import triton\nfrom . import echo\n")
    text = text.replace("    routes = [\n", '    routes = [\n        ("GET", "/echo/{model}", '
                                              '"echo", echo, echo.Echo(served).features),\n')
    routes.write_text(text)
    return folder


def test_a_protocol_is_its_module_and_its_lines_in_the_route_table(tmp_path, built):
    port = free_port()
    proc = start(built, port, cwd=with_echo(tmp_path))
    server = (f"127.0.0.1:{port}",)
    try:
        status, body, _ = call(server, "GET", "/echo/float")
        assert (status, body["features"][:2]) == (200, ["MedInc", "HouseAge"])
        assert call(server, "GET", "/echo/forest")[:2] == (
            404, {"error": "no model named 'forest'; expected one of float, quantized"})
        assert call(server, "GET", "/nowhere")[:2] == (404, {"error": (
            "no such path '/nowhere'; expected /echo/..., /v2/..., /invocations, /v1/..., /, "
            "/ping, /health, /version, /metrics, /openapi.json")})
        assert call(server, "GET", "/echo/x/y")[:2] == (404, {"error": (
            "no such path '/echo/x/y'; expected /echo/{model}")})
        operation = call(server, "GET", "/openapi.json")[1]["paths"]["/echo/{model}"]["get"]
        assert operation["summary"] == "A model's features"
        assert operation["parameters"][0]["schema"]["enum"] == ["float", "quantized"]
        assert sorted(operation["responses"]) == ["200", "404"]
        counted = dict(route="echo", protocol="echo", model="float", status="200")
        deadline = time.monotonic() + 10  # a worker writes its counts after it answers
        while (metric(exchange(server, "GET", "/metrics")[1].decode(), "housing_requests_total",
                      **counted) == 0 and time.monotonic() < deadline):
            time.sleep(0.05)
        scraped = exchange(server, "GET", "/metrics")[1].decode()
        assert metric(scraped, "housing_requests_total", **counted) == 1
        assert metric(scraped, "housing_requests_total", route="echo", protocol="echo",
                      model="", status="404") == 1
    finally:
        status, _, err = stop(proc)
    assert status == 0 and "Traceback" not in err, err
