"""Serve both models over HTTP: the Open Inference Protocol and MLflow's scoring protocol.

    python -m housing serve [--host 127.0.0.1] [--port 8080] [--workers 2]
        [--model float=artifacts/models/float.npz] [--model quantized=...]
        [--default quantized]

A plain WSGI application (PEP 3333) run by gunicorn's threaded workers. The models are
loaded and checked before the server starts: a bad file stops it with the CLI's one-line
message. Every request gets one access-log line on stdout: method, path, status, rows and
milliseconds. A client's mistake is a 4xx with ``{"error": "..."}``, never a 500.
"""
import argparse
import json
import os
import re
import socket
import sys
import time

from gunicorn.app.base import BaseApplication

from . import __version__, predict, protocols, store, worker
from .cli import Parser, UserError, command, count
from .config import FLOAT_MODEL, QUANTIZED_MODEL, TARGET
from .rows import Chunk
from .web import STATUS, HTTPError, internal_error, media_type, read_body

class App:
    """The WSGI application: routes to handlers over loaded models.

    models : dict of name -> model.Model; default : the name /invocations uses
    """

    def __init__(self, models, default, log=sys.stdout):
        self.models, self.default, self.log = models, default, log
        # (method, path pattern) -> handler(match, environ) -> (status, body, rows);
        # tried in order, so the two that carry the load come first
        self.routes = {
            ("POST", r"/v2/models/([^/]+)/infer"): self.infer,
            ("POST", r"/invocations"): self.invocations,
            ("GET", r"/v2/health/live"): lambda m, e: (200, {"live": True}, 0),
            ("GET", r"/v2/health/ready"): lambda m, e: (200, {"ready": True}, 0),
            ("GET", r"/v2"): self.server_metadata,
            ("GET", r"/v2/models/([^/]+)"): self.model_metadata,
            ("GET", r"/v2/models/([^/]+)/ready"): self.model_ready,
            ("GET", r"/ping"): lambda m, e: (200, {"status": "ok"}, 0),
            ("GET", r"/health"): lambda m, e: (200, {"status": "ok"}, 0),
            ("GET", r"/version"): lambda m, e: (200, {"version": __version__}, 0),
        }
        self.patterns = [(method, re.compile(p + r"\Z"), h) for (method, p), h
                         in self.routes.items()]

    def __call__(self, environ, start_response):
        start = time.perf_counter()
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        headers, rows = [], 0
        try:
            status, body, rows = self.route(method, path)(environ)
        except HTTPError as e:
            status, body, headers = e.status, {"error": str(e)}, e.headers
        except UserError as e:
            status, body = 400, {"error": str(e)}
        except Exception as e:  # noqa: BLE001 - a bug of ours: one line, not a traceback
            status, body = 500, {"error": internal_error(e)}
            print(f"housing serve: {method} {path}: {type(e).__name__}: {e}", file=sys.stderr)
        data = json.dumps(body).encode()
        start_response(STATUS[status], [("Content-Type", "application/json"),
                                        ("Content-Length", str(len(data)))] + headers)
        self.log.write(f"{method} {path} {status} {rows} "
                       f"{(time.perf_counter() - start) * 1000:.2f}ms\n")
        self.log.flush()
        return [data]

    def route(self, method, path):
        """The handler for a request, bound to its path's match; 404 or 405 otherwise."""
        allowed = []
        for m, pattern, handler in self.patterns:
            match = pattern.match(path)
            if match:
                if m == method:
                    return lambda environ: handler(match, environ)
                allowed.append(m)
        if allowed:
            raise HTTPError(405, f"{method} is not allowed on {path}; expected "
                                 f"{', '.join(allowed)}", [("Allow", ", ".join(allowed))])
        raise HTTPError(404, f"no such path {path!r}; expected /v2/..., /invocations, "
                             f"/ping, /health or /version")

    def model(self, name):
        if name not in self.models:
            raise HTTPError(404, f"no model named {name!r}; expected one of "
                                 f"{', '.join(self.models)}")
        return self.models[name]

    # --- Open Inference Protocol --------------------------------------------------

    def server_metadata(self, match, environ):
        return 200, {"name": "housing", "version": __version__, "extensions": []}, 0

    def model_metadata(self, match, environ):
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

    def model_ready(self, match, environ):
        name = match.group(1)
        self.model(name)
        return 200, {"name": name, "ready": True}, 0

    def infer(self, match, environ):
        name = match.group(1)
        model = self.model(name)
        request = protocols.loads(read_body(environ, ("application/json", "")))
        X = protocols.oip_rows(request, model.features)
        y = self.predict(model, X, lambda no: f"row {no}")
        return 200, protocols.oip_response(name, request, y), len(y)

    # --- MLflow scoring protocol --------------------------------------------------

    def invocations(self, match, environ):
        body = read_body(environ, ("application/json", "text/csv"))
        model = self.models[self.default]
        chunk = protocols.mlflow_rows(body, media_type(environ), model.features)
        if chunk.bad:
            raise UserError(chunk.bad[0][1])
        y = self.predict(model, chunk.X, chunk.where, chunk.nos)
        return 200, {"predictions": y.tolist()}, len(y)

    @staticmethod
    def predict(model, X, where, nos=None):
        """Predictions for X, shape (n, n_features); a UserError for a row that overflows."""
        nos = list(range(1, len(X) + 1)) if nos is None else nos
        y, _, bad = predict.checked_predict(model, Chunk(X, nos, where))
        if bad:
            raise UserError(bad[0][1])
        return y


def load_models(specs):
    """name -> Model from "name=path" strings, each file checked as the CLI checks it."""
    models = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name:
            raise UserError(f"--model: expected NAME=PATH, got {spec!r}")
        models[name] = store.load_model(path)
    return models


def _parser():
    p = Parser(prog="housing serve", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8080, help="port to listen on")
    p.add_argument("--workers", type=count, default=2, help="server processes")
    p.add_argument("--threads", type=count, default=6, help="threads per process")
    p.add_argument("--pin", action=argparse.BooleanOptionalAction, default=True,
                   help="keep worker i to the i-th CPU this process may use, when there "
                        "are no more CPUs than workers")
    p.add_argument("--model", action="append", metavar="NAME=PATH",
                   help="a model to serve; repeat for more (default: float and quantized "
                        "from artifacts/models/)")
    p.add_argument("--default", default="quantized", help="the model /invocations uses")
    return p


class Gunicorn(BaseApplication):
    """gunicorn, configured here rather than from a file or its command line."""

    def __init__(self, app, options):
        self.app, self.options = app, options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.app


def check_port(host, port):
    """A one-line error now, rather than gunicorn's retries, when the port is taken."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as e:
        raise UserError(f"{host}:{port}: cannot listen ({os.strerror(e.errno)}); choose another "
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
          f"({args.workers} workers x {args.threads} threads); /invocations uses "
          f"{args.default}", flush=True)
    # /dev/shm: the workers' heartbeat files, writable even in a read-only container
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    Gunicorn(App(models, args.default), {
        **worker.Ledger(args.workers, pin=args.pin).options(),
        "bind": f"{args.host}:{args.port}", "workers": args.workers,
        "threads": args.threads, "keepalive": 5,
        "timeout": 60, "graceful_timeout": 20, "worker_tmp_dir": shm,
        "control_socket_disable": True, "loglevel": "warning", "proc_name": "housing",
    }).run()
    return 0
