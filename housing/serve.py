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
import json
import os
import re
import socket
import sys
import time

from gunicorn.app.base import BaseApplication

from . import __version__, protocols, rows, store
from .cli import Parser, UserError, bounded, command, count
from .config import FLOAT_MODEL, QUANTIZED_MODEL, TARGET
from .model import checked_predict
from .rows import Chunk

class HTTPError(UserError):
    """A request the server refuses, with its status."""

    def __init__(self, status, message, headers=()):
        super().__init__(message)
        self.status, self.headers = status, list(headers)


class App:
    """The ASGI application: routes to handlers over loaded models.

    models : dict of name -> model.Model; default : the name /invocations uses
    max_body : bytes a request body may hold; body_timeout : seconds it may take to arrive
    """

    def __init__(self, models, default, max_body=16 << 20, body_timeout=30.0, log=sys.stdout):
        self.models, self.default, self.log = models, default, log
        self.max_body, self.body_timeout = max_body, body_timeout
        # (method, path pattern) -> handler(match, body, content type) -> (status, body,
        # rows); tried in order, so the two that carry the load come first
        routes = {
            ("POST", r"/v2/models/([^/]+)/infer"): self.infer,
            ("POST", r"/invocations"): self.invocations,
            ("GET", r"/v2/health/live"): lambda *_: (200, {"live": True}, 0),
            ("GET", r"/v2/health/ready"): lambda *_: (200, {"ready": True}, 0),
            ("GET", r"/v2"): lambda *_: (200, {"name": "housing", "version": __version__,
                                               "extensions": []}, 0),
            ("GET", r"/v2/models/([^/]+)"): self.model_metadata,
            ("GET", r"/v2/models/([^/]+)/ready"): self.model_ready,
            ("GET", r"/ping"): lambda *_: (200, {"status": "ok"}, 0),
            ("GET", r"/health"): lambda *_: (200, {"status": "ok"}, 0),
            ("GET", r"/version"): lambda *_: (200, {"version": __version__}, 0),
        }
        self.routes = [(method, re.compile(p + r"\Z"), h) for (method, p), h in routes.items()]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return  # lifespan is off; no websockets here
        start = time.perf_counter()
        method, path, headers, rows = scope["method"], scope["path"], [], 0
        try:
            handler, match = self.route(method, path)
            kind = media_type(scope)
            body = await self.read_body(scope, receive) if method == "POST" else b""
            status, answer, rows = handler(match, body, kind)
        except HTTPError as e:
            status, answer, headers = e.status, {"error": str(e)}, e.headers
        except UserError as e:
            status, answer = 400, {"error": str(e)}
        except Exception as e:  # noqa: BLE001 - a bug of ours: one line, not a traceback
            status, answer = 500, {"error": f"internal error ({type(e).__name__})"}
            print(f"housing serve: {method} {escaped(path)}: {type(e).__name__}: {e}",
                  file=sys.stderr, flush=True)
        data = json.dumps(answer, allow_nan=False).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(data)).encode())] + headers})
        await send({"type": "http.response.body", "body": data})
        self.log.write(f"{method} {escaped(path)} {status} {rows} "
                       f"{(time.perf_counter() - start) * 1000:.2f}ms\n")
        self.log.flush()

    def route(self, method, path):
        """(handler, path match) for a request; 404 or 405 otherwise."""
        allowed = []
        for m, pattern, handler in self.routes:
            match = pattern.match(path)
            if match:
                if m == method:
                    return handler, match
                allowed.append(m)
        if allowed:
            raise HTTPError(405, f"{method} is not allowed on {path}; expected "
                                 f"{', '.join(allowed)}",
                            [(b"allow", ", ".join(allowed).encode())])
        raise HTTPError(404, f"no such path {path!r}; expected /v2/..., /invocations, "
                             f"/ping, /health or /version")

    async def read_body(self, scope, receive):
        """The request body: 413 past max_body (refused before a byte is read when its
        length says so), 408 when it takes longer than body_timeout to arrive."""
        length = header(scope, b"content-length")
        if length and (not length.isdigit() or int(length) > self.max_body):
            raise HTTPError(413, f"a body of {length} bytes; the limit is {self.max_body:,} "
                                 f"(--max-body)")
        chunks, size = [], 0
        try:
            async with asyncio.timeout(self.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise HTTPError(400, "the client closed the connection before the "
                                             "body was complete")
                    chunks.append(message.get("body", b""))
                    size += len(chunks[-1])
                    if size > self.max_body:
                        raise HTTPError(413, f"a body over {self.max_body:,} bytes "
                                             f"(--max-body)")
                    if not message.get("more_body"):
                        return b"".join(chunks)
        except TimeoutError:
            raise HTTPError(408, f"the body did not arrive within {self.body_timeout:g} s "
                                 f"(--body-timeout)") from None

    def model(self, name):
        if name not in self.models:
            raise HTTPError(404, f"no model named {name!r}; expected one of "
                                 f"{', '.join(self.models)}")
        return self.models[name]

    # --- Open Inference Protocol --------------------------------------------------

    def model_metadata(self, match, body, kind):
        name = match.group(1)
        model = self.model(name)
        n = len(model.features)
        # one [n, 8] tensor is the signature; one [n] tensor per feature is accepted too
        params = {"kind": model.kind, "features": list(model.features),
                  "per_feature_inputs": True, "training_ranges": model.meta["ranges"],
                  "units": "$100,000"}
        if model.kind == "quantized":
            params.update(method=model.meta["method"], bits=model.meta["bits"])
        return 200, {"name": name, "versions": ["1"], "platform": "housing-numpy",
                     "inputs": [{"name": protocols.INPUT, "datatype": "FP64", "shape": [-1, n]}],
                     "outputs": [{"name": TARGET, "datatype": "FP64", "shape": [-1]}],
                     "parameters": params}, 0

    def model_ready(self, match, body, kind):
        name = match.group(1)
        self.model(name)
        return 200, {"name": name, "ready": True}, 0

    def infer(self, match, body, kind):
        name = match.group(1)
        model = self.model(name)
        accept(kind, ("application/json", ""))
        request = rows.parse_json(body, protocols.BODY)
        X = protocols.oip_rows(request, model.features)
        y = predict(model, Chunk(X, range(1, len(X) + 1), lambda no: f"row {no}"))
        return 200, protocols.oip_response(name, request, y), len(y)

    # --- MLflow scoring protocol --------------------------------------------------

    def invocations(self, match, body, kind):
        accept(kind, ("application/json", "text/csv"))
        model = self.models[self.default]
        chunk = protocols.mlflow_rows(body, kind, model.features)
        if chunk.bad:
            raise UserError(chunk.bad[0][1])
        y = predict(model, chunk)
        return 200, {"predictions": y.tolist()}, len(y)


def predict(model, chunk):
    """Predictions for every row of ``chunk``; a UserError for a row that overflows."""
    y, _, bad = checked_predict(model, chunk)
    if bad:
        raise UserError(bad[0][1])
    return y


def header(scope, name):
    """The value of header ``name`` (lower-case bytes) as text, or ""."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


def media_type(scope):
    return header(scope, b"content-type").split(";")[0].strip().lower()


def accept(kind, accepted):
    if kind not in accepted:
        raise HTTPError(415, f"Content-Type {kind or 'none'!r} is not accepted here; expected "
                             f"{' or '.join(a for a in accepted if a)}")


def escaped(path):
    """A path fit for one log line: control characters and non-ASCII as JSON escapes."""
    return json.dumps(path)[1:-1]


# --- settings ---------------------------------------------------------------------

port = bounded(int, lambda n: 1 <= n <= 65535, "a port, 1 to 65535")
seconds = bounded(float, lambda s: 0 < s <= 86400, "seconds, above 0 and at most 86400")


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
            ("--keepalive", count, 5, "seconds an idle kept-alive connection stays open")):
        env = "HOUSING_" + flag[2:].upper().replace("-", "_")
        if env in os.environ:
            try:
                default = kind(os.environ[env])
            except argparse.ArgumentTypeError as e:
                raise UserError(f"{env}: {e}") from None
        p.add_argument(flag, type=kind, default=default, help=f"{help_} ({env}; {default})")
    p.add_argument("--model", action="append", metavar="NAME=PATH",
                   help="a model to serve; repeat for more (default: float and quantized "
                        "from artifacts/models/)")
    return p


def load_models(specs):
    """name -> Model from "name=path" strings, each file checked as the CLI checks it."""
    models = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name:
            raise UserError(f"--model: expected NAME=PATH, got {spec!r}")
        models[name] = store.load_model(path)
    return models


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
        with socket.create_server((host, port_)):
            pass
    except OSError as e:
        raise UserError(f"{host}:{port_}: cannot listen ({os.strerror(e.errno)}); choose another "
                        f"--port (PORT= for make serve)") from None


@command("housing serve")
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    models = load_models(args.model or [f"float={FLOAT_MODEL}", f"quantized={QUANTIZED_MODEL}"])
    if args.default not in models:
        raise UserError(f"--default: no model named {args.default!r}; expected one of "
                        f"{', '.join(models)}")
    check_port(args.host, args.port)
    print(f"housing serve: {', '.join(models)} on http://{args.host}:{args.port} "
          f"({args.workers} workers); /invocations uses {args.default}", flush=True)
    # /dev/shm: the workers' heartbeat files, writable even in a read-only container
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    Gunicorn(App(models, args.default, args.max_body, args.body_timeout), {
        "bind": f"{args.host}:{args.port}", "workers": args.workers, "worker_class": "asgi",
        "reuse_port": True, "asgi_lifespan": "off", "keepalive": args.keepalive,
        # gunicorn's own bound on a body's wait: past ours, so that ours answers 408
        "timeout": int(args.body_timeout) + 5, "graceful_timeout": 20,
        "worker_tmp_dir": shm, "control_socket_disable": True, "loglevel": "warning",
        "proc_name": "housing",
    }).run()
    return 0
