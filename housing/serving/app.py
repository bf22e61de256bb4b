"""The ASGI application: one coroutine of (scope, receive, send), no framework.

It knows no protocol. For each request it finds the route (``routes.table``), reads the
body within its limits, calls the handler, turns an error into a status and the route's
protocol's error body, compresses, gives the request an id, and counts and logs it.
Log lines and metrics go out once a turn of the event loop, not once a request: fewer
writes to the log and the metrics' files (tests/bench/micro.py measures the difference).
"""
import asyncio
import gzip
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote

from ..cli import UserError
from . import ops, protocol
from .body import BodyReader
from .http import HTTPError, Request, Response, encoded
from .log import RequestIds, escaped
from .metrics import DRIFT_EVERY
from .routes import Route, table

GZIP_MIN = 1024  # bytes: smaller answers are sent as they are


INLINE = 1 << 20  # bytes of body a handler takes on the event loop; larger, in a thread


class App:
    """Routes requests to the handlers over ``served`` (a serving.served.Served).

    max_body : bytes a request body may hold, compressed or not
    body_timeout : seconds it may take to arrive
    max_held : bytes of the bodies a worker holds at once (BodyReader)
    log : an AccessLog; metrics : a serving.metrics.Metrics, or None for none
    requests : a serving.requestlog.RequestLog of the rows served, or None for none
    """

    def __init__(self, served, log, max_body=16 << 20, body_timeout=30.0, metrics=None,
                 max_held=None, requests=None):
        self.metrics = metrics
        self.requests = requests
        self.serve(served)
        self.bodies = BodyReader(max_body, body_timeout, max_held)
        self.parser = ThreadPoolExecutor(max_workers=1)  # its thread starts in the worker
        self.log = log
        self.ids = RequestIds()
        self.answered = 0
        self.flush_due = False
        self.drift_due = False

    def serve(self, served):
        """Serve ``served`` from now on: the route table's handlers are built over it; a
        one-line error when the request log cannot take its models."""
        if self.requests:
            self.requests.check(served)
        self.served = served
        self.routes = table(served, self.metrics)
        if self.metrics:
            self.metrics.serve(served)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return  # lifespan is off; no websockets here
        start = time.perf_counter()
        request = Request(scope)
        self.flush_at_turn_end()
        if self.metrics:
            self.metrics.started()
        try:
            route, response = await self.respond(request, receive)
        finally:  # answered, refused or cancelled: what the body held is free
            self.bodies.release(request)
        data, kind = encoded(response)
        compressed = []
        if len(data) >= GZIP_MIN and "gzip" in request.tokens(b"accept-encoding"):
            data = gzip.compress(data, compresslevel=1)
            compressed = [(b"content-encoding", b"gzip"), (b"vary", b"accept-encoding")]
        request_id = self.ids.of(request.header(b"x-request-id"))
        headers = [(b"content-type", kind.encode()),
                   (b"content-length", str(len(data)).encode()),
                   (b"x-request-id", request_id.encode())]
        await send({"type": "http.response.start", "status": response.status,
                    "headers": headers + compressed + response.headers})
        await send({"type": "http.response.body",
                    "body": b"" if request.method == "HEAD" else data})
        seconds = time.perf_counter() - start
        self.answered += 1
        self.flush_at_turn_end()
        name = route.name if route else "none"
        if self.metrics:
            self.metrics.done(name, route.protocol.NAME if route else "", self.addressed(request),
                              response.status, seconds, response.prediction,
                              route and route.predicts)
        if self.requests and response.prediction is not None:
            model_name = self.addressed(request)
            self.requests.add(model_name, self.served.models[model_name], request_id,
                              response.prediction)
        if route and route.handler.description.probe and response.status < 400:
            return  # probes are logged only when they fail
        client = (scope.get("client") or ("-",))[0]
        self.log.request(client, request_id, request.method, request.path, response.status,
                         response.rows, seconds)

    async def respond(self, request, receive):
        """(the route, or None, and the Response) of a request; errors become statuses."""
        route = None
        try:
            route = self.route(request)
            if request.method == "POST":
                request.body = await self.bodies.read(request, receive)
            if len(request.body) > INLINE:  # parsed in the worker's one other thread, so
                # the loop goes on answering the rest meanwhile; one at a time, as memory
                # is bounded for one parse (serving.memory)
                loop = asyncio.get_running_loop()
                return route, await loop.run_in_executor(self.parser, route.handler, request)
            return route, route.handler(request)
        except HTTPError as e:
            return route, refusal(route, e.status, e, e.headers)
        except UserError as e:
            return route, refusal(route, 400, e)
        except Exception as e:  # noqa: BLE001 - a bug of ours: one line, not a traceback
            print(f"housing serve: {request.method} {escaped(request.path)}: "
                  f"{type(e).__name__}: {e}", file=sys.stderr, flush=True)
            return route, Response({"error": f"internal error ({type(e).__name__})"},
                                   status=500)

    def route(self, request):
        """The route of a request; 404 or 405 otherwise. HEAD is GET without the body;
        OPTIONS answers with the methods the path allows."""
        if request.target == "*" or request.method == "CONNECT":  # the server, not a path
            allow = [(b"allow", b"GET, HEAD, POST, OPTIONS")]
            if request.method == "OPTIONS":
                return options_route(allow)
            raise HTTPError(405, f"{request.method} {escaped(request.target)} is not served "
                                 f"here; expected a path, as /v2/health/ready", allow)
        allowed = []
        for route in self.routes:
            match = route.pattern.fullmatch(request.target)
            if match:
                if request.method == route.method or (route.method, request.method) == (
                        "GET", "HEAD"):
                    request.params = dict(route.defaults)
                    request.params.update((key, value and unquote(value))
                                          for key, value in match.groupdict().items())
                    return route
                allowed += [route.method, "HEAD"] if route.method == "GET" else [route.method]
        if not allowed:
            raise HTTPError(404, f"no such path {request.target[:200]!r}; expected "
                                 f"{self.paths_like(request.target)}")
        allow = [(b"allow", ", ".join(allowed + ["OPTIONS"]).encode())]
        if request.method == "OPTIONS":
            return options_route(allow)
        raise HTTPError(405, f"{request.method} is not allowed on {escaped(request.target)}; "
                             f"expected {', '.join(allowed)}", allow)

    def paths_like(self, path):
        """The routes under the first segment of ``path`` ("/v2/..."), or every family."""
        prefix = "/" + path.split("/")[1] + "/" if path.count("/") > 1 else None
        under = sorted({r.template for r in self.routes if prefix and r.template.startswith(prefix)})
        return ", ".join(under or families(self.routes))

    def addressed(self, request):
        """The name of the model a request's route addresses, if one is served by that
        name, else "": a metric's labels never take what a client made up."""
        name = request.params.get("model")
        return name if name in self.served.models else ""

    def flush_at_turn_end(self):
        """Schedule flush once a turn of the event loop, at its end."""
        if not self.flush_due:
            self.flush_due = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self):
        """This turn's log lines in one write, its counts to the metrics' files, and its
        rows to the request log; its rows' drift counts within DRIFT_EVERY seconds."""
        self.flush_due = False
        self.log.flush()
        if self.metrics:
            self.metrics.flush()
            if self.metrics.drift_waiting and not self.drift_due:
                self.drift_due = True
                asyncio.get_running_loop().call_later(DRIFT_EVERY, self.flush_drift)
        if self.requests:
            self.requests.flush()

    def flush_drift(self):
        self.drift_due = False
        self.metrics.flush(drift=True)

    def finish(self):
        """Everything still to be written, now: a worker stops."""
        self.log.flush()
        if self.metrics:
            self.metrics.flush(drift=True)
        if self.requests:
            self.requests.flush()


def families(routes):
    """The routes' paths cut after their first segment, in the table's order, as people
    list them: /v2/..., /invocations, /ping."""
    paths = [route.template for route in routes]
    heads = dict.fromkeys("/" + path.split("/")[1] for path in paths)
    return [head + "/..." if any(p.startswith(head + "/") for p in paths) else head
            for head in heads]


def refusal(route, status, error, headers=()):
    """The Response of a refused request, in the body its route's protocol uses (its own
    ``error_body``, or ``protocol``'s)."""
    error_body = protocol.error_body
    if route:
        error_body = getattr(route.protocol, "error_body", error_body)
    return Response(error_body(str(error), status), status=status, headers=list(headers))


def options_route(allow):
    """A route that answers OPTIONS with the methods its path allows."""
    @protocol.described("The methods the path allows", {})
    def answer(request):
        return Response(data=b"", kind="text/plain", headers=allow)
    return Route("OPTIONS", "*", None, "none", ops, answer)
