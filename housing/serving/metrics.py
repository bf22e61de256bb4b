"""The server's Prometheus metrics, summed over its worker processes: prometheus-client's
multiprocess mode, made for gunicorn's process model. Each process writes its values to
files in one folder, which a scrape reads; a dead worker's files keep counting, so no
counter goes backwards when a worker is replaced.
"""
import errno
import os
import sys
import tempfile
import time
from typing import NamedTuple

from ..cli import UserError
from .drift import Drift, histogram
from .http import HTTPError

SHM = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # a tmpfs, if writable
# prometheus-client maps its files into memory; a write past a full filesystem's end is
# a SIGBUS, so the folder must have room for them when the server starts
MIN_FREE = 4 << 20  # bytes
# the drift counts of the rows answered meanwhile are written together, at most this many
# seconds after: at hundreds of requests a second, one numpy pass over all their rows
# rather than one per turn of the loop (tests/bench/micro.py measures both)
DRIFT_EVERY = 0.1
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 10.0)


def folder(path=None):
    """The metrics folder: ``path``, or a new one in /dev/shm (a tmpfs, writable in a
    read-only container) or the temporary folder; one line when it cannot be made.

    The workers write files whose names anyone can guess, so only this user may write
    where they are: a ``path`` that others may write too (a container's tmpfs or a
    Kubernetes emptyDir, mode 1777 or 777) gets a new private folder inside it."""
    try:
        if path:
            os.makedirs(path, exist_ok=True)
            if not private(path):
                path = tempfile.mkdtemp(prefix="housing-metrics-", dir=path)
        else:
            path = tempfile.mkdtemp(prefix="housing-metrics-", dir=SHM)
        free = free_bytes(path)
    except OSError as e:
        raise UserError(f"{path or 'a temporary folder'}: cannot create the metrics folder "
                        f"({e.strerror}); give a writable --metrics-dir (a tmpfs in a "
                        f"read-only container)") from None
    if not os.access(path, os.W_OK):
        raise UserError(f"{path}: the metrics folder is not writable; give a writable "
                        f"--metrics-dir (a tmpfs in a read-only container)")
    check_plain_files(path)
    if free < MIN_FREE:
        raise UserError(f"{path}: the metrics folder has {free:,} bytes free; expected at "
                        f"least {MIN_FREE:,} (--metrics-dir)")
    return path


def private(path):
    """Whether only this user may write in the folder ``path``."""
    here = os.stat(path)
    return here.st_uid == os.geteuid() and not here.st_mode & 0o022


def check_plain_files(path):
    """Nothing in the metrics folder may be a link or other than a plain file, or a file
    planted there could be written through. (Metrics reads what is there as counts.)"""
    for entry in os.scandir(path):
        if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
            raise UserError(f"{path}: the metrics folder holds {entry.name[:60]!r}, which is "
                            f"not a plain file; give an empty --metrics-dir")


def free_bytes(path):
    """Bytes free for this user on the filesystem of ``path``."""
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


class Metrics:
    """The counters, histogram and gauge of the requests answered.

    A request adds to plain Python numbers (``active`` counts those in flight); once per
    turn of the event loop (``flush``, which the app schedules) they go to
    prometheus-client's values, so a turn that answers many requests writes the shared
    files once, not once a request.
    """

    def __init__(self, path, drift=True):
        self.path = path
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        import prometheus_client as p  # only now: it reads the folder at import
        self.p = p
        self.children = {}  # (route, protocol, model, status) -> its metrics' children
        self.pending = {}  # the same key -> Pending, what this turn answered
        self.active = 0  # requests in flight in this process
        self.failed = False  # the folder could not be written: counting has stopped
        # the values live in the folder's files, which every_process reads; registry=None
        # keeps them out of prometheus-client's global one, so a process may make two Metrics
        self.requests = p.Counter("housing_requests", "HTTP requests answered",
                                  ["route", "model", "protocol", "status"], registry=None)
        self.latency = p.Histogram("housing_request_duration_seconds",
                                   "Time from a request's start to its answer", ["route"],
                                   buckets=BUCKETS, registry=None)
        self.rows = p.Counter("housing_rows_predicted", "Rows predicted", ["model"], registry=None)
        self.outside = p.Counter("housing_rows_outside_training_range",
                                 "Rows predicted with a feature outside the training range",
                                 ["model"], registry=None)
        self.in_flight = p.Gauge("housing_requests_in_flight", "Requests being answered",
                                 multiprocess_mode="livesum", registry=None)
        # per model, for Triton's statistics: the requests that ran it, and their time
        self.inferences = p.Counter("housing_inferences", "Requests that ran a model",
                                    ["model", "outcome"], registry=None)
        self.inference_seconds = p.Counter("housing_inference_seconds",
                                           "Time answering requests that ran a model",
                                           ["model", "outcome"], registry=None)
        self.last_inference = p.Gauge("housing_last_inference_timestamp_seconds",
                                      "When a model last answered", ["model"],
                                      multiprocess_mode="max", registry=None)
        self.drift = Drift(p) if drift else None  # the rows' counters by feature
        from prometheus_client import multiprocess
        registry = p.CollectorRegistry()
        try:  # what an earlier server left is read as counts: it must be prometheus-client's
            multiprocess.MultiProcessCollector(registry, path=path)
            list(registry.collect())
        except Exception:  # noqa: BLE001 - whatever the files hold, they are not counts
            raise UserError(f"{path}: the metrics folder holds files that are not "
                            f"prometheus-client's; give an empty --metrics-dir") from None

    def serve(self, served):
        """Count the models of a serving.served.Served: each model's series are made now,
        at zero, so that a rate over a window sees them from the start."""
        for name in served.models:
            self.rows.labels(name)
            self.outside.labels(name)
        if self.drift:
            self.drift.serve(served)

    def started(self):
        self.active += 1

    def done(self, route, protocol, model, status, seconds, prediction, predicts=False):
        """Count a request answered, and the rows of its serving.served.Prediction (None
        when no model answered); ``predicts``: its route runs the model."""
        self.active -= 1
        key = (route, protocol, model, status, predicts and bool(model))
        if key not in self.pending:
            self.pending[key] = Pending()
        self.pending[key].add(seconds, prediction)
        if prediction is not None and self.drift:
            self.drift.add(model, prediction)

    @property
    def drift_waiting(self):
        """Whether rows wait to be counted by ``flush(drift=True)``."""
        return bool(self.drift and self.drift.pending)

    def flush(self, drift=False):
        """What this turn of the loop answered, to the shared values, with the rows' drift
        counts when ``drift``; a folder that can no longer be written is said once on
        stderr, and counting stops."""
        if not self.failed:
            try:
                self.write_pending()
                if drift and self.drift:
                    self.drift.flush()
            except OSError as e:
                self.failed = True
                print(f"housing serve: {self.path}: the metrics folder cannot be written "
                      f"({e.strerror}); metrics stop", file=sys.stderr, flush=True)
        self.pending.clear()
        if self.drift and (drift or self.failed):
            self.drift.pending.clear()

    def write_pending(self):
        self.in_flight.set(self.active)
        for key, pending in self.pending.items():
            if key not in self.children:
                # checked as written: new labels grow a file, and a write past a full
                # filesystem's end would be a SIGBUS
                if free_bytes(self.path) < MIN_FREE:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                route, protocol, model, status, inference = key
                outcome = "success" if status < 400 else "fail"
                self.children[key] = Children(
                    self.requests.labels(route, model, protocol, str(status)),
                    self.latency.labels(route), self.rows.labels(model),
                    self.outside.labels(model),
                    self.inferences.labels(model, outcome) if inference else None,
                    self.inference_seconds.labels(model, outcome) if inference else None,
                    self.last_inference.labels(model) if inference else None)
            children = self.children[key]
            children.requests.inc(pending.requests)
            for seconds in pending.seconds:
                children.latency.observe(seconds)
            if pending.rows:
                children.rows.inc(pending.rows)
            if pending.outside:
                children.outside.inc(pending.outside)
            if children.inferences:
                children.inferences.inc(pending.requests)
                children.inference_seconds.inc(sum(pending.seconds))
                children.last_inference.set(time.time())

    def scrape(self):
        """(the text format of every process' values and this process' own metrics, its
        media type); a 503 when the folder cannot be read."""
        registry = self.p.CollectorRegistry()
        registry.register(Collected(histogram(self.every_process())))
        self.p.ProcessCollector(registry=registry)  # the answering worker's
        return self.p.generate_latest(registry), self.p.CONTENT_TYPE_LATEST

    def every_process(self):
        """A registry of every process' values, read from the folder now; a 503 when the
        folder cannot be written or read (deleted, say, or holding a file that is not
        prometheus-client's)."""
        from prometheus_client import multiprocess
        self.flush(drift=True)  # this process' own counts, to this moment
        unreadable = HTTPError(503, f"{self.path}: the metrics folder cannot be read; "
                                    f"metrics have stopped")
        if self.failed:
            raise unreadable
        registry = self.p.CollectorRegistry()
        try:
            multiprocess.MultiProcessCollector(registry)
            families = list(registry.collect())
        except Exception:  # noqa: BLE001 - whatever the files hold, the answer is a 503
            raise unreadable from None
        return families

    def model_totals(self, model):
        """The ModelTotals of ``model`` over every process."""
        values = {}
        for family in self.every_process():
            for sample in family.samples:
                if sample.labels.get("model") == model:
                    key = (sample.name, sample.labels.get("outcome"))
                    values[key] = values.get(key, 0) + sample.value
        return ModelTotals(
            successes=int(values.get(("housing_inferences_total", "success"), 0)),
            failures=int(values.get(("housing_inferences_total", "fail"), 0)),
            success_ns=round(values.get(("housing_inference_seconds_total", "success"), 0) * 1e9),
            failure_ns=round(values.get(("housing_inference_seconds_total", "fail"), 0) * 1e9),
            rows=int(values.get(("housing_rows_predicted_total", None), 0)),
            last_inference_ms=round(values.get(
                ("housing_last_inference_timestamp_seconds", None), 0) * 1000))

    def worker_exit(self, pid):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(pid)


class Collected:
    """A collector of metric families already read (prometheus-client's custom collector
    interface: ``collect``)."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        return self.families


class Pending:
    """What one turn of the event loop answered under one set of labels."""

    def __init__(self):
        self.requests = 0
        self.rows = 0
        self.outside = 0
        self.seconds = []

    def add(self, seconds, prediction):
        self.requests += 1
        if prediction is not None:
            self.rows += len(prediction.y)
            self.outside += prediction.outside
        self.seconds.append(seconds)


class Children(NamedTuple):
    """The metrics' children for one set of labels, made once; the inference ones None
    for a route that runs no model."""
    requests: object
    latency: object
    rows: object
    outside: object
    inferences: object
    inference_seconds: object
    last_inference: object


class ModelTotals(NamedTuple):
    """What every process has counted of one model's inference requests."""
    successes: int
    failures: int
    success_ns: int
    failure_ns: int
    rows: int
    last_inference_ms: int
