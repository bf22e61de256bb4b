"""CSV in: a header naming the columns, then one row of numbers per line.

CRLF line ends, a missing final newline, a UTF-8 byte-order mark, quoted names or values,
spaces around values, exponents and blank lines are all fine. Blocks of plain numbers go
through numpy's C parser; anything else is read one line at a time, which names the line
and column of every mistake.
"""
import csv
import itertools
import warnings

import numpy as np

from .cli import UserError
from .rows import Chunk, exact, line_blocks, match_columns, number

OTHER_DELIMITERS = (";", "\t", "|")


def _split(line):
    return line.split(",") if '"' not in line else next(csv.reader([line]))


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_columns(line, features, source, id_column=None, no=1):
    """Columns of a CSV header ``line`` (line ``no``)."""
    where = f"{source}, line {no}"
    names = [name.strip() for name in _split(line)]
    if len(names) == 1:
        for d in OTHER_DELIMITERS:
            if d in line:
                raise UserError(f"{where}: expected comma-separated values, but the header "
                                f"is separated by {d!r}")
    if all(_is_number(name) for name in names):
        raise UserError(f"{where}: expected a header naming the columns "
                        f"({', '.join(features)}), got a row of numbers")
    return match_columns(names, features, where, id_column)


def csv_chunk(lines, first, columns, source):
    """Lines numbered from ``first`` as a Chunk: numpy's C parser when the whole block
    is plainly numbers, else one line at a time (which names what is wrong). Blank lines
    are skipped."""
    text = "\n".join(lines)
    width = len(columns.names)

    def where(no):
        return f"{source}, line {no}"
    # quotes, NULs, stray carriage returns and blank lines are read differently by numpy
    plain = not any(c in text for c in '"\0\r') and all(lines)
    if plain:
        X = _loadtxt(lines, columns, width)
        if X is not None:
            k = columns.id_index
            ids = None if k is None else [line.split(",")[k].strip() for line in lines]
            return Chunk(X, list(range(first, first + len(lines))), where, ids)

    def read_row(line, no):
        fields = _split(line)
        if len(fields) != width:
            raise UserError(f"{source}, line {no}: expected {width} comma-separated values, "
                            f"got {len(fields)}")
        values = [number(fields[i], f"{source}, line {no}, column '{columns.names[i]}'")
                  for i in columns.index]
        return values, None if columns.id_index is None else fields[columns.id_index].strip()

    numbered = [(line, no) for no, line in enumerate(lines, first) if line.strip()]
    for line, no in numbered:
        if "\0" in line:
            raise UserError(f"{source}, line {no}: expected text, found a NUL byte")
    return exact([line for line, _ in numbered], columns, [no for _, no in numbered], where,
                 read_row, lambda line: _split(line)[columns.id_index].strip())


def _loadtxt(lines, columns, width):
    """numpy's parser on plain lines, or None where it refuses or a value is not finite."""
    extra = width != len(columns.index)
    # with usecols numpy does not check the other columns' count: count commas here
    if extra and any(line.count(",") != width - 1 for line in lines):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            X = np.loadtxt(lines, delimiter=",", dtype=np.float64, ndmin=2, comments=None,
                           usecols=columns.index if extra else None)
    except (ValueError, UserWarning):
        return None
    if X.shape != (len(lines), width if not extra else len(columns.index)):
        return None
    if not extra:
        X = X[:, columns.index]
    return X if np.isfinite(X).all() else None


def read_csv(stream, features, source, id_column=None):
    """(Columns, iterator of Chunks) of a binary CSV stream: a header naming the columns,
    then rows. ``source`` names the stream in errors."""
    blocks = line_blocks(stream, source)
    for no, lines in blocks:
        for i, line in enumerate(lines):
            if line.strip():
                columns = csv_columns(line, features, source, id_column, no + i)
                rest = itertools.chain([(no + i + 1, lines[i + 1:])], blocks)
                return columns, _csv_chunks(rest, columns, source)
    raise UserError(f"{source}: empty input; expected a header naming the columns "
                    f"({', '.join(features)}) and rows of numbers")


def _csv_chunks(blocks, columns, source):
    rows = 0
    for no, lines in blocks:
        if lines:
            chunk = csv_chunk(lines, no, columns, source)
            rows += len(chunk.nos) + len(chunk.bad)
            yield chunk
    if rows == 0:
        raise UserError(f"{source}: a header but no rows; expected at least one row of numbers")
