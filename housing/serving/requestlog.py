"""The request log (``housing serve --log-inputs FILE``): each served row, or a sampled
share of them, as one JSON object a line: the time, the request id, the model's name and
version, the row's features by name, and the prediction.

A line is flat, so the log is rows that ``housing predict`` and ``housing drift`` read as
they are (JSON Lines; the other keys are not features, and are passed over), and that
``pd.read_json(path, lines=True)`` reads into a frame. The lines of a turn of the event
loop are written together, after its answers went out, in one append (O_APPEND, so the
workers' lines never interleave), to the file opened anew each time: a rotated or deleted
file is made again. A write that fails (a full disk, a deleted folder) is said once on
stderr, and serving goes on; a later write that succeeds says so too.
"""
import json
import os
import random
import sys

from ..cli import UserError
from .log import Clock

FIELDS = ("time", "request_id", "model", "version", "prediction")  # beside the features
# O_NONBLOCK: a FIFO that nobody reads is refused (ENXIO), and a full pipe (EAGAIN) is a
# failed write, where either would stop the event loop; a file's writes never block
APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK


class RequestLog:
    """Rows to the JSON Lines file ``path``: each with probability ``share``."""

    def __init__(self, path, share=1.0):
        self.path = path
        self.share = share
        self.clock = Clock()
        self.pending = []
        self.failing = False
        self.torn = False  # a write stopped mid-line: the next starts on a new line

    def check(self, served):
        """The file can be appended to, and no served model has a feature named as one
        of the log's own fields: a one-line error before the server starts."""
        for name, model in served.models.items():
            taken = sorted(set(model.features) & set(FIELDS))
            if taken:
                raise UserError(f"--log-inputs: model {name!r} has a feature named "
                                f"{taken[0]!r}, a field of the request log's own")
        try:
            os.close(os.open(self.path, APPEND, 0o644))
        except OSError as e:
            raise UserError(f"{self.path}: cannot write the request log ({e.strerror}); "
                            f"expected a file in a writable folder (--log-inputs)") from None

    def add(self, name, model, request_id, prediction):
        """The sampled rows of a served.Prediction of ``model`` (served as ``name``)."""
        X = prediction.X.tolist()
        y = prediction.y.tolist()
        keep = range(len(y)) if self.share >= 1 else [
            i for i in range(len(y)) if random.random() < self.share]
        if not keep:
            return
        head = {"time": self.clock.now(), "request_id": request_id, "model": name,
                "version": model.version}
        features = model.features
        for i in keep:
            line = dict(head)
            line.update(zip(features, X[i]))
            line["prediction"] = y[i]
            self.pending.append(json.dumps(line))

    def flush(self):
        """This turn's lines, in one append."""
        if not self.pending:
            return
        data = (("\n" if self.torn else "") + "\n".join(self.pending) + "\n").encode()
        self.pending.clear()
        try:
            fd = os.open(self.path, APPEND, 0o644)
            try:
                written = os.write(fd, data)
            finally:
                os.close(fd)
        except OSError as e:
            if not self.failing:
                print(f"housing serve: {self.path}: the request log cannot be written "
                      f"({e.strerror}); rows go unlogged, serving goes on", file=sys.stderr,
                      flush=True)
            self.failing = True
            return
        self.torn = written < len(data)
        if self.failing:
            print(f"housing serve: {self.path}: the request log is written again",
                  file=sys.stderr, flush=True)
            self.failing = False
