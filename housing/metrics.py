"""The server's Prometheus metrics, summed over its worker processes.

prometheus-client's multiprocess mode, made for gunicorn's process model: each process
writes its values to memory-mapped files in one folder, and a scrape reads them all. So
a counter never goes backwards when a worker is replaced (the files of a dead worker keep
counting), and a scrape costs reading a few small files. The folder must exist and be
writable before prometheus-client is imported: ``start`` sets it, then imports it.
"""
import os
import tempfile

from .cli import UserError

ROUTES = ("infer", "invocations", "metadata", "ready", "health", "server", "version",
          "metrics", "openapi", "none")
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 10.0)


def folder(path=None):
    """The metrics folder: ``path``, or a new one in /dev/shm (a tmpfs, writable in a
    read-only container) or the temporary folder; one line when it cannot be made."""
    try:
        if path:
            os.makedirs(path, exist_ok=True)
            return path
        shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        return tempfile.mkdtemp(prefix="housing-metrics-", dir=shm)
    except OSError as e:
        raise UserError(f"{path or 'a temporary folder'}: cannot create the metrics folder "
                        f"({e.strerror}); give a writable --metrics-dir (a tmpfs in a "
                        f"read-only container)") from None


class Metrics:
    """The counters, histogram and gauge one request updates, their label sets cached."""

    def __init__(self, path):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = self.path = path
        import prometheus_client as p  # only now: it reads the folder at import
        self.p, self.children = p, {}
        self.requests = p.Counter("housing_requests", "HTTP requests answered",
                                  ["route", "model", "protocol", "status"])
        self.latency = p.Histogram("housing_request_duration_seconds",
                                   "Time from a request's start to its answer", ["route"],
                                   buckets=BUCKETS)
        self.rows = p.Counter("housing_rows_predicted", "Rows predicted", ["model"])
        self.outside = p.Counter("housing_rows_outside_training_range",
                                 "Rows predicted with a feature outside the training range",
                                 ["model"])
        self.in_flight = p.Gauge("housing_requests_in_flight", "Requests being answered",
                                 multiprocess_mode="livesum")

    def done(self, route, model, status, seconds, rows, outside):
        key = (route, model, status)
        if key not in self.children:
            protocol = {"infer": "oip", "invocations": "mlflow"}.get(route, "")
            self.children[key] = (self.requests.labels(route, model, protocol, str(status)),
                                  self.latency.labels(route), self.rows.labels(model),
                                  self.outside.labels(model))
        requests, latency, predicted, beyond = self.children[key]
        requests.inc()
        latency.observe(seconds)
        if rows:
            predicted.inc(rows)
        if outside:
            beyond.inc(outside)

    def scrape(self):
        """The text format of every process' values, and this process' own metrics."""
        from prometheus_client import multiprocess
        registry = self.p.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        self.p.ProcessCollector(registry=registry)  # the answering worker's
        return self.p.generate_latest(registry), self.p.CONTENT_TYPE_LATEST

    def worker_exit(self, pid):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(pid)
