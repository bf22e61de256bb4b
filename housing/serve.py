"""Serve both models over HTTP: the Open Inference Protocol and MLflow's scoring protocol.

A plain ASGI application (one coroutine of scope, receive and send; no framework) run by
gunicorn's own ``asgi`` worker: one event loop per process, where a slow or stalled
client is a few bytes of state, not a thread. With ``reuse_port`` each worker listens on
a socket of its own and the kernel spreads connections between them. The models are
loaded and checked before the server starts: a bad file or setting stops it with one
line and exit status 2. Every request gets one access-log line on stdout. A client's
mistake is a 4xx with ``{"error": "..."}``, never a 500. Every option can also be set
in the environment as HOUSING_<NAME> (HOUSING_MAX_BODY=...); a flag wins.
"""
import argparse
import asyncio
import collections
import gzip
import hashlib
import json
import os
import re
import shutil
import socket
import sys
import time
import zlib
from importlib import resources
from pathlib import Path

from gunicorn.app.base import BaseApplication

from . import __version__, protocols, rows, store
from .cli import Parser, UserError, bounded, command, count
from .config import FLOAT_MODEL, QUANTIZED_MODEL, TARGET
from .metrics import SHM, Metrics, folder
from .model import checked_predict, rows_outside
from .rows import Chunk

class HTTPError(UserError):
    """A request the server refuses, with its status."""

    def __init__(self, status, message, headers=()):
        super().__init__(message)
        self.status, self.headers = status, list(headers)


class Request:
    """What a handler sees: the path's match, the headers, and the body (decompressed)."""

    def __init__(self, scope):
        self.match, self.headers, self.body = None, dict(scope["headers"]), b""
        self.outside = 0  # rows outside the training range, once predicted
        self.kind = self.header(b"content-type").split(";")[0].strip().lower()

    def header(self, name):
        """The value of header ``name`` (lower-case bytes) as text, or ""."""
        return self.headers.get(name, b"").decode("latin-1")


# A response body that is not JSON: its bytes, content type and extra headers
Body = collections.namedtuple("Body", "data kind headers", defaults=((),))


STRICT = json.JSONEncoder(allow_nan=False)  # every response strict JSON; built once
GZIP_MIN = 1024  # bytes: smaller responses are sent as they are
ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}  # deflate: zlib's
ANSWERS = {"application/json": "application/json", "text/csv": "text/csv",
           "application/jsonlines": "application/jsonlines", "*/*": "application/json",
           "application/*": "application/json", "text/*": "text/csv"}


class App:
    """The ASGI application: routes to handlers over loaded models.

    models : dict of name -> model.Model; versions : name -> its one version
    default : the name /invocations uses; strict : refuse rows outside the training range
    max_body : bytes a request body may hold, compressed or not; body_timeout : seconds
    it may take to arrive; log : the access log's stream, log_format "text" or "json";
    metrics : a metrics.Metrics, or None for none
    """

    def __init__(self, models, default, max_body=16 << 20, body_timeout=30.0, log=sys.stdout,
                 versions=None, strict=False, log_format="text", metrics=None):
        self.models, self.default, self.log, self.strict = models, default, log, strict
        self.versions = versions or {name: "1" for name in models}
        self.max_body, self.body_timeout, self.said_params = max_body, body_timeout, False
        self.log_format, self.metrics, self.answered = log_format, metrics, 0
        self.prefix, self.ids, self.second, self.lines, self.due = None, 0, (None, ""), [], False
        self.reading, self.watching = {}, None  # task -> its body's deadline; the loop
        doc = json.loads((resources.files("housing") / "openapi.json").read_bytes())
        doc["info"]["version"] = __version__  # defined once, in housing/__init__.py
        params = doc["components"]["parameters"]  # the models and versions this serves
        params["model"]["schema"]["enum"] = list(self.models)
        params["version"]["schema"]["enum"] = sorted(set(self.versions.values()))
        description = Body(json.dumps(doc).encode(), "application/json")
        model = r"/v2/models/([^/]+)(?:/versions/([^/]+))?"
        # (method, path pattern) -> (route's name in the metrics, handler(Request) ->
        # (status, JSON or Body, rows)); tried in order, the two that carry the load first
        routes = {
            ("POST", model + "/infer"): ("infer", self.infer),
            ("POST", r"/invocations"): ("invocations", self.invocations),
            ("GET", r"/v2/health/live"): ("health", lambda _: (200, {"live": True}, 0)),
            ("GET", r"/v2/health/ready"): ("health", lambda _: (200, {"ready": True}, 0)),
            ("GET", r"/v2"): ("server", lambda _: (200, {
                "name": "housing", "version": __version__,
                "extensions": ["binary_tensor_data"]}, 0)),
            ("GET", model): ("metadata", self.model_metadata),
            ("GET", model + "/ready"): ("ready", self.model_ready),
            ("GET", r"/ping|/health"): ("health", lambda _: (200, {"status": "ok"}, 0)),
            ("GET", r"/version"): ("version", lambda _: (200, {"version": __version__}, 0)),
            ("GET", r"/metrics"): ("metrics", self.scrape),
            ("GET", r"/openapi\.json|/v2/docs/dataplane\.json"): (
                "openapi", lambda _: (200, description, 0)),
        }
        self.routes = [(method, re.compile(p + r"\Z"), *h) for (method, p), h in routes.items()]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return  # lifespan is off; no websockets here
        start = time.perf_counter()
        method, path, headers, rows, route = scope["method"], scope["path"], [], 0, "none"
        request = Request(scope)
        self.later()
        if self.metrics:
            self.metrics.active += 1
        try:
            route, handler, request.match = self.route(method, path)
            if method == "POST":
                request.body = await self.read_body(request, receive)
            status, answer, rows = handler(request)
        except HTTPError as e:
            status, answer, headers = e.status, self.error(path, e), e.headers
        except UserError as e:
            status, answer = 400, self.error(path, e)
        except Exception as e:  # noqa: BLE001 - a bug of ours: one line, not a traceback
            status, answer = 500, {"error": f"internal error ({type(e).__name__})"}
            print(f"housing serve: {method} {escaped(path)}: {type(e).__name__}: {e}",
                  file=sys.stderr, flush=True)
        if isinstance(answer, Body):
            data, kind, extra = answer
            headers = headers + list(extra)
        else:
            data, kind = STRICT.encode(answer).encode(), "application/json"
        if len(data) >= GZIP_MIN and "gzip" in tokens(request, b"accept-encoding"):
            data = gzip.compress(data, compresslevel=1)
            headers += [(b"content-encoding", b"gzip"), (b"vary", b"accept-encoding")]
        rid = request.header(b"x-request-id")
        if not (0 < len(rid) <= 128 and rid.isascii() and rid.isprintable()):
            rid = self.new_id()  # the client's, when it sent one fit for a log line
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", kind.encode()), (b"content-length", str(len(data)).encode()),
            (b"x-request-id", rid.encode())] + headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else data})
        seconds = time.perf_counter() - start
        self.answered += 1
        self.later()
        if self.metrics:
            name = request.match.group(1) if route in ("infer", "metadata", "ready") else (
                self.default if route == "invocations" else "")
            self.metrics.done(route, name if name in self.models else "", status, seconds,
                              rows, request.outside)
        if route == "health" and status < 400:
            return  # probes are logged only when they fail
        client = (scope.get("client") or ("-",))[0]
        if self.log_format == "json":
            self.say("request", "", client=client, request_id=rid, method=method, path=path,
                     status=status, rows=rows, ms=round(seconds * 1000, 3))
        else:
            self.lines.append(f"{self.now()} {client} {rid} {method} {escaped(path)} "
                              f"{status} {rows} {seconds * 1000:.2f}ms\n")

    def later(self):
        """Once a turn of the event loop, at its end: its requests' log lines in one write,
        their counts to the metrics' files (once a request, they cost 6 us of ~60)."""
        if not self.due:
            self.due = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self):
        self.due = False
        if self.lines:
            self.log.write("".join(self.lines))
            self.log.flush()
            self.lines.clear()
        if self.metrics:
            self.metrics.flush()

    def new_id(self):
        """A request id unique to this run: a random prefix per process, then a count."""
        if self.prefix is None:  # first used in a worker, after the fork
            self.prefix = os.urandom(6).hex()
        self.ids += 1
        return f"{self.prefix}{self.ids:08x}"

    def now(self):
        """The time, UTC, ISO 8601 to the millisecond; the seconds formatted once each."""
        now = time.time()
        if int(now) != self.second[0]:
            self.second = (int(now), time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)))
        return f"{self.second[1]}.{int(now % 1 * 1000):03d}Z"

    def say(self, event, text, **fields):
        """One line on the log: the time (UTC), then ``text``, or with --log-format json
        one JSON object of the time, the event and ``fields``."""
        line = (json.dumps({"time": self.now(), "event": event, **fields})
                if self.log_format == "json" else f"{self.now()} {text}")
        if event == "request":
            return self.lines.append(line + "\n")
        self.log.write(line + "\n")
        self.log.flush()

    def scrape(self, request):
        if not self.metrics:
            raise HTTPError(404, "metrics are off")
        return 200, Body(*self.metrics.scrape()), 0

    @staticmethod
    def error(path, e):
        """The body of a refusal: MLflow's shape on /invocations, {"error"} elsewhere."""
        return ({"error_code": "BAD_REQUEST", "message": str(e)} if path == "/invocations"
                else {"error": str(e)})

    def route(self, method, path):
        """(route name, handler, path match) for a request; 404 or 405 otherwise. HEAD is
        GET without the body; OPTIONS answers with the methods the path allows."""
        allowed = []
        for m, pattern, name, handler in self.routes:
            match = pattern.match(path)
            if match:
                if m == method or (m, method) == ("GET", "HEAD"):
                    return name, handler, match
                allowed += [m, "HEAD"] if m == "GET" else [m]
        if not allowed:
            raise HTTPError(404, f"no such path {path!r}; expected /v2/..., /invocations, "
                                 f"/ping, /health, /version, /metrics or /openapi.json")
        allow = [(b"allow", ", ".join(allowed + ["OPTIONS"]).encode())]
        if method == "OPTIONS":
            return "none", lambda _: (200, Body(b"", "text/plain", allow), 0), None
        raise HTTPError(405, f"{method} is not allowed on {path}; expected "
                             f"{', '.join(allowed)}", allow)

    async def read_body(self, request, receive):
        """The request body, decompressed: 413 past max_body (refused before a byte is
        read when its length says so, and never expanded past it), 408 when it takes
        longer than body_timeout to arrive, 415 for an encoding other than gzip or
        deflate."""
        length = request.header(b"content-length")
        if length and (not length.isdigit() or int(length) > self.max_body):
            raise HTTPError(413, f"a body of {length} bytes; the limit is {self.max_body:,} "
                                 f"(--max-body)")
        encoding = request.header(b"content-encoding").strip().lower()
        if encoding not in ("", "identity", *ENCODINGS):
            raise HTTPError(415, f"Content-Encoding {encoding!r} is not accepted; expected "
                                 f"gzip, deflate or none")
        task = asyncio.current_task()
        if self.watching is not task.get_loop():  # one watch a loop (a worker's)
            self.watching = task.get_loop()
            self.watching.call_later(1, self.watch, self.watching)
        chunks, size, self.reading[task] = [], 0, time.monotonic() + self.body_timeout
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise HTTPError(400, "the client closed the connection before the body "
                                         "was complete")
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size > self.max_body:
                    raise HTTPError(413, f"a body over {self.max_body:,} bytes (--max-body)")
                if not message.get("more_body"):
                    break
        except asyncio.CancelledError:
            if self.reading[task] is not None:
                raise  # not the watch's doing
            task.uncancel()
            raise HTTPError(408, f"the body did not arrive within {self.body_timeout:g} s "
                                 f"(--body-timeout)") from None
        finally:
            del self.reading[task]
        body = b"".join(chunks)
        if encoding not in ENCODINGS:
            return body
        inflate = zlib.decompressobj(ENCODINGS[encoding])
        try:
            body = inflate.decompress(body, self.max_body + 1)
        except zlib.error as e:
            raise HTTPError(400, f"request body: not valid {encoding} data ({e})") from None
        if len(body) > self.max_body:
            raise HTTPError(413, f"a body over {self.max_body:,} bytes once decompressed "
                                 f"(--max-body)")
        if not inflate.eof:
            raise HTTPError(400, f"request body: the {encoding} data ends early")
        return body

    def watch(self, loop):
        """Once a second: cancel the reads of bodies past their deadline, marked None. One
        timer a loop: asyncio.timeout, a timer a request, cost 1 to 10 % of the requests/s."""
        for task, deadline in self.reading.items():
            if deadline is not None and deadline <= time.monotonic():
                self.reading[task] = None
                task.cancel()
        loop.call_later(1, self.watch, loop)

    def model(self, request):
        """(name, model) of a model route, 404 for a name or version it does not serve."""
        name, version = request.match.group(1), request.match.group(2)
        if name not in self.models:
            raise HTTPError(404, f"no model named {name!r}; expected one of "
                                 f"{', '.join(self.models)}")
        if version is not None and version != self.versions[name]:
            raise HTTPError(404, f"model {name!r} has no version {version!r}; it serves "
                                 f"version {self.versions[name]}")
        return name, self.models[name]

    # --- Open Inference Protocol --------------------------------------------------

    def model_metadata(self, request):
        name, model = self.model(request)
        n = len(model.features)
        # one [n, 8] tensor is the signature; one [n] tensor per feature is accepted too
        params = {"kind": model.kind, "features": list(model.features),
                  "per_feature_inputs": True, "training_ranges": model.meta["ranges"],
                  "units": "$100,000", "housing_version": __version__}
        if model.kind == "quantized":
            params.update(method=model.meta["method"], bits=model.meta["bits"])
        return 200, {"name": name, "versions": [self.versions[name]],
                     "platform": "housing-numpy",
                     "inputs": [{"name": protocols.INPUT, "datatype": "FP64", "shape": [-1, n]}],
                     "outputs": [{"name": TARGET, "datatype": "FP64", "shape": [-1]}],
                     "parameters": params}, 0

    def model_ready(self, request):
        return 200, {"name": self.model(request)[0], "ready": True}, 0

    def infer(self, request):
        name, model = self.model(request)
        accept(request.kind, ("application/json", "application/octet-stream", ""))
        body, blob = request.body, b""
        length = request.header(b"inference-header-content-length")
        if length:  # binary tensor data: a JSON header of this length, then the tensors
            if not length.isdigit() or int(length) > len(body):
                raise UserError(f"Inference-Header-Content-Length: expected the JSON "
                                f"header's length, at most the body's {len(body)} bytes, "
                                f"got {rows.shown(length)}")
            body, blob = body[:int(length)], body[int(length):]
        parsed = rows.parse_json(body, protocols.BODY)
        X, ignored = protocols.oip_rows(parsed, model.features, protocols.Binary(blob))
        y, outside = self.predict(model, Chunk(X, range(1, len(X) + 1), lambda no: f"row {no}"))
        request.outside, params = outside, {"rows_outside_training_range": outside}
        if ignored:
            params["ignored_inputs"] = ignored
        answer, binary = protocols.oip_response(name, parsed, y, params)
        if binary:
            head = STRICT.encode(answer).encode()
            answer = Body(head + binary, "application/octet-stream", [
                (b"inference-header-content-length", str(len(head)).encode())])
        return 200, answer, len(y)

    # --- MLflow scoring protocol (and SageMaker's) -------------------------------

    def invocations(self, request):
        accept(request.kind, ("application/json", "text/csv"))
        answer = negotiate(request)
        model = self.models[self.default]
        chunk, params = protocols.mlflow_rows(request.body, request.kind, model.features)
        if params and not self.said_params:
            self.said_params = True
            print("housing serve: ignoring MLflow 'params' in requests (the model takes none; "
                  "said once)", file=sys.stderr, flush=True)
        if chunk.bad:
            raise UserError(chunk.bad[0][1])
        y, request.outside = self.predict(model, chunk)
        head = [(b"x-rows-outside-training-range", str(request.outside).encode())]
        if answer == "text/csv":
            data = "".join(f"{v!r}\n" for v in y.tolist())
        elif answer == "application/jsonlines":
            data = "".join(json.dumps({TARGET: v}) + "\n" for v in y.tolist())
        else:
            data = json.dumps({"predictions": y.tolist()})
        return 200, Body(data.encode(), answer, head), len(y)

    def predict(self, model, chunk):
        """(predictions for every row of ``chunk``, how many rows lie outside the training
        range); a UserError for a row that overflows, or (strict) lies outside."""
        y, _, bad = checked_predict(model, chunk, self.strict)
        if bad:
            raise UserError(bad[0][1])
        return y, rows_outside(model, chunk.X)


def tokens(request, name):
    """The comma-separated values of a header, without parameters, in lower case."""
    return [t.split(";")[0].strip().lower() for t in request.header(name).split(",")]


def negotiate(request):
    """The media type /invocations answers in for its Accept header; 406 if none fits."""
    for kind in tokens(request, b"accept"):
        if kind in ANSWERS or not kind:
            return ANSWERS.get(kind, "application/json")
    raise HTTPError(406, f"Accept {request.header(b'accept')!r} cannot be answered here; "
                         f"expected application/json, text/csv or application/jsonlines")


def accept(kind, accepted):
    if kind not in accepted:
        raise HTTPError(415, f"Content-Type {kind or 'none'!r} is not accepted here; expected "
                             f"{' or '.join(a for a in accepted if a)}")


def escaped(path):
    """A path fit for one log line: control characters and non-ASCII as JSON escapes."""
    plain = path.isascii() and path.isprintable() and '"' not in path and "\\" not in path
    return path if plain else json.dumps(path)[1:-1]  # json.dumps costs 3 us a request


# --- settings ---------------------------------------------------------------------

port = bounded(int, lambda n: 1 <= n <= 65535, "a port, 1 to 65535")
seconds = bounded(float, lambda s: 0 < s <= 86400, "seconds, above 0 and at most 86400")
log_format = bounded(str, lambda t: t in ("text", "json"), "text or json")
switch = bounded(lambda t: {"1": True, "true": True, "0": False, "false": False}.get(t.lower()),
                 lambda b: True, "true or false (1 or 0)")


def _parser():
    p = Parser(prog="housing serve", description=__doc__.splitlines()[0],
               epilog="Each option may be set as HOUSING_<NAME> in the environment instead "
                      "(HOUSING_PORT, HOUSING_MAX_BODY, ...); a flag wins.")
    for flag, kind, default, help_ in (
            ("--host", str, "127.0.0.1", "address to listen on"),
            ("--port", port, 8080, "port to listen on"),
            ("--workers", count, 2, "server processes, each one event loop"),
            ("--default", str, "quantized", "the model /invocations uses"),
            ("--max-body", count, 16 << 20, "bytes a request body may hold; larger is a 413"),
            ("--body-timeout", seconds, 30.0, "seconds a body may take to arrive; then 408"),
            ("--keepalive", count, 5, "seconds an idle kept-alive connection stays open"),
            ("--strict", switch, False, "refuse rows with a feature outside the training "
                                        "range, as predict --strict does"),
            ("--log-format", log_format, "text", "the access log: text, or json (one object "
                                                 "a line)"),
            ("--metrics-dir", str, "", "a writable folder for the workers' metrics (default: "
                                       "a new one in /dev/shm or the temporary folder)")):
        env = "HOUSING_" + flag[2:].upper().replace("-", "_")
        if env in os.environ:
            try:
                default = kind(os.environ[env])
            except argparse.ArgumentTypeError as e:
                raise UserError(f"{env}: {e}") from None
        if kind is switch:  # a flag alone; its variable takes true or false
            p.add_argument(flag, action="store_true", default=default,
                           help=f"{help_} ({env}=true)")
        else:
            p.add_argument(flag, type=kind, default=default, help=f"{help_} ({env}; {default})")
    p.add_argument("--model", action="append", metavar="NAME=PATH",
                   help="a model to serve; repeat for more (default: float and quantized "
                        "from artifacts/models/)")
    return p


def load_models(specs):
    """(name -> Model, name -> version) from "name=path" strings, each file checked as the
    CLI checks it. A model's version is the start of its file's sha256: a rebuilt model
    that differs in a byte is a new version."""
    models, versions = {}, {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name:
            raise UserError(f"--model: expected NAME=PATH, got {spec!r}")
        models[name] = store.load_model(path)
        versions[name] = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    return models, versions


class Gunicorn(BaseApplication):
    """gunicorn, configured through its documented settings rather than a file."""

    def __init__(self, app, options):
        self.app, self.options = app, options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.app


def check_port(host, port_):
    """A one-line error now, rather than gunicorn's retries, when the port is taken."""
    try:
        socket.create_server((host, port_)).close()
    except OSError as e:
        raise UserError(f"{host}:{port_}: cannot listen ({os.strerror(e.errno)}); choose another "
                        f"--port (PORT= for make serve)") from None


@command("housing serve")
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    models, versions = load_models(args.model or [f"float={FLOAT_MODEL}",
                                                  f"quantized={QUANTIZED_MODEL}"])
    if args.default not in models:
        raise UserError(f"--default: no model named {args.default!r}; expected one of "
                        f"{', '.join(models)}")
    check_port(args.host, args.port)
    metrics = Metrics(folder(args.metrics_dir))
    made = not args.metrics_dir  # a folder of our own, removed at exit
    app = App(models, args.default, args.max_body, args.body_timeout, versions=versions,
              strict=args.strict, log_format=args.log_format, metrics=metrics)
    settings = dict({k: v for k, v in vars(args).items() if k != "model"}, metrics_dir=metrics.path)
    app.say("start", f"housing serve: {', '.join(f'{k} (version {v})' for k, v in versions.items())} "
                     f"on http://{args.host}:{args.port}; settings: "
                     + " ".join(f"{k}={v}" for k, v in settings.items()),
            models=versions, settings=settings)

    def worker_exit(server, worker):  # in the worker, once its requests are finished
        app.flush()
        app.say("stop", f"housing serve: worker {worker.pid} stopped after {app.answered} "
                        f"requests", pid=worker.pid, requests=app.answered)
    Gunicorn(app, {
        "bind": f"{args.host}:{args.port}", "workers": args.workers, "worker_class": "asgi",
        "reuse_port": True, "asgi_lifespan": "off", "keepalive": args.keepalive,
        # gunicorn's own bound on a body's wait: past ours, so that ours answers 408
        "timeout": int(args.body_timeout) + 5, "graceful_timeout": 20,
        "worker_tmp_dir": SHM,  # the heartbeat files: writable in a read-only container
        "control_socket_disable": True, "loglevel": "warning",
        "proc_name": "housing", "worker_exit": worker_exit,
        "child_exit": lambda server, worker: metrics.worker_exit(worker.pid),
        "on_exit": lambda server: made and shutil.rmtree(metrics.path, ignore_errors=True),
    }).run()
    return 0
