"""Benchmark of the request path's micro-optimizations, each against the plain way it
replaced: figures to read, never assertions. One process, no server, no network.

    python tests/bench/micro.py [--model artifacts/models/quantized.npz] [--repeat 7]

Each figure is the median of ``--repeat`` runs; "gain" is plain time / our time - 1. A
micro-optimization earns its place in housing/ at a gain of 10 % or more:

- predict of 1 and 8 rows: sums in Python floats (model.predict below SMALL rows) against
  numpy's column loop (what it does above SMALL);
- rows_outside of 1 row: Python comparisons against numpy's reductions;
- a CSV block of 12,000 lines numpy refuses, every one: a refused run cut in
  csvfile.PIECES against halved;
- the search for numbers that may overflow in 16,384 lines of JSON Lines records: two
  searches led by a literal letter (jsonrows.may_overflow) against one led by [eE];
- one-row infers through the ASGI app, 64 at a time on one event loop:
  - the body deadline kept by one watch a loop against asyncio.timeout per request;
  - log lines and metrics written once a turn of the loop against once a request;
  - the rows' drift counts written every metrics.DRIFT_EVERY seconds against each turn.
"""
import asyncio
import io
import json
import re
import statistics
import sys
import tempfile
import time
import timeit

import numpy as np

from housing import store
from housing.cli import Parser, command, count
from housing.config import FEATURES, FLOAT_MODEL, QUANTIZED_MODEL
from housing.model import SMALL, predict
from housing.readers import csvfile, jsonrows
from housing.serving.app import App
from housing.serving.body import BodyReader
from housing.serving.http import HTTPError
from housing.serving.log import AccessLog
from housing.serving.metrics import DRIFT_EVERY, Metrics
from housing.serving.served import Served

ROW = [8.3252, 41.0, 6.98, 1.02, 322.0, 2.55, 37.88, -122.23]
CONCURRENT = 64


def numpy_predict(model, X):
    """predict's path above SMALL rows, for any number of rows."""
    y = np.full(len(X), model.intercept)
    for j, c in enumerate(model.coef):
        y += X[:, j] * c
    return y


def numpy_rows_outside(model, X):
    return int(model.ranges.outside(X).any(axis=1).sum())


def per_call(fn, repeat, number=20000):
    """Median seconds a call of ``fn`` over ``repeat`` runs of ``number`` calls."""
    return statistics.median(timeit.repeat(fn, number=number, repeat=repeat)) / number


class TimeoutBodies(BodyReader):
    """The plain way: asyncio.timeout around each body's arrival."""

    async def arrive(self, request, receive):
        try:
            async with asyncio.timeout(self.timeout):
                chunks = []
                while True:
                    message = await receive()
                    chunks.append(message.get("body", b""))
                    self.hold(request, len(chunks[-1]))
                    if not message.get("more_body"):
                        return b"".join(chunks)
        except TimeoutError:
            raise HTTPError(408, "late") from None


class FlushEachRequest(App):
    """The plain way: log lines and metrics written at the end of each request."""

    def flush_at_turn_end(self):
        self.flush()


class DriftEachTurn(App):
    """The plain way: the rows' drift counts written each turn of the loop, with the rest."""

    def flush(self):
        super().flush()
        self.metrics.flush(drift=True)


def requests_per_second(app, body, total):
    """One-row infers through ``app``, CONCURRENT at a time on one loop: requests/s."""
    scope = {"type": "http", "method": "POST", "path": "/v2/models/quantized/infer",
             "client": ("127.0.0.1", 1),
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())]}

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        # every answer a 200: a variant that fails fast must not look fast
        assert message.get("status", 200) == 200, message

    async def run():
        for _ in range(total // CONCURRENT):
            await asyncio.gather(*(app(scope, receive, send) for _ in range(CONCURRENT)))
    start = time.perf_counter()
    asyncio.run(run())
    return total / (time.perf_counter() - start)


def refused_block_seconds(pieces, repeat, rows=12_000):
    """Median seconds to read a block of ``rows`` lines that numpy refuses, each alone."""
    columns = csvfile.header(",".join(FEATURES), FEATURES, "t")
    lines = ["NA," + ",".join(map(repr, ROW[1:]))] * rows
    nos = range(2, 2 + rows)

    def read():
        parts = list(csvfile.read_runs(lines, nos, columns, "t", pieces))
        assert len(parts) == rows  # every line a BadRow
    return statistics.median(timeit.repeat(read, number=1, repeat=repeat))


def median_rates(makers, body, repeat, total=12800):
    """{name: median requests/s} of the apps ``makers`` makes, measured taking turns so
    that the machine's drift falls on each alike."""
    rates = {name: [] for name in makers}
    for _ in range(repeat):
        for name, make_app in makers.items():
            rates[name].append(requests_per_second(make_app(), body, total))
    return {name: statistics.median(r) for name, r in rates.items()}


def gain(ours, plain):
    return f"{plain / ours - 1:+.0%}"


def _parser():
    p = Parser(prog="micro", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=QUANTIZED_MODEL)
    p.add_argument("--repeat", type=count, default=7)
    return p


@command("micro")
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    model = store.load_model(args.model)
    for rows in (1, 8):
        X = np.array([ROW] * rows)
        assert rows <= SMALL and (predict(model, X) == numpy_predict(model, X)).all()
        ours = per_call(lambda: predict(model, X), args.repeat)
        plain = per_call(lambda: numpy_predict(model, X), args.repeat)
        print(f"micro: predict, {rows} row{'s' * (rows > 1)}: Python floats {ours * 1e6:.2f} us, "
              f"numpy {plain * 1e6:.2f} us: gain {gain(ours, plain)}")
    X = np.array([ROW])
    ours = per_call(lambda: model.ranges.count_outside(X), args.repeat)
    plain = per_call(lambda: numpy_rows_outside(model, X), args.repeat)
    print(f"micro: rows_outside, 1 row: Python {ours * 1e6:.2f} us, numpy {plain * 1e6:.2f} us: "
          f"gain {gain(ours, plain)}")

    ours = refused_block_seconds(csvfile.PIECES, args.repeat)
    plain = refused_block_seconds(2, args.repeat)
    print(f"micro: CSV block of 12,000 refused lines: cut in {csvfile.PIECES} "
          f"{ours * 1e3:.0f} ms, halved {plain * 1e3:.0f} ms: gain {gain(ours, plain)}")

    lines = [json.dumps(dict(zip(FEATURES, ROW)))] * 16384
    text = "\n".join(lines)
    one_class = re.compile(r"[eE][+-]?[0-9]{3}")
    assert jsonrows.may_overflow(text) == bool(one_class.search(text))
    ours = per_call(lambda: jsonrows.may_overflow(text), args.repeat, number=20)
    plain = per_call(lambda: one_class.search(text), args.repeat, number=20)
    print(f"micro: may a JSON Lines block of 16,384 records overflow: two literal-led "
          f"searches {ours * 1e3:.1f} ms, one [eE]-led {plain * 1e3:.1f} ms: gain "
          f"{gain(ours, plain)}")

    specs = [f"float={FLOAT_MODEL}", f"quantized={args.model}"]
    served = Served.load(specs, "quantized")
    body = json.dumps({"inputs": [{"name": "features", "datatype": "FP64", "shape": [1, 8],
                                   "data": ROW}]}).encode()
    with tempfile.TemporaryDirectory() as folder:
        metrics = Metrics(folder)

        def app(kind=App):
            return kind(served, AccessLog(io.StringIO()), metrics=metrics)

        def timeout_app():
            plain = app()
            plain.bodies = TimeoutBodies(plain.bodies.max_body, plain.bodies.timeout)
            return plain
        rates = median_rates({"ours": app, "deadline": timeout_app,
                              "flushing": lambda: app(FlushEachRequest),
                              "drift each turn": lambda: app(DriftEachTurn)}, body, args.repeat)
    ours = rates["ours"]
    deadline = rates["deadline"]
    flushing = rates["flushing"]
    drift_each_turn = rates["drift each turn"]
    print(f"micro: one-row infers in-process, {CONCURRENT} at a time: {ours:,.0f} requests/s")
    print(f"micro:   body deadline: one watch a loop {ours:,.0f}/s, asyncio.timeout per request "
          f"{deadline:,.0f}/s: gain {gain(1 / ours, 1 / deadline)}")
    print(f"micro:   log and metrics: once a turn {ours:,.0f}/s, once a request "
          f"{flushing:,.0f}/s: gain {gain(1 / ours, 1 / flushing)}")
    print(f"micro:   drift counts: every {DRIFT_EVERY:g} s {ours:,.0f}/s, every turn "
          f"{drift_each_turn:,.0f}/s: gain {gain(1 / ours, 1 / drift_each_turn)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
