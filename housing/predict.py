"""Inference: rows in (CSV, JSON or JSON Lines), one prediction per row out, numpy alone.

    python -m housing predict [--model artifacts/models/quantized.npz] [--input rows.csv]
        [--format auto|csv|json|jsonl] [--id COLUMN] [--output plain|csv|jsonl]
        [--skip-invalid] [--strict]

Columns are matched by name; the others (the target, an id, pandas' index) are ignored.
Predictions are in units of $100,000, printed as Python's shortest exact repr, and stream
out as rows are read: every row before a bad one is answered before the error.
"""
import json
import sys

import numpy as np

from . import store, tables
from .cli import Parser, UserError, command, display
from .config import QUANTIZED_MODEL, TARGET
from .model import predict
from .writer import FORK_AFTER, ForkedLines, fileno

OUTPUTS = ("plain", "csv", "jsonl")


def checked_predict(model, chunk, strict=False):
    """Predictions for a ``rows.Chunk``: (y of the rows that stay, shape (k,); their
    positions in chunk.X; the rows refused, as (number, message, id)). A prediction that
    is not finite refuses its row, as does (when ``strict``) a feature outside the
    training range."""
    y = predict(model, chunk.X)  # overflow gives inf, reported per row below
    refused = ~np.isfinite(y)
    if strict:
        refused |= outside(model, chunk.X).any(axis=1)
    if not refused.any():
        return y, np.arange(len(y)), []
    bad = []
    for i in np.flatnonzero(refused):
        no, key = chunk.nos[i], chunk.ids[i] if chunk.ids is not None else None
        if np.isfinite(y[i]):
            bad.append((no, out_of_range(model, chunk.X[i], chunk.where(no)), key))
        else:
            bad.append((no, f"{chunk.where(no)}: the prediction overflows to {float(y[i])!r}; "
                            f"expected features small enough for a finite prediction", key))
    keep = np.flatnonzero(~refused)
    return y[keep], keep, bad


def outside(model, X):
    """Which values of X, shape (n, n_features), lie outside the training range."""
    return (X < model.low) | (X > model.high)


def first_outside(model, x):
    """(feature index, value, low, high) of the first feature of row ``x`` outside the
    training range."""
    j = int(np.flatnonzero(outside(model, x[None])[0])[0])
    return j, x[j], model.low[j], model.high[j]


def out_of_range(model, x, where):
    """The message for a row ``x`` with a feature outside the training range."""
    j, value, low, high = first_outside(model, x)
    return (f"{where}, column '{model.features[j]}': expected a value within the training "
            f"range, {low:g} to {high:g}, got {value:g}")


class Output:
    """Predictions to a text stream: bare, or CSV or JSON Lines with the ``--id`` column."""

    def __init__(self, stream, form, id_column):
        self.stream, self.form, self.id_column = stream, form, id_column
        self.printed, self.forked = 0, None
        if form == "csv":
            stream.write(",".join(([id_column] if id_column else []) + [TARGET]) + "\n")

    def rows(self, ids, values):
        """Write one row per value (None: a row that was skipped, written with an empty
        prediction when rows carry an id, else not at all)."""
        if self.form == "plain":
            if None in values:
                values = [v for v in values if v is not None]
            self.printed += len(values)
            if self.forked is None and self.printed > FORK_AFTER and (fd := fileno(self.stream)):
                self.forked = ForkedLines(fd)  # a large input: print on another core
            if self.forked is not None:
                self.forked.write(np.array(values, dtype=np.float64))
            elif values:  # repr: the shortest text that reads back as the same float
                self.stream.write("\n".join(map(repr, values)) + "\n")
        elif self.form == "csv":
            keys = [_csv_field(k) for k in ids] if self.id_column else [None] * len(values)
            self.stream.write("".join(
                (f"{k}," if self.id_column else "") + ("" if v is None else repr(v)) + "\n"
                for k, v in zip(keys, values) if self.id_column or v is not None))
        else:
            keys = ids if self.id_column else [None] * len(values)
            self.stream.write("".join(
                json.dumps(({self.id_column: k} if self.id_column else {}) | {TARGET: v}) + "\n"
                for k, v in zip(keys, values) if self.id_column or v is not None))

    def close(self):
        """Everything written: wait for a printing process, if there is one."""
        if self.forked is not None:
            self.forked.close()
        self.stream.flush()


def _csv_field(value):
    text = value if isinstance(value, str) else "" if value is None else json.dumps(value)
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


class RangeCount:
    """How many rows had a feature outside the training range, and the first of them."""

    def __init__(self, model):
        self.model, self.rows, self.first = model, 0, None

    def add(self, chunk, keep):
        X = chunk.X if len(keep) == len(chunk.X) else chunk.X[keep]
        if not len(X) or ((X.min(axis=0) >= self.model.low).all()
                          and (X.max(axis=0) <= self.model.high).all()):
            return  # every row inside: two reductions instead of a test per value
        flags = outside(self.model, X).any(axis=1)
        self.rows += int(flags.sum())
        if self.first is None and flags.any():
            i = int(keep[np.flatnonzero(flags)[0]])
            j, value, low, high = first_outside(self.model, chunk.X[i])
            self.first = (f"{chunk.where(chunk.nos[i])}, {self.model.features[j]} {value:g}, "
                          f"trained on {low:g} to {high:g}")

    def summary(self):
        """One line for stderr, or None when every row was inside the training range."""
        if not self.rows:
            return None
        many = self.rows > 1
        return (f"{self.rows:,} row{'s' * many} {'have' if many else 'has'} features outside "
                f"the training range; first: {self.first}")


def write(out, chunk, y, keep, bad, upto=None):
    """Write the rows of ``chunk`` that were predicted (``y`` for rows ``keep`` of it) and
    those skipped (``bad``), in input order; only those numbered below ``upto`` if given."""
    if not bad and upto is None and len(keep) == len(chunk.nos):  # every row, in order
        out.rows(chunk.ids or [None] * len(keep), y.tolist())
        return
    nos = [chunk.nos[i] for i in keep]
    ids = [chunk.ids[i] for i in keep] if chunk.ids is not None else [None] * len(nos)
    rows = list(zip(nos, ids, y.tolist()))
    if bad:
        rows = sorted(rows + [(no, key, None) for no, _, key in bad], key=lambda r: r[0])
    if upto is not None:
        rows = [r for r in rows if r[0] < upto]
    out.rows([key for _, key, _ in rows], [v for _, _, v in rows])


def note(message):
    print(f"housing predict: {message}", file=sys.stderr)


def _parser():
    p = Parser(prog="housing predict", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=QUANTIZED_MODEL, help="a float or quantized model, .npz")
    p.add_argument("--input", default="-", help="a file of rows; - for stdin (default)")
    p.add_argument("--format", choices=tables.FORMATS, default="auto",
                   help="auto (default): JSON if it starts with [ or {, else CSV")
    p.add_argument("--id", metavar="COLUMN", help="copy this input column before each prediction")
    p.add_argument("--output", choices=OUTPUTS,
                   help="plain: one bare prediction per line (default); csv (default with "
                        "--id) or jsonl: with a header or keys, and the --id column")
    p.add_argument("--skip-invalid", action="store_true",
                   help="name bad rows on stderr and go on; exit status 1 if any")
    p.add_argument("--strict", action="store_true",
                   help="refuse rows with a feature outside the training range")
    return p


def open_input(path):
    """(binary stream, name for errors) of a path, or of stdin for "-"."""
    if path == "-":
        return sys.stdin.buffer, "<stdin>"
    try:
        return open(path, "rb"), display(path)
    except OSError as e:
        raise UserError(f"{display(path)}: cannot read ({e.strerror})") from None


def run(model, stream, source, args, out, ranges):
    """Predict every chunk of ``stream`` to ``out``; returns the number of rows skipped."""
    skipped = 0
    columns, chunks = tables.read(stream, model.features, source, args.format, args.id)
    if columns.ignored:
        note(f"ignoring columns that are not features: {', '.join(columns.ignored)}")
    for chunk in chunks:
        y, keep, refused = checked_predict(model, chunk, args.strict)
        ranges.add(chunk, keep)
        bad = sorted(chunk.bad + refused, key=lambda b: b[0])
        if bad and not args.skip_invalid:
            write(out, chunk, y, keep, [], upto=bad[0][0])
            raise UserError(bad[0][1])
        write(out, chunk, y, keep, bad)
        for _, message, _ in bad:
            note(f"skipped {message}")
        skipped += len(bad)
    return skipped


@command("housing predict")
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    model = store.load_model(args.model)
    stream, source = open_input(args.input)
    out = Output(sys.stdout, args.output or ("csv" if args.id else "plain"), args.id)
    ranges, skipped = RangeCount(model), 0
    with stream:
        try:
            skipped = run(model, stream, source, args, out, ranges)
        finally:  # every prediction is out before a message on stderr
            out.close()
    if ranges.summary():
        note(ranges.summary())
    if skipped:
        note(f"{skipped:,} row{'s' * (skipped > 1)} skipped")
    return 1 if skipped else 0
