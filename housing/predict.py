"""Inference: CSV rows in, one prediction per line out, with numpy alone.

    python -m housing predict --model artifacts/models/quantized.npz [--input rows.csv]

Rows come from ``--input`` or stdin: a header naming the feature columns (any order; names
may be quoted) and one row of numbers per line. CRLF line ends, a missing final newline,
a UTF-8 byte-order mark, exponents and spaces around values are fine; blank lines are
skipped. Input is read and answered in chunks, so memory stays flat however long it is.
Predictions are in units of $100,000, printed as Python's shortest exact repr.
"""
import csv
import math
import sys
import warnings

import numpy as np

from . import store
from .cli import Parser, UserError, command, display
from .config import QUANTIZED_MODEL
from .model import predict

CHUNK_ROWS = 65536  # rows per parse-and-predict step: ~4 MB of floats
OTHER_DELIMITERS = (";", "\t", "|")


def _split(line):
    return line.split(",") if '"' not in line else next(csv.reader([line]))


def _value(text):
    """How a value reads, quoted and cut short, for error messages."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def parse_header(line, columns, source, no=1):
    """Map the header ``line`` (line ``no``) onto ``columns``; returns (the input column of
    each of ``columns``, the header's names in input order)."""
    names = [name.strip() for name in _split(line)]
    expected = ", ".join(columns)
    if len(names) == 1:
        for d in OTHER_DELIMITERS:
            if d in line:
                raise UserError(f"{source}, line {no}: expected comma-separated values, "
                                f"but the header is separated by {d!r}")
    if all(_is_number(name) for name in names):
        raise UserError(f"{source}, line {no}: expected a header naming the columns "
                        f"({expected}), got a row of numbers")
    for i, name in enumerate(names):
        if not name:
            raise UserError(f"{source}, line {no}: column {i + 1} of the header is empty; "
                            f"expected names from {expected}")
        if name not in columns:
            raise UserError(f"{source}, line {no}: unknown column {_value(name)}; "
                            f"expected {expected}")
        if names.index(name) != i:
            raise UserError(f"{source}, line {no}: column '{name}' appears twice "
                            f"(columns {names.index(name) + 1} and {i + 1})")
    missing = [c for c in columns if c not in names]
    if missing:
        raise UserError(f"{source}, line {no}: missing column{'s' * (len(missing) > 1)} "
                        f"{', '.join(missing)}; expected {expected}")
    return [names.index(c) for c in columns], names


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_rows(lines, first, header, source):
    """The exact parser: values of ``lines`` (numbered from ``first``), shape
    (n_rows, len(header)), in input column order. Every mistake is a UserError with its
    line, column and value. Blank lines are skipped."""
    rows = []
    for no, line in enumerate(lines, first):
        if not line.strip():
            continue
        if "\0" in line:
            raise UserError(f"{source}, line {no}: expected text, found a NUL byte")
        fields = _split(line)
        if len(fields) != len(header):
            raise UserError(f"{source}, line {no}: expected {len(header)} comma-separated "
                            f"values, got {len(fields)}")
        row = []
        for name, text in zip(header, fields):
            where = f"{source}, line {no}, column '{name}'"
            text = text.strip()
            if not text:
                raise UserError(f"{where}: expected a number, got an empty value")
            try:
                value = float(text)
            except ValueError:
                raise UserError(f"{where}: expected a number, got {_value(text)}") from None
            if not math.isfinite(value):
                if text.lstrip("+-").lower() in ("inf", "infinity", "nan"):
                    raise UserError(f"{where}: expected a finite number, got {_value(text)}")
                raise UserError(f"{where}: {_value(text)} overflows to infinity")
            row.append(value)
        rows.append(row)
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(header))


def parse_chunk(lines, first, header, source):
    """``parse_rows``, fast: numpy's C parser first; anything it refuses, or a non-finite
    value, goes to the exact parser, which finds and names the problem (or, for the few
    spellings only Python's float accepts, such as '1_000', gives the values)."""
    text = "\n".join(lines)
    # quotes, NULs and stray carriage returns are read differently by numpy's parser
    if not any(c in text for c in '"\0\r'):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # "input contained no data": blank lines only
                X = np.loadtxt(lines, delimiter=",", dtype=np.float64, ndmin=2, comments=None)
        except (ValueError, UserWarning):
            pass
        else:
            if X.shape[1:] == (len(header),) and np.isfinite(X).all():
                return X
    return parse_rows(lines, first, header, source)


def read_rows(stream, columns, source, chunk_rows=CHUNK_ROWS):
    """Yield float64 arrays of shape (k, len(columns)), columns in ``columns`` order, from
    a binary CSV stream, ``chunk_rows`` lines at a time. ``source`` names the stream in
    errors."""
    lines = _lines(stream, source)
    for no, line in lines:
        if line.strip():
            break
    else:
        raise UserError(f"{source}: empty input; expected a header naming the columns "
                        f"({', '.join(columns)}) and rows of numbers")
    order, header = parse_header(line, columns, source, no)
    first, chunk, rows = no + 1, [], 0
    for no, line in lines:
        chunk.append(line)
        if len(chunk) == chunk_rows:
            X = parse_chunk(chunk, first, header, source)
            first, chunk, rows = no + 1, [], rows + len(X)
            yield X[:, order]
    X = parse_chunk(chunk, first, header, source) if chunk else np.empty((0, len(header)))
    if rows + len(X) == 0:
        raise UserError(f"{source}: a header but no rows; expected at least one row of numbers")
    yield X[:, order]


def _lines(stream, source):
    """(line number, text) of each line of a binary stream, UTF-8, line ends removed."""
    for no, raw in enumerate(stream, 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise UserError(f"{source}, line {no}: expected UTF-8 text, got byte "
                            f"0x{raw[e.start]:02x} at position {e.start + 1}") from None
        if no == 1:
            line = line.removeprefix("\ufeff")  # byte-order mark, as Excel writes
        yield no, line.rstrip("\r\n")


def _parser():
    p = Parser(prog="housing predict", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=QUANTIZED_MODEL, help="a float or quantized model, .npz")
    p.add_argument("--input", default="-", help="CSV file of rows; - for stdin (default)")
    return p


def open_input(path):
    """(binary stream, name for errors) of a CSV path, or of stdin for "-"."""
    if path == "-":
        return sys.stdin.buffer, "<stdin>"
    try:
        return open(path, "rb"), display(path)
    except OSError as e:
        raise UserError(f"{display(path)}: cannot read ({e.strerror})") from None


@command("housing predict")
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    model = store.load_model(args.model)
    stream, source = open_input(args.input)
    with stream:
        for X in read_rows(stream, model.features, source):
            y = predict(model, X)
            sys.stdout.write("".join(f"{v!r}\n" for v in y.tolist()))
    sys.stdout.flush()
    return 0

