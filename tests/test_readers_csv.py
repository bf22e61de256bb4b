"""CSV read by predict: pandas' files, blocks and lines, gzip by its content."""
import csv
import io
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from housing import predict as p
from housing import readers
from housing.readers import lines
from housing.readers.chunk import BadRow, Chunk, all_rows, merge
from housing.config import FEATURES

from helpers import ROWS, formula, pandas_csv, run_predict, values


class Endless:
    """A stream of one line that never ends, like /dev/zero: must be refused, not read."""

    def __init__(self):
        self.given = 0

    def read(self, n=-1):
        self.given += n
        assert self.given < 64 * lines.MAX_LINE, "read far past the line limit"
        return b"0" * n


def rows_text(X):
    return (",".join(FEATURES) + "\n" + "\n".join(",".join(map(repr, r)) for r in X.tolist())
            + "\n").encode()


# pandas' to_json orientations, as its documentation shows them for a frame of ROWS with
# the target: each is read as the same rows
FRAME = [dict(zip(FEATURES, r), MedHouseVal=t) for r, t in zip(ROWS.tolist(), [1.5, 2.5, 3.5])]


def test_pandas_csv_with_index_and_target_is_predicted_and_the_extras_named(
        capsys, monkeypatch, built):
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], pandas_csv())
    assert rc == 0
    np.testing.assert_allclose(values(out), formula(built["float"]), rtol=1e-12)
    assert err == ("housing predict: ignoring columns that are not features: the unnamed "
                   "first column (pandas' index), 'MedHouseVal'\n")


def test_text_columns_are_never_parsed(capsys, monkeypatch, built):
    lines = ["note," + ",".join(FEATURES)] + ['"a, b",' + ",".join(map(repr, row))
                                               for row in ROWS.tolist()]
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], "\n".join(lines).encode())
    assert rc == 0 and err == "housing predict: ignoring columns that are not features: 'note'\n"
    np.testing.assert_allclose(values(out), formula(built["float"]), rtol=1e-12)


def test_a_line_over_the_limit_is_refused_without_reading_on(capsys, monkeypatch, built):
    head = (",".join(FEATURES) + "\n").encode()
    stream = lines.Replay(head, Endless())
    with pytest.raises(p.UserError) as e:
        columns, chunks = readers.read(stream, FEATURES, "<stdin>", "csv")
        list(chunks)
    assert str(e.value) == "<stdin>, line 2: longer than 1,048,576 bytes; expected one row per line"
    with pytest.raises(p.UserError) as e:
        readers.read(lines.Replay(b'[{"MedInc": "', Endless()), FEATURES, "<stdin>", "json")
    assert str(e.value) == ("<stdin>: a JSON document over 16,777,216 bytes; for more rows, "
                            "write JSON Lines (df.to_json(orient='records', lines=True))")


def test_all_rows_holds_a_small_table_whole_or_names_its_first_bad_row():
    text = rows_text(ROWS).decode().replace("5.6431", "x").encode()
    columns, chunks = readers.read(io.BytesIO(rows_text(ROWS)), FEATURES, "t.csv")
    np.testing.assert_array_equal(all_rows(chunks), ROWS)
    with pytest.raises(p.UserError) as e:
        all_rows(readers.read(io.BytesIO(text), FEATURES, "t.csv").chunks)
    assert str(e.value) == "t.csv, line 3, column 'MedInc': expected a number, got 'x'"


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_gzip_is_told_by_content_and_damage_is_one_line(capsys, monkeypatch, built, fmt):
    import gzip
    text = (",".join(FEATURES) + "\n" + "\n".join(",".join(map(repr, r)) for r in ROWS.tolist())
            if fmt == "csv" else "\n".join(json.dumps(r) for r in FRAME)) + "\n"
    plain = run_predict(capsys, monkeypatch, built["quantized"], text.encode())
    packed = gzip.compress(text.encode())
    assert run_predict(capsys, monkeypatch, built["quantized"], packed) == plain
    rc, out, err = run_predict(capsys, monkeypatch, built["quantized"], packed[:-12])
    assert (rc, err.splitlines()[-1]) == (2, "housing predict: error: <stdin>: not valid gzip "
                                             "data (Compressed file ended before the "
                                             "end-of-stream marker was reached)")


def read_lines(lines, source="t", header=",".join(FEATURES)):
    """Every row of ``lines`` under ``header``, as --skip-invalid reads them:
    (X, the numbers of its rows, the BadRows)."""
    text = "\n".join([header, *lines]) + "\n"
    merged = list(readers.read(io.BytesIO(text.encode()), FEATURES, source, "csv").chunks)
    X = np.vstack([chunk.X for chunk in merged])
    return X, [no for chunk in merged for no in chunk.nos], [b for c in merged for b in c.bad]


def reference_row(line):
    """The values of one line as the CLI promises to read them, by the csv module and
    float(): 8 fields, each ASCII decimal text (spaces around it are fine) and finite;
    None for a line that must be refused."""
    if "\0" in line:
        return None
    try:
        fields = next(csv.reader([line]))
    except csv.Error:
        return None
    if len(fields) != len(FEATURES):
        return None
    texts = [field.strip() for field in fields]
    if not all(text.isascii() and "_" not in text for text in texts):
        return None
    try:
        row = [float(text) for text in texts]
    except ValueError:
        return None
    return row if all(map(math.isfinite, row)) else None


GOOD = [",".join(map(repr, row)) for row in np.random.default_rng(3).normal(
    size=(40, 8)).round(6).tolist()]
FIELD = st.text(alphabet=' \t\r\0"\',;.+-eE0123456789_xnaifNAIF\xa0\x1c\u0663', max_size=8) \
    | st.sampled_from(["inf", "-Infinity", "nan", "1e999", "1_0", "\u0663", " 1.5 ", '"2.5"',
                       '"1,5"', "", "  ", "1\r", '"1\r"', "0x1p3", "1e5", ".5", "5.", "+-1"])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(field=FIELD, column=st.integers(0, 7), position=st.integers(0, 40))
def test_a_line_is_read_as_the_reference_reads_it_wherever_it_stands(field, column, position):
    # numpy reads every value; a refused run is cut down to its refused lines, so the odd
    # line's neighbours, and where it stands, change nothing
    fields = GOOD[0].split(",")
    fields[column] = field
    odd = ",".join(fields)
    lines = GOOD[:position] + [odd] + GOOD[position:]
    X, nos, bad = read_lines(lines)
    alone_X, _, alone_bad = read_lines([odd])
    good = np.array([[float(v) for v in line.split(",")] for line in GOOD])
    expected = reference_row(odd)
    odd_no = position + 2
    if expected is None:
        assert [b.no for b in bad] == [odd_no] and len(bad[0].message.splitlines()) == 1
        assert bad[0].message.startswith(f"t, line {odd_no}") and alone_X.shape == (0, 8)
        np.testing.assert_array_equal(X, good)
        assert [b.message for b in alone_bad] == [bad[0].message.replace(
            f"line {odd_no}", "line 2")]
    else:
        assert bad == [] and alone_bad == [] and nos == list(range(2, 43))
        np.testing.assert_array_equal(X, np.insert(good, position, expected, axis=0))
        np.testing.assert_array_equal(alone_X, [expected])


@pytest.mark.parametrize("line, message", [
    ("1\r,2,3,4,5,6,7,8", "t, line 2: expected one row per line, found a carriage return "
                          "inside it"),
    ("1,2,3\0,4,5,6,7,8", "t, line 2: expected text, found a NUL byte"),
    ("1,2,3,4,5,6,7", "t, line 2: expected 8 comma-separated values, got 7"),
    ('1,2,3,4,5,6,7,"8 x"', "t, line 2, column 'Longitude': expected a number, got '8 x'"),
    ("1,2,3,4,5,6,7,1e999", "t, line 2, column 'Longitude': '1e999' overflows to infinity"),
])
def test_a_refused_line_is_named_with_what_is_wrong(line, message):
    X, nos, bad = read_lines([line])
    assert [b.message for b in bad] == [message]


def test_a_line_with_a_value_too_many_is_refused_though_that_column_is_not_read():
    X, nos, bad = read_lines(["a," + GOOD[0], "b," + GOOD[1] + ",c", '"c,d",' + GOOD[2]],
                             header="note," + ",".join(FEATURES))
    assert nos == [2, 4] and [b.message for b in bad] == [
        "t, line 3: expected 9 comma-separated values, got 10"]


def test_numpy_reads_each_value_as_float_does():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 8)) * 10.0 ** rng.integers(-5, 6, size=(500, 8))
    lines = [",".join(f"{v:.{rng.integers(1, 18)}g}" for v in row) for row in X]
    X, nos, bad = read_lines(lines)
    assert nos == list(range(2, 502)) and bad == []
    np.testing.assert_array_equal(X, [[float(v) for v in line.split(",")] for line in lines])


def test_a_block_is_cut_at_its_first_bad_row_so_the_rest_can_go_unread():
    lines = GOOD[:10]
    lines[2] = lines[6] = "x"
    text = "\n".join([",".join(FEATURES), *lines, ""]).encode()
    chunks = readers.read(io.BytesIO(text), FEATURES, "t", "csv").chunks
    first = next(chunks)
    assert (first.nos, [b.no for b in first.bad]) == ([2, 3], [4])
    rest = next(chunks)
    assert (rest.nos, [b.no for b in rest.bad]) == ([5, 6, 7, 9, 10, 11], [8])
    assert list(chunks) == []


def test_merge_reads_no_chunk_past_the_first_with_a_bad_row():
    def chunks():
        yield Chunk(np.ones((1, 8)), [2], str)
        yield Chunk(np.ones((0, 8)), [], str, bad=[BadRow(3, "t, line 3: bad")])
        raise AssertionError("read past the first bad row")
    merged = merge(chunks())
    assert (merged.nos, merged.bad) == ([2], [BadRow(3, "t, line 3: bad")])


def test_a_quoted_field_may_be_as_long_as_a_line(capsys, monkeypatch, built):
    # the csv module's own limit is 128 KiB
    note = "n" * 200_000
    data = ("id," + ",".join(FEATURES) + "\n" + f'"{note}",' + GOOD[0] + "\n").encode()
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], data, "--id", "id")
    assert (rc, out.splitlines()[1].split(",")[0]) == (0, note)


def test_lines_that_end_in_a_carriage_return_alone_are_named(capsys, monkeypatch, built):
    text = ",".join(FEATURES) + "\r8.3,41,6.9,1,322,2.5,37.8,-122.2\r"  # classic Mac OS
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], text.encode())
    assert (rc, out, err) == (2, "", "housing predict: error: <stdin>, line 1: expected one row "
                                     "per line, found a carriage return inside the header; end "
                                     "lines with LF or CRLF, not CR alone\n")


class Trickle:
    """A binary stream that gives at most ``size`` bytes a read, as a pipe may."""

    def __init__(self, data, size):
        self.data = data
        self.size = size

    def read(self, n=-1):
        out = self.data[:min(n, self.size)]
        self.data = self.data[len(out):]
        return out


@settings(max_examples=300)
@given(st.lists(st.sampled_from(["", " ", "\t \t", "\r", "a", "1,2", " b "]), max_size=40),
       st.booleans(), st.integers(1, 12))
def test_lines_are_numbered_as_split_numbers_them_across_blocks_of_blank_lines(
        texts, ends_in_newline, size):
    data = ("\n".join(texts) + "\n" * ends_in_newline).encode()
    read = [(no, line) for first, block in lines.line_blocks(Trickle(data, size), "<stdin>")
            for no, line in enumerate(block, first) if line.strip()]
    reference = [(no, line.removesuffix("\r"))
                 for no, line in enumerate(data.decode().split("\n"), 1) if line.strip()]
    assert read == reference


def test_rows_after_megabytes_of_blank_lines_are_read_and_numbered(capsys, monkeypatch, built):
    blank = b"\n \n" * (2 * lines.MAX_LINE // 3)  # blocks of nothing but blank lines
    data = rows_text(ROWS[:1]) + blank + rows_text(ROWS[1:]).split(b"\n", 1)[1] + blank
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], data)
    assert (rc, err) == (0, "")
    np.testing.assert_allclose(values(out), formula(built["float"]), rtol=1e-12)
    bad = rows_text(ROWS[:1]) + blank + b"1,2,3\n"
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], bad)
    line = 3 + 2 * (2 * lines.MAX_LINE // 3)
    assert (rc, err) == (2, f"housing predict: error: <stdin>, line {line}: expected 8 "
                            f"comma-separated values, got 3\n")
