"""The server's Prometheus metrics, summed over its worker processes: prometheus-client's
multiprocess mode, made for gunicorn's process model. Each process writes its values to
files in one folder, which a scrape reads; a dead worker's files keep counting, so no
counter goes backwards when a worker is replaced.
"""
import os
import tempfile

from .cli import UserError

SHM = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # a tmpfs, if writable
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 10.0)


def folder(path=None):
    """The metrics folder: ``path``, or a new one in /dev/shm (a tmpfs, writable in a
    read-only container) or the temporary folder; one line when it cannot be made."""
    try:
        if path:
            os.makedirs(path, exist_ok=True)
            return path
        return tempfile.mkdtemp(prefix="housing-metrics-", dir=SHM)
    except OSError as e:
        raise UserError(f"{path or 'a temporary folder'}: cannot create the metrics folder "
                        f"({e.strerror}); give a writable --metrics-dir (a tmpfs in a "
                        f"read-only container)") from None


class Metrics:
    """The counters, histogram and gauge of the requests answered.

    A request adds to plain Python numbers (``active`` counts those in flight); once per
    turn of the event loop (``flush``, which the app schedules) they go to
    prometheus-client's values, so a turn that answers many requests writes the shared
    files once, not once a request.
    """

    def __init__(self, path):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = self.path = path
        import prometheus_client as p  # only now: it reads the folder at import
        self.p, self.children, self.pending, self.active = p, {}, {}, 0
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
        self.active -= 1
        entry = self.pending.setdefault((route, model, status), [0, 0, 0, []])
        entry[0] += 1
        entry[1] += rows
        entry[2] += outside
        entry[3].append(seconds)

    def flush(self):
        """What this turn of the loop answered, to the shared values."""
        self.in_flight.set(self.active)
        for key, (n, rows, outside, seconds) in self.pending.items():
            if key not in self.children:
                route, model, status = key
                protocol = {"infer": "oip", "invocations": "mlflow"}.get(route, "")
                self.children[key] = (self.requests.labels(route, model, protocol, str(status)),
                                      self.latency.labels(route), self.rows.labels(model),
                                      self.outside.labels(model))
            requests, latency, predicted, beyond = self.children[key]
            requests.inc(n)
            for s in seconds:
                latency.observe(s)
            if rows:
                predicted.inc(rows)
            if outside:
                beyond.inc(outside)
        self.pending.clear()

    def scrape(self):
        """The text format of every process' values, and this process' own metrics."""
        from prometheus_client import multiprocess
        self.flush()  # this process' own counts, to this moment
        registry = self.p.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        self.p.ProcessCollector(registry=registry)  # the answering worker's
        return self.p.generate_latest(registry), self.p.CONTENT_TYPE_LATEST

    def worker_exit(self, pid):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(pid)
