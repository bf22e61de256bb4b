"""Inference: rows in (CSV, JSON or JSON Lines), one prediction per row out, numpy alone.

    python -m housing predict [--model artifacts/models/quantized.npz] [--input rows.csv]
        [--format auto|csv|json|jsonl] [--id COLUMN] [--output plain|csv|jsonl]
        [--skip-invalid] [--strict] [--integer]

Columns are matched by name; the others (the target, an id, pandas' index) are ignored.
Predictions are in units of $100,000, printed as Python's shortest exact repr, and stream
out as rows are read: every row before a bad one is answered before the error.
``--integer`` runs the quantized model's integer kernel (what ``housing export`` writes in
C) and prints each prediction's exact decimal.
"""
import json
import sys

import numpy as np

from . import integer, readers, store
from .cli import Parser, UserError, command, display, stdout_closed, stdout_failed
from .config import QUANTIZED_MODEL, TARGET
from .model import checked_predict

OUTPUTS = ("plain", "csv", "jsonl")


class Output:
    """Predictions to a text stream, one line per input row, a skipped row's empty: bare,
    or CSV or JSON Lines with the ``--id`` column. A failed write (a closed pipe, a full
    disk, a file-size limit) is a UserError, never output lost with exit status 0."""

    def __init__(self, stream, form, id_column, fmt=repr):
        if stream is None:
            raise stdout_closed("the predictions")
        self.stream = stream
        self.form = form
        self.id_column = id_column
        self.fmt = fmt
        if form == "csv":
            self.write(",".join(([id_column] if id_column else []) + [TARGET]) + "\n")

    def rows(self, ids, values, gaps=True):
        """Write one row per value (None: a row that was skipped; without ``gaps``, none
        was)."""
        keys = ids if self.id_column else [None] * len(values)
        fmt = self.fmt  # repr: the shortest text that reads back as the same float
        if self.form == "plain":
            text = "\n".join(map(fmt, values) if not gaps else
                             ["" if v is None else fmt(v) for v in values])
        elif self.form == "csv":
            text = "\n".join((f"{_csv_field(k)}," if self.id_column else "")
                             + ("" if v is None else fmt(v)) for k, v in zip(keys, values))
        else:
            text = "\n".join(json.dumps(({self.id_column: k} if self.id_column else {})
                                        | {TARGET: v}) for k, v in zip(keys, values))
        if values:
            self.write(text + "\n")

    def write(self, text):
        try:
            self.stream.write(text)
        except OSError as e:
            self.failed(e)

    def close(self):
        try:
            self.stream.flush()
        except OSError as e:
            self.failed(e)

    def failed(self, e):
        raise stdout_failed(e, "the predictions") from None


def _csv_field(value):
    text = value if isinstance(value, str) else "" if value is None else json.dumps(value)
    text = text.encode("utf-8", "backslashreplace").decode()  # a lone surrogate, say
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


class RangeCount:
    """How many rows had a feature outside the training range, and the first of them."""

    def __init__(self, model):
        self.model = model
        self.rows = 0
        self.first = None

    def add(self, chunk, keep):
        X = chunk.X if len(keep) == len(chunk.X) else chunk.X[keep]
        flags = self.model.ranges.rows_outside(X)
        self.rows += int(flags.sum())
        if self.first is None and flags.any():
            i = int(keep[np.flatnonzero(flags)[0]])
            first = self.model.ranges.first_outside(chunk.X[i])
            self.first = (f"{chunk.where(chunk.nos[i])}, {self.model.features[first.feature]} "
                          f"{first.value:g}, trained on {first.low:g} to {first.high:g}")

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
        out.rows(chunk.ids or [None] * len(keep), y.tolist(), gaps=False)
        return
    nos = [chunk.nos[i] for i in keep]
    ids = [chunk.ids[i] for i in keep] if chunk.ids is not None else [None] * len(nos)
    rows = list(zip(nos, ids, y.tolist()))
    if bad:
        rows = sorted(rows + [(row.no, row.id, None) for row in bad], key=lambda r: r[0])
    if upto is not None:
        rows = [r for r in rows if r[0] < upto]
    out.rows([key for _, key, _ in rows], [v for _, _, v in rows])


def note(message):
    print(f"housing predict: {message}", file=sys.stderr)


def parser():
    p = Parser(prog="housing predict", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=QUANTIZED_MODEL, help="a float or quantized model, .npz")
    p.add_argument("--input", default="-", help="a file of rows; - for stdin (default)")
    p.add_argument("--format", choices=readers.CHOICES, default="auto",
                   help="auto (default): JSON if it starts with [ or {, else CSV")
    p.add_argument("--id", metavar="COLUMN", help="copy this input column before each prediction")
    p.add_argument("--output", choices=OUTPUTS,
                   help="plain: one bare prediction per line (default); csv (default with "
                        "--id) or jsonl: with a header or keys, and the --id column")
    p.add_argument("--skip-invalid", action="store_true",
                   help="name bad rows on stderr and go on, leaving each an empty "
                        "prediction; exit status 1 if any")
    p.add_argument("--strict", action="store_true",
                   help="refuse rows with a feature outside the training range")
    p.add_argument("--integer", action="store_true",
                   help="the quantized model's integer-only kernel, as exported to C; "
                        "prints exact decimals")
    return p


def open_input(path):
    """(binary stream, name for errors) of a path, or of stdin for "-"."""
    if path == "-":
        if sys.stdin is None:
            raise UserError("standard input is closed; expected rows on it, or --input FILE")
        return sys.stdin.buffer, "<stdin>"
    try:
        return open(path, "rb"), display(path)
    except OSError as e:
        raise UserError(f"{display(path)}: cannot read ({e.strerror})") from None


def run(model, stream, source, args, out, ranges):
    """Predict every chunk of ``stream`` to ``out``; returns the number of rows skipped."""
    skipped = 0
    table = readers.read(stream, model.features, source, args.format, args.id)
    if table.columns.ignored:
        note(f"ignoring columns that are not features: {', '.join(table.columns.ignored)}")
    for chunk in table.chunks:
        checked = checked_predict(model, chunk.X, args.strict, args.integer)
        ranges.add(chunk, checked.keep)
        bad = sorted(chunk.bad + chunk.refused(checked.refused), key=lambda b: b.no)
        if bad and not args.skip_invalid:
            write(out, chunk, checked.y, checked.keep, [], upto=bad[0].no)
            raise UserError(bad[0].message)
        write(out, chunk, checked.y, checked.keep, bad)
        for row in bad:
            note(f"skipped {row.message}")
        skipped += len(bad)
    return skipped


@command("housing predict")
def main(argv=None) -> int:
    args = parser().parse_args(argv)
    model = store.load_model(args.model)
    if args.integer and model.kernel is None:
        raise UserError(f"{display(args.model)}: --integer needs a quantized model, got a "
                        f"{model.kind} one")
    stream, source = open_input(args.input)
    fmt = (lambda v: integer.decimal(round(v * 2 ** integer.OUT))) if args.integer else repr
    out = Output(sys.stdout, args.output or ("csv" if args.id else "plain"), args.id, fmt)
    ranges = RangeCount(model)
    skipped = 0
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
