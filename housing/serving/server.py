"""Serve both models over HTTP: the Open Inference Protocol and MLflow's scoring protocol.

A plain ASGI application (``serving.app``) run by gunicorn's own ``asgi`` worker: one
event loop per process, where a slow or stalled client is a few bytes of state, not a
thread. With ``reuse_port`` each worker listens on a socket of its own and the kernel
spreads connections between them. The models are loaded and checked before the server
starts: a bad file or setting stops it with one line and exit status 2. A client's
mistake is a 4xx in its protocol's error body, never a 500. Every option can also be set
in the environment as HOUSING_<NAME> (HOUSING_MAX_BODY=...); a flag wins.
"""
import argparse
import os
import shutil
import socket
import sys

from gunicorn.app.base import BaseApplication

from ..cli import Parser, UserError, bounded, command, count
from ..config import FLOAT_MODEL, QUANTIZED_MODEL
from . import memory
from .app import App
from .log import AccessLog
from .metrics import SHM, Metrics, folder
from .requestlog import RequestLog
from .served import Served


# --- settings ---------------------------------------------------------------------

# How long a stopping worker gives requests in flight, in seconds: less than docker stop
# waits by default, then gunicorn ends the connections still open, idle ones included
# (its asgi worker never times out a connection that has not sent a request)
GRACE = 8

port = bounded(int, lambda n: 1 <= n <= 65535, "a port, 1 to 65535")
seconds = bounded(float, lambda s: 0 < s <= 86400, "seconds, above 0 and at most 86400")
log_format = bounded(str, lambda t: t in ("text", "json"), "text or json")
share = bounded(float, lambda x: 0 < x <= 1, "a share above 0 and at most 1")
switch = bounded(lambda t: {"1": True, "true": True, "0": False, "false": False}.get(t.lower()),
                 lambda b: True, "true or false (1 or 0)")


def parser():
    p = Parser(prog="housing serve", description=__doc__.splitlines()[0],
               epilog="Each option may be set as HOUSING_<NAME> in the environment instead "
                      "(HOUSING_PORT, HOUSING_MAX_BODY, ...); a flag wins.")
    for flag, kind, default, help_ in (
            ("--host", str, "127.0.0.1", "address to listen on"),
            ("--port", port, 8080, "port to listen on"),
            ("--workers", count, 2, "server processes, each one event loop"),
            ("--default", str, "quantized", "the model /invocations uses"),
            ("--max-body", count, None, "bytes a request body may hold; larger is a 413 "
                                        "(16 MiB, or less to fit a memory limit)"),
            ("--max-held", count, None, "bytes of request bodies a worker holds at once; "
                                        "past it a 503 (4 x --max-body, or less to fit a "
                                        "memory limit)"),
            ("--body-timeout", seconds, 30.0, "seconds a body may take to arrive; then 408"),
            ("--keepalive", count, 5, "seconds an idle kept-alive connection stays open"),
            ("--strict", switch, False, "refuse rows with a feature outside the training "
                                        "range, as predict --strict does"),
            ("--log-format", log_format, "text", "the access log: text, or json (one object "
                                                 "a line)"),
            ("--metrics-dir", str, "", "a writable folder for the workers' metrics (default: "
                                       "a new one in /dev/shm or the temporary folder)"),
            ("--log-inputs", str, "", "a file to append each served row to, as JSON Lines: "
                                      "features, prediction, model version, request id"),
            ("--log-sample", share, 1.0, "the share of rows --log-inputs writes, drawn at "
                                         "random (0.1: one in ten)"),
            ("--no-drift-metrics", switch, False, "count no rows by feature (decile bin, "
                                                  "outside the range) and no predictions: "
                                                  "fewer series, and no drift rules")):
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
            shown = "from the memory limit" if default is None else default
            p.add_argument(flag, type=kind, default=default, help=f"{help_} ({env}; {shown})")
    p.add_argument("--model", action="append", metavar="NAME=PATH",
                   help="a model to serve; repeat for more (default: float and quantized "
                        "from artifacts/models/)")
    return p


class Gunicorn(BaseApplication):
    """gunicorn, configured through its documented settings rather than a file."""

    def __init__(self, app, options):
        self.app = app
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.app


def described(served):
    """The models of a Served with their versions, for a log line."""
    return ", ".join(f"{k} (version {v}" + (
        f", {served.registered[k]['name']} version {served.registered[k]['version']}"
        if k in served.registered else "") + ")" for k, v in served.versions.items())


def check_port(host, port_):
    """A one-line error now, rather than gunicorn's retries, when the port is taken."""
    try:
        socket.create_server((host, port_)).close()
    except OSError as e:
        raise UserError(f"{host}:{port_}: cannot listen ({os.strerror(e.errno)}); choose another "
                        f"--port (PORT= for make serve)") from None


@command("housing serve")
def main(argv=None) -> int:
    args = parser().parse_args(argv)
    fitted = memory.bounds(memory.limit(), args.workers, args.max_body)  # the container's
    args.max_body = fitted.max_body
    args.max_held = max(args.max_held or fitted.max_held, args.max_body)
    specs = args.model or [f"float={FLOAT_MODEL}", f"quantized={QUANTIZED_MODEL}"]
    served = Served.load(specs, args.default, args.strict)
    check_port(args.host, args.port)
    metrics = Metrics(folder(args.metrics_dir), drift=not args.no_drift_metrics)
    made_metrics_dir = metrics.path != args.metrics_dir  # a folder of our own, removed at exit
    log = AccessLog(sys.stdout, args.log_format)
    requests = RequestLog(args.log_inputs, args.log_sample) if args.log_inputs else None
    app = App(served, log, args.max_body, args.body_timeout, metrics, args.max_held, requests)
    settings = {k: v for k, v in vars(args).items() if k != "model"}
    settings["metrics_dir"] = metrics.path
    log.event("start", f"housing serve: {described(served)} on http://{args.host}:{args.port}; "
                       f"settings: " + " ".join(f"{k}={v}" for k, v in settings.items()),
              models=served.versions, settings=settings)

    def on_reload(server):  # SIGHUP, in the master, before it starts new workers
        try:
            fresh = Served.load(specs, args.default, args.strict)
            app.serve(fresh)
        except UserError as e:
            log.event("reload", f"housing serve: reload refused ({e}); still serving "
                                f"{described(app.served)}", error=str(e))
            return
        log.event("reload", f"housing serve: reloaded: {described(fresh)}",
                  models=fresh.versions)

    def worker_exit(server, worker):  # in the worker, once its requests are finished
        app.finish()
        many = "s" * (app.answered != 1)
        log.event("stop", f"housing serve: worker {worker.pid} stopped after {app.answered} "
                          f"request{many}", pid=worker.pid, requests=app.answered)

    def on_exit(server):  # in the master, last: after every worker, stopped or ended
        if made_metrics_dir:
            shutil.rmtree(metrics.path, ignore_errors=True)
        log.event("stopped", "housing serve: stopped")
    Gunicorn(app, {
        "bind": f"{args.host}:{args.port}", "workers": args.workers, "worker_class": "asgi",
        "reuse_port": True, "asgi_lifespan": "off", "keepalive": args.keepalive,
        # gunicorn's own bound on a body's wait: past ours, so that ours answers 408
        "timeout": int(args.body_timeout) + 5, "graceful_timeout": GRACE,
        "worker_tmp_dir": SHM,  # the heartbeat files: writable in a read-only container
        "control_socket_disable": True, "loglevel": "warning",
        "proc_name": "housing", "worker_exit": worker_exit,
        "child_exit": lambda server, worker: metrics.worker_exit(worker.pid),
        "on_exit": on_exit, "on_reload": on_reload,
    }).run()
    return 0
